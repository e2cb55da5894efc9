// AvatarSlot: what a page's avatar area shows, driven by the server's "avatar-view" and
// "avatar-error" events. It owns one AvatarLink at a time and reports a closed set of states:
// off | starting | live | needs-interaction | reconnecting | error. "needs-interaction": the
// browser refused to play the avatar's voice before the person used the page (autoplay
// policy); the avatar is shown muted until resume() is called from a click.
import { AvatarLink } from './avatar-link.js';
import { Emitter, SdkError } from './events.js';
import { OverlayAvatar } from './overlay.js';
import { PathWatch } from './path-watch.js';
import { BackoffPolicy } from './reconnect.js';

const LIVE_DEADLINE_MS = 60000;
const LINK_STALL_MS = 10000; // a link still not showing frames by then is replaced
const FROZEN_MS = 700; // no new frame for this long after the signaling came back: replaced
// A link that found no ICE candidate (the network away, a cut) already spent its gathering
// time: the next is tried this soon, not after a growing backoff, so that the first try after
// the network is back finds it (backed off, it came up to 2 s late after a 5 s cut).
const NO_PATH_RETRY_MS = 250;

/** Events: "state" ({state, code?, message?}), "view" ({view, epoch}). */
export class AvatarSlot extends Emitter {
  _session;
  _video;
  _overlay;
  _iceServers;
  _relayOnly;
  _link = null;
  _callId = null;
  _view = 'off';
  _epoch = 0;
  _state = 'off';
  _backoff = new BackoffPolicy();
  _retryTimer = 0;
  _deadline = 0;
  _offs = [];
  _voiceTrack = null;
  _voice = 'tts';
  _listenTrack = null;
  _stream = null; // the current link's avatar (video and voice), or null
  _mutedByPolicy = false; // autoplay refused the voice: shown muted until resume()
  _seen = false; // the current link has shown a frame
  _path = null; // PathWatch of the current link (_pathOf) once it shows frames
  _pathOf = null;

  static EVENTS = ['state', 'view'];

  /**
   * @param {import('./session.js').Session} session
   * @param {{video?: HTMLVideoElement|null, canvas?: HTMLCanvasElement, iceServers?: RTCIceServer[],
   *          relayOnly?: boolean, overlay?: {loops?: {idle: string, talking: string},
   *          voice?: () => (MediaStream|null)}}} options  ``overlay``: the character's loops for
   *          the overlay mode (the server's ``/avatar/loops/idle.webm`` and ``talking.webm``)
   *          and the voice that makes it talk
   */
  constructor(session, { video = null, canvas = null, iceServers = [], relayOnly = false, overlay = {} } = {}) {
    super(AvatarSlot.EVENTS);
    this._session = session;
    this._video = video;
    this._overlay = canvas ? new OverlayAvatar(canvas, overlay) : null;
    this._iceServers = iceServers;
    this._relayOnly = relayOnly;
    this._offs.push(session.on('avatar-view', (msg) => this._onView(msg)));
    const follow = () => this.setIceServers(session.iceServers.avatar, session.iceServers.relayOnly);
    // Back after a signaling drop (maybe a changed network): a link whose frames stopped is
    // replaced now, with the welcome's fresh credentials, not when ICE gives up on it.
    let dropped = false;
    this._offs.push(session.on('reconnecting', () => { dropped = true; }));
    this._offs.push(session.on('welcome', () => {
      follow();
      if (dropped) this._replaceIfFrozen();
      dropped = false;
    }), session.on('ice-servers', follow));
    this._offs.push(session.on('avatar-error', (msg) => this._onError(msg)));
  }

  get state() { return this._state; }
  /** The avatar's MediaStream (video and voice) while a link is up, else null. */
  get stream() { return this._stream; }

  /** Show the avatar in ``video`` (e.g. after a framework re-rendered the element); the
   *  slot's state becomes "live" once that element shows a frame. ``null`` lets go of it. */
  attach(video) {
    if (video === this._video) return;
    if (this._video) {
      this._video.srcObject = null;
      this._video.hidden = true;
    }
    this._video = video;
    if (video && this._stream && this._link) this._show(this._link, this._stream);
  }
  get view() { return this._view; }
  get link() { return this._link; }

  /** The microphone to lend the avatar when the server asks for the agent's voice. */
  setVoiceTrack(track) { this._voiceTrack = track; }

  /** The customer talks to the assistant with this microphone (null: no more). The avatar's
   *  link is made again with (or without) it; the slot's state does not change meanwhile. */
  listenWith(track) {
    if (track === this._listenTrack) return;
    this._listenTrack = track;
    if (this._view !== 'stream' || !this._link) return;
    this._teardown();
    this._connect();
  }

  get listening() { return Boolean(this._listenTrack); }

  setIceServers(iceServers, relayOnly = this._relayOnly) {
    this._iceServers = iceServers;
    this._relayOnly = relayOnly;
  }

  /** Try the current avatar again (after an error or a timeout). */
  retry() {
    if (this._view !== 'stream') return;
    this._teardown();
    this._backoff.reset();
    this._set('starting');
    this._armDeadline();
    this._connect();
  }

  /** Turn the slot off on this page (its link closes) until the server shows another view. */
  off() {
    this._onView({ callId: this._callId, view: 'off', epoch: this._epoch, voice: this._voice });
  }

  /** After the browser refused to play the avatar's voice ("needs-interaction"): call from a
   *  click (or any user gesture) to turn it on. Rejects if the browser still refuses. */
  async resume() {
    if (!this._mutedByPolicy) return;
    const video = this._video;
    if (!video) return;
    video.muted = false;
    try {
      await video.play();
    } catch (err) {
      video.muted = true;
      video.play().catch(() => {});
      throw new SdkError('needs_interaction', 'The browser wants a click on the page first.');
    }
    this._mutedByPolicy = false;
    if (this._seen && this._state === 'needs-interaction') this._set('live');
  }

  close() {
    for (const off of this._offs) off();
    this._offs = [];
    this._teardown();
    this._overlay?.stop();
  }

  /** close(), and forget every handler: for a component that unmounts. */
  dispose() {
    this.close();
    super.dispose();
  }

  _set(state, extra = {}) {
    this._state = state;
    this.emit('state', { state, ...extra });
  }

  _onView({ callId, view, epoch, voice = 'tts' }) {
    this._callId = callId;
    // A page that lends its voice needs a new link when that changes; a listener does not.
    const sameVoice = !this._voiceTrack || voice === this._voice;
    const sameStream = view === 'stream' && this._view === 'stream' && epoch === this._epoch
      && this._link && sameVoice;
    this._view = view;
    this._epoch = epoch;
    this._voice = voice;
    this.emit('view', { view, epoch, voice });
    if (sameStream) return;
    this._teardown();
    if (view === 'stream') {
      this._overlay?.stop();
      this._backoff.reset();
      this._set('starting');
      this._armDeadline();
      this._connect();
    } else if (view === 'overlay') {
      this._overlay?.start();
      this._set('live');
    } else {
      this._overlay?.stop();
      this._set('off');
    }
  }

  _armDeadline() {
    clearTimeout(this._deadline);
    this._deadline = setTimeout(() => {
      if (this._state !== 'live' && this._state !== 'needs-interaction') {
        this._teardown();
        this._set('error', { code: 'avatar_timeout', message: 'The avatar did not start within 60 seconds.' });
      }
    }, LIVE_DEADLINE_MS);
  }

  _onError({ epoch, code, message }) {
    if (epoch !== this._epoch) return;
    this._teardown();
    this._set('error', { code, message });
  }

  _teardown() {
    this._seen = false;
    this._path?.close();
    this._path = null;
    clearTimeout(this._retryTimer);
    clearTimeout(this._deadline);
    this._link?.close();
    this._link = null;
    this._stream = null;
    if (this._video) {
      this._video.srcObject = null; // never leave a frozen frame on screen
      this._video.hidden = true;
    }
  }

  async _connect() {
    const link = new AvatarLink(this._session, {
      callId: this._callId, epoch: this._epoch, iceServers: this._iceServers, relayOnly: this._relayOnly,
      voice: this._voice === 'agent' ? this._voiceTrack : this._listenTrack,
    });
    this._link = link;
    // ICE checks can stall without ever reporting "failed" (seen through a relay): a link with
    // no frame after LINK_STALL_MS is replaced, like a failed one, well before the deadline.
    const stall = setTimeout(() => { if (!this._seen) this._retry(link); }, LINK_STALL_MS);
    link.on('state', (state) => { if (state === 'closed') clearTimeout(stall); });
    link.on('stream', (stream) => {
      if (this._link !== link) return;
      this._stream = stream;
      if (this._video) this._show(link, stream);
    });
    link.on('state', (state) => {
      if (this._link !== link) return;
      // Once it shows frames, its PathWatch tells a "disconnected" whose frames go on coming
      // (Firefox misses a check on a lossy link) from one whose frames stopped.
      if (state === 'failed' || (state === 'disconnected' && this._pathOf !== link)) this._retry(link);
    });
    try {
      await link.start();
    } catch (err) {
      if (this._link !== link) return;
      if (err.code === 'avatar_unavailable' || err.code === 'closed' || err.code === 'superseded') return;
      this._retry(link, err.code === 'no_candidates' ? NO_PATH_RETRY_MS : undefined);
    }
  }

  _show(link, stream) {
    this._video.srcObject = stream;
    this._video.hidden = false;
    this._play(link);
    this._watchFirstFrame(link);
  }

  _play(link) {
    const video = this._video;
    if (this._mutedByPolicy) video.muted = true; // (a page may mute it for its own reasons)
    video.play().catch((err) => {
      if (this._link !== link || err?.name !== 'NotAllowedError') return;
      // No sound before the person has used the page: the lips move, muted, and the page
      // offers to turn the voice on (resume()).
      this._mutedByPolicy = true;
      video.muted = true;
      video.play().catch(() => {});
      if (this._seen) this._set('needs-interaction');
    });
  }

  _watchFirstFrame(link) {
    const video = this._video;
    const onFrame = () => {
      if (this._link !== link || this._video !== video) return;
      // The avatar's packets stopping (a relay restarted, a cut) replaces the link at once,
      // not after Chromium's 5 s of failed checks.
      if (this._pathOf !== link) {
        this._path?.close();
        this._path = new PathWatch(link.peerConnection, (down) => { if (down) this._retry(link); });
        this._pathOf = link;
      }
      this._seen = true;
      this._backoff.reset();
      clearTimeout(this._deadline);
      const state = this._mutedByPolicy ? 'needs-interaction' : 'live';
      if (this._state !== state) this._set(state);
    };
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(onFrame);
    else video.addEventListener('loadeddata', onFrame, { once: true });
  }

  _replaceIfFrozen() {
    const link = this._link;
    const video = this._video;
    if (!link || !video || !this._seen) return;
    const frames = () => video.getVideoPlaybackQuality?.().totalVideoFrames ?? 0;
    const before = frames();
    setTimeout(() => { if (this._link === link && frames() === before) this._retry(link); }, FROZEN_MS);
  }

  _retry(link, delayMs = undefined) {
    if (this._link !== link || this._state === 'error') return;
    // aiortc has no ICE restart: a failed avatar link is replaced by a new one.
    this._path?.close();
    this._path = null;
    link.close();
    this._link = null;
    this._set('reconnecting');
    clearTimeout(this._retryTimer);
    this._retryTimer = setTimeout(() => this._connect(), delayMs ?? this._backoff.nextDelayMs());
  }
}
