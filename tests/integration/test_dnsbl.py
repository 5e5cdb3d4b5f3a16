"""Reputation of mx clients at connect (proto/smtp/mx_reputation.c) against
dnsmasq serving fake lists: a client the "reject" list names gets
554 5.7.1 naming the list at RCPT, a list's error code (127.255.255.x) and
an unlisted address do not; an allowlist outweighs a blocklist; a trusted
network and an authenticated session are not checked; the "junk" list
marks the message (X-Spam-Flag); FCrDNS puts the verified name, or
"unknown", into Received:. Clients bind to 127.0.0.x source addresses."""
import os
import socket
import tempfile

import pytest

from conftest import HOST
from relayutil import dns_cleanup, DNSMASQ, Dns  # noqa: F401 (dns_cleanup is an autouse fixture)
from smtputil import Raw, inbox_messages, simple_message, wait_quiet

pytestmark = pytest.mark.skipif(not os.path.exists(DNSMASQ), reason="dnsmasq not installed")

RECORDS = [
    # bl.test (reject, weight 10): .2 listed, .4 answered with Spamhaus's
    # "open resolver" error code, .6 listed but on the allowlist too, .9
    # listed but trusted.
    "--address=/2.0.0.127.bl.test/127.0.0.2",
    "--address=/4.0.0.127.bl.test/127.255.255.254",
    "--address=/6.0.0.127.bl.test/127.0.0.2",
    "--address=/6.0.0.127.wl.test/127.0.0.2",
    "--address=/9.0.0.127.bl.test/127.0.0.2",
    # junk.test (junk, weight 5)
    "--address=/5.0.0.127.junk.test/127.0.0.10",
    # FCrDNS: .3 is good.client.test both ways; .7's PTR name points elsewhere.
    "--ptr-record=3.0.0.127.in-addr.arpa,good.client.test",
    "--address=/good.client.test/127.0.0.3",
    "--ptr-record=7.0.0.127.in-addr.arpa,liar.client.test",
    "--address=/liar.client.test/127.0.0.70",
]


# [auth] trusted_networks is one list for every mx check; SPF, DKIM and
# DMARC are test_mailauth_mx.py's (the zone here has no sender records).
TRUSTED = {"trusted_networks": '"127.0.0.9/32"', "check_spf": False, "check_dkim": False,
           "check_dmarc": False}


def config(dns):
    return ("[queue]\ndns_servers = \"%s\"\ndns_timeout = 1\n\n"
            "[smtp]\ngreet_delay_ms = 0\n\n"
            "[spam]\nfcrdns = true\n"
            "check_timeout_ms = 3000\n\n"
            "[[spam.dnsbl]]\nzone = \"bl.test\"\nweight = 10\naction = \"reject\"\n\n"
            "[[spam.dnsbl]]\nzone = \"junk.test\"\nweight = 5\naction = \"junk\"\n\n"
            "[[spam.dnsbl]]\nzone = \"wl.test\"\nweight = -20\n" % dns.servers)


@pytest.fixture
def server(tern_factory):
    d = tempfile.mkdtemp(prefix="tern-dnsbl-dns-")
    dns = Dns(RECORDS, d)
    t = tern_factory(extra_config=config(dns), auth=TRUSTED)
    t.add_user("alice@example.test", "pw-alice-123")
    return t


def connect(t, source):
    """A Raw client whose connection comes from source (127.0.0.x)."""
    raw = Raw.__new__(Raw)
    raw.sock = socket.create_connection((HOST, t.port("smtp")), timeout=10,
                                        source_address=(source, 0))
    raw.buf = b""
    raw.greeting = raw.reply()
    return raw


def send_mail(t, source, subject):
    c = connect(t, source)
    assert c.greeting[0] == 220
    c.ehlo("client.example")
    assert c.cmd("MAIL FROM:<sender@remote.example>")[0] == 250
    code, lines = c.cmd("RCPT TO:<alice@example.test>")
    if code != 250:
        c.close()
        return code, lines
    assert c.cmd("DATA")[0] == 354
    c.send(simple_message(subject=subject) + ".\r\n")
    code, lines = c.reply()
    c.cmd("QUIT")
    c.close()
    return code, lines


def message(t, subject):
    wait_quiet(0.2)
    for m in inbox_messages(t, "alice@example.test"):
        if ("Subject: %s\r\n" % subject).encode() in m:
            return m.decode("utf-8", "replace")
    return None


def test_listed_client_is_rejected_naming_the_list(server):
    code, lines = send_mail(server, "127.0.0.2", "listed")
    assert code == 554, lines
    assert lines[-1] == "5.7.1 127.0.0.2 listed by bl.test", lines
    assert message(server, "listed") is None
    assert "event=reputation verdict=reject" in server.logs()


@pytest.mark.parametrize("source", ["127.0.0.3", "127.0.0.4", "127.0.0.6", "127.0.0.9"])
def test_not_rejected(server, source):
    # .3 unlisted, .4 only the list's error code, .6 allowlisted, .9 trusted
    code, lines = send_mail(server, source, "ok-" + source)
    assert code == 250, lines
    m = message(server, "ok-" + source)
    assert m is not None and "X-Spam-Flag" not in m.split("\r\n\r\n")[0]


def junk_message(t, subject):
    """(message, flags) of the message with that subject in alice's Junk, over IMAP."""
    import imaplib
    c = imaplib.IMAP4(t.host, t.port("imap"))
    try:
        c.starttls(ssl_context=_insecure_tls())
        assert c.login("alice@example.test", "pw-alice-123")[0] == "OK"
        assert c.select("Junk")[0] == "OK"
        typ, data = c.search(None, "SUBJECT", '"%s"' % subject)
        nums = data[0].split()
        if not nums:
            return None, None
        typ, data = c.fetch(nums[0], "(FLAGS BODY.PEEK[])")
        return data[0][1].decode("utf-8", "replace"), data[0][0].decode()
    finally:
        c.logout()


def _insecure_tls():
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def test_junk_list_marks_the_message(server):
    code, lines = send_mail(server, "127.0.0.5", "junked")
    assert code == 250, lines
    assert message(server, "junked") is None  # not in INBOX
    m, flags = junk_message(server, "junked")
    assert m is not None and "$Junk" in flags, flags
    head = m.split("\r\n\r\n")[0]
    assert "X-Spam-Flag: YES\r\nX-Spam-Score: 5\r\n" in head, head
    assert "event=reputation verdict=junk score=5" in server.logs()


def test_fcrdns_name_in_received(server):
    assert send_mail(server, "127.0.0.3", "named")[0] == 250
    m = message(server, "named")
    assert "Received: from client.example (good.client.test [127.0.0.3])" in m, m[:400]
    # A PTR that does not lead back proves nothing.
    assert send_mail(server, "127.0.0.7", "liar")[0] == 250
    m = message(server, "liar")
    assert "Received: from client.example (unknown [127.0.0.7])" in m, m[:400]


def test_authenticated_session_is_not_checked(tern_factory):
    d = tempfile.mkdtemp(prefix="tern-dnsbl-dns-")
    dns = Dns(RECORDS, d)
    t = tern_factory(extra_config=config(dns).replace("[smtp]\n", "[smtp]\nmx_auth = true\n"),
                     auth=dict(TRUSTED, plaintext_loopback=True))
    t.add_user("alice@example.test", "pw-alice-123")
    import base64
    c = connect(t, "127.0.0.2")
    c.ehlo()
    token = base64.b64encode(b"\0alice@example.test\0pw-alice-123").decode()
    assert c.cmd("AUTH PLAIN " + token)[0] == 235
    assert c.cmd("MAIL FROM:<alice@example.test>")[0] == 250
    assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
    c.close()
