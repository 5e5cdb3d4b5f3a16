// jmap: the JMAP client (RFC 8620) the webmail talks through.
//
// Why a module of its own: every view asks the server through one object
// that knows the session resource (its URLs and account), tern's cookie
// login and its CSRF token, how to batch method calls with result
// references, and how errors come back (an HTTP status, a request-level
// problem document, or a method-level "error" response). Views never
// build fetch() calls themselves.

export const CORE = 'urn:ietf:params:jmap:core';
export const MAIL = 'urn:ietf:params:jmap:mail';
export const SUBMISSION = 'urn:ietf:params:jmap:submission';

const CSRF_KEY = 'tern.csrf';

/**
 * @typedef {{ type: string, description?: string, [k: string]: any }} MethodError
 * @typedef {[string, Record<string, any>, string]} Invocation
 * @typedef {{
 *   apiUrl: string, downloadUrl: string, uploadUrl: string, eventSourceUrl: string,
 *   username: string, state: string,
 *   accounts: Record<string, {name: string, isPersonal: boolean}>,
 *   primaryAccounts: Record<string, string>,
 *   capabilities: Record<string, any>
 * }} Session
 */

/** An answer that is not what was asked for: HTTP, request or method level. */
export class JmapError extends Error {
  /**
   * @param {string} type e.g. "unauthorized", "unknownMethod", "http"
   * @param {string} message
   * @param {number} [status] the HTTP status, when it came from one
   */
  constructor(type, message, status) {
    super(message);
    this.type = type;
    this.status = status || 0;
  }
}

/** A back-reference to a previous call's result (RFC 8620 3.7). */
export function ref(/** @type {string} */ resultOf, /** @type {string} */ name, /** @type {string} */ path) {
  return { resultOf, name, path };
}

/**
 * Fill a URL template of the session (RFC 6570 level 1, as RFC 8620 uses).
 * @param {string} template
 * @param {Record<string, string>} vars
 */
export function fillTemplate(template, vars) {
  return template.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(vars[k] ?? ''));
}

export class JmapClient {
  constructor() {
    /** @type {Session | null} */
    this.session = null;
    /** @type {string} */
    this.csrf = sessionStorage.getItem(CSRF_KEY) || '';
    /** @type {() => void} called when the server says we are logged out */
    this.onUnauthorized = () => {};
    /** @type {{call: Invocation, using: string[], resolve: (r: any) => void, reject: (e: any) => void}[]} calls waiting for this turn's request */
    this.queue = [];
  }

  get accountId() {
    const s = this.session;
    return s ? s.primaryAccounts[MAIL] || Object.keys(s.accounts)[0] || '' : '';
  }

  /** @param {Response} res @param {string} fallback */
  static async errorOf(res, fallback) {
    let type = 'http', msg = fallback;
    try {
      const j = await res.json();
      if (j && typeof j === 'object') {
        if (typeof j.error === 'string') msg = j.error;
        if (typeof j.detail === 'string') msg = j.detail;
        if (typeof j.type === 'string') type = j.type.replace('urn:ietf:params:jmap:error:', '');
      }
    } catch (_) { /* not JSON: the status says enough */ }
    return new JmapError(type, msg, res.status);
  }

  /** @param {string} username @param {string} password */
  async login(username, password) {
    const res = await fetch('/jmap/login', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    if (res.status === 429) throw new JmapError('throttled', 'Too many attempts: wait a little and try again.', 429);
    if (res.status === 401) throw await JmapClient.errorOf(res, 'Wrong user name or password.');
    if (!res.ok) throw await JmapClient.errorOf(res, `Login failed (HTTP ${res.status}).`);
    const j = await res.json();
    this.csrf = String(j.csrf || '');
    sessionStorage.setItem(CSRF_KEY, this.csrf);
    await this.loadSession();
  }

  async logout() {
    try {
      await fetch('/jmap/logout', { method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': this.csrf } });
    } finally {
      this.forget();
    }
  }

  /** Drop what we know of the login (the cookie is the server's to end). */
  forget() {
    this.csrf = '';
    this.session = null;
    sessionStorage.removeItem(CSRF_KEY);
  }

  /** The session resource; a JmapError "unauthorized" when not logged in. */
  async loadSession() {
    const res = await fetch('/.well-known/jmap', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (res.status === 401 || res.status === 403) throw new JmapError('unauthorized', 'Not logged in.', res.status);
    if (!res.ok) throw await JmapClient.errorOf(res, `The session could not be loaded (HTTP ${res.status}).`);
    this.session = await res.json();
    return this.session;
  }

  /**
   * One request of several method calls. Returns the responses by call id;
   * a method-level error comes back as { error: MethodError } so a batch
   * with one failing call still gives the others.
   * @param {Invocation[]} calls
   * @param {string[]} [using]
   * @returns {Promise<Record<string, any>>}
   */
  async request(calls, using = [CORE, MAIL]) {
    const url = this.session ? this.session.apiUrl : '/jmap/api';
    let res;
    try {
      res = await fetch(url, {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': this.csrf },
        body: JSON.stringify({ using, methodCalls: calls }),
      });
    } catch (e) {
      throw new JmapError('network', 'The server cannot be reached.');
    }
    if (res.status === 401) {
      this.onUnauthorized();
      throw new JmapError('unauthorized', 'Your session has ended: log in again.', 401);
    }
    if (!res.ok) throw await JmapClient.errorOf(res, `The server refused the request (HTTP ${res.status}).`);
    const body = await res.json();
    /** @type {Record<string, any>} */
    const out = {};
    for (const [name, args, id] of body.methodResponses || []) {
      /* a call may answer more than once under its id (RFC 8621 7.5: the
         Email/set of onSuccessUpdateEmail follows EmailSubmission/set's
         own): the first is the call's, the others are kept as id/name */
      const key = id in out ? `${id}/${name}` : id;
      out[key] = name === 'error' ? { error: /** @type {MethodError} */ (args) } : args;
    }
    return out;
  }

  /**
   * One method call; a method-level error is thrown. Calls made in the
   * same turn of the event loop go out together in one request (batching:
   * the views ask independently, the server sees one round trip).
   * @param {string} method @param {Record<string, any>} args @param {string[]} [using]
   * @returns {Promise<any>}
   */
  call(method, args, using = [CORE, MAIL]) {
    return new Promise((resolve, reject) => {
      this.queue.push({ call: [method, { accountId: this.accountId, ...args }, `c${this.queue.length}`], using, resolve, reject });
      if (this.queue.length === 1) queueMicrotask(() => this.flush());
    });
  }

  async flush() {
    const batch = this.queue;
    this.queue = [];
    const using = [...new Set(batch.flatMap((b) => b.using))];
    let res;
    try {
      res = await this.request(batch.map((b) => b.call), using);
    } catch (e) {
      batch.forEach((b) => b.reject(e));
      return;
    }
    for (const b of batch) {
      const [method, , id] = b.call;
      const r = res[id];
      if (!r) b.reject(new JmapError('serverFail', `No answer to ${method}.`));
      else if (r.error) b.reject(new JmapError(r.error.type, r.error.description || `${method}: ${r.error.type}`));
      else b.resolve(r);
    }
  }

  /**
   * Upload a file to the session's uploadUrl (RFC 8620 6.1).
   * @param {Blob} blob
   * @returns {Promise<{blobId: string, type: string, size: number}>}
   */
  async upload(blob) {
    if (!this.session) throw new JmapError('unauthorized', 'Not logged in.');
    const url = fillTemplate(this.session.uploadUrl, { accountId: this.accountId });
    const res = await fetch(url, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': blob.type || 'application/octet-stream', 'X-CSRF-Token': this.csrf },
      body: blob,
    });
    if (!res.ok) throw await JmapClient.errorOf(res, `The upload failed (HTTP ${res.status}).`);
    return res.json();
  }

  /** @param {string} blobId @param {string} name @param {string} type */
  downloadUrl(blobId, name, type) {
    if (!this.session) return '';
    return fillTemplate(this.session.downloadUrl, { accountId: this.accountId, blobId, name: name || 'attachment', type: type || 'application/octet-stream' });
  }

  /** The sanitized HTML body of an email, for a sandboxed iframe. */
  htmlUrl(/** @type {string} */ emailId, /** @type {boolean} */ images) {
    return `/jmap/html/${encodeURIComponent(this.accountId)}/${encodeURIComponent(emailId)}${images ? '?images=1' : ''}`;
  }

  /**
   * Push (RFC 8620 7.3): calls onChange with each StateChange's changed map.
   * @param {(changed: Record<string, Record<string, string>>) => void} onChange
   * @returns {EventSource | null}
   */
  listen(onChange) {
    if (!this.session || !this.session.eventSourceUrl || typeof EventSource === 'undefined') return null;
    const url = fillTemplate(this.session.eventSourceUrl, { types: '*', closeafter: 'no', ping: '30' });
    const es = new EventSource(url, { withCredentials: true });
    es.addEventListener('state', (ev) => {
      try {
        const j = JSON.parse(/** @type {MessageEvent} */ (ev).data);
        if (j && j.changed) onChange(j.changed);
      } catch (_) { /* a malformed event is dropped */ }
    });
    return es;
  }
}
