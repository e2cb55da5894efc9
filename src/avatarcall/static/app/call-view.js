// Binds one call to a page: the SDK's Call (its link opened, reopened and closed as the server
// says), the remote video, the call-state text, and the call's deadline (not up in 30 s -> a
// clear error with a retry button, never an endless spinner). Shared by the customer page and
// the agent console; only renders state it is given.
import { Call } from '../sdk/index.js';
import { showState, t } from './i18n.js';

const CONNECT_DEADLINE_MS = 30000;

/** This server's loops of its character, for the overlay mode. */
export const OVERLAY_LOOPS = { idle: '/avatar/loops/idle.webm', talking: '/avatar/loops/talking.webm' };

export class CallView {
  #call;
  #remoteVideo;
  #stateEl;
  #errorEl;
  #statsTimer = 0;
  #deadline = 0;
  onChange = () => {};
  onLink = () => {};

  constructor(session, { remoteVideo, stateEl, errorEl = null, retryButton = null, localStream = null }) {
    this.#call = new Call(session, { localStream });
    this.#remoteVideo = remoteVideo;
    this.#stateEl = stateEl;
    this.#errorEl = errorEl;
    this.#call.on('link', (link) => {
      this.onLink(link);
      clearInterval(this.#statsTimer);
      const decoded = { total: 0, last: new Map() }; // frames this link decoded; per SSRC
      this.#statsTimer = setInterval(() => this.#probe(link, decoded), 1000);
    });
    this.#call.on('stream', (stream) => {
      this.#remoteVideo.srcObject = stream;
      this.#remoteVideo.hidden = false;
      this.#remoteVideo.play().catch(() => {});
    });
    this.#call.on('state', (state) => (state === 'ended' ? this.#ended() : this.show(state)));
    if (retryButton) retryButton.onclick = () => this.retry();
  }

  get link() { return this.#call.link; }
  get callId() { return this.#call.callId; }

  show(state) {
    showState(this.#stateEl, 'call', state);
    if (state === 'connecting' || state === 'reconnecting') this.#arm();
    else this.#disarm();
    this.onChange(state);
  }

  retry() {
    this.#hideError();
    this.#call.restartIce();
    this.#arm();
  }

  #arm() {
    if (this.#deadline) return;
    this.#deadline = setTimeout(() => {
      this.#deadline = 0;
      if (this.#errorEl) {
        this.#errorEl.hidden = false;
        this.#errorEl.querySelector('.message').textContent = t('call_timeout');
      }
    }, CONNECT_DEADLINE_MS);
  }

  #disarm() {
    clearTimeout(this.#deadline);
    this.#deadline = 0;
    this.#hideError();
  }

  #hideError() {
    if (this.#errorEl) this.#errorEl.hidden = true;
  }

  // Writes what the call link decodes onto the video element (data-frames-decoded), so anyone
  // inspecting the page (and the tests) can see that media really flows. Counted over the
  // link's life: when two ICE restarts cross (both pages back after a server restart), the
  // polite side rolls its offer back and Chromium starts its video receiver's count afresh.
  async #probe(link, decoded) {
    if (this.#call.link !== link) return;
    for (const report of (await link.peerConnection.getStats()).values()) {
      if (report.type !== 'inbound-rtp' || report.kind !== 'video') continue;
      const now = report.framesDecoded ?? 0;
      const before = decoded.last.get(report.ssrc) ?? 0;
      decoded.total += now >= before ? now - before : now; // a smaller count: started afresh
      decoded.last.set(report.ssrc, now);
    }
    this.#remoteVideo.dataset.framesDecoded = String(decoded.total);
  }

  /** The call is over for this page (also when it ended before an agent took it). */
  end() {
    if (this.#call.state === 'ended') this.#ended();
    else this.#call.end(); // -> "ended"
  }

  #ended() {
    clearInterval(this.#statsTimer);
    this.#remoteVideo.srcObject = null;
    this.#remoteVideo.hidden = true;
    this.show('ended');
  }
}

export function showAvatarState(el, messageEl, { state, code, message }) {
  showState(el, 'avatar', state);
  if (messageEl) {
    const text = messageEl.querySelector('.message') ?? messageEl;
    // Our own codes have words in the page's language; others keep the server's message.
    const known = code && t(`error.${code}`) !== `error.${code}` ? t(`error.${code}`) : null;
    text.textContent = state === 'error' ? (known || message || t('avatar_unavailable')) : '';
    messageEl.hidden = state !== 'error';
    // Busy: nothing to retry, the server brings the avatar as soon as one is free.
    const retry = messageEl.querySelector('button');
    if (retry) retry.hidden = code === 'avatar_busy';
  }
}

/** Mute and camera-off buttons for a local stream (the tracks stay, only disabled). */
export function bindMediaToggles(stream, muteButton, cameraButton, onCamera = () => {}) {
  const toggle = (tracks) => {
    const on = !tracks.every((track) => track.enabled);
    for (const track of tracks) track.enabled = on;
    return on;
  };
  muteButton.onclick = () => {
    const on = toggle(stream.getAudioTracks());
    muteButton.setAttribute('aria-pressed', String(!on));
    muteButton.textContent = on ? t('mute') : t('unmute');
  };
  cameraButton.onclick = () => {
    const on = toggle(stream.getVideoTracks());
    cameraButton.setAttribute('aria-pressed', String(!on));
    cameraButton.textContent = on ? t('camera.off') : t('camera.on');
    onCamera(on);
  };
}
