// End-to-end: a client written from docs/protocol.md alone (raw WebSocket and RTCPeerConnection, no SDK)
// that publishes nothing. Both first offers the document allows work: a data channel only, and an inactive
// audio m-line. It trickles its candidates with `sdp_mid` and ends them with an empty candidate, receives
// the others' media, gets no error, and nothing of it (closing its data channel included) logs an ERROR on
// the server.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, joinByLink, until, sleep, teardown } from './helpers.js';

const ROOM = 'e2e-raw';

/**
 * Runs in the page: joins `room` over a raw WebSocket and negotiates as docs/protocol.md says, keeping its
 * state in `window.__raw`.
 * @param {{ room: string, first: 'data_channel' | 'inactive_audio' }} o
 */
function rawClient(o) {
  const w = /** @type {any} */ (window);
  const st = { errors: /** @type {any[]} */ ([]), joined: false, answered: 0, offers: 0, sent: /** @type {any[]} */ ([]) };
  w.__raw = st;
  const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/ws`);
  /** @param {any} m */
  const send = (m) => { st.sent.push(m); ws.send(JSON.stringify(m)); };
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
  w.__rawPc = pc;
  if (o.first === 'data_channel') w.__rawDc = pc.createDataChannel('unused');
  else pc.addTransceiver('audio', { direction: 'inactive' });
  pc.onicecandidate = (e) => {
    // The end of gathering is a null candidate: the protocol says it with an empty `candidate`.
    if (e.candidate && e.candidate.candidate) send({ type: 'ice_candidate', candidate: e.candidate.candidate, sdp_mid: e.candidate.sdpMid ?? undefined });
    else if (!e.candidate) send({ type: 'ice_candidate', candidate: '' });
  };
  let chain = Promise.resolve();
  /** @param {() => Promise<void>} f */
  const queue = (f) => { chain = chain.then(f).catch((e) => { st.errors.push({ local: String(e) }); }); };
  ws.onopen = () => send({ type: 'join', room: o.room, display_name: 'Raw' });
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.type === 'error') st.errors.push(m);
    if (m.type === 'joined') {
      st.joined = true;
      queue(async () => {
        await pc.setLocalDescription(await pc.createOffer());
        send({ type: 'sdp_offer', sdp: pc.localDescription?.sdp });
      });
    }
    if (m.type === 'sdp_answer') queue(async () => { await pc.setRemoteDescription({ type: 'answer', sdp: m.sdp }); st.answered++; });
    if (m.type === 'sdp_offer') {
      queue(async () => {
        await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
        await pc.setLocalDescription(await pc.createAnswer());
        send({ type: 'sdp_answer', sdp: pc.localDescription?.sdp });
        st.offers++;
      });
    }
  };
}

/** Decoded video frames and received audio bytes of the raw client's peer connection. */
function rawInbound() {
  const pc = /** @type {RTCPeerConnection} */ (/** @type {any} */ (window).__rawPc);
  return pc.getStats().then((stats) => {
    let frames = 0;
    let audioBytes = 0;
    stats.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      if (s.kind === 'video') frames += s.framesDecoded || 0;
      else audioBytes += s.bytesReceived || 0;
    });
    return { frames, audioBytes, state: pc.connectionState };
  });
}

describe('a client that follows docs/protocol.md and publishes nothing', { timeout: 120_000 }, () => {
  /** @type {Awaited<ReturnType<typeof startServer>>} */
  let srv;
  /** @type {Awaited<ReturnType<typeof openBrowser>>[]} */
  let browsers = [];

  before(async () => {
    srv = await startServer();
    browsers = await Promise.all([openBrowser(), openBrowser(), openBrowser()]);
  });

  after(() => teardown(srv, browsers));

  it('receives media whether its first offer is a data channel or an inactive audio m-line', async () => {
    const [A, B, C] = browsers;
    await joinByLink(A.page, srv.url, ROOM, 'Alice');
    const raws = [{ b: B, first: /** @type {const} */ ('data_channel') }, { b: C, first: /** @type {const} */ ('inactive_audio') }];
    for (const { b, first } of raws) {
      await b.page.goto(`${srv.url}/`);
      await b.page.evaluate(rawClient, { room: ROOM, first });
    }
    for (const { b, first } of raws) {
      const got = await until(async () => {
        const a = await b.page.evaluate(rawInbound);
        await sleep(1000);
        const z = await b.page.evaluate(rawInbound);
        return z.frames > a.frames && z.audioBytes > a.audioBytes ? z : null;
      }, 30_000, 0);
      const st = await b.page.evaluate(() => /** @type {any} */ (window).__raw);
      assert.ok(got, `${first}: Alice's video and audio keep arriving (${JSON.stringify(st)})`);
      assert.deepEqual(st.errors, [], `${first}: no error`);
      assert.ok(st.answered >= 1 && st.offers >= 1, `${first}: offered and answered (${JSON.stringify(st)})`);
      const sent = /** @type {any[]} */ (st.sent).filter((m) => m.type === 'ice_candidate');
      assert.ok(sent.some((m) => m.candidate.startsWith('candidate:') && m.sdp_mid !== undefined), `${first}: trickled with sdp_mid`);
      assert.ok(sent.some((m) => m.candidate === ''), `${first}: ended its candidates`);
    }

    // A normal close of the data channel is not a server error. (Chromium 156 closes with a user-initiated
    // ABORT, which sctp-proto logs at debug; the default filter of logging.rs covers the plain ABORTs of
    // other clients, and its own tests check that.)
    await B.page.evaluate(() => { const w = /** @type {any} */ (window); w.__rawDc.close(); w.__rawPc.close(); });
    await sleep(2000);
    const errors = srv.log().split('\n').filter((l) => / ERROR /.test(l));
    assert.deepEqual(errors, [], 'no ERROR in the server log');
  });
});
