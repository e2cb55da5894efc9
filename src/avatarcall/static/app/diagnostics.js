// Diagnostics: each check sets data-status (running | pass | fail | skip) and a sentence with
// numbers; the verdict sums them up. Uses only browser APIs and plain HTTP to the server.
import { PathWatch } from '../sdk/path-watch.js';

const $ = (id) => document.getElementById(id);
const check = (name) => document.querySelector(`[data-testid="diag-${name}"]`);
const SIMULTANEOUS_SECONDS = 15;

function report(name, status, text) {
  const el = check(name);
  el.dataset.status = status;
  el.querySelector('.result').textContent = text;
  return status;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ms = (v) => `${Math.round(v)} ms`;

/** Gather candidates with ``config``; resolve with the first of ``type`` (or null at timeout). */
async function firstCandidate(config, type, timeoutMs = 6000) {
  const pc = new RTCPeerConnection(config);
  pc.createDataChannel('probe');
  const started = performance.now();
  const errors = [];
  let completed = false;
  const found = new Promise((resolve) => {
    pc.onicecandidate = ({ candidate }) => {
      if (candidate?.type === type) resolve({ candidate, elapsed: performance.now() - started });
      if (!candidate) {
        completed = true;
        resolve(null);
      }
    };
    pc.onicecandidateerror = (e) => errors.push(`${e.errorCode} ${e.errorText} (${e.url})`);
    setTimeout(() => resolve(null), timeoutMs);
  });
  await pc.setLocalDescription(await pc.createOffer());
  const result = await found;
  pc.close();
  return { result, errors, completed };
}

async function cameraCheck() {
  report('camera', 'running', 'Asking for the camera and microphone…');
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    const video = stream.getVideoTracks()[0].getSettings();
    const ctx = new AudioContext();
    const analyser = ctx.createAnalyser();
    ctx.createMediaStreamSource(stream).connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    let peak = 0;
    for (let i = 0; i < 20; i += 1) {
      analyser.getFloatTimeDomainData(buf);
      for (const v of buf) peak = Math.max(peak, Math.abs(v));
      await sleep(50);
    }
    await ctx.close();
    report('camera', 'pass', `Camera ${video.width}×${video.height} at ${Math.round(video.frameRate ?? 0)} fps; `
      + `microphone peak ${Math.min(100, peak * 100).toFixed(0)}%.`);
    return stream;
  } catch (err) {
    report('camera', 'fail', `No camera or microphone: ${err.name} — ${err.message}. Allow them for this site.`);
    return null;
  }
}

async function stunCheck(config) {
  const stun = config.ice_servers_call.filter((s) => [].concat(s.urls).some((u) => u.startsWith('stun')));
  if (!config.stun_configured || stun.length === 0) {
    return report('stun', 'skip', 'No STUN server is configured on this server (fine on a LAN; TURN covers the rest).');
  }
  report('stun', 'running', 'Asking the STUN server for your public address…');
  const { result, errors, completed } = await firstCandidate({ iceServers: stun }, 'srflx');
  if (result) return report('stun', 'pass', `Reached in ${ms(result.elapsed)}: ${result.candidate.address ?? 'address hidden'}.`);
  if (completed && errors.length === 0) {
    // The server answered with the address we already have (the browser drops that duplicate).
    return report('stun', 'pass', 'Reached: your public address is your local one (no NAT in between).');
  }
  return report('stun', 'fail', `The STUN server did not answer (${stun.map((s) => s.urls).join(', ')}). `
    + `UDP may be blocked on your network. ${errors.join('; ')}`);
}

async function turnCheck(config) {
  if (!config.turn_configured) {
    return report('turn', 'skip', 'No TURN server is configured on this server.');
  }
  const turn = config.ice_servers_call.filter((s) => [].concat(s.urls).some((u) => u.startsWith('turn')));
  report('turn', 'running', 'Asking the TURN server for a relay with this server\'s credentials…');
  const { result, errors } = await firstCandidate({ iceServers: turn, iceTransportPolicy: 'relay' }, 'relay');
  if (result) {
    return report('turn', 'pass', `Relay allocated in ${ms(result.elapsed)} (${result.candidate.protocol}, `
      + `${result.candidate.address}:${result.candidate.port}).`);
  }
  const urls = turn.flatMap((s) => [].concat(s.urls)).join(', ');
  const why = errors.length ? ` The browser said: ${errors.join('; ')}.`
    : ' It did not answer at all: it may be down, or its port blocked by a firewall.';
  return report('turn', 'fail', `No relay from ${urls}. Calls that need a relay (strict NATs, corporate `
    + `networks) will not connect.${why}`);
}

/** A loopback call (two peer connections in this page) and the server's avatar, together. */
async function simultaneousCheck(stream, config) {
  report('simultaneous', 'running', `Running a call and the avatar together for ${SIMULTANEOUS_SECONDS} s…`);
  document.querySelector('.videos').hidden = false;
  const started = performance.now();
  const a = new RTCPeerConnection();
  const b = new RTCPeerConnection();
  a.onicecandidate = ({ candidate }) => candidate && b.addIceCandidate(candidate);
  b.onicecandidate = ({ candidate }) => candidate && a.addIceCandidate(candidate);
  const local = stream ?? (await fakeStream());
  for (const track of local.getTracks()) a.addTrack(track, local);
  b.ontrack = ({ streams }) => { $('loop').srcObject = streams[0]; };
  const callUp = new Promise((r) => { b.onconnectionstatechange = () => b.connectionState === 'connected' && r(performance.now()); });
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);

  const avatar = new RTCPeerConnection({ iceServers: config.ice_servers_avatar });
  avatar.addTransceiver('video', { direction: 'recvonly' });
  avatar.addTransceiver('audio', { direction: 'recvonly' });
  avatar.ontrack = ({ track }) => {
    const s = $('avatar').srcObject ?? new MediaStream();
    s.addTrack(track);
    $('avatar').srcObject = s;
  };
  const avatarStart = performance.now();
  await avatar.setLocalDescription(await avatar.createOffer());
  await new Promise((r) => {
    if (avatar.iceGatheringState === 'complete') r();
    avatar.onicegatheringstatechange = () => avatar.iceGatheringState === 'complete' && r();
    setTimeout(r, 3000);
  });
  const response = await fetch('/api/diagnostics/avatar', {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sdp: avatar.localDescription.sdp, language: navigator.language }),
  });
  if (!response.ok) {
    const err = await response.json();
    a.close(); b.close(); avatar.close();
    return report('simultaneous', 'fail', `The server could not start a test avatar: ${err.message ?? response.status}`);
  }
  await avatar.setRemoteDescription({ type: 'answer', sdp: (await response.json()).sdp });
  const firstFrame = new Promise((r) => {
    const v = $('avatar');
    const wait = () => (v.requestVideoFrameCallback ? v.requestVideoFrameCallback(() => r(performance.now())) : r(performance.now()));
    v.onloadeddata = wait;
  });

  // An interruption is media that stopped (or a failed link), as the SDK judges it: Firefox
  // says "disconnected" for one unanswered consent check while the media flows on.
  const drops = [];
  const watches = [['call', b], ['avatar', avatar]].map(([name, pc]) => {
    const watch = new PathWatch(pc, (down) => { if (down) drops.push(`${name} ${pc.connectionState}`); });
    pc.addEventListener('connectionstatechange', () => watch.stateChanged());
    return watch;
  });
  const callAt = await Promise.race([callUp, sleep(10000).then(() => null)]);
  const avatarAt = await Promise.race([firstFrame, sleep(20000).then(() => null)]);
  const decoded = async (pc) => {
    let n = 0;
    for (const s of (await pc.getStats()).values()) if (s.type === 'inbound-rtp' && s.kind === 'video') n += s.framesDecoded ?? 0;
    return n;
  };
  const before = [await decoded(b), await decoded(avatar)];
  const t0 = performance.now();
  await sleep(SIMULTANEOUS_SECONDS * 1000);
  const seconds = (performance.now() - t0) / 1000;
  const after = [await decoded(b), await decoded(avatar)];
  const fps = after.map((n, i) => (n - before[i]) / seconds);
  const states = [b.connectionState, avatar.connectionState];
  for (const watch of watches) watch.close();
  a.close(); b.close(); avatar.close();
  for (const id of ['loop', 'avatar']) $(id).srcObject = null;
  document.querySelector('.videos').hidden = true; // no black squares once the test is over
  const ok = callAt && avatarAt && states.every((s) => s === 'connected') && fps.every((f) => f > 5) && drops.length === 0;
  const text = `Call connected in ${callAt ? ms(callAt - started) : 'never'}, avatar first frame in `
    + `${avatarAt ? ms(avatarAt - avatarStart) : 'never'}; over ${Math.round(seconds)} s: call ${fps[0].toFixed(1)} fps, `
    + `avatar ${fps[1].toFixed(1)} fps, ${drops.length ? `interruptions: ${drops.join(', ')}` : 'no interruption'}.`;
  return report('simultaneous', ok ? 'pass' : 'fail', text);
}

async function fakeStream() {
  const canvas = document.createElement('canvas');
  canvas.width = 320; canvas.height = 240;
  const g = canvas.getContext('2d');
  setInterval(() => { g.fillStyle = `hsl(${Date.now() / 20 % 360} 60% 50%)`; g.fillRect(0, 0, 320, 240); }, 50);
  return canvas.captureStream(15);
}

async function run() {
  $('start').disabled = true;
  const verdict = $('verdict');
  verdict.dataset.status = 'running';
  verdict.textContent = 'Checking…';
  const config = await (await fetch('/api/diagnostics/config')).json();
  const stream = await cameraCheck();
  const results = [
    stream ? 'pass' : 'fail',
    await stunCheck(config),
    await turnCheck(config),
    await simultaneousCheck(stream, config),
  ];
  for (const track of stream?.getTracks() ?? []) track.stop();
  const failed = ['camera', 'stun', 'turn', 'simultaneous'].filter((_, i) => results[i] === 'fail');
  verdict.dataset.status = failed.length ? 'fail' : 'pass';
  verdict.textContent = failed.length
    ? `Something needs attention: ${failed.join(', ')}. Details below.`
    : 'All good: this browser and network can run a video call and the avatar at the same time.';
  $('start').disabled = false;
}

$('start').onclick = () => run().catch((err) => {
  $('verdict').dataset.status = 'fail';
  $('verdict').textContent = `The checks stopped: ${err.message}`;
  $('start').disabled = false;
});
