// Convene browser SDK: files shared in the meeting (docs/protocol.md, *Files*). The bytes travel over HTTP
// with the file token from `joined`; the WebSocket announces them (`file_shared`, `file_deleted`).

/** @typedef {import('./convene.js').Convene} Convene */
/** @typedef {import('./types.js').SharedFile} SharedFile */

/** A refused or failed upload: `code` is the server's error code (`file_too_large`, ...), or `aborted`/`network`. */
export class FileError extends Error {
  /** @param {string} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.name = 'FileError';
    this.code = code;
  }
}

/** `joined`: the meeting's files and how to reach them. @param {Convene} c @param {any} msg */
export function onJoinedFiles(c, msg) {
  c.files = [...(msg.files || [])];
  c.fileAccess = msg.file_access || null;
}

/** @param {Convene} c @param {any} msg */
export function onFileShared(c, msg) {
  if (!c.files.some((f) => f.id === msg.file.id)) c.files.push(msg.file);
  c._emit('fileshared', { file: msg.file, own: msg.file.from === c.participantId });
}

/** @param {Convene} c @param {any} msg */
export function onFileDeleted(c, msg) {
  const file = c.files.find((f) => f.id === msg.file_id);
  c.files = c.files.filter((f) => f.id !== msg.file_id);
  if (file) c._emit('filedeleted', { file });
}

/** The HTTP origin of the server the client talks to (its WebSocket's). @param {Convene} c */
function base(c) {
  if (!c.opts.url) return '';
  const u = new URL(c.opts.url, location.href);
  return `${u.protocol === 'wss:' ? 'https:' : 'http:'}//${u.host}`;
}

/** @param {Convene} c @param {string} id @param {boolean} preview */
export function fileUrl(c, id, preview) {
  const token = c.fileAccess ? `?token=${encodeURIComponent(c.fileAccess.token)}` : '';
  return `${base(c)}/api/v1/files/${encodeURIComponent(id)}${preview ? '/preview' : ''}${token}`;
}

/**
 * Uploads `file` (streamed by the browser). Refuses at once, without sending a byte, a file over the
 * server's limit per file. `onProgress(sent, total)` follows the upload; `cancel()` stops it.
 * @param {Convene} c @param {Blob & { name?: string }} file @param {(sent: number, total: number) => void} [onProgress]
 * @returns {{ done: Promise<SharedFile>, cancel: () => void }}
 */
export function upload(c, file, onProgress) {
  const xhr = new XMLHttpRequest();
  const done = new Promise((resolve, reject) => {
    const access = c.fileAccess;
    if (!access) { reject(new FileError('forbidden', 'this server takes no files')); return; }
    if (file.size > access.max_file_bytes) {
      reject(new FileError('file_too_large', `the file is larger than ${access.max_file_bytes} bytes`));
      return;
    }
    xhr.open('POST', `${base(c)}/api/v1/files?name=${encodeURIComponent(file.name || 'file')}`);
    xhr.setRequestHeader('Authorization', `Bearer ${access.token}`);
    xhr.responseType = 'json';
    xhr.upload.onprogress = (e) => onProgress?.(e.loaded, e.total || file.size);
    xhr.onload = () => {
      const body = xhr.response || {};
      if (xhr.status === 201) resolve(body);
      else reject(new FileError(body.error?.code || 'internal_error', body.error?.message || `HTTP ${xhr.status}`));
    };
    xhr.onerror = () => reject(new FileError('network', 'the upload broke off'));
    xhr.onabort = () => reject(new FileError('aborted', 'the upload was cancelled'));
    xhr.send(file);
  });
  return { done, cancel: () => xhr.abort() };
}
