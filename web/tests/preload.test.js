// The app page preloads every module of the app (`<link rel="modulepreload">` in app/index.html), so that a
// fresh visit fetches them all at once instead of one import level after another (issue 19, join fast). This
// keeps the list equal to the modules main.js reaches through its static imports.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { ROOT } from './helpers.js';

const WEB = join(ROOT, 'web');
/** `import ... from '...'`, `export ... from '...'` and `import '...'` at the start of a line. */
const IMPORT = /^\s*(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm;

/** URL paths of the modules `entry` imports, directly or not (itself included). @param {string} entry */
function moduleGraph(entry) {
  const seen = new Set();
  const todo = [entry];
  while (todo.length) {
    const url = /** @type {string} */ (todo.pop());
    if (seen.has(url)) continue;
    seen.add(url);
    const src = readFileSync(join(WEB, url), 'utf8');
    for (const m of src.matchAll(IMPORT)) {
      const spec = m[1] || m[2];
      todo.push(spec.startsWith('/') ? spec : posix.join(posix.dirname(url), spec));
    }
  }
  return seen;
}

it('19. the app page preloads exactly the modules main.js imports', () => {
  const html = readFileSync(join(WEB, 'app', 'index.html'), 'utf8');
  const preloaded = [...html.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)].map((m) => m[1]);
  assert.equal(new Set(preloaded).size, preloaded.length, 'a module is listed twice');
  const wanted = [...moduleGraph('/app/main.js')].filter((u) => u !== '/app/main.js').sort();
  // The graph is not trivially small: the reader found the imports.
  assert.ok(wanted.includes('/sdk/peer.js') && wanted.includes('/app/tiles.js'), `graph: ${wanted.join(' ')}`);
  assert.deepEqual([...preloaded].sort(), wanted,
    'app/index.html: one <link rel="modulepreload" href="..."> per module main.js imports (directly or not), no other');
});
