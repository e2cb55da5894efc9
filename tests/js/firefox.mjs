// A customer and an agent in Debian's Firefox ESR, driven over WebDriver BiDi by puppeteer-core
// (Playwright cannot drive a stock Firefox): the whole call with the avatar, as a person sees
// it. Run by tests/browser/test_firefox.py:
//
//   node tests/js/firefox.mjs pages SERVER_URL           the shipped customer page and console
//   node tests/js/firefox.mjs vue SERVER_URL APP_URL     the Vue example's customer, the console
//   node tests/js/firefox.mjs lipsync SERVER_URL PROBE_FILE SENTENCE MS ROI [PRELOAD_FILE]
//        the avatar says SENTENCE in a call; the customer's page runs the probe (a function's
//        source: mouth opening and sound level over MS ms in ROI, avatarcall.testing.browser),
//        and PRELOAD_FILE before its own scripts when given
//
// Prints one JSON line of what it saw; exits 1 with the reason when a step fails.
//
//   node tests/js/firefox.mjs serve PRELOAD_FILE
//        one page, driven from stdin, one JSON request a line ({id, op, ...}: goto url, click
//        testid, type testid text, evaluate source arg, screenshot path); one JSON line back
//        for each ({id, result} or {id, error}), and {event: "error", text} for what the page
//        writes to its console as an error. The page runs PRELOAD_FILE before its own scripts.
//        (avatarcall.testing.firefox.FirefoxPerson: a person in the network lab, say.)
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
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
  // no sound card here: PulseAudio's null sink when the benches started one (PULSE_SERVER,
  // avatarcall.testing.speakers), else Firefox's mock output, whose clock runs slow (0.85 s of
  // sound a second here: voices pile up in the jitter buffer). With no output at all every
  // AudioContext stays suspended.
  'media.cubeb.force_mock_context': !process.env.PULSE_SERVER,
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

// A locator waits for the control to be visible and clicks it again if the page redrew it
// meanwhile (the agent's queue redraws its list as customers come and go). The person brings
// the window to the front first: in a window behind, Firefox runs animation frames once a
// second, and the locator, which waits over animation frames for the control to hold still,
// ran past its timeout now and then (seen on the agent's End call).
const click = async (page, testid) => {
  await page.bringToFront();
  await page.locator(`[data-testid="${testid}"]`).setTimeout(TIMEOUT).click();
};

async function agentLogsIn(browser) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  pages.agent = page;
  await page.goto(`${serverUrl}/agent`);
  await page.waitForSelector('[data-testid="login-user"]', { visible: true });
  await page.type('[data-testid="login-user"]', 'alice');
  await page.type('[data-testid="login-password"]', 'correct-horse');
  await click(page, 'login-submit');
  await page.waitForSelector('[data-testid="end-call"]', { visible: true, timeout: TIMEOUT });
  return page;
}

// Where the run is, and each person's page: what a failure says (its step, and what the pages
// showed then: their data-state values and the start of their text).
let step = 'launch';
const at = (name) => { step = name; };
const pages = {};
const shown = () => Promise.all(Object.entries(pages).map(([who, page]) => page.evaluate(() => ({
  states: Object.fromEntries([...document.querySelectorAll('[data-state]')]
    .map((el) => [el.dataset.testid ?? el.id ?? el.tagName, el.dataset.state])),
  text: document.body?.innerText.replace(/\s+/g, ' ').slice(0, 300),
})).then((view) => [who, view], (err) => [who, String(err.message ?? err)])))
  .then(Object.fromEntries);

const errors = [];
const watch = (page, who) => {
  pages[who] = page;
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
  if (mode === 'serve') {
    await serve(browser, serverUrl); // (its one argument: the preload's file)
    return;
  }
  try {
    if (mode === 'lipsync') {
      await lipSync(browser, seen);
      return;
    }
    const customerContext = await browser.createBrowserContext();
    const customer = await customerContext.newPage();
    watch(customer, 'customer');
    at('customer opens the page');
    await customer.goto(mode === 'vue' ? `${appUrl}/?api=options` : `${serverUrl}/`);
    at('customer starts a call');
    await click(customer, 'start-call');
    await state(customer, 'call-state', 'waiting');
    await state(customer, 'avatar-state', 'live');
    at('customer sees the waiting avatar');
    seen.waiting_avatar = await painted(customer, 'avatar-video');

    at('agent signs in');
    const agent = await agentLogsIn(browser);
    watch(agent, 'agent');
    at('agent accepts the call');
    await click(agent, 'accept-call');
    await state(customer, 'call-state', 'connected');
    await state(agent, 'call-state', 'connected');
    at('both see each other and the avatar');
    seen.customer_sees_agent = await painted(customer, 'remote-video');
    seen.agent_sees_customer = await painted(agent, 'remote-video');
    seen.call_avatar = await painted(customer, 'avatar-video');
    seen.call_state_with_avatar = await customer.evaluate(
      () => document.querySelector('[data-testid="call-state"]').dataset.state);

    at('agent ends the call');
    await click(agent, 'end-call');
    await state(customer, 'call-state', 'ended');
    await state(customer, 'avatar-state', 'live');
    at('customer sees the concluding avatar');
    seen.conclusion_avatar = await painted(customer, 'avatar-video');
    seen.errors = errors;
    console.log(JSON.stringify(seen));
  } catch (err) {
    err.pages = await Promise.race([shown(), new Promise((r) => setTimeout(r, 5000, 'no answer'))]);
    throw err;
  } finally {
    await browser.close();
  }
}

// The avatar speaks in a call; what the customer's page saw of its lips and heard of its voice.
async function lipSync(browser, seen) {
  const [sentence, ms, roi, preload] = rest;
  const probe = readFileSync(appUrl, 'utf8'); // (the third argument is the probe's file here)
  const customer = await (await browser.createBrowserContext()).newPage();
  if (preload) await customer.evaluateOnNewDocument(readFileSync(preload, 'utf8'));
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

// One page, driven line by line from stdin until it closes.
async function serve(browser, preloadFile) {
  const page = await (await browser.createBrowserContext()).newPage();
  await page.evaluateOnNewDocument(readFileSync(preloadFile, 'utf8'));
  page.on('pageerror', (err) => say({ event: 'error', text: `uncaught ${err.message}` }));
  page.on('console', (msg) => {
    if (msg.type() === 'error') say({ event: 'error', text: msg.text(), url: msg.location()?.url ?? '' });
  });
  const ops = {
    goto: ({ url }) => page.goto(url).then(() => null),
    click: ({ testid }) => click(page, testid).then(() => null),
    type: ({ testid, text }) => page.type(`[data-testid="${testid}"]`, text).then(() => null),
    screenshot: ({ path }) => page.screenshot({ path }).then(() => null),
    // A function's source is called with arg (as Playwright's page.evaluate does).
    evaluate: ({ source, arg }) => page.evaluate(
      `(async () => { const v = (${source}); return typeof v === 'function' ? v(${JSON.stringify(arg ?? null)}) : v; })()`),
  };
  say({ event: 'ready', browser: await browser.version() });
  const pending = new Set();
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    const request = JSON.parse(line);
    const done = Promise.resolve()
      .then(() => ops[request.op](request))
      .then((result) => say({ id: request.id, result: result ?? null }),
        (err) => say({ id: request.id, error: String(err.message ?? err) }));
    pending.add(done);
    done.finally(() => pending.delete(done));
  }
  await Promise.allSettled([...pending]);
  await browser.close();
}

function say(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

main().catch((err) => {
  const failed = `${step}: ${String(err.message ?? err)}`;
  console.log(JSON.stringify({ mode, failed, pages: err.pages, errors }));
  process.exit(1);
});
