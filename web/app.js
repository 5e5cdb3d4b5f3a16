// app: the webmail's state, its routes (location.hash) and its keys.
//
// Why routes live in the hash: a reload, the back button and a bookmark
// all land on the same folder and message, with no server routes for
// them. The hash is the one source of truth: a click changes it, and
// route() draws what it names:
//   #/mailbox/<id>[/<emailId>]   a folder, and a message open in it
//   #/search/<words>[/<emailId>] search over every folder
//   #/compose                    a new message (reply/forward come from keys or buttons)
//   #/settings[/rules|/vacation|/scripts]   settings; the mail filter pages
// Boot: with a CSRF token kept in sessionStorage and a session cookie
// that still works, the app opens; otherwise the login form.
// The list shows messages or conversations (the Threads button, kept in
// localStorage): the route is the same, its <emailId> is the row's email,
// and with conversations on the reader shows that email's whole thread.
import { JmapClient, JmapError, SUBMISSION, CORE } from './jmap.js';
import { parseSearch } from './search.js';
import { h, byId, replace } from './views/dom.js';
import { showLogin } from './views/login.js';
import { renderFolders, mailboxLabel } from './views/folders.js';
import { MessageList } from './views/list.js';
import { fetchEmail, renderEmail } from './views/reader.js';
import { fetchConversation, pickExpanded, renderConversation } from './views/thread.js';
import { ImageSenders } from './images.js';
import { renderCompose } from './views/compose.js';
import { renderSettings } from './views/settings.js';
import { renderRules } from './views/rules.js';
import { renderVacation } from './views/vacation.js';
import { renderSieveEditor } from './views/sieve_editor.js';
import { setKeyword, moveTo, remove, markJunk } from './actions.js';

/** @typedef {import('./views/folders.js').Mailbox} Mailbox */

const SORTS = { date: 'receivedAt', from: 'from', subject: 'subject', size: 'size' };
const THREADS_KEY = 'tern.threads';

/** Whether the list showed conversations last time (localStorage may be off). */
function threadsKept() {
  try { return localStorage.getItem(THREADS_KEY) === '1'; } catch (_) { return false; }
}

const client = new JmapClient();
const root = byId('app');

const state = {
  /** @type {Mailbox[]} */
  mailboxes: [],
  /** @type {import('./views/compose.js').Identity | undefined} */
  identity: undefined,
  /** the list's source: a mailbox id or search words */
  source: '',
  /** @type {any} the open message (in a conversation: the expanded one) */
  email: null,
  /** the route's email id that the reader shows (a conversation's row) */
  shown: '',
  /** @type {import('./views/thread.js').Conversation | null} the open conversation */
  conversation: null,
  /** one row per thread */
  threads: threadsKept(),
  /** @type {ImageSenders | null} the senders whose remote images load at once */
  senders: null,
  sort: { property: 'receivedAt', isAscending: false },
  /** @type {EventSource | null} */
  events: null,
  /** @type {{ close: () => void } | null} */
  compose: null,
};

/** @type {MessageList} */
let list;
/** @type {Record<string, HTMLElement>} */
let ui = {};

function role(/** @type {string} */ r) {
  return state.mailboxes.find((m) => m.role === r);
}

/** A short message at the bottom of the page. @param {string} text */
function notify(text) {
  if (!ui.notice) return;
  ui.notice.textContent = text;
  ui.notice.hidden = !text;
  clearTimeout(/** @type {any} */ (notify).timer);
  /** @type {any} */ (notify).timer = setTimeout(() => { ui.notice.hidden = true; }, 6000);
}

function parseHash() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map((p) => { try { return decodeURIComponent(p); } catch (_) { return ''; } });
  return { view: parts[0] || '', arg: parts[1] || '', emailId: parts[2] || '' };
}

/** @param {string} view @param {string} [arg] @param {string} [emailId] */
function go(view, arg, emailId) {
  const hash = '#/' + [view, arg, emailId].filter((x) => x).map((x) => encodeURIComponent(/** @type {string} */ (x))).join('/');
  if (location.hash === hash) route(); else location.hash = hash;
}

function listRoute() {
  const r = parseHash();
  return r.view === 'search' ? ['search', r.arg] : ['mailbox', r.arg || (role('inbox') || state.mailboxes[0] || { id: '' }).id];
}

/** @param {string} emailId */
function openEmail(emailId) {
  const [view, arg] = listRoute();
  go(view, arg, emailId);
}

async function boot() {
  client.onUnauthorized = () => loggedOut('Your session has ended: log in again.');
  if (!client.csrf) { loggedOut(); return; }
  try {
    await client.loadSession();
  } catch (e) {
    loggedOut(e instanceof JmapError && e.type === 'unauthorized' ? '' : e instanceof Error ? e.message : '');
    return;
  }
  await start();
}

/** @param {string} [why] */
function loggedOut(why) {
  if (state.events) { state.events.close(); state.events = null; }
  if (state.compose) { state.compose.close(); state.compose = null; }
  client.forget();
  ui = {};
  showLogin(root, client, () => { start(); }, why);
}

function layout() {
  const search = h('input', { id: 'search', type: 'search', name: 'q', placeholder: 'Search (from: to: subject: has:attachment before: after:)', autocomplete: 'off' });
  const searchForm = h('form', { class: 'search', role: 'search' },
    h('label', { for: 'search', class: 'visually-hidden' }, 'Search mail'), search);
  searchForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = search.value.trim();
    if (q) go('search', q); else go('mailbox', (role('inbox') || { id: '' }).id);
  });
  const sortSel = h('select', { id: 'sort', 'aria-label': 'Sort by' },
    Object.keys(SORTS).map((k) => h('option', { value: k }, `Sort: ${k}`)));
  const dirBtn = h('button', { type: 'button', id: 'sort-dir', 'aria-label': 'Sort direction' }, '↓');
  sortSel.addEventListener('change', () => {
    state.sort = { property: /** @type {Record<string, string>} */ (SORTS)[sortSel.value], isAscending: sortSel.value !== 'date' && sortSel.value !== 'size' };
    dirBtn.textContent = state.sort.isAscending ? '↑' : '↓';
    reloadList();
  });
  dirBtn.addEventListener('click', () => {
    state.sort = { ...state.sort, isAscending: !state.sort.isAscending };
    dirBtn.textContent = state.sort.isAscending ? '↑' : '↓';
    reloadList();
  });
  const threadBtn = h('button', { type: 'button', id: 'thread-toggle', 'aria-pressed': String(state.threads), title: 'One row per conversation' }, 'Threads');
  threadBtn.addEventListener('click', () => {
    state.threads = !state.threads;
    threadBtn.setAttribute('aria-pressed', String(state.threads));
    try { localStorage.setItem(THREADS_KEY, state.threads ? '1' : '0'); } catch (_) { /* kept for this page only */ }
    /* settings and compose stay as they are (what is typed in them too) */
    const view = parseHash().view;
    if (view === 'settings' || view === 'compose') reloadList(); else route();
  });
  list = new MessageList(client, (id) => openEmail(id), (msg) => notify(msg));
  const folders = h('nav', { id: 'folders', class: 'pane folders-pane', 'aria-label': 'Folders' });
  const listTitle = h('h2', { id: 'list-title' }, '');
  const listPane = h('section', { id: 'list', class: 'pane list-pane', 'aria-labelledby': 'list-title' },
    h('div', { class: 'toolbar' },
      h('button', { type: 'button', class: 'back', onclick: () => showPane('folders') }, '← Folders'),
      listTitle, threadBtn, sortSel, dirBtn),
    list.el);
  const reader = h('section', { id: 'reader', class: 'pane reader-pane', 'aria-label': 'Message' });
  const notice = h('p', { id: 'notice', class: 'notice', role: 'status', hidden: true });
  const top = h('header', { class: 'topbar' },
    h('h1', null, 'tern'), searchForm,
    h('button', { type: 'button', id: 'compose-button', class: 'primary', onclick: () => startCompose('new') }, 'Compose'),
    h('button', { type: 'button', id: 'settings-button', onclick: () => go('settings') }, 'Settings'),
    h('button', { type: 'button', id: 'logout-button', onclick: logout }, 'Log out'));
  replace(root, top, h('div', { class: 'panes' }, folders, listPane, reader), notice);
  ui = { search, folders, listTitle, reader, notice };
  document.body.dataset.view = 'mail';
}

/** The narrow layout shows one pane: which. @param {'folders' | 'list' | 'reader'} pane */
function showPane(pane) {
  document.body.dataset.pane = pane;
}

async function logout() {
  await client.logout().catch(() => {});
  history.replaceState(null, '', location.pathname);
  loggedOut('You have logged out.');
}

async function loadMailboxes() {
  const r = await client.call('Mailbox/get', { ids: null });
  state.mailboxes = r.list || [];
  drawFolders();
}

function drawFolders() {
  const [view, arg] = listRoute();
  renderFolders(ui.folders, state.mailboxes, view === 'mailbox' ? arg : '', (id) => { go('mailbox', id); showPane('list'); });
}

async function loadIdentity() {
  try {
    const r = await client.call('Identity/get', { ids: null }, [CORE, SUBMISSION]);
    const username = client.session ? client.session.username : '';
    state.identity = (r.list || []).find((/** @type {any} */ i) => i.email === username) || (r.list || [])[0];
  } catch (_) {
    state.identity = undefined; /* compose says so when it needs one */
  }
}

async function start() {
  state.senders = new ImageSenders(client.accountId);
  layout();
  try {
    await Promise.all([loadMailboxes(), loadIdentity()]);
  } catch (e) {
    notify(e instanceof Error ? e.message : String(e));
  }
  state.events = client.listen((changed) => {
    if (!changed[client.accountId]) return;
    loadMailboxes().catch(() => {});
    list.refresh();
  });
  if (!location.hash || location.hash === '#' || location.hash === '#/') {
    const inbox = role('inbox');
    history.replaceState(null, '', `#/mailbox/${encodeURIComponent(inbox ? inbox.id : '')}`);
  }
  route();
}

/** What the list shows: a change reloads it. @param {string} view @param {string} arg */
function sourceOf(view, arg) {
  return `${view}:${arg}:${state.sort.property}:${state.sort.isAscending}:${state.threads}`;
}

function reloadList() {
  const [view, arg] = listRoute();
  state.source = sourceOf(view, arg);
  const filter = view === 'search' ? parseSearch(arg) : { inMailbox: arg };
  const m = state.mailboxes.find((x) => x.id === arg);
  ui.listTitle.textContent = view === 'search' ? `Search: ${arg}` : m ? mailboxLabel(m) : '';
  return list.open(filter, state.sort, state.threads);
}

async function route() {
  if (!ui.reader) return;
  const r = parseHash();
  if (state.compose && r.view !== 'compose') { state.compose.close(); state.compose = null; }
  if (r.view === 'settings' && r.arg) {
    const toSettings = () => go('settings');
    if (r.arg === 'rules') renderRules(ui.reader, client, state.mailboxes, toSettings);
    else if (r.arg === 'vacation') renderVacation(ui.reader, client, toSettings);
    else if (r.arg === 'scripts') renderSieveEditor(ui.reader, client, toSettings);
    else { toSettings(); return; }
    showPane('reader');
    return;
  }
  if (r.view === 'settings') {
    renderSettings(ui.reader, client, state.identity, (id) => { state.identity = id; }, back, /** @type {ImageSenders} */ (state.senders),
      state.mailboxes, async () => { await loadMailboxes(); return state.mailboxes; });
    showPane('reader');
    return;
  }
  if (r.view === 'compose') {
    if (!state.compose) startCompose('new');
    return;
  }
  const [view, arg] = listRoute();
  const source = sourceOf(view, arg);
  if (view === 'search') /** @type {HTMLInputElement} */ (ui.search).value = arg;
  if (source !== state.source) {
    drawFolders();
    reloadList();
  }
  if (r.emailId) {
    await showEmail(r.emailId);
  } else {
    state.email = null;
    state.shown = '';
    state.conversation = null;
    list.select('');
    replace(ui.reader, h('p', { class: 'placeholder' }, 'Select a message.'));
    showPane('list');
  }
}

/**
 * Show the message a row names, or with conversations on its thread.
 * @param {string} id the route's email id
 * @param {boolean} [markSeen] false after "Mark unread", which must stay so
 * @param {string} [expandId] in a conversation: the email to expand (else the first unread, or the newest)
 */
async function showEmail(id, markSeen = true, expandId = '') {
  list.select(id);
  showPane('reader');
  let email, conv = null;
  try {
    if (state.threads) {
      conv = await fetchConversation(client, id);
      if (parseHash().emailId !== id) return;
      const c = conv;
      email = await fetchEmail(client, expandId && c.emails.some((e) => e.id === expandId) ? expandId : pickExpanded(c));
    } else {
      email = await fetchEmail(client, id);
    }
  } catch (e) {
    replace(ui.reader, h('p', { class: 'error', role: 'alert' }, e instanceof Error ? e.message : String(e)));
    return;
  }
  if (parseHash().emailId !== id) return; /* another one was asked for meanwhile */
  state.shown = id;
  state.conversation = conv;
  showLoaded(email, markSeen);
}

/** Expand another email of the open conversation. @param {string} emailId */
async function expand(emailId) {
  const conv = state.conversation, shown = state.shown;
  let email;
  try {
    email = await fetchEmail(client, emailId);
  } catch (e) {
    notify(e instanceof Error ? e.message : String(e));
    return;
  }
  if (state.conversation !== conv || state.shown !== shown || parseHash().emailId !== shown) return;
  showLoaded(email, true);
}

/**
 * Draw a fetched message (alone or expanded in its conversation), marking it read.
 * @param {any} email @param {boolean} markSeen
 */
function showLoaded(email, markSeen) {
  state.email = email;
  /* opened is read: shown so at once, told to the server after */
  const wasUnseen = markSeen && (!email.keywords || !email.keywords.$seen);
  const before = email.keywords || {};
  if (wasUnseen) email.keywords = { ...before, $seen: true };
  drawEmail();
  /** @type {HTMLElement | null} */ (ui.reader.querySelector('#message-subject'))?.focus();
  const id = email.id;
  if (wasUnseen) {
    setKeyword(client, id, '$seen', true).then(() => {
      list.patch({ id, keywords: email.keywords });
      loadMailboxes().catch(() => {});
    }).catch((e) => {
      email.keywords = before;
      if (state.email === email) drawEmail();
      notify(e.message);
    });
  }
}

function drawEmail() {
  const email = state.email;
  const kw = email.keywords || {};
  const conv = state.conversation;
  /* the conversation's line for it shows what the full email says */
  const line = conv && conv.emails.find((e) => e.id === email.id);
  if (line) line.keywords = kw;
  /** @type {import('./views/reader.js').ReaderOptions} */
  const opts = {
    mailboxes: state.mailboxes,
    senders: /** @type {ImageSenders} */ (state.senders),
    onBack: () => back(),
    onMove: (mailboxId) => act(() => moveTo(client, email.id, mailboxId), 'Moved.', true),
    actions: [
      { label: 'Reply', key: 'r', run: () => startCompose('reply') },
      { label: 'Reply all', key: 'a', run: () => startCompose('replyAll') },
      { label: 'Forward', key: 'f', run: () => startCompose('forward') },
      { label: kw.$seen ? 'Mark unread' : 'Mark read', run: () => toggle('$seen') },
      { label: kw.$flagged ? 'Unflag' : 'Flag', run: () => toggle('$flagged'), pressed: !!kw.$flagged },
      { label: 'Archive', run: archive },
      { label: 'Junk', run: junk },
      { label: 'Delete', key: '#', run: del },
    ],
  };
  if (conv) renderConversation(ui.reader, client, conv, email, { ...opts, onExpand: (id) => { expand(id); } });
  else renderEmail(ui.reader, client, email, opts);
}

/** Back to the list (u). */
function back() {
  const [view, arg] = listRoute();
  go(view, arg);
}

/**
 * Run an action, tell how it went, and leave the message when it moved.
 * @param {() => Promise<any>} fn @param {string} done @param {boolean} leaves
 */
async function act(fn, done, leaves) {
  const email = state.email, shown = state.shown;
  const next = shown ? list.neighbour(shown, 1) || list.neighbour(shown, -1) : '';
  try {
    await fn();
    notify(done);
  } catch (e) {
    notify(e instanceof Error ? e.message : String(e));
    return;
  }
  loadMailboxes().catch(() => {});
  await list.refresh();
  if (leaves) {
    const [view, arg] = listRoute();
    go(view, arg, next);
  } else if (email && shown) {
    await showEmail(shown, false, email.id);
  }
}

/** @param {string} kw */
function toggle(kw) {
  const email = state.email;
  if (!email) return;
  const on = !(email.keywords && email.keywords[kw]);
  act(() => setKeyword(client, email.id, kw, on), 'Done.', false);
}

function archive() {
  const a = role('archive');
  if (!state.email) return;
  if (!a) { notify('There is no Archive folder.'); return; }
  act(() => moveTo(client, state.email.id, a.id), 'Archived.', true);
}

function junk() {
  const j = role('junk');
  if (!state.email) return;
  if (!j) { notify('There is no Junk folder.'); return; }
  act(() => markJunk(client, state.email.id, j.id), 'Marked as junk.', true);
}

function del() {
  if (!state.email) return;
  const t = role('trash');
  const email = state.email;
  act(async () => { const how = await remove(client, email, t && t.id); notify(how === 'moved' ? 'Moved to Trash.' : 'Deleted.'); }, t && !email.mailboxIds[t.id] ? 'Moved to Trash.' : 'Deleted.', true);
}

/** @param {'new' | 'reply' | 'replyAll' | 'forward'} mode */
function startCompose(mode) {
  if (mode !== 'new' && !state.email) return;
  if (state.compose) state.compose.close();
  const drafts = role('drafts'), sent = role('sent');
  const email = mode === 'new' ? undefined : state.email;
  /* where closing it returns: the message or list it was opened from */
  const [view, arg] = listRoute();
  const from = parseHash().view === 'compose' ? `#/${view}/${encodeURIComponent(arg)}` : location.hash;
  if (location.hash !== '#/compose') history.pushState(null, '', '#/compose');
  showPane('reader');
  state.compose = renderCompose(ui.reader, {
    client, identity: state.identity, draftsId: drafts && drafts.id, sentId: sent && sent.id,
    request: { mode, email },
    onClose: (message) => {
      state.compose = null;
      if (message) notify(message);
      loadMailboxes().catch(() => {});
      if (parseHash().view === 'compose') {
        history.replaceState(null, '', from);
        route();
      }
    },
  });
}

/** Keyboard shortcuts; never while typing in a field. @param {KeyboardEvent} ev */
function onKey(ev) {
  if (!ui.reader || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const t = /** @type {HTMLElement | null} */ (ev.target);
  if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
  /* the message the route names: j pressed twice quickly moves two down,
     even while the first one is still loading */
  const current = parseHash().emailId || state.shown;
  const loaded = !!state.email && state.shown === current;
  /** @type {Record<string, () => void>} */
  const keys = {
    j: () => { const n = list.neighbour(current, 1); if (n) openEmail(n); },
    k: () => { const n = list.neighbour(current, -1); if (n) openEmail(n); },
    /* these act on the open message: never on the previous one while the
       next is loading */
    r: () => { if (loaded) startCompose('reply'); },
    a: () => { if (loaded) startCompose('replyAll'); },
    f: () => { if (loaded) startCompose('forward'); },
    '#': () => { if (loaded) del(); },
    '/': () => ui.search.focus(),
    u: back,
  };
  const fn = keys[ev.key];
  if (!fn || parseHash().view === 'compose' || parseHash().view === 'settings') return;
  ev.preventDefault();
  fn();
}

window.addEventListener('hashchange', () => { route(); });
document.addEventListener('keydown', onKey);
boot();
