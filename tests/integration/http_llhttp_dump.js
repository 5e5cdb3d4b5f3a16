// http_llhttp_dump: raw requests through Node's own HTTP parser (llhttp, via
// the http_parser binding that node:http uses, strict mode), for the
// differential test test_http_parser_diff.py. Input on stdin: a JSON array
// of base64 strings; output: a JSON array, one result per case:
//   {requests: [{method, target, version, headers: [[n, v]...], body,
//                keep_alive}...],   the complete requests, in order
//    state: "idle" | "partial" | "error" | "upgrade", error: code or status,
//    at: where llhttp stopped, for its own errors}
// Strings are Latin-1, as node:http reports them. Two checks node:http's
// server makes after the parser are made here too, as it makes them: an
// HTTP/1.1 request without Host is 400 (requireHostHeader), and one whose
// Expect does not name 100-continue is 417.
'use strict';
process.noDeprecation = true;
const { HTTPParser, methods } = process.binding('http_parser');
const continueExpression = /(?:^|\W)100-continue(?:$|\W)/i;

function parse(raw) {
  const p = new HTTPParser();
  const requests = [];
  let cur = null, extra = [], urlPart = '', state = 'idle', error = null, at = null;
  p[HTTPParser.kOnMessageBegin] = () => { cur = null; extra = []; urlPart = ''; state = 'partial'; };
  // more than 32 fields, or a long head: node flushes what it has so far
  p[HTTPParser.kOnHeaders] = (headers, url) => { extra.push(...headers); urlPart += url || ''; };
  p[HTTPParser.kOnHeadersComplete] = (vmaj, vmin, headers, method, url, sc, sm, upgrade, ka) => {
    const all = extra.concat(headers || []);
    extra = [];
    const hs = [];
    for (let i = 0; i < all.length; i += 2) hs.push([all[i], all[i + 1]]);
    cur = { method: methods[method], target: urlPart + (url || ''), version: `${vmaj}.${vmin}`, headers: hs,
            body: '', keep_alive: !!ka, upgrade: !!upgrade };
    if (vmaj === 1 && vmin === 1) {
      const host = hs.find(h => h[0].toLowerCase() === 'host');
      if (host === undefined) { error = 400; return -1; }
      const expect = hs.filter(h => h[0].toLowerCase() === 'expect').map(h => h[1]).join(', ');
      if (expect && !continueExpression.test(expect)) { error = 417; return -1; }
    }
    return 0;
  };
  p[HTTPParser.kOnBody] = (b) => { if (cur && error === null) cur.body += b.toString('latin1'); };
  p[HTTPParser.kOnMessageComplete] = () => {
    extra = []; // trailer fields: dropped, as tern drops them
    if (error !== null) return; // the server answered already
    requests.push(cur);
    cur = null;
    state = 'idle';
  };
  p[HTTPParser.kOnExecute] = () => {};
  p.initialize(HTTPParser.REQUEST, {}, 0, HTTPParser.kLenientNone);
  const r = p.execute(Buffer.from(raw, 'base64'));
  if (error !== null) state = 'error';
  else if (cur && cur.upgrade) state = 'upgrade'; // node hands the socket over
  else if (r instanceof Error) { state = 'error'; error = r.code; at = r.bytesParsed; }
  return { requests, state, error, at };
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', d => { input += d; });
process.stdin.on('end', () => {
  process.stdout.write(JSON.stringify(JSON.parse(input).map(parse)));
});
