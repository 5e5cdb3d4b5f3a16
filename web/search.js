// search: the search box's words as a JMAP Email/query filter (RFC 8621 4.4.1).
//
// Why a parser of its own: people type "from:ann report has:attachment
// after:2024-01-01", not JSON. Each word becomes one FilterCondition
// property; quoted phrases keep their spaces; all of them are ANDed. An
// operator the parser does not know stays a plain word (searched as
// text), so nothing a user types is an error, and the input is bounded
// (MAX_INPUT characters, MAX_TERMS words) so a pasted novel costs nothing.

export const MAX_INPUT = 1000;
export const MAX_TERMS = 32;

/** @typedef {Record<string, any>} Filter */

/**
 * Split into words; "double quotes" group, a backslash does not escape.
 * @param {string} s
 * @returns {string[]}
 */
export function tokenize(s) {
  const out = [];
  let cur = '', quoted = false, any = false;
  for (const ch of s.slice(0, MAX_INPUT)) {
    if (ch === '"') { quoted = !quoted; any = true; continue; }
    if (!quoted && /\s/.test(ch)) {
      if (any) out.push(cur);
      cur = ''; any = false;
      continue;
    }
    cur += ch; any = true;
  }
  if (any) out.push(cur);
  return out.filter((w) => w !== '').slice(0, MAX_TERMS);
}

/**
 * A date word (YYYY-MM-DD, or YYYY-MM, or YYYY) as UTCDate at its start, or null.
 * @param {string} v
 */
export function parseDate(v) {
  const m = /^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$/.exec(v);
  if (!m) return null;
  const y = Number(m[1]), mo = m[2] ? Number(m[2]) : 1, d = m[3] ? Number(m[3]) : 1;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return null;
  const t = new Date(Date.UTC(y, mo - 1, d));
  if (t.getUTCMonth() !== mo - 1) return null; /* 2024-02-31 */
  return t.toISOString().replace('.000Z', 'Z');
}

const TEXT_OPS = /** @type {const} */ (['from', 'to', 'cc', 'bcc', 'subject', 'body']);

/**
 * The filter for what was typed, or null for an empty search.
 * @param {string} input
 * @returns {Filter | null}
 */
export function parseSearch(input) {
  /** @type {Filter[]} */
  const conds = [];
  /** @type {string[]} */
  const text = [];
  for (const word of tokenize(String(input || ''))) {
    const colon = word.indexOf(':');
    const op = colon > 0 ? word.slice(0, colon).toLowerCase() : '';
    const val = colon > 0 ? word.slice(colon + 1) : '';
    if (op && val && /** @type {readonly string[]} */ (TEXT_OPS).includes(op)) {
      conds.push({ [op]: val });
    } else if (op === 'has' && /^attachments?$/i.test(val)) {
      conds.push({ hasAttachment: true });
    } else if ((op === 'before' || op === 'after') && parseDate(val)) {
      conds.push({ [op]: parseDate(val) });
    } else if (op === 'is' && /^(unread|read|flagged)$/i.test(val)) {
      const v = val.toLowerCase();
      conds.push(v === 'unread' ? { notKeyword: '$seen' } : v === 'read' ? { hasKeyword: '$seen' } : { hasKeyword: '$flagged' });
    } else {
      text.push(word);
    }
  }
  if (text.length) conds.unshift({ text: text.join(' ') });
  if (!conds.length) return null;
  if (conds.length === 1) return conds[0];
  return { operator: 'AND', conditions: conds };
}
