// `tsc --checkJs` over web/ (sdk, app, example, tests) passes.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './helpers.js';

it('8. tsc --checkJs passes over web/', () => {
  const web = join(ROOT, 'web');
  const r = spawnSync(process.execPath, [join(web, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', web], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});
