// CallLink: the peer-to-peer call between customer and agent, with perfect negotiation
// (W3C / webrtc-samples) and an ICE restart when the path fails. It owns its RTCPeerConnection
// and touches nothing else: no globals, no prototypes, no other link.
import { Emitter } from './events.js';

/** Events: "state" (connectionState), "track" (MediaStream of the other person). */
export class CallLink extends Emitter {
  #pc;
  #session;
  #callId;
  #polite;
  #makingOffer = false;
  #ignoreOffer = false;
  #signals = Promise.resolve();
  #offs = [];

  static EVENTS = ['state', 'track'];

  /**
   * @param {import('./session.js').Session} session
   * @param {{callId: string, polite: boolean, iceServers?: RTCIceServer[], localStream?: MediaStream,
   *          relayOnly?: boolean}} options
   */
  constructor(session, { callId, polite, iceServers = [], localStream = null, relayOnly = false }) {
    super(CallLink.EVENTS);
    this.#session = session;
    this.#callId = callId;
    this.#polite = polite;
    const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: relayOnly ? 'relay' : 'all' });
    this.#pc = pc;
    const remote = new MediaStream();
    pc.ontrack = ({ track }) => {
      remote.addTrack(track);
      this.emit('track', remote);
    };
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) this.#signal({ candidate: candidate.toJSON() });
    };
    pc.onnegotiationneeded = async () => {
      try {
        this.#makingOffer = true;
        await pc.setLocalDescription();
        this.#signal({ description: { type: pc.localDescription.type, sdp: pc.localDescription.sdp } });
      } catch (err) {
        console.error('[avatarcall] call offer failed', err);
      } finally {
        this.#makingOffer = false;
      }
    };
    pc.onconnectionstatechange = () => {
      const state = pc.connectionState;
      this.#session.send({ type: 'link.state', call_id: callId, link: 'call', state });
      if (state === 'failed') pc.restartIce();
      this.emit('state', state);
    };
    this.#offs.push(session.on('call-signal', (msg) => {
      if (msg.call_id !== callId) return;
      // Apply signals one after another, in arrival order.
      this.#signals = this.#signals.then(() => this.#onSignal(msg)).catch((err) =>
        console.error('[avatarcall] call signal failed', err));
    }));
    for (const track of localStream?.getTracks() ?? []) pc.addTrack(track, localStream);
  }

  get state() { return this.#pc.connectionState; }

  /** The underlying connection, for getStats(); do not change it. */
  get peerConnection() { return this.#pc; }

  /** Mute or unmute the sound of the other person (e.g. when the avatar speaks for them). */
  setRemoteAudioEnabled(enabled) {
    for (const receiver of this.#pc.getReceivers()) {
      if (receiver.track?.kind === 'audio') receiver.track.enabled = enabled;
    }
  }

  close() {
    for (const off of this.#offs) off();
    this.#offs = [];
    this.#pc.close();
    this.emit('state', 'closed');
  }

  #signal(payload) {
    this.#session.send({ type: 'call.signal', call_id: this.#callId, ...payload });
  }

  async #onSignal({ description, candidate }) {
    const pc = this.#pc;
    if (pc.signalingState === 'closed') return;
    if (description) {
      const collision = description.type === 'offer' && (this.#makingOffer || pc.signalingState !== 'stable');
      this.#ignoreOffer = !this.#polite && collision;
      if (this.#ignoreOffer) return;
      await pc.setRemoteDescription(description);
      if (description.type === 'offer') {
        await pc.setLocalDescription();
        this.#signal({ description: { type: pc.localDescription.type, sdp: pc.localDescription.sdp } });
      }
    } else if (candidate) {
      try {
        await pc.addIceCandidate(candidate);
      } catch (err) {
        if (!this.#ignoreOffer) throw err;
      }
    }
  }
}
