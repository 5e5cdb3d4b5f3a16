"""Webhooks for incoming mail (the opt-in "incoming" event,
deliver/incoming_events.c) against the real tern: mail comes in over SMTP
and a Python HTTP receiver on loopback ([webhooks] allow_private) gets a
signed POST per account the message went into, with the fields checked
against what was sent and stored. An account's webhook hears of its own
mail only, a domain's of every account of the domain; a webhook without
"incoming" (the default list) hears nothing; Sieve's fileinto is the
mailbox reported and its discard reports nothing, and its redirect to a
local account is incoming mail for the target, as is the send API's
message to a local recipient; IMAP APPEND is the
user's own doing and reports nothing; an event written with its message
survives a kill -9 right after the 250 and is POSTed after the restart.
A webhook added by `tern webhook add` (another process) while mail is
flowing is heard from at the next message (the store's cached "nobody
wants incoming" answer is read again)."""
import base64
import http.client
import imaplib
import json
import os
import smtplib
import subprocess
import tempfile
import time

import pytest

from conftest import LISTENERS, free_port, ssl_ctx
from relayutil import DNSMASQ, Dns, dns_cleanup, queue_config, wait_for  # noqa: F401
from webhookutil import HOOK_HOST, Receiver, add_hook, events_in_db, verify

ALICE, BOB, CAROL = "alice@example.test", "bob@example.test", "carol@other.test"
PW = "incoming-hook-pw-1"
FAST_HOOKS = ("[webhooks]\nallow_private = true\nscan_interval = 1\nretry_first = 1\n"
              "retry_max = 2\n")


@pytest.fixture
def env(tern_factory):
    receivers = []
    t = tern_factory(extra_config=FAST_HOOKS)
    for u in (ALICE, BOB):
        t.add_user(u, PW)
    t.add_domain("other.test")
    t.add_user(CAROL, PW)

    def receiver(**kw):
        r = Receiver(**kw)
        receivers.append(r)
        return r

    t.receiver = receiver
    yield t
    for r in receivers:
        r.stop()


def message(subject, frm="Sender <s@remote.example>", msgid=None, extra=""):
    mid = "Message-ID: %s\r\n" % msgid if msgid else ""
    return ("From: %s\r\nTo: bob@example.test\r\nSubject: %s\r\n%s%s"
            "Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n\r\nHello.\r\n"
            % (frm, subject, mid, extra)).encode()


def smtp_in(t, rcpts, msg, mail_from="s@remote.example", source="127.0.0.1"):
    with smtplib.SMTP(t.host, t.port("smtp"), timeout=30, source_address=(source, 0)) as s:
        s.ehlo("client.remote.example")
        refused = s.sendmail(mail_from, rcpts, msg)
        assert refused == {}


def stored(t, address, mailbox="INBOX"):
    """(message size, internal date) of the messages in a mailbox."""
    db = t.db()
    try:
        return db.execute(
            "SELECT m.size, e.internal_date FROM mailbox_entries e"
            " JOIN messages m ON m.id = e.message_id"
            " JOIN mailboxes b ON b.id = e.mailbox_id JOIN accounts a ON a.id = b.account_id"
            " WHERE a.address = ? AND b.name = ? ORDER BY e.uid", (address, mailbox)).fetchall()
    finally:
        db.close()


def stored_authres(t, address):
    """The first Authentication-Results value of the first message in the
    INBOX, unfolded, or None."""
    db = t.db()
    try:
        data = db.execute(
            "SELECT m.data FROM mailbox_entries e JOIN messages m ON m.id = e.message_id"
            " JOIN mailboxes b ON b.id = e.mailbox_id JOIN accounts a ON a.id = b.account_id"
            " WHERE a.address = ? AND b.name = 'INBOX' ORDER BY e.uid", (address,)).fetchone()[0]
    finally:
        db.close()
    head = bytes(data).split(b"\r\n\r\n", 1)[0].decode()
    for f in head.replace("\r\n\t", " ").replace("\r\n ", " ").split("\r\n"):
        if f.lower().startswith("authentication-results:"):
            return f.split(":", 1)[1].strip()
    return None


def dump(t):
    print("---- tern ----\n" + t.logs()[-8000:])


def put_sieve(t, account, script):
    path = os.path.join(t.dir, "s.sieve")
    with open(path, "w") as f:
        f.write(script)
    r = t.cli("sieve", "put", account, "s", path)
    assert r.returncode == 0, r.stderr
    assert t.cli("sieve", "activate", account, "s").returncode == 0


def test_account_webhook_gets_a_signed_incoming_event_with_the_fields(env):
    t = env
    recv = t.receiver()
    _, secret = add_hook(t, recv.url, "--events", "incoming", owner=("--account", BOB))
    subject = "=?UTF-8?B?%s?=" % base64.b64encode("Rechnung für Dezember".encode()).decode()
    try:
        smtp_in(t, [BOB], message(subject, frm="=?ISO-8859-1?Q?J=F6rg?= <s@remote.example>",
                                  msgid="<in-1@remote.example>"))
        wait_for(lambda: recv.accepted(), timeout=30, what="the incoming event")
        h, body, _ = recv.got[0]
        assert h["Content-Type"] == "application/json"
        assert verify(secret, h, body) and not verify("whsec_wrong", h, body)
        e = recv.accepted()[0][1]
        size, date = stored(t, BOB)[0]
        assert e == {
            "event": "incoming", "account": BOB, "mailbox": "INBOX", "mailboxes": ["INBOX"],
            "message_id": "<in-1@remote.example>", "from": "s@remote.example",
            "header_from": "Jörg <s@remote.example>", "subject": "Rechnung für Dezember",
            "size": size, "received_at": date, "spam": False,
            "authentication_results": e["authentication_results"],
        }
        assert abs(e["received_at"] - time.time()) < 60
        ar = e["authentication_results"]
        # the value of tern's own Authentication-Results, as stored (none
        # here: without [dns] servers the judge did not run), never the
        # sender's
        assert ar == stored_authres(t, BOB), ar
        # mail of another account, the null sender, no Message-ID: nothing for
        # alice; bob's second event says null where there is nothing
        smtp_in(t, [ALICE], message("for alice"))
        smtp_in(t, [BOB], message("no id"), mail_from="")
        wait_for(lambda: len(recv.accepted()) >= 2, timeout=30, what="the second event")
        e2 = recv.accepted()[1][1]
        assert e2["account"] == BOB and e2["message_id"] is None and e2["from"] == ""
        assert e2["subject"] == "no id"
        # IMAP APPEND is the user's own: no event
        m = imaplib.IMAP4_SSL(t.host, t.port("imaps"), ssl_context=ssl_ctx())
        m.login(BOB, PW)
        assert m.append("INBOX", None, None, message("appended"))[0] == "OK"
        m.logout()
        time.sleep(2.5)
        assert len(recv.got) == 2
        assert all(r[2] for r in events_in_db(t))  # both marked delivered
    except Exception:
        dump(t)
        raise


def test_domain_webhook_hears_every_account_of_its_domain(env):
    t = env
    recv = t.receiver()
    _, secret = add_hook(t, recv.url, "--events", "incoming,bounced",
                         owner=("--domain", "example.test"))
    try:
        smtp_in(t, [ALICE, BOB, CAROL], message("to three", msgid="<three@remote.example>"))
        smtp_in(t, [CAROL], message("carol only"))
        wait_for(lambda: len(recv.accepted()) >= 2, timeout=30, what="two events")
        time.sleep(2)
        got = sorted((e["account"], e["subject"]) for _, e in recv.accepted())
        assert got == [(ALICE, "to three"), (BOB, "to three")]  # not carol: other domain
        assert len({i for i, _ in recv.accepted()}) == 2  # two events, each once
        assert all(verify(secret, h, b) for h, b, _ in recv.got)
    except Exception:
        dump(t)
        raise


def test_webhook_without_incoming_hears_nothing_and_a_late_add_is_heard(env):
    t = env
    deaf = t.receiver()
    add_hook(t, deaf.url, owner=("--account", BOB))  # the default list
    add_hook(t, deaf.url, "--events", "delivered,bounced", owner=("--domain", "example.test"))
    assert "incoming" not in t.cli("webhook", "list").stdout
    try:
        smtp_in(t, [BOB], message("before"))
        wait_for(lambda: len(stored(t, BOB)) == 1, what="the first delivery")
        assert events_in_db(t) == []  # written nowhere, not just not sent
        # added by another process while tern runs: the next message is heard
        ear = t.receiver()
        add_hook(t, ear.url, "--events", "delivered,incoming", owner=("--account", BOB))
        smtp_in(t, [BOB], message("after"))
        wait_for(lambda: ear.accepted(), timeout=30, what="the event after the add")
        time.sleep(1.5)
        assert [e["subject"] for _, e in ear.accepted()] == ["after"]
        assert deaf.got == []
    except Exception:
        dump(t)
        raise


def test_sieve_filing_is_the_mailbox_reported_and_discard_reports_nothing(env):
    t = env
    recv = t.receiver()
    add_hook(t, recv.url, "--events", "incoming", owner=("--account", BOB))
    put_sieve(t, BOB, 'require ["fileinto", "copy", "mailbox"];\n'
                      'if header :contains "subject" "receipt" {\n'
                      '  fileinto :create "Receipts";\n'
                      '} elsif header :contains "subject" "both" {\n'
                      '  fileinto :copy "Archive";\n'
                      '} elsif header :contains "subject" "drop" {\n'
                      '  discard;\n'
                      '}\n')
    try:
        smtp_in(t, [BOB], message("your receipt"))
        smtp_in(t, [BOB], message("drop me"))
        smtp_in(t, [BOB], message("both places"))
        wait_for(lambda: len(recv.accepted()) >= 2, timeout=30, what="two events")
        time.sleep(2)
        by = {e["subject"]: e for _, e in recv.accepted()}
        assert sorted(by) == ["both places", "your receipt"]  # the discarded one: none
        assert by["your receipt"]["mailbox"] == "Receipts"
        assert by["your receipt"]["mailboxes"] == ["Receipts"]
        assert sorted(by["both places"]["mailboxes"]) == ["Archive", "INBOX"]
        assert len(stored(t, BOB, "Receipts")) == 1
    except Exception:
        dump(t)
        raise


def test_sieve_redirect_to_a_local_account_is_incoming_for_the_target(env):
    t = env
    recv = t.receiver()
    add_hook(t, recv.url, "--events", "incoming", owner=("--account", BOB))
    put_sieve(t, ALICE, 'redirect "%s";\n' % BOB)
    try:
        smtp_in(t, [ALICE], message("passed on", msgid="<redir@remote.example>"))
        wait_for(lambda: recv.accepted(), timeout=30, what="the target's event")
        time.sleep(1.5)
        assert [(e["account"], e["mailbox"], e["message_id"]) for _, e in recv.accepted()] == [
            (BOB, "INBOX", "<redir@remote.example>")]
        assert stored(t, ALICE) == []  # redirected, not kept: alice got nothing
    except Exception:
        dump(t)
        raise


def test_event_written_with_the_message_survives_kill9_after_the_250(env):
    t = env
    port = free_port(HOOK_HOST)  # nobody listens yet
    _, secret = add_hook(t, "http://%s:%d/hook" % (HOOK_HOST, port), "--events", "incoming",
                         owner=("--account", BOB))
    try:
        smtp_in(t, [BOB], message("killed", msgid="<killed@remote.example>"))
        t.kill9()  # right after the 250
        rows = events_in_db(t)
        assert len(rows) == 1 and rows[0][2] is None  # durable with the message, unsent
        assert len(stored(t, BOB)) == 1
        recv = t.receiver(port=port)
        t.start()
        wait_for(lambda: recv.accepted(), timeout=30, what="the event after the restart")
        time.sleep(2)
        ids = {i for i, _ in recv.accepted()}
        assert len(ids) == 1  # one event (sent once, or again with its id)
        e = recv.accepted()[0][1]
        assert e["message_id"] == "<killed@remote.example>" and e["account"] == BOB
        assert all(verify(secret, h, b) for h, b, _ in recv.got)
        wait_for(lambda: events_in_db(t)[0][2], what="the delivered mark")
    except Exception:
        dump(t)
        raise


def test_cli_and_events_validation(env):
    t = env
    recv = t.receiver()
    for bad in ("incoming,incoming", "incoming,", "Incoming", "incoming,sent"):
        r = t.cli("webhook", "add", "--account", BOB, recv.url, "--events", bad)
        assert r.returncode == 2 and "incoming" in r.stderr, (bad, r.stderr)
    assert "incoming" in t.cli("webhook", "help").stderr + t.cli("webhook", "help").stdout
    add_hook(t, recv.url, "--events", "bounced,incoming,delayed,delivered",
             owner=("--account", BOB))
    assert "bounced,incoming,delayed,delivered" in t.cli("webhook", "list").stdout


CLIENT = "127.0.0.8"  # not in [auth] trusted_networks: judged


@pytest.mark.skipif(not os.path.exists(DNSMASQ), reason="dnsmasq not installed")
def test_judged_mail_reports_its_authentication_results_and_junk_verdict(tern_factory):
    """With DNS (dnsmasq) and a client outside [auth] trusted_networks
    (127.0.0.8) the judge runs: the event carries tern's own
    Authentication-Results (not a forged one the sender put in), and mail
    DMARC quarantines is filed into Junk with "spam": true."""
    d = tempfile.mkdtemp(prefix="tern-inhook-dns-")
    dns = Dns(["--txt-record=good.test,v=spf1 ip4:%s -all" % CLIENT,
               "--txt-record=bad.test,v=spf1 -all",
               "--txt-record=_dmarc.bad.test,v=DMARC1; p=quarantine"], d)
    recv = Receiver()
    try:
        t = tern_factory(extra_config=FAST_HOOKS + queue_config(dns, 25))
        t.add_user(BOB, PW)
        add_hook(t, recv.url, "--events", "incoming", owner=("--account", BOB))
        forged = "Authentication-Results: mail.example.test; spf=pass; dmarc=pass\r\n"
        smtp_in(t, [BOB], message("fine", frm="a@good.test", extra=forged),
                mail_from="a@good.test", source=CLIENT)
        smtp_in(t, [BOB], message("forged", frm="a@bad.test"), mail_from="a@bad.test",
                source=CLIENT)
        wait_for(lambda: len(recv.accepted()) >= 2, timeout=30, what="two events")
        by = {e["subject"]: e for _, e in recv.accepted()}
        fine, junk = by["fine"], by["forged"]
        assert fine["spam"] is False and fine["mailbox"] == "INBOX"
        ar = fine["authentication_results"]
        assert ar and ar.startswith("mail.example.test") and "spf=pass" in ar, ar
        assert ar == stored_authres(t, BOB)  # ours: the first, on top of the sender's
        assert "dmarc=pass" not in ar
        assert junk["spam"] is True and junk["mailbox"] == "Junk", junk
        assert "spf=fail" in junk["authentication_results"]
    finally:
        recv.stop()
        dns.stop()
        subprocess.run(["rm", "-rf", d])


def test_send_api_to_a_local_account_is_incoming_for_the_recipient(tern_factory):
    """The send API goes through the same delivery job as SMTP: its local
    recipient's webhook hears of it (not judged: no Authentication-Results),
    the sender's "incoming" webhook does not."""
    t = tern_factory(listeners=LISTENERS + [("https", "http", "implicit")],
                     extra_config=FAST_HOOKS)
    t.add_user(ALICE, PW)
    t.add_user(BOB, PW)
    recv, own = Receiver(), Receiver()
    try:
        add_hook(t, recv.url, "--events", "incoming", owner=("--account", BOB))
        add_hook(t, own.url, "--events", "incoming", owner=("--account", ALICE))
        r = t.cli("token", "create", "--scope", "send", "--account", ALICE)
        assert r.returncode == 0, r.stderr
        c = http.client.HTTPSConnection(t.host, t.port("https"), context=ssl_ctx(), timeout=30)
        c.request("POST", "/api/v1/send",
                  body=json.dumps({"from": ALICE, "to": [BOB], "subject": "via http",
                                   "text": "hi"}),
                  headers={"Authorization": "Bearer " + r.stdout.strip(),
                           "Content-Type": "application/json"})
        resp = c.getresponse()
        doc = json.loads(resp.read())
        c.close()
        assert resp.status == 200, doc
        wait_for(lambda: recv.accepted(), timeout=30, what="bob's event")
        time.sleep(1.5)
        (e,) = [e for _, e in recv.accepted()]
        assert (e["account"], e["from"], e["subject"], e["message_id"]) == (
            BOB, ALICE, "via http", doc["message_id"])
        assert e["authentication_results"] is None and e["spam"] is False
        assert own.got == []
    except Exception:
        dump(t)
        raise
    finally:
        recv.stop()
        own.stop()
