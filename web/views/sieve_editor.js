// sieve_editor: the raw Sieve editor beside the Rules page: the account's
// scripts (the active one marked), one shown in a text area, saved with
// the server's compile error shown under it ("line:col: message"),
// activated, deactivated, deleted, or a new one started.
//
// Why: the rules page writes the common cases only; a user who knows
// Sieve (or whose script came from another client over ManageSieve) edits
// the text itself. The server is the judge of what compiles: the page
// never parses Sieve, it shows SieveScript/set's invalidSieve.
import { h, replace } from './dom.js';
import { listScripts, scriptText, saveScript, activate, USING, MANAGED_NAME } from '../sieve_managed.js';

/** @typedef {import('../sieve_managed.js').SieveScript} SieveScript */

/**
 * @param {HTMLElement} pane
 * @param {import('../jmap.js').JmapClient} client
 * @param {() => void} onBack
 */
export async function renderSieveEditor(pane, client, onBack) {
  const list = h('ul', { id: 'sieve-scripts', class: 'sieve-scripts' });
  const name = h('input', { id: 'sieve-name', type: 'text', required: true, maxlength: '128' });
  const text = h('textarea', { id: 'sieve-text', rows: '18', spellcheck: 'false', class: 'code' });
  const error = h('pre', { id: 'sieve-error', class: 'error', role: 'alert', hidden: true });
  const status = h('p', { role: 'status', id: 'sieve-status' });
  const activeBox = h('input', { id: 'sieve-activate', type: 'checkbox' });
  const del = h('button', { type: 'button', id: 'sieve-delete' }, 'Delete');
  const form = h('form', { id: 'sieve-form', 'aria-labelledby': 'sieve-form-title' },
    h('h3', { id: 'sieve-form-title' }, 'Script'),
    h('label', { for: 'sieve-name' }, 'Name'), name,
    h('label', { for: 'sieve-text' }, 'Sieve (RFC 5228)'), text, error,
    h('label', { class: 'check' }, activeBox, 'Active (the script that runs for new mail)'),
    h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Save'), del), status);
  /** @type {SieveScript[]} */
  let scripts = [];
  /** @type {SieveScript | null} */
  let current = null;

  const draw = () => {
    replace(list, scripts.map((s) => h('li', { dataset: { name: s.name } },
      h('button', { type: 'button', class: 'open', 'aria-current': current && current.id === s.id ? 'true' : null, onclick: () => { show(s); } }, s.name),
      s.isActive ? h('span', { class: 'badge' }, 'active') : null,
      s.name === MANAGED_NAME ? h('span', { class: 'muted' }, '(written by Rules)') : null)),
    h('li', null, h('button', { type: 'button', id: 'sieve-new', onclick: () => { show(null); } }, 'New script')));
  };

  /** @param {SieveScript | null} s */
  const show = async (s) => {
    current = s;
    error.hidden = true;
    status.textContent = '';
    name.value = s ? s.name : '';
    activeBox.checked = !!s && s.isActive;
    del.hidden = !s;
    text.value = '';
    draw();
    if (s) {
      try { text.value = await scriptText(client, s); } catch (e) { status.textContent = e instanceof Error ? e.message : String(e); }
    }
  };

  const reload = async () => {
    scripts = await listScripts(client);
    if (current) current = scripts.find((s) => current && s.id === current.id) || null;
    draw();
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    /* an open script keeps its id under a new name (a rename); a new one
     * may not take a name in use */
    const existing = current || scripts.find((s) => s.name === name.value) || null;
    const taken = scripts.find((s) => s.name === name.value && s !== existing);
    if ((!current && existing) || taken) { status.textContent = `A script named “${name.value}” exists: open it from the list.`; return; }
    try {
      const id = await saveScript(client, name.value, text.value, existing, activeBox.checked && !(existing && existing.isActive));
      if (!activeBox.checked && existing && existing.isActive) await activate(client, null);
      await reload();
      current = scripts.find((s) => s.id === id) || null;
      del.hidden = false;
      draw();
      status.textContent = 'Saved.';
    } catch (e) {
      error.textContent = e instanceof Error ? e.message : String(e);
      error.hidden = false;
      status.textContent = 'Not saved.';
    }
  });

  del.addEventListener('click', async () => {
    if (!current) return;
    try {
      const r = await client.call('SieveScript/set', { destroy: [current.id] }, USING);
      const bad = r.notDestroyed && r.notDestroyed[current.id];
      if (bad) throw new Error(bad.type === 'sieveIsActive' ? 'The active script cannot be deleted: make it inactive first.' : bad.description || bad.type);
      const gone = current.name;
      current = null;
      await reload();
      await show(null);
      status.textContent = `Deleted ${gone}.`;
    } catch (e) {
      status.textContent = `Not deleted: ${e instanceof Error ? e.message : e}`;
    }
  });

  replace(pane,
    h('div', { class: 'toolbar' }, h('button', { type: 'button', class: 'back always', onclick: onBack }, '← Settings')),
    h('section', { class: 'settings sieve-editor', 'aria-labelledby': 'sieve-title' },
      h('h2', { id: 'sieve-title' }, 'Filter scripts'), list, form));
  try {
    await reload();
    await show(scripts.find((s) => s.isActive) || scripts[0] || null);
  } catch (e) {
    status.textContent = `The scripts could not be read: ${e instanceof Error ? e.message : e}`;
  }
}
