// Convene web app: the "My meetings" screen — planning (plan.js) and the records (past.js) of the
// signed-in account. Signed out, it leads to the sign-in form.
import { $, show } from './dom.js';
import { me } from './api.js';
import { initPlan, loadPlanned } from './plan.js';
import { loadPast } from './past.js';
import { t, liveText, onLanguageChange } from './i18n.js';
import { reasonOf } from './errors.js';

export async function initMine() {
  const user = await me();
  if (!user) { location.href = '/?auth=signin'; return; }
  show('mine');
  const title = () => { document.title = `${t('account.mine')} · ${t('app.name')}`; };
  title();
  onLanguageChange(title);
  $('mine-who').textContent = `${user.display_name} (${user.email})`;
  const fail = (/** @type {unknown} */ e) => {
    liveText($('mine-error'), () => t('mine.load_failed', { reason: reasonOf(e) }));
    $('mine-error').hidden = false;
  };
  initPlan(() => { loadPlanned().catch(fail); });
  await loadPlanned().then((titles) => loadPast(titles, user.is_admin)).catch(fail);
}
