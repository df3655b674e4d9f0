// Convene browser SDK: the signaling WebSocket — join / resume, reconnection with the resume token,
// keepalive pings, sending messages. Server messages are handed to the client (convene.js).
import { JoinError, sleep } from './util.js';

/** @typedef {import('./convene.js').Convene} Convene */

/** Error codes after which a join is not retried. */
const FATAL_JOIN_ERRORS = new Set([
  'room_full', 'room_not_found', 'unauthorized', 'invalid_room_name', 'invalid_display_name',
  'unsupported_version', 'server_draining', 'server_busy',
]);

export class Signaling {
  /** @param {Convene} client */
  constructor(client) {
    this.c = client;
    /** @type {WebSocket | null} */
    this.ws = null;
    /** @type {ReturnType<typeof setInterval> | null} */
    this._pingTimer = null;
  }

  url() {
    if (this.c.opts.url) return this.c.opts.url;
    const l = globalThis.location;
    return `${l.protocol === 'https:' ? 'wss:' : 'ws:'}//${l.host}/ws`;
  }

  get open() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
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
      ws.onopen = () => {
        /** @type {Record<string, unknown>} */
        const join = {
          type: 'join', room: c.opts.room, display_name: c.opts.displayName, version: 1,
          mic_muted: c.muted.mic, camera_muted: c.muted.camera,
        };
        if (c.opts.accessToken) join.access_token = c.opts.accessToken;
        if (c.resumeToken) join.resume_token = c.resumeToken;
        ws.send(JSON.stringify(join));
      };
      ws.onmessage = (ev) => {
        let msg;
        try { msg = JSON.parse(ev.data); } catch { return; }
        if (!settled) {
          if (msg.type === 'joined') {
            settled = true;
            c._onJoined(msg, resuming);
            resolve(msg);
          } else if (msg.type === 'error') {
            settled = true;
            ws.onclose = null;
            ws.close();
            if (this.ws === ws) this.ws = null;
            reject(new JoinError(msg.code, msg.message));
          }
          return;
        }
        c._onMessage(msg);
      };
      ws.onclose = (ev) => {
        if (this.ws === ws) this.ws = null;
        if (!settled) {
          settled = true;
          reject(new JoinError('unreachable', `could not connect to the server (${ev.code})`));
          return;
        }
        this._onClosed(ev.code);
      };
      ws.onerror = () => { /* onclose follows */ };
    });
  }

  /**
   * The socket closed without `leave`: retry with the resume token until the resume window ends.
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
    c._setState('reconnecting');
    const deadline = Date.now() + (c.opts.reconnectWindowMs ?? c.resumeWindowMs);
    let delay = 250;
    while (!c._left && Date.now() < deadline) {
      try {
        await this.connect(true);
        return;
      } catch (e) {
        const err = /** @type {JoinError} */ (e);
        if (FATAL_JOIN_ERRORS.has(err.code)) {
          c._emit('error', { code: err.code, message: err.message, fatal: true });
          c._shutdown(err.code);
          return;
        }
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 3000);
    }
    if (!c._left) c._shutdown('disconnected');
  }

  startPings() {
    if (this._pingTimer) return;
    this._pingTimer = setInterval(() => this.send({ type: 'ping', ts: Date.now() }), 15_000);
  }

  /** @param {Record<string, unknown>} msg @returns {boolean} whether it went out */
  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
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
    if (this.ws) { this.ws.onclose = null; try { this.ws.close(1000); } catch { /* closed */ } }
    this.ws = null;
  }
}
