// mock_jmap: a scripted JMAP server inside the browser context (page.route).
//
// Why: the webmail's server side (JMAP over tern's store) is being built
// at the same time as the front end. These tests drive the real front
// end, served by the real tern, in a real chromium, and answer only its
// /jmap/ and /.well-known/jmap requests from here, by RFC 8620/8621 and
// tern's login contract, so every view, action and request the front end
// makes is checked now. They keep their worth afterwards: the server's
// answers can be made to fail on purpose (fail[method] = error type), and
// every call is recorded for the assertions. The end-to-end tests in
// run.mjs talk to tern's own JMAP instead.

export const ACCOUNT = 'A1';
export const CSRF = 'csrf-token-for-tests';

const MAILBOXES = [
  { id: 'F10', name: 'Aardvark', role: null, parentId: null, sortOrder: 0 },
  { id: 'F6', name: 'Trash', role: 'trash', parentId: null, sortOrder: 0 },
  { id: 'F2', name: 'Drafts', role: 'drafts', parentId: null, sortOrder: 0 },
  { id: 'F8', name: '2024', role: null, parentId: 'F7', sortOrder: 0 },
  { id: 'F1', name: 'INBOX', role: 'inbox', parentId: null, sortOrder: 0 },
  { id: 'F5', name: 'Junk', role: 'junk', parentId: null, sortOrder: 0 },
  { id: 'F3', name: 'Sent', role: 'sent', parentId: null, sortOrder: 0 },
  { id: 'F7', name: 'Projects', role: null, parentId: null, sortOrder: 0 },
  { id: 'F4', name: 'Archive', role: 'archive', parentId: null, sortOrder: 0 },
  { id: 'F9', name: 'Big', role: null, parentId: null, sortOrder: 0 },
];
export const BIG = 'F9';

/** Strings that would be markup if the page ever parsed data as HTML. */
export const HOSTILE = '<img src=x onerror="window.__xss=1;alert(1)"><script>window.__xss=2</script>';

/**
 * RFC 8620 3.7's JSON pointer: "*" maps the rest of the path over an
 * array's items, flattening the arrays that gives.
 * @param {any} v @param {string[]} parts
 */
function pointer(v, parts) {
  if (!parts.length || v == null) return v;
  const [p, ...rest] = parts;
  if (Array.isArray(v) && p === '*') return v.flatMap((x) => { const y = pointer(x, rest); return Array.isArray(y) ? y : [y]; });
  return pointer(v[p], rest);
}

export class MockJmap {
  /**
   * @param {{ bigCount?: number, conversations?: boolean }} [opts] conversations:
   *   also a thread of three (M3, a reply in Sent M22, an unread reply M21 in
   *   INBOX) and two more HTML messages with remote images (M23 from M7's
   *   sender, M24 from another)
   */
  constructor({ bigCount = 100000, conversations = false } = {}) {
    this.bigCount = bigCount;
    this.loggedIn = false;
    /** every method call: [name, args] */
    this.calls = [];
    /** the method names of each /jmap/api request */
    this.batches = [];
    /** requests other than /api: {method, path, headers, body} */
    this.requests = [];
    /** method name -> error type to answer with */
    this.fail = {};
    this.pushPending = null;
    this.nextId = 1000;
    this.uploads = new Map();
    this.identity = { id: 'I1', name: 'Alice Example', email: 'alice@example.test', replyTo: null, bcc: null, textSignature: 'Alice\nexample.test', htmlSignature: '', mayDelete: false };
    this.emails = new Map();
    const base = Date.parse('2026-12-01T10:00:00Z');
    const add = (id, mailbox, i, over = {}) => this.emails.set(id, {
      id, blobId: `B${id.slice(1)}`, threadId: `T${id.slice(1)}`, mailboxIds: { [mailbox]: true }, keywords: {},
      from: [{ name: `Sender ${i}`, email: `sender${i}@example.org` }], to: [{ name: 'Alice Example', email: 'alice@example.test' }],
      cc: [{ name: null, email: 'carol@example.org' }], subject: `Message ${i}`, receivedAt: new Date(base - i * 3600e3).toISOString(),
      sentAt: new Date(base - i * 3600e3).toISOString(), size: 1000 + i, preview: `preview ${i}`, hasAttachment: false,
      messageId: [`m${i}@example.org`], references: null, replyTo: null, bcc: null, inReplyTo: null,
      textBody: [{ partId: '1', blobId: `B${id.slice(1)}.1`, type: 'text/plain', size: 20 }], htmlBody: [{ partId: '1', type: 'text/plain' }],
      attachments: [], bodyValues: { 1: { value: `Body of message ${i}\nsecond line`, isTruncated: false, isEncodingProblem: false } },
      ...over,
    });
    for (let i = 1; i <= 5; i++) add(`M${i}`, 'F1', i, i === 1 ? {} : { keywords: { $seen: true } });
    add('M6', 'F1', 6, {
      subject: HOSTILE, from: [{ name: HOSTILE, email: 'evil@example.org' }], keywords: { $seen: true },
      bodyValues: { 1: { value: `${HOSTILE}\n<a href="javascript:alert(3)">click</a>`, isTruncated: false, isEncodingProblem: false } },
      hasAttachment: true,
      attachments: [{ partId: '2', blobId: 'B6.2', type: 'application/pdf', name: 'report <b>.pdf', size: 12345, disposition: 'attachment' }],
    });
    add('M7', 'F1', 7, { subject: 'An HTML message', keywords: { $seen: true }, htmlBody: [{ partId: '2', blobId: 'B7.2', type: 'text/html', size: 300 }] });
    add('M8', 'F6', 8, { subject: 'Already in Trash', keywords: { $seen: true } });
    if (conversations) {
      const at = (/** @type {number} */ hours) => new Date(base - hours * 3600e3).toISOString();
      add('M22', 'F3', 22, { threadId: 'T3', subject: 'Re: Message 3', keywords: { $seen: true }, from: [{ name: 'Alice Example', email: 'alice@example.test' }], receivedAt: at(2.8), sentAt: at(2.8), preview: 'my answer' });
      add('M21', 'F1', 21, { threadId: 'T3', subject: 'Re: Message 3', receivedAt: at(2.5), sentAt: at(2.5), from: [{ name: 'Sender 3', email: 'sender3@example.org' }], preview: 'their answer' });
      add('M23', 'F1', 23, { subject: 'More HTML from sender 7', keywords: { $seen: true }, from: [{ name: 'Sender 7', email: 'Sender7@Example.org' }], htmlBody: [{ partId: '2', blobId: 'B23.2', type: 'text/html', size: 300 }] });
      add('M24', 'F1', 24, { subject: 'HTML from someone else', keywords: { $seen: true }, from: [{ name: 'Other', email: 'other@example.org' }], htmlBody: [{ partId: '2', blobId: 'B24.2', type: 'text/html', size: 300 }] });
    }
  }

  /** The ids of a thread's emails, oldest first (RFC 8621 3). @param {string} threadId */
  threadEmailIds(threadId) {
    const n = Number(threadId.slice(1));
    if (n >= 100000 && n < 100000 + this.bigCount) return [`M${n}`];
    return [...this.emails.values()].filter((e) => e.threadId === threadId)
      .sort((x, y) => (x.receivedAt < y.receivedAt ? -1 : x.receivedAt > y.receivedAt ? 1 : 0)).map((e) => e.id);
  }

  /** A message of the big folder, made on demand. @param {number} i */
  bigEmail(i) {
    const id = `M${100000 + i}`;
    return {
      id, blobId: `B${100000 + i}`, threadId: `T${100000 + i}`, mailboxIds: { [BIG]: true }, keywords: i % 3 ? { $seen: true } : {},
      from: [{ name: `Big sender ${i % 50}`, email: `big${i % 50}@example.org` }], subject: `Big message ${i}`,
      receivedAt: new Date(Date.parse('2026-12-01T00:00:00Z') - i * 60e3).toISOString(), size: 500 + (i * 7919) % 100000,
      preview: `big ${i}`, hasAttachment: false,
    };
  }

  mailboxList() {
    return MAILBOXES.map((m) => {
      const inIt = [...this.emails.values()].filter((e) => e.mailboxIds[m.id]);
      const big = m.id === BIG;
      return {
        ...m, totalEmails: big ? this.bigCount : inIt.length,
        unreadEmails: big ? Math.ceil(this.bigCount / 3) : inIt.filter((e) => !e.keywords.$seen).length,
        totalThreads: 0, unreadThreads: 0, isSubscribed: true,
        myRights: { mayReadItems: true, mayAddItems: true, mayRemoveItems: true, maySetSeen: true, maySetKeywords: true, mayCreateChild: true, mayRename: true, mayDelete: true, maySubmit: true },
      };
    });
  }

  session() {
    return {
      capabilities: { 'urn:ietf:params:jmap:core': { maxSizeUpload: 50000000, maxCallsInRequest: 32, maxObjectsInGet: 500, maxObjectsInSet: 500 }, 'urn:ietf:params:jmap:mail': {}, 'urn:ietf:params:jmap:submission': {} },
      accounts: { [ACCOUNT]: { name: 'alice@example.test', isPersonal: true, isReadOnly: false, accountCapabilities: {} } },
      primaryAccounts: { 'urn:ietf:params:jmap:mail': ACCOUNT, 'urn:ietf:params:jmap:submission': ACCOUNT },
      username: 'alice@example.test', apiUrl: '/jmap/api', downloadUrl: '/jmap/download/{accountId}/{blobId}/{name}?type={type}',
      uploadUrl: '/jmap/upload/{accountId}/', eventSourceUrl: '/jmap/eventsource?types={types}&closeafter={closeafter}&ping={ping}', state: 's1',
    };
  }

  /** Route this context's JMAP requests here. @param {import('playwright-core').BrowserContext} context */
  async install(context) {
    await context.route((url) => url.pathname.startsWith('/jmap/') || url.pathname === '/.well-known/jmap', (route) => this.handle(route));
  }

  /** @param {import('playwright-core').Route} route */
  async handle(route) {
    const req = route.request();
    const url = new URL(req.url());
    const headers = req.headers();
    const json = (status, body, extra = {}) => route.fulfill({ status, contentType: 'application/json', headers: extra, body: JSON.stringify(body) });
    const record = { method: req.method(), path: url.pathname + url.search, headers, body: req.postDataBuffer() };
    if (url.pathname !== '/jmap/api') this.requests.push(record);
    if (url.pathname === '/jmap/login' && req.method() === 'POST') {
      const { username, password } = JSON.parse(req.postData() || '{}');
      if (this.fail.login) return json(this.fail.login, { error: this.fail.login === 429 ? 'throttled' : 'wrong' });
      if (username !== 'alice@example.test' || password !== 'secret') return json(401, { error: 'Wrong user name or password <b>.' });
      this.loggedIn = true;
      return json(200, { csrf: CSRF, username });
    }
    if (url.pathname === '/.well-known/jmap') return this.loggedIn ? json(200, this.session()) : json(401, { error: 'not logged in' });
    if (!this.loggedIn) return json(401, { error: 'not logged in' });
    const csrfOk = headers['x-csrf-token'] === CSRF;
    if (url.pathname === '/jmap/logout') {
      if (!csrfOk) return json(403, { error: 'csrf' });
      this.loggedIn = false;
      return route.fulfill({ status: 204, body: '' });
    }
    if (url.pathname === '/jmap/password') {
      if (this.fail.password) return route.fulfill({ status: this.fail.password, body: '' });
      const { old } = JSON.parse(req.postData() || '{}');
      return old === 'secret' ? route.fulfill({ status: 204, body: '' }) : json(403, { error: 'The current password is wrong.' });
    }
    if (url.pathname.startsWith('/jmap/upload/')) {
      if (!csrfOk) return json(403, { error: 'csrf' });
      const blobId = `B${this.nextId++}`;
      const body = req.postDataBuffer() || Buffer.alloc(0);
      this.uploads.set(blobId, body);
      return json(201, { accountId: ACCOUNT, blobId, type: headers['content-type'], size: body.length });
    }
    if (url.pathname.startsWith('/jmap/download/')) {
      return route.fulfill({ status: 200, contentType: 'application/octet-stream', body: Buffer.from(`bytes of ${url.pathname.split('/')[4]}`) });
    }
    if (url.pathname.startsWith('/jmap/html/')) {
      // Unsanitized on purpose: the iframe's sandbox must hold on its own.
      const images = url.searchParams.get('images') === '1';
      return route.fulfill({
        status: 200, contentType: 'text/html; charset=utf-8',
        headers: { 'X-Tern-Remote-Images': '1' },
        body: `<!doctype html><p id="html-text">HTML body${images ? ' with images' : ''}</p><script>parent.__xss=3;alert(4)</script><img src=x onerror="parent.__xss=4">`,
      });
    }
    if (url.pathname === '/jmap/eventsource') {
      const p = this.pushPending;
      this.pushPending = null;
      const body = 'retry: 150\n\n' + (p ? `event: state\ndata: ${JSON.stringify({ '@type': 'StateChange', changed: { [ACCOUNT]: p } })}\n\n` : '');
      return route.fulfill({ status: 200, contentType: 'text/event-stream', body });
    }
    if (url.pathname === '/jmap/api') {
      if (!csrfOk) return json(403, { type: 'about:blank', detail: 'missing CSRF token' });
      return json(200, this.api(JSON.parse(req.postData() || '{}')));
    }
    return json(404, { error: 'unknown' });
  }

  /** RFC 8620 3.3-3.7: run the calls in order, resolving back-references. */
  api(request) {
    this.batches.push((request.methodCalls || []).map((c) => c[0]));
    const out = [];
    const created = {};
    for (const [name, rawArgs, id] of request.methodCalls || []) {
      const args = {};
      let refError = false;
      for (const [k, v] of Object.entries(rawArgs)) {
        if (k.startsWith('#')) {
          const prev = out.find((r) => r[2] === v.resultOf && r[0] === v.name);
          if (!prev) { refError = true; break; }
          args[k.slice(1)] = pointer(prev[1], v.path.split('/').filter(Boolean));
        } else args[k] = v;
      }
      this.calls.push([name, args]);
      if (refError) { out.push(['error', { type: 'invalidResultReference' }, id]); continue; }
      if (this.fail[name]) { out.push(['error', { type: this.fail[name], description: `${name} is not here yet` }, id]); continue; }
      const fn = this.methods[name];
      if (!fn) { out.push(['error', { type: 'unknownMethod' }, id]); continue; }
      const implicit = [];
      out.push([name, fn.call(this, args, created, implicit), id]);
      /* RFC 8621 7.5: onSuccessUpdateEmail answers as an Email/set of the same call id, after it */
      for (const r of implicit) out.push(['Email/set', r, id]);
    }
    return { methodResponses: out, sessionState: 's1' };
  }

  matches(e, f) {
    if (!f) return true;
    if (f.operator === 'AND') return f.conditions.every((c) => this.matches(e, c));
    if (f.inMailbox && !e.mailboxIds[f.inMailbox]) return false;
    const text = (x) => JSON.stringify(x || '').toLowerCase();
    if (f.text && !(text(e.subject) + text(e.from) + text(e.bodyValues)).includes(f.text.toLowerCase())) return false;
    if (f.from && !text(e.from).includes(f.from.toLowerCase())) return false;
    if (f.subject && !text(e.subject).includes(f.subject.toLowerCase())) return false;
    if (f.hasAttachment !== undefined && !!e.hasAttachment !== f.hasAttachment) return false;
    return true;
  }

  get methods() {
    return {
      'Mailbox/get': () => ({ accountId: ACCOUNT, state: 'm1', list: this.mailboxList(), notFound: [] }),
      'Identity/get': () => ({ accountId: ACCOUNT, state: 'i1', list: [this.identity], notFound: [] }),
      'Identity/set': (a) => {
        Object.assign(this.identity, a.update[this.identity.id] || {});
        return { accountId: ACCOUNT, oldState: 'i1', newState: 'i2', updated: { [this.identity.id]: null } };
      },
      'Email/query': (a) => {
        const pos = a.position || 0, limit = Math.min(a.limit || 100, 500);
        const sort = (a.sort || [])[0] || { property: 'receivedAt', isAscending: false };
        if (a.filter && a.filter.inMailbox === BIG) {
          const n = this.bigCount;
          // receivedAt falls with i: descending date is i ascending
          let order = (k) => k;
          if (sort.property === 'receivedAt' && sort.isAscending) order = (k) => n - 1 - k;
          if (sort.property === 'subject' || sort.property === 'from' || sort.property === 'size') order = (k) => (k * 7) % n;
          const ids = [];
          for (let k = pos; k < Math.min(n, pos + limit); k++) ids.push(`M${100000 + order(k)}`);
          return { accountId: ACCOUNT, queryState: 'q1', canCalculateChanges: false, position: pos, ids, total: n };
        }
        const key = (e) => sort.property === 'receivedAt' ? e.receivedAt : sort.property === 'size' ? e.size : JSON.stringify(e[sort.property]);
        let all = [...this.emails.values()].filter((e) => this.matches(e, a.filter))
          .sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0) * (sort.isAscending ? 1 : -1));
        if (a.collapseThreads) {
          const seen = new Set();
          all = all.filter((e) => !seen.has(e.threadId) && seen.add(e.threadId));
        }
        return { accountId: ACCOUNT, queryState: 'q1', canCalculateChanges: false, position: pos, ids: all.slice(pos, pos + limit).map((e) => e.id), total: all.length };
      },
      'Thread/get': (a) => {
        const list = [], notFound = [];
        for (const id of a.ids || []) {
          const emailIds = this.threadEmailIds(id);
          if (emailIds.length) list.push({ id, emailIds }); else notFound.push(id);
        }
        return { accountId: ACCOUNT, state: 'e1', list, notFound };
      },
      'Email/get': (a) => {
        const list = [], notFound = [];
        for (const id of a.ids || []) {
          const n = Number(id.slice(1));
          const e = this.emails.get(id) || (n >= 100000 && n < 100000 + this.bigCount ? this.bigEmail(n - 100000) : null);
          if (!e) { notFound.push(id); continue; }
          const props = a.properties || Object.keys(e);
          list.push(Object.fromEntries(props.filter((p) => p in e).map((p) => [p, e[p]])));
        }
        return { accountId: ACCOUNT, state: 'e1', list, notFound };
      },
      'Email/set': (a, created) => {
        const r = { accountId: ACCOUNT, oldState: 'e1', newState: 'e2', created: {}, updated: {}, destroyed: [], notCreated: {}, notUpdated: {}, notDestroyed: {} };
        for (const [cid, e] of Object.entries(a.create || {})) {
          if (this.fail.create) { r.notCreated[cid] = { type: this.fail.create, description: 'refused on purpose' }; continue; }
          const id = `M${this.nextId++}`;
          this.emails.set(id, { ...e, id, blobId: `B${id.slice(1)}`, threadId: `T${id.slice(1)}`, receivedAt: new Date().toISOString(), size: 100, keywords: e.keywords || {}, attachments: [] });
          r.created[cid] = { id, blobId: `B${id.slice(1)}`, threadId: `T${id.slice(1)}`, size: 100 };
          created[`#${cid}`] = id;
        }
        for (const [id, patch] of Object.entries(a.update || {})) {
          const e = this.emails.get(id) || (Number(id.slice(1)) >= 100000 ? null : null);
          if (!e) { r.notUpdated[id] = { type: 'notFound' }; continue; }
          for (const [k, v] of Object.entries(patch)) {
            const [top, sub] = k.split('/');
            if (sub) { if (v === null) delete e[top][sub]; else e[top] = { ...e[top], [sub]: v }; } else e[top] = v;
          }
          r.updated[id] = null;
        }
        for (const id of a.destroy || []) {
          if (this.emails.delete(id)) r.destroyed.push(id); else r.notDestroyed[id] = { type: 'notFound' };
        }
        return r;
      },
      'EmailSubmission/set': (a, created, implicit) => {
        const r = { accountId: ACCOUNT, oldState: 's1', newState: 's2', created: {}, notCreated: {} };
        for (const [cid, s] of Object.entries(a.create || {})) {
          const emailId = s.emailId.startsWith('#') ? created[s.emailId] : s.emailId;
          const e = this.emails.get(emailId);
          if (!e) { r.notCreated[cid] = { type: 'invalidProperties', description: 'no such email' }; continue; }
          r.created[cid] = { id: `S${this.nextId++}`, undoStatus: 'final' };
          const patch = (a.onSuccessUpdateEmail || {})[`#${cid}`];
          if (patch) implicit.push(this.methods['Email/set']({ update: { [emailId]: patch } }, created));
        }
        return r;
      },
    };
  }

  /** The last call of a method. */
  last(name) {
    for (let i = this.calls.length - 1; i >= 0; i--) if (this.calls[i][0] === name) return this.calls[i][1];
    return undefined;
  }
}
