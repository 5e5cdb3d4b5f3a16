// unit: the front end's pure parts, in node without a browser.
//
// Why: the search box's parser, the address parser, the folder order and
// the message builder decide what is sent to the server, and the image
// senders' list what is loaded from elsewhere; each is checked on its
// cases here, and the parsers are fed random input (a small fuzz loop:
// JavaScript has no libFuzzer) for crashes and unbounded output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSearch, tokenize, parseDate, MAX_TERMS } from '../../web/search.js';
import { parseAddresses, prefixed, buildEmail, prefill } from '../../web/views/compose.js';
import { orderMailboxes } from '../../web/views/folders.js';
import { fillTemplate } from '../../web/jmap.js';
import { ImageSenders, parseSenders, normalAddress, storageKey, MAX_SENDERS } from '../../web/images.js';
import { pickExpanded } from '../../web/views/thread.js';
import { toSieve, fromSieve, quote, validRule, emptyManaged } from '../../web/sieve_managed.js';

/** A Storage stand-in: a Map, or one that refuses to write. */
function memoryStorage({ full = false } = {}) {
  const m = new Map();
  return {
    m,
    getItem: (/** @type {string} */ k) => (m.has(k) ? m.get(k) : null),
    setItem: (/** @type {string} */ k, /** @type {string} */ v) => { if (full) throw new Error('QuotaExceededError'); m.set(k, String(v)); },
  };
}

test('search: words, operators, quotes and dates', () => {
  assert.equal(parseSearch(''), null);
  assert.equal(parseSearch('   '), null);
  assert.deepEqual(parseSearch('hello'), { text: 'hello' });
  assert.deepEqual(parseSearch('from:ann to:bob subject:"big news" report'), {
    operator: 'AND', conditions: [{ text: 'report' }, { from: 'ann' }, { to: 'bob' }, { subject: 'big news' }],
  });
  assert.deepEqual(parseSearch('has:attachment before:2024-02-29 after:2023'), {
    operator: 'AND', conditions: [{ hasAttachment: true }, { before: '2024-02-29T00:00:00Z' }, { after: '2023-01-01T00:00:00Z' }],
  });
  // not operators: searched as text, never an error
  assert.deepEqual(parseSearch('before:2023-02-30 has:cats http://x from:'), { text: 'before:2023-02-30 has:cats http://x from:' });
  assert.deepEqual(parseSearch('is:unread is:flagged'), { operator: 'AND', conditions: [{ notKeyword: '$seen' }, { hasKeyword: '$flagged' }] });
  assert.deepEqual(parseSearch('FROM:Ann'), { from: 'Ann' });
  assert.deepEqual(tokenize('a "b c" "" d'), ['a', 'b c', 'd']);
  assert.equal(parseDate('2024-13-01'), null);
  assert.equal(parseDate('2024-1-5'), '2024-01-05T00:00:00Z');
});

test('addresses: names, quotes with commas, bad ones reported', () => {
  assert.deepEqual(parseAddresses('a@x.org, "Doe, Jane" <jane@y.org>; Bob <bob@z.org>'), {
    list: [{ name: null, email: 'a@x.org' }, { name: 'Doe, Jane', email: 'jane@y.org' }, { name: 'Bob', email: 'bob@z.org' }], bad: [],
  });
  assert.deepEqual(parseAddresses('nobody, <>, x@'), { list: [], bad: ['nobody', '<>', 'x@'] });
  assert.deepEqual(parseAddresses(''), { list: [], bad: [] });
  assert.equal(prefixed('Re:', 'RE: hi'), 'RE: hi');
  assert.equal(prefixed('Re:', 'hi'), 'Re: hi');
});

test('the message built: text only, or multipart/mixed with the attachments', () => {
  const base = { from: { id: 'I1', name: 'A', email: 'a@x' }, username: 'a@x', to: 'b@y', cc: '', bcc: 'c@z', subject: 's', body: 'hi', inReplyTo: null, references: null, mailboxId: 'F2', draft: true };
  const plain = buildEmail({ ...base, attachments: [] });
  assert.deepEqual(plain.email.textBody, [{ partId: 'text', type: 'text/plain' }]);
  assert.deepEqual(plain.email.keywords, { $draft: true, $seen: true });
  assert.deepEqual(plain.recipients.map((r) => r.email), ['b@y', 'c@z']);
  const att = buildEmail({ ...base, draft: false, attachments: [{ blobId: 'B1', name: 'f.pdf', type: 'application/pdf', size: 3 }] });
  assert.equal(att.email.textBody, undefined);
  assert.deepEqual(att.email.bodyStructure.subParts[1], { blobId: 'B1', type: 'application/pdf', name: 'f.pdf', disposition: 'attachment' });
  assert.deepEqual(att.email.keywords, { $seen: true });
});

test('reply-all leaves me out and names no one twice', () => {
  const email = {
    from: [{ name: 'Ann', email: 'ann@x' }], to: [{ name: 'Me', email: 'ME@x' }, { name: null, email: 'bob@x' }],
    cc: [{ name: null, email: 'ann@x' }, { name: null, email: 'bob@x' }], subject: 'Hi', messageId: ['id1@x'], references: ['id0@x'],
    textBody: [{ partId: '1', type: 'text/plain' }], bodyValues: { 1: { value: 'line' } }, receivedAt: '2026-01-01T00:00:00Z',
  };
  const p = prefill({ mode: 'replyAll', email }, { id: 'I', name: 'Me', email: 'me@x' });
  assert.equal(p.to, 'Ann <ann@x>');
  assert.equal(p.cc, 'bob@x');
  assert.deepEqual(p.inReplyTo, ['id1@x']);
  assert.deepEqual(p.references, ['id0@x', 'id1@x']);
  assert.ok(p.body.includes('> line'));
});

test('folders: roles first in their order, then a tree; a parentId cycle does not loop', () => {
  const mb = (id, name, role = null, parentId = null, sortOrder = 0) => ({ id, name, role, parentId, sortOrder, totalEmails: 0, unreadEmails: 0 });
  const order = orderMailboxes([mb('5', 'zz'), mb('1', 'Trash', 'trash'), mb('2', 'INBOX', 'inbox'), mb('3', 'child', null, '2'), mb('4', 'aa'), mb('6', 'Sent', 'sent'), mb('7', 'orphan', null, 'gone'), mb('8', 'c1', null, '9'), mb('9', 'c2', null, '8')]);
  assert.deepEqual(order.map((o) => `${o.mailbox.name}:${o.depth}`), ['INBOX:0', 'child:1', 'Sent:0', 'Trash:0', 'aa:0', 'orphan:0', 'zz:0']);
});

test('image senders: lower-cased, each once, newest last, per account, bounded', () => {
  const st = memoryStorage();
  const a = new ImageSenders('A1', st), b = new ImageSenders('A2', st);
  assert.equal(a.has('ann@x.example'), false);
  assert.equal(a.add(' Ann@X.Example '), true);
  assert.equal(a.has('ANN@x.example'), true);
  assert.equal(b.has('ann@x.example'), false, 'another account has its own list');
  a.add('bob@y.example');
  a.add('ann@x.example'); /* again: becomes the newest */
  assert.deepEqual(a.list(), ['bob@y.example', 'ann@x.example']);
  assert.equal(st.getItem(storageKey('A1')), '["bob@y.example","ann@x.example"]');
  a.remove('ANN@x.example');
  assert.deepEqual(a.list(), ['bob@y.example']);
  assert.equal(a.add('not an address'), false);
  assert.equal(a.add(''), false);
  assert.equal(a.add('x@' + 'y'.repeat(400)), false);
  assert.equal(a.has(null), false);
  for (let i = 0; i < MAX_SENDERS + 50; i++) a.add(`s${i}@z.example`);
  const all = a.list();
  assert.equal(all.length, MAX_SENDERS);
  assert.equal(all[0], 's50@z.example', 'the oldest fell off');
  assert.equal(all[all.length - 1], `s${MAX_SENDERS + 49}@z.example`);
  // a browser that cannot store says so, and nothing breaks
  const full = new ImageSenders('A1', memoryStorage({ full: true }));
  assert.equal(full.add('ann@x.example'), false);
  assert.deepEqual(full.list(), []);
});

test('image senders: whatever is stored is checked', () => {
  assert.deepEqual(parseSenders(null), []);
  assert.deepEqual(parseSenders('not json'), []);
  assert.deepEqual(parseSenders('{"a":"b@c"}'), []);
  assert.deepEqual(parseSenders('"b@c"'), []);
  assert.deepEqual(parseSenders('[1, null, {}, [], "B@C", "b@c", "no at", "x y@z", "d@e"]'), ['b@c', 'd@e']);
  assert.deepEqual(parseSenders(JSON.stringify(['a@b'.padEnd(5000, 'x')])), []);
  assert.deepEqual(parseSenders('[' + '"a@b",'.repeat(400000) + '"c@d"]'), [], 'too long to be ours: nothing');
  assert.equal(normalAddress(42), '');
  assert.equal(normalAddress(' A@B '), 'a@b');
});

test('conversation: the first unread email is expanded, else the newest', () => {
  const e = (/** @type {string} */ id, /** @type {boolean} */ seen) => ({ id, keywords: seen ? { $seen: true } : {} });
  assert.equal(pickExpanded({ threadId: 'T', total: 3, emails: [e('1', true), e('2', false), e('3', false)] }), '2');
  assert.equal(pickExpanded({ threadId: 'T', total: 3, emails: [e('1', true), e('2', true), e('3', true)] }), '3');
  assert.equal(pickExpanded({ threadId: 'T', total: 1, emails: [{ id: '9' }] }), '9', 'no keywords: unread');
});

test('URL templates are filled with encoded values', () => {
  assert.equal(fillTemplate('/d/{accountId}/{blobId}/{name}?type={type}', { accountId: 'A1', blobId: 'B1.2', name: 'a b/c.pdf', type: 'application/pdf' }),
    '/d/A1/B1.2/a%20b%2Fc.pdf?type=application%2Fpdf');
});

test('fuzz: random input never throws and stays bounded', () => {
  const alphabet = 'ab:"<>@,; \t\n\\fromtosubjecthasattachmentbeforeafter2024-01-01\u0000\u{1F600}';
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let i = 0; i < 20000; i++) {
    const len = Math.floor(rand() * (i % 100 === 0 ? 5000 : 80));
    let s = '';
    for (let j = 0; j < len; j++) s += alphabet[Math.floor(rand() * alphabet.length)];
    const f = parseSearch(s);
    if (f && f.operator) assert.ok(f.conditions.length <= MAX_TERMS + 1);
    assert.ok(JSON.stringify(f || '').length < 4 * 1000 + 2000);
    const a = parseAddresses(s);
    assert.ok(a.list.length + a.bad.length <= 500);
    const senders = parseSenders(s);
    assert.ok(senders.length <= MAX_SENDERS && senders.every((x) => x === normalAddress(x)));
    const wrapped = parseSenders(JSON.stringify(s.split(',')));
    assert.ok(wrapped.length <= MAX_SENDERS && wrapped.every((x) => x.length <= 320 && x.includes('@')));
  }
});

test('sieve_managed: the pages\' data to Sieve and back; strings quoted; what is not theirs is null', () => {
  const m = emptyManaged();
  m.rules = [
    { field: 'subject', contains: 'a "quoted" \\ thing', action: 'move', target: 'Work/Reports' },
    { field: 'from', contains: 'boss', action: 'read', target: '' },
    { field: 'to', contains: 'list@x', action: 'forward', target: 'me@elsewhere.example' },
    { field: 'subject', contains: 'spam', action: 'delete', target: '' },
  ];
  m.vacation = { enabled: true, subject: 'Away', body: 'Back on\nMonday "soon"', days: 3 };
  const text = toSieve(m);
  assert.ok(text.startsWith('# tern-webmail v1 {'));
  assert.match(text, /^require \["copy", "fileinto", "imap4flags", "mailbox", "vacation"\];$/m);
  assert.ok(text.includes('if header :contains ["subject"] "a \\"quoted\\" \\\\ thing" {\r\n  fileinto :create "Work/Reports";\r\n  stop;\r\n}'), text);
  assert.ok(text.includes('addflag "\\\\Seen";'));
  assert.ok(text.includes('if header :contains ["to", "cc"] "list@x" {\r\n  redirect :copy "me@elsewhere.example";'));
  assert.ok(text.includes('vacation :days 3 :subject "Away" "Back on\nMonday \\"soon\\"";'));
  assert.deepEqual(fromSieve(text), m);
  // nothing on: only the comments, no require
  assert.ok(!toSieve(emptyManaged()).includes('require'));
  assert.deepEqual(fromSieve(toSieve(emptyManaged())), emptyManaged());
  // rules that are not valid are not written (a forward to a non-address)
  assert.equal(validRule({ field: 'to', contains: 'x', action: 'forward', target: 'a b@c.d' }), false);
  assert.equal(validRule({ field: 'cc', contains: 'x', action: 'delete', target: '' }), false);
  assert.equal(validRule({ field: 'to', contains: '', action: 'delete', target: '' }), false);
  assert.equal(quote('a"b\\c'), '"a\\"b\\\\c"');
  // not the pages' own
  assert.equal(fromSieve('keep;\r\n'), null);
  assert.equal(fromSieve('# tern-webmail v1 {not json\r\nkeep;'), null);
  assert.equal(fromSieve('# tern-webmail v1 {"rules": 5, "vacation": {}}\r\n'), null);
  // days out of range fall back; a hand-made rule that is not valid is dropped
  const odd = fromSieve('# tern-webmail v1 {"rules":[{"field":"x"}],"vacation":{"enabled":"yes","days":9999}}');
  assert.deepEqual(odd, emptyManaged());
});

test('sieve_managed: random first lines never throw and give null or valid data', () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pieces = ['# tern-webmail v1 ', '{', '}', '[', ']', '"rules"', '"vacation"', ':', ',', '"', 'null', 'true', '1e999', '\\', '\n', '{"field":"to","contains":"a","action":"delete","target":""}'];
  for (let i = 0; i < 3000; i++) {
    let s = rnd() < 0.8 ? '# tern-webmail v1 ' : '';
    const n = Math.floor(rnd() * 20);
    for (let k = 0; k < n; k++) s += pieces[Math.floor(rnd() * pieces.length)];
    const m = fromSieve(s);
    if (m !== null) {
      assert.ok(Array.isArray(m.rules) && m.rules.every(validRule));
      assert.ok(Number.isInteger(m.vacation.days));
      assert.deepEqual(fromSieve(toSieve(m)), m);
    }
  }
});
