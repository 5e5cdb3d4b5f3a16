"""Delivery webhooks against the real tern: a Python HTTP receiver on
loopback ([webhooks] allow_private = true) gets the signed events of mail
relayed to a scripted SMTP receiver (dnsmasq MX, as test_relay_failures.py
does), checks each Tern-Signature with the secret `tern webhook add`
printed, and sees: delivered and bounced events with the remote replies; a
delayed event for a 4xx; an event answered 500 sent again with the same
Tern-Event-Id; events pending across a kill -9 delivered after the
restart; a loopback URL refused at `webhook add` and at delivery when
allow_private is off; the CLI's list, queue, retry and delete."""
import os
import subprocess
import tempfile
import time

import pytest

from conftest import free_port
from relayutil import (dns_cleanup, DNSMASQ, Dns, ScriptedSmtp, inbox, queue_config,
                       submit, wait_for)  # noqa: F401 (dns_cleanup is an autouse fixture)
from webhookutil import HOOK_HOST, Receiver, add_hook, events_in_db, verify

pytestmark = pytest.mark.skipif(not os.path.exists(DNSMASQ), reason="dnsmasq not installed")

PW = "webhook-test-password-1"
RX = "127.0.0.5"
RECORDS = ["--mx-host=r.test,mx.r.test,10", "--host-record=mx.r.test,%s" % RX]
FAST_HOOKS = ("[webhooks]\nallow_private = true\nscan_interval = 1\nretry_first = 1\n"
              "retry_max = 2\n")


def msg(subject, to="ok@r.test", msgid="<%s@a.test>"):
    return ("From: alice@a.test\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: %s\r\n\r\n"
            "body of %s\r\n" % (to, subject, msgid % subject, subject)).encode()


def script(line, st):
    if line.upper().startswith("RCPT") and "bad@" in line:
        return "550 5.1.1 <bad@r.test>: no such user"
    if line.upper().startswith("RCPT") and "grey@" in line:
        return "451 4.7.1 greylisted"
    return None


@pytest.fixture
def env(tern_factory):
    d = tempfile.mkdtemp(prefix="tern-dns-")
    dns = Dns(RECORDS, d)
    port = free_port(RX)
    made = {"recv": []}

    def make(hooks=FAST_HOOKS, **q):
        rx = ScriptedSmtp(RX, port, script, ehlo=("PIPELINING", "8BITMIME"))
        a = tern_factory(domain="a.test", host="127.0.0.2",
                         extra_config=queue_config(dns, port, **q) + hooks)
        a.add_user("alice@a.test", PW)
        made["rx"], made["a"] = rx, a
        return a, rx

    def receiver(**kw):
        r = Receiver(**kw)
        made["recv"].append(r)
        return r

    make.receiver = receiver
    yield make
    for r in made["recv"]:
        r.stop()
    if "rx" in made:
        made["rx"].stop()
    dns.stop()
    subprocess.run(["rm", "-rf", d])


def dump(a):
    print("---- A ----\n" + a.logs()[-8000:])


def test_delivered_and_bounced_events_signed_with_the_remote_replies(env):
    a, rx = env()
    recv = env.receiver()
    hid, secret = add_hook(a, recv.url)
    try:
        submit(a, "alice@a.test", PW, ["ok@r.test", "bad@r.test"],
               msg("two", "ok@r.test, bad@r.test"))
        wait_for(lambda: len(recv.accepted()) >= 2, timeout=30, what="two events")
        time.sleep(0.5)
        assert len(recv.got) == 2  # nothing more, nothing twice
        for h, body, _ in recv.got:
            assert h["Content-Type"] == "application/json"
            assert verify(secret, h, body)
            assert not verify("whsec_wrong", h, body)
            assert not verify(secret, h, body + b" ")
        by = {e["recipient"]: (i, e) for i, e in recv.accepted()}
        ok, bad = by["ok@r.test"][1], by["bad@r.test"][1]
        assert by["ok@r.test"][0] != by["bad@r.test"][0]
        assert ok["event"] == "delivered" and bad["event"] == "bounced"
        for e in (ok, bad):
            assert e["message_id"] == "<two@a.test>"
            assert e["sender"] == "alice@a.test"
            assert e["mta"] == "mx.r.test"
            assert e["attempts"] == 1
            assert isinstance(e["queue_id"], int) and abs(e["timestamp"] - time.time()) < 60
        assert ok["smtp"]["code"] == 250 and ok["smtp"]["enhanced"] == "2.0.0"
        assert bad["smtp"] == {"code": 550, "enhanced": "5.1.1",
                               "reply": "550 5.1.1 <bad@r.test>: no such user"}
        # both rows marked delivered; nothing in `tern webhook queue`
        wait_for(lambda: all(r[2] for r in events_in_db(a)), what="the delivered marks")
        q = a.cli("webhook", "queue")
        assert q.returncode == 0 and "0 events not delivered" in q.stdout
        # the webhook's own sender only: a message of another account makes none
        a.add_user("carol@a.test", PW)
        submit(a, "carol@a.test", PW, ["ok@r.test"],
               msg("carol", msgid="<%s@a.test>").replace(b"alice", b"carol"))
        wait_for(lambda: len(rx.messages) >= 2, what="carol's delivery")
        time.sleep(1.5)
        assert len(recv.got) == 2
    except Exception:
        dump(a)
        raise


def test_delayed_then_domain_webhook_and_event_filter(env):
    a, rx = env()
    recv = env.receiver()
    _, secret = add_hook(a, recv.url, "--events", "delayed", owner=("--domain", "a.test"))
    try:
        submit(a, "alice@a.test", PW, ["grey@r.test"], msg("grey", "grey@r.test"))
        e = wait_for(lambda: recv.accepted(), timeout=30, what="the delayed event")
        assert e[0][1]["event"] == "delayed" and e[0][1]["recipient"] == "grey@r.test"
        assert e[0][1]["smtp"]["code"] == 451
        assert verify(secret, recv.got[0][0], recv.got[0][1])
        # a delivered event is not wanted by this webhook: none comes
        submit(a, "alice@a.test", PW, ["ok@r.test"], msg("fine"))
        wait_for(lambda: any(m[1] == ["ok@r.test"] for m in rx.messages), what="delivery")
        time.sleep(1.5)
        assert all(j["event"] == "delayed" for _, j in recv.accepted())
    except Exception:
        dump(a)
        raise


def test_a_500_is_retried_and_the_event_id_stays(env):
    a, rx = env()
    recv = env.receiver(statuses=(500, 200))
    add_hook(a, recv.url)
    try:
        submit(a, "alice@a.test", PW, ["ok@r.test"], msg("retry"))
        wait_for(lambda: recv.accepted(), timeout=30, what="the retried event")
        assert [st for _, _, st in recv.got] == [500, 200]
        ids = {h["Tern-Event-Id"] for h, _, _ in recv.got}
        assert len(ids) == 1  # the same event, again
        assert recv.got[0][1] == recv.got[1][1]
        wait_for(lambda: events_in_db(a)[0][2], what="the mark")
        assert events_in_db(a)[0][1] == 2  # attempts
        assert "webhook event=deferred" in a.logs() and "HTTP status 500" in a.logs()
    except Exception:
        dump(a)
        raise


def test_pending_events_survive_kill9(env):
    a, rx = env()
    port = free_port(HOOK_HOST)  # nobody listens yet: every POST fails
    _, secret = add_hook(a, "http://%s:%d/hook" % (HOOK_HOST, port))
    try:
        submit(a, "alice@a.test", PW, ["ok@r.test", "bad@r.test"], msg("kill"))
        wait_for(lambda: len(events_in_db(a)) == 2 and all(r[1] >= 1 for r in events_in_db(a)),
                 timeout=30, what="two events tried and failed")
        q = a.cli("webhook", "queue")
        assert "2 events not delivered" in q.stdout and "pending" in q.stdout, q.stdout
        a.kill9()
        assert all(r[2] is None for r in events_in_db(a))
        recv = env.receiver(port=port)
        a.start()
        wait_for(lambda: len(recv.accepted()) >= 2, timeout=30, what="events after restart")
        assert sorted(e["event"] for _, e in recv.accepted()) == ["bounced", "delivered"]
        assert all(verify(secret, h, b) for h, b, _ in recv.got)
        wait_for(lambda: all(r[2] for r in events_in_db(a)), what="the marks")
    except Exception:
        dump(a)
        raise


def test_private_addresses_refused_without_allow_private(env):
    a, rx = env(hooks="[webhooks]\nscan_interval = 1\nretry_first = 1\nretry_max = 2\n")
    recv = env.receiver()
    for url in (recv.url, "http://localhost:%d/" % recv.port, "http://[::1]/x",
                "http://10.1.2.3/", "http://169.254.169.254/latest", "http://192.168.1.1/",
                "http://172.16.0.1/", "http://0.0.0.0/", "http://224.0.0.1/"):
        r = a.cli("webhook", "add", "--account", "alice@a.test", url)
        assert r.returncode == 1 and "refused" in r.stderr, (url, r.stderr)
        assert "secret" not in r.stdout
    assert "0 webhooks" in a.cli("webhook", "list").stdout
    # DNS changed after the add (here: the row written directly): the runner
    # checks again before each POST, and nothing reaches the receiver.
    db = a.db()
    db.execute("INSERT INTO webhooks(account_id, url, secret, events, created) "
               "SELECT id, ?, 'whsec_x', 'delivered,delayed,bounced', 0 FROM accounts "
               "WHERE address = 'alice@a.test'", (recv.url,))
    db.commit()
    db.close()
    try:
        submit(a, "alice@a.test", PW, ["ok@r.test"], msg("private"))
        wait_for(lambda: events_in_db(a) and events_in_db(a)[0][1] >= 2, timeout=30,
                 what="the event tried twice")
        assert "private or local address" in events_in_db(a)[0][4]
        assert recv.got == []
    except Exception:
        dump(a)
        raise


def test_cli_add_list_delete_retry_and_errors(env):
    a, rx = env()
    recv = env.receiver()
    usage = [
        ("webhook", "add", recv.url),  # no owner
        ("webhook", "add", "--account", "alice@a.test", "--domain", "a.test", recv.url),
        ("webhook", "add", "--account", "alice@a.test", recv.url, "--events", "sent"),
        ("webhook", "add", "--account", "alice@a.test", recv.url, "--events", "delivered,"),
        ("webhook", "delete", "x"),
        ("webhook", "frob"),
    ]
    for args in usage:
        r = a.cli(*args)
        assert r.returncode == 2, (args, r.stderr)
    r = a.cli("webhook", "add", "--account", "alice@a.test", "ftp://h/")
    assert r.returncode == 1 and "not an http" in r.stderr
    r = a.cli("webhook", "add", "--account", "nobody@a.test", recv.url)
    assert r.returncode == 1 and "no such account" in r.stderr
    h1, s1 = add_hook(a, recv.url)
    h2, s2 = add_hook(a, recv.url, "--events", "bounced,delivered", owner=("--domain", "a.test"))
    assert s1 != s2
    out = a.cli("webhook", "list").stdout
    assert "2 webhooks" in out and recv.url in out and "bounced,delivered" in out
    assert s1 not in out and s2 not in out  # the secret is shown only once
    r = a.cli("webhook", "delete", str(h1))
    assert r.returncode == 0
    r = a.cli("webhook", "delete", str(h1))
    assert r.returncode == 1 and "no webhook" in r.stderr
    assert "1 webhook\n" in a.cli("webhook", "list").stdout
    # retry: a failed event is due again
    db = a.db()
    db.execute("INSERT INTO webhook_events(webhook_id, event, created, next_attempt, attempts, "
               "failed_at, last_error) VALUES(?, '{\"event\":\"x\"}', 0, 0, 9, 1, 'gone')",
               (h2,))
    db.commit()
    eid = db.execute("SELECT max(id) FROM webhook_events").fetchone()[0]
    db.close()
    q = a.cli("webhook", "queue").stdout
    assert "failed" in q and "gone" in q
    assert a.cli("webhook", "retry", str(eid)).returncode == 0
    wait_for(lambda: recv.accepted(), what="the retried failed event")
    assert verify(s2, recv.got[0][0], recv.got[0][1])
    assert a.cli("webhook", "retry", str(eid)).returncode == 1  # delivered now
    # deleting the account takes its webhooks along; the domain's goes with the domain
    h3, _ = add_hook(a, recv.url)
    assert a.cli("user", "del", "alice@a.test").returncode == 0
    out = a.cli("webhook", "list").stdout
    assert "1 webhook\n" in out and "account" not in out.split("\n", 1)[1]


def test_delivered_event_of_a_row_recorded_at_the_job_end(env):
    """NOTIFY=SUCCESS through a host without DSN: the row waits for the
    job's record (which builds the "relayed" DSN), and its event is
    written there, once."""
    a, rx = env()
    recv = env.receiver()
    add_hook(a, recv.url)
    try:
        submit(a, "alice@a.test", PW, ["ok@r.test"], msg("notify"),
               rcpt_options=["NOTIFY=SUCCESS"])
        wait_for(lambda: recv.accepted(), timeout=30, what="the delivered event")
        time.sleep(1.5)
        assert [e["event"] for _, e in recv.accepted()] == ["delivered"]
        assert len(recv.got) == 1
        # the path meant: the job's record sent the "relayed" DSN
        wait_for(lambda: any(b"relayed" in m for m in inbox(a, "alice@a.test")),
                 what="the relayed DSN")
    except Exception:
        dump(a)
        raise


def test_a_post_in_flight_at_a_kill_is_sent_again_with_its_id(env):
    """At least once: the receiver has the POST, tern dies before it can
    mark it; after the restart the same event (same Tern-Event-Id) comes
    again, which is what receivers dedup on."""
    a, rx = env()
    killed = {}
    recv = env.receiver()
    real_statuses = recv.statuses

    class KillOnFirst(list):
        def __getitem__(self, i):
            if not killed:
                killed["pid"] = a.proc.pid
                os.kill(a.proc.pid, 9)
            return real_statuses[0]

        def __len__(self):
            return 1

    recv.statuses = KillOnFirst()
    _, secret = add_hook(a, recv.url, "--events", "delivered")
    try:
        submit(a, "alice@a.test", PW, ["ok@r.test"], msg("inflight"))
        wait_for(lambda: killed and a.proc.poll() is not None, timeout=30, what="the kill")
        a.stop()
        assert events_in_db(a)[0][2] is None  # the mark never committed
        a.start()
        wait_for(lambda: len(recv.got) >= 2, timeout=30, what="the event again")
        ids = [h["Tern-Event-Id"] for h, _, _ in recv.got]
        assert ids[0] == ids[1] and recv.got[0][1] == recv.got[1][1]
        assert all(verify(secret, h, b) for h, b, _ in recv.got)
        wait_for(lambda: events_in_db(a)[0][2], what="the mark after the restart")
    except Exception:
        dump(a)
        raise


def test_an_event_past_its_lifetime_is_marked_failed(env):
    a, rx = env(hooks=FAST_HOOKS + "lifetime = 60\n")
    recv = env.receiver(statuses=(503,))
    hid, _ = add_hook(a, recv.url)
    db = a.db()
    db.execute("INSERT INTO webhook_events(webhook_id, event, created, next_attempt) "
               "VALUES(?, '{\"event\":\"delivered\"}', strftime('%s','now') - 61, 0)", (hid,))
    db.commit()
    db.close()
    try:
        wait_for(lambda: events_in_db(a)[0][3], timeout=30, what="the failed mark")
        assert len(recv.got) == 1 and events_in_db(a)[0][4] == "HTTP status 503"
        q = a.cli("webhook", "queue").stdout
        assert "failed" in q and "1 event not delivered" in q
        time.sleep(2)
        assert len(recv.got) == 1  # failed: not tried again
        assert "webhook event=failed" in a.logs()
    except Exception:
        dump(a)
        raise
