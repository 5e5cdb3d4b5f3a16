"""JMAP and IMAP on one account, at once, against the real binary: the
EventSource push channel (RFC 8620 §7.3) seeing mail arrive over SMTP and
flags and moves made over IMAP; an IMAP IDLE session seeing what JMAP
Email/set does; Email/query and Email/get agreeing with IMAP's EMAILID,
THREADID, flags and COPY; the method errors over HTTP; SearchSnippet/get."""
import base64
import http.client
import imaplib
import json
import re
import select
import smtplib
import socket
import ssl
import time

from conftest import HOST, LISTENERS, ssl_ctx

WEB = LISTENERS + [("https", "http", "implicit")]
USER, PASSWORD = "alice@example.test", "correct horse battery"
CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
SOON = 1.0  # what "at once" means here


def server(tern_factory, jmap="", http=""):
    t = tern_factory(extra_config="[jmap]\n" + jmap + "\n[http]\n" + http + "\n", listeners=WEB)
    t.add_user(USER, PASSWORD)
    return t


def basic(user=USER, password=PASSWORD):
    tok = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    return {"Authorization": "Basic " + tok}


def request(t, method, path, body=None, headers=None):
    c = http.client.HTTPSConnection(HOST, t.port("https"), context=ssl_ctx(), timeout=10)
    h = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


def api(t, calls, using=(CORE, MAIL)):
    r, data = request(t, "POST", "/jmap/api", {"using": list(using), "methodCalls": calls},
                      basic())
    assert r.status == 200, data
    return json.loads(data)["methodResponses"]


def call(t, name, args):
    out = api(t, [[name, dict(args, accountId=ACCT), "0"]])
    return out[0]


ACCT = None


def account(t):
    global ACCT
    r, data = request(t, "GET", "/.well-known/jmap", headers=basic())
    ACCT = json.loads(data)["primaryAccounts"][MAIL]
    return ACCT


def email_state(t):
    return call(t, "Email/get", {"ids": []})[1]["state"]


def imap_login(t):
    m = imaplib.IMAP4_SSL(HOST, t.port("imaps"), ssl_context=ssl_ctx())
    m.login(USER, PASSWORD)
    return m


def message(subject, body="hello", msgid=None, extra=""):
    msgid = msgid or subject.replace(" ", "-")
    return ("From: Bob <bob@example.org>\r\nTo: alice@example.test\r\nSubject: %s\r\n"
            "Message-ID: <%s@example.org>\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\n%s\r\n"
            "%s\r\n" % (subject, msgid, extra, body)).encode()


# ---- an EventSource client ----

class EventSource:
    """GET /jmap/eventsource on a raw TLS socket; events parsed by hand so
    that timing and the connection's close are visible."""

    def __init__(self, t, query="types=*&closeafter=no&ping=0", headers=None):
        raw = socket.create_connection((HOST, t.port("https")), timeout=10)
        self.sock = ssl_ctx().wrap_socket(raw, server_hostname="localhost")
        h = headers if headers is not None else basic()
        lines = ["GET /jmap/eventsource?%s HTTP/1.1" % query, "Host: localhost",
                 "Accept: text/event-stream"] + ["%s: %s" % kv for kv in h.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            self.headers[k.strip().lower()] = v.strip()

    def event(self, timeout=SOON):
        """(name, data) of the next event, or None if none came in time;
        "closed" when the server closed the stream."""
        end = time.monotonic() + timeout
        while b"\n\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                return None
            if not self.sock.pending():
                r, _, _ = select.select([self.sock], [], [], left)
                if not r:
                    return None
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionError, ssl.SSLError):
                chunk = b""
            if not chunk:
                return "closed"
            self.buf += chunk
        block, _, self.buf = self.buf.partition(b"\n\n")
        name, data = None, None
        for ln in block.decode().split("\n"):
            if ln.startswith("event: "):
                name = ln[7:]
            elif ln.startswith("data: "):
                data = json.loads(ln[6:])
        return name, data

    def close(self):
        self.sock.close()


def state_event(es, timeout=SOON):
    ev = es.event(timeout)
    assert ev not in (None, "closed"), ev
    assert ev[0] == "state", ev
    assert ev[1]["@type"] == "StateChange"
    return ev[1]["changed"][ACCT]


# ---- the push channel itself ----

def test_eventsource_head_and_errors(tern_factory):
    t = server(tern_factory)
    account(t)
    r, _ = request(t, "GET", "/jmap/eventsource?types=*&closeafter=no&ping=0")
    assert r.status == 401
    for q in ("", "types=", "types=Email,", "types=*&closeafter=maybe", "types=*&ping=-1",
              "types=*&ping=abc", "types=*&ping=99999999999"):
        r, data = request(t, "GET", "/jmap/eventsource?" + q, headers=basic())
        assert r.status == 400, (q, data)
    r, _ = request(t, "POST", "/jmap/eventsource?types=*", b"", basic())
    assert r.status == 405
    es = EventSource(t)
    assert es.status == 200
    assert es.headers["content-type"].startswith("text/event-stream")
    assert "content-length" not in es.headers
    assert es.headers["connection"] == "close"
    assert es.headers["cache-control"] == "no-store"
    assert es.event(0.3) is None  # nothing changed: nothing sent
    es.close()
    # the server still answers (the stream was freed with its connection)
    assert email_state(t)
    # a stream open at shutdown is closed after the grace (2 s), like any session
    es = EventSource(t, "types=*&closeafter=no&ping=5")
    assert es.status == 200
    t0 = time.monotonic()
    assert t.stop() == 0
    assert time.monotonic() - t0 < 10
    assert es.event(2) == "closed"


def test_push_on_smtp_delivery(tern_factory):
    t = server(tern_factory)
    account(t)
    before = email_state(t)
    es = EventSource(t)
    s = smtplib.SMTP(HOST, t.port("smtp"), timeout=10)
    s.sendmail("bob@example.org", [USER], message("over smtp"))
    s.quit()
    changed = state_event(es)
    now = email_state(t)
    assert changed["Email"] == now != before
    assert changed["Thread"] == call(t, "Thread/get", {"ids": []})[1]["state"]
    assert changed["Mailbox"] == call(t, "Mailbox/get", {"ids": []})[1]["state"]
    res = call(t, "Email/changes", {"sinceState": before})
    assert res[0] == "Email/changes", res
    assert res[1]["oldState"] == before and res[1]["newState"] == now
    assert len(res[1]["created"]) == 1 and res[1]["updated"] == res[1]["destroyed"] == []
    es.close()


def test_push_on_imap_store_and_move(tern_factory):
    t = server(tern_factory)
    account(t)
    m = imap_login(t)
    m.create("Archive")
    m.append("INBOX", None, None, message("one"))
    m.select("INBOX")
    es = EventSource(t, "types=Email&closeafter=no&ping=0")
    before = email_state(t)
    m.store("1", "+FLAGS", "(\\Flagged)")
    changed = state_event(es)
    assert set(changed) == {"Email"}  # only the type asked for
    assert changed["Email"] == email_state(t) != before
    before = changed["Email"]
    typ, _ = m._simple_command("MOVE", "1", "Archive")
    assert typ == "OK"
    changed = state_event(es)
    assert changed["Email"] == email_state(t) != before
    res = call(t, "Email/changes", {"sinceState": before})
    assert res[0] == "Email/changes", res
    assert len(res[1]["updated"]) == 1 and res[1]["created"] == res[1]["destroyed"] == []
    m.logout()
    es.close()


def test_push_coalesces_and_closeafter(tern_factory):
    t = server(tern_factory)
    account(t)
    m = imap_login(t)
    for i in range(5):
        m.append("INBOX", None, None, message("m%d" % i))
    m.select("INBOX")
    es = EventSource(t, "types=Email,Mailbox&closeafter=no&ping=0")
    for i in range(1, 6):  # a burst: one event, maybe two, not five
        m.store(str(i), "+FLAGS", "(\\Seen)")
    events = []
    while True:
        ev = es.event(0.6)
        if ev is None:
            break
        events.append(ev)
    assert 1 <= len(events) <= 2, events
    assert events[-1][1]["changed"][ACCT]["Email"] == email_state(t)
    es.close()
    once = EventSource(t, "types=*&closeafter=state&ping=0")
    m.store("1", "-FLAGS", "(\\Seen)")
    state_event(once)
    assert once.event(2) == "closed"
    m.logout()


def test_push_ping_and_idle(tern_factory):
    t = server(tern_factory, http="keepalive_timeout = 2")
    account(t)
    pinging = EventSource(t, "types=*&closeafter=no&ping=1")  # clamped to 5 s
    quiet = EventSource(t, "types=*&closeafter=no&ping=0")
    assert quiet.event(4) == "closed"  # idle, no pings: the idle timeout holds
    ev = pinging.event(4)
    assert ev == ("ping", {"interval": 5}), ev
    ev = pinging.event(6)
    assert ev == ("ping", {"interval": 5}), ev
    pinging.close()


def test_push_limit_and_cookie(tern_factory):
    t = server(tern_factory, jmap="max_push_connections = 2")
    account(t)
    a, b = EventSource(t), EventSource(t)
    assert (a.status, b.status) == (200, 200)
    c = EventSource(t)
    assert c.status == 429
    a.close()
    deadline = time.monotonic() + 3
    while True:  # the slot is given back once the server sees the close
        d = EventSource(t)
        if d.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert d.status == 200
    d.close()
    b.close()
    # the webmail's cookie: GET needs no CSRF token
    r, data = request(t, "POST", "/jmap/login", {"username": USER, "password": PASSWORD})
    assert r.status == 200
    cookie = r.getheader("Set-Cookie").split(";")[0]
    time.sleep(0.3)
    es = EventSource(t, headers={"Cookie": cookie})
    assert es.status == 200
    es.close()
    es = EventSource(t, headers={"Cookie": "tern_session=forged"})
    assert es.status == 401


# ---- IMAP sees JMAP ----

class Idle:
    """An IMAP IDLE session on a raw socket: untagged responses as they
    come."""

    def __init__(self, t, mailbox="INBOX"):
        raw = socket.create_connection((HOST, t.port("imaps")), timeout=10)
        self.sock = ssl_ctx().wrap_socket(raw, server_hostname="localhost")
        self.buf = b""
        self.line()
        self.cmd("a LOGIN %s \"%s\"" % (USER, PASSWORD))
        self.cmd("b SELECT %s" % mailbox)
        self.sock.sendall(b"c IDLE\r\n")
        while not self.line().startswith("+"):
            pass

    def line(self, timeout=10):
        end = time.monotonic() + timeout
        while b"\r\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                return None
            if not self.sock.pending():
                r, _, _ = select.select([self.sock], [], [], left)
                if not r:
                    return None
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        ln, _, self.buf = self.buf.partition(b"\r\n")
        return ln.decode()

    def cmd(self, text):
        tag = text.split()[0]
        self.sock.sendall((text + "\r\n").encode())
        while True:
            ln = self.line()
            if ln.startswith(tag + " "):
                assert " OK " in ln, ln
                return

    def expect(self, pattern, timeout=SOON):
        end = time.monotonic() + timeout
        seen = []
        while True:
            ln = self.line(max(0.0, end - time.monotonic()))
            if ln is None:
                raise AssertionError("no %r within %ss; saw %r" % (pattern, timeout, seen))
            seen.append(ln)
            if re.search(pattern, ln):
                return ln

    def close(self):
        self.sock.sendall(b"DONE\r\n")
        self.sock.close()


def fetch_ids(m, which="1:*"):
    typ, data = m.fetch(which, "(UID EMAILID THREADID FLAGS)")
    assert typ == "OK"
    out = {}
    for d in data:
        d = d if isinstance(d, bytes) else d[0]
        uid = int(re.search(rb"UID (\d+)", d).group(1))
        out[uid] = (re.search(rb"EMAILID \(([^)]+)\)", d).group(1).decode(),
                    re.search(rb"THREADID \(([^)]+)\)", d).group(1).decode(),
                    re.search(rb"FLAGS \(([^)]*)\)", d).group(1).decode().split())
    return out


def mailbox_ids(t):
    got = call(t, "Mailbox/get", {"ids": None})[1]["list"]
    return {x["name"]: x["id"] for x in got}


def test_imap_idle_sees_jmap_set(tern_factory):
    t = server(tern_factory)
    account(t)
    m = imap_login(t)
    m.create("Archive")
    for i in range(3):
        m.append("INBOX", None, None, message("idle %d" % i))
    m.select("INBOX")
    ids = [v[0] for _, v in sorted(fetch_ids(m).items())]
    boxes = mailbox_ids(t)
    idle = Idle(t)
    res = call(t, "Email/set", {"update": {ids[0]: {"keywords/$seen": True,
                                                    "keywords/$flagged": True}}})
    assert ids[0] in res[1]["updated"], res
    ln = idle.expect(r"^\* 1 FETCH .*FLAGS")
    assert "\\Seen" in ln and "\\Flagged" in ln
    res = call(t, "Email/set", {"update": {ids[1]: {"mailboxIds/" + boxes["INBOX"]: None,
                                                    "mailboxIds/" + boxes["Archive"]: True}}})
    assert ids[1] in res[1]["updated"], res
    idle.expect(r"^\* 2 EXPUNGE")
    res = call(t, "Email/set", {"destroy": [ids[2]]})
    assert res[1]["destroyed"] == [ids[2]], res
    idle.expect(r"^\* 2 EXPUNGE")
    idle.close()
    m.select("Archive")
    assert [v[0] for v in fetch_ids(m).values()] == [ids[1]]
    m.logout()


# ---- the same mail, seen both ways ----

def test_query_get_match_imap(tern_factory):
    t = server(tern_factory)
    account(t)
    m = imap_login(t)
    m.create("Keep")
    m.append("INBOX", "(\\Seen)", None, message("first", msgid="t1"))
    m.append("INBOX", "(\\Flagged $Label)", None,
             message("Re: first", msgid="t2", extra="In-Reply-To: <t1@example.org>\r\n"))
    m.append("INBOX", None, None, message("other", body="plain words here", msgid="t3"))
    m.select("INBOX")
    imap = fetch_ids(m)
    typ, _ = m.copy("3", "Keep")
    assert typ == "OK"
    boxes = mailbox_ids(t)
    # RFC 8621 §4.4.1-style: the mailbox's newest first, with the thread collapsed
    out = api(t, [["Email/query", {"accountId": ACCT, "filter": {"inMailbox": boxes["INBOX"]},
                                   "sort": [{"property": "receivedAt", "isAscending": False}],
                                   "collapseThreads": False, "position": 0, "limit": 50,
                                   "calculateTotal": True}, "q"],
                  ["Email/get", {"accountId": ACCT, "#ids": {"resultOf": "q",
                                                             "name": "Email/query",
                                                             "path": "/ids"},
                                 "properties": ["threadId", "mailboxIds", "keywords",
                                                "subject", "preview"]}, "g"]])
    q, g = out[0][1], out[1][1]
    assert q["total"] == 3
    assert set(q["ids"]) == {v[0] for v in imap.values()}
    by_id = {e["id"]: e for e in g["list"]}
    flagmap = {"\\Seen": "$seen", "\\Flagged": "$flagged", "\\Answered": "$answered",
               "\\Draft": "$draft"}
    for uid, (eid, tid, flags) in imap.items():
        e = by_id[eid]
        assert e["threadId"] == tid
        # keywords are case-insensitive, and JMAP gives them lowercase
        assert set(e["keywords"]) == {flagmap.get(f, f.lower()) for f in flags
                                      if f != "\\Recent"}
    assert by_id[imap[1][0]]["threadId"] == by_id[imap[2][0]]["threadId"]
    copied = by_id[imap[3][0]]
    assert copied["mailboxIds"] == {boxes["INBOX"]: True, boxes["Keep"]: True}
    # RFC 8621 §4.5's get: text body values and chosen body properties
    res = call(t, "Email/get", {"ids": [imap[3][0]], "properties": ["textBody", "bodyValues"],
                                "fetchTextBodyValues": True,
                                "bodyProperties": ["partId", "type", "size"]})
    e = res[1]["list"][0]
    part = e["textBody"][0]
    assert set(part) == {"partId", "type", "size"} and part["type"] == "text/plain"
    assert "plain words here" in e["bodyValues"][part["partId"]]["value"]
    m.logout()


# ---- method errors over HTTP ----

def test_method_errors(tern_factory):
    t = server(tern_factory, jmap="max_objects_in_get = 5")
    account(t)
    m = imap_login(t)
    m.create("Full")
    m.append("INBOX", None, None, message("big", body="x" * 20000))
    m.select("INBOX")
    eid = list(fetch_ids(m).values())[0][0]
    boxes = mailbox_ids(t)

    def err(name, args):
        res = call(t, name, args)
        assert res[0] == "error", res
        return res[1]["type"]

    assert api(t, [["Email/frobnicate", {}, "0"]])[0][1]["type"] == "unknownMethod"
    assert err("Email/get", {"ids": "nope"}) == "invalidArguments"
    assert err("Email/set", {"ifInState": "not-the-state",
                             "update": {eid: {"keywords/$seen": True}}}) == "stateMismatch"
    assert err("Email/get", {"ids": ["M%d" % i for i in range(6)]}) == "requestTooLarge"
    assert err("Email/query", {"anchor": "Mnope"}) == "anchorNotFound"
    assert err("Email/query", {"filter": {"noSuchCondition": 1}}) == "unsupportedFilter"
    # Email/copy: a login sees its own account only, which may not be the source
    own = account(t)
    assert err("Email/copy", {"fromAccountId": "A999999",
                              "create": {"c": {"id": eid}}}) == "fromAccountNotFound"
    assert err("Email/copy", {"fromAccountId": own, "create": {}}) == "invalidArguments"
    assert err("Email/copy", {"fromAccountId": "A999999"}) == "invalidArguments"
    r = t.cli("user", "quota", USER, "1K")
    assert r.returncode == 0, r.stderr
    res = call(t, "Email/set", {"update": {eid: {"mailboxIds/" + boxes["Full"]: True}}})
    assert res[0] == "Email/set" and res[1]["notUpdated"][eid]["type"] == "overQuota", res
    m.logout()


def test_search_snippet_marks_term(tern_factory):
    t = server(tern_factory)
    account(t)
    m = imap_login(t)
    m.append("INBOX", None, None, message("quarterly numbers",
                                           body="the quarterly report is attached"))
    m.select("INBOX")
    eid = list(fetch_ids(m).values())[0][0]
    res = call(t, "SearchSnippet/get", {"emailIds": [eid], "filter": {"text": "quarterly"}})
    snip = res[1]["list"][0]
    assert snip["emailId"] == eid
    assert "<mark>quarterly</mark>" in snip["subject"]
    assert "<mark>quarterly</mark>" in snip["preview"]
    m.logout()
