// The agent console: sign in, see the queue, take a call, steer the avatar, end the call. In the
// agent's language (English or French, from the browser).
import { AvatarSlot, Session, Telemetry } from '../sdk/index.js';
import { askToNotify, QueueList } from './agent-queue.js';
import {
  bindMediaToggles, CallView, OVERLAY_LOOPS, showAvatarState,
} from './call-view.js';
import { browserLanguage, clock, setLanguage, showState, t } from './i18n.js';

const $ = (id) => document.getElementById(id);
const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);
const body = document.body;

const RESUME_KEY = 'avatarcall.resume';
const SAY_MAX = 1000; // signaling/messages.py SAY_MAX
const GOODBYE_PREVIEW_MS = 10_000; // the goodbye is one sentence (avatar/phrases.py)

setLanguage(browserLanguage());
document.title = `${t('console')} — avatarcall`;
showState(byTestId('call-state'), 'call', 'idle');
showState(byTestId('avatar-state'), 'avatar', 'off');

/** Why Say cannot be used now (nobody would hear it), or null. */
function sayBlocked(active, mode) {
  if (!active) return t('say_no_call');
  if (mode === 'off') return t('say_off');
  if (mode === 'overlay') return t('say_overlay');
  if (mode === 'as-agent') return t('say_agent');
  return null;
}

function note(id, text) {
  $(id).textContent = text ?? '';
  $(id).hidden = !text;
}

async function openConsole(name) {
  $('login').hidden = true;
  $('console').hidden = false;
  for (const id of ['call-pill', 'avatar-pill', 'sign-out']) $(id).hidden = false;
  $('who').textContent = name;
  const localStream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  $('local').srcObject = localStream;
  bindMediaToggles(localStream, $('mute'), $('camera'));

  // The resume token lets a reload of this tab take its call back.
  const session = new Session({ resume: sessionStorage.getItem(RESUME_KEY) ?? undefined });
  const call = new CallView(session, {
    remoteVideo: $('remote'), stateEl: byTestId('call-state'), errorEl: $('call-error'),
    retryButton: $('call-retry'), localStream,
  });
  const telemetry = new Telemetry(session);
  call.onLink = (link) => telemetry.watchCallLink(link);
  // The preview's overlay is the customer's: it talks while the agent does.
  const slot = new AvatarSlot(session, {
    video: $('avatar'), canvas: $('overlay'), overlay: { loops: OVERLAY_LOOPS, voice: () => localStream },
  });
  slot.setVoiceTrack(localStream.getAudioTracks()[0] ?? null);
  telemetry.watchAvatarSlot(slot);
  $('avatar-retry').onclick = () => slot.retry();
  const queue = new QueueList($('queue'), {
    count: $('queue-count'), empty: $('queue-empty'), notify: $('notify'),
  });
  let callId = null;
  let startedAt = 0;
  // After the call the preview follows the avatar's goodbye to the customer, then goes off;
  // it never reconnects to a call that is over.
  let goodbye = null;
  const endGoodbye = () => { clearTimeout(goodbye); goodbye = null; slot.off(); };

  const refreshSay = () => {
    const active = ['connecting', 'connected', 'reconnecting'].includes(body.dataset.call);
    const blocked = sayBlocked(active, $('mode').value);
    const length = $('say').value.length;
    $('say-count').textContent = `${length} / ${SAY_MAX}`;
    $('say-count').classList.toggle('over', length > SAY_MAX);
    $('say').disabled = Boolean(blocked);
    $('say-language').disabled = Boolean(blocked);
    $('say-submit').disabled = Boolean(blocked) || length === 0 || length > SAY_MAX;
    note('say-note', active ? blocked : null);
  };
  const tickTimer = () => {
    $('timer').hidden = !startedAt;
    if (startedAt) $('timer').textContent = t('call_timer', { t: clock((Date.now() - startedAt) / 1000) });
  };
  setInterval(tickTimer, 1000);

  call.onChange = (state) => {
    body.dataset.call = state;
    const active = ['connecting', 'connected', 'reconnecting'].includes(state);
    $('remote-placeholder').hidden = state === 'connected' || state === 'reconnecting';
    $('end').disabled = !active;
    $('restart').disabled = !active;
    if (state === 'connected' && !startedAt) startedAt = Date.now();
    if (!active) startedAt = 0;
    tickTimer();
    refreshSay();
  };
  slot.on('state', (detail) => {
    if (goodbye && ['reconnecting', 'error'].includes(detail.state)) return endGoodbye();
    showAvatarState(byTestId('avatar-state'), $('avatar-error'), detail);
  });
  slot.on('view', ({ view }) => { $('overlay').hidden = view !== 'overlay'; });
  // The avatar plan chosen before taking a call applies from its first second.
  queue.onAccept = (id) => {
    note('queue-note', null);
    session.send({ type: 'call.accept', callId: id, during: $('mode').value, after: $('after').value });
  };

  session.on('welcome', (msg) => {
    // Back after a cut with no call to resume: whatever call this page showed is over.
    if (!msg.call && callId) {
      callId = null;
      sessionStorage.removeItem(RESUME_KEY);
      call.end();
    }
  });
  session.on('queue', (items) => queue.show(items));
  session.on('conversation-history', ({ callId: id, items }) => {
    if (id !== callId) return;
    $('handover-items').replaceChildren(...items.map(({ role, text, open }) => {
      const li = document.createElement('li');
      li.dataset.role = role;
      li.textContent = text;
      if (open) {
        li.dataset.open = 'true';
        const tag = document.createElement('b');
        tag.textContent = t('handover_open');
        li.prepend(tag, ' ');
      }
      return li;
    }));
    $('handover').hidden = items.length === 0;
  });
  session.on('call-started', (msg) => {
    if (msg.call.callId !== callId) $('handover').hidden = true;
    clearTimeout(goodbye);
    goodbye = null;
    callId = msg.call.callId;
    telemetry.setCall(callId);
    $('mode').value = msg.call.during;
    $('after').value = msg.call.after;
    $('say-language').value = msg.call.language === 'fr' ? 'fr' : 'en';
    const named = msg.call.customer && msg.call.customer !== 'Customer' ? msg.call.customer : t('customer');
    $('customer-label').textContent = [named, msg.call.topic].filter(Boolean).join(' · ');
    note('end-reason', null);
    note('agent-note', null);
    if (msg.resume) sessionStorage.setItem(RESUME_KEY, msg.resume);
  });
  session.on('call-state', (msg) => {
    if (msg.callId === callId && msg.state === 'ended') {
      callId = null;
      sessionStorage.removeItem(RESUME_KEY);
      const reason = msg.reason && t(`reason.${msg.reason}`) !== `reason.${msg.reason}`
        ? t(`reason.${msg.reason}`) : t('ended');
      note('end-reason', reason);
      if (slot.view !== 'off') goodbye = setTimeout(endGoodbye, GOODBYE_PREVIEW_MS);
    }
  });
  session.on('closed', ({ code, reason }) => {
    // Signed out everywhere, removed, or the account changed: back to signing in, from scratch.
    if (code === 4401) location.assign(`/agent?ended=${encodeURIComponent(reason || 'session_ended')}`);
    if (code === 4409) note('agent-note', t('replaced')); // taken back by another tab of this agent
  });
  session.on('error', (msg) => {
    const text = t(`error.${msg.code}`) !== `error.${msg.code}` ? t(`error.${msg.code}`) : msg.message;
    if (msg.request === 'call.accept') note('queue-note', text);
    else if (msg.request === 'avatar.say') note('say-note', text);
    else note('agent-note', text);
  });

  const plan = () => {
    refreshSay();
    if (callId) {
      session.send({ type: 'avatar.plan.set', callId, during: $('mode').value, after: $('after').value });
    }
  };
  $('mode').onchange = plan;
  $('after').onchange = plan;
  $('say').oninput = refreshSay;
  $('say-form').onsubmit = (ev) => {
    ev.preventDefault();
    const text = $('say').value.trim();
    if (!callId || !text || text.length > SAY_MAX) return;
    session.send({ type: 'avatar.say', callId, text, language: $('say-language').value });
    $('say').value = '';
    refreshSay();
  };
  $('restart').onclick = () => callId && session.send({ type: 'avatar.restart', callId });
  $('end').onclick = () => callId && session.send({ type: 'call.end', callId });
  call.show('waiting');
  await session.connect();
}

$('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  askToNotify(); // while the click that signs in still counts as one
  const response = await fetch('/api/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: $('user').value, password: $('password').value }),
  });
  if (!response.ok) {
    const { code, message } = await response.json().catch(() => ({}));
    note('login-error', t(`error.${code}`) !== `error.${code}` ? t(`error.${code}`) : (message ?? t('sign_in_failed')));
    return;
  }
  openConsole((await response.json()).name);
});

$('sign-out').onclick = async () => {
  await fetch('/api/logout', { method: 'POST' });
  sessionStorage.removeItem(RESUME_KEY);
  location.assign('/agent');
};

(async () => {
  const me = await fetch('/api/me');
  if (me.ok) return openConsole((await me.json()).name);
  $('login').hidden = false;
  const ended = new URLSearchParams(location.search).get('ended');
  if (ended) {
    note('login-error', t(`ended.${ended}`) !== `ended.${ended}` ? t(`ended.${ended}`) : t('ended.other'));
    history.replaceState(null, '', '/agent');
  }
})();
