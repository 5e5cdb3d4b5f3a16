"""Outbound relay between two tern instances through a real DNS server.

A (127.0.0.2, domain a.test) relays to B (127.0.0.3, domain b.test) by MX:
dnsmasq serves "b.test MX 10 mx.b.test" and "mx.b.test A 127.0.0.3". The MX
port is A's [queue] remote_port, set to B's smtp port (port 25 is not ours
to take in tests)."""
import os
import re
import subprocess
import tempfile
import time

import pytest

from conftest import free_port
from relayutil import (dns_cleanup, DNSMASQ, Dns, inbox, queue_config, queue_rows, strip_trace,
                      submit, wait_for)  # noqa: F401 (dns_cleanup is an autouse fixture)

pytestmark = pytest.mark.skipif(not os.path.exists(DNSMASQ), reason="dnsmasq not installed")

PW = "relay-test-password-1"


@pytest.fixture
def dnsdir():
    d = tempfile.mkdtemp(prefix="tern-dns-")
    yield d
    subprocess.run(["rm", "-rf", d])


def make_pair(tern_factory, dnsdir, records=None, a_queue=None):
    # B first: its ports are final once it runs, and A's config names one.
    b = tern_factory(domain="b.test", host="127.0.0.3")
    dns = Dns(records or ["--mx-host=b.test,mx.b.test,10", "--host-record=mx.b.test,127.0.0.3"],
              dnsdir)
    a = tern_factory(domain="a.test", host="127.0.0.2",
                     extra_config=queue_config(dns, b.port("smtp"), **(a_queue or {})))
    a.add_user("alice@a.test", PW)
    b.add_user("bob@b.test", PW)
    return a, b, dns


def test_relay_through_mx_with_starttls(tern_factory, dnsdir):
    # A scans its queue only hourly here: the submission itself must wake
    # the runner, so the message leaves at once.
    a, b, dns = make_pair(tern_factory, dnsdir, a_queue={"scan_interval": 3600})
    try:
        msg = (b"From: alice@a.test\r\nTo: bob@b.test\r\nSubject: relay 1\r\n"
               b"Message-ID: <relay-1@a.test>\r\nDate: Mon, 23 Nov 2026 09:00:00 +0000\r\n"
               b"\r\nHello Bob.\r\n.leading dot\r\n")
        time.sleep(0.5)  # past the runner's first scan after start
        submit(a, "alice@a.test", PW, ["bob@b.test"], msg)
        got = wait_for(lambda: inbox(b, "bob@b.test"), timeout=10, what="delivery on B")
        raw = got[0]
        assert b"ESMTPS" in raw.split(b"\r\n\r\n")[0], raw[:600]
        assert strip_trace(raw) == strip_trace(msg), raw
        wait_for(lambda: queue_rows(a) == [], what="A's queue to empty")
        wait_for(lambda: "event=delivered" in a.logs(), what="the delivery log line")
    except Exception:
        print("---- A ----\n" + a.logs()[-6000:])
        print("---- B ----\n" + b.logs()[-3000:])
        print("---- A stdout ----\n" + a.stdout()[-3000:])
        raise
    finally:
        dns.stop()


def pop3_retr_all(t, user, password):
    import poplib
    from conftest import ssl_ctx
    p = poplib.POP3_SSL(t.host, t.port("pop3s"), context=ssl_ctx(), timeout=30)
    try:
        p.user(user)
        p.pass_(password)
        n = len(p.list()[1])
        return [b"\r\n".join(p.retr(i + 1)[1]) + b"\r\n" for i in range(n)]
    finally:
        p.quit()


def imap_fetch_all(t, user, password):
    import imaplib
    from conftest import ssl_ctx
    m = imaplib.IMAP4_SSL(t.host, t.port("imaps"), ssl_context=ssl_ctx(), timeout=30)
    try:
        m.login(user, password)
        m.select("INBOX", readonly=True)
        typ, data = m.uid("FETCH", "1:*", "(BODY.PEEK[])")
        assert typ == "OK", data
        return [part[1] for part in data if isinstance(part, tuple)]
    finally:
        m.logout()


def test_classic_relay_read_back_over_pop3_and_imap(tern_factory, dnsdir):
    """587 on A -> MX -> B; the recipients read it on B: the stored bytes,
    POP3 RETR and IMAP FETCH BODY[] equal the submitted message apart from trace headers, with
    8-bit UTF-8 content and several recipients in one transaction."""
    a, b, dns = make_pair(tern_factory, dnsdir)
    b.add_user("carol@b.test", PW)
    try:
        msg = ("From: alice@a.test\r\nTo: bob@b.test, carol@b.test\r\n"
               "Subject: =?utf-8?q?gr=C3=BC=C3=9Fe?=\r\nMessage-ID: <classic@a.test>\r\n"
               "Date: Mon, 23 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n"
               "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
               "\r\nGrüße aus A — ünïcödé.\r\n.\r\n..two dots\r\n").encode()
        submit(a, "alice@a.test", PW, ["bob@b.test", "carol@b.test"], msg,
               mail_options=["BODY=8BITMIME"])
        for who in ("bob@b.test", "carol@b.test"):
            got = wait_for(lambda: inbox(b, who), what="delivery to %s" % who)
            assert strip_trace(got[0]) == strip_trace(msg)
        popped = pop3_retr_all(b, "bob@b.test", PW)
        assert len(popped) == 1 and strip_trace(popped[0]) == strip_trace(msg)
        fetched = imap_fetch_all(b, "carol@b.test", PW)
        assert len(fetched) == 1 and strip_trace(fetched[0]) == strip_trace(msg)
        # one transaction for both recipients
        wait_for(lambda: len(re.findall(r"event=attempt qid=\d+ rcpt=\S+ host=mx.b.test",
                                        a.logs())) == 2, what="two attempt log lines")
        assert a.logs().count("event=tx_start") == 1
    except Exception:
        print("---- A ----\n" + a.logs()[-6000:])
        raise
    finally:
        dns.stop()


def test_smarthost_with_auth_over_starttls(tern_factory, dnsdir):
    """Smarthost mode: everything goes to B's submission port, AUTH after
    STARTTLS, no MX lookup at all."""
    b = tern_factory(domain="b.test", host="127.0.0.3")
    b.add_user("bob@b.test", PW)
    # B's submission only relays for the owner of the sender address.
    b.add_domain("a.test")
    b.add_user("alice@a.test", PW)
    pwfile = os.path.join(dnsdir, "smarthost.pw")
    with open(pwfile, "w") as f:
        f.write(PW + "\n")
    a = tern_factory(domain="a.test", host="127.0.0.2", extra_config=(
        "[queue]\nscan_interval = 1\nsmarthost = \"127.0.0.3\"\nsmarthost_port = %d\n"
        "smarthost_user = \"alice@a.test\"\nsmarthost_password_file = \"%s\"\n"
        "dns_servers = \"127.0.0.1:9\"\n" % (b.port("submission"), pwfile)))
    a.add_user("alice@a.test", PW)
    try:
        msg = b"From: alice@a.test\r\nTo: bob@b.test\r\nSubject: via smarthost\r\n\r\nhi\r\n"
        submit(a, "alice@a.test", PW, ["bob@b.test"], msg)
        got = wait_for(lambda: inbox(b, "bob@b.test"), what="delivery via the smarthost")
        assert b"Subject: via smarthost" in got[0]
        assert "auth result=ok" in b.logs() and "user=alice@a.test" in b.logs()
        assert PW not in a.logs() and PW not in b.logs()
    except Exception:
        print("---- A ----\n" + a.logs()[-6000:])
        print("---- B ----\n" + b.logs()[-3000:])
        raise


def test_local_domain_in_queue_is_refused_as_loop(tern_factory, dnsdir):
    """A queue row for one of our own domains would be a loop through MX:
    it bounces instead of being sent anywhere."""
    a, b, dns = make_pair(tern_factory, dnsdir)
    try:
        a.add_domain("b.test")  # now A thinks b.test is local, but the row is queued
        import time as _t
        a.stop()
        db = a.db()
        data = b"From: alice@a.test\r\nTo: x@b.test\r\nSubject: loop\r\n\r\nx\r\n"
        now = int(_t.time())
        cur = db.execute("INSERT INTO messages(size, refcount, created, data) "
                         "VALUES(?, 1, ?, ?)", (len(data), now, data))
        db.execute("INSERT INTO queue(message_id, mail_from, rcpt, next_attempt, expires, created)"
                   " VALUES(?, 'alice@a.test', 'x@b.test', ?, ?, ?)",
                   (cur.lastrowid, now, now + 86400, now))
        db.commit()
        db.close()
        a.start()
        bounce = wait_for(lambda: [m for m in inbox(a, "alice@a.test") if b"multipart/report" in m],
                          what="loop bounce")
        assert b"5.4.6" in bounce[0]
        assert inbox(b, "bob@b.test") == []
    finally:
        dns.stop()


def test_mx_pointing_back_to_myself_bounces(tern_factory, dnsdir):
    """loop.test's MX is A itself (same address, and remote_port is A's own
    SMTP port): A refuses to connect to itself and bounces with 5.4.6."""
    dns = Dns(["--mx-host=loop.test,mx.loop.test,10", "--host-record=mx.loop.test,127.0.0.2"],
              dnsdir)
    a = tern_factory(domain="a.test", host="127.0.0.2", start=False)
    a.extra_config = lambda t: queue_config(dns, t.port("smtp"))
    a.write_config()
    a.start()
    a.add_user("alice@a.test", PW)
    try:
        submit(a, "alice@a.test", PW, ["x@loop.test"],
               b"From: alice@a.test\r\nTo: x@loop.test\r\nSubject: loop\r\n\r\nx\r\n")
        bounce = wait_for(lambda: [m for m in inbox(a, "alice@a.test") if b"multipart/report" in m],
                          what="loop bounce")
        assert b"Status: 5.4.6" in bounce[0] and b"loops back to myself" in bounce[0]
    except Exception:
        print("---- A ----\n" + a.logs()[-6000:])
        raise
        assert "event=mx_is_self" in a.logs()
    finally:
        dns.stop()


def test_verify_tls_rejects_self_signed_next_hop(tern_factory, dnsdir):
    """With verify_tls the self-signed certificate of B fails verification:
    nothing is sent (no plaintext fallback), the row is deferred with the
    TLS error."""
    a, b, dns = make_pair(tern_factory, dnsdir, a_queue={"verify_tls": "true"})
    try:
        submit(a, "alice@a.test", PW, ["bob@b.test"],
               b"From: alice@a.test\r\nTo: bob@b.test\r\nSubject: verify\r\n\r\nx\r\n")
        rows = wait_for(lambda: [r for r in queue_rows(a) if r[2] >= 1], what="a deferral")
        assert "TLS" in rows[0][3], rows
        assert inbox(b, "bob@b.test") == []
        assert "event=tls_fallback" not in a.logs()
    finally:
        dns.stop()
