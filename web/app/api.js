// Convene web app: the server's JSON API from the app's own pages (same origin: the session cookie goes
// along, and the server's Origin check passes). Every failure becomes an ApiError with the server's code
// (and message, for logs), so a screen can say why, by code (errors.js), next to the field it concerns.

/** @typedef {{ id: number, email: string, display_name: string, is_admin: boolean }} User */

export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * One request; the parsed JSON answer (null for 204). A refusal throws ApiError; so does an unreachable server.
 * @param {'GET' | 'POST' | 'PATCH'} method @param {string} path @param {unknown} [body]
 * @returns {Promise<any>}
 */
export async function api(method, path, body) {
  /** @type {Response} */
  let r;
  try {
    r = await fetch(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, 'unreachable', 'fetch failed'); // shown by code (errors.js)
  }
  if (r.status === 204) return null;
  const data = await r.json().catch(() => null);
  if (r.ok) return data;
  const err = data && typeof data === 'object' ? data.error : null;
  throw new ApiError(r.status, err?.code || `http_${r.status}`, err?.message || `HTTP ${r.status}`);
}

/** @type {Promise<User | null> | null} */
let current = null;

/** The signed-in account, or null (asked once per page; `forget` after signing in or out). @returns {Promise<User | null>} */
export function me() {
  current ??= api('GET', '/api/v1/auth/me').then((d) => /** @type {User} */ (d.user)).catch(() => null);
  return current;
}

export function forgetMe() { current = null; }
