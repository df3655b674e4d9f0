// Convene web app: changing one's password (`/?view=password`). The server signs out every other
// browser of the account and gives this one a new session, so the page stays signed in.
import { $, show } from './dom.js';
import { api, me, ApiError } from './api.js';
import { t, liveText } from './i18n.js';
import { errorText } from './errors.js';

/** Which field each refusal concerns; any other shows under the form. @type {Record<string, string>} */
const FIELD_OF = { invalid_credentials: 'current', weak_password: 'new' };

export async function initPassword() {
  const user = await me();
  if (!user) {
    location.replace('/?auth=signin');
    return;
  }
  show('passwd');
  document.title = `${t('passwd.title')} · ${t('app.name')}`;
  const input = (/** @type {string} */ f) => /** @type {HTMLInputElement} */ ($(`cp-${f}`));
  /** @param {string} field @param {(() => string) | null} [msg] */
  const setError = (field, msg) => {
    const el = $(field === 'form' ? 'passwd-error' : `cp-${field}-error`);
    liveText(el, msg || null);
    el.hidden = !msg;
    if (field !== 'form') input(field).setAttribute('aria-invalid', String(!!msg));
  };
  $('passwd-form').onsubmit = async (e) => {
    e.preventDefault();
    for (const f of ['current', 'new', 'form']) setError(f);
    $('passwd-done').hidden = true;
    const submit = /** @type {HTMLButtonElement} */ ($('passwd-submit'));
    submit.disabled = true;
    try {
      await api('POST', '/api/v1/auth/password', { current_password: input('current').value, new_password: input('new').value });
    } catch (err) {
      const e2 = err instanceof ApiError ? err : new ApiError(0, 'error', String(err));
      const field = FIELD_OF[e2.code] || 'form';
      setError(field, () => errorText(e2.code, e2.message));
      if (field !== 'form') input(field).focus();
      return;
    } finally {
      submit.disabled = false;
    }
    input('current').value = '';
    input('new').value = '';
    $('passwd-done').hidden = false;
  };
  input('current').focus();
}
