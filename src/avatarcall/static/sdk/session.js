// Session: the signaling WebSocket of one tab. It parses server messages and re-emits them as
// typed events, and it comes back by itself after a cut (backoff with jitter), resuming the same
// participant in the same call; messages sent meanwhile wait in a bounded outbox.
// It keeps the ICE servers both links use current: fresh TURN credentials are asked for
// before the ones in hand expire, and the links follow (long calls, ICE restarts).
// It knows nothing of peer connections or the page.
import { Emitter, SdkError, fromWire, toWire } from './events.js';
import { BackoffPolicy } from './reconnect.js';

/** The signaling protocol this SDK speaks; the server says its own in "welcome". */
export const PROTOCOL = 1;

const OUTBOX_LIMIT = 500;
const HEARTBEAT_MS = 20_000; // the server closes a socket that is silent for 60 s
// The server will not take us back: do not retry. 4401: not (or no longer) allowed in;
// 4403: this page's origin may not connect; 4409: another tab is now this participant.
const CLOSE_REFUSED = new Set([4401, 4403, 4409]);

/**
 * Events: "open", "reconnecting" ({attempt, delayMs}), "welcome", "queue" (the waiting
 * customers, oldest first; the array's `total`: how many wait in all), "call-started",
 * "call-state", "call-signal", "call-rejoin" (the other side came back on a new link),
 * "ice-servers" (fresh TURN credentials), "avatar-view", "avatar-answer", "avatar-error",
 * "avatar-caption" (what the avatar is saying), "queue-position" (a waiting customer's place),
 * "error", "closed" ({code, reason}, final: emitted once, whatever ended the session — the
 * server, a refusal, close() even during a reconnect's wait, or a protocol mismatch).
 *
 * Safe to construct anywhere (server-side rendering too): nothing is touched before connect().
 */
export class Session extends Emitter {
  _ws = null;
  _base;
  _token;
  _resume = null;
  _pending = new Map(); // avatar offers awaiting their answer, by epoch
  _outbox = [];
  _backoff = new BackoffPolicy({ baseMs: 300, maxMs: 5000 });
  _retryTimer = 0;
  _closedByUs = false;
  _everOpened = false;
  _heartbeat = 0;
  _ended = false; // "closed" was emitted
  _closing = null; // why close() was called
  _ice = { call: [], avatar: [], relayOnly: false };
  _role = null;
  _iceTimer = 0;
  _seen = null; // {callId, seq}: the last numbered message of a call this tab was sent

  static EVENTS = ['open', 'reconnecting', 'welcome', 'queue', 'call-started', 'call-state',
    'call-signal', 'call-rejoin', 'ice-servers', 'avatar-view', 'avatar-answer', 'avatar-error',
    'avatar-caption', 'queue-position', 'conversation-item', 'conversation-history', 'error',
    'closed'];

  /** @param {{url?: string, token?: string, resume?: string}} options */
  constructor({ url, token, resume } = {}) {
    super(Session.EVENTS);
    this._base = url ?? null; // by default, this page's own server (worked out on connect)
    this._token = token ?? null;
    this._resume = resume ?? null;
  }

  /** The token that lets this tab take its call back after a cut or a reload. */
  get resumeToken() { return this._resume; }
  get connected() { return this._ws?.readyState === WebSocket.OPEN; }
  /** "customer" or "agent", once the server has said (welcome). */
  get role() { return this._role; }
  /** The ICE servers of each link now ({call, avatar, relayOnly}; the same object, kept
   *  current from "welcome" and "ice-servers"). */
  get iceServers() { return this._ice; }

  _setIce(call, avatar, refreshIn) {
    this._ice.call = call ?? [];
    this._ice.avatar = avatar ?? [];
    clearTimeout(this._iceTimer);
    if (refreshIn) this._iceTimer = setTimeout(() => this.send({ type: 'ice.refresh' }), refreshIn * 1000);
  }

  /** Resolves on the first open; later cuts are healed in the background. */
  connect() {
    return new Promise((resolve, reject) => {
      const offOpen = this.on('open', () => { offOpen(); offClosed(); resolve(); });
      const offClosed = this.on('closed', (ev) => {
        offOpen(); offClosed();
        reject(new SdkError(ev.reason || 'signaling_closed', 'The server refused or closed the connection.'));
      });
      this._open();
    });
  }

  _url() {
    if (!this._base) {
      const here = globalThis.location;
      if (!here?.host) throw new SdkError('no_url', 'Give the server\'s address: new Session({ url: "wss://…/ws" }).');
      this._base = `${here.protocol === 'https:' ? 'wss' : 'ws'}://${here.host}/ws`;
    }
    const params = new URLSearchParams();
    if (this._token) params.set('token', this._token);
    if (this._resume) params.set('resume', this._resume);
    // Back after a cut: the server sends what this tab missed of its call, once.
    if (this._seen) params.set('since', `${this._seen.callId}:${this._seen.seq}`);
    const query = params.toString();
    return query ? `${this._base}?${query}` : this._base;
  }

  _end(code, reason) {
    if (this._ended) return;
    this._ended = true;
    this.emit('closed', { code, reason });
  }

  _open() {
    let ws;
    try {
      ws = new WebSocket(this._url());
    } catch (err) {
      queueMicrotask(() => this._end(4000, err.code ?? 'bad_url'));
      return;
    }
    this._ws = ws;
    ws.onopen = () => {
      this._everOpened = true;
      this._backoff.reset();
      clearInterval(this._heartbeat);
      this._heartbeat = setInterval(() => {
        if (ws.readyState === WebSocket.OPEN) ws.send('{"type":"ping"}');
      }, HEARTBEAT_MS);
      const queued = this._outbox;
      this._outbox = [];
      for (const text of queued) ws.send(text);
      this.emit('open');
    };
    ws.onclose = (ev) => {
      if (this._ws !== ws) return;
      clearInterval(this._heartbeat);
      for (const { reject } of this._pending.values()) {
        reject(new SdkError('signaling_closed', 'The connection to the server closed.', true));
      }
      this._pending.clear();
      if (this._closedByUs || CLOSE_REFUSED.has(ev.code) || !this._everOpened) {
        this._end(ev.code, this._closedByUs ? (this._closing ?? ev.reason) : ev.reason);
        return;
      }
      const delayMs = this._backoff.nextDelayMs();
      this.emit('reconnecting', { attempt: this._backoff.attempt, delayMs });
      this._retryTimer = setTimeout(() => this._open(), delayMs);
    };
    ws.onmessage = (ev) => this._receive(ev.data);
  }

  /** Send now, or as soon as the connection is back; false only if the outbox is full.
   *  ``message``: camelCase like everything the SDK takes ({type: 'call.end', callId}). */
  send(message) {
    const text = JSON.stringify(toWire(message));
    if (this._ws?.readyState === WebSocket.OPEN) {
      this._ws.send(text);
      return true;
    }
    if (this._closedByUs || this._outbox.length >= OUTBOX_LIMIT) return false;
    this._outbox.push(text);
    return true;
  }

  /** End the session for good: "closed" follows (at once if it was waiting to reconnect). */
  close(reason = 'closed') {
    this._closedByUs = true;
    clearTimeout(this._retryTimer);
    clearTimeout(this._iceTimer);
    clearInterval(this._heartbeat);
    const ws = this._ws;
    if (ws && ws.readyState !== WebSocket.CLOSED && ws.readyState !== WebSocket.CLOSING) {
      this._closing = reason;
      ws.close(1000, reason);
    } else {
      this._end(1000, reason);
    }
  }

  /** close(), and forget every handler: for a component that unmounts. */
  dispose() {
    this.close();
    this._end(1000, 'closed');
    super.dispose();
  }

  /** Send an avatar offer and wait for the server's answer (or its error). */
  requestAvatarAnswer(callId, epoch, sdp) {
    return new Promise((resolve, reject) => {
      this._pending.get(epoch)?.reject(new SdkError('superseded', 'A newer offer replaced this one.'));
      if (!this.connected) {
        reject(new SdkError('signaling_closed', 'The connection to the server is closed.', true));
        return;
      }
      this._pending.set(epoch, { resolve, reject });
      this.send({ type: 'avatar.offer', callId, epoch, sdp });
    });
  }

  /** Keeps the number of a call's message; false for one this tab has seen. A welcome says
   *  where its call's numbers go on from (a server that lost them starts again at 0). */
  _numbered(msg) {
    if (typeof msg.seq !== 'number') return true;
    const callId = msg.type === 'welcome' || msg.type === 'call.started' ? msg.call?.callId
      : msg.callId;
    if (!callId) return true;
    if (msg.type !== 'welcome' && this._seen?.callId === callId && msg.seq <= this._seen.seq) {
      return false;
    }
    this._seen = { callId, seq: msg.seq };
    return true;
  }

  _receive(text) {
    let wire;
    try {
      wire = JSON.parse(text);
    } catch {
      return;
    }
    if (wire === null || typeof wire !== 'object') return;
    const msg = fromWire(wire);
    if (msg.resume) this._resume = msg.resume;
    if (!this._numbered(msg)) return; // seen already (sent again after a reconnect)
    switch (msg.type) {
      case 'welcome':
        if (msg.protocol !== PROTOCOL) {
          const message = `This page's avatarcall SDK speaks protocol ${PROTOCOL}; the server `
            + `speaks ${msg.protocol ?? 'an older one'}. Reload the page or update the SDK.`;
          this.emit('error', { type: 'error', code: 'protocol_mismatch', message, retryable: false });
          this.close('protocol_mismatch');
          return;
        }
        this._role = msg.role ?? null;
        this._ice.relayOnly = Boolean(msg.relayOnly);
        this._setIce(msg.iceServersCall, msg.iceServersAvatar, msg.iceRefreshIn);
        this.emit('welcome', msg);
        break;
      case 'queue': // the array as before, and how many wait in all (only the first 200 are listed)
        this.emit('queue', Object.assign(msg.items, { total: msg.total ?? msg.items.length }));
        break;
      case 'call.started': this.emit('call-started', msg); break;
      case 'call.state': this.emit('call-state', msg); break;
      case 'call.signal': this.emit('call-signal', msg); break;
      case 'call.rejoin': this.emit('call-rejoin', msg); break;
      case 'ice.servers':
        this._setIce(msg.call, msg.avatar, msg.refreshIn);
        this.emit('ice-servers', msg);
        break;
      case 'avatar.view': this.emit('avatar-view', msg); break;
      case 'avatar.answer': {
        const waiter = this._pending.get(msg.epoch);
        this._pending.delete(msg.epoch);
        waiter?.resolve(msg.sdp);
        this.emit('avatar-answer', msg);
        break;
      }
      case 'avatar.error': this.emit('avatar-error', msg); break;
      case 'avatar.caption': this.emit('avatar-caption', msg); break;
      case 'queue.position': this.emit('queue-position', msg); break;
      case 'conversation.item': this.emit('conversation-item', msg); break;
      case 'conversation.history': this.emit('conversation-history', msg); break;
      case 'error': {
        if (msg.request === 'avatar.offer') {
          for (const [epoch, waiter] of this._pending) {
            waiter.reject(new SdkError(msg.code, msg.message, msg.retryable));
            this._pending.delete(epoch);
          }
        }
        this.emit('error', msg);
        break;
      }
      default: break; // pong, and types newer than this SDK
    }
  }
}
