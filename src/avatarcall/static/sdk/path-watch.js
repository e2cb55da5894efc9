// PathWatch: whether a call link's path still carries the other person's media. Chromium says
// "disconnected" only after about 5 s without an answer to its checks; the other person's
// packets (their sound alone is 50 a second) stop at once. Firefox says "disconnected" when one
// of its consent checks goes unanswered, which a lossy link does every few seconds while the
// media flows on (every ~15 s on the lab's poor link: each time the link was replaced and the
// video froze 1-3 s). So the packets decide: down when the connection failed, or when nothing
// came for STALL_MS after media had flowed (whether the connection says "connected" or
// "disconnected"), or at once when it says "disconnected" and nothing is flowing. Up:
// connected, and packets coming again.
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
    this._timer = setInterval(() => this.probe().catch(() => {}), PROBE_MS);
  }

  get down() { return this._down; }

  /** The connection's state changed (call from its connectionstatechange). */
  stateChanged(now = performance.now()) {
    const state = this._pc.connectionState;
    if (state === 'failed' || (state === 'disconnected' && !this._flowing(now))) this._set(true);
    else if (state === 'connected' && this._flowing(now)) this._set(false);
  }

  close() { clearInterval(this._timer); }

  /** Read the link's statistics now (the watch does it every PROBE_MS). */
  async probe(now = undefined) {
    const pc = this._pc;
    if (pc.connectionState !== 'connected' && pc.connectionState !== 'disconnected') return;
    let packets = 0;
    const stats = await pc.getStats();
    for (const report of stats.values()) {
      if (report.type === 'inbound-rtp') packets += report.packetsReceived ?? 0;
    }
    this._onStats(stats);
    now ??= performance.now();
    if (packets !== this._packets) { // any change (a renegotiation may start a count afresh)
      this._packets = packets;
      this._quietSince = now;
      if (pc.connectionState === 'connected') this._set(false);
    } else if (packets > 0 && now - this._quietSince >= STALL_MS) {
      this._set(true);
    }
  }

  /** Packets came within the last STALL_MS (as of the last probe). */
  _flowing(now) {
    return this._packets > 0 && now - this._quietSince < STALL_MS;
  }

  _set(down) {
    if (down === this._down) return;
    this._down = down;
    this._onChange(down);
  }
}
