// Unit tests (Node, no browser) of the SDK's reconnection backoff: exponential, capped, and full jitter.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, DEFAULT_BACKOFF_MAX_MS } from '../sdk/signaling.js';

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
