// The agent console's queue: who waits (name, language, for how long, whether their page is
// still open) and, when someone new joins, a short sound and, if the console is out of sight
// (another tab, window or application), a notification of the system (the agent can turn
// both off).
import { t } from './i18n.js';

const SOUND_KEY = 'avatarcall.notify';
const NOTIFICATION_TAG = 'avatarcall-queue'; // a newer one replaces the last

const wanted = () => localStorage.getItem(SOUND_KEY) !== 'off';

/** Asks the browser for the right to notify, if the agent wants to be told and was not asked
 *  yet. Browsers grant the question only during a click of the person's own: call it there. */
export function askToNotify() {
  if (wanted() && 'Notification' in window && Notification.permission === 'default') {
    Promise.resolve(Notification.requestPermission()).catch(() => {}); // (old Safari: a callback)
  }
}

// Out of sight: on another tab, or another window or application has the focus.
const outOfSight = () => document.hidden || !document.hasFocus();

// "Customer" is the name of one who gave none (web/api.py NewCall): said in the agent's words.
const who = (item) => {
  const name = item.customer && item.customer !== 'Customer' ? item.customer : t('customer');
  return `${name} · ${item.language.toUpperCase()}`;
};

export class QueueList {
  #list;
  #seen = null; // call ids listed last time; null before the first list (no sound for those)
  #audio = null;
  #shown = null; // the notification on screen
  onAccept = () => {};

  constructor(list, { count, empty, notify }) {
    this.#list = list;
    this.count = count;
    this.empty = empty;
    this.notify = notify;
    notify.checked = wanted();
    notify.onchange = () => {
      localStorage.setItem(SOUND_KEY, notify.checked ? 'on' : 'off');
      askToNotify();
    };
    // Signing in asked already; a console reopened with its session asks at the first click.
    document.addEventListener('click', askToNotify, { once: true });
    const inView = () => { if (!outOfSight()) this.#shown?.close(); }; // the queue shows it
    document.addEventListener('visibilitychange', inView);
    window.addEventListener('focus', inView);
    setInterval(() => this.#tick(), 1000);
  }

  show(items) {
    this.#list.replaceChildren(...items.map((item) => this.#entry(item)));
    this.count.textContent = String(items.total ?? items.length);
    this.empty.hidden = items.length > 0;
    this.#tick();
    const joined = this.#seen === null ? [] : items.filter((item) => !this.#seen.has(item.callId));
    this.#seen = new Set(items.map((item) => item.callId));
    if (joined.length > 0 && this.notify.checked) {
      this.#chime();
      this.#notify(joined[0]);
    }
  }

  #entry(item) {
    const li = document.createElement('li');
    li.setAttribute('data-testid', 'queue-item');
    li.dataset.callId = item.callId;
    li.dataset.connected = String(item.connected !== false);
    const person = document.createElement('span');
    person.className = 'who';
    person.textContent = who(item);
    const waited = document.createElement('span');
    waited.className = 'waited';
    waited.dataset.since = String(item.waitingSince);
    const button = document.createElement('button');
    button.className = 'primary';
    button.setAttribute('data-testid', 'accept-call');
    button.textContent = t('accept');
    button.onclick = () => this.onAccept(item.callId);
    li.append(person, waited, button);
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

  // Only while the console is out of sight: in view, the queue itself shows who joined.
  #notify(item) {
    if (!outOfSight() || !('Notification' in window) || Notification.permission !== 'granted') {
      return;
    }
    try {
      this.#shown?.close();
      const shown = new Notification(t('notify_title'), {
        body: [who(item), item.topic].filter(Boolean).join(' — '), tag: NOTIFICATION_TAG,
      });
      shown.onclick = () => { window.focus(); shown.close(); };
      this.#shown = shown;
    } catch (err) {
      console.info('[avatarcall] no notification for the queue:', err.message);
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
