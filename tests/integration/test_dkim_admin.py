"""Quotas, DKIM keys and the DNS records to publish, over the admin API
and the CLI (issue 17).

A quota set over the API is what IMAP's GETQUOTAROOT reports and what
APPEND is refused over. DKIM keys made over the API and the CLI are
checked against their published p= values with python3-cryptography: a
string signed with the private key (read from the store here, test-only:
neither the API nor the CLI ever shows one) verifies with the public key
of the TXT record.
"""
import base64
import imaplib
import re
import smtplib
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding

from conftest import HOST, ssl_ctx
from test_admin_api import PW, WEB, call, cli_lines, make_token


@pytest.fixture
def api(tern_factory):
    t = tern_factory(extra_config="[http]\nmax_body = 4096\n", listeners=WEB)
    t.token = make_token(t)
    return t


def imap(t, user, password):
    m = imaplib.IMAP4_SSL(HOST, t.port("imaps"), ssl_context=ssl_ctx(), timeout=15)
    m.login(user, password)
    return m


# ---- quotas ---------------------------------------------------------------

def test_quota_over_the_api_reaches_imap(api):
    t = api
    st, _, _ = call(t, "POST", "/api/admin/users", {"address": "qa@example.test", "password": PW})
    assert st == 201
    st, _, doc = call(t, "POST", "/api/admin/users/qa@example.test/quota",
                      {"quota_bytes": 1048576})
    assert st == 200 and doc == {"address": "qa@example.test", "quota_bytes": 1048576}
    st, _, doc = call(t, "GET", "/api/admin/users/qa@example.test")
    assert st == 200 and doc["quota_bytes"] == 1048576
    assert "qa@example.test (quota 1M)" in cli_lines(t, "user", "list")

    m = imap(t, "qa@example.test", PW)
    typ, data = m.getquotaroot("INBOX")
    assert typ == "OK"
    flat = [d.decode() for part in data for d in part]
    assert '"" (STORAGE 0 1024)' in flat, flat
    # over the quota: APPEND is refused
    big = b"Subject: big\r\n\r\n" + (b"x" * 1000 + b"\r\n") * 1100
    typ, data = m.append("INBOX", None, None, big)
    assert typ == "NO" and b"OVERQUOTA" in data[0], data
    small = b"Subject: small\r\n\r\nhello\r\n"
    typ, _ = m.append("INBOX", None, None, small)
    assert typ == "OK"
    m.logout()

    # no limit again, from the CLI; the API sees it
    assert t.cli("user", "quota", "qa@example.test", "none").returncode == 0
    st, _, doc = call(t, "GET", "/api/admin/users/qa@example.test")
    assert doc["quota_bytes"] == 0
    m = imap(t, "qa@example.test", PW)
    typ, _ = m.append("INBOX", None, None, big)
    assert typ == "OK"
    m.logout()


def test_delivery_over_quota_is_refused(api):
    t = api
    st, _, _ = call(t, "POST", "/api/admin/users", {"address": "full@example.test", "password": PW})
    assert st == 201
    st, _, _ = call(t, "POST", "/api/admin/users/full@example.test/quota", {"quota_bytes": 2048})
    assert st == 200

    def send(body):
        with smtplib.SMTP(HOST, t.port("smtp"), timeout=15) as c:
            c.ehlo("client.example")
            c.mail("someone@remote.example")
            code, msg = c.rcpt("full@example.test")
            if code == 250:
                c.data("Subject: q\r\n\r\n" + body + "\r\n")
            return code, msg
    assert send("x" * 3000)[0] == 250  # fits at RCPT: taken, now over
    code, msg = send("more")
    assert code == 452 and msg.startswith(b"4.2.2"), msg
    st, _, _ = call(t, "POST", "/api/admin/users/full@example.test/quota", {"quota_bytes": 0})
    assert send("more")[0] == 250


def test_quota_errors(api):
    t = api
    path = "/api/admin/users/postmaster@example.test/quota"
    for body in ({"quota_bytes": "1G"}, {"quota_bytes": -1}, {}, {"quota_bytes": 1.5},
                 {"quota_bytes": 1, "x": 2}):
        st, _, doc = call(t, "POST", path, body)
        assert st == 400 and "error" in doc, (body, doc)
    st, _, doc = call(t, "POST", "/api/admin/users/nobody@example.test/quota",
                      {"quota_bytes": 5})
    assert st == 404 and doc == {"error": "no user nobody@example.test"}
    st, r, _ = call(t, "GET", path)
    assert st == 405 and r.getheader("Allow") == "POST"
    r = t.cli("user", "quota", "postmaster@example.test", "lots")
    assert r.returncode == 2 and "not a size" in r.stderr
    r = t.cli("user", "quota", "nobody@example.test", "1G")
    assert r.returncode == 1 and "no such entry" in r.stderr
    assert cli_lines(t, "user", "quota", "postmaster@example.test", "2G") == [
        "quota of postmaster@example.test set to 2G"]
    with t.db() as db:
        (q,) = db.execute("SELECT quota_bytes FROM accounts WHERE address = ?",
                          ("postmaster@example.test",)).fetchone()
    assert q == 2 << 30


# ---- DKIM keys ------------------------------------------------------------

def private_key(t, domain, selector):
    """Test-only: the store's private key (no admin path shows it)."""
    with t.db() as db:
        row = db.execute(
            "SELECT k.private_key FROM dkim_keys k JOIN domains d ON d.id = k.domain_id "
            "WHERE d.name = ? AND k.selector = ?", (domain, selector)).fetchone()
    return row[0]


def check_pair(algorithm, private, record):
    """The TXT record's p= verifies a signature made with private."""
    fields = dict(f.strip().split("=", 1) for f in record.split(";"))
    assert fields["v"] == "DKIM1"
    pub = base64.b64decode(fields["p"])
    msg = b"tern dkim check"
    if algorithm == "rsa-sha256":
        assert fields["k"] == "rsa"
        key = serialization.load_pem_private_key(private.encode(), None)
        assert key.key_size == 2048
        sig = key.sign(msg, padding.PKCS1v15(), hashes.SHA256())
        serialization.load_der_public_key(pub).verify(sig, msg, padding.PKCS1v15(),
                                                      hashes.SHA256())
    else:
        assert fields["k"] == "ed25519" and len(pub) == 32
        seed = base64.b64decode(private)
        assert len(seed) == 32
        sig = ed25519.Ed25519PrivateKey.from_private_bytes(seed).sign(msg)
        ed25519.Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)


def test_dkim_keys_over_the_api(api):
    t = api
    base = "/api/admin/domains/example.test/dkim"
    st, _, doc = call(t, "GET", base)
    assert st == 200 and doc == {"keys": []}
    st, _, doc = call(t, "POST", base, {"algorithm": "ed25519", "selector": "api1"})
    assert st == 201, doc
    assert doc["selector"] == "api1" and doc["algorithm"] == "ed25519-sha256"
    assert doc["dns"]["name"] == "api1._domainkey.example.test"
    ed_record = doc["dns"]["value"]
    st, _, doc = call(t, "POST", base, {"algorithm": "rsa-2048"})
    assert st == 201, doc
    sel = time.strftime("t%Y%mr", time.gmtime())
    assert doc["selector"] == sel and doc["algorithm"] == "rsa-sha256"
    rsa_record = doc["dns"]["value"]
    check_pair("ed25519-sha256", private_key(t, "example.test", "api1"), ed_record)
    check_pair("rsa-sha256", private_key(t, "example.test", sel), rsa_record)

    st, _, doc = call(t, "GET", base)
    assert st == 200 and [k["selector"] for k in doc["keys"]] == ["api1", sel]
    assert all(k["retired"] is None for k in doc["keys"])
    assert set(doc["keys"][0]) == {"domain", "selector", "algorithm", "public_key", "created",
                                   "retired"}
    # the CLI sees them; no private key anywhere it or the API shows
    listing = t.cli("dkim", "list", "example.test").stdout
    assert "api1" in listing and sel in listing and "2 keys" in listing
    for sel_ in ("api1", sel):
        secret = private_key(t, "example.test", sel_)
        assert secret not in listing and secret not in t.logs()
        assert secret not in str(doc)

    # errors
    st, _, doc = call(t, "POST", base, {"algorithm": "ed25519", "selector": "api1"})
    assert st == 409 and "api1" in doc["error"]
    st, _, doc = call(t, "POST", base, {"algorithm": "dsa"})
    assert st == 400
    st, _, doc = call(t, "POST", base, {"algorithm": "ed25519", "selector": "bad selector"})
    assert st == 400
    st, _, doc = call(t, "POST", "/api/admin/domains/nowhere.test/dkim", {"algorithm": "ed25519"})
    assert st == 404
    st, _, doc = call(t, "GET", "/api/admin/domains/nowhere.test/dkim")
    assert st == 404

    # retire: gone from DNS, kept in the list, the selector never reused
    st, _, _ = call(t, "DELETE", base + "/api1")
    assert st == 204
    st, _, doc = call(t, "DELETE", base + "/api1")
    assert st == 404 and doc == {"error": "no live DKIM key api1 for example.test"}
    st, r, _ = call(t, "GET", base + "/api1")
    assert st == 405 and r.getheader("Allow") == "DELETE"
    st, _, doc = call(t, "GET", base)
    assert doc["keys"][0]["retired"] is not None and doc["keys"][1]["retired"] is None
    st, _, doc = call(t, "POST", base, {"algorithm": "ed25519", "selector": "api1"})
    assert st == 409
    st, _, doc = call(t, "GET", "/api/admin/domains/example.test/dns")
    assert st == 200
    names = [r["name"] for r in doc["records"]]
    assert "api1._domainkey.example.test" not in names
    assert sel + "._domainkey.example.test" in names


def test_dns_records_over_the_api(api):
    t = api
    st, _, doc = call(t, "GET", "/api/admin/domains/example.test/dns")
    assert st == 200
    recs = {(r["name"], r["type"]): r["value"] for r in doc["records"]}
    host = "localhost"
    assert recs[("example.test", "MX")].endswith(".") and recs[("example.test", "MX")].startswith("10 ")
    assert recs[("example.test", "TXT")] == "v=spf1 mx -all"
    assert recs[("_dmarc.example.test", "TXT")].startswith("v=DMARC1; p=quarantine; rua=mailto:")
    assert recs[("_smtp._tls.example.test", "TXT")].startswith("v=TLSRPTv1; rua=mailto:")
    assert ("autoconfig.example.test", "CNAME") in recs
    assert ("autodiscover.example.test", "CNAME") in recs
    prio, weight, port, target = recs[("_autodiscover._tcp.example.test", "SRV")].split()
    assert int(port) == t.port("https") and target.endswith(".")
    for name, listener in (("_submissions._tcp", "submissions"), ("_submission._tcp", "submission"),
                           ("_imaps._tcp", "imaps"), ("_imap._tcp", "imap"),
                           ("_pop3s._tcp", "pop3s"), ("_pop3._tcp", "pop3")):
        value = recs[(name + ".example.test", "SRV")]
        prio, weight, port, target = value.split()
        assert int(port) == t.port(listener) and target.endswith(".")
    # MTA-STS is off by default: no TXT record pointing at a missing policy
    assert ("_mta-sts.example.test", "TXT") not in recs
    st, _, doc = call(t, "GET", "/api/admin/domains/nowhere.test/dns")
    assert st == 404


def test_mta_sts_record_id_follows_the_policy(tern_factory):
    def record(mode):
        t = tern_factory(extra_config='[http]\nmta_sts_mode = "%s"\n' % mode, listeners=WEB)
        t.token = make_token(t)
        st, _, doc = call(t, "GET", "/api/admin/domains/example.test/dns")
        assert st == 200
        recs = {(r["name"], r["type"]): r["value"] for r in doc["records"]}
        assert ("mta-sts.example.test", "CNAME") in recs
        value = recs[("_mta-sts.example.test", "TXT")]
        assert re.fullmatch(r"v=STSv1; id=[0-9a-f]{16}", value), value
        # the CLI, reading the same config, says the same
        assert value in t.cli("domain", "dns", "example.test").stdout
        return value
    assert record("testing") != record("enforce")


# ---- the CLI --------------------------------------------------------------

def test_dkim_cli(tern_factory):
    t = tern_factory(start=False)
    t.add_domain("example.test")
    out = cli_lines(t, "dkim", "keygen", "example.test")
    rsa = time.strftime("t%Y%mr", time.gmtime())
    ed = time.strftime("t%Y%me", time.gmtime())
    assert out == ["dkim key %s._domainkey.example.test (rsa-sha256) created" % rsa,
                   "dkim key %s._domainkey.example.test (ed25519-sha256) created" % ed]
    r = t.cli("dkim", "keygen", "example.test")
    assert r.returncode == 1 and "--selector" in r.stderr
    assert cli_lines(t, "dkim", "keygen", "example.test", "--algorithm", "ed25519",
                     "--selector", "spare") == [
        "dkim key spare._domainkey.example.test (ed25519-sha256) created"]
    r = t.cli("dkim", "keygen", "nowhere.test", "--algorithm", "rsa-2048")
    assert r.returncode == 1 and "tern domain add nowhere.test" in r.stderr
    r = t.cli("dkim", "keygen", "example.test", "--algorithm", "dsa")
    assert r.returncode == 2
    r = t.cli("dkim", "keygen", "example.test", "--selector", "x")
    assert r.returncode == 2 and "--algorithm" in r.stderr

    listing = t.cli("dkim", "list").stdout
    assert "3 keys" in listing
    for sel in (rsa, ed, "spare"):
        assert private_key(t, "example.test", sel) not in listing

    zone = t.cli("domain", "dns", "example.test").stdout
    # the zone file's TXT strings are at most 255 bytes; joined, they verify
    records = {}
    for m in re.finditer(r"^(\S+)\.\t3600\tIN\tTXT\t(\(.*?\)|\"[^\n]*\")$", zone, re.M | re.S):
        parts = re.findall(r'"([^"]*)"', m.group(2))
        assert all(len(p) <= 255 for p in parts)
        records[m.group(1)] = "".join(parts)
    rsa_txt = records[rsa + "._domainkey.example.test"]
    assert len(rsa_txt) > 255
    check_pair("rsa-sha256", private_key(t, "example.test", rsa), rsa_txt)
    check_pair("ed25519-sha256", private_key(t, "example.test", ed),
               records[ed + "._domainkey.example.test"])
    assert "\tIN\tMX\t10 " in zone and "_imaps._tcp.example.test." in zone

    assert cli_lines(t, "dkim", "retire", "example.test", "spare") == [
        "dkim key spare._domainkey.example.test retired"]
    r = t.cli("dkim", "retire", "example.test", "spare")
    assert r.returncode == 1 and "no live key" in r.stderr
    assert "spare._domainkey" not in t.cli("domain", "dns", "example.test").stdout
    r = t.cli("domain", "dns", "nowhere.test")
    assert r.returncode == 1 and "not a local domain" in r.stderr
