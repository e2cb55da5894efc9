// PathWatch: whether a call link's path still carries the other person's media. Chromium says
// "disconnected" only after about 5 s without an answer to its checks; the other person's
// packets (their sound alone is 50 a second) stop at once. Down: the connection says so, or
// nothing came for STALL_MS after media had flowed. Up: connected, and packets coming again.
const PROBE_MS = 500;
const STALL_MS = 1500;

export class PathWatch {
  _pc;
  _onChange;
  _onStats;
  _timer = 0;
  _down = false;
  _packets = 0;
  _quietSince = 0;

  /**
   * @param {(down: boolean) => void} onChange  called when the path goes down or comes back
   * @param {(report: RTCStatsReport) => void} [onStats]  each statistics report it read (while
   *        connected), for another watcher of the same link: one getStats() for both
   */
  constructor(pc, onChange, onStats = () => {}) {
    this._pc = pc;
    this._onChange = onChange;
    this._onStats = onStats;
    this._timer = setInterval(() => this._probe().catch(() => {}), PROBE_MS);
  }

  get down() { return this._down; }

  /** The connection's state changed (call from its connectionstatechange). */
  stateChanged() {
    const state = this._pc.connectionState;
    if (state === 'disconnected' || state === 'failed') this._set(true);
    else if (state === 'connected' && performance.now() - this._quietSince < STALL_MS) this._set(false);
  }

  close() { clearInterval(this._timer); }

  async _probe() {
    const pc = this._pc;
    if (pc.connectionState !== 'connected') return;
    let packets = 0;
    const stats = await pc.getStats();
    for (const report of stats.values()) {
      if (report.type === 'inbound-rtp') packets += report.packetsReceived ?? 0;
    }
    this._onStats(stats);
    const now = performance.now();
    if (packets !== this._packets) { // any change (a renegotiation may start a count afresh)
      this._packets = packets;
      this._quietSince = now;
      if (pc.connectionState === 'connected') this._set(false);
    } else if (packets > 0 && now - this._quietSince >= STALL_MS) {
      this._set(true);
    }
  }

  _set(down) {
    if (down === this._down) return;
    this._down = down;
    this._onChange(down);
  }
}
