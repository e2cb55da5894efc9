// The dashboard: the report's two tables for a period, their trend, and one call's timeline.
const $ = (id) => document.getElementById(id);
const SVG = 'http://www.w3.org/2000/svg';

const REPORT_COMPONENTS = ['2-5 s (timeout 30 s)', '15-25 s (timeout 90 s)'];
const REPORT_SCENARIOS = {
  call_alone: '95%', avatar_before: '90% ("avatar alone")', call_with_avatar: '0%',
  avatar_after: '85% (after a refresh)',
};
const LABELS = {
  call_alone: 'Call alone', avatar_before: 'Avatar before the call', call_with_avatar: 'Call + avatar at once',
  avatar_after: 'Avatar after the call',
};

const fmtMs = (v) => (v === null || v === undefined ? '–' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`);

function el(tag, attrs = {}, text = null) {
  const node = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== null) node.textContent = text;
  return node;
}

function row(cells) {
  const tr = el('tr');
  for (const c of cells) tr.append(el('td', {}, c));
  return tr;
}

function renderTables(report) {
  $('components').tBodies[0].replaceChildren(...report.components.map((c, i) => row([
    c.name, String(c.count), fmtMs(c.median_ms), fmtMs(c.p95_ms), String(c.timeouts), REPORT_COMPONENTS[i] ?? '',
  ])));
  $('scenarios').tBodies[0].replaceChildren(...report.scenarios.map((s) => {
    const failures = Object.entries(s.failures).map(([code, n]) => `${code} ×${n}`).join(', ') || '–';
    const rate = s.total ? `${Math.round((100 * s.success) / s.total)}%` : '–';
    const tr = row([LABELS[s.scenario] ?? s.scenario, `${s.success}/${s.total}`, rate, failures,
      REPORT_SCENARIOS[s.scenario] ?? '']);
    tr.dataset.scenario = s.scenario;
    return tr;
  }));
}

function axes(svg, maxY, unit) {
  svg.replaceChildren();
  svg.append(el('svg:line', { x1: 40, y1: 170, x2: 550, y2: 170, class: 'axis' }));
  svg.append(el('svg:line', { x1: 40, y1: 10, x2: 40, y2: 170, class: 'axis' }));
  svg.append(el('svg:text', { x: 46, y: 16, 'text-anchor': 'start', class: 'tick' }, `${maxY}${unit}`));
  svg.append(el('svg:text', { x: 36, y: 170, 'text-anchor': 'end', class: 'tick' }, `0`));
}

function renderCharts(report) {
  const series = report.series;
  const n = series.length;
  const x = (i) => 40 + ((i + 0.5) * 510) / n;
  const connect = $('chart-connect');
  const values = series.flatMap((p) => [p.call_median_ms, p.avatar_median_ms]).filter((v) => v !== null);
  const maxMs = Math.max(100, ...values);
  axes(connect, Math.round(maxMs), ' ms');
  const y = (v) => 170 - (160 * v) / maxMs;
  for (const [key, cls, label] of [['call_median_ms', 'call', 'call link'], ['avatar_median_ms', 'avatar', 'avatar first frame']]) {
    const points = series.map((p, i) => (p[key] === null ? null : `${x(i)},${y(p[key])}`)).filter(Boolean);
    if (points.length) connect.append(el('svg:polyline', { points: points.join(' '), class: `line ${cls}` }));
    series.forEach((p, i) => {
      if (p[key] !== null) connect.append(el('svg:circle', { cx: x(i), cy: y(p[key]), r: 3, class: `dot ${cls}` }));
    });
    connect.append(el('svg:text', { x: cls === 'call' ? 60 : 200, y: 192, class: `legend ${cls}` }, `● ${label}`));
  }
  const success = $('chart-success');
  const maxN = Math.max(1, ...series.map((p) => p.total));
  axes(success, maxN, '');
  const bw = Math.max(2, 510 / n - 4);
  series.forEach((p, i) => {
    const h = (160 * p.total) / maxN;
    const ok = (160 * p.success) / maxN;
    success.append(el('svg:rect', { x: x(i) - bw / 2, y: 170 - h, width: bw, height: h, class: 'bar fail' }));
    success.append(el('svg:rect', { x: x(i) - bw / 2, y: 170 - ok, width: bw, height: ok, class: 'bar ok' }));
  });
  success.append(el('svg:text', { x: 60, y: 192, class: 'legend ok' }, '■ success'));
  success.append(el('svg:text', { x: 160, y: 192, class: 'legend fail' }, '■ failure'));
}

const OUTCOMES = {
  customer_hung_up: 'customer hung up', agent_hung_up: 'agent ended it',
  customer_left: 'customer left', agent_left: 'agent left',
};

function duration(c) {
  if (!c.ended_at) return c.state;
  const s = Math.round(c.ended_at - c.created_at);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

function renderCalls(report) {
  $('calls').tBodies[0].replaceChildren(...report.calls.map((c) => {
    const tr = row([
      new Date(c.created_at * 1000).toLocaleTimeString(), duration(c), c.language.toUpperCase(),
      c.state === 'ended' ? (OUTCOMES[c.end_reason] ?? c.end_reason ?? 'ended') : c.state,
      c.rating ? `${'★'.repeat(c.rating)}${'☆'.repeat(5 - c.rating)}` : '–', c.agent ?? '—',
    ]);
    tr.dataset.testid = 'call-row';
    tr.setAttribute('data-testid', 'call-row');
    tr.dataset.callId = c.call_id;
    if (c.rating) tr.dataset.rating = String(c.rating);
    if (c.topic) tr.title = c.topic;
    tr.onclick = () => showTimeline(c.call_id);
    return tr;
  }));
  const { count, average } = report.ratings ?? {};
  $('rating-average').textContent = count ? `· rated ${average} / 5 by ${count}` : '';
}

const LANES = ['customer', 'agent', 'server'];

async function showTimeline(callId) {
  const response = await fetch(`/api/calls/${callId}`);
  if (!response.ok) return;
  const { events } = await response.json();
  for (const tr of $('calls').tBodies[0].rows) tr.classList.toggle('selected', tr.dataset.callId === callId);
  $('timeline-title').textContent = `— ${callId} (${events.length} events)`;
  const svg = $('timeline');
  svg.replaceChildren();
  if (!events.length) return;
  const t0 = events[0].at;
  const span = Math.max(1, events[events.length - 1].at - t0);
  const x = (t) => 90 + (790 * (t - t0)) / span;
  LANES.forEach((lane, i) => {
    const y = 40 + i * 70;
    svg.append(el('svg:line', { x1: 90, y1: y, x2: 880, y2: y, class: 'lane' }));
    svg.append(el('svg:text', { x: 80, y: y + 4, 'text-anchor': 'end', class: 'lane-label' }, lane));
  });
  for (let s = 0; s <= 4; s += 1) {
    const t = t0 + (span * s) / 4;
    svg.append(el('svg:text', { x: x(t), y: 250, 'text-anchor': 'middle', class: 'tick' }, `${((t - t0)).toFixed(1)} s`));
  }
  // Labels go above or below their lane, wherever they do not run into the previous one.
  const ends = Object.fromEntries(LANES.map((lane) => [lane, [-1e9, -1e9]]));
  for (const e of events) {
    const lane = LANES.includes(e.detail.role) ? e.detail.role : 'server';
    const y = 40 + LANES.indexOf(lane) * 70;
    const cls = e.kind.startsWith('avatar') ? 'avatar' : e.kind.startsWith('call') || e.kind === 'state' ? 'call' : 'other';
    const dot = el('svg:circle', { cx: x(e.at), cy: y, r: 5, class: `dot ${cls}`, 'data-testid': 'timeline-event' });
    const label = e.kind === 'state' ? `state: ${e.detail.state}` : e.kind === 'outcome'
      ? `${e.detail.scenario}: ${e.detail.outcome}` : e.kind;
    dot.append(el('svg:title', {}, `${label} +${(e.at - t0).toFixed(3)} s ${JSON.stringify(e.detail)}`));
    svg.append(dot);
    const half = label.length * 2.9 + 4; // about half the label's width at 10 px
    const spot = e.kind.endsWith('.stats') ? -1 : ends[lane].findIndex((end) => x(e.at) - half > end);
    if (spot >= 0) {
      svg.append(el('svg:text', {
        x: x(e.at), y: spot === 0 ? y - 10 : y + 19, class: 'event-label', 'text-anchor': 'middle',
      }, label));
      ends[lane][spot] = x(e.at) + half;
    }
  }
}

async function load() {
  const seconds = Number($('period').value);
  const until = Date.now() / 1000;
  const response = await fetch(`/api/admin/report?since=${until - seconds}&until=${until}&buckets=24`);
  if (response.status === 401 || response.status === 403) {
    $('denied').hidden = false;
    return;
  }
  const report = await response.json();
  $('dash').hidden = false;
  renderTables(report);
  renderCharts(report);
  renderCalls(report);
  document.body.dataset.loaded = 'true';
}

$('period').onchange = load;
load();
setInterval(load, 15000);
