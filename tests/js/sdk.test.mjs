// The browser SDK under node's test runner: what an integrator's framework does to it
// (reactive proxies, mounting and unmounting, rendering on a server) and how a session ends.
// A small stand-in plays the browser's WebSocket; everything else is the SDK as shipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  AvatarLink, BackoffPolicy, Emitter, PROTOCOL, SdkError, Session, Telemetry, keepRaw,
} from '../../src/avatarcall/static/sdk/index.js';
import {
  DelayChoice, FitChoice, SMALL_MAX_BPS, VideoFit, smallScale,
} from '../../src/avatarcall/static/sdk/video-fit.js';
import { PathWatch } from '../../src/avatarcall/static/sdk/path-watch.js';
import { RestartPace } from '../../src/avatarcall/static/sdk/restart-pace.js';
import { CallLink } from '../../src/avatarcall/static/sdk/call-link.js';
import { AvatarSlot } from '../../src/avatarcall/static/sdk/avatar-slot.js';

class FakeSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  static made = [];

  constructor(url) {
    this.url = url;
    this.readyState = FakeSocket.CONNECTING;
    this.sent = [];
    FakeSocket.made.push(this);
  }

  send(text) { this.sent.push(JSON.parse(text)); }

  close(code = 1000, reason = '') { this.serverCloses(code, reason); }

  // What the server (or the network) does:
  opens() { this.readyState = FakeSocket.OPEN; this.onopen?.(); }
  says(message) { this.onmessage?.({ data: JSON.stringify(message) }); }
  serverCloses(code = 1006, reason = '') {
    if (this.readyState === FakeSocket.CLOSED) return;
    this.readyState = FakeSocket.CLOSED;
    this.onclose?.({ code, reason });
  }
}
globalThis.WebSocket = FakeSocket;

const latest = () => FakeSocket.made.at(-1);
const welcome = (extra = {}) => ({
  type: 'welcome', protocol: PROTOCOL, role: 'customer', name: 'Ann', ice_servers_call: [],
  ice_servers_avatar: [], ...extra,
});

test('a session is made anywhere, even without a page (server-side rendering)', async () => {
  assert.equal(globalThis.location, undefined);
  const session = new Session();
  const closed = [];
  session.on('closed', (ev) => closed.push(ev));
  await assert.rejects(session.connect(), (err) => err instanceof SdkError && err.code === 'no_url');
  assert.deepEqual(closed, [{ code: 4000, reason: 'no_url' }]);
});

test('SDK objects work behind a reactive proxy and are marked raw for Vue', () => {
  const session = new Session({ url: 'ws://example.test/ws' });
  assert.equal(session.__v_skip, true);
  assert.ok(!Object.keys(session).includes('__v_skip'));
  // Vue's reactive() wraps objects in a Proxy: methods then run with the proxy as `this`,
  // which #private fields refuse ("Cannot read private member").
  const reactive = new Proxy(session, {});
  assert.equal(reactive.send({ type: 'ping' }), true);
  assert.equal(reactive.connected, false);
  const telemetry = new Proxy(new Telemetry(session), {});
  telemetry.record('call', 'created');
  telemetry.dispose();
  assert.equal(keepRaw({}).__v_skip, true);
});

test('closed is emitted once, also when close() comes during a reconnect wait', async () => {
  const session = new Session({ url: 'ws://example.test/ws' });
  const events = [];
  for (const name of ['open', 'reconnecting', 'closed']) session.on(name, (ev) => events.push([name, ev]));
  const connected = session.connect();
  latest().opens();
  await connected;
  latest().serverCloses(1006); // the network drops: the session waits, then tries again
  assert.equal(events.at(-1)[0], 'reconnecting');
  session.close();
  session.close();
  assert.deepEqual(events.filter(([name]) => name === 'closed'), [['closed', { code: 1000, reason: 'closed' }]]);
  const made = FakeSocket.made.length;
  await new Promise((resolve) => setTimeout(resolve, 700)); // past the backoff: nothing reopens
  assert.equal(FakeSocket.made.length, made);
});

test('a server speaking another protocol stops the session with a clear error', async () => {
  const session = new Session({ url: 'ws://example.test/ws' });
  const errors = [];
  const closed = [];
  const welcomed = [];
  session.on('error', (msg) => errors.push(msg));
  session.on('closed', (ev) => closed.push(ev));
  session.on('welcome', (msg) => welcomed.push(msg));
  const connected = session.connect();
  latest().opens();
  await connected;
  latest().says(welcome({ protocol: PROTOCOL + 1 }));
  assert.equal(welcomed.length, 0);
  assert.equal(errors[0].code, 'protocol_mismatch');
  assert.match(errors[0].message, /protocol 1; the server speaks 2/);
  assert.deepEqual(closed, [{ code: 1000, reason: 'protocol_mismatch' }]);
});

test('the same protocol is welcomed', async () => {
  const session = new Session({ url: 'ws://example.test/ws' });
  const welcomed = [];
  session.on('welcome', (msg) => welcomed.push(msg));
  const connected = session.connect();
  latest().opens();
  await connected;
  latest().says(welcome());
  assert.equal(welcomed.length, 1);
  session.dispose();
});

test('back after a cut, a session says what it saw last and takes nothing twice', async () => {
  const session = new Session({ url: 'ws://example.test/ws', token: 't' });
  const signals = [];
  session.on('call-signal', (msg) => signals.push(msg.seq));
  const connected = session.connect();
  latest().opens();
  await connected;
  latest().says(welcome({ call: { call_id: 'c1', state: 'waiting' }, seq: 4 }));
  latest().says({ type: 'call.signal', call_id: 'c1', seq: 5, description: { type: 'offer', sdp: 'x' } });
  latest().says({ type: 'call.signal', call_id: 'c1', seq: 6, description: { type: 'answer', sdp: 'y' } });
  latest().serverCloses(1006);
  await new Promise((resolve) => setTimeout(resolve, 700)); // the backoff: it reconnects
  assert.equal(new URL(latest().url).searchParams.get('since'), 'c1:6');
  latest().opens();
  latest().says(welcome({ call: { call_id: 'c1', state: 'waiting' }, seq: 6 }));
  latest().says({ type: 'call.signal', call_id: 'c1', seq: 6, description: { type: 'answer', sdp: 'y' } });
  latest().says({ type: 'call.signal', call_id: 'c1', seq: 7, description: { type: 'offer', sdp: 'z' } });
  assert.deepEqual(signals, [5, 6, 7]); // 6 came twice: once here
  // A server that lost its numbers (restarted, alone) says so in its welcome: they start again.
  latest().serverCloses(1006);
  await new Promise((resolve) => setTimeout(resolve, 700));
  latest().opens();
  latest().says(welcome({ call: { call_id: 'c1', state: 'waiting' }, seq: 0 }));
  latest().says({ type: 'call.signal', call_id: 'c1', seq: 1, description: { type: 'offer', sdp: 'w' } });
  assert.deepEqual(signals, [5, 6, 7, 1]);
  session.dispose();
});

test('dispose() lets go of every handler, timer and subscription', async () => {
  const timers = new Set();
  const { setInterval: realSet, clearInterval: realClear } = globalThis;
  globalThis.setInterval = (fn, ms) => { const id = realSet(fn, ms); timers.add(id); return id; };
  globalThis.clearInterval = (id) => { timers.delete(id); realClear(id); };
  try {
    const session = new Session({ url: 'ws://example.test/ws' });
    const telemetry = new Telemetry(session);
    assert.equal(timers.size, 0, 'no timer before there is a call to report on');
    telemetry.setCall('c1');
    assert.equal(timers.size, 2);
    const link = new Emitter(['state']);
    telemetry.watchCallLink(link);
    assert.equal(link._handlers.get('state').size, 1);
    telemetry.dispose();
    assert.equal(timers.size, 0);
    assert.equal(link._handlers.get('state').size, 0);
    assert.equal(session._handlers.get('open').size, 0);
    assert.equal(session._handlers.get('reconnecting').size, 0);

    const closed = [];
    session.on('closed', (ev) => closed.push(ev));
    session.dispose();
    assert.equal(closed.length, 1, 'closed, even for a session never connected');
    assert.equal(session._handlers.size, 0);
  } finally {
    globalThis.setInterval = realSet;
    globalThis.clearInterval = realClear;
  }
});

test('an unknown event name is refused at once', () => {
  assert.throws(() => new Session({ url: 'ws://x/ws' }).on('colsed', () => {}), /unknown event "colsed"/);
});

test('backoff grows with jitter and resets', () => {
  const backoff = new BackoffPolicy({ baseMs: 100, maxMs: 1000, random: () => 1 });
  assert.deepEqual([1, 2, 3, 4, 5].map(() => backoff.nextDelayMs()), [100, 200, 400, 800, 1000]);
  backoff.reset();
  assert.equal(backoff.nextDelayMs(), 100);
});

test('the session keeps both links\' ICE servers current and asks for fresh ones in time', async () => {
  const session = new Session({ url: 'ws://example.test/ws' });
  const connected = session.connect();
  latest().opens();
  await connected;
  const turn = (user) => [{ urls: ['turn:turn.example.com:3478'], username: user, credential: 'x' }];
  latest().says(welcome({ ice_servers_call: turn('a'), ice_servers_avatar: turn('b'), relay_only: true,
    ice_refresh_in: 0.05 }));
  const ice = session.iceServers;
  assert.equal(ice.call[0].username, 'a');
  assert.equal(ice.avatar[0].username, 'b');
  assert.equal(ice.relayOnly, true);
  await new Promise((resolve) => setTimeout(resolve, 120));
  assert.deepEqual(latest().sent.filter((m) => m.type === 'ice.refresh'), [{ type: 'ice.refresh' }]);
  latest().says({ type: 'ice.servers', call: turn('c'), avatar: turn('d'), refresh_in: 3600 });
  assert.equal(session.iceServers, ice, 'the same object, kept current');
  assert.equal(ice.call[0].username, 'c');
  session.dispose(); // and its refresh timer with it
});

test('one naming convention: camelCase in and out, snake_case on the wire', async () => {
  const session = new Session({ url: 'ws://example.test/ws' });
  const connected = session.connect();
  latest().opens();
  await connected;
  const heard = [];
  session.on('queue-position', (msg) => heard.push(msg));
  latest().says({ type: 'queue.position', call_id: 'c1', position: 2, agents_online: 1, estimated_wait: 90 });
  assert.deepEqual(heard, [{ type: 'queue.position', callId: 'c1', position: 2, agentsOnline: 1, estimatedWait: 90 }]);
  const candidate = { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0', sdpMLineIndex: 0 };
  session.send({ type: 'call.signal', callId: 'c1', candidate });
  session.send({ type: 'telemetry', callId: 'c1', sentAt: 5, events: [{ at: 1, link: 'call', kind: 'connected', elapsedMs: 80 }] });
  const [signal, telemetry] = latest().sent.slice(-2);
  assert.deepEqual(signal, { type: 'call.signal', call_id: 'c1', candidate }); // WebRTC's own, as is
  assert.deepEqual(telemetry.events[0], { at: 1, link: 'call', kind: 'connected', elapsed_ms: 80 });
  assert.equal(telemetry.sent_at, 5);
  session.dispose();
});

// A browser's peer connection, as far as the avatar link's offer goes: candidates arrive when
// the test says, and gathering never completes (Chromium's TCP phase comes ~100 ms late).
class GatheringPc extends EventTarget {
  static made = [];
  iceGatheringState = 'new';
  connectionState = 'new';
  candidates = [];

  constructor(config) { super(); this.config = config; GatheringPc.made.push(this); }
  addTransceiver() {}
  async createOffer() { return { type: 'offer', sdp: 'v=0\r\n' }; }
  async setLocalDescription() { this.iceGatheringState = 'gathering'; }
  async setRemoteDescription(answer) { this.answer = answer; }
  get localDescription() { return { type: 'offer', sdp: 'v=0\r\n' + this.candidates.map((c) => `a=${c}\r\n`).join('') }; }
  close() {}

  gathers(type) {
    const candidate = `candidate:1 1 udp 1 192.0.2.2 ${5000 + this.candidates.length} typ ${type}`;
    this.candidates.push(candidate);
    this.dispatchEvent(Object.assign(new Event('icecandidate'), { candidate: { candidate, type } }));
  }
}

async function avatarOffer(iceServers, candidateTypes) {
  const asked = [];
  const session = { send() {}, async requestAvatarAnswer(callId, epoch, sdp) { asked.push(sdp); return 'v=0\r\n'; } };
  globalThis.RTCPeerConnection = GatheringPc;
  globalThis.MediaStream = class { addTrack() {} };
  const link = new AvatarLink(session, { callId: 'c1', epoch: 1, iceServers });
  const started = link.start();
  await new Promise((resolve) => setTimeout(resolve, 5));
  const pc = GatheringPc.made.at(-1);
  for (const type of candidateTypes) {
    pc.gathers(type);
    await new Promise((resolve) => setTimeout(resolve, 60)); // longer than the link settles
  }
  return { started, asked, pc, link };
}

test('the avatar offer goes once the candidates its link needs are there, not at gathering\'s end', async () => {
  const direct = await avatarOffer([], ['host']);
  assert.equal(direct.asked.length, 1, 'offered soon after its host candidate');
  await direct.started;
  assert.match(direct.asked[0], /typ host/);
  assert.equal(direct.pc.iceGatheringState, 'gathering', 'gathering had not ended');
  direct.link.dispose();

  // With a STUN server, a host candidate is not enough: the offer waits for the reflexive one.
  const stun = [{ urls: ['stun:stun.example.test:3478'] }];
  const reflexive = await avatarOffer(stun, ['host']);
  assert.equal(reflexive.asked.length, 0, 'no offer without the server-reflexive candidate');
  reflexive.pc.gathers('srflx');
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(reflexive.asked.length, 1, 'offered soon after its reflexive candidate');
  await reflexive.started;
  assert.match(reflexive.asked[0], /typ srflx/);
  reflexive.link.dispose();

  // Through TURN, the offer waits for gathering's end (Firefox needs it: see avatar-link.js).
  const turn = [{ urls: ['turn:turn.example.test:3478'], username: 'u', credential: 'p' }];
  const relayed = await avatarOffer(turn, ['host', 'relay']);
  assert.equal(relayed.asked.length, 0, 'no offer before gathering ends');
  relayed.pc.iceGatheringState = 'complete';
  relayed.pc.dispatchEvent(new Event('icegatheringstatechange'));
  await relayed.started;
  assert.equal(relayed.asked.length, 1);
  assert.match(relayed.asked[0], /typ relay/);
  relayed.link.dispose();
});

test('an avatar link that found no path is tried again soon, not after a growing backoff', async () => {
  // The network away (a cut): gathering ends with no candidate at all.
  class NoPathPc extends GatheringPc {
    async setLocalDescription() { this.iceGatheringState = 'complete'; }
  }
  globalThis.RTCPeerConnection = NoPathPc;
  globalThis.MediaStream = class { addTrack() {} };
  const session = new Emitter(['avatar-view', 'avatar-error', 'reconnecting', 'welcome', 'ice-servers']);
  Object.assign(session, { iceServers: { avatar: [], relayOnly: true }, send() {}, async requestAvatarAnswer() { return 'v=0\r\n'; } });
  const slot = new AvatarSlot(session, { relayOnly: true });
  let backedOff = 0;
  slot._backoff = { nextDelayMs: () => { backedOff += 1; return 60000; }, reset() {} };
  const before = GatheringPc.made.length;
  session.emit('avatar-view', { callId: 'c1', view: 'stream', epoch: 1 });
  // Polled up to 5 s, no timing: backed off, the second link would wait the stand-in's 60 s.
  const until = async (done) => {
    for (let waited = 0; !done() && waited < 5000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const links = () => GatheringPc.made.length - before;
  await until(() => links() >= 4);
  assert.ok(links() >= 4, `a new link soon again while none finds a path (${links()} made)`);
  assert.equal(backedOff, 0, 'no backoff for a link that found no path');
  assert.equal(slot.state, 'reconnecting');

  // A link that failed otherwise (its answer refused) backs off as before.
  class FoundPc extends NoPathPc {
    async setLocalDescription() { this.gathers('relay'); this.iceGatheringState = 'complete'; }
  }
  globalThis.RTCPeerConnection = FoundPc;
  session.requestAvatarAnswer = async () => { throw new SdkError('avatar_failed', 'no'); };
  await until(() => backedOff > 0);
  assert.equal(backedOff, 1, 'backed off once, and waits');
  slot.dispose();
});

test('the call\'s video gets small while the link gives it too little, and its size back with room', () => {
  const choice = new FitChoice();
  const feed = (bps, samples) => { // what the last of these samples chose
    let small;
    for (let i = 0; i < samples; i += 1) small = choice.sample(bps);
    return small;
  };
  assert.equal(feed(300_000, 10), false, 'a good link: the camera\'s size');
  assert.equal(choice.sample(60_000), false, 'one low sample is not enough');
  assert.equal(choice.sample(60_000), true, 'two in a row: small');
  assert.equal(feed(150_000, 30), true, 'held while the target stays under 160 kbps');
  assert.equal(choice.sample(160_000), false, 'room: the camera\'s size at once');
  assert.equal(feed(120_000, 30), false, 'held over 100 kbps');
  assert.equal(feed(90_000, 1), false);
  assert.equal(feed(110_000, 1), false, 'low samples count only in a row');
  assert.equal(feed(90_000, 2), true);

  // VideoFit reads the link's statistics as PathWatch hands them over (every 500 ms): one
  // sample each 2 s, from the video's targetBitrate; none while the video is paused.
  let changes = 0;
  let paused = false;
  const fit = new VideoFit(() => { changes += 1; }, () => paused);
  const stats = (bps) => new Map([['o', { type: 'outbound-rtp', kind: 'video', targetBitrate: bps }],
    ['a', { type: 'outbound-rtp', kind: 'audio' }]]);
  for (let t = 0; t < 2000; t += 500) fit.stats(stats(50_000), t);
  assert.equal(fit.small, false, 'four reports within 2 s are one sample');
  fit.stats(stats(50_000), 2000);
  assert.deepEqual([fit.small, changes], [true, 1], 'a second sample 2 s later: small');
  paused = true;
  fit.stats(stats(500_000), 4000);
  assert.equal(fit.small, true, 'no sample while paused');
  paused = false;
  fit.stats(new Map(), 4500);
  assert.equal(fit.small, true, 'no target in the report (Firefox): no sample');
  fit.stats(stats(500_000), 5000);
  assert.deepEqual([fit.small, changes], [false, 2]);

  // Firefox has no target: its video's round trip (remote-inbound-rtp) decides, and the small
  // video is capped too (Firefox's camera filled a 300 kbps uplink's queue at 160 x 120 too).
  const rtt = (seconds) => new Map([['r', { type: 'remote-inbound-rtp', kind: 'video', roundTripTime: seconds }],
    ['o', { type: 'outbound-rtp', kind: 'video' }]]);
  const firefox = new VideoFit(() => { changes += 1; }, () => false);
  firefox.stats(rtt(1.2), 0);
  assert.deepEqual([firefox.small, firefox.maxBitrate], [false, undefined]);
  firefox.stats(rtt(1.4), 2000);
  assert.deepEqual([firefox.small, firefox.maxBitrate], [true, SMALL_MAX_BPS], 'a queue: small and capped');
  assert.equal(fit.maxBitrate, undefined, 'a sender with a target is never capped (its target would stay under the cap)');

  assert.equal(smallScale({ width: 640, height: 480 }), 4);
  assert.equal(smallScale({ width: 160, height: 120 }), 1);
  assert.equal(smallScale({}), 1, 'a track that says no size is left as it is');
});

test('a sender without a target (Firefox) goes small on a filling queue, and tries its size again', () => {
  const choice = new DelayChoice();
  let now = 0;
  const feed = (rtt, samples) => { // a sample every 2 s; what the last one chose
    let small;
    for (let i = 0; i < samples; i += 1) { small = choice.sample(rtt, now); now += 2000; }
    return small;
  };
  assert.equal(feed(0.25, 30), false, 'a steady poor link (0.22-0.27 s): the camera\'s size');
  assert.equal(feed(0.9, 1), false, 'one sample over 0.5 s is not enough');
  assert.equal(feed(0.9, 1), true, 'two in a row: small');
  assert.equal(feed(0.4, 15), true, 'held while the queue is not empty (over 0.3 s)');
  assert.equal(feed(0.25, 5), true, 'clear for 8 s: still small');
  assert.equal(feed(0.25, 1), false, 'clear for 10 s: the camera\'s size again, a try');
  assert.equal(feed(0.8, 2), true, 'the try filled the queue again');
  assert.equal(feed(0.25, 10), true, 'this time it waits twice as long');
  assert.equal(feed(0.25, 1), false, '20 s clear');
  assert.equal(feed(0.25, 20), false, 'the size held 40 s');
  assert.equal(feed(0.8, 2), true);
  assert.equal(feed(0.25, 6), false, 'a queue long after the last try: 10 s again');
});

test('a "disconnected" whose media flows on is no cut (Firefox on a lossy link); one whose media stopped is', async () => {
  let state = 'connected';
  let packets = 0;
  const pc = {
    get connectionState() { return state; },
    getStats: async () => new Map([['i', { type: 'inbound-rtp', packetsReceived: packets }]]),
  };
  const changes = [];
  const watch = new PathWatch(pc, (down) => changes.push(down));
  watch.close(); // probed by hand below, at the times given
  packets = 50;
  await watch.probe(0);
  state = 'disconnected'; // one consent check unanswered
  watch.stateChanged(300);
  for (const t of [500, 1000, 1500, 2000]) { packets += 25; await watch.probe(t); }
  assert.deepEqual([watch.down, changes], [false, []], 'the avatar\'s or the person\'s packets still come');
  state = 'connected';
  watch.stateChanged(2100);
  assert.deepEqual(changes, [], 'nothing to come back from');

  state = 'disconnected';
  watch.stateChanged(2200);
  for (const t of [2500, 3000, 3500]) await watch.probe(t);
  assert.deepEqual([watch.down, changes], [true, [true]], 'disconnected, and nothing came for 1.5 s: down');
  packets += 10;
  await watch.probe(4000);
  assert.equal(watch.down, true, 'packets again, but not connected yet');
  state = 'connected';
  watch.stateChanged(4100);
  assert.deepEqual([watch.down, changes], [false, [true, false]], 'connected with packets: up');

  for (const t of [4500, 5000]) await watch.probe(t);
  assert.equal(watch.down, false, 'quiet for 1.5 s not yet');
  await watch.probe(5500);
  assert.deepEqual(changes, [true, false, true], 'connected, but nothing for 1.5 s: down (a cut)');

  const other = new PathWatch({ connectionState: 'disconnected' }, (down) => changes.push(down));
  other.close();
  other.stateChanged(0);
  assert.equal(other.down, true, 'disconnected before any media: down at once');
  state = 'failed';
  const failed = new PathWatch(pc, () => {});
  failed.close();
  await failed.probe(0);
  failed.stateChanged(10);
  assert.equal(failed.down, true, 'failed: down at once, flowing or not');
});

test('a restart is not made again before the last one could gather (Firefox took 1.5 s after many)', () => {
  const first = (pace, from, to) => {
    for (let t = from; t <= to; t += 250) if (pace.due(t)) return t;
    return null;
  };
  // A pace after these events, each [what, time]: 'restarted', 'gathered', 'remoteCandidate'.
  const paceAfter = (...events) => {
    const pace = new RestartPace();
    for (const [what, time] of events) pace[what](time);
    return pace;
  };
  const chromium = paceAfter(['restarted', 0]);
  assert.equal(first(chromium, 0, 5000), 1000, 'nothing gathered (the TURN server away): again after 1 s');
  for (const [what, time] of [['restarted', 1000], ['gathered', 1020], ['remoteCandidate', 1100]]) {
    chromium[what](time);
  }
  assert.equal(first(chromium, 1000, 5000), 3000, 'gathered, path still down: every 2 s');

  // Firefox's gathering after a restart grows with each restart of the connection.
  const firefox = paceAfter(['restarted', 0], ['gathered', 1500], ['restarted', 10_000]);
  assert.equal(first(firefox, 10_000, 20_000), 12_250,
    'nothing yet: waits half as long again as its last gathering (1.5 s), not 1 s');
  firefox.restarted(12_250);
  firefox.gathered(13_700);
  assert.equal(firefox.due(14_000), false, 'its candidate came in time');

  const agent = paceAfter(['restarted', 0], ['gathered', 20], ['remoteCandidate', 1800],
    ['restarted', 5000], ['gathered', 5020]); // the other side gathers slowly
  assert.equal(first(agent, 5000, 12_000), 7750, 'the other side took 1.8 s: 2.7 s between restarts');

  const stuck = paceAfter(['restarted', 0], ['gathered', 60_000], ['restarted', 100_000]);
  assert.equal(first(stuck, 100_000, 120_000), 108_000, 'never more than 8 s');
});

// A browser's peer connection, as far as the call link's negotiation goes.
class NegotiatingPc {
  signalingState = 'stable';
  connectionState = 'new';
  iceGatheringState = 'new';
  localDescription = null;
  remoteDescription = null;
  restarts = 0;
  restartIce() {
    this.restarts += 1;
    if (this.signalingState === 'stable') queueMicrotask(() => this.onnegotiationneeded?.());
  }
  async setLocalDescription(description) {
    if (description?.type === 'rollback') this.signalingState = 'stable';
    else if (this.signalingState === 'stable') {
      this.signalingState = 'have-local-offer';
      this.localDescription = { type: 'offer', sdp: `a=ice-ufrag:${this.restarts}\r\n` };
    } else {
      this.signalingState = 'stable';
      this.localDescription = { type: 'answer', sdp: 'a=ice-ufrag:answer\r\n' };
    }
  }
  async setRemoteDescription(description) {
    this.remoteDescription = description;
    this.signalingState = description.type === 'offer' ? 'have-remote-offer' : 'stable';
  }
  async addIceCandidate() {}
  getSenders() { return []; }
  getReceivers() { return []; }
  getConfiguration() { return {}; }
  setConfiguration() {}
  async getStats() { return new Map(); }
  addTrack() {}
  close() { this.signalingState = 'closed'; }
}

test('an ICE restart asked before the last offer arrived makes none (after a cut both come at once)', async () => {
  let clock = 10_000;
  const realPerformance = globalThis.performance;
  Object.defineProperty(globalThis, 'performance', { value: { now: () => clock }, configurable: true });
  globalThis.RTCPeerConnection = NegotiatingPc;
  globalThis.MediaStream = class { addTrack() {} };
  const settle = () => new Promise((resolve) => setTimeout(resolve, 5));
  const links = [];
  try {
    const session = new Emitter(['avatar-view', 'reconnecting', 'welcome', 'ice-servers', 'call-signal']);
    session.role = 'agent';
    session.iceServers = { call: [] };
    const sent = [];
    session.send = (message) => sent.push(message);
    const offers = () => sent.filter((m) => m.description?.type === 'offer').map((m) => m.offer);
    const agent = new CallLink(session, { callId: 'c1', polite: false });
    links.push(agent);
    agent.restartIce(); // the path went down
    await settle();
    assert.deepEqual(offers(), [1]);
    clock += 3000; // the cut: the customer's asks wait in the network with our offer
    session.emit('call-signal', { callId: 'c1', restart: true, offer: 0 });
    await settle();
    assert.deepEqual(offers(), [1], 'the ask left before offer 1 reached the customer: no offer 2');
    session.emit('call-signal', { callId: 'c1', description: { type: 'answer', sdp: 'v=0' }, offer: 1 });
    await settle();
    clock += 1500;
    session.emit('call-signal', { callId: 'c1', restart: true, offer: 1 });
    await settle();
    assert.deepEqual(offers(), [1, 2], 'asked after answering offer 1: the path is still down, a new one');
    clock += 1500;
    session.emit('call-signal', { callId: 'c1', restart: true, offer: 1 });
    await settle();
    assert.deepEqual(offers(), [1, 2], 'offer 2 is on its way');
    clock += 3000;
    session.emit('call-signal', { callId: 'c1', restart: true, offer: 1 });
    await settle();
    assert.deepEqual(offers(), [1, 2, 3], 'offer 2 unanswered for 4.5 s: lost, made again');
    clock += 1500;
    session.emit('call-signal', { callId: 'c1', restart: true });
    await settle();
    assert.deepEqual(offers(), [1, 2, 3, 4], 'an ask that does not say (an older page): as before');

    // Our offer 4 outstanding (the other page cut off), the path still down: no new offer on
    // the answer's heels if offer 4 found its candidates; one if it found none (TURN away).
    const agentPc = agent.peerConnection;
    const answer = (n) => session.emit('call-signal', { callId: 'c1', description: { type: 'answer', sdp: 'v=0' }, offer: n });
    agent.restartIce();
    agentPc.onicecandidate({ candidate: { toJSON: () => ({ candidate: 'candidate:1 1 udp 1 192.0.2.1 1 typ relay' }) } });
    answer(4);
    await settle();
    assert.deepEqual(offers(), [1, 2, 3, 4], 'offer 4 had its candidates: it was the restart');
    clock += 2000;
    agent.restartIce();
    await settle();
    clock += 2000;
    agent.restartIce(); // while offer 5 gathers nothing
    answer(5);
    await settle();
    assert.deepEqual(offers(), [1, 2, 3, 4, 5, 6], 'offer 5 found no candidate: restarted once answered');

    const customerSession = new Emitter(['avatar-view', 'reconnecting', 'welcome', 'ice-servers', 'call-signal']);
    customerSession.role = 'customer';
    customerSession.iceServers = { call: [] };
    const asked = [];
    customerSession.send = (message) => asked.push(message);
    const customer = new CallLink(customerSession, { callId: 'c1', polite: true });
    links.push(customer);
    customerSession.emit('call-signal', { callId: 'c1', description: { type: 'offer', sdp: 'v=0' }, offer: 7 });
    await settle();
    customer.restartIce();
    assert.deepEqual(asked.filter((m) => m.restart).map((m) => m.offer), [7], 'the ask says what it answered');
    // Back from a cut: two offers at once (one made during it, one after its answer wait).
    const pc = customer.peerConnection;
    const applied = [];
    const apply = pc.setRemoteDescription.bind(pc);
    pc.setRemoteDescription = (description) => { applied.push(description.sdp); return apply(description); };
    for (const n of [8, 9]) {
      customerSession.emit('call-signal', { callId: 'c1', description: { type: 'offer', sdp: `a=ice-ufrag:u${n}` }, offer: n });
      customerSession.emit('call-signal', { callId: 'c1', candidate: { candidate: 'candidate:1 1 udp 1 192.0.2.9 9 typ relay', usernameFragment: `u${n}` } });
    }
    await settle();
    assert.deepEqual(applied, ['a=ice-ufrag:u9'], 'only the newest offer is an ICE restart');
    assert.deepEqual(asked.filter((m) => m.description).map((m) => m.offer), [7, 9]);
  } finally {
    for (const link of links) link.dispose();
    Object.defineProperty(globalThis, 'performance', { value: realPerformance, configurable: true });
  }
});
