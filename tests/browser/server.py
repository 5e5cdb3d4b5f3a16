"""Start a real tern for the browser tests; serve their requests on stdin.

Why Python: tests/integration/conftest.py already knows how to configure
and start tern (free ports, a data directory, the self-signed certificate
made on first start, users through the CLI), and Python has SMTP and IMAP
clients. The browser runner (run.mjs) starts this, reads one JSON line
(ports, users, paths), then may send one JSON command per line and read
one JSON answer per line:

    {"cmd": "deliver", "to": ADDR, "raw": TEXT}           over SMTP (the mx listener)
    {"cmd": "imap_messages", "user": ADDR, "mailbox": M}  raw messages (base64) over IMAPS
    {"cmd": "imap_list", "user": ADDR}                    the mailbox names (LIST "" "*")
    {"cmd": "import_mbox", "user": ADDR, "mailbox": M, "count": N}
                                                          N generated messages via `tern import`
    {"cmd": "queue"}                                      the outbound queue's rows: mail_from,
                                                          rcpt, data (base64) (a vacation reply)

Closing stdin stops the server. Usage:
    TERN_BIN=build/tern /usr/bin/python3 tests/browser/server.py [extra.toml]
"""
import base64
import imaplib
import json
import re
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
from email.utils import formatdate

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from conftest import HOST, LISTENERS, TERN_BIN, Tern, ssl_ctx  # noqa: E402

USERS = {"alice@example.test": "alice-password-1", "bob@example.test": "bob-password-2"}


def deliver(t, to, raw):
    with smtplib.SMTP(HOST, t.port("smtp"), timeout=30) as s:
        s.sendmail("sender@remote.example", [to], raw.encode())
    return {"ok": True}


def imap_list(t, user):
    c = imaplib.IMAP4_SSL(HOST, t.port("imaps"), ssl_context=ssl_ctx())
    try:
        c.login(user, USERS[user])
        _, data = c.list('""', '"*"')
        names = []
        for line in data:
            m = re.match(rb'\([^)]*\) "/" "?(.*?)"?$', line or b"")
            if m:
                names.append(m.group(1).decode())
        return {"names": names}
    finally:
        c.logout()


def imap_messages(t, user, mailbox):
    c = imaplib.IMAP4_SSL(HOST, t.port("imaps"), ssl_context=ssl_ctx())
    try:
        c.login(user, USERS[user])
        typ, _ = c.select('"%s"' % mailbox, readonly=True)
        if typ != "OK":
            return {"messages": []}
        _, data = c.uid("SEARCH", None, "ALL")
        out = []
        for uid in data[0].split():
            _, d = c.uid("FETCH", uid, "(BODY.PEEK[])")
            out.append(base64.b64encode(d[0][1]).decode())
        return {"messages": out}
    finally:
        c.logout()


def import_mbox(t, user, mailbox, count):
    path = os.path.join(t.dir, "big.mbox")
    with open(path, "w") as f:
        for i in range(count):
            when = 1764547200 - i * 60  # message 0 the newest, one a minute
            f.write("From sender@example.org %s\n"
                    "From: Sender %d <s%d@example.org>\nTo: %s\nSubject: Big message %d\n"
                    "Date: %s\nMessage-ID: <big%d@example.org>\n\nbody %d\n\n"
                    % (time.asctime(time.gmtime(when)), i % 50, i % 50, user, i,
                       formatdate(when), i, i))
    r = subprocess.run([TERN_BIN, "--config", t.config_path, "import", user, "--format", "mbox",
                        path, "--mailbox", mailbox], capture_output=True, text=True, timeout=900)
    return {"ok": r.returncode == 0, "stderr": r.stderr[-2000:]}


def queue(t):
    db = t.db()
    try:
        rows = db.execute("SELECT q.mail_from, q.rcpt, m.data FROM queue q JOIN messages m "
                          "ON m.id = q.message_id ORDER BY q.id").fetchall()
    finally:
        db.close()
    return {"rows": [{"mail_from": r[0], "rcpt": r[1],
                      "data": base64.b64encode(bytes(r[2])).decode()} for r in rows]}


def main():
    extra = open(sys.argv[1]).read() if len(sys.argv) > 1 else ""
    # Mail for other domains stays in the queue, where "queue" finds it (a
    # vacation reply): its DNS is a port where nothing answers, so the relay
    # defers instead of bouncing, whatever this machine's resolver says.
    if "[queue]" not in extra:
        extra += '\n[queue]\ndns_servers = "127.0.0.1:9"\nmta_sts = false\n'
    d = tempfile.mkdtemp(prefix="tern-browser-")
    listeners = LISTENERS + [("http", "http", "none"), ("https", "http", "implicit")]
    t = Tern(d, extra_config=extra, listeners=listeners)
    try:
        t.start()
        for user, password in USERS.items():
            t.add_user(user, password)
        print(json.dumps({"ports": t.ports, "users": USERS, "dir": d, "config": t.config_path,
                          "log": t.log_path}), flush=True)
        for line in sys.stdin:
            try:
                req = json.loads(line)
                cmd = req.pop("cmd")
                fn = {"deliver": deliver, "imap_messages": imap_messages, "imap_list": imap_list,
                      "import_mbox": import_mbox, "queue": queue}[cmd]
                answer = fn(t, **req)
            except Exception as e:  # the runner gets the failure as data
                answer = {"error": "%s: %s" % (type(e).__name__, e)}
            print(json.dumps(answer), flush=True)
    finally:
        t.stop()
        if not os.environ.get("TERN_KEEP"):
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
