// list: the message list, with virtual scrolling.
//
// Why virtual: a folder may hold 100,000 messages. The list is a tall
// empty spacer (total x row height) in a scrolling box, and only the rows
// in view (plus a few either side) exist as elements, each placed with a
// transform. Ids come from Email/query in pages of PAGE at a position,
// each page in the same request as the Email/get of its ids (a result
// reference), so the first screen is one round trip. Pages are asked for
// only once scrolling pauses, and only those in view; an answer for an
// older query (another folder, another sort) is dropped by its generation.
//
// Conversations (threads on): the same list, one row per thread. The
// query collapses threads (collapseThreads: the row is the thread's first
// email in sort order, the newest by date), and the same request asks
// Thread/get for those rows' threads (the count is its emailIds' length)
// and the keywords of every email in them (a thread is unread when any of
// its emails is), all by result references: still one round trip a page.
import { ref } from '../jmap.js';
import { h, addrs, shortDate, size } from './dom.js';

export const PAGE = 100;
const OVERSCAN = 8;
const FETCH_DELAY_MS = 40;

export const LIST_PROPERTIES = ['id', 'threadId', 'mailboxIds', 'keywords', 'from', 'subject', 'receivedAt', 'size', 'preview', 'hasAttachment'];

/** @typedef {{ property: string, isAscending: boolean }} Sort */

export class MessageList {
  /**
   * @param {import('../jmap.js').JmapClient} client
   * @param {(id: string, index: number) => void} onOpen
   * @param {(message: string) => void} onError
   */
  constructor(client, onOpen, onError) {
    this.client = client;
    this.onOpen = onOpen;
    this.onError = onError;
    this.spacer = h('div', { class: 'spacer' });
    this.empty = h('p', { class: 'empty', hidden: true }, 'No messages.');
    this.el = h('div', { class: 'scroller', id: 'message-scroller' }, this.spacer, this.empty);
    this.rowHeight = 0;
    this.total = 0;
    /** @type {(string | undefined)[]} */
    this.ids = [];
    /** @type {Map<string, any>} */
    this.emails = new Map();
    /** @type {Set<number>} */
    this.pending = new Set();
    /** @type {Map<number, HTMLButtonElement>} */
    this.rows = new Map();
    /** @type {any} */
    this.filter = null;
    /** @type {Sort} */
    this.sort = { property: 'receivedAt', isAscending: false };
    this.gen = 0;
    /** one row per thread */
    this.threads = false;
    /** @type {Map<string, string[]>} a thread's email ids */
    this.threadEmails = new Map();
    /** @type {Map<string, Record<string, boolean>>} the keywords of the emails in those threads */
    this.keywords = new Map();
    this.selectedId = '';
    this.loaded = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.fetchTimer = undefined;
    let frame = 0;
    this.el.addEventListener('scroll', () => {
      if (!frame) frame = requestAnimationFrame(() => { frame = 0; this.paint(); });
    });
    if (typeof ResizeObserver !== 'undefined') new ResizeObserver(() => this.paint()).observe(this.el);
  }

  /**
   * Show the messages (or threads) that match filter, in sort order, from the top.
   * @param {any} filter @param {Sort} sort @param {boolean} [threads] one row per thread
   */
  async open(filter, sort, threads = false) {
    this.filter = filter;
    this.sort = sort;
    this.threads = threads;
    this.threadEmails.clear();
    this.keywords.clear();
    this.el.classList.toggle('threads', threads);
    this.gen++;
    this.ids = [];
    this.total = 0;
    this.loaded = false;
    this.pending.clear();
    for (const row of this.rows.values()) row.remove();
    this.rows.clear();
    this.el.scrollTop = 0;
    this.el.setAttribute('aria-busy', 'true');
    await this.load([0], true);
  }

  /** Ask again for the pages in view (mail came, flags changed). */
  async refresh() {
    this.gen++;
    this.pending.clear();
    await this.load(this.visiblePages(), true);
  }

  visiblePages() {
    const [first, last] = this.range();
    const pages = [];
    for (let p = Math.floor(first / PAGE); p * PAGE < Math.max(last, 1); p++) pages.push(p);
    return pages.length ? pages : [0];
  }

  /** [first, last) rows to have in the DOM. */
  range() {
    const rh = this.rowHeight || 44;
    const top = this.el.scrollTop, height = this.el.clientHeight || 800;
    const first = Math.max(0, Math.floor(top / rh) - OVERSCAN);
    const last = Math.min(this.total, Math.ceil((top + height) / rh) + OVERSCAN);
    return [first, last];
  }

  /**
   * One request for the pages: Email/query at each position and Email/get
   * of what it returned.
   * @param {number[]} pages
   * @param {boolean} replace whether the answer replaces every id known
   */
  async load(pages, replace) {
    const gen = this.gen;
    const todo = pages.filter((p) => !this.pending.has(p));
    if (!todo.length) return;
    todo.forEach((p) => this.pending.add(p));
    const accountId = this.client.accountId;
    /** @type {import('../jmap.js').Invocation[]} */
    const calls = [];
    for (const p of todo) {
      calls.push(['Email/query', { accountId, filter: this.filter, sort: [this.sort], collapseThreads: this.threads, position: p * PAGE, limit: PAGE, calculateTotal: true }, `q${p}`]);
      calls.push(['Email/get', { accountId, '#ids': ref(`q${p}`, 'Email/query', '/ids'), properties: LIST_PROPERTIES }, `g${p}`]);
      if (this.threads) {
        calls.push(['Thread/get', { accountId, '#ids': ref(`g${p}`, 'Email/get', '/list/*/threadId') }, `t${p}`]);
        calls.push(['Email/get', { accountId, '#ids': ref(`t${p}`, 'Thread/get', '/list/*/emailIds'), properties: ['id', 'keywords'] }, `k${p}`]);
      }
    }
    let res;
    try {
      res = await this.client.request(calls);
    } catch (e) {
      if (gen === this.gen) {
        todo.forEach((p) => this.pending.delete(p));
        this.el.removeAttribute('aria-busy');
        this.onError(e instanceof Error ? e.message : String(e));
      }
      return;
    }
    if (gen !== this.gen) return;
    if (replace) this.ids = [];
    for (const p of todo) {
      this.pending.delete(p);
      const q = res[`q${p}`], g = res[`g${p}`];
      if (!q || q.error) {
        this.onError(`The message list could not be loaded: ${q && q.error ? q.error.description || q.error.type : 'no answer'}.`);
        continue;
      }
      if (typeof q.total === 'number') this.total = q.total;
      else this.total = Math.max(this.total, q.position + q.ids.length);
      q.ids.forEach((/** @type {string} */ id, /** @type {number} */ i) => { this.ids[q.position + i] = id; });
      if (g && !g.error) for (const e of g.list) this.emails.set(e.id, e);
      const t = res[`t${p}`], k = res[`k${p}`];
      if (t && !t.error) for (const th of t.list || []) this.threadEmails.set(th.id, th.emailIds || []);
      /* (more emails than the server's maxObjectsInGet: a thread's unread
         state is its row's own then) */
      if (k && !k.error) for (const e of k.list || []) this.keywords.set(e.id, e.keywords || {});
    }
    this.loaded = true;
    this.el.removeAttribute('aria-busy');
    this.paint(true);
  }

  /** @param {boolean} [force] redraw rows even if their message did not change */
  paint(force) {
    if (!this.rowHeight) this.measure();
    /* hidden (a narrow screen showing another pane): nothing to measure
     * or show; the ResizeObserver paints when the list is shown */
    if (!this.rowHeight) return;
    this.spacer.style.height = `${this.total * this.rowHeight}px`;
    this.empty.hidden = !this.loaded || this.total > 0;
    const [first, last] = this.range();
    for (const [i, row] of this.rows) {
      if (i < first || i >= last) { row.remove(); this.rows.delete(i); }
    }
    let missing = false;
    for (let i = first; i < last; i++) {
      const id = this.ids[i];
      const email = id ? this.emails.get(id) : undefined;
      if (!email) missing = true;
      const key = email ? `${email.id}|${Object.keys(email.keywords || {}).sort().join(',')}|${this.selectedId === email.id}|${this.threadKey(email)}` : 'loading';
      let row = this.rows.get(i);
      if (row && row.dataset.key === key && !force) continue;
      const fresh = this.row(i, email, key);
      if (row) row.replaceWith(fresh); else this.el.append(fresh);
      this.rows.set(i, fresh);
      row = fresh;
    }
    if (missing) {
      clearTimeout(this.fetchTimer);
      this.fetchTimer = setTimeout(() => {
        const need = this.visiblePages().filter((p) => {
          for (let i = p * PAGE; i < Math.min((p + 1) * PAGE, this.total); i++) if (!this.ids[i] || !this.emails.get(/** @type {string} */ (this.ids[i]))) return true;
          return false;
        });
        if (need.length) this.load(need, false);
      }, FETCH_DELAY_MS);
    }
  }

  measure() {
    const probe = h('button', { type: 'button', class: 'row' }, h('span', { class: 'from' }, 'x'));
    this.el.append(probe);
    this.rowHeight = probe.getBoundingClientRect().height;
    probe.remove();
  }

  /**
   * What a thread row shows beyond its email: how many, any unread, any flagged.
   * @param {any} email
   * @returns {{ count: number, unread: boolean, flagged: boolean } | null} null when not a thread row
   */
  threadInfo(email) {
    if (!this.threads) return null;
    const ids = this.threadEmails.get(email.threadId) || [email.id];
    let unread = false, flagged = false;
    for (const id of ids) {
      const kw = id === email.id ? email.keywords || {} : this.keywords.get(id);
      if (!kw) continue;
      if (!kw.$seen) unread = true;
      if (kw.$flagged) flagged = true;
    }
    return { count: ids.length, unread, flagged };
  }

  /** @param {any} email */
  threadKey(email) {
    const t = this.threadInfo(email);
    return t ? `${t.count}|${t.unread}|${t.flagged}` : '';
  }

  /**
   * @param {number} i @param {any} email @param {string} key
   * @returns {HTMLButtonElement}
   */
  row(i, email, key) {
    /** @type {HTMLButtonElement} */
    let b;
    if (!email) {
      b = h('button', { type: 'button', class: 'row loading', disabled: true, 'aria-label': 'Loading' }, h('span', { class: 'from' }, '…'));
    } else {
      const kw = email.keywords || {};
      const thread = this.threadInfo(email);
      const unread = thread ? thread.unread : !kw.$seen;
      const flagged = thread ? thread.flagged : !!kw.$flagged;
      const count = thread && thread.count > 1 ? thread.count : 0;
      b = h('button', {
        type: 'button',
        class: 'row' + (unread ? ' unread' : '') + (flagged ? ' flagged' : '') + (this.selectedId === email.id ? ' selected' : ''),
        dataset: thread ? { id: email.id, index: String(i), thread: email.threadId, count: String(thread.count) } : { id: email.id, index: String(i) },
        'aria-current': this.selectedId === email.id ? 'true' : null,
        onclick: () => this.onOpen(email.id, i),
      },
      h('span', { class: 'from' }, addrs(email.from, true) || '(no sender)', count ? h('span', { class: 'count', title: `${count} messages` }, ` ${count}`) : null),
      h('span', { class: 'date' }, shortDate(email.receivedAt)),
      h('span', { class: 'subject' }, email.subject || '(no subject)'),
      h('span', { class: 'meta' }, (flagged ? '★ ' : '') + (email.hasAttachment ? 'att · ' : '') + size(email.size || 0)),
      h('span', { class: 'preview' }, email.preview || ''));
      const what = `${addrs(email.from, true)}, ${email.subject || '(no subject)'}${count ? `, ${count} messages` : ''}`;
      if (unread || count) b.setAttribute('aria-label', unread ? `Unread: ${what}` : what);
    }
    b.dataset.key = key;
    b.style.transform = `translateY(${i * this.rowHeight}px)`;
    return b;
  }

  /** Mark the row of id as the open one, scrolled into view. @param {string} id */
  select(id) {
    this.selectedId = id;
    const i = this.ids.indexOf(id);
    if (i >= 0) {
      const rh = this.rowHeight || 44;
      if (i * rh < this.el.scrollTop) this.el.scrollTop = i * rh;
      else if ((i + 1) * rh > this.el.scrollTop + this.el.clientHeight) this.el.scrollTop = (i + 1) * rh - this.el.clientHeight;
    }
    this.paint(true);
  }

  /** The id next to id (+1 down, -1 up), or '' at an end or unknown. @param {string} id @param {number} step */
  neighbour(id, step) {
    const i = id ? this.ids.indexOf(id) : -1;
    const j = i < 0 ? 0 : i + step;
    return j >= 0 && j < this.total ? this.ids[j] || '' : '';
  }

  /** Update a message already listed (after a flag change), or one in a listed thread. @param {any} email */
  patch(email) {
    const old = this.emails.get(email.id);
    if (old) this.emails.set(email.id, { ...old, ...email });
    if (email.keywords && this.keywords.has(email.id)) this.keywords.set(email.id, email.keywords);
    this.paint(true);
  }
}
