// The agent console's queue: who waits (name, language, for how long, whether their page is
// still open) and a short sound when someone new joins (the agent can turn it off).
import { t } from './i18n.js';

const SOUND_KEY = 'avatarcall.notify';

export class QueueList {
  #list;
  #seen = null; // call ids listed last time; null before the first list (no sound for those)
  #audio = null;
  onAccept = () => {};

  constructor(list, { count, empty, notify }) {
    this.#list = list;
    this.count = count;
    this.empty = empty;
    this.notify = notify;
    notify.checked = localStorage.getItem(SOUND_KEY) !== 'off';
    notify.onchange = () => localStorage.setItem(SOUND_KEY, notify.checked ? 'on' : 'off');
    setInterval(() => this.#tick(), 1000);
  }

  show(items) {
    this.#list.replaceChildren(...items.map((item) => this.#entry(item)));
    this.count.textContent = String(items.total ?? items.length);
    this.empty.hidden = items.length > 0;
    this.#tick();
    const ids = new Set(items.map((item) => item.callId));
    const joined = this.#seen !== null && [...ids].some((id) => !this.#seen.has(id));
    this.#seen = ids;
    if (joined && this.notify.checked) this.#chime();
  }

  #entry(item) {
    const li = document.createElement('li');
    li.setAttribute('data-testid', 'queue-item');
    li.dataset.callId = item.callId;
    li.dataset.connected = String(item.connected !== false);
    const who = document.createElement('span');
    who.className = 'who';
    // "Customer" is the name of one who gave none (web/api.py NewCall): said in the agent's words.
    const name = item.customer && item.customer !== 'Customer' ? item.customer : t('customer');
    who.textContent = `${name} · ${item.language.toUpperCase()}`;
    const waited = document.createElement('span');
    waited.className = 'waited';
    waited.dataset.since = String(item.waitingSince);
    const button = document.createElement('button');
    button.className = 'primary';
    button.setAttribute('data-testid', 'accept-call');
    button.textContent = t('accept');
    button.onclick = () => this.onAccept(item.callId);
    li.append(who, waited, button);
    if (item.topic) {
      const topic = document.createElement('span');
      topic.className = 'topic';
      topic.textContent = item.topic;
      li.append(topic);
    }
    if (item.connected === false) {
      const gone = document.createElement('span');
      gone.className = 'gone';
      gone.setAttribute('data-testid', 'queue-item-away');
      gone.textContent = t('gone');
      li.append(gone);
    }
    return li;
  }

  #tick() {
    const now = Date.now() / 1000;
    for (const el of this.#list.querySelectorAll('.waited')) {
      const s = Math.max(0, Math.round(now - Number(el.dataset.since)));
      el.textContent = t('waited', { s: s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s` });
    }
  }

  // Two short tones, made here (no sound file to fetch); silent until the page was interacted
  // with, as browsers want.
  #chime() {
    try {
      this.#audio ??= new AudioContext();
      const ctx = this.#audio;
      for (const [at, hz] of [[0, 880], [0.18, 1320]]) {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.frequency.value = hz;
        gain.gain.setValueAtTime(0.12, ctx.currentTime + at);
        gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + at + 0.16);
        osc.connect(gain).connect(ctx.destination);
        osc.start(ctx.currentTime + at);
        osc.stop(ctx.currentTime + at + 0.17);
      }
      document.body.dataset.chimed = String(Number(document.body.dataset.chimed ?? 0) + 1);
    } catch (err) {
      console.info('[avatarcall] no sound for the queue:', err.message);
    }
  }
}
