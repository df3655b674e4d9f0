// Convene web app: "You are sharing your screen" with a Stop button, shown while you share. Your own
// screen gets no tile (a tile showing the screen it is on repeats itself: a hall of mirrors); this bar
// stands for it. It also goes when the browser's own "Stop sharing" ends the share (the SDK hears the
// track's `ended` and emits `localtrackchanged`).
import { $ } from './dom.js';

/** @typedef {import('./meeting.js').MeetingUI} MeetingUI */

/** @param {MeetingUI} ui */
export function bindShareBar(ui) {
  ui.listen($('share-stop'), 'click', async () => {
    await ui.c.stopScreenShare();
    ui.paintControls();
    ui.syncAll();
    $('c-screen').focus();
  });
  ui.cleanup.push(() => { $('share-bar').hidden = true; });
}

/** @param {MeetingUI} ui */
export function paintShareBar(ui) {
  $('share-bar').hidden = !ui.c.localTracks.screen;
}
