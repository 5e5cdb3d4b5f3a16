// sieve_managed: the one Sieve script the Rules and Out of office pages
// write ("webmail"), to Sieve and back, and the JMAP for Sieve calls
// (RFC 9661) the three filter pages share.
//
// Why one script with its data in a comment: a user has one active script
// (RFC 5804's model), so the rules and the vacation reply must be one
// script; and turning Sieve back into rules is parsing a language, while
// reading back what the page itself wrote is JSON.parse. The first line is
// "# tern-webmail v1 " and the pages' data as one line of JSON; the Sieve
// below it is generated from that data alone. A script edited by hand
// without that line is not the pages' any more: they say so and start
// anew rather than guess.
import { CORE } from './jmap.js';

export const SIEVE = 'urn:ietf:params:jmap:sieve';
export const USING = [CORE, SIEVE];
export const MANAGED_NAME = 'webmail';
const MARK = '# tern-webmail v1 ';
export const MAX_RULES = 200;

/**
 * @typedef {'from' | 'to' | 'subject'} RuleField
 * @typedef {'move' | 'read' | 'forward' | 'delete'} RuleAction
 * @typedef {{ field: RuleField, contains: string, action: RuleAction, target: string }} Rule
 *   target: the folder's path for move, the address for forward, '' otherwise
 * @typedef {{ enabled: boolean, subject: string, body: string, days: number }} Vacation
 * @typedef {{ rules: Rule[], vacation: Vacation }} Managed
 * @typedef {{ id: string, name: string, blobId: string, isActive: boolean }} SieveScript
 */

/** @returns {Managed} */
export function emptyManaged() {
  return { rules: [], vacation: { enabled: false, subject: '', body: '', days: 7 } };
}

/** A Sieve quoted string (RFC 5228 2.4.2: only \ and " are escaped). @param {string} s */
export function quote(s) {
  return `"${String(s).replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

const HEADERS = { from: '["from"]', to: '["to", "cc"]', subject: '["subject"]' };
const FIELDS = ['from', 'to', 'subject'];
const ACTIONS = ['move', 'read', 'forward', 'delete'];

/** A plain address for redirect: something@something, nothing odd. @param {string} a */
export function plainAddress(a) {
  return /^[^\s"<>(),;:\\@]+@[^\s"<>(),;:\\@]+\.[^\s"<>(),;:\\@]+$/.test(a);
}

/** Whether r is a Rule the pages can write. @param {any} r @returns {r is Rule} */
export function validRule(r) {
  if (!r || typeof r !== 'object' || !FIELDS.includes(r.field) || !ACTIONS.includes(r.action)) return false;
  if (typeof r.contains !== 'string' || !r.contains || r.contains.length > 1000) return false;
  if (typeof r.target !== 'string' || r.target.length > 1000) return false;
  if (r.action === 'move') return r.target.length > 0 && !/[\x00-\x1f\x7f]/.test(r.target);
  if (r.action === 'forward') return plainAddress(r.target);
  return true;
}

/** The Sieve for the pages' data. @param {Managed} m @returns {string} */
export function toSieve(m) {
  const rules = m.rules.filter(validRule);
  const v = m.vacation;
  const days = Math.min(365, Math.max(1, Math.round(Number(v.days) || 7)));
  const data = { rules, vacation: { enabled: !!v.enabled, subject: String(v.subject || ''), body: String(v.body || ''), days } };
  const need = new Set();
  for (const r of rules) {
    if (r.action === 'move') { need.add('fileinto'); need.add('mailbox'); }
    if (r.action === 'read') need.add('imap4flags');
    if (r.action === 'forward') need.add('copy');
  }
  if (data.vacation.enabled) need.add('vacation');
  const out = [MARK + JSON.stringify(data),
    '# Written by the webmail (Settings: Rules, Out of office): change it there.'];
  if (need.size) out.push(`require [${[...need].sort().map(quote).join(', ')}];`);
  if (data.vacation.enabled) {
    const subject = data.vacation.subject ? ` :subject ${quote(data.vacation.subject)}` : '';
    out.push('# Out of office', `vacation :days ${days}${subject} ${quote(data.vacation.body || 'I am away.')};`);
  }
  rules.forEach((r, i) => {
    out.push(`# Rule ${i + 1}`, `if header :contains ${HEADERS[r.field]} ${quote(r.contains)} {`);
    if (r.action === 'move') out.push(`  fileinto :create ${quote(r.target)};`, '  stop;');
    else if (r.action === 'read') out.push('  addflag "\\\\Seen";');
    else if (r.action === 'forward') out.push(`  redirect :copy ${quote(r.target)};`);
    else out.push('  discard;', '  stop;');
    out.push('}');
  });
  return out.join('\r\n') + '\r\n';
}

/**
 * The pages' data read back from a script's text, or null when the script
 * is not one they wrote (or was changed so that its first line is not).
 * @param {string} text @returns {Managed | null}
 */
export function fromSieve(text) {
  if (typeof text !== 'string' || !text.startsWith(MARK)) return null;
  const end = text.search(/\r?\n/);
  let j;
  try { j = JSON.parse(text.slice(MARK.length, end < 0 ? undefined : end)); } catch (_) { return null; }
  if (!j || typeof j !== 'object' || !Array.isArray(j.rules) || !j.vacation || typeof j.vacation !== 'object') return null;
  const m = emptyManaged();
  m.rules = j.rules.filter(validRule).slice(0, MAX_RULES).map((/** @type {Rule} */ r) => ({ field: r.field, contains: r.contains, action: r.action, target: r.target }));
  const v = j.vacation;
  m.vacation = {
    enabled: v.enabled === true,
    subject: typeof v.subject === 'string' ? v.subject : '',
    body: typeof v.body === 'string' ? v.body : '',
    days: Number.isInteger(v.days) && v.days >= 1 && v.days <= 365 ? v.days : 7,
  };
  return m;
}

/** @param {import('./jmap.js').JmapClient} client @returns {Promise<SieveScript[]>} */
export async function listScripts(client) {
  const r = await client.call('SieveScript/get', { ids: null }, USING);
  return r.list || [];
}

/** A script's text, from the download URL. @param {import('./jmap.js').JmapClient} client @param {SieveScript} s */
export async function scriptText(client, s) {
  const res = await fetch(client.downloadUrl(s.blobId, `${s.name}.sieve`, 'application/sieve'), { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`The script could not be read (HTTP ${res.status}).`);
  return res.text();
}

/**
 * The managed script as it stands: its data (empty when there is none),
 * the script itself and the active one (either may be null); `foreign`
 * when a script by that name exists but the pages did not write it.
 * @param {import('./jmap.js').JmapClient} client
 */
export async function loadManaged(client) {
  const all = await listScripts(client);
  const script = all.find((s) => s.name === MANAGED_NAME) || null;
  const active = all.find((s) => s.isActive) || null;
  let data = null;
  if (script) data = fromSieve(await scriptText(client, script));
  return { data: data || emptyManaged(), script, active, foreign: !!script && !data };
}

/**
 * Store a script's text under a name (created, or its content replaced),
 * activated when asked. Throws with the server's description (for a script
 * that does not compile: "line:col: message").
 * @param {import('./jmap.js').JmapClient} client
 * @param {string} name @param {string} text
 * @param {SieveScript | null} existing the script of that name, if any
 * @param {boolean} activate
 * @returns {Promise<string>} the script's id
 */
export async function saveScript(client, name, text, existing, activate) {
  const { blobId } = await client.upload(new Blob([text], { type: 'application/sieve' }));
  /** @type {Record<string, any>} */
  /* an existing script saved under another name is renamed (its id stays) */
  const args = existing
    ? { update: { [existing.id]: existing.name === name ? { blobId } : { blobId, name } } }
    : { create: { s: { name, blobId } } };
  if (activate) args.onSuccessActivateScript = existing ? existing.id : '#s';
  const r = await client.call('SieveScript/set', args, USING);
  const bad = existing ? r.notUpdated && r.notUpdated[existing.id] : r.notCreated && r.notCreated.s;
  if (bad) throw new Error(bad.description || bad.type);
  return existing ? existing.id : r.created.s.id;
}

/**
 * Save the pages' data as the managed script. It is activated when no
 * script is active or it is the active one already, or when `activate`
 * says so (the "switch" button); otherwise the other script stays active.
 * @param {import('./jmap.js').JmapClient} client @param {Managed} data @param {boolean} [activate]
 */
export async function saveManaged(client, data, activate = false) {
  const all = await listScripts(client);
  const script = all.find((s) => s.name === MANAGED_NAME) || null;
  const active = all.find((s) => s.isActive) || null;
  const on = activate || !active || (!!script && active.id === script.id);
  await saveScript(client, MANAGED_NAME, toSieve(data), script, on);
  return on;
}

/** Make a script the active one (null: none). @param {import('./jmap.js').JmapClient} client @param {string | null} id */
export async function activate(client, id) {
  await client.call('SieveScript/set', id ? { onSuccessActivateScript: id } : { onSuccessDeactivateScript: true }, USING);
}
