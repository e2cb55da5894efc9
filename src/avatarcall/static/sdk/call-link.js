// CallLink: the peer-to-peer call between customer and agent, with perfect negotiation
// (W3C / webrtc-samples) and an ICE restart when the path fails. It owns its RTCPeerConnection
// and touches nothing else: no globals, no prototypes, no other link.
import { Emitter } from './events.js';

const DISCONNECTED_GRACE_MS = 2000; // "disconnected" often heals alone; past this we restart ICE
const RESTART_EVERY_MS = 2000; // while still down (e.g. the TURN server is away), restart again
// An offer still unanswered after this was lost: the server keeps no signal for a page that is
// away (both pages back after a server restart, each offering while the other was not yet
// there). It is rolled back and made again, waiting twice as long each time, up to the cap.
const ANSWER_WAIT_MS = 4000;
const ANSWER_WAIT_CAP_MS = 30000;

/** Events: "state" (connectionState), "track" (MediaStream of the other person). */
export class CallLink extends Emitter {
  _pc;
  _session;
  _callId;
  _polite;
  _makingOffer = false;
  _ignoreOffer = false;
  _signals = Promise.resolve();
  _offs = [];
  _disconnectTimer = 0;
  _answerTimer = 0;
  _answerWait = ANSWER_WAIT_MS;
  _setAside = []; // candidates that came with an offer we ignored (see _onSignal)
  _waitingTracks = null; // the polite side's tracks, added when the first offer comes
  _agentVoice = false; // the avatar speaks with the agent's voice ("as-agent")

  static EVENTS = ['state', 'track'];

  /**
   * @param {import('./session.js').Session} session
   * @param {{callId: string, polite: boolean, iceServers?: RTCIceServer[], localStream?: MediaStream,
   *          relayOnly?: boolean}} options
   */
  constructor(session, { callId, polite, iceServers = [], localStream = null, relayOnly = false }) {
    super(CallLink.EVENTS);
    this._session = session;
    this._callId = callId;
    this._polite = polite;
    const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: relayOnly ? 'relay' : 'all' });
    this._pc = pc;
    const remote = new MediaStream();
    pc.ontrack = ({ track }) => {
      if (track.kind === 'audio' && this._agentVoice) track.enabled = false;
      remote.addTrack(track);
      this.emit('track', remote);
    };
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) this._signal({ candidate: candidate.toJSON() });
    };
    pc.onnegotiationneeded = async () => {
      try {
        this._makingOffer = true;
        await pc.setLocalDescription();
        this._signal({ description: { type: pc.localDescription.type, sdp: pc.localDescription.sdp } });
        this._awaitAnswer();
      } catch (err) {
        console.error('[avatarcall] call offer failed', err);
      } finally {
        this._makingOffer = false;
      }
    };
    pc.onconnectionstatechange = () => {
      const state = pc.connectionState;
      this._session.send({ type: 'link.state', callId, link: 'call', state });
      clearTimeout(this._disconnectTimer);
      if (state === 'failed') this.restartIce();
      if (state === 'disconnected' || state === 'failed') {
        // Keep restarting while the path stays down: each restart gathers (and allocates) anew.
        const retry = (delay) => {
          this._disconnectTimer = setTimeout(() => {
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
    // Fresh TURN credentials (the session asks for them before they expire) for the next
    // gathering: an ICE restart late in a long call still finds a relay.
    // "as-agent": the customer hears the agent through the avatar, so not also through the
    // call (no double voice); the agent's page keeps hearing the customer.
    this._offs.push(session.on('avatar-view', (msg) => {
      if (msg.callId !== callId || session.role !== 'customer') return;
      this._agentVoice = msg.voice === 'agent';
      this.setRemoteAudioEnabled(!this._agentVoice);
    }));
    const follow = () => this.setIceServers(session.iceServers.call);
    // The signaling socket dropped and came back: often the network changed under us (a
    // phone's handover resets its connections). Restart ICE at once, with the fresh TURN
    // credentials the new welcome brought, instead of waiting for the media to time out.
    let dropped = false;
    this._offs.push(session.on('reconnecting', () => { dropped = true; }));
    this._offs.push(session.on('welcome', () => {
      follow();
      if (dropped && !['new', 'closed'].includes(pc.connectionState)) this.restartIce();
      dropped = false;
    }), session.on('ice-servers', follow));
    this._offs.push(session.on('call-signal', (msg) => {
      if (msg.callId !== callId) return;
      // Apply signals one after another, in arrival order.
      this._signals = this._signals.then(() => this._onSignal(msg)).catch((err) =>
        console.error('[avatarcall] call signal failed', err));
    }));
    // Only the impolite side offers first; the polite side adds its tracks to the answer. Two
    // simultaneous first offers would be resolved by perfect negotiation, but Chromium then
    // sometimes never gathers candidates for the rolled-back side (seen on page reloads).
    const tracks = (localStream?.getTracks() ?? []).map((track) => [track, localStream]);
    if (polite) this._waitingTracks = tracks;
    else for (const [track, stream] of tracks) pc.addTrack(track, stream);
  }

  get state() { return this._pc.connectionState; }

  /** The underlying connection, for getStats(); do not change it. */
  get peerConnection() { return this._pc; }

  /** Mute or unmute the sound of the other person (e.g. when the avatar speaks for them). */
  setRemoteAudioEnabled(enabled) {
    for (const receiver of this._pc.getReceivers()) {
      if (receiver.track?.kind === 'audio') receiver.track.enabled = enabled;
    }
  }

  /** New ICE servers (fresh TURN credentials) for the next gathering. */
  setIceServers(iceServers) {
    if (this._pc.signalingState === 'closed') return;
    this._pc.setConfiguration({ ...this._pc.getConfiguration(), iceServers });
  }

  /** Gather new candidates and renegotiate the path; the media tracks stay as they are. */
  restartIce() {
    if (this._pc.signalingState !== 'closed') this._pc.restartIce();
  }

  close() {
    clearTimeout(this._disconnectTimer);
    clearTimeout(this._answerTimer);
    for (const off of this._offs) off();
    this._offs = [];
    this._pc.close();
    this.emit('state', 'closed');
  }

  /** close(), and forget every handler. */
  dispose() {
    if (this._pc.signalingState !== 'closed') this.close();
    super.dispose();
  }

  _signal(payload) {
    this._session.send({ type: 'call.signal', callId: this._callId, ...payload });
  }

  _awaitAnswer() {
    clearTimeout(this._answerTimer);
    this._answerTimer = setTimeout(() => {
      // In the signals' queue, so that an answer or an offer arriving now is applied first.
      this._signals = this._signals.then(async () => {
        const pc = this._pc;
        if (pc.signalingState !== 'have-local-offer') return;
        this._answerWait = Math.min(this._answerWait * 2, ANSWER_WAIT_CAP_MS);
        await pc.setLocalDescription({ type: 'rollback' });
        pc.restartIce(); // -> negotiationneeded: a new offer, with new ICE credentials
      }).catch((err) => console.error('[avatarcall] call offer again failed', err));
    }, this._answerWait);
  }

  async _onSignal({ description, candidate }) {
    const pc = this._pc;
    if (pc.signalingState === 'closed') return;
    if (description) {
      const collision = description.type === 'offer' && (this._makingOffer || pc.signalingState !== 'stable');
      this._ignoreOffer = !this._polite && collision;
      if (this._ignoreOffer) return;
      await pc.setRemoteDescription(description);
      if (description.type === 'offer') {
        if (this._waitingTracks) {
          for (const [track, stream] of this._waitingTracks) pc.addTrack(track, stream);
          this._waitingTracks = null;
        }
        await pc.setLocalDescription();
        this._signal({ description: { type: pc.localDescription.type, sdp: pc.localDescription.sdp } });
      } else {
        clearTimeout(this._answerTimer);
        this._answerWait = ANSWER_WAIT_MS;
        // The polite side rolled its offer back and answered ours with the same ICE credentials;
        // Chromium does not gather again, so the candidates it sent with its ignored offer are the
        // ones we need now.
        const kept = this._setAside;
        this._setAside = [];
        for (const c of kept) await pc.addIceCandidate(c).catch(() => {});
      }
    } else if (candidate) {
      try {
        await pc.addIceCandidate(candidate);
      } catch (err) {
        if (!this._ignoreOffer) throw err;
        if (this._setAside.length < 50) this._setAside.push(candidate);
      }
    }
  }
}
