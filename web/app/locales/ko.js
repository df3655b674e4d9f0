// Convene web app: the ko catalogue (see ../i18n.js). Keys are grouped by screen.
export default {
  'app.name': 'Convene',
};
