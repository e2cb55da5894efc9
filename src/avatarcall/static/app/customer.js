// The customer's page: start a call, wait with the avatar, talk to the agent, see the goodbye.
import { AvatarSlot, Session, Telemetry } from '../sdk/index.js';
import { bindIceServers, CallView, showAvatarState } from './call-view.js';

const $ = (id) => document.getElementById(id);
const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

const FRENCH = {
  title: 'Parlez à un conseiller, en face à face',
  lead: 'Notre assistant virtuel vous accueille pendant qu\u2019un conseiller se libère. Votre caméra et votre micro seront utilisés.',
  start: 'Démarrer un appel vidéo', waiting: 'Un conseiller va vous répondre…', advisor: 'Conseiller',
  ended: 'L\u2019appel est terminé. Merci !',
  replaced: 'Cet appel continue dans un autre onglet ou une autre fenêtre.',
  assistant: 'Assistant virtuel', you: 'Vous', hangup: 'Raccrocher',
};

// The server's refusals a customer may meet before a call starts, in French (by error code).
const FRENCH_REFUSALS = {
  too_many_calls: 'Trop d’appels depuis cette connexion. Réessayez dans une minute.',
  queue_full: 'Toutes les places de la file d’attente sont prises. Réessayez dans une minute.',
  busy: 'Le service est très sollicité. Réessayez dans une minute.',
};

function translate(language) {
  if (language !== 'fr') return;
  document.documentElement.lang = 'fr';
  for (const el of document.querySelectorAll('[data-i18n]')) {
    el.textContent = FRENCH[el.dataset.i18n] ?? el.textContent;
  }
}

translate((navigator.language || 'en').slice(0, 2));

const TICKET_KEY = 'avatarcall.ticket';
const LINK_KEY = 'avatarcall.link';

// A link made for this customer (`/?call=TOKEN`, integration API) joins that call instead of
// starting one. The token leaves the address bar at once (no history, no sharing by accident);
// this tab keeps it for a reload.
const linkToken = new URLSearchParams(location.search).get('call');
if (linkToken) {
  if (sessionStorage.getItem(LINK_KEY) !== linkToken) sessionStorage.removeItem(TICKET_KEY);
  sessionStorage.setItem(LINK_KEY, linkToken);
  history.replaceState(null, '', location.pathname);
}

function forgetCall() {
  sessionStorage.removeItem(TICKET_KEY);
  sessionStorage.removeItem(LINK_KEY);
}

/** The server's message for a refused request; a proxy's own error page has none. */
async function problem(response, fallback) {
  const french = document.documentElement.lang === 'fr';
  try {
    const { code, message } = await response.json();
    return (french && FRENCH_REFUSALS[code]) || message || fallback;
  } catch {
    if (response.status !== 503 && response.status !== 429) return fallback;
    return french ? FRENCH_REFUSALS.busy : 'The service is busy. Please try again in a minute.';
  }
}

async function linkTicket(token) {
  const response = await fetch('/api/calls/join', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  if (!response.ok) {
    if (response.status !== 429) forgetCall(); // ended, expired or not valid: the next start is a new call
    throw new Error(await problem(response, 'This link does not work.'));
  }
  return response.json();
}

async function newTicket() {
  const response = await fetch('/api/calls', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ language: navigator.language }),
  });
  if (!response.ok) throw new Error(await problem(response, 'The call could not start.'));
  return response.json();
}

async function startCall(savedTicket = null) {
  $('start').disabled = true;
  $('start-error').hidden = true;
  let localStream;
  try {
    localStream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  } catch (err) {
    return fail(`Camera or microphone unavailable: ${err.message}`);
  }
  const link = sessionStorage.getItem(LINK_KEY);
  let ticket;
  try {
    ticket = savedTicket ?? await (link ? linkTicket(link) : newTicket());
  } catch (err) {
    localStream.getTracks().forEach((track) => track.stop()); // no camera left on for nothing
    throw err;
  }
  // A reload of this tab takes the same call back instead of starting over.
  sessionStorage.setItem(TICKET_KEY, JSON.stringify(ticket));
  translate(ticket.language);
  document.body.dataset.callId = ticket.call_id;

  $('intro').hidden = true;
  $('stage').hidden = false;
  $('local').srcObject = localStream;

  const session = new Session({ token: ticket.token });
  const call = new CallView(session, {
    remoteVideo: $('remote'), stateEl: byTestId('call-state'), errorEl: $('call-error'),
    retryButton: $('call-retry'),
  });
  const telemetry = new Telemetry(session);
  call.onLink = (link) => telemetry.watchCallLink(link);
  const slot = new AvatarSlot(session, { video: $('avatar'), canvas: $('overlay') });
  telemetry.watchAvatarSlot(slot);
  telemetry.setCall(ticket.call_id);
  $('avatar-retry').onclick = () => slot.retry();

  call.onChange = (state) => {
    $('remote-placeholder').hidden = state === 'connected' || state === 'reconnecting';
    document.body.dataset.call = state;
  };
  slot.on('state', (detail) => showAvatarState(byTestId('avatar-state'), $('avatar-error'), detail));
  slot.on('view', ({ view, voice }) => {
    $('overlay').hidden = view !== 'overlay';
    document.body.dataset.avatar = view;
    // "as-agent": the avatar speaks with the agent's voice; the agent's own sound is muted here
    // (no double voice) and the avatar takes the agent's place on screen.
    const asAgent = voice === 'agent';
    document.body.dataset.voice = voice;
    $('remote').muted = asAgent;
  });
  const ice = bindIceServers(session, call, slot);
  session.on('welcome', (msg) => {
    if (msg.call?.state === 'waiting') call.show('waiting');
    if (msg.call?.state === 'ended') call.end(); // it ended while we were away
  });
  session.on('call-started', (msg) => {
    call.start({
      callId: msg.call.call_id, polite: msg.polite, iceServers: ice.call, relayOnly: ice.relayOnly, localStream,
      rejoin: msg.call.state !== 'connecting',
    });
  });
  session.on('closed', ({ reason }) => {
    if (['unknown_call', 'call_ended', 'token_expired', 'token_invalid'].includes(reason)) {
      forgetCall();
      call.end();
    }
    if (reason === 'replaced') { // the call goes on in another tab: this one lets go of it
      call.end();
      $('hangup').disabled = true;
      $('remote-placeholder').textContent = document.documentElement.lang === 'fr'
        ? FRENCH.replaced : 'This call continues in another tab or window.';
      for (const track of localStream.getTracks()) track.stop();
    }
  });
  session.on('call-state', (msg) => {
    if (msg.state === 'ended') {
      forgetCall();
      call.end(); // also when it ends before an agent took it (the link never started)
      $('hangup').disabled = true;
      $('remote-placeholder').textContent = document.documentElement.lang === 'fr'
        ? FRENCH.ended : 'The call has ended. Thank you!';
      for (const track of localStream.getTracks()) track.stop();
    }
  });
  session.on('error', (msg) => console.warn('[avatarcall]', msg.code, msg.message));
  $('hangup').onclick = () => session.send({ type: 'call.end', call_id: ticket.call_id });
  call.show('waiting');
  await session.connect();
}

function fail(message) {
  $('start').disabled = false;
  $('start-error').textContent = message;
  $('start-error').hidden = false;
}

byTestId('start-call').addEventListener('click', () => {
  startCall().catch((err) => fail(err.message));
});

const saved = sessionStorage.getItem(TICKET_KEY);
if (saved) startCall(JSON.parse(saved)).catch((err) => fail(err.message));
