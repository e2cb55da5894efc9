// Binds one call to a page: the call link, the remote video and the call-state text.
// Shared by the customer page and the agent console; only renders state it is given.
import { CallLink } from '../sdk/index.js';

export class CallView {
  #session;
  #remoteVideo;
  #stateEl;
  #link = null;
  #callId = null;
  #statsTimer = 0;
  onChange = () => {};

  constructor(session, { remoteVideo, stateEl }) {
    this.#session = session;
    this.#remoteVideo = remoteVideo;
    this.#stateEl = stateEl;
    session.on('call-state', (msg) => {
      if (msg.call_id !== this.#callId) return;
      if (msg.state === 'ended') this.end(msg.reason);
    });
  }

  get link() { return this.#link; }
  get callId() { return this.#callId; }

  show(state) {
    this.#stateEl.textContent = state;
    this.#stateEl.dataset.state = state;
    this.onChange(state);
  }

  start({ callId, polite, iceServers, localStream }) {
    if (this.#link && this.#callId === callId) return;
    this.#link?.close();
    this.#callId = callId;
    this.show('connecting');
    const link = new CallLink(this.#session, { callId, polite, iceServers, localStream });
    this.#link = link;
    link.on('track', (stream) => {
      this.#remoteVideo.srcObject = stream;
      this.#remoteVideo.hidden = false;
      this.#remoteVideo.play().catch(() => {});
    });
    clearInterval(this.#statsTimer);
    this.#statsTimer = setInterval(() => this.#probe(link), 1000);
    link.on('state', (state) => {
      if (this.#link !== link) return;
      if (state === 'connected') this.show('connected');
      else if (state === 'disconnected' || state === 'failed') this.show('reconnecting');
    });
  }

  // Writes what the call link decodes onto the video element (data-frames-decoded), so anyone
  // inspecting the page (and the tests) can see that media really flows.
  async #probe(link) {
    if (this.#link !== link) return;
    const stats = await link.peerConnection.getStats();
    for (const report of stats.values()) {
      if (report.type === 'inbound-rtp' && report.kind === 'video') {
        this.#remoteVideo.dataset.framesDecoded = String(report.framesDecoded ?? 0);
      }
    }
  }

  end() {
    clearInterval(this.#statsTimer);
    this.#link?.close();
    this.#link = null;
    this.#remoteVideo.srcObject = null;
    this.#remoteVideo.hidden = true;
    this.show('ended');
  }
}

export function showAvatarState(el, messageEl, { state, message }) {
  el.textContent = state;
  el.dataset.state = state;
  if (messageEl) {
    messageEl.textContent = state === 'error' ? (message || 'The avatar is unavailable.') : '';
    messageEl.hidden = state !== 'error';
  }
}
