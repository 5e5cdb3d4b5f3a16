"""CardDAV (RFC 6352 over WebDAV RFC 4918, sync RFC 6578) over HTTPS
against the real binary: discovery, PROPFIND at each level, PUT, GET and
DELETE with ETags and their 412s, MKCOL/PROPPATCH/DELETE of books, the
three REPORTs (multiget, query, sync-collection: initial, after a change,
after a delete, a bad token), authentication and another account's books,
hostile bodies (malformed XML, the billion laughs, deep nesting, a huge
body); and a real client, vdirsyncer, syncing a filesystem vdir with tern
both ways."""
import base64
import http.client
import os
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from urllib.parse import unquote

import pytest

from conftest import HOST, LISTENERS, ssl_ctx

WEB = LISTENERS + [("http", "http", "none"), ("https", "http", "implicit")]
USER, PASSWORD = "alice@example.test", "correct horse battery"
OTHER, OTHER_PASSWORD = "bob@example.test", "battery staple horse"
D, C, CS = "{DAV:}", "{urn:ietf:params:xml:ns:carddav}", "{http://calendarserver.org/ns/}"
HOME = "/dav/addressbooks/%s/" % USER
NS = 'xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav" xmlns:cs="http://calendarserver.org/ns/"'


def server(tern_factory, listeners=WEB, extra=""):
    t = tern_factory(extra_config=extra, listeners=listeners)
    t.add_user(USER, PASSWORD)
    t.add_user(OTHER, OTHER_PASSWORD)
    return t


def auth(user=USER, password=PASSWORD):
    tok = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    return {"Authorization": "Basic " + tok}


def dav(t, method, path, body=None, headers=None, user=USER, password=PASSWORD, name="https"):
    if name == "https":
        c = http.client.HTTPSConnection(HOST, t.port(name), context=ssl_ctx(), timeout=20)
    else:
        c = http.client.HTTPConnection(HOST, t.port(name), timeout=20)
    h = dict(auth(user, password) if user else {})
    h.update(headers or {})
    if isinstance(body, str):
        body = body.encode()
    if body is not None and "Content-Type" not in h:
        h["Content-Type"] = "application/xml; charset=utf-8"
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


def multistatus(data):
    """{href: {"status": s, "props": {name: (status, element)}}}"""
    root = ET.fromstring(data)
    assert root.tag == D + "multistatus", data
    out = {}
    for resp in root.findall(D + "response"):
        href = unquote(resp.find(D + "href").text)
        st = resp.find(D + "status")
        props = {}
        for ps in resp.findall(D + "propstat"):
            code = int(ps.find(D + "status").text.split()[1])
            for p in ps.find(D + "prop"):
                props[p.tag] = (code, p)
        out[href] = {"status": int(st.text.split()[1]) if st is not None else None,
                     "props": props}
    return out


def propfind(t, path, props, depth="0", **kw):
    body = "<d:propfind %s><d:prop>%s</d:prop></d:propfind>" % (NS, "".join(
        "<%s/>" % p for p in props))
    r, data = dav(t, "PROPFIND", path, body, {"Depth": depth}, **kw)
    assert r.status == 207, (r.status, data)
    return multistatus(data)


def vcard(uid, fn, email=None, extra=""):
    lines = ["BEGIN:VCARD", "VERSION:4.0", "UID:" + uid, "FN:" + fn]
    if email:
        lines.append("EMAIL:" + email)
    if extra:
        lines.append(extra)
    lines.append("END:VCARD")
    return "\r\n".join(lines) + "\r\n"


def put(t, path, card, headers=None, **kw):
    h = {"Content-Type": "text/vcard; charset=utf-8"}
    h.update(headers or {})
    return dav(t, "PUT", path, card, h, **kw)


def error_cond(data):
    root = ET.fromstring(data)
    assert root.tag == D + "error", data
    return root[0].tag, root[0]


def default_book(t):
    ms = propfind(t, HOME, ["d:displayname", "d:resourcetype"], depth="1")
    for href, r in ms.items():
        if r["props"].get(D + "displayname", (0, None))[1] is not None and \
                r["props"][D + "displayname"][1].text == "Contacts":
            return href
    raise AssertionError(ms)


def test_discovery(tern_factory):
    t = server(tern_factory)
    r, _ = dav(t, "GET", "/.well-known/carddav", user=None)
    assert r.status == 301 and r.getheader("Location") == "/dav/"
    r, _ = dav(t, "PROPFIND", "/.well-known/carddav", user=None, headers={"Depth": "0"})
    assert r.status == 301
    r, _ = dav(t, "OPTIONS", "/dav/", user=None)
    assert r.status == 200
    assert [x.strip() for x in r.getheader("DAV").split(",")] == ["1", "3", "addressbook"]
    assert "PROPFIND" in r.getheader("Allow") and "REPORT" in r.getheader("Allow")

    ms = propfind(t, "/dav/", ["d:current-user-principal", "d:resourcetype",
                               "card:addressbook-home-set"])
    root = ms["/dav/"]["props"]
    principal = "/dav/principals/%s/" % USER
    assert root[D + "current-user-principal"][0] == 200
    assert unquote(root[D + "current-user-principal"][1].find(D + "href").text) == principal
    assert unquote(root[C + "addressbook-home-set"][1].find(D + "href").text) == HOME

    ms = propfind(t, principal, ["d:current-user-principal", "card:addressbook-home-set",
                                 "d:principal-URL", "d:displayname", "d:resourcetype",
                                 "d:supported-report-set", "d:getctag"])
    p = ms[principal]["props"]
    assert unquote(p[C + "addressbook-home-set"][1].find(D + "href").text) == HOME
    assert unquote(p[D + "principal-URL"][1].find(D + "href").text) == principal
    assert p[D + "displayname"][1].text == USER
    assert p[D + "resourcetype"][1].find(D + "principal") is not None
    assert p[D + "supported-report-set"][0] == 200
    assert p[D + "getctag"][0] == 404  # not a DAV: property, and no book

    props = ["d:resourcetype", "d:displayname", "cs:getctag", "d:sync-token",
             "card:supported-address-data", "card:max-resource-size",
             "d:current-user-privilege-set", "d:supported-report-set", "x:unknown"]
    body = "<d:propfind %s xmlns:x=\"urn:example\"><d:prop>%s</d:prop></d:propfind>" % (
        NS, "".join("<%s/>" % p for p in props))
    r, data = dav(t, "PROPFIND", HOME, body, {"Depth": "1"})
    assert r.status == 207
    ms = multistatus(data)
    assert HOME in ms
    books = {h: v["props"] for h, v in ms.items() if h != HOME}
    names = sorted(p[D + "displayname"][1].text for p in books.values())
    assert names == ["Collected Addresses", "Contacts"]
    for href, p in books.items():
        rt = p[D + "resourcetype"][1]
        assert rt.find(D + "collection") is not None and rt.find(C + "addressbook") is not None
        assert p[CS + "getctag"][0] == 200
        assert p[D + "sync-token"][1].text.startswith("urn:x-tern:sync:")
        types = p[C + "supported-address-data"][1].findall(C + "address-data-type")
        assert {x.get("version") for x in types} == {"3.0", "4.0"}
        assert p[C + "max-resource-size"][1].text == str(256 * 1024)
        privs = p[D + "current-user-privilege-set"][1]
        assert privs.find(D + "privilege/" + D + "write-content") is not None
        reports = p[D + "supported-report-set"][1]
        assert reports.find(".//" + C + "addressbook-multiget") is not None
        assert reports.find(".//" + D + "sync-collection") is not None
        assert p["{urn:example}unknown"][0] == 404

    # Depth: infinity (and no Depth, which means it) is refused
    for h in ({"Depth": "infinity"}, {}):
        r, data = dav(t, "PROPFIND", HOME, "<d:propfind %s><d:allprop/></d:propfind>" % NS, h)
        assert r.status == 403
        assert error_cond(data)[0] == D + "propfind-finite-depth"
    r, _ = dav(t, "PROPFIND", HOME, None, {"Depth": "2"})
    assert r.status == 400
    # an empty body is allprop; propname lists names without values
    r, data = dav(t, "PROPFIND", HOME, None, {"Depth": "0"})
    assert r.status == 207 and D + "resourcetype" in multistatus(data)[HOME]["props"]
    r, data = dav(t, "PROPFIND", HOME, "<d:propfind %s><d:propname/></d:propfind>" % NS,
                  {"Depth": "1"})
    ms = multistatus(data)
    book = [h for h in ms if h != HOME][0]
    assert CS + "getctag" in ms[book]["props"]
    assert ms[book]["props"][D + "displayname"][1].text is None
    # a collection has no GET; OPTIONS over plain HTTP is sent to HTTPS too
    r, _ = dav(t, "GET", HOME)
    assert r.status == 405 and "PROPFIND" in r.getheader("Allow")
    r, _ = dav(t, "OPTIONS", "/dav/", user=None, name="http")
    assert r.status == 301
    # a path that names nothing
    r, _ = dav(t, "PROPFIND", "/dav/elsewhere/", None, {"Depth": "0"})
    assert r.status == 404
    r, _ = dav(t, "PROPFIND", HOME + "nosuchbook/", None, {"Depth": "0"})
    assert r.status == 404


def test_put_get_delete_etags(tern_factory):
    t = server(tern_factory)
    book = default_book(t)
    href = book + "ada.vcf"
    card = vcard("ada-1", "Ada Lovelace", "ada@example.org")
    r, _ = put(t, href, card, {"If-None-Match": "*"})
    assert r.status == 201
    etag = r.getheader("ETag")
    assert etag and etag.startswith('"')
    r, data = dav(t, "GET", href)
    assert r.status == 200 and data.decode() == card
    assert r.getheader("Content-Type") == "text/vcard; charset=utf-8"
    assert r.getheader("ETag") == etag
    r, data = dav(t, "GET", href, headers={"If-None-Match": etag})
    assert r.status == 304 and data == b""
    r, data = dav(t, "HEAD", href)
    assert r.status == 200 and data == b"" and r.getheader("ETag") == etag

    # If-None-Match: * on an existing card, a wrong or weak If-Match: 412
    r, _ = put(t, href, card, {"If-None-Match": "*"})
    assert r.status == 412
    for tag in ('"999999"', "W/" + etag, "nonsense", '"1", "2"', '"99999999999999999999"',
                '"9223372036854775808"', '""'):
        r, _ = put(t, href, card, {"If-Match": tag})
        assert r.status == 412, tag
    r, _ = put(t, book + "absent.vcf", vcard("x-1", "X"), {"If-Match": "*"})
    assert r.status == 412
    card2 = vcard("ada-1", "Ada King", "ada@example.org")
    r, _ = put(t, href, card2, {"If-Match": etag})
    assert r.status == 204
    etag2 = r.getheader("ETag")
    assert etag2 and etag2 != etag
    r, data = dav(t, "GET", href)
    assert data.decode() == card2 and r.getheader("ETag") == etag2
    r, _ = put(t, href, card, {"If-Match": etag})  # stale now
    assert r.status == 412
    r, _ = put(t, href, vcard("ada-1", "Ada"), {"If-Match": "*"})
    assert r.status == 204
    etag3 = r.getheader("ETag")

    # a Depth 1 PROPFIND on the book lists the card with its ETag
    ms = propfind(t, book, ["d:getetag", "d:getcontenttype", "d:getlastmodified"], depth="1")
    p = ms[href]["props"]
    assert p[D + "getetag"][1].text == etag3
    assert p[D + "getcontenttype"][1].text == "text/vcard; charset=utf-8"
    assert p[D + "getlastmodified"][0] == 404
    ms = propfind(t, href, ["d:getetag", "card:address-data"])
    assert ms[href]["props"][C + "address-data"][1].text.replace("\n", "\r\n") == \
        vcard("ada-1", "Ada")

    # the vCard is checked: one card, with a UID, of a vCard type, not too big
    bad = {
        "not a vcard": "hello",
        "no uid": "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:No Uid\r\nEND:VCARD\r\n",
        "two cards": vcard("t-1", "One") + vcard("t-2", "Two"),
        "unterminated": "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:u\r\n",
    }
    for what, body in bad.items():
        r, data = put(t, book + "bad.vcf", body)
        assert r.status == 403, what
        assert error_cond(data)[0] == C + "valid-address-data", what
    r, data = put(t, book + "typed.vcf", vcard("ty-1", "Typed"),
                  {"Content-Type": "application/json"})
    assert r.status == 415 and error_cond(data)[0] == C + "supported-address-data"
    huge = vcard("big-1", "Big", extra="NOTE:" + "x" * (300 * 1024))
    r, data = put(t, book + "big.vcf", huge)
    assert r.status == 413 and error_cond(data)[0] == C + "max-resource-size"
    # the same UID under another name: no-uid-conflict naming the card
    r, data = put(t, book + "again.vcf", vcard("ada-1", "Ada Again"))
    assert r.status == 403
    tag, el = error_cond(data)
    assert tag == C + "no-uid-conflict"
    assert unquote(el.find(D + "href").text) == href
    r, _ = dav(t, "GET", book + "bad.vcf")
    assert r.status == 404
    # a card in no book, or at a collection's URL
    r, _ = put(t, HOME + "nosuchbook/x.vcf", vcard("n-1", "N"))
    assert r.status == 409
    r, _ = put(t, book, vcard("n-2", "N"))
    assert r.status == 405

    # DELETE: a stale If-Match is 412, the right one deletes, then 404
    r, _ = dav(t, "DELETE", href, headers={"If-Match": etag})
    assert r.status == 412
    r, _ = dav(t, "DELETE", href, headers={"If-Match": etag3})
    assert r.status == 204
    r, _ = dav(t, "GET", href)
    assert r.status == 404
    r, _ = dav(t, "DELETE", href)
    assert r.status == 404
    # the uid is free again
    r, _ = put(t, book + "again.vcf", vcard("ada-1", "Ada Again"))
    assert r.status == 201


def report(t, path, body, depth="1"):
    r, data = dav(t, "REPORT", path, body, {"Depth": depth})
    return r, data


def test_multiget_and_query(tern_factory):
    t = server(tern_factory)
    book = default_book(t)
    cards = {
        "ada.vcf": vcard("u-ada", "Ada Lovelace", "ada@example.org"),
        "alan.vcf": vcard("u-alan", "Alan Turing", "alan@bletchley.example"),
        "grace.vcf": vcard("g-grace", "Grace Hopper", "grace@navy.example",
                           "EMAIL:Amazing@Grace.example"),
        "nomail.vcf": vcard("u-nomail", "Nobody Mailless"),
    }
    for name, c in cards.items():
        r, _ = put(t, book + name, c)
        assert r.status == 201

    body = ("<card:addressbook-multiget %s><d:prop><d:getetag/><card:address-data/></d:prop>"
            "<d:href>%sada.vcf</d:href><d:href>https://localhost%sgrace.vcf</d:href>"
            "<d:href>%smissing.vcf</d:href><d:href>/dav/addressbooks/%s/1/x.vcf</d:href>"
            "</card:addressbook-multiget>") % (NS, book, book, book, OTHER)
    r, data = report(t, book, body, "0")
    assert r.status == 207, data
    ms = multistatus(data)
    assert ms[book + "ada.vcf"]["props"][C + "address-data"][1].text.replace(
        "\n", "\r\n") == cards["ada.vcf"]
    assert ms[book + "grace.vcf"]["props"][D + "getetag"][0] == 200
    assert ms[book + "missing.vcf"]["status"] == 404
    assert ms["/dav/addressbooks/%s/1/x.vcf" % OTHER]["status"] == 404

    def query(filter_xml, limit=None):
        lim = "<card:limit><card:nresults>%d</card:nresults></card:limit>" % limit \
            if limit else ""
        body = ("<card:addressbook-query %s><d:prop><d:getetag/></d:prop>%s%s"
                "</card:addressbook-query>") % (NS, filter_xml, lim)
        r, data = report(t, book, body)
        return r, data

    def names(filter_xml, limit=None):
        r, data = query(filter_xml, limit)
        assert r.status == 207, data
        return sorted(h[len(book):] for h, v in multistatus(data).items()
                      if v["status"] is None)

    def pf(name, text, mt="contains", extra=""):
        return ('<card:prop-filter name="%s"><card:text-match match-type="%s"%s>%s'
                '</card:text-match></card:prop-filter>') % (name, mt, extra, text)

    everyone = sorted(cards)
    assert names("") == everyone
    assert names("<card:filter/>") == everyone
    assert names("<card:filter>%s</card:filter>" % pf("FN", "LOVE")) == ["ada.vcf"]
    assert names("<card:filter>%s</card:filter>" % pf(
        "FN", "LOVE", extra=' collation="i;octet"')) == []
    assert names("<card:filter>%s</card:filter>" % pf(
        "EMAIL", "alan@bletchley.example", "equals")) == ["alan.vcf"]
    assert names("<card:filter>%s</card:filter>" % pf("EMAIL", "amazing@", "starts-with")) == \
        ["grace.vcf"]  # any instance of the property
    assert names("<card:filter>%s</card:filter>" % pf("EMAIL", ".example", "ends-with")) == \
        ["alan.vcf", "grace.vcf"]
    assert names("<card:filter>%s</card:filter>" % pf("UID", "u-", "starts-with")) == \
        ["ada.vcf", "alan.vcf", "nomail.vcf"]
    assert names("<card:filter>%s</card:filter>" % pf(
        "UID", "u-", "starts-with", ' negate-condition="yes"')) == ["grace.vcf"]
    anyof = "<card:filter test=\"anyof\">%s%s</card:filter>" % (pf("FN", "Ada"),
                                                               pf("FN", "Alan"))
    assert names(anyof) == ["ada.vcf", "alan.vcf"]
    allof = "<card:filter test=\"allof\">%s%s</card:filter>" % (pf("FN", "A"), pf("FN", "Turing"))
    assert names(allof) == ["alan.vcf"]
    assert names('<card:filter><card:prop-filter name="EMAIL"><card:is-not-defined/>'
                 '</card:prop-filter></card:filter>') == ["nomail.vcf"]
    # a limit: the first results, and a 507 on the book's href
    r, data = query("", limit=2)
    ms = multistatus(data)
    assert len([h for h, v in ms.items() if v["status"] is None]) == 2
    assert ms[book]["status"] == 507

    r, data = query('<card:filter><card:prop-filter name="EMAIL"><card:param-filter '
                    'name="TYPE"/></card:prop-filter></card:filter>')
    assert r.status == 403 and error_cond(data)[0] == C + "supported-filter"
    r, data = query("<card:filter>%s</card:filter>" % pf(
        "FN", "a", extra=' collation="i;klingon"'))
    assert r.status == 403 and error_cond(data)[0] == C + "supported-collation"
    r, data = query("<card:filter>%s</card:filter>" % pf("FN", "a", "sounds-like"))
    assert r.status == 403 and error_cond(data)[0] == C + "supported-filter"
    # a report this server does not have, and a report of the home
    r, data = report(t, book, "<d:expand-property %s/>" % NS)
    assert r.status == 403 and error_cond(data)[0] == D + "supported-report"
    r, data = report(t, HOME, body)
    assert r.status == 403


def sync(t, book, token, props="<d:getetag/>"):
    body = ("<d:sync-collection %s><d:sync-token>%s</d:sync-token><d:sync-level>1"
            "</d:sync-level><d:prop>%s</d:prop></d:sync-collection>") % (NS, token, props)
    r, data = report(t, book, body, "0")
    return r, data


def sync_ok(t, book, token):
    r, data = sync(t, book, token)
    assert r.status == 207, data
    root = ET.fromstring(data)
    new = root.find(D + "sync-token").text
    return multistatus(data), new


def test_sync_collection(tern_factory):
    t = server(tern_factory)
    book = default_book(t)
    ms, t0 = sync_ok(t, book, "")
    assert ms == {} and t0.startswith("urn:x-tern:sync:")
    for n in ("a", "b"):
        r, _ = put(t, book + n + ".vcf", vcard("u-" + n, n.upper()))
        assert r.status == 201
    ms, t1 = sync_ok(t, book, "")
    assert sorted(ms) == [book + "a.vcf", book + "b.vcf"] and t1 != t0
    ms, same = sync_ok(t, book, t1)
    assert ms == {} and same == t1
    # the token is the book's sync-token and its ctag moves with it
    p = propfind(t, book, ["d:sync-token", "cs:getctag"])[book]["props"]
    assert p[D + "sync-token"][1].text == t1

    r, _ = put(t, book + "c.vcf", vcard("u-c", "C"))
    etag_c = r.getheader("ETag")
    r, data = dav(t, "GET", book + "a.vcf")
    r, _ = put(t, book + "a.vcf", vcard("u-a", "A2"), {"If-Match": r.getheader("ETag")})
    assert r.status == 204
    ms, t2 = sync_ok(t, book, t1)
    assert sorted(ms) == [book + "a.vcf", book + "c.vcf"]
    assert ms[book + "c.vcf"]["props"][D + "getetag"][1].text == etag_c

    r, _ = dav(t, "DELETE", book + "b.vcf")
    assert r.status == 204
    ms, t3 = sync_ok(t, book, t2)
    assert list(ms) == [book + "b.vcf"] and ms[book + "b.vcf"]["status"] == 404
    ms, _ = sync_ok(t, book, t1)  # from further back: both kinds
    assert ms[book + "b.vcf"]["status"] == 404 and ms[book + "c.vcf"]["status"] is None
    # removed and made again under the same name: reported once, as it is
    r, _ = put(t, book + "b.vcf", vcard("u-b2", "B again"))
    assert r.status == 201
    ms, _ = sync_ok(t, book, t2)
    assert ms[book + "b.vcf"]["status"] is None

    # another book's changes are not this one's
    other = [h for h in propfind(t, HOME, ["d:displayname"], depth="1") if h not in (HOME, book)][0]
    ms, t_other = sync_ok(t, other, "")
    r, _ = put(t, book + "d.vcf", vcard("u-d", "D"))
    ms, _ = sync_ok(t, other, t_other)
    assert ms == {}

    for bad in ("urn:x-tern:sync:99999999", "http://example.com/sync/1", "urn:x-tern:sync:-1",
                "urn:x-tern:sync:", "garbage"):
        r, data = sync(t, book, bad)
        assert r.status == 403, bad
        assert error_cond(data)[0] == D + "valid-sync-token"
    body = "<d:sync-collection %s><d:sync-level>1</d:sync-level></d:sync-collection>" % NS
    r, _ = report(t, book, body, "0")
    assert r.status == 400


def test_purged_tombstones_refuse_old_tokens(tern_factory, tmp_path):
    """An account keeps its newest 2000 tombstones (STORE_CARD_TOMBSTONES_MAX):
    a sync token from before the purged ones gets valid-sync-token, and the
    token a fresh sync then gives is accepted (a book whose own tombstones
    all went never hands out a token below what may be synced from)."""
    t = server(tern_factory)
    book = default_book(t)
    r, _ = put(t, book + "keep.vcf", vcard("u-keep", "Keep"))
    assert r.status == 201
    ms, old = sync_ok(t, book, "")
    r, _ = put(t, book + "gone.vcf", vcard("u-gone", "Gone"))
    assert r.status == 201
    r, _ = dav(t, "DELETE", book + "gone.vcf")
    assert r.status == 204
    ms, before = sync_ok(t, book, old)
    assert list(ms) == [book + "gone.vcf"] and ms[book + "gone.vcf"]["status"] == 404

    src = tmp_path / "bulk.vcf"
    src.write_text("".join("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:bulk-%d\r\nFN:Bulk %d\r\n"
                           "END:VCARD\r\n" % (i, i) for i in range(2010)))
    r = t.cli("contacts", "import", USER, str(src), "--book", "Bulk")
    assert r.returncode == 0, r.stderr
    bulk = [h for h, v in propfind(t, HOME, ["d:displayname"], depth="1").items()
            if v["props"].get(D + "displayname", (0, None))[1] is not None
            and v["props"][D + "displayname"][1].text == "Bulk"]
    assert len(bulk) == 1
    r, _ = dav(t, "DELETE", bulk[0])  # 2010 tombstones: the oldest go
    assert r.status == 204, r.status

    for token in (old, before):
        r, data = sync(t, book, token)
        assert r.status == 403, (token, data)
        assert error_cond(data)[0] == D + "valid-sync-token"
    ms, fresh = sync_ok(t, book, "")
    assert list(ms) == [book + "keep.vcf"]
    ms, again = sync_ok(t, book, fresh)
    assert ms == {} and again == fresh
    r, _ = put(t, book + "new.vcf", vcard("u-new", "New"))
    ms, _ = sync_ok(t, book, fresh)
    assert list(ms) == [book + "new.vcf"]


def test_books_mkcol_proppatch_delete(tern_factory):
    t = server(tern_factory)
    book = default_book(t)
    mk = ("<d:mkcol %s><d:set><d:prop><d:resourcetype><d:collection/><card:addressbook/>"
          "</d:resourcetype><d:displayname>Work</d:displayname></d:prop></d:set></d:mkcol>") % NS
    r, _ = dav(t, "MKCOL", HOME + "work/", mk)
    assert r.status == 201
    loc = r.getheader("Location")
    assert loc.startswith(HOME) and loc.endswith("/")
    r, _ = dav(t, "MKCOL", loc, mk)
    assert r.status == 405  # it exists
    r, _ = dav(t, "MKCOL", HOME + "work2/", mk)
    assert r.status == 405  # the name is taken
    r, data = dav(t, "MKCOL", HOME + "cal/", mk.replace("<card:addressbook/>", ""))
    assert r.status == 403 and error_cond(data)[0] == D + "valid-resourcetype"
    r, _ = dav(t, "MKCOL", HOME + "plain/")  # a plain MKCOL makes a book too
    assert r.status == 201
    r, _ = dav(t, "MKCOL", HOME + "123/")
    assert r.status == 403
    ms = propfind(t, HOME, ["d:displayname"], depth="1")
    assert sorted(v["props"][D + "displayname"][1].text for h, v in ms.items() if h != HOME) \
        == ["Collected Addresses", "Contacts", "Work", "plain"]
    r, _ = put(t, loc + "x.vcf", vcard("x-1", "X"))
    assert r.status == 201

    pp = ("<d:propertyupdate %s><d:set><d:prop><d:displayname>%s</d:displayname></d:prop>"
          "</d:set></d:propertyupdate>")
    r, data = dav(t, "PROPPATCH", loc, pp % (NS, "Office"))
    assert r.status == 207
    assert multistatus(data)[loc]["props"][D + "displayname"][0] == 200
    assert propfind(t, loc, ["d:displayname"])[loc]["props"][D + "displayname"][1].text == \
        "Office"
    r, data = dav(t, "PROPPATCH", loc, pp % (NS, "Contacts"))  # taken
    assert r.status == 207 and multistatus(data)[loc]["props"][D + "displayname"][0] == 403
    both = ("<d:propertyupdate %s><d:set><d:prop><d:displayname>Again</d:displayname>"
            "<card:addressbook-description>x</card:addressbook-description></d:prop></d:set>"
            "</d:propertyupdate>") % NS
    r, data = dav(t, "PROPPATCH", loc, both)
    p = multistatus(data)[loc]["props"]
    assert p[D + "displayname"][0] == 424 and p[C + "addressbook-description"][0] == 403
    assert propfind(t, loc, ["d:displayname"])[loc]["props"][D + "displayname"][1].text == \
        "Office"  # nothing changed
    r, _ = dav(t, "PROPPATCH", loc, "<d:propfind %s/>" % NS)
    assert r.status == 400

    r, _ = dav(t, "DELETE", loc)
    assert r.status == 204
    r, _ = dav(t, "GET", loc + "x.vcf")
    assert r.status == 404
    r, _ = dav(t, "DELETE", book)
    assert r.status == 403  # the default book stays
    r, _ = dav(t, "DELETE", HOME)
    assert r.status == 403
    r, _ = dav(t, "DELETE", HOME + "nosuchbook/")
    assert r.status == 404


def test_auth_and_other_accounts(tern_factory):
    t = server(tern_factory)
    r, data = dav(t, "PROPFIND", HOME, None, {"Depth": "0"}, user=None)
    assert r.status == 401 and r.getheader("WWW-Authenticate").startswith("Basic ")
    r, _ = dav(t, "PROPFIND", HOME, None, {"Depth": "0"}, password="wrong")
    assert r.status == 401 and r.getheader("WWW-Authenticate")
    r, _ = dav(t, "GET", HOME + "1/x.vcf", user="nobody@example.test", password="x")
    assert r.status == 401
    book = default_book(t)
    r, _ = put(t, book + "secret.vcf", vcard("s-1", "Secret"))
    assert r.status == 201
    # bob cannot see or touch alice's principal, home, books or cards
    for method, path, body in (("PROPFIND", "/dav/principals/%s/" % USER, None),
                               ("PROPFIND", HOME, None), ("PROPFIND", book, None),
                               ("GET", book + "secret.vcf", None),
                               ("PUT", book + "x.vcf", vcard("b-1", "B")),
                               ("DELETE", book + "secret.vcf", None),
                               ("MKCOL", HOME + "mine/", None),
                               ("REPORT", book, "<d:sync-collection %s><d:sync-token/>"
                                "<d:sync-level>1</d:sync-level></d:sync-collection>" % NS)):
        r, _ = dav(t, method, path, body, {"Depth": "0"}, user=OTHER, password=OTHER_PASSWORD)
        assert r.status == 403, (method, path, r.status)
    # the case of the address in the URL does not matter for the owner
    r, _ = dav(t, "GET", book.replace("alice", "ALICE") + "secret.vcf")
    assert r.status == 200
    # bob's own home is his, with his own books
    ms = propfind(t, "/dav/addressbooks/%s/" % OTHER, ["d:displayname"], depth="1",
                  user=OTHER, password=OTHER_PASSWORD)
    assert len(ms) == 3
    # a book id of alice's under bob's home is not found there
    alice_id = book.rstrip("/").rsplit("/", 1)[1]
    r, _ = dav(t, "GET", "/dav/addressbooks/%s/%s/secret.vcf" % (OTHER, alice_id),
               user=OTHER, password=OTHER_PASSWORD)
    assert r.status == 404
    # plain HTTP is sent to HTTPS
    r, _ = dav(t, "PROPFIND", HOME, None, {"Depth": "0"}, name="http")
    assert r.status == 301 and r.getheader("Location").startswith("https://")


def test_plain_only_listener_refuses(tern_factory):
    t = server(tern_factory, listeners=LISTENERS + [("http", "http", "none")])
    r, _ = dav(t, "PROPFIND", HOME, None, {"Depth": "0"}, name="http")
    assert r.status == 403


def test_hostile_bodies(tern_factory):
    t = server(tern_factory, extra="[http]\nmax_body = 2097152\n")
    book = default_book(t)
    for body in ("<d:propfind xmlns:d=\"DAV:\"><d:prop>", "not xml", "<d:propfind/>",
                 "<a xmlns=\"DAV:\"><b></a>"):
        r, _ = dav(t, "PROPFIND", HOME, body, {"Depth": "0"})
        assert r.status == 400, body
    laughs = ['<?xml version="1.0"?>', '<!DOCTYPE d:propfind [', '<!ENTITY lol "lol">']
    for i in range(1, 10):
        laughs.append('<!ENTITY lol%d "%s">' % (i, ("&lol%s;" % (i - 1 if i > 1 else ""))
                                                 * 10))
    laughs.append(']><d:propfind xmlns:d="DAV:"><d:prop><d:displayname>&lol9;'
                  '</d:displayname></d:prop></d:propfind>')
    start = time.monotonic()
    r, _ = dav(t, "PROPFIND", HOME, "\n".join(laughs), {"Depth": "0"})
    assert r.status == 400 and time.monotonic() - start < 2
    r, _ = dav(t, "REPORT", book, "\n".join(laughs), {"Depth": "0"})
    assert r.status == 400
    deep = "<a xmlns=\"DAV:\">" * 100 + "</a>" * 100
    r, _ = dav(t, "PROPFIND", HOME, deep, {"Depth": "0"})
    assert r.status == 413
    many = "<d:propfind %s><d:prop>%s</d:prop></d:propfind>" % (NS, "<d:x/>" * 20000)
    r, _ = dav(t, "PROPFIND", HOME, many, {"Depth": "0"})
    assert r.status == 413
    big = "<d:propfind %s><d:prop><d:displayname/></d:prop></d:propfind>" % NS
    big += " " * (1024 * 1024 + 100)  # over the XML bound, under [http] max_body
    r, _ = dav(t, "PROPFIND", HOME, big, {"Depth": "0"})
    assert r.status == 413
    r, _ = dav(t, "PROPFIND", HOME, "x" * (3 * 1024 * 1024), {"Depth": "0"})
    assert r.status == 413  # over max_body: the HTTP layer's answer
    r, _ = dav(t, "FROB", HOME)
    assert r.status == 501
    r, _ = dav(t, "FROB", "/not-dav")
    assert r.status == 501
    r, _ = dav(t, "MOVE", book + "x.vcf")
    assert r.status == 405
    # still serving
    assert propfind(t, HOME, ["d:displayname"])[HOME]["props"][D + "displayname"][0] == 200


VDIR_CONFIG = """[general]
status_path = "{base}/status/"

[pair contacts]
a = "local"
b = "tern"
collections = ["from b"]
conflict_resolution = "a wins"

[storage local]
type = "filesystem"
path = "{base}/local/"
fileext = ".vcf"

[storage tern]
type = "carddav"
url = "https://{host}:{port}/"
username = "{user}"
password = "{password}"
verify = "{cert}"
"""


def vdirsyncer(base, *args):
    env = dict(os.environ, HOME=base, PYTHONWARNINGS="ignore")
    p = subprocess.run(["vdirsyncer", "-c", os.path.join(base, "config")] + list(args),
                       input="y\n" * 10, capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout + p.stderr


@pytest.mark.skipif(not shutil.which("vdirsyncer"), reason="vdirsyncer is not installed")
def test_vdirsyncer_both_ways(tern_factory, tmp_path):
    t = server(tern_factory)
    book = default_book(t)
    book_id = book.rstrip("/").rsplit("/", 1)[1]
    r, _ = put(t, book + "server-made.vcf", vcard("srv-1", "Made On Server", "srv@example.org"))
    assert r.status == 201
    base = str(tmp_path)
    with open(os.path.join(base, "config"), "w") as f:
        # verified against tern's self-signed certificate (it names 127.0.0.1)
        f.write(VDIR_CONFIG.format(base=base, host=HOST, port=t.port("https"), user=USER,
                                   password=PASSWORD, cert=t.cert_path))
    out = vdirsyncer(base, "discover")
    vdirsyncer(base, "sync")
    local = os.path.join(base, "local", book_id)
    assert os.path.isdir(local), out + str(os.listdir(os.path.join(base, "local")))
    files = os.listdir(local)
    assert len(files) == 1
    with open(os.path.join(local, files[0])) as f:
        assert "UID:srv-1" in f.read()

    # made locally -> on the server
    with open(os.path.join(local, "local-made.vcf"), "w") as f:
        f.write(vcard("loc-1", "Made Locally", "loc@example.org"))
    vdirsyncer(base, "sync")
    ms = propfind(t, book, ["card:address-data"], depth="1")
    texts = {h: v["props"][C + "address-data"][1].text for h, v in ms.items() if h != book}
    assert any("UID:loc-1" in x for x in texts.values()), texts
    assert len(texts) == 2

    # modified locally -> on the server; modified on the server -> locally
    with open(os.path.join(local, "local-made.vcf"), "w") as f:
        f.write(vcard("loc-1", "Renamed Locally", "loc@example.org"))
    srv_href = book + "server-made.vcf"
    r, _ = dav(t, "GET", srv_href)
    r, _ = put(t, srv_href, vcard("srv-1", "Changed On Server", "srv@example.org"),
               {"If-Match": r.getheader("ETag")})
    assert r.status == 204
    vdirsyncer(base, "sync")
    ms = propfind(t, book, ["card:address-data"], depth="1")
    texts = [v["props"][C + "address-data"][1].text for h, v in ms.items() if h != book]
    assert any("FN:Renamed Locally" in x for x in texts), texts
    local_texts = []
    for name in os.listdir(local):
        with open(os.path.join(local, name)) as f:
            local_texts.append(f.read())
    assert any("FN:Changed On Server" in x for x in local_texts), local_texts
    # what the CLI exports is what the two sides agreed on
    r = t.cli("contacts", "export", USER, "-", "--book", "Contacts")
    assert r.returncode == 0, r.stderr
    assert "FN:Renamed Locally" in r.stdout and "FN:Changed On Server" in r.stdout
    assert r.stdout.count("BEGIN:VCARD") == 2

    # deleted locally -> gone from the server; deleted on the server -> gone locally
    os.unlink(os.path.join(local, "local-made.vcf"))
    r, _ = dav(t, "DELETE", srv_href)
    assert r.status == 204
    vdirsyncer(base, "sync")
    assert os.listdir(local) == []
    ms = propfind(t, book, ["d:getetag"], depth="1")
    assert list(ms) == [book]
    r = t.cli("contacts", "export", USER, "-", "--book", "Contacts")
    assert r.returncode == 0 and "BEGIN:VCARD" not in r.stdout, r.stdout + r.stderr


def test_cli_import_seen_over_carddav(tern_factory, tmp_path):
    t = server(tern_factory)
    book = default_book(t)
    ms, token = sync_ok(t, book, "")
    path = tmp_path / "in.vcf"
    path.write_text(vcard("imp-1", "Imported One", "one@example.org") +
                    vcard("imp-2", "Imported Two"))
    r = t.cli("contacts", "import", USER, str(path))
    assert r.returncode == 0, r.stderr
    ms, _ = sync_ok(t, book, token)
    assert len(ms) == 2
    body = ("<card:addressbook-query %s><d:prop><card:address-data/></d:prop><card:filter>"
            "<card:prop-filter name=\"EMAIL\"><card:text-match match-type=\"equals\">"
            "ONE@example.org</card:text-match></card:prop-filter></card:filter>"
            "</card:addressbook-query>") % NS
    r, data = report(t, book, body)
    texts = [v["props"][C + "address-data"][1].text for v in multistatus(data).values()]
    assert len(texts) == 1 and "UID:imp-1" in texts[0]


def test_racing_if_match_one_wins(tern_factory):
    """Ten clients PUT over the same ETag at once: the store compares it
    inside the transaction, so exactly one wins and the rest get 412."""
    import threading
    t = server(tern_factory)
    book = default_book(t)
    href = book + "race.vcf"
    r, _ = put(t, href, vcard("race-1", "Start"))
    etag = r.getheader("ETag")
    statuses = []
    barrier = threading.Barrier(10)

    def one(i):
        barrier.wait()
        r, _ = put(t, href, vcard("race-1", "Writer %d" % i), {"If-Match": etag})
        statuses.append(r.status)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(10)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(statuses) == [204] + [412] * 9, statuses
    r, data = dav(t, "GET", href)
    assert b"FN:Writer " in data and r.getheader("ETag") != etag
