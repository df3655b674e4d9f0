// Convene web app: the en catalogue (see ../i18n.js). Keys are grouped by screen.
export default {
  'app.name': 'Convene',
};
