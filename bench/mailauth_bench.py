#!/usr/bin/env python3
"""MX acceptance with SPF + DKIM + DMARC checks: tern vs Postfix with
policyd-spf, opendkim and opendmarc (issue 16's benchmark).

The load is smtp_bench.py's per-message shape: 4 KiB messages, 20 sessions,
a new connection for every message, one command per round trip. Every
message is DKIM-signed (rsa-sha256, 2048 bits, relaxed/relaxed, by dkimpy)
ahead of the runs, a pool of them, so that signing costs nothing in the
loop; smtp_load (-M) puts one unsigned "X-Bench-Seq" line in front of each,
which keeps every message unique and its signature valid. The envelope
sender alice@sender.example has "v=spf1 ip4:127.0.0.0/8 -all", the key TXT
bench._domainkey.sender.example and "_dmarc.sender.example" p=reject: a
genuine message passes SPF, DKIM and DMARC (both aligned) at both servers.
(Not *.test as elsewhere: opendkim's libunbound answers test. itself.)

DNS: one dnsmasq on 198.18.53.53 port 53 (resolv.conf cannot name a port;
the address is added to lo for the run: see Dnsmasq) answers every
*.example name from its command line and nothing else; tern uses it too. The
reference resolves through resolv.conf (policyd-spf's Python resolver,
opendmarc's libresolv), so Postfix, its policy service and both milters run
in a private mount namespace (unshare -m) where /etc/resolv.conf is a bind
mount of a file naming that dnsmasq; the machine's own resolv.conf is not
touched. opendkim is told the same address (Nameservers).

The reference (Debian's packages; their Debian defaults plus what is needed
for the checks to run and be enforced, nothing else):
- postfix-policyd-spf-python as `check_policy_service` (spawned by master
  as the Debian README says), Debian's policyd-spf.conf but skip_addresses
  without 127.0.0.0/8 (the load comes from 127.0.0.1);
- opendkim (milter, Debian's opendkim.conf) in verify mode, InternalHosts
  not including 127.0.0.1 (its default treats 127.0.0.1 as a host to sign
  for, not to verify), Nameservers = the dnsmasq, no TrustAnchorFile (the
  test zone is unsigned and the dnsmasq answers nothing outside it);
- opendmarc (milter, after opendkim, Debian's opendmarc.conf) with
  RejectFailures true (p=reject enforced, as tern enforces it),
  IgnoreHosts not including 127.0.0.1, TrustedAuthservIDs = opendkim's
  authserv-id (it reads the DKIM result from opendkim's
  Authentication-Results and SPF from policyd-spf's Received-SPF).
mynetworks does not include 127.0.0.1 either (permit_mynetworks would skip
the policy service).

Before the runs the script checks both servers really check, and prints
it: a genuine sample must be delivered with Authentication-Results showing
dkim=pass (and dmarc=pass), a forged one (envelope from another domain
whose SPF passes, From: alice@sender.example, body changed after signing, so
DKIM fails and DMARC fails) must get a 5xx. If tern stores the genuine
sample without an Authentication-Results field the checks are not wired in
that build: the script prints "tern: checks not wired in this build" and no
figure for tern.

Measured per server: msgs/s (median of --runs runs of --seconds seconds,
servers interleaved), and CPU per message: the CPU time of every process of
the server (tern: its one process; Postfix: master and every process under
it, policyd-spf included, plus opendkim and opendmarc; children that exit
are counted through their parent's cutime/cstime) from the start of a run
until the server is idle again (for Postfix: its queue delivered, since
tern's 250 already is the delivery), divided by the messages accepted.
dnsmasq serves both and is counted for neither.

Benchmarks only: never part of the test suite or CI. See bench/README.md.
"""

import argparse
import base64
import datetime
import json
import os
import random
import smtplib
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

SENDER_DOMAIN = "sender.example"
SENDER = "alice@" + SENDER_DOMAIN
OTHER_DOMAIN = "other.example"  # SPF passes for 127/8, no DKIM key: the forger's envelope
SPF_FAIL_DOMAIN = "spffail.example"  # "v=spf1 -all"
SELECTOR = "bench"
HELO = "loadgen.sender.example"
SEQ_HDR_LEN = 27  # smtp_load's "X-Bench-Seq: %012llu\r\n"
REF_AUTHSERV = "reference.bench.test"
TICK = os.sysconf("SC_CLK_TCK")


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tern", default=None, help="tern binary (default: build-bench/tern, ...)")
    ap.add_argument("--runs", type=int, default=3, help="measurements per server (median)")
    ap.add_argument("--seconds", type=float, default=10.0, help="load duration per measurement")
    ap.add_argument("--sessions", type=int, default=20, help="concurrent sessions")
    ap.add_argument("--size", type=int, default=4096, help="message size in bytes (wire form)")
    ap.add_argument("--pool", type=int, default=400, help="pre-signed messages in the pool")
    ap.add_argument("--servers", default="tern,postfix", help="comma list out of tern, postfix")
    ap.add_argument("--tern-config", default="",
                    help="TOML appended to tern's config (e.g. the mx checks' section)")
    ap.add_argument("--tern-auth-config", default="",
                    help="more [auth] keys for tern's config, one per line")
    ap.add_argument("--json", default=None, help="also write all results to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temp directories")
    return ap.parse_args()


# ---------------------------------------------------------------- DNS

DNS_IP = "198.18.53.53"  # RFC 2544's benchmarking range, on lo for the run only


def have_address(ip):
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "dev", "lo"], capture_output=True,
                         text=True).stdout
    return (" %s/" % ip) in out


def txt_option(name, text):
    """dnsmasq --txt-record with the text split into <= 255-byte strings
    (on dnsmasq's command line quotes would be part of the text; a comma
    separates the strings, so the text must have none)."""
    assert "," not in text
    parts = [text[i:i + 255] for i in range(0, len(text), 255)] or [""]
    return "--txt-record=%s,%s" % (name, ",".join(parts))


class Dnsmasq:
    """dnsmasq on DNS_IP:53, an address added to lo for the run (and
    removed by stop()): opendkim's libunbound will not query a 127/8
    address unless an unbound configuration file says so, and opendkim
    2.11 (Debian 12) crashes under concurrent load when it is given one
    (ResolverConfiguration: "fatal flex scanner internal error" and general
    protection faults in libc). Not on eth0: nothing outside may query it."""
    # more dnsmasq options for debugging, e.g. BENCH_DNSMASQ_OPTS=--log-queries
    extra = os.environ.get("BENCH_DNSMASQ_OPTS", "").split()

    def __init__(self, tmp, records):
        self.ip = DNS_IP
        self.added = False
        if not have_address(self.ip):
            subprocess.run(["ip", "addr", "add", self.ip + "/32", "dev", "lo"], check=True)
            self.added = True
        self.log = open(os.path.join(tmp, "dnsmasq.log"), "ab")
        args = ["dnsmasq", "--no-daemon", "--port=53", "--listen-address=" + self.ip,
                "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
                "--local=/example/", "--cache-size=0"] + self.extra + records
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log,
                                     stdin=subprocess.DEVNULL)
        time.sleep(0.3)
        if self.proc.poll() is not None:
            self.stop()
            raise RuntimeError("dnsmasq did not start (see %s/dnsmasq.log)" % tmp)

    def stop(self):
        bl.stop_process(self.proc)
        self.log.close()
        if self.added:
            subprocess.run(["ip", "addr", "del", self.ip + "/32", "dev", "lo"])
            self.added = False


# ---------------------------------------------------------------- messages

def make_key(tmp):
    pem = os.path.join(tmp, "dkim.pem")
    subprocess.run(["openssl", "genrsa", "-out", pem, "2048"], check=True, capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", pem, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    with open(pem, "rb") as f:
        return f.read(), base64.b64encode(der).decode()


WORDS = ("the of and to in is was that for it with as his on be at by had are but from or "
         "have an they which one you were her all she there would their we him been has when "
         "who will more no if out so said what up its about into than them can only other new "
         "some could time these two may then do first any my now such like our over man me "
         "even most made after also did many before must through back years where much your "
         "way well down should because each just those people how too little state good very "
         "make world still own see men work long get here between both life being under never "
         "day same another know while last might us great old year off come since against go "
         "came right used take three").split()


def body_text(rng, length):
    """English-like CRLF lines of about 70 characters, exactly length bytes."""
    out = []
    n = 0
    while n < length:
        line = ""
        while len(line) < 70:
            line += rng.choice(WORDS) + " "
        line = line.rstrip().capitalize() + "."
        out.append(line + "\r\n")
        n += len(line) + 2
    s = "".join(out)[:length - 2]
    return (s.rstrip("\r") + "x" * (length - 2 - len(s.rstrip("\r"))) + "\r\n").encode()


def unsigned_message(i, body, mail_from=SENDER):
    head = ("From: Alice <%s>\r\nTo: <%s>\r\nSubject: mailauth bench %08d\r\n"
            "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <%08d.bench@%s>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
            % (mail_from, bl.BENCH_USER, i, i, SENDER_DOMAIN))
    return head.encode() + body


def sign(msg, key_pem):
    import dkim
    sig = dkim.sign(msg, SELECTOR.encode(), SENDER_DOMAIN.encode(), key_pem,
                    canonicalize=(b"relaxed", b"relaxed"),
                    include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return sig + msg


def signed_message(i, key_pem, rng, wire_size):
    """A signed message whose wire size with smtp_load's X-Bench-Seq line
    is wire_size (the signature's length is the same for every message)."""
    probe = sign(unsigned_message(i, body_text(rng, 200)), key_pem)
    body_len = wire_size - SEQ_HDR_LEN - (len(probe) - 200)
    if body_len < 10:
        raise RuntimeError("--size %d is too small for a signed message" % wire_size)
    return sign(unsigned_message(i, body_text(rng, body_len)), key_pem)


def write_pool(path, n, key_pem, wire_size):
    rng = random.Random(16)
    t0 = time.monotonic()
    sizes = set()
    with open(path, "wb") as f:
        for i in range(n):
            m = signed_message(i, key_pem, rng, wire_size)
            assert not any(line.startswith(b".") for line in m.split(b"\r\n"))
            sizes.add(len(m) + SEQ_HDR_LEN)
            f.write(m + b".\r\n")
    bl.log("pool: %d messages signed by dkimpy in %.1f s, wire sizes %s" % (
        n, time.monotonic() - t0, sorted(sizes)))


def forged_message(key_pem):
    """From: alice@sender.example, signed, then the body changed: DKIM fails;
    sent with an envelope from other.example (SPF pass, not aligned)."""
    m = sign(unsigned_message(999999, body_text(random.Random(1), 1000)), key_pem)
    return m.replace(b"The", b"Teh", 1) if b"The" in m else m[:-4] + b"zz\r\n"


# ---------------------------------------------------------------- CPU

def proc_cpu(pid, children=True):
    """utime + stime (+ cutime + cstime) of one process, in seconds."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return 0.0
    fields = st[st.rindex(")") + 2:].split()
    t = int(fields[11]) + int(fields[12])
    if children:
        t += int(fields[13]) + int(fields[14])
    return t / TICK


def tree_cpu(pids):
    seen = set()
    total = 0.0
    for p in pids:
        for q in bl.descendants(p):
            if q not in seen:
                seen.add(q)
                total += proc_cpu(q)
    return total


# ---------------------------------------------------------------- reference

def in_namespace(resolv):
    """argv prefix: run in a private mount namespace whose /etc/resolv.conf
    is `resolv`."""
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolv]


class Reference:
    """Postfix + policyd-spf + opendkim + opendmarc, all private."""

    def __init__(self, tmp, dns_ip, keep):
        self.tmp = os.path.join(tmp, "reference")
        os.makedirs(self.tmp)
        os.chmod(self.tmp, 0o755)
        pf_user = bl.pwd.getpwnam("postfix")
        os.chown(self.tmp, pf_user.pw_uid, pf_user.pw_gid)  # the milters make their sockets here
        self.resolv = os.path.join(self.tmp, "resolv.conf")
        with open(self.resolv, "w") as f:
            f.write("nameserver %s\noptions timeout:2 attempts:2\n" % dns_ip)
        self.ns = in_namespace(self.resolv)
        self.procs = []
        self.postfix = bl.Postfix(keep=keep)
        self.milter_sock = {}
        no_hosts = os.path.join(self.tmp, "no-hosts")
        with open(no_hosts, "w") as f:
            f.write("198.51.100.1\n")  # TEST-NET-2: nobody here
        # opendkim: Debian's opendkim.conf, verifying, not from a daemon's
        # pid/socket dirs under /run, not syslogging the whole run
        dkim_conf = os.path.join(self.tmp, "opendkim.conf")
        self.milter_sock["dkim"] = os.path.join(self.tmp, "opendkim.sock")
        self.write_conf("/etc/opendkim.conf", dkim_conf, {
            "Socket": "local:" + self.milter_sock["dkim"],
            "PidFile": os.path.join(self.tmp, "opendkim.pid"),
            "UserID": "postfix", "UMask": "000", "Mode": "v",
            "InternalHosts": no_hosts,
            "Nameservers": dns_ip,
            "AuthservID": REF_AUTHSERV,
            "Syslog": "no", "SyslogSuccess": "no",
        }, drop=("TrustAnchorFile",))
        dmarc_conf = os.path.join(self.tmp, "opendmarc.conf")
        self.milter_sock["dmarc"] = os.path.join(self.tmp, "opendmarc.sock")
        self.write_conf("/etc/opendmarc.conf", dmarc_conf, {
            "Socket": "local:" + self.milter_sock["dmarc"],
            "PidFile": os.path.join(self.tmp, "opendmarc.pid"),
            "UserID": "postfix", "UMask": "000",
            "RejectFailures": "true", "IgnoreHosts": no_hosts,
            "AuthservID": REF_AUTHSERV, "TrustedAuthservIDs": REF_AUTHSERV,
            "Syslog": "false",
        })
        self.dkim_conf, self.dmarc_conf = dkim_conf, dmarc_conf
        spf_conf = os.path.join(self.tmp, "policyd-spf.conf")
        self.write_conf("/etc/postfix-policyd-spf-python/policyd-spf.conf", spf_conf,
                        {"skip_addresses": "198.51.100.1/32", "debugLevel": "0"}, sep=" = ")
        pf = self.postfix
        main_cf = os.path.join(pf.conf, "main.cf")
        self.write_conf(main_cf, main_cf + ".new", {
            "mynetworks": "198.51.100.1/32",
            "policyd-spf_time_limit": "3600",
            "smtpd_recipient_restrictions":
                "reject_unauth_destination, check_policy_service unix:private/policyd-spf",
            "smtpd_relay_restrictions": "reject_unauth_destination",
            "smtpd_milters": "unix:%s, unix:%s" % (self.milter_sock["dkim"],
                                                    self.milter_sock["dmarc"]),
            "non_smtpd_milters": "",
            "milter_default_action": "tempfail",
        }, sep=" = ")
        os.replace(main_cf + ".new", main_cf)
        with open(os.path.join(pf.conf, "master.cf"), "a") as f:
            f.write("policyd-spf  unix  -       n       n       -       0       spawn\n"
                    "  user=policyd-spf argv=/usr/bin/policyd-spf %s\n" % spf_conf)

    @staticmethod
    def write_conf(src, dst, overrides, drop=(), sep="\t"):
        out, done = [], set()
        with open(src) as f:
            for line in f:
                s = line.strip()
                key = s.replace("=", " ").split()[0] if s and not s.startswith("#") else None
                if key in drop:
                    continue
                if key in overrides:
                    if key not in done:
                        out.append("%s%s%s\n" % (key, sep, overrides[key]))
                        done.add(key)
                    continue
                out.append(line if line.endswith("\n") else line + "\n")
        for k, v in overrides.items():
            if k not in done:
                out.append("%s%s%s\n" % (k, sep, v))
        with open(dst, "w") as f:
            f.writelines(out)

    def start(self):
        for name, cmd in (("opendkim", ["opendkim", "-f", "-x", self.dkim_conf]),
                          ("opendmarc", ["opendmarc", "-f", "-c", self.dmarc_conf])):
            log = open(os.path.join(self.tmp, name + ".log"), "ab")
            p = subprocess.Popen(self.ns + cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
            self.procs.append((name, p, log))
        for sock in self.milter_sock.values():
            for _ in range(100):
                if os.path.exists(sock):
                    break
                time.sleep(0.1)
            else:
                raise RuntimeError("milter socket %s did not appear (logs in %s)" % (sock, self.tmp))
        pf = self.postfix
        pf._postfix("check", check=False)
        p = subprocess.run(self.ns + ["postfix", "-c", pf.conf, "start"], capture_output=True,
                           text=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError("postfix start: %s%s" % (p.stdout, p.stderr))
        pf.started = True
        bl.wait_port(pf.port, what="postfix")
        return self

    def master_pid(self):
        try:
            with open(os.path.join(self.postfix.queue, "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def pids(self):
        ps = [p.pid for _, p, _ in self.procs]
        m = self.master_pid()
        return ps + ([m] if m else [])

    def cpu(self):
        return tree_cpu(self.pids())

    def stop(self):
        self.postfix.cleanup()
        for name, p, log in self.procs:
            bl.stop_process(p)
            log.close()
        self.procs = []

    def delivered_messages(self):
        base = os.path.join(self.postfix.vmail, bl.BENCH_USER.replace("@", "_"))
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(base, sub)
            for name in sorted(os.listdir(d)) if os.path.isdir(d) else ():
                with open(os.path.join(d, name), "rb") as f:
                    out.append(f.read())
        return out


# ---------------------------------------------------------------- checks

def smtp_send(port, mail_from, msg):
    """(code, text) of the first refusal, or (250, text) when accepted."""
    try:
        with smtplib.SMTP("127.0.0.1", port, local_hostname=HELO, timeout=60) as s:
            s.sendmail(mail_from, [bl.BENCH_USER], msg)
            return 250, "accepted"
    except smtplib.SMTPRecipientsRefused as e:
        code, text = list(e.recipients.values())[0]
        return code, text.decode(errors="replace")
    except smtplib.SMTPResponseException as e:
        return e.smtp_code, e.smtp_error.decode(errors="replace")


def header_lines(raw, name):
    head = raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n\t", b" ").replace(b"\r\n ", b" ")
    head = head.replace(b"\n\t", b" ").replace(b"\n ", b" ")
    out = []
    for line in head.replace(b"\r\n", b"\n").split(b"\n"):
        if line.lower().startswith(name.lower().encode() + b":"):
            out.append(" ".join(line.decode(errors="replace").split()))
    return out


def tern_messages(tern):
    """(mailbox name, raw) of every message stored for the bench account."""
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(tern.data, "tern.db"), uri=True)
    try:
        rows = con.execute(
            "SELECT b.name, m.data FROM mailbox_entries e JOIN mailboxes b ON b.id = e.mailbox_id "
            "JOIN messages m ON m.id = e.message_id ORDER BY m.id, e.uid").fetchall()
        return [(r[0], bytes(r[1])) for r in rows]
    finally:
        con.close()


def check_server(name, port, fetch, genuine, forged):
    """Sends the three samples; returns a dict of what happened (printed)."""
    res = {}
    before = len(fetch())
    res["genuine"] = smtp_send(port, SENDER, genuine)
    res["forged"] = smtp_send(port, "bounce@" + OTHER_DOMAIN, forged)
    res["spf_fail"] = smtp_send(port, "alice@" + SPF_FAIL_DOMAIN, genuine)
    sample = None
    for _ in range(100):
        msgs = fetch()
        for m in msgs[before:]:
            raw = m[1] if isinstance(m, tuple) else m
            if b"mailauth bench 00777777" in raw:
                sample = m
                break
        if sample is not None:
            break
        time.sleep(0.1)
    raw = sample[1] if isinstance(sample, tuple) else sample
    res["folder"] = sample[0] if isinstance(sample, tuple) else None
    res["ar"] = header_lines(raw, "Authentication-Results") if raw else []
    res["received_spf"] = header_lines(raw, "Received-SPF") if raw else []
    ar = " ".join(res["ar"]).lower()
    res["dkim_pass"] = "dkim=pass" in ar
    res["dmarc_pass"] = "dmarc=pass" in ar
    res["spf_pass"] = "spf=pass" in ar or any("pass" in r.lower().split()[1:2]
                                                for r in res["received_spf"])
    res["forged_rejected"] = 500 <= res["forged"][0] < 600
    res["spf_fail_rejected"] = 500 <= res["spf_fail"][0] < 600
    res["wired"] = bool(res["ar"])
    print("%s: genuine sample: %d %s%s" % (name, res["genuine"][0], res["genuine"][1][:80],
                                           " (in %s)" % res["folder"] if res["folder"] else ""))
    for line in res["received_spf"]:
        print("    %s" % line[:200])
    for line in res["ar"]:
        print("    %s" % line[:300])
    if raw is not None and not res["ar"]:
        print("    (no Authentication-Results field)")
    print("%s: forged From (SPF pass for %s, bad signature, p=reject): %d %s" % (
        name, OTHER_DOMAIN, res["forged"][0], res["forged"][1][:100]))
    print("%s: MAIL FROM with SPF -all: %d %s" % (name, res["spf_fail"][0],
                                                   res["spf_fail"][1][:100]))
    return res


# ---------------------------------------------------------------- load

def load(port, args, pool, label, seconds, count=None):
    cmd = [bl.bin_path("smtp_load"), "-s", str(args.sessions), "-M", pool, "-L", label,
           "-r", bl.BENCH_USER, "-f", SENDER, "-H", HELO, "-R", "1", "-P"]
    if count:
        cmd += ["-n", str(count), "-t", "30"]
    else:
        cmd += ["-n", "2000000", "-t", str(seconds)]
    cmd.append("127.0.0.1:%d" % port)
    res = bl.run_json(cmd, timeout=seconds + 120)
    if res.get("failed") or res.get("conn_errors"):
        bl.log("  %s: %d failed, %d connection errors; first: %s" % (
            label, res.get("failed", 0), res.get("conn_errors", 0), res.get("first_error")))
    return res


def measure(srv, port, args, pool, cpu_fn, settle):
    c0 = cpu_fn()
    r = load(port, args, pool, srv, args.seconds)
    settle()
    r["cpu_s"] = cpu_fn() - c0
    r["cpu_ms_per_msg"] = 1000 * r["cpu_s"] / r["accepted"] if r["accepted"] else None
    r.pop("_stderr", None)
    return r


def main():
    args = parse_args()
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    tern_bin = args.tern or bl.find_tern()
    notes = []
    if "tern" in servers and not tern_bin:
        notes.append("tern binary not found: no tern figures")
        servers.remove("tern")
    tmp = bl.bench_tmpdir("mailauth-bench-")
    dns = ref = tern = None
    results = {s: [] for s in servers}
    checks = {}
    tern_wired = False
    try:
        key_pem, pub = make_key(tmp)
        records = [
            txt_option(SENDER_DOMAIN, "v=spf1 ip4:127.0.0.0/8 -all"),
            txt_option("%s._domainkey.%s" % (SELECTOR, SENDER_DOMAIN),
                       "v=DKIM1; k=rsa; p=" + pub),
            txt_option("_dmarc." + SENDER_DOMAIN, "v=DMARC1; p=reject"),
            txt_option(OTHER_DOMAIN, "v=spf1 ip4:127.0.0.0/8 -all"),
            txt_option(SPF_FAIL_DOMAIN, "v=spf1 -all"),
            txt_option("_dmarc." + SPF_FAIL_DOMAIN, "v=DMARC1; p=reject"),
        ]
        dns = Dnsmasq(tmp, records)
        bl.log("dnsmasq on %s:53" % dns.ip)
        pool = os.path.join(tmp, "pool.eml")
        write_pool(pool, args.pool, key_pem, args.size)
        genuine = sign(unsigned_message(777777, body_text(random.Random(7), 1000)), key_pem)
        forged = forged_message(key_pem)

        if "postfix" in servers:
            ref = Reference(tmp, dns.ip, args.keep).start()
            checks["postfix"] = check_server("postfix", ref.postfix.port,
                                             ref.delivered_messages, genuine, forged)
            ok = checks["postfix"]
            if not (ok["dkim_pass"] and ok["forged_rejected"]):
                notes.append("the reference did not check as configured (see above)")
        if "tern" in servers:
            tern = bl.Tern(tern_bin, ("smtp",), keep=args.keep, count_fsyncs=False,
                           greet_delay_ms=None,
                           auth_config=args.tern_auth_config.replace("\\n", "\n"),
                           extra_config=("[queue]\ndns_servers = \"%s:53\"\n" % dns.ip)
                           + args.tern_config.replace("\\n", "\n"))
            # tern's default trusted_networks (127.0.0.1, ::1, like
            # Postfix's mynetworks) would skip the checks for the load
            # generator; empty here, as mynetworks is for the reference. A
            # build without the key rejects it: then left out.
            base_auth = tern.auth_config
            tern.auth_config = 'trusted_networks = ""\n' + base_auth
            tern.write_config()
            p = tern.cli("check-config", check=False)
            if p.returncode != 0 and "trusted_networks" in p.stdout + p.stderr:
                tern.auth_config = base_auth
                tern.write_config()
            tern.setup_account()
            tern.start()
            checks["tern"] = check_server("tern", tern.ports["smtp"], lambda: tern_messages(tern),
                                          genuine, forged)
            tern_wired = checks["tern"]["wired"]
            if not tern_wired:
                print("tern: checks not wired in this build (no Authentication-Results on the "
                      "genuine sample): no tern figures")
                notes.append("tern: checks not wired in this build")

        # warm-up (tern's greeting delay passes 127.0.0.1 on its first wait)
        ports = {}
        if tern and tern_wired:
            ports["tern"] = tern.ports["smtp"]
        if ref:
            ports["postfix"] = ref.postfix.port
        for srv, port in ports.items():
            load(port, args, pool, srv + "-warmup", 10, count=max(100, 5 * args.sessions))
        if ref:
            ref.postfix.wait_drained(300)

        def settle_tern():
            pass

        def settle_postfix():
            if not ref.postfix.wait_drained(300):
                bl.log("  postfix queue did not drain in 300 s")

        for run in range(args.runs):
            for srv, port in ports.items():
                cpu_fn = (lambda: proc_cpu(tern.proc.pid, False)) if srv == "tern" else ref.cpu
                settle = settle_tern if srv == "tern" else settle_postfix
                r = measure(srv, port, args, pool, cpu_fn, settle)
                r["run"] = run
                results[srv].append(r)
                bl.log("  run %d %-7s %7.0f msg/s  p50 %.1f ms  %.2f ms CPU/msg  "
                       "(%d accepted, %d failed)" % (
                           run + 1, srv, r["msgs_per_s"], r["lat_p50_ms"],
                           r["cpu_ms_per_msg"] or 0, r["accepted"], r["failed"]))
        if ref:
            ref.postfix.wait_drained(300)
            msgs = ref.delivered_messages()
            bad = sum(1 for m in msgs[-200:] if b"dkim=pass" not in m)
            if bad:
                notes.append("postfix: %d of the last %d delivered lack dkim=pass" % (
                    bad, min(200, len(msgs))))
        if tern and tern_wired:
            msgs = tern_messages(tern)[-200:]
            bad = sum(1 for _, m in msgs if b"dkim=pass" not in m)
            if bad:
                notes.append("tern: %d of the last %d stored lack dkim=pass" % (bad, len(msgs)))
    finally:
        if tern:
            tern.cleanup()
        if ref:
            ref.stop()
        if dns:
            dns.stop()
        if not args.keep:
            bl.remove_tree(tmp)
        else:
            bl.log("kept %s" % tmp)

    summary = {}
    for srv in servers:
        ok = [r for r in results[srv] if r]
        summary[srv] = {
            "msgs_per_s": bl.median([r["msgs_per_s"] for r in ok]),
            "cpu_ms_per_msg": bl.median([r["cpu_ms_per_msg"] for r in ok]),
            "lat_p50_ms": bl.median([r["lat_p50_ms"] for r in ok]),
            "runs": len(ok),
        }
    print("\nMX acceptance with SPF + DKIM + DMARC (medians of %d run(s) of %gs; %d B, %d "
          "sessions, a new connection per message, no pipelining; rsa-sha256 signed)" % (
              args.runs, args.seconds, args.size, args.sessions))
    hdr = ("server", "msgs/s", "CPU ms/msg", "p50 ms", "checks")
    rows = []
    for srv in ("tern", "postfix"):
        if srv not in summary and srv != "tern":
            continue
        s = summary.get(srv, {})
        c = checks.get(srv)
        if srv == "tern" and not tern_wired:
            verdict = "not wired in this build" if c else "not run"
            rows.append((srv, "n/a", "n/a", "n/a", verdict))
            continue
        verdict = "dkim=%s, forged %s" % ("pass" if c and c["dkim_pass"] else "?",
                                          "rejected" if c and c["forged_rejected"] else "ACCEPTED")
        rows.append((srv, "%.0f" % s["msgs_per_s"] if s.get("msgs_per_s") else "n/a",
                     "%.2f" % s["cpu_ms_per_msg"] if s.get("cpu_ms_per_msg") else "n/a",
                     "%.1f" % s["lat_p50_ms"] if s.get("lat_p50_ms") else "n/a", verdict))
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(hdr)]
    print("  ".join(h.ljust(w) for h, w in zip(hdr, widths)))
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)))
    t, p = summary.get("tern", {}), summary.get("postfix", {})
    if tern_wired and t.get("msgs_per_s") and p.get("msgs_per_s"):
        print("ratio tern/postfix: %.2fx msgs/s (target >= 3x); CPU per message: postfix / tern "
              "= %.2fx" % (t["msgs_per_s"] / p["msgs_per_s"],
                           (p["cpu_ms_per_msg"] or 0) / (t["cpu_ms_per_msg"] or 1)))
    elif "tern" in args.servers:
        print("ratio tern/postfix: n/a (tern: checks not wired in this build)"
              if not tern_wired else "ratio tern/postfix: n/a")
    for n in notes:
        print("note: " + n)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"when": datetime.datetime.now().isoformat(timespec="seconds"),
                       "args": vars(args), "checks": checks, "summary": summary,
                       "runs": results, "notes": notes}, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
