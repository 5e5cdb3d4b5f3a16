"""The built-in spam score (mailauth/junk_score.c, proto/smtp/deliver.c):
the DNSBL sum plus [spam] weights for SPF, DKIM and DMARC failures, with a
real dnsmasq and clients on other loopback addresses (127.0.0.3 is outside
every SPF record here; 127.0.0.1 is the default trusted network).
Checked with the default weights: SPF fail + a broken DKIM signature +
a p=none DMARC fail -> Junk with X-Spam-Flag/X-Spam-Score (over IMAP) and
the reasons in the log; SPF fail alone, or softfail alone -> INBOX. A
second server with spf_fail_weight = 0 delivers the same message to INBOX,
and with rspamd configured but down still junks on the DNSBL + auth sum.
Forged X-Spam-* fields from an mx client are removed; a submission's
stay."""
import base64
import os
import tempfile

import pytest

from relayutil import DNSMASQ, Dns, free_udp_tcp_port, queue_config, submit
from mailauth_helpers import header, smtp_counters
from test_mailauth_mx import PUBKEY, SEED, USER, PASSWORD, imap_login, message, send, stored

pytestmark = pytest.mark.skipif(not os.path.exists(DNSMASQ), reason="dnsmasq not installed")
dkim = pytest.importorskip("dkim", reason="python3-dkim (dkimpy) is not installed")

RECORDS = [
    "--txt-record=forged.test,v=spf1 ip4:127.0.0.2 -all",
    "--txt-record=_dmarc.forged.test,v=DMARC1; p=none",
    "--txt-record=sel._domainkey.forged.test,v=DKIM1; k=ed25519; p=" + PUBKEY,
    "--txt-record=soft.test,v=spf1 ip4:127.0.0.2 ~all",
    # the second server's DNSBL (junk, weight 3) lists 127.0.0.6
    "--address=/6.0.0.127.bl.test/127.0.0.2",
]


@pytest.fixture(scope="module")
def dns():
    d = tempfile.mkdtemp(prefix="tern-junk-dns-")
    dns = Dns(RECORDS, d)
    yield dns
    dns.stop()
    os.system("rm -rf '%s'" % d)


def make_server(dns, spam):
    from conftest import Tern
    d = tempfile.mkdtemp(prefix="tern-junk-")
    t = Tern(d, extra_config=queue_config(dns, 25) + "\n[spam]\n" + spam,
             listeners=[("smtp", "smtp", "none"), ("imap", "imap", "starttls"),
                        ("submissions", "submission", "implicit"),
                        ("https", "http", "implicit")],
             auth={"check_timeout": 3, "plaintext_loopback": "true"})
    t.start()
    t.add_user(USER, PASSWORD)
    return t, d


@pytest.fixture(scope="module")
def server(dns):
    t, d = make_server(dns, "")  # the default weights
    yield t
    t.stop()
    os.system("rm -rf '%s'" % d)


@pytest.fixture(scope="module")
def server_weights(dns):
    down = free_udp_tcp_port()  # nothing listens: rspamd fails, the score stands in
    t, d = make_server(dns, 'spf_fail_weight = 0\nrspamd_url = "http://127.0.0.1:%d"\n'
                            'rspamd_timeout_ms = 2000\n\n'
                            '[[spam.dnsbl]]\nzone = "bl.test"\nweight = 3\n' % down)
    yield t
    t.stop()
    os.system("rm -rf '%s'" % d)


def broken_signature(frm, subject, domain="forged.test"):
    """A message signed for domain, then changed: DKIM fail."""
    msg = message(frm, subject, body=b"Signed body.\r\n")
    sig = dkim.sign(msg, b"sel", domain.encode(), base64.b64encode(SEED),
                    signature_algorithm=b"ed25519-sha256",
                    include_headers=[b"from", b"to", b"subject"])
    return (sig + msg).replace(b"Signed body.", b"Signed b0dy.")


def junk_fetch(t, subject):
    """The message with that subject in the Junk mailbox, over IMAP, or None."""
    c = imap_login(t)
    try:
        typ, _ = c.select("Junk")
        if typ != "OK":
            return None
        typ, data = c.search(None, "SUBJECT", '"%s"' % subject)
        nums = data[0].split()
        if not nums:
            return None
        typ, data = c.fetch(nums[0], "(FLAGS BODY.PEEK[])")
        assert b"$Junk" in data[0][0], data[0][0]
        return data[0][1]
    finally:
        c.logout()


def test_spf_and_dkim_fail_go_to_junk(server):
    msg = broken_signature("a@forged.test", "both fail")
    code, _ = send(server, "127.0.0.3", "a@forged.test", msg)
    assert code == 250
    assert stored(server, "both fail")[0] is None
    data = junk_fetch(server, "both fail")
    assert data is not None
    head = header(data)
    assert head.count("X-Spam-Flag:") == 1 and "X-Spam-Flag: YES\r\nX-Spam-Score: 6\r\n" in head
    assert "score=6 reasons=spf_fail:3,dkim_fail:2,dmarc_fail:1 spam=junk" in server.logs()


def test_spf_fail_alone_stays_in_inbox(server):
    # SPF fail (3) and the p=none DMARC fail (1): 4, under junk_score 5
    code, _ = send(server, "127.0.0.3", "a@forged.test", message("a@forged.test", "spf only"))
    assert code == 250
    data, _ = stored(server, "spf only")
    assert data is not None and "X-Spam-" not in header(data)
    assert "score=4 reasons=spf_fail:3,dmarc_fail:1" in server.logs()


def test_softfail_alone_stays_in_inbox(server):
    code, _ = send(server, "127.0.0.3", "x@soft.test", message("x@soft.test", "softfail only"))
    assert code == 250
    data, _ = stored(server, "softfail only")
    assert data is not None and "X-Spam-" not in header(data)
    assert "score=1 reasons=spf_softfail:1" in server.logs()


def test_forged_spam_fields_removed(server):
    extra = (b"X-Spam-Flag: NO\r\nX-Spam-Score: -10\r\nx-spam-status: No, score=-10\r\n"
             b"X-Spam-Level: \r\nX-Spam-Report:\r\n\tall clean\r\nX-Spamless: kept\r\n")
    # clean (SPF pass from .2): the fields go all the same
    code, _ = send(server, "127.0.0.2", "a@forged.test",
                   message("a@forged.test", "forged clean", extra))
    assert code == 250
    head = header(stored(server, "forged clean")[0])
    assert "X-Spam-Flag" not in head and "X-Spam-Score" not in head, head
    assert "spam-status" not in head.lower() and "X-Spam-Level" not in head
    assert "X-Spam-Report" not in head and "all clean" not in head
    assert "X-Spamless: kept" in head
    assert "event=spam_fields_removed" in server.logs()
    # junk: only our own verdict is left
    msg = broken_signature("a@forged.test", "forged junk").replace(
        b"Subject: forged junk\r\n", b"Subject: forged junk\r\nX-Spam-Flag: NO\r\n")
    code, _ = send(server, "127.0.0.3", "a@forged.test", msg)
    assert code == 250
    head = header(junk_fetch(server, "forged junk"))
    assert head.count("X-Spam-Flag:") == 1 and "X-Spam-Flag: YES" in head, head


def test_submission_keeps_spam_fields(server):
    msg = message(USER, "submitted", b"X-Spam-Flag: NO\r\n")
    assert submit(server, USER, PASSWORD, [USER], msg) == {}
    head = header(stored(server, "submitted")[0])
    assert "X-Spam-Flag: NO" in head, head


def test_weight_zero_changes_the_verdict(server_weights):
    # spf_fail_weight = 0: DKIM fail (2) + DMARC fail (1) = 3, under 5
    t = server_weights
    code, _ = send(t, "127.0.0.3", "a@forged.test", broken_signature("a@forged.test", "w0"))
    assert code == 250
    data, _ = stored(t, "w0")
    assert data is not None and "X-Spam-" not in header(data)
    assert "score=3 reasons=dkim_fail:2,dmarc_fail:1" in t.logs()


def test_rspamd_down_score_stands_in(server_weights):
    # .6 is on bl.test (3) + softfail (1) + DKIM fail (2) = 6; rspamd is down
    t = server_weights
    msg = broken_signature("x@soft.test", "dnsbl and auth")
    code, _ = send(t, "127.0.0.6", "x@soft.test", msg)
    assert code == 250
    assert "event=rspamd_failed" in t.logs()
    head = header(junk_fetch(t, "dnsbl and auth"))
    assert "X-Spam-Flag: YES\r\nX-Spam-Score: 6\r\n" in head, head
    assert "reasons=dnsbl:3,spf_softfail:1,dkim_fail:2 spam=junk" in t.logs()


def test_trusted_network_never_scored(server):
    # 127.0.0.1 is the default trusted network: no checks, no score, and
    # the spam verdict of what relays from there (an upstream filter) stays
    code, _ = send(server, "127.0.0.1", "a@forged.test",
                   broken_signature("a@forged.test", "trusted"))
    assert code == 250
    data, _ = stored(server, "trusted")
    assert data is not None and "X-Spam-" not in header(data)
    code, _ = send(server, "127.0.0.1", "a@forged.test",
                   message("a@forged.test", "upstream", b"X-Spam-Flag: YES\r\n"))
    assert code == 250
    data, _ = stored(server, "upstream")
    assert "X-Spam-Flag: YES" in header(data)


def test_zz_metrics_count_the_verdicts(server):
    """Runs last: the score's verdicts of the tests above are counted."""
    got = smtp_counters(server, "tern_spam_score_total")
    assert got['tern_spam_score_total{verdict="junk"}'] >= 1, got
    assert got['tern_spam_score_total{verdict="clean"}'] >= 2, got
