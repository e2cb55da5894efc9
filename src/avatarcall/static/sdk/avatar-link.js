// AvatarLink: the page's own peer connection to the server-rendered avatar (one per avatar
// session epoch). Separate from the call link in every way: its own RTCPeerConnection, its own
// ICE servers, nothing shared. aiortc answers complete offers, so we wait for ICE gathering.
import { Emitter, SdkError } from './events.js';
import { LipSync } from './lip-sync.js';

const GATHER_TIMEOUT_MS = 3000;

/** Events: "state" (connectionState), "stream" (MediaStream with the avatar's video and voice). */
export class AvatarLink extends Emitter {
  #pc = null;
  #session;
  #callId;
  #epoch;
  #iceServers;
  #relayOnly;
  #closed = false;
  #lipSync = null;

  static EVENTS = ['state', 'stream'];

  #voice;

  /**
   * @param {{callId: string, epoch: number, iceServers?: RTCIceServer[], relayOnly?: boolean,
   *          voice?: MediaStreamTrack|null}} options  ``voice``: a microphone track the avatar
   *          speaks with (the agent's, in the "as-agent" mode)
   */
  constructor(session, { callId, epoch, iceServers = [], relayOnly = false, voice = null }) {
    super(AvatarLink.EVENTS);
    this.#voice = voice;
    this.#session = session;
    this.#callId = callId;
    this.#epoch = epoch;
    this.#iceServers = iceServers;
    this.#relayOnly = relayOnly;
  }

  get epoch() { return this.#epoch; }
  get state() { return this.#pc?.connectionState ?? 'new'; }
  get peerConnection() { return this.#pc; }
  /** How long the avatar's video is held to meet its voice (ms), or null before it is known. */
  get videoHoldMs() { return this.#lipSync?.holdMs ?? null; }

  /** Offer, get the server's answer; resolves when the answer is applied. */
  async start() {
    const pc = new RTCPeerConnection({
      iceServers: this.#iceServers,
      iceTransportPolicy: this.#relayOnly ? 'relay' : 'all',
    });
    this.#pc = pc;
    const stream = new MediaStream();
    pc.ontrack = ({ track, receiver }) => {
      if (this.#closed) return;
      if (track.kind === 'video') {
        this.#lipSync?.stop();
        this.#lipSync = new LipSync(pc, receiver);
        this.#lipSync.start();
      }
      stream.addTrack(track);
      this.emit('stream', stream);
    };
    pc.onconnectionstatechange = () => {
      const state = pc.connectionState;
      this.#session.send({ type: 'link.state', call_id: this.#callId, link: 'avatar', state });
      this.emit('state', state);
    };
    pc.addTransceiver('video', { direction: 'recvonly' });
    if (this.#voice) pc.addTransceiver(this.#voice, { direction: 'sendrecv' });
    else pc.addTransceiver('audio', { direction: 'recvonly' });
    await pc.setLocalDescription(await pc.createOffer());
    await waitForGathering(pc);
    if (this.#closed) throw new SdkError('closed', 'The avatar link was closed.');
    const sdp = await this.#session.requestAvatarAnswer(this.#callId, this.#epoch, pc.localDescription.sdp);
    if (this.#closed) throw new SdkError('closed', 'The avatar link was closed.');
    await pc.setRemoteDescription({ type: 'answer', sdp });
  }

  close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#lipSync?.stop();
    this.#pc?.close();
    this.emit('state', 'closed');
  }
}

function waitForGathering(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      pc.removeEventListener('icegatheringstatechange', check);
      clearTimeout(timer);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === 'complete') done(); };
    const timer = setTimeout(done, GATHER_TIMEOUT_MS);
    pc.addEventListener('icegatheringstatechange', check);
  });
}
