// Simulated networks for the browser tests: network namespaces joined by veth pairs, with NAT, blocking and
// random loss by nftables and a bandwidth cap by tc tbf (this kernel has no netem). The test process's own
// namespace (scripts/test-web.sh's, loopback only) plays the server's network; each client network is a
// namespace of its own that a browser is started in. Private test addresses only, inside namespaces this file
// makes and removes: nothing touches the machine's interfaces.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/**
 * Runs a command; throws with its output when it fails.
 * @param {string} cmd @param {string[]} args @param {string} [input]
 */
export function run(cmd, args, input) {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.error}`);
  return r.stdout;
}

/** @param {string} ns @param {string[]} args */
const inNs = (ns, args) => run('ip', ['netns', 'exec', ns, ...args]);

/**
 * One client network: the server's side holds `serverIp` on a veth whose other end is in the client's
 * namespace (or, with `nat`, in a router namespace that masquerades a private client network behind
 * `routerIp`).
 * @typedef {object} Net
 * @property {string} serverIp the server's address on this network (it listens there)
 * @property {string} serverDev the server side's veth (shape it to cap what the client receives)
 * @property {string} clientNs the namespace a browser is started in
 * @property {string} clientDev the client's interface
 * @property {string} clientIp the client's own address
 * @property {string} outsideIp the address the server sees the client at (the router's, behind a NAT)
 * @property {string} chromium a program that starts Chromium inside `clientNs`
 * @property {(script: string) => void} nft loads an nftables script in the client's namespace
 * @property {() => void} remove removes the namespaces and the wrapper (idempotent)
 */

let count = 0;

/** Turns IPv6 off for every interface made in `ns` from now on (see makeNet). @param {string} ns */
const noIpv6 = (ns) => inNs(ns, ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);

/**
 * Makes a client network numbered `n` (its addresses are 10.99.n.0/24; behind a NAT the client has 10.98.n.2).
 * @param {{ nat?: boolean }} [o]
 * @returns {Net}
 */
export function makeNet(o = {}) {
  const n = ++count;
  const tag = `${process.pid % 10000}-${n}`;
  const clientNs = `cv-cli-${tag}`;
  const routerNs = `cv-rtr-${tag}`;
  const serverDev = `cvs${tag}`;
  const far = `cvf${tag}`; // the other end of the server's veth: the client's, or the router's WAN side
  const serverIp = `10.99.${n}.1`;
  const dir = mkdtempSync(join(tmpdir(), 'convene-netns-'));
  const chromium = join(dir, 'chromium');
  /** @type {string[]} */
  const made = [];
  const remove = () => {
    for (const ns of made) spawnSync('ip', ['netns', 'del', ns]);
    made.length = 0;
    spawnSync('ip', ['link', 'del', serverDev]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    run('ip', ['netns', 'add', clientNs]);
    made.push(clientNs);
    noIpv6(clientNs);
    run('ip', ['link', 'add', serverDev, 'type', 'veth', 'peer', 'name', far]);
    // IPv4 only: an IPv6 link-local address finishing its duplicate-address detection a moment after the link
    // comes up is a network change, and Chromium fails the page loads in flight (ERR_NETWORK_CHANGED) of a
    // browser in the namespace where it happens, Alice's included.
    run('sysctl', ['-qw', `net.ipv6.conf.${serverDev}.disable_ipv6=1`]);
    run('ip', ['addr', 'add', `${serverIp}/24`, 'dev', serverDev]);
    run('ip', ['link', 'set', serverDev, 'up']);
    let clientDev = far;
    let clientIp = `10.99.${n}.2`;
    if (o.nat) {
      run('ip', ['netns', 'add', routerNs]);
      made.push(routerNs);
      noIpv6(routerNs);
      run('ip', ['link', 'set', far, 'netns', routerNs]);
      inNs(routerNs, ['ip', 'addr', 'add', `10.99.${n}.2/24`, 'dev', far]);
      inNs(routerNs, ['ip', 'link', 'set', far, 'up']);
      inNs(routerNs, ['ip', 'link', 'set', 'lo', 'up']);
      const lan = `cvl${tag}`;
      clientDev = `cvc${tag}`;
      inNs(routerNs, ['ip', 'link', 'add', lan, 'type', 'veth', 'peer', 'name', clientDev]);
      inNs(routerNs, ['ip', 'link', 'set', clientDev, 'netns', clientNs]);
      inNs(routerNs, ['ip', 'addr', 'add', `10.98.${n}.1/24`, 'dev', lan]);
      inNs(routerNs, ['ip', 'link', 'set', lan, 'up']);
      inNs(routerNs, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
      run('ip', ['netns', 'exec', routerNs, 'nft', '-f', '-'], `table ip nat {
  chain post {
    type nat hook postrouting priority 100;
    oifname "${far}" masquerade
  }
}
`);
      clientIp = `10.98.${n}.2`;
      inNs(clientNs, ['ip', 'addr', 'add', `${clientIp}/24`, 'dev', clientDev]);
      inNs(clientNs, ['ip', 'link', 'set', clientDev, 'up']);
      inNs(clientNs, ['ip', 'route', 'add', 'default', 'via', `10.98.${n}.1`]);
    } else {
      run('ip', ['link', 'set', far, 'netns', clientNs]);
      inNs(clientNs, ['ip', 'addr', 'add', `${clientIp}/24`, 'dev', far]);
      inNs(clientNs, ['ip', 'link', 'set', far, 'up']);
    }
    inNs(clientNs, ['ip', 'link', 'set', 'lo', 'up']);
    writeFileSync(chromium, `#!/bin/sh\nexec ip netns exec ${clientNs} ${CHROMIUM} "$@"\n`);
    chmodSync(chromium, 0o755);
    return {
      serverIp, serverDev, clientNs, clientDev, clientIp, outsideIp: `10.99.${n}.2`, chromium, remove,
      nft: (script) => { run('ip', ['netns', 'exec', clientNs, 'nft', '-f', '-'], script); },
    };
  } catch (e) {
    remove();
    throw e;
  }
}
