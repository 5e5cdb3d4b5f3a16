"""SMTP delivery into the store: the lab scenario byte for byte, one copy for
many recipients, +tag folders, aliases, catch-all, DSN parameters, a store
failure (4xx, nothing half-written) and SIGKILL durability of every 250."""
import smtplib
import socket
import time
from email.message import EmailMessage

import pytest

from smtputil import Raw, count, inbox_messages, simple_message, smtp_raw, strip_trace

PW = "password-alice"


@pytest.fixture
def srv(tern_factory):
    t = tern_factory()
    for u in ("alice", "bob", "carol"):
        t.add_user("%s@example.test" % u, "password-" + u)
    return t


def lab_message():
    """multipart/mixed: multipart/alternative (text + HTML) and a PDF."""
    m = EmailMessage()
    m["From"] = "Alice <alice@example.test>"
    m["To"] = "Bob <bob@example.test>"
    m["Subject"] = "Lab report with attachment"
    m["Date"] = "Mon, 23 Nov 2026 09:00:00 +0000"
    m["Message-ID"] = "<lab-1@example.test>"
    m.set_content("Hello Bob,\n\nthe report is attached.\n")
    m.add_alternative("<html><body><p>Hello Bob,</p><p>the <b>report</b> is attached.</p>"
                      "</body></html>", subtype="html")
    pdf = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n" +
           bytes(range(256)) * 40 + b"\n%%EOF\n")
    m.add_attachment(pdf, maintype="application", subtype="pdf", filename="report.pdf")
    return m


def test_lab_scenario_byte_identical(srv):
    m = lab_message()
    sent = m.as_bytes(policy=m.policy.clone(linesep="\r\n"))
    assert b"multipart/mixed" in sent and b"multipart/alternative" in sent
    with smtplib.SMTP(srv.host, srv.port("submission")) as s:
        s.starttls(context=__import__("conftest").ssl_ctx())
        s.login("alice@example.test", "password-alice")
        s.sendmail("alice@example.test", ["bob@example.test"], sent)
    got = inbox_messages(srv, "bob@example.test")
    assert len(got) == 1
    assert strip_trace(got[0]) == sent
    assert got[0].startswith(b"Return-Path: <alice@example.test>\r\nReceived: from ")


def test_three_local_recipients_stored_once(srv):
    r = smtp_raw(srv)
    r.ehlo()
    assert r.cmd("MAIL FROM:<s@remote.example>")[0] == 250
    for u in ("alice", "bob", "carol", "bob"):
        assert r.cmd("RCPT TO:<%s@example.test>" % u)[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(simple_message(to="team") + ".\r\n")
    assert r.code() == 250
    assert count(srv, "SELECT COUNT(*) FROM messages") == 1
    assert count(srv, "SELECT COUNT(*) FROM mailbox_entries") == 3
    assert count(srv, "SELECT refcount FROM messages") == 3
    for u in ("alice", "bob", "carol"):
        assert len(inbox_messages(srv, "%s@example.test" % u)) == 1
    # several recipients: no "for <...>" clause leaks the others
    assert b"for <" not in inbox_messages(srv, "alice@example.test")[0]


def test_imap_index_built_after_the_250(srv):
    """The IMAP precomputation and FTS5 row are not part of the delivery
    transaction; the writer builds them when it is idle, soon after."""
    with smtplib.SMTP(srv.host, srv.port("smtp")) as s:
        for i in range(5):
            s.sendmail("s@remote.example", ["bob@example.test"],
                       simple_message(subject="indexed %d" % i))
    deadline = time.time() + 10
    while time.time() < deadline:
        if count(srv, "SELECT COUNT(*) FROM imap_message_info") == 5:
            break
        time.sleep(0.05)
    assert count(srv, "SELECT COUNT(*) FROM imap_message_info") == 5
    assert count(srv, "SELECT COUNT(*) FROM imap_fts WHERE imap_fts MATCH '\"indexed 3\"'") == 1


def test_plus_tag_alias_catch_all(srv):
    srv.cli("alias", "add", "info@example.test", "bob@example.test", check=True)
    r = smtp_raw(srv)
    r.ehlo()
    assert r.cmd("MAIL FROM:<s@remote.example>")[0] == 250
    assert r.cmd("RCPT TO:<alice+junk@example.test>")[0] == 250      # existing folder
    assert r.cmd("RCPT TO:<carol+nosuchfolder@example.test>")[0] == 250  # INBOX
    assert r.cmd("RCPT TO:<INFO@Example.Test>")[0] == 250           # alias, any case
    assert r.cmd("RCPT TO:<random@example.test>")[0] == 550         # no catch-all yet
    assert r.cmd("DATA")[0] == 354
    r.send(simple_message() + ".\r\n")
    assert r.code() == 250
    assert len(inbox_messages(srv, "alice@example.test", "Junk")) == 1
    assert len(inbox_messages(srv, "alice@example.test")) == 0
    assert len(inbox_messages(srv, "carol@example.test")) == 1
    assert len(inbox_messages(srv, "bob@example.test")) == 1
    srv.cli("alias", "add", "@example.test", "carol@example.test", check=True)
    assert r.cmd("MAIL FROM:<s@remote.example>")[0] == 250
    assert r.cmd("RCPT TO:<random@example.test>")[0] == 250  # seen without restart
    assert r.cmd("DATA")[0] == 354
    r.send(simple_message() + ".\r\n")
    assert r.code() == 250
    assert len(inbox_messages(srv, "carol@example.test")) == 2


def test_alias_forward_to_remote_is_queued(srv):
    srv.cli("alias", "add", "fwd@example.test", "someone@remote.example", check=True)
    r = smtp_raw(srv)
    r.ehlo()
    assert r.cmd("MAIL FROM:<s@remote.example> RET=HDRS ENVID=env+2B1")[0] == 250
    assert r.cmd("RCPT TO:<fwd@example.test> NOTIFY=NEVER")[0] == 250
    assert r.cmd("RCPT TO:<alice@example.test>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(simple_message() + ".\r\n")
    assert r.code() == 250
    db = srv.db()
    rows = db.execute("SELECT rcpt, notify, ret, envid, mail_from FROM queue").fetchall()
    assert rows == [("someone@remote.example", "NEVER", "HDRS", "env+2B1", "s@remote.example")]
    # local copy has Return-Path, the relayed one does not; both committed together
    assert count(srv, "SELECT COUNT(*) FROM messages") == 2
    assert len(inbox_messages(srv, "alice@example.test")) == 1


def test_notify_success_local_delivery_sends_a_delivered_dsn(srv):
    """RFC 3461 6.2.1: a local delivery with NOTIFY=SUCCESS reports
    "delivered" to the sender (here a local account: into her INBOX), with
    ORCPT and ENVID carried over; NOTIFY=NEVER and no NOTIFY report nothing."""
    r = smtp_raw(srv)
    r.ehlo()
    assert r.cmd("MAIL FROM:<carol@example.test> RET=HDRS ENVID=env-77")[0] == 250
    assert r.cmd("RCPT TO:<alice@example.test> NOTIFY=SUCCESS,FAILURE "
                 "ORCPT=rfc822;Alice@Example.test")[0] == 250
    assert r.cmd("RCPT TO:<bob@example.test> NOTIFY=NEVER")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(simple_message(subject="please confirm") + ".\r\n")
    assert r.code() == 250
    dsns = [m for m in inbox_messages(srv, "carol@example.test") if b"multipart/report" in m]
    assert len(dsns) == 1, "committed with the delivery, so present at the 250"
    text = dsns[0].decode()
    assert "Subject: Successful Mail Delivery Report" in text
    assert "Return-Path: <>" in text
    assert "Original-Envelope-Id: env-77" in text
    assert "Final-Recipient: rfc822; alice@example.test" in text
    assert "Original-Recipient: rfc822;Alice@Example.test" in text
    assert "Action: delivered" in text and "Status: 2.0.0" in text
    assert "bob@example.test" not in text.split("Content-Type: message/delivery-status")[1] \
        .split("Content-Type: text/rfc822-headers")[0]
    assert "Subject: please confirm" in text  # the original header (RET=HDRS)
    assert len(inbox_messages(srv, "alice@example.test")) == 1

    # without NOTIFY=SUCCESS: no report
    r.cmd("MAIL FROM:<carol@example.test>")
    r.cmd("RCPT TO:<alice@example.test>")
    assert r.cmd("DATA")[0] == 354
    r.send(simple_message(subject="no report") + ".\r\n")
    assert r.code() == 250
    assert len([m for m in inbox_messages(srv, "carol@example.test")
                if b"multipart/report" in m]) == 1


def test_store_failure_is_4xx_and_leaves_nothing(tern_factory, monkeypatch):
    monkeypatch.setenv("TERN_TEST_FAIL_COMMIT", "1")
    t = tern_factory()
    t.add_user("alice@example.test", PW)
    r = smtp_raw(t)
    r.ehlo()
    assert r.cmd("MAIL FROM:<s@remote.example>")[0] == 250
    assert r.cmd("RCPT TO:<alice@example.test>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(simple_message() + ".\r\n")
    assert r.full().startswith("451 4.3.0")
    assert count(t, "SELECT COUNT(*) FROM messages") == 0
    assert count(t, "SELECT COUNT(*) FROM mailbox_entries") == 0
    assert count(t, "SELECT COUNT(*) FROM queue") == 0
    assert count(t, "SELECT uidnext FROM mailboxes WHERE name = 'INBOX' AND account_id = "
                    "(SELECT id FROM accounts WHERE address = 'alice@example.test')") == 1
    # the session goes on, and the retry succeeds
    assert r.cmd("MAIL FROM:<s@remote.example>")[0] == 250
    assert r.cmd("RCPT TO:<alice@example.test>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(simple_message() + ".\r\n")
    assert r.code() == 250
    assert len(inbox_messages(t, "alice@example.test")) == 1


def test_sigkill_after_250s_loses_nothing(srv):
    n_sessions, per = 4, 10
    conns = []
    for i in range(n_sessions):
        r = smtp_raw(srv)
        r.ehlo()
        conns.append(r)
    acked = []
    for i, r in enumerate(conns):
        r.send("".join("MAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.test>\r\n"
                       "DATA\r\nSubject: s%d-m%d\r\n\r\nbody\r\n.\r\n" % (i, k)
                       for k in range(per)))
    for i, r in enumerate(conns):
        for k in range(per):
            codes = [r.code() for _ in range(4)]
            assert codes == [250, 250, 354, 250]
            acked.append(b"Subject: s%d-m%d\r\n" % (i, k))
    srv.kill9()
    srv.start()
    got = inbox_messages(srv, "alice@example.test")
    subjects = set()
    for g in got:
        for ln in strip_trace(g).split(b"\r\n"):
            if ln.startswith(b"Subject: "):
                subjects.add(ln + b"\r\n")
    assert set(acked) <= subjects
    assert len(acked) == n_sessions * per


def test_client_disconnect_during_commit(srv):
    # The session goes away while its store job runs: the job still
    # completes and nothing crashes.
    for i in range(5):
        s = socket.create_connection((srv.host, srv.port("smtp")))
        time.sleep(0.3)
        s.sendall(b"EHLO x\r\nMAIL FROM:<s@remote.example>\r\nRCPT TO:<alice@example.test>\r\n"
                  b"DATA\r\nSubject: gone\r\n\r\nx\r\n.\r\n")
        time.sleep(0.05 * i)
        s.close()
    time.sleep(0.5)
    r = smtp_raw(srv)
    assert r.cmd("NOOP")[0] == 250
    assert srv.proc.poll() is None
