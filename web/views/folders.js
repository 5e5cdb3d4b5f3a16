// folders: the mailbox tree with unread counts.
//
// Why the order: the mailboxes with a role (RFC 8621 2: inbox, drafts,
// sent, archive, junk, trash) are where people go most, so they come
// first in that fixed order, each with its children; every other mailbox
// follows as a tree by parentId, siblings by sortOrder then name.
import { h, replace } from './dom.js';

/**
 * @typedef {{ id: string, name: string, parentId: string|null, role: string|null,
 *   sortOrder: number, totalEmails: number, unreadEmails: number, myRights?: Record<string, boolean> }} Mailbox
 */

export const ROLE_ORDER = ['inbox', 'drafts', 'sent', 'archive', 'junk', 'trash'];

/**
 * The mailboxes in display order with their depth.
 * @param {Mailbox[]} list
 * @returns {{mailbox: Mailbox, depth: number}[]}
 */
export function orderMailboxes(list) {
  const ids = new Set(list.map((m) => m.id));
  /** @type {Map<string, Mailbox[]>} */
  const kids = new Map();
  for (const m of list) {
    const p = m.parentId && ids.has(m.parentId) ? m.parentId : '';
    if (!kids.has(p)) kids.set(p, []);
    /** @type {Mailbox[]} */ (kids.get(p)).push(m);
  }
  const rank = (/** @type {Mailbox} */ m) => {
    const r = m.role ? ROLE_ORDER.indexOf(m.role) : -1;
    return r < 0 ? ROLE_ORDER.length : r;
  };
  const cmp = (/** @type {Mailbox} */ a, /** @type {Mailbox} */ b) =>
    rank(a) - rank(b) || (a.sortOrder || 0) - (b.sortOrder || 0) || a.name.localeCompare(b.name);
  /** @type {{mailbox: Mailbox, depth: number}[]} */
  const out = [];
  const seen = new Set();
  const walk = (/** @type {string} */ parent, /** @type {number} */ depth) => {
    for (const m of (kids.get(parent) || []).sort(cmp)) {
      if (seen.has(m.id)) continue; /* a cycle in parentIds: shown once */
      seen.add(m.id);
      out.push({ mailbox: m, depth });
      walk(m.id, depth + 1);
    }
  };
  walk('', 0);
  return out;
}

/** @param {Mailbox} m */
export function mailboxLabel(m) {
  const names = { inbox: 'Inbox', drafts: 'Drafts', sent: 'Sent', archive: 'Archive', junk: 'Junk', trash: 'Trash' };
  return (m.role && /** @type {Record<string, string>} */ (names)[m.role]) || m.name;
}

/**
 * @param {HTMLElement} nav
 * @param {Mailbox[]} mailboxes
 * @param {string} currentId
 * @param {(id: string) => void} onPick
 */
export function renderFolders(nav, mailboxes, currentId, onPick) {
  const items = orderMailboxes(mailboxes).map(({ mailbox: m, depth }) => {
    const unread = m.unreadEmails > 0 ? h('span', { class: 'count', 'aria-label': `${m.unreadEmails} unread` }, String(m.unreadEmails)) : null;
    const b = h('button', {
      type: 'button', class: 'folder' + (m.unreadEmails ? ' has-unread' : ''),
      dataset: { id: m.id, role: m.role || '', depth: String(Math.min(depth, 6)) },
      'aria-current': m.id === currentId ? 'page' : null,
      onclick: () => onPick(m.id),
    }, h('span', { class: 'name' }, mailboxLabel(m)), unread);
    return h('li', null, b);
  });
  replace(nav, h('h2', { class: 'visually-hidden' }, 'Folders'), h('ul', { class: 'folders' }, items));
}
