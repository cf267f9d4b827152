// The dashboard shell: sign-in, navigation and the hash router.
import { alertsView } from './alerts.js';
import { api, rootKey, signIn, signOut } from './api.js';
import { auditView } from './audit.js';
import { consumerView } from './consumer.js';
import { consumersView } from './consumers.js';
import { problemBox, replace } from './dom.js';
import { incidentsView, incidentView } from './incidents.js';
import { overviewView } from './overview.js';
import { rotationsView, rotationView } from './rotations.js';

const ROUTES = [
  [/^\/overview$/, overviewView],
  [/^\/consumers$/, consumersView],
  [/^\/consumers\/([^/]+)$/, consumerView],
  [/^\/rotations$/, rotationsView],
  [/^\/rotations\/([^/]+)$/, rotationView],
  [/^\/alerts$/, alertsView],
  [/^\/incidents$/, incidentsView],
  [/^\/incidents\/([^/]+)$/, incidentView],
  [/^\/audit$/, auditView],
];

const $ = (id) => document.getElementById(id);

/** Shows the view of the current hash (or the sign-in form when there is no key). */
function render() {
  const signedIn = rootKey() !== null;
  $('sign-in').hidden = signedIn;
  $('nav').hidden = !signedIn;
  $('sign-out').hidden = !signedIn;
  const view = $('view');
  replace(view);
  if (!signedIn) return $('root-key').focus();
  const path = location.hash.slice(1) || '/overview';
  for (const a of $('nav').querySelectorAll('a')) a.classList.toggle('active', path.startsWith(a.hash.slice(1)));
  for (const [pattern, show] of ROUTES) {
    const match = pattern.exec(path);
    if (match) return show(view, ...match.slice(1).map(decodeURIComponent));
  }
  location.hash = '#/overview';
}

$('sign-in').addEventListener('submit', async (event) => {
  event.preventDefault();
  const key = $('root-key').value.trim();
  signIn(key);
  try {
    await api('GET', '/v1/consumers?limit=1');
  } catch (err) {
    if (err.status === 401 || err.status === 0) {
      signOut();
      replace($('sign-in-error'), problemBox(err));
      render();
      return;
    }
  }
  $('root-key').value = '';
  replace($('sign-in-error'));
  render();
});

$('sign-out').addEventListener('click', () => {
  signOut();
  location.hash = '';
  render();
});

window.addEventListener('keyroll:signed-out', (event) => {
  replace($('sign-in-error'), problemBox({ code: 'UNAUTHORIZED', detail: `Signed out: ${event.detail}` }));
  render();
});
window.addEventListener('hashchange', render);
render();
