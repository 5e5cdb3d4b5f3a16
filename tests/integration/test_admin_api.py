"""The admin JSON API (/api/admin/) and `tern token`.

Tokens come from the CLI; the API is driven with http.client and curl; a
user made over the API logs in over IMAP (imaplib); the CLI and the API
see each other's changes; the error paths get their statuses; and no
token secret or password reaches `tern token list`, the database or the
server's log.
"""
import hashlib
import http.client
import imaplib
import json
import re
import socket
import subprocess
import time

import pytest

from conftest import HOST, LISTENERS, ssl_ctx

WEB = LISTENERS + [("http", "http", "none"), ("https", "http", "implicit")]
PW = "correct horse battery"


def make_token(t, scope="admin", name="test"):
    r = t.cli("token", "create", "--scope", scope, "--name", name)
    assert r.returncode == 0, r.stderr
    secret = r.stdout.strip()
    assert re.fullmatch(r"tern_[A-Za-z0-9_-]{43}", secret), r.stdout
    assert secret not in r.stderr
    return secret


@pytest.fixture
def api(tern_factory):
    t = tern_factory(extra_config="[http]\nmax_body = 4096\n", listeners=WEB)
    t.token = make_token(t)
    return t


def call(t, method, path, body=None, token=None, raw=None, headers=None, name="https"):
    """One request; returns (status, headers, parsed JSON or None)."""
    h = {}
    tok = t.token if token is None else token
    if tok:
        h["Authorization"] = "Bearer " + tok
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    if name == "https":
        c = http.client.HTTPSConnection(HOST, t.port(name), context=ssl_ctx(), timeout=15)
    else:
        c = http.client.HTTPConnection(HOST, t.port(name), timeout=15)
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    text = r.read()
    c.close()
    doc = None
    if text and (r.getheader("Content-Type") or "").startswith("application/json"):
        doc = json.loads(text)
    return r.status, r, doc


def cli_lines(t, *args):
    r = t.cli(*args)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def test_token_cli_keeps_no_secret(tern_factory):
    t = tern_factory(listeners=WEB)
    secret = make_token(t, name="ci")
    listing = t.cli("token", "list")
    assert listing.returncode == 0
    assert secret not in listing.stdout and secret[5:] not in listing.stdout
    # id, scope, created, last used, expires, owner (an admin token has none), name
    assert re.search(r"^1\s+admin\s+\S+\s+-\s+-\s+-\s+ci$", listing.stdout, re.M), listing.stdout
    assert "1 token" in listing.stdout
    # the database holds the SHA-256 of the secret, not the secret
    with t.db() as db:
        rows = db.execute("SELECT * FROM tokens").fetchall()
        assert len(rows) == 1
        assert db.execute("SELECT secret_sha256 FROM tokens").fetchone()[0] == \
            hashlib.sha256(secret.encode()).digest()
    assert secret.encode() not in open(t.data_dir + "/tern.db", "rb").read()
    # scope is required and checked
    r = t.cli("token", "create")
    assert r.returncode == 2 and "--scope" in r.stderr
    r = t.cli("token", "create", "--scope", "root")
    assert r.returncode == 2 and "unknown scope" in r.stderr
    r = t.cli("token", "revoke", "42")
    assert r.returncode == 1 and "no token 42" in r.stderr
    assert t.cli("token", "revoke", "1").stdout == "token 1 revoked\n"
    assert "0 tokens" in t.cli("token", "list").stdout


def test_domains_users_aliases_over_the_api(api):
    t = api
    st, _, doc = call(t, "GET", "/api/admin/domains")
    assert st == 200 and doc == {"domains": [{"name": "example.test"}]}

    st, r, doc = call(t, "POST", "/api/admin/domains", {"name": "Api.Test"})
    assert st == 201 and doc == {"name": "Api.Test"}
    assert r.getheader("Cache-Control") == "no-store"
    assert "api.test" in cli_lines(t, "domain", "list")

    st, _, doc = call(t, "POST", "/api/admin/users", {"address": "amy@api.test", "password": PW})
    assert st == 201 and doc == {"address": "amy@api.test"}
    assert "amy@api.test" in cli_lines(t, "user", "list")
    st, _, doc = call(t, "GET", "/api/admin/users/amy@api.test")
    assert st == 200 and doc["address"] == "amy@api.test" and doc["disabled"] is False
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["created"])
    assert set(doc) == {"address", "disabled", "quota_bytes", "created"}  # no hash

    # what the CLI adds, the API lists
    t.add_user("cli@example.test", PW)
    st, _, doc = call(t, "GET", "/api/admin/users")
    assert st == 200
    assert {u["address"] for u in doc["users"]} == {
        "postmaster@example.test", "amy@api.test", "cli@example.test"}

    st, _, doc = call(t, "POST", "/api/admin/aliases",
                      {"source": "info@api.test", "target": "amy@api.test"})
    assert st == 201 and doc == {"source": "info@api.test", "target": "amy@api.test"}
    assert "info@api.test -> amy@api.test" in cli_lines(t, "alias", "list")
    assert t.cli("alias", "add", "@api.test", "amy@api.test").returncode == 0
    st, _, doc = call(t, "GET", "/api/admin/aliases")
    assert st == 200 and {"source": "@api.test", "target": "amy@api.test"} in doc["aliases"]
    st, _, _ = call(t, "DELETE", "/api/admin/aliases/@api.test")
    assert st == 204
    st, _, _ = call(t, "DELETE", "/api/admin/aliases/info@api.test")
    assert st == 204
    assert cli_lines(t, "alias", "list") == []

    # a domain with accounts is not deleted; without, it is
    st, _, doc = call(t, "DELETE", "/api/admin/domains/api.test")
    assert st == 409 and "accounts" in doc["error"]
    st, _, _ = call(t, "DELETE", "/api/admin/users/amy%40api.test")  # percent-encoded too
    assert st == 204
    assert "amy@api.test" not in cli_lines(t, "user", "list")
    st, _, _ = call(t, "DELETE", "/api/admin/domains/api.test")
    assert st == 204
    assert cli_lines(t, "domain", "list") == ["example.test"]


def imap_login(t, user, password):
    m = imaplib.IMAP4_SSL(HOST, t.port("imaps"), ssl_context=ssl_ctx(), timeout=15)
    try:
        m.login(user, password)
        typ, data = m.select("INBOX")
        assert typ == "OK"
        m.logout()
        return True
    except imaplib.IMAP4.error:
        return False


def scram_keys(t, address):
    db = t.db()
    row = db.execute("SELECT scram_sha1, scram_sha256 FROM accounts WHERE address = ?",
                     (address,)).fetchone()
    db.close()
    return row


def test_user_made_over_the_api_logs_in_over_imap(api):
    t = api
    st, _, _ = call(t, "POST", "/api/admin/users", {"address": "bo@example.test", "password": PW})
    assert st == 201
    keys = scram_keys(t, "bo@example.test")  # made with the hash, before any login
    assert keys[0].startswith("4096,") and keys[1].startswith("4096,")
    assert imap_login(t, "bo@example.test", PW)
    assert not imap_login(t, "bo@example.test", PW + "x")

    new = "an0ther long password"
    st, _, _ = call(t, "POST", "/api/admin/users/bo@example.test/password", {"password": new})
    assert st == 204
    new_keys = scram_keys(t, "bo@example.test")
    assert new_keys[1].startswith("4096,") and new_keys != keys
    assert imap_login(t, "bo@example.test", new)
    assert not imap_login(t, "bo@example.test", PW)
    # a password the CLI set works the same way
    r = t.cli("user", "passwd", "bo@example.test", "--password-stdin", input=PW + "\n")
    assert r.returncode == 0
    assert imap_login(t, "bo@example.test", PW)

    st, _, doc = call(t, "POST", "/api/admin/users/bo@example.test/password", {"password": "short"})
    assert st == 400 and "at least 8" in doc["error"]
    st, _, doc = call(t, "POST", "/api/admin/users/nobody@example.test/password",
                      {"password": new})
    assert st == 404
    # neither password nor token reached the log
    logs = t.logs()
    for secret in (PW, new, t.token, t.token[5:]):
        assert secret not in logs
    assert "event=admin" in logs and 'op="user add"' in logs


def add_queue_rows(t, n):
    """Queue rows for remote recipients, due in a day: the runner leaves
    them alone until the API changes them."""
    now = int(time.time())
    with t.db() as db:
        cur = db.execute("INSERT INTO messages(size, refcount, created, data) VALUES(?,?,?,?)",
                         (20, n, now, b"Subject: q\r\n\r\nhi\r\n"))
        mid = cur.lastrowid
        ids = []
        for i in range(n):
            cur = db.execute(
                "INSERT INTO queue(message_id, mail_from, rcpt, next_attempt, expires, created)"
                " VALUES(?,?,?,?,?,?)",
                (mid, "postmaster@example.test", "r%d@remote.invalid" % i, now + 86400,
                 now + 5 * 86400, now))
            ids.append(cur.lastrowid)
    return ids


def test_queue_over_the_api(api):
    t = api
    ids = add_queue_rows(t, 3)
    st, _, doc = call(t, "GET", "/api/admin/queue")
    assert st == 200 and [q["id"] for q in doc["queue"]] == ids
    q = doc["queue"][0]
    assert q["to"] == "r0@remote.invalid" and q["from"] == "postmaster@example.test"
    assert q["attempts"] == 0 and q["last_error"] is None and q["cancelled"] is False
    st, _, doc = call(t, "GET", "/api/admin/queue/%d" % ids[1])
    assert st == 200 and doc["to"] == "r1@remote.invalid"

    st, _, _ = call(t, "DELETE", "/api/admin/queue/%d" % ids[1])
    assert st == 204
    listing = "\n".join(cli_lines(t, "queue", "list"))
    assert "r1@remote.invalid" not in listing and "r0@remote.invalid" in listing
    st, _, doc = call(t, "DELETE", "/api/admin/queue/%d" % ids[1])
    assert st == 404 and doc["error"] == "no queue entry %d" % ids[1]

    st, _, doc = call(t, "POST", "/api/admin/queue/%d/bounce" % ids[0])
    assert st == 200 and doc == {"id": ids[0], "changed": 1}
    st, _, doc = call(t, "POST", "/api/admin/queue/%d/retry" % ids[2], raw=b"{}",
                      headers={"Content-Type": "application/json"})
    assert st == 200 and doc == {"id": ids[2], "changed": 1}
    st, _, doc = call(t, "POST", "/api/admin/queue/999999/retry")
    assert st == 404
    st, _, doc = call(t, "GET", "/api/admin/queue/999999")
    assert st == 404
    st, _, doc = call(t, "GET", "/api/admin/queue/abc")
    assert st == 404


def test_curl(api):
    t = api
    url = "https://%s:%d/api/admin/domains" % (HOST, t.port("https"))
    r = subprocess.run(["curl", "-sk", "--http1.1", "-w", "\n%{http_code}", "-H",
                        "Authorization: Bearer " + t.token, "-H",
                        "Content-Type: application/json", "-d", '{"name":"curl.test"}', url],
                       capture_output=True, text=True, timeout=30)
    body, code = r.stdout.rsplit("\n", 1)
    assert code == "201" and json.loads(body) == {"name": "curl.test"}
    r = subprocess.run(["curl", "-sk", "--http1.1", "-H", "Authorization: Bearer " + t.token,
                        url], capture_output=True, text=True, timeout=30)
    assert {"name": "curl.test"} in json.loads(r.stdout)["domains"]


def test_auth_errors(api):
    t = api
    st, r, doc = call(t, "GET", "/api/admin/domains", token="")
    assert st == 401 and r.getheader("WWW-Authenticate").startswith("Bearer")
    assert "error" in doc
    st, r, _ = call(t, "GET", "/api/admin/domains", token="tern_" + "A" * 43)
    assert st == 401 and 'error="invalid_token"' in r.getheader("WWW-Authenticate")
    st, r, _ = call(t, "GET", "/api/admin/nothing-here", token="garbage")
    assert st == 401  # paths are not revealed without a token
    st, _, _ = call(t, "GET", "/api/admin/domains",
                    headers={"Authorization": "Basic " + t.token})
    assert st == 401

    # a token of another scope ("send" comes with the sending API; made
    # here by hand, since the CLI only hands out scopes that exist)
    other = "tern_" + "B" * 43
    with t.db() as db:
        db.execute("INSERT INTO tokens(name, scope, secret_sha256, created) VALUES(?,?,?,?)",
                   ("s", "send", hashlib.sha256(other.encode()).digest(), int(time.time())))
    st, _, doc = call(t, "GET", "/api/admin/domains", token=other)
    assert st == 403 and "scope" in doc["error"]

    # revoked: refused at the next request
    second = make_token(t, name="second")
    assert call(t, "GET", "/api/admin/domains", token=second)[0] == 200
    tid = [l.split()[0] for l in cli_lines(t, "token", "list") if l.endswith(" second")][0]
    assert t.cli("token", "revoke", tid).returncode == 0
    st, _, _ = call(t, "GET", "/api/admin/domains", token=second)
    assert st == 401
    assert call(t, "GET", "/api/admin/domains")[0] == 200

    # over plain HTTP the API is only a redirect to HTTPS
    st, r, _ = call(t, "GET", "/api/admin/domains", name="http",
                    headers={"Host": "mail.example.test"})
    assert st == 301 and r.getheader("Location").startswith("https://")

    # the token's last use is noted (lazily)
    deadline = time.time() + 5
    while time.time() < deadline:
        line = [l for l in cli_lines(t, "token", "list") if l.endswith(" test")][0]
        if line.split()[3] != "-":
            break
        time.sleep(0.1)
    assert line.split()[3] != "-", line
    assert t.token not in t.logs() and second not in t.logs()


def test_request_errors(api):
    t = api
    st, _, doc = call(t, "GET", "/api/admin/nothing")
    assert st == 404 and doc["error"]
    st, _, _ = call(t, "GET", "/api/admin/domains/example.test/more/deep")
    assert st == 404
    st, r, doc = call(t, "PUT", "/api/admin/domains", {"name": "x.test"})
    assert st == 405 and r.getheader("Allow") == "GET, HEAD, POST"
    st, r, _ = call(t, "GET", "/api/admin/users/x@example.test/password")
    assert st == 405 and r.getheader("Allow") == "POST"
    st, _, doc = call(t, "POST", "/api/admin/domains", raw=b'{"name": ',
                      headers={"Content-Type": "application/json"})
    assert st == 400 and "bad JSON" in doc["error"]
    st, _, doc = call(t, "POST", "/api/admin/domains", raw=b'["x.test"]',
                      headers={"Content-Type": "application/json"})
    assert st == 400 and "object" in doc["error"]
    st, _, doc = call(t, "POST", "/api/admin/domains", {"name": "x.test", "nmae": "y"})
    assert st == 400 and doc["error"] == 'unknown field "nmae"'
    st, _, doc = call(t, "POST", "/api/admin/domains", {"name": 5})
    assert st == 400 and "string" in doc["error"]
    st, _, doc = call(t, "POST", "/api/admin/domains", {})
    assert st == 400 and doc["error"] == 'missing field "name"'
    st, _, doc = call(t, "POST", "/api/admin/domains", raw=b'name=x.test',
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert st == 415
    st, _, doc = call(t, "POST", "/api/admin/domains", {"name": "bad domain"})
    assert st == 400 and "malformed" in doc["error"]
    st, _, doc = call(t, "POST", "/api/admin/domains", {"name": "example.test"})
    assert st == 409 and "already exists" in doc["error"]
    st, _, doc = call(t, "DELETE", "/api/admin/domains/none.test")
    assert st == 404 and doc["error"] == "no domain none.test"
    st, _, doc = call(t, "POST", "/api/admin/users",
                      {"address": "x@elsewhere.test", "password": PW})
    assert st == 422 and "not local" in doc["error"]
    st, _, doc = call(t, "POST", "/api/admin/users", {"address": "postmaster@example.test",
                                                        "password": PW})
    assert st == 409
    st, _, doc = call(t, "POST", "/api/admin/users", {"address": "x@example.test"})
    assert st == 400 and doc["error"] == 'missing field "password"'
    st, _, doc = call(t, "GET", "/api/admin/users/none@example.test")
    assert st == 404
    # over max_body (4096 here): 413 from the HTTP layer, before any parsing
    st, _, _ = call(t, "POST", "/api/admin/domains", {"name": "x" * 5000})
    assert st == 413
    # nothing of the above changed anything
    assert cli_lines(t, "domain", "list") == ["example.test"]
    assert cli_lines(t, "user", "list") == ["postmaster@example.test"]


def test_client_gone_while_the_password_hashes(api):
    """The session is held through the hash and the store job; a client
    that hangs up meanwhile leaves a change that still happens and a
    server that goes on."""
    t = api
    body = json.dumps({"address": "gone@example.test", "password": PW}).encode()
    for _ in range(3):
        s = ssl_ctx().wrap_socket(socket.create_connection((HOST, t.port("https")), timeout=10),
                                  server_hostname="localhost")
        s.sendall(b"POST /api/admin/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                  t.token.encode() + b"\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body)
        s.close()
    deadline = time.time() + 10
    while time.time() < deadline and "gone@example.test" not in cli_lines(t, "user", "list"):
        time.sleep(0.1)
    assert "gone@example.test" in cli_lines(t, "user", "list")
    assert call(t, "GET", "/api/admin/users/gone@example.test")[0] == 200
    assert t.stop() == 0  # and it stops cleanly (sanitizer reports fail here)


def test_webhooks_over_the_api(api):
    """`tern webhook add|list|delete|queue|retry` as endpoints: the secret
    is shown once at the add, never by the list; the CLI sees what the API
    made and the other way round; bad bodies get 400, an unknown owner 422,
    an unknown id 404; the token is required."""
    t = api
    assert t.cli("domain", "add", "hooks.test").returncode == 0
    t.add_user("owner@hooks.test", PW)
    st, _, doc = call(t, "POST", "/api/admin/webhooks",
                      {"account": "owner@hooks.test", "url": "https://hooks.example/in",
                       "events": "delivered,bounced"})
    assert st == 201, doc
    assert re.fullmatch(r"whsec_[0-9a-f]{64}", doc["secret"]), doc
    assert doc["account"] == "owner@hooks.test" and doc["events"] == "delivered,bounced"
    hook = doc["id"]
    st, _, doc2 = call(t, "POST", "/api/admin/webhooks",
                       {"domain": "hooks.test", "url": "http://hooks.example:8080/d"})
    assert st == 201 and doc2["events"] == "delivered,delayed,bounced", doc2
    st, _, lst = call(t, "GET", "/api/admin/webhooks")
    assert st == 200
    assert [(w["id"], w.get("account"), w.get("domain"), w["url"]) for w in lst["webhooks"]] == [
        (hook, "owner@hooks.test", None, "https://hooks.example/in"),
        (doc2["id"], None, "hooks.test", "http://hooks.example:8080/d")]
    assert doc["secret"] not in json.dumps(lst)
    listed = "\n".join(cli_lines(t, "webhook", "list"))
    assert "https://hooks.example/in" in listed and doc["secret"] not in listed
    assert doc["secret"] not in t.logs()

    # the error paths
    for body, want in (({"url": "https://x.example/"}, 400),
                       ({"account": "owner@hooks.test", "domain": "hooks.test",
                         "url": "https://x.example/"}, 400),
                       ({"account": "owner@hooks.test", "url": "ftp://x.example/"}, 400),
                       ({"account": "owner@hooks.test", "url": "https://x.example/",
                         "events": "delivered,delivered"}, 400),
                       ({"account": "owner@hooks.test", "url": "https://x.example/",
                         "events": "opened"}, 400),
                       ({"account": "owner@hooks.test", "url": "https://x.example/",
                         "secret": "mine"}, 400),
                       ({"account": "nobody@hooks.test", "url": "https://x.example/"}, 422),
                       ({"domain": "nowhere.test", "url": "https://x.example/"}, 422)):
        st, _, d = call(t, "POST", "/api/admin/webhooks", body)
        assert st == want, (body, st, d)
    assert call(t, "GET", "/api/admin/webhooks", token="")[0] == 401
    assert call(t, "GET", "/api/admin/webhook-events", token="")[0] == 401

    # an event the runner gave up on, listed and made due again
    db = t.db()
    db.execute("INSERT INTO webhook_events(webhook_id, event, created, next_attempt, attempts, "
               "failed_at, last_error) VALUES(?, ?, 1, 1, 7, 2, 'HTTP 500')",
               (hook, '{"event": "delivered", "rcpt": "x@far.test"}'))
    db.commit()
    db.close()
    st, _, ev = call(t, "GET", "/api/admin/webhook-events")
    assert st == 200, ev
    (e,) = ev["events"]
    assert e["webhook_id"] == hook and e["state"] == "failed" and e["attempts"] == 7
    assert e["payload"] == {"event": "delivered", "rcpt": "x@far.test"}
    assert e["last_error"] == "HTTP 500"
    st, _, r = call(t, "POST", "/api/admin/webhook-events/%d/retry" % e["id"])
    assert st == 200 and r["changed"] == 1, r
    (e2,) = call(t, "GET", "/api/admin/webhook-events")[2]["events"]
    assert e2["state"] == "pending" and e2["failed_at"] == 0
    assert call(t, "POST", "/api/admin/webhook-events/999999/retry")[0] == 404
    assert call(t, "POST", "/api/admin/webhook-events/x/retry")[0] == 404
    assert call(t, "GET", "/api/admin/webhook-events/1")[0] in (404, 405)

    # delete: its events go with it; a second delete is 404
    assert call(t, "DELETE", "/api/admin/webhooks/%d" % hook)[0] == 204
    assert call(t, "DELETE", "/api/admin/webhooks/%d" % hook)[0] == 404
    assert call(t, "GET", "/api/admin/webhook-events")[2]["events"] == []
    assert call(t, "PUT", "/api/admin/webhooks")[0] == 405
    listed = "\n".join(cli_lines(t, "webhook", "list"))
    assert "https://hooks.example/in" not in listed and "http://hooks.example:8080/d" in listed
    assert 'op="webhook delete"' in t.logs()

    # "incoming" (mail delivered into the account) is asked for, once at most
    st, _, d = call(t, "POST", "/api/admin/webhooks",
                    {"account": "owner@hooks.test", "url": "https://hooks.example/mail",
                     "events": "incoming,bounced"})
    assert st == 201 and d["events"] == "incoming,bounced", d
    st, _, d = call(t, "POST", "/api/admin/webhooks",
                    {"account": "owner@hooks.test", "url": "https://hooks.example/mail",
                     "events": "incoming,incoming"})
    assert st == 400 and "incoming" in d["error"], d
