// The dashboard shell: sign-in, navigation and the hash router.
import { alertsView } from './alerts.js';
import { api, rootKey, signIn, signOut } from './api.js';
import { auditView } from './audit.js';
import { clusterView } from './cluster.js';
import { consumerView } from './consumer.js';
import { consumersView } from './consumers.js';
import { problemBox, replace } from './dom.js';
import { incidentsView, incidentView } from './incidents.js';
import { leaveView } from './lifecycle.js';
import { forgetNames } from './names.js';
import { overviewView } from './overview.js';
import { plansView, planView } from './plans.js';
import { policiesView } from './policies.js';
import { rotationView } from './rotation.js';
import { rotationsView } from './rotations.js';
import { webhooksView, webhookView } from './webhooks.js';

const ROUTES = [
  [/^\/overview$/, overviewView],
  [/^\/consumers$/, consumersView],
  [/^\/consumers\/([^/]+)$/, consumerView],
  [/^\/rotations$/, rotationsView],
  [/^\/rotations\/([^/]+)$/, rotationView],
  [/^\/policies$/, policiesView],
  [/^\/plans$/, plansView],
  [/^\/plans\/([^/]+)$/, planView],
  [/^\/webhooks$/, webhooksView],
  [/^\/webhooks\/([^/]+)$/, webhookView],
  [/^\/alerts$/, alertsView],
  [/^\/incidents$/, incidentsView],
  [/^\/incidents\/([^/]+)$/, incidentView],
  [/^\/cluster$/, clusterView],
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
  leaveView();
  forgetNames();
  replace(view);
  if (!signedIn) return $('root-key').focus();
  const path = location.hash.slice(1) || '/overview';
  for (const a of $('nav').querySelectorAll('a')) {
    const current = path.startsWith(a.hash.slice(1));
    a.classList.toggle('active', current);
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
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
/** Moves the focus to the new view's heading, so keyboard and screen-reader users start there. */
function focusHeading() {
  const heading = $('view').querySelector('h1');
  if (!heading) return;
  heading.tabIndex = -1;
  heading.focus();
}

window.addEventListener('hashchange', async () => {
  await render();
  focusHeading();
});
render();
