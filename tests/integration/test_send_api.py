"""POST /api/v1/send (transactional sending over HTTP) against the real tern.

Tokens come from `tern token create --scope send --account/--domain`; the
API is driven with http.client (and once with curl). What is sent is read
back where it lands: a local recipient's INBOX over IMAP, a remote one
through the relay on a second tern (dnsmasq MX, as test_relay.py does),
where the DKIM-Signature is checked to be there. The refusals are the ones
SMTP submission gives (sender not owned, no recipients, too many, too
large), each as JSON with its SMTP reply; bad tokens are 401/403; an
Idempotency-Key retry sends once (deliveries counted) and a mismatch is
refused; the upgrade keeps working with schema 20's tables.
"""
import base64
import email
import email.policy
import hashlib
import http.client
import imaplib
import json
import os
import re
import subprocess
import tempfile
import time

import pytest

from conftest import HOST, LISTENERS, ssl_ctx
from relayutil import Dns, dns_cleanup, inbox, queue_config, queue_rows, wait_for  # noqa: F401

WEB = LISTENERS + [("http", "http", "none"), ("https", "http", "implicit")]
ALICE, BOB = "alice@example.test", "bob@example.test"
PW = "send-api-password-1"


def make_token(t, *args):
    r = t.cli("token", "create", *args)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@pytest.fixture
def t(tern_factory):
    t = tern_factory(listeners=WEB, extra_config="[smtp]\nmax_recipients = 5\n"
                     "max_message_size = 200000\n")
    t.add_user(ALICE, PW)
    t.add_user(BOB, PW)
    assert t.cli("alias", "add", "sales@example.test", ALICE).returncode == 0
    t.token = make_token(t, "--scope", "send", "--account", ALICE)
    return t


def send(t, body=None, token=None, raw=None, headers=None, name="https", ctype="application/json"):
    """One POST; returns (status, response, parsed JSON or None)."""
    h = {}
    tok = t.token if token is None else token
    if tok:
        h["Authorization"] = "Bearer " + tok
    data = raw if raw is not None else json.dumps(body).encode()
    if ctype:
        h["Content-Type"] = ctype
    h.update(headers or {})
    if name == "https":
        c = http.client.HTTPSConnection(t.host, t.port(name), context=ssl_ctx(), timeout=30)
    else:
        c = http.client.HTTPConnection(t.host, t.port(name), timeout=30)
    c.request("POST", "/api/v1/send", body=data, headers=h)
    r = c.getresponse()
    text = r.read()
    c.close()
    doc = json.loads(text) if text and r.getheader("Content-Type", "").startswith(
        "application/json") else None
    return r.status, r, doc


def imap_messages(t, user):
    m = imaplib.IMAP4_SSL(t.host, t.port("imaps"), ssl_context=ssl_ctx())
    m.login(user, PW)
    typ, _ = m.select("INBOX")
    assert typ == "OK"
    typ, data = m.uid("FETCH", "1:*", "(BODY.PEEK[])")
    m.logout()
    return [item[1] for item in data if isinstance(item, tuple)]


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def error_of(doc):
    assert doc and "error" in doc, doc
    return doc["error"]


BLOB = bytes(range(256)) * 40 + b"\x00\r\n\r\n.\r\nend"  # every byte value, dots, CRLFs


def test_text_html_and_attachments_reach_a_local_inbox_byte_exact(t):
    st, r, doc = send(t, {
        "from": {"name": "Alice Ä", "email": ALICE},
        "to": [{"name": "Bob", "email": BOB}],
        "subject": "Report é",
        "text": "plain part\nsecond line\n",
        "html": "<p>html part</p>",
        "attachments": [
            {"filename": "data.bin", "content_type": "application/octet-stream",
             "content": base64.b64encode(BLOB).decode()},
            {"filename": "notes.txt", "content_type": "text/plain",
             "content": base64.b64encode(b"a note\r\n").decode()},
        ],
        "headers": {"X-Campaign": "winter", "Reply-To": "sales@example.test"},
    })
    assert st == 200, doc
    assert doc["message_id"].startswith("<") and doc["message_id"].endswith("@mail.example.test>")
    assert doc["submission_id"]
    assert doc["recipients"] == [{"address": BOB, "outcome": "delivered"}]
    assert doc["queue_ids"] == []  # nothing to relay
    assert r.getheader("Cache-Control") == "no-store"
    msgs = imap_messages(t, BOB)
    assert len(msgs) == 1
    m = parse(msgs[0])
    assert m["Message-ID"] == doc["message_id"]
    assert m["Subject"] == "Report é"
    assert m["From"].addresses[0].display_name == "Alice Ä"
    assert m["X-Campaign"] == "winter" and m["Reply-To"] == "sales@example.test"
    assert "Bcc" not in m
    body = m.get_body(preferencelist=("plain",))
    # the builder's lines end CRLF; the last line break is the boundary's
    assert body.get_content().replace("\r\n", "\n").rstrip("\n") == "plain part\nsecond line"
    assert "html part" in m.get_body(preferencelist=("html",)).get_content()
    atts = {a.get_filename(): a.get_payload(decode=True) for a in m.iter_attachments()}
    assert atts["data.bin"] == BLOB
    assert atts["notes.txt"] == b"a note\r\n"
    # the same path as SMTP submission: Received: names the API, and the log says who sent
    assert "with HTTPS" in str(m["Received"]), m["Received"]
    assert "event=send token=" in t.logs()
    assert t.token not in t.logs() and t.token[5:] not in t.logs()  # the id is logged, never the secret


def test_text_only_html_only_and_bcc_stays_in_the_envelope(t):
    st, _, doc = send(t, {"from": ALICE, "to": [BOB], "subject": "text", "text": "only text"})
    assert st == 200, doc
    st, _, doc = send(t, {"from": ALICE, "cc": [BOB], "subject": "html", "html": "<b>x</b>"})
    assert st == 200, doc
    st, _, doc = send(t, {"from": ALICE, "to": ["someone@example.test"], "bcc": [BOB],
                          "subject": "blind", "text": "b"})
    assert st == 422, doc  # someone@ does not exist: all or nothing, like JMAP
    assert error_of(doc)["code"] == "invalid_recipient"
    assert error_of(doc)["smtp"].startswith("550 5.1.1")
    assert error_of(doc)["recipients"] == [{"address": "someone@example.test",
                                            "reason": "no_such_user"}]
    st, _, doc = send(t, {"from": ALICE, "to": [ALICE], "bcc": [BOB], "subject": "blind",
                          "text": "b"})
    assert st == 200, doc
    msgs = imap_messages(t, BOB)
    assert len(msgs) == 3
    text, html, blind = (parse(x) for x in msgs)
    assert text.get_content_type() == "text/plain" and text.get_content().strip() == "only text"
    assert html.get_content_type() == "text/html"
    assert blind["Subject"] == "blind" and blind["To"] == ALICE and "Bcc" not in blind
    assert len(imap_messages(t, ALICE)) == 1  # the To: recipient got it too


def test_raw_message_string_and_base64_with_an_envelope(t):
    raw = ("From: alice@example.test\nTo: bob@example.test\nSubject: raw one\n"
           "Message-ID: <raw-1@example.test>\n\nraw body\n")
    st, _, doc = send(t, {"raw": raw, "envelope": {"from": ALICE, "to": [BOB]}})
    assert st == 200, doc
    assert doc["message_id"] == "<raw-1@example.test>"
    raw2 = b"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: raw two\r\n\r\n\xff\r\n"
    st, _, doc = send(t, {"raw_base64": base64.b64encode(raw2).decode(),
                          "envelope": {"from": ALICE, "to": [BOB]}})
    assert st == 200, doc
    msgs = imap_messages(t, BOB)
    assert b"Subject: raw one\r\n" in msgs[0] and msgs[0].endswith(b"\r\n\r\nraw body\r\n")
    assert msgs[1].endswith(b"\r\n\r\n\xff\r\n")
    assert ("Message-ID: " + doc["message_id"]).encode() in msgs[1]  # ours, added
    # raw needs its envelope, and carries its own header
    st, _, doc = send(t, {"raw": raw})
    assert st == 400 and error_of(doc)["code"] == "invalid_request"
    st, _, doc = send(t, {"raw": raw, "subject": "x", "envelope": {"from": ALICE, "to": [BOB]}})
    assert st == 400


def test_ownership_refusals_are_smtp_submissions(t):
    # an alias of the account may be used, as at SMTP submission
    st, _, doc = send(t, {"from": "sales@example.test", "to": [BOB], "text": "from alias"})
    assert st == 200, doc
    # another account's address, in the header or the envelope: 553 5.7.1
    for body in ({"from": BOB, "to": [ALICE], "text": "x"},
                 {"from": ALICE, "to": [BOB], "text": "x",
                  "envelope": {"from": BOB, "to": [BOB]}},
                 {"raw": "From: bob@example.test\r\nTo: bob@example.test\r\n\r\nx\r\n",
                  "envelope": {"from": ALICE, "to": [BOB]}},
                 {"from": "alice@elsewhere.test", "to": [BOB], "text": "x"}):
        st, _, doc = send(t, body)
        assert st == 403, (body, doc)
        e = error_of(doc)
        assert e["code"] == "sender_not_owned"
        assert e["smtp"].startswith("553 5.7.1"), e
    assert len(imap_messages(t, BOB)) == 1
    assert imap_messages(t, ALICE) == []


def test_recipient_count_size_and_shape_limits(t):
    st, _, doc = send(t, {"from": ALICE, "to": [], "text": "x"})
    assert st == 422 and error_of(doc)["code"] == "no_recipients"
    assert error_of(doc)["smtp"].startswith("554 5.5.0")
    st, _, doc = send(t, {"from": ALICE, "to": [BOB] * 3, "cc": [BOB] * 3, "text": "x"})
    assert st == 422 and error_of(doc)["code"] == "too_many_recipients"
    assert error_of(doc)["smtp"].startswith("452 4.5.3")
    big = base64.b64encode(b"z" * 210000).decode()
    st, _, doc = send(t, {"from": ALICE, "to": [BOB], "attachments": [{"content": big}]})
    assert st == 413 and error_of(doc)["code"] == "message_too_large"
    assert error_of(doc)["smtp"].startswith("552 5.3.4")
    st, _, doc = send(t, {"raw": "Subject: x\r\n\r\n" + "y" * 210000,
                          "envelope": {"from": ALICE, "to": [BOB]}})
    assert st == 413
    # a body past the message limit in base64 plus 1 MiB: refused by HTTP itself
    st, _, doc = send(t, raw=b"{" + b" " * (2 * 1024 * 1024) + b"}")
    assert st == 413 and error_of(doc)["code"] == "message_too_large"
    nested = {"from": ALICE, "to": [BOB], "headers": {"X-A": [[[[[[["deep"]]]]]]]}}
    st, _, doc = send(t, nested)
    assert st == 400 and "nested" in error_of(doc)["message"]
    for bad in (b"not json", b"[1,2]", b'{"from": 1, "to": ["b@example.test"]}',
                b'{"from": "alice@example.test", "to": ["b@example.test"], "x": 1}',
                b'{"from": "alice@example.test", "to": ["b@example.test"], "from": "x"}',
                b'{"from": "alice@example.test", "to": ["a b@example.test"]}',
                b'{"from": "alice@example.test", "to": ["bob@example.test"],'
                b' "attachments": [{"content": "!!!"}]}'):
        st, _, doc = send(t, raw=bad)
        assert st == 400, (bad, doc)
        assert error_of(doc)["smtp"].startswith("501"), doc
    st, _, doc = send(t, {"from": ALICE, "to": [BOB], "text": "x",
                          "headers": {"Content-Type": "text/evil"}})
    assert st == 422 and error_of(doc)["code"] == "header_not_allowed"
    st, _, doc = send(t, {"from": ALICE, "to": [BOB], "text": "x",
                          "headers": {"X-Evil": "a\r\nBcc: x@y.test"}})
    assert st == 400
    st, _, doc = send(t, {"from": ALICE, "to": [BOB], "text": "x"}, ctype="text/plain")
    assert st == 415
    assert imap_messages(t, BOB) == []
    assert t.proc.poll() is None


def test_tokens_wrong_absent_admin_scoped_or_plain_http(t):
    body = {"from": ALICE, "to": [BOB], "text": "x"}
    st, r, doc = send(t, body, token="")
    assert st == 401 and r.getheader("WWW-Authenticate").startswith("Bearer")
    assert error_of(doc)["code"] == "unauthorized"
    st, r, doc = send(t, body, token="tern_" + "A" * 43)
    assert st == 401 and error_of(doc)["code"] == "invalid_token"
    st, _, doc = send(t, body, token="Basic dGVzdA==")
    assert st == 401
    admin = make_token(t, "--scope", "admin")
    st, _, doc = send(t, body, token=admin)
    assert st == 403 and error_of(doc)["code"] == "wrong_scope"
    # and a send token is no admin token
    c = http.client.HTTPSConnection(t.host, t.port("https"), context=ssl_ctx(), timeout=15)
    c.request("GET", "/api/admin/domains", headers={"Authorization": "Bearer " + t.token})
    assert c.getresponse().status == 403
    c.close()
    st, _, doc = send(t, body, name="http")
    assert st in (301, 403)  # redirected to HTTPS, never served in plaintext
    # a revoked token stops at once
    tid = [l.split()[0] for l in t.cli("token", "list").stdout.splitlines()
           if " send " in l][0]
    assert t.cli("token", "revoke", tid).returncode == 0
    st, _, doc = send(t, body)
    assert st == 401
    assert imap_messages(t, BOB) == []


def test_token_cli_owner_rules_and_deleting_the_account_revokes(t):
    r = t.cli("token", "create", "--scope", "send")
    assert r.returncode == 2 and "--account" in r.stderr
    r = t.cli("token", "create", "--scope", "admin", "--account", ALICE)
    assert r.returncode == 2
    r = t.cli("token", "create", "--scope", "send", "--account", "nobody@example.test")
    assert r.returncode == 1 and "no account nobody@example.test" in r.stderr
    r = t.cli("token", "create", "--scope", "send", "--domain", "nowhere.test")
    assert r.returncode == 1 and "no domain nowhere.test" in r.stderr
    carol = "carol@example.test"
    t.add_user(carol, PW)
    tok = make_token(t, "--scope", "send", "--account", carol)
    assert "account:" in t.cli("token", "list").stdout
    assert t.cli("user", "del", carol).returncode == 0
    st, _, doc = send(t, {"from": carol, "to": [BOB], "text": "x"}, token=tok)
    assert st == 403 and error_of(doc)["code"] == "token_without_owner"


def test_domain_token_sends_as_any_account_of_its_domain(t):
    t.add_domain("other.test")
    t.add_user("zed@other.test", PW)
    tok = make_token(t, "--scope", "send", "--domain", "example.test")
    st, _, doc = send(t, {"from": BOB, "to": [ALICE], "text": "from bob"}, token=tok)
    assert st == 200, doc
    st, _, doc = send(t, {"from": "sales@example.test", "to": [ALICE], "text": "alias"},
                      token=tok)
    assert st == 200, doc
    st, _, doc = send(t, {"from": "zed@other.test", "to": [ALICE], "text": "x"}, token=tok)
    assert st == 403 and error_of(doc)["smtp"].startswith("553 5.7.1")
    st, _, doc = send(t, {"from": "ghost@example.test", "to": [ALICE], "text": "x"}, token=tok)
    assert st == 403 and error_of(doc)["code"] == "sender_not_owned"
    # header From: of another account than the envelope's: refused like SMTP
    st, _, doc = send(t, {"from": BOB, "to": [ALICE], "text": "x",
                          "envelope": {"from": ALICE, "to": [ALICE]}}, token=tok)
    assert st == 403 and error_of(doc)["code"] == "sender_not_owned"
    assert len(imap_messages(t, ALICE)) == 2


def test_idempotency_key_sends_once_and_refuses_a_mismatch(t):
    body = {"from": ALICE, "to": [BOB], "subject": "once", "text": "only once"}
    key = {"Idempotency-Key": "order-4711"}
    st1, r1, doc1 = send(t, body, headers=key)
    assert st1 == 200, doc1
    assert r1.getheader("Idempotent-Replayed") is None
    st2, r2, doc2 = send(t, body, headers=key)
    assert st2 == 200 and doc2 == doc1
    assert r2.getheader("Idempotent-Replayed") == "true"
    assert len(imap_messages(t, BOB)) == 1  # sent once
    st, _, doc = send(t, dict(body, text="another"), headers=key)
    assert st == 422 and error_of(doc)["code"] == "idempotency_mismatch"
    # another key, or no key, sends again
    st, _, _ = send(t, body, headers={"Idempotency-Key": "order-4712"})
    assert st == 200
    st, _, _ = send(t, body)
    assert st == 200
    assert len(imap_messages(t, BOB)) == 3
    # keys are per token: another token with the same key sends
    other = make_token(t, "--scope", "send", "--account", ALICE)
    st, r, _ = send(t, body, token=other, headers=key)
    assert st == 200 and r.getheader("Idempotent-Replayed") is None
    assert len(imap_messages(t, BOB)) == 4
    st, _, doc = send(t, body, headers={"Idempotency-Key": "bad key"})
    assert st == 400 and error_of(doc)["code"] == "invalid_idempotency_key"
    # the row: the body's SHA-256, kept across a restart, gone after a day
    db = t.db()
    row = db.execute("SELECT body_sha256, status FROM send_idempotency WHERE key = ?",
                     ("order-4711",)).fetchone()
    assert bytes(row[0]) == hashlib.sha256(json.dumps(body).encode()).digest() and row[1] == 200
    db.close()
    t.stop()
    t.start()
    st, r, doc = send(t, body, headers=key)
    assert st == 200 and doc == doc1 and r.getheader("Idempotent-Replayed") == "true"
    t.stop()
    db = t.db()
    db.execute("UPDATE send_idempotency SET created = created - 86401 WHERE key = ?",
               ("order-4711",))
    db.commit()
    db.close()
    t.start()
    st, r, doc = send(t, body, headers=key)
    assert st == 200 and doc["message_id"] != doc1["message_id"]
    assert r.getheader("Idempotent-Replayed") is None
    assert len(imap_messages(t, BOB)) == 5


def test_idempotency_key_twin_in_flight_is_409_and_sends_once(t):
    """A twin of a keyed send still in flight gets 409 idempotency_in_flight
    (send_api.c's flights: from the parse until the store job answered).
    The overlap is made, not hoped for: the test holds SQLite's write lock
    (BEGIN IMMEDIATE on its own connection), so the first send's store job
    waits in the writer's busy handler (10 s at most) with its key in
    flight. The twin is sent once tern has logged the first send (logged
    after its flight is registered), so this cannot pass by luck and fails
    if the twin is sent instead of refused."""
    import sqlite3
    import threading
    body = {"from": ALICE, "to": [BOB], "subject": "twins", "text": "one of two"}
    key = {"Idempotency-Key": "order-inflight-1"}
    answers = {}

    def post(name, b, headers):
        answers[name] = send(t, b, headers=headers)

    lock = sqlite3.connect(os.path.join(t.data_dir, "tern.db"), timeout=10,
                           isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    first = threading.Thread(target=post, args=("first", body, key))
    other = threading.Thread(target=post, args=("other", body, {"Idempotency-Key": "order-2"}))
    try:
        sends = t.logs().count("event=send ")
        first.start()
        wait_for(lambda: t.logs().count("event=send ") > sends, timeout=10,
                 what="the first send under way")
        st, r, doc = send(t, body, headers=key)  # its twin
        assert st == 409, doc
        assert error_of(doc)["code"] == "idempotency_in_flight"
        assert error_of(doc)["smtp"].startswith("451 4.3.0")
        assert r.getheader("Idempotent-Replayed") is None
        # the same key with another body is refused the same way: in flight
        st, _, doc = send(t, dict(body, text="changed"), headers=key)
        assert st == 409 and error_of(doc)["code"] == "idempotency_in_flight"
        # another key is no twin: it waits for the store like the first
        other.start()
        wait_for(lambda: t.logs().count("event=send ") > sends + 1, timeout=10,
                 what="the other key's send under way")
        assert first.is_alive() and other.is_alive()  # both still in flight
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    first.join(30)
    other.join(30)
    st1, _, doc1 = answers["first"]
    assert st1 == 200, doc1
    assert answers["other"][0] == 200
    # once the first has answered, its twin gets the kept answer, no send
    st, r, doc = send(t, body, headers=key)
    assert st == 200 and doc == doc1 and r.getheader("Idempotent-Replayed") == "true"
    msgs = imap_messages(t, BOB)
    assert len(msgs) == 2  # the first and the other key's, never the twin
    assert sum(b"one of two" in m for m in msgs) == 2


def test_curl(t):
    url = "https://%s:%d/api/v1/send" % (t.host, t.port("https"))
    r = subprocess.run(["curl", "-sk", "--http1.1", "-H", "Authorization: Bearer " + t.token,
                        "-H", "Content-Type: application/json", "--data-binary",
                        json.dumps({"from": ALICE, "to": [BOB], "text": "via curl"}),
                        "-w", "\n%{http_code}", url], capture_output=True, timeout=30)
    out, code = r.stdout.rsplit(b"\n", 1)
    assert code == b"200", r.stdout
    assert json.loads(out)["message_id"]
    assert b"via curl" in imap_messages(t, BOB)[0]


@pytest.fixture
def dnsdir():
    d = tempfile.mkdtemp(prefix="tern-dns-")
    yield d
    subprocess.run(["rm", "-rf", d])


def test_remote_recipient_through_the_relay_byte_exact_and_dkim_signed(tern_factory, dnsdir):
    b = tern_factory(domain="b.test", host="127.0.0.3")
    dns = Dns(["--mx-host=b.test,mx.b.test,10", "--host-record=mx.b.test,127.0.0.3"], dnsdir)
    a = tern_factory(domain="a.test", host="127.0.0.2", listeners=WEB,
                     extra_config=queue_config(dns, b.port("smtp")))
    a.add_user("alice@a.test", PW)
    b.add_user("bob@b.test", PW)
    assert a.cli("dkim", "keygen", "a.test").returncode == 0
    tok = make_token(a, "--scope", "send", "--account", "alice@a.test")
    try:
        st, _, doc = send(a, {"from": "alice@a.test", "to": ["bob@b.test"],
                              "subject": "over the relay", "text": "hello B",
                              "attachments": [{"filename": "blob.bin",
                                               "content": base64.b64encode(BLOB).decode()}]},
                          token=tok)
        assert st == 200, doc
        qid = doc["queue_ids"][0]
        assert doc["queue_ids"] == [qid] and isinstance(qid, int)
        assert doc["recipients"] == [{"address": "bob@b.test", "outcome": "queued",
                                      "queue_id": qid}]
        got = wait_for(lambda: inbox(b, "bob@b.test"), timeout=20, what="delivery on B")
        # the id the answer gave is the row the relay delivered
        wait_for(lambda: re.search(r"queue event=delivered qid=%d rcpt=bob@b.test" % qid,
                                   a.logs()), what="the relay's log of that queue row")
        m = parse(got[0])
        assert m["Message-ID"] == doc["message_id"]
        assert "d=a.test" in str(m["DKIM-Signature"])
        att = next(m.iter_attachments())
        assert att.get_filename() == "blob.bin" and att.get_payload(decode=True) == BLOB
        wait_for(lambda: queue_rows(a) == [], what="A's queue to empty")
    except Exception:
        print("---- A ----\n" + a.logs()[-6000:])
        print("---- B ----\n" + b.logs()[-3000:])
        raise
    finally:
        dns.stop()
