// AvatarLink: the page's own peer connection to the server-rendered avatar (one per avatar
// session epoch). Separate from the call link in every way: its own RTCPeerConnection, its own
// ICE servers, nothing shared. aiortc answers complete offers, so we wait for ICE gathering.
import { Emitter, SdkError } from './events.js';
import { LipSync } from './lip-sync.js';

const GATHER_TIMEOUT_MS = 3000;
// No candidate at all by then: the browser has no usable network yet (a link made at the very
// moment the network changed is gathered on the one that just went away, and never again).
const NO_CANDIDATE_MS = 1500;

/** Events: "state" (connectionState), "stream" (MediaStream with the avatar's video and voice). */
export class AvatarLink extends Emitter {
  _pc = null;
  _session;
  _callId;
  _epoch;
  _iceServers;
  _relayOnly;
  _closed = false;
  _lipSync = null;

  static EVENTS = ['state', 'stream'];

  _voice;

  /**
   * @param {{callId: string, epoch: number, iceServers?: RTCIceServer[], relayOnly?: boolean,
   *          voice?: MediaStreamTrack|null}} options  ``voice``: a microphone track the avatar
   *          speaks with (the agent's, in the "as-agent" mode)
   */
  constructor(session, { callId, epoch, iceServers = [], relayOnly = false, voice = null }) {
    super(AvatarLink.EVENTS);
    this._voice = voice;
    this._session = session;
    this._callId = callId;
    this._epoch = epoch;
    this._iceServers = iceServers;
    this._relayOnly = relayOnly;
  }

  get epoch() { return this._epoch; }
  get state() { return this._pc?.connectionState ?? 'new'; }
  get peerConnection() { return this._pc; }
  /** How long the avatar's video is held to meet its voice (ms), or null before it is known. */
  get videoHoldMs() { return this._lipSync?.holdMs ?? null; }

  /** Offer, get the server's answer; resolves when the answer is applied. */
  async start() {
    const pc = new RTCPeerConnection({
      iceServers: this._iceServers,
      iceTransportPolicy: this._relayOnly ? 'relay' : 'all',
    });
    this._pc = pc;
    const stream = new MediaStream();
    pc.ontrack = ({ track, receiver }) => {
      if (this._closed) return;
      if (track.kind === 'video') {
        this._lipSync?.stop();
        this._lipSync = new LipSync(pc, receiver);
        this._lipSync.start();
      }
      stream.addTrack(track);
      this.emit('stream', stream);
    };
    pc.onconnectionstatechange = () => {
      const state = pc.connectionState;
      this._session.send({ type: 'link.state', callId: this._callId, link: 'avatar', state });
      this.emit('state', state);
    };
    pc.addTransceiver('video', { direction: 'recvonly' });
    if (this._voice) pc.addTransceiver(this._voice, { direction: 'sendrecv' });
    else pc.addTransceiver('audio', { direction: 'recvonly' });
    await pc.setLocalDescription(await pc.createOffer());
    await waitForGathering(pc);
    if (this._closed) throw new SdkError('closed', 'The avatar link was closed.');
    if (!/^a=candidate:/m.test(pc.localDescription.sdp)) {
      throw new SdkError('no_candidates', 'The avatar link found no network path (no ICE candidate).');
    }
    const sdp = await this._session.requestAvatarAnswer(this._callId, this._epoch, pc.localDescription.sdp);
    if (this._closed) throw new SdkError('closed', 'The avatar link was closed.');
    await pc.setRemoteDescription({ type: 'answer', sdp });
  }

  close() {
    if (this._closed) return;
    this._closed = true;
    this._lipSync?.stop();
    this._pc?.close();
    this.emit('state', 'closed');
  }

  /** close(), and forget every handler. */
  dispose() {
    this.close();
    super.dispose();
  }
}

/** Until gathering is complete, or GATHER_TIMEOUT_MS, or NO_CANDIDATE_MS without any. */
function waitForGathering(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    let found = false;
    const done = () => {
      pc.removeEventListener('icegatheringstatechange', check);
      pc.removeEventListener('icecandidate', candidate);
      clearTimeout(timer);
      clearTimeout(none);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === 'complete') done(); };
    const candidate = ({ candidate }) => { if (candidate) found = true; };
    const timer = setTimeout(done, GATHER_TIMEOUT_MS);
    const none = setTimeout(() => { if (!found) done(); }, NO_CANDIDATE_MS);
    pc.addEventListener('icegatheringstatechange', check);
    pc.addEventListener('icecandidate', candidate);
  });
}
