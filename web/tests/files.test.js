// End-to-end: a participant shares a 5 MiB file by dropping it on the meeting (an upload bar shows while it
// goes); the other sees it in the chat and downloads the same bytes (SHA-256); a late joiner finds it in the
// history and the Files tab; someone who was not in the meeting is refused it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startServer, openBrowser, joinByLink, teardown } from './helpers.js';

const SIZE = 5 * 1024 * 1024;

describe('shared files', { timeout: 120_000 }, () => {
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let srv;
  /** @type {Awaited<ReturnType<typeof openBrowser>>[]} */
  let browsers = [];

  before(async () => {
    srv = await startServer();
    browsers = await Promise.all([openBrowser(), openBrowser(), openBrowser(), openBrowser()]);
  });

  after(() => teardown(srv, browsers));

  it('a dropped file reaches everyone, downloads whole, stays in the history, and is refused to outsiders', async () => {
    const [A, B, C, D] = browsers;
    await joinByLink(A.page, srv.url, 'files-e2e', 'Ada', '&cam=0&mic=0');
    await joinByLink(B.page, srv.url, 'files-e2e', 'Bob', '&cam=0&mic=0');
    await B.page.click('#c-chat');

    // Ada drops a 5 MiB file (bytes made in the page) on the stage; its SHA-256 is kept to compare.
    const sent = await A.page.evaluate(async (size) => {
      const bytes = new Uint8Array(size);
      let x = 12345;
      for (let i = 0; i < size; i++) { x = (x * 1103515245 + 12345) >>> 0; bytes[i] = x >>> 24; }
      const file = new File([bytes], 'report 2026.bin', { type: 'text/html' });
      const dt = new DataTransfer();
      dt.items.add(file);
      const stage = /** @type {HTMLElement} */ (document.getElementById('stage'));
      stage.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      const hint = !(/** @type {HTMLElement} */ (document.getElementById('drop-hint')).hidden);
      stage.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      const bar = !!document.querySelector('#uploads li.upload progress');
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
      return { hint, bar, sha: [...digest].map((b) => b.toString(16).padStart(2, '0')).join('') };
    }, SIZE);
    assert.ok(sent.hint, 'dragging files over the meeting says where to drop them');
    assert.ok(sent.bar, 'an upload bar shows while the file goes');

    // Bob sees it in the chat, with who shared it and its size, and downloads it.
    const entry = await B.page.waitForSelector('#chat-list li.file', { timeout: 30_000 });
    const shown = await entry.evaluate((el) => ({
      name: el.querySelector('.file-name')?.textContent,
      who: el.querySelector('.meta strong')?.textContent,
      info: el.querySelector('.file-info')?.textContent,
      href: el.querySelector('a')?.getAttribute('href'),
    }));
    assert.equal(shown.name, 'report 2026.bin');
    assert.equal(shown.who, 'Ada');
    assert.match(shown.info || '', /5\.2\s*MB · application\/octet-stream/, 'size, and the type the server sniffed');
    await A.page.waitForSelector('#uploads li.upload', { state: 'detached' });
    const [download] = await Promise.all([B.page.waitForEvent('download'), entry.$eval('a', (a) => /** @type {HTMLElement} */ (a).click())]);
    assert.equal(download.suggestedFilename(), 'report 2026.bin');
    const got = readFileSync(/** @type {string} */ (await download.path()));
    assert.equal(got.length, SIZE);
    assert.equal(createHash('sha256').update(got).digest('hex'), sent.sha, 'the same bytes');

    // A late joiner finds it in the history, and in the Files tab.
    await joinByLink(C.page, srv.url, 'files-e2e', 'Cy', '&cam=0&mic=0');
    await C.page.click('#c-chat');
    await C.page.waitForSelector('#chat-list li.file .file-name >> text=report 2026.bin');
    await C.page.click('#tab-files');
    await C.page.waitForSelector('#files-list li.file .file-name >> text=report 2026.bin');

    // Someone who was not in the meeting: refused without a token, and with their own meeting's token.
    const fileId = /** @type {string} */ (new URL(/** @type {string} */ (shown.href), srv.url).pathname.split('/').pop());
    const bare = await fetch(`${srv.url}/api/v1/files/${fileId}`);
    assert.equal(bare.status, 401);
    await joinByLink(D.page, srv.url, 'files-elsewhere', 'Dee', '&cam=0&mic=0');
    const outsider = await D.page.evaluate(async (id) => {
      const r = await fetch(/** @type {any} */ (window).convene.fileUrl(id));
      return r.status;
    }, fileId);
    assert.equal(outsider, 404, "another meeting's token does not open this meeting's file");
  });
});
