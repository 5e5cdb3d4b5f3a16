// images: the senders whose remote images load at once ("Always show from").
//
// Why in the browser: the allowance is a reading preference, not mail
// data, and JMAP has no place for it. It is kept per account in
// localStorage as a JSON array of lower-cased addresses, newest last,
// bounded to MAX_SENDERS (the oldest fall off), so a long life of clicks
// cannot grow it without end. What is read back is checked: anything that
// is not an array of short strings counts as nothing allowed. Note that a
// From address can be forged: allowing one lets whoever writes as it see
// when the mail is opened (what "Remote images are blocked" guards).

export const MAX_SENDERS = 1000;
/** RFC 5321's longest path is 256; a little room for odd input. */
export const MAX_ADDRESS = 320;
/** What is read back: never more than MAX_SENDERS addresses could need. */
const MAX_STORED = MAX_SENDERS * (MAX_ADDRESS + 3) + 2;

/** The key of an account's list. @param {string} accountId */
export function storageKey(accountId) {
  return `tern.images.${accountId}`;
}

/** An address as kept: trimmed, lower-cased; '' when unusable. @param {unknown} address */
export function normalAddress(address) {
  if (typeof address !== 'string') return '';
  const a = address.trim().toLowerCase();
  return a && a.length <= MAX_ADDRESS && a.includes('@') && !/\s/.test(a) ? a : '';
}

/**
 * Parse a stored list: the valid addresses, each once, newest last, at
 * most MAX_SENDERS. @param {string | null} text @returns {string[]}
 */
export function parseSenders(text) {
  if (!text || text.length > MAX_STORED) return [];
  let v;
  try { v = JSON.parse(text); } catch (_) { return []; }
  if (!Array.isArray(v)) return [];
  const out = new Set();
  for (const x of v) {
    const a = normalAddress(x);
    if (a) { out.delete(a); out.add(a); }
  }
  return [...out].slice(-MAX_SENDERS);
}

export class ImageSenders {
  /**
   * @param {string} accountId
   * @param {Pick<Storage, 'getItem' | 'setItem'>} [storage] localStorage by default
   */
  constructor(accountId, storage) {
    this.key = storageKey(accountId);
    this.storage = storage || localStorage;
  }

  /** @returns {string[]} newest last */
  list() {
    try { return parseSenders(this.storage.getItem(this.key)); } catch (_) { return []; }
  }

  /** @param {string | null | undefined} address */
  has(address) {
    const a = normalAddress(address);
    return !!a && this.list().includes(a);
  }

  /** Allow an address (again: it becomes the newest). @param {string} address @returns {boolean} kept */
  add(address) {
    const a = normalAddress(address);
    if (!a) return false;
    const all = this.list().filter((x) => x !== a);
    all.push(a);
    return this.save(all.slice(-MAX_SENDERS));
  }

  /** @param {string} address */
  remove(address) {
    const a = normalAddress(address);
    return this.save(this.list().filter((x) => x !== a));
  }

  /** @param {string[]} all */
  save(all) {
    try {
      this.storage.setItem(this.key, JSON.stringify(all));
      return true;
    } catch (_) {
      return false; /* storage full or off: the allowance lasts this view only */
    }
  }
}
