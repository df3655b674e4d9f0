// Adaptive subscribing (sdk/subscriptions.js) without a browser: the observers are fakes the test drives.
// A remote video the app has just attached is not reported hidden before the intersection observer has said
// whether it shows (issue 19: a "hidden" sent in that moment held a newcomer's first picture back ~100 ms).
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { sleep } from './helpers.js';

/** @type {{ cb: (entries: any[]) => void } | null} */
let intersection = null;
const g = /** @type {any} */ (globalThis);
g.IntersectionObserver = class {
  /** @param {(entries: any[]) => void} cb */
  constructor(cb) { this.cb = cb; intersection = this; }
  observe() {}
  unobserve() {}
  disconnect() {}
};
g.ResizeObserver = class { observe() {} unobserve() {} disconnect() {} };
g.getComputedStyle = () => ({ visibility: 'visible' });
g.MediaStream = class {};
const { Subscriptions } = await import('../sdk/subscriptions.js');

/** A client with two remote videos, recording what it sends. */
function fakeClient() {
  /** @type {any[]} */
  const sent = [];
  const remote = (/** @type {string} */ id) => ({ participantId: 'p', trackId: id, kind: 'video', source: 'camera', mid: id, track: {}, stream: {} });
  const remoteTracks = new Map([['1', remote('t-shown')], ['2', remote('t-unshown')]]);
  const client = { remoteTracks, sent, _send: (/** @type {any} */ m) => { sent.push(m); return true; }, _emit() {} };
  return client;
}

/** A video element 640x360 on screen. */
function fakeVideo() {
  return { isConnected: true, srcObject: null, muted: false, playsInline: false, autoplay: false, play: () => Promise.resolve(), getBoundingClientRect: () => ({ width: 640, height: 360 }) };
}

it('19. a just-attached video is not reported hidden before the intersection observer reports on it', async () => {
  const c = fakeClient();
  const subs = new Subscriptions(/** @type {any} */ (c));
  const el = fakeVideo();
  subs.attach(/** @type {any} */ (el), /** @type {any} */ (c.remoteTracks.get('1')));
  await sleep(150);
  // Not measured yet: nothing about it; the video no element shows is hidden, as before.
  assert.deepEqual(c.sent, [{ type: 'set_video_constraint', track: 't-unshown' }]);
  assert.ok(intersection, 'the client watches intersections');
  intersection.cb([{ target: el, isIntersecting: true }]);
  await sleep(150);
  assert.deepEqual(c.sent.slice(1), [{ type: 'set_video_constraint', track: 't-shown', width: 640, height: 360 }]);
  // Scrolled out of view: now it is known to be hidden, and said so.
  intersection.cb([{ target: el, isIntersecting: false }]);
  await sleep(150);
  assert.deepEqual(c.sent.slice(2), [{ type: 'set_video_constraint', track: 't-shown' }]);
  subs.disconnect();
});
