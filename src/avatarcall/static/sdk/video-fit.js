// VideoFit: the call's video gets smaller when the link gives it too little for a fluid
// picture. On a poor link (300 kbps) Chromium's congestion control gives the camera 30-90 kbps;
// its own scaler stops at 320 x 180, and at 320 x 240 the encoder then drops frames (8-13 a
// second reached a Firefox customer). At 160 x 120 the same bit rate carries every frame of
// the camera (19-20 a second). The browser's congestion control still decides the rate; this
// only sets the size (and asks the browser to keep it: its own scaler would go on to 80 x 60).
//
// Read from the sender's own statistics every SAMPLE_MS: `targetBitrate`, what the congestion
// control gives the video (Chromium has it; where a browser does not, nothing changes).
// - Small when the target stays under LOW_BPS for two samples in a row.
// - Back to the camera's size after PROBE_FIRST_MS small, and at once when the target reaches
//   HIGH_BPS (a small picture uses little, and the estimate climbs only a little above what
//   is used, so it cannot be waited for). A try that falls under LOW_BPS again within
//   PROBE_CHECK_MS makes the next one wait twice as long (up to PROBE_MAX_MS); one that holds
//   resets the wait. The avatar's layers follow the same rule (avatarcall.avatar.adapt).
const SAMPLE_MS = 2000;
const LOW_BPS = 100_000;
const HIGH_BPS = 160_000;
const PROBE_FIRST_MS = 10_000;
const PROBE_CHECK_MS = 6_000;
const PROBE_MAX_MS = 120_000;
export const SMALL_PIXELS = 160 * 120;

/** The rule alone, fed one sample at a time: whether the video should be small. */
export class FitChoice {
  small = false;
  _since = 0; // on this size, since (ms)
  _lowSamples = 0;
  _probeWait = PROBE_FIRST_MS;
  _probedAt = null; // when the last try at the camera's size began, while it is judged

  /** @param {number} targetBps  @param {number} now  ms  @returns {boolean} small */
  sample(targetBps, now) {
    this._lowSamples = targetBps < LOW_BPS ? this._lowSamples + 1 : 0;
    if (this._probedAt !== null && now - this._probedAt >= PROBE_CHECK_MS && !this.small) {
      this._probeWait = PROBE_FIRST_MS; // the try held
      this._probedAt = null;
    }
    if (!this.small && this._lowSamples >= 2) {
      if (this._probedAt !== null) this._probeWait = Math.min(this._probeWait * 2, PROBE_MAX_MS);
      this._probedAt = null;
      this._set(true, now);
    } else if (this.small && (targetBps >= HIGH_BPS || now - this._since >= this._probeWait)) {
      this._probedAt = now;
      this._set(false, now);
    }
    return this.small;
  }

  _set(small, now) {
    this.small = small;
    this._since = now;
    this._lowSamples = 0;
  }
}

/** The scale that makes a track of this size about SMALL_PIXELS (1: already that small). */
export function smallScale({ width = 0, height = 0 } = {}) {
  return Math.max(1, Math.sqrt((width * height) / SMALL_PIXELS));
}

export class VideoFit {
  _pc;
  _onChange;
  _paused;
  _choice = new FitChoice();
  _timer = 0;

  /**
   * @param {RTCPeerConnection} pc
   * @param {() => void} onChange  called when `small` changes: apply it to the video senders
   * @param {() => boolean} paused  the video is paused (its path is down): no sample
   */
  constructor(pc, onChange, paused) {
    this._pc = pc;
    this._onChange = onChange;
    this._paused = paused;
    this._timer = setInterval(() => this._sample().catch(() => {}), SAMPLE_MS);
  }

  get small() { return this._choice.small; }

  close() { clearInterval(this._timer); }

  async _sample() {
    if (this._pc.connectionState !== 'connected' || this._paused()) return;
    let target = null;
    for (const report of (await this._pc.getStats()).values()) {
      if (report.type === 'outbound-rtp' && report.kind === 'video' && report.targetBitrate != null) {
        target = (target ?? 0) + report.targetBitrate;
      }
    }
    if (target === null) return;
    const before = this._choice.small;
    if (this._choice.sample(target, performance.now()) !== before) this._onChange();
  }
}
