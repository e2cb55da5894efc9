// OverlayAvatar: the avatar animated locally on a canvas, no stream at all (the report's
// "looping video of the avatar", kept as one mode among others). With ``loops`` it plays the
// server's loops of our own character (idle, and talking while ``voice`` is heard: the agent's
// voice on the customer's page, the agent's own microphone in their preview); without them, or
// until they are ready, a simple drawn face.

import { keepRaw } from './events.js';

const SPEAKING_LEVEL = 0.02; // RMS of the voice above which the character talks
const HOLD_MS = 350; // keeps talking through the short gaps between words

export class OverlayAvatar {
  _canvas;
  _frame = 0;
  _running = false;
  _start = 0;
  _loops = null;
  _voice;
  _videos = {};
  _meter = null;
  _talkingUntil = 0;

  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{loops?: {idle: string, talking: string}, voice?: () => (MediaStream|null)}} options
   */
  constructor(canvas, { loops = null, voice = () => null } = {}) {
    keepRaw(this);
    this._canvas = canvas;
    this._loops = loops;
    this._voice = voice;
  }

  get running() { return this._running; }

  start() {
    if (this._running) return;
    this._running = true;
    this._start = performance.now();
    if (this._loops) {
      for (const [kind, url] of Object.entries(this._loops)) {
        const video = this._videos[kind] ?? Object.assign(document.createElement('video'), {
          src: url, muted: true, loop: true, playsInline: true, preload: 'auto',
        });
        this._videos[kind] = video;
        video.play().catch(() => {}); // shown once it can; the drawn face meanwhile
      }
    }
    const tick = (now) => {
      if (!this._running) return;
      this._paint(now);
      this._frame = requestAnimationFrame(tick);
    };
    this._frame = requestAnimationFrame(tick);
  }

  stop() {
    this._running = false;
    cancelAnimationFrame(this._frame);
    for (const video of Object.values(this._videos)) video.pause();
    this._meter?.close();
    this._meter = null;
  }

  _paint(now) {
    const kind = this._speaking(now) ? 'talking' : 'idle';
    const video = this._videos[kind]?.readyState >= 2 ? this._videos[kind] : this._videos.idle;
    if (video && video.readyState >= 2) {
      const c = this._canvas.getContext('2d');
      c.drawImage(video, 0, 0, this._canvas.width, this._canvas.height);
      this._canvas.dataset.source = video === this._videos.talking ? 'talking' : 'idle';
    } else {
      this._draw((now - this._start) / 1000);
      this._canvas.dataset.source = 'drawn';
    }
  }

  _speaking(now) {
    const stream = this._voice();
    if (!stream || !stream.getAudioTracks().length) return false;
    if (this._meter?.stream !== stream) {
      this._meter?.close();
      this._meter = new VoiceMeter(stream);
    }
    if (this._meter.level() > SPEAKING_LEVEL) this._talkingUntil = now + HOLD_MS;
    return now < this._talkingUntil;
  }

  _draw(t) {
    const c = this._canvas.getContext('2d');
    const { width: w, height: h } = this._canvas;
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
  _context;
  _analyser;
  _samples;

  constructor(stream) {
    this.stream = stream;
    this._context = new AudioContext();
    this._analyser = this._context.createAnalyser();
    this._analyser.fftSize = 1024;
    this._samples = new Float32Array(this._analyser.fftSize);
    this._context.createMediaStreamSource(stream).connect(this._analyser);
  }

  level() {
    this._analyser.getFloatTimeDomainData(this._samples);
    let sum = 0;
    for (const v of this._samples) sum += v * v;
    return Math.sqrt(sum / this._samples.length);
  }

  close() {
    this._context.close().catch(() => {});
  }
}
