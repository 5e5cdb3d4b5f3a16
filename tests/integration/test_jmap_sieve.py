"""JMAP for Sieve (RFC 9661, proto/jmap/sieve_script*.c) against the real
binary: the capability in the session; SieveScript/get, /set, /query,
/changes and /validate, following RFC 9661 §3's example flow (upload,
create and activate, read back through the download URL, replace the
content, validate, deactivate and destroy); the errors (a script that does
not compile -> invalidSieve with "line:col", a name taken -> alreadyExists
with existingId, destroying the active script -> sieveIsActive, a script
over 64 KiB -> tooLarge, the 33rd script -> overQuota, a blob that is not
there, a script blob of another account); a script created over JMAP then
filing mail delivered over SMTP (read back over IMAP); and the same scripts
seen by ManageSieve (raw LISTSCRIPTS/GETSCRIPT) and the other way round.
Renames (schema 24's ids): over JMAP (the id stays, the active one stays
active, a new blobId, /changes says updated), to a name taken
(alreadyExists) or a bad one (invalidProperties), by ManageSieve's
RENAMESCRIPT seen by JMAP under the same id; ids the same after a restart;
and an upgrade from schema 23 with scripts in it, `tern verify` clean."""
import base64
import http.client
import imaplib
import json
import os
import re
import shutil
import smtplib
import subprocess
import time

import pytest

from conftest import HOST, ssl_ctx
from test_managesieve import MS

USER, PASSWORD = "alice@example.test", "correct horse battery"
OTHER = "bob@example.test"
SIEVE = "urn:ietf:params:jmap:sieve"
CORE = "urn:ietf:params:jmap:core"
USING = [CORE, SIEVE]

LISTENERS = [("https", "http", "implicit"), ("smtp", "smtp", "none"),
             ("imap", "imap", "starttls"), ("sieve", "sieve", "starttls")]


@pytest.fixture
def t(tern_factory):
    t = tern_factory(listeners=LISTENERS,
                     auth={"check_spf": "false", "check_dkim": "false", "check_dmarc": "false"})
    t.add_user(USER, PASSWORD)
    t.add_user(OTHER, PASSWORD)
    return t


def basic(user=USER):
    tok = base64.b64encode(("%s:%s" % (user, PASSWORD)).encode()).decode()
    return {"Authorization": "Basic " + tok}


def web(t, method, path, body=None, headers=None, user=USER):
    c = http.client.HTTPSConnection(HOST, t.port("https"), context=ssl_ctx(), timeout=10)
    h = dict(basic(user))
    h.update(headers or {})
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def session(t, user=USER):
    status, data = web(t, "GET", "/.well-known/jmap", user=user)
    assert status == 200, data
    return json.loads(data)


def account(t, user=USER):
    return session(t, user)["primaryAccounts"][SIEVE]


def calls(t, method_calls, user=USER, using=USING):
    status, data = web(t, "POST", "/jmap/api",
                        json.dumps({"using": using, "methodCalls": method_calls}),
                        {"Content-Type": "application/json"}, user=user)
    assert status == 200, data
    return json.loads(data)["methodResponses"]


def call(t, name, args, user=USER):
    args = dict(args)
    args.setdefault("accountId", account(t, user))
    r = calls(t, [[name, args, "c"]], user=user)
    assert len(r) == 1, r
    return r[0]


def upload(t, text, user=USER):
    acct = account(t, user)
    status, data = web(t, "POST", "/jmap/upload/%s/" % acct,
                        text.encode() if isinstance(text, str) else text,
                        {"Content-Type": "application/sieve"}, user=user)
    assert status == 201, data
    return json.loads(data)["blobId"]


def download(t, blob_id, user=USER):
    return web(t, "GET", "/jmap/download/%s/%s/script.siv?accept=application/sieve" %
                (account(t, user), blob_id), user=user)


def sieve_session(t):
    c = MS(t)
    c.response()
    c.starttls()
    _, ok = c.login(USER, PASSWORD)
    assert ok.startswith("OK"), ok
    return c


FILEINTO = 'require ["fileinto", "mailbox"];\r\nif header :contains "subject" "[sieve]" {\r\n' \
    '  fileinto :create "Sorted";\r\n}\r\n'


def test_capability_in_the_session(t):
    s = session(t)
    assert s["capabilities"][SIEVE] == {}
    acct = s["primaryAccounts"][SIEVE]
    assert acct == s["primaryAccounts"]["urn:ietf:params:jmap:mail"]
    cap = s["accounts"][acct]["accountCapabilities"][SIEVE]
    assert cap["implementation"] == "tern"
    assert cap["maxSizeScriptName"] == 128
    assert cap["maxSizeScript"] == 65536
    assert cap["maxNumberScripts"] == 32
    assert cap["maxNumberRedirects"] == 4
    assert cap["notificationMethods"] is None and cap["externalLists"] is None
    assert {"fileinto", "vacation", "imap4flags", "variables"} <= set(cap["sieveExtensions"])
    # the methods need the capability in "using"
    r = calls(t, [["SieveScript/get", {"accountId": acct}, "0"]], using=[CORE])
    assert r[0][0] == "error" and r[0][1]["type"] == "unknownMethod"


def test_rfc9661_example_flow(t):
    acct = account(t)
    # empty at first
    name, res, _ = call(t, "SieveScript/get", {"ids": None})
    assert name == "SieveScript/get" and res["list"] == [] and res["notFound"] == []
    state0 = res["state"]
    # §3: upload, create and activate in one call
    blob = upload(t, FILEINTO)
    name, res, _ = call(t, "SieveScript/set", {
        "create": {"1": {"name": "my script", "blobId": blob}},
        "onSuccessActivateScript": "#1"})
    assert name == "SieveScript/set", res
    assert res["oldState"] == state0 and res["newState"] != state0
    created = res["created"]["1"]
    assert created["isActive"] is True and created["name"] == "my script"
    sid, sblob = created["id"], created["blobId"]
    assert re.fullmatch(r"S[1-9][0-9]*", sid), sid
    assert sblob.startswith("Z") and sblob != blob
    # get: every property, and only some
    name, res, _ = call(t, "SieveScript/get", {"ids": [sid, "Snope"]})
    assert res["list"] == [{"id": sid, "name": "my script", "blobId": sblob, "isActive": True}]
    assert res["notFound"] == ["Snope"]
    _, res, _ = call(t, "SieveScript/get", {"ids": [sid], "properties": ["name"]})
    assert res["list"] == [{"id": sid, "name": "my script"}]
    _, res, _ = call(t, "SieveScript/get", {"properties": ["content"]})
    assert res["type"] == "invalidArguments"
    # the content through the download URL, byte for byte
    status, data = download(t, sblob)
    assert status == 200 and data.decode() == FILEINTO
    # another account cannot read it, nor name it
    assert download(t, sblob, user=OTHER)[0] == 404
    status, _ = web(t, "GET", "/jmap/download/%s/%s/x" % (acct, sblob), user=OTHER)
    assert status == 404
    _, res, _ = call(t, "SieveScript/get", {"ids": [sid]}, user=OTHER)
    assert res["list"] == [] and res["notFound"] == [sid]
    # replace the content: a new blobId, the old one is gone
    v2 = FILEINTO.replace("Sorted", "Sorted2")
    blob2 = upload(t, v2)
    _, res, _ = call(t, "SieveScript/set", {"update": {sid: {"blobId": blob2}}})
    new_blob = res["updated"][sid]["blobId"]
    assert new_blob != sblob
    assert download(t, new_blob)[1].decode() == v2
    assert download(t, sblob)[0] == 404
    # validate: good and bad
    _, res, _ = call(t, "SieveScript/validate", {"blobId": blob2})
    assert res["error"] is None
    bad = upload(t, 'require "fileinto";\nif true {\n  fileinto "x"\n}\n')
    _, res, _ = call(t, "SieveScript/validate", {"blobId": bad})
    assert res["error"]["type"] == "invalidSieve"
    assert res["error"]["description"].startswith("4:1: "), res
    _, res, _ = call(t, "SieveScript/validate", {"blobId": "U999999"})
    assert res["error"]["type"] == "blobNotFound"
    _, res, _ = call(t, "SieveScript/validate", {})
    assert res["type"] == "invalidArguments"
    # destroying the active one is refused; deactivate and destroy in one call
    _, res, _ = call(t, "SieveScript/set", {"destroy": [sid]})
    assert res["notDestroyed"][sid]["type"] == "sieveIsActive"
    _, res, _ = call(t, "SieveScript/set", {"onSuccessDeactivateScript": True})
    assert res["updated"][sid]["isActive"] is False
    # deactivating gave it a new blobId: the one reported reads the same text
    assert download(t, res["updated"][sid]["blobId"]) == (200, v2.encode())
    _, res, _ = call(t, "SieveScript/set", {"destroy": [sid]})
    assert res["destroyed"] == [sid]
    _, res, _ = call(t, "SieveScript/get", {})
    assert res["list"] == []


def test_query_and_changes(t):
    names = ["b", "a", "c"]
    blob = upload(t, "keep;\r\n")
    _, res, _ = call(t, "SieveScript/get", {})
    state0 = res["state"]
    _, res, _ = call(t, "SieveScript/set", {
        "create": {n: {"name": n, "blobId": blob} for n in names},
        "onSuccessActivateScript": "#c"})
    ids = {n: res["created"][n]["id"] for n in names}
    state1 = res["newState"]
    _, res, _ = call(t, "SieveScript/query", {"sort": [{"property": "name"}]})
    assert res["ids"] == [ids["a"], ids["b"], ids["c"]]
    assert res["queryState"] == state1 and res["canCalculateChanges"] is False
    _, res, _ = call(t, "SieveScript/query", {
        "sort": [{"property": "name", "isAscending": False}], "calculateTotal": True,
        "position": 1, "limit": 1})
    assert res["ids"] == [ids["b"]] and res["total"] == 3 and res["position"] == 1
    _, res, _ = call(t, "SieveScript/query", {"limit": None, "position": -1})
    assert res["ids"] == [ids["c"]] and res["position"] == 2
    _, res, _ = call(t, "SieveScript/query", {"limit": -1})
    assert res["type"] == "invalidArguments"
    _, res, _ = call(t, "SieveScript/query", {"filter": {"isActive": True}})
    assert res["ids"] == [ids["c"]]
    _, res, _ = call(t, "SieveScript/query", {"filter": {"name": "a"}})
    assert res["ids"] == [ids["a"]]
    _, res, _ = call(t, "SieveScript/query", {"filter": {"subject": "a"}})
    assert res["type"] == "unsupportedFilter"
    _, res, _ = call(t, "SieveScript/query", {"sort": [{"property": "size"}]})
    assert res["type"] == "unsupportedSort"
    # changes: from the empty state all three are new
    _, res, _ = call(t, "SieveScript/changes", {"sinceState": state0})
    assert sorted(res["created"]) == sorted(ids.values()), res
    assert res["updated"] == [] and res["destroyed"] == [] and res["newState"] == state1
    _, res, _ = call(t, "SieveScript/changes", {"sinceState": state1})
    assert res["created"] == res["updated"] == res["destroyed"] == []
    # an update and a create: told apart
    _, res, _ = call(t, "SieveScript/set", {
        "update": {ids["a"]: {"blobId": upload(t, "discard;\r\n")}},
        "create": {"d": {"name": "d", "blobId": blob}}})
    state2, did = res["newState"], res["created"]["d"]["id"]
    _, res, _ = call(t, "SieveScript/changes", {"sinceState": state1})
    assert res["updated"] == [ids["a"]] and res["created"] == [did]
    assert res["newState"] == state2
    # a destroy cannot be told: the client refetches
    call(t, "SieveScript/set", {"destroy": [ids["b"]]})
    _, res, _ = call(t, "SieveScript/changes", {"sinceState": state2})
    assert res["type"] == "cannotCalculateChanges"
    _, res, _ = call(t, "SieveScript/changes", {"sinceState": "garbage"})
    assert res["type"] == "cannotCalculateChanges"
    # ifInState
    _, res, _ = call(t, "SieveScript/set", {"ifInState": state0, "destroy": [ids["a"]]})
    assert res["type"] == "stateMismatch"


def test_set_errors(t):
    good = upload(t, "keep;\r\n")
    _, res, _ = call(t, "SieveScript/set", {"create": {"x": {"name": "x", "blobId": good}}})
    xid = res["created"]["x"]["id"]
    bad = upload(t, 'require "fileinto";\r\nfileinto "a" "b";\r\n')
    big = upload(t, "#" + "x" * 65536 + "\r\nkeep;\r\n")
    _, res, _ = call(t, "SieveScript/set", {"create": {
        "bad": {"name": "bad", "blobId": bad},
        "clash": {"name": "x", "blobId": good},
        "big": {"name": "big", "blobId": big},
        "noblob": {"name": "nb", "blobId": "U123456"},
        "nameless": {"blobId": good},
        "slash": {"name": "a/b", "blobId": good},
        "active": {"name": "act", "blobId": good, "isActive": True},
    }, "onSuccessActivateScript": "#nameless"})
    nc = res["notCreated"]
    assert nc["bad"]["type"] == "invalidSieve"
    assert nc["bad"]["description"].startswith("2:"), nc["bad"]
    assert nc["clash"]["type"] == "alreadyExists" and nc["clash"]["existingId"] == xid
    assert nc["big"]["type"] == "tooLarge"
    assert nc["noblob"]["type"] == "blobNotFound"
    assert nc["slash"]["type"] == "invalidProperties" and nc["slash"]["properties"] == ["name"]
    assert nc["active"]["type"] == "invalidProperties"
    # the one that was fine is created, with a name of the server's; not
    # activated, since the rest failed
    made = res["created"]["nameless"]
    assert made["name"] == "script" and made["isActive"] is False
    # a rename to a name taken or a bad one is refused; its own name is
    # no change at all
    _, res, _ = call(t, "SieveScript/set", {"update": {xid: {"name": "script"}}})
    assert res["notUpdated"][xid]["type"] == "alreadyExists", res
    assert res["notUpdated"][xid]["existingId"] == made["id"]
    for bad_name in ("a/b", "", "x" * 129, "tab\there", 7):
        _, res, _ = call(t, "SieveScript/set", {"update": {xid: {"name": bad_name}}})
        assert res["notUpdated"][xid]["type"] == "invalidProperties", bad_name
        assert res["notUpdated"][xid]["properties"] == ["name"]
    _, res, _ = call(t, "SieveScript/set", {"update": {xid: {"name": "x"}, "Snope": {},
                                                         "S999999": {"name": "z"}}})
    assert res["updated"] == {xid: None} and res["notUpdated"]["Snope"]["type"] == "notFound"
    assert res["notUpdated"]["S999999"]["type"] == "notFound"
    _, res, _ = call(t, "SieveScript/get", {"ids": [xid], "properties": ["name"]})
    assert res["list"] == [{"id": xid, "name": "x"}]
    _, res, _ = call(t, "SieveScript/set", {"destroy": ["Snope", "garbage!"]})
    assert set(res["notDestroyed"]) == {"Snope", "garbage!"}
    # another account's script blob is not found
    other_blob = upload(t, "keep;\r\n", user=OTHER)
    _, res, _ = call(t, "SieveScript/set", {"create": {"o": {"name": "o", "blobId": other_blob}}})
    assert res["notCreated"]["o"]["type"] == "blobNotFound"
    # the 33rd script is over quota (two exist: x and script)
    creates = {str(i): {"name": "n%d" % i, "blobId": good} for i in range(31)}
    _, res, _ = call(t, "SieveScript/set", {"create": creates})
    assert len(res["created"]) == 30, res
    assert [v["type"] for v in res["notCreated"].values()] == ["overQuota"]
    _, res, _ = call(t, "SieveScript/set", {"onSuccessActivateScript": 5})
    assert res["type"] == "invalidArguments"


def wait_mailbox(c, mailbox, count, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        typ, data = c.select('"%s"' % mailbox)
        if typ == "OK" and int(data[0]) >= count:
            return int(data[0])
        time.sleep(0.2)
    return 0


def test_script_from_jmap_files_smtp_mail(t):
    blob = upload(t, FILEINTO)
    _, res, _ = call(t, "SieveScript/set", {
        "create": {"f": {"name": "filter", "blobId": blob}}, "onSuccessActivateScript": "#f"})
    assert res["created"]["f"]["isActive"] is True
    with smtplib.SMTP(HOST, t.port("smtp"), timeout=30) as s:
        for subject in ("[sieve] sorted", "plain"):
            s.sendmail("far@example.org", [USER],
                       "From: <far@example.org>\r\nTo: <%s>\r\nSubject: %s\r\n"
                       "Message-ID: <%s@example.org>\r\n\r\nHello.\r\n" %
                       (USER, subject, subject.replace(" ", "").replace("[", "")
                        .replace("]", "")))
    c = imaplib.IMAP4(HOST, t.port("imap"))
    c.starttls(ssl_context=ssl_ctx())
    c.login(USER, PASSWORD)
    assert wait_mailbox(c, "Sorted", 1) == 1
    typ, data = c.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"[sieve] sorted" in data[0][1]
    assert wait_mailbox(c, "INBOX", 1) == 1
    typ, data = c.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"plain" in data[0][1]
    c.logout()


def test_managesieve_and_jmap_see_the_same_scripts(t):
    blob = upload(t, "keep;\r\n")
    _, res, _ = call(t, "SieveScript/set", {
        "create": {"j": {"name": "from jmap", "blobId": blob}}, "onSuccessActivateScript": "#j"})
    jid = res["created"]["j"]["id"]
    ms = sieve_session(t)
    lines, ok = ms.cmd("LISTSCRIPTS")
    assert ok.startswith("OK") and lines == ['"from jmap" ACTIVE']
    lines, ok = ms.cmd('GETSCRIPT "from jmap"')
    assert ok.startswith("OK") and "keep;" in lines[0]
    # ManageSieve writes, JMAP reads
    script = 'require "fileinto";\r\nfileinto "Other";\r\n'
    ms.send('PUTSCRIPT "from msieve" {%d+}\r\n%s\r\n' % (len(script), script))
    _, ok = ms.response()
    assert ok.startswith("OK"), ok
    _, ok = ms.cmd('SETACTIVE "from msieve"')
    assert ok.startswith("OK"), ok
    ms.cmd("LOGOUT")
    ms.close()
    _, res, _ = call(t, "SieveScript/get", {})
    by_name = {s["name"]: s for s in res["list"]}
    assert set(by_name) == {"from jmap", "from msieve"}
    assert by_name["from msieve"]["isActive"] and not by_name["from jmap"]["isActive"]
    assert by_name["from jmap"]["id"] == jid
    assert download(t, by_name["from msieve"]["blobId"])[1].decode() == script


def scripts_by_name(t, user=USER):
    _, res, _ = call(t, "SieveScript/get", {}, user=user)
    return {s["name"]: s for s in res["list"]}


def test_rename_over_jmap(t):
    blob = upload(t, FILEINTO)
    _, res, _ = call(t, "SieveScript/set", {
        "create": {"f": {"name": "filter", "blobId": blob},
                   "o": {"name": "other", "blobId": upload(t, "keep;\r\n")}},
        "onSuccessActivateScript": "#f"})
    fid, oid = res["created"]["f"]["id"], res["created"]["o"]["id"]
    old_blob, state1 = res["created"]["f"]["blobId"], res["newState"]
    # the active one renamed: same id, still active, a new blobId reported
    _, res, _ = call(t, "SieveScript/set", {"update": {fid: {"name": "Tri \u00e9t\u00e9"}}})
    assert list(res["updated"]) == [fid] and not res.get("notUpdated"), res
    new_blob, state2 = res["updated"][fid]["blobId"], res["newState"]
    assert new_blob != old_blob and state2 != state1
    by_name = scripts_by_name(t)
    assert by_name["Tri \u00e9t\u00e9"] == {"id": fid, "name": "Tri \u00e9t\u00e9",
                                          "blobId": new_blob, "isActive": True}
    assert set(by_name) == {"Tri \u00e9t\u00e9", "other"}
    # the same bytes under the new blobId; the old blobId is another version
    assert download(t, new_blob) == (200, FILEINTO.encode())
    assert download(t, old_blob)[0] == 404
    # /changes: the rename is an update of that id, nothing created or gone
    _, res, _ = call(t, "SieveScript/changes", {"sinceState": state1})
    assert res["updated"] == [fid] and res["created"] == [] and res["destroyed"] == [], res
    assert res["newState"] == state2
    # the other's name: alreadyExists naming it, and nothing changes
    _, res, _ = call(t, "SieveScript/set", {"update": {fid: {"name": "other"}}})
    assert res["notUpdated"][fid]["type"] == "alreadyExists", res
    assert res["notUpdated"][fid]["existingId"] == oid
    assert res["newState"] == state2 and not res.get("updated"), res
    # a name and new content in one update
    v2 = FILEINTO.replace("Sorted", "Sorted2")
    _, res, _ = call(t, "SieveScript/set", {"update": {fid: {"name": "both",
                                                              "blobId": upload(t, v2)}}})
    both_blob = res["updated"][fid]["blobId"]
    assert download(t, both_blob) == (200, v2.encode())
    assert scripts_by_name(t)["both"]["id"] == fid
    # ManageSieve sees the new name, active; delivery runs it
    ms = sieve_session(t)
    lines, ok = ms.cmd("LISTSCRIPTS")
    assert ok.startswith("OK") and sorted(lines) == ['"both" ACTIVE', '"other"'], lines
    ms.cmd("LOGOUT")
    ms.close()
    with smtplib.SMTP(HOST, t.port("smtp"), timeout=30) as s:
        s.sendmail("far@example.org", [USER],
                   "From: <far@example.org>\r\nTo: <%s>\r\nSubject: [sieve] renamed\r\n"
                   "Message-ID: <renamed@example.org>\r\n\r\nHello.\r\n" % USER)
    c = imaplib.IMAP4(HOST, t.port("imap"))
    c.starttls(ssl_context=ssl_ctx())
    c.login(USER, PASSWORD)
    assert wait_mailbox(c, "Sorted2", 1) == 1
    c.logout()


def test_rename_by_managesieve_keeps_the_jmap_id(t):
    _, res, _ = call(t, "SieveScript/set", {
        "create": {"j": {"name": "old name", "blobId": upload(t, "keep;\r\n")}},
        "onSuccessActivateScript": "#j"})
    jid, state1 = res["created"]["j"]["id"], res["newState"]
    ms = sieve_session(t)
    _, ok = ms.cmd('RENAMESCRIPT "old name" "new name"')
    assert ok.startswith("OK"), ok
    ms.cmd("LOGOUT")
    ms.close()
    _, res, _ = call(t, "SieveScript/get", {"ids": [jid]})
    assert [(s["id"], s["name"], s["isActive"]) for s in res["list"]] == \
        [(jid, "new name", True)], res
    _, res, _ = call(t, "SieveScript/changes", {"sinceState": state1})
    assert res["updated"] == [jid] and res["created"] == [], res


def test_ids_are_kept_across_a_restart_and_never_reused(t):
    keep = upload(t, "keep;\r\n")
    _, res, _ = call(t, "SieveScript/set", {
        "create": {"a": {"name": "a", "blobId": keep}, "b": {"name": "b", "blobId": keep}},
        "onSuccessActivateScript": "#a"})
    aid, bid = res["created"]["a"]["id"], res["created"]["b"]["id"]
    _, res, _ = call(t, "SieveScript/set", {"update": {aid: {"name": "a2"}}, "destroy": [bid]})
    assert res["destroyed"] == [bid] and aid in res["updated"], res
    before = scripts_by_name(t)
    t.restart()
    assert scripts_by_name(t) == before
    assert before["a2"]["id"] == aid and before["a2"]["isActive"]
    # a script created now gets an id above every one before, b's too
    _, res, _ = call(t, "SieveScript/set", {"create": {"c": {"name": "b", "blobId": keep}}})
    cid = res["created"]["c"]["id"]
    assert int(cid[1:]) > int(bid[1:]) > int(aid[1:]), (aid, bid, cid)
    _, res, _ = call(t, "SieveScript/get", {"ids": [bid]})
    assert res["notFound"] == [bid]


SCHEMA_23_SIEVE = """
    BEGIN;
    CREATE TABLE sieve_scripts_22(
      account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
      name TEXT NOT NULL,
      script BLOB NOT NULL,
      active INTEGER NOT NULL DEFAULT 0,
      updated INTEGER NOT NULL,
      PRIMARY KEY(account_id, name)
    ) WITHOUT ROWID;
    INSERT INTO sieve_scripts_22 SELECT account_id, name, script, active, updated
      FROM sieve_scripts;
    DROP TABLE sieve_scripts;
    ALTER TABLE sieve_scripts_22 RENAME TO sieve_scripts;
    CREATE UNIQUE INDEX sieve_scripts_active ON sieve_scripts(account_id) WHERE active;
    PRAGMA user_version = 23;
    COMMIT;
"""


def test_upgrade_from_schema_23_keeps_the_scripts(t):
    """Schema 23's sieve_scripts (WITHOUT ROWID, keyed by account and name)
    is copied into schema 24's with ids: every script, its text, which one
    is active, each account's own; then renames work and `tern verify`
    finds the store whole."""
    texts = {"work": FILEINTO, "home": "discard;\r\n"}
    _, res, _ = call(t, "SieveScript/set", {
        "create": {n: {"name": n, "blobId": upload(t, v)} for n, v in texts.items()},
        "onSuccessActivateScript": "#work"})
    assert len(res["created"]) == 2, res
    _, res, _ = call(t, "SieveScript/set", {
        "create": {"w": {"name": "work", "blobId": upload(t, "stop;\r\n", user=OTHER)}}},
        user=OTHER)
    assert "w" in res["created"], res
    t.stop()
    db = t.db()
    db.executescript(SCHEMA_23_SIEVE)
    assert "id" not in {c[1] for c in db.execute("PRAGMA table_info(sieve_scripts)")}
    db.close()
    t.start()
    assert "event=migrated from=23 to=24" in t.logs()
    db = t.db()
    assert db.execute("PRAGMA user_version").fetchone()[0] == 24
    assert "id" in {c[1] for c in db.execute("PRAGMA table_info(sieve_scripts)")}
    assert db.execute("SELECT count(*) FROM sieve_scripts").fetchone()[0] == 3
    db.close()
    mine = scripts_by_name(t)
    assert set(mine) == {"work", "home"}
    assert mine["work"]["isActive"] and not mine["home"]["isActive"]
    for name, text in texts.items():
        assert download(t, mine[name]["blobId"]) == (200, text.encode())
    theirs = scripts_by_name(t, user=OTHER)
    assert set(theirs) == {"work"}
    ids = {mine["work"]["id"], mine["home"]["id"], theirs["work"]["id"]}
    assert len(ids) == 3 and all(re.fullmatch(r"S[1-9][0-9]*", i) for i in ids)
    assert download(t, theirs["work"]["blobId"])[0] == 404  # bob's, read as alice
    # the one index on active is back: one active script per account
    _, res, _ = call(t, "SieveScript/set", {"onSuccessActivateScript": mine["home"]["id"]})
    assert res["updated"][mine["home"]["id"]]["isActive"] is True, res
    assert res["updated"][mine["work"]["id"]]["isActive"] is False
    _, res, _ = call(t, "SieveScript/set", {"update": {mine["work"]["id"]: {"name": "job"}}})
    assert mine["work"]["id"] in res["updated"], res
    v = t.cli("verify")
    assert v.returncode == 0, v.stdout + v.stderr


NODE = shutil.which("node")


@pytest.mark.skipif(not NODE, reason="node not installed")
def test_the_webmail_pages_script_compiles(t):
    """What web/sieve_managed.js writes for every kind of rule and the
    vacation reply is a script this server accepts (SieveScript/validate)."""
    web = os.path.join(os.path.dirname(__file__), "..", "..", "web", "sieve_managed.js")
    js = ("import(%s).then(({toSieve}) => process.stdout.write(toSieve({rules: ["
          "{field: 'subject', contains: 'a \"q\" \\\\ b', action: 'move', target: 'Work/Reports'},"
          "{field: 'from', contains: 'boss', action: 'read', target: ''},"
          "{field: 'to', contains: 'list@x', action: 'forward', target: 'me@elsewhere.example'},"
          "{field: 'subject', contains: 'spam', action: 'delete', target: ''}],"
          "vacation: {enabled: true, subject: 'Away', body: 'Back\\nMonday', days: 3}})))"
          % json.dumps("file://" + os.path.abspath(web)))
    r = subprocess.run([NODE, "--input-type=module", "-e", js], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert "redirect :copy" in r.stdout and "vacation :days 3" in r.stdout
    _, res, _ = call(t, "SieveScript/validate", {"blobId": upload(t, r.stdout)})
    assert res["error"] is None, res
