// Types of the avatarcall browser SDK (the JavaScript beside this file is the SDK itself).
//
// One convention: event names are kebab-case (as DOM events); everything else the SDK takes and
// gives is camelCase — options, properties, event payloads and the messages given to send().
// The wire speaks snake_case; the session translates at the socket.

/** The signaling protocol this SDK speaks (the server says its own in "welcome"). */
export const PROTOCOL: number;

/** Mark an object so reactive frameworks keep it as it is (what Vue's markRaw does). */
export function keepRaw<T extends object>(object: T): T;

export class SdkError extends Error {
  constructor(code: string, message: string, retryable?: boolean);
  /** e.g. "protocol_mismatch", "no_url", "signaling_closed", "needs_interaction" */
  code: string;
  retryable: boolean;
}

export class Emitter<Events extends object> {
  constructor(names: Array<keyof Events & string>);
  /** Call ``handler`` on each ``name`` event; returns the function that stops it. */
  on<K extends keyof Events & string>(name: K, handler: (detail: Events[K]) => void): () => void;
  emit<K extends keyof Events & string>(name: K, detail?: Events[K]): void;
  /** Forget every handler (and, for the SDK's classes, stop their timers and links). */
  dispose(): void;
}

/** A message of the signaling protocol, as the SDK hands it out and takes it (camelCase). */
export interface WireMessage {
  type: string;
  callId?: string;
  [field: string]: unknown;
}

export interface AssistantInfo {
  name: string;
  feminine?: boolean | null;
  /** languages the customer may speak to the assistant in */
  listens?: string[];
}

export interface Welcome extends WireMessage {
  type: 'welcome';
  protocol: number;
  role: 'customer' | 'agent';
  name: string;
  assistant?: AssistantInfo | null;
  call?: { callId: string; state: string; [field: string]: unknown } | null;
  iceServersCall: RTCIceServer[];
  iceServersAvatar: RTCIceServer[];
  iceRefreshIn?: number | null;
  relayOnly: boolean;
}

export interface ErrorMessage extends WireMessage {
  type: 'error';
  code: string;
  message: string;
  retryable?: boolean;
  request?: string;
}

export interface Closed {
  code: number;
  reason: string;
}

export interface SessionEvents {
  'open': undefined;
  'reconnecting': { attempt: number; delayMs: number };
  'welcome': Welcome;
  /** the waiting customers, oldest first; ``total``: how many wait in all */
  'queue': WireMessage[] & { total: number };
  'call-started': WireMessage;
  'call-state': WireMessage & { state: string; reason?: string | null };
  'call-signal': WireMessage;
  'call-rejoin': WireMessage;
  'ice-servers': WireMessage & { call: RTCIceServer[]; avatar: RTCIceServer[]; refreshIn?: number | null };
  'avatar-view': WireMessage & { view: AvatarView; epoch: number; voice?: 'tts' | 'agent' };
  'avatar-answer': WireMessage & { epoch: number; sdp: string };
  'avatar-error': WireMessage & { epoch: number; code: string; message: string };
  'avatar-caption': WireMessage & { text: string };
  'queue-position': WireMessage & { position: number; agentsOnline: number; estimatedWait?: number | null };
  'conversation-item': WireMessage;
  'conversation-history': WireMessage;
  'error': ErrorMessage;
  /** final, and emitted exactly once */
  'closed': Closed;
}

export interface SessionOptions {
  /** the server's signaling address (wss://host/ws); by default this page's own server */
  url?: string;
  /** a customer's call token or an agent's session token */
  token?: string;
  /** the token that takes a call back after a reload */
  resume?: string;
}

/** The signaling WebSocket of one tab: typed events, reconnection with backoff, an outbox. */
export class Session extends Emitter<SessionEvents> {
  static EVENTS: Array<keyof SessionEvents>;
  constructor(options?: SessionOptions);
  readonly resumeToken: string | null;
  readonly connected: boolean;
  /** "customer" or "agent", once the server has said (welcome) */
  readonly role: 'customer' | 'agent' | null;
  /** the ICE servers of each link now (the same object, kept current) */
  readonly iceServers: { call: RTCIceServer[]; avatar: RTCIceServer[]; relayOnly: boolean };
  /** Resolves on the first open; rejects with an SdkError if the server refuses. */
  connect(): Promise<void>;
  /** Send now, or once the connection is back; false only if the outbox is full
   *  (camelCase: ``{ type: 'call.end', callId }``). */
  send(message: WireMessage): boolean;
  /** End for good: "closed" follows, even during a reconnect's wait. */
  close(reason?: string): void;
  requestAvatarAnswer(callId: string, epoch: number, sdp: string): Promise<string>;
}

export type CallState = 'waiting' | 'connecting' | 'connected' | 'reconnecting' | 'ended';

export interface CallEvents {
  'state': CallState;
  /** a new link to the other person (the call started, or one side came back) */
  'link': CallLink;
  /** the other person's media */
  'stream': MediaStream;
}

/** This page's part in a call, wired to the session: its link opened when the call starts,
 *  again when the other side comes back (call.rejoin), closed when the call ends. */
export class Call extends Emitter<CallEvents> {
  static EVENTS: Array<keyof CallEvents>;
  constructor(session: Session, options?: { localStream?: MediaStream | null });
  readonly state: CallState;
  readonly link: CallLink | null;
  readonly stream: MediaStream | null;
  readonly callId: string | null;
  setLocalStream(stream: MediaStream | null): void;
  restartIce(): void;
  /** The call is over for this page. */
  end(): void;
}

export interface CallLinkOptions {
  callId: string;
  polite: boolean;
  iceServers?: RTCIceServer[];
  localStream?: MediaStream | null;
  relayOnly?: boolean;
}

export interface CallLinkEvents {
  'state': RTCPeerConnectionState | 'closed';
  /** the other person's media */
  'track': MediaStream;
}

/** The peer-to-peer call (perfect negotiation, ICE restart when its path fails). */
export class CallLink extends Emitter<CallLinkEvents> {
  static EVENTS: string[];
  constructor(session: Session, options: CallLinkOptions);
  readonly state: RTCPeerConnectionState;
  readonly peerConnection: RTCPeerConnection;
  setRemoteAudioEnabled(enabled: boolean): void;
  setIceServers(iceServers: RTCIceServer[]): void;
  restartIce(): void;
  close(): void;
}

export interface AvatarLinkOptions {
  callId: string;
  epoch: number;
  iceServers?: RTCIceServer[];
  relayOnly?: boolean;
  /** a microphone the avatar speaks with ("as-agent") or that the assistant hears */
  voice?: MediaStreamTrack | null;
}

export interface AvatarLinkEvents {
  'state': RTCPeerConnectionState | 'closed';
  'stream': MediaStream;
}

/** The page's own peer connection to the server-rendered avatar. */
export class AvatarLink extends Emitter<AvatarLinkEvents> {
  static EVENTS: string[];
  constructor(session: Session, options: AvatarLinkOptions);
  readonly epoch: number;
  readonly state: RTCPeerConnectionState | 'new';
  readonly peerConnection: RTCPeerConnection | null;
  /** how long the video is held to meet the voice (ms), null before it is known */
  readonly videoHoldMs: number | null;
  start(): Promise<void>;
  close(): void;
}

export type AvatarView = 'off' | 'stream' | 'overlay';
export type AvatarState = 'off' | 'starting' | 'live' | 'needs-interaction' | 'reconnecting' | 'error';

export interface AvatarSlotEvents {
  'state': { state: AvatarState; code?: string; message?: string };
  'view': { view: AvatarView; epoch: number; voice: 'tts' | 'agent' };
}

export interface AvatarSlotOptions {
  /** where the avatar is shown; may be given later with attach() */
  video?: HTMLVideoElement | null;
  /** where the overlay mode draws */
  canvas?: HTMLCanvasElement | null;
  iceServers?: RTCIceServer[];
  relayOnly?: boolean;
  overlay?: { loops?: { idle: string; talking: string } | null; voice?: () => MediaStream | null };
}

/** What a page's avatar area shows, driven by the server's avatar views. */
export class AvatarSlot extends Emitter<AvatarSlotEvents> {
  static EVENTS: string[];
  constructor(session: Session, options?: AvatarSlotOptions);
  readonly state: AvatarState;
  readonly view: AvatarView;
  readonly link: AvatarLink | null;
  /** the avatar's media while a link is up */
  readonly stream: MediaStream | null;
  readonly listening: boolean;
  /** Show the avatar in this element (e.g. after a re-render); null lets go of it. */
  attach(video: HTMLVideoElement | null): void;
  /** After "needs-interaction": call from a click to turn the avatar's voice on. */
  resume(): Promise<void>;
  setVoiceTrack(track: MediaStreamTrack | null): void;
  listenWith(track: MediaStreamTrack | null): void;
  setIceServers(iceServers: RTCIceServer[], relayOnly?: boolean): void;
  retry(): void;
  off(): void;
  close(): void;
}

/** The avatar drawn on a canvas from the server's loops (the overlay mode). */
export class OverlayAvatar {
  constructor(canvas: HTMLCanvasElement, options?: AvatarSlotOptions['overlay']);
  readonly running: boolean;
  start(): void;
  stop(): void;
}

export class BackoffPolicy {
  constructor(options?: { baseMs?: number; maxMs?: number; random?: () => number });
  attempt: number;
  nextDelayMs(): number;
  reset(): void;
}

/** What this page sees on its links, sent to the server (its timers start with setCall). */
export class Telemetry {
  constructor(session: Session);
  setCall(callId: string | null): void;
  record(link: 'call' | 'avatar' | 'signaling' | 'media', kind: string,
         fields?: { value?: string; elapsedMs?: number; code?: string }): void;
  watchCallLink(link: CallLink): void;
  watchAvatarSlot(slot: AvatarSlot): void;
  flush(): void;
  close(): void;
  /** close(), and stop listening to everything it was given. */
  dispose(): void;
}
