// End-to-end recording in real Chromium: a planned room with `record_on_connect`; the page before
// joining says the meeting is being recorded; two browsers in its meeting both see the "Recording" mark; the host stops the recording from the host menu and both see
// it go. The track files then decode with ffmpeg without an error and last about as long as the meeting;
// a composition made through REST has one video and one audio stream of the expected length.
// Needs ffmpeg and ffprobe (scripts/test-web.sh installs them).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, openBrowser, teardown, joinByLink, until, sleep } from './helpers.js';

/** @typedef {Awaited<ReturnType<typeof openBrowser>>} B */

const ROOM = 'recorded-standup';
/** How long both are in the meeting together, recorded. */
const TOGETHER_MS = 8_000;

/** Runs a tool to its end; its exit status and output. @param {string} cmd @param {string[]} args */
function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw new Error(`${cmd} must be installed (scripts/test-web.sh installs it): ${r.error.message}`);
  return r;
}

/** ffprobe's view of a file. @param {string} file */
function probe(file) {
  const r = run('ffprobe', ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', file]);
  assert.equal(r.status, 0, `ffprobe ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe('recording', { timeout: 180_000 }, () => {
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let srv;
  /** @type {B} */ let host;
  /** @type {B} */ let guest;
  const recDir = mkdtempSync(join(tmpdir(), 'convene-rec-'));

  before(async () => {
    srv = await startServer([`recording.dir=${recDir}`, 'rooms.empty_grace_secs=1']);
    host = await openBrowser();
    guest = await openBrowser();
    await host.page.goto(srv.url);
    const made = await host.page.evaluate(async (room) => {
      const post = (/** @type {string} */ path, /** @type {unknown} */ body) => fetch(path, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, body: await r.json() }));
      return [
        await post('/api/v1/auth/signup', { email: 'owner@example.org', password: 'a long password', display_name: 'Owner' }),
        await post('/api/v1/rooms', { unique_name: room, title: 'Standup', record_on_connect: true }),
      ];
    }, ROOM);
    assert.deepEqual(made.map((r) => r.status), [201, 201]);
    assert.equal(made[1].body.record_on_connect, true);
  });

  after(async () => {
    await teardown(srv, [host, guest]);
    rmSync(recDir, { recursive: true, force: true });
  });

  it('the plan form shows the room records on connect', async () => {
    const p = host.page;
    await p.goto(`${srv.url}/?view=mine`);
    const item = `#planned-list li[data-room="${ROOM}"]`;
    await p.waitForSelector(item, { timeout: 15_000 });
    assert.match(await p.textContent(`${item} .facts`) || '', /recorded/);
    await p.click(`${item} button:has-text("Edit")`);
    assert.equal(await p.isChecked('#p-record'), true);
  });

  it('records the meeting: both see it, the files decode, a composition is made', async () => {
    const hp = host.page;
    const gp = guest.page;
    const started = Date.now();
    await joinByLink(hp, srv.url, ROOM, 'Owner');
    // Before joining, the guest is told that the meeting is being recorded.
    await gp.goto(`${srv.url}/r/${ROOM}?name=Guest`);
    await gp.waitForSelector('#pre-recording:not([hidden])', { timeout: 15_000 });
    assert.match(await gp.textContent('#pre-recording') || '', /This meeting is being recorded/);
    await joinByLink(gp, srv.url, ROOM, 'Guest');
    // Both learn it: the mark in the top bar and the SDK's state.
    for (const p of [hp, gp]) {
      await p.waitForSelector('#m-recording:not([hidden])', { timeout: 15_000 });
      assert.match(await p.textContent('#m-recording') || '', /Recording/);
      assert.ok(await p.evaluate(() => /** @type {any} */ (window).convene.recording?.since > 0));
    }
    await sleep(TOGETHER_MS);

    // The host stops it from the host menu; both see the mark go and are told.
    await hp.click('#c-host');
    await hp.waitForSelector('#host-menu [data-action="record"]');
    assert.equal(await hp.textContent('#host-menu [data-action="record"]'), 'Stop recording');
    await hp.click('#host-menu [data-action="record"]');
    for (const p of [hp, gp]) {
      await p.waitForSelector('#m-recording[hidden]', { state: 'attached', timeout: 15_000 });
      assert.match(await p.textContent('#rec-live') || '', /Recording stopped/);
    }
    const recordedMs = Date.now() - started;
    // The guest may not start a recording: the menu is not theirs.
    assert.equal(await gp.isVisible('#c-host'), false);

    // The recording's folder: its manifest completes once every file is finalised.
    const folders = await until(async () => {
      const dirs = existsSync(recDir) ? readdirSync(recDir) : [];
      const done = dirs.filter((d) => {
        const m = join(recDir, d, 'manifest.json');
        return existsSync(m) && JSON.parse(readFileSync(m, 'utf8')).state === 'complete';
      });
      return done.length ? done : null;
    }, 20_000);
    assert.ok(folders, `no complete recording in ${recDir}: ${srv.log().slice(-2000)}`);
    assert.equal(folders.length, 1);
    const dir = join(recDir, folders[0]);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    const sources = manifest.tracks.map((/** @type {any} */ t) => `${t.participant_name}:${t.source}`).sort();
    assert.deepEqual(sources, ['Guest:camera', 'Guest:microphone', 'Owner:camera', 'Owner:microphone']);
    const meetingSecs = (manifest.ended_at.meeting - manifest.started_at.meeting) / 1000;
    assert.ok(Math.abs(meetingSecs - recordedMs / 1000) <= 2, `recorded ${meetingSecs} s of ${recordedMs} ms`);
    for (const t of manifest.tracks) {
      const file = join(dir, t.file);
      // Decodes from start to end without a word from ffmpeg, and its frames' timestamps strictly
      // increase in the file's own unit (ms). `-enc_time_base -1` keeps that unit: by default the
      // null output counts in frames of the guessed rate (1/30 s), where two frames a few ms apart
      // (a layer switch shows the same instant at its new layer) would collide without being wrong.
      const dec = run('ffmpeg', ['-v', 'error', '-i', file, '-enc_time_base', '-1', '-f', 'null', '-']);
      assert.equal(dec.status, 0, `${t.file}: ${dec.stderr}`);
      assert.equal(dec.stderr.trim(), '', `${t.file}: ${dec.stderr}`);
      // The file's timestamps are on the meeting clock: its length is its track's time in the meeting.
      const duration = Number(probe(file).format.duration);
      const expected = (t.end - t.start) / 1000 + t.start / 1000;
      assert.ok(Math.abs(duration - expected) <= 2, `${t.file}: ${duration} s, expected about ${expected} s`);
      if (t.participant_name === 'Owner') {
        assert.ok(Math.abs(duration - meetingSecs) <= 2, `${t.file}: ${duration} s of a ${meetingSecs} s meeting`);
      }
    }

    // Both leave; the owner composes the meeting through REST and downloads the video.
    await gp.evaluate(() => /** @type {any} */ (window).convene.leave());
    await hp.evaluate(() => /** @type {any} */ (window).convene.leave());
    await hp.goto(srv.url);
    const composed = await hp.evaluate(async (room) => {
      const { meetings } = await (await fetch(`/api/v1/meetings?room=${room}`)).json();
      const base = `/api/v1/meetings/${meetings[0].id}/compositions`;
      const asked = await fetch(base, { method: 'POST' });
      if (asked.status !== 202) return { error: `${asked.status} ${await asked.text()}` };
      let c = await asked.json();
      const deadline = Date.now() + 90_000;
      while (c.state !== 'done' && c.state !== 'failed' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 300));
        c = await (await fetch(`${base}/${c.id}`)).json();
      }
      if (c.state !== 'done') return { error: JSON.stringify(c) };
      const bytes = new Uint8Array(await (await fetch(c.download)).arrayBuffer());
      let bin = '';
      for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return { composition: c, base64: btoa(bin) };
    }, ROOM);
    assert.ok(!composed.error, composed.error);
    const video = join(recDir, 'composed.mp4');
    writeFileSync(video, Buffer.from(/** @type {string} */ (composed.base64), 'base64'));
    const info = probe(video);
    const kinds = info.streams.map((/** @type {any} */ s) => s.codec_type).sort();
    assert.deepEqual(kinds, ['audio', 'video']);
    const length = Number(info.format.duration);
    const expected = /** @type {any} */ (composed.composition).duration_ms / 1000;
    assert.ok(Math.abs(length - expected) <= 0.5, `composition ${length} s, expected ${expected} s`);
    assert.ok(Math.abs(length - meetingSecs) <= 2, `composition ${length} s of a ${meetingSecs} s meeting`);
  });
});
