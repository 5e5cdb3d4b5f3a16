// vacation: the Settings page of the out-of-office reply: on or off, a
// subject, a text and how many days pass before the same sender is
// answered again (Sieve vacation, RFC 5230), saved in the managed script
// beside the rules (sieve_managed.js).
//
// Why no start and end dates: they need Sieve's "date" extension
// (RFC 5260), which tern's engine does not have (sieve/sieve.h); a date
// the page offered but the server ignored would be a lie. The reply is on
// from the moment it is saved until it is turned off.
import { h, replace } from './dom.js';
import { loadManaged, saveManaged } from '../sieve_managed.js';

/**
 * @param {HTMLElement} pane
 * @param {import('../jmap.js').JmapClient} client
 * @param {() => void} onBack
 */
export async function renderVacation(pane, client, onBack) {
  const enabled = h('input', { id: 'vacation-on', type: 'checkbox' });
  const subject = h('input', { id: 'vacation-subject', type: 'text', maxlength: '200', placeholder: 'Out of office' });
  const body = h('textarea', { id: 'vacation-body', rows: '6', maxlength: '4000' });
  const days = h('input', { id: 'vacation-days', type: 'number', min: '1', max: '365', value: '7', required: true });
  const status = h('p', { role: 'status', id: 'vacation-status' });
  const notice = h('p', { id: 'vacation-notice', class: 'notice-box', hidden: true });
  const form = h('form', { id: 'vacation-form', 'aria-labelledby': 'vacation-title' },
    h('label', { class: 'check' }, enabled, 'Reply to messages automatically'),
    h('label', { for: 'vacation-subject' }, 'Subject'), subject,
    h('label', { for: 'vacation-body' }, 'Message'), body,
    h('label', { for: 'vacation-days' }, 'Days before the same sender is answered again'), days,
    h('button', { type: 'submit', class: 'primary' }, 'Save'), status);
  /** @type {import('../sieve_managed.js').Managed | null} */
  let data = null;

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!data) return;
    const n = Number(days.value);
    if (!Number.isInteger(n) || n < 1 || n > 365) { status.textContent = 'Days: a whole number from 1 to 365.'; return; }
    if (enabled.checked && !body.value.trim()) { status.textContent = 'Write the message to send.'; return; }
    /* the rules as the server has them now, not as this page first read them */
    let fresh;
    try { fresh = await loadManaged(client); } catch (e) { status.textContent = `Not saved: ${e instanceof Error ? e.message : e}`; return; }
    const next = { ...fresh.data, vacation: { enabled: enabled.checked, subject: subject.value.trim(), body: body.value, days: n } };
    try {
      const on = await saveManaged(client, next);
      data = next;
      status.textContent = !on ? 'Saved, but another script is active: see Rules.'
        : enabled.checked ? 'Saved: the reply is on.' : 'Saved: the reply is off.';
    } catch (e) {
      status.textContent = `Not saved: ${e instanceof Error ? e.message : e}`;
    }
  });

  replace(pane,
    h('div', { class: 'toolbar' }, h('button', { type: 'button', class: 'back always', onclick: onBack }, '← Settings')),
    h('section', { class: 'settings vacation', 'aria-labelledby': 'vacation-title' },
      h('h2', { id: 'vacation-title' }, 'Out of office'), notice, form));
  try {
    const m = await loadManaged(client);
    data = m.data;
    enabled.checked = data.vacation.enabled;
    subject.value = data.vacation.subject;
    body.value = data.vacation.body;
    days.value = String(data.vacation.days);
    if (m.active && (!m.script || m.active.id !== m.script.id)) {
      notice.textContent = `The active filter script is “${m.active.name}”: this reply does not run until Rules switches to the webmail's script.`;
      notice.hidden = false;
    }
  } catch (e) {
    status.textContent = `The reply could not be read: ${e instanceof Error ? e.message : e}`;
  }
}
