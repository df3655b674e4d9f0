// Convene web app: files shared in the meeting. A paperclip in the chat and a drop anywhere on the meeting
// share files (an upload bar each, with Cancel); every file shows in the chat for everyone (name, size,
// type, who, when, a download button, a preview for images) and in the Files tab. Hosts and co-hosts
// delete a file for everyone. The server checks everything again; the size check here only saves sending
// bytes it would refuse.
import { moderates } from '/sdk/convene.js';
import { $, h } from './dom.js';
import { t, formatTime, locale } from './i18n.js';
import { errorText } from './errors.js';

/** @typedef {import('/sdk/convene.js').Convene} Convene */
/** @typedef {import('/sdk/convene.js').SharedFile} SharedFile */
/** @typedef {import('./meeting.js').MeetingUI} MeetingUI */

/** A file's size in the current language (B, kB, MB, GB). @param {number} bytes */
export function formatSize(bytes) {
  const units = /** @type {const} */ (['byte', 'kilobyte', 'megabyte', 'gigabyte']);
  let n = bytes;
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return new Intl.NumberFormat(locale(), { style: 'unit', unit: units[i], unitDisplay: 'short', maximumFractionDigits: i ? 1 : 0 }).format(n);
}

/**
 * One shared file as a chat entry or a row of the Files list: built with DOM APIs only (a name is text, never markup).
 * @param {Convene} c @param {SharedFile} f
 */
export function fileCard(c, f) {
  const own = f.from === c.participantId;
  const link = h('a', { class: 'btn small', href: c.fileUrl(f.id), download: f.name, text: t('files.download') });
  const parts = [
    h('div', { class: 'meta' }, [h('strong', { text: own ? t('chat.you') : f.from_name }), h('time', { text: formatTime(f.shared_at), datetime: new Date(f.shared_at).toISOString() })]),
  ];
  if (f.preview) parts.push(h('img', { class: 'file-preview', src: c.fileUrl(f.id, true), alt: t('files.preview_alt', { name: f.name }), loading: 'lazy' }));
  parts.push(h('div', { class: 'file-name', text: f.name }));
  parts.push(h('div', { class: 'file-info', text: `${formatSize(f.size)} · ${f.content_type}` }));
  const actions = h('div', { class: 'file-actions' }, [link]);
  if (moderates(c.me?.role)) {
    const del = h('button', { class: 'btn small danger', type: 'button', 'data-delete': f.id, text: t('files.delete') });
    del.addEventListener('click', () => c.deleteFile(f.id));
    actions.append(del);
  }
  parts.push(actions);
  return h('li', { class: `file${own ? ' own' : ''}`, 'data-file': f.id }, parts);
}

/** Adds a file to the chat list (once). @param {Convene} c @param {SharedFile} f */
export function appendFile(c, f) {
  const list = $('chat-list');
  if (list.querySelector(`[data-file="${CSS.escape(f.id)}"]`)) return;
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(fileCard(c, f));
  if (atBottom || f.from === c.participantId) list.scrollTop = list.scrollHeight;
}

export class FilesUI {
  /** @param {MeetingUI} ui */
  constructor(ui) {
    this.ui = ui;
    const c = ui.c;
    const input = /** @type {HTMLInputElement} */ ($('file-input'));
    ui.listen($('chat-attach'), 'click', () => input.click());
    ui.listen(input, 'change', () => { for (const f of input.files || []) this.share(f); input.value = ''; });
    const screen = $('meeting');
    ui.listen(screen, 'dragover', (e) => {
      if (!e.dataTransfer?.types.includes('Files')) return;
      e.preventDefault();
      $('drop-hint').hidden = false;
    });
    ui.listen(screen, 'dragleave', (e) => { if (e.target === $('drop-hint')) $('drop-hint').hidden = true; });
    ui.listen(screen, 'drop', (e) => {
      e.preventDefault();
      $('drop-hint').hidden = true;
      for (const f of e.dataTransfer?.files || []) this.share(f);
    });
    ui.listen(c, 'fileshared', (e) => {
      appendFile(c, e.detail.file);
      this.renderList();
      if (ui.panel !== 'chat' && !e.detail.own) { ui.unread++; ui.paintUnread(); }
    });
    ui.listen(c, 'filedeleted', (e) => {
      $('chat-list').querySelector(`[data-file="${CSS.escape(e.detail.file.id)}"]`)?.remove();
      this.renderList();
    });
  }

  /** The Files tab: every shared file, newest first. */
  renderList() {
    const c = this.ui.c;
    const items = [...c.files].reverse().map((f) => fileCard(c, f));
    $('files-list').replaceChildren(...items);
    $('files-empty').hidden = items.length > 0;
  }

  /** Uploads one file with its bar (progress, Cancel); a failure says why and offers to try again. @param {File} file */
  share(file) {
    const bar = /** @type {HTMLProgressElement} */ (h('progress', { max: '1', value: '0' }));
    const cancel = h('button', { class: 'btn small', type: 'button', text: t('files.cancel') });
    const row = h('li', { class: 'upload' }, [h('span', { class: 'upload-name', text: t('files.uploading', { name: file.name }) }), bar, cancel]);
    $('uploads').append(row);
    const job = this.ui.c.shareFile(file, (sent, total) => { bar.value = total ? sent / total : 0; });
    cancel.addEventListener('click', () => job.cancel());
    job.done.then(() => row.remove(), (/** @type {any} */ err) => {
      if (err.code === 'aborted') { row.remove(); return; }
      // Kept with why, and a way to start it again (an upload that failed left nothing on the server).
      const reason = err.code === 'network' ? t('files.broke_off') : errorText(err.code, err.message);
      const retry = h('button', { class: 'btn small', type: 'button', text: t('files.retry') });
      const dismiss = h('button', { class: 'btn small', type: 'button', text: t('files.dismiss') });
      retry.addEventListener('click', () => { row.remove(); this.share(file); });
      dismiss.addEventListener('click', () => row.remove());
      row.className = 'upload failed';
      row.replaceChildren(h('span', { class: 'upload-name', role: 'alert', text: t('files.not_shared', { name: file.name, reason }) }), retry, dismiss);
    });
  }
}
