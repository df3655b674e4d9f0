// Unit tests (Node, no browser) of the SDK's room and display name checks, which mirror the server's.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalRoomName, checkDisplayName } from '../sdk/names.js';

describe('room names', () => {
  it('one spelling per room in every script: NFKC and full lower case', () => {
    const name = (/** @type {string} */ s) => canonicalRoomName(s).name;
    assert.equal(name('Café'), 'café');
    assert.equal(name('CAFÉ'), 'café');
    assert.equal(name('cafe\u0301'), 'café', 'decomposed é');
    assert.equal(name('ＴＥＡＭ'), 'team', 'full-width');
    assert.equal(name('会议室'), '会议室');
    assert.equal(name('회의실'), '회의실');
    assert.equal(name('नमस्ते'), 'नमस्ते', 'combining marks stay');
    assert.equal(name(' Team-Sync '), 'team-sync');
    assert.equal(canonicalRoomName('会议室').changed, false);
    assert.equal(canonicalRoomName('CAFÉ').changed, true);
    assert.equal(canonicalRoomName('CAFÉ').lossy, false, 'only the case changed');
  });

  it('spaces become dashes and other characters are dropped, never silently', () => {
    const r = canonicalRoomName('Ünïcode room!!');
    assert.equal(r.name, 'ünïcode-room');
    assert.deepEqual(r.dropped, ['!']);
    assert.equal(r.lossy, true);
    assert.equal(canonicalRoomName('--x').name, 'x');
    assert.equal(canonicalRoomName('!!!').name, null);
    assert.match(canonicalRoomName('!!!').error || '', /at least one letter or digit/);
  });

  it('1 to 64 characters (not UTF-16 units): longer is an error, not a cut', () => {
    assert.equal(canonicalRoomName('会'.repeat(64)).name, '会'.repeat(64));
    assert.equal(canonicalRoomName('𝓪'.repeat(64)).name?.length, 64, 'NFKC makes the script letters plain');
    const r = canonicalRoomName('会'.repeat(65));
    assert.equal(r.name, null);
    assert.equal(r.error, 'That meeting name has 65 characters; the limit is 64.');
    assert.equal(canonicalRoomName('').error, 'Enter a meeting name.');
  });
});

describe('display names', () => {
  it('trimmed and collapsed; 1 to 64 characters; something visible; no control characters', () => {
    assert.deepEqual(checkDisplayName('  Ada   Lovelace '), { name: 'Ada Lovelace' });
    assert.equal(checkDisplayName('   ').error, 'Enter your name.');
    assert.equal(checkDisplayName('é'.repeat(64)).error, undefined);
    assert.equal(checkDisplayName('😀'.repeat(64)).error, undefined, 'the bound is in characters, not UTF-16 units');
    assert.equal(checkDisplayName('é'.repeat(65)).error, 'Your name has 65 characters; the limit is 64.');
    assert.equal(checkDisplayName('\u200B\u2060\uFEFF').error, 'Your name needs at least one visible character.');
    assert.equal(checkDisplayName('a\u0007b').error, 'Your name cannot contain control characters.');
  });
});
