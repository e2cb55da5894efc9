// Telemetry: what this page sees on its links, sent to the server as structured events
// (the report's log lines, with timestamps), plus a getStats() summary every few seconds.
// It only listens: CallLink, AvatarSlot and Session know nothing about it.

const FLUSH_MS = 1000;
const STATS_MS = 5000;
const MAX_BUFFER = 200;

export class Telemetry {
  #session;
  #callId = null;
  #buffer = [];
  #flushTimer = 0;
  #statsTimer = 0;
  #callLink = null;
  #avatarSlot = null;
  #lastBytes = new Map();

  constructor(session) {
    this.#session = session;
    session.on('reconnecting', ({ attempt }) => this.record('signaling', 'reconnecting', { value: String(attempt) }));
    session.on('open', () => this.record('signaling', 'open'));
    this.#flushTimer = setInterval(() => this.flush(), FLUSH_MS);
    this.#statsTimer = setInterval(() => this.#sampleStats(), STATS_MS);
  }

  setCall(callId) { this.#callId = callId; }

  /** Record one event; ``fields`` may hold value, elapsed_ms, code. */
  record(link, kind, fields = {}) {
    if (this.#buffer.length >= MAX_BUFFER) this.#buffer.shift();
    const event = { at: Date.now(), link, kind };
    for (const key of ['value', 'elapsed_ms', 'code']) {
      if (fields[key] !== undefined && fields[key] !== null) event[key] = fields[key];
    }
    this.#buffer.push(event);
  }

  /** Follow a call link: its states, time to connected, recovery time. */
  watchCallLink(link) {
    this.#callLink = link;
    const started = performance.now();
    let downSince = null;
    let connectedOnce = false;
    this.record('call', 'created');
    link.on('state', (state) => {
      const now = performance.now();
      if (state === 'connected') {
        if (!connectedOnce) {
          connectedOnce = true;
          this.record('call', 'connected', { elapsed_ms: Math.round(now - started) });
        } else if (downSince !== null) {
          this.record('call', 'recovered', { elapsed_ms: Math.round(now - downSince) });
        }
        downSince = null;
      } else {
        if ((state === 'disconnected' || state === 'failed') && downSince === null) downSince = now;
        this.record('call', state);
      }
    });
  }

  /** Follow the avatar slot: starting -> live is the avatar's time to first frame. */
  watchAvatarSlot(slot) {
    this.#avatarSlot = slot;
    let startedAt = null;
    let downSince = null;
    slot.on('state', ({ state, code }) => {
      const now = performance.now();
      if (state === 'starting') startedAt = now;
      if (state === 'reconnecting' && downSince === null) downSince = now;
      const fields = { code: code ?? undefined };
      if (state === 'live' && downSince !== null) {
        this.record('avatar', 'recovered', { elapsed_ms: Math.round(now - downSince) });
        downSince = null;
        startedAt = null;
      }
      if (state === 'live' && startedAt !== null) {
        fields.elapsed_ms = Math.round(now - startedAt);
        startedAt = null;
      }
      this.record('avatar', state, fields);
    });
  }

  flush() {
    if (!this.#callId || this.#buffer.length === 0 || !this.#session.connected) return;
    while (this.#buffer.length) {
      const events = this.#buffer.splice(0, 50);
      this.#session.send({ type: 'telemetry', call_id: this.#callId, sent_at: Date.now(), events });
    }
  }

  close() {
    this.flush();
    clearInterval(this.#flushTimer);
    clearInterval(this.#statsTimer);
  }

  async #sampleStats() {
    if (!this.#callId || !this.#session.connected) return;
    const stats = [];
    const call = this.#callLink?.peerConnection;
    if (call && call.connectionState === 'connected') stats.push(await this.#summarise('call', call));
    const avatarLink = this.#avatarSlot?.link;
    const avatar = avatarLink?.peerConnection;
    if (avatar && avatar.connectionState === 'connected') {
      const sample = await this.#summarise('avatar', avatar);
      if (avatarLink.videoHoldMs !== null) sample.playout_delay_ms = avatarLink.videoHoldMs;
      stats.push(sample);
    }
    if (stats.length) this.#session.send({ type: 'telemetry', call_id: this.#callId, sent_at: Date.now(), stats });
  }

  async #summarise(link, pc) {
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
          sample.frames_decoded = s.framesDecoded ?? 0;
        }
      }
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
        if (s.currentRoundTripTime !== undefined) sample.rtt_ms = Math.round(s.currentRoundTripTime * 1000);
        const local = report.get(s.localCandidateId);
        if (local?.candidateType) sample.candidate_type = local.candidateType;
      }
    }
    const now = performance.now();
    const last = this.#lastBytes.get(link);
    if (last && now > last.t) sample.bitrate_kbps = Math.max(0, ((bytes - last.bytes) * 8) / (now - last.t));
    this.#lastBytes.set(link, { bytes, t: now });
    if (received + lost > 0) sample.packet_loss = lost / (received + lost);
    return sample;
  }
}
