// reader: one message, its headers, body, attachments and actions.
//
// Why the body is shown this way: an HTML body is never put into this
// page. The server sanitizes it and serves it at /jmap/html/ with a strict
// CSP of its own, and it is shown in an iframe sandboxed without
// allow-scripts and without allow-same-origin, so even a sanitizer miss
// runs nothing and reaches nothing of the webmail. Remote images stay
// blocked until the user presses "Show remote images" (?images=1), or
// "Always show from <sender>" (images.js keeps the sender). A plain text
// body goes in with textContent.
import { h, replace, addrs, longDate, size } from './dom.js';
import { mailboxLabel } from './folders.js';

export const READ_PROPERTIES = ['id', 'blobId', 'threadId', 'mailboxIds', 'keywords', 'from', 'sender', 'to', 'cc', 'bcc', 'replyTo',
  'subject', 'sentAt', 'receivedAt', 'messageId', 'inReplyTo', 'references', 'size', 'preview', 'hasAttachment',
  'textBody', 'htmlBody', 'attachments', 'bodyValues'];
const BODY_PROPERTIES = ['partId', 'blobId', 'size', 'name', 'type', 'charset', 'disposition', 'cid'];

/**
 * @param {import('../jmap.js').JmapClient} client
 * @param {string} id
 */
export async function fetchEmail(client, id) {
  const r = await client.call('Email/get', {
    ids: [id], properties: READ_PROPERTIES, bodyProperties: BODY_PROPERTIES,
    fetchTextBodyValues: true, maxBodyValueBytes: 1048576,
  });
  const email = r.list && r.list[0];
  if (!email) throw new Error('This message is gone.');
  return email;
}

/** The text of the text/plain parts in textBody. @param {any} email */
export function textOf(email) {
  const parts = (email.textBody || []).filter((/** @type {any} */ p) => (p.type || '').startsWith('text/plain'));
  return parts.map((/** @type {any} */ p) => (email.bodyValues && email.bodyValues[p.partId] ? email.bodyValues[p.partId].value : '')).join('\n');
}

/** @param {any} email */
export function hasHtml(email) {
  return (email.htmlBody || []).some((/** @type {any} */ p) => p.type === 'text/html');
}

/**
 * @typedef {{ label: string, key?: string, run: () => void, pressed?: boolean }} Action
 * @typedef {{ actions: Action[], mailboxes: import('./folders.js').Mailbox[], onMove: (mailboxId: string) => void, onBack: () => void,
 *   senders: import('../images.js').ImageSenders }} ReaderOptions
 */

/** The first From address, lower-cased ('' when none). @param {any} email */
export function senderOf(email) {
  const f = email.from && email.from[0];
  return f && typeof f.email === 'string' ? f.email.trim().toLowerCase() : '';
}

/**
 * The actions bar above a message (or a conversation): back, the actions,
 * and the folder picker for the message they act on.
 * @param {any} email @param {ReaderOptions} opts
 */
export function messageToolbar(email, opts) {
  const picker = h('select', { id: 'move-to', 'aria-label': 'Move to folder' },
    h('option', { value: '' }, 'Move to…'),
    opts.mailboxes.filter((m) => !email.mailboxIds[m.id]).map((m) => h('option', { value: m.id }, mailboxLabel(m))));
  picker.addEventListener('change', () => { if (picker.value) opts.onMove(picker.value); });
  return h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Message actions' },
    h('button', { type: 'button', class: 'back', onclick: opts.onBack }, '← List'),
    opts.actions.map((a) => h('button', {
      type: 'button', onclick: a.run, title: a.key ? `${a.label} (${a.key})` : a.label,
      'aria-keyshortcuts': a.key || null, 'aria-pressed': a.pressed === undefined ? null : String(a.pressed),
    }, a.label)),
    picker);
}

/**
 * An HTML body: the server's sanitized copy in a sandboxed iframe, and
 * the bar that offers its remote images (once, or always from its
 * sender). A sender allowed before gets them at once, with no bar.
 * @param {import('../jmap.js').JmapClient} client @param {any} email
 * @param {import('../images.js').ImageSenders} senders
 */
function htmlBody(client, email, senders) {
  const sender = senderOf(email);
  const allowed = senders.has(sender);
  const frame = h('iframe', {
    class: 'html-body', title: 'Message body',
    sandbox: 'allow-popups allow-popups-to-escape-sandbox',
    referrerpolicy: 'no-referrer', src: client.htmlUrl(email.id, allowed),
  });
  if (allowed) return h('div', { class: 'body' }, frame);
  const once = h('button', { type: 'button', id: 'show-images' }, 'Show remote images');
  const always = sender ? h('button', { type: 'button', id: 'always-images', dataset: { sender } }, `Always show from ${sender}`) : null;
  const status = h('span', { class: 'images-status', role: 'status' });
  const show = () => {
    frame.src = client.htmlUrl(email.id, true);
    once.disabled = true;
    if (always) always.disabled = true;
  };
  once.addEventListener('click', show);
  if (always) {
    always.addEventListener('click', () => {
      status.textContent = senders.add(sender) ? `Images from ${sender} will be shown.` : 'Shown now; this browser could not keep the choice.';
      show();
    });
  }
  // Shown only when the server's sanitizer found remote images in this
  // body (its X-Tern-Remote-Images header; a HEAD asks without a body).
  const bar = h('div', { class: 'images-bar', hidden: true }, h('span', null, 'Remote images are blocked.'), once, always, status);
  fetch(client.htmlUrl(email.id, false), { method: 'HEAD', credentials: 'same-origin' })
    .then((r) => { if (r.headers.get('X-Tern-Remote-Images') === '1') bar.hidden = false; })
    .catch(() => {});
  return h('div', { class: 'body' }, bar, frame);
}

/**
 * A message's headers, attachments and body (without its subject).
 * @param {import('../jmap.js').JmapClient} client @param {any} email
 * @param {import('../images.js').ImageSenders} senders
 * @returns {HTMLElement[]}
 */
export function messageContent(client, email, senders) {
  const header = (/** @type {string} */ label, /** @type {string} */ value) => value
    ? h('div', { class: 'hdr' }, h('dt', null, label), h('dd', null, value)) : null;
  const body = hasHtml(email) ? htmlBody(client, email, senders) : h('pre', { class: 'body text-body' }, textOf(email));
  const atts = (email.attachments || []).filter((/** @type {any} */ a) => a.blobId);
  const attList = atts.length ? h('section', { class: 'attachments', 'aria-label': 'Attachments' },
    h('h3', null, `Attachments (${atts.length})`),
    h('ul', null, atts.map((/** @type {any} */ a) => h('li', null,
      h('a', { href: client.downloadUrl(a.blobId, a.name || 'attachment', a.type), download: a.name || 'attachment', class: 'attachment' }, a.name || '(unnamed)'),
      h('span', { class: 'att-meta' }, ` ${a.type || ''}, ${size(a.size || 0)}`))))) : null;
  /** @type {HTMLElement[]} */
  const out = [h('dl', { class: 'headers' },
    header('From', addrs(email.from)), header('To', addrs(email.to)), header('Cc', addrs(email.cc)),
    header('Reply-To', addrs(email.replyTo)), header('Date', longDate(email.sentAt || email.receivedAt)))];
  if (attList) out.push(attList);
  out.push(body);
  return out;
}

/**
 * @param {HTMLElement} pane
 * @param {import('../jmap.js').JmapClient} client
 * @param {any} email
 * @param {ReaderOptions} opts
 */
export function renderEmail(pane, client, email, opts) {
  replace(pane,
    messageToolbar(email, opts),
    h('article', { class: 'message', 'aria-labelledby': 'message-subject' },
      h('h2', { id: 'message-subject', tabindex: '-1' }, email.subject || '(no subject)'),
      messageContent(client, email, opts.senders)));
}
