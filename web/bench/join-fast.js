// Join-time benchmark (issue 19): how long from opening a meeting link (autojoin) to the first remote video
// frame on screen. One page publishes its fake camera in the room; then, RUNS times, a fresh browser context
// (empty cache, fake devices) opens `/r/<room>?name=...&autojoin=1`, and the page's own clock (performance.now(),
// 0 = navigation start) times each phase, so the browser driver's overhead is in no figure. Prints p50/p90 per
// phase and writes every run to artifacts/bench-join.json. Not a test: it asserts nothing about the figures.
// BENCH_RUNS (20) joins; BENCH_BASELINE_BIN=<another convene binary> measures it too, alternating joins;
// BENCH_JOIN_QUERY is added to the joiners' link (`&cam=0&mic=0`: joiners that publish nothing).
// Run through scripts/bench-join.sh (loopback-only network namespace, server built with this web/).
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, openBrowser, joinByLink, teardown, sleep, ARTIFACTS } from '../tests/helpers.js';

const RUNS = Number(process.env.BENCH_RUNS || 20);
/** Pause between joins: the previous joiner's departure settles (renegotiation of the publisher). */
const GAP_MS = Number(process.env.BENCH_GAP_MS || 1500);
/** More query parameters for the joiners' link, e.g. `&cam=0&mic=0` for joiners that only receive. */
const JOIN_QUERY = process.env.BENCH_JOIN_QUERY || '';

/**
 * The phases, in join order: [label, where the time comes from]. `nav:` is a field of the navigation timing
 * entry, `mark:` a performance mark (the SDK's `convene:*`, this script's `bench:*`).
 * @type {[string, string][]}
 */
const PHASES = [
  ['html received', 'nav:responseEnd'],
  ['scripts run', 'nav:domContentLoadedEventStart'],
  ['join() called', 'mark:convene:join'],
  ['devices open', 'mark:convene:media'],
  ['ws open', 'mark:convene:ws-open'],
  ['joined', 'mark:convene:joined'],
  ['pc created', 'mark:convene:pc'],
  ['offer sent', 'mark:convene:offer'],
  ['answer applied', 'mark:convene:answer'],
  ['server offer answered', 'mark:convene:server-offer'],
  ['ICE connected', 'mark:convene:ice-connected'],
  ['DTLS connected', 'mark:convene:connected'],
  ['first video RTP', 'mark:bench:first-rtp'],
  ['first frame received', 'mark:bench:first-frame-received'],
  ['first frame shown', 'mark:bench:first-frame'],
];

/**
 * In every joiner page before its scripts: remote video tracks are recorded from the peer connections' `track`
 * events; the first one's `unmute` (its first RTP packet) and the first frame a video element shows of one
 * (requestVideoFrameCallback) are marked.
 */
const INIT = () => {
  /** @type {WeakSet<MediaStreamTrack>} */
  const remote = new WeakSet();
  /** @param {string} name */
  const once = (name) => { if (!performance.getEntriesByName(name, 'mark').length) performance.mark(name); };
  const Orig = window.RTCPeerConnection;
  class Watched extends Orig {
    /** @param {RTCConfiguration} [cfg] */
    constructor(cfg) {
      super(cfg);
      this.addEventListener('track', (e) => {
        if (e.track.kind !== 'video') return;
        remote.add(e.track);
        if (!e.track.muted) once('bench:first-rtp');
        else e.track.addEventListener('unmute', () => once('bench:first-rtp'), { once: true });
      });
    }
  }
  window.RTCPeerConnection = Watched;
  const desc = /** @type {PropertyDescriptor} */ (Object.getOwnPropertyDescriptor(HTMLMediaElement.prototype, 'srcObject'));
  Object.defineProperty(HTMLMediaElement.prototype, 'srcObject', {
    configurable: true,
    enumerable: desc.enumerable,
    get() { return desc.get?.call(this); },
    /** @param {MediaProvider | null} v */
    set(v) {
      desc.set?.call(this, v);
      const el = /** @type {HTMLVideoElement} */ (/** @type {unknown} */ (this));
      if (v instanceof MediaStream && el instanceof HTMLVideoElement && v.getVideoTracks().some((t) => remote.has(t))) {
        el.requestVideoFrameCallback((_now, meta) => {
          if (!performance.getEntriesByName('bench:first-frame', 'mark').length) {
            // receiveTime: when the frame's last packet came (WebRTC sources only).
            if (meta.receiveTime) performance.mark('bench:first-frame-received', { startTime: meta.receiveTime });
            performance.mark('bench:first-frame', { startTime: meta.presentationTime });
          }
        });
      }
    },
  });
};

/** @param {number[]} xs @param {number} q */
function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i];
}

/**
 * One join in a fresh context of `browser`; resolves with each phase's time (ms since navigation start).
 * @param {import('playwright-core').Browser} browser @param {string} url @param {string} room @param {number} n
 * @returns {Promise<{ times: Record<string, number | null>, files: { url: string, start: number, end: number }[] }>}
 */
async function oneJoin(browser, url, room, n) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  try {
    await context.grantPermissions(['camera', 'microphone']);
    const page = await context.newPage();
    await page.addInitScript(INIT);
    await page.goto(`${url}/r/${room}?name=Joiner${n}&autojoin=1${JOIN_QUERY}`);
    await page.waitForFunction(() => performance.getEntriesByName('bench:first-frame', 'mark').length > 0, null, { timeout: 20_000 });
    /** @type {Record<string, number | null>} */
    const times = await page.evaluate((phases) => {
      const nav = /** @type {any} */ (performance.getEntriesByType('navigation')[0]);
      /** @type {Record<string, number | null>} */
      const out = {};
      for (const [label, src] of phases) {
        const [kind, ...rest] = src.split(':');
        const name = rest.join(':');
        if (kind === 'nav') out[label] = nav ? nav[name] : null;
        else out[label] = performance.getEntriesByName(name, 'mark')[0]?.startTime ?? null;
      }
      // Wall-clock time of navigation start, to line the runs up with the server's log.
      out.timeOrigin = performance.timeOrigin;
      return out;
    }, PHASES);
    // The page's files: when each was asked for and came (the module graph loads in waves).
    const files = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => {
      const r = /** @type {PerformanceResourceTiming} */ (e);
      return { url: new URL(r.name).pathname, start: Math.round(r.startTime), end: Math.round(r.responseEnd) };
    }));
    await page.evaluate(() => /** @type {any} */ (window).convene?.leave());
    return { times, files };
  } finally {
    await context.close().catch(() => {});
  }
}

/**
 * A server (this build, or the baseline's binary) with a publisher's page in a room of its own.
 * @param {string} name @param {string | undefined} bin @param {import('playwright-core').Browser} browser
 */
async function setUp(name, bin, browser) {
  const srv = await startServer([], { bin });
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  await context.grantPermissions(['camera', 'microphone']);
  const page = await context.newPage();
  const room = `bench-join-${name}-${Date.now() % 100000}`;
  await joinByLink(page, srv.url, room, 'Publisher');
  /** @type {{ times: Record<string, number | null>, files: { url: string, start: number, end: number }[] }[]} */
  const runs = [];
  return { name, srv, room, runs };
}

/** p50/p90 of each phase. @param {Record<string, number | null>[]} runs */
function summarise(runs) {
  return PHASES.map(([label]) => {
    const xs = /** @type {number[]} */ (runs.map((r) => r[label]).filter((v) => typeof v === 'number'));
    return { phase: label, p50: quantile(xs, 0.5), p90: quantile(xs, 0.9), n: xs.length };
  });
}

async function main() {
  // BENCH_BASELINE_BIN: a second server binary (e.g. built from main) measured in alternation with this
  // one, join for join, so that both see the same load on a shared machine.
  const baseline = process.env.BENCH_BASELINE_BIN;
  const publisher = await openBrowser();
  const joiners = await openBrowser();
  const setups = [await setUp('this', undefined, publisher.browser)];
  if (baseline) setups.push(await setUp('baseline', baseline, publisher.browser));
  try {
    // The publishers' cameras are flowing (the servers have their layers) before anyone joins.
    await sleep(3000);
    // One join to warm each server (its first DTLS, code paths, caches of the browser binary), not counted.
    for (const s of setups) await oneJoin(joiners.browser, s.srv.url, s.room, 0);
    for (let n = 1; n <= RUNS; n++) {
      for (const s of setups) {
        await sleep(GAP_MS);
        const run = await oneJoin(joiners.browser, s.srv.url, s.room, n);
        s.runs.push(run);
        const first = run.times['first frame shown'];
        process.stderr.write(`join ${n}/${RUNS} (${s.name}): first frame ${first === null ? '-' : first.toFixed(0)} ms\n`);
      }
    }
  } finally {
    mkdirSync(ARTIFACTS, { recursive: true });
    for (const s of setups) writeFileSync(join(ARTIFACTS, `bench-join-server-${s.name}.log`), s.srv.log());
    await teardown(undefined, [publisher, joiners]);
    for (const s of setups) await s.srv.stop();
  }
  const summaries = setups.map((s) => summarise(s.runs.map((r) => r.times)));
  console.log(`join time over ${RUNS} joins${baseline ? ' each, alternating with the baseline' : ''} (ms since navigation start)`);
  console.log(`| phase | p50 | p90 |${baseline ? ' baseline p50 | baseline p90 |' : ''}`);
  console.log(`|---|---:|---:|${baseline ? '---:|---:|' : ''}`);
  summaries[0].forEach((r, i) => {
    const b = summaries[1]?.[i];
    console.log(`| ${r.phase} | ${r.p50.toFixed(0)} | ${r.p90.toFixed(0)} |${b ? ` ${b.p50.toFixed(0)} | ${b.p90.toFixed(0)} |` : ''}`);
  });
  const file = join(ARTIFACTS, 'bench-join.json');
  const out = setups.map((s, i) => ({ server: s.name, summary: summaries[i], runs: s.runs.map((r) => r.times), files: s.runs.map((r) => r.files) }));
  writeFileSync(file, JSON.stringify(out, null, 2));
  console.log(`runs: ${file}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
