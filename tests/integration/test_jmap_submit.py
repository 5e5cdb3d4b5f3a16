"""Sending mail over JMAP against the real binary over HTTPS (RFC 8621
§4.6 Email/set create, §7 EmailSubmission, §6 Identity/set): a draft
seen over IMAP, sending it with onSuccessUpdateEmail moving it to Sent,
the local recipient's copy read back over IMAP, a remote recipient
queued, the SetErrors of a refused submission, and POST /jmap/password."""
import base64
import email
import email.policy
import imaplib
import json
import re
import time

import pytest

from conftest import HOST, ssl_ctx
from test_jmap_core import CORE, MAIL, SUBMISSION, WEB, basic, request

ALICE, BOB = "alice@example.test", "bob@example.test"
PW, BOBPW = "correct horse battery", "bob's long password"
USING = [CORE, MAIL, SUBMISSION]
ACC = None


@pytest.fixture
def t(tern_factory):
    t = tern_factory(extra_config="[jmap]\n", listeners=WEB)
    t.add_user(ALICE, PW)
    t.add_user(BOB, BOBPW)
    return t


def call(t, calls, headers=None, created=None):
    req = {"using": USING, "methodCalls": calls}
    if created is not None:
        req["createdIds"] = created
    r, data = request(t, "POST", "/jmap/api", req, headers or basic(ALICE, PW))
    assert r.status == 200, data
    return json.loads(data)


def account(t):
    r, data = request(t, "GET", "/.well-known/jmap", headers=basic(ALICE, PW))
    return json.loads(data)["primaryAccounts"][MAIL]


def mailboxes(t, acc):
    res = call(t, [["Mailbox/get", {"accountId": acc}, "m"]])
    return {m["role"] or m["name"]: m["id"] for m in res["methodResponses"][0][1]["list"]}


def imap(user, pw, t):
    m = imaplib.IMAP4_SSL(HOST, t.port("imaps"), ssl_context=ssl_ctx())
    m.login(user, pw)
    return m


def fetch_all(m, box):
    typ, _ = m.select('"%s"' % box)
    assert typ == "OK", box
    typ, data = m.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
    out = []
    for item in data:
        if isinstance(item, tuple):
            out.append((item[0], item[1]))
    return out


def draft(acc, mb, **kw):
    e = {"mailboxIds": {mb["drafts"]: True},
         "keywords": {"$draft": True, "$seen": True},
         "from": [{"name": "Alice", "email": ALICE}],
         "to": [{"name": "Bob", "email": BOB}],
         "subject": "Hello Bob",
         "textBody": [{"partId": "1", "type": "text/plain"}],
         "bodyValues": {"1": {"value": "Hi Bob,\nsee you.\n"}}}
    e.update(kw)
    return e


def test_draft_then_send_moves_to_sent_and_bob_gets_it(t):
    acc = account(t)
    mb = mailboxes(t, acc)
    res = call(t, [["Email/set", {"accountId": acc, "create": {"d1": draft(acc, mb)}}, "0"]])
    created = res["methodResponses"][0][1]["created"]["d1"]
    eid = created["id"]
    assert created["size"] > 0 and created["blobId"].startswith("B")
    # seen over IMAP in Drafts with \Draft and \Seen
    m = imap(ALICE, PW, t)
    msgs = fetch_all(m, "Drafts")
    assert len(msgs) == 1
    assert b"\\Draft" in msgs[0][0] and b"\\Seen" in msgs[0][0]
    raw = msgs[0][1]
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == "Hello Bob"
    assert parsed["To"].addresses[0].addr_spec == BOB
    assert parsed["Message-ID"].endswith("@example.test>") and parsed["Date"]
    m.logout()
    # send it; onSuccessUpdateEmail moves it to Sent and drops $draft
    res = call(t, [["EmailSubmission/set", {
        "accountId": acc,
        "create": {"s1": {"identityId": "I" + acc[1:], "emailId": eid}},
        "onSuccessUpdateEmail": {"#s1": {
            "mailboxIds/" + mb["drafts"]: None, "mailboxIds/" + mb["sent"]: True,
            "keywords/$draft": None}}}, "1"]])
    names = [r[0] for r in res["methodResponses"]]
    assert names == ["EmailSubmission/set", "Email/set"], res
    sub = res["methodResponses"][0][1]
    assert sub["created"]["s1"]["undoStatus"] == "final", sub
    assert res["methodResponses"][1][1]["updated"] == {eid: None}
    m = imap(ALICE, PW, t)
    assert fetch_all(m, "Drafts") == []
    sent = fetch_all(m, "Sent")
    assert len(sent) == 1 and b"\\Draft" not in sent[0][0]
    m.logout()
    # Bob has it: the body byte-exact
    m = imap(BOB, BOBPW, t)
    inbox = fetch_all(m, "INBOX")
    assert len(inbox) == 1
    got = inbox[0][1]
    assert got.split(b"\r\n\r\n", 1)[1] == raw.split(b"\r\n\r\n", 1)[1]
    assert b"Subject: Hello Bob" in got
    # Received: names this server ([server] hostname), not the machine
    received = got.split(b"\r\n\r\n", 1)[0].split(b"Received:", 1)[1].split(b";", 1)[0]
    assert (b"by mail.%s" % t.domain.encode()) in received, received
    m.logout()
    # EmailSubmission/get shows it
    res = call(t, [["EmailSubmission/get", {"accountId": acc}, "g"]])
    lst = res["methodResponses"][0][1]["list"]
    assert [s["emailId"] for s in lst] == [eid]
    assert lst[0]["envelope"]["rcptTo"] == [{"email": BOB, "parameters": None}]


def test_create_and_send_in_one_request_bcc_stripped(t):
    acc = account(t)
    mb = mailboxes(t, acc)
    e = draft(acc, mb, bcc=[{"email": BOB}], to=[{"email": ALICE}],
              subject="Grüße aus Köln")
    res = call(t, [
        ["Email/set", {"accountId": acc, "create": {"k": e}}, "0"],
        ["EmailSubmission/set", {"accountId": acc, "create": {
            "s": {"identityId": "I" + acc[1:], "emailId": "#k"}}}, "1"]], created={})
    assert "s" in res["methodResponses"][1][1]["created"], res
    assert set(res["createdIds"]) == {"k", "s"}
    m = imap(BOB, BOBPW, t)
    inbox = fetch_all(m, "INBOX")
    assert len(inbox) == 1
    got = inbox[0][1]
    head = got.split(b"\r\n\r\n")[0]
    assert b"\nBcc:" not in head and b"=?UTF-8?B?" in head
    parsed = email.message_from_bytes(got, policy=email.policy.default)
    assert parsed["Subject"] == "Grüße aus Köln"
    m.logout()


def test_attachment_and_html(t):
    acc = account(t)
    mb = mailboxes(t, acc)
    # an attachment from a part of an existing message: a first draft
    # whose text is the attachment's bytes
    payload = "line one\nzweite Zeile äöü\n" * 50
    res = call(t, [["Email/set", {"accountId": acc, "create": {"a": draft(
        acc, mb, bodyValues={"1": {"value": payload}})}}, "0"]])
    blob = res["methodResponses"][0][1]["created"]["a"]["blobId"]
    res = call(t, [["Email/get", {"accountId": acc, "ids": [res["methodResponses"][0][1]["created"]["a"]["id"]],
                                  "properties": ["textBody"]}, "g"]])
    part_blob = res["methodResponses"][0][1]["list"][0]["textBody"][0]["blobId"]
    e = draft(acc, mb, htmlBody=[{"partId": "2", "type": "text/html"}],
              attachments=[{"blobId": part_blob, "type": "text/plain", "name": "Bericht ä.txt"},
                           {"blobId": blob, "type": "message/rfc822"}])
    e["bodyValues"]["2"] = {"value": "<p>Hi <b>Bob</b></p>"}
    res = call(t, [["Email/set", {"accountId": acc, "create": {"b": e}}, "0"]])
    assert "b" in res["methodResponses"][0][1]["created"], res
    m = imap(ALICE, PW, t)
    msgs = fetch_all(m, "Drafts")
    raw = msgs[-1][1]
    m.logout()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/mixed"
    parts = list(parsed.iter_parts())
    assert parts[0].get_content_type() == "multipart/alternative"
    att = parts[1]
    assert att.get_filename() == "Bericht ä.txt"
    assert att.get_payload(decode=True) == payload.replace("\n", "\r\n").encode()
    assert b"filename*=utf-8''Bericht%20%C3%A4.txt" in raw


def test_invalid_creates(t):
    acc = account(t)
    mb = mailboxes(t, acc)
    res = call(t, [["Email/set", {"accountId": acc, "create": {
        "a": draft(acc, mb, id="M1"),
        "b": draft(acc, mb, mailboxIds={}),
        "c": draft(acc, mb, **{"header:Content-Type": "text/html"}),
        "d": draft(acc, mb, sentAt="yesterday"),
        "e": draft(acc, mb, attachments=[{"blobId": "B999999"}]),
        "f": draft(acc, mb, bodyValues={}),
        "g": draft(acc, mb, to=[{"email": "no at sign"}]),
    }}, "0"]])
    nc = res["methodResponses"][0][1]["notCreated"]
    assert nc["a"] == {"type": "invalidProperties", "description": "the server sets it",
                       "properties": ["id"]}
    assert nc["b"]["properties"] == ["mailboxIds"]
    assert nc["c"]["properties"] == ["header:Content-Type"]
    assert nc["d"]["properties"] == ["sentAt"]
    assert nc["e"]["type"] == "blobNotFound" and nc["e"]["notFound"] == ["B999999"]
    assert nc["f"]["properties"] == ["bodyValues"]
    assert nc["g"]["properties"] == ["to"]
    m = imap(ALICE, PW, t)
    assert fetch_all(m, "Drafts") == []
    m.logout()


def test_submission_errors(t):
    acc = account(t)
    mb = mailboxes(t, acc)
    res = call(t, [["Email/set", {"accountId": acc, "create": {
        "forged": draft(acc, mb, **{"from": [{"email": "mallory@example.test"}]}),
        "nobody": draft(acc, mb, to=[{"email": "nobody@example.test"}, {"email": BOB}]),
        "none": draft(acc, mb, to=None),
    }}, "0"], ["EmailSubmission/set", {"accountId": acc, "create": {
        "s1": {"identityId": "I" + acc[1:], "emailId": "#forged"},
        "s2": {"identityId": "I" + acc[1:], "emailId": "#nobody"},
        "s3": {"identityId": "I" + acc[1:], "emailId": "#none"},
        "s4": {"identityId": "I999", "emailId": "#none"},
        "s5": {"identityId": "I" + acc[1:], "emailId": "M999999"},
    }}, "1"]])
    nc = res["methodResponses"][1][1]["notCreated"]
    assert nc["s1"]["type"] == "forbiddenFrom", nc
    assert nc["s2"]["type"] == "invalidRecipients"
    assert nc["s2"]["invalidRecipients"] == ["nobody@example.test"]
    assert nc["s3"]["type"] == "noRecipients"
    assert nc["s4"]["properties"] == ["identityId"]
    assert nc["s5"]["properties"] == ["emailId"]
    m = imap(BOB, BOBPW, t)
    assert fetch_all(m, "INBOX") == []
    m.logout()


def test_remote_recipient_is_queued(t):
    acc = account(t)
    mb = mailboxes(t, acc)
    res = call(t, [["Email/set", {"accountId": acc, "create": {
        "r": draft(acc, mb, to=[{"email": "carol@remote.test"}])}}, "0"],
        ["EmailSubmission/set", {"accountId": acc, "create": {
            "s": {"identityId": "I" + acc[1:], "emailId": "#r"}}}, "1"]])
    assert "s" in res["methodResponses"][1][1]["created"], res
    # Queued for the relay: still in the queue, or (remote.test has no MX
    # here, so the relay may already have tried) bounced to Alice with a
    # DSN that names Carol. Nothing else would produce either.
    deadline = time.time() + 15
    while True:
        out = t.cli("queue", "list")
        assert out.returncode == 0
        if "carol@remote.test" in out.stdout:
            return
        m = imap(ALICE, PW, t)
        bounced = [msg for _, msg in fetch_all(m, "INBOX") if b"carol@remote.test" in msg]
        m.logout()
        if bounced:
            assert b"multipart/report" in bounced[0], bounced[0][:2000]
            return
        assert time.time() < deadline, "neither queued nor bounced"
        time.sleep(0.3)


def test_identity_set_round_trip(t):
    acc = account(t)
    iid = "I" + acc[1:]
    res = call(t, [["Identity/set", {"accountId": acc, "update": {iid: {
        "name": "Alice A.", "textSignature": "-- \nAlice",
        "replyTo": [{"name": None, "email": "alice+r@example.test"}]}}}, "0"],
        ["Identity/get", {"accountId": acc}, "1"]])
    assert res["methodResponses"][0][1]["updated"] == {iid: None}
    ident = res["methodResponses"][1][1]["list"][0]
    assert ident["name"] == "Alice A." and ident["textSignature"] == "-- \nAlice"
    assert ident["replyTo"] == [{"name": None, "email": "alice+r@example.test"}]
    assert ident["email"] == ALICE and ident["htmlSignature"] == ""
    assert res["methodResponses"][0][1]["newState"] == res["methodResponses"][1][1]["state"]
    # survives a restart (it is in the store)
    t.restart()
    res = call(t, [["Identity/get", {"accountId": acc}, "1"]])
    assert res["methodResponses"][0][1]["list"][0]["name"] == "Alice A."
    # what may not change, and ids that are not the account's
    res = call(t, [["Identity/set", {"accountId": acc, "update": {
        iid: {"email": "x@example.test"}, "I999": {"name": "x"}},
        "create": {"n": {"email": ALICE}}, "destroy": [iid]}, "0"]])
    r = res["methodResponses"][0][1]
    assert r["notUpdated"][iid]["properties"] == ["email"]
    assert r["notUpdated"]["I999"]["type"] == "notFound"
    assert r["notCreated"]["n"]["type"] == "forbidden"
    assert r["notDestroyed"][iid]["type"] == "forbidden"


def web_login(t, user=ALICE, pw=PW):
    r, data = request(t, "POST", "/jmap/login", {"username": user, "password": pw})
    assert r.status == 200, data
    tok = re.search(r"tern_session=([A-Za-z0-9_-]+)", r.getheader("Set-Cookie")).group(1)
    return {"Cookie": "tern_session=" + tok}, json.loads(data)["csrf"]


def test_password_change(t):
    jar, csrf = web_login(t)
    other, other_csrf = web_login(t)
    hdr = dict(jar, **{"X-CSRF-Token": csrf})
    # auth and CSRF are required
    r, _ = request(t, "POST", "/jmap/password", {"old": PW, "new": "a new long secret"})
    assert r.status == 401
    r, _ = request(t, "POST", "/jmap/password", {"old": PW, "new": "a new long secret"}, jar)
    assert r.status == 403
    r, _ = request(t, "POST", "/jmap/password", {"old": PW, "new": "a new long secret"},
                   dict(jar, **{"X-CSRF-Token": other_csrf}))
    assert r.status == 403
    # too weak, malformed, wrong old
    r, data = request(t, "POST", "/jmap/password", {"old": PW, "new": "short"}, hdr)
    assert r.status == 400 and b"8" in data
    r, _ = request(t, "POST", "/jmap/password", {"old": PW}, hdr)
    assert r.status == 400
    r, _ = request(t, "POST", "/jmap/password", b"{not json",
                   dict(hdr, **{"Content-Type": "application/json"}))
    assert r.status == 400
    r, _ = request(t, "POST", "/jmap/password", {"old": "wrong one", "new": "a new long secret"},
                   hdr)
    assert r.status == 403
    imap(ALICE, PW, t).logout()  # nothing changed yet
    r, data = request(t, "POST", "/jmap/password", {"old": PW, "new": "a new long secret"}, hdr)
    assert r.status == 204, data
    with pytest.raises(imaplib.IMAP4.error):
        imap(ALICE, PW, t)
    imap(ALICE, "a new long secret", t).logout()
    # this session goes on, the other one ended
    acc = "A" + account_basic(t, "a new long secret")[1:]
    r, _ = request(t, "POST", "/jmap/api", {"using": USING, "methodCalls": [
        ["Core/echo", {}, "0"]]}, hdr)
    assert r.status == 200
    r, _ = request(t, "POST", "/jmap/api", {"using": USING, "methodCalls": [
        ["Core/echo", {}, "0"]]}, dict(other, **{"X-CSRF-Token": other_csrf}))
    assert r.status == 401
    assert acc.startswith("A")


def account_basic(t, pw):
    r, data = request(t, "GET", "/.well-known/jmap", headers=basic(ALICE, pw))
    assert r.status == 200
    return json.loads(data)["primaryAccounts"][MAIL]


def test_wrong_old_password_is_throttled(tern_factory):
    t = tern_factory(extra_config="[jmap]\n", listeners=WEB,
                     auth={"fail_limit": 3, "fail_delay_ms": 1, "fail_max_delay_ms": 5})
    t.add_user(ALICE, PW)
    jar, csrf = web_login(t)
    hdr = dict(jar, **{"X-CSRF-Token": csrf})
    statuses = []
    for _ in range(4):
        r, _ = request(t, "POST", "/jmap/password", {"old": "nope nope", "new": "a new long secret"},
                       hdr)
        statuses.append(r.status)
    assert statuses == [403, 403, 403, 429], statuses
    # the same throttle as IMAP's and the login form's
    r, _ = request(t, "POST", "/jmap/login", {"username": ALICE, "password": PW})
    assert r.status == 429


def test_sending_needs_auth_and_csrf(t):
    jar, csrf = web_login(t)
    body = {"using": USING, "methodCalls": [["EmailSubmission/get", {"accountId": "A1"}, "0"]]}
    r, _ = request(t, "POST", "/jmap/api", body)
    assert r.status == 401
    r, _ = request(t, "POST", "/jmap/api", body, jar)
    assert r.status == 403


def test_outgoing_copy_is_dkim_signed_with_a_key(t):
    assert t.cli("dkim", "keygen", "example.test").returncode == 0
    acc = account(t)
    mb = mailboxes(t, acc)
    res = call(t, [["Email/set", {"accountId": acc, "create": {"k": draft(
        acc, mb, to=[{"email": BOB}, {"email": "carol@remote.test"}])}}, "0"],
                   ["EmailSubmission/set", {"accountId": acc, "create": {
                       "s": {"identityId": "I" + acc[1:], "emailId": "#k"}}}, "1"]])
    assert "s" in res["methodResponses"][1][1]["created"], res
    m = imap(BOB, BOBPW, t)
    local = fetch_all(m, "INBOX")[0][1]
    m.logout()
    # remote.test has no MX here: the queued copy bounces at once, and the
    # bounce quotes the header of what was queued (signed) and nothing else
    dsn = b""
    for _ in range(50):
        m = imap(ALICE, PW, t)
        got = fetch_all(m, "INBOX")
        m.logout()
        if got:
            dsn = got[0][1]
            break
        time.sleep(0.2)
    quoted = dsn.split(b"text/rfc822-headers", 1)[1]
    assert b"DKIM-Signature:" in quoted and b"d=example.test" in quoted
    assert b"Subject: Hello Bob" in quoted
    assert b"Bcc:" not in quoted


def test_on_success_destroy_query_changes(t):
    acc = account(t)
    mb = mailboxes(t, acc)
    res = call(t, [
        ["Email/set", {"accountId": acc, "create": {"k": draft(acc, mb)}}, "0"],
        ["EmailSubmission/set", {"accountId": acc, "create": {
            "s": {"identityId": "I" + acc[1:], "emailId": "#k",
                  "envelope": {"mailFrom": {"email": ALICE},
                               "rcptTo": [{"email": BOB}]}}},
            "onSuccessDestroyEmail": ["#s"]}, "1"],
        ["EmailSubmission/query", {"accountId": acc}, "2"],
        ["EmailSubmission/changes", {"accountId": acc, "sinceState": "0"}, "3"],
        ["EmailSubmission/set", {"accountId": acc, "update": {"S1": {"undoStatus": "canceled"}}},
         "4"]])
    r = res["methodResponses"]
    eid = r[0][1]["created"]["k"]["id"]
    assert [x[0] for x in r] == ["Email/set", "EmailSubmission/set", "Email/set",
                                 "EmailSubmission/query", "EmailSubmission/changes",
                                 "EmailSubmission/set"], r
    assert r[2][1]["destroyed"] == [eid]
    assert r[3][1]["ids"] == [r[1][1]["created"]["s"]["id"]]
    sid = r[1][1]["created"]["s"]["id"]
    assert r[1][1]["oldState"] == "0" and r[1][1]["newState"] != "0"
    assert r[4][1]["created"] == [sid] and r[4][1]["newState"] == r[1][1]["newState"], r[4]
    assert r[4][1]["updated"] == [] and r[4][1]["destroyed"] == []
    assert r[5][1]["notUpdated"]["S1"]["type"] == "cannotUnsend"
    m = imap(ALICE, PW, t)
    assert fetch_all(m, "Drafts") == []
    m.logout()
    m = imap(BOB, BOBPW, t)
    assert len(fetch_all(m, "INBOX")) == 1
    m.logout()


def test_submission_changes_and_state(t):
    """EmailSubmission/changes (RFC 8620 §5.2): the submissions since a
    state, maxChanges with an intermediate state, ifInState, and a state
    never handed out."""
    acc = account(t)
    mb = mailboxes(t, acc)
    sub = {"identityId": "I" + acc[1:], "envelope": {"mailFrom": {"email": ALICE},
                                                     "rcptTo": [{"email": BOB}]}}
    res = call(t, [["EmailSubmission/get", {"accountId": acc, "ids": []}, "g"]])
    s0 = res["methodResponses"][0][1]["state"]
    res = call(t, [
        ["Email/set", {"accountId": acc, "create": {"a": draft(acc, mb), "b": draft(acc, mb),
                                                     "c": draft(acc, mb)}}, "0"],
        ["EmailSubmission/set", {"accountId": acc, "ifInState": s0, "create": {
            "x": dict(sub, emailId="#a"), "y": dict(sub, emailId="#b"),
            "z": dict(sub, emailId="#c")}}, "1"]])
    r = res["methodResponses"]
    assert r[1][0] == "EmailSubmission/set", r
    ids = [r[1][1]["created"][k]["id"] for k in "xyz"]
    s3 = r[1][1]["newState"]
    assert r[1][1]["oldState"] == s0 and s3 != s0
    res = call(t, [["EmailSubmission/changes", {"accountId": acc, "sinceState": s0,
                                                "maxChanges": 2}, "c"]])
    ch = res["methodResponses"][0][1]
    assert ch["created"] == ids[:2] and ch["hasMoreChanges"] is True, ch
    res = call(t, [["EmailSubmission/changes", {"accountId": acc,
                                                "sinceState": ch["newState"]}, "c"]])
    ch2 = res["methodResponses"][0][1]
    assert ch2["created"] == ids[2:] and ch2["hasMoreChanges"] is False, ch2
    assert ch2["newState"] == s3
    res = call(t, [
        ["EmailSubmission/changes", {"accountId": acc, "sinceState": s3}, "1"],
        ["EmailSubmission/changes", {"accountId": acc, "sinceState": "999999"}, "2"],
        ["EmailSubmission/changes", {"accountId": acc, "sinceState": "x1"}, "3"],
        ["EmailSubmission/changes", {"accountId": acc, "sinceState": s0, "maxChanges": 0}, "4"],
        ["EmailSubmission/set", {"accountId": acc, "ifInState": s0,
                                 "create": {"w": dict(sub, emailId=ids[0])}}, "5"],
        ["EmailSubmission/set", {"accountId": acc, "destroy": [5]}, "6"],
        ["EmailSubmission/get", {"accountId": acc, "ids": []}, "7"]])
    r = res["methodResponses"]
    assert r[0][1]["created"] == [] and r[0][1]["newState"] == s3, r[0]
    assert r[1][1]["type"] == "cannotCalculateChanges"
    assert r[2][1]["type"] == "cannotCalculateChanges"
    assert r[3][1]["type"] == "invalidArguments"
    assert r[4][1]["type"] == "stateMismatch"
    assert r[5][1]["type"] == "invalidArguments"
    assert r[6][1]["state"] == s3
