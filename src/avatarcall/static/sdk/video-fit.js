// VideoFit: the call's video gets smaller when the link gives it too little for a fluid
// picture. On a poor link (300 kbps) Chromium's congestion control gives the camera 30-90 kbps;
// its own scaler stops at 320 x 180, and at 320 x 240 the encoder then drops frames (8-13 a
// second reached a Firefox customer). At 160 x 120 the same bit rate carries every frame of
// the camera (19-20 a second). The browser's congestion control still decides the rate; this
// only sets the size (and asks the browser to keep it: its own scaler would go on to 80 x 60).
//
// Read from the sender's own statistics (those PathWatch reads, one getStats() for both) every
// SAMPLE_MS: `targetBitrate`, what the congestion
// control gives the video (Chromium has it; where a browser does not, nothing changes).
// Small when the target stays under LOW_BPS for two samples in a row; the camera's size again
// when it reaches HIGH_BPS. No timed tries at the full size (the avatar's layers need them: a
// browser's estimate of what it receives cannot show spare room): a sender's own estimate
// climbs while the small picture takes more of it, and on a link back to good it reached
// 160 kbps within 6 s (`getStats` each second), where a try every 10 s on a poor link cost about
// a second of picture each time (a new size starts with a keyframe).
const SAMPLE_MS = 2000;
const LOW_BPS = 100_000;
const HIGH_BPS = 160_000;
export const SMALL_PIXELS = 160 * 120;

/** The rule alone, fed one sample at a time: whether the video should be small. */
export class FitChoice {
  small = false;
  _lowSamples = 0;

  /** @param {number} targetBps  @returns {boolean} small */
  sample(targetBps) {
    this._lowSamples = targetBps < LOW_BPS ? this._lowSamples + 1 : 0;
    if (!this.small && this._lowSamples >= 2) this.small = true;
    else if (this.small && targetBps >= HIGH_BPS) this.small = false;
    return this.small;
  }
}

/** The scale that makes a track of this size about SMALL_PIXELS (1: already that small). */
export function smallScale({ width = 0, height = 0 } = {}) {
  return Math.max(1, Math.sqrt((width * height) / SMALL_PIXELS));
}

/** Feed it the link's statistics (PathWatch reads them every 500 ms): a sample each SAMPLE_MS. */
export class VideoFit {
  _onChange;
  _paused;
  _choice = new FitChoice();
  _sampledAt = -Infinity;

  /**
   * @param {() => void} onChange  called when `small` changes: apply it to the video senders
   * @param {() => boolean} paused  the video is paused (its path is down): no sample
   */
  constructor(onChange, paused) {
    this._onChange = onChange;
    this._paused = paused;
  }

  get small() { return this._choice.small; }

  /** @param {RTCStatsReport} stats  the link's, while it is connected */
  stats(stats, now = performance.now()) {
    if (now - this._sampledAt < SAMPLE_MS || this._paused()) return;
    let target = null;
    for (const report of stats.values()) {
      if (report.type === 'outbound-rtp' && report.kind === 'video' && report.targetBitrate != null) {
        target = (target ?? 0) + report.targetBitrate;
      }
    }
    if (target === null) return;
    this._sampledAt = now;
    const before = this._choice.small;
    if (this._choice.sample(target) !== before) this._onChange();
  }
}
