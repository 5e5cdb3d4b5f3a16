"""JMAP core over HTTPS against the real binary (RFC 8620, RFC 8621 §2):
the session resource, Basic and cookie authentication (CSRF, logout,
idle expiry, the login throttle), the request-level errors, result
references, the limits, and Mailbox/get agreeing with IMAP."""
import base64
import http.client
import imaplib
import json
import re
import time

import pytest

from conftest import HOST, LISTENERS, ssl_ctx

WEB = LISTENERS + [("http", "http", "none"), ("https", "http", "implicit")]
USER, PASSWORD = "alice@example.test", "correct horse battery"
CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
SUBMISSION = "urn:ietf:params:jmap:submission"
ERR = "urn:ietf:params:jmap:error:"


def server(tern_factory, jmap="", auth=None, listeners=WEB):
    t = tern_factory(extra_config="[jmap]\n" + jmap + "\n", listeners=listeners, auth=auth)
    t.add_user(USER, PASSWORD)
    return t


def request(t, method, path, body=None, headers=None, name="https"):
    if name == "https":
        c = http.client.HTTPSConnection(HOST, t.port(name), context=ssl_ctx(), timeout=10)
    else:
        c = http.client.HTTPConnection(HOST, t.port(name), timeout=10)
    h = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


def basic(user=USER, password=PASSWORD):
    tok = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    return {"Authorization": "Basic " + tok}


def api(t, req, headers=None):
    r, data = request(t, "POST", "/jmap/api", req, headers or basic())
    return r, json.loads(data) if data else None


def session(t):
    r, data = request(t, "GET", "/.well-known/jmap", headers=basic())
    assert r.status == 200, data
    return json.loads(data)


def test_session_resource_and_basic(tern_factory):
    t = server(tern_factory)
    r, data = request(t, "GET", "/.well-known/jmap")
    assert r.status == 401
    assert r.getheader("WWW-Authenticate") == 'Basic realm="tern", charset="UTF-8"'
    # a browser's script gets no challenge (no native dialog over the webmail)
    r, _ = request(t, "GET", "/.well-known/jmap", headers={"Sec-Fetch-Mode": "cors"})
    assert r.status == 401 and r.getheader("WWW-Authenticate") is None
    r, _ = request(t, "GET", "/.well-known/jmap", headers=basic(password="wrong"))
    assert r.status == 401 and r.getheader("WWW-Authenticate")
    for bad in ("Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode(), "Bearer x"):
        r, _ = request(t, "GET", "/.well-known/jmap", headers={"Authorization": bad})
        assert r.status == 401, bad
    s = session(t)
    assert s["username"] == USER
    assert s["apiUrl"] == "/jmap/api"
    assert s["downloadUrl"] == "/jmap/download/{accountId}/{blobId}/{name}?accept={type}"
    assert s["uploadUrl"] == "/jmap/upload/{accountId}/"
    assert s["eventSourceUrl"].startswith("/jmap/eventsource?types={types}")
    core = s["capabilities"][CORE]
    assert core["maxCallsInRequest"] == 64 and core["maxConcurrentRequests"] == 4
    assert core["maxObjectsInGet"] == 1000 and core["maxSizeUpload"] == 52428800
    # maxSizeRequest: never above what [http] max_body lets through
    assert core["maxSizeRequest"] == 1048576
    acct = s["primaryAccounts"][MAIL]
    assert re.fullmatch(r"A\d+", acct)
    assert s["accounts"][acct]["name"] == USER
    mail = s["accounts"][acct]["accountCapabilities"][MAIL]
    assert mail["maxMailboxesPerEmail"] is None and mail["maxSizeMailboxName"] == 490
    assert mail["mayCreateTopLevelMailbox"] is True
    assert "receivedAt" in mail["emailQuerySortOptions"]
    assert s["state"]
    r, data = request(t, "GET", "/jmap/session", headers=basic())
    assert r.status == 200 and json.loads(data)["state"] == s["state"]
    assert r.getheader("Cache-Control") == "no-store"
    r, _ = request(t, "GET", "/jmap/api", headers=basic())
    assert r.status == 405


def test_plain_http_refused(tern_factory):
    t = server(tern_factory)
    r, _ = request(t, "GET", "/.well-known/jmap", headers=basic(), name="http")
    assert r.status == 301 and r.getheader("Location").startswith("https://")
    t2 = server(tern_factory, listeners=LISTENERS + [("http", "http", "none")])
    r, _ = request(t2, "POST", "/jmap/api", {"using": [], "methodCalls": []}, basic(),
                   name="http")
    assert r.status == 403
    r, _ = request(t2, "POST", "/jmap/login", {"username": USER, "password": PASSWORD},
                   name="http")
    assert r.status == 403


def test_throttle(tern_factory):
    t = server(tern_factory, auth={"fail_limit": 3, "fail_delay_ms": 1,
                                   "fail_max_delay_ms": 5})
    for _ in range(3):
        r, _ = request(t, "GET", "/.well-known/jmap", headers=basic(password="nope"))
        assert r.status == 401
    r, _ = request(t, "GET", "/.well-known/jmap", headers=basic())
    assert r.status == 429
    # the login form counts in the same throttle
    r, data = request(t, "POST", "/jmap/login", {"username": USER, "password": PASSWORD})
    assert r.status == 429 and "error" in json.loads(data)


def login(t, user=USER, password=PASSWORD):
    r, data = request(t, "POST", "/jmap/login", {"username": user, "password": password})
    return r, json.loads(data)


def test_cookie_login_csrf_logout(tern_factory):
    t = server(tern_factory)
    r, body = login(t, password="wrong")
    assert r.status == 401 and "error" in body and r.getheader("Set-Cookie") is None
    for bad in (b"not json", b'{"username": 1, "password": "x"}', b'{"username": "a"}'):
        r, _ = request(t, "POST", "/jmap/login", bad, {"Content-Type": "application/json"})
        assert r.status == 400, bad
    r, body = login(t)
    assert r.status == 200 and body["username"] == USER
    csrf = body["csrf"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", csrf)
    cookie = r.getheader("Set-Cookie")
    m = re.fullmatch(r"tern_session=([A-Za-z0-9_-]{43}); Path=/; HttpOnly; Secure; "
                     r"SameSite=Strict", cookie)
    assert m, cookie
    jar = {"Cookie": "other=1; tern_session=" + m.group(1)}
    r, data = request(t, "GET", "/.well-known/jmap", headers=jar)
    assert r.status == 200 and json.loads(data)["username"] == USER
    echo = {"using": [CORE], "methodCalls": [["Core/echo", {"a": 1}, "c1"]]}
    r, _ = api(t, echo, jar)
    assert r.status == 403  # no X-CSRF-Token
    r, _ = api(t, echo, dict(jar, **{"X-CSRF-Token": csrf[:-1] + ("A" if csrf[-1] != "A"
                                                                    else "B")}))
    assert r.status == 403
    r, _ = api(t, echo, dict(jar, **{"X-CSRF-Token": csrf + "x"}))
    assert r.status == 403
    r, out = api(t, echo, dict(jar, **{"X-CSRF-Token": csrf}))
    assert r.status == 200 and out["methodResponses"] == [["Core/echo", {"a": 1}, "c1"]]
    # an unknown cookie is no session
    r, _ = request(t, "GET", "/.well-known/jmap", headers={"Cookie": "tern_session=" + "A" * 43})
    assert r.status == 401 and r.getheader("WWW-Authenticate") is None
    r, _ = request(t, "POST", "/jmap/logout", headers=jar)
    assert r.status == 403  # logout needs the token too
    r, _ = request(t, "POST", "/jmap/logout", headers=dict(jar, **{"X-CSRF-Token": csrf}))
    assert r.status == 204
    assert "Max-Age=0" in r.getheader("Set-Cookie")
    r, _ = request(t, "GET", "/.well-known/jmap", headers=jar)
    assert r.status == 401
    r, _ = api(t, echo, dict(jar, **{"X-CSRF-Token": csrf}))
    assert r.status == 401


def test_cookie_expiry(tern_factory):
    # idle 2 s, lifetime 6 s: wide enough that a loaded machine's slow
    # requests do not look idle, and the lifetime is timed from the login
    t = server(tern_factory, jmap="session_idle = 2\nsession_lifetime = 6")
    start = time.monotonic()
    r, body = login(t)
    jar = {"Cookie": r.getheader("Set-Cookie").split(";")[0]}
    # used within the idle time, it lives on past the idle time ...
    for _ in range(5):
        time.sleep(0.6)
        assert request(t, "GET", "/.well-known/jmap", headers=jar)[0].status == 200
    assert time.monotonic() - start > 2.5
    # ... but not past its lifetime
    time.sleep(max(0.0, start + 6.5 - time.monotonic()))
    assert request(t, "GET", "/.well-known/jmap", headers=jar)[0].status == 401
    r, body = login(t)
    jar = {"Cookie": r.getheader("Set-Cookie").split(";")[0]}
    time.sleep(2.5)  # idle
    assert request(t, "GET", "/.well-known/jmap", headers=jar)[0].status == 401


def test_echo_and_request_errors(tern_factory):
    t = server(tern_factory, jmap="max_calls_in_request = 3\nmax_size_request = 2000")
    # RFC 8620 §4.1's example
    r, out = api(t, {"using": [CORE], "methodCalls": [
        ["Core/echo", {"hello": True, "high": 5}, "b3ff"]]})
    assert r.status == 200 and r.getheader("Content-Type").startswith("application/json")
    assert out["methodResponses"] == [["Core/echo", {"hello": True, "high": 5}, "b3ff"]]
    assert out["sessionState"] == session(t)["state"]

    def problem(body, typ, limit=None):
        r, data = request(t, "POST", "/jmap/api", body, dict(basic(),
                                                              **{"Content-Type":
                                                                 "application/json"}))
        assert r.status == 400, data
        assert r.getheader("Content-Type") == "application/problem+json"
        p = json.loads(data)
        assert p["type"] == ERR + typ and p["status"] == 400, p
        if limit:
            assert p["limit"] == limit
    problem(b"{nope", "notJSON")
    problem(b"\xff\xfe", "notJSON")
    problem(b'{"using": [], "methodCalls": {}}', "notRequest")
    problem(b'{"using": [], "methodCalls": [["Core/echo", {}]]}', "notRequest")
    problem(json.dumps({"using": [CORE, "urn:example:nope"], "methodCalls": []}).encode(),
            "unknownCapability")
    problem(json.dumps({"using": [CORE], "methodCalls": [["Core/echo", {}, str(i)]
                                                          for i in range(4)]}).encode(),
            "limit", "maxCallsInRequest")
    problem(json.dumps({"using": [CORE], "methodCalls": [
        ["Core/echo", {"x": "y" * 3000}, "0"]]}).encode(), "limit", "maxSizeRequest")
    assert session(t)["capabilities"][CORE]["maxSizeRequest"] == 2000
    # method-level errors leave the other calls alone
    r, out = api(t, {"using": [CORE, MAIL], "methodCalls": [
        ["Nope/get", {}, "0"], ["Mailbox/get", {"accountId": "A999999"}, "1"],
        ["Core/echo", {"#x": {"resultOf": "9", "name": "Core/echo", "path": "/x"}}, "2"]]})
    assert [m[0] for m in out["methodResponses"]] == ["error"] * 3
    assert [m[1]["type"] for m in out["methodResponses"]] == [
        "unknownMethod", "accountNotFound", "invalidResultReference"]
    # Mailbox/get without the mail capability in "using"
    r, out = api(t, {"using": [CORE], "methodCalls": [["Mailbox/get", {}, "0"]]})
    assert out["methodResponses"][0][1]["type"] == "unknownMethod"


def imap_login(t):
    m = imaplib.IMAP4_SSL(HOST, t.port("imaps"), ssl_context=ssl_ctx())
    m.login(USER, PASSWORD)
    return m


def test_mailbox_matches_imap(tern_factory):
    t = server(tern_factory)
    m = imap_login(t)
    assert m.create("Projects")[0] == "OK"
    assert m.create("Projects/2026")[0] == "OK"
    msg = (b"From: bob@example.org\r\nTo: alice@example.test\r\nSubject: %s\r\n"
           b"Message-ID: <%s@example.org>\r\n%s\r\nhello\r\n")
    m.append("Projects/2026", None, None, msg % (b"one", b"m1", b""))
    m.append("Projects/2026", "(\\Seen)", None,
             msg % (b"re: one", b"m2", b"In-Reply-To: <m1@example.org>\r\n"))
    m.append("Projects/2026", "(\\Draft)", None, msg % (b"other", b"m3", b""))
    typ, st = m.status("Projects/2026", "(MAILBOXID MESSAGES UNSEEN)")
    assert typ == "OK", st
    imap_id = re.search(rb"MAILBOXID \((F\d+)\)", st[0]).group(1).decode()
    typ, st = m.status("Sent", "(MAILBOXID)")
    sent_id = re.search(rb"MAILBOXID \((F\d+)\)", st[0]).group(1).decode()
    typ, st = m.status("Projects", "(MAILBOXID)")
    parent_id = re.search(rb"MAILBOXID \((F\d+)\)", st[0]).group(1).decode()
    acct = session(t)["primaryAccounts"][MAIL]

    r, out = api(t, {"using": [CORE, MAIL, SUBMISSION], "methodCalls": [
        ["Mailbox/query", {"accountId": acct, "filter": {"name": "2026"}}, "q"],
        ["Mailbox/get", {"accountId": acct, "#ids": {"resultOf": "q", "name": "Mailbox/query",
                                                     "path": "/ids"}}, "g"],
        ["Mailbox/get", {"accountId": acct, "ids": None}, "all"],
        ["Mailbox/query", {"accountId": acct, "filter": {"role": "sent"}}, "sent"],
        ["Mailbox/query", {"accountId": acct, "filter": {"operator": "AND", "conditions": [
            {"hasAnyRole": False}, {"parentId": None}]}, "sort": [{"property": "name"}],
            "calculateTotal": True}, "plain"],
        ["Mailbox/get", {"accountId": acct, "ids": ["F1", "nope"],
                         "properties": ["name"]}, "nf"],
        ["Identity/get", {"accountId": acct}, "id"]]})
    assert r.status == 200
    resp = {m[2]: m for m in out["methodResponses"]}
    assert resp["q"][1]["ids"] == [imap_id]
    mb = resp["g"][1]["list"][0]
    assert mb["id"] == imap_id and mb["name"] == "2026" and mb["parentId"] == parent_id
    assert mb["role"] is None and mb["isSubscribed"] is True
    assert (mb["totalEmails"], mb["unreadEmails"]) == (3, 1)  # the draft is not unread
    assert (mb["totalThreads"], mb["unreadThreads"]) == (2, 1)  # m2 replies to m1
    assert all(mb["myRights"].values())
    everything = {x["id"]: x for x in resp["all"][1]["list"]}
    assert everything[sent_id]["role"] == "sent"
    inbox = [x for x in everything.values() if x["role"] == "inbox"]
    assert len(inbox) == 1 and inbox[0]["myRights"]["mayDelete"] is False
    assert resp["sent"][1]["ids"] == [sent_id]
    assert resp["plain"][1]["ids"] == [parent_id] and resp["plain"][1]["total"] == 1
    assert "nope" in resp["nf"][1]["notFound"]
    assert all(set(x) == {"id", "name"} for x in resp["nf"][1]["list"])
    ident = resp["id"][1]["list"][0]
    assert ident["email"] == USER and ident["mayDelete"] is False

    # the state: unchanged -> no changes; a flag set over IMAP -> that mailbox
    # updated, only its counts
    state = resp["all"][1]["state"]
    changes = ["Mailbox/changes", {"accountId": acct, "sinceState": state}, "c"]
    r, out = api(t, {"using": [CORE, MAIL], "methodCalls": [changes]})
    assert out["methodResponses"][0][0] == "Mailbox/changes"
    assert out["methodResponses"][0][1]["newState"] == state
    m.select("Projects/2026")
    m.store("1", "+FLAGS", "(\\Seen)")
    r, out = api(t, {"using": [CORE, MAIL], "methodCalls": [
        changes, ["Mailbox/get", {"accountId": acct, "ids": [imap_id]}, "g"]]})
    ch = out["methodResponses"][0][1]
    assert out["methodResponses"][0][0] == "Mailbox/changes", ch
    assert ch["oldState"] == state != ch["newState"]
    assert (ch["created"], ch["updated"], ch["destroyed"]) == ([], [imap_id], [])
    assert set(ch["updatedProperties"]) == {"totalEmails", "unreadEmails", "totalThreads",
                                            "unreadThreads"}
    assert out["methodResponses"][1][1]["list"][0]["unreadEmails"] == 0
    assert out["methodResponses"][1][1]["list"][0]["unreadThreads"] == 0
    m.logout()


def test_metrics_count_calls(tern_factory):
    t = server(tern_factory)
    api(t, {"using": [CORE], "methodCalls": [["Core/echo", {}, "0"], ["X/y", {}, "1"]]})
    r, data = request(t, "GET", "/metrics")
    text = data.decode()
    assert re.search(r'^tern_jmap_calls_total\{method="Core/echo"\} 1$', text, re.M), text
    assert re.search(r'^tern_jmap_calls_total\{method="other"\} 1$', text, re.M)
    assert re.search(r'^tern_jmap_requests_total 1$', text, re.M)
