// Reconnection policy: exponential backoff with full jitter, in one place.

export class BackoffPolicy {
  constructor({ baseMs = 500, maxMs = 8000, random = Math.random } = {}) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
    this.random = random;
    this.attempt = 0;
  }

  nextDelayMs() {
    const cap = Math.min(this.maxMs, this.baseMs * 2 ** this.attempt);
    this.attempt += 1;
    return Math.round(cap / 2 + this.random() * (cap / 2));
  }

  reset() { this.attempt = 0; }
}
