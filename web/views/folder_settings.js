// folder_settings: the Settings section that creates, renames, moves and
// deletes folders, through Mailbox/set (RFC 8621 2.5).
//
// Why in Settings and not in the folder pane: the pane is for going
// somewhere with one click or tap; changing the tree is rarer and wants
// room for a name, a parent and a confirmation. The server keeps the
// rules (one segment per name, INBOX stays, a folder with subfolders or
// mail is not deleted unless asked); this view says what it answered.
import { h, replace } from './dom.js';
import { orderMailboxes, mailboxLabel } from './folders.js';

/** @typedef {import('./folders.js').Mailbox} Mailbox */

/**
 * The SetError of a Mailbox/set answer as a sentence.
 * @param {{type?: string, description?: string} | undefined} e
 */
export function folderError(e) {
  if (!e) return 'the server refused';
  if (e.type === 'mailboxHasChild') return 'it has subfolders';
  if (e.type === 'mailboxHasEmail') return 'it holds messages';
  return e.description || e.type || 'the server refused';
}

/**
 * @param {import('../jmap.js').JmapClient} client
 * @param {Mailbox[]} mailboxes
 * @param {() => Promise<Mailbox[]>} reload fetches the mailboxes again (and redraws the pane)
 */
export function folderSettings(client, mailboxes, reload) {
  const status = h('p', { role: 'status', id: 'folders-status' });
  const list = h('ul', { id: 'folder-list', class: 'folder-list' });
  const name = h('input', { id: 'folder-new-name', type: 'text', required: true, maxlength: '255' });
  const parent = h('select', { id: 'folder-new-parent' });
  /** @type {Mailbox[]} */
  let all = mailboxes;

  /** Mailbox/set with one change; true when it was made. @param {Record<string, any>} args @param {string} what */
  const change = async (args, what) => {
    try {
      const r = await client.call('Mailbox/set', args);
      const refused = r.notCreated || r.notUpdated || r.notDestroyed;
      const e = refused && /** @type {any} */ (Object.values(refused)[0]);
      if (e) { status.textContent = `${what} failed: ${folderError(e)}.`; draw(); return false; }
      all = await reload();
      draw();
      return true;
    } catch (err) {
      status.textContent = `${what} failed: ${err instanceof Error ? err.message : err}.`;
      return false;
    }
  };

  const draw = () => {
    const ordered = orderMailboxes(all);
    replace(parent, h('option', { value: '' }, '(top level)'),
      ordered.map(({ mailbox: m, depth }) => h('option', { value: m.id }, '  '.repeat(depth) + mailboxLabel(m))));
    replace(list, ordered.map(({ mailbox: m, depth }) => {
      const fixed = !!m.role; /* the special folders keep their place */
      const row = h('li', { dataset: { id: m.id, depth: String(Math.min(depth, 6)) } });
      const plain = () => replace(row, h('span', { class: 'name' }, mailboxLabel(m)),
        h('button', { type: 'button', class: 'rename', 'aria-label': `Rename ${m.name}`, disabled: fixed, onclick: renaming }, 'Rename'),
        h('button', { type: 'button', class: 'delete', 'aria-label': `Delete ${m.name}`, disabled: fixed, onclick: deleting }, 'Delete'));
      const renaming = () => {
        const input = h('input', { type: 'text', class: 'rename-to', value: m.name, maxlength: '255', 'aria-label': `New name for ${m.name}` });
        const f = h('form', { class: 'rename-form' }, input,
          h('button', { type: 'submit', class: 'primary' }, 'Save'),
          h('button', { type: 'button', onclick: plain }, 'Cancel'));
        f.addEventListener('submit', async (ev) => {
          ev.preventDefault();
          const to = input.value.trim();
          if (!to || to === m.name) { plain(); return; }
          if (await change({ update: { [m.id]: { name: to } } }, 'Renaming')) status.textContent = `Renamed to ${to}.`;
        });
        replace(row, f);
        input.focus();
      };
      const deleting = () => {
        const n = m.totalEmails || 0;
        replace(row, h('span', { class: 'confirm' }, n ? `Delete "${m.name}" and its ${n} messages?` : `Delete "${m.name}"?`),
          h('button', {
            type: 'button', class: 'delete confirm-delete',
            onclick: async () => {
              if (await change({ destroy: [m.id], onDestroyRemoveEmails: n > 0 }, 'Deleting')) status.textContent = `Deleted ${m.name}.`;
            },
          }, 'Delete'),
          h('button', { type: 'button', onclick: plain }, 'Cancel'));
      };
      plain();
      return row;
    }));
  };

  const form = h('form', { id: 'folder-new', class: 'folder-new' },
    h('label', { for: 'folder-new-name' }, 'New folder'), name,
    h('label', { for: 'folder-new-parent' }, 'Inside'), parent,
    h('button', { type: 'submit', class: 'primary' }, 'Create'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const n = name.value.trim();
    if (!n) return;
    const create = { f: { name: n, parentId: parent.value || null } };
    if (await change({ create }, 'Creating')) {
      status.textContent = `Created ${n}.`;
      name.value = '';
    }
  });
  draw();
  return h('div', { class: 'settings-folders', 'aria-labelledby': 'set-folders-title' },
    h('h3', { id: 'set-folders-title' }, 'Folders'), list, form, status);
}
