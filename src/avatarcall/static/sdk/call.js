// Call: this page's part in a call, wired to the session. The call link opens when the server
// says the call starts (polite or not, as it says; with a call.rejoin when this page is new to
// a call already on), opens afresh when the other side comes back on a new link, and closes
// when the call ends. States: waiting | connecting | connected | reconnecting | ended.
import { CallLink } from './call-link.js';
import { Emitter } from './events.js';

/** Events: "state" (one of the states above), "link" (a new CallLink), "stream" (the other
 *  person's MediaStream). */
export class Call extends Emitter {
  _session;
  _localStream;
  _link = null;
  _started = null; // the server's call.started of the current call
  _state = 'waiting';
  _stream = null;
  _offs = [];

  static EVENTS = ['state', 'link', 'stream'];

  /** @param {{localStream?: MediaStream|null}} options  what this page sends: camera and mic */
  constructor(session, { localStream = null } = {}) {
    super(Call.EVENTS);
    this._session = session;
    this._localStream = localStream;
    this._offs.push(
      session.on('call-started', (msg) => this._onStarted(msg)),
      session.on('call-rejoin', (msg) => {
        if (msg.callId === this.callId && this._started && this._link) this._open(this._started, 'reconnecting');
      }),
      session.on('call-state', (msg) => {
        if (msg.callId === this.callId && msg.state === 'ended') this.end();
      }),
    );
  }

  get state() { return this._state; }
  get link() { return this._link; }
  /** The other person's media while the call is on, else null. */
  get stream() { return this._stream; }
  get callId() { return this._started?.call.callId ?? null; }

  /** Camera and microphone for the next link (before the call starts, typically). */
  setLocalStream(stream) { this._localStream = stream; }

  /** Gather new candidates on the current link (the person pressed retry). */
  restartIce() { this._link?.restartIce(); }

  /** The call is over for this page (the server said so, or the page knows it). */
  end() {
    this._link?.dispose();
    this._link = null;
    this._stream = null;
    if (this._state !== 'ended') this._set('ended');
  }

  dispose() {
    for (const off of this._offs) off();
    this._offs = [];
    this._link?.dispose();
    this._link = null;
    super.dispose();
  }

  _onStarted(msg) {
    const callId = msg.call.callId;
    if (this._link && this.callId === callId) return; // told again after a cut: the link is up
    this._open(msg, 'connecting');
    // A page new to a call already on (a reload, a second start) asks the other side to
    // start their link afresh too.
    if (msg.call.state !== 'connecting') this._session.send({ type: 'call.rejoin', callId });
  }

  _open(msg, state) {
    this._link?.dispose();
    this._started = msg;
    const ice = this._session.iceServers;
    const link = new CallLink(this._session, {
      callId: msg.call.callId, polite: msg.polite, iceServers: ice.call, relayOnly: ice.relayOnly,
      localStream: this._localStream,
    });
    this._link = link;
    this._stream = null;
    this._set(state);
    this.emit('link', link);
    link.on('track', (stream) => {
      if (this._link !== link) return;
      this._stream = stream;
      this.emit('stream', stream);
    });
    link.on('state', (linkState) => {
      if (this._link !== link) return;
      if (linkState === 'connected') this._set('connected');
      else if (linkState === 'disconnected' || linkState === 'failed') this._set('reconnecting');
    });
  }

  _set(state) {
    this._state = state;
    this.emit('state', state);
  }
}
