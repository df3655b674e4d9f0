// Convene browser SDK: the signaling WebSocket — join / resume, reconnection with the resume token,
// keepalive pings, sending messages. Server messages are handed to the client (convene.js).
import { JoinError, sleep } from './util.js';
import { joinMark } from './marks.js';
import { onWaiting } from './lobby.js';

/** @typedef {import('./convene.js').Convene} Convene */
/** @typedef {import('./types.js').ReconnectReason} ReconnectReason */

/** Error codes after which a join is not retried. */
const FATAL_JOIN_ERRORS = new Set([
  'room_full', 'room_not_found', 'unauthorized', 'invalid_room_name', 'invalid_display_name',
  'unsupported_version', 'server_draining', 'server_busy', 'forbidden',
  // Who may enter (docs/protocol.md, "Who may enter" and "Access tokens"): asking again changes nothing.
  'sign_in_required', 'not_invited', 'password_required', 'wrong_password', 'invalid_token',
  'token_expired', 'token_not_yet_valid', 'token_wrong_room', 'too_many_from_address',
  // Host powers (docs/protocol.md, *Lobby*, *Locked meetings*, *Host mute, removal, end*): turned away from
  // the lobby, removed from this meeting, or a locked meeting. None changes by asking again.
  'denied', 'removed', 'meeting_locked',
  // Not an error code: the `closing` reason of a meeting ended while its join waited in the lobby.
  'meeting_ended',
]);

/**
 * While reconnecting these refusals are passing states, not verdicts: `server_draining` is the old process
 * of a restart still answering, `server_busy` a server that everyone returned to at the same moment.
 */
const RETRY_WHILE_RECONNECTING = new Set(['server_draining', 'server_busy']);

/** Whether a failed attempt is worth another while reconnecting (`unreachable` and the passing refusals). @param {string} code */
export function isRetryable(code) {
  return !FATAL_JOIN_ERRORS.has(code) || RETRY_WHILE_RECONNECTING.has(code);
}

/** First reconnection delay ceiling; it doubles per attempt up to `reconnectBackoffMaxMs`. */
const BACKOFF_BASE_MS = 250;
export const DEFAULT_BACKOFF_MAX_MS = 5000;
/**
 * How long one attempt may take from opening the socket to `joined`. A host that vanished answers nothing
 * (no refusal), and the browser would wait minutes on the socket while the server may be back already.
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;

/**
 * "Full jitter" backoff: a uniformly random delay below the capped exponential ceiling, so that the
 * thousands of clients a restart disconnects at once do not all return in the same millisecond.
 * @param {number} attempt 0 for the first retry @param {number} maxMs @param {() => number} [random]
 */
export function backoffDelay(attempt, maxMs, random = Math.random) {
  const ceiling = Math.min(maxMs, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/**
 * How long a ping may go unanswered before the socket is taken for dead. A socket whose network went away
 * (the device changed networks, the old address is gone) stays "open" in the browser for minutes; this
 * finds it within a ping interval plus this much, or this much after ICE reports trouble.
 */
export const LIVENESS_TIMEOUT_MS = 5_000;
/** The same when ICE has just reported trouble: the network is already suspect, so wait less. */
export const TROUBLE_TIMEOUT_MS = 3_000;
/** Pings (and liveness checks) on an idle socket. */
export const PING_INTERVAL_MS = 15_000;

export class Signaling {
  /** @param {Convene} client */
  constructor(client) {
    this.c = client;
    /** @type {WebSocket | null} */
    this.ws = null;
    /** @type {ReturnType<typeof setInterval> | null} */
    this._pingTimer = null;
    /** Set by `closing: server_shutdown`: the close that follows is a restart, not a loss. */
    this._serverClosing = false;
    /** @type {(() => void) | null} ends the current backoff wait early (reconnectNow) */
    this._wake = null;
    /** @type {string | null} the reason of the last `closing` (a close with 4003 says removed or denied) */
    this._closingReason = null;
    /** Whether the current socket got `joined`: until then (in the lobby too) only `join` and `leave` go out. */
    this._joined = false;
    /** When the current socket last delivered a message (any: a pong or an event). */
    this._heardAt = 0;
    /** @type {ReturnType<typeof setTimeout> | null} the pending liveness check */
    this._aliveTimer = null;
  }

  url() {
    if (this.c.opts.url) return this.c.opts.url;
    const l = globalThis.location;
    return `${l.protocol === 'https:' ? 'wss:' : 'ws:'}//${l.host}/ws`;
  }

  get open() {
    return !!this.ws && this._joined && this.ws.readyState === WebSocket.OPEN;
  }

  /**
   * One connection attempt: open the socket, send join, wait for joined or error.
   * @param {boolean} resuming
   * @returns {Promise<any>}
   */
  connect(resuming) {
    const c = this.c;
    return new Promise((resolve, reject) => {
      let settled = false;
      let ws;
      try {
        ws = new WebSocket(this.url());
      } catch (e) {
        reject(new JoinError('unreachable', String(e)));
        return;
      }
      this.ws = ws;
      this._joined = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        ws.onclose = null;
        try { ws.close(); } catch { /* closing anyway */ }
        if (this.ws === ws) this.ws = null;
        reject(new JoinError('unreachable', 'the server did not answer in time'));
      }, c.opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
      ws.onopen = () => {
        joinMark('ws-open');
        ws.send(JSON.stringify(this._joinMessage()));
      };
      ws.onmessage = (ev) => {
        this._heardAt = Date.now();
        let msg;
        try { msg = JSON.parse(ev.data); } catch { return; }
        if (!settled) {
          if (msg.type === 'joined') {
            joinMark('joined');
            settled = true;
            clearTimeout(timer);
            if (c._left) {
              // The user left while this attempt was in flight: leave for real instead of coming back.
              ws.send(JSON.stringify({ type: 'leave' }));
              ws.onclose = null;
              if (this.ws === ws) this.ws = null;
              reject(new JoinError('left', 'left while reconnecting'));
              return;
            }
            this._serverClosing = false;
            this._closingReason = null;
            this._joined = true;
            c._onJoined(msg, resuming);
            resolve(msg);
          } else if ((msg.type === 'error' && (!msg.request || msg.request === 'join')) || msg.type === 'closing') {
            // Refused, or (waiting in the lobby) turned away, the meeting ended, or we left.
            settled = true;
            clearTimeout(timer);
            ws.onclose = null;
            ws.close();
            if (this.ws === ws) this.ws = null;
            reject(msg.type === 'error' ? new JoinError(msg.code, msg.message) : new JoinError(msg.reason, `closed: ${msg.reason}`));
          } else if (msg.type === 'waiting_in_lobby') {
            // Held in the lobby: the join goes on until admitted (`joined`) or turned away, however long.
            clearTimeout(timer);
            onWaiting(c, msg);
          }
          return;
        }
        this._onEvent(msg);
      };
      ws.onclose = (ev) => {
        if (this.ws === ws) this.ws = null;
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          reject(new JoinError('unreachable', `could not connect to the server (${ev.code})`));
          return;
        }
        this._onClosed(ev.code);
      };
      ws.onerror = () => { /* onclose follows */ };
    });
  }

  /** The `join` of an attempt: the mute state of now, and the resume token of the last `joined`. */
  _joinMessage() {
    const c = this.c;
    /** @type {Record<string, unknown>} */
    const join = {
      type: 'join', room: c.opts.room, display_name: c.opts.displayName, version: 1,
      mic_muted: c.muted.mic, camera_muted: c.muted.camera,
    };
    if (c.opts.accessToken) join.access_token = c.opts.accessToken;
    if (c.opts.password) join.password = c.opts.password;
    if (c.resumeToken) join.resume_token = c.resumeToken;
    return join;
  }

  /** A message after `joined`; a `closing` says what the close that follows means. @param {any} msg */
  _onEvent(msg) {
    if (msg.type === 'closing') this._closingReason = msg.reason;
    if (msg.type === 'closing' && msg.reason === 'server_shutdown') this._serverClosing = true;
    this.c._onMessage(msg);
  }

  /**
   * The socket closed without `leave`: reconnect (see `retry`).
   * @param {number} code
   */
  async _onClosed(code) {
    const c = this.c;
    if (c._left) return;
    if (code === 4001) {
      // Another connection (another tab, or a reload) took over this participant.
      c._shutdown('replaced');
      return;
    }
    if (code === 4003) {
      // Removed by a host (or turned away): final, even if the `closing` before it was not read.
      c._shutdown(this._closingReason === 'denied' ? 'denied' : 'removed');
      return;
    }
    await this.retry(this._serverClosing ? 'server_restarting' : 'connection_lost');
  }

  /**
   * Retries the join with the resume token, with jittered exponential backoff, until the restart window
   * ends (a crashed server that comes back honours the token that long). Resolves with the `joined`
   * message, or null when the client ended instead (left, refused for good, or the window passed).
   * @param {ReconnectReason} reason
   * @returns {Promise<any>}
   */
  async retry(reason) {
    const c = this.c;
    c._setState('reconnecting', reason);
    const deadline = Date.now() + c.reconnectWindowMs;
    const maxMs = c.opts.reconnectBackoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS;
    for (let attempt = 0; !c._left && Date.now() < deadline; attempt++) {
      await this._wait(Math.min(backoffDelay(attempt, maxMs), Math.max(0, deadline - Date.now())));
      if (c._left) return null;
      try {
        return await this.connect(true);
      } catch (e) {
        const err = /** @type {JoinError} */ (e);
        if (c._left) return null;
        if (!isRetryable(err.code)) {
          c._emit('error', { code: err.code, message: err.message, fatal: true });
          c._shutdown(err.code);
          return null;
        }
        if (err.code === 'server_draining' && reason !== 'server_restarting') {
          reason = 'server_restarting';
          c._setState('reconnecting', reason, true);
        }
      }
    }
    if (!c._left) c._shutdown('disconnected');
    return null;
  }

  /** Sleeps `ms`, or less when `reconnectNow()` wakes it. @param {number} ms */
  _wait(ms) {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done() { clearTimeout(t); if (self._wake === done) self._wake = null; resolve(undefined); }
      this._wake = done;
    });
  }

  /** Ends the current backoff wait: the next attempt starts at once. @returns {boolean} whether one was waiting */
  wakeNow() {
    const w = this._wake;
    if (w) w();
    return !!w;
  }

  startPings() {
    if (this._pingTimer) return;
    this._pingTimer = setInterval(() => this.checkAlive(), PING_INTERVAL_MS);
    // The browser saw its network change (an address came or went): the socket may be on the old one.
    /** @type {any} */ (globalThis.navigator)?.connection?.addEventListener?.('change', this._onNetChange);
    globalThis.addEventListener?.('online', this._onNetChange);
  }

  _onNetChange = () => { this.checkAlive(TROUBLE_TIMEOUT_MS); };

  /**
   * Pings, and takes the socket for dead when nothing at all arrives within `timeoutMs`: it is dropped and
   * the client resumes on a new one (as after a close; a false alarm costs a resume, nobody sees a leave).
   * Called on every ping interval and when ICE reports trouble (a network change usually breaks both
   * paths at once). @param {number} [timeoutMs]
   */
  checkAlive(timeoutMs = LIVENESS_TIMEOUT_MS) {
    const ws = this.ws;
    if (!ws || this._aliveTimer) return;
    const sentAt = Date.now();
    if (!this.send({ type: 'ping', ts: sentAt })) return;
    this._aliveTimer = setTimeout(() => {
      this._aliveTimer = null;
      if (this.ws === ws && this._heardAt < sentAt) this._abandon(ws);
    }, timeoutMs);
  }

  /** Gives up on a socket that stopped answering: no close handshake (it would wait on the dead path). @param {WebSocket} ws */
  _abandon(ws) {
    ws.onclose = null;
    ws.onmessage = null;
    try { ws.close(); } catch { /* closing anyway */ }
    if (this.ws === ws) this.ws = null;
    this._onClosed(1006);
  }

  /** @param {Record<string, unknown>} msg @returns {boolean} whether it went out */
  send(msg) {
    if (this.ws && this._joined && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(msg));
      return true;
    }
    return false;
  }

  /** Sends `leave` and waits (up to 1 s) for the server to close the socket. */
  async leave() {
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify({ type: 'leave' }));
      await Promise.race([new Promise((r) => ws.addEventListener('close', r, { once: true })), sleep(1000)]);
    }
  }

  /** Stops pings and closes the socket without reconnecting. */
  close() {
    if (this._pingTimer) clearInterval(this._pingTimer);
    this._pingTimer = null;
    if (this._aliveTimer) clearTimeout(this._aliveTimer);
    this._aliveTimer = null;
    /** @type {any} */ (globalThis.navigator)?.connection?.removeEventListener?.('change', this._onNetChange);
    globalThis.removeEventListener?.('online', this._onNetChange);
    this.wakeNow();
    if (this.ws) { this.ws.onclose = null; try { this.ws.close(1000); } catch { /* closed */ } }
    this.ws = null;
  }
}
