// The agent console: sign in, see the queue, take a call, steer the avatar, end the call.
import { AvatarSlot, Session, Telemetry } from '../sdk/index.js';
import { bindIceServers, CallView, showAvatarState } from './call-view.js';

const $ = (id) => document.getElementById(id);
const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

const RESUME_KEY = 'avatarcall.resume';

function renderQueue(items, accept) {
  const list = $('queue');
  list.replaceChildren(...items.map((item) => {
    const li = document.createElement('li');
    li.dataset.testid = 'queue-item';
    li.setAttribute('data-testid', 'queue-item');
    li.dataset.callId = item.call_id;
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = `${item.customer} · ${item.language.toUpperCase()}`;
    const waited = document.createElement('span');
    waited.className = 'waited';
    waited.dataset.since = String(item.waiting_since);
    const button = document.createElement('button');
    button.className = 'primary';
    button.setAttribute('data-testid', 'accept-call');
    button.textContent = 'Accept';
    button.onclick = () => accept(item.call_id);
    li.append(who, waited, button);
    return li;
  }));
  $('queue-count').textContent = String(items.length);
  $('queue-empty').hidden = items.length > 0;
  tickWaits();
}

function tickWaits() {
  const now = Date.now() / 1000;
  for (const el of document.querySelectorAll('.waited')) {
    const seconds = Math.max(0, Math.round(now - Number(el.dataset.since)));
    el.textContent = seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  }
}

async function openConsole(name) {
  $('login').hidden = true;
  $('console').hidden = false;
  $('who').textContent = name;
  const localStream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  $('local').srcObject = localStream;

  // The resume token lets a reload of this tab take its call back.
  const session = new Session({ resume: sessionStorage.getItem(RESUME_KEY) ?? undefined });
  const call = new CallView(session, {
    remoteVideo: $('remote'), stateEl: byTestId('call-state'), errorEl: $('call-error'),
    retryButton: $('call-retry'),
  });
  const telemetry = new Telemetry(session);
  call.onLink = (link) => telemetry.watchCallLink(link);
  const slot = new AvatarSlot(session, { video: $('avatar') });
  slot.setVoiceTrack(localStream.getAudioTracks()[0] ?? null);
  telemetry.watchAvatarSlot(slot);
  $('avatar-retry').onclick = () => slot.retry();
  let callId = null;

  call.onChange = (state) => {
    const active = ['connecting', 'connected', 'reconnecting'].includes(state);
    $('remote-placeholder').hidden = state === 'connected' || state === 'reconnecting';
    for (const id of ['end', 'say', 'restart']) $(id).disabled = !active;
    $('say-form').querySelector('button').disabled = !active;
  };
  slot.on('state', (detail) => showAvatarState(byTestId('avatar-state'), $('avatar-error'), detail));
  // The avatar plan chosen before taking a call applies from its first second.
  const accept = (id) => session.send({
    type: 'call.accept', call_id: id, during: $('mode').value, after: $('after').value,
  });

  const ice = bindIceServers(session, call, slot);
  session.on('welcome', (msg) => {
    // Back after a cut with no call to resume: whatever call this page showed is over.
    if (!msg.call && callId) {
      callId = null;
      sessionStorage.removeItem(RESUME_KEY);
      call.end();
    }
  });
  session.on('queue', (items) => renderQueue(items, accept));
  session.on('call-started', (msg) => {
    callId = msg.call.call_id;
    telemetry.setCall(callId);
    $('mode').value = msg.call.during;
    $('after').value = msg.call.after;
    if (msg.resume) sessionStorage.setItem(RESUME_KEY, msg.resume);
    call.start({
      callId, polite: msg.polite, iceServers: ice.call, relayOnly: ice.relayOnly, localStream,
      rejoin: msg.call.state !== 'connecting',
    });
  });
  session.on('call-state', (msg) => {
    if (msg.call_id === callId && msg.state === 'ended') {
      callId = null;
      sessionStorage.removeItem(RESUME_KEY);
    }
  });
  session.on('closed', ({ code, reason }) => {
    // Signed out everywhere, removed, or the account changed: back to signing in, from scratch.
    if (code === 4401) location.assign(`/agent?ended=${encodeURIComponent(reason || 'session_ended')}`);
    if (code === 4409) { // this call was taken back by another tab of this agent
      const note = $('avatar-error');
      note.textContent = 'This call continues in another tab or window.';
      note.hidden = false;
    }
  });
  session.on('error', (msg) => {
    console.warn('[avatarcall]', msg.code, msg.message);
    const note = $('avatar-error');
    if (msg.request?.startsWith('avatar')) {
      note.textContent = msg.message;
      note.hidden = false;
    }
  });

  const plan = () => callId && session.send({
    type: 'avatar.plan.set', call_id: callId, during: $('mode').value, after: $('after').value,
  });
  $('mode').onchange = plan;
  $('after').onchange = plan;
  $('say-form').onsubmit = (ev) => {
    ev.preventDefault();
    const text = $('say').value.trim();
    if (callId && text) session.send({ type: 'avatar.say', call_id: callId, text });
    $('say').value = '';
  };
  $('restart').onclick = () => callId && session.send({ type: 'avatar.restart', call_id: callId });
  $('end').onclick = () => callId && session.send({ type: 'call.end', call_id: callId });
  setInterval(tickWaits, 1000);
  call.show('waiting');
  await session.connect();
}

$('login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const response = await fetch('/api/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: $('user').value, password: $('password').value }),
  });
  if (!response.ok) {
    $('login-error').textContent = (await response.json()).message ?? 'Sign-in failed.';
    $('login-error').hidden = false;
    return;
  }
  openConsole((await response.json()).name);
});

const ENDED = {
  session_ended: 'Your session has ended (signed out everywhere, or your account changed). Sign in again.',
  token_expired: 'Your session has expired. Sign in again.',
};

(async () => {
  const me = await fetch('/api/me');
  if (me.ok) return openConsole((await me.json()).name);
  $('login').hidden = false;
  const ended = new URLSearchParams(location.search).get('ended');
  if (ended) {
    $('login-error').textContent = ENDED[ended] ?? 'Your session has ended. Sign in again.';
    $('login-error').hidden = false;
    history.replaceState(null, '', '/agent');
  }
})();
