#!/usr/bin/env python3
"""Relay throughput: tern's queue runner vs Postfix, both relaying the same
queue of 4 KiB messages to the same smtp-sink on loopback.

    relay_bench.py [--tern build/tern] [--counts 1000,10000] [--conns 20]

For each count N:
  tern     N messages are put in the queue (the store's own layout, written
           with sqlite3 while tern is stopped), then tern starts in
           smarthost mode pointing at the sink; the clock runs from start
           to an empty queue table.
  postfix  a private Postfix with relayhost = the sink and
           defer_transports = smtp receives the N messages over SMTP (they
           wait in its queue), then defer_transports is cleared, Postfix
           reloads and `postqueue -f` flushes; the clock runs from the flush
           to an empty queue.
Both use the same number of parallel connections to the sink. Prints
messages/s for each and the ratio tern/postfix. Root is needed (Postfix).
"""
import argparse
import os
import pwd
import shutil
import socket
import sqlite3
import smtplib
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BODY = b"x" * 76 + b"\r\n"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("port %d never opened" % port)


def message(i):
    head = b"From: bench@a.test\r\nTo: sink@sink.test\r\nSubject: relay bench %d\r\n\r\n" % i
    return head + BODY * ((4096 - len(head)) // len(BODY))


class Sink:
    def __init__(self):
        self.port = free_port()
        self.proc = subprocess.Popen(["smtp-sink", "-u", "postfix", "-m", "1000",
                                      "127.0.0.1:%d" % self.port, "1024"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def bench_tern(binary, n, sink, conns):
    d = tempfile.mkdtemp(prefix="tern-relay-bench-", dir="/var/tmp")
    try:
        cfg = os.path.join(d, "tern.toml")
        with open(cfg, "w") as f:
            f.write('[server]\ndata_dir = "%s/data"\ndomain = "a.test"\nhostname = "a.test"\n'
                    'log_level = "warn"\n\n[queue]\nscan_interval = 1\nsmarthost = "127.0.0.1"\n'
                    'smarthost_port = %d\nmax_connections = %d\nmax_per_domain = %d\n\n'
                    '[[listen]]\nprotocol = "smtp"\naddress = "127.0.0.1:%d"\n'
                    % (d, sink.port, conns, conns, free_port()))
        # first start creates the schema
        subprocess.run([binary, "--config", cfg, "check-config"], check=True,
                       capture_output=True)
        subprocess.run([binary, "--config", cfg, "domain", "add", "a.test"], capture_output=True)
        db = sqlite3.connect(os.path.join(d, "data", "tern.db"))
        now = int(time.time())
        with db:
            for i in range(n):
                m = message(i)
                cur = db.execute("INSERT INTO messages(size, refcount, created, data) "
                                 "VALUES(?, 1, ?, ?)", (len(m), now, m))
                db.execute("INSERT INTO queue(message_id, mail_from, rcpt, next_attempt, expires, "
                           "created) VALUES(?, 'bench@a.test', 'sink@sink.test', ?, ?, ?)",
                           (cur.lastrowid, now, now + 86400, now))
        t0 = time.monotonic()
        proc = subprocess.Popen([binary, "--config", cfg, "serve"], stdout=subprocess.DEVNULL,
                                stderr=open(os.path.join(d, "tern.log"), "wb"))
        try:
            while True:
                left = db.execute("SELECT count(*) FROM queue").fetchone()[0]
                if left == 0:
                    break
                if proc.poll() is not None:
                    raise RuntimeError("tern exited")
                if time.monotonic() - t0 > 600:
                    raise RuntimeError("tern did not drain (%d left)" % left)
                time.sleep(0.05)
            return time.monotonic() - t0
        finally:
            proc.terminate()
            proc.wait(30)
            db.close()
    finally:
        shutil.rmtree(d, ignore_errors=True)


MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def bench_postfix(n, sink, conns):
    d = tempfile.mkdtemp(prefix="postfix-relay-bench-", dir="/var/tmp")
    os.chmod(d, 0o755)
    conf = os.path.join(d, "etc")
    for sub in ("etc", "spool", "data"):
        os.makedirs(os.path.join(d, sub))
    pf = pwd.getpwnam("postfix")
    os.chown(os.path.join(d, "data"), pf.pw_uid, pf.pw_gid)
    port = free_port()
    cf = {
        "compatibility_level": "3.6", "queue_directory": d + "/spool",
        "data_directory": d + "/data", "command_directory": "/usr/sbin",
        "daemon_directory": "/usr/lib/postfix/sbin", "shlib_directory": "/usr/lib/postfix",
        "meta_directory": "/etc/postfix", "mail_owner": "postfix", "setgid_group": "postdrop",
        "myhostname": "postfix.a.test", "mydomain": "a.test", "mydestination": "",
        "inet_interfaces": "all", "inet_protocols": "ipv4", "mynetworks": "127.0.0.0/8",
        "relayhost": "[127.0.0.1]:%d" % sink.port, "defer_transports": "smtp",
        "smtpd_relay_restrictions": "permit_mynetworks, reject",
        "smtpd_peername_lookup": "no", "alias_maps": "", "alias_database": "",
        "default_destination_concurrency_limit": str(conns),
        "smtp_destination_concurrency_limit": str(conns),
        "initial_destination_concurrency": str(conns),
        "smtpd_client_connection_count_limit": "0", "smtpd_client_message_rate_limit": "0",
        "maillog_file": d + "/maillog", "biff": "no",
    }
    with open(os.path.join(conf, "main.cf"), "w") as f:
        f.write("".join("%s = %s\n" % kv for kv in cf.items()))
    with open(os.path.join(conf, "master.cf"), "w") as f:
        f.write(MASTER_CF.format(port=port))

    def pfx(*a):
        return subprocess.run(["postfix", "-c", conf] + list(a), capture_output=True, text=True)

    def queued():
        c = 0
        for sub in ("incoming", "active", "deferred", "maildrop", "hold"):
            for _, _, files in os.walk(os.path.join(d, "spool", sub)):
                c += len(files)
        return c

    try:
        pfx("check")
        r = pfx("start")
        if r.returncode != 0:
            raise RuntimeError("postfix start: %s %s" % (r.stdout, r.stderr))
        wait_port(port)
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
            for i in range(n):
                s.sendmail("bench@a.test", ["sink@sink.test"], message(i))
        while queued() < n:  # cleanup has queued everything
            time.sleep(0.05)
        subprocess.run(["postconf", "-c", conf, "-e", "defer_transports="], check=True)
        pfx("reload")
        time.sleep(0.5)
        t0 = time.monotonic()
        subprocess.run(["postqueue", "-c", conf, "-f"], capture_output=True)
        while queued() > 0:
            if time.monotonic() - t0 > 600:
                raise RuntimeError("postfix did not drain")
            time.sleep(0.05)
        return time.monotonic() - t0
    finally:
        pfx("stop")
        time.sleep(0.5)
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tern", default=os.path.join(ROOT, "build", "tern"))
    ap.add_argument("--counts", default="1000,10000")
    ap.add_argument("--conns", type=int, default=20)
    args = ap.parse_args()
    sink = Sink()
    try:
        print("%8s %12s %12s %8s" % ("messages", "tern msg/s", "postfix msg/s", "ratio"))
        for n in [int(x) for x in args.counts.split(",")]:
            tt = bench_tern(args.tern, n, sink, args.conns)
            tp = bench_postfix(n, sink, args.conns)
            print("%8d %12.0f %12.0f %7.2fx" % (n, n / tt, n / tp, tp / tt), flush=True)
    finally:
        sink.stop()


if __name__ == "__main__":
    main()
