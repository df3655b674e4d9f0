// Convene web app: accounts — the sign-in and sign-up form (the server's refusals shown next to the field
// they concern), and the account line of the home screen (name, "My meetings", "Sign out").
// `next` brings the user back where they came from after signing in: a meeting link of this app only.
import { $, show } from './dom.js';
import { api, me, forgetMe, ApiError } from './api.js';
import { t, tNodes, liveText, onLanguageChange } from './i18n.js';
import { errorText } from './errors.js';

/** Which field each refusal concerns; any other shows under the form. @type {Record<string, string>} */
const FIELD_OF = {
  invalid_email: 'email', email_taken: 'email', weak_password: 'password', invalid_credentials: 'password',
  invalid_display_name: 'name',
};

/** A path to return to after signing in: a meeting of this app, nothing else (no open redirect). @param {string | null} next */
export function safeNext(next) {
  return next && /^\/r\/[^/]+$/.test(next) ? next : null;
}

/** The address of the sign-in form that returns to `next` afterwards. @param {'signin' | 'signup'} mode @param {string} [next] */
export function authHref(mode, next) {
  return `/?auth=${mode}${next ? `&next=${encodeURIComponent(next)}` : ''}`;
}

/** The account line of the home screen. */
export async function initAccountBar() {
  const user = await me();
  $('acct-out').hidden = !!user;
  $('acct-in').hidden = !user;
  if (!user) return;
  const name = $('acct-name');
  name.textContent = user.display_name;
  const paint = () => $('acct-line').replaceChildren(...tNodes('account.signed_in_as', { name }));
  paint();
  onLanguageChange(paint);
  $('sign-out').onclick = async () => {
    try { await api('POST', '/api/v1/auth/signout'); } catch { /* signed out already, or unreachable: reloading shows which */ }
    forgetMe();
    location.href = '/';
  };
}

/** The sign-in (or sign-up) form. @param {'signin' | 'signup'} mode @param {string | null} next */
export function initAuth(mode, next) {
  show('auth');
  const signup = mode === 'signup';
  const back = safeNext(next);
  const paint = () => {
    document.title = `${signup ? t('account.signup') : t('account.signin')} · ${t('app.name')}`;
    $('auth-title').textContent = signup ? t('auth.create_title') : t('account.signin');
    $('auth-submit').textContent = signup ? t('account.signup') : t('account.signin');
    $('auth-other-text').textContent = signup ? t('auth.have_account') : t('auth.no_account');
    $('auth-other').textContent = signup ? t('account.signin') : t('account.signup');
    $('auth-next').textContent = back ? t('auth.next') : '';
  };
  paint();
  onLanguageChange(paint);
  $('f-name-row').hidden = !signup;
  $('f-password').setAttribute('autocomplete', signup ? 'new-password' : 'current-password');
  /** @type {HTMLAnchorElement} */ ($('auth-other')).href = authHref(signup ? 'signin' : 'signup', back || undefined);
  $('auth-next').hidden = !back;
  const fields = ['name', 'email', 'password'];
  /** @param {string} field @param {(() => string) | null} [msg] */
  const setError = (field, msg) => {
    const el = $(field === 'form' ? 'auth-error' : `f-${field}-error`);
    liveText(el, msg || null);
    el.hidden = !msg;
    if (field !== 'form') $(`f-${field}`).setAttribute('aria-invalid', String(!!msg));
  };
  const value = (/** @type {string} */ f) => /** @type {HTMLInputElement} */ ($(`f-${f}`)).value;
  $('auth-form').onsubmit = async (e) => {
    e.preventDefault();
    for (const f of [...fields, 'form']) setError(f);
    const body = signup
      ? { email: value('email').trim(), password: value('password'), display_name: value('name').trim() }
      : { email: value('email').trim(), password: value('password') };
    const submit = /** @type {HTMLButtonElement} */ ($('auth-submit'));
    submit.disabled = true;
    try {
      await api('POST', `/api/v1/auth/${signup ? 'signup' : 'signin'}`, body);
    } catch (err) {
      const e2 = err instanceof ApiError ? err : new ApiError(0, 'error', String(err));
      const field = FIELD_OF[e2.code] || 'form';
      setError(field, () => errorText(e2.code, e2.message));
      if (field !== 'form') $(`f-${field}`).focus();
      submit.disabled = false;
      return;
    }
    forgetMe();
    location.href = back || '/';
  };
  $(signup ? 'f-name' : 'f-email').focus();
}
