// Convene web app: the router. /r/<room> opens the prejoin screen (or joins at once), anything else the
// home screen. Built only on the SDK in /sdk/convene.js; screens live in home.js, prejoin.js, meeting.js.
import { show } from './dom.js';
import { initHome, normalizeRoom, showHomeError } from './home.js';
import { initPrejoin } from './prejoin.js';

const path = location.pathname;
const roomMatch = path.match(/^\/r\/([^/]+)/);
if (roomMatch) {
  const room = normalizeRoom(decodeURIComponent(roomMatch[1]));
  if (!room) { show('home'); showHomeError('That meeting name is not valid: use letters, digits, - and _.'); initHome(); }
  else initPrejoin(room);
} else {
  show('home');
  initHome();
}
