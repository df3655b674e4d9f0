// End-to-end: roles. A page joining with an access token whose publish grant is false is a viewer: it
// sends no media at all (no outbound-rtp) and sees and hears the others. A participant the host makes a
// viewer stops sending (its next offer sends nothing, and nothing is refused), and sends again once made a
// participant. In an ad-hoc meeting the next participant becomes host when the host leaves; in a planned
// one a co-host does, and the owner is host again on coming back.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, openBrowser, joinByLink, mediaFrom, waitMedia, teardown, sleep } from './helpers.js';

const ROOM = 'e2e-roles';
const PLANNED = 'e2e-owned';
const recDir = mkdtempSync(join(tmpdir(), 'convene-roles-rec-'));
const SECRET = randomBytes(24).toString('hex'); // 48 bytes: the server wants at least 32

/** An access token as a developer's backend signs one (HS256, key `k1`). @param {Record<string, unknown>} claims */
function accessToken(claims) {
  const part = (/** @type {unknown} */ x) => Buffer.from(JSON.stringify(x)).toString('base64url');
  const signed = `${part({ alg: 'HS256', typ: 'JWT', kid: 'k1' })}.${part(claims)}`;
  return `${signed}.${createHmac('sha256', SECRET).update(signed).digest('base64url')}`;
}

/** @typedef {Awaited<ReturnType<typeof openBrowser>>} B */

/** Outbound RTP of the page's live peer connections: how many entries, and their bytes. @param {B} b */
const outbound = (b) => b.page.evaluate(async () => {
  let entries = 0;
  let bytes = 0;
  for (const pc of /** @type {RTCPeerConnection[]} */ (/** @type {any} */ (window).__pcs || [])) {
    if (pc.connectionState === 'closed') continue;
    (await pc.getStats()).forEach((s) => { if (s.type === 'outbound-rtp') { entries++; bytes += s.bytesSent || 0; } });
  }
  return { entries, bytes };
});

/** Keeps the SDK's error events (`window.__errors`). @param {B} b */
const keepErrors = (b) => b.page.evaluate(() => {
  const w = /** @type {any} */ (window);
  w.__errors = [];
  w.convene.on('error', (/** @type {any} */ e) => w.__errors.push(e.detail));
});

/** @param {B} b @param {string} role */
const roleIs = (b, role) => b.page.waitForFunction((r) => /** @type {any} */ (window).convene?.me?.role === r, role, { timeout: 15_000 });

describe('roles', { timeout: 300_000 }, () => {
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let srv;
  /** @type {B} */ let P;
  /** @type {B} */ let Q;
  /** @type {B} */ let V;
  /** @type {Record<string, string>} */
  const id = {};

  before(async () => {
    srv = await startServer([`auth.token_keys=k1:${SECRET}`, `recording.dir=${recDir}`]);
    [P, Q, V] = await Promise.all([openBrowser(), openBrowser(), openBrowser()]);
  });

  after(async () => {
    await teardown(srv, [P, Q, V]);
    rmSync(recDir, { recursive: true, force: true });
  });

  it('1. a viewer (a token that grants no publishing) sends no media and sees and hears the others', async () => {
    id.P = await joinByLink(P.page, srv.url, ROOM, 'Pat');
    id.Q = await joinByLink(Q.page, srv.url, ROOM, 'Quinn', '&cam=0');
    const token = accessToken({ sub: 'viewer-1', name: 'Vee', room: ROOM, exp: Math.floor(Date.now() / 1000) + 3600, grants: { publish: false } });
    await V.page.goto(`${srv.url}/r/${ROOM}?name=Someone&autojoin=1#token=${token}`);
    await V.page.waitForFunction(() => /** @type {any} */ (window).convene?.state === 'connected', null, { timeout: 20_000 });
    id.V = await V.page.evaluate(() => /** @type {any} */ (window).convene.participantId);
    assert.equal(await V.page.evaluate(() => /** @type {any} */ (window).convene.me.role), 'viewer');
    await keepErrors(V);
    const ok = await waitMedia(V.page, (x, y) => (y[`${id.P}:camera`]?.frames ?? 0) > (x[`${id.P}:camera`]?.frames ?? 0) + 3
      && (y[`${id.Q}:microphone`]?.audioBytes ?? 0) > (x[`${id.Q}:microphone`]?.audioBytes ?? 0), { timeoutMs: 30_000 });
    assert.ok(ok, `the viewer does not receive the others: ${JSON.stringify(await mediaFrom(V.page))}`);
    assert.deepEqual(await outbound(V), { entries: 0, bytes: 0 });
    const local = await V.page.evaluate(() => {
      const c = /** @type {any} */ (window).convene;
      return { tracks: Object.values(c.localTracks).filter(Boolean).length, dirs: c.peerConnection.getTransceivers().filter((/** @type {RTCRtpTransceiver} */ t) => t.currentDirection?.includes('send')).length };
    });
    assert.deepEqual(local, { tracks: 0, dirs: 0 }, 'the viewer keeps a device open or an m-line that sends');
    for (const c of ['#c-mic', '#c-cam', '#c-screen']) assert.ok(await V.page.isHidden(c), `${c} shows for a viewer`);
    // The others see the viewer, named by the token, as a viewer.
    await P.page.click('#c-people');
    await P.page.waitForSelector(`#people-list li[data-participant-id="${id.V}"][data-role="viewer"]`);
    assert.match(await P.page.textContent(`#people-list li[data-participant-id="${id.V}"]`) || '', /Vee.*Viewer/);
    assert.deepEqual(await V.page.evaluate(() => /** @type {any} */ (window).__errors), []);
  });

  it('1b. a token that grants only the microphone sends it and no camera, and is refused nothing', async () => {
    const W = await openBrowser();
    try {
      const token = accessToken({ sub: 'mic-only', name: 'Mo', room: ROOM, exp: Math.floor(Date.now() / 1000) + 3600, grants: { publish: ['microphone'], record: true } });
      await W.page.goto(`${srv.url}/r/${ROOM}?name=Someone&autojoin=1#token=${token}`);
      await W.page.waitForFunction(() => /** @type {any} */ (window).convene?.state === 'connected', null, { timeout: 20_000 });
      await keepErrors(W);
      const mo = await W.page.evaluate(() => /** @type {any} */ (window).convene.participantId);
      const heard = await waitMedia(P.page, (x, y) => (y[`${mo}:microphone`]?.audioBytes ?? 0) > (x[`${mo}:microphone`]?.audioBytes ?? 0), { timeoutMs: 30_000 });
      assert.ok(heard, `Pat does not hear Mo: ${JSON.stringify(await mediaFrom(P.page))}`);
      const state = await W.page.evaluate(() => {
        const c = /** @type {any} */ (window).convene;
        const sending = c.peerConnection.getTransceivers()
          .filter((/** @type {RTCRtpTransceiver} */ t) => t.currentDirection?.includes('send'))
          .map((/** @type {RTCRtpTransceiver} */ t) => t.sender.track?.kind);
        return { sending, camera: !!c.localTracks.camera, sources: c.publishSources };
      });
      assert.deepEqual(state, { sending: ['audio'], camera: false, sources: ['microphone'] });
      const refusal = await W.page.evaluate(async () => {
        try { await /** @type {any} */ (window).convene.startScreenShare(); return null; } catch (e) { return /** @type {any} */ (e).code; }
      });
      assert.equal(refusal, 'forbidden', 'a screen share the token does not grant is refused before anything is sent');
      await sleep(500);
      assert.deepEqual(await W.page.evaluate(() => /** @type {any} */ (window).__errors), [], 'no offer was refused');

      // The token's `record` grant, without a host's role: a menu of that one item, which records the
      // meeting for everyone and stops it again.
      assert.equal(await W.page.evaluate(() => /** @type {any} */ (window).convene.mayRecord), true);
      const menu = async () => {
        await W.page.click('#c-host');
        await W.page.waitForSelector('#host-menu [data-action="record"]');
        return W.page.$$eval('#host-menu [data-action]', (els) => els.map((e) => e.textContent));
      };
      assert.deepEqual(await menu(), ['Start recording']);
      await W.page.click('#host-menu [data-action="record"]');
      for (const p of [W.page, P.page]) await p.waitForSelector('#m-recording:not([hidden])', { timeout: 15_000 });
      assert.deepEqual(await menu(), ['Stop recording']);
      await W.page.click('#host-menu [data-action="record"]');
      for (const p of [W.page, P.page]) await p.waitForSelector('#m-recording[hidden]', { state: 'attached', timeout: 15_000 });
    } finally {
      await W.close();
    }
  });

  it('2. made a viewer, a participant stops sending; made a participant again, it may unmute and is heard', async () => {
    await keepErrors(Q);
    const heard = async (/** @type {boolean} */ flowing) => {
      const key = `${id.Q}:microphone`;
      const ok = await waitMedia(P.page, (x, y) => {
        const grew = (y[key]?.audioBytes ?? 0) - (x[key]?.audioBytes ?? 0);
        return flowing ? grew > 1000 : grew === 0;
      }, { timeoutMs: 20_000 });
      assert.ok(ok, `Quinn's audio on Pat's page should be ${flowing ? 'flowing' : 'stopped'}`);
    };
    await heard(true);
    await P.page.click(`#people-list li[data-participant-id="${id.Q}"] .person-menu-btn`);
    await P.page.click('#person-menu [data-action="role-viewer"]');
    await roleIs(Q, 'viewer');
    await Q.page.waitForFunction(() => /You are now a viewer/.test(document.getElementById('toast')?.textContent || ''));
    // Its m-lines send nothing once renegotiated, and nothing goes out any more.
    await Q.page.waitForFunction(() => /** @type {any} */ (window).convene.peerConnection.getTransceivers()
      .every((/** @type {RTCRtpTransceiver} */ t) => !t.currentDirection?.includes('send')), null, { timeout: 15_000 });
    const a = await outbound(Q);
    await sleep(1500);
    const b = await outbound(Q);
    assert.equal(b.bytes, a.bytes, 'a viewer kept sending');
    assert.equal(await Q.page.evaluate(() => /** @type {any} */ (window).convene.localTracks.microphone), null);
    assert.ok(await Q.page.isHidden('#c-mic'));
    // And the others are told: its microphone shows muted.
    await P.page.waitForSelector(`#people-list li[data-participant-id="${id.Q}"][data-mic-muted="true"]`, { timeout: 10_000 });
    await heard(false);

    await P.page.click(`#people-list li[data-participant-id="${id.Q}"] .person-menu-btn`);
    await P.page.click('#person-menu [data-action="role-participant"]');
    await roleIs(Q, 'participant');
    await Q.page.waitForSelector('#c-mic:not([hidden])');
    await Q.page.click('#c-mic');
    await Q.page.waitForFunction(() => /** @type {any} */ (window).convene.muted.mic === false);
    await heard(true);
    const refused = await Q.page.evaluate(() => /** @type {any} */ (window).__errors.filter((/** @type {any} */ e) => e.code === 'forbidden'));
    assert.deepEqual(refused, [], 'an offer was refused');
  });

  it('3. ad-hoc: when the host leaves, the longest-present participant (not the viewer) hosts', async () => {
    await P.page.click('#c-leave');
    await roleIs(Q, 'host');
    await Q.page.waitForSelector('#c-host:not([hidden])');
    await Q.page.waitForFunction(() => /You are now the host/.test(document.getElementById('toast')?.textContent || ''));
    assert.equal(await V.page.evaluate(() => /** @type {any} */ (window).convene.me.role), 'viewer');
    assert.ok(await V.page.isHidden('#c-host'));
    // The new host's menus work: Quinn may act on the viewer.
    await Q.page.click('#c-people');
    await Q.page.waitForSelector(`#people-list li[data-participant-id="${id.V}"] .person-menu-btn`);
  });

  it('4. planned: a co-host hosts while the owner is away, and the owner is host again on coming back', async () => {
    // Pat's browser is the owner's, Quinn's the co-host's, Vee's a guest's.
    const signup = (/** @type {B} */ b, /** @type {string} */ email, /** @type {string} */ name) => b.page.evaluate(async (body) => (await fetch('/api/v1/auth/signup', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    })).status, { email, password: 'a long password', display_name: name });
    await P.page.goto(srv.url);
    assert.equal(await signup(P, 'owner@example.org', 'Olga'), 201);
    const planned = await P.page.evaluate(async (room) => (await fetch('/api/v1/rooms', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ unique_name: room, co_hosts: ['kim@example.org'] }),
    })).json(), PLANNED);
    assert.deepEqual(planned.co_hosts, ['kim@example.org']);
    await Q.page.goto(srv.url);
    assert.equal(await signup(Q, 'kim@example.org', 'Kim'), 201);

    await joinByLink(P.page, srv.url, PLANNED, 'Olga', '&cam=0&mic=0');
    await joinByLink(Q.page, srv.url, PLANNED, 'Kim', '&cam=0&mic=0');
    await joinByLink(V.page, srv.url, PLANNED, 'Gus', '&cam=0&mic=0');
    assert.equal(await P.page.evaluate(() => /** @type {any} */ (window).convene.me.role), 'host');
    await roleIs(Q, 'co_host');
    assert.equal(await V.page.evaluate(() => /** @type {any} */ (window).convene.me.role), 'participant');

    await P.page.click('#c-leave');
    await roleIs(Q, 'host');
    assert.equal(await V.page.evaluate(() => /** @type {any} */ (window).convene.me.role), 'participant');

    await joinByLink(P.page, srv.url, PLANNED, 'Olga', '&cam=0&mic=0');
    assert.equal(await P.page.evaluate(() => /** @type {any} */ (window).convene.me.role), 'host');
    await P.page.waitForSelector('#c-host:not([hidden])');
    await roleIs(Q, 'co_host');
    await Q.page.waitForFunction(() => /You are now a co-host/.test(document.getElementById('toast')?.textContent || ''));
    // A co-host's meeting menu has no "End meeting for all" (it may start and stop recording).
    await Q.page.click('#c-host');
    const items = await Q.page.$$eval('#host-menu [data-action]', (els) => els.map((e) => /** @type {HTMLElement} */ (e).dataset.action));
    assert.deepEqual(items, ['mute-all', 'record', 'lock', 'lobby']);
  });
});
