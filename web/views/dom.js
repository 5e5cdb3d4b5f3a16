// dom: the one way views make elements.
//
// Why: the webmail never parses HTML from data. h() builds elements with
// createElement, sets text with textContent (through append of strings)
// and attributes with setAttribute, so a subject like "<img onerror=...>"
// is shown as those characters and never becomes markup.

/**
 * @typedef {Node | string | number | null | undefined | false} Child
 */

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, any> | null} [props] class, text, on<event>, dataset, or attributes
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = String(v);
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' && 'value' in el) /** @type {any} */ (el).value = v;
    else if (k === 'checked' && 'checked' in el) /** @type {any} */ (el).checked = !!v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  appendAll(el, children);
  return el;
}

/** @param {Element} el @param {(Child | Child[])[]} children */
function appendAll(el, children) {
  for (const c of children) {
    if (Array.isArray(c)) appendAll(el, c);
    else if (c != null && c !== false) el.append(typeof c === 'number' ? String(c) : c);
  }
}

/** Replace an element's children. @param {Element} el @param {...(Child | Child[])} children */
export function replace(el, ...children) {
  el.replaceChildren();
  appendAll(el, children);
}

/** @param {string} id */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing`);
  return el;
}

/**
 * "Ann <ann@x>" for an EmailAddress list (RFC 8621 4.1.2.3).
 * @param {{name?: string|null, email?: string|null}[] | null | undefined} list
 * @param {boolean} [short] names only when there are names
 */
export function addrs(list, short) {
  if (!list || !list.length) return '';
  return list.map((a) => (short && a.name) ? a.name : a.name ? `${a.name} <${a.email || ''}>` : (a.email || '')).join(', ');
}

const dayFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** A list's short date: the time today, the day this year, else the date. @param {string} iso */
export function shortDate(iso) {
  const d = new Date(iso);
  if (isNaN(d.getTime())) return '';
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return timeFmt.format(d);
  if (d.getFullYear() === now.getFullYear()) return dayFmt.format(d);
  return d.toISOString().slice(0, 10);
}

/** @param {string} iso */
export function longDate(iso) {
  const d = new Date(iso);
  return isNaN(d.getTime()) ? '' : fullFmt.format(d);
}

/** @param {number} n bytes */
export function size(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KB`;
  return `${(n / 1048576).toFixed(1)} MB`;
}
