// LipSync: keeps the avatar's video exactly as late as its voice, so the lips meet the sound.
//
// The browser's own audio/video sync trusts the sender's RTCP clock (sender reports). aiortc
// stamps those with the time a packet left, so whenever the server's audio is sent late or in
// bursts (a busy machine, a jittery network), the browser buffers the voice much longer than
// it believes it should (100-900 ms measured here) and shows the lips 100-250 ms ahead of it.
// The avatar session sends a frame's picture and its sound at the same instant, so the delay
// the voice actually has in this page (jitter buffer + playout, from getStats) is the delay the
// video needs: every TICK_MS it becomes the video receiver's jitterBufferTarget.

const TICK_MS = 250;
const MAX_HOLD_MS = 2000; // jitterBufferTarget accepts up to 4 s; beyond 2 s lips do not matter
const MIN_CHANGE_MS = 10;

export class LipSync {
  _pc;
  _receiver;
  _timer = 0;
  _last = null;
  _busy = false;
  _holdMs = null;

  /** @param {RTCPeerConnection} pc  @param {RTCRtpReceiver} videoReceiver */
  constructor(pc, videoReceiver) {
    this._pc = pc;
    this._receiver = videoReceiver;
  }

  /** The video hold last applied (ms), or null before the voice has been heard. */
  get holdMs() { return this._holdMs; }

  start() {
    if (this._timer || !('jitterBufferTarget' in this._receiver)) return;
    this._timer = setInterval(() => this._tick(), TICK_MS);
  }

  stop() {
    clearInterval(this._timer);
    this._timer = 0;
  }

  async _tick() {
    if (this._busy) return; // a slow getStats() never piles up
    this._busy = true;
    try {
      const now = voiceDelayCounters(await this._pc.getStats());
      const delay = now && this._last ? voiceDelayMs(this._last, now) : null;
      if (now) this._last = now;
      if (delay === null) return;
      const hold = Math.round(Math.min(MAX_HOLD_MS, Math.max(0, delay)));
      if (this._holdMs === null || Math.abs(hold - this._holdMs) >= MIN_CHANGE_MS) {
        this._receiver.jitterBufferTarget = hold;
        this._holdMs = hold;
      }
    } catch {
      this.stop(); // the peer connection is closed
    } finally {
      this._busy = false;
    }
  }
}

/** The cumulative counters of the voice's delay in this page, or null without audio yet. */
function voiceDelayCounters(report) {
  let inbound = null;
  let playout = null;
  report.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') inbound = s;
    if (s.type === 'media-playout' && s.kind === 'audio') playout = s;
  });
  if (!inbound || inbound.jitterBufferEmittedCount === undefined) return null;
  return {
    buffered: inbound.jitterBufferDelay, // seconds, summed over emitted samples
    emitted: inbound.jitterBufferEmittedCount,
    playout: playout?.totalPlayoutDelay ?? 0, // seconds, summed over played samples
    played: playout?.totalSamplesCount ?? 0,
  };
}

/** The voice's mean delay (ms) between two readings, or null if nothing was played. */
function voiceDelayMs(before, after) {
  const emitted = after.emitted - before.emitted;
  if (emitted <= 0) return null;
  const buffered = (after.buffered - before.buffered) / emitted;
  const played = after.played - before.played;
  const playout = played > 0 ? (after.playout - before.playout) / played : 0;
  return 1000 * (buffered + playout);
}
