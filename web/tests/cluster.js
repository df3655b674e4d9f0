// What a test of several nodes needs inside the browser tests' network namespace, where the machine's own
// PostgreSQL and Redis (on the root namespace's loopback) cannot be reached: a PostgreSQL made with initdb in
// a temporary folder and a redis-server, each on a free port of this namespace, stopped and removed after.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, chownSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, until } from './helpers.js';

/** Whether something accepts TCP connections on 127.0.0.1:`port`. @param {number} port */
function listening(port) {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

/**
 * A PostgreSQL server of the test's own (Debian's binaries, run as the `postgres` user: initdb refuses root).
 * @returns {Promise<{ url: string, stop: () => Promise<void> }>}
 */
export async function startPostgres() {
  const version = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b)).pop();
  const bin = `/usr/lib/postgresql/${version}/bin`;
  const dir = mkdtempSync(join(tmpdir(), 'convene-pg-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  chownSync(dir, uid, gid);
  const as = ['-u', 'postgres', '--'];
  execFileSync('runuser', [...as, `${bin}/initdb`, '-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres'], { stdio: 'ignore' });
  const port = await freePort();
  const proc = spawn('runuser', [...as, `${bin}/postgres`, '-D', join(dir, 'data'), '-p', String(port), '-k', dir,
    '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'], { stdio: 'ignore' });
  if (!await until(() => listening(port), 20_000, 100)) throw new Error('PostgreSQL did not start');
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      proc.kill('SIGINT');
      await Promise.race([new Promise((r) => proc.once('exit', r)), new Promise((r) => setTimeout(r, 5000))]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A redis-server of the test's own, keeping nothing on disk. @returns {Promise<{ url: string, stop: () => void }>} */
export async function startRedis() {
  const dir = mkdtempSync(join(tmpdir(), 'convene-redis-'));
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', dir], { stdio: 'ignore' });
  if (!await until(() => listening(port), 10_000, 100)) throw new Error('redis-server did not start');
  return {
    url: `redis://127.0.0.1:${port}`,
    stop() { proc.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); },
  };
}
