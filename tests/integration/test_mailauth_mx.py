"""The mx listener judges what it receives (proto/smtp/judge.c): SPF for
HELO and MAIL FROM, DKIM for each signature, DMARC on the From: domain,
with a real dnsmasq answering on 127.0.0.1 and clients connecting from
other loopback addresses (127.0.0.2: the SPF records' address, 127.0.0.3:
not). Checked: SPF pass/fail/softfail, a dkimpy-signed message passes and
a tampered one fails, DMARC reject -> 550 5.7.1 naming the domain,
quarantine -> the Junk mailbox with $Junk (read over IMAP), a forged
Authentication-Results with our authserv-id is removed (another's stays),
a DNS timeout gives 451 (never a pass), trusted_networks skips the checks,
a trusted forwarder's failure is recorded and delivered."""
import base64
import imaplib
import os
import smtplib
import tempfile
import time

import pytest

from conftest import ssl_ctx
from mailauth_helpers import ar_fields, smtp_counters
from relayutil import dns_cleanup, DNSMASQ, Dns, queue_config  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.skipif(not os.path.exists(DNSMASQ), reason="dnsmasq not installed")
dkim = pytest.importorskip("dkim", reason="python3-dkim (dkimpy) is not installed")
nacl_signing = pytest.importorskip("nacl.signing", reason="python3-nacl is not installed")

AUTHSERV = "mail.example.test"  # conftest's [server] hostname
USER, PASSWORD = "bob@example.test", "a long password 42"
SEED = bytes(range(32))  # a fixed Ed25519 key for the test
PUBKEY = base64.b64encode(bytes(nacl_signing.SigningKey(SEED).verify_key)).decode()

RECORDS = [
    "--txt-record=good.test,v=spf1 ip4:127.0.0.2 -all",
    "--txt-record=_dmarc.good.test,v=DMARC1; p=reject",
    "--txt-record=soft.test,v=spf1 ip4:127.0.0.2 ~all",
    "--txt-record=junk.test,v=spf1 ip4:127.0.0.2 -all",
    "--txt-record=_dmarc.junk.test,v=DMARC1; p=quarantine",
    "--txt-record=_dmarc.signed.test,v=DMARC1; p=reject",
    "--txt-record=sel._domainkey.signed.test,v=DKIM1; k=ed25519; p=" + PUBKEY,
    "--txt-record=helo.test,v=spf1 ip4:127.0.0.2 -all",
]


@pytest.fixture(scope="module")
def dns():
    d = tempfile.mkdtemp(prefix="tern-mailauth-dns-")
    yield Dns(RECORDS, d)


@pytest.fixture
def dns_cleanup():  # the module's dnsmasq lives for all its tests
    yield


@pytest.fixture(scope="module")
def server(dns, request):
    from conftest import Tern
    d = tempfile.mkdtemp(prefix="tern-mailauth-")
    t = Tern(d, extra_config=queue_config(dns, 25),
             listeners=[("smtp", "smtp", "none"), ("imap", "imap", "starttls"),
                        ("https", "http", "implicit")],
             auth={"check_timeout": 3, "plaintext_loopback": "true",
                   "trusted_networks": '"127.0.0.1, 127.0.0.4"',
                   "dmarc_trusted_forwarders": '"127.0.0.5, helo.test"'})
    t.start()
    t.add_user(USER, PASSWORD)
    yield t
    t.stop()
    dns.stop()
    os.system("rm -rf '%s'" % d)


def message(frm, subject, extra=b"", body=b"Hello.\r\n"):
    return (b"From: <" + frm.encode() + b">\r\nTo: <" + USER.encode() + b">\r\n"
            b"Subject: " + subject.encode() + b"\r\nDate: Sun, 6 Dec 2026 18:00:00 +0000\r\n"
            b"Message-ID: <" + subject.replace(" ", ".").encode() + b"@test>\r\n" + extra +
            b"\r\n" + body)


def send(t, source, mail_from, msg, helo="client.test"):
    """(code, text) of the answer to the message."""
    with smtplib.SMTP(t.host, t.port("smtp"), local_hostname=helo, timeout=30,
                      source_address=(source, 0)) as s:
        s.ehlo(helo)
        code, text = s.mail(mail_from)
        assert code == 250, text
        code, text = s.rcpt(USER)
        assert code == 250, text
        code, text = s.data(msg)
        return code, text.decode()


def stored(t, subject, mailbox="INBOX"):
    """(message bytes, keywords) of the message with that subject."""
    db = t.db()
    try:
        for data, kw in db.execute(
                "SELECT m.data, e.keywords FROM mailbox_entries e "
                "JOIN mailboxes b ON b.id = e.mailbox_id JOIN messages m ON m.id = e.message_id "
                "WHERE b.name = ?", (mailbox,)):
            if b"Subject: " + subject.encode() + b"\r\n" in bytes(data):
                return bytes(data), kw
    finally:
        db.close()
    return None, None


def test_spf_pass_delivered(server):
    code, _ = send(server, "127.0.0.2", "a@good.test", message("a@good.test", "spf pass"))
    assert code == 250
    data, _ = stored(server, "spf pass")
    ar = ar_fields(data)
    assert len(ar) == 1 and ar[0].startswith("Authentication-Results: " + AUTHSERV + ";")
    assert "spf=pass smtp.mailfrom=a@good.test" in ar[0]
    assert "dmarc=pass header.from=good.test" in ar[0]
    assert "dkim=none" in ar[0]


def test_spf_fail_dmarc_reject(server):
    code, text = send(server, "127.0.0.3", "a@good.test", message("a@good.test", "spf fail"))
    assert code == 550 and text.startswith("5.7.1") and "good.test" in text, text
    assert stored(server, "spf fail")[0] is None
    assert "dmarc=fail" in server.logs() and "action=reject" in server.logs()


def test_spf_softfail_no_dmarc(server):
    code, _ = send(server, "127.0.0.3", "x@soft.test", message("x@soft.test", "softfail"))
    assert code == 250
    ar = ar_fields(stored(server, "softfail")[0])
    assert "spf=softfail smtp.mailfrom=x@soft.test" in ar[0] and "dmarc=none" in ar[0], ar


def test_null_sender_uses_helo(server):
    code, _ = send(server, "127.0.0.2", "", message("a@helo.test", "null sender"),
                   helo="helo.test")
    assert code == 250
    ar = ar_fields(stored(server, "null sender")[0])
    assert "spf=pass smtp.helo=helo.test" in ar[0], ar


def signed(subject, frm="a@signed.test"):
    msg = message(frm, subject, body=b"Signed body.\r\n")
    key = base64.b64encode(SEED)
    sig = dkim.sign(msg, b"sel", b"signed.test", key, signature_algorithm=b"ed25519-sha256",
                    include_headers=[b"from", b"to", b"subject"])
    return sig + msg


def test_dkim_pass_aligns(server):
    # SPF has nothing to say for other.test: DMARC passes through DKIM
    code, _ = send(server, "127.0.0.3", "bounce@other.test", signed("dkim ok"))
    assert code == 250
    ar = ar_fields(stored(server, "dkim ok")[0])
    assert "dkim=pass header.d=signed.test header.s=sel header.b=" in ar[0], ar
    assert "dmarc=pass header.from=signed.test" in ar[0], ar


def test_dkim_tampered_fails(server):
    msg = signed("dkim bad").replace(b"Signed body.", b"Signed b0dy.")
    code, text = send(server, "127.0.0.3", "bounce@other.test", msg)
    assert code == 550 and "signed.test" in text, text
    assert "dkim=fail" in server.logs()


def imap_login(server):
    c = imaplib.IMAP4(server.host, server.port("imap"))
    c.starttls(ssl_ctx())
    c.login(USER, PASSWORD)
    return c


def test_quarantine_into_junk(server):
    # no Junk mailbox: the delivery makes one, with \Junk
    c = imap_login(server)
    assert c.delete("Junk")[0] == "OK"
    c.logout()
    code, _ = send(server, "127.0.0.3", "x@junk.test", message("x@junk.test", "quarantined"))
    assert code == 250
    assert stored(server, "quarantined", "INBOX")[0] is None
    c = imap_login(server)
    try:
        typ, data = c.list()
        junk = [line.decode() for line in data if b"\\Junk" in line]
        assert junk, data
        typ, _ = c.select("Junk")
        assert typ == "OK"
        typ, data = c.search(None, "SUBJECT", '"quarantined"')
        uids = data[0].split()
        assert len(uids) == 1, data
        typ, data = c.fetch(uids[0], "(FLAGS)")
        assert b"$Junk" in data[0], data
    finally:
        c.logout()


def test_forged_auth_results_removed(server):
    extra = (b"Authentication-Results: " + AUTHSERV.upper().encode() + b";\r\n"
             b"\tspf=pass smtp.mailfrom=forged@good.test\r\n"
             b"Authentication-Results: other.example; spf=pass smtp.mailfrom=x@other\r\n")
    code, _ = send(server, "127.0.0.2", "a@good.test", message("a@good.test", "forged ar", extra))
    assert code == 250
    ar = ar_fields(stored(server, "forged ar")[0])
    assert len(ar) == 2, ar
    assert ar[0].startswith("Authentication-Results: " + AUTHSERV + ";")
    assert "forged@good.test" not in "".join(ar)
    assert ar[1].startswith("Authentication-Results: other.example;")


def test_dns_timeout_is_temporary(server):
    t0 = time.time()
    code, text = send(server, "127.0.0.2", "a@x.fail.test", message("a@x.fail.test", "timeout"))
    assert code == 451 and text.startswith("4."), (code, text)
    assert time.time() - t0 < 15
    assert stored(server, "timeout")[0] is None


def test_trusted_network_not_checked(server):
    code, _ = send(server, "127.0.0.4", "a@good.test", message("a@good.test", "trusted"))
    assert code == 250
    assert ar_fields(stored(server, "trusted")[0]) == []


def test_trusted_forwarder_recorded(server):
    code, _ = send(server, "127.0.0.5", "a@good.test", message("a@good.test", "forwarded"))
    assert code == 250
    ar = ar_fields(stored(server, "forwarded")[0])
    assert "spf=fail" in ar[0] and "dmarc=fail" in ar[0], ar
    assert "override=trusted_forwarder" in server.logs()


def test_several_from_domains_junked(server):
    msg = message("a@good.test", "two authors").replace(
        b"From: <a@good.test>", b"From: <a@good.test>, <b@other.test>")
    code, _ = send(server, "127.0.0.2", "a@good.test", msg)
    assert code == 250
    data, kw = stored(server, "two authors", "Junk")
    assert data is not None and "$Junk" in kw
    assert "from_domains=several" in server.logs()


def test_client_gone_while_judging(server):
    """The client leaves while the checks run (a DNS timeout): the checks are
    cancelled, the server goes on serving."""
    s = smtplib.SMTP(server.host, server.port("smtp"), timeout=30,
                     source_address=("127.0.0.2", 0))
    s.ehlo("client.test")
    s.mail("a@x.fail.test")
    s.rcpt(USER)
    s.putcmd("DATA")
    assert s.getreply()[0] == 354
    s.send(message("a@x.fail.test", "gone").replace(b"\r\n.", b"\r\n..") + b"\r\n.\r\n")
    s.sock.close()
    time.sleep(0.2)
    code, _ = send(server, "127.0.0.2", "a@good.test", message("a@good.test", "after gone"))
    assert code == 250


def test_trusted_forwarder_by_helo_name(server):
    # helo.test's SPF passes for 127.0.0.2 only: the name counts from there
    msg = message("a@signed.test", "helo forwarder")
    code, _ = send(server, "127.0.0.2", "bounce@other.test", msg, helo="helo.test")
    assert code == 250
    code, _ = send(server, "127.0.0.3", "bounce@other.test",
                   message("a@signed.test", "helo forged"), helo="helo.test")
    assert code == 550


def test_bdat_signed_message(server):
    """BDAT chunks feed DKIM as DATA does."""
    import socket
    msg = signed("bdat ok")
    s = socket.create_connection((server.host, server.port("smtp")), timeout=30,
                                 source_address=("127.0.0.3", 0))
    f = s.makefile("rb")

    def reply():
        lines = []
        while True:
            line = f.readline().decode()
            lines.append(line)
            if line[3:4] != "-":
                return lines[-1]
    assert reply().startswith("220")
    s.sendall(b"EHLO client.test\r\n")
    assert reply().startswith("250")
    s.sendall(b"MAIL FROM:<bounce@other.test>\r\nRCPT TO:<" + USER.encode() + b">\r\n")
    assert reply().startswith("250") and reply().startswith("250")
    half = len(msg) // 3  # a chunk border inside the header section
    s.sendall(b"BDAT %d\r\n" % half + msg[:half])
    assert reply().startswith("250")
    rest = msg[half:]
    s.sendall(b"BDAT %d LAST\r\n" % len(rest) + rest)
    assert reply().startswith("250"), "not accepted"
    s.sendall(b"QUIT\r\n")
    s.close()
    ar = ar_fields(stored(server, "bdat ok")[0])
    assert "dkim=pass header.d=signed.test" in ar[0] and "dmarc=pass" in ar[0], ar


def test_verdicts_are_metrics(server):
    """Runs last: the counters of what the tests above sent."""
    got = smtp_counters(server)
    assert got['tern_smtp_spf_results_total{result="pass"}'] >= 3, got
    assert got['tern_smtp_spf_results_total{result="softfail"}'] >= 1
    assert got['tern_smtp_dkim_results_total{result="pass"}'] >= 1
    assert got['tern_smtp_dkim_results_total{result="fail"}'] >= 1
    assert got['tern_smtp_dmarc_results_total{result="fail"}'] >= 3
    assert got['tern_smtp_dmarc_results_total{result="temperror"}'] >= 1
    assert got['tern_smtp_dmarc_actions_total{action="reject"}'] >= 2
    assert got['tern_smtp_dmarc_actions_total{action="quarantine"}'] >= 2
    assert got['tern_smtp_dmarc_actions_total{action="defer"}'] >= 1
    assert got['tern_smtp_dmarc_actions_total{action="override"}'] >= 2
    assert got["tern_smtp_auth_results_removed_total"] == 1
