// OverlayAvatar: the avatar animated locally on a canvas, no stream at all (the report's
// "looping video of the avatar", kept as one mode among others). With ``loops`` it plays the
// server's loops of our own character (idle, and talking while ``voice`` is heard: the agent's
// voice on the customer's page, the agent's own microphone in their preview); without them, or
// until they are ready, a simple drawn face.

const SPEAKING_LEVEL = 0.02; // RMS of the voice above which the character talks
const HOLD_MS = 350; // keeps talking through the short gaps between words

export class OverlayAvatar {
  #canvas;
  #frame = 0;
  #running = false;
  #start = 0;
  #loops = null;
  #voice;
  #videos = {};
  #meter = null;
  #talkingUntil = 0;

  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{loops?: {idle: string, talking: string}, voice?: () => (MediaStream|null)}} options
   */
  constructor(canvas, { loops = null, voice = () => null } = {}) {
    this.#canvas = canvas;
    this.#loops = loops;
    this.#voice = voice;
  }

  get running() { return this.#running; }

  start() {
    if (this.#running) return;
    this.#running = true;
    this.#start = performance.now();
    if (this.#loops) {
      for (const [kind, url] of Object.entries(this.#loops)) {
        const video = this.#videos[kind] ?? Object.assign(document.createElement('video'), {
          src: url, muted: true, loop: true, playsInline: true, preload: 'auto',
        });
        this.#videos[kind] = video;
        video.play().catch(() => {}); // shown once it can; the drawn face meanwhile
      }
    }
    const tick = (now) => {
      if (!this.#running) return;
      this.#paint(now);
      this.#frame = requestAnimationFrame(tick);
    };
    this.#frame = requestAnimationFrame(tick);
  }

  stop() {
    this.#running = false;
    cancelAnimationFrame(this.#frame);
    for (const video of Object.values(this.#videos)) video.pause();
    this.#meter?.close();
    this.#meter = null;
  }

  #paint(now) {
    const kind = this.#speaking(now) ? 'talking' : 'idle';
    const video = this.#videos[kind]?.readyState >= 2 ? this.#videos[kind] : this.#videos.idle;
    if (video && video.readyState >= 2) {
      const c = this.#canvas.getContext('2d');
      c.drawImage(video, 0, 0, this.#canvas.width, this.#canvas.height);
      this.#canvas.dataset.source = video === this.#videos.talking ? 'talking' : 'idle';
    } else {
      this.#draw((now - this.#start) / 1000);
      this.#canvas.dataset.source = 'drawn';
    }
  }

  #speaking(now) {
    const stream = this.#voice();
    if (!stream || !stream.getAudioTracks().length) return false;
    if (this.#meter?.stream !== stream) {
      this.#meter?.close();
      this.#meter = new VoiceMeter(stream);
    }
    if (this.#meter.level() > SPEAKING_LEVEL) this.#talkingUntil = now + HOLD_MS;
    return now < this.#talkingUntil;
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
    c.restore();
  }
}

/** How loud a stream's voice is now (RMS, 0..1), from the browser's own analyser. */
class VoiceMeter {
  #context;
  #analyser;
  #samples;

  constructor(stream) {
    this.stream = stream;
    this.#context = new AudioContext();
    this.#analyser = this.#context.createAnalyser();
    this.#analyser.fftSize = 1024;
    this.#samples = new Float32Array(this.#analyser.fftSize);
    this.#context.createMediaStreamSource(stream).connect(this.#analyser);
  }

  level() {
    this.#analyser.getFloatTimeDomainData(this.#samples);
    let sum = 0;
    for (const v of this.#samples) sum += v * v;
    return Math.sqrt(sum / this.#samples.length);
  }

  close() {
    this.#context.close().catch(() => {});
  }
}
