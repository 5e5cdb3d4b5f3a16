"""Sieve redirect done right (deliver/sieve_apply.c, deliver/job.c,
deliver/rcpt.c, mailauth/srs.c): tern for a.test (127.0.0.2), a Python
SMTP sink as the MX of r.test (127.0.0.9), dnsmasq answering the MX.

- A redirect to r.test leaves with MAIL FROM SRS0=...=r.test=orig@a.test
  (SRS at the redirecting account's domain) and an ARC set (i=1) sealed
  with a.test's key that dkimpy's arc_verify passes.
- A bounce sent back to that SRS0 address (MAIL FROM <>) is accepted and
  relayed to the original sender, at the sink; a forged or tampered one
  gets 550 5.1.1.
- The SRS secret is made once in the data dir (0600, never logged); an
  address built in Python the same way decodes, one 22 days old or under
  another secret gets 550 5.1.1; a null sender stays <>.
- A redirect to a local account runs that account's own script (its
  fileinto :create files the copy, its redirect goes out, its reject is
  a failure notice to the sender); a redirect loop between two local
  accounts ends with one copy stored and nothing queued; a chain of local
  redirects stops after 4 rounds."""
import os
import re
import smtplib
import subprocess
import tempfile

import pytest

from conftest import free_port
from relayutil import DNSMASQ, Dns, ScriptedSmtp, queue_config, wait_for

pytestmark = pytest.mark.skipif(not os.path.exists(DNSMASQ), reason="dnsmasq not installed")
dkim = pytest.importorskip("dkim", reason="python3-dkim (dkimpy) is not installed")

RX = "127.0.0.9"
PASSWORD = "redirect-test-pw"
ALICE, DAVE, ERIN, FRANK = "alice@a.test", "dave@a.test", "erin@a.test", "frank@a.test"
ORIG = "orig@r.test"


@pytest.fixture(scope="module")
def setup():
    from conftest import Tern
    d = tempfile.mkdtemp(prefix="tern-redirect-")
    dns = Dns(["--mx-host=r.test,mx.r.test,10", "--host-record=mx.r.test,%s" % RX], d)
    rx = ScriptedSmtp(RX, free_port(RX))
    t = Tern(d, domain="a.test", host="127.0.0.2", listeners=[("smtp", "smtp", "none")],
             extra_config=queue_config(dns, rx.port),
             auth={"check_timeout": 3, "trusted_networks": '"127.0.0.1"'})
    t.start()
    for u in (ALICE, DAVE, ERIN, FRANK):
        t.add_user(u, PASSWORD)
    assert t.cli("dkim", "keygen", "a.test").returncode == 0
    yield t, rx
    t.stop()
    rx.stop()
    dns.stop()
    subprocess.run(["rm", "-rf", d])


def put_active(t, account, script):
    path = os.path.join(t.dir, "s.sieve")
    with open(path, "w") as f:
        f.write(script)
    r = t.cli("sieve", "put", account, "s", path)
    assert r.returncode == 0, r.stderr
    r = t.cli("sieve", "activate", account, "s")
    assert r.returncode == 0, r.stderr


def message(subject, to):
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
            "Date: Mon, 7 Dec 2026 10:00:00 +0000\r\nMessage-ID: <%s@r.test>\r\n"
            "\r\nRedirect me.\r\n" % (ORIG, to, subject, subject.replace(" ", "."))).encode()


def smtp(t):
    s = smtplib.SMTP(t.host, t.port("smtp"), timeout=30, source_address=("127.0.0.3", 0))
    s.ehlo("client.r.test")
    return s


def where(t, subject):
    """[(account, mailbox)] of the entries whose message has that subject."""
    db = t.db()
    try:
        rows = db.execute(
            "SELECT a.address, b.name, m.data FROM mailbox_entries e "
            "JOIN mailboxes b ON b.id = e.mailbox_id JOIN accounts a ON a.id = b.account_id "
            "JOIN messages m ON m.id = e.message_id").fetchall()
    finally:
        db.close()
    needle = ("Subject: %s\r\n" % subject).encode()
    return sorted((r[0], r[1]) for r in rows if needle in bytes(r[2]))


def queued(t, subject):
    db = t.db()
    try:
        rows = db.execute("SELECT q.rcpt, m.data FROM queue q JOIN messages m "
                          "ON m.id = q.message_id").fetchall()
    finally:
        db.close()
    return [r[0] for r in rows if ("Subject: %s\r\n" % subject).encode() in bytes(r[1])]


def published_keys(t, domain):
    r = t.cli("domain", "dns", domain)
    assert r.returncode == 0, r.stderr
    keys = {}
    for m in re.finditer(r"^(\S+\._domainkey\.\S+)\.\s+\d+\s+IN\s+TXT\s+(\(.*?\)|\".*?\")\s*$",
                         r.stdout, re.M | re.S):
        keys[m.group(1).lower()] = "".join(re.findall(r'"([^"]*)"', m.group(2))).encode()
    return keys


def redirected(rx, subject):
    (mail_from, rcpts, data), = wait_for(
        lambda: [m for m in rx.messages if b"Subject: " + subject.encode() in m[2]],
        timeout=30, what="the redirect at the sink")
    return mail_from, rcpts, data


def test_remote_redirect_srs_and_arc(setup):
    t, rx = setup
    put_active(t, ALICE, 'redirect "carol@r.test";\n')
    with smtp(t) as s:
        s.sendmail(ORIG, [ALICE], message("remote one", ALICE))
    mail_from, rcpts, data = redirected(rx, "remote one")
    assert rcpts == ["carol@r.test"]
    assert re.fullmatch(r"SRS0=[A-Z2-7]{4}=[A-Z2-7]{2}=r\.test=orig@a\.test", mail_from), \
        mail_from
    keys = published_keys(t, "a.test")

    def dnsfunc(name, timeout=5):
        n = name.decode() if isinstance(name, bytes) else name
        return keys.get(n.rstrip(".").lower(), b"")

    cv, results, why = dkim.arc_verify(data, dnsfunc=dnsfunc)
    assert cv == dkim.CV_Pass, (cv, why, data[:1500])
    assert results[0]["instance"] == 1, results
    seal = data.split(b"ARC-Seal:", 1)[1][:400]
    assert b"d=a.test" in seal and b"cv=none" in seal
    aar = data.split(b"ARC-Authentication-Results:", 1)[1][:400]
    assert b"i=1;" in aar and b"spf=" in aar  # the results tern computed at receipt
    assert where(t, "remote one") == []  # redirect cancels the implicit keep
    assert "event=redirected account=" in t.logs()

    # the bounce to the SRS address comes back to the original sender
    bounce = (b"From: <MAILER-DAEMON@r.test>\r\nTo: <%s>\r\nSubject: bounce one\r\n"
              b"\r\nUndeliverable.\r\n" % mail_from.encode())
    with smtp(t) as s:
        s.sendmail("", [mail_from.lower()], bounce)  # any case decodes
    back_from, back_rcpts, _ = redirected(rx, "bounce one")
    assert back_rcpts == [ORIG] and back_from == ""
    assert "srs event=bounce_accepted" in t.logs()


def test_forged_srs_refused(setup):
    t, _ = setup
    with smtp(t) as s:
        s.mail("")
        code, text = s.rcpt("SRS0=AAAA=AA=r.test=victim@a.test")
        assert code == 550 and b"5.1.1" in text, (code, text)
        code, text = s.rcpt("SRS1=AAAA=r.test==AAAA=AA=x.test=y@a.test")
        assert code == 550, (code, text)
        code, text = s.rcpt("SRS0=broken@a.test")
        assert code == 550, (code, text)
        # an SRS address at a domain not ours is a relay attempt as before
        code, _ = s.rcpt("SRS0=AAAA=AA=r.test=victim@elsewhere.test")
        assert code != 250
    assert "why=bad_hash" in t.logs() and "why=malformed" in t.logs()


def test_tampered_srs_refused(setup):
    t, rx = setup
    put_active(t, ALICE, 'redirect "carol@r.test";\n')
    with smtp(t) as s:
        s.sendmail(ORIG, [ALICE], message("remote two", ALICE))
    mail_from, _, _ = redirected(rx, "remote two")
    # another original sender under the same hash and stamp
    forged = mail_from.replace("=orig@a.test", "=mallory@a.test")
    assert forged != mail_from
    with smtp(t) as s:
        s.mail("")
        code, text = s.rcpt(forged)
        assert code == 550 and b"5.1.1" in text, (code, text)


def test_local_target_runs_its_own_script(setup):
    t, rx = setup
    put_active(t, ALICE, 'redirect "dave@a.test";\n')
    put_active(t, DAVE, 'require ["fileinto", "mailbox"];\nfileinto :create "From Alice";\n')
    with smtp(t) as s:
        s.sendmail(ORIG, [ALICE], message("local one", ALICE))
    assert wait_for(lambda: where(t, "local one"), timeout=10, what="the entry") == \
        [(DAVE, "From Alice")]
    assert "note=target_script" in t.logs()
    # and the target's redirect goes out as for any delivery
    put_active(t, DAVE, 'redirect "carol@r.test";\n')
    with smtp(t) as s:
        s.sendmail(ORIG, [ALICE], message("local then remote", ALICE))
    mail_from, rcpts, _ = redirected(rx, "local then remote")
    assert rcpts == ["carol@r.test"] and mail_from.startswith("SRS0=")
    assert where(t, "local then remote") == []


def test_local_redirect_loop_stops(setup):
    t, _ = setup
    put_active(t, ERIN, 'redirect "frank@a.test";\n')
    put_active(t, FRANK, 'redirect "erin@a.test";\n')
    with smtp(t) as s:
        code, _ = s.sendmail(ORIG, [ERIN], message("loop one", ERIN)), None
    # erin -> frank (frank's script) -> erin: erin's ran already, so the
    # copy is stored in erin's INBOX without running it again
    assert wait_for(lambda: where(t, "loop one"), timeout=10, what="the entry") == \
        [(ERIN, "INBOX")]
    assert queued(t, "loop one") == []
    assert "note=loop_stored_without_script" in t.logs()


def test_local_target_reject_is_a_notice(setup):
    t, rx = setup
    put_active(t, ALICE, 'redirect "dave@a.test";\n')
    put_active(t, DAVE, 'require "reject";\nreject "dave takes none";\n')
    with smtp(t) as s:
        # the recipient's own script accepted it: 250, and the target's
        # reject becomes a failure notice to the original sender
        s.sendmail(ORIG, [ALICE], message("rejected by target", ALICE))
    mail_from, rcpts, data = wait_for(
        lambda: [m for m in rx.messages if m[1] == [ORIG] and b"dave takes none" in m[2]],
        timeout=30, what="the failure notice")[0]
    assert mail_from == "" and b"5.7.1" in data
    assert where(t, "rejected by target") == []


def test_local_redirect_depth_bound(setup):
    t, _ = setup
    chain = ["hop%d@a.test" % i for i in range(7)]
    for i, a in enumerate(chain):
        t.add_user(a, PASSWORD)
        if i + 1 < len(chain):
            put_active(t, a, 'redirect "%s";\n' % chain[i + 1])
    with smtp(t) as s:
        s.sendmail(ORIG, [chain[0]], message("deep chain", chain[0]))
    # hop0 runs in round 0, hop1..hop4 in rounds 1-4; hop5 gets the copy
    # without its script running (it would redirect to hop6)
    assert wait_for(lambda: where(t, "deep chain"), timeout=10, what="the entry") == \
        [(chain[5], "INBOX")]
    assert "note=depth_stored_without_script" in t.logs()
    assert queued(t, "deep chain") == []


def test_null_sender_stays_null(setup):
    t, rx = setup
    put_active(t, ALICE, 'redirect "carol@r.test";\n')
    with smtp(t) as s:
        s.sendmail("", [ALICE], message("from nobody", ALICE))
    mail_from, rcpts, _ = redirected(rx, "from nobody")
    assert mail_from == "" and rcpts == ["carol@r.test"]


B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def srs0(secret, day, domain, local, ours="a.test"):
    """An SRS0 address made the way mailauth/srs.c makes it."""
    import hashlib
    import hmac
    stamp = B32[(day >> 5) & 31] + B32[day & 31]
    text = b"".join(f.lower().encode() + b"\0" for f in (stamp, domain, local))
    mac = hmac.new(secret, text, hashlib.sha256).digest()
    bits = (mac[0] << 16) | (mac[1] << 8) | mac[2]
    h = "".join(B32[(bits >> (19 - 5 * i)) & 31] for i in range(4))
    return "SRS0=%s=%s=%s=%s@%s" % (h, stamp, domain, local, ours)


def test_srs_secret_file_and_expiry(setup):
    """The secret made once in the data dir (0600) signs the addresses; one
    of today's decodes, one 22 days old (hash good) gets 550 5.1.1."""
    import time
    t, _ = setup
    path = os.path.join(t.data_dir, "srs.secret")
    assert os.stat(path).st_mode & 0o777 == 0o600
    secret = open(path, "rb").read().strip()
    assert re.fullmatch(rb"[0-9a-f]{64}", secret)
    assert secret.decode() not in t.logs()
    today = int(time.time()) // 86400 % 1024
    with smtp(t) as s:
        s.mail("")
        code, text = s.rcpt(srs0(secret, today, "r.test", "orig"))
        assert code == 250, text
        code, text = s.rcpt(srs0(secret, (today - 21) % 1024, "r.test", "orig"))
        assert code == 250, text  # 21 days is still good
        code, text = s.rcpt(srs0(secret, (today - 22) % 1024, "r.test", "orig"))
        assert code == 550 and b"5.1.1" in text, (code, text)
        code, text = s.rcpt(srs0(b"another secret", today, "r.test", "orig"))
        assert code == 550, (code, text)
    assert "why=expired" in t.logs()
