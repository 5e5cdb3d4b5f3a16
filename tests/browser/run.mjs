// run: tern's webmail in a real browser (node:test + playwright-core).
//
// Why this shape: the test starts the real tern (server.py: a temp data
// dir, the self-signed certificate, two users) and Debian's chromium
// (headless, no browser download), and drives the page as a user does.
// Three groups:
//  1. served by tern: the page over HTTPS with its CSP and no console
//     errors, gzip and ETags on every asset, the login form, tsc, no
//     innerHTML;
//  2. the front end against a scripted JMAP server (mock_jmap.mjs, in the
//     browser context): every view, action and request, hostile data, the
//     100k-message list;
//  3. end to end against tern's own JMAP (the list): login,
//     folders and counts, reading text and HTML, attachments, actions,
//     search, compose and send, drafts, live arrival, settings, logout,
//     the 100k folder, the XSS corpus, CSRF.
// Screenshots go to $TERN_BROWSER_OUT (default tests/browser/out).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import readline from 'node:readline';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { MockJmap, HOSTILE, CSRF, BIG } from './mock_jmap.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const WEB = path.join(ROOT, 'web');
const OUT = process.env.TERN_BROWSER_OUT || path.join(HERE, 'out');
const TERN_BIN = process.env.TERN_BIN || path.join(ROOT, 'build', 'tern');
const CHROMIUM = process.env.TERN_CHROMIUM || '/usr/bin/chromium';

/** @type {{info: any, rpc: (cmd: any) => Promise<any>, stop: () => Promise<void>}} */
let server;
/** @type {import('playwright-core').Browser} */
let browser;
let base = '';

function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', [path.join(HERE, 'server.py')], {
      env: { ...process.env, TERN_BIN }, stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines = readline.createInterface({ input: child.stdout });
    /** @type {((line: string) => void)[]} */
    const waiting = [];
    let info = null;
    lines.on('line', (line) => {
      if (!info) {
        info = JSON.parse(line);
        let chain = Promise.resolve();
        resolve({
          info,
          rpc: (cmd) => (chain = chain.then(() => new Promise((res) => { waiting.push((l) => res(JSON.parse(l))); child.stdin.write(JSON.stringify(cmd) + '\n'); }))),
          stop: () => new Promise((res) => { child.on('exit', () => res()); child.stdin.end(); }),
        });
      } else {
        const w = waiting.shift();
        if (w) w(line);
      }
    });
    child.on('exit', (code) => { if (!info) reject(new Error(`server.py exited ${code}`)); });
  });
}

/** GET with the self-signed certificate accepted. @returns {Promise<{status: number, headers: any, body: Buffer}>} */
function get(url, headers = {}, method = 'GET') {
  const mod = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { method, headers, rejectUnauthorized: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode || 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * A fresh context and page, with what must stay empty recorded: console
 * errors, page errors, dialogs, CSP violations (in every frame).
 * @param {{ mock?: MockJmap, viewport?: {width: number, height: number} }} [opts]
 */
async function open(opts = {}) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: opts.viewport || { width: 1280, height: 800 }, acceptDownloads: true });
  if (opts.mock) await opts.mock.install(context);
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      try { (window.top || window).postMessage({ cspViolation: `${e.violatedDirective} ${e.blockedURI}` }, '*'); } catch (_) { /* cross-origin */ }
      // @ts-ignore
      (window.__csp = window.__csp || []).push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const page = await context.newPage();
  page.setDefaultTimeout(8000);
  const seen = { console: /** @type {string[]} */ ([]), errors: /** @type {string[]} */ ([]), dialogs: /** @type {string[]} */ ([]), requests: /** @type {string[]} */ ([]), failed: /** @type {string[]} */ ([]) };
  page.on('console', (m) => { if (m.type() === 'error') seen.console.push(m.text()); });
  page.on('pageerror', (e) => seen.errors.push(String(e)));
  page.on('dialog', (d) => { seen.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  context.on('request', (r) => seen.requests.push(r.url()));
  context.on('response', (r) => { if (r.status() >= 400) seen.failed.push(`${r.status()} ${r.url()}`); });
  return { context, page, seen };
}

/** @param {import('playwright-core').Page} page @param {string} name */
async function shot(page, name) {
  fs.mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: false });
}

async function loginMock(page, mock) {
  await page.goto(base);
  await page.fill('#login-user', 'alice@example.test');
  await page.fill('#login-pass', 'secret');
  await page.click('#login button[type=submit]');
  await page.waitForSelector('.folder[data-role=inbox]', { state: 'attached' });
  return mock;
}

before(async () => {
  server = await startServer();
  base = `https://127.0.0.1:${server.info.ports.https}/`;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

// ---- 1. served by tern ----

test('the page loads over HTTPS with its CSP and without console errors', async () => {
  const { context, page, seen } = await open();
  const res = await page.goto(base);
  assert.ok(res, 'no response');
  assert.equal(res.status(), 200);
  assert.ok(page.url().startsWith('https://'));
  const csp = res.headers()['content-security-policy'] || '';
  for (const d of ["script-src 'self'", "frame-src 'self'", "img-src 'self' data:", "connect-src 'self'", "default-src 'none'"]) assert.ok(csp.includes(d), `CSP lacks ${d}: ${csp}`);
  assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'));
  await page.waitForSelector('#login');
  assert.deepEqual(seen.console, []);
  assert.deepEqual(seen.errors, []);
  assert.deepEqual(await page.evaluate(() => /** @type {any} */ (window).__csp || []), []);
  await shot(page, 'login');
  await context.close();
});

test('every asset is gzip-compressed with a strong ETag, and 304 on If-None-Match', async () => {
  const { context, page } = await open();
  const assets = new Set();
  page.on('response', (r) => { if (new URL(r.url()).pathname.startsWith('/webmail/') || new URL(r.url()).pathname === '/') assets.add(r.url()); });
  await page.goto(base);
  await page.waitForSelector('#login');
  await context.close();
  assert.ok(assets.size >= 10, `only ${assets.size} assets loaded`);
  let gzipped = 0;
  for (const url of assets) {
    const plain = await get(url);
    assert.equal(plain.status, 200, url);
    const r = await get(url, { 'Accept-Encoding': 'gzip' });
    const etag = r.headers.etag;
    assert.match(etag || '', /^"[0-9a-f]{32}"$/, `${url}: ETag ${etag}`);
    assert.equal(r.headers['cache-control'], 'no-cache', url);
    if (r.headers['content-encoding'] === 'gzip') {
      gzipped++;
      assert.deepEqual(zlib.gunzipSync(r.body), plain.body, `${url}: the gzip copy differs`);
    }
    const again = await get(url, { 'If-None-Match': etag });
    assert.equal(again.status, 304, url);
    assert.equal(again.body.length, 0);
  }
  assert.ok(gzipped >= assets.size - 1, `only ${gzipped} of ${assets.size} gzipped`);
});

test('plain HTTP is redirected to HTTPS', async () => {
  const r = await get(`http://127.0.0.1:${server.info.ports.http}/webmail/app.js`, { Host: 'localhost' });
  assert.equal(r.status, 301);
  assert.equal(r.headers.location, `https://localhost:${server.info.ports.https}/webmail/app.js`);
});

test('the login form shows, labelled, and a refused login says why', async () => {
  const { context, page } = await open();
  await page.goto(base);
  for (const id of ['login-user', 'login-pass']) {
    assert.equal(await page.locator(`label[for=${id}]`).count(), 1, `${id} has no label`);
  }
  await page.fill('#login-user', 'alice@example.test');
  await page.fill('#login-pass', 'wrong');
  await page.click('#login button[type=submit]');
  await page.waitForFunction(() => (document.getElementById('login-error')?.textContent || '') !== '');
  assert.equal(await page.locator('#login').count(), 1, 'the form is gone after a refused login');
  await context.close();
});

test('tsc --checkJs passes on web/', () => {
  const r = spawnSync('npx', ['--no-install', 'tsc', '--noEmit', '-p', WEB], { cwd: WEB, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('no innerHTML anywhere in web/', () => {
  const found = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules') continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(js|html|css)$/.test(e.name) && /innerHTML|outerHTML|insertAdjacentHTML|document\.write/.test(fs.readFileSync(p, 'utf8'))) found.push(p);
    }
  };
  walk(WEB);
  assert.deepEqual(found, []);
});

// ---- 2. the front end against a scripted JMAP server ----

test('login: a wrong password is shown as text; folders in role order with unread counts; a reload keeps the session', async () => {
  const mock = new MockJmap();
  const { context, page, seen } = await open({ mock });
  await page.goto(base);
  await page.fill('#login-user', 'alice@example.test');
  await page.fill('#login-pass', 'nope');
  await page.click('#login button[type=submit]');
  await page.waitForFunction(() => document.getElementById('login-error')?.textContent === 'Wrong user name or password <b>.');
  await page.fill('#login-pass', 'secret');
  await page.click('#login button[type=submit]');
  await page.waitForSelector('.folder[data-role=inbox]');
  const names = await page.locator('.folder .name').allTextContents();
  assert.deepEqual(names, ['Inbox', 'Drafts', 'Sent', 'Archive', 'Junk', 'Trash', 'Aardvark', 'Big', 'Projects', '2024']);
  assert.equal(await page.locator('.folder[data-id=F8]').getAttribute('data-depth'), '1');
  assert.equal(await page.locator('.folder[data-role=inbox] .count').textContent(), '1');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('tern.csrf')), CSRF);
  // asked independently, sent as one request
  assert.deepEqual(mock.batches[0], ['Mailbox/get', 'Identity/get']);
  await page.waitForSelector('.row[data-id=M1]');
  assert.equal(await page.locator('.row.unread').count(), 1);
  await shot(page, 'mail');
  await page.reload();
  await page.waitForSelector('.folder[data-role=inbox]');
  assert.equal(await page.locator('#login').count(), 0);
  assert.deepEqual(seen.errors, []);
  await context.close();
});

test('hostile strings stay text; an attachment downloads byte for byte', async () => {
  const mock = new MockJmap();
  const { context, page, seen } = await open({ mock });
  await loginMock(page, mock);
  await page.click('.row[data-id=M6]');
  await page.waitForSelector('#message-subject');
  assert.equal(await page.locator('#message-subject').textContent(), HOSTILE);
  assert.ok((await page.locator('.text-body').textContent() || '').includes('<script>'));
  assert.equal(await page.locator('#reader img, #reader script, #reader a[href^="javascript"]').count(), 0);
  const link = page.locator('a.attachment');
  assert.equal(await link.getAttribute('href'), '/jmap/download/A1/B6.2/report%20%3Cb%3E.pdf?type=application%2Fpdf');
  // (a download of a route-fulfilled response is cancelled by chromium:
  // the link's bytes are fetched as the browser would; the e2e test
  // downloads for real)
  assert.equal(await link.getAttribute('download'), 'report <b>.pdf');
  assert.equal(await page.evaluate(async (href) => (await fetch(href || '')).text(), await link.getAttribute('href')), 'bytes of B6.2');
  assert.equal(await page.evaluate(() => /** @type {any} */ (window).__xss), undefined);
  assert.deepEqual(seen.dialogs, []);
  await shot(page, 'reader-text');
  await context.close();
});

test('an HTML body is in a sandboxed iframe that runs nothing; "show remote images" reloads it with ?images=1', async () => {
  const mock = new MockJmap();
  const { context, page, seen } = await open({ mock });
  await loginMock(page, mock);
  await page.click('.row[data-id=M7]');
  const frame = page.locator('iframe.html-body');
  await frame.waitFor();
  assert.equal(await frame.getAttribute('sandbox'), 'allow-popups allow-popups-to-escape-sandbox');
  assert.equal(await frame.getAttribute('src'), '/jmap/html/A1/M7');
  await page.frameLocator('iframe.html-body').locator('#html-text').waitFor();
  await page.click('#show-images');
  await page.frameLocator('iframe.html-body').locator('text=HTML body with images').waitFor();
  assert.equal(await frame.getAttribute('src'), '/jmap/html/A1/M7?images=1');
  await page.waitForTimeout(300);
  assert.equal(await page.evaluate(() => /** @type {any} */ (window).__xss), undefined);
  assert.deepEqual(seen.dialogs, []);
  await shot(page, 'reader-html');
  await context.close();
});

test('conversations: the Threads button collapses the list to one row per thread with counts and unread; the choice is kept', async () => {
  const mock = new MockJmap({ conversations: true });
  const { context, page, seen } = await open({ mock });
  await loginMock(page, mock);
  await page.waitForSelector('.row[data-id=M21]');
  assert.equal(await page.locator('.row:has-text("Message 3")').count(), 2, 'the message list shows M3 and M21 apart');
  assert.equal(await page.getAttribute('#thread-toggle', 'aria-pressed'), 'false');
  await page.click('#thread-toggle');
  await page.waitForSelector('.row[data-thread=T3]');
  assert.equal(await page.getAttribute('#thread-toggle', 'aria-pressed'), 'true');
  const q = mock.last('Email/query');
  assert.equal(q.collapseThreads, true);
  // the thread and its emails' keywords come in the same request as the page
  assert.deepEqual(mock.batches[mock.batches.length - 1], ['Email/query', 'Email/get', 'Thread/get', 'Email/get']);
  const row = page.locator('.row[data-thread=T3]');
  assert.equal(await row.count(), 1);
  assert.equal(await row.getAttribute('data-id'), 'M21', 'the row shows the newest email of the thread in the folder');
  assert.equal(await row.getAttribute('data-count'), '3', 'M3, M21 and the reply in Sent');
  assert.equal(await row.locator('.count').textContent(), ' 3');
  assert.ok(await row.evaluate((b) => b.classList.contains('unread')), 'one unread email makes the thread unread');
  assert.equal(await page.locator('.row:has-text("Message 3")').count(), 1);
  assert.equal(await page.locator('.row[data-id=M2]').getAttribute('data-count'), '1');
  assert.equal(await page.locator('.row[data-id=M2] .count').count(), 0, 'no count on a thread of one');
  assert.equal(await page.locator('.row[data-id=M2].unread').count(), 0);
  await page.reload();
  await page.waitForSelector('.row[data-thread=T3]');
  assert.equal(await page.getAttribute('#thread-toggle', 'aria-pressed'), 'true', 'kept in localStorage');
  assert.equal(await page.evaluate(() => localStorage.getItem('tern.threads')), '1');
  // switched from Settings: the list changes, what is typed there stays
  await page.click('#settings-button');
  await page.fill('#set-name', 'typed, not saved');
  await page.click('#thread-toggle');
  await page.waitForSelector('.row[data-id=M3]');
  assert.equal(await page.inputValue('#set-name'), 'typed, not saved');
  assert.equal(mock.last('Email/query').collapseThreads, false);
  assert.equal(await page.evaluate(() => localStorage.getItem('tern.threads')), '0');
  assert.deepEqual(seen.errors, []);
  await context.close();
});

test('conversations: opening a thread shows its emails oldest first, the first unread expanded; a line expands on click; actions act on the expanded one; j/k walk the rows', async () => {
  const mock = new MockJmap({ conversations: true });
  const { context, page, seen } = await open({ mock });
  await loginMock(page, mock);
  await page.click('#thread-toggle');
  await page.click('.row[data-thread=T3]');
  await page.waitForSelector('.conversation');
  assert.equal(await page.locator('#thread-title').textContent(), 'Message 3');
  assert.equal(await page.locator('.thread-count').textContent(), '3 messages');
  assert.deepEqual(await page.locator('.thread-email').evaluateAll((els) => els.map((e) => /** @type {HTMLElement} */ (e).dataset.id)), ['M3', 'M22', 'M21']);
  assert.equal(await page.locator('.thread-email.expanded').getAttribute('data-id'), 'M21', 'the first unread');
  assert.equal(await page.locator('#message-subject').textContent(), 'Re: Message 3');
  assert.equal(await page.locator('.thread-email.expanded .text-body').textContent(), 'Body of message 21\nsecond line');
  // opened is read: the expanded one, and with it the thread row
  await page.waitForFunction(() => !document.querySelector('.row[data-thread=T3]')?.classList.contains('unread'));
  assert.deepEqual(mock.last('Email/set').update, { M21: { 'keywords/$seen': true } });
  await shot(page, 'thread');
  await page.click('.thread-email[data-id=M3] .thread-line');
  await page.waitForSelector('.thread-email.expanded[data-id=M3]');
  assert.equal(await page.locator('.thread-email.expanded').count(), 1);
  assert.equal(await page.locator('#message-subject').textContent(), 'Message 3');
  assert.equal(await page.locator('.thread-email[data-id=M21] .thread-line').count(), 1, 'the other one collapsed');
  await page.click('button:text-is("Flag")');
  await page.waitForSelector('button:text-is("Unflag")');
  assert.deepEqual(mock.last('Email/set').update, { M3: { 'keywords/$flagged': true } });
  assert.equal(await page.locator('.thread-email.expanded').getAttribute('data-id'), 'M3', 'still the one acted on');
  await page.waitForSelector('.row[data-thread=T3].flagged');
  await page.keyboard.press('r');
  await page.waitForSelector('#compose');
  assert.equal(await page.inputValue('#compose-subject'), 'Re: Message 3');
  await page.click('#compose-discard');
  await page.waitForSelector('.conversation');
  // j/k walk the thread rows
  const ids = await page.locator('#message-scroller .row').evaluateAll((rows) => rows.map((r) => /** @type {HTMLElement} */ (r)).sort((a, b) => Number(a.dataset.index) - Number(b.dataset.index)).map((r) => r.dataset.id));
  const at = ids.indexOf('M21');
  await page.keyboard.press('j');
  await page.waitForFunction((id) => location.hash.endsWith(`/${id}`), ids[at + 1]);
  await page.waitForSelector(`.thread-email.expanded[data-id=${ids[at + 1]}]`);
  await page.keyboard.press('k');
  await page.waitForFunction(() => location.hash.endsWith('/M21'));
  await page.waitForSelector('.thread-email[data-id=M22]');
  // Delete acts on the expanded one only
  await page.click('.thread-email[data-id=M22] .thread-line');
  await page.waitForSelector('.thread-email.expanded[data-id=M22]');
  await page.click('button:text-is("Delete")');
  await page.waitForFunction(() => !location.hash.endsWith('/M21'));
  assert.deepEqual(mock.last('Email/set').update, { M22: { mailboxIds: { F6: true } } });
  assert.deepEqual(seen.errors, []);
  await context.close();
});

test('conversations: a server that fails Thread/get still lists the rows, and opening one says why', async () => {
  const mock = new MockJmap({ conversations: true });
  mock.fail['Thread/get'] = 'serverFail';
  const { context, page, seen } = await open({ mock });
  await loginMock(page, mock);
  await page.click('#thread-toggle');
  await page.waitForSelector('.row[data-id=M21]');
  assert.equal(await page.locator('.row[data-id=M21]').getAttribute('data-count'), '1', 'no thread known: the row alone');
  assert.ok(await page.locator('.row[data-id=M21]').evaluate((b) => b.classList.contains('unread')));
  await page.click('.row[data-id=M21]');
  await page.waitForSelector('#reader .error[role=alert]:has-text("conversation could not be loaded")');
  assert.equal(await page.locator('.conversation').count(), 0);
  // and a row whose email is gone meanwhile
  mock.fail['Thread/get'] = undefined;
  mock.emails.delete('M2');
  await page.click('.row[data-id=M2]');
  await page.waitForSelector('#reader .error[role=alert]:text-is("This message is gone.")');
  assert.deepEqual(seen.errors, []);
  await context.close();
});

test('conversations: a 100k-message folder stays virtual with one row per thread', async () => {
  const mock = new MockJmap({ bigCount: 100000 });
  const { context, page } = await open({ mock });
  await loginMock(page, mock);
  await page.click('#thread-toggle');
  await page.waitForSelector('.row[data-id=M1][data-count]');
  const ms = await page.evaluate(() => new Promise((resolve) => {
    const t0 = performance.now();
    const obs = new MutationObserver(() => {
      if (document.querySelector('.row[data-id^="M1000"][data-count]')) { obs.disconnect(); resolve(performance.now() - t0); }
    });
    obs.observe(document.body, { childList: true, subtree: true });
    /** @type {HTMLElement} */ (document.querySelector('.folder[data-id=F9]')).click();
  }));
  assert.ok(Number(ms) < 600, `first thread rows after ${ms} ms`);
  const rows = await page.locator('#message-scroller .row').count();
  assert.ok(rows > 5 && rows < 120, `${rows} rows in the DOM`);
  const rowH = await page.evaluate(() => document.querySelector('#message-scroller .row')?.getBoundingClientRect().height || 0);
  await page.evaluate((y) => { /** @type {HTMLElement} */ (document.getElementById('message-scroller')).scrollTop = y; }, 70000 * rowH);
  await page.waitForSelector('.row[data-index="70000"][data-count="1"]:not(.loading)');
  const q = mock.calls.filter(([n, a]) => n === 'Email/query' && a.filter.inMailbox === BIG);
  assert.ok(q.every(([, a]) => a.collapseThreads === true));
  assert.ok(q.length < 8, `${q.length} queries`);
  assert.ok(await page.locator('#message-scroller .row').count() < 120);
  await context.close();
});

test('remote images: "Always show from" keeps the sender (lower-cased): its next HTML loads images at once, another sender stays blocked, and Settings removes it', async () => {
  const mock = new MockJmap({ conversations: true });
  const { context, page, seen } = await open({ mock });
  await loginMock(page, mock);
  await page.click('.row[data-id=M7]');
  await page.waitForSelector('.images-bar:not([hidden])');
  assert.equal(await page.locator('#always-images').textContent(), 'Always show from sender7@example.org');
  assert.equal(await page.getAttribute('iframe.html-body', 'src'), '/jmap/html/A1/M7');
  await page.click('#always-images');
  await page.frameLocator('iframe.html-body').locator('text=HTML body with images').waitFor();
  assert.equal(await page.getAttribute('iframe.html-body', 'src'), '/jmap/html/A1/M7?images=1');
  assert.deepEqual(await page.evaluate(() => JSON.parse(localStorage.getItem('tern.images.A1') || 'null')), ['sender7@example.org']);
  // the same sender (another case): images at once, no bar, no HEAD asked
  const heads = mock.requests.filter((r) => r.method === 'HEAD').length;
  await page.click('.row[data-id=M23]');
  await page.waitForSelector('#message-subject:text-is("More HTML from sender 7")');
  assert.equal(await page.getAttribute('iframe.html-body', 'src'), '/jmap/html/A1/M23?images=1');
  assert.equal(await page.locator('.images-bar').count(), 0);
  assert.equal(mock.requests.filter((r) => r.method === 'HEAD').length, heads);
  // another sender: blocked
  await page.click('.row[data-id=M24]');
  await page.waitForSelector('#message-subject:text-is("HTML from someone else")');
  assert.equal(await page.getAttribute('iframe.html-body', 'src'), '/jmap/html/A1/M24');
  await page.waitForSelector('.images-bar:not([hidden])');
  await shot(page, 'images-bar');
  // hostile stored data counts as nothing; the address is text in Settings
  await page.evaluate(() => localStorage.setItem('tern.images.A1', JSON.stringify(['sender7@example.org', '<img/src=x/onerror=window.__xss=5>@x', 42, null])));
  await page.click('#settings-button');
  await page.waitForSelector('#image-senders li');
  assert.deepEqual(await page.locator('#image-senders .address').allTextContents(), ['<img/src=x/onerror=window.__xss=5>@x', 'sender7@example.org']);
  await page.locator('#image-senders').scrollIntoViewIfNeeded();
  await shot(page, 'settings-images');
  await page.click('#image-senders li[data-sender="sender7@example.org"] button.remove');
  await page.waitForSelector('#image-senders-status:has-text("blocked again")');
  assert.deepEqual(await page.locator('#image-senders .address').allTextContents(), ['<img/src=x/onerror=window.__xss=5>@x']);
  await page.click('#image-senders button.remove');
  await page.waitForSelector('#image-senders-empty:not([hidden])');
  assert.equal(await page.evaluate(() => localStorage.getItem('tern.images.A1')), '[]');
  await page.click('#reader .back');
  await page.click('.row[data-id=M23]');
  await page.waitForSelector('#message-subject:text-is("More HTML from sender 7")');
  assert.equal(await page.getAttribute('iframe.html-body', 'src'), '/jmap/html/A1/M23');
  await page.waitForSelector('.images-bar:not([hidden])');
  // a message without a From has no "Always" button
  mock.emails.get('M24').from = null;
  await page.click('.row[data-id=M24]');
  await page.waitForSelector('#message-subject:text-is("HTML from someone else")');
  await page.waitForSelector('.images-bar:not([hidden])');
  assert.equal(await page.locator('#always-images').count(), 0);
  assert.equal(await page.evaluate(() => /** @type {any} */ (window).__xss), undefined);
  assert.deepEqual(seen.errors, []);
  await context.close();
});

test('opening an unread message marks it seen; mark unread undoes it', async () => {
  const mock = new MockJmap();
  const { context, page } = await open({ mock });
  await loginMock(page, mock);
  await page.click('.row[data-id=M1]');
  await page.waitForFunction(() => !document.querySelector('.row[data-id=M1]')?.classList.contains('unread'));
  assert.deepEqual(mock.last('Email/set').update, { M1: { 'keywords/$seen': true } });
  assert.equal(await page.locator('button:text-is("Mark unread")').count(), 1);
  await page.click('button:text-is("Mark unread")');
  await page.waitForSelector('.row[data-id=M1].unread');
  assert.deepEqual(mock.last('Email/set').update, { M1: { 'keywords/$seen': null } });
  assert.equal(await page.locator('.folder[data-role=inbox] .count').textContent(), '1');
  await context.close();
});

test('a 100k-message folder: first rows < 300 ms after the click, few rows in the DOM, scrolls and sorts', async () => {
  const mock = new MockJmap({ bigCount: 100000 });
  const { context, page } = await open({ mock });
  await loginMock(page, mock);
  await page.waitForSelector('.row[data-id=M1]');
  // best of three clicks (the first warms the page's code; a loaded
  // machine's scheduling is not the front end's time)
  const times = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    if (attempt) {
      await page.click('.folder[data-role=inbox]');
      await page.waitForSelector('.row[data-id=M1]');
    }
    times.push(await page.evaluate(() => new Promise((resolve) => {
      const t0 = performance.now();
      const obs = new MutationObserver(() => {
        if (document.querySelector('.row[data-id^="M1000"]')) { obs.disconnect(); resolve(performance.now() - t0); }
      });
      obs.observe(document.body, { childList: true, subtree: true });
      /** @type {HTMLElement} */ (document.querySelector('.folder[data-id=F9]')).click();
    })));
  }
  const ms = Math.min(...times);
  assert.ok(ms < 300, `first rows after ${times.join(', ')} ms`);
  const rows = await page.locator('#message-scroller .row').count();
  assert.ok(rows > 5 && rows < 120, `${rows} rows in the DOM`);
  const height = await page.evaluate(() => document.querySelector('.spacer')?.getBoundingClientRect().height || 0);
  const rowH = await page.evaluate(() => document.querySelector('#message-scroller .row')?.getBoundingClientRect().height || 0);
  assert.ok(Math.abs(height - 100000 * rowH) < 2, `spacer ${height} for row ${rowH}`);
  await page.evaluate((y) => { /** @type {HTMLElement} */ (document.getElementById('message-scroller')).scrollTop = y; }, 50000 * rowH);
  await page.waitForSelector('.row[data-index="50000"]:not(.loading)');
  assert.equal(await page.locator('.row[data-index="50000"] .subject').textContent(), 'Big message 50000');
  const q = mock.calls.filter(([n, a]) => n === 'Email/query' && a.filter.inMailbox === BIG).map(([, a]) => a.position);
  assert.ok(q.some((p) => p >= 49900 && p <= 50000), `positions asked: ${q}`);
  assert.ok(q.length < 8, `${q.length} queries for one jump`);
  assert.ok(await page.locator('#message-scroller .row').count() < 120);
  await shot(page, 'big-folder');
  await page.selectOption('#sort', 'subject');
  await page.waitForSelector('.row[data-index="0"]:not(.loading)');
  assert.deepEqual(mock.last('Email/query').sort, [{ property: 'subject', isAscending: true }]);
  assert.equal(mock.last('Email/query').position, 0);
  await page.click('#sort-dir');
  await page.waitForTimeout(100);
  assert.deepEqual(mock.last('Email/query').sort, [{ property: 'subject', isAscending: false }]);
  await context.close();
});

test('the search box becomes an Email/query FilterCondition', async () => {
  const mock = new MockJmap();
  const { context, page } = await open({ mock });
  await loginMock(page, mock);
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'search');
  await page.keyboard.type('from:evil "click" has:attachment after:2024-01-01');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.row[data-id=M6]');
  assert.deepEqual(mock.last('Email/query').filter, { operator: 'AND', conditions: [{ text: 'click' }, { from: 'evil' }, { hasAttachment: true }, { after: '2024-01-01T00:00:00Z' }] });
  assert.ok(page.url().includes('#/search/'));
  await context.close();
});

test('actions: flag, delete to Trash, destroy in Trash, archive, junk, and j/k/u keys', async () => {
  const mock = new MockJmap();
  const { context, page } = await open({ mock });
  await loginMock(page, mock);
  await page.click('.row[data-id=M2]');
  await page.waitForSelector('#message-subject');
  await page.click('button:text-is("Flag")');
  await page.waitForSelector('button:text-is("Unflag")');
  assert.deepEqual(mock.last('Email/set').update, { M2: { 'keywords/$flagged': true } });
  await page.keyboard.press('j');
  await page.waitForFunction(() => location.hash.endsWith('/M3'));
  await page.keyboard.press('k');
  await page.waitForFunction(() => location.hash.endsWith('/M2'));
  await page.waitForSelector('#message-subject:text-is("Message 2")');
  await page.keyboard.press('#');
  await page.waitForFunction(() => !document.querySelector('.row[data-id=M2]'));
  assert.deepEqual(mock.last('Email/set').update, { M2: { mailboxIds: { F6: true } } });
  await page.click('.row[data-id=M4]');
  await page.waitForSelector('#message-subject:text-is("Message 4")');
  await page.click('button:text-is("Archive")');
  await page.waitForFunction(() => !document.querySelector('.row[data-id=M4]'));
  assert.deepEqual(mock.last('Email/set').update, { M4: { mailboxIds: { F4: true } } });
  await page.click('.row[data-id=M5]');
  await page.waitForSelector('#message-subject:text-is("Message 5")');
  await page.click('button:text-is("Junk")');
  await page.waitForFunction(() => !document.querySelector('.row[data-id=M5]'));
  assert.deepEqual(mock.last('Email/set').update, { M5: { mailboxIds: { F5: true }, 'keywords/$junk': true, 'keywords/$notjunk': null } });
  await page.click('.row[data-id=M3]');
  await page.waitForSelector('#message-subject:text-is("Message 3")');
  await page.selectOption('#move-to', 'F7');
  await page.waitForFunction(() => !document.querySelector('.row[data-id=M3]'));
  assert.deepEqual(mock.last('Email/set').update, { M3: { mailboxIds: { F7: true } } });
  await page.click('.folder[data-role=trash]');
  await page.click('.row[data-id=M8]');
  await page.waitForSelector('#message-subject:text-is("Already in Trash")');
  await page.keyboard.press('#');
  await page.waitForFunction(() => !document.querySelector('.row[data-id=M8]'));
  assert.deepEqual(mock.last('Email/set').destroy, ['M8']);
  await page.click('.row[data-id=M2]');
  await page.waitForSelector('#message-subject');
  await page.keyboard.press('u');
  await page.waitForFunction(() => location.hash === '#/mailbox/F6');
  await context.close();
});

test('compose: two attachments uploaded, sent with Email/set + EmailSubmission/set moving it to Sent', async () => {
  const mock = new MockJmap();
  const { context, page } = await open({ mock });
  await loginMock(page, mock);
  await page.click('#compose-button');
  assert.equal(await page.inputValue('#compose-body'), '\n\n-- \nAlice\nexample.test', 'the signature');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'compose-to');
  await page.fill('#compose-to', 'bob@example.test, "Carol, C." <carol@example.org>');
  await page.fill('#compose-subject', 'With two files');
  await page.fill('#compose-body', 'See attached.');
  const one = Buffer.from([0, 1, 2, 255, 254, 10, 13]);
  const two = Buffer.from('second file\r\n');
  await page.setInputFiles('#compose-files', [{ name: 'one.bin', mimeType: 'application/octet-stream', buffer: one }, { name: 'two.txt', mimeType: 'text/plain', buffer: two }]);
  await page.waitForSelector('.compose-attachments li:nth-child(2)');
  const ups = mock.requests.filter((r) => r.path.startsWith('/jmap/upload/A1/'));
  assert.equal(ups.length, 2);
  assert.deepEqual(ups[0].body, one);
  assert.deepEqual(ups[1].body, two);
  assert.ok(ups.every((r) => r.headers['x-csrf-token'] === CSRF));
  await shot(page, 'compose');
  await page.click('#compose-send');
  await page.waitForSelector('#notice:text-is("Sent.")');
  const set = mock.calls.filter(([n]) => n === 'Email/set').map(([, a]) => a).find((a) => a.create && a.create.msg);
  const msg = set.create.msg;
  assert.deepEqual(msg.to, [{ name: null, email: 'bob@example.test' }, { name: 'Carol, C.', email: 'carol@example.org' }]);
  assert.deepEqual(msg.from, [{ name: 'Alice Example', email: 'alice@example.test' }]);
  assert.equal(msg.subject, 'With two files');
  assert.equal(msg.bodyStructure.type, 'multipart/mixed');
  assert.deepEqual(msg.bodyStructure.subParts.slice(1).map((p) => p.name), ['one.bin', 'two.txt']);
  assert.equal(msg.bodyValues.text.value, 'See attached.');
  const sub = mock.last('EmailSubmission/set');
  assert.deepEqual(sub.create, { sub: { identityId: 'I1', emailId: '#msg' } });
  assert.deepEqual(sub.onSuccessUpdateEmail, { '#sub': { 'keywords/$draft': null, 'mailboxIds/F2': null, 'mailboxIds/F3': true } });
  const sent = [...mock.emails.values()].find((e) => e.subject === 'With two files');
  assert.deepEqual(sent.mailboxIds, { F3: true });
  assert.deepEqual(sent.keywords, { $seen: true });
  await context.close();
});

test('compose: a server without EmailSubmission says why and keeps the draft; bad addresses are refused', async () => {
  const mock = new MockJmap();
  mock.fail['EmailSubmission/set'] = 'unknownMethod';
  const { context, page } = await open({ mock });
  await loginMock(page, mock);
  await page.click('#compose-button');
  await page.fill('#compose-to', 'not an address');
  await page.fill('#compose-subject', 'x');
  await page.click('#compose-send');
  await page.waitForSelector('#compose-status:has-text("Not an address")');
  assert.equal(mock.last('Email/set'), undefined);
  await page.fill('#compose-to', 'bob@example.test');
  await page.click('#compose-send');
  await page.waitForSelector('#compose-status:has-text("kept in Drafts")');
  assert.ok((await page.locator('#compose-status').textContent() || '').includes('EmailSubmission/set is not here yet'));
  const kept = [...mock.emails.values()].find((e) => e.subject === 'x');
  assert.deepEqual(kept.mailboxIds, { F2: true });
  assert.equal(await page.locator('#compose').count(), 1);
  await context.close();
});

test('compose: drafts are saved every few seconds into Drafts, the previous one replaced', async () => {
  const mock = new MockJmap();
  const { context, page } = await open({ mock });
  await loginMock(page, mock);
  await page.click('#compose-button');
  await page.fill('#compose-subject', 'Draft one');
  await page.waitForSelector('#compose-status:has-text("Draft saved")', { timeout: 8000 });
  const first = mock.last('Email/set');
  assert.deepEqual(first.create.draft.mailboxIds, { F2: true });
  assert.deepEqual(first.create.draft.keywords, { $draft: true, $seen: true });
  const firstId = [...mock.emails.values()].find((e) => e.subject === 'Draft one').id;
  await page.fill('#compose-subject', 'Draft two');
  await page.waitForTimeout(5600);
  const second = mock.last('Email/set');
  assert.equal(second.create.draft.subject, 'Draft two');
  assert.deepEqual(second.destroy, [firstId]);
  await context.close();
});

test('reply, reply-all and forward are prefilled; forward can attach the original', async () => {
  const mock = new MockJmap();
  const { context, page } = await open({ mock });
  await loginMock(page, mock);
  await page.click('.row[data-id=M1]');
  await page.waitForSelector('#message-subject:text-is("Message 1")');
  await page.keyboard.press('r');
  await page.waitForSelector('#compose');
  assert.equal(await page.inputValue('#compose-to'), 'Sender 1 <sender1@example.org>');
  assert.equal(await page.inputValue('#compose-cc'), '');
  assert.equal(await page.inputValue('#compose-subject'), 'Re: Message 1');
  assert.ok((await page.inputValue('#compose-body')).includes('> Body of message 1\n> second line'));
  await page.click('#compose-discard');
  await page.waitForSelector('#message-subject');
  await page.keyboard.press('a');
  await page.waitForSelector('#compose');
  assert.equal(await page.inputValue('#compose-cc'), 'carol@example.org');
  await page.click('#compose-discard');
  await page.waitForSelector('#message-subject');
  await page.keyboard.press('f');
  await page.waitForSelector('#compose');
  assert.equal(await page.inputValue('#compose-subject'), 'Fwd: Message 1');
  assert.equal(await page.inputValue('#compose-to'), '');
  assert.ok((await page.inputValue('#compose-body')).includes('---------- Forwarded message ----------'));
  await page.check('#compose-forward-attached');
  assert.deepEqual(await page.locator('.compose-attachments li span').allTextContents(), ['Message 1.eml (1001 B)']);
  await page.fill('#compose-to', 'bob@example.test');
  await page.click('#compose-send');
  await page.waitForSelector('#notice:text-is("Sent.")');
  const fwd = mock.calls.filter(([n]) => n === 'Email/set').map(([, a]) => a).find((a) => a.create && a.create.msg).create.msg;
  assert.deepEqual(fwd.bodyStructure.subParts[1], { blobId: 'B1', type: 'message/rfc822', name: 'Message 1.eml', disposition: 'attachment' });
  await context.close();
});

test('compose opened by its URL, and settings, return to the list when closed', async () => {
  const mock = new MockJmap();
  const { context, page } = await open({ mock });
  await loginMock(page, mock);
  await page.goto(`${base}#/compose`);
  await page.waitForSelector('#compose');
  await page.click('#compose-discard');
  await page.waitForFunction(() => location.hash === '#/mailbox/F1');
  await page.waitForSelector('.placeholder');
  await page.click('.row[data-id=M2]');
  await page.waitForSelector('#message-subject:text-is("Message 2")');
  await page.click('#settings-button');
  await page.waitForSelector('#settings-identity');
  await page.click('#reader .back');
  await page.waitForFunction(() => location.hash === '#/mailbox/F1');
  await context.close();
});

test('settings: name and signature through Identity/set; password change errors are told', async () => {
  const mock = new MockJmap();
  const { context, page } = await open({ mock });
  await loginMock(page, mock);
  await page.click('#settings-button');
  await page.fill('#set-name', 'Alice A.');
  await page.fill('#set-signature', 'new sig');
  await page.click('#settings-identity button[type=submit]');
  await page.waitForSelector('#set-identity-status:text-is("Saved.")');
  assert.deepEqual(mock.last('Identity/set').update, { I1: { name: 'Alice A.', textSignature: 'new sig' } });
  await page.fill('#set-old', 'bad');
  await page.fill('#set-new', 'new-password-1');
  await page.fill('#set-again', 'new-password-1');
  await page.click('#settings-password button[type=submit]');
  await page.waitForSelector('#set-password-status:has-text("current password is wrong")');
  await page.fill('#set-old', 'secret');
  await page.click('#settings-password button[type=submit]');
  await page.waitForSelector('#set-password-status:text-is("Password changed.")');
  const pw = mock.requests.filter((r) => r.path === '/jmap/password').pop();
  assert.equal(pw.headers['x-csrf-token'], CSRF);
  assert.deepEqual(JSON.parse(pw.body.toString()), { old: 'secret', new: 'new-password-1' });
  mock.fail.password = 404;
  await page.fill('#set-old', 'secret');
  await page.fill('#set-new', 'new-password-1');
  await page.fill('#set-again', 'new-password-1');
  await page.click('#settings-password button[type=submit]');
  await page.waitForSelector('#set-password-status:has-text("cannot change passwords")');
  await shot(page, 'settings');
  await context.close();
});

test('new mail pushed over EventSource appears without a reload', async () => {
  const mock = new MockJmap();
  const { context, page } = await open({ mock });
  await loginMock(page, mock);
  await page.waitForSelector('.row[data-id=M1]');
  const e = { ...mock.emails.get('M1'), id: 'M55', subject: 'Pushed in', receivedAt: new Date().toISOString(), keywords: {} };
  mock.emails.set('M55', e);
  mock.pushPending = { Email: 'e9', Mailbox: 'm9' };
  await page.waitForSelector('.row[data-id=M55]', { timeout: 3000 });
  assert.equal(await page.locator('.folder[data-role=inbox] .count').textContent(), '2');
  await context.close();
});

test('logout sends the CSRF token and forgets it; an ended session shows the login form', async () => {
  const mock = new MockJmap();
  const { context, page } = await open({ mock });
  await loginMock(page, mock);
  await page.click('#logout-button');
  await page.waitForSelector('#login');
  const lo = mock.requests.find((r) => r.path === '/jmap/logout');
  assert.equal(lo.headers['x-csrf-token'], CSRF);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('tern.csrf')), null);
  await loginMock(page, mock);
  mock.loggedIn = false;
  await page.click('.folder[data-role=sent]');
  await page.waitForSelector('#login-error:has-text("session has ended")');
  await context.close();
});

test('a narrow screen shows one pane at a time', async () => {
  const mock = new MockJmap();
  const { context, page } = await open({ mock, viewport: { width: 390, height: 800 } });
  await loginMock(page, mock);
  await page.waitForSelector('.row[data-id=M1]');
  const visible = async () => ({ folders: await page.isVisible('#folders'), list: await page.isVisible('#list'), reader: await page.isVisible('#reader') });
  assert.deepEqual(await visible(), { folders: false, list: true, reader: false });
  await shot(page, 'narrow-list');
  await page.click('.row[data-id=M1]');
  await page.waitForSelector('#message-subject');
  assert.deepEqual(await visible(), { folders: false, list: false, reader: true });
  await shot(page, 'narrow-reader');
  await page.click('#reader .back');
  await page.click('#list .back');
  assert.deepEqual(await visible(), { folders: true, list: false, reader: false });
  // opened on a message: the hidden list measures its rows once shown
  await page.goto(`${base}#/mailbox/F1/M2`);
  await page.reload();
  await page.waitForSelector('#message-subject:text-is("Message 2")');
  assert.deepEqual(await visible(), { folders: false, list: false, reader: true });
  await page.click('#reader .back');
  await page.waitForSelector('.row[data-id=M3]');
  const gaps = await page.$$eval('#message-scroller .row', (rows) => {
    const rects = rows.map((r) => r.getBoundingClientRect()).sort((a, b) => a.top - b.top);
    return rects.slice(1).map((r, k) => Math.round(r.top - rects[k].top - rects[k].height));
  });
  assert.ok(gaps.length > 3 && gaps.every((g) => g === 0), `rows overlap or gape: ${gaps}`);
  await context.close();
});

// ---- 3. end to end against tern's own JMAP (issue 18's list) ----
//
// These run against the real tern (server.py): every piece they need is
// in main, so none of them is todo any more.

const ALICE = 'alice@example.test', BOB = 'bob@example.test';

async function loginReal(page, user = ALICE) {
  await page.goto(base);
  await page.fill('#login-user', user);
  await page.fill('#login-pass', server.info.users[user]);
  const [res] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/jmap/login')), page.click('#login button[type=submit]')]);
  assert.equal(res.status(), 200, `POST /jmap/login answered ${res.status()}`);
  await page.waitForSelector('.folder[data-role=inbox]', { timeout: 5000 });
}

/**
 * @param {string} subject
 * @param {{ html?: string, attachment?: Buffer, body?: string, from?: string, messageId?: string, headers?: string }} [opts]
 *   headers: more header lines, each ending in CRLF (In-Reply-To, References)
 */
function mime(subject, { html, attachment, body, from, messageId, headers } = {}) {
  const b = 'b0undary';
  const head = `From: ${from || 'Sender <sender@remote.example>'}\r\nTo: ${ALICE}\r\nSubject: ${subject}\r\nDate: ${new Date().toUTCString()}\r\nMessage-ID: <${messageId || Math.random().toString(36).slice(2) + '@remote.example'}>\r\n${headers || ''}MIME-Version: 1.0\r\n`;
  if (html) return `${head}Content-Type: text/html; charset=utf-8\r\n\r\n${html}\r\n`;
  if (!attachment) return `${head}Content-Type: text/plain; charset=utf-8\r\n\r\n${body || 'hello'}\r\n`;
  return `${head}Content-Type: multipart/mixed; boundary=${b}\r\n\r\n--${b}\r\nContent-Type: text/plain\r\n\r\n${body || 'see attached'}\r\n--${b}\r\nContent-Type: application/octet-stream; name=data.bin\r\nContent-Disposition: attachment; filename=data.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n${attachment.toString('base64')}\r\n--${b}--\r\n`;
}

/** Deliver over SMTP and wait until each is in the mailbox (IMAP sees it). @param {string[]} raws */
async function deliverAll(raws, user = ALICE) {
  for (const raw of raws) assert.deepEqual(await server.rpc({ cmd: 'deliver', to: user, raw }), { ok: true });
  const subjects = raws.map((r) => /Subject: ([^\r]*)/.exec(r)?.[1] || '');
  for (let i = 0; i < 100; i++) {
    const all = (await server.rpc({ cmd: 'imap_messages', user, mailbox: 'INBOX' })).messages.map((m) => Buffer.from(m, 'base64').toString('latin1'));
    if (subjects.every((s) => all.some((m) => m.includes(`Subject: ${s}\r\n`)))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`not delivered: ${subjects}`);
}

/** The unread count shown for a folder (0 when none is shown). @param {import('playwright-core').Page} page @param {string} sel */
async function unreadOf(page, sel) {
  const c = page.locator(`${sel} .count`);
  return (await c.count()) ? Number(await c.textContent()) : 0;
}

/** A JSON request with a cookie and maybe a CSRF token. @returns {Promise<number>} */
function status(url, { method = 'GET', cookie = '', csrf = '', body = '' } = {}) {
  return new Promise((resolve, reject) => {
    /** @type {Record<string, string>} */
    const headers = { Cookie: cookie, 'Content-Type': 'application/json', Accept: 'application/json' };
    if (csrf) headers['X-CSRF-Token'] = csrf;
    const req = https.request(url, { method, rejectUnauthorized: false, headers }, (res) => { res.resume(); resolve(res.statusCode || 0); });
    req.on('error', reject);
    req.end(body || undefined);
  });
}

test('e2e: log in, INBOX with its unread count, open a text message: read, and the count goes down', async () => {
  await deliverAll([mime('E2E first', { body: 'first body line\r\nsecond <b>line</b>' }), mime('E2E second')]);
  const { context, page, seen } = await open();
  try {
    await loginReal(page);
    const names = await page.locator('.folder .name').allTextContents();
    assert.deepEqual(names.slice(0, 6), ['Inbox', 'Drafts', 'Sent', 'Archive', 'Junk', 'Trash']);
    await page.waitForSelector('.row.unread:has-text("E2E first")');
    const before = await unreadOf(page, '.folder[data-role=inbox]');
    assert.ok(before >= 2, `INBOX shows ${before} unread`);
    assert.equal(before, await page.locator('.row.unread').count());
    await page.click('.row:has-text("E2E first")');
    await page.waitForSelector('#message-subject:text-is("E2E first")');
    assert.equal(await page.locator('.text-body').textContent(), 'first body line\nsecond <b>line</b>\n');
    assert.ok((await page.locator('.message .headers').textContent() || '').includes('sender@remote.example'));
    await page.waitForFunction(() => !document.querySelector('.row.selected')?.classList.contains('unread'));
    await page.waitForFunction((n) => { const c = document.querySelector('.folder[data-role=inbox] .count'); return (c ? Number(c.textContent) : 0) === n; }, before - 1);
    await shot(page, 'e2e-reader');
    await page.reload(); /* the server kept it: $seen, and the cookie session */
    await page.waitForSelector('#message-subject:text-is("E2E first")');
    assert.equal(await unreadOf(page, '.folder[data-role=inbox]'), before - 1);
    await page.click('button:text-is("Mark unread")');
    await page.waitForSelector('.row.unread:has-text("E2E first")');
    await page.waitForFunction((n) => document.querySelector('.folder[data-role=inbox] .count')?.textContent === String(n), before);
    assert.deepEqual(seen.errors, []);
    assert.deepEqual(seen.failed, []);
    assert.deepEqual(seen.console, []);
  } finally { await context.close(); }
});

test('e2e: an HTML message is shown sanitized in the sandboxed iframe', async () => {
  await deliverAll([mime('E2E html', { html: '<p id=hi>Hello <b>HTML</b> world</p><script>parent.__xss = 1</script>' })]);
  const { context, page, seen } = await open();
  try {
    await loginReal(page);
    const [res] = await Promise.all([page.waitForResponse((r) => r.url().includes('/jmap/html/')), page.click('.row:has-text("E2E html")')]);
    assert.equal(res.status(), 200);
    assert.match(res.headers()['content-security-policy'] || '', /script-src 'none'|default-src 'none'/);
    assert.equal(await page.locator('iframe.html-body').getAttribute('sandbox'), 'allow-popups allow-popups-to-escape-sandbox');
    await page.frameLocator('iframe.html-body').locator('text=Hello HTML world').waitFor();
    assert.equal(await page.frameLocator('iframe.html-body').locator('script').count(), 0);
    // no remote images in it: no "show remote images" bar
    await page.waitForTimeout(300);
    assert.equal(await page.locator('.images-bar').isVisible(), false);
    assert.equal(await page.evaluate(() => /** @type {any} */ (window).__xss), undefined);
    assert.deepEqual(seen.dialogs, []);
    await shot(page, 'e2e-reader-html');
  } finally { await context.close(); }
});

test('e2e: flag, move, delete to Trash and for good, archive, junk, and j/k/u keys', async () => {
  const subjects = ['E2E act flag', 'E2E act trash', 'E2E act archive', 'E2E act junk', 'E2E act move'];
  await deliverAll(subjects.map((s) => mime(s)));
  const { context, page, seen } = await open();
  const row = (/** @type {string} */ s) => `.row:has-text("${s}")`;
  const openRow = async (/** @type {string} */ s) => { await page.click(row(s)); await page.waitForSelector(`#message-subject:text-is("${s}")`); };
  const gone = (/** @type {string} */ s) => page.waitForFunction((t) => ![...document.querySelectorAll('.row .subject')].some((e) => e.textContent === t), s);
  const inFolder = async (/** @type {string} */ sel, /** @type {string} */ s) => { await page.click(sel); await page.waitForSelector(row(s)); };
  try {
    await loginReal(page);
    await openRow('E2E act flag');
    await page.click('button:text-is("Flag")');
    await page.waitForSelector('button:text-is("Unflag")');
    await page.waitForSelector(`${row('E2E act flag')}.flagged`);
    await page.reload();
    await page.waitForSelector('button:text-is("Unflag")');
    // j/k walk the list, u goes back to it
    const at = await page.evaluate(() => location.hash);
    await page.keyboard.press('j');
    await page.waitForFunction((h) => location.hash !== h && /#\/mailbox\/[^/]+\/./.test(location.hash), at);
    await page.keyboard.press('k');
    await page.waitForFunction((h) => location.hash === h, at);
    await page.keyboard.press('u');
    await page.waitForFunction(() => /^#\/mailbox\/[^/]+$/.test(location.hash));
    // delete: into Trash (the # key), then for good from there
    await openRow('E2E act trash');
    await page.keyboard.press('#');
    await gone('E2E act trash');
    await openRow('E2E act archive');
    await page.click('button:text-is("Archive")');
    await gone('E2E act archive');
    await openRow('E2E act junk');
    await page.click('button:text-is("Junk")');
    await gone('E2E act junk');
    await openRow('E2E act move');
    await page.selectOption('#move-to', { label: 'Drafts' });
    await gone('E2E act move');
    await inFolder('.folder[data-role=archive]', 'E2E act archive');
    await inFolder('.folder[data-role=junk]', 'E2E act junk');
    await inFolder('.folder[data-role=drafts]', 'E2E act move');
    await inFolder('.folder[data-role=trash]', 'E2E act trash');
    await openRow('E2E act trash');
    await page.click('button:text-is("Delete")');
    await gone('E2E act trash');
    await page.click('.folder[data-role=inbox]');
    await page.waitForSelector(row('E2E act flag'));
    const inbox = (await server.rpc({ cmd: 'imap_messages', user: ALICE, mailbox: 'INBOX' })).messages.map((m) => Buffer.from(m, 'base64').toString('latin1'));
    assert.deepEqual(subjects.filter((s) => inbox.some((m) => m.includes(`Subject: ${s}\r\n`))), ['E2E act flag']);
    const trash = (await server.rpc({ cmd: 'imap_messages', user: ALICE, mailbox: 'Trash' })).messages.map((m) => Buffer.from(m, 'base64').toString('latin1'));
    assert.ok(!trash.some((m) => m.includes('E2E act trash')), 'still in Trash after the delete there');
    assert.deepEqual(seen.errors, []);
  } finally { await context.close(); }
});

test('e2e: search finds a message by a word in its body, and by from:', async () => {
  await deliverAll([mime('E2E searchable', { body: 'the word zanzibarquux is in here' }), mime('E2E from search', { from: 'Quentin Zephyr <qz@far.example>' })]);
  const { context, page } = await open();
  try {
    await loginReal(page);
    await page.keyboard.press('/');
    await page.keyboard.type('zanzibarquux');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.row:has-text("E2E searchable")');
    assert.equal(await page.locator('#message-scroller .row').count(), 1);
    await page.click('.row:has-text("E2E searchable")');
    await page.waitForSelector('#message-subject:text-is("E2E searchable")');
    await shot(page, 'e2e-search');
    await page.fill('#search', 'from:qz@far.example');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.row:has-text("E2E from search")');
    assert.equal(await page.locator('#message-scroller .row').count(), 1);
    await page.fill('#search', 'from:zephyr');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#list-title:text-is("Search: from:zephyr")');
    await page.waitForSelector('.row:has-text("E2E from search")');
    await page.fill('#search', 'nosuchwordanywhere');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.empty:not([hidden])');
  } finally { await context.close(); }
});

test('e2e: searching has:attachment lists only the messages with one', async () => {
  // a word only these three carry, so the other tests' mail does not count
  const word = 'wombatattach';
  const head = (subject) => `From: Sender <sender@remote.example>\r\nTo: ${ALICE}\r\nSubject: ${subject}\r\nDate: ${new Date().toUTCString()}\r\nMessage-ID: <${Math.random().toString(36).slice(2)}@remote.example>\r\nMIME-Version: 1.0\r\n`;
  const cid = `${head('E2E att inline image')}Content-Type: multipart/related; boundary=r\r\n\r\n--r\r\nContent-Type: text/html\r\n\r\n<p>${word} <img src="cid:logo@x"></p>\r\n--r\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Disposition: inline\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--r--\r\n`;
  await deliverAll([
    mime('E2E att with file', { attachment: Buffer.from('a file'), body: `${word} see attached` }),
    mime('E2E att plain', { body: `${word} nothing attached` }),
    cid,
  ]);
  const { context, page } = await open();
  try {
    await loginReal(page);
    const rows = () => page.locator('#message-scroller .row').allTextContents();
    await page.fill('#search', word);
    await page.keyboard.press('Enter');
    await page.waitForSelector('.row:has-text("E2E att inline image")');
    await page.waitForFunction(() => document.querySelectorAll('#message-scroller .row').length === 3);
    await page.fill('#search', `${word} has:attachment`);
    await page.keyboard.press('Enter');
    await page.waitForSelector(`#list-title:text-is("Search: ${word} has:attachment")`);
    await page.waitForFunction(() => document.querySelectorAll('#message-scroller .row').length === 1);
    const only = await rows();
    assert.equal(only.length, 1);
    assert.ok(only[0].includes('E2E att with file'), only[0]);
    await shot(page, 'e2e-search-has-attachment');
    // has:attachment alone: the file's message is there, the other two are not
    await page.fill('#search', 'has:attachment');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#list-title:text-is("Search: has:attachment")');
    await page.waitForSelector('.row:has-text("E2E att with file")');
    const all = (await rows()).join('\n');
    assert.ok(!all.includes('E2E att plain') && !all.includes('E2E att inline image'), all);
  } finally { await context.close(); }
});

test('e2e: logout ends the session on the server: the old cookie and token no longer work', async () => {
  const { context, page } = await open();
  try {
    await loginReal(page);
    const session = (await context.cookies()).find((c) => c.httpOnly);
    assert.ok(session, 'no HttpOnly session cookie');
    const cookie = `${session.name}=${session.value}`;
    const csrf = await page.evaluate(() => sessionStorage.getItem('tern.csrf') || '');
    const body = JSON.stringify({ using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'], methodCalls: [['Mailbox/get', { ids: null }, '0']] });
    assert.equal(await status(`${base}.well-known/jmap`, { cookie }), 200);
    assert.equal(await status(`${base}jmap/api`, { method: 'POST', cookie, csrf, body }), 200);
    await page.click('#logout-button');
    await page.waitForSelector('#login');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('tern.csrf')), null);
    assert.equal(await status(`${base}.well-known/jmap`, { cookie }), 401);
    assert.equal(await status(`${base}jmap/api`, { method: 'POST', cookie, csrf, body }), 401);
    await page.reload();
    await page.waitForSelector('#login');
  } finally { await context.close(); }
});

test('e2e: open a message with an attachment and download it byte for byte', async () => {
  const bytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 31) % 256));
  await deliverAll([mime('E2E attachment', { attachment: bytes })]);
  const { context, page } = await open();
  try {
    await loginReal(page);
    await page.click('.row:has-text("E2E attachment")');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('a.attachment')]);
    assert.deepEqual(fs.readFileSync(await download.path()), bytes);
  } finally { await context.close(); }
});

test('e2e: compose a text message to a second user: received over IMAP, and a copy in Sent', async () => {
  const { context, page, seen } = await open();
  try {
    await loginReal(page);
    await page.click('#compose-button');
    await page.fill('#compose-to', BOB);
    await page.fill('#compose-subject', 'E2E plain send');
    await page.fill('#compose-body', 'one line\nand a second');
    await page.click('#compose-send');
    await page.waitForSelector('#notice:text-is("Sent.")');
    let got = [];
    for (let i = 0; i < 50 && !got.length; i++) {
      got = (await server.rpc({ cmd: 'imap_messages', user: BOB, mailbox: 'INBOX' })).messages.map((m) => Buffer.from(m, 'base64').toString('latin1')).filter((m) => m.includes('Subject: E2E plain send'));
      if (!got.length) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(got.length, 1);
    assert.match(got[0], /^From: .*alice@example\.test/m);
    assert.match(got[0], /one line\r\nand a second/);
    const sent = (await server.rpc({ cmd: 'imap_messages', user: ALICE, mailbox: 'Sent' })).messages.map((m) => Buffer.from(m, 'base64').toString('latin1'));
    assert.equal(sent.filter((m) => m.includes('Subject: E2E plain send')).length, 1);
    await page.click('.folder[data-role=sent]');
    await page.waitForSelector('.row:has-text("E2E plain send")');
    assert.deepEqual(seen.errors, []);
  } finally { await context.close(); }
});

test('e2e: compose with two attachments to a second user, received over IMAP byte-exact, and in Sent', async () => {
  const { context, page } = await open();
  const one = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 256)), two = Buffer.from('two\r\nlines\r\n');
  try {
    await loginReal(page);
    await page.click('#compose-button');
    await page.fill('#compose-to', BOB);
    await page.fill('#compose-subject', 'E2E two files');
    await page.fill('#compose-body', 'body');
    await page.setInputFiles('#compose-files', [{ name: 'one.bin', mimeType: 'application/octet-stream', buffer: one }, { name: 'two.txt', mimeType: 'text/plain', buffer: two }]);
    await page.waitForSelector('.compose-attachments li:nth-child(2)');
    await page.click('#compose-send');
    await page.waitForSelector('#notice:text-is("Sent.")');
    let got = [];
    for (let i = 0; i < 50 && !got.length; i++) {
      got = (await server.rpc({ cmd: 'imap_messages', user: BOB, mailbox: 'INBOX' })).messages.map((m) => Buffer.from(m, 'base64').toString('latin1')).filter((m) => m.includes('E2E two files'));
      if (!got.length) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(got.length, 1);
    const parts = got[0].split(/\r\n--[^\r\n]+\r\n/);
    const b64 = (name) => Buffer.from((parts.find((p) => p.includes(name)) || '').split('\r\n\r\n')[1].replace(/\s|--.*$/gs, ''), 'base64');
    assert.deepEqual(b64('one.bin'), one);
    assert.deepEqual(b64('two.txt'), two);
    const sent = (await server.rpc({ cmd: 'imap_messages', user: ALICE, mailbox: 'Sent' })).messages.map((m) => Buffer.from(m, 'base64').toString('latin1'));
    assert.ok(sent.some((m) => m.includes('E2E two files')));
  } finally { await context.close(); }
});

test('e2e: mail delivered over SMTP appears in the open list within 1 s', async () => {
  const { context, page } = await open();
  try {
    await loginReal(page);
    await page.waitForSelector('#message-scroller');
    await server.rpc({ cmd: 'deliver', to: ALICE, raw: mime('E2E live arrival') });
    const t0 = Date.now();
    await page.waitForSelector('.row:has-text("E2E live arrival")', { timeout: 1000 });
    assert.ok(Date.now() - t0 <= 1000);
  } finally { await context.close(); }
});

test('e2e: a 100k-message folder paints its first screen < 300 ms after the click, scrolls and sorts', async (t) => {
  const count = Number(process.env.TERN_BROWSER_BIG || 100000);
  await deliverAll([mime('E2E beside the big folder')]); /* INBOX has rows, whichever tests ran before */
  const { context, page } = await open();
  try {
    await loginReal(page);
    const t0 = Date.now();
    const r = await server.rpc({ cmd: 'import_mbox', user: ALICE, mailbox: 'Big', count });
    assert.ok(r.ok, r.stderr);
    t.diagnostic(`${count} messages imported in ${Date.now() - t0} ms`);
    await page.reload();
    await page.waitForSelector('.folder:has-text("Big")');
    await page.click('.folder:has-text("Big")'); /* warm the server */
    await page.waitForSelector('.row:not(.loading)');
    // best of three clicks (the first warms the page's code; a loaded
    // machine's scheduling is not the server's time)
    const times = [];
    for (let i = 0; i < 3; i++) {
      await page.click('.folder[data-role=inbox]');
      await page.waitForSelector('.row:has-text("E2E beside the big folder")');
      times.push(await page.evaluate(() => new Promise((resolve) => {
        const t0 = performance.now();
        const obs = new MutationObserver(() => { if (document.querySelector('.row .subject')?.textContent?.startsWith('Big message')) { obs.disconnect(); resolve(performance.now() - t0); } });
        obs.observe(document.body, { childList: true, subtree: true });
        [...document.querySelectorAll('.folder')].find((b) => b.textContent?.startsWith('Big'))?.dispatchEvent(new MouseEvent('click', { bubbles: true }));
      })));
    }
    t.diagnostic(`first rows after ${times.map((x) => Math.round(Number(x))).join(', ')} ms`);
    assert.ok(Math.min(...times) < 300, `first rows after ${times.join(', ')} ms`);
    const rows = await page.locator('#message-scroller .row').count();
    assert.ok(rows > 5 && rows < 120, `${rows} rows in the DOM`);
    await shot(page, 'e2e-big-folder');
    await page.evaluate(() => { const s = document.getElementById('message-scroller'); if (s) s.scrollTop = s.scrollHeight / 2; });
    await page.waitForSelector(`.row[data-index="${count / 2}"]:not(.loading)`);
    assert.match(await page.locator(`.row[data-index="${count / 2}"] .subject`).textContent() || '', /^Big message \d+$/);
    assert.ok(await page.locator('#message-scroller .row').count() < 120);
    // sorts: by date both ways (server.py dates message i i minutes back)
    const firstIs = (/** @type {string} */ subject) => page.waitForFunction((want) => document.querySelector('.row[data-index="0"]:not(.loading) .subject')?.textContent === want, subject);
    await page.evaluate(() => { const s = document.getElementById('message-scroller'); if (s) s.scrollTop = 0; });
    await firstIs('Big message 0');
    const sorted = Date.now();
    await page.click('#sort-dir');
    await firstIs(`Big message ${count - 1}`);
    t.diagnostic(`sorted oldest first in ${Date.now() - sorted} ms`);
    assert.equal(await page.locator('.row[data-index="1"] .subject').textContent(), `Big message ${count - 2}`);
    // a subject sort reads the message index, which the writer fills in
    // idle time ("a message not indexed yet sorts as if it had no such
    // field", email_query.c), and indexing 100k messages takes about a
    // minute here: the order is not checked, only that rows come
    const [bySubject] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/jmap/api') && (r.request().postData() || '').includes('"property":"subject"')),
      page.selectOption('#sort', 'subject'),
    ]);
    const answer = await bySubject.json();
    assert.equal(answer.methodResponses[0][0], 'Email/query', JSON.stringify(answer.methodResponses[0]));
    assert.equal(answer.methodResponses[0][1].total, count);
    await page.waitForSelector('.row[data-index="0"]:not(.loading)');
    // conversations over the same folder (each message its own thread
    // here): still one request a page, still virtual
    await page.selectOption('#sort', 'date');
    await firstIs('Big message 0');
    const threaded = Date.now();
    const [byThread] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/jmap/api') && (r.request().postData() || '').includes('"collapseThreads":true')),
      page.click('#thread-toggle'),
    ]);
    const tr = await byThread.json();
    assert.deepEqual(tr.methodResponses.map((/** @type {any} */ m) => m[0]), ['Email/query', 'Email/get', 'Thread/get', 'Email/get']);
    assert.equal(tr.methodResponses[0][1].total, count);
    await page.waitForSelector('.row[data-index="0"][data-count="1"]:not(.loading)');
    t.diagnostic(`first conversation rows in ${Date.now() - threaded} ms`);
    assert.ok(Date.now() - threaded < 3000);
    await page.evaluate(() => { const s = document.getElementById('message-scroller'); if (s) s.scrollTop = s.scrollHeight / 2; });
    await page.waitForSelector(`.row[data-index="${count / 2}"][data-count="1"]:not(.loading)`);
    assert.ok(await page.locator('#message-scroller .row').count() < 120);
  } finally { await context.close(); }
});

const XSS = [
  ['script', '<p>x</p><script>alert(1)</script>'],
  ['onerror', '<img src=x onerror="alert(2)">'],
  ['javascript link', '<a href="javascript:alert(3)" id=l>click</a>'],
  ['svg script', '<svg><script>alert(4)</script></svg><svg onload="alert(5)"></svg>'],
  ['form posting out', '<form action="http://127.0.0.1:REMOTE/form" method=post><input name=a value=b></form><img src=x onerror="document.forms[0].submit()">'],
  ['css url exfiltration', '<style>body{background:url(http://127.0.0.1:REMOTE/css)}</style><div style="background-image:url(http://127.0.0.1:REMOTE/inline)">x</div>'],
  ['meta refresh', '<meta http-equiv="refresh" content="0;url=http://127.0.0.1:REMOTE/refresh">'],
  ['encoded variants', '<a href="jav&#x61;script:alert(6)">a</a><img src="http://127.0.0.1:REMOTE/img"><iframe src="javascript:alert(7)"></iframe><object data="http://127.0.0.1:REMOTE/obj"></object>'],
];

test('e2e: the XSS corpus runs no script and loads nothing remote', async () => {
  const hits = [];
  const remote = http.createServer((req, res) => { hits.push(req.url); res.end('x'); });
  await new Promise((r) => remote.listen(0, '127.0.0.1', () => r(null)));
  const port = /** @type {any} */ (remote.address()).port;
  const { context, page, seen } = await open();
  try {
    await deliverAll(XSS.map(([name, html]) => mime(`XSS ${name}`, { html: html.replaceAll('REMOTE', String(port)) })));
    await loginReal(page);
    for (const [name] of XSS) {
      /* the sanitized body is really served: nothing passes by a 404 */
      const [res] = await Promise.all([page.waitForResponse((r) => r.url().includes('/jmap/html/')), page.click(`.row:has-text("XSS ${name}")`)]);
      assert.equal(res.status(), 200, `${name}: /jmap/html answered ${res.status()}`);
      await page.locator('iframe.html-body').waitFor();
      await page.waitForTimeout(300);
    }
    assert.deepEqual(seen.dialogs, []);
    assert.deepEqual(hits, []);
    assert.deepEqual(seen.requests.filter((u) => u.includes(`:${port}`)), []);
  } finally { await context.close(); remote.close(); }
});

test('e2e: CSRF: a cross-site form post is refused; a stolen cookie without the token does nothing', async () => {
  const { context, page } = await open();
  try {
    await loginReal(page);
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.httpOnly);
    assert.ok(session, 'no HttpOnly session cookie');
    assert.equal(session.sameSite, 'Strict');
    assert.ok(session.secure);
    const cookie = `${session.name}=${session.value}`;
    const body = JSON.stringify({ using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'], methodCalls: [['Mailbox/set', { create: { x: { name: 'csrf-made' } } }, '0']] });
    const noToken = await new Promise((resolve, reject) => {
      const req = https.request(`${base}jmap/api`, { method: 'POST', rejectUnauthorized: false, headers: { Cookie: cookie, 'Content-Type': 'application/json' } }, (res) => { res.resume(); resolve(res.statusCode); });
      req.on('error', reject);
      req.end(body);
    });
    assert.ok(noToken === 401 || noToken === 403, `without the token: ${noToken}`);
    // a form on another origin posting to the API
    const other = http.createServer((req, res) => {
      res.setHeader('Content-Type', 'text/html');
      res.end(`<form id=f method=post enctype="text/plain" action="${base}jmap/api"><input name='${body.slice(0, -2)}' value='"}'></form><script>document.getElementById('f').submit()</script>`);
    });
    await new Promise((r) => other.listen(0, '127.0.0.1', () => r(null)));
    const evil = await context.newPage();
    const resp = evil.waitForResponse((r) => r.url().includes('/jmap/api'));
    await evil.goto(`http://127.0.0.1:${/** @type {any} */ (other.address()).port}/`);
    const status = (await resp).status();
    other.close();
    assert.ok(status === 401 || status === 403, `cross-site post: ${status}`);
    await page.reload();
    await page.waitForSelector('.folder[data-role=inbox]');
    assert.equal(await page.locator('.folder:has-text("csrf-made")').count(), 0);
  } finally { await context.close(); }
});

test('e2e: a draft is saved into Drafts while composing, and replaced by the next save', async () => {
  const { context, page } = await open();
  const drafts = async () => (await server.rpc({ cmd: 'imap_messages', user: ALICE, mailbox: 'Drafts' })).messages.map((m) => Buffer.from(m, 'base64').toString('latin1'));
  try {
    await loginReal(page);
    await page.click('#compose-button');
    await page.fill('#compose-to', BOB);
    await page.fill('#compose-subject', 'E2E draft one');
    await page.waitForSelector('#compose-status:has-text("Draft saved")', { timeout: 8000 });
    assert.equal((await drafts()).filter((m) => m.includes('E2E draft one')).length, 1);
    await page.fill('#compose-subject', 'E2E draft two');
    await page.waitForFunction(() => /Draft saved/.test(document.getElementById('compose-status')?.textContent || '') , null, { timeout: 8000 });
    await page.waitForTimeout(5600);
    const now = await drafts();
    assert.equal(now.filter((m) => m.includes('E2E draft two')).length, 1);
    assert.equal(now.filter((m) => m.includes('E2E draft one')).length, 0);
  } finally { await context.close(); }
});

test('e2e: settings: the display name is kept by Identity/set; the password change works and a wrong one is refused', async () => {
  const { context, page } = await open();
  try {
    await loginReal(page, BOB);
    await page.click('#settings-button');
    await page.fill('#set-name', 'Bob E2E');
    await page.fill('#set-signature', 'bob sig');
    await page.click('#settings-identity button[type=submit]');
    await page.waitForSelector('#set-identity-status:text-is("Saved.")');
    await page.reload();
    await page.click('#settings-button');
    assert.equal(await page.inputValue('#set-name'), 'Bob E2E');
    await page.fill('#set-old', 'not-the-password');
    await page.fill('#set-new', 'bob-password-new-3');
    await page.fill('#set-again', 'bob-password-new-3');
    await page.click('#settings-password button[type=submit]');
    await page.waitForSelector('#set-password-status:text-is("Not changed: the old password is wrong")');
    await page.fill('#set-old', server.info.users[BOB]);
    await page.click('#settings-password button[type=submit]');
    await page.waitForSelector('#set-password-status:text-is("Password changed.")');
    const was = server.info.users[BOB];
    server.info.users[BOB] = 'bob-password-new-3';
    await page.click('#logout-button');
    await loginReal(page, BOB);
    // and back (server.py's IMAP client logs in with the first one)
    await page.click('#settings-button');
    await page.fill('#set-old', 'bob-password-new-3');
    await page.fill('#set-new', was);
    await page.fill('#set-again', was);
    await page.click('#settings-password button[type=submit]');
    await page.waitForSelector('#set-password-status:text-is("Password changed.")');
    server.info.users[BOB] = was;
  } finally { await context.close(); }
});

test('e2e: settings: folders are created (nested), renamed and deleted through Mailbox/set, as IMAP LIST sees them', async () => {
  const { context, page } = await open();
  const names = async () => (await server.rpc({ cmd: 'imap_list', user: BOB })).names;
  try {
    await loginReal(page, BOB);
    await page.click('#settings-button');
    await page.fill('#folder-new-name', 'Projects');
    await page.click('#folder-new button[type=submit]');
    await page.waitForSelector('#folders-status:text-is("Created Projects.")');
    await page.waitForSelector('.folder .name:text-is("Projects")');
    const projects = await page.getAttribute('#folder-list li:has(.name:text-is("Projects"))', 'data-id');
    await page.fill('#folder-new-name', '2026');
    await page.selectOption('#folder-new-parent', projects || '');
    await page.click('#folder-new button[type=submit]');
    await page.waitForSelector('#folder-list li[data-depth="1"] .name:text-is("2026")');
    assert.ok((await names()).includes('Projects/2026'), 'IMAP sees Projects/2026');
    // a name with the separator is refused by the server, and said so
    await page.fill('#folder-new-name', 'a/b');
    await page.click('#folder-new button[type=submit]');
    await page.waitForSelector('#folders-status:has-text("Creating failed")');
    // the special folders cannot be renamed or deleted from here
    assert.ok(await page.isDisabled('#folder-list li:has(.name:text-is("Inbox")) .delete'));
    await page.click('#folder-list li:has(.name:text-is("Projects")) .rename');
    await page.fill('#folder-list .rename-to', 'Work');
    await page.click('#folder-list .rename-form button[type=submit]');
    await page.waitForSelector('#folders-status:text-is("Renamed to Work.")');
    await page.waitForSelector('.folder .name:text-is("Work")');
    const after = await names();
    assert.ok(after.includes('Work/2026') && !after.includes('Projects'), `IMAP LIST: ${after}`);
    // Work has a child: the server refuses, and the view says why
    await page.click('#folder-list li:has(.name:text-is("Work")) .delete');
    await page.click('#folder-list .confirm-delete');
    await page.waitForSelector('#folders-status:text-is("Deleting failed: it has subfolders.")');
    assert.equal(await page.locator('#folder-list .confirm-delete').count(), 0, 'the refused row is back to normal');
    await page.click('#folder-list li:has(.name:text-is("2026")) .delete');
    await page.click('#folder-list .confirm-delete');
    await page.waitForSelector('#folders-status:text-is("Deleted 2026.")');
    await shot(page, 'e2e-settings-folders');
    assert.ok(!(await names()).includes('Work/2026'));
    await page.waitForFunction(() => ![...document.querySelectorAll('.folder .name')].some((n) => n.textContent === '2026'));
  } finally { await context.close(); }
});

test('e2e: a reply chain delivered over SMTP is one conversation row with its count; opening it shows every email of the thread', async () => {
  const tag = Math.random().toString(36).slice(2, 8);
  const id = (/** @type {number} */ n) => `chain${n}.${tag}@remote.example`;
  await deliverAll([
    mime(`E2E chain ${tag}`, { messageId: id(1), body: 'the first' }),
    mime(`Re: E2E chain ${tag}`, { messageId: id(2), from: 'Replier <replier@remote.example>', headers: `In-Reply-To: <${id(1)}>\r\nReferences: <${id(1)}>\r\n`, body: 'the second' }),
    mime(`Re: E2E chain ${tag}`, { messageId: id(3), headers: `In-Reply-To: <${id(2)}>\r\nReferences: <${id(1)}> <${id(2)}>\r\n`, body: 'the third' }),
    mime(`E2E alone ${tag}`),
  ]);
  const { context, page, seen } = await open();
  const rows = (/** @type {string} */ text) => page.locator(`#message-scroller .row:has-text("${text}")`);
  try {
    await loginReal(page);
    await page.waitForSelector(`.row:has-text("E2E alone ${tag}")`);
    assert.equal(await rows(`E2E chain ${tag}`).count(), 3, 'three rows in the message list');
    if ((await page.getAttribute('#thread-toggle', 'aria-pressed')) !== 'true') await page.click('#thread-toggle');
    await page.waitForSelector(`.row[data-count="3"]:has-text("E2E chain ${tag}")`);
    assert.equal(await rows(`E2E chain ${tag}`).count(), 1, 'one row for the thread');
    const row = rows(`E2E chain ${tag}`);
    assert.equal(await row.locator('.subject').textContent(), `Re: E2E chain ${tag}`, 'the newest email');
    assert.ok(await row.evaluate((b) => b.classList.contains('unread')));
    assert.equal(await rows(`E2E alone ${tag}`).getAttribute('data-count'), '1');
    await row.click();
    await page.waitForSelector('.conversation');
    assert.equal(await page.locator('.thread-email').count(), 3);
    assert.equal(await page.locator('.thread-count').textContent(), '3 messages');
    assert.deepEqual(await page.locator('.thread-email .thread-line .from').allTextContents(), ['Replier', 'Sender']);
    // all unread: the first unread (the oldest) is expanded, and read
    assert.equal(await page.locator('.thread-email.expanded .text-body').textContent(), 'the first\n');
    assert.equal(await page.locator('.thread-email:first-child.expanded').count(), 1);
    await shot(page, 'e2e-thread');
    await page.click('.thread-email:nth-child(3) .thread-line');
    await page.waitForSelector('.thread-email:nth-child(3).expanded');
    assert.equal(await page.locator('.thread-email.expanded .text-body').textContent(), 'the third\n');
    await page.click('.thread-email:nth-child(2) .thread-line');
    await page.waitForSelector('.thread-email:nth-child(2).expanded');
    assert.equal(await page.locator('.thread-email.expanded .text-body').textContent(), 'the second\n');
    // every email opened: the row is read now, also after a reload (the server kept it)
    await page.waitForFunction((t) => [...document.querySelectorAll('#message-scroller .row')].some((r) => r.textContent?.includes(t) && !r.classList.contains('unread')), `E2E chain ${tag}`);
    await page.reload();
    await page.waitForSelector(`.row[data-count="3"]:has-text("E2E chain ${tag}")`);
    assert.equal(await page.getAttribute('#thread-toggle', 'aria-pressed'), 'true');
    assert.equal(await rows(`E2E chain ${tag}`).evaluate((b) => b.classList.contains('unread')), false);
    // j/k walk the thread rows (down and back, or up and back from the last row)
    await rows(`E2E chain ${tag}`).click();
    await page.waitForSelector('.conversation');
    const at = await page.evaluate(() => location.hash);
    const last = await page.evaluate(() => Number(document.querySelector('.row.selected')?.getAttribute('data-index')) === document.querySelectorAll('#message-scroller .row').length - 1);
    await page.keyboard.press(last ? 'k' : 'j');
    await page.waitForFunction((h) => location.hash !== h && /#\/mailbox\/[^/]+\/./.test(location.hash), at);
    await page.waitForSelector('.conversation');
    await page.keyboard.press(last ? 'j' : 'k');
    await page.waitForFunction((h) => location.hash === h, at);
    await page.waitForSelector('.thread-email:nth-child(3).expanded', { state: 'attached' });
    // and back to messages: three rows again
    await page.click('#thread-toggle');
    await page.waitForFunction((t) => [...document.querySelectorAll('#message-scroller .row')].filter((r) => r.textContent?.includes(t)).length === 3, `E2E chain ${tag}`);
    assert.deepEqual(seen.errors, []);
    assert.deepEqual(seen.console, []);
  } finally {
    await page.evaluate(() => localStorage.removeItem('tern.threads')).catch(() => {});
    await context.close();
  }
});

test('e2e: "Always show from" loads that sender\'s remote images (and not another\'s) until it is removed in Settings', async () => {
  const tls = path.join(server.info.dir, 'data', 'tls');
  const hits = /** @type {string[]} */ ([]);
  const remote = https.createServer({ cert: fs.readFileSync(path.join(tls, 'selfsigned.crt')), key: fs.readFileSync(path.join(tls, 'selfsigned.key')) }, (req, res) => {
    hits.push(req.url || '');
    res.setHeader('Content-Type', 'image/gif');
    res.setHeader('Cache-Control', 'no-store'); /* every load is a request the test sees */
    res.end(Buffer.from('R0lGODlhAQABAAAAACw=', 'base64'));
  });
  await new Promise((r) => remote.listen(0, '127.0.0.1', () => r(null)));
  const port = /** @type {any} */ (remote.address()).port;
  const tag = Math.random().toString(36).slice(2, 8);
  const img = (/** @type {string} */ name) => `<p>pictures</p><img src="https://127.0.0.1:${port}/${name}.gif" alt="${name}">`;
  await deliverAll([
    mime(`E2E pics one ${tag}`, { from: `Pics <Pics.${tag}@remote.example>`, html: img('one') }),
    mime(`E2E pics two ${tag}`, { from: `Pics <pics.${tag}@remote.example>`, html: img('two') }),
    mime(`E2E pics other ${tag}`, { from: 'Other <other@remote.example>', html: img('other') }),
  ]);
  const { context, page, seen } = await open();
  const openRow = async (/** @type {string} */ s) => {
    await page.click(`.row:has-text("${s}")`);
    await page.waitForSelector(`#message-subject:text-is("${s}")`);
    await page.frameLocator('iframe.html-body').locator('text=pictures').waitFor();
  };
  const sender = `pics.${tag}@remote.example`;
  try {
    await loginReal(page);
    if ((await page.getAttribute('#thread-toggle', 'aria-pressed')) === 'true') await page.click('#thread-toggle');
    await openRow(`E2E pics one ${tag}`);
    await page.waitForSelector('.images-bar:not([hidden])');
    await page.waitForTimeout(400);
    assert.deepEqual(hits, [], 'blocked before any allowance');
    assert.equal(await page.locator('#always-images').textContent(), `Always show from ${sender}`);
    await shot(page, 'e2e-images-bar');
    await page.click('#always-images');
    for (let i = 0; i < 50 && !hits.includes('/one.gif'); i++) await page.waitForTimeout(100);
    assert.deepEqual(hits, ['/one.gif']);
    // the same sender's next message: at once, without asking
    await openRow(`E2E pics two ${tag}`);
    for (let i = 0; i < 50 && !hits.includes('/two.gif'); i++) await page.waitForTimeout(100);
    assert.deepEqual(hits, ['/one.gif', '/two.gif']);
    assert.equal(await page.locator('.images-bar').count(), 0);
    // another sender: still blocked
    await openRow(`E2E pics other ${tag}`);
    await page.waitForSelector('.images-bar:not([hidden])');
    await page.waitForTimeout(500);
    assert.deepEqual(hits, ['/one.gif', '/two.gif']);
    // removed in Settings: blocked again
    await page.click('#settings-button');
    await page.waitForSelector(`#image-senders li[data-sender="${sender}"]`);
    await page.click(`#image-senders li[data-sender="${sender}"] button.remove`);
    await page.waitForSelector(`#image-senders-status:has-text("${sender}")`);
    assert.equal(await page.locator(`#image-senders li[data-sender="${sender}"]`).count(), 0);
    await page.click('#reader .back');
    await openRow(`E2E pics two ${tag}`);
    await page.waitForSelector('.images-bar:not([hidden])');
    await page.waitForTimeout(500);
    assert.deepEqual(hits, ['/one.gif', '/two.gif'], 'loaded again after the removal');
    assert.deepEqual(seen.errors, []);
  } finally { await context.close(); remote.close(); }
});

test('e2e: mail filters: a rule "Subject contains X -> folder Y" and an out-of-office reply made in the pages file SMTP mail and send the reply; the raw editor shows the compile error; a foreign active script is renamed and switched back', async () => {
  const { context, page } = await open();
  const tag = `rule${Math.random().toString(36).slice(2, 8)}`;
  try {
    await loginReal(page, ALICE);
    await page.click('#settings-button');
    await page.click('#settings-rules');
    await page.waitForSelector('#rules-empty:visible');
    // two rules, the second moved up, edited, then removed
    await page.selectOption('#rule-field', 'subject');
    await page.fill('#rule-contains', tag);
    await page.selectOption('#rule-action', 'move');
    await page.fill('#rule-target', 'Filed Z');
    await page.click('#rule-save');
    await page.waitForSelector('#rules-status:text-is("Rule added.")');
    await page.selectOption('#rule-field', 'from');
    await page.fill('#rule-contains', 'nobody@nowhere.example');
    await page.selectOption('#rule-action', 'read');
    assert.ok(await page.isHidden('#rule-target'), 'no target for "mark as read"');
    await page.click('#rule-save');
    await page.waitForSelector('#rules-list li:nth-child(2)');
    await page.click('#rules-list li:nth-child(2) .up');
    await page.waitForSelector('#rules-status:text-is("Moved.")');
    assert.deepEqual(await page.locator('#rules-list .rule-text').allTextContents(),
      ['From contains “nobody@nowhere.example” → mark as read', `Subject contains “${tag}” → move to Filed Z`]);
    await page.click('#rules-list li:nth-child(2) .edit');
    assert.equal(await page.inputValue('#rule-target'), 'Filed Z');
    await page.fill('#rule-target', 'Filed Y');
    await page.click('#rule-save');
    await page.waitForSelector('#rules-status:text-is("Rule saved.")');
    await page.click('#rules-list li:nth-child(1) .remove');
    await page.waitForSelector('#rules-status:text-is("Removed.")');
    // a forward to something that is not an address is refused by the page
    await page.selectOption('#rule-action', 'forward');
    await page.fill('#rule-contains', 'x');
    await page.fill('#rule-target', 'not an address');
    await page.click('#rule-save');
    await page.waitForSelector('#rules-status:has-text("plain address")');
    await page.click('#rule-cancel').catch(() => {});
    // the page reads its own rules back
    await page.reload();
    await page.waitForSelector('#rules-list li');
    assert.deepEqual(await page.locator('#rules-list .rule-text').allTextContents(), [`Subject contains “${tag}” → move to Filed Y`]);
    await shot(page, 'e2e-rules');

    // out of office
    await page.click('.toolbar .back.always');
    await page.click('#settings-vacation');
    await page.waitForSelector('#vacation-form');
    await page.check('#vacation-on');
    await page.fill('#vacation-subject', `Away ${tag}`);
    await page.fill('#vacation-body', 'I am away until Monday.');
    await page.fill('#vacation-days', '3');
    await page.click('#vacation-form button[type=submit]');
    await page.waitForSelector('#vacation-status:text-is("Saved: the reply is on.")');
    await shot(page, 'e2e-vacation');

    // the raw editor: the managed script, active, with both; a script that does not compile
    await page.click('.toolbar .back.always');
    await page.click('#settings-scripts');
    await page.waitForSelector('#sieve-scripts li[data-name="webmail"] .badge:text-is("active")');
    await page.waitForFunction(() => /** @type {HTMLTextAreaElement} */ (document.getElementById('sieve-text')).value.includes('fileinto :create "Filed Y"'));
    assert.match(await page.inputValue('#sieve-text'), /vacation :days 3 :subject "Away/);
    await page.click('#sieve-new');
    await page.fill('#sieve-name', 'broken');
    await page.fill('#sieve-text', 'require "fileinto";\nif true {\n  fileinto "x"\n}\n');
    await page.click('#sieve-form button[type=submit]');
    await page.waitForSelector('#sieve-error:visible');
    assert.match(await page.textContent('#sieve-error') || '', /^\d+:\d+: /);
    await shot(page, 'e2e-sieve-error');

    // mail over SMTP: filed into Filed Y, and the sender gets the reply
    assert.deepEqual(await server.rpc({ cmd: 'deliver', to: ALICE, raw: mime(`Report ${tag}`) }), { ok: true });
    let filed = [];
    for (let i = 0; i < 100 && !filed.length; i++) {
      filed = (await server.rpc({ cmd: 'imap_messages', user: ALICE, mailbox: 'Filed Y' })).messages
        .map((/** @type {string} */ m) => Buffer.from(m, 'base64').toString('latin1')).filter((/** @type {string} */ m) => m.includes(`Subject: Report ${tag}\r\n`));
      if (!filed.length) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(filed.length, 1, 'filed into Filed Y');
    const inbox = (await server.rpc({ cmd: 'imap_messages', user: ALICE, mailbox: 'INBOX' })).messages
      .map((/** @type {string} */ m) => Buffer.from(m, 'base64').toString('latin1'));
    assert.ok(!inbox.some((/** @type {string} */ m) => m.includes(`Subject: Report ${tag}\r\n`)), 'not in INBOX');
    let reply;
    for (let i = 0; i < 100 && !reply; i++) {
      reply = (await server.rpc({ cmd: 'queue' })).rows.map((/** @type {any} */ r) => ({ ...r, text: Buffer.from(r.data, 'base64').toString('latin1') }))
        .find((/** @type {any} */ r) => r.rcpt === 'sender@remote.example' && r.text.includes(`Subject: Away ${tag}\r\n`));
      if (!reply) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(reply, 'the vacation reply is queued to the sender');
    assert.equal(reply.mail_from, '');
    assert.match(reply.text, /Auto-Submitted: auto-replied/);
    assert.match(reply.text, /I am away until Monday\./);

    // another script made active elsewhere: the Rules page says so and switches back
    await page.click('#sieve-new');
    await page.fill('#sieve-name', 'other');
    await page.fill('#sieve-text', 'keep;\n');
    await page.check('#sieve-activate');
    await page.click('#sieve-form button[type=submit]');
    await page.waitForSelector('#sieve-status:text-is("Saved.")');
    await page.waitForSelector('#sieve-scripts li[data-name="other"] .badge');
    // renamed in the editor: the same script, still active, under its new name
    await page.fill('#sieve-name', 'other2');
    await page.click('#sieve-form button[type=submit]');
    await page.waitForSelector('#sieve-scripts li[data-name="other2"] .badge:text-is("active")');
    assert.equal(await page.locator('#sieve-scripts li[data-name="other"]').count(), 0);
    await page.click('.toolbar .back.always');
    await page.click('#settings-rules');
    await page.waitForSelector('#rules-active-notice:has-text("“other2”")');
    await page.click('#rules-switch');
    await page.waitForSelector('#rules-status:text-is("These rules are active now.")');
    assert.ok(await page.isHidden('#rules-active-notice'));

    // leave alice without an active script, the others deleted (later tests deliver to her)
    await page.click('.toolbar .back.always');
    await page.click('#settings-scripts');
    await page.click('#sieve-scripts li[data-name="other2"] .open');
    await page.waitForFunction(() => /** @type {HTMLTextAreaElement} */ (document.getElementById('sieve-text')).value.includes('keep;'));
    await page.click('#sieve-delete');
    await page.waitForSelector('#sieve-status:text-is("Deleted other2.")');
    await page.click('#sieve-scripts li[data-name="webmail"] .open');
    await page.waitForFunction(() => /** @type {HTMLTextAreaElement} */ (document.getElementById('sieve-text')).value.includes('tern-webmail'));
    await page.uncheck('#sieve-activate');
    await page.click('#sieve-form button[type=submit]');
    await page.waitForSelector('#sieve-status:text-is("Saved.")');
    await page.waitForFunction(() => !document.querySelector('#sieve-scripts .badge'));
  } finally { await context.close(); }
});

test('e2e: a contact added in the address book is offered in compose (keys and mouse), and the message reaches it', async () => {
  const { context, page, seen } = await open();
  try {
    await loginReal(page);
    await page.click('#contacts-button');
    await page.waitForSelector('#contacts-book option:has-text("Collected Addresses")', { state: 'attached' });
    await page.waitForSelector('#contacts-book option:has-text("Contacts")', { state: 'attached' });
    // two contacts through the form
    for (const [name, email] of [['Bob Builder', BOB], ['Zed Zero', ALICE]]) {
      await page.click('#contact-new');
      await page.fill('#contact-name', name);
      await page.fill('#contact-emails', email);
      await page.fill('#contact-notes', `note for ${name}`);
      await page.click('#contact-save');
      await page.waitForSelector(`.contact-row:has-text("${name}")`);
    }
    // search, open, edit a phone in, and see it kept
    await page.fill('#contacts-search', 'builder');
    await page.waitForSelector('.contact-row:has-text("Zed Zero")', { state: 'detached' });
    await page.click('.contact-row:has-text("Bob Builder")');
    await page.fill('#contact-phones', '+1 555 0100');
    await page.click('#contact-save');
    await page.waitForSelector('#contacts-status:has-text("Bob Builder saved")');
    await page.click('.contact-row:has-text("Bob Builder")');
    assert.equal(await page.inputValue('#contact-phones'), '+1 555 0100');
    assert.equal(await page.inputValue('#contact-notes'), 'note for Bob Builder');
    await shot(page, 'contacts');

    await page.click('#compose-button');
    // one letter: nothing; two: the dropdown; Escape closes it
    await page.type('#compose-to', 'b');
    await page.waitForTimeout(400);
    assert.equal(await page.locator('#compose-to-suggestions').isHidden(), true);
    await page.type('#compose-to', 'u');
    await page.waitForSelector('#compose-to-suggestions li:has-text("Bob Builder <bob@example.test>")');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#compose-to-suggestions', { state: 'hidden' });
    // keys: type on, arrows, Enter takes it (and does not send)
    await page.type('#compose-to', 'i');
    await page.waitForSelector('#compose-to-suggestions li[aria-selected=true]:has-text("Bob Builder")');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('Enter');
    assert.equal(await page.inputValue('#compose-to'), 'Bob Builder <bob@example.test>, ');
    // the mouse, in Cc
    await page.type('#compose-cc', 'ze');
    await page.click('#compose-cc-suggestions li:has-text("Zed Zero")');
    assert.equal(await page.inputValue('#compose-cc'), 'Zed Zero <alice@example.test>, ');
    await shot(page, 'compose-autocomplete');
    await page.fill('#compose-subject', 'E2E to a contact');
    await page.fill('#compose-body', 'picked from the address book');
    await page.click('#compose-send');
    await page.waitForSelector('#notice:text-is("Sent.")');
    let got = [];
    for (let i = 0; i < 50 && !got.length; i++) {
      got = (await server.rpc({ cmd: 'imap_messages', user: BOB, mailbox: 'INBOX' })).messages.map((m) => Buffer.from(m, 'base64').toString('latin1')).filter((m) => m.includes('Subject: E2E to a contact'));
      if (!got.length) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(got.length, 1);
    assert.match(got[0], /^To: Bob Builder <bob@example\.test>/m);
    assert.match(got[0], /^Cc: Zed Zero <alice@example\.test>/m);
    assert.deepEqual(seen.errors, []);
  } finally { await context.close(); }
});
