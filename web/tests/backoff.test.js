// Unit tests (Node, no browser) of the SDK's reconnection: the backoff (exponential, capped, full jitter) and
// the time one attempt may take.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Signaling, backoffDelay, DEFAULT_BACKOFF_MAX_MS } from '../sdk/signaling.js';

describe('reconnection backoff', () => {
  it('doubles from 250 ms and never exceeds the cap (5 s by default)', () => {
    const top = () => 0.999999;
    const delays = Array.from({ length: 12 }, (_, i) => backoffDelay(i, DEFAULT_BACKOFF_MAX_MS, top));
    assert.equal(DEFAULT_BACKOFF_MAX_MS, 5000);
    assert.deepEqual(delays.slice(0, 5), [249, 499, 999, 1999, 3999]);
    for (const d of delays.slice(5)) assert.equal(d, 4999);
    assert.equal(backoffDelay(1000, 5000, top), 4999, 'a long outage overflows the cap');
    assert.equal(backoffDelay(3, 1500, top), 1499, 'the cap is an option');
  });

  it('is full jitter: uniform from 0 up to the ceiling, so clients that lost the server together spread out', () => {
    const samples = Array.from({ length: 2000 }, () => backoffDelay(20, 5000));
    assert.ok(samples.every((d) => d >= 0 && d < 5000), 'a delay outside [0, cap)');
    assert.ok(Math.min(...samples) < 250, `no short delays: min ${Math.min(...samples)}`);
    assert.ok(Math.max(...samples) > 4750, `no long delays: max ${Math.max(...samples)}`);
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    assert.ok(mean > 2200 && mean < 2800, `not uniform: mean ${mean}`);
    assert.equal(backoffDelay(5, 5000, () => 0), 0);
  });
});

describe('a connection attempt', () => {
  it('gives up after connectTimeoutMs when the server never answers (a vanished host), and closes its socket', async () => {
    /** @type {any[]} */
    const sockets = [];
    const saved = /** @type {any} */ (globalThis).WebSocket;
    // A socket that never opens, never closes by itself: what a host that vanished looks like.
    /** @type {any} */ (globalThis).WebSocket = class {
      static OPEN = 1;
      constructor() { this.readyState = 0; this.closed = false; sockets.push(this); }
      close() { this.closed = true; }
    };
    try {
      const client = /** @type {any} */ ({ opts: { url: 'ws://127.0.0.1:9/ws', room: 'r', displayName: 'n', connectTimeoutMs: 100 }, muted: { mic: false, camera: false } });
      const sig = new Signaling(client);
      const started = Date.now();
      const outcome = await Promise.race([
        sig.connect(false).then(() => 'joined', (e) => e.code),
        new Promise((r) => setTimeout(() => r('still waiting'), 2000)),
      ]);
      assert.equal(outcome, 'unreachable');
      assert.ok(Date.now() - started < 1000, 'the timeout was not the option');
      assert.equal(sockets.length, 1);
      assert.ok(sockets[0].closed, 'the socket was left open');
      assert.equal(sig.ws, null);
    } finally {
      /** @type {any} */ (globalThis).WebSocket = saved;
    }
  });
});
