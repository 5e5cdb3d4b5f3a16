"""DKIM signing of what tern sends (relay/dkim_signer.c), end to end.

tern serves a.test with keys from `tern dkim keygen`; a submission over
TLS+AUTH to a remote address leaves through the relay to a scripted SMTP
receiver that dnsmasq names as r.test's MX. What arrives carries an
ed25519-sha256 and an rsa-sha256 DKIM-Signature, and dkimpy verifies both
with the TXT records `tern domain dns a.test` printed; a tampered copy
fails. A bounce tern writes (an alias forwarding to an address the
receiver refuses, the original sender remote) is signed too, d=a.test for
From MAILER-DAEMON@mail.a.test. With two live selectors of one algorithm
both sign; once `tern dkim retire` retired one, it signs no more.
The CPU per dual signature is read from the server's own counter.
"""
import os
import re
import smtplib
import subprocess
import tempfile
import time

import pytest

from conftest import LISTENERS, TERN_BIN, free_port, ssl_ctx
from mailauth_helpers import metrics_page
from relayutil import (dns_cleanup, DNSMASQ, Dns, ScriptedSmtp, queue_config, queue_rows,
                      submit, wait_for)  # noqa: F401 (dns_cleanup is an autouse fixture)

dkim = pytest.importorskip("dkim", reason="python3-dkim (dkimpy) is not installed")
pytest.importorskip("nacl", reason="python3-nacl (dkimpy's ed25519) is not installed")
pytestmark = pytest.mark.skipif(not os.path.exists(DNSMASQ), reason="dnsmasq not installed")

PW = "dkim-sign-password-1"
RX = "127.0.0.9"
WEB = LISTENERS + [("https", "http", "implicit")]
RECORDS = ["--mx-host=r.test,mx.r.test,10", "--host-record=mx.r.test,%s" % RX]


def refuse_bad(line, st):
    if line.upper().startswith("RCPT") and "bad@r.test" in line:
        return "550 5.1.1 <bad@r.test>: no such user"
    return None


@pytest.fixture
def env(tern_factory):
    d = tempfile.mkdtemp(prefix="tern-dns-")
    dns = Dns(RECORDS, d)
    rx = ScriptedSmtp(RX, free_port(RX), refuse_bad)
    a = tern_factory(domain="a.test", host="127.0.0.2", listeners=WEB,
                     extra_config=queue_config(dns, rx.port))
    a.add_user("alice@a.test", PW)
    yield a, rx
    rx.stop()
    dns.stop()
    subprocess.run(["rm", "-rf", d])


def published_keys(t, domain):
    """name -> TXT value, for every DKIM record `tern domain dns` prints."""
    r = t.cli("domain", "dns", domain)
    assert r.returncode == 0, r.stderr
    text = r.stdout
    keys = {}
    # a record may span lines: ( "part" "part" )
    for m in re.finditer(r"^(\S+\._domainkey\.\S+)\.\s+\d+\s+IN\s+TXT\s+(\(.*?\)|\".*?\")\s*$",
                         text, re.M | re.S):
        keys[m.group(1).lower()] = "".join(re.findall(r'"([^"]*)"', m.group(2))).encode()
    return keys


def dnsfunc_for(keys):
    def f(name, timeout=5):
        n = name.decode() if isinstance(name, bytes) else name
        return keys.get(n.rstrip(".").lower(), b"")
    return f


def signatures(data):
    """(a=, s=, d=) of each DKIM-Signature, top first."""
    out = []
    for i, (name, value) in enumerate(dkim.DKIM(data).headers):
        if name.lower() == b"dkim-signature":
            tags = dict(re.findall(rb"\b([a-z]+)=([^;]*)", re.sub(rb"\s+", b"", value)))
            out.append((tags[b"a"].decode(), tags[b"s"].decode(), tags[b"d"].decode()))
    return out


def verify_all(data, keys):
    """dkimpy's verdict per signature (a body hash mismatch raises)."""
    out = []
    for i in range(len(signatures(data))):
        try:
            out.append(dkim.DKIM(data).verify(idx=i, dnsfunc=dnsfunc_for(keys)))
        except dkim.DKIMException:
            out.append(False)
    return out


def message(subject, to, size=0):
    body = b"Hello from a.test.\r\n"
    while len(body) < size:
        body += b"a line of text to make the message about four KiB long....\r\n"
    return (b"From: Alice <alice@a.test>\r\nTo: <%s>\r\nSubject: %s\r\n"
            b"Date: Sun, 06 Dec 2026 21:00:00 +0000\r\nMessage-ID: <%s@a.test>\r\n\r\n"
            % (to.encode(), subject.encode(), subject.encode()) + body)


def sample(text, name, labels=""):
    key = name + ("{%s}" % labels if labels else "")
    for line in text.splitlines():
        if line.startswith(key + " "):
            return float(line.split()[-1])
    raise AssertionError("no sample %s" % key)


def received(rx, pred, what):
    return wait_for(lambda: [m for m in rx.messages if pred(m)], timeout=30, what=what)


def dump(a):
    print("---- tern log ----\n" + a.logs()[-8000:])


def test_submission_is_dual_signed_and_dkimpy_verifies(env):
    a, rx = env
    assert a.cli("dkim", "keygen", "a.test").returncode == 0
    keys = published_keys(a, "a.test")
    assert len(keys) == 2, keys
    try:
        submit(a, "alice@a.test", PW, ["bob@r.test"], message("dual", "bob@r.test"))
        (mail_from, rcpts, data), = received(rx, lambda m: b"dual@a.test" in m[2], "the mail")
        sigs = signatures(data)
        assert sorted(s[0] for s in sigs) == ["ed25519-sha256", "rsa-sha256"], sigs
        assert all(s[2] == "a.test" for s in sigs)
        assert data.startswith(b"DKIM-Signature:"), data[:200]
        assert verify_all(data, keys) == [True, True]
        # h= over-signs From (one more than present): an added From breaks it
        assert b"from:from" in re.sub(rb"\s+", b"", data.split(b"\r\n\r\n")[0]).lower()
        # tampering fails: the body, a signed header, an added From
        assert verify_all(data.replace(b"Hello from", b"Hello frim"), keys) == [False, False]
        assert verify_all(data.replace(b"Subject: dual", b"Subject: duel"), keys) == [False, False]
        head, body = data.split(b"\r\n\r\n", 1)
        forged = head + b"\r\nFrom: mallory@evil.test\r\n\r\n" + body
        assert verify_all(forged, keys) == [False, False]
    except Exception:
        dump(a)
        raise


def test_bounce_is_signed(env):
    a, rx = env
    assert a.cli("dkim", "keygen", "a.test").returncode == 0
    keys = published_keys(a, "a.test")
    assert a.cli("alias", "add", "fwd@a.test", "bad@r.test").returncode == 0
    try:
        with smtplib.SMTP(a.host, a.port("smtp"), timeout=30) as s:
            s.ehlo("sender.r.test")
            s.sendmail("sender@r.test", ["fwd@a.test"],
                       b"From: sender@r.test\r\nTo: fwd@a.test\r\nSubject: to bounce\r\n"
                       b"Message-ID: <bounce-me@r.test>\r\n\r\nThis will bounce.\r\n")
        (mail_from, rcpts, data), = received(
            rx, lambda m: m[0] == "" and m[1] == ["sender@r.test"], "the bounce")
        assert b"From: Mail Delivery System <MAILER-DAEMON@mail.a.test>" in data
        sigs = signatures(data)
        assert sorted(s[0] for s in sigs) == ["ed25519-sha256", "rsa-sha256"], sigs
        assert all(s[2] == "a.test" for s in sigs)
        assert verify_all(data, keys) == [True, True]
        # the forwarded message itself (From r.test) is not ours to sign
        wait_for(lambda: queue_rows(a) == [], what="the queue to empty")
        assert "sign_failed" not in a.logs()
    except Exception:
        dump(a)
        raise


def test_rotation_two_selectors_sign_then_retire(env):
    a, rx = env
    assert a.cli("dkim", "keygen", "a.test", "--algorithm", "ed25519", "--selector",
                 "old").returncode == 0
    assert a.cli("dkim", "keygen", "a.test", "--algorithm", "ed25519", "--selector",
                 "new").returncode == 0
    keys = published_keys(a, "a.test")
    try:
        submit(a, "alice@a.test", PW, ["bob@r.test"], message("two", "bob@r.test"))
        (_, _, data), = received(rx, lambda m: b"two@a.test" in m[2], "the first mail")
        assert sorted(s[1] for s in signatures(data)) == ["new", "old"]
        assert verify_all(data, keys) == [True, True]

        assert a.cli("dkim", "retire", "a.test", "old").returncode == 0
        time.sleep(1.2)  # the signer re-reads the keys' serial once a second at most
        submit(a, "alice@a.test", PW, ["bob@r.test"], message("one", "bob@r.test"))
        (_, _, data), = received(rx, lambda m: b"one@a.test" in m[2], "the second mail")
        assert [s[1] for s in signatures(data)] == ["new"]
        assert verify_all(data, keys) == [True]
    except Exception:
        dump(a)
        raise


def test_unkeyed_domain_goes_unsigned(env):
    a, rx = env
    submit(a, "alice@a.test", PW, ["bob@r.test"], message("plain", "bob@r.test"))
    (_, _, data), = received(rx, lambda m: b"plain@a.test" in m[2], "the mail")
    assert signatures(data) == []


def test_cpu_per_dual_signature(env):
    """The issue's bound: RSA-2048 + Ed25519 on a 4 KiB message costs at
    most 3 ms of CPU here. Measured by the server itself (the thread pool's
    CPU time around each signing); printed with signatures/s per core."""
    a, rx = env
    assert a.cli("dkim", "keygen", "a.test").returncode == 0
    n = 30
    with smtplib.SMTP_SSL(a.host, a.port("submissions"), context=ssl_ctx(), timeout=30) as s:
        s.login("alice@a.test", PW)
        for i in range(n):
            s.sendmail("alice@a.test", ["bob@r.test"], message("cpu%d" % i, "bob@r.test", 4096))
    wait_for(lambda: len(rx.messages) >= n, timeout=60, what="%d messages" % n)
    text = metrics_page(a)
    rsa = sample(text, "tern_dkim_signatures_total", 'algorithm="rsa-sha256"')
    ed = sample(text, "tern_dkim_signatures_total", 'algorithm="ed25519-sha256"')
    assert rsa == n and ed == n, (rsa, ed)
    assert sample(text, "tern_dkim_sign_failures_total") == 0
    cpu_ms = sample(text, "tern_dkim_sign_cpu_microseconds_total") / 1000.0 / n
    print("\nDKIM dual signature (rsa-2048 + ed25519, 4 KiB): %.2f ms CPU each, "
          "%.0f dual signatures/s per core" % (cpu_ms, 1000.0 / cpu_ms))
    # The 3 ms holds on an idle machine (2.2 ms here; bench/README.md).
    # CPU time itself grows when the machine is shared (caches, SMT: 3.5 ms
    # at a load of 15), so the suite, which runs beside other work in CI,
    # allows 1.5x before calling it a regression; sanitizers are far slower.
    assert cpu_ms <= (30.0 if sanitized() else 4.5), cpu_ms


def sanitized():
    with open(TERN_BIN, "rb") as f:
        exe = f.read()
    return b"__asan_init" in exe or b"__tsan_init" in exe
