"""A big queue to a slow receiver while the server keeps serving.

10,000 queued messages (4 KiB each, inserted into the store while the
server is stopped, exactly as store_deliver lays them out) drain to a
scripted receiver that sleeps on every end of data; meanwhile SMTP
submission, POP3 and IMAP keep answering promptly, and nothing is lost or
duplicated."""
import os
import smtplib
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import free_port, ssl_ctx
from relayutil import (dns_cleanup, DNSMASQ, Dns, ScriptedSmtp, queue_config, queue_rows, submit,
                      wait_for)  # noqa: F401 (dns_cleanup is an autouse fixture)

pytestmark = pytest.mark.skipif(not os.path.exists(DNSMASQ), reason="dnsmasq not installed")

PW = "relay-test-password-4"
RX = "127.0.0.5"
N = int(os.environ.get("TERN_RELAY_LOAD_N", "10000"))


def fill_queue(a, n):
    db = a.db()
    now = int(time.time())
    pad = b"x" * 3900
    with db:
        for i in range(n):
            data = (b"From: alice@a.test\r\nTo: u%d@r.test\r\nSubject: load %d\r\n\r\n" % (i % 7, i)
                    + pad + b"\r\n")
            cur = db.execute("INSERT INTO messages(size, refcount, created, data) "
                             "VALUES(?, 1, ?, ?)", (len(data), now, data))
            db.execute("INSERT INTO queue(message_id, mail_from, rcpt, next_attempt, expires, "
                       "created) VALUES(?, 'alice@a.test', ?, ?, ?, ?)",
                       (cur.lastrowid, "u%d@r.test" % (i % 7), now, now + 86400, now))
    db.close()


def timed(fn):
    t0 = time.time()
    fn()
    return time.time() - t0


def pop3_login(a):
    import poplib
    p = poplib.POP3_SSL(a.host, a.port("pop3s"), context=ssl_ctx(), timeout=10)
    p.user("alice@a.test")
    p.pass_(PW)
    p.stat()
    p.quit()


def imap_greeting(a):
    with socket.create_connection((a.host, a.port("imap")), timeout=10) as s:
        return s.recv(200)


def test_big_queue_to_slow_receiver_while_serving(tern_factory):
    d = tempfile.mkdtemp(prefix="tern-dns-")
    dns = Dns(["--mx-host=r.test,mx.r.test,10", "--host-record=mx.r.test,%s" % RX], d)
    port = free_port(RX)
    rx = ScriptedSmtp(RX, port, delay=0.002)
    a = tern_factory(domain="a.test", host="127.0.0.2", start=False,
                     extra_config=queue_config(dns, port, max_per_domain=4))
    a.start()
    a.add_user("alice@a.test", PW)
    try:
        a.stop()
        fill_queue(a, N)
        t0 = time.time()
        a.start()
        imap_ok = imap_greeting(a).startswith(b"* OK")
        worst = 0.0
        sent = 0
        while len(queue_rows(a)) > 0 and time.time() - t0 < 240:
            worst = max(worst, timed(lambda: submit(
                a, "alice@a.test", PW, ["alice@a.test"],
                b"From: alice@a.test\r\nSubject: local %d\r\n\r\nhi\r\n" % sent)))
            sent += 1
            worst = max(worst, timed(lambda: pop3_login(a)))
            if imap_ok:
                worst = max(worst, timed(lambda: imap_greeting(a)))
            time.sleep(0.2)
        elapsed = time.time() - t0
        assert queue_rows(a) == [], "queue did not drain in %.0f s" % elapsed
        subjects = set()
        for m in rx.messages:
            subj = [l for l in m[2].split(b"\r\n") if l.startswith(b"Subject: load ")][0]
            subjects.add(subj)
        assert len(subjects) == N  # every message arrived
        assert len(rx.messages) == N  # and none twice
        print("relay load: %d messages in %.1f s (%.0f msg/s), %d submissions meanwhile, "
              "worst client latency %.2f s, imap checked: %s"
              % (N, elapsed, N / elapsed, sent, worst, imap_ok))
        assert sent > 0 and worst < 5.0
    except Exception:
        print("---- A ----\n" + a.logs()[-5000:])
        raise
    finally:
        rx.stop()
        dns.stop()
        subprocess.run(["rm", "-rf", d])
