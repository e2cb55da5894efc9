// VideoFit: the call's video gets smaller when the link gives it too little for a fluid
// picture. On a poor link (300 kbps) Chromium's congestion control gives the camera 30-90 kbps;
// its own scaler stops at 320 x 180, and at 320 x 240 the encoder then drops frames (8-13 a
// second reached a Firefox customer). At 160 x 120 the same bit rate carries every frame of
// the camera (19-20 a second). The browser's congestion control still decides the rate; this
// only sets the size (and asks the browser to keep it: its own scaler would go on to 80 x 60).
//
// Read from the sender's own statistics (those PathWatch reads, one getStats() for both) every
// SAMPLE_MS: `targetBitrate`, what the congestion control gives the video (Chromium has it).
// Firefox has no target: there the rule is the video's own round trip (DelayChoice, below).
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
// Firefox as a sender. A link that falls from 4G to 300 kbps at once finds Firefox's camera at
// 200-250 kbps: the uplink's queue fills (the video's round trip 1.1-1.8 s for ~12 s, measured
// each second), and every other link's feedback and ICE checks wait in it too (the call
// `reconnecting`, the agent's video frozen for 12 s). On a steady poor link the round trip is
// 0.22-0.27 s. So: small and capped at SMALL_MAX_BPS when the round trip is over QUEUED_RTT_S
// for two samples in a row; the camera's size again once it stayed under CLEAR_RTT_S for
// SMALL_FOR_MS (twice as long each time the full size did not hold for LASTED_MS, at most
// SMALL_FOR_MAX_MS: Firefox says nothing of the room it has, so the full size is a try).
const QUEUED_RTT_S = 0.5;
const CLEAR_RTT_S = 0.3;
const SMALL_FOR_MS = 10_000;
const SMALL_FOR_MAX_MS = 80_000;
const LASTED_MS = 30_000;
export const SMALL_MAX_BPS = 100_000;

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

/** The rule where the sender has no target (Firefox): on the video's round trip, in seconds. */
export class DelayChoice {
  small = false;
  _queuedSamples = 0;
  _clearSince = null;
  _hold = SMALL_FOR_MS;
  _fullSince = -Infinity;

  /** @param {number} rtt  @param {number} now  ms @returns {boolean} small */
  sample(rtt, now) {
    this._queuedSamples = rtt >= QUEUED_RTT_S ? this._queuedSamples + 1 : 0;
    if (!this.small) {
      if (this._queuedSamples < 2) return false;
      const heldFull = now - this._fullSince >= LASTED_MS;
      this._hold = heldFull ? SMALL_FOR_MS : Math.min(this._hold * 2, SMALL_FOR_MAX_MS);
      this.small = true;
      this._clearSince = null;
    } else if (rtt >= CLEAR_RTT_S) {
      this._clearSince = null;
    } else {
      this._clearSince ??= now;
      if (now - this._clearSince >= this._hold) {
        this.small = false;
        this._fullSince = now;
      }
    }
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
  _delay = new DelayChoice();
  _sampledAt = -Infinity;

  /**
   * @param {() => void} onChange  called when `small` changes: apply it to the video senders
   * @param {() => boolean} paused  the video is paused (its path is down): no sample
   */
  constructor(onChange, paused) {
    this._onChange = onChange;
    this._paused = paused;
  }

  get small() { return this._choice.small || this._delay.small; }

  /** The video's cap while small by its round trip (the browser's own rate otherwise). */
  get maxBitrate() { return this._delay.small ? SMALL_MAX_BPS : undefined; }

  /** @param {RTCStatsReport} stats  the link's, while it is connected */
  stats(stats, now = performance.now()) {
    if (now - this._sampledAt < SAMPLE_MS || this._paused()) return;
    let target = null;
    let rtt = null;
    for (const report of stats.values()) {
      if (report.kind !== 'video') continue;
      if (report.type === 'outbound-rtp' && report.targetBitrate != null) {
        target = (target ?? 0) + report.targetBitrate;
      } else if (report.type === 'remote-inbound-rtp' && report.roundTripTime != null) {
        rtt = Math.max(rtt ?? 0, report.roundTripTime);
      }
    }
    if (target === null && rtt === null) return;
    this._sampledAt = now;
    const before = [this.small, this.maxBitrate];
    if (target !== null) this._choice.sample(target);
    else this._delay.sample(rtt, now);
    if (this.small !== before[0] || this.maxBitrate !== before[1]) this._onChange();
  }
}
