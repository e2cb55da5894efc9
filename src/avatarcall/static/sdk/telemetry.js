// Telemetry: what this page sees on its links, sent to the server as structured events
// (the report's log lines, with timestamps), plus a getStats() summary every few seconds.
// It only listens: CallLink, AvatarSlot and Session know nothing about it. Its timers start
// with the first call it is told of; dispose() lets go of everything it listens to.
import { keepRaw } from './events.js';

const FLUSH_MS = 1000;
const STATS_MS = 5000;
const MAX_BUFFER = 200;

export class Telemetry {
  _session;
  _callId = null;
  _buffer = [];
  _flushTimer = 0;
  _statsTimer = 0;
  _callLink = null;
  _avatarSlot = null;
  _lastBytes = new Map();
  _offs = [];

  constructor(session) {
    keepRaw(this);
    this._session = session;
    this._offs.push(
      session.on('reconnecting', ({ attempt }) => this.record('signaling', 'reconnecting', { value: String(attempt) })),
      session.on('open', () => this.record('signaling', 'open')),
    );
  }

  setCall(callId) {
    this._callId = callId;
    if (!this._flushTimer) {
      this._flushTimer = setInterval(() => this.flush(), FLUSH_MS);
      this._statsTimer = setInterval(() => this._sampleStats(), STATS_MS);
    }
  }

  /** Record one event; ``fields`` may hold value, elapsedMs, code. */
  record(link, kind, fields = {}) {
    if (this._buffer.length >= MAX_BUFFER) this._buffer.shift();
    const event = { at: Date.now(), link, kind };
    for (const key of ['value', 'elapsedMs', 'code']) {
      if (fields[key] !== undefined && fields[key] !== null) event[key] = fields[key];
    }
    this._buffer.push(event);
  }

  /** Follow a call link: its states, time to connected, recovery time. */
  watchCallLink(link) {
    this._callLink = link;
    const started = performance.now();
    let downSince = null;
    let connectedOnce = false;
    this.record('call', 'created');
    this._offs.push(link.on('state', (state) => {
      const now = performance.now();
      if (state === 'connected') {
        if (!connectedOnce) {
          connectedOnce = true;
          this.record('call', 'connected', { elapsedMs: Math.round(now - started) });
        } else if (downSince !== null) {
          this.record('call', 'recovered', { elapsedMs: Math.round(now - downSince) });
        }
        downSince = null;
      } else {
        if ((state === 'disconnected' || state === 'failed') && downSince === null) downSince = now;
        this.record('call', state);
      }
    }));
  }

  /** Follow the avatar slot: starting -> live is the avatar's time to first frame. */
  watchAvatarSlot(slot) {
    this._avatarSlot = slot;
    let startedAt = null;
    let downSince = null;
    this._offs.push(slot.on('state', ({ state, code }) => {
      const now = performance.now();
      if (state === 'starting') startedAt = now;
      if (state === 'reconnecting' && downSince === null) downSince = now;
      const fields = { code: code ?? undefined };
      if (state === 'live' && downSince !== null) {
        this.record('avatar', 'recovered', { elapsedMs: Math.round(now - downSince) });
        downSince = null;
        startedAt = null;
      }
      // The first frame shown (muted or not: "needs-interaction" waits for a click, not for us).
      if ((state === 'live' || state === 'needs-interaction') && startedAt !== null) {
        fields.elapsedMs = Math.round(now - startedAt);
        startedAt = null;
      }
      this.record('avatar', state, fields);
    }));
  }

  flush() {
    if (!this._callId || this._buffer.length === 0 || !this._session.connected) return;
    while (this._buffer.length) {
      const events = this._buffer.splice(0, 50);
      this._session.send({ type: 'telemetry', callId: this._callId, sentAt: Date.now(), events });
    }
  }

  close() {
    this.flush();
    clearInterval(this._flushTimer);
    clearInterval(this._statsTimer);
    this._flushTimer = 0;
    this._statsTimer = 0;
  }

  /** close(), and stop listening to the session, links and slots it was given. */
  dispose() {
    this.close();
    for (const off of this._offs) off();
    this._offs = [];
    this._callLink = null;
    this._avatarSlot = null;
  }

  async _sampleStats() {
    if (!this._callId || !this._session.connected) return;
    const stats = [];
    const call = this._callLink?.peerConnection;
    if (call && call.connectionState === 'connected') stats.push(await this._summarise('call', call));
    const avatarLink = this._avatarSlot?.link;
    const avatar = avatarLink?.peerConnection;
    if (avatar && avatar.connectionState === 'connected') {
      const sample = await this._summarise('avatar', avatar);
      if (avatarLink.videoHoldMs !== null) sample.playoutDelayMs = avatarLink.videoHoldMs;
      stats.push(sample);
    }
    if (stats.length) this._session.send({ type: 'telemetry', callId: this._callId, sentAt: Date.now(), stats });
  }

  async _summarise(link, pc) {
    const report = await pc.getStats();
    const sample = { link };
    let bytes = 0;
    let lost = 0;
    let received = 0;
    for (const s of report.values()) {
      if (s.type === 'inbound-rtp') {
        bytes += s.bytesReceived ?? 0;
        lost += Math.max(0, s.packetsLost ?? 0);
        received += s.packetsReceived ?? 0;
        if (s.kind === 'video') {
          if (s.framesPerSecond !== undefined) sample.fps = s.framesPerSecond;
          sample.framesDecoded = s.framesDecoded ?? 0;
        }
      }
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
        if (s.currentRoundTripTime !== undefined) sample.rttMs = Math.round(s.currentRoundTripTime * 1000);
        const local = report.get(s.localCandidateId);
        if (local?.candidateType) sample.candidateType = local.candidateType;
      }
    }
    const now = performance.now();
    const last = this._lastBytes.get(link);
    if (last && now > last.t) sample.bitrateKbps = Math.max(0, ((bytes - last.bytes) * 8) / (now - last.t));
    this._lastBytes.set(link, { bytes, t: now });
    if (received + lost > 0) sample.packetLoss = lost / (received + lost);
    return sample;
  }
}
