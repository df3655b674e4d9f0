// Test helpers: a Convene server per test file, headless Chromium with fake devices, WebRTC statistics.
// Run inside a network namespace with only loopback (see scripts/test-web.sh).
import { spawn } from 'node:child_process';
import { get as httpsGet } from 'node:https';
import { mkdtempSync, rmSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(here, '..', '..');
export const ARTIFACTS = process.env.WEB_ARTIFACTS || join(ROOT, 'artifacts');
const BINARY = process.env.TEST_CONVENE_BIN || join(ROOT, 'target', 'debug', 'convene');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/** @returns {Promise<number>} */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/**
 * Polls `fn` until it returns a truthy value (returned) or the timeout passes (null).
 * @template T @param {() => Promise<T>} fn @param {number} [timeoutMs] @param {number} [everyMs]
 * @returns {Promise<T | null>}
 */
export async function until(fn, timeoutMs = 15_000, everyMs = 500) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) return null;
    await sleep(everyMs);
  }
}

/** @param {number} ms */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the server on a free port; `stop()` ends it and removes its database. `kill(signal)` ends the
 * process only (SIGTERM: a drain; SIGKILL: a crash) and `restart()` starts the same binary again on the
 * same port and database, as a supervisor restarting it would.
 * @param {string[]} [extra] more `--set key=value` arguments
 * `o.args`: more command-line arguments, e.g. `['--max-participants', '2']`;
 *   `bin`: another server binary than TEST_CONVENE_BIN's (the join benchmark compares two);
 *   `host`: the address to listen on (HTTP and media), 127.0.0.1 unless given (networks.test.js uses a veth's);
 *   `port`: the HTTP port, a free one unless given; `tls`: HTTPS with a self-signed certificate made at start
 *   (`url` is then https://; browsers need `ignoreCertErrors`);
 *   `database`: the database URL (a SQLite file of the server's own unless given; span.test.js's nodes share
 *   a PostgreSQL)
 * @param {{ args?: string[], bin?: string, host?: string, port?: number, tls?: boolean, database?: string }} [o]
 */
export async function startServer(extra = [], o = {}) {
  const port = o.port || await freePort();
  const host = o.host || '127.0.0.1';
  if (o.tls) extra = ['tls.self_signed=true', ...extra];
  const dir = mkdtempSync(join(tmpdir(), 'convene-web-'));
  const database = o.database || `sqlite://${join(dir, 'db.sqlite')}`;
  const args = ['serve', '--listen', `${host}:${port}`, '--database-url', database,
    '--set', 'media.udp_port=0', '--set', `files.dir=${join(dir, 'files')}`, ...extra.flatMap((e) => ['--set', e]), ...(o.args || [])];
  const url = `${o.tls ? 'https' : 'http'}://${host}:${port}`;
  let log = '';
  const bin = o.bin || BINARY;
  let proc = await launch(bin, args, url, (d) => { log += d; });
  return {
    url,
    log: () => log,
    /** Sends `signal` and waits (up to `ms`) for the process to exit; true when it did. @param {NodeJS.Signals} signal */
    async kill(signal, ms = 15_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return true;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill(signal);
      await Promise.race([exited, sleep(ms)]);
      return proc.exitCode !== null || proc.signalCode !== null;
    },
    async restart() {
      log += '\n==== restart ====\n';
      proc = await launch(bin, args, url, (d) => { log += d; });
    },
    async stop() {
      proc.kill('SIGTERM');
      await Promise.race([new Promise((r) => proc.once('exit', r)), sleep(5000)]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Spawns the server and waits until it serves the app.
 * @param {string} bin @param {string[]} args @param {string} url @param {(d: string) => void} onLog
 */
async function launch(bin, args, url, onLog) {
  // The server refuses unknown CONVENE_* variables; pass none through.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONVENE_')));
  const proc = spawn(bin, args, { env: { ...env, RUST_LOG: process.env.RUST_LOG || 'info,str0m=warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  /** @param {Buffer} d */
  const take = (d) => { log += d; onLog(String(d)); };
  proc.stdout?.on('data', take);
  proc.stderr?.on('data', take);
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited: ${log}`);
    try {
      if (await status(`${url}/`) === 200) break;
    } catch { /* not yet */ }
    if (Date.now() > deadline) { proc.kill('SIGKILL'); throw new Error(`server did not start: ${log}`); }
    await sleep(100);
  }
  if (await status(`${url}/app/main.js`) !== 200) {
    proc.kill('SIGKILL');
    throw new Error(`${bin} does not serve /app/main.js: it embeds another web/ (rebuild: cargo build -p convene-server)`);
  }
  return proc;
}

/**
 * The status of a GET; over https, the server's self-signed certificate is taken as it is.
 * @param {string} url
 * @returns {Promise<number>}
 */
async function status(url) {
  if (!url.startsWith('https:')) return (await fetch(url)).status;
  return new Promise((resolve, reject) => {
    httpsGet(url, { rejectUnauthorized: false }, (r) => { r.resume(); resolve(r.statusCode ?? 0); }).on('error', reject);
  });
}

const FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required',
  '--auto-accept-this-tab-capture', '--auto-select-desktop-capture-source=Entire screen',
  '--auto-select-tab-capture-source-by-title=Convene', '--enable-usermedia-screen-capturing',
  '--disable-renderer-backgrounding', '--disable-background-timer-throttling', '--disable-backgrounding-occluded-windows',
];

/** Records every RTCPeerConnection of the page in `window.__pcs`. */
const INIT = () => {
  const Orig = window.RTCPeerConnection;
  /** @type {RTCPeerConnection[]} */
  const pcs = [];
  /** @type {any} */ (window).__pcs = pcs;
  class Recorded extends Orig {
    /** @param {RTCConfiguration} [cfg] */
    constructor(cfg) { super(cfg); pcs.push(this); }
  }
  window.RTCPeerConnection = Recorded;
  // Signaling the quality tests look at: set_video_constraint sent, layers_unused received.
  /** @type {any[]} */
  const sig = [];
  /** @type {any} */ (window).__sig = sig;
  const OrigWS = window.WebSocket;
  class RecordedWS extends OrigWS {
    /** @param {string | URL} url @param {string | string[]} [protocols] */
    constructor(url, protocols) {
      super(url, protocols);
      this.addEventListener('message', (e) => {
        try { const m = JSON.parse(e.data); if (m.type === 'layers_unused') sig.push({ at: Date.now(), dir: 'in', ...m }); } catch { /* not JSON */ }
      });
    }
    /** @param {string | ArrayBufferLike | Blob | ArrayBufferView} data */
    send(data) {
      try { const m = JSON.parse(String(data)); if (m.type === 'set_video_constraint') sig.push({ at: Date.now(), dir: 'out', ...m }); } catch { /* not JSON */ }
      super.send(data);
    }
  }
  window.WebSocket = RecordedWS;
};

/**
 * Closes the browsers and the server of a test file (printing their logs when DEBUG_WEB is set).
 * @param {{ log: () => string, stop: () => Promise<void> } | undefined} srv
 * @param {Array<{ console: string[], close: () => Promise<void> } | undefined>} browsers
 */
export async function teardown(srv, browsers) {
  for (const b of browsers) {
    if (b && process.env.DEBUG_WEB) console.log(b.console.join('\n'));
    await b?.close();
  }
  if (srv && process.env.DEBUG_WEB) console.log(srv.log());
  await srv?.stop();
}

/**
 * One browser (its own process and profile) with one page.
 * `denyMedia`: camera and microphone are refused, as when the user clicks "Block": no fake-UI flag and no
 * permission granted, so getUserMedia rejects with NotAllowedError.
 * `locale`: the browser's language (navigator.languages, Accept-Language); English (en-US) unless given, so
 * that tests reading the app's text read its English catalogue.
 * `executable`: another program to start instead of Chromium (networks.test.js starts it in a namespace);
 * `secureOrigin`: an http origin other than loopback to treat as secure (getUserMedia needs one).
 * `ignoreCertErrors`: accept any certificate (a server started with `tls`).
 * @param {{ width?: number, height?: number, denyMedia?: boolean, locale?: string, executable?: string, secureOrigin?: string, ignoreCertErrors?: boolean }} [opts]
 */
export async function openBrowser(opts = {}) {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  // Without a media permission Chromium hides host addresses behind mDNS names, which cannot be resolved in
  // a loopback-only namespace (it then gathers no candidate at all): show them, as a granted page would.
  const args = opts.denyMedia
    ? [...FLAGS.filter((f) => f !== '--use-fake-ui-for-media-stream'), '--disable-features=WebRtcHideLocalIpsWithMdns']
    : [...FLAGS];
  if (opts.secureOrigin) args.push(`--unsafely-treat-insecure-origin-as-secure=${opts.secureOrigin}`);
  // For a server's self-signed certificate: the page's, and (the point of networks.test.js's TURN/TLS case)
  // WebRTC's TURN-over-TLS connections, which the network service verifies with the same verifier.
  if (opts.ignoreCertErrors) args.push('--ignore-certificate-errors');
  const browser = await chromium.launch({ executablePath: opts.executable || CHROMIUM, headless: true, args });
  const context = await browser.newContext({ viewport: { width: opts.width || 1280, height: opts.height || 720 }, locale: opts.locale || 'en-US' });
  const perms = opts.denyMedia ? ['clipboard-read', 'clipboard-write'] : ['camera', 'microphone', 'clipboard-read', 'clipboard-write'];
  await context.grantPermissions(perms).catch(() => {});
  const page = await context.newPage();
  await page.addInitScript(INIT);
  /** @type {string[]} */
  const console = [];
  page.on('console', (m) => { console.push(`${m.type()}: ${m.text()}${m.type() === 'error' ? ` (${m.location().url})` : ''}`); });
  page.on('pageerror', (e) => { console.push(`pageerror: ${e.message}`); });
  return { browser, context, page, console, close: () => browser.close().catch(() => {}) };
}

/**
 * Opens the meeting link and waits until joined.
 * @param {import('playwright-core').Page} page @param {string} url @param {string} room @param {string} name
 * @param {string} [extra] more query parameters, e.g. `&cam=0`
 */
export async function joinByLink(page, url, room, name, extra = '') {
  await page.goto(`${url}/r/${room}?name=${encodeURIComponent(name)}&autojoin=1${extra}`);
  await page.waitForFunction(() => /** @type {any} */ (window).convene?.state === 'connected', null, { timeout: 15_000 });
  return page.evaluate(() => /** @type {any} */ (window).convene.participantId);
}

/**
 * @typedef {object} Inbound
 * @property {string} mid
 * @property {'audio'|'video'} kind
 * @property {string | undefined} participantId
 * @property {string | undefined} source
 * @property {number} framesDecoded
 * @property {number} bytesReceived
 * @property {number} packetsReceived
 * @property {number} frameWidth
 */

/**
 * Inbound RTP statistics of the page's live peer connections, with the sender each mid carries.
 * @param {import('playwright-core').Page} page
 * @returns {Promise<Inbound[]>}
 */
export function inbound(page) {
  return page.evaluate(async () => {
    const w = /** @type {any} */ (window);
    /** @type {any[]} */
    const out = [];
    for (const pc of /** @type {RTCPeerConnection[]} */ (w.__pcs || [])) {
      if (pc.connectionState === 'closed') continue;
      const stats = await pc.getStats();
      stats.forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        const rt = w.convene?.remoteTracks?.get(s.mid);
        out.push({
          mid: s.mid, kind: s.kind, participantId: rt?.participantId, source: rt?.source,
          framesDecoded: s.framesDecoded || 0, bytesReceived: s.bytesReceived || 0,
          packetsReceived: s.packetsReceived || 0, frameWidth: s.frameWidth || 0,
        });
      });
    }
    return out;
  });
}

/**
 * Total decoded video frames / received audio bytes per (participant, source).
 * @param {import('playwright-core').Page} page
 */
export async function mediaFrom(page) {
  /** @type {Record<string, {frames: number, audioBytes: number, width: number}>} */
  const by = {};
  for (const s of await inbound(page)) {
    if (!s.participantId) continue;
    const key = `${s.participantId}:${s.kind === 'audio' ? (s.source === 'screen_audio' ? 'screen_audio' : 'microphone') : s.source}`;
    const e = by[key] || (by[key] = { frames: 0, audioBytes: 0, width: 0 });
    e.frames += s.framesDecoded;
    e.audioBytes += s.bytesReceived * (s.kind === 'audio' ? 1 : 0);
    e.width = Math.max(e.width, s.frameWidth);
  }
  return by;
}

/**
 * Waits until `check(before, after)` holds for two samples `gapMs` apart (retrying until the timeout).
 * @param {import('playwright-core').Page} page
 * @param {(a: Awaited<ReturnType<typeof mediaFrom>>, b: Awaited<ReturnType<typeof mediaFrom>>) => boolean} check
 * @param {{ gapMs?: number, timeoutMs?: number }} [o]
 */
export async function waitMedia(page, check, o = {}) {
  const deadline = Date.now() + (o.timeoutMs || 20_000);
  let a = await mediaFrom(page);
  for (;;) {
    await sleep(o.gapMs || 1500);
    const b = await mediaFrom(page);
    if (check(a, b)) return { a, b };
    if (Date.now() > deadline) return null;
    a = b;
  }
}

/**
 * The publisher's side: outbound video RTP statistics by rid (`''` without simulcast) and whether the camera
 * sender's encoding for that rid is active.
 * @param {import('playwright-core').Page} page
 * @returns {Promise<Record<string, { bytesSent: number, framesEncoded: number, frameWidth: number, active: boolean }>>}
 */
export function outboundCamera(page) {
  return page.evaluate(async () => {
    const c = /** @type {any} */ (window).convene;
    const sender = /** @type {RTCRtpSender} */ (c._peer.tx.camera.sender);
    /** @type {Record<string, any>} */
    const out = {};
    for (const e of sender.getParameters().encodings) out[e.rid || ''] = { bytesSent: 0, framesEncoded: 0, frameWidth: 0, active: e.active !== false };
    const stats = await sender.getStats();
    stats.forEach((s) => {
      if (s.type !== 'outbound-rtp' || s.kind !== 'video') return;
      const o = out[s.rid || ''] || (out[s.rid || ''] = { active: true });
      Object.assign(o, { bytesSent: s.bytesSent || 0, framesEncoded: s.framesEncoded || 0, frameWidth: s.frameWidth || 0 });
    });
    return out;
  });
}

/**
 * Shows `pid`'s camera tile on `page` at a fixed size the app's layout cannot undo: `small` 120×68 CSS pixels
 * (the lowest layer fits), `large` 1200×675 (only the full layer fits), or `null` for the app's own layout.
 * @param {import('playwright-core').Page} page @param {string} pid @param {'small'|'large'|null} size
 */
export function tileSize(page, pid, size) {
  return page.evaluate(([p, sz]) => {
    // A constructed style sheet: the page's Content-Security-Policy refuses an inline <style>.
    const win = /** @type {any} */ (window);
    if (!win.__testSize) {
      win.__testSize = new CSSStyleSheet();
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, win.__testSize];
    }
    const [w, h] = sz === 'small' ? [120, 68] : [1200, 675];
    win.__testSize.replaceSync(sz ? `.tile[data-participant-id="${p}"][data-source="camera"] { width: ${w}px !important; height: ${h}px !important; z-index: 1; }` : '');
  }, /** @type {[string, 'small'|'large'|null]} */ ([pid, size]));
}

/** @param {import('playwright-core').Page} page @param {string} name */
export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

export { rmSync };
