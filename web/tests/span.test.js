// A meeting larger than one node, in real Chromium: two nodes of one cluster (a PostgreSQL and a redis-server of
// the test's own, see cluster.js), each holding at most one media session (`media.max_sessions=1`). One browser
// joins through each node: the meeting's node holds the first one's media, the second one's media goes to the
// other node, and the two nodes relay the meeting's media to each other over their sealed link. Each browser
// decodes the other's video and receives its audio.
// Run inside `unshare -n` with loopback up (scripts/test-web.sh does it).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, openBrowser, joinByLink, mediaFrom, waitMedia, screenshot, teardown, until } from './helpers.js';
import { startPostgres, startRedis } from './cluster.js';

/** @typedef {Awaited<ReturnType<typeof openBrowser>>} B */
/** @typedef {Awaited<ReturnType<typeof startServer>>} S */

/** A node's `/metrics` value of `name` (0 when absent). @param {string} url @param {string} name */
async function metric(url, name) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

describe('a meeting spanning two nodes', { timeout: 240_000 }, () => {
  /** @type {Awaited<ReturnType<typeof startPostgres>>} */ let pg;
  /** @type {Awaited<ReturnType<typeof startRedis>>} */ let redis;
  /** @type {S[]} */ const nodes = [];
  /** @type {B} */ let A;
  /** @type {B} */ let Bb;
  const dir = mkdtempSync(join(tmpdir(), 'convene-span-'));

  before(async () => {
    [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
    for (const i of [1, 2]) {
      // One after the other: the first makes the database's tables.
      nodes.push(await startServer([`cluster.redis_url=${redis.url}`, 'cluster.lease_secs=3',
        'database.heartbeat_secs=1', 'media.max_sessions=1', `cluster.node_id_file=${join(dir, `node${i}`)}`],
      { database: pg.url }));
    }
    [A, Bb] = await Promise.all([openBrowser(), openBrowser()]);
  });

  after(async () => {
    await teardown(nodes[1], [A, Bb]);
    await nodes[0]?.stop();
    await pg?.stop();
    redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a browser on each node decodes the other\'s video and receives its audio', async () => {
    const room = `span-${Date.now().toString(36)}`;
    const a = await joinByLink(A.page, nodes[0].url, room, 'Alice');
    // Each node has learned of the other from the heartbeats by now (a node without one refuses the join).
    const b = await joinByLink(Bb.page, nodes[1].url, room, 'Bob');
    for (const [page, other] of /** @type {const} */ ([[A.page, b], [Bb.page, a]])) {
      const ok = await waitMedia(page, (x, y) => (y[`${other}:camera`]?.frames ?? 0) > (x[`${other}:camera`]?.frames ?? 0)
        && (y[`${other}:microphone`]?.audioBytes ?? 0) > (x[`${other}:microphone`]?.audioBytes ?? 0));
      assert.ok(ok, `media not flowing: ${JSON.stringify(await mediaFrom(page))}`);
    }
    // One node placed a session on the other, which holds it: the meeting spans the two.
    const placed = await Promise.all(nodes.map((n) => metric(n.url, 'convene_span_sessions{role="placed_elsewhere"}')));
    const held = await Promise.all(nodes.map((n) => metric(n.url, 'convene_span_sessions{role="held_here"}')));
    assert.deepEqual([...placed].sort(), [0, 1], `placed elsewhere: ${placed}`);
    assert.deepEqual(held, [...placed].reverse(), `held here: ${held}`);
    assert.ok(await until(async () => (await metric(nodes[0].url, 'convene_span_links')) >= 1, 5000, 200));
    await A.page.waitForSelector(`.tile.has-video[data-participant-id="${b}"]`);
    await Bb.page.waitForSelector(`.tile.has-video[data-participant-id="${a}"]`);
    await screenshot(A.page, 'meeting-spanning-two-nodes');
  });
});
