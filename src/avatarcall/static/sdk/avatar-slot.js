// AvatarSlot: what a page's avatar area shows, driven by the server's "avatar-view" and
// "avatar-error" events. It owns one AvatarLink at a time and reports a closed set of states:
// off | starting | live | reconnecting | error.
import { AvatarLink } from './avatar-link.js';
import { Emitter } from './events.js';
import { OverlayAvatar } from './overlay.js';
import { BackoffPolicy } from './reconnect.js';

const LIVE_DEADLINE_MS = 60000;
const LINK_STALL_MS = 10000; // a link still not showing frames by then is replaced

/** Events: "state" ({state, code?, message?}), "view" ({view, epoch}). */
export class AvatarSlot extends Emitter {
  #session;
  #video;
  #overlay;
  #iceServers;
  #relayOnly;
  #link = null;
  #callId = null;
  #view = 'off';
  #epoch = 0;
  #state = 'off';
  #backoff = new BackoffPolicy();
  #retryTimer = 0;
  #deadline = 0;
  #offs = [];
  #voiceTrack = null;
  #voice = 'tts';
  #listenTrack = null;

  static EVENTS = ['state', 'view'];

  /**
   * @param {import('./session.js').Session} session
   * @param {{video: HTMLVideoElement, canvas?: HTMLCanvasElement, iceServers?: RTCIceServer[],
   *          relayOnly?: boolean, overlay?: {loops?: {idle: string, talking: string},
   *          voice?: () => (MediaStream|null)}}} options  ``overlay``: the character's loops for
   *          the overlay mode (the server's ``/avatar/loops/idle.webm`` and ``talking.webm``)
   *          and the voice that makes it talk
   */
  constructor(session, { video, canvas = null, iceServers = [], relayOnly = false, overlay = {} }) {
    super(AvatarSlot.EVENTS);
    this.#session = session;
    this.#video = video;
    this.#overlay = canvas ? new OverlayAvatar(canvas, overlay) : null;
    this.#iceServers = iceServers;
    this.#relayOnly = relayOnly;
    this.#offs.push(session.on('avatar-view', (msg) => this.#onView(msg)));
    this.#offs.push(session.on('avatar-error', (msg) => this.#onError(msg)));
  }

  get state() { return this.#state; }
  get view() { return this.#view; }
  get link() { return this.#link; }

  /** The microphone to lend the avatar when the server asks for the agent's voice. */
  setVoiceTrack(track) { this.#voiceTrack = track; }

  /** The customer talks to the assistant with this microphone (null: no more). The avatar's
   *  link is made again with (or without) it; the slot's state does not change meanwhile. */
  listenWith(track) {
    if (track === this.#listenTrack) return;
    this.#listenTrack = track;
    if (this.#view !== 'stream' || !this.#link) return;
    this.#teardown();
    this.#connect();
  }

  get listening() { return Boolean(this.#listenTrack); }

  setIceServers(iceServers, relayOnly = this.#relayOnly) {
    this.#iceServers = iceServers;
    this.#relayOnly = relayOnly;
  }

  /** Try the current avatar again (after an error or a timeout). */
  retry() {
    if (this.#view !== 'stream') return;
    this.#teardown();
    this.#backoff.reset();
    this.#set('starting');
    this.#armDeadline();
    this.#connect();
  }

  /** Turn the slot off on this page (its link closes) until the server shows another view. */
  off() {
    this.#onView({ call_id: this.#callId, view: 'off', epoch: this.#epoch, voice: this.#voice });
  }

  close() {
    for (const off of this.#offs) off();
    this.#offs = [];
    this.#teardown();
    this.#overlay?.stop();
  }

  #set(state, extra = {}) {
    this.#state = state;
    this.emit('state', { state, ...extra });
  }

  #onView({ call_id: callId, view, epoch, voice = 'tts' }) {
    this.#callId = callId;
    // A page that lends its voice needs a new link when that changes; a listener does not.
    const sameVoice = !this.#voiceTrack || voice === this.#voice;
    const sameStream = view === 'stream' && this.#view === 'stream' && epoch === this.#epoch
      && this.#link && sameVoice;
    this.#view = view;
    this.#epoch = epoch;
    this.#voice = voice;
    this.emit('view', { view, epoch, voice });
    if (sameStream) return;
    this.#teardown();
    if (view === 'stream') {
      this.#overlay?.stop();
      this.#backoff.reset();
      this.#set('starting');
      this.#armDeadline();
      this.#connect();
    } else if (view === 'overlay') {
      this.#overlay?.start();
      this.#set('live');
    } else {
      this.#overlay?.stop();
      this.#set('off');
    }
  }

  #armDeadline() {
    clearTimeout(this.#deadline);
    this.#deadline = setTimeout(() => {
      if (this.#state !== 'live') {
        this.#teardown();
        this.#set('error', { code: 'avatar_timeout', message: 'The avatar did not start within 60 seconds.' });
      }
    }, LIVE_DEADLINE_MS);
  }

  #onError({ epoch, code, message }) {
    if (epoch !== this.#epoch) return;
    this.#teardown();
    this.#set('error', { code, message });
  }

  #teardown() {
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#deadline);
    this.#link?.close();
    this.#link = null;
    this.#video.srcObject = null; // never leave a frozen frame on screen
    this.#video.hidden = true;
  }

  async #connect() {
    const link = new AvatarLink(this.#session, {
      callId: this.#callId, epoch: this.#epoch, iceServers: this.#iceServers, relayOnly: this.#relayOnly,
      voice: this.#voice === 'agent' ? this.#voiceTrack : this.#listenTrack,
    });
    this.#link = link;
    // ICE checks can stall without ever reporting "failed" (seen through a relay): a link with
    // no frame after LINK_STALL_MS is replaced, like a failed one, well before the deadline.
    const stall = setTimeout(() => { if (this.#state !== 'live') this.#retry(link); }, LINK_STALL_MS);
    link.on('state', (state) => { if (state === 'closed') clearTimeout(stall); });
    link.on('stream', (stream) => {
      if (this.#link !== link) return;
      this.#video.srcObject = stream;
      this.#video.hidden = false;
      this.#video.play().catch(() => {});
      this.#watchFirstFrame(link);
    });
    link.on('state', (state) => {
      if (this.#link !== link) return;
      if (state === 'failed' || state === 'disconnected') this.#retry(link);
    });
    try {
      await link.start();
    } catch (err) {
      if (this.#link !== link) return;
      if (err.code === 'avatar_unavailable' || err.code === 'closed' || err.code === 'superseded') return;
      this.#retry(link);
    }
  }

  #watchFirstFrame(link) {
    const video = this.#video;
    const onFrame = () => {
      if (this.#link !== link) return;
      this.#backoff.reset();
      clearTimeout(this.#deadline);
      if (this.#state !== 'live') this.#set('live');
    };
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(onFrame);
    else video.addEventListener('loadeddata', onFrame, { once: true });
  }

  #retry(link) {
    if (this.#link !== link || this.#state === 'error') return;
    // aiortc has no ICE restart: a failed avatar link is replaced by a new one.
    link.close();
    this.#link = null;
    this.#set('reconnecting');
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.#connect(), this.#backoff.nextDelayMs());
  }
}
