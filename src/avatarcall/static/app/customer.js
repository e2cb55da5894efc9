// The customer's page: start a call, wait with the assistant (told one's place in line), talk
// to the advisor, see the goodbye, say how it went. One screen, phone first, in the person's
// language (English or French).
import { AvatarSlot, Session, Telemetry } from '../sdk/index.js';
import {
  bindMediaToggles, CallView, OVERLAY_LOOPS, showAvatarState,
} from './call-view.js';
import { ConversationPanel, errorText } from './conversation.js';
import { browserLanguage, language, setLanguage, t } from './i18n.js';

const $ = (id) => document.getElementById(id);
const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);
const body = document.body;

function translate(lang) {
  setLanguage(lang);
  document.title = `${t('doc_title')} — avatarcall`;
}

translate(browserLanguage());

const TICKET_KEY = 'avatarcall.ticket';
const LINK_KEY = 'avatarcall.link';

// A link made for this customer (`/?call=TOKEN`, integration API) joins that call instead of
// starting one. The token leaves the address bar at once (no history, no sharing by accident).
// The ticket is kept for this browser (localStorage), so a tab closed and opened again within
// the grace period takes its place in line back instead of joining the queue twice.
const linkToken = new URLSearchParams(location.search).get('call');
if (linkToken) {
  if (localStorage.getItem(LINK_KEY) !== linkToken) localStorage.removeItem(TICKET_KEY);
  localStorage.setItem(LINK_KEY, linkToken);
  history.replaceState(null, '', location.pathname);
}
// Such a link already says who the customer is and what the call is about.
for (const label of document.querySelectorAll('label.name')) label.hidden = Boolean(localStorage.getItem(LINK_KEY));

function forgetCall() {
  localStorage.removeItem(TICKET_KEY);
  localStorage.removeItem(LINK_KEY);
}

/** The server's reason for a refused request, in the page's language. */
async function problem(response, fallback) {
  try {
    const { code, message } = await response.json();
    return (language() === 'fr' && code && t(code) !== code) ? t(code) : (message || t(fallback));
  } catch {
    return (response.status === 503 || response.status === 429) ? t('busy') : t(fallback);
  }
}

async function linkTicket(token) {
  const response = await fetch('/api/calls/join', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }),
  });
  if (!response.ok) {
    if (response.status !== 429) forgetCall(); // ended, expired or not valid: the next start is new
    throw new Error(await problem(response, 'link_broken'));
  }
  return response.json();
}

async function newTicket() {
  const response = await fetch('/api/calls', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      language: navigator.language,
      name: $('name').value.trim() || undefined,
      topic: $('topic').value.trim() || undefined,
    }),
  });
  if (!response.ok) throw new Error(await problem(response, 'not_started'));
  return response.json();
}

/** Which tile takes the stage: the assistant while waiting, in "as-agent" and for its goodbye;
 *  the advisor during the call (the assistant then beside, or gone when off). */
function layout() {
  const call = body.dataset.call;
  const view = body.dataset.avatar;
  const assistant = call === 'idle' || call === 'waiting' || body.dataset.voice === 'agent'
    || (call === 'ended' && view !== 'off');
  body.dataset.main = assistant ? 'assistant' : 'advisor';
  body.dataset.secondary = view === 'off' ? 'none' : 'assistant';
}

function queueNotice(msg) {
  const el = $('queue-status');
  if (body.dataset.call !== 'waiting') {
    el.hidden = true;
    return;
  }
  const parts = [];
  if (msg.agentsOnline === 0) parts.push(t('no_agents'));
  else {
    parts.push(msg.position <= 1 ? t('position_first') : t('position', { n: msg.position }));
    if (msg.estimatedWait != null) {
      const minutes = Math.round(msg.estimatedWait / 60);
      parts.push(minutes < 1 ? t('wait_soon') : t('wait', { m: minutes }));
    }
  }
  el.textContent = parts.join(' ');
  el.dataset.position = String(msg.position);
  el.hidden = false;
}

async function startCall(savedTicket = null) {
  $('start').disabled = true;
  $('start-error').hidden = true;
  let localStream;
  try {
    localStream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  } catch (err) {
    return fail(t('camera_refused', { reason: err.name || err.message }));
  }
  const link = localStorage.getItem(LINK_KEY);
  let ticket;
  try {
    ticket = savedTicket ?? await (link ? linkTicket(link) : newTicket());
  } catch (err) {
    localStream.getTracks().forEach((track) => track.stop()); // no camera left on for nothing
    throw err;
  }
  // This browser takes the same call back (a reload, a tab opened again) instead of a new one.
  localStorage.setItem(TICKET_KEY, JSON.stringify(ticket));
  translate(ticket.language);
  body.dataset.callId = ticket.call_id;

  $('intro').hidden = true;
  $('stage').hidden = false;
  $('callbar').hidden = false;
  $('call-pill').hidden = false;
  $('avatar-pill').hidden = false;
  $('local').srcObject = localStream;

  const session = new Session({ token: ticket.token });
  const call = new CallView(session, {
    remoteVideo: $('remote'), stateEl: byTestId('call-state'), errorEl: $('call-error'),
    retryButton: $('call-retry'), localStream,
  });
  const telemetry = new Telemetry(session);
  call.onLink = (callLink) => telemetry.watchCallLink(callLink);
  // The overlay talks while the agent does (their voice, from the call's stream).
  const slot = new AvatarSlot(session, {
    video: $('avatar'), canvas: $('overlay'),
    overlay: { loops: OVERLAY_LOOPS, voice: () => $('remote').srcObject },
  });
  telemetry.watchAvatarSlot(slot);
  telemetry.setCall(ticket.call_id);
  $('avatar-retry').onclick = () => slot.retry();

  let wasWaiting = true;
  call.onChange = (state) => {
    $('remote-placeholder').hidden = state === 'connected' || state === 'reconnecting';
    if (state !== 'ended') wasWaiting = state === 'waiting';
    body.dataset.call = state;
    $('hangup').textContent = state === 'waiting' ? t('leave') : t('hangup');
    if (state !== 'waiting') $('queue-status').hidden = true;
    if (!['waiting', 'ended'].includes(state) && slot.listening) listen(false); // the agent hears now
    layout();
  };
  slot.on('state', (detail) => {
    showAvatarState(byTestId('avatar-state'), $('avatar-error'), detail);
    $('avatar-sound-on').hidden = detail.state !== 'needs-interaction';
  });
  $('avatar-sound-on').onclick = () => slot.resume().catch(() => {});
  // Who speaks through the avatar, said under it: the assistant, or the advisor's own voice.
  let assistant = { name: '', role: t('assistant.f') };
  let advisor = '';
  const speaker = () => {
    const agent = body.dataset.voice === 'agent';
    $('assistant-name').textContent = agent ? advisor : assistant.name;
    $('assistant-role').textContent = agent ? t('advisor_voice') : assistant.role;
  };
  slot.on('view', ({ view, voice }) => {
    $('overlay').hidden = view !== 'overlay';
    body.dataset.avatar = view;
    // "as-agent": the avatar speaks with the agent's voice; the agent's own sound is muted here
    // (no double voice) and the avatar takes the agent's place on screen.
    body.dataset.voice = voice;
    $('remote').muted = voice === 'agent';
    speaker();
    layout();
  });
  session.on('call-started', (msg) => {
    advisor = msg.call.agent ?? '';
    speaker();
  });
  session.on('welcome', (msg) => {
    if (msg.assistant) {
      assistant = {
        name: msg.assistant.name ?? '',
        role: t(msg.assistant.feminine ? 'assistant.f' : 'assistant.m'),
      };
      speaker();
      $('assistant-pill').textContent = msg.assistant.name || t('pill.assistant');
    }
    if (msg.call?.agent) { // back in a call: who took it
      advisor = msg.call.agent;
      speaker();
    }
    // Talking aloud to the assistant, where the server hears this language (else typing only).
    $('mic').hidden = !(msg.assistant?.listens ?? []).includes(ticket.language);
    if (msg.call?.state === 'waiting') call.show('waiting');
    if (msg.call?.state === 'ended') call.end(); // it ended while we were away
  });
  session.on('queue-position', queueNotice);
  // Captions: what the assistant says, on screen while it says it (about 14 characters a second).
  let captionTimer = 0;
  session.on('avatar-caption', ({ text }) => {
    $('captions').textContent = text;
    $('captions').hidden = false;
    clearTimeout(captionTimer);
    captionTimer = setTimeout(() => { $('captions').hidden = true; }, 2500 + 70 * text.length);
  });
  const finish = (text) => {
    forgetCall();
    conversation.suggest([]); // what they were about (the wait) is over
    call.end(); // also when it ends before an agent took it (the link never started)
    $('callbar').hidden = true;
    $('end').hidden = false;
    $('end-text').textContent = text;
    $('remote-placeholder').textContent = text;
    for (const track of localStream.getTracks()) track.stop();
    layout();
  };
  session.on('closed', ({ reason }) => {
    if (['unknown_call', 'call_ended', 'token_expired', 'token_invalid'].includes(reason)) {
      finish(t('ended'));
    }
    if (reason === 'replaced') finish(t('replaced')); // the call goes on in another tab
  });
  session.on('call-state', (msg) => {
    if (msg.state !== 'ended') return;
    finish(wasWaiting && msg.reason === 'customer_hung_up' ? t('left') : t('ended'));
  });
  const conversation = new ConversationPanel(
    { list: $('conversation-items'), form: $('ask-form'), input: $('ask'), quick: $('quick-replies') },
    (text) => session.send({ type: 'assistant.ask', callId: ticket.call_id, text }),
  );
  $('conversation').hidden = false;
  const listen = (on) => {
    slot.listenWith(on ? localStream.getAudioTracks()[0] ?? null : null);
    $('mic').setAttribute('aria-pressed', String(slot.listening));
    $('mic').textContent = t(slot.listening ? 'mic.off' : 'mic.on');
  };
  $('mic').onclick = () => listen(!slot.listening);
  session.on('conversation-history', ({ items, suggestions }) => {
    conversation.show(items);
    if (suggestions) conversation.suggest(suggestions);
  });
  session.on('conversation-item', ({ item }) => conversation.add(item));
  session.on('error', (msg) => {
    if (msg.request === 'assistant.ask') conversation.note(errorText(msg));
    else console.warn('[avatarcall]', msg.code, msg.message);
  });
  $('hangup').onclick = () => session.send({ type: 'call.end', callId: ticket.call_id });
  bindMediaToggles(localStream, $('mute'), $('camera'), (on) => {
    body.dataset.camera = on ? 'on' : 'off';
  });
  for (const star of document.querySelectorAll('[data-stars]')) {
    star.onclick = () => {
      session.send({ type: 'call.rate', callId: ticket.call_id, stars: Number(star.dataset.stars) });
      for (const other of document.querySelectorAll('[data-stars]')) {
        other.classList.toggle('chosen', other === star);
      }
      $('rated').hidden = false;
    };
  }
  $('new-call').onclick = () => location.assign('/');
  call.show('waiting');
  await session.connect();
}

function fail(message) {
  $('start').disabled = false;
  $('start-error').textContent = message;
  $('start-error').hidden = false;
}

for (const star of document.querySelectorAll('[data-stars]')) {
  star.setAttribute('aria-label', t('rate.n', { n: star.dataset.stars }));
}
layout();
byTestId('start-call').addEventListener('click', () => {
  startCall().catch((err) => fail(err.message));
});
// Enabled only now: a click before this script ran (a slow network) would do nothing.
byTestId('start-call').disabled = false;

const saved = localStorage.getItem(TICKET_KEY);
if (saved) startCall(JSON.parse(saved)).catch((err) => fail(err.message));
