// Unit tests (Node, no browser) of speaker view's choice of the main tile (app/stage.js).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pickMainTile, noteSpeaker, RECENT_SPEAKER_MS } from '../app/stage.js';

/** @param {Partial<import('../app/stage.js').StageInput>} o */
const input = (o) => ({
  keys: ['me:camera', 'a:camera', 'b:camera', 'c:camera'],
  me: 'me', pinned: null, dominant: null, recent: [], withVideo: new Set(['me', 'a', 'b', 'c']), now: 1_000_000, ...o,
});

describe('speaker view: the main tile', () => {
  it('a pinned tile wins, then a screen share, then the dominant speaker with video', () => {
    assert.equal(pickMainTile(input({ pinned: 'c:camera', dominant: 'a', keys: ['me:camera', 'a:camera', 'b:screen', 'c:camera'] })), 'c:camera');
    assert.equal(pickMainTile(input({ dominant: 'a', keys: ['me:camera', 'a:camera', 'b:camera', 'b:screen'] })), 'b:screen');
    assert.equal(pickMainTile(input({ dominant: 'a' })), 'a:camera');
    // A pin on a tile that went away is not followed.
    assert.equal(pickMainTile(input({ pinned: 'gone:camera', dominant: 'b' })), 'b:camera');
  });

  it('your own screen share never takes your stage', () => {
    const keys = ['me:camera', 'me:screen', 'a:camera'];
    assert.equal(pickMainTile(input({ keys, dominant: 'a' })), 'a:camera');
    assert.equal(pickMainTile(input({ keys, dominant: null })), 'a:camera');
  });

  it('a dominant speaker without video gives way to a recent speaker with video', () => {
    const now = 1_000_000;
    const recent = [{ id: 'a', at: now }, { id: 'b', at: now - 5000 }];
    assert.equal(pickMainTile(input({ dominant: 'a', recent, withVideo: new Set(['b', 'c']), now })), 'b:camera');
  });

  it('the dominant speaker keeps the stage without video when no other recent speaker has video', () => {
    const now = 1_000_000;
    // b has video but spoke too long ago; c has video but never spoke.
    const recent = [{ id: 'a', at: now }, { id: 'b', at: now - RECENT_SPEAKER_MS - 1 }];
    assert.equal(pickMainTile(input({ dominant: 'a', recent, withVideo: new Set(['b', 'c']), now })), 'a:camera');
    // A recent speaker whose camera is off does not take it either.
    assert.equal(pickMainTile(input({ dominant: 'a', recent: [{ id: 'a', at: now }, { id: 'b', at: now }], withVideo: new Set(['c']), now })), 'a:camera');
  });

  it('while you speak (or nobody has), another participant with video is shown, never yourself', () => {
    assert.equal(pickMainTile(input({ dominant: 'me', withVideo: new Set(['me', 'b']) })), 'b:camera');
    assert.equal(pickMainTile(input({ dominant: null, withVideo: new Set(['me']) })), 'a:camera');
    assert.equal(pickMainTile(input({ keys: ['me:camera'], dominant: null })), 'me:camera');
    assert.equal(pickMainTile(input({ keys: [] })), null);
  });
});

describe('recent speakers', () => {
  it('the outgoing speaker is stamped when someone else starts; one entry each; old ones drop', () => {
    let r = noteSpeaker([], null, 'a', 0);
    r = noteSpeaker(r, 'a', 'b', 10_000);
    assert.deepEqual(r, [{ id: 'b', at: 10_000 }, { id: 'a', at: 10_000 }]);
    // Silence: b is stamped when it stopped, and not again by later changes.
    r = noteSpeaker(r, 'b', null, 15_000);
    assert.deepEqual(r, [{ id: 'b', at: 15_000 }, { id: 'a', at: 10_000 }]);
    r = noteSpeaker(r, null, 'a', 20_000);
    assert.deepEqual(r, [{ id: 'a', at: 20_000 }, { id: 'b', at: 15_000 }]);
    r = noteSpeaker(r, 'a', 'c', 15_000 + RECENT_SPEAKER_MS + 1);
    assert.deepEqual(r.map((x) => x.id), ['c', 'a'], 'b spoke last before the window');
  });
});
