// compose: writing a message, replying, forwarding; drafts and sending.
//
// Why it works the JMAP way: a message is an Email/set create (RFC 8621
// 4.6) of its parts, attachments being blobs uploaded first to the
// session's uploadUrl (or, forwarding, the blobs of the original). Drafts
// are saved every AUTOSAVE_MS while something changed, into the Drafts
// mailbox with $draft, the previous draft destroyed in the same call.
// Sending creates the message and, in the same request, an
// EmailSubmission (RFC 8621 7.5) whose onSuccessUpdateEmail moves it from
// Drafts to Sent; a server that cannot yet do one of these says so with a
// method error, which is shown and leaves the draft where it is.
// To, Cc and Bcc suggest addresses from the address book (contacts.js).
import { SUBMISSION, CORE, MAIL } from '../jmap.js';
import { h, replace, addrs, longDate, size } from './dom.js';
import { textOf } from './reader.js';
import { attachAutocomplete } from './contacts.js';

export const AUTOSAVE_MS = 5000;
const MAX_ADDRESSES = 500;

/**
 * "Ann <ann@x.org>, bob@y.org" into EmailAddress objects; quoted names may
 * hold commas. Bounded; what has no "@" is dropped and reported.
 * @param {string} text
 * @returns {{ list: {name: string|null, email: string}[], bad: string[] }}
 */
export function parseAddresses(text) {
  /** @type {string[]} */
  const items = [];
  let cur = '', quoted = false, angle = false;
  for (const ch of String(text || '').slice(0, 20000)) {
    if (ch === '"' && !angle) quoted = !quoted;
    else if (ch === '<' && !quoted) angle = true;
    else if (ch === '>' && !quoted) angle = false;
    if ((ch === ',' || ch === ';') && !quoted && !angle) { items.push(cur); cur = ''; continue; }
    cur += ch;
  }
  items.push(cur);
  /** @type {{name: string|null, email: string}[]} */
  const list = [];
  /** @type {string[]} */
  const bad = [];
  for (const raw of items.slice(0, MAX_ADDRESSES)) {
    const s = raw.trim();
    if (!s) continue;
    const m = /^(.*?)\s*<([^<>]*)>\s*$/.exec(s);
    const name = m ? m[1].trim().replace(/^"(.*)"$/, '$1').trim() : '';
    const email = (m ? m[2] : s).trim();
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) { bad.push(s); continue; }
    list.push({ name: name || null, email });
  }
  return { list, bad };
}

/** "Re: x" once, not "Re: Re: x". @param {string} prefix @param {string} subject */
export function prefixed(prefix, subject) {
  const s = subject || '';
  return s.toLowerCase().startsWith(prefix.toLowerCase()) ? s : `${prefix} ${s}`;
}

/**
 * @typedef {{ mode: 'new' | 'reply' | 'replyAll' | 'forward', email?: any, draft?: any }} ComposeRequest
 * @typedef {{ id: string, name: string, email: string, textSignature?: string }} Identity
 * @typedef {{ blobId: string, name: string, type: string, size: number }} Attachment
 */

/**
 * What the form starts with.
 * @param {ComposeRequest} req
 * @param {Identity | undefined} me
 */
export function prefill(req, me) {
  const e = req.email;
  const out = { to: '', cc: '', bcc: '', subject: '', body: '', inReplyTo: /** @type {string[] | null} */ (null), references: /** @type {string[] | null} */ (null), attachments: /** @type {Attachment[]} */ ([]) };
  const sig = me && me.textSignature ? `\n\n-- \n${me.textSignature}` : '';
  if (!e || req.mode === 'new') { out.body = sig; return out; }
  const quoted = textOf(e).split('\n').map((/** @type {string} */ l) => `> ${l}`).join('\n');
  const when = longDate(e.sentAt || e.receivedAt);
  if (req.mode === 'forward') {
    out.subject = prefixed('Fwd:', e.subject);
    out.body = `${sig}\n\n---------- Forwarded message ----------\nFrom: ${addrs(e.from)}\nDate: ${when}\nSubject: ${e.subject || ''}\nTo: ${addrs(e.to)}\n\n${textOf(e)}`;
    out.attachments = (e.attachments || []).filter((/** @type {any} */ a) => a.blobId).map((/** @type {any} */ a) => ({ blobId: a.blobId, name: a.name || 'attachment', type: a.type || 'application/octet-stream', size: a.size || 0 }));
    return out;
  }
  const mine = (/** @type {any} */ a) => me && a.email && a.email.toLowerCase() === me.email.toLowerCase();
  const replyTo = (e.replyTo && e.replyTo.length ? e.replyTo : e.from) || [];
  out.to = addrs(replyTo);
  if (req.mode === 'replyAll') {
    const seen = new Set(replyTo.map((/** @type {any} */ a) => (a.email || '').toLowerCase()));
    const rest = [...(e.to || []), ...(e.cc || [])].filter((a) => !mine(a) && !seen.has((a.email || '').toLowerCase()) && (seen.add((a.email || '').toLowerCase()), true));
    out.cc = addrs(rest);
  }
  out.subject = prefixed('Re:', e.subject);
  out.body = `${sig}\n\nOn ${when}, ${addrs(e.from)} wrote:\n${quoted}\n`;
  if (e.messageId && e.messageId.length) {
    out.inReplyTo = e.messageId;
    out.references = [...(e.references || []), ...e.messageId];
  }
  return out;
}

/**
 * The Email/set create object for what the form holds.
 * @param {{ from: Identity | undefined, username: string, to: string, cc: string, bcc: string, subject: string, body: string,
 *   inReplyTo: string[] | null, references: string[] | null, attachments: Attachment[], mailboxId: string, draft: boolean }} f
 */
export function buildEmail(f) {
  const to = parseAddresses(f.to), cc = parseAddresses(f.cc), bcc = parseAddresses(f.bcc);
  const bad = [...to.bad, ...cc.bad, ...bcc.bad];
  const text = { partId: 'text', type: 'text/plain' };
  /** @type {Record<string, any>} */
  const email = {
    mailboxIds: { [f.mailboxId]: true },
    keywords: f.draft ? { $draft: true, $seen: true } : { $seen: true },
    from: [{ name: (f.from && f.from.name) || null, email: (f.from && f.from.email) || f.username }],
    subject: f.subject,
    bodyValues: { text: { value: f.body } },
  };
  if (to.list.length) email.to = to.list;
  if (cc.list.length) email.cc = cc.list;
  if (bcc.list.length) email.bcc = bcc.list;
  if (f.inReplyTo) email.inReplyTo = f.inReplyTo;
  if (f.references) email.references = f.references;
  if (f.attachments.length) {
    email.bodyStructure = {
      type: 'multipart/mixed',
      subParts: [text, ...f.attachments.map((a) => ({ blobId: a.blobId, type: a.type, name: a.name, disposition: 'attachment' }))],
    };
  } else {
    email.textBody = [text];
  }
  return { email, bad, recipients: [...to.list, ...cc.list, ...bcc.list] };
}

/**
 * @param {HTMLElement} pane
 * @param {{ client: import('../jmap.js').JmapClient, identity: Identity | undefined, draftsId: string | undefined, sentId: string | undefined,
 *   request: ComposeRequest, onClose: (message?: string) => void }} ctx
 */
export function renderCompose(pane, ctx) {
  const { client, identity } = ctx;
  const init = prefill(ctx.request, identity);
  /** @type {Attachment[]} */
  const attachments = [...init.attachments];
  let draftId = '';
  let dirty = false;
  let busy = false;
  let closed = false;

  const field = (/** @type {string} */ id, /** @type {string} */ label, /** @type {string} */ value, /** @type {string} */ type = 'text') => {
    const input = h('input', { id, name: id, type, value, autocomplete: 'off' });
    input.addEventListener('input', () => { dirty = true; });
    return [h('label', { for: id }, label), input];
  };
  const [toL, to] = field('compose-to', 'To', init.to, 'text');
  const [ccL, cc] = field('compose-cc', 'Cc', init.cc);
  const [bccL, bcc] = field('compose-bcc', 'Bcc', init.bcc);
  const [subjL, subject] = field('compose-subject', 'Subject', init.subject);
  /* an address field with the address book's suggestions under it */
  const withSuggestions = (/** @type {HTMLElement} */ input) => h('div', { class: 'address-field' }, input,
    attachAutocomplete(/** @type {HTMLInputElement} */ (input), client, () => { dirty = true; }));
  const body = h('textarea', { id: 'compose-body', name: 'body', rows: '16' });
  body.value = init.body;
  body.addEventListener('input', () => { dirty = true; });
  const files = h('input', { id: 'compose-files', type: 'file', multiple: true });
  const attList = h('ul', { class: 'compose-attachments', 'aria-label': 'Attachments' });
  const status = h('p', { class: 'status', role: 'status', id: 'compose-status' });
  const send = h('button', { type: 'submit', class: 'primary', id: 'compose-send' }, 'Send');
  const discard = h('button', { type: 'button', id: 'compose-discard' }, 'Discard');
  const save = h('button', { type: 'button', id: 'compose-save' }, 'Save draft');

  const drawAttachments = () => replace(attList, attachments.map((a, i) => h('li', null,
    h('span', null, `${a.name} (${size(a.size)})`), ' ',
    h('button', { type: 'button', 'aria-label': `Remove ${a.name}`, onclick: () => { attachments.splice(i, 1); dirty = true; drawAttachments(); } }, 'Remove'))));
  drawAttachments();

  files.addEventListener('change', async () => {
    for (const file of Array.from(files.files || [])) {
      status.textContent = `Uploading ${file.name}…`;
      try {
        const up = await client.upload(file);
        attachments.push({ blobId: up.blobId, name: file.name, type: file.type || up.type || 'application/octet-stream', size: file.size });
        dirty = true;
        status.textContent = `${file.name} attached.`;
      } catch (e) {
        status.textContent = `${file.name} could not be attached: ${e instanceof Error ? e.message : e}`;
      }
    }
    files.value = '';
    drawAttachments();
  });

  const form = () => ({
    from: identity, username: client.session ? client.session.username : '',
    to: /** @type {HTMLInputElement} */ (to).value, cc: /** @type {HTMLInputElement} */ (cc).value,
    bcc: /** @type {HTMLInputElement} */ (bcc).value, subject: /** @type {HTMLInputElement} */ (subject).value,
    body: body.value, inReplyTo: init.inReplyTo, references: init.references, attachments,
  });

  const saveDraft = async () => {
    if (busy || closed || !dirty) return;
    if (!ctx.draftsId) { status.textContent = 'There is no Drafts folder: the draft is not saved.'; return; }
    busy = true;
    dirty = false;
    const { email } = buildEmail({ ...form(), mailboxId: ctx.draftsId, draft: true });
    try {
      const r = await client.call('Email/set', { create: { draft: email }, destroy: draftId ? [draftId] : undefined });
      if (r.created && r.created.draft) {
        draftId = r.created.draft.id;
        status.textContent = `Draft saved at ${new Date().toLocaleTimeString()}.`;
      } else {
        dirty = true;
        const e = r.notCreated && r.notCreated.draft;
        status.textContent = `The draft was not saved: ${e ? e.description || e.type : 'no answer'}.`;
      }
    } catch (e) {
      dirty = true;
      status.textContent = `The draft was not saved: ${e instanceof Error ? e.message : e}`;
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(saveDraft, AUTOSAVE_MS);
  /** @param {string} [message] */
  const close = (message) => {
    closed = true;
    clearInterval(timer);
    ctx.onClose(message);
  };

  save.addEventListener('click', () => { dirty = true; saveDraft(); });
  discard.addEventListener('click', async () => {
    if (draftId) { try { await client.call('Email/set', { destroy: [draftId] }); } catch (_) { /* left in Drafts */ } }
    close('Discarded.');
  });

  /* forward as attachment: the original message itself, by its blob */
  const orig = ctx.request.mode === 'forward' ? ctx.request.email : undefined;
  const asAttachment = orig && orig.blobId ? h('input', { id: 'compose-forward-attached', type: 'checkbox' }) : null;
  if (asAttachment && orig) {
    const whole = { blobId: orig.blobId, name: `${(orig.subject || 'message').replace(/[\\/:*?"<>|\u0000-\u001f]+/g, '_').slice(0, 100)}.eml`, type: 'message/rfc822', size: orig.size || 0 };
    asAttachment.addEventListener('change', () => {
      const i = attachments.findIndex((a) => a.blobId === whole.blobId);
      if (asAttachment.checked && i < 0) attachments.push(whole);
      if (!asAttachment.checked && i >= 0) attachments.splice(i, 1);
      dirty = true;
      drawAttachments();
    });
  }

  const formEl = h('form', { class: 'compose', id: 'compose', 'aria-label': 'New message' },
    h('div', { class: 'fields' }, toL, withSuggestions(to), ccL, withSuggestions(cc), bccL, withSuggestions(bcc), subjL, subject),
    h('label', { for: 'compose-body', class: 'visually-hidden' }, 'Message'), body,
    asAttachment ? h('div', { class: 'check' }, asAttachment, h('label', { for: 'compose-forward-attached' }, 'Attach the original message')) : null,
    h('label', { for: 'compose-files' }, 'Attach files'), files, attList,
    h('div', { class: 'buttons' }, send, save, discard), status);

  formEl.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (busy) return;
    const draftsId = ctx.draftsId || ctx.sentId;
    if (!draftsId) { status.textContent = 'There is neither a Drafts nor a Sent folder to send from.'; return; }
    const { email, bad, recipients } = buildEmail({ ...form(), mailboxId: draftsId, draft: true });
    if (bad.length) { status.textContent = `Not an address: ${bad.join(', ')}`; return; }
    if (!recipients.length) { status.textContent = 'Add at least one recipient.'; return; }
    if (!identity) { status.textContent = 'You have no identity to send as (Identity/get gave none).'; return; }
    busy = true;
    send.disabled = true;
    status.textContent = 'Sending…';
    /** @type {Record<string, any>} */
    const onSuccess = { 'keywords/$draft': null };
    if (ctx.sentId && ctx.sentId !== draftsId) {
      onSuccess[`mailboxIds/${draftsId}`] = null;
      onSuccess[`mailboxIds/${ctx.sentId}`] = true;
    }
    const accountId = client.accountId;
    try {
      const r = await client.request([
        ['Email/set', { accountId, create: { msg: email }, destroy: draftId ? [draftId] : undefined }, 'e'],
        ['EmailSubmission/set', {
          accountId, create: { sub: { identityId: identity.id, emailId: '#msg' } },
          onSuccessUpdateEmail: { '#sub': onSuccess },
        }, 's'],
      ], [CORE, MAIL, SUBMISSION]);
      const e = r.e, s = r.s;
      if (e && e.error) throw new Error(e.error.description || e.error.type);
      if (!e || !e.created || !e.created.msg) {
        const nc = e && e.notCreated && e.notCreated.msg;
        throw new Error(nc ? nc.description || nc.type : 'the message was not created');
      }
      draftId = e.created.msg.id; /* kept as a draft if the submission fails */
      if (!s || s.error) throw new Error(s ? `${s.error.description || s.error.type} (kept in Drafts)` : 'no answer to EmailSubmission/set');
      if (!s.created || !s.created.sub) {
        const nc = s.notCreated && s.notCreated.sub;
        throw new Error(`${nc ? nc.description || nc.type : 'not submitted'} (kept in Drafts)`);
      }
      close('Sent.');
    } catch (err) {
      status.textContent = `Not sent: ${err instanceof Error ? err.message : err}`;
    } finally {
      busy = false;
      send.disabled = false;
    }
  });

  replace(pane, h('h2', { class: 'compose-title' }, ctx.request.mode === 'new' ? 'New message' : ctx.request.mode === 'forward' ? 'Forward' : 'Reply'), formEl);
  (init.to ? body : to).focus();
  return { close };
}

