// contacts: the address book (JMAP for Contacts, RFC 9610) and what
// compose asks it for.
//
// Why a view of its own: the cards are JSContact (RFC 9553) objects the
// server converts from and to the vCards it keeps, and a card holds far
// more than the webmail edits (vCard properties of phones, CardDAV
// clients' extensions). So an edit is a patch (RFC 8620 5.3) of only the
// properties the form shows: name/full, emails, phones, notes, and the
// book; everything else on the card stays as it was. Ids of the entries
// ("e1", "p1") are the form's own on a new card and kept on an old one.
import { CORE } from '../jmap.js';
import { h, replace } from './dom.js';

export const CONTACTS = 'urn:ietf:params:jmap:contacts';
const USING = [CORE, CONTACTS];
const PAGE = 200;
const MAX_LINES = 50;

/**
 * @typedef {{ id: string, name: string, isDefault: boolean, sortOrder?: number }} AddressBook
 * @typedef {{ id: string, uid?: string, name?: {full?: string, components?: {kind: string, value: string}[]},
 *   emails?: Record<string, {address: string}>, phones?: Record<string, {number: string}>,
 *   notes?: Record<string, {note: string}>, addressBookIds?: Record<string, boolean> }} Card
 * @typedef {{ name: string, email: string }} Suggestion
 */

/** The name a card shows: name.full, else its given and surname, else its first address. @param {Card} c */
export function cardName(c) {
  const n = c.name || {};
  if (n.full) return n.full;
  const parts = (n.components || []).filter((p) => p.kind === 'given' || p.kind === 'surname').map((p) => p.value);
  if (parts.length) return parts.join(' ');
  return cardEmails(c)[0] || '(no name)';
}

/** @param {Card} c */
export function cardEmails(c) {
  return Object.values(c.emails || {}).map((e) => e.address).filter((a) => typeof a === 'string' && a);
}

/**
 * Suggestions for what is typed: a text query over the cards, the first
 * ten, as one entry per address (RFC 9610 3.4's "text" filter).
 * @param {import('../jmap.js').JmapClient} client
 * @param {string} text at least 2 characters
 * @returns {Promise<Suggestion[]>}
 */
export async function suggest(client, text) {
  const accountId = client.accountId;
  const r = await client.request([
    ['ContactCard/query', { accountId, filter: { text }, sort: [{ property: 'name' }], limit: 10 }, 'q'],
    ['ContactCard/get', { accountId, '#ids': { resultOf: 'q', name: 'ContactCard/query', path: '/ids' }, properties: ['name', 'emails'] }, 'g'],
  ], USING);
  if (!r.g || r.g.error) return [];
  const needle = text.toLowerCase();
  /** @type {Suggestion[]} */
  const out = [];
  for (const c of /** @type {Card[]} */ (r.g.list || [])) {
    const name = cardName(c);
    const nameHit = name.toLowerCase().includes(needle);
    for (const email of cardEmails(c)) {
      if (nameHit || email.toLowerCase().includes(needle)) out.push({ name: name === email ? '' : name, email });
    }
  }
  return out.slice(0, 10);
}

/** "Ann <ann@x>", quoting a name that needs it. @param {Suggestion} s */
export function formatSuggestion(s) {
  if (!s.name) return s.email;
  const name = /[",;<>@]/.test(s.name) ? `"${s.name.replace(/["\\]/g, '')}"` : s.name;
  return `${name} <${s.email}>`;
}

/** Lines of a textarea, trimmed, without empties; bounded. @param {string} text */
function lines(text) {
  return text.split('\n').map((l) => l.trim()).filter((l) => l).slice(0, MAX_LINES);
}

/**
 * The map a form's lines make, keeping the ids (and so what else the
 * entries hold) of the lines that did not change.
 * @param {Record<string, any> | undefined} old
 * @param {string[]} values
 * @param {string} key "address", "number" or "note"
 * @param {string} prefix ids for new entries
 */
export function entries(old, values, key, prefix) {
  /** @type {Record<string, any>} */
  const out = {};
  const unused = Object.entries(old || {});
  let n = 1;
  for (const v of values) {
    const i = unused.findIndex(([, e]) => e && e[key] === v);
    if (i >= 0) {
      const [id, e] = unused.splice(i, 1)[0];
      out[id] = e;
      continue;
    }
    while (out[`${prefix}${n}`] || (old && old[`${prefix}${n}`])) n++;
    out[`${prefix}${n}`] = { [key]: v };
  }
  return out;
}

/**
 * @param {HTMLElement} pane
 * @param {import('../jmap.js').JmapClient} client
 * @param {() => void} onBack
 */
export function renderContacts(pane, client, onBack) {
  /** @type {AddressBook[]} */
  let books = [];
  /** @type {Card[]} */
  let cards = [];
  let book = '';
  const search = h('input', { id: 'contacts-search', type: 'search', placeholder: 'Search contacts', 'aria-label': 'Search contacts', autocomplete: 'off' });
  const bookSel = h('select', { id: 'contacts-book', 'aria-label': 'Address book' });
  const list = h('ul', { id: 'contacts-list', class: 'contacts-list', 'aria-label': 'Contacts' });
  const detail = h('div', { id: 'contact-detail', class: 'contact-detail' });
  const status = h('p', { id: 'contacts-status', role: 'status' });
  const add = h('button', { type: 'button', id: 'contact-new', class: 'primary' }, 'New contact');
  const back = h('button', { type: 'button', class: 'back', onclick: onBack }, '← Back');

  const call = async (/** @type {string} */ method, /** @type {Record<string, any>} */ args) => client.call(method, args, USING);

  let seq = 0;
  const load = async () => {
    const mine = ++seq;
    /** @type {Record<string, any>} */
    const filter = {};
    if (book) filter.inAddressBook = book;
    if (search.value.trim()) filter.text = search.value.trim();
    try {
      const accountId = client.accountId;
      const r = await client.request([
        ['ContactCard/query', { accountId, filter, sort: [{ property: 'name' }], limit: PAGE }, 'q'],
        ['ContactCard/get', { accountId, '#ids': { resultOf: 'q', name: 'ContactCard/query', path: '/ids' } }, 'g'],
      ], USING);
      if (mine !== seq) return;
      if (r.q && r.q.error) throw new Error(r.q.error.description || r.q.error.type);
      cards = (r.g && r.g.list) || [];
      draw();
    } catch (e) {
      status.textContent = `The contacts could not be read: ${e instanceof Error ? e.message : e}`;
    }
  };

  const draw = () => {
    replace(list, cards.map((c) => h('li', null,
      h('button', { type: 'button', class: 'contact-row', 'data-id': c.id, onclick: () => edit(c) },
        h('span', { class: 'contact-name' }, cardName(c)), ' ',
        h('span', { class: 'contact-email' }, cardEmails(c)[0] || '')))));
    if (!cards.length) list.append(h('li', { class: 'placeholder' }, search.value ? 'No contact matches.' : 'No contacts yet.'));
  };

  /** The form for a card (undefined: a new one). @param {Card} [card] */
  const edit = (card) => {
    const name = h('input', { id: 'contact-name', type: 'text', value: card ? cardName(card) : '', autocomplete: 'off' });
    const emails = h('textarea', { id: 'contact-emails', rows: '3' });
    emails.value = card ? Object.values(card.emails || {}).map((e) => e.address).join('\n') : '';
    const phones = h('textarea', { id: 'contact-phones', rows: '3' });
    phones.value = card ? Object.values(card.phones || {}).map((p) => p.number).join('\n') : '';
    const notes = h('textarea', { id: 'contact-notes', rows: '4' });
    notes.value = card ? Object.values(card.notes || {}).map((n) => n.note).join('\n') : '';
    const inBook = h('select', { id: 'contact-book' }, books.map((b) => h('option', { value: b.id }, b.name)));
    const current = card && Object.keys(card.addressBookIds || {})[0];
    const def = books.find((b) => b.isDefault);
    inBook.value = current || book || (def ? def.id : '');
    const formStatus = h('p', { role: 'status', id: 'contact-status' });
    const save = h('button', { type: 'submit', class: 'primary', id: 'contact-save' }, 'Save');
    const del = card ? h('button', { type: 'button', id: 'contact-delete' }, 'Delete') : null;
    const form = h('form', { id: 'contact-form', 'aria-label': card ? `Edit ${cardName(card)}` : 'New contact' },
      h('label', { for: 'contact-name' }, 'Name'), name,
      h('label', { for: 'contact-emails' }, 'Email addresses (one per line)'), emails,
      h('label', { for: 'contact-phones' }, 'Phone numbers (one per line)'), phones,
      h('label', { for: 'contact-notes' }, 'Notes'), notes,
      h('label', { for: 'contact-book' }, 'Address book'), inBook,
      h('div', { class: 'buttons' }, save, del), formStatus);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const bad = lines(emails.value).filter((a) => !/^[^\s@]+@[^\s@]+$/.test(a));
      if (bad.length) { formStatus.textContent = `Not an address: ${bad.join(', ')}`; return; }
      const noteText = notes.value.trim();
      /** @type {Record<string, any>} */
      const props = {
        'name/full': name.value.trim() || null,
        emails: entries(card && card.emails, lines(emails.value), 'address', 'e'),
        phones: entries(card && card.phones, lines(phones.value), 'number', 'p'),
        notes: noteText ? entries(card && card.notes, [noteText], 'note', 'n') : {},
        addressBookIds: { [inBook.value]: true },
      };
      try {
        let r;
        if (card) {
          if (card.name === undefined) { delete props['name/full']; props.name = name.value.trim() ? { full: name.value.trim() } : null; }
          r = await call('ContactCard/set', { update: { [card.id]: props } });
          const e = r.notUpdated && r.notUpdated[card.id];
          if (e) throw new Error(e.description || e.type);
        } else {
          /** @type {Record<string, any>} */
          const create = { '@type': 'Card', version: '1.0', emails: props.emails, phones: props.phones, notes: props.notes, addressBookIds: props.addressBookIds };
          if (name.value.trim()) create.name = { full: name.value.trim() };
          r = await call('ContactCard/set', { create: { c: create } });
          const e = r.notCreated && r.notCreated.c;
          if (e) throw new Error(e.description || e.type);
        }
        formStatus.textContent = 'Saved.';
        status.textContent = `${name.value.trim() || 'The contact'} saved.`;
        replace(detail);
        await load();
      } catch (e) {
        formStatus.textContent = `Not saved: ${e instanceof Error ? e.message : e}`;
      }
    });
    if (del && card) {
      del.addEventListener('click', async () => {
        try {
          const r = await call('ContactCard/set', { destroy: [card.id] });
          const e = r.notDestroyed && r.notDestroyed[card.id];
          if (e) throw new Error(e.description || e.type);
          status.textContent = `${cardName(card)} deleted.`;
          replace(detail);
          await load();
        } catch (e) {
          formStatus.textContent = `Not deleted: ${e instanceof Error ? e.message : e}`;
        }
      });
    }
    replace(detail, form);
    name.focus();
  };

  let timer = 0;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = window.setTimeout(load, 200);
  });
  bookSel.addEventListener('change', () => { book = bookSel.value; load(); });
  add.addEventListener('click', () => edit());

  replace(pane,
    h('div', { class: 'toolbar' }, back, h('h2', { id: 'contacts-title' }, 'Address book')),
    h('div', { class: 'contacts-tools' }, search, bookSel, add),
    h('div', { class: 'contacts' }, list, detail), status);

  (async () => {
    try {
      const r = await call('AddressBook/get', {});
      books = r.list || [];
      books.sort((a, b) => (a.sortOrder || 0) - (b.sortOrder || 0) || a.name.localeCompare(b.name));
      replace(bookSel, h('option', { value: '' }, 'All address books'), books.map((b) => h('option', { value: b.id }, b.name)));
      await load();
    } catch (e) {
      status.textContent = `The address book could not be read: ${e instanceof Error ? e.message : e}`;
    }
  })();
}

/**
 * Autocomplete from the address book on an address field: after two
 * typed characters of the address being written (the text after the last
 * comma), a dropdown of "Name <email>" (debounced); arrows move, Enter or
 * a click takes one, Escape closes.
 * @param {HTMLInputElement} input
 * @param {import('../jmap.js').JmapClient} client
 * @param {() => void} onPick after an address was put in
 */
export function attachAutocomplete(input, client, onPick) {
  const listId = `${input.id}-suggestions`;
  const box = h('ul', { id: listId, class: 'suggestions', role: 'listbox', hidden: true });
  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-controls', listId);
  input.setAttribute('aria-expanded', 'false');
  /** @type {Suggestion[]} */
  let items = [];
  let active = -1;
  let timer = 0;
  let seq = 0;

  const close = () => {
    box.hidden = true;
    items = [];
    active = -1;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
  };
  const mark = () => {
    Array.from(box.children).forEach((li, i) => li.setAttribute('aria-selected', String(i === active)));
    if (active >= 0) input.setAttribute('aria-activedescendant', `${listId}-${active}`);
  };
  /** The text after the last separator, and where it starts. */
  const current = () => {
    const v = input.value;
    const start = Math.max(v.lastIndexOf(','), v.lastIndexOf(';')) + 1;
    return { start, text: v.slice(start).trim() };
  };
  /** @param {Suggestion} s */
  const pick = (s) => {
    const { start } = current();
    const before = input.value.slice(0, start);
    input.value = `${before}${before && !/\s$/.test(before) ? ' ' : ''}${formatSuggestion(s)}, `;
    close();
    input.focus();
    onPick();
  };
  const show = () => {
    replace(box, items.map((s, i) => h('li', {
      id: `${listId}-${i}`, role: 'option', class: 'suggestion', 'aria-selected': 'false',
      onmousedown: (/** @type {MouseEvent} */ ev) => { ev.preventDefault(); pick(s); },
    }, formatSuggestion(s))));
    box.hidden = !items.length;
    input.setAttribute('aria-expanded', String(!!items.length));
    active = items.length ? 0 : -1;
    mark();
  };

  input.addEventListener('input', () => {
    clearTimeout(timer);
    const { text } = current();
    if (text.length < 2) { seq++; close(); return; }
    timer = window.setTimeout(async () => {
      const mine = ++seq;
      try {
        const found = await suggest(client, text.slice(0, 100));
        if (mine !== seq) return; /* typed on since: a later answer comes */
        items = found;
        show();
      } catch (_) {
        close(); /* no suggestions is what a failing address book gives */
      }
    }, 150);
  });
  input.addEventListener('keydown', (ev) => {
    if (box.hidden || !items.length) return;
    if (ev.key === 'ArrowDown') { active = (active + 1) % items.length; mark(); ev.preventDefault(); }
    else if (ev.key === 'ArrowUp') { active = (active - 1 + items.length) % items.length; mark(); ev.preventDefault(); }
    else if (ev.key === 'Enter' && active >= 0) { ev.preventDefault(); pick(items[active]); }
    else if (ev.key === 'Escape') { ev.preventDefault(); ev.stopPropagation(); close(); }
  });
  input.addEventListener('blur', () => { window.setTimeout(close, 100); });
  return box;
}
