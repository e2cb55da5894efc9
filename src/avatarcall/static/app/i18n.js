// The pages' words, in English and French. A state keeps its machine value in data-state (tests
// and integrators read it); the word people see comes from here, in their language.

const WORDS = {
  en: {
    'call.idle': 'Not started', 'call.waiting': 'Waiting', 'call.connecting': 'Connecting…',
    'call.connected': 'Connected', 'call.reconnecting': 'Reconnecting…', 'call.ended': 'Ended',
    'avatar.off': 'Off', 'avatar.starting': 'Starting…', 'avatar.live': 'Live',
    'avatar.reconnecting': 'Reconnecting…', 'avatar.error': 'Unavailable',
    'avatar.needs-interaction': 'Muted', sound_on: 'Turn on the assistant’s voice',
    'pill.call': 'Call', 'pill.assistant': 'Assistant', 'pill.avatar': 'Avatar',
    // customer
    title: 'Talk to an advisor, face to face', doc_title: 'Talk to us',
    lead: 'Our virtual assistant welcomes you while an advisor gets ready. You will need your camera and microphone.',
    start: 'Start a video call', your_name: 'Your name (optional)', your_topic: 'What is it about? (optional)', waiting: 'An advisor will be with you shortly…', advisor: 'Advisor',
    ended: 'The call has ended. Thank you!', left: 'You left the queue. Nothing was lost: call again whenever you like.',
    replaced: 'This call continues in another tab or window.',
    'assistant.f': 'Virtual assistant', 'assistant.m': 'Virtual assistant', you: 'You',
    advisor_voice: 'your advisor, through the avatar',
    hangup: 'Hang up', leave: 'Leave the queue', mute: 'Mute', unmute: 'Unmute',
    'camera.off': 'Camera off', 'camera.on': 'Camera on',
    position: 'You are number {n} in line.', position_first: 'You are next in line.',
    wait: 'Estimated wait: about {m} min.', wait_soon: 'Estimated wait: less than a minute.',
    no_agents: 'No advisor is online right now. Stay in line: the first one to sign in will see you; or come back later.',
    thanks: 'Thank you for calling', rate: 'How was this call?', rated: 'Thank you for your feedback.',
    again: 'Start a new call', 'rate.n': '{n} out of 5',
    camera_refused: 'Your camera or microphone is not available ({reason}). Allow them in your browser, then try again.',
    call_timeout: 'The call could not connect within 30 seconds. Check your network, then retry.',
    avatar_unavailable: 'The assistant is unavailable.', retry: 'Retry',
    too_many_calls: 'Too many calls from this connection. Please try again in a minute.',
    queue_full: 'Every place in the queue is taken. Please try again in a minute.',
    busy: 'The service is busy. Please try again in a minute.',
    link_broken: 'This link does not work.', not_started: 'The call could not start.',
    ask_placeholder: 'Ask the assistant a question…', ask_send: 'Send', 'mic.on': 'Talk',
    'mic.off': 'Stop', mic_refused: 'The microphone is not available: type your question instead.',
    // avatar errors (server codes)
    'error.avatar_timeout': 'The assistant did not start within 60 seconds.',
    'error.avatar_crashed': 'The assistant stopped unexpectedly; it restarts by itself.',
    'error.avatar_stopped': 'The assistant was stopped.',
    'error.avatar_busy': 'Every avatar is in use: a simple animation meanwhile, the assistant comes as soon as one is free.',
    // agent
    console: 'agent console', sign_in: 'Sign in', name: 'Name', password: 'Password',
    queue_title: 'Waiting customers', nobody: 'Nobody is waiting.', accept: 'Accept',
    handover_title: 'Before you took the call', handover_open: 'for you',
    waited: 'waiting {s}', gone: 'page closed', customer: 'Customer',
    preview: 'Avatar (what the customer sees)', during: 'Avatar during the call',
    after: 'After the call', 'mode.off': 'Off', 'mode.beside': 'Beside me',
    'mode.overlay': 'Overlay animation', 'mode.as-agent': 'Avatar as me (my voice)',
    'after.conclusion': 'Conclusion', 'after.off': 'Off', say_placeholder: 'Make the avatar say…',
    say: 'Say', restart: 'Restart avatar', end_call: 'End call', accept_hint: 'Accept a customer from the queue.',
    say_off: 'The avatar is off: nobody would hear it.', say_overlay: 'In overlay mode the avatar moves with your voice; it does not say text.',
    say_agent: 'The avatar speaks with your voice: just talk.', say_language: 'Language',
    'reason.customer_hung_up': 'The customer hung up.', 'reason.agent_hung_up': 'You ended the call.',
    'reason.customer_left': 'The customer left (their page closed).', 'reason.agent_left': 'Your page was away too long.',
    call_timer: 'In call {t}', notify: 'Tell me when someone joins', signed_out: 'Sign out',
    notify_title: 'A customer is waiting',
    say_no_call: 'Take a call to make the avatar speak.', sign_in_failed: 'Sign-in failed.',
    'error.bad_login': 'Wrong name or password.',
    'error.customer_away': 'This customer’s page is closed: they may come back in a moment. Take another customer meanwhile.',
    'error.call_taken': 'Another agent has already taken this call.',
    'error.call_ended': 'This call has already ended.',
    'error.avatar_unavailable': 'The avatar is not running: restart it first.',
    'ended.session_ended': 'Your session has ended (signed out everywhere, or your account changed). Sign in again.',
    'ended.token_expired': 'Your session has expired. Sign in again.',
    'ended.other': 'Your session has ended. Sign in again.',
  },
  fr: {
    'call.idle': 'Pas commencé', 'call.waiting': 'En attente', 'call.connecting': 'Connexion…',
    'call.connected': 'Connecté', 'call.reconnecting': 'Reconnexion…', 'call.ended': 'Terminé',
    'avatar.off': 'Éteint', 'avatar.starting': 'Démarrage…', 'avatar.live': 'En direct',
    'avatar.reconnecting': 'Reconnexion…', 'avatar.error': 'Indisponible',
    'avatar.needs-interaction': 'Son coupé', sound_on: 'Activer la voix de l’assistant',
    'pill.call': 'Appel', 'pill.assistant': 'Assistant', 'pill.avatar': 'Avatar',
    title: 'Parlez à un conseiller, en face à face', doc_title: 'Contactez-nous',
    lead: 'Notre assistant virtuel vous accueille pendant qu’un conseiller se libère. Votre caméra et votre micro seront utilisés.',
    start: 'Démarrer un appel vidéo', your_name: 'Votre nom (facultatif)', your_topic: 'C’est à quel sujet ? (facultatif)', waiting: 'Un conseiller va vous répondre…', advisor: 'Conseiller',
    ended: 'L’appel est terminé. Merci !', left: 'Vous avez quitté la file d’attente. Rien n’est perdu : rappelez quand vous voulez.',
    replaced: 'Cet appel continue dans un autre onglet ou une autre fenêtre.',
    'assistant.f': 'Assistante virtuelle', 'assistant.m': 'Assistant virtuel', you: 'Vous',
    advisor_voice: 'votre conseiller, par l’avatar',
    hangup: 'Raccrocher', leave: 'Quitter la file', mute: 'Couper le micro', unmute: 'Rétablir le micro',
    'camera.off': 'Couper la caméra', 'camera.on': 'Rétablir la caméra',
    position: 'Vous êtes le numéro {n} dans la file.', position_first: 'Vous êtes le prochain.',
    wait: 'Attente estimée : environ {m} min.', wait_soon: 'Attente estimée : moins d’une minute.',
    no_agents: 'Aucun conseiller n’est connecté pour l’instant. Restez en ligne : le premier qui se connecte vous verra ; ou revenez plus tard.',
    thanks: 'Merci de votre appel', rate: 'Comment s’est passé cet appel ?', rated: 'Merci pour votre avis.',
    again: 'Démarrer un nouvel appel', 'rate.n': '{n} sur 5',
    camera_refused: 'Votre caméra ou votre micro n’est pas disponible ({reason}). Autorisez-les dans votre navigateur, puis réessayez.',
    call_timeout: 'L’appel n’a pas pu se connecter en 30 secondes. Vérifiez votre réseau, puis réessayez.',
    avatar_unavailable: 'L’assistant est indisponible.', retry: 'Réessayer',
    too_many_calls: 'Trop d’appels depuis cette connexion. Réessayez dans une minute.',
    queue_full: 'Toutes les places de la file d’attente sont prises. Réessayez dans une minute.',
    busy: 'Le service est très sollicité. Réessayez dans une minute.',
    link_broken: 'Ce lien ne fonctionne pas.', not_started: 'L’appel n’a pas pu démarrer.',
    ask_placeholder: 'Posez une question à l’assistant…', ask_send: 'Envoyer', 'mic.on': 'Parler',
    'mic.off': 'Arrêter', mic_refused: 'Le micro n’est pas disponible : écrivez plutôt votre question.',
    'error.avatar_timeout': 'L’assistant n’a pas démarré en 60 secondes.',
    'error.avatar_crashed': 'L’assistant s’est arrêté ; il redémarre tout seul.',
    'error.avatar_stopped': 'L’assistant a été arrêté.',
    'error.avatar_busy': 'Tous les avatars sont occupés : une animation simple en attendant, l’assistant arrive dès qu’un avatar se libère.',
    console: 'console conseiller', sign_in: 'Connexion', name: 'Nom', password: 'Mot de passe',
    queue_title: 'Clients en attente', nobody: 'Personne n’attend.', accept: 'Prendre',
    handover_title: 'Avant que vous preniez l’appel', handover_open: 'pour vous',
    waited: 'attend depuis {s}', gone: 'page fermée', customer: 'Client',
    preview: 'Avatar (ce que voit le client)', during: 'Avatar pendant l’appel',
    after: 'Après l’appel', 'mode.off': 'Éteint', 'mode.beside': 'À côté de moi',
    'mode.overlay': 'Animation en surimpression', 'mode.as-agent': 'L’avatar, c’est moi (ma voix)',
    'after.conclusion': 'Conclusion', 'after.off': 'Éteint', say_placeholder: 'Faire dire à l’avatar…',
    say: 'Dire', restart: 'Redémarrer l’avatar', end_call: 'Terminer l’appel', accept_hint: 'Prenez un client dans la file.',
    say_off: 'L’avatar est éteint : personne ne l’entendrait.', say_overlay: 'En surimpression, l’avatar s’anime avec votre voix ; il ne dit pas de texte.',
    say_agent: 'L’avatar parle avec votre voix : parlez simplement.', say_language: 'Langue',
    'reason.customer_hung_up': 'Le client a raccroché.', 'reason.agent_hung_up': 'Vous avez terminé l’appel.',
    'reason.customer_left': 'Le client est parti (sa page s’est fermée).', 'reason.agent_left': 'Votre page a été absente trop longtemps.',
    call_timer: 'En appel {t}', notify: 'Me prévenir quand un client arrive', signed_out: 'Se déconnecter',
    notify_title: 'Un client attend',
    say_no_call: 'Prenez un appel pour faire parler l’avatar.', sign_in_failed: 'La connexion a échoué.',
    'error.bad_login': 'Nom ou mot de passe incorrect.',
    'error.customer_away': 'La page de ce client est fermée : il va peut-être revenir. Prenez un autre client en attendant.',
    'error.call_taken': 'Un autre conseiller a déjà pris cet appel.',
    'error.call_ended': 'Cet appel est déjà terminé.',
    'error.avatar_unavailable': 'L’avatar ne tourne pas : redémarrez-le d’abord.',
    'ended.session_ended': 'Votre session est terminée (déconnexion partout, ou compte modifié). Reconnectez-vous.',
    'ended.token_expired': 'Votre session a expiré. Reconnectez-vous.',
    'ended.other': 'Votre session est terminée. Reconnectez-vous.',
  },
};

/** The page's language: French if the person's browser (or the call) says so, else English. */
export function language() {
  return document.documentElement.lang === 'fr' ? 'fr' : 'en';
}

export function setLanguage(lang) {
  document.documentElement.lang = lang === 'fr' ? 'fr' : 'en';
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-placeholder]')) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of document.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
}

/** A word or sentence, with ``{name}`` filled from ``vars``; the key itself if unknown. */
export function t(key, vars = {}) {
  const text = WORDS[language()][key] ?? WORDS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ''));
}

/** A state element: the machine value in data-state, the word in the page's language. */
export function showState(el, kind, state) {
  el.dataset.state = state;
  el.textContent = t(`${kind}.${state}`);
}

/** "1:05" */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function browserLanguage() {
  return (navigator.language || 'en').toLowerCase().startsWith('fr') ? 'fr' : 'en';
}
