"""Issue 18's batch promise against the real binary: an Email/set of 1000
flag changes is one store job and one commit (one fsync), read from the
store's counters on /metrics around it; one more than maxObjectsInSet is
refused before anything is written."""
import http.client

from conftest import HOST, ssl_ctx
from test_jmap_blob import acct_of, email_import, mailbox_ids, upload
from test_jmap_core import CORE, MAIL, api, server

N = 1000
MSG = (b"From: a@example.org\r\nTo: alice@example.test\r\nSubject: batch\r\n"
       b"Date: Tue, 1 Dec 2026 10:00:00 +0000\r\n\r\nbody\r\n")


def store_counters(t):
    c = http.client.HTTPSConnection(HOST, t.port("https"), context=ssl_ctx(), timeout=10)
    c.request("GET", "/metrics")
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    assert r.status == 200, body
    got = {}
    for line in body.splitlines():
        name, _, value = line.rpartition(" ")
        if name.startswith("tern_store_"):
            got[name] = int(float(value))
    return got


def call(t, name, args):
    r, res = api(t, {"using": [CORE, MAIL], "methodCalls": [[name, args, "c"]]})
    assert r.status == 200, res
    return res["methodResponses"][0]


def test_thousand_flag_changes_are_one_commit(tern_factory):
    t = server(tern_factory)
    acct = acct_of(t)
    inbox = mailbox_ids(t, acct)["INBOX"]
    r, up = upload(t, MSG, "message/rfc822")
    assert r.status == 201
    name, res, _ = email_import(t, acct, {"k%d" % i: {"blobId": up["blobId"],
                                                     "mailboxIds": {inbox: True}}
                                         for i in range(N)})
    assert name == "Email/import" and len(res["created"]) == N, res
    name, res, _ = call(t, "Email/query", {"accountId": acct, "filter": {"inMailbox": inbox},
                                           "limit": N})
    ids = res["ids"]
    assert len(ids) == N

    # one over the limit: refused whole, nothing written
    before = store_counters(t)
    update = {i: {"keywords/$seen": True} for i in ids}
    update["Mzzz"] = {"keywords/$seen": True}
    name, res, _ = call(t, "Email/set", {"accountId": acct, "update": update})
    assert name == "error" and res["type"] == "requestTooLarge", res
    assert store_counters(t)["tern_store_jobs_total"] == before["tern_store_jobs_total"]

    before = store_counters(t)
    name, res, _ = call(t, "Email/set", {"accountId": acct, "update": {
        i: {"keywords/$seen": True, "keywords/$flagged": True} for i in ids}})
    after = store_counters(t)
    assert name == "Email/set" and len(res["updated"]) == N, res
    assert not res.get("notUpdated"), res
    d = {k: after[k] - before[k] for k in before}
    assert d["tern_store_jobs_total"] == 1, d
    assert d["tern_store_commits_total"] == 1, d
    assert d["tern_store_fsyncs_total"] <= 1, d
    name, res, _ = call(t, "Email/get", {"accountId": acct, "ids": ids,
                                         "properties": ["keywords"]})
    assert all(e["keywords"] == {"$seen": True, "$flagged": True} for e in res["list"])
