// Convene web app: the zh catalogue (see ../i18n.js). Keys are grouped by screen.
export default {
  'app.name': 'Convene',

  // -- In the meeting: quality, sharing, reactions, invite, shortcuts, audio output (issue 19) --
};
