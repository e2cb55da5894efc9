// A customer and an agent in Debian's Firefox ESR, driven over WebDriver BiDi by puppeteer-core
// (Playwright cannot drive a stock Firefox): the whole call with the avatar, as a person sees
// it. Run by tests/browser/test_firefox.py:
//
//   node tests/js/firefox.mjs pages SERVER_URL           the shipped customer page and console
//   node tests/js/firefox.mjs vue SERVER_URL APP_URL     the Vue example's customer, the console
//   node tests/js/firefox.mjs lipsync SERVER_URL PROBE_FILE SENTENCE MS ROI
//        the avatar says SENTENCE in a call; the customer's page runs the probe (a function's
//        source: mouth opening and sound level over MS ms in ROI, avatarcall.testing.browser)
//
// Prints one JSON line of what it saw; exits 1 with the reason when a step fails.
import { readFileSync } from 'node:fs';
import puppeteer from 'puppeteer-core';

const [mode, serverUrl, appUrl, ...rest] = process.argv.slice(2);
const FIREFOX = process.env.AVATARCALL_FIREFOX ?? '/usr/bin/firefox-esr';
const TIMEOUT = 30_000;
const PREFS = {
  // a fake camera and microphone, no permission prompt, host candidates on loopback
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.peerconnection.ice.loopback': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  'media.autoplay.default': 0,
  'media.autoplay.block-webaudio': false,
  // no sound device here: a mock audio output keeps WebAudio's clock running (the lip-sync
  // probe; with no output at all every AudioContext stays suspended)
  'media.cubeb.force_mock_context': true,
};

const state = (page, testid, value) => page.waitForFunction(
  (id, v) => document.querySelector(`[data-testid="${id}"]`)?.dataset.state === v,
  { timeout: TIMEOUT, polling: 100 }, testid, value,
).catch(async () => {
  const now = await page.evaluate((id) => document.querySelector(`[data-testid="${id}"]`)?.dataset.state, testid);
  throw new Error(`${testid} stayed "${now}", never "${value}" (${page.url()})`);
});

// Frames Firefox painted for a video element over a second (mozPaintedFrames: WebRTC frames
// decoded and shown; getVideoPlaybackQuality() stays 0 for a MediaStream here).
// Firefox paints only the window in front: the person looking at it. The best of a few
// one-second windows (a window this shared machine starved is not what a person sees).
const painted = async (page, testid) => {
  await page.bringToFront();
  let best = { frames: 0, width: 0 };
  for (let i = 0; i < 5 && best.frames < 10; i += 1) {
    const seen = await paintedOnce(page, testid);
    if (seen.frames > best.frames) best = seen;
  }
  return best;
};

const paintedOnce = (page, testid) => page.evaluate(async (id) => {
  const video = document.querySelector(`[data-testid="${id}"]`);
  const before = video.mozPaintedFrames;
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return { frames: video.mozPaintedFrames - before, width: video.videoWidth };
}, testid);

const click = async (page, testid) => {
  const el = await page.waitForSelector(`[data-testid="${testid}"]`, { visible: true, timeout: TIMEOUT });
  await el.click();
};

async function agentLogsIn(browser) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.goto(`${serverUrl}/agent`);
  await page.waitForSelector('[data-testid="login-user"]', { visible: true });
  await page.type('[data-testid="login-user"]', 'alice');
  await page.type('[data-testid="login-password"]', 'correct-horse');
  await click(page, 'login-submit');
  await page.waitForSelector('[data-testid="end-call"]', { visible: true, timeout: TIMEOUT });
  return page;
}

const errors = [];
const watch = (page, who) => {
  page.on('pageerror', (err) => errors.push(`${who}: uncaught ${err.message}`));
  page.on('console', (msg) => {
    // The console asks who is signed in before anyone is: 401 is its answer.
    if (msg.type() === 'error' && !/\/api\/me/.test(msg.location()?.url ?? '')) errors.push(`${who}: ${msg.text()}`);
  });
};

async function main() {
  const browser = await puppeteer.launch({
    browser: 'firefox', executablePath: FIREFOX, headless: true, protocol: 'webDriverBiDi',
    extraPrefsFirefox: PREFS,
  });
  const seen = { mode, browser: await browser.version() };
  try {
    if (mode === 'lipsync') {
      await lipSync(browser, seen);
      return;
    }
    const customerContext = await browser.createBrowserContext();
    const customer = await customerContext.newPage();
    watch(customer, 'customer');
    await customer.goto(mode === 'vue' ? `${appUrl}/?api=options` : `${serverUrl}/`);
    await click(customer, 'start-call');
    await state(customer, 'call-state', 'waiting');
    await state(customer, 'avatar-state', 'live');
    seen.waiting_avatar = await painted(customer, 'avatar-video');

    const agent = await agentLogsIn(browser);
    watch(agent, 'agent');
    await click(agent, 'accept-call');
    await state(customer, 'call-state', 'connected');
    await state(agent, 'call-state', 'connected');
    seen.customer_sees_agent = await painted(customer, 'remote-video');
    seen.agent_sees_customer = await painted(agent, 'remote-video');
    seen.call_avatar = await painted(customer, 'avatar-video');
    seen.call_state_with_avatar = await customer.evaluate(
      () => document.querySelector('[data-testid="call-state"]').dataset.state);

    await click(agent, 'end-call');
    await state(customer, 'call-state', 'ended');
    await state(customer, 'avatar-state', 'live');
    seen.conclusion_avatar = await painted(customer, 'avatar-video');
    seen.errors = errors;
    console.log(JSON.stringify(seen));
  } finally {
    await browser.close();
  }
}

// The avatar speaks in a call; what the customer's page saw of its lips and heard of its voice.
async function lipSync(browser, seen) {
  const [sentence, ms, roi] = rest;
  const probe = readFileSync(appUrl, 'utf8'); // (the third argument is the probe's file here)
  const customer = await (await browser.createBrowserContext()).newPage();
  watch(customer, 'customer');
  await customer.goto(`${serverUrl}/`);
  await click(customer, 'start-call');
  await state(customer, 'avatar-state', 'live');
  const agent = await agentLogsIn(browser);
  watch(agent, 'agent');
  await click(agent, 'accept-call');
  await state(customer, 'call-state', 'connected');
  await agent.type('[data-testid="avatar-say"]', sentence);
  await click(agent, 'avatar-say-submit');
  await customer.bringToFront(); // Firefox paints only the window in front
  seen.jitter_buffer_target = await customer.evaluate(() => 'jitterBufferTarget' in RTCRtpReceiver.prototype);
  seen.series = await customer.evaluate(`(${probe})(["avatar-video", ${Number(ms)}, ${roi}])`);
  seen.errors = errors;
  console.log(JSON.stringify(seen));
}

main().catch((err) => {
  console.log(JSON.stringify({ mode, failed: String(err.message ?? err), errors }));
  process.exit(1);
});
