"""JMAP binary data over HTTPS against the real binary (RFC 8620 §6):
upload and download round trips, the limits, another account's blobs,
the download's headers (accept, RFC 6266 filename*, ETag/304), a part of
a multipart message decoded byte-exact against Python's email package,
and authentication (Basic, cookie + CSRF) on every blob endpoint."""
import email
import email.policy
import json
import os
import re
import urllib.parse

from test_jmap_core import (CORE, MAIL, PASSWORD, USER, api, basic, imap_login, request,
                            server, session)

LIMIT = 2000000
CONF = "max_size_upload = %d\n[http]\nmax_body = 8388608\n" % LIMIT
OTHER = "bob@example.test"


def acct_of(t, headers=None):
    r, data = request(t, "GET", "/.well-known/jmap", headers=headers or basic())
    assert r.status == 200, data
    return json.loads(data)["primaryAccounts"][MAIL]


def upload(t, data, ctype="application/octet-stream", headers=None, acct=None):
    h = dict(headers or basic())
    h["Content-Type"] = ctype
    r, body = request(t, "POST", "/jmap/upload/%s/" % (acct or acct_of(t)), data, h)
    return r, json.loads(body) if body else None


def download(t, acct, blob, name="f.bin", accept=None, headers=None):
    path = "/jmap/download/%s/%s/%s" % (acct, blob, urllib.parse.quote(name, safe=""))
    if accept is not None:
        path += "?accept=" + urllib.parse.quote(accept, safe="")
    return request(t, "GET", path, headers=headers or basic())


def test_upload_download_round_trip(tern_factory):
    t = server(tern_factory, CONF)
    acct = acct_of(t)
    for size in (1, 1 << 20):
        data = os.urandom(size)
        r, out = upload(t, data, "image/png")
        assert r.status == 201, out
        assert out["accountId"] == acct and out["size"] == size and out["type"] == "image/png"
        assert re.fullmatch(r"U[1-9][0-9]*", out["blobId"])
        r, got = download(t, acct, out["blobId"], "pic.png", "image/png")
        assert r.status == 200 and got == data
        assert r.getheader("Content-Type") == "image/png"
    # an empty body is an empty upload; no Content-Type: octet-stream
    r, out = upload(t, b"", "")
    assert r.status == 201 and out["size"] == 0
    r, got = download(t, acct, out["blobId"])
    assert r.status == 200 and got == b""


def test_upload_limits(tern_factory):
    t = server(tern_factory, CONF)
    r, out = upload(t, os.urandom(LIMIT + 1))
    assert r.status == 413
    assert out["type"] == "urn:ietf:params:jmap:error:limit"
    assert out["limit"] == "maxSizeUpload"
    r, out = upload(t, os.urandom(LIMIT))
    assert r.status == 201
    # at most 10 x maxSizeUpload of live uploads per account
    for _ in range(9):
        r, out = upload(t, b"x" * LIMIT)
        assert r.status == 201
    r, out = upload(t, b"y" * 10)
    assert r.status == 413 and out["limit"] == "maxSizeUpload"


def test_download_headers_and_etag(tern_factory):
    t = server(tern_factory, CONF)
    acct = acct_of(t)
    data = b"hello \x00 world"
    r, out = upload(t, data, "text/plain")
    blob = out["blobId"]
    r, got = download(t, acct, blob, "résumé 1.txt", "text/plain")
    assert r.status == 200 and got == data
    assert r.getheader("Content-Disposition") == \
        "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9%201.txt"
    assert r.getheader("Content-Type") == "text/plain"
    assert r.getheader("X-Content-Type-Options") == "nosniff"
    etag = r.getheader("ETag")
    assert etag == '"%s"' % blob
    # a bad or missing accept is application/octet-stream
    for bad in ("text/html; charset=utf-8", "text", "a/b/c", "{type}", "te xt/plain", None):
        r, got = download(t, acct, blob, "x", bad)
        assert r.status == 200 and got == data
        assert r.getheader("Content-Type") == "application/octet-stream", bad
    h = dict(basic(), **{"If-None-Match": etag})
    r, got = download(t, acct, blob, headers=h)
    assert r.status == 304 and got == b""
    # not found: unknown blob, malformed ids, another account id, no name segment
    for b in ("U999999", "Uabc", "U0", "B999999", "B1.x", "X1", "U1.2"):
        r, _ = download(t, acct, b)
        assert r.status == 404, b
    r, _ = download(t, "A999", blob)
    assert r.status == 404
    r, _ = request(t, "GET", "/jmap/download/%s/%s" % (acct, blob), headers=basic())
    assert r.status == 404
    r, _ = request(t, "POST", "/jmap/upload/A999/", b"x", basic())
    assert r.status == 404
    r, _ = request(t, "POST", "/jmap/upload/%s" % acct, b"x", basic())
    assert r.status == 404


def test_other_accounts_blobs_are_404(tern_factory):
    t = server(tern_factory, CONF)
    t.add_user(OTHER, PASSWORD)
    acct = acct_of(t)
    r, out = upload(t, b"secret")
    blob = out["blobId"]
    bob = basic(OTHER)
    bob_acct = acct_of(t, bob)
    assert bob_acct != acct
    r, _ = download(t, acct, blob, headers=bob)
    assert r.status == 404
    r, _ = download(t, bob_acct, blob, headers=bob)
    assert r.status == 404
    # and bob cannot upload into alice's account
    r, _ = upload(t, b"x", headers=bob, acct=acct)
    assert r.status == 404
    # alice's message is not bob's
    m = imap_login(t)
    m.append("INBOX", None, None, b"From: a@example.org\r\nSubject: s\r\n\r\nbody\r\n")
    r, res = api(t, {"using": [CORE, MAIL], "methodCalls": [
        ["Email/query", {"accountId": acct}, "q"],
        ["Email/get", {"accountId": acct, "#ids": {"resultOf": "q", "name": "Email/query", "path": "/ids"},
                       "properties": ["blobId"]}, "g"]]})
    mblob = res["methodResponses"][1][1]["list"][0]["blobId"]
    r, got = download(t, acct, mblob, "m.eml", "message/rfc822")
    assert r.status == 200 and b"Subject: s" in got
    r, _ = download(t, bob_acct, mblob, headers=bob)
    assert r.status == 404


MULTIPART = (b"From: a@example.org\r\nTo: alice@example.test\r\nSubject: parts\r\n"
             b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
             b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nsee attached\r\n"
             b"--XX\r\nContent-Type: application/octet-stream; name=blob.bin\r\n"
             b"Content-Disposition: attachment; filename=blob.bin\r\n"
             b"Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--XX--\r\n")


def test_part_decoded_byte_exact(tern_factory):
    import base64
    t = server(tern_factory, CONF)
    acct = acct_of(t)
    payload = os.urandom(5000)
    b64 = base64.encodebytes(payload).replace(b"\n", b"\r\n").rstrip(b"\r\n")
    raw = MULTIPART % b64
    m = imap_login(t)
    m.append("INBOX", None, None, raw)
    r, res = api(t, {"using": [CORE, MAIL], "methodCalls": [
        ["Email/query", {"accountId": acct}, "q"],
        ["Email/get", {"accountId": acct, "#ids": {"resultOf": "q", "name": "Email/query", "path": "/ids"},
                       "properties": ["blobId", "attachments"]}, "g"]]})
    e = res["methodResponses"][1][1]["list"][0]
    att = e["attachments"][0]
    r, got = download(t, acct, att["blobId"], "blob.bin")
    assert r.status == 200
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    expect = msg.get_payload()[1].get_payload(decode=True)
    assert expect == payload and got == expect
    # the whole message blob is the message as appended
    r, got = download(t, acct, e["blobId"], "m.eml", "message/rfc822")
    assert r.status == 200 and got.replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")


def login_cookie(t):
    r, data = request(t, "POST", "/jmap/login", {"username": USER, "password": PASSWORD})
    assert r.status == 200
    csrf = json.loads(data)["csrf"]
    tok = re.match(r"tern_session=([^;]+)", r.getheader("Set-Cookie")).group(1)
    return {"Cookie": "tern_session=" + tok}, csrf


def test_auth_and_csrf(tern_factory):
    t = server(tern_factory, CONF)
    acct = acct_of(t)
    r, out = upload(t, b"abc")
    blob = out["blobId"]
    # no credentials, wrong password
    r, _ = request(t, "POST", "/jmap/upload/%s/" % acct, b"x")
    assert r.status == 401
    r, _ = request(t, "POST", "/jmap/upload/%s/" % acct, b"x", basic(password="bad"))
    assert r.status == 401
    r, _ = request(t, "GET", "/jmap/download/%s/%s/x" % (acct, blob))
    assert r.status == 401
    r, _ = download(t, acct, blob, headers=basic(password="bad"))
    assert r.status == 401
    # the webmail's cookie: upload needs the CSRF token, download (GET) does not
    jar, csrf = login_cookie(t)
    r, _ = upload(t, b"from the browser", headers=jar)
    assert r.status == 403
    r, _ = upload(t, b"from the browser", headers=dict(jar, **{"X-CSRF-Token": "A" * 43}))
    assert r.status == 403
    r, out = upload(t, b"from the browser", headers=dict(jar, **{"X-CSRF-Token": csrf}))
    assert r.status == 201, out
    r, got = download(t, acct, out["blobId"], headers=jar)
    assert r.status == 200 and got == b"from the browser"
    # only over HTTPS
    r, _ = request(t, "GET", "/jmap/download/%s/%s/x" % (acct, blob), headers=basic(),
                   name="http")
    assert r.status in (301, 403)


# ---- Email/import (RFC 8621 §4.8) ----

IMPORTED = (b"From: Carol <carol@example.org>\r\nTo: alice@example.test\r\n"
            b"Subject: imported\r\nMessage-ID: <imp1@example.org>\r\n"
            b"Date: Tue, 1 Dec 2026 10:00:00 +0000\r\n\r\nimported body\r\n")


def mailbox_ids(t, acct):
    r, res = api(t, {"using": [CORE, MAIL], "methodCalls": [
        ["Mailbox/get", {"accountId": acct, "properties": ["name"]}, "m"]]})
    return {m["name"]: m["id"] for m in res["methodResponses"][0][1]["list"]}


def email_import(t, acct, emails, **extra):
    args = dict({"accountId": acct, "emails": emails}, **extra)
    r, res = api(t, {"using": [CORE, MAIL], "methodCalls": [["Email/import", args, "i"]]})
    assert r.status == 200, res
    return res["methodResponses"][0]


def test_email_import_visible_over_imap(tern_factory):
    t = server(tern_factory, CONF)
    acct = acct_of(t)
    boxes = mailbox_ids(t, acct)
    r, up = upload(t, IMPORTED, "message/rfc822")
    assert r.status == 201
    name, res, _ = email_import(t, acct, {"k1": {
        "blobId": up["blobId"], "mailboxIds": {boxes["INBOX"]: True},
        "keywords": {"$seen": True, "$Flagged": True, "project-x": True},
        "receivedAt": "2026-11-30T08:15:30Z"}})
    assert name == "Email/import", res
    assert res["oldState"] != res["newState"]
    c = res["created"]["k1"]
    assert re.fullmatch(r"M\d+", c["id"]) and re.fullmatch(r"T\d+", c["threadId"])
    assert c["blobId"] == "B" + c["id"][1:] and c["size"] == len(IMPORTED)
    assert res["notCreated"] is None
    # the new message's blob is the upload's bytes
    r, got = download(t, acct, c["blobId"], "m.eml", "message/rfc822")
    assert r.status == 200 and got == IMPORTED
    m = imap_login(t)
    m.select("INBOX")
    typ, data = m.fetch("1", "(FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
    assert typ == "OK"
    meta = data[0][0].decode()
    flags = re.search(r"FLAGS \(([^)]*)\)", meta).group(1).split()
    flags = [f for f in flags if f != "\\Recent"]  # new to this IMAP session
    assert sorted(flags) == sorted(["\\Seen", "\\Flagged", "project-x"])
    assert 'INTERNALDATE "30-Nov-2026 08:15:30 +0000"' in meta
    assert data[0][1] == IMPORTED
    # Email/get sees the same keywords and receivedAt
    r, out = api(t, {"using": [CORE, MAIL], "methodCalls": [
        ["Email/get", {"accountId": acct, "ids": [c["id"]],
                       "properties": ["keywords", "receivedAt", "mailboxIds"]}, "g"]]})
    e = out["methodResponses"][0][1]["list"][0]
    assert e["keywords"] == {"$seen": True, "$flagged": True, "project-x": True}
    assert e["receivedAt"] == "2026-11-30T08:15:30Z"
    assert e["mailboxIds"] == {boxes["INBOX"]: True}
    # a message blob imports too (a second copy, a new id)
    name, res2, _ = email_import(t, acct, {"k2": {"blobId": c["blobId"],
                                                  "mailboxIds": {boxes["INBOX"]: True}}})
    assert res2["created"]["k2"]["id"] != c["id"]
    assert m.select("INBOX")[1] == [b"2"]
    # into two mailboxes at once: one Email (one id) in both, over IMAP too
    name, res3, _ = email_import(t, acct, {"k3": {
        "blobId": up["blobId"], "mailboxIds": {boxes["INBOX"]: True, boxes["Sent"]: True},
        "keywords": {"$seen": True}}})
    k3 = res3["created"]["k3"]["id"]
    r, out = api(t, {"using": [CORE, MAIL], "methodCalls": [
        ["Email/get", {"accountId": acct, "ids": [k3], "properties": ["mailboxIds"]}, "g"]]})
    assert out["methodResponses"][0][1]["list"][0]["mailboxIds"] == {
        boxes["INBOX"]: True, boxes["Sent"]: True}
    for box in ("INBOX", "Sent"):
        m.select(box)
        typ, data = m.uid("SEARCH", "EMAILID", k3)
        assert typ == "OK" and len(data[0].split()) == 1, (box, data)
        typ, data = m.uid("FETCH", data[0].decode(), "(FLAGS BODY.PEEK[])")
        assert b"\\Seen" in data[0][0] and data[0][1] == IMPORTED
    m.logout()


def test_email_import_errors(tern_factory):
    t = server(tern_factory, CONF)
    t.add_user(OTHER, PASSWORD)
    acct = acct_of(t)
    boxes = mailbox_ids(t, acct)
    inbox = boxes["INBOX"]
    r, up = upload(t, IMPORTED)
    r, binary = upload(t, b"\x00\x01\x02 not mail")
    r, bobs = upload(t, IMPORTED, headers=basic(OTHER), acct=acct_of(t, basic(OTHER)))
    name, res, _ = email_import(t, acct, {
        "nf": {"blobId": "U999999", "mailboxIds": {inbox: True}},
        "bob": {"blobId": bobs["blobId"], "mailboxIds": {inbox: True}},
        "bin": {"blobId": binary["blobId"], "mailboxIds": {inbox: True}},
        "nobox": {"blobId": up["blobId"], "mailboxIds": {"F999999": True}},
        "nomb": {"blobId": up["blobId"], "mailboxIds": {}},
        "false": {"blobId": up["blobId"], "mailboxIds": {inbox: False}},
        "kw": {"blobId": up["blobId"], "mailboxIds": {inbox: True}, "keywords": {"a b": True}},
        "date": {"blobId": up["blobId"], "mailboxIds": {inbox: True}, "receivedAt": "yesterday"},
        "noblob": {"mailboxIds": {inbox: True}},
    })
    nc = res["notCreated"]
    assert res["created"] is None and res["oldState"] == res["newState"]
    assert nc["nf"] == {"type": "notFound", "notFound": ["U999999"]}
    assert nc["bob"]["type"] == "notFound"
    assert nc["bin"]["type"] == "invalidEmail"
    for k in ("nobox", "nomb", "false", "kw", "date", "noblob"):
        assert nc[k]["type"] == "invalidProperties", k
    # ifInState
    name, res, _ = email_import(t, acct, {"a": {"blobId": up["blobId"],
                                                "mailboxIds": {inbox: True}}},
                                ifInState="not-the-state")
    assert name == "error" and res["type"] == "stateMismatch"
    name, res, _ = email_import(t, acct, [])
    assert name == "error" and res["type"] == "invalidArguments"
    name, res, _ = email_import(t, "A999", {})
    assert name == "error" and res["type"] == "accountNotFound"
    # over quota
    assert t.cli("user", "quota", USER, "10").returncode == 0
    name, res, _ = email_import(t, acct, {"q": {"blobId": up["blobId"],
                                                "mailboxIds": {inbox: True}}})
    assert res["notCreated"]["q"]["type"] == "overQuota", res


# ---- the webmail's HTML view ----

HTML_MAIL = (b"From: a@example.org\r\nTo: alice@example.test\r\nSubject: html\r\n"
             b"MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=RR\r\n\r\n"
             b"--RR\r\nContent-Type: text/html; charset=iso-8859-1\r\n"
             b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
             b"<html><body><p>Caf=E9 &amp; more</p><script>alert(1)</script>"
             b"<img src=3D\"x\" onerror=3D\"alert(2)\">"
             b"<img src=3D\"https://remote.example/a.png\">"
             b"<img src=3D\"cid:logo@example.org\"></body></html>\r\n"
             b"--RR\r\nContent-Type: image/png\r\nContent-ID: <logo@example.org>\r\n"
             b"Content-Transfer-Encoding: base64\r\n\r\n%s\r\n--RR--\r\n")
CSP = ("default-src 'none'; img-src data: 'self'; style-src 'unsafe-inline'; "
       "form-action 'none'; base-uri 'none'; frame-ancestors 'self'")
CSP_IMAGES = ("default-src 'none'; img-src data: 'self' https:; style-src 'unsafe-inline'; "
              "form-action 'none'; base-uri 'none'; frame-ancestors 'self'")


def only_email_id(t, acct):
    r, res = api(t, {"using": [CORE, MAIL], "methodCalls": [
        ["Email/query", {"accountId": acct}, "q"]]})
    return res["methodResponses"][0][1]["ids"]


def test_html_view(tern_factory):
    import base64
    t = server(tern_factory, CONF)
    t.add_user(OTHER, PASSWORD)
    acct = acct_of(t)
    png = os.urandom(700)
    m = imap_login(t)
    m.append("INBOX", None, None, HTML_MAIL % base64.b64encode(png))
    [eid] = only_email_id(t, acct)
    path = "/jmap/html/%s/%s" % (acct, eid)
    r, body = request(t, "GET", path, headers=basic())
    assert r.status == 200, body
    assert r.getheader("Content-Type") == "text/html; charset=utf-8"
    assert r.getheader("Content-Security-Policy") == CSP
    assert r.getheader("X-Frame-Options") == "SAMEORIGIN"
    assert r.getheader("X-Tern-Remote-Images") == "1"
    html = body.decode("utf-8")
    assert html.startswith("<!doctype html><meta charset=utf-8>")
    assert "Café &amp; more" in html
    assert "<script" not in html.lower() and "alert" not in html and "onerror" not in html
    assert 'data-tern-src="https://remote.example/a.png"' in html
    assert 'src="https://remote.example/a.png"' not in html.replace("data-tern-src", "")
    cid = re.search(r'<img src="(/jmap/download/[^"]+)"', html).group(1)
    r, got = request(t, "GET", cid.replace("&amp;", "&"), headers=basic())
    assert r.status == 200 and got == png
    assert r.getheader("Content-Type") == "image/png"
    # images=1: remote images load, and the CSP lets https: images in
    r, body = request(t, "GET", path + "?images=1", headers=basic())
    assert r.status == 200
    assert r.getheader("Content-Security-Policy") == CSP_IMAGES
    html = body.decode()
    assert '<img src="https://remote.example/a.png">' in html and "data-tern-src" not in html
    # every other response still refuses framing
    r, _ = request(t, "GET", "/.well-known/jmap", headers=basic())
    assert r.getheader("X-Frame-Options") == "DENY"
    # auth: none, wrong, another account's user or id, unknown ids
    r, _ = request(t, "GET", path)
    assert r.status == 401
    r, _ = request(t, "GET", path, headers=basic(password="bad"))
    assert r.status == 401
    bob = basic(OTHER)
    r, _ = request(t, "GET", path, headers=bob)
    assert r.status == 404
    r, _ = request(t, "GET", "/jmap/html/%s/%s" % (acct_of(t, bob), eid), headers=bob)
    assert r.status == 404
    for bad in ("M999999", "Mx", "B1", ""):
        r, _ = request(t, "GET", "/jmap/html/%s/%s" % (acct, bad), headers=basic())
        assert r.status == 404, bad
    # the cookie works (GET: no CSRF token needed)
    jar, _ = login_cookie(t)
    r, body = request(t, "GET", path, headers=jar)
    assert r.status == 200 and b"Caf" in body


def test_html_view_plain_text(tern_factory):
    t = server(tern_factory, CONF)
    acct = acct_of(t)
    m = imap_login(t)
    m.append("INBOX", None, None, b"From: a@example.org\r\nSubject: p\r\n"
             b"Content-Type: text/plain; charset=utf-8\r\n\r\n<b>not bold</b> & x\r\n")
    [eid] = only_email_id(t, acct)
    r, body = request(t, "GET", "/jmap/html/%s/%s" % (acct, eid), headers=basic())
    assert r.status == 200
    assert body.decode() == ("<!doctype html><meta charset=utf-8>"
                             "<pre>&lt;b&gt;not bold&lt;/b&gt; &amp; x\r\n</pre>")
    assert r.getheader("X-Tern-Remote-Images") is None
    assert r.getheader("Content-Security-Policy") == CSP


def test_uploaded_attachment_in_email_set_create(tern_factory):
    """Email/set create (email_create.c) reads its attachments through
    jmap_blob_read too: an upload attaches byte-exact."""
    t = server(tern_factory, CONF)
    acct = acct_of(t)
    boxes = mailbox_ids(t, acct)
    data = os.urandom(3000)
    r, up = upload(t, data, "application/pdf")
    assert r.status == 201
    e = {"mailboxIds": {boxes["Drafts"]: True}, "keywords": {"$draft": True},
         "from": [{"email": USER}], "to": [{"email": USER}], "subject": "with upload",
         "textBody": [{"partId": "1", "type": "text/plain"}],
         "bodyValues": {"1": {"value": "see attached\n"}},
         "attachments": [{"blobId": up["blobId"], "type": "application/pdf",
                          "name": "report.pdf"}]}
    r, res = api(t, {"using": [CORE, MAIL], "methodCalls": [
        ["Email/set", {"accountId": acct, "create": {"d": e}}, "0"]]})
    created = res["methodResponses"][0][1].get("created") or {}
    assert "d" in created, res
    r, raw = download(t, acct, created["d"]["blobId"], "d.eml", "message/rfc822")
    assert r.status == 200
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    att = [p for p in msg.iter_attachments()][0]
    assert att.get_filename() == "report.pdf" and att.get_payload(decode=True) == data


def test_day_old_uploads_are_gone_and_deleted_at_start(tern_factory):
    t = server(tern_factory, CONF)
    acct = acct_of(t)
    r, old = upload(t, b"old bytes")
    r, new = upload(t, b"new bytes")
    old_id = int(old["blobId"][1:])
    db = t.db()
    db.execute("UPDATE uploads SET created = created - 86400 - 60 WHERE id = ?", (old_id,))
    db.commit()
    db.close()
    r, _ = download(t, acct, old["blobId"])
    assert r.status == 404
    t.restart()
    db = t.db()
    ids = [row[0] for row in db.execute("SELECT id FROM uploads")]
    db.close()
    assert ids == [int(new["blobId"][1:])]
    r, got = download(t, acct, new["blobId"])
    assert r.status == 200 and got == b"new bytes"
