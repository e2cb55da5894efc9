// Session: the signaling WebSocket of one tab. It parses server messages and re-emits them as
// typed events, and it comes back by itself after a cut (backoff with jitter), resuming the same
// participant in the same call; messages sent meanwhile wait in a bounded outbox.
// It knows nothing of peer connections or the page.
import { Emitter, SdkError } from './events.js';
import { BackoffPolicy } from './reconnect.js';

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
 * "error", "closed" ({code, reason}, final).
 */
export class Session extends Emitter {
  #ws = null;
  #base;
  #token;
  #resume = null;
  #pending = new Map(); // avatar offers awaiting their answer, by epoch
  #outbox = [];
  #backoff = new BackoffPolicy({ baseMs: 300, maxMs: 5000 });
  #retryTimer = 0;
  #closedByUs = false;
  #everOpened = false;
  #heartbeat = 0;

  static EVENTS = ['open', 'reconnecting', 'welcome', 'queue', 'call-started', 'call-state',
    'call-signal', 'call-rejoin', 'ice-servers', 'avatar-view', 'avatar-answer', 'avatar-error',
    'avatar-caption', 'queue-position', 'conversation-item', 'conversation-history', 'error',
    'closed'];

  /** @param {{url?: string, token?: string, resume?: string}} options */
  constructor({ url, token, resume } = {}) {
    super(Session.EVENTS);
    this.#base = url ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
    this.#token = token ?? null;
    this.#resume = resume ?? null;
  }

  /** The token that lets this tab take its call back after a cut or a reload. */
  get resumeToken() { return this.#resume; }
  get connected() { return this.#ws?.readyState === WebSocket.OPEN; }

  /** Resolves on the first open; later cuts are healed in the background. */
  connect() {
    return new Promise((resolve, reject) => {
      const offOpen = this.on('open', () => { offOpen(); offClosed(); resolve(); });
      const offClosed = this.on('closed', (ev) => {
        offOpen(); offClosed();
        reject(new SdkError(ev.reason || 'signaling_closed', 'The server refused or closed the connection.'));
      });
      this.#open();
    });
  }

  #url() {
    const params = new URLSearchParams();
    if (this.#token) params.set('token', this.#token);
    if (this.#resume) params.set('resume', this.#resume);
    const query = params.toString();
    return query ? `${this.#base}?${query}` : this.#base;
  }

  #open() {
    const ws = new WebSocket(this.#url());
    this.#ws = ws;
    ws.onopen = () => {
      this.#everOpened = true;
      this.#backoff.reset();
      clearInterval(this.#heartbeat);
      this.#heartbeat = setInterval(() => {
        if (ws.readyState === WebSocket.OPEN) ws.send('{"type":"ping"}');
      }, HEARTBEAT_MS);
      const queued = this.#outbox;
      this.#outbox = [];
      for (const text of queued) ws.send(text);
      this.emit('open');
    };
    ws.onclose = (ev) => {
      if (this.#ws !== ws) return;
      clearInterval(this.#heartbeat);
      for (const { reject } of this.#pending.values()) {
        reject(new SdkError('signaling_closed', 'The connection to the server closed.', true));
      }
      this.#pending.clear();
      if (this.#closedByUs || CLOSE_REFUSED.has(ev.code) || !this.#everOpened) {
        this.emit('closed', { code: ev.code, reason: ev.reason });
        return;
      }
      const delayMs = this.#backoff.nextDelayMs();
      this.emit('reconnecting', { attempt: this.#backoff.attempt, delayMs });
      this.#retryTimer = setTimeout(() => this.#open(), delayMs);
    };
    ws.onmessage = (ev) => this.#receive(ev.data);
  }

  /** Send now, or as soon as the connection is back; false only if the outbox is full. */
  send(message) {
    const text = JSON.stringify(message);
    if (this.#ws?.readyState === WebSocket.OPEN) {
      this.#ws.send(text);
      return true;
    }
    if (this.#closedByUs || this.#outbox.length >= OUTBOX_LIMIT) return false;
    this.#outbox.push(text);
    return true;
  }

  close() {
    this.#closedByUs = true;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#heartbeat);
    this.#ws?.close();
  }

  /** Send an avatar offer and wait for the server's answer (or its error). */
  requestAvatarAnswer(callId, epoch, sdp) {
    return new Promise((resolve, reject) => {
      this.#pending.get(epoch)?.reject(new SdkError('superseded', 'A newer offer replaced this one.'));
      if (!this.connected) {
        reject(new SdkError('signaling_closed', 'The connection to the server is closed.', true));
        return;
      }
      this.#pending.set(epoch, { resolve, reject });
      this.send({ type: 'avatar.offer', call_id: callId, epoch, sdp });
    });
  }

  #receive(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (msg.resume) this.#resume = msg.resume;
    switch (msg.type) {
      case 'welcome': this.emit('welcome', msg); break;
      case 'queue': // the array as before, and how many wait in all (only the first 200 are listed)
        this.emit('queue', Object.assign(msg.items, { total: msg.total ?? msg.items.length }));
        break;
      case 'call.started': this.emit('call-started', msg); break;
      case 'call.state': this.emit('call-state', msg); break;
      case 'call.signal': this.emit('call-signal', msg); break;
      case 'call.rejoin': this.emit('call-rejoin', msg); break;
      case 'ice.servers': this.emit('ice-servers', msg); break;
      case 'avatar.view': this.emit('avatar-view', msg); break;
      case 'avatar.answer': {
        const waiter = this.#pending.get(msg.epoch);
        this.#pending.delete(msg.epoch);
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
          for (const [epoch, waiter] of this.#pending) {
            waiter.reject(new SdkError(msg.code, msg.message, msg.retryable));
            this.#pending.delete(epoch);
          }
        }
        this.emit('error', msg);
        break;
      }
      default: break; // pong, and types newer than this SDK
    }
  }
}
