// Session: the signaling WebSocket of one tab. It parses server messages and re-emits them as
// typed events; it knows nothing of peer connections or the page.
import { Emitter, SdkError } from './events.js';

/**
 * Events: "open", "welcome", "queue", "call-started", "call-state", "call-signal",
 * "avatar-view", "avatar-answer", "avatar-error", "error", "closed".
 */
export class Session extends Emitter {
  #ws = null;
  #url;
  #pending = new Map(); // avatar offers awaiting their answer, by epoch

  static EVENTS = ['open', 'welcome', 'queue', 'call-started', 'call-state', 'call-signal',
    'avatar-view', 'avatar-answer', 'avatar-error', 'error', 'closed'];

  /** @param {{url?: string, token?: string}} options */
  constructor({ url, token } = {}) {
    super(Session.EVENTS);
    const base = url ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
    this.#url = token ? `${base}?token=${encodeURIComponent(token)}` : base;
  }

  connect() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.#url);
      this.#ws = ws;
      ws.onopen = () => { this.emit('open'); resolve(); };
      ws.onerror = () => reject(new SdkError('signaling_unreachable', 'The server cannot be reached.', true));
      ws.onclose = (ev) => {
        for (const { reject: fail } of this.#pending.values()) {
          fail(new SdkError('signaling_closed', 'The connection to the server closed.', true));
        }
        this.#pending.clear();
        this.emit('closed', { code: ev.code, reason: ev.reason });
      };
      ws.onmessage = (ev) => this.#receive(ev.data);
    });
  }

  send(message) {
    if (this.#ws?.readyState !== WebSocket.OPEN) return false;
    this.#ws.send(JSON.stringify(message));
    return true;
  }

  close() {
    this.#ws?.close();
  }

  /** Send an avatar offer and wait for the server's answer (or its error). */
  requestAvatarAnswer(callId, epoch, sdp) {
    return new Promise((resolve, reject) => {
      this.#pending.get(epoch)?.reject(new SdkError('superseded', 'A newer offer replaced this one.'));
      this.#pending.set(epoch, { resolve, reject });
      if (!this.send({ type: 'avatar.offer', call_id: callId, epoch, sdp })) {
        this.#pending.delete(epoch);
        reject(new SdkError('signaling_closed', 'The connection to the server is closed.', true));
      }
    });
  }

  #receive(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    switch (msg.type) {
      case 'welcome': this.emit('welcome', msg); break;
      case 'queue': this.emit('queue', msg.items); break;
      case 'call.started': this.emit('call-started', msg); break;
      case 'call.state': this.emit('call-state', msg); break;
      case 'call.signal': this.emit('call-signal', msg); break;
      case 'avatar.view': this.emit('avatar-view', msg); break;
      case 'avatar.answer': {
        const waiter = this.#pending.get(msg.epoch);
        this.#pending.delete(msg.epoch);
        waiter?.resolve(msg.sdp);
        this.emit('avatar-answer', msg);
        break;
      }
      case 'avatar.error': this.emit('avatar-error', msg); break;
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
