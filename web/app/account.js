// Convene web app: accounts — the sign-in and sign-up form (the server's refusals shown next to the field
// they concern), and the account line of the home screen (name, "My meetings", "Sign out").
// `next` brings the user back where they came from after signing in: a meeting link of this app only.
import { $, show } from './dom.js';
import { api, me, forgetMe, ApiError } from './api.js';

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
  $('acct-name').textContent = user.display_name;
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
  document.title = `${signup ? 'Sign up' : 'Sign in'} · Convene`;
  $('auth-title').textContent = signup ? 'Create an account' : 'Sign in';
  $('auth-submit').textContent = signup ? 'Sign up' : 'Sign in';
  $('f-name-row').hidden = !signup;
  $('f-password').setAttribute('autocomplete', signup ? 'new-password' : 'current-password');
  $('auth-other-text').textContent = signup ? 'Have an account?' : 'No account yet?';
  const other = /** @type {HTMLAnchorElement} */ ($('auth-other'));
  other.textContent = signup ? 'Sign in' : 'Sign up';
  other.href = authHref(signup ? 'signin' : 'signup', back || undefined);
  $('auth-next').textContent = back ? 'You will go back to the meeting afterwards.' : '';
  $('auth-next').hidden = !back;
  const fields = ['name', 'email', 'password'];
  /** @param {string} field @param {string} [msg] */
  const setError = (field, msg) => {
    const el = $(field === 'form' ? 'auth-error' : `f-${field}-error`);
    el.textContent = msg || '';
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
      setError(field, e2.message);
      if (field !== 'form') $(`f-${field}`).focus();
      submit.disabled = false;
      return;
    }
    forgetMe();
    location.href = back || '/';
  };
  $(signup ? 'f-name' : 'f-email').focus();
}
