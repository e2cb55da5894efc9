// RestartPace: when a call link whose path is down should restart ICE again. Each restart
// gathers anew and cancels the gathering of the one before, so a restart made before the last
// one's candidates could come never lets any arrive. That time is the browsers': Chromium
// gathers a relay candidate in a few tens of milliseconds; Firefox took 0.3-1.1 s, and after
// each restart of the same connection ~50 ms more (0.9 s after a first cut, 1.4 s after the
// ninth, 1.7 s after the sixteenth in the lab). Restarting every 1.25 s (a restart that had
// gathered nothing after 1 s was made again at the next tick) then cut every Firefox
// gathering short from the tenth cut on: the call never came back. So the pace follows what this link
// measured: a restart waits for half as long again as the slowest side's last gathering.
const RESTART_EVERY_MS = 2000; // while the path stays down (e.g. the TURN server is away)
// A restart that gathered nothing by then (the TURN server is away) is made again sooner: the
// next one finds the server as soon as it is back.
const NO_CANDIDATE_MS = 1000;
const PATIENCE = 1.5; // times the last gathering
const PATIENCE_CAP_MS = 8000;

export class RestartPace {
  restartedAt = -Infinity; // a restart made, or the other side's offer (it renews the path too)
  _gatheredAt = -Infinity; // this side's last candidate
  _remoteAt = -Infinity; // the other side's last candidate
  _ownMs = 0; // how long this side's last gathering took to its first candidate
  _remoteMs = 0; // how long after a restart the other side's first candidate came

  /** A restart was made (or the other side's offer came in). */
  restarted(now) { this.restartedAt = now; }

  /** This side found a candidate. */
  gathered(now) {
    if (this._gatheredAt < this.restartedAt && this.restartedAt > -Infinity) {
      this._ownMs = now - this.restartedAt;
    }
    this._gatheredAt = now;
  }

  /** Whether this side found a candidate at ``time`` or after. */
  gatheredSince(time) { return this._gatheredAt >= time; }

  /** A candidate of the other side came. */
  remoteCandidate(now) {
    if (this._remoteAt < this.restartedAt && this.restartedAt > -Infinity) {
      this._remoteMs = now - this.restartedAt;
    }
    this._remoteAt = now;
  }

  /** Whether to restart again now, the path being down. */
  due(now) {
    const since = now - this.restartedAt;
    const wait = (ms) => Math.min(PATIENCE_CAP_MS, PATIENCE * ms);
    if (since >= Math.max(RESTART_EVERY_MS, wait(Math.max(this._ownMs, this._remoteMs)))) return true;
    const nothing = this._gatheredAt < this.restartedAt;
    return nothing && since >= Math.max(NO_CANDIDATE_MS, wait(this._ownMs));
  }
}
