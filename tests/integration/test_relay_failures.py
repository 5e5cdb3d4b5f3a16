"""Relay failures against a scripted receiver, with a real DNS server:
retries, per-recipient 5xx, MX fallback, DNS failures, null MX, expiry,
SIGKILL during a delivery, and the `tern queue` commands."""
import os
import re
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import free_port
from relayutil import (dns_cleanup, DNSMASQ, Dns, ScriptedSmtp, inbox, queue_config, queue_rows,
                      submit, wait_for)  # noqa: F401 (dns_cleanup is an autouse fixture)

pytestmark = pytest.mark.skipif(not os.path.exists(DNSMASQ), reason="dnsmasq not installed")

PW = "relay-test-password-2"
RX = "127.0.0.5"
RECORDS = [
    "--mx-host=r.test,mx.r.test,10", "--host-record=mx.r.test,%s" % RX,
    # two MX: the preferred one refuses connections
    "--mx-host=two.test,dead.two.test,5", "--host-record=dead.two.test,127.0.0.6",
    "--mx-host=two.test,mx.two.test,20", "--host-record=mx.two.test,%s" % RX,
    "--mx-host=nullmx.test,.,0",
    "--txt-record=r.test,v=spf1 -all",
]


@pytest.fixture
def env(tern_factory):
    d = tempfile.mkdtemp(prefix="tern-dns-")
    dns = Dns(RECORDS, d)
    port = free_port(RX)
    made = {}

    def make(script=None, ehlo=("PIPELINING", "8BITMIME", "DSN"), delay=0.0, **q):
        rx = ScriptedSmtp(RX, port, script, ehlo=ehlo, delay=delay)
        a = tern_factory(domain="a.test", host="127.0.0.2",
                         extra_config=queue_config(dns, port, **q))
        a.add_user("alice@a.test", PW)
        made["rx"] = rx
        made["a"] = a
        return a, rx

    yield make
    if "rx" in made:
        made["rx"].stop()
    dns.stop()
    subprocess.run(["rm", "-rf", d])


def msg(subject, to="x@r.test"):
    return ("From: alice@a.test\r\nTo: %s\r\nSubject: %s\r\n\r\nbody of %s\r\n"
            % (to, subject, subject)).encode()


def bounces(a):
    return [m for m in inbox(a, "alice@a.test") if b"multipart/report" in m]


def dump(a):
    print("---- A ----\n" + a.logs()[-8000:])
    print("---- A stdout ----\n" + a.stdout()[-3000:])


def test_4xx_then_2xx_delivered_on_retry(env):
    tries = {"n": 0}

    def script(line, st):
        if line.upper().startswith("RCPT"):
            tries["n"] += 1
            if tries["n"] == 1:
                return "451 4.7.1 greylisted, try again"
        return None

    a, rx = env(script)
    try:
        submit(a, "alice@a.test", PW, ["x@r.test"], msg("grey"))
        wait_for(lambda: rx.messages, timeout=30, what="delivery after retry")
        assert tries["n"] >= 2
        wait_for(lambda: queue_rows(a) == [], what="queue empty")
        wait_for(lambda: "event=delivered" in a.logs(), what="the delivery log line")
        logs = a.logs()
        assert re.search(r"event=deferred qid=\d+ rcpt=x@r.test .*greylisted", logs)
        assert bounces(a) == []
    except Exception:
        dump(a)
        raise


def test_5xx_on_one_of_three(env):
    def script(line, st):
        if line.upper().startswith("RCPT") and "bad@" in line:
            return "550 5.1.1 <bad@r.test>: no such user"
        return None

    a, rx = env(script)
    try:
        submit(a, "alice@a.test", PW, ["ok1@r.test", "bad@r.test", "ok2@r.test"],
               msg("three", "ok1@r.test, bad@r.test, ok2@r.test"))
        wait_for(lambda: rx.messages, what="delivery")
        frm, rcpts, data = rx.messages[0]
        assert frm == "alice@a.test"
        assert sorted(rcpts) == ["ok1@r.test", "ok2@r.test"]  # one transaction
        b = wait_for(lambda: bounces(a), what="bounce")
        assert len(b) == 1
        text = b[0].decode()
        assert "Final-Recipient: rfc822; bad@r.test" in text
        assert "Status: 5.1.1" in text and "Action: failed" in text
        assert "Diagnostic-Code: smtp; 550 5.1.1 <bad@r.test>: no such user" in text
        assert "ok1@r.test" not in text.split("message/delivery-status")[1].split("--tern")[0]
        assert "Subject: three" in text  # original headers (RET default)
        wait_for(lambda: queue_rows(a) == [], what="queue empty")
    except Exception:
        dump(a)
        raise


def test_connection_refused_first_mx_second_works(env):
    a, rx = env()
    try:
        submit(a, "alice@a.test", PW, ["y@two.test"], msg("fallback", "y@two.test"))
        wait_for(lambda: rx.messages, what="delivery through the second MX")
        logs = a.logs()
        assert re.search(r"event=connect_failed host=dead.two.test", logs)
        wait_for(lambda: re.search(r"event=delivered qid=\d+ rcpt=y@two.test host=mx.two.test",
                                   a.logs()), what="the delivery log line")
    except Exception:
        dump(a)
        raise


@pytest.mark.parametrize("rcpt,status,needle", [
    ("u@nxdomain.test", "5.1.2", "NXDOMAIN"),
    ("u@nullmx.test", "5.1.10", "null MX"),
])
def test_dns_permanent_failures_bounce(env, rcpt, status, needle):
    a, rx = env()
    try:
        submit(a, "alice@a.test", PW, [rcpt], msg("dns", rcpt))
        b = wait_for(lambda: bounces(a), what="bounce")
        text = b[0].decode()
        assert "Final-Recipient: rfc822; %s" % rcpt in text
        assert "Status: %s" % status in text
        assert needle in text
        assert queue_rows(a) == []
        assert rx.connections == 0
    except Exception:
        dump(a)
        raise


def test_dns_temporary_failure_retries_until_the_postmaster_bounces(env):
    # SERVFAIL is temporary: retried (until the lifetime runs out, which
    # test_expiry_by_lifetime covers). The postmaster gives up on it with
    # `tern queue bounce`: the DSN says so, not "expired".
    a, rx = env()
    try:
        submit(a, "alice@a.test", PW, ["u@x.fail.test"], msg("servfail", "u@x.fail.test"))
        rows = wait_for(lambda: [r for r in queue_rows(a) if r[2] >= 1], what="a deferral")
        assert "4.4.3" in rows[0][3] or "SERVFAIL" in rows[0][3].upper() or rows[0][3]
        assert bounces(a) == []
        r = a.cli("queue", "bounce", str(rows[0][0]))
        assert r.returncode == 0, r.stderr
        b = wait_for(lambda: bounces(a), what="bounce by the postmaster")
        text = b[0].decode()
        assert "Final-Recipient: rfc822; u@x.fail.test" in text
        assert "Action: failed" in text and "Status: 5.0.0" in text
        assert "cancelled by the postmaster" in text and "expired" not in text
        assert queue_rows(a) == []
    except Exception:
        dump(a)
        raise


def test_expiry_by_lifetime(env):
    # A receiver that always says 4xx, and a row created long ago: the next
    # temporary failure is past the lifetime and bounces.
    a, rx = env(lambda line, st: "452 4.3.1 full" if line.upper().startswith("RCPT") else None)
    try:
        submit(a, "alice@a.test", PW, ["old@r.test"], msg("old", "old@r.test"))
        wait_for(lambda: [r for r in queue_rows(a) if r[2] >= 1], what="a deferral")
        db = a.db()
        db.execute("UPDATE queue SET created = created - 864000")
        db.commit()
        db.close()
        b = wait_for(lambda: bounces(a), what="expiry bounce")
        text = b[0].decode()
        assert "Status: 4.4.7" in text and "452 4.3.1 full" in text
        assert queue_rows(a) == []
    except Exception:
        dump(a)
        raise


def insert_row(a, mail_from, rcpt, data):
    """Queue a row the way store_deliver does (message refcount 1), with
    the server stopped. Used for what submission cannot produce, such as
    a null sender."""
    a.stop()
    db = a.db()
    now = int(time.time())
    cur = db.execute("INSERT INTO messages(size, refcount, created, data) "
                     "VALUES(?, 1, ?, ?)", (len(data), now, data))
    db.execute("INSERT INTO queue(message_id, mail_from, rcpt, next_attempt, expires, created) "
               "VALUES(?, ?, ?, ?, ?, ?)", (cur.lastrowid, mail_from, rcpt, now, now + 86400, now))
    db.commit()
    db.close()
    a.start()


def test_null_sender_never_bounced(env):
    a, rx = env(lambda line, st: "550 5.1.1 no" if line.upper().startswith("RCPT") else None)
    try:
        insert_row(a, "", "z@r.test", msg("a bounce itself"))
        wait_for(lambda: "event=bounced" in a.logs(), what="permanent failure")
        wait_for(lambda: queue_rows(a) == [], what="row finished")
        time.sleep(1)
        assert bounces(a) == []
        db = a.db()
        assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == 0  # ref dropped
        db.close()
    except Exception:
        dump(a)
        raise


def test_sigkill_during_delivery_delivered_after_restart(env):
    a, rx = env(delay=3.0)  # the receiver sits on the end of data for 3 s
    try:
        submit(a, "alice@a.test", PW, ["k@r.test"], msg("kill", "k@r.test"))
        wait_for(lambda: any(c == "DATA" for c in rx.commands), what="DATA on the wire")
        a.kill9()
        # The receiver accepts after the kill: this first copy arrived, but
        # A never learned it. At-least-once: A sends it again.
        time.sleep(3.5)
        a.start()
        wait_for(lambda: queue_rows(a) == [], timeout=30, what="queue empty after restart")
        assert len(rx.messages) >= 1
        assert all(m[1] == ["k@r.test"] for m in rx.messages)
        assert "stale_claims_recovered" in a.logs()
    except Exception:
        dump(a)
        raise


def test_sigkill_before_delivery_exactly_once(env):
    # Killed while the receiver is unreachable: nothing was sent, so after
    # the restart exactly one copy arrives.
    a, rx = env()
    try:
        rx.stop()
        submit(a, "alice@a.test", PW, ["once@r.test"], msg("once", "once@r.test"))
        wait_for(lambda: [r for r in queue_rows(a) if r[2] >= 1], what="a failed attempt")
        a.kill9()
        rx2 = ScriptedSmtp(RX, rx.port)
        try:
            a.start()
            wait_for(lambda: queue_rows(a) == [], timeout=30, what="queue empty")
            assert len(rx2.messages) == 1
        finally:
            rx2.stop()
    except Exception:
        dump(a)
        raise


def test_queue_cli(env):
    a, rx = env()
    try:
        rx.stop()  # nothing listens: rows stay queued
        submit(a, "alice@a.test", PW, ["c1@r.test", "c2@r.test"], msg("cli"))
        rows = wait_for(lambda: [r for r in queue_rows(a) if r[2] >= 1], what="deferrals")
        r = a.cli("queue", "list")
        assert r.returncode == 0 and "c1@r.test" in r.stdout and "2 queued" in r.stdout
        qid = str(queue_rows(a)[0][0])
        r = a.cli("queue", "show", qid)
        assert r.returncode == 0 and "attempts:" in r.stdout and "alice@a.test" in r.stdout
        r = a.cli("queue", "retry", "--all")
        assert r.returncode == 0 and "due now" in r.stdout
        r = a.cli("queue", "delete", qid)
        assert r.returncode == 0
        assert qid not in [str(x[0]) for x in queue_rows(a)]
        r = a.cli("queue", "show", "999999")
        assert r.returncode != 0 and "no queue entry" in r.stderr
        r = a.cli("queue", "bounce", str(queue_rows(a)[0][0]))
        assert r.returncode == 0
        wait_for(lambda: bounces(a), what="bounce from the CLI")
        assert queue_rows(a) == []
    except Exception:
        dump(a)
        raise


def test_delay_dsn_sent_once(env):
    a, rx = env(lambda line, st: "451 4.3.0 busy" if line.upper().startswith("RCPT") else None,
                delay_dsn_after=2)
    try:
        submit(a, "alice@a.test", PW, ["slow@r.test"], msg("slow", "slow@r.test"))
        d = wait_for(lambda: bounces(a), what="delay DSN")
        text = d[0].decode()
        assert "Action: delayed" in text and "Will-Retry-Until:" in text
        assert "Final-Recipient: rfc822; slow@r.test" in text
        attempts = queue_rows(a)[0][2]
        wait_for(lambda: queue_rows(a)[0][2] >= attempts + 3, what="more attempts")
        # `tern queue retry` changes the schedule the attempts follow; the
        # delay DSN is still not sent again.
        for extra in (1, 2):
            assert a.cli("queue", "retry", "--all").returncode == 0
            wait_for(lambda: queue_rows(a)[0][2] >= attempts + 3 + extra, what="a retry")
        assert len(bounces(a)) == 1  # only once
        assert len(queue_rows(a)) == 1  # still queued
    except Exception:
        dump(a)
        raise


def test_failed_tls_handshake_falls_back_to_plaintext(env):
    # The receiver offers STARTTLS, says 220, then answers the ClientHello
    # with plaintext: the handshake fails, tern retries the host without TLS.
    def script(line, st):
        if line.upper() == "STARTTLS":
            return "220 2.0.0 go ahead"
        return None

    a, rx = env(script, ehlo=("PIPELINING", "8BITMIME", "STARTTLS"))
    try:
        submit(a, "alice@a.test", PW, ["t@r.test"], msg("tls fallback", "t@r.test"))
        wait_for(lambda: rx.messages, what="plaintext delivery")
        assert "event=tls_fallback" in a.logs()
        assert rx.connections >= 2
    except Exception:
        dump(a)
        raise


def test_notify_success_through_hop_without_dsn_gives_relayed_dsn(env):
    a, rx = env(ehlo=("PIPELINING", "8BITMIME"))  # no DSN
    try:
        submit(a, "alice@a.test", PW, ["n@r.test", "m@r.test"], msg("notify", "n@r.test"),
               rcpt_options=["NOTIFY=SUCCESS,FAILURE"])
        wait_for(lambda: rx.messages, what="delivery")
        d = wait_for(lambda: bounces(a), what="relayed DSN")
        text = d[0].decode()
        assert "Action: relayed" in text and "Status: 2.0.0" in text
        assert "Final-Recipient: rfc822; n@r.test" in text
        assert "Final-Recipient: rfc822; m@r.test" in text
        assert "NOTIFY" not in " ".join(rx.commands)  # not offered: not passed on
    except Exception:
        dump(a)
        raise


def test_dsn_parameters_passed_on(env):
    a, rx = env(ehlo=("PIPELINING", "8BITMIME", "DSN"))
    try:
        submit(a, "alice@a.test", PW, ["p@r.test"], msg("params", "p@r.test"),
               mail_options=["RET=HDRS", "ENVID=env-77"],
               rcpt_options=["NOTIFY=SUCCESS", "ORCPT=rfc822;p@r.test"])
        wait_for(lambda: rx.messages, what="delivery")
        cmds = " ".join(rx.commands)
        assert "RET=HDRS" in cmds and "ENVID=env-77" in cmds
        assert "NOTIFY=SUCCESS" in cmds and "ORCPT=rfc822;p@r.test" in cmds
        time.sleep(1.5)
        assert bounces(a) == []  # the next hop reports success itself
    except Exception:
        dump(a)
        raise


def test_too_many_received_headers_bounce_as_loop(env):
    a, rx = env(max_received_headers=10)
    hops = b"".join(b"Received: from hop%d.test by hop%d.test; Mon, 23 Nov 2026 09:00:00 +0000\r\n"
                    % (i, i + 1) for i in range(12))
    try:
        try:
            submit(a, "alice@a.test", PW, ["l@r.test"], hops + msg("looping", "l@r.test"))
        except Exception as e:  # the SMTP server may refuse it itself: also fine
            pytest.skip("submission refused the message: %s" % e)
        b = wait_for(lambda: bounces(a), what="loop bounce")
        assert b"Status: 5.4.6" in b[0] and b"routing loop" in b[0]
        assert rx.messages == []
    except Exception:
        dump(a)
        raise
