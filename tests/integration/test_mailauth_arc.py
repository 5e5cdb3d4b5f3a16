"""ARC (RFC 8617) at the mx listener (proto/smtp/judge.c): a message from a
p=reject domain goes through a "mailing list" that changes its body (the
author's DKIM signature breaks) and seals it with dkimpy's arc_sign. The
list's Authentication-Results say the author's DKIM, SPF and DMARC
passed. tern trusts the sealer list.test ([auth] arc_trusted_sealers),
not evil-list.test. Checked: the untrusted sealer's copy gets 550 (with
arc=pass logged); the trusted sealer's copy is delivered with arc=pass in
our Authentication-Results, a DMARC failure overridden (override=arc in
the log, RFC 8617 7.2.1's comment in the field, the metric); a chain
broken after sealing is arc=fail and 550; an unsealed message is arc=none.
dnsmasq on 127.0.0.1 answers the keys and the DMARC record. And tern seals
what an alias forwards to a remote address with the alias domain's key
(`tern dkim keygen`): dkimpy's arc_verify passes it, and a sealed list
message forwarded on gets instance 2 with cv=pass."""
import base64
import os
import re
import smtplib
import subprocess
import tempfile

import pytest

from conftest import free_port
from mailauth_helpers import ar_fields, smtp_counters
from relayutil import (dns_cleanup, DNSMASQ, Dns, ScriptedSmtp, queue_config,  # noqa: F401
                       wait_for)

pytestmark = pytest.mark.skipif(not os.path.exists(DNSMASQ), reason="dnsmasq not installed")
dkim = pytest.importorskip("dkim", reason="python3-dkim (dkimpy) is not installed")
rsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa",
                          reason="python3-cryptography is not installed")
from cryptography.hazmat.primitives import serialization  # noqa: E402

AUTHSERV = "mail.example.test"  # conftest's [server] hostname
USER = "bob@example.test"
# 1024 bits: the key record stays one TXT string (dnsmasq), and tern's floor
_KEY = rsa.generate_private_key(public_exponent=65537, key_size=1024)
PRIVATE = _KEY.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())
PUBLIC = base64.b64encode(_KEY.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
KEY_RECORD = "v=DKIM1; k=rsa; p=" + PUBLIC

RECORDS = [
    "--txt-record=orig.test,v=spf1 ip4:127.0.0.2 -all",
    "--txt-record=_dmarc.orig.test,v=DMARC1; p=reject",
    "--txt-record=sel._domainkey.orig.test," + KEY_RECORD,
    "--txt-record=arc._domainkey.list.test," + KEY_RECORD,
    "--txt-record=arc._domainkey.evil-list.test," + KEY_RECORD,
]


@pytest.fixture(scope="module")
def dns():
    d = tempfile.mkdtemp(prefix="tern-arc-dns-")
    yield Dns(RECORDS, d)


@pytest.fixture
def dns_cleanup():  # the module's dnsmasq lives for all its tests
    yield


@pytest.fixture(scope="module")
def server(dns):
    from conftest import Tern
    d = tempfile.mkdtemp(prefix="tern-arc-")
    t = Tern(d, extra_config=queue_config(dns, 25),
             listeners=[("smtp", "smtp", "none"), ("https", "http", "implicit")],
             auth={"check_timeout": 3, "trusted_networks": '"127.0.0.1"',
                   "arc_trusted_sealers": '"list.test, other.example"'})
    t.start()
    t.add_user(USER, "a long password 42")
    yield t
    t.stop()
    dns.stop()
    os.system("rm -rf '%s'" % d)


def authored(subject):
    """The author's message, DKIM-signed by orig.test (p=reject)."""
    msg = (b"From: <a@orig.test>\r\nTo: <" + USER.encode() + b">\r\n"
           b"Subject: " + subject.encode() + b"\r\nDate: Sun, 6 Dec 2026 18:00:00 +0000\r\n"
           b"Message-ID: <" + subject.replace(" ", ".").encode() + b"@orig.test>\r\n"
           b"\r\nHello list.\r\n")
    return dkim.sign(msg, b"sel", b"orig.test", PRIVATE,
                     include_headers=[b"from", b"to", b"subject", b"date"]) + msg


def through_list(subject, sealer):
    """What the list sends on: its footer added (the author's DKIM breaks),
    its Authentication-Results of the author's message, its ARC set."""
    msg = authored(subject) + b"-- \r\nThe list's footer.\r\n"
    msg = (b"Authentication-Results: " + sealer.encode() + b"; dkim=pass header.d=orig.test;"
           b" spf=pass smtp.mailfrom=a@orig.test; dmarc=pass header.from=orig.test\r\n" + msg)
    arc = dkim.arc_sign(msg, b"arc", sealer.encode(), PRIVATE, sealer.encode(),
                        include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    assert len(arc) == 3, arc
    return b"".join(arc) + msg


def send(t, msg, mail_from="bounce@list.test"):
    with smtplib.SMTP(t.host, t.port("smtp"), local_hostname="list.test", timeout=20,
                      source_address=("127.0.0.3", 0)) as s:
        s.ehlo("list.test")
        assert s.mail(mail_from)[0] == 250
        assert s.rcpt(USER)[0] == 250
        code, text = s.data(msg)
        return code, text.decode()


def stored(t, subject):
    db = t.db()
    try:
        for (data,) in db.execute("SELECT data FROM messages"):
            if b"Subject: " + subject.encode() + b"\r\n" in bytes(data):
                return bytes(data)
    finally:
        db.close()
    return None


def our_ar(data):
    return next((f for f in ar_fields(data) if f.startswith("Authentication-Results: " + AUTHSERV)),
                None)


def test_untrusted_sealer_rejected(server):
    code, text = send(server, through_list("untrusted", "evil-list.test"))
    assert code == 550 and "orig.test" in text, text
    assert stored(server, "untrusted") is None
    log = server.logs()
    assert "arc=pass" in log and "override=arc" not in log


def test_trusted_sealer_delivered(server):
    code, text = send(server, through_list("trusted", "list.test"))
    assert code == 250, text
    ar = our_ar(stored(server, "trusted"))
    assert ar, "no Authentication-Results of ours"
    assert "dkim=fail" in ar and "header.d=orig.test" in ar, ar
    assert "arc=pass smtp.remote-ip=127.0.0.3" in ar, ar
    assert "dmarc=fail (arc=pass as[1].d=list.test as[1].s=arc) header.from=orig.test" in ar, ar
    assert "override=arc" in server.logs()


def test_broken_chain_rejected(server):
    msg = through_list("broken", "list.test").replace(b"Hello list.", b"Hello l1st.")
    code, text = send(server, msg)
    assert code == 550, text
    assert stored(server, "broken") is None
    assert "arc=fail" in server.logs()


def test_unsealed_is_arc_none(server):
    code, text = send(server, authored("unsealed"), mail_from="a@orig.test")
    assert code == 250, text  # DKIM passes and aligns
    ar = our_ar(stored(server, "unsealed"))
    assert "arc=none" in ar and "dmarc=pass" in ar, ar


def test_metrics(server):
    """Runs last."""
    got = smtp_counters(server)
    assert got['tern_smtp_arc_results_total{result="pass"}'] >= 2, got
    assert got['tern_smtp_arc_results_total{result="fail"}'] >= 1, got
    assert got['tern_smtp_dmarc_actions_total{action="override"}'] >= 1, got


RX = "127.0.0.9"


def published_keys(t, domain):
    """name -> TXT value of the DKIM records `tern domain dns` prints."""
    r = t.cli("domain", "dns", domain)
    assert r.returncode == 0, r.stderr
    keys = {}
    for m in re.finditer(r"^(\S+\._domainkey\.\S+)\.\s+\d+\s+IN\s+TXT\s+(\(.*?\)|\".*?\")\s*$",
                         r.stdout, re.M | re.S):
        keys[m.group(1).lower()] = "".join(re.findall(r'"([^"]*)"', m.group(2))).encode()
    return keys


def test_forward_is_sealed(tern_factory):
    d = tempfile.mkdtemp(prefix="tern-arc-fwd-dns-")
    dns = Dns(RECORDS + ["--mx-host=r.test,mx.r.test,10", "--host-record=mx.r.test,%s" % RX], d)
    rx = ScriptedSmtp(RX, free_port(RX), lambda line, st: None)
    try:
        a = tern_factory(domain="a.test", host="127.0.0.2",
                         listeners=[("smtp", "smtp", "none")],
                         extra_config=queue_config(dns, rx.port),
                         auth={"check_timeout": 3, "trusted_networks": '"127.0.0.1"',
                               "arc_trusted_sealers": '"list.test"'})
        assert a.cli("dkim", "keygen", "a.test").returncode == 0
        assert a.cli("alias", "add", "fwd@a.test", "carol@r.test").returncode == 0
        keys = published_keys(a, "a.test")
        keys["arc._domainkey.list.test"] = KEY_RECORD.encode()
        keys["sel._domainkey.orig.test"] = KEY_RECORD.encode()

        def dnsfunc(name, timeout=5):
            n = name.decode() if isinstance(name, bytes) else name
            return keys.get(n.rstrip(".").lower(), b"")

        plain = (b"From: <x@r.test>\r\nTo: <fwd@a.test>\r\nSubject: plain fwd\r\n"
                 b"Message-ID: <plain.fwd@r.test>\r\n\r\nForward me.\r\n")
        for subject, msg in (("plain fwd", plain),
                             ("list fwd", through_list("list fwd", "list.test"))):
            with smtplib.SMTP(a.host, a.port("smtp"), local_hostname="list.test", timeout=20,
                              source_address=("127.0.0.3", 0)) as s:
                s.ehlo("list.test")
                s.sendmail("bounce@list.test", ["fwd@a.test"], msg)
            (_, rcpts, data), = wait_for(
                lambda: [m for m in rx.messages if b"Subject: " + subject.encode() in m[2]],
                timeout=20, what="the forward")
            assert rcpts == ["carol@r.test"]
            cv, results, why = dkim.arc_verify(data, dnsfunc=dnsfunc)
            assert cv == dkim.CV_Pass, (cv, why, data[:1500])
            n = 1 if subject == "plain fwd" else 2
            assert results[0]["instance"] == n, results
            assert b"d=a.test" in data.split(b"ARC-Seal:", 1)[1][:400]
    finally:
        rx.stop()
        dns.stop()
        subprocess.run(["rm", "-rf", d])
