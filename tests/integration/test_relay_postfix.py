"""Interop with a real Postfix (Debian's), a private instance on loopback:
tern -> Postfix by MX and Postfix -> tern, both with STARTTLS, with 8-bit
UTF-8 content. Postfix gets tern's self-signed certificate for its own
STARTTLS. Skipped when postfix is not installed or we are not root."""
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import free_port
from relayutil import (dns_cleanup, Dns, DNSMASQ, inbox, queue_config, submit, strip_trace,
                      wait_for)  # noqa: F401 (dns_cleanup is an autouse fixture)

pytestmark = pytest.mark.skipif(
    not shutil.which("postfix") or not os.path.exists(DNSMASQ) or os.geteuid() != 0,
    reason="needs postfix, dnsmasq and root")

PW = "relay-test-password-3"
PF_IP = "127.0.0.7"

MASTER_CF = """\
{listen}  inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix:
    def __init__(self, port, cert, key, relay_to):
        self.dir = tempfile.mkdtemp(prefix="tern-postfix-", dir="/var/tmp")
        os.chmod(self.dir, 0o755)
        self.conf = os.path.join(self.dir, "etc")
        self.vmail = os.path.join(self.dir, "vmail")
        self.port = port
        for d in (self.conf, os.path.join(self.dir, "spool"), os.path.join(self.dir, "data"),
                  self.vmail):
            os.makedirs(d, exist_ok=True)
        nobody = pwd.getpwnam("nobody")
        os.chown(self.vmail, nobody.pw_uid, nobody.pw_gid)
        pf = pwd.getpwnam("postfix")
        os.chown(os.path.join(self.dir, "data"), pf.pw_uid, pf.pw_gid)
        shutil.copy(cert, os.path.join(self.conf, "cert.pem"))
        shutil.copy(key, os.path.join(self.conf, "key.pem"))
        os.chmod(os.path.join(self.conf, "key.pem"), 0o600)
        with open(os.path.join(self.conf, "vmailbox"), "w") as f:
            f.write("pat@pf.test pat/\n")
        with open(os.path.join(self.conf, "transport"), "w") as f:
            f.write("b.test smtp:[%s]:%d\n" % relay_to)
        cf = {
            "compatibility_level": "3.6",
            "queue_directory": os.path.join(self.dir, "spool"),
            "data_directory": os.path.join(self.dir, "data"),
            "command_directory": "/usr/sbin",
            "daemon_directory": "/usr/lib/postfix/sbin",
            "shlib_directory": "/usr/lib/postfix",
            "meta_directory": "/etc/postfix",
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "mx.pf.test",
            "mydomain": "pf.test",
            "myorigin": "pf.test",
            "mydestination": "",
            "inet_interfaces": "all",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "virtual_mailbox_domains": "pf.test",
            "virtual_mailbox_base": self.vmail,
            "virtual_mailbox_maps": "texthash:" + os.path.join(self.conf, "vmailbox"),
            "virtual_uid_maps": "static:%d" % nobody.pw_uid,
            "virtual_gid_maps": "static:%d" % nobody.pw_gid,
            "virtual_minimum_uid": "1",
            "transport_maps": "texthash:" + os.path.join(self.conf, "transport"),
            "alias_maps": "",
            "alias_database": "",
            "smtpd_peername_lookup": "no",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "smtpd_tls_cert_file": os.path.join(self.conf, "cert.pem"),
            "smtpd_tls_key_file": os.path.join(self.conf, "key.pem"),
            "smtpd_tls_security_level": "may",
            "smtpd_tls_received_header": "yes",
            "smtp_tls_security_level": "encrypt",
            "smtp_tls_loglevel": "1",
            "smtpd_tls_loglevel": "1",
            "smtputf8_enable": "yes",
            "maillog_file": os.path.join(self.dir, "maillog"),
            "biff": "no",
        }
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            for k, v in cf.items():
                f.write("%s = %s\n" % (k, v))
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(listen="%s:%d" % (PF_IP, port)))

    def run(self, *args, check=True):
        p = subprocess.run(["postfix", "-c", self.conf] + list(args), capture_output=True,
                           text=True, timeout=120)
        if check and p.returncode != 0:
            raise RuntimeError("postfix %s: %s %s\n%s" % (args, p.stdout, p.stderr, self.log()))
        return p

    def start(self):
        self.run("check", check=False)
        self.run("start")
        wait_for(lambda: self._open(), timeout=20, what="postfix smtpd")

    def _open(self):
        import socket
        try:
            socket.create_connection((PF_IP, self.port), timeout=0.5).close()
            return True
        except OSError:
            return False

    def log(self):
        try:
            with open(os.path.join(self.dir, "maillog"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def maildir(self):
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(self.vmail, "pat", sub)
            if os.path.isdir(d):
                for n in sorted(os.listdir(d)):
                    with open(os.path.join(d, n), "rb") as f:
                        out.append(f.read())
        return out

    def stop(self):
        self.run("stop", check=False)
        time.sleep(0.5)
        subprocess.run(["rm", "-rf", self.dir])


@pytest.fixture
def world(tern_factory):
    d = tempfile.mkdtemp(prefix="tern-dns-")
    dns = Dns(["--mx-host=pf.test,mx.pf.test,10", "--host-record=mx.pf.test,%s" % PF_IP], d)
    pf_port = free_port(PF_IP)
    b = tern_factory(domain="b.test", host="127.0.0.3")
    b.add_user("bob@b.test", PW)
    a = tern_factory(domain="a.test", host="127.0.0.2",
                     extra_config=queue_config(dns, pf_port, require_tls_domains='"pf.test"'))
    a.add_user("alice@a.test", PW)
    pf = Postfix(pf_port, a.cert_path, os.path.join(a.data_dir, "tls", "selfsigned.key"),
                 ("127.0.0.3", b.port("smtp")))
    try:
        pf.start()
        yield a, b, pf
    finally:
        pf.stop()
        dns.stop()
        subprocess.run(["rm", "-rf", d])


UTF8_MSG = ("From: alice@a.test\r\nTo: pat@pf.test\r\nSubject: =?utf-8?q?=C3=BCber?=\r\n"
            "Message-ID: <pf-1@a.test>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
            "\r\nÜber die Brücke — 日本語.\r\n.dot\r\n").encode()


def test_tern_to_postfix_starttls_8bit(world):
    a, b, pf = world
    try:
        submit(a, "alice@a.test", PW, ["pat@pf.test"], UTF8_MSG, mail_options=["BODY=8BITMIME"])
        got = wait_for(lambda: pf.maildir(), timeout=40, what="delivery into Postfix")
        raw = got[0].replace(b"\n", b"\r\n")
        assert "Über die Brücke — 日本語.".encode() in raw
        assert b"\r\n.dot\r\n" in raw
        head = raw.split(b"\r\n\r\n")[0]
        assert re.search(rb"with ESMTPS", head), head  # Postfix saw TLS from tern
        assert strip_trace(raw).split(b"\r\n\r\n", 1)[1] == UTF8_MSG.split(b"\r\n\r\n", 1)[1]
        wait_for(lambda: re.search(r"event=delivered qid=\d+ rcpt=pat@pf.test host=mx.pf.test",
                                   a.logs()), what="the delivery log line")
    except Exception:
        print("---- A ----\n" + a.logs()[-5000:])
        print("---- postfix ----\n" + pf.log()[-4000:])
        raise


def test_postfix_to_tern_starttls_utf8(world):
    a, b, pf = world
    import smtplib
    msg = ("From: pat@pf.test\r\nTo: bob@b.test\r\nSubject: =?utf-8?q?gr=C3=BC=C3=9Fe?=\r\n"
           "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
           "Content-Transfer-Encoding: 8bit\r\n\r\nGrüße von Postfix.\r\n").encode()
    try:
        with smtplib.SMTP(PF_IP, pf.port, timeout=30) as s:
            s.sendmail("pat@pf.test", ["bob@b.test"], msg, mail_options=["BODY=8BITMIME"])
        got = wait_for(lambda: inbox(b, "bob@b.test"), timeout=40, what="Postfix -> tern")
        raw = got[0]
        assert "Grüße von Postfix.".encode() in raw
        assert b"ESMTPS" in raw.split(b"\r\n\r\n")[0]  # tern's Received: says TLS
        assert re.search(r"TLS connection established to 127.0.0.3", pf.log())
    except Exception:
        print("---- B ----\n" + b.logs()[-4000:])
        print("---- postfix ----\n" + pf.log()[-4000:])
        raise
