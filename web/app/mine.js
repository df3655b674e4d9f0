// Convene web app: the "My meetings" screen — planning (plan.js) and the records (past.js) of the
// signed-in account. Signed out, it leads to the sign-in form.
import { $, show } from './dom.js';
import { me } from './api.js';
import { initPlan, loadPlanned } from './plan.js';
import { loadPast } from './past.js';

export async function initMine() {
  const user = await me();
  if (!user) { location.href = '/?auth=signin'; return; }
  show('mine');
  document.title = 'My meetings · Convene';
  $('mine-who').textContent = `${user.display_name} (${user.email})`;
  const fail = (/** @type {unknown} */ e) => {
    $('mine-error').textContent = `Could not load your meetings: ${e instanceof Error ? e.message : e}`;
    $('mine-error').hidden = false;
  };
  initPlan(() => { loadPlanned().catch(fail); });
  await loadPlanned().then(loadPast).catch(fail);
}
