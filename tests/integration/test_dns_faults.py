"""DNS faults (issue 20): the mail-authentication checks of mail coming in
and the relay's lookups for mail going out, against a DNS server that
times out, answers SERVFAIL, truncates (and then fails over TCP), sends
50 KB TXT records and 300 MX records, loops CNAMEs and sends garbage
(faultdns.py).

What must hold for each: tern answers within its bounds, with the
protocol's temporary error where the DNS failure is temporary (RFC 7208
§2.6.6 temperror, RFC 5321 §5.1: a temporary lookup failure defers), keeps
serving, and never bounces mail for a temporary DNS failure."""
import os
import smtplib
import tempfile
import time

import pytest

from conftest import Tern
from faultdns import FaultDns
from relayutil import (dns_cleanup, free_udp_tcp_port, queue_config, queue_rows,  # noqa: F401
                       submit, wait_for)

USER, PASSWORD = "rcpt@example.test", "dns-faults-pw-1"
SENDER = "alice@example.test"
AUTHSERV = "mail.example.test"


@pytest.fixture(scope="module")
def fdns():
    d = FaultDns(free_udp_tcp_port())
    yield d
    d.stop()


@pytest.fixture(scope="module")
def server(fdns):
    d = tempfile.mkdtemp(prefix="tern-dnsfaults-")
    dead = free_udp_tcp_port()  # nothing listens: a delivery attempt is refused
    t = Tern(d, extra_config=queue_config(fdns, dead, retry_first=60, retry_max=60),
             listeners=[("smtp", "smtp", "none"), ("submissions", "submission", "implicit")],
             auth={"check_timeout": 3})
    t.start()
    t.add_user(USER, PASSWORD)
    t.add_user(SENDER, PASSWORD)
    yield t
    t.stop()
    os.system("rm -rf '%s'" % d)


def message(frm, subject):
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: Mon, 7 Dec 2026 18:00:00 +0000\r\n"
            "Message-ID: <%s@dnsfaults.test>\r\n\r\nHello.\r\n"
            % (frm, USER, subject, subject.replace(" ", "."))).encode()


def send_in(t, mail_from, subject):
    """Over mx from 127.0.0.2: (code, text, seconds) of the answer to DATA."""
    t0 = time.time()
    with smtplib.SMTP(t.host, t.port("smtp"), local_hostname="client.test", timeout=30,
                      source_address=("127.0.0.2", 0)) as s:
        s.ehlo("client.test")
        code, text = s.mail(mail_from)
        if code == 250:
            code, text = s.rcpt(USER)
        if code == 250:
            code, text = s.data(message(mail_from, subject))
        return code, text.decode(), time.time() - t0


def stored(t, subject):
    db = t.db()
    try:
        for (data,) in db.execute("SELECT data FROM messages"):
            if ("Subject: %s\r\n" % subject).encode() in bytes(data):
                return bytes(data)
    finally:
        db.close()
    return None


def spf_result(data):
    head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace").replace("\r\n\t", " ")
    for line in head.split("\r\n"):
        if line.lower().startswith("authentication-results: " + AUTHSERV):
            for part in line.split(";"):
                part = part.strip()
                if part.startswith("spf="):
                    return part.split()[0][4:]
    return None


# (sender domain, the answers allowed, the SPF results allowed when accepted)
INBOUND = [
    ("x.timeout.test", {451}, ()),
    ("x.servfail.test", {451}, ()),
    ("x.trunc.test", {451}, ()),
    ("x.garbage.test", {451}, ()),
    # a TXT RRset without "v=spf1": no SPF record (RFC 7208 §4.5), not an error
    ("bigtxt.test", {250}, ("none",)),
    # a CNAME loop: the resolver's error (temperror) or no record (none)
    ("a.cname.test", {250, 451}, ("none", "temperror")),
]


@pytest.mark.parametrize("domain,codes,spf", INBOUND, ids=[d for d, _, _ in INBOUND])
def test_inbound_checks_bounded(server, fdns, domain, codes, spf):
    subject = "inbound %s" % domain
    code, text, took = send_in(server, "u@" + domain, subject)
    assert code in codes, (code, text)
    assert took < 20, "answered after %.1f s" % took
    if code == 451:
        assert text.startswith("4."), text
        assert stored(server, subject) is None
    else:
        data = stored(server, subject)
        assert data is not None
        assert spf_result(data) in spf, data[:600]
    # and a sane sender right after still gets its answer
    code, text, took = send_in(server, "u@good.test", "control after " + domain)
    assert code == 250 and took < 10, (code, text, took)
    assert spf_result(stored(server, "control after " + domain)) == "pass"


def row_state(t, rcpt):
    rows = [r for r in queue_rows(t) if r[1] == rcpt]
    return rows[0] if rows else None


# (recipient domain, whether the relay may give up at once)
OUTBOUND = [
    ("x.timeout.test", False),
    ("x.servfail.test", False),
    ("x.trunc.test", False),
    ("x.garbage.test", False),
    ("a.cname.test", False),
    # 300 exchangers that do not exist (NXDOMAIN each): a bounce is allowed
    ("bigtxt.test", True),
]


def test_outbound_lookups_defer(server, fdns):
    for domain, _ in OUTBOUND:
        submit(server, SENDER, PASSWORD, ["bob@" + domain],
               message(SENDER, "outbound " + domain))
    rcpts = ["bob@" + d for d, _ in OUTBOUND]

    def all_tried():
        return all((row_state(server, r) or (0, 0, 1))[2] >= 1 for r in rcpts)

    wait_for(all_tried, timeout=40, what="one attempt per recipient")
    for domain, may_bounce in OUTBOUND:
        row = row_state(server, "bob@" + domain)
        if row is None:
            assert may_bounce, "bob@%s left the queue after a temporary DNS failure" % domain
            continue
        _, _, attempts, last_error = row
        assert attempts >= 1 and last_error, row
    # the exchangers tried are bounded (net/dns.h: DNS_MAX_HOSTS, 16, each
    # asked A and AAAA, an attempt or two): not 300 of them (600 queries)
    assert 0 < fdns.counts["nx.test"] <= 100, fdns.counts
    # still serving
    code, text, _ = send_in(server, "u@good.test", "control after outbound")
    assert code == 250, (code, text)
    assert server.proc.poll() is None
