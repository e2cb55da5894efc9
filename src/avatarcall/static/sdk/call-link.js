// CallLink: the peer-to-peer call between customer and agent, with perfect negotiation
// (W3C / webrtc-samples) and an ICE restart when the path fails. It owns its RTCPeerConnection
// and touches nothing else: no globals, no prototypes, no other link.
import { Emitter } from './events.js';
import { PathWatch } from './path-watch.js';
import { RestartPace } from './restart-pace.js';
import { VideoFit, smallScale } from './video-fit.js';

// When the path goes down (PathWatch), the offering side (not polite) restarts ICE at once; the
// polite side asks it to a moment later, if no restart came meanwhile (offers never cross); then
// again while it stays down (e.g. the TURN server is away), as RestartPace says: each restart
// gathers anew.
const POLITE_WAIT_MS = 1000;
const TICK_MS = 250;
const ASKED_AGAIN_MS = 1000; // a restart asked for this soon after one made is the same one
// An offer still unanswered after this was lost: the server keeps no signal for a page that is
// away (both pages back after a server restart, each offering while the other was not yet
// there). It is rolled back and made again, waiting twice as long each time, up to the cap.
const ANSWER_WAIT_MS = 4000;
const ANSWER_WAIT_CAP_MS = 30000;
// A voice needs no more (Opus, fullband). Chromium sends stereo at up to 64 kbps to a browser
// that offers to play stereo (Firefox does), and its congestion control keeps that much for
// the sound out of what the link carries: on a poor link the video got its 30 kbps floor.
const VOICE_MAX_BPS = 32000;

/** Events: "state" (connectionState, but "disconnected" as soon as the other person's media
 *  stops, and "connected" while it flows), "track" (MediaStream of the other person). */
export class CallLink extends Emitter {
  _pc;
  _session;
  _callId;
  _polite;
  _makingOffer = false;
  _ignoreOffer = false;
  _signals = Promise.resolve();
  _offs = [];
  _path;
  _fit;
  _restartTimer = 0;
  _reported = 'new'; // the state last told (events, server)
  _videoActive = true;
  _videoChanges = Promise.resolve();
  _pace = new RestartPace(); // when to restart again (performance.now() times)
  _offeredAt = -Infinity; // when our last offer went out
  _offerStartedAt = -Infinity; // when we began making it (its candidates come after)
  _restartWanted = false; // a restart asked for while our offer was unanswered (see restartIce)
  _offers = 0; // our offers so far: each goes out numbered, its answer comes back so
  _answered = null; // the number of the other side's offer we last answered
  _offersWaiting = 0; // the other side's offers received and not yet applied
  _skipped = new Set(); // ICE credentials (ufrag) of offers left unanswered for a newer one
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
      if (!candidate) return;
      this._pace.gathered(performance.now());
      this._signal({ candidate: candidate.toJSON() });
    };
    pc.onnegotiationneeded = async () => {
      try {
        this._makingOffer = true;
        this._offerStartedAt = performance.now();
        await pc.setLocalDescription();
        this._offers += 1;
        this._signal({ description: { type: pc.localDescription.type, sdp: pc.localDescription.sdp },
          offer: this._offers });
        this._offeredAt = performance.now();
        this._awaitAnswer();
      } catch (err) {
        console.error('[avatarcall] call offer failed', err);
      } finally {
        this._makingOffer = false;
      }
    };
    this._fit = new VideoFit(() => this._applyVideo(), () => !this._videoActive);
    this._path = new PathWatch(pc, (down) => this._pathChanged(down), (stats) => this._fit.stats(stats));
    pc.onconnectionstatechange = () => {
      this._path.stateChanged();
      this._report();
    };
    pc.onsignalingstatechange = () => { if (pc.signalingState === 'stable') capVoice(pc); };
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
      // An offer renews the path: the polite side does not ask for another while answering it.
      if (msg.description?.type === 'offer') {
        this._pace.restarted(performance.now());
        this._offersWaiting += 1;
      }
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

  /** connectionState, but "disconnected" as soon as the other person's media stops, and
   *  "connected" while it flows through a "disconnected" (PathWatch: Firefox's missed checks). */
  get state() {
    const state = this._pc.connectionState;
    if (state === 'connected' && this._path.down) return 'disconnected';
    if (state === 'disconnected' && !this._path.down) return 'connected';
    return state;
  }

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
    if (this._pc.signalingState === 'closed') return;
    this._pace.restarted(performance.now());
    // Only the offering side offers a restart: crossing offers make the polite side roll its
    // own back, and Chromium then decodes the video without painting it any more.
    // The ask says which offer it follows, so that one sent before the last offer arrived
    // (both cross during a cut) does not make another.
    if (!this._polite) {
      // Our offer still unanswered is a restart already: another would follow it as soon as
      // its answer is in (the browser keeps the wish till then), one more ICE restart for the
      // other browser. Made then only if that offer found no candidate (the TURN server away).
      if (this._pc.signalingState === 'have-local-offer') this._restartWanted = true;
      else this._pc.restartIce();
    } else if (this._answered == null) this._signal({ restart: true });
    else this._signal({ restart: true, offer: this._answered });
  }

  close() {
    this._path.close();
    clearTimeout(this._restartTimer);
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

  _report() {
    const state = this.state;
    if (state === this._reported) return;
    this._reported = state;
    this._session.send({ type: 'link.state', callId: this._callId, link: 'call', state });
    this.emit('state', state);
  }

  _pathChanged(down) {
    this._report();
    clearTimeout(this._restartTimer);
    this._videoActive = !down;
    this._applyVideo();
    if (!down) return;
    const retry = (delay) => {
      this._restartTimer = setTimeout(() => {
        if (!this._path.down) return;
        if (this._pace.due(performance.now())) this.restartIce();
        retry(TICK_MS);
      }, delay);
    };
    retry(this._polite ? POLITE_WAIT_MS : 0);
  }

  // The video senders as wished: paused while the path is down, and small while the link
  // gives the video too little (VideoFit). Paused: the camera's frames would pile up in the
  // sender's pacer (up to 2 s of them), and once the path is back the keyframe the other side
  // asks for would wait behind them all; paused, the video comes back with its keyframe at once.
  // One change at a time, to the latest wishes: a pause still under way when the path is back
  // would otherwise read "active" and leave the video paused for good.
  _applyVideo() {
    this._videoChanges = this._videoChanges.then(async () => {
      for (const sender of this._pc.getSenders()) {
        if (sender.track?.kind !== 'video' || this._pc.signalingState === 'closed') continue;
        const params = sender.getParameters();
        const active = this._videoActive;
        const { small, maxBitrate } = this._fit;
        const scale = small ? smallScale(sender.track.getSettings()) : 1;
        // Small: the size is ours, and the browser adapts the frame rate only (its own scaler
        // would go on to 80 x 60); else the browser's own choice, as before.
        const preference = small ? 'maintain-resolution' : undefined;
        const as = (e) => e.active === active && (e.scaleResolutionDownBy ?? 1) === scale
          && e.maxBitrate === maxBitrate;
        if (!params.encodings?.length
            || (params.encodings.every(as) && params.degradationPreference === preference)) continue;
        for (const encoding of params.encodings) {
          Object.assign(encoding, { active, scaleResolutionDownBy: scale, maxBitrate });
          if (maxBitrate === undefined) delete encoding.maxBitrate;
        }
        if (preference) params.degradationPreference = preference;
        else delete params.degradationPreference;
        await sender.setParameters(params);
      }
    }).catch((err) => console.warn('[avatarcall] could not change the video\'s sending', err));
  }

  _awaitAnswer() {
    clearTimeout(this._answerTimer);
    this._answerTimer = setTimeout(() => {
      // In the signals' queue, so that an answer or an offer arriving now is applied first.
      this._signals = this._signals.then(() => this._offerAgain())
        .catch((err) => console.error('[avatarcall] call offer again failed', err));
    }, this._answerWait);
  }

  async _offerAgain() {
    const pc = this._pc;
    if (pc.signalingState !== 'have-local-offer') return;
    this._answerWait = Math.min(this._answerWait * 2, ANSWER_WAIT_CAP_MS);
    await pc.setLocalDescription({ type: 'rollback' });
    this._restartWanted = false;
    this.restartIce(); // -> negotiationneeded: a new offer, with new ICE credentials
  }

  async _onSignal({ description, candidate, restart, offer }) {
    const pc = this._pc;
    if (description?.type === 'offer') this._offersWaiting -= 1;
    if (pc.signalingState === 'closed') return;
    if (restart && !this._polite) {
      // An ask sent before our last offer (of the last 4 s) reached the other page: that offer
      // answers it. After a cut both arrive at once, and a new offer was one more ICE restart
      // for the other browser (Firefox keeps each one's TURN allocations and gathers more
      // slowly after each).
      const recent = performance.now() - this._offeredAt < ANSWER_WAIT_MS;
      if (offer != null && offer < this._offers && recent) return;
      // Asked while our offer has been unanswered a while: the other page did not get it.
      const waiting = pc.signalingState === 'have-local-offer';
      if (waiting && performance.now() - this._offeredAt >= ASKED_AGAIN_MS) await this._offerAgain();
      else if (!waiting && performance.now() - this._pace.restartedAt >= ASKED_AGAIN_MS) this.restartIce();
    } else if (description) {
      const collision = description.type === 'offer' && (this._makingOffer || pc.signalingState !== 'stable');
      this._ignoreOffer = !this._polite && collision;
      if (this._ignoreOffer) return;
      // The answer to an offer we withdrew (rolled back, made again): applied to the new one it
      // would pair our new ICE credentials with theirs for the old, and the path never forms.
      if (description.type === 'answer' && offer != null && offer !== this._offers) return;
      // An offer with a newer one right behind it (both sent during a cut, arriving at once):
      // its ICE restart would be replaced at once, and Firefox gathers more slowly after each.
      if (description.type === 'offer' && this._offersWaiting > 0) {
        const ufrag = /a=ice-ufrag:(\S+)/.exec(description.sdp ?? '')?.[1];
        if (ufrag && this._skipped.size < 50) this._skipped.add(ufrag);
        return;
      }
      await pc.setRemoteDescription(description);
      if (description.type === 'offer') {
        this._pace.restarted(performance.now()); // the other side's offer renews the path too
        if (this._waitingTracks) {
          for (const [track, stream] of this._waitingTracks) pc.addTrack(track, stream);
          this._waitingTracks = null;
        }
        await pc.setLocalDescription();
        this._answered = offer ?? null;
        this._signal({ description: { type: pc.localDescription.type, sdp: pc.localDescription.sdp },
          ...(offer == null ? {} : { offer }) });
      } else {
        clearTimeout(this._answerTimer);
        this._answerWait = ANSWER_WAIT_MS;
        if (this._restartWanted) {
          this._restartWanted = false;
          if (!this._pace.gatheredSince(this._offerStartedAt)) this.restartIce();
        }
        // The polite side rolled its offer back and answered ours with the same ICE credentials;
        // Chromium does not gather again, so the candidates it sent with its ignored offer are the
        // ones we need now.
        const kept = this._setAside;
        this._setAside = [];
        for (const c of kept) await pc.addIceCandidate(c).catch(() => {});
      }
    } else if (candidate) {
      if (this._skipped.has(candidate.usernameFragment)) return; // of an offer not answered
      try {
        await pc.addIceCandidate(candidate);
        if (candidate.candidate) this._pace.remoteCandidate(performance.now());
      } catch (err) {
        if (!this._ignoreOffer) throw err;
        if (this._setAside.length < 50) this._setAside.push(candidate);
      }
    }
  }
}

/** Cap the voice, each time a negotiation is done (set before the first, it did not hold in a
 *  Chromium page). */
function capVoice(pc) {
  for (const sender of pc.getSenders()) {
    if (sender.track?.kind !== 'audio') continue;
    const params = sender.getParameters();
    if (!params.encodings?.length || params.encodings.every((e) => e.maxBitrate === VOICE_MAX_BPS)) {
      continue;
    }
    for (const encoding of params.encodings) encoding.maxBitrate = VOICE_MAX_BPS;
    sender.setParameters(params).catch((err) =>
      console.warn('[avatarcall] could not cap the voice bit rate', err));
  }
}
