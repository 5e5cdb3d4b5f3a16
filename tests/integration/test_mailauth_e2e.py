"""Mail authentication end to end (issue 16): two tern instances and a
Postfix, all talking through a real DNS server.

A (127.0.0.2, a.test) relays to B (127.0.0.3, b.test) by MX. dnsmasq serves
the records `tern domain dns` prints for each instance (MX, SPF "mx -all",
the DKIM keys of `tern dkim keygen`, DMARC p=quarantine, ...), turned into
dnsmasq options, plus the host addresses: mail.b.test is B's listener, and
mail.a.test is the address B sees A's connections come from (tern's relay
does not bind a source address, so on loopback the kernel picks it: found
at run time, 127.0.0.1 here). A's [queue] remote_port is B's smtp port
(port 25 is not the tests' to take).

What is checked:
- genuine mail from A reaches B through the MX lookup (always);
- it carries A's DKIM signatures and dkimpy verifies them against the
  served keys (needs signing: skipped, with the reason, when A's message
  has no DKIM-Signature);
- B's verdicts: spf=pass, dkim=pass, dmarc=pass in B's
  Authentication-Results and the message in INBOX; a forgery from a wrong
  address (SPF fail, unsigned) and one with a broken signature land in
  Junk with $Junk, as a.test's p=quarantine says (need the mx checks:
  skipped, with the reason, when B stores mail without an
  Authentication-Results field of its own authserv-id);
- a private Postfix (its smtp client bound to 127.0.0.7, the address
  pf.test's SPF names) sends genuine mail (SPF pass and aligned: INBOX),
  mail claiming From: a.test (DMARC fail: Junk) and From: strict.test,
  whose DMARC record says p=reject (B answers 550 5.7.1 and Postfix
  bounces it). Postfix's part needs postfix and root.

The skips are decided by what the servers do, never by a list of features,
so the same test checks more as the branches land."""
import imaplib
import os
import re
import shutil
import smtplib
import socket
import tempfile

import pytest

from conftest import free_port, ssl_ctx
# Not relayutil's autouse dns_cleanup: it stops every dnsmasq after each
# test, and this module's dnsmasq serves all of its tests.
from relayutil import DNSMASQ, Dns, queue_config, submit, wait_for

pytestmark = pytest.mark.skipif(not os.path.exists(DNSMASQ), reason="dnsmasq not installed")

PW = "mailauth-e2e-password-1"
FORGER_IP = "127.0.0.9"  # in no SPF record
PF_IP = "127.0.0.7"


# ---------------------------------------------------------------- zone

def zone_records(text):
    """(name, type, rdata) of the zone-file lines `tern domain dns` prints
    (comments skipped, "( ... )" continuations joined)."""
    out, pending = [], None
    for line in text.splitlines():
        if pending is not None:
            pending += " " + line.strip()
            if ")" in line:
                out.append(pending.replace("(", " ").replace(")", " "))
                pending = None
            continue
        if not line.strip() or line.lstrip().startswith(";"):
            continue
        if "(" in line and ")" not in line:
            pending = line
            continue
        out.append(line.replace("(", " ").replace(")", " "))
    recs = []
    for line in out:
        f = line.split(None, 4)
        if len(f) == 5 and f[2] == "IN":
            recs.append((f[0].rstrip("."), f[3], f[4].strip()))
    return recs


def dnsmasq_options(recs):
    """dnsmasq options for MX, TXT, CNAME and SRV records."""
    opts = []
    for name, typ, rdata in recs:
        if typ == "MX":
            pref, host = rdata.split()
            opts.append("--mx-host=%s,%s,%s" % (name, host.rstrip("."), pref))
        elif typ == "TXT":
            parts = re.findall(r'"((?:[^"\\]|\\.)*)"', rdata)
            assert parts and not any("," in p for p in parts), rdata
            opts.append("--txt-record=%s,%s" % (name, ",".join(parts)))
        elif typ == "CNAME":
            opts.append("--cname=%s,%s" % (name, rdata.rstrip(".")))
        elif typ == "SRV":
            prio, weight, port, target = rdata.split()
            opts.append("--srv-host=%s,%s,%s,%s,%s" % (name, target.rstrip("."), port, prio,
                                                       weight))
    return opts


def source_address_towards(host, port):
    """The local address the kernel picks to connect to host:port."""
    with socket.create_connection((host, port), timeout=5) as s:
        return s.getsockname()[0]


# ---------------------------------------------------------------- reading B

def stored(t, address):
    """(mailbox, raw) of every message of address, oldest first."""
    db = t.db()
    try:
        rows = db.execute(
            "SELECT b.name, m.data FROM mailbox_entries e JOIN mailboxes b ON b.id = e.mailbox_id "
            "JOIN accounts a ON a.id = b.account_id JOIN messages m ON m.id = e.message_id "
            "WHERE a.address = ? ORDER BY m.id", (address,)).fetchall()
        return [(r[0], bytes(r[1])) for r in rows]
    finally:
        db.close()


def wait_stored(t, address, marker, timeout=20):
    def find():
        for box, raw in stored(t, address):
            if marker in raw:
                return box, raw
        return None
    return wait_for(find, timeout=timeout, what="%r stored for %s" % (marker, address))


def header_fields(raw, name):
    head = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    head = re.sub(r"\r\n[ \t]+", " ", head)
    return [line.split(":", 1)[1].strip() for line in head.split("\r\n")
            if line.lower().startswith(name.lower() + ":")]


def our_results(raw, authserv_id):
    """B's own Authentication-Results (authserv-id first), lowercased."""
    return [f.lower() for f in header_fields(raw, "Authentication-Results")
            if f.split(";", 1)[0].strip().lower() == authserv_id.lower()]


def imap_flags(t, user, mailbox, marker):
    m = imaplib.IMAP4_SSL(t.host, t.port("imaps"), ssl_context=ssl_ctx(), timeout=30)
    try:
        m.login(user, PW)
        typ, _ = m.select('"%s"' % mailbox, readonly=True)
        assert typ == "OK"
        typ, data = m.uid("SEARCH", None, "HEADER", "Subject", marker)
        uids = data[0].split()
        assert uids, "no %s in %s" % (marker, mailbox)
        typ, data = m.uid("FETCH", uids[-1], "(FLAGS)")
        return data[0].decode()
    finally:
        m.logout()


def message(frm, to, subject, body="Hello from the e2e test.\r\n"):
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s@e2e.test>\r\n"
            "Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n\r\n%s" % (frm, to, subject, subject,
                                                                  body)).encode()


def send_from(ip, t, mail_from, rcpt, msg, helo="forger.example"):
    """Plain SMTP to t's mx listener from a chosen source address; returns
    (code, text) of the end of DATA (or of the first refusal)."""
    try:
        with smtplib.SMTP(t.host, t.port("smtp"), local_hostname=helo, timeout=30,
                          source_address=(ip, 0)) as s:
            s.sendmail(mail_from, [rcpt], msg)
            return 250, ""
    except smtplib.SMTPRecipientsRefused as e:
        code, text = list(e.recipients.values())[0]
        return code, text.decode(errors="replace")
    except smtplib.SMTPResponseException as e:
        return e.smtp_code, e.smtp_error.decode(errors="replace")


# ---------------------------------------------------------------- Postfix

def make_postfix(b, pf_port):
    """Debian's Postfix as in test_relay_postfix, sending b.test's mail to
    B directly (transport map) from PF_IP."""
    from test_relay_postfix import Postfix
    pf = Postfix.__new__(Postfix)
    Postfix.__init__(pf, pf_port, b.cert_path, os.path.join(b.data_dir, "tls", "selfsigned.key"),
                     ("127.0.0.3", b.port("smtp")))
    with open(os.path.join(pf.conf, "main.cf"), "a") as f:
        f.write("smtp_bind_address = %s\n" % PF_IP)
    return pf


# ---------------------------------------------------------------- the world

@pytest.fixture(scope="module")
def world():
    """A, B and the dnsmasq, once for the module's tests (under 60 s)."""
    from conftest import Tern
    d = tempfile.mkdtemp(prefix="tern-e2e-")
    dns = None
    terns = []
    try:
        for sub in ("a", "b"):
            os.makedirs(os.path.join(d, sub))
        b = Tern(os.path.join(d, "b"), domain="b.test", host="127.0.0.3")
        a = Tern(os.path.join(d, "a"), domain="a.test", host="127.0.0.2")
        terns += [b, a]
        # B checks everyone: its default trusted_networks (127.0.0.1, ::1,
        # like Postfix's mynetworks) would skip A, whose connections come
        # from 127.0.0.1. A build without the key rejects it: then dropped.
        b.auth["trusted_networks"] = '""'
        b.write_config()
        p = b.cli("check-config")
        if p.returncode != 0 and "trusted_networks" in p.stdout + p.stderr:
            del b.auth["trusted_networks"]
            b.write_config()
        zones = []
        for t in (a, b):
            t.cli("domain", "add", t.domain, check=True)
            t.cli("dkim", "keygen", t.domain, check=True)
            zones.append(t.cli("domain", "dns", t.domain, check=True).stdout)
        # the address B will see A's connections come from
        with socket.socket() as probe:
            probe.bind((b.host, 0))
            probe.listen(1)
            a_source = source_address_towards(b.host, probe.getsockname()[1])
        records = []
        for z in zones:
            records += dnsmasq_options(zone_records(z))
        records += [
            "--host-record=mail.a.test,%s" % a_source,
            "--host-record=mail.b.test,127.0.0.3",
            "--txt-record=pf.test,v=spf1 ip4:%s -all" % PF_IP,
            "--txt-record=_dmarc.pf.test,v=DMARC1; p=reject",
            "--txt-record=_dmarc.strict.test,v=DMARC1; p=reject",
        ]
        dns = Dns(records, d)
        b.extra_config = queue_config(dns, 25)
        b.write_config()
        b.start()
        a.extra_config = queue_config(dns, b.port("smtp"))
        a.write_config()
        a.start()
        a.add_user("alice@a.test", PW)
        b.add_user("bob@b.test", PW)
        w = {"a": a, "b": b, "dns": dns, "zones": zones, "a_source": a_source}
        # the genuine message every test below looks at
        try:
            submit(a, "alice@a.test", PW, ["bob@b.test"],
                   message("alice@a.test", "bob@b.test", "e2e-genuine"))
            w["genuine"] = wait_stored(b, "bob@b.test", b"e2e-genuine", timeout=30)
        except Exception as e:
            w["genuine_error"] = "%s\n---- A ----\n%s\n---- B ----\n%s" % (
                e, a.logs()[-4000:], b.logs()[-4000:])
        yield w
    finally:
        failures = []
        for t in terns:
            try:
                t.stop()
            except BaseException as e:  # stop the others all the same
                failures.append(str(e))
        if dns:
            dns.stop()
        shutil.rmtree(d, ignore_errors=True)
        if failures:
            pytest.fail("\n".join(failures), pytrace=False)


def dkim_dnsfunc(zones):
    txt = {}
    for z in zones:
        for name, typ, rdata in zone_records(z):
            if typ == "TXT":
                txt[name.lower()] = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', rdata)).encode()

    def dnsfunc(name, timeout=5):
        return txt.get(name.decode().rstrip(".").lower())
    return dnsfunc


def genuine(world):
    assert "genuine_error" not in world, world.get("genuine_error")
    return world["genuine"]


def a_signed(raw):
    return any(re.search(r"\bd=a\.test\b", s) for s in header_fields(raw, "DKIM-Signature"))


def need_signing(raw):
    if not a_signed(raw):
        pytest.skip("A's relayed message has no DKIM-Signature of a.test: signing is not in "
                    "this build")


def need_checks(raw):
    if not our_results(raw, "mail.b.test"):
        pytest.skip("B stored mail without an Authentication-Results field of its authserv-id "
                    "mail.b.test: the mx checks are not wired in this build")


def logs_on_failure(world):
    print("---- A ----\n" + world["a"].logs()[-5000:])
    print("---- B ----\n" + world["b"].logs()[-5000:])


def test_genuine_mail_relayed_a_to_b_by_mx(world):
    box, raw = genuine(world)
    assert b"ESMTPS" in raw.split(b"\r\n\r\n")[0]  # B's Received: A used STARTTLS
    assert b"Hello from the e2e test." in raw


def test_a_signs_and_dkimpy_verifies(world):
    box, raw = genuine(world)
    need_signing(raw)
    import dkim
    sigs = header_fields(raw, "DKIM-Signature")
    algs = sorted(re.search(r"\ba=([\w-]+)", x).group(1) for x in sigs)
    assert algs == ["ed25519-sha256", "rsa-sha256"], sigs  # dual, RFC 8463 section 6
    for idx in range(len(sigs)):
        d = dkim.DKIM(raw)
        assert d.verify(idx=idx, dnsfunc=dkim_dnsfunc(world["zones"])), idx


def test_b_passes_genuine_mail(world):
    box, raw = genuine(world)
    need_checks(raw)
    ar = " ".join(our_results(raw, "mail.b.test"))
    assert "spf=pass" in ar and "smtp.mailfrom=" in ar and "alice@a.test" in ar, ar
    assert "dmarc=pass" in ar and "header.from=a.test" in ar, ar
    if a_signed(raw):
        assert "dkim=pass" in ar and "header.d=a.test" in ar, ar
    assert box == "INBOX", (box, ar)


def test_forgery_from_wrong_address_is_junked(world):
    b = world["b"]
    _, genuine_raw = genuine(world)
    code, text = send_from(FORGER_IP, b, "alice@a.test", "bob@b.test",
                           message("alice@a.test", "bob@b.test", "e2e-forged-ip"))
    assert code == 250, (code, text)  # a.test says p=quarantine: accepted, into Junk
    box, raw = wait_stored(b, "bob@b.test", b"e2e-forged-ip")
    need_checks(genuine_raw)
    try:
        ar = " ".join(our_results(raw, "mail.b.test"))
        assert "spf=fail" in ar and "dmarc=fail" in ar, ar
        assert box == "Junk", (box, ar)
        assert "$Junk" in imap_flags(b, "bob@b.test", "Junk", "e2e-forged-ip")
    except Exception:
        logs_on_failure(world)
        raise


def test_bad_signature_is_junked(world):
    b = world["b"]
    _, raw = genuine(world)
    need_signing(raw)
    # A's signed message as B got it, minus B's trace fields, body changed
    head, body = raw.split(b"\r\n\r\n", 1)
    head = re.sub(rb"\r\n[ \t]+", b" ", head)
    keep = [line for line in head.split(b"\r\n")
            if not line.lower().startswith((b"received:", b"authentication-results:",
                                            b"return-path:"))]
    tampered = (b"\r\n".join(keep) + b"\r\n\r\n" + body.replace(b"Hello", b"Jello")
                + b"X-Tampered: e2e-badsig\r\n")
    code, text = send_from(FORGER_IP, b, "alice@a.test", "bob@b.test", tampered)
    assert code == 250, (code, text)
    box, raw3 = wait_stored(b, "bob@b.test", b"X-Tampered: e2e-badsig")
    need_checks(raw)
    ar = " ".join(our_results(raw3, "mail.b.test"))
    assert "dkim=pass" not in ar and "dkim=fail" in ar, ar
    assert "dmarc=fail" in ar, ar
    assert box == "Junk", (box, ar)


def test_spoofed_authentication_results_removed(world):
    b = world["b"]
    _, genuine_raw = genuine(world)
    spoof = (b"Authentication-Results: mail.b.test; spf=pass; dkim=pass; dmarc=pass\r\n"
             + message("alice@a.test", "bob@b.test", "e2e-spoofed-ar"))
    code, _ = send_from(FORGER_IP, b, "alice@a.test", "bob@b.test", spoof)
    assert code == 250
    box, raw = wait_stored(b, "bob@b.test", b"e2e-spoofed-ar")
    need_checks(genuine_raw)
    ar = our_results(raw, "mail.b.test")
    assert len(ar) == 1 and "dmarc=fail" in ar[0], ar


@pytest.fixture(scope="module")
def postfix(world):
    if not shutil.which("postfix") or os.geteuid() != 0:
        pytest.skip("needs postfix and root")
    b = world["b"]
    pf = make_postfix(b, free_port(PF_IP))
    try:
        pf.start()
        with smtplib.SMTP(PF_IP, pf.port, timeout=30) as s:
            s.sendmail("pat@pf.test", ["bob@b.test"],
                       message("pat@pf.test", "bob@b.test", "e2e-pf-genuine"))
            s.sendmail("pat@pf.test", ["bob@b.test"],
                       message("alice@a.test", "bob@b.test", "e2e-pf-forged-a"))
            s.sendmail("pat@pf.test", ["bob@b.test"],
                       message("ceo@strict.test", "bob@b.test", "e2e-pf-forged-strict"))
        yield pf
    finally:
        pf.stop()


def test_postfix_genuine_mail_passes(world, postfix):
    b = world["b"]
    try:
        box, raw = wait_stored(b, "bob@b.test", b"e2e-pf-genuine", timeout=40)
    except Exception:
        print("---- postfix ----\n" + postfix.log()[-4000:])
        raise
    assert b"ESMTPS" in raw.split(b"\r\n\r\n")[0]  # Postfix used STARTTLS
    need_checks(raw)
    ar = " ".join(our_results(raw, "mail.b.test"))
    assert "spf=pass" in ar and "smtp.mailfrom=" in ar and "pat@pf.test" in ar, ar
    assert "dmarc=pass" in ar and "header.from=pf.test" in ar, ar
    assert box == "INBOX", (box, ar)


def test_postfix_forgeries_junked_and_rejected(world, postfix):
    b = world["b"]
    _, probe = wait_stored(b, "bob@b.test", b"e2e-pf-genuine", timeout=40)
    need_checks(probe)
    try:
        box, raw = wait_stored(b, "bob@b.test", b"e2e-pf-forged-a", timeout=40)
        ar = " ".join(our_results(raw, "mail.b.test"))
        assert "dmarc=fail" in ar and "header.from=a.test" in ar, ar
        assert box == "Junk", (box, ar)
        wait_for(lambda: re.search(r"to=<bob@b.test>.*status=bounced.*5\.7\.1", postfix.log()),
                 timeout=40, what="Postfix to bounce the p=reject forgery")
        assert not [m for _, m in stored(b, "bob@b.test") if b"e2e-pf-forged-strict" in m]
    except Exception:
        print("---- postfix ----\n" + postfix.log()[-4000:])
        logs_on_failure(world)
        raise
