// End-to-end: the networks people really have, simulated with namespaces (netns.js). Alice's browser is on the
// server's network; Bob's is in a network of his own: behind a NAT, with UDP blocked, with loss and a bandwidth
// cap, re-addressed mid-call, and allowed only TCP to port 443 (TURN over TLS). Each case proves from RTCPeerConnection statistics that media flows both ways
// (or, under the cap, keeps flowing at a lower layer). Needs root, ip, nft and tc (scripts/test-web.sh).
import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, openBrowser, joinByLink, mediaFrom, waitMedia, inbound, outboundCamera, until, sleep, teardown, tileSize } from './helpers.js';
import { makeNet, run } from './netns.js';

/** @typedef {Awaited<ReturnType<typeof openBrowser>>} B */
/** @typedef {import('./netns.js').Net} Net */

/** What each case started, ended by afterEach also when the case fails. */
/** @type {{ srv?: Awaited<ReturnType<typeof startServer>>, browsers: Array<B | undefined>, net?: Net }} */
let up = { browsers: [] };

afterEach(async () => {
  await teardown(up.srv, up.browsers);
  up.net?.remove();
  up = { browsers: [] };
});

/**
 * A server on the network's server address, Alice on the server's side, Bob inside the client network; both
 * joined to `room`. `block` runs before Bob joins (an nftables script in his namespace). `tls`: the server
 * serves HTTPS on port 443 with a self-signed certificate, with `set` (more `--set key=value`).
 * `block` and `set` may be functions of the network (its addresses are known once it is made).
 * @param {string} room
 * @param {{ nat?: boolean, block?: string | ((n: Net) => string), tls?: boolean, set?: (n: Net) => string[] }} [o]
 */
async function meeting(room, o = {}) {
  const net = makeNet({ nat: o.nat });
  up.net = net;
  const srv = await startServer([`media.public_ips=${net.serverIp}`, ...(o.set?.(net) || [])],
    { host: net.serverIp, ...(o.tls ? { tls: true, port: 443 } : {}) });
  up.srv = srv;
  const secureOrigin = srv.url;
  const ignoreCertErrors = !!o.tls;
  const [A, Bb] = await Promise.all([
    openBrowser({ secureOrigin, ignoreCertErrors }),
    openBrowser({ secureOrigin, ignoreCertErrors, executable: net.chromium }),
  ]);
  up.browsers = [A, Bb];
  if (o.block) net.nft(typeof o.block === 'function' ? o.block(net) : o.block);
  /** @param {B} b @param {string} name */
  const join = (b, name) => joinByLink(b.page, srv.url, room, name).catch((e) => {
    throw new Error(`${name} did not join: ${e.message}\n${b.console.slice(-15).join('\n')}\n${srv.log().slice(-3000)}`);
  });
  const idA = await join(A, 'Alice');
  const idB = await join(Bb, 'Bob');
  return { net, srv, A, Bb, idA, idB };
}

/**
 * The page's selected ICE candidate pair: local and remote address, port and protocol.
 * @param {import('playwright-core').Page} page
 */
const selectedPair = (page) => page.evaluate(async () => {
  const pc = /** @type {RTCPeerConnection} */ (/** @type {any} */ (window).convene.peerConnection);
  if (!pc) return null;
  const stats = await pc.getStats();
  /** @type {any} */
  let pair = null;
  stats.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId); });
  if (!pair || pair.state !== 'succeeded') return null;
  const l = stats.get(pair.localCandidateId);
  const r = stats.get(pair.remoteCandidateId);
  return { local: `${l.address}:${l.port}`, localType: l.candidateType, protocol: l.protocol, relayProtocol: l.relayProtocol, url: l.url, remote: `${r.address}:${r.port}`, remoteProtocol: r.protocol };
});

/**
 * Both ways: `to` decodes `from`'s camera and receives its microphone, growing between two samples.
 * @param {B} to @param {string} from
 */
const flowsFrom = (to, from) => waitMedia(to.page, (a, b) => {
  const [va, vb] = [a[`${from}:camera`], b[`${from}:camera`]];
  const [ma, mb] = [a[`${from}:microphone`], b[`${from}:microphone`]];
  return !!(va && vb && ma && mb && vb.frames > va.frames + 5 && mb.audioBytes > ma.audioBytes);
}, { timeoutMs: 30_000 });

describe('simulated networks', { timeout: 400_000 }, () => {
  it('1. behind a NAT (masquerade), Bob reaches the server and media flows both ways', async () => {
    const { net, A, Bb, idA, idB } = await meeting('e2e-net-nat', { nat: true });
    assert.ok(await flowsFrom(Bb, idA), `Bob decodes nothing from Alice: ${JSON.stringify(await mediaFrom(Bb.page))}`);
    assert.ok(await flowsFrom(A, idB), `Alice decodes nothing from Bob: ${JSON.stringify(await mediaFrom(A.page))}`);
    const pair = await until(() => selectedPair(Bb.page), 10_000);
    // Bob's own address is private (10.98.n.2) and the server sees only the router's: the pair that carries
    // the media is a peer-reflexive one on the router's address, learnt from the server's answers to Bob's
    // checks (no STUN server is involved).
    assert.notEqual(net.clientIp, net.outsideIp);
    assert.ok(pair && pair.protocol === 'udp' && pair.localType === 'prflx' && pair.local.startsWith(`${net.outsideIp}:`) && pair.remote.startsWith(`${net.serverIp}:`), JSON.stringify(pair));
  });

  it('2. with UDP to the server blocked, Bob connects over ICE-TCP on the HTTP port', async () => {
    const { srv, A, Bb, idA, idB, net } = await meeting('e2e-net-tcp', {
      block: `table inet cvblock {
  chain out {
    type filter hook output priority 0;
    meta l4proto udp drop
  }
}
`,
    });
    assert.ok(await flowsFrom(Bb, idA), `Bob decodes nothing from Alice over TCP: ${JSON.stringify(await mediaFrom(Bb.page))}`);
    assert.ok(await flowsFrom(A, idB), `Alice decodes nothing from Bob over TCP: ${JSON.stringify(await mediaFrom(A.page))}`);
    const pair = await until(() => selectedPair(Bb.page), 10_000);
    const httpPort = new URL(srv.url).port;
    assert.ok(pair && pair.protocol === 'tcp' && pair.remote === `${net.serverIp}:${httpPort}`, `Bob's pair: ${JSON.stringify(pair)}`);
    assert.equal((await selectedPair(A.page))?.protocol, 'udp', 'Alice, unblocked, stays on UDP');
  });

  it('3. 5 % loss and 500 kbit/s (or less) to Bob: video keeps decoding at a lower layer, audio flows; the top layer returns', async (t) => {
    const { net, Bb, A, idA } = await meeting('e2e-net-cap');
    await tileSize(Bb.page, idA, 'large');
    const fullW = async () => (await outboundCamera(A.page)).f.frameWidth;
    const widthFromA = async () => (await inbound(Bb.page)).find((s) => s.participantId === idA && s.kind === 'video')?.frameWidth ?? 0;
    // The top layer needs the bandwidth estimate to ramp up (and a busy machine's encoder may resize it).
    assert.ok(await until(async () => { const w = await fullW(); return w > 0 && (await widthFromA()) === w; }, 60_000),
      `Bob never got the full layer before the cap: he decodes ${await widthFromA()} px, Alice sends ${JSON.stringify(await outboundCamera(A.page))}`);
    const top = await fullW();
    // The fake camera's picture is easy to encode: its top layer may need less than 500 kbit/s, and then
    // staying on it under that cap would be right. The cap is 500 kbit/s, or half the top layer's rate
    // when that is lower, so that the top layer never fits.
    const fBytes = async () => (await outboundCamera(A.page)).f.bytesSent;
    const b0 = await fBytes();
    await sleep(3000);
    const topKbps = ((await fBytes()) - b0) * 8 / 3000;
    const capKbit = Math.min(500, Math.floor(topKbps / 2));
    t.diagnostic(`Alice's top layer: ${top} px at ${Math.round(topKbps)} kbit/s; cap ${capKbit} kbit/s and 5 % loss`);
    // The cap shapes what the server's side sends to Bob; the loss drops 5 % of everything Bob receives.
    run('tc', ['qdisc', 'add', 'dev', net.serverDev, 'root', 'tbf', 'rate', `${capKbit}kbit`, 'burst', '16kb', 'latency', '100ms']);
    net.nft(`table inet cvloss {
  chain in {
    type filter hook input priority 0;
    numgen random mod 100 < 5 drop
  }
}
`);
    const cappedAt = Date.now();
    const lower = await until(async () => { const w = await widthFromA(); return w > 0 && w < top ? w : 0; }, 60_000, 1000);
    assert.ok(lower, `Bob stayed on the top layer (${top} px) under 500 kbit/s`);
    t.diagnostic(`under the cap Bob went from ${top} to ${lower} px wide after ${Date.now() - cappedAt} ms`);
    assert.ok(await flowsFrom(Bb, idA), `video or audio stopped under the cap: ${JSON.stringify(await mediaFrom(Bb.page))}`);
    await sleep(5000);
    const held = await widthFromA();
    assert.ok(held > 0 && held < top, `under the cap Bob is back on ${held} px (top ${top} px)`);
    run('tc', ['qdisc', 'del', 'dev', net.serverDev, 'root']);
    run('ip', ['netns', 'exec', net.clientNs, 'nft', 'delete', 'table', 'inet', 'cvloss']);
    const liftedAt = Date.now();
    assert.ok(await until(async () => { const w = await fullW(); return w > 0 && (await widthFromA()) === w; }, 90_000, 1000), `the top layer did not come back: ${await widthFromA()} px`);
    t.diagnostic(`the top layer came back ${Date.now() - liftedAt} ms after the cap lifted`);
  });

  it('4. Bob\'s address changes mid-call: an ICE restart brings media back, and he never leaves the meeting', async (t) => {
    const { net, A, Bb, idA, idB } = await meeting('e2e-net-move');
    assert.ok(await flowsFrom(Bb, idA), 'no media before the move');
    // The SDK rebuilds a peer connection that was up for less than 15 s; past that it restarts ICE.
    await sleep(16_000);
    const ufrag = () => Bb.page.evaluate(() => /** @type {any} */ (window).convene.peerConnection?.localDescription?.sdp.match(/a=ice-ufrag:(\S+)/)?.[1] ?? '');
    const pcsBefore = await Bb.page.evaluate(() => /** @type {any} */ (window).__pcs.length);
    await A.page.evaluate(() => {
      const w = /** @type {any} */ (window);
      w.__flaps = [];
      for (const type of ['participantleft', 'participantjoined']) w.convene.on(type, (/** @type {any} */ e) => w.__flaps.push(`${type} ${e.detail.participant.id}`));
    });
    const ufragBefore = await ufrag();
    await Bb.page.evaluate(() => {
      const w = /** @type {any} */ (window);
      w.__dbg = [];
      const t0 = Date.now();
      const pc = w.convene.peerConnection;
      pc.addEventListener('iceconnectionstatechange', () => w.__dbg.push(`${Date.now() - t0} ice ${pc.iceConnectionState}`));
      pc.addEventListener('icecandidate', (/** @type {any} */ e) => w.__dbg.push(`${Date.now() - t0} cand ${e.candidate?.candidate}`));
      const send = WebSocket.prototype.send;
      WebSocket.prototype.send = function (/** @type {any} */ d) { try { const m = JSON.parse(String(d)); w.__dbg.push(`${Date.now() - t0} out ${m.type} ${m.sdp ? (m.sdp.match(/a=ice-ufrag:\S+/) || [''])[0] : ''}`); } catch { /* */ } return send.call(this, d); };
    });
    const moved = net.clientIp.replace(/\.2$/, '.3');
    run('ip', ['netns', 'exec', net.clientNs, 'ip', 'addr', 'del', `${net.clientIp}/24`, 'dev', net.clientDev]);
    run('ip', ['netns', 'exec', net.clientNs, 'ip', 'addr', 'add', `${moved}/24`, 'dev', net.clientDev]);
    const movedAt = Date.now();
    const pair = await until(async () => { const p = await selectedPair(Bb.page); return p && p.local.startsWith(`${moved}:`) ? p : null; }, 30_000);
    const state = () => Bb.page.evaluate(() => { const c = /** @type {any} */ (window).convene; return { state: c.state, ice: c.peerConnection?.iceConnectionState, pc: c.peerConnection?.connectionState }; });
    assert.ok(pair, `Bob's media did not move to ${moved}: ${JSON.stringify(await selectedPair(Bb.page))} ${JSON.stringify(await state())} ${Bb.console.slice(-8).join(' | ')} ${JSON.stringify(await Bb.page.evaluate(() => /** @type {any} */ (window).__dbg))}`);
    assert.ok(await flowsFrom(Bb, idA), 'Bob receives nothing after the move');
    assert.ok(await flowsFrom(A, idB), 'Alice receives nothing from Bob after the move');
    t.diagnostic(`media flowed again on ${moved} ${Date.now() - movedAt} ms after the move`);
    // The same peer connection with new ICE credentials (a restart, not a rebuild), the same participant.
    assert.equal(await Bb.page.evaluate(() => /** @type {any} */ (window).__pcs.length), pcsBefore, 'the peer connection was rebuilt');
    assert.notEqual(await ufrag(), ufragBefore, 'no ICE restart');
    assert.equal(await Bb.page.evaluate(() => /** @type {any} */ (window).convene.participantId), idB);
    const seen = await A.page.evaluate(() => [.../** @type {any} */ (window).convene.participants.keys()]);
    assert.ok(seen.includes(idB), `Alice no longer lists Bob: ${JSON.stringify(seen)}`);
    assert.deepEqual(await A.page.evaluate(() => /** @type {any} */ (window).__flaps), [], 'Alice saw Bob leave or join');
  });

  it('5. only TCP to port 443 of the server: Bob relays through TURN over TLS on the HTTPS port', async () => {
    // ICE-TCP shares the HTTP port and a direct TCP pair ranks above a relayed one, so with it on Bob would
    // (rightly) take ICE-TCP to 443: it is off here, as on a network that lets only TLS through to 443.
    const { A, Bb, idA, idB, net } = await meeting('e2e-net-443', {
      tls: true,
      set: (n) => ['media.ice_tcp=false', 'turn.enabled=true', `turn.tls_host=${n.serverIp}`],
      block: (n) => `table inet cvblock {
  chain out {
    type filter hook output priority 0;
    ip daddr ${n.serverIp} tcp dport 443 accept
    ip daddr ${n.serverIp} drop
  }
}
`,
    });
    assert.ok(await flowsFrom(Bb, idA), `Bob decodes nothing from Alice through TURN/TLS: ${JSON.stringify(await mediaFrom(Bb.page))}`);
    assert.ok(await flowsFrom(A, idB), `Alice decodes nothing from Bob through TURN/TLS: ${JSON.stringify(await mediaFrom(A.page))}`);
    const pair = await until(() => selectedPair(Bb.page), 10_000);
    assert.ok(pair && pair.localType === 'relay' && pair.relayProtocol === 'tls', `Bob's pair: ${JSON.stringify(pair)}`);
    assert.equal(pair.url, `turns:${net.serverIp}:443?transport=tcp`, 'relayed by the server\'s own TURN over TLS');
  });
});
