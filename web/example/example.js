// The smallest useful Convene client: join a room, show everyone's camera, play their audio.
import { Convene } from '/sdk/convene.js';

/** @template {HTMLElement} T @param {string} id @returns {T} */
const $ = (id) => /** @type {T} */ (document.getElementById(id));
/** @type {Convene | null} */
let client = null;

$('form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const room = /** @type {HTMLInputElement} */ ($('room')).value.trim().toLowerCase();
  const displayName = /** @type {HTMLInputElement} */ ($('name')).value.trim();
  const c = new Convene({ room, displayName });
  client = c;
  /** @type {Map<string, HTMLElement>} */
  const figures = new Map();

  c.on('connectionstatechange', (ev) => { $('status').textContent = `Connection: ${ev.detail.state}`; });
  c.on('trackadded', (ev) => {
    const t = ev.detail;
    if (t.kind === 'audio') {
      const a = new Audio();
      a.srcObject = t.stream;
      a.play().catch(() => {});
      return;
    }
    const video = document.createElement('video');
    const fig = document.createElement('figure');
    const cap = document.createElement('figcaption');
    cap.textContent = `${c.participants.get(t.participantId)?.display_name ?? t.participantId} (${t.source})`;
    fig.append(video, cap);
    $('videos').append(fig);
    figures.set(t.mid, fig);
    c.attachVideo(video, t); // plays it and reports its size to the server (adaptive quality)
  });
  c.on('trackremoved', (ev) => { figures.get(ev.detail.mid)?.remove(); figures.delete(ev.detail.mid); });
  c.on('closed', () => { $('videos').replaceChildren(); /** @type {HTMLButtonElement} */ ($('leave')).disabled = true; });

  try {
    await c.join();
    /** @type {HTMLButtonElement} */ ($('leave')).disabled = false;
    const self = document.createElement('video');
    self.muted = true;
    self.autoplay = true;
    if (c.localTracks.camera) self.srcObject = new MediaStream([c.localTracks.camera]);
    const fig = document.createElement('figure');
    const cap = document.createElement('figcaption');
    cap.textContent = `${displayName} (you)`;
    fig.append(self, cap);
    $('videos').prepend(fig);
  } catch (err) {
    $('status').textContent = `Could not join: ${/** @type {Error} */ (err).message}`;
  }
});

$('leave').addEventListener('click', () => client?.leave());
