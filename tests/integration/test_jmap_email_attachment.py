"""Email/query's hasAttachment (RFC 8621 §4.4.1) against the real binary,
on mail delivered over SMTP: true, false, NOT and with other conditions,
agreeing with Email/get's hasAttachment on every message; and a store
indexed by the indexer before the has-attachment bit (index version 4)
answering right at once after the upgrade, then re-indexed in idle time
with the bit set."""
import base64
import http.client
import json
import smtplib
import time

from conftest import HOST, LISTENERS, ssl_ctx

WEB = LISTENERS + [("https", "http", "implicit")]
USER, PASSWORD = "alice@example.test", "correct horse battery"
CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"
HAS_ATTACHMENT_BIT = 0x04  # STORE_SORT_HAS_ATTACHMENT, store/msg_index.h


def server(tern_factory):
    t = tern_factory(extra_config="[jmap]\n", listeners=WEB)
    t.add_user(USER, PASSWORD)
    return t


def request(t, method, path, body=None):
    c = http.client.HTTPSConnection(HOST, t.port("https"), context=ssl_ctx(), timeout=10)
    tok = base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()
    c.request(method, path, body=json.dumps(body).encode() if body else None,
              headers={"Authorization": "Basic " + tok, "Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    assert r.status == 200, data
    return json.loads(data)


def api(t, calls):
    return request(t, "POST", "/jmap/api",
                   {"using": [CORE, MAIL], "methodCalls": calls})["methodResponses"]


def account(t):
    return request(t, "GET", "/.well-known/jmap")["primaryAccounts"][MAIL]


def query(t, acct, flt):
    out = api(t, [["Email/query", {"accountId": acct, "filter": flt,
                                   "sort": [{"property": "receivedAt"}]}, "0"]])
    name, res, _ = out[0]
    if name == "error":
        return res["type"]
    return res["ids"]


HEAD = ("From: Bob <bob@example.org>\r\nTo: alice@example.test\r\nSubject: %s\r\n"
        "Message-ID: <%s@example.org>\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n")

MESSAGES = {
    "plain": "Content-Type: text/plain\r\n\r\nlunch at noon\r\n",
    "pdf": ("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
            "Content-Type: text/plain\r\n\r\nthe report\r\n--b\r\n"
            "Content-Type: application/pdf; name=r.pdf\r\n"
            "Content-Disposition: attachment; filename=r.pdf\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"),
    "cid": ("Content-Type: multipart/related; boundary=r\r\n\r\n--r\r\n"
            "Content-Type: text/html\r\n\r\n<p>logo <img src=\"cid:l@x\"></p>\r\n--r\r\n"
            "Content-Type: image/png\r\nContent-ID: <l@x>\r\nContent-Disposition: inline\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--r--\r\n"),
    "forward": ("Content-Type: multipart/mixed; boundary=f\r\n\r\n--f\r\n\r\nforwarded\r\n"
                "--f\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nhi\r\n"
                "--f--\r\n"),
    "notes": ("Content-Type: multipart/mixed; boundary=n\r\n\r\n--n\r\n\r\nsee notes\r\n"
              "--n\r\nContent-Type: text/plain\r\n"
              "Content-Disposition: attachment; filename=notes.txt\r\n\r\nnotes\r\n--n--\r\n"),
}
WITH = {"pdf", "forward", "notes"}


def deliver_all(t):
    s = smtplib.SMTP(HOST, t.port("smtp"), timeout=10)
    for name, body in MESSAGES.items():
        s.sendmail("bob@example.org", [USER], (HEAD % (name, name) + body).encode())
    s.quit()


def ids_by_subject(t, acct):
    for _ in range(100):
        out = api(t, [["Email/query", {"accountId": acct}, "q"],
                      ["Email/get", {"accountId": acct, "#ids": {
                          "resultOf": "q", "name": "Email/query", "path": "/ids"},
                          "properties": ["subject", "hasAttachment"]}, "g"]])
        got = {e["subject"]: e for e in out[1][1]["list"]}
        if set(got) >= set(MESSAGES):
            return got
        time.sleep(0.1)
    raise AssertionError("not delivered: %s" % sorted(got))


def check_queries(t, acct):
    got = ids_by_subject(t, acct)
    # Email/get's hasAttachment is the rule's answer
    assert {s for s, e in got.items() if e["hasAttachment"]} == WITH
    want_with = sorted(got[s]["id"] for s in WITH)
    want_without = sorted(got[s]["id"] for s in MESSAGES if s not in WITH)
    assert sorted(query(t, acct, {"hasAttachment": True})) == want_with
    assert sorted(query(t, acct, {"hasAttachment": False})) == want_without
    assert sorted(query(t, acct, {"operator": "NOT", "conditions": [
        {"hasAttachment": True}]})) == want_without
    # with other conditions: a text one (the index) and an OR
    assert query(t, acct, {"hasAttachment": True, "body": "report"}) == [got["pdf"]["id"]]
    assert query(t, acct, {"hasAttachment": False, "body": "report"}) == []
    assert sorted(query(t, acct, {"operator": "OR", "conditions": [
        {"hasAttachment": True}, {"subject": "plain"}]})) == sorted(
            want_with + [got["plain"]["id"]])
    # the agreement, message by message
    for s, e in got.items():
        q = query(t, acct, {"hasAttachment": e["hasAttachment"], "subject": s})
        assert e["id"] in q, s
    return got


def test_has_attachment_query(tern_factory):
    t = server(tern_factory)
    acct = account(t)
    deliver_all(t)
    check_queries(t, acct)
    for bad in ("yes", 1, None, [True]):
        assert query(t, acct, {"hasAttachment": bad}) == "invalidArguments", bad
    # queryChanges: a new message with an attachment is added
    out = api(t, [["Email/query", {"accountId": acct, "filter": {"hasAttachment": True},
                                   "sort": [{"property": "receivedAt"}]}, "0"]])
    res = out[0][1]
    assert res["canCalculateChanges"] is True
    s = smtplib.SMTP(HOST, t.port("smtp"), timeout=10)
    s.sendmail("bob@example.org", [USER], (HEAD % ("pdf2", "pdf2") + MESSAGES["pdf"]).encode())
    s.sendmail("bob@example.org", [USER], (HEAD % ("plain2", "plain2") + MESSAGES["plain"])
               .encode())
    s.quit()
    for _ in range(100):
        out = api(t, [["Email/queryChanges", {
            "accountId": acct, "filter": {"hasAttachment": True},
            "sort": [{"property": "receivedAt"}], "sinceQueryState": res["queryState"]}, "0"]])
        name, ch, _ = out[0]
        assert name == "Email/queryChanges", ch
        if ch["added"] and ch["newQueryState"] != res["queryState"]:
            break
        time.sleep(0.1)
    assert len(ch["added"]) == 1 and ch["removed"] == []
    assert ch["added"][0]["index"] == len(res["ids"])


def test_old_index_is_redone(tern_factory):
    """A store whose index rows were made by version 4 (no has-attachment
    bit in any sort record): the new binary drops them when it starts, a
    query is right at once (messages without a row are parsed), and the
    idle work makes the rows again, the bit set where it belongs."""
    t = server(tern_factory)
    acct = account(t)
    deliver_all(t)
    got = check_queries(t, acct)
    with_ids = {int(got[s]["id"][1:]) for s in WITH}
    # wait until every message has its row, then make the store look old
    for _ in range(100):
        with t.db() as db:
            rows = dict(db.execute("SELECT message_id, keys FROM imap_sort_keys").fetchall())
        if len(rows) >= len(MESSAGES):
            break
        time.sleep(0.1)
    assert {m for m, k in rows.items() if k[0] & HAS_ATTACHMENT_BIT} >= with_ids
    t.stop()
    with t.db() as db:
        for m, k in rows.items():
            db.execute("UPDATE imap_sort_keys SET keys = ? WHERE message_id = ?",
                       (bytes([k[0] & ~HAS_ATTACHMENT_BIT]) + k[1:], m))
        db.execute("UPDATE meta SET value = 4 WHERE key = 'indexer_version'")
        rows = dict(db.execute("SELECT message_id, keys FROM imap_sort_keys").fetchall())
    assert rows and not any(k[0] & HAS_ATTACHMENT_BIT for k in rows.values())
    t.start()
    assert "event=index_outdated version=5 was=4" in t.logs()
    check_queries(t, acct)
    for _ in range(100):
        with t.db() as db:
            rows = dict(db.execute("SELECT message_id, keys FROM imap_sort_keys").fetchall())
        if len(rows) >= len(MESSAGES):
            break
        time.sleep(0.1)
    assert {m for m, k in rows.items() if k[0] & HAS_ATTACHMENT_BIT} == with_ids
    check_queries(t, acct)
