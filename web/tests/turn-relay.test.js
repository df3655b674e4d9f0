// Issue 26 §1: the server's own TURN server carries media when nothing else may. Both pages force
// `iceTransportPolicy: 'relay'` on every peer connection (as a network that lets only the TURN port
// through would), so media flows only if the embedded TURN server relays it to the server's media port.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, joinByLink, waitMedia, mediaFrom, teardown } from './helpers.js';

const ROOM = 'e2e-turn-relay';

/** Every RTCPeerConnection the page makes gathers relayed candidates only. @param {import('playwright-core').Page} page */
function relayOnly(page) {
  return page.addInitScript(() => {
    const Orig = window.RTCPeerConnection;
    const force = (/** @type {RTCConfiguration | undefined} */ c) => ({ ...(c || {}), iceTransportPolicy: /** @type {const} */ ('relay') });
    class RelayOnly extends Orig {
      /** @param {RTCConfiguration} [c] */
      constructor(c) { super(force(c)); }
      /** @param {RTCConfiguration} [c] */
      setConfiguration(c) { return super.setConfiguration(force(c)); }
    }
    window.RTCPeerConnection = RelayOnly;
  });
}

/** The local candidate types of the page's selected candidate pairs. @param {import('playwright-core').Page} page */
function selectedLocalTypes(page) {
  return page.evaluate(async () => {
    /** @type {string[]} */
    const out = [];
    for (const pc of /** @type {RTCPeerConnection[]} */ (/** @type {any} */ (window).__pcs || [])) {
      if (pc.connectionState === 'closed') continue;
      const stats = await pc.getStats();
      stats.forEach((s) => {
        if (s.type !== 'transport' || !s.selectedCandidatePairId) return;
        const pair = stats.get(s.selectedCandidatePairId);
        const local = pair && stats.get(pair.localCandidateId);
        if (local) out.push(`${local.candidateType}/${local.relayProtocol || local.protocol}`);
      });
    }
    return out;
  });
}

describe('media through the embedded TURN server', { timeout: 120_000 }, () => {
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let srv;
  /** @type {Awaited<ReturnType<typeof openBrowser>>} */ let A;
  /** @type {Awaited<ReturnType<typeof openBrowser>>} */ let B;

  before(async () => {
    srv = await startServer(['turn.enabled=true', 'turn.listen_port=0']);
    [A, B] = await Promise.all([openBrowser(), openBrowser()]);
    await Promise.all([relayOnly(A.page), relayOnly(B.page)]);
  });

  after(() => teardown(srv, [A, B]));

  it('26. with relayed candidates only, audio and video flow both ways through TURN', async () => {
    const idA = await joinByLink(A.page, srv.url, ROOM, 'Alice');
    const idB = await joinByLink(B.page, srv.url, ROOM, 'Bob');
    const servers = await B.page.evaluate(() => /** @type {any} */ (window).convene.iceServers);
    const turn = servers.find((/** @type {any} */ s) => s.urls.some((/** @type {string} */ u) => u.startsWith('turn:')));
    assert.ok(turn && turn.username.endsWith(`:${idB}`), `a TURN server with Bob's own credential: ${JSON.stringify(servers)}`);
    const flows = await waitMedia(A.page, (x, y) => (y[`${idB}:camera`]?.frames ?? 0) > (x[`${idB}:camera`]?.frames ?? 0) + 5
      && (y[`${idB}:microphone`]?.audioBytes ?? 0) > (x[`${idB}:microphone`]?.audioBytes ?? 0), { timeoutMs: 30_000 });
    assert.ok(flows, `Alice receives Bob: ${JSON.stringify(await mediaFrom(A.page))}\n${srv.log().slice(-3000)}`);
    const back = await waitMedia(B.page, (x, y) => (y[`${idA}:camera`]?.frames ?? 0) > (x[`${idA}:camera`]?.frames ?? 0) + 5);
    assert.ok(back, `Bob receives Alice: ${JSON.stringify(await mediaFrom(B.page))}`);
    for (const [name, page] of /** @type {const} */ ([['Alice', A.page], ['Bob', B.page]])) {
      const types = await selectedLocalTypes(page);
      assert.ok(types.length > 0 && types.every((t) => t.startsWith('relay/')), `${name}'s media goes through TURN: ${types}`);
    }
  });
});
