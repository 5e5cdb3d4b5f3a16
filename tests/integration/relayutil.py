"""Helpers for the relay tests: a real DNS server (dnsmasq) with test
records, a scripted SMTP receiver, and submission through tern.

dnsmasq answers for *.test only from the records given on its command
line (--local=/test/), so an unknown name is NXDOMAIN; a name under
fail.test is forwarded to a dead upstream and comes back SERVFAIL/REFUSED
(a temporary failure)."""
import base64
import os
import shutil
import smtplib
import socket
import subprocess
import threading
import time

import pytest

from conftest import ssl_ctx

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"


def free_udp_tcp_port(host="127.0.0.1"):
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind((host, 0))
            port = u.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                    t.bind((host, port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port")


_live_dns = []


@pytest.fixture(autouse=True)
def dns_cleanup():
    """Stop every dnsmasq a test started, whatever happened (imported by
    each relay test module, so it is autouse there)."""
    yield
    while _live_dns:
        _live_dns.pop().stop()


class Dns:
    """dnsmasq on 127.0.0.1:<free port>. records: list of dnsmasq options
    such as "--mx-host=b.test,mx.b.test,10" or "--host-record=mx.b.test,127.0.0.3"."""

    def __init__(self, records, logdir):
        self.port = free_udp_tcp_port()
        self.log = open(os.path.join(logdir, "dnsmasq.log"), "ab")
        args = [DNSMASQ, "--no-daemon", "--port=%d" % self.port, "--listen-address=127.0.0.1",
                "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
                "--local=/test/", "--server=/fail.test/127.0.0.1#9", "--log-queries"]
        self.proc = subprocess.Popen(args + list(records), stdout=self.log, stderr=self.log)
        time.sleep(0.3)
        _live_dns.append(self)
        assert self.proc.poll() is None, "dnsmasq did not start"

    @property
    def servers(self):
        return "127.0.0.1:%d" % self.port

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        if not self.log.closed:
            self.log.close()
        if self in _live_dns:
            _live_dns.remove(self)


def queue_config(dns, remote_port, **kw):
    """A [queue] section for fast tests."""
    q = {"scan_interval": 1, "retry_first": 1, "retry_max": 2, "dns_servers": '"%s"' % dns.servers,
         "remote_port": remote_port, "dns_timeout": 1, "connect_timeout": 5}
    q.update(kw)
    return "[queue]\n" + "".join("%s = %s\n" % (k, v) for k, v in q.items())


def submit(t, user, password, rcpts, msg, mail_from=None, mail_options=(), rcpt_options=()):
    """Submit on t's implicit-TLS submission port with AUTH."""
    with smtplib.SMTP_SSL(t.host, t.port("submissions"), context=ssl_ctx(), timeout=30) as s:
        s.login(user, password)
        return s.sendmail(user if mail_from is None else mail_from, rcpts, msg, mail_options=list(mail_options),
                          rcpt_options=list(rcpt_options))


def wait_for(pred, timeout=30, step=0.1, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise TimeoutError("timed out waiting for %s" % what)


def inbox(t, address):
    """Raw messages in address's INBOX, in UID order."""
    db = t.db()
    try:
        rows = db.execute(
            "SELECT m.data FROM mailbox_entries e JOIN mailboxes b ON b.id = e.mailbox_id "
            "JOIN accounts a ON a.id = b.account_id JOIN messages m ON m.id = e.message_id "
            "WHERE a.address = ? AND b.name = 'INBOX' ORDER BY e.uid", (address,)).fetchall()
        return [bytes(r[0]) for r in rows]
    finally:
        db.close()


def queue_rows(t):
    db = t.db()
    try:
        return db.execute("SELECT id, rcpt, attempts, last_error FROM queue ORDER BY id").fetchall()
    finally:
        db.close()


def deferred_rows(t, rcpt):
    """The queue rows (id, rcpt, attempts, last_error) of rcpt tried at least once."""
    return [r for r in queue_rows(t) if r[1] == rcpt and r[2] >= 1]


def submit_to_each(t, user, password, domains, what):
    """user sends one message to bob@ each domain, "Subject: <what> <domain>"."""
    for dom in domains:
        msg = ("From: %s\r\nTo: bob@%s\r\nSubject: %s %s\r\n\r\nhi\r\n"
               % (user, dom, what, dom)).encode()
        submit(t, user, password, ["bob@" + dom], msg)


def strip_trace(raw):
    """The message without Received:/Return-Path: fields (and their folded
    continuation lines), for byte comparisons across hops."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    out, skip = [], False
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            if not skip:
                out.append(line)
            continue
        name = line.split(b":", 1)[0].lower()
        skip = name in (b"received", b"return-path")
        if not skip:
            out.append(line)
    return b"\r\n".join(out) + sep + body


class ScriptedSmtp:
    """A tiny SMTP receiver. script(cmd_line, state) returns the reply for a
    command (or None for the default). Records every transaction."""

    def __init__(self, host, port, script=None, ehlo=("PIPELINING", "8BITMIME"), delay=0.0):
        self.host, self.port = host, port
        self.script = script or (lambda line, st: None)
        self.ehlo = ehlo
        self.delay = delay
        self.messages = []  # (mail_from, [rcpts], data)
        self.commands = []
        self.connections = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.stopping = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.session, args=(c,), daemon=True).start()

    def session(self, c):
        f = c.makefile("rb")
        st = {"rcpts": [], "from": None}

        def send(s):
            c.sendall((s + "\r\n").encode())

        try:
            send("220 scripted ESMTP")
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.decode("utf-8", "replace").rstrip("\r\n")
                self.commands.append(cmd)
                up = cmd.upper()
                r = self.script(cmd, st)
                if up.startswith("EHLO"):
                    lines = ["scripted"] + list(self.ehlo)
                    for i, l in enumerate(lines):
                        send("250%s%s" % ("-" if i < len(lines) - 1 else " ", l))
                    continue
                if r is not None:
                    send(r)
                    if up.startswith("RCPT") and r.startswith("2"):
                        st["rcpts"].append(cmd[8:].split(">")[0].lstrip("<"))
                    continue
                if up.startswith("MAIL"):
                    st["from"] = cmd[10:].split(">")[0].lstrip("<")
                    st["rcpts"] = []
                    send("250 ok")
                elif up.startswith("RCPT"):
                    st["rcpts"].append(cmd[8:].split(">")[0].lstrip("<"))
                    send("250 ok")
                elif up == "DATA" and not st["rcpts"]:
                    send("554 5.5.1 no valid recipients")
                elif up == "DATA":
                    send("354 go")
                    data = b""
                    while True:
                        l = f.readline()
                        if l in (b".\r\n", b""):
                            break
                        if l.startswith(b".."):
                            l = l[1:]
                        data += l
                    if self.delay:
                        time.sleep(self.delay)
                    r2 = self.script("<end-of-data>", st)
                    if r2 is None or r2.startswith("2"):
                        self.messages.append((st["from"], list(st["rcpts"]), data))
                    send(r2 or "250 2.0.0 ok")
                elif up == "QUIT":
                    send("221 bye")
                    return
                else:
                    send("250 ok")
        except OSError:
            return
        finally:
            c.close()

    def stop(self):
        self.stopping = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes accept(); close() alone does not
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)
