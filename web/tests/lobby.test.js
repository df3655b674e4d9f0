// End-to-end: the lobby of a planned meeting. A guest who comes before the owner waits and is told that
// nobody who can let them in is here yet, then that the host knows; the owner sees the waiting people with
// a count on the lobby button (and a chime for each newcomer), admits one, who enters the meeting, and
// turns the other away, who sees the "did not let you in" screen; ending the meeting ends a wait in the
// lobby too. Then, in "My meetings", the owner plans a
// meeting with a lobby, co-hosts and an empty-room timeout (out-of-range minutes refused), and reads the
// first meeting's moderation log.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, teardown, screenshot } from './helpers.js';

/** @typedef {Awaited<ReturnType<typeof openBrowser>>} B */

const ROOM = 'lobbied';

/** Counts the oscillators the page makes (the lobby's chime is made of them: WebAudio, no sound file). */
const COUNT_CHIMES = () => {
  const w = /** @type {any} */ (window);
  w.__oscillators = 0;
  const make = AudioContext.prototype.createOscillator;
  AudioContext.prototype.createOscillator = function () { w.__oscillators++; return make.call(this); };
};

describe('the lobby of a planned meeting', { timeout: 150_000 }, () => {
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let srv;
  /** @type {B} */ let owner;
  /** @type {B} */ let eve;
  /** @type {B} */ let mal;

  before(async () => {
    srv = await startServer();
    [owner, eve, mal] = await Promise.all([openBrowser(), openBrowser(), openBrowser()]);
    await owner.page.addInitScript(COUNT_CHIMES);
    // The owner signs up and plans the meeting with its lobby on, from a page of the server.
    await owner.page.goto(srv.url);
    const made = await owner.page.evaluate(async (room) => {
      const post = (/** @type {string} */ path, /** @type {unknown} */ body) => fetch(path, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, body: await r.json() }));
      return [
        await post('/api/v1/auth/signup', { email: 'owner@example.org', password: 'a long password', display_name: 'Owner' }),
        await post('/api/v1/rooms', { unique_name: room, title: 'Interviews', lobby: true }),
      ];
    }, ROOM);
    assert.deepEqual(made.map((r) => r.status), [201, 201]);
    assert.equal(made[1].body.lobby, true);
  });

  after(() => teardown(srv, [owner, eve, mal]));

  /** @param {B} b */
  const count = (b) => b.page.evaluate(() => {
    const badge = /** @type {HTMLElement} */ (document.getElementById('lobby-count'));
    return badge.hidden ? 0 : Number(badge.textContent);
  });

  it('a guest who comes first waits, told that nobody can let them in yet; then that the host knows', async () => {
    await eve.page.goto(`${srv.url}/r/${ROOM}?name=Eve&autojoin=1&cam=0&mic=0`);
    await eve.page.waitForSelector('#waiting:not([hidden])', { timeout: 20_000 });
    assert.match(await eve.page.textContent('#waiting h1') || '', /Waiting for the host to let you in/);
    await eve.page.waitForFunction(() => /Nobody who can let you in/.test(document.getElementById('waiting-text')?.textContent || ''));
    const sdk = await eve.page.evaluate(() => { const c = /** @type {any} */ (window).convene; return { inLobby: c.inLobby, state: c.state }; });
    assert.deepEqual(sdk, { inLobby: true, state: 'connecting' });
    await owner.page.goto(`${srv.url}/r/${ROOM}?name=Owner&autojoin=1&cam=0&mic=0`);
    await owner.page.waitForFunction(() => /** @type {any} */ (window).convene?.state === 'connected', null, { timeout: 20_000 });
    assert.equal(await owner.page.evaluate(() => /** @type {any} */ (window).convene.me.role), 'host');
    await eve.page.waitForFunction(() => /knows you are here/.test(document.getElementById('waiting-text')?.textContent || ''), null, { timeout: 10_000 });
    // The owner's joined brought who waits: the lobby button shows, with its count.
    await owner.page.waitForSelector('#c-lobby:not([hidden])');
    assert.equal(await count(owner), 1);
    assert.match(await owner.page.getAttribute('#c-lobby', 'aria-label') || '', /Lobby \(1 waiting\)/);
  });

  it('a newcomer chimes on the host\'s page and counts; Admit lets one in, Deny turns the other away', async () => {
    const chimes = await owner.page.evaluate(() => /** @type {any} */ (window).__oscillators);
    await mal.page.goto(`${srv.url}/r/${ROOM}?name=Mallory&autojoin=1&cam=0&mic=0`);
    await mal.page.waitForSelector('#waiting:not([hidden])', { timeout: 20_000 });
    await owner.page.waitForFunction(() => document.getElementById('lobby-count')?.textContent === '2', null, { timeout: 10_000 });
    assert.ok(await owner.page.evaluate((n) => /** @type {any} */ (window).__oscillators > n, chimes), 'no chime for the newcomer');
    await owner.page.waitForFunction(() => /Mallory is waiting in the lobby/.test(document.getElementById('toast')?.textContent || ''));

    await owner.page.click('#c-lobby');
    await owner.page.waitForSelector('#lobby-panel:not([hidden])');
    const rows = await owner.page.$$eval('#lobby-list li', (lis) => lis.map((li) => li.textContent));
    assert.equal(rows.length, 2);
    assert.ok(rows.every((r) => /Guest/.test(r || '')), `rows: ${rows}`);
    await screenshot(owner.page, 'lobby-panel');

    await owner.page.click('button[aria-label="Admit Eve"]');
    await eve.page.waitForFunction(() => /** @type {any} */ (window).convene?.state === 'connected', null, { timeout: 20_000 });
    await eve.page.waitForSelector('#meeting:not([hidden])');
    assert.equal(await eve.page.evaluate(() => /** @type {any} */ (window).convene.me.role), 'participant');
    const eveId = await eve.page.evaluate(() => /** @type {any} */ (window).convene.participantId);
    await owner.page.waitForSelector(`.tile[data-participant-id="${eveId}"]`, { timeout: 10_000 });
    await owner.page.waitForFunction(() => document.getElementById('lobby-count')?.textContent === '1');

    await owner.page.click('button[aria-label="Deny Mallory"]');
    await mal.page.waitForSelector('#ended:not([hidden])', { timeout: 10_000 });
    assert.match(await mal.page.textContent('#ended-title') || '', /did not let you in/);
    assert.equal(await mal.page.evaluate(() => /** @type {any} */ (window).convene.state), 'disconnected');
    await owner.page.waitForSelector('#lobby-count[hidden]', { state: 'attached' });
    assert.ok(await owner.page.isVisible('#lobby-empty'), 'the panel does not say that nobody waits');
    // Mallory never was in the meeting.
    const names = await owner.page.evaluate(() => [.../** @type {any} */ (window).convene.participants.values()].map((p) => p.display_name).sort());
    assert.deepEqual(names, ['Eve', 'Owner']);
  });

  it('ending the meeting ends the wait of whoever is still in the lobby', async () => {
    // Mallory, turned away, may knock again: a denial is no ban.
    await mal.page.goto(`${srv.url}/r/${ROOM}?name=Mallory&autojoin=1&cam=0&mic=0`);
    await mal.page.waitForSelector('#waiting:not([hidden])', { timeout: 20_000 });
    await owner.page.waitForFunction(() => document.getElementById('lobby-count')?.textContent === '1', null, { timeout: 10_000 });
    await owner.page.click('#c-host');
    await owner.page.click('#host-menu [data-action="end"]');
    await owner.page.click('#confirm-ok');
    for (const b of [mal, eve, owner]) {
      await b.page.waitForSelector('#ended:not([hidden])', { timeout: 10_000 });
      assert.equal(await b.page.textContent('#ended-title'), 'The meeting has ended');
    }
  });

  it('"My meetings": plans with lobby, co-hosts and a timeout (1 to 1440 minutes), and shows the moderation log', async () => {
    const o = owner.page;
    await o.goto(`${srv.url}/?view=mine`);
    await o.waitForSelector('#mine:not([hidden])');
    await o.fill('#p-title', 'Standup');
    await o.check('#p-lobby');
    await o.fill('#p-cohosts', 'kim@example.org, lee@example.org');
    for (const bad of ['0', '1441', '2.5']) {
      await o.fill('#p-timeout', bad);
      await o.click('#plan-submit');
      await o.waitForSelector('#plan-error:not([hidden])');
      assert.match(await o.textContent('#plan-error') || '', /whole number of minutes from 1 to 1440/, `timeout ${bad}`);
    }
    await o.fill('#p-timeout', '30');
    await o.click('#plan-submit');
    await o.waitForSelector('#plan-result:not([hidden])');
    const name = (await o.inputValue('#plan-link')).split('/r/')[1];
    const item = `#planned-list li[data-room="${name}"]`;
    await o.waitForSelector(item);
    const facts = await o.textContent(`${item} .facts`) || '';
    assert.match(facts, /lobby · co-hosts: kim@example.org, lee@example.org · ends after 30 min empty/);

    // Editing shows what was planned; an emptied timeout goes back to the server's default.
    await o.click(`${item} button`);
    assert.equal(await o.isChecked('#p-lobby'), true);
    assert.equal(await o.inputValue('#p-cohosts'), 'kim@example.org\nlee@example.org');
    assert.equal(await o.inputValue('#p-timeout'), '30');
    await o.fill('#p-timeout', '');
    await o.click('#plan-submit');
    await o.waitForFunction((sel) => !/ends after/.test(document.querySelector(`${sel} .facts`)?.textContent || 'ends after'), item);
    const stored = await o.evaluate(async (n) => (await (await fetch(`/api/v1/rooms/${n}`)).json()), name);
    assert.deepEqual([stored.lobby, stored.co_hosts, stored.empty_room_timeout ?? null], [true, ['kim@example.org', 'lee@example.org'], null]);

    // The lobby meeting's log: who was admitted and who turned away, by whom.
    const past = '#past-list li.past';
    await o.waitForSelector(`${past} [data-action="audit"]`);
    await o.click(`${past} [data-action="audit"]`);
    await o.waitForSelector(`${past} .audit li`);
    const lines = await o.$$eval(`${past} .audit li`, (lis) => lis.map((li) => li.textContent || ''));
    assert.ok(lines.some((l) => /Owner: admitted — Eve$/.test(l)), `log: ${lines.join(' | ')}`);
    assert.ok(lines.some((l) => /Owner: turned away — Mallory$/.test(l)), `log: ${lines.join(' | ')}`);
    assert.ok(/Owner: ended the meeting$/.test(lines.at(-1) || ''), `log: ${lines.join(' | ')}`);
    await screenshot(o, 'moderation-log');
  });
});
