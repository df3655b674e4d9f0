// Convene web app: a confirmation before what cannot be undone (removing someone, ending the meeting for
// all). A modal dialog: Cancel has the focus first, and Escape cancels.
import { $ } from './dom.js';
import { liveText } from './i18n.js';

/**
 * Asks; resolves true when the person confirmed.
 * @param {{ title: () => string, text: () => string, ok: () => string }} what
 * @returns {Promise<boolean>}
 */
export function confirmAction(what) {
  const dialog = /** @type {HTMLDialogElement} */ ($('confirm'));
  const ok = $('confirm-ok');
  const cancel = $('confirm-cancel');
  liveText($('confirm-title'), what.title);
  liveText($('confirm-text'), what.text);
  liveText(ok, what.ok);
  return new Promise((resolve) => {
    /** @param {boolean} answer */
    const done = (answer) => {
      ok.onclick = null;
      cancel.onclick = null;
      dialog.onclose = null;
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    ok.onclick = () => done(true);
    cancel.onclick = () => done(false);
    dialog.onclose = () => done(false); // Escape
    dialog.showModal();
    cancel.focus();
  });
}
