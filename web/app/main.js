// Convene web app: the router. /r/<room> opens the prejoin screen (or joins at once), anything else the
// home screen (with its account views: sign in, sign up, My meetings). Built only on the SDK in
// /sdk/convene.js; screens live in home.js, account.js, mine.js, prejoin.js, meeting.js.
import { canonicalRoomName } from '/sdk/convene.js';
import { show } from './dom.js';
import { t, translateDom } from './i18n.js';
import { roomNameError } from './errors.js';
import { initLanguagePickers } from './language-picker.js';
import { initHome, showHomeError, decodePath, roomPath, roomNotice } from './home.js';
import { initPrejoin } from './prejoin.js';
import { initAccountBar, initAuth } from './account.js';
import { initPassword } from './password.js';
import { initMine } from './mine.js';

translateDom();
initLanguagePickers();
const path = location.pathname;
const roomMatch = path.match(/^\/r\/([^/]+)/);
if (roomMatch) {
  const r = canonicalRoomName(decodePath(roomMatch[1]));
  if (!r.name) {
    show('home');
    initHome();
    const raw = decodePath(roomMatch[1]);
    showHomeError(() => t('home.bad_link', { reason: roomNameError(raw) || t('error.invalid_room_name') }));
    initAccountBar();
  } else {
    // The address bar shows the canonical link (percent-encoded; browsers display it decoded).
    if (r.changed) history.replaceState(null, '', `${roomPath(r.name)}${location.search}${location.hash}`);
    initPrejoin(r.name, { notice: () => roomNotice(r), lossy: r.lossy });
  }
} else {
  // The home page's views: `?auth=signin|signup` (with `next`, a meeting to go back to), `?view=mine`.
  const q = new URLSearchParams(location.search);
  const auth = q.get('auth');
  if (auth === 'signin' || auth === 'signup') initAuth(auth, q.get('next'));
  else if (q.get('view') === 'mine') initMine();
  else if (q.get('view') === 'password') initPassword();
  else {
    show('home');
    initHome();
    initAccountBar();
  }
}
