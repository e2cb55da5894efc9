// AvatarLink: the page's own peer connection to the server-rendered avatar (one per avatar
// session epoch). Separate from the call link in every way: its own RTCPeerConnection, its own
// ICE servers, nothing shared. aiortc answers complete offers (it takes no trickled candidate
// later), so the offer waits for the candidates the link needs, not for gathering's end.
import { Emitter, SdkError } from './events.js';
import { LipSync } from './lip-sync.js';

const GATHER_TIMEOUT_MS = 3000;
// No candidate at all by then: the browser has no usable network yet (a link made at the very
// moment the network changed is gathered on the one that just went away, and never again).
const NO_CANDIDATE_MS = 1500;
// Once a candidate of the kind the link needs is there (server-reflexive with STUN servers,
// else host), its siblings on other interfaces follow within a few ms: this long, then the
// offer goes. Gathering's end comes much later: Chromium gathers TCP candidates (of no use to
// the avatar's server) ~100 ms after UDP. A link through TURN still waits for gathering's end:
// Firefox, answered before it, left about one relayed link in six unconnected (measured with
// `avatarcall bench recovery --browser firefox`: ~13 s until the link was made again).
const SETTLE_MS = 20;

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
    await waitForGathering(pc, neededType(this._iceServers, this._relayOnly));
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

/** The type of candidate after which the offer may go, or null: wait for gathering's end. */
function neededType(iceServers, relayOnly = false) {
  const urls = iceServers.flatMap((server) => [].concat(server.urls ?? []));
  if (relayOnly || urls.some((url) => /^turns?:/i.test(url))) return null;
  if (urls.some((url) => /^stuns?:/i.test(url))) return 'srflx';
  return 'host';
}

/** Until gathering is complete, or SETTLE_MS after the first candidate of type ``needed`` (if
 * any), or GATHER_TIMEOUT_MS, or NO_CANDIDATE_MS without any. */
function waitForGathering(pc, needed) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    let found = false;
    let settle = null;
    const done = () => {
      pc.removeEventListener('icegatheringstatechange', check);
      pc.removeEventListener('icecandidate', candidate);
      clearTimeout(timer);
      clearTimeout(none);
      clearTimeout(settle);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === 'complete') done(); };
    const candidate = ({ candidate }) => {
      if (!candidate?.candidate) return;
      found = true;
      if (needed && settle === null && candidateType(candidate) === needed) {
        settle = setTimeout(done, SETTLE_MS);
      }
    };
    const timer = setTimeout(done, GATHER_TIMEOUT_MS);
    const none = setTimeout(() => { if (!found) done(); }, NO_CANDIDATE_MS);
    pc.addEventListener('icegatheringstatechange', check);
    pc.addEventListener('icecandidate', candidate);
  });
}

function candidateType(candidate) {
  return candidate.type ?? / typ (\w+)/.exec(candidate.candidate)?.[1];
}
