// thread: a conversation in the reader, its emails oldest first.
//
// Why a view of its own: in the conversation list a row stands for a
// whole thread (RFC 8621 3). Opening it shows every email of the thread
// (Thread/get's emailIds, in every mailbox, e.g. one's own replies in
// Sent) as a header line each, and one of them expanded in full: the
// first unread, else the newest. The actions bar acts on that expanded
// one, as for a single message. The thread and a summary of its emails
// come in one request (Email/get -> threadId -> Thread/get -> Email/get by
// result references; a thread longer than MAX_THREAD_EMAILS shows its
// newest only); the expanded email's body is fetched on its own (reader.js
// fetchEmail), so a long thread does not load every body.
import { ref } from '../jmap.js';
import { h, replace, addrs, shortDate } from './dom.js';
import { messageToolbar, messageContent } from './reader.js';

export const SUMMARY_PROPERTIES = ['id', 'threadId', 'mailboxIds', 'keywords', 'from', 'subject', 'receivedAt', 'preview'];
/** The newest emails of a thread shown at most (Email/get's maxObjectsInGet is 1000 by default). */
export const MAX_THREAD_EMAILS = 200;

/**
 * @typedef {{ threadId: string, emails: any[], total: number }} Conversation
 *   emails oldest first; total counts the ones not shown too
 */

/**
 * The conversation of the thread an email is in.
 * @param {import('../jmap.js').JmapClient} client @param {string} emailId
 * @returns {Promise<Conversation>}
 */
export async function fetchConversation(client, emailId) {
  const accountId = client.accountId;
  const res = await client.request([
    ['Email/get', { accountId, ids: [emailId], properties: ['threadId'] }, 'e'],
    ['Thread/get', { accountId, '#ids': ref('e', 'Email/get', '/list/*/threadId') }, 't'],
    ['Email/get', { accountId, '#ids': ref('t', 'Thread/get', '/list/*/emailIds'), properties: SUMMARY_PROPERTIES }, 'g'],
  ]);
  const t = res.t;
  if (!res.e || res.e.error) throw new Error('This message is gone.');
  if (!t || t.error) throw new Error(`The conversation could not be loaded: ${t && t.error ? t.error.description || t.error.type : 'no answer'}.`);
  const thread = t.list && t.list[0];
  if (!thread) throw new Error('This message is gone.');
  /** @type {string[]} */
  const all = Array.isArray(thread.emailIds) ? thread.emailIds : [];
  let g = res.g;
  if (!g || g.error || all.length > MAX_THREAD_EMAILS) {
    /* a thread longer than the server gives at once: its newest only */
    const ids = all.slice(-MAX_THREAD_EMAILS);
    if (!ids.includes(emailId)) ids[0] = emailId;
    g = await client.call('Email/get', { ids, properties: SUMMARY_PROPERTIES });
  }
  const emails = (g.list || []).slice().sort((/** @type {any} */ a, /** @type {any} */ b) =>
    (a.receivedAt < b.receivedAt ? -1 : a.receivedAt > b.receivedAt ? 1 : 0));
  if (!emails.length) throw new Error('This message is gone.');
  return { threadId: thread.id, emails, total: Math.max(all.length, emails.length) };
}

/** Which email to expand: the first unread, else the newest. @param {Conversation} conv */
export function pickExpanded(conv) {
  const unread = conv.emails.find((e) => !(e.keywords && e.keywords.$seen));
  return (unread || conv.emails[conv.emails.length - 1]).id;
}

/**
 * @param {HTMLElement} pane
 * @param {import('../jmap.js').JmapClient} client
 * @param {Conversation} conv
 * @param {any} email the expanded one, in full (reader.js READ_PROPERTIES)
 * @param {import('./reader.js').ReaderOptions & { onExpand: (id: string) => void }} opts
 */
export function renderConversation(pane, client, conv, email, opts) {
  const first = conv.emails[0];
  const hidden = conv.total - conv.emails.length;
  const items = conv.emails.map((e) => {
    if (e.id === email.id) {
      return h('li', { class: 'thread-email expanded', dataset: { id: e.id } },
        h('article', { class: 'message', 'aria-labelledby': 'message-subject' },
          h('h3', { id: 'message-subject', class: 'thread-subject', tabindex: '-1' }, email.subject || '(no subject)'),
          messageContent(client, email, opts.senders)));
    }
    const unread = !(e.keywords && e.keywords.$seen);
    return h('li', { class: 'thread-email' + (unread ? ' unread' : ''), dataset: { id: e.id } },
      h('button', { type: 'button', class: 'thread-line', 'aria-expanded': 'false', onclick: () => opts.onExpand(e.id) },
        h('span', { class: 'from' }, addrs(e.from, true) || '(no sender)'),
        h('span', { class: 'date' }, shortDate(e.receivedAt)),
        h('span', { class: 'preview' }, e.preview || '')));
  });
  replace(pane,
    messageToolbar(email, opts),
    h('section', { class: 'conversation', 'aria-labelledby': 'thread-title' },
      h('h2', { id: 'thread-title' }, (first && first.subject) || email.subject || '(no subject)'),
      h('p', { class: 'thread-count' }, conv.total === 1 ? '1 message' : `${conv.total} messages`,
        hidden > 0 ? ` (the ${hidden} oldest not shown)` : ''),
      h('ol', { class: 'thread-emails' }, items)));
}
