// OverlayAvatar: a looping avatar animation drawn locally on a canvas: no network at all
// (the report's "Solution 3", kept as one mode among others).

export class OverlayAvatar {
  #canvas;
  #frame = 0;
  #running = false;
  #start = 0;

  constructor(canvas) {
    this.#canvas = canvas;
  }

  get running() { return this.#running; }

  start() {
    if (this.#running) return;
    this.#running = true;
    this.#start = performance.now();
    const tick = (now) => {
      if (!this.#running) return;
      this.#draw((now - this.#start) / 1000);
      this.#frame = requestAnimationFrame(tick);
    };
    this.#frame = requestAnimationFrame(tick);
  }

  stop() {
    this.#running = false;
    cancelAnimationFrame(this.#frame);
  }

  #draw(t) {
    const c = this.#canvas.getContext('2d');
    const { width: w, height: h } = this.#canvas;
    const s = Math.min(w, h) / 512;
    c.save();
    const bg = c.createLinearGradient(0, 0, 0, h);
    bg.addColorStop(0, '#e6eef6');
    bg.addColorStop(1, '#b3c8dc');
    c.fillStyle = bg;
    c.fillRect(0, 0, w, h);
    c.translate((w - 512 * s) / 2, (h - 512 * s) / 2);
    c.scale(s, s);
    const sway = 4 * Math.sin(t * 0.8);
    const breathe = 3 * Math.sin(t * 1.6);
    c.fillStyle = '#2f4a6d';
    c.beginPath();
    c.ellipse(256, 512, 210, 120 + breathe, 0, Math.PI, 2 * Math.PI);
    c.fill();
    c.translate(sway, 0);
    c.fillStyle = '#3b2a20';
    c.beginPath(); c.ellipse(256, 206, 114, 124, 0, 0, 2 * Math.PI); c.fill();
    c.fillStyle = '#f1c7a5';
    c.beginPath(); c.ellipse(256, 230, 96, 120, 0, 0, 2 * Math.PI); c.fill();
    const blink = (t % 4) < 0.15 ? 0.1 : 1;
    c.fillStyle = '#2c2c2c';
    for (const x of [216, 296]) {
      c.beginPath(); c.ellipse(x, 222, 9, 11 * blink, 0, 0, 2 * Math.PI); c.fill();
    }
    // A slow, friendly "talking" loop: it is an animation, not lip sync.
    const open = Math.max(0, Math.sin(t * 7)) * 10 * (Math.sin(t * 0.9) > 0 ? 1 : 0.2);
    c.fillStyle = '#7a2e2e';
    c.beginPath(); c.ellipse(256, 298, 26, 2 + open, 0, 0, 2 * Math.PI); c.fill();
    c.restore();
  }
}
