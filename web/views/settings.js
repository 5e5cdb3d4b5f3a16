// settings: display name and signature (Identity/set), password change,
// the folders (folder_settings.js) and the senders whose remote images are
// always shown; links to the mail filter pages (rules.js, vacation.js,
// sieve_editor.js).
//
// Why these: they are what a user of webmail changes without an
// administrator. Name and signature are the identity's (RFC 8621 6); the
// password goes to tern's own POST /jmap/password, since JMAP has none;
// the image senders are this browser's (images.js), listed to be removed.
import { h, replace } from './dom.js';
import { folderSettings } from './folder_settings.js';

/**
 * @param {HTMLElement} pane
 * @param {import('../jmap.js').JmapClient} client
 * @param {import('./compose.js').Identity | undefined} identity
 * @param {(identity: import('./compose.js').Identity) => void} onSaved
 * @param {() => void} onBack
 * @param {import('../images.js').ImageSenders} senders
 * @param {import('./folders.js').Mailbox[]} mailboxes
 * @param {() => Promise<import('./folders.js').Mailbox[]>} reloadMailboxes
 */
export function renderSettings(pane, client, identity, onSaved, onBack, senders, mailboxes, reloadMailboxes) {
  const name = h('input', { id: 'set-name', type: 'text', value: identity ? identity.name : '', autocomplete: 'name' });
  const sig = h('textarea', { id: 'set-signature', rows: '5' });
  sig.value = identity && identity.textSignature ? identity.textSignature : '';
  const idStatus = h('p', { role: 'status', id: 'set-identity-status' });
  const idForm = h('form', { id: 'settings-identity', 'aria-labelledby': 'set-id-title' },
    h('h3', { id: 'set-id-title' }, 'Identity'),
    h('label', { for: 'set-name' }, 'Display name'), name,
    h('label', { for: 'set-signature' }, 'Signature'), sig,
    h('button', { type: 'submit', class: 'primary' }, 'Save'), idStatus);
  idForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!identity) { idStatus.textContent = 'You have no identity on this server.'; return; }
    try {
      const r = await client.call('Identity/set', { update: { [identity.id]: { name: name.value, textSignature: sig.value } } }, ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:submission']);
      const bad = r.notUpdated && r.notUpdated[identity.id];
      if (bad) throw new Error(bad.description || bad.type);
      onSaved({ ...identity, name: name.value, textSignature: sig.value });
      idStatus.textContent = 'Saved.';
    } catch (e) {
      idStatus.textContent = `Not saved: ${e instanceof Error ? e.message : e}`;
    }
  });

  const old = h('input', { id: 'set-old', type: 'password', autocomplete: 'current-password', required: true });
  const nw = h('input', { id: 'set-new', type: 'password', autocomplete: 'new-password', required: true, minlength: '8' });
  const again = h('input', { id: 'set-again', type: 'password', autocomplete: 'new-password', required: true });
  const pwStatus = h('p', { role: 'status', id: 'set-password-status' });
  const pwForm = h('form', { id: 'settings-password', 'aria-labelledby': 'set-pw-title' },
    h('h3', { id: 'set-pw-title' }, 'Password'),
    h('label', { for: 'set-old' }, 'Current password'), old,
    h('label', { for: 'set-new' }, 'New password'), nw,
    h('label', { for: 'set-again' }, 'New password again'), again,
    h('button', { type: 'submit', class: 'primary' }, 'Change password'), pwStatus);
  pwForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (nw.value !== again.value) { pwStatus.textContent = 'The new passwords differ.'; return; }
    try {
      const res = await fetch('/jmap/password', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': client.csrf },
        body: JSON.stringify({ old: old.value, new: nw.value }),
      });
      if (res.ok) {
        pwStatus.textContent = 'Password changed.';
        old.value = nw.value = again.value = '';
      } else if (res.status === 404 || res.status === 405) {
        pwStatus.textContent = 'This server cannot change passwords from webmail yet.';
      } else {
        let msg = `HTTP ${res.status}`;
        try { const j = await res.json(); if (j && typeof j.error === 'string') msg = j.error; } catch (_) { /* not JSON */ }
        pwStatus.textContent = `Not changed: ${msg}`;
      }
    } catch (e) {
      pwStatus.textContent = 'The server cannot be reached.';
    }
  });

  replace(pane,
    h('div', { class: 'toolbar' }, h('button', { type: 'button', class: 'back always', onclick: onBack }, '← Back')),
    h('section', { class: 'settings', 'aria-labelledby': 'settings-title' },
      h('h2', { id: 'settings-title' }, 'Settings'), idForm, pwForm, filterLinks(),
      folderSettings(client, mailboxes, reloadMailboxes), imageSenders(senders)));
  name.focus();
}

/**
 * The senders whose remote images load at once, newest first, each with
 * a Remove button. @param {import('../images.js').ImageSenders} senders
 */
function imageSenders(senders) {
  const list = h('ul', { id: 'image-senders', class: 'image-senders' });
  const status = h('p', { role: 'status', id: 'image-senders-status' });
  const draw = () => {
    const all = senders.list().reverse();
    replace(list, all.map((address) => h('li', { dataset: { sender: address } },
      h('span', { class: 'address' }, address),
      h('button', {
        type: 'button', class: 'remove', 'aria-label': `Remove ${address}`,
        onclick: () => {
          senders.remove(address);
          status.textContent = `Images from ${address} are blocked again.`;
          draw();
        },
      }, 'Remove'))));
    list.hidden = !all.length;
    empty.hidden = !!all.length;
  };
  const empty = h('p', { class: 'muted', id: 'image-senders-empty' }, 'None: remote images are blocked for every sender.');
  const section = h('div', { class: 'settings-images', 'aria-labelledby': 'set-img-title' },
    h('h3', { id: 'set-img-title' }, 'Always show remote images from'), empty, list, status);
  draw();
  return section;
}

/** The mail filter pages: each is a route of its own (#/settings/...). */
function filterLinks() {
  return h('div', { class: 'settings-filters', 'aria-labelledby': 'set-filters-title' },
    h('h3', { id: 'set-filters-title' }, 'Mail filters'),
    h('p', { class: 'buttons' },
      h('a', { href: '#/settings/rules', id: 'settings-rules', class: 'button' }, 'Rules'),
      h('a', { href: '#/settings/vacation', id: 'settings-vacation', class: 'button' }, 'Out of office'),
      h('a', { href: '#/settings/scripts', id: 'settings-scripts', class: 'button' }, 'Raw script')));
}
