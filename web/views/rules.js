// rules: the Settings page of mail rules: "when From/To/Subject contains
// X: move to a folder, mark as read, forward to an address, or delete",
// added, edited, removed and reordered, each change saved at once as the
// managed Sieve script (sieve_managed.js) through JMAP for Sieve.
//
// Why every change is saved at once: a rule list half saved is the one
// state a user cannot see; so the list shown is always what the server
// holds, or the page says why not. When another script is the active one
// the rules are kept but do not run: the page says so and offers to
// switch.
import { h, replace } from './dom.js';
import { orderMailboxes } from './folders.js';
import { loadManaged, saveManaged, validRule, MAX_RULES } from '../sieve_managed.js';

/** @typedef {import('../sieve_managed.js').Rule} Rule */
/** @typedef {import('./folders.js').Mailbox} Mailbox */

const FIELD_LABELS = { from: 'From', to: 'To', subject: 'Subject' };

/** A rule as a sentence. @param {Rule} r */
export function describeRule(r) {
  const when = `${FIELD_LABELS[r.field]} contains “${r.contains}”`;
  const then = r.action === 'move' ? `move to ${r.target}`
    : r.action === 'read' ? 'mark as read'
      : r.action === 'forward' ? `forward to ${r.target}` : 'delete';
  return `${when} → ${then}`;
}

/**
 * The IMAP path of each mailbox (what fileinto names): the names from the
 * top joined by "/", the inbox as INBOX.
 * @param {Mailbox[]} mailboxes @returns {string[]}
 */
export function folderPaths(mailboxes) {
  const byId = new Map(mailboxes.map((m) => [m.id, m]));
  /** @param {Mailbox} m @returns {string} */
  const path = (m) => {
    const names = [];
    for (let x = /** @type {Mailbox | undefined} */ (m), n = 0; x && n < 20; x = x.parentId ? byId.get(x.parentId) : undefined, n++)
      names.unshift(x.role === 'inbox' && !x.parentId ? 'INBOX' : x.name);
    return names.join('/');
  };
  return orderMailboxes(mailboxes).map(({ mailbox }) => path(mailbox));
}

/**
 * @param {HTMLElement} pane
 * @param {import('../jmap.js').JmapClient} client
 * @param {Mailbox[]} mailboxes
 * @param {() => void} onBack
 */
export async function renderRules(pane, client, mailboxes, onBack) {
  const status = h('p', { role: 'status', id: 'rules-status' });
  const notice = h('div', { id: 'rules-active-notice', class: 'notice-box', hidden: true });
  const list = h('ol', { id: 'rules-list', class: 'rules-list' });
  const empty = h('p', { class: 'muted', id: 'rules-empty' }, 'No rules yet: every message goes to the inbox.');
  const field = h('select', { id: 'rule-field' },
    h('option', { value: 'from' }, 'From'), h('option', { value: 'to' }, 'To'), h('option', { value: 'subject' }, 'Subject'));
  const contains = h('input', { id: 'rule-contains', type: 'text', required: true, maxlength: '1000' });
  const action = h('select', { id: 'rule-action' },
    h('option', { value: 'move' }, 'Move to folder'), h('option', { value: 'read' }, 'Mark as read'),
    h('option', { value: 'forward' }, 'Forward to'), h('option', { value: 'delete' }, 'Delete'));
  const folders = h('datalist', { id: 'rule-folders' }, folderPaths(mailboxes).map((p) => h('option', { value: p })));
  const target = h('input', { id: 'rule-target', type: 'text', list: 'rule-folders', maxlength: '1000' });
  const targetLabel = h('label', { for: 'rule-target', id: 'rule-target-label' }, 'Folder');
  const submit = h('button', { type: 'submit', class: 'primary', id: 'rule-save' }, 'Add rule');
  const cancel = h('button', { type: 'button', id: 'rule-cancel', hidden: true }, 'Cancel');
  const form = h('form', { id: 'rule-form', class: 'rule-form', 'aria-labelledby': 'rule-form-title' },
    h('h3', { id: 'rule-form-title' }, 'Add a rule'),
    h('div', { class: 'rule-fields' },
      h('label', { for: 'rule-field' }, 'When'), field,
      h('label', { for: 'rule-contains' }, 'contains'), contains,
      h('label', { for: 'rule-action' }, 'then'), action,
      targetLabel, target, folders),
    h('div', { class: 'buttons' }, submit, cancel));

  /** @type {import('../sieve_managed.js').Managed | null} */
  let data = null;
  let editing = -1;

  const showTarget = () => {
    const a = action.value;
    target.hidden = targetLabel.hidden = a === 'read' || a === 'delete';
    targetLabel.textContent = a === 'forward' ? 'Address' : 'Folder';
    /* text, not type=email: the page's own check says what is wrong */
    target.setAttribute('inputmode', a === 'forward' ? 'email' : 'text');
    if (a === 'forward') target.removeAttribute('list'); else target.setAttribute('list', 'rule-folders');
  };
  action.addEventListener('change', showTarget);

  const resetForm = () => {
    editing = -1;
    form.reset();
    showTarget();
    submit.textContent = 'Add rule';
    cancel.hidden = true;
    replace(/** @type {HTMLElement} */ (form.querySelector('h3')), 'Add a rule');
  };
  cancel.addEventListener('click', resetForm);

  /** Save the list as it would be after change(rules); redraw from what was saved. @param {(rules: Rule[]) => void} change @param {string} done */
  const save = async (change, done, activate = false) => {
    if (!data) return false;
    const next = { ...data, rules: data.rules.map((r) => ({ ...r })) };
    change(next.rules);
    try {
      const on = await saveManaged(client, next, activate);
      data = next;
      status.textContent = on ? done : `${done} They do not run while another script is active.`;
      await refresh(false);
      return true;
    } catch (e) {
      status.textContent = `Not saved: ${e instanceof Error ? e.message : e}`;
      return false;
    }
  };

  const draw = () => {
    if (!data) return;
    const rules = data.rules;
    replace(list, rules.map((r, i) => h('li', { dataset: { index: String(i) } },
      h('span', { class: 'rule-text' }, describeRule(r)),
      h('button', { type: 'button', class: 'up', 'aria-label': `Move rule ${i + 1} up`, disabled: i === 0, onclick: () => save((rs) => { [rs[i - 1], rs[i]] = [rs[i], rs[i - 1]]; }, 'Moved.') }, '↑'),
      h('button', { type: 'button', class: 'down', 'aria-label': `Move rule ${i + 1} down`, disabled: i === rules.length - 1, onclick: () => save((rs) => { [rs[i + 1], rs[i]] = [rs[i], rs[i + 1]]; }, 'Moved.') }, '↓'),
      h('button', {
        type: 'button', class: 'edit', 'aria-label': `Edit rule ${i + 1}`, onclick: () => {
          editing = i;
          field.value = r.field; contains.value = r.contains; action.value = r.action; target.value = r.target;
          showTarget();
          submit.textContent = 'Save rule';
          cancel.hidden = false;
          replace(/** @type {HTMLElement} */ (form.querySelector('h3')), `Edit rule ${i + 1}`);
          contains.focus();
        },
      }, 'Edit'),
      h('button', { type: 'button', class: 'remove', 'aria-label': `Remove rule ${i + 1}`, onclick: () => save((rs) => { rs.splice(i, 1); }, 'Removed.') }, 'Remove'))));
    list.hidden = !rules.length;
    empty.hidden = !!rules.length;
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const a = /** @type {Rule['action']} */ (action.value);
    /** @type {Rule} */
    const rule = { field: /** @type {Rule['field']} */ (field.value), contains: contains.value.trim(), action: a, target: a === 'move' || a === 'forward' ? target.value.trim() : '' };
    if (!validRule(rule)) {
      status.textContent = a === 'forward' ? 'Give the text to look for and a plain address (name@example.org).'
        : a === 'move' ? 'Give the text to look for and a folder.' : 'Give the text to look for.';
      return;
    }
    if (editing < 0 && data && data.rules.length >= MAX_RULES) { status.textContent = `At most ${MAX_RULES} rules.`; return; }
    const at = editing;
    if (await save((rs) => { if (at >= 0) rs[at] = rule; else rs.push(rule); }, at >= 0 ? 'Rule saved.' : 'Rule added.')) resetForm();
  });

  /** Read the managed script and the active one again. @param {boolean} [full] also the rules */
  const refresh = async (full = true) => {
    const m = await loadManaged(client);
    if (full || !data) data = m.data;
    const mine = m.script && m.active && m.active.id === m.script.id;
    if (m.foreign) {
      replace(notice, h('p', null, `A script named “${m.script ? m.script.name : ''}” was changed by hand: these rules start empty and saving replaces it.`));
      notice.hidden = false;
    } else if (m.active && !mine) {
      replace(notice,
        h('p', null, `The active filter script is “${m.active.name}”, written elsewhere: these rules and the out-of-office reply do not run.`),
        h('button', {
          type: 'button', id: 'rules-switch', class: 'primary', onclick: async () => {
            if (!data) return;
            try {
              await saveManaged(client, data, true);
              status.textContent = 'These rules are active now.';
              await refresh(false);
            } catch (e) { status.textContent = `Not switched: ${e instanceof Error ? e.message : e}`; }
          },
        }, 'Use these rules instead'));
      notice.hidden = false;
    } else {
      notice.hidden = true;
    }
    draw();
  };

  replace(pane,
    h('div', { class: 'toolbar' }, h('button', { type: 'button', class: 'back always', onclick: onBack }, '← Settings')),
    h('section', { class: 'settings rules', 'aria-labelledby': 'rules-title' },
      h('h2', { id: 'rules-title' }, 'Rules'),
      h('p', { class: 'muted' }, 'Applied in order to each new message; a move or a delete ends the list for that message.'),
      notice, empty, list, form, status));
  showTarget();
  try {
    await refresh();
  } catch (e) {
    status.textContent = `The rules could not be read: ${e instanceof Error ? e.message : e}`;
  }
}
