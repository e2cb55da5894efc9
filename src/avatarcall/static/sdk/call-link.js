// CallLink: the peer-to-peer call between customer and agent, with perfect negotiation
// (W3C / webrtc-samples) and an ICE restart when the path fails. It owns its RTCPeerConnection
// and touches nothing else: no globals, no prototypes, no other link.
import { Emitter } from './events.js';

const DISCONNECTED_GRACE_MS = 2000; // "disconnected" often heals alone; past this we restart ICE
const RESTART_EVERY_MS = 2000; // while still down (e.g. the TURN server is away), restart again

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
  #disconnectTimer = 0;
  #setAside = []; // candidates that came with an offer we ignored (see #onSignal)
  #waitingTracks = null; // the polite side's tracks, added when the first offer comes

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
      clearTimeout(this.#disconnectTimer);
      if (state === 'failed') this.restartIce();
      if (state === 'disconnected' || state === 'failed') {
        // Keep restarting while the path stays down: each restart gathers (and allocates) anew.
        const retry = (delay) => {
          this.#disconnectTimer = setTimeout(() => {
            if (['disconnected', 'failed', 'connecting', 'new'].includes(pc.connectionState)) {
              this.restartIce();
              retry(RESTART_EVERY_MS);
            }
          }, delay);
        };
        retry(state === 'failed' ? RESTART_EVERY_MS : DISCONNECTED_GRACE_MS);
      }
      this.emit('state', state);
    };
    this.#offs.push(session.on('call-signal', (msg) => {
      if (msg.call_id !== callId) return;
      // Apply signals one after another, in arrival order.
      this.#signals = this.#signals.then(() => this.#onSignal(msg)).catch((err) =>
        console.error('[avatarcall] call signal failed', err));
    }));
    // Only the impolite side offers first; the polite side adds its tracks to the answer. Two
    // simultaneous first offers would be resolved by perfect negotiation, but Chromium then
    // sometimes never gathers candidates for the rolled-back side (seen on page reloads).
    const tracks = (localStream?.getTracks() ?? []).map((track) => [track, localStream]);
    if (polite) this.#waitingTracks = tracks;
    else for (const [track, stream] of tracks) pc.addTrack(track, stream);
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

  /** New ICE servers (fresh TURN credentials) for the next gathering. */
  setIceServers(iceServers) {
    if (this.#pc.signalingState === 'closed') return;
    this.#pc.setConfiguration({ ...this.#pc.getConfiguration(), iceServers });
  }

  /** Gather new candidates and renegotiate the path; the media tracks stay as they are. */
  restartIce() {
    if (this.#pc.signalingState !== 'closed') this.#pc.restartIce();
  }

  close() {
    clearTimeout(this.#disconnectTimer);
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
        if (this.#waitingTracks) {
          for (const [track, stream] of this.#waitingTracks) pc.addTrack(track, stream);
          this.#waitingTracks = null;
        }
        await pc.setLocalDescription();
        this.#signal({ description: { type: pc.localDescription.type, sdp: pc.localDescription.sdp } });
      } else {
        // The polite side rolled its offer back and answered ours with the same ICE credentials;
        // Chromium does not gather again, so the candidates it sent with its ignored offer are the
        // ones we need now.
        const kept = this.#setAside;
        this.#setAside = [];
        for (const c of kept) await pc.addIceCandidate(c).catch(() => {});
      }
    } else if (candidate) {
      try {
        await pc.addIceCandidate(candidate);
      } catch (err) {
        if (!this.#ignoreOffer) throw err;
        if (this.#setAside.length < 50) this.#setAside.push(candidate);
      }
    }
  }
}
