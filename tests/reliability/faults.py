"""Fault injection: one scenario run again and again, the N-th store step
failing in each run (store/fault.h), for N = 1, 2, 3, ... until the
scenario has no N-th step.

The scenario is what a user's day does to the store, one client at a time
so that step N is (nearly) the same step in every run: a message over mx,
one over submission to a local and a remote recipient (the queue and the
relay's record), an IMAP session (SELECT, APPEND, STORE, COPY, MOVE,
STORE \\Deleted + UID EXPUNGE), a POP3 session (RETR, DELE, QUIT), and at
the end a probe message over mx.

What each run checks:
  - every reply is the operation's success or its protocol's temporary
    error (SMTP 4xx, IMAP NO [UNAVAILABLE], POP3 -ERR [SYS/TEMP]); a
    permanent error, a dropped connection or a crash is a violation;
  - the server keeps serving: the probe after the fault is accepted, except
    after a failed WAL sync, where the store must refuse writes (the probe
    gets 4xx, /metrics says tern_store_writes_stopped 1) until restarted;
  - after a restart without the fault, `tern verify` finds nothing, every
    acknowledged operation is there, and (for step and WAL faults, which
    roll back) every refused one left nothing behind. After a failed sync
    the refused operations may have committed before the sync failed:
    those are counted as "stored, not acknowledged", as the crash cycles
    count theirs.
"""
import imaplib
import os
import poplib
import random
import re
import shutil
import smtplib
import subprocess
import time
import urllib.request

import server
from conftest import ssl_ctx
from sink import Sink

class NotFaultBuild(RuntimeError):
    pass


SITES = [("step", "ioerr"), ("step", "full"), ("step", "busy"), ("wal", "short"),
         ("wal", "enospc"), ("sync", None)]
IMAP_USER = server.IMAP_USERS[0]
POP_USER = server.POP_USERS[0]


def msg(msgid, frm, to, text="fault injection"):
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@faults.test>\r\n\r\n%s\r\n"
            % (frm, to, msgid, msgid, text)).encode()


class Run:
    """One run: the replies, and what they promise."""

    def __init__(self):
        self.replies = []     # (op, "ok" | "temp" | "bad", detail)
        self.violations = []

    def note(self, op, kind, detail=""):
        self.replies.append((op, kind, detail))
        if kind == "bad":
            self.violations.append("%s: %s" % (op, detail))
        return kind

    def ok(self, op):
        return any(o == op and k == "ok" for o, k, _ in self.replies)

    def refused(self, op):
        return any(o == op and k == "temp" for o, k, _ in self.replies)


def smtp_send(run, op, t, port, frm, rcpts, body, login=False):
    try:
        if login:
            s = smtplib.SMTP_SSL(t.host, t.port(port), context=ssl_ctx(), timeout=15)
        else:
            s = smtplib.SMTP(t.host, t.port(port), timeout=15)
        with s:
            s.ehlo()
            if login:
                s.login(server.SENDER, server.PASSWORD)
            code, resp = s.mail(frm)
            if code == 250:
                for r in rcpts:
                    code, resp = s.rcpt(r)
                    if code != 250:
                        break
            if code == 250:
                code, resp = s.data(body)
    except smtplib.SMTPAuthenticationError as e:
        code, resp = e.smtp_code, e.smtp_error
    except (OSError, smtplib.SMTPException) as e:
        return run.note(op, "bad", "no reply: %r" % e)
    if code == 250:
        return run.note(op, "ok")
    if 400 <= code < 500:
        return run.note(op, "temp", "%d %s" % (code, resp))
    return run.note(op, "bad", "%d %s" % (code, resp))


def imap_reply(run, op, typ, data):
    text = b" ".join(d if isinstance(d, bytes) else str(d).encode()
                     for d in (data or []) if d is not None).decode("utf-8", "replace")
    if typ == "OK":
        return run.note(op, "ok")
    if typ == "NO" and "[UNAVAILABLE]" in text:
        return run.note(op, "temp", text)
    return run.note(op, "bad", "%s %s" % (typ, text))


def uid_of(m, msgid):
    typ, data = m.uid("SEARCH", "HEADER", "Message-ID", "<%s@faults.test>" % msgid)
    uids = data[0].split() if typ == "OK" and data and data[0] else []
    return uids[0].decode() if uids else None


def imap_session(run, t):
    try:
        m = imaplib.IMAP4_SSL(t.host, t.port("imaps"), ssl_context=ssl_ctx(), timeout=15)
    except OSError as e:
        return run.note("imap connect", "bad", repr(e))
    try:
        try:
            typ, data = m.login(IMAP_USER, server.PASSWORD)
        except imaplib.IMAP4.error as e:
            typ, data = "NO", [str(e).encode()]
        if imap_reply(run, "imap login", typ, data) != "ok":
            return
        typ, data = m.select("INBOX")
        if imap_reply(run, "select", typ, data) != "ok":
            return
        typ, data = m.append("INBOX", None, None, msg("C", "c@faults.test", IMAP_USER))
        imap_reply(run, "append C", typ, data)
        a = uid_of(m, "A")
        b = uid_of(m, "B")
        c = uid_of(m, "C")
        if a:
            typ, data = m.uid("STORE", a, "+FLAGS", "(\\Flagged)")
            imap_reply(run, "store A flagged", typ, data)
            typ, data = m.uid("COPY", a, "Work")
            imap_reply(run, "copy A", typ, data)
        if b:
            typ, data = m.uid("MOVE", b, "Archive")
            imap_reply(run, "move B", typ, data)
        if c:
            typ, data = m.uid("STORE", c, "+FLAGS", "(\\Deleted)")
            if imap_reply(run, "store C deleted", typ, data) == "ok":
                typ, data = m.uid("EXPUNGE", c)
                imap_reply(run, "expunge C", typ, data)
        m.logout()
    except (OSError, imaplib.IMAP4.abort, imaplib.IMAP4.error) as e:
        run.note("imap session", "bad", "dropped: %r" % e)


def pop_reply(run, op, fn):
    try:
        r = fn()
    except poplib.error_proto as e:
        r = e.args[0] if e.args else b""
        text = r.decode("utf-8", "replace") if isinstance(r, bytes) else str(r)
        if text.startswith("-ERR [SYS/TEMP]"):
            return run.note(op, "temp", text)
        return run.note(op, "bad", text)
    return run.note(op, "ok")


def pop_session(run, t):
    try:
        p = poplib.POP3_SSL(t.host, t.port("pop3s"), context=ssl_ctx(), timeout=15)
    except OSError as e:
        return run.note("pop3 connect", "bad", repr(e))
    try:
        if pop_reply(run, "pop3 login", lambda: (p.user(POP_USER),
                                                 p.pass_(server.PASSWORD))) != "ok":
            p.close()
            return
        if pop_reply(run, "retr", lambda: p.retr(1)) == "ok" and \
                pop_reply(run, "dele", lambda: p.dele(1)) == "ok":
            pop_reply(run, "quit after dele", p.quit)
        else:
            p.quit()
    except (OSError, poplib.error_proto) as e:
        run.note("pop3 session", "bad", "dropped: %r" % e)


def scenario(run, t):
    smtp_send(run, "mx A", t, "smtp", "a@faults.test", [IMAP_USER],
              msg("A", "a@faults.test", IMAP_USER))
    smtp_send(run, "submit B", t, "submissions", server.SENDER,
              [IMAP_USER, "far@" + server.REMOTE], msg("B", server.SENDER, IMAP_USER),
              login=True)
    imap_session(run, t)
    pop_session(run, t)
    time.sleep(1.2)  # the queue runner relays B (its record is steps too)
    # The fault may be the probe's own step: then a second one must pass.
    if smtp_send(run, "probe", t, "smtp", "p@faults.test", [IMAP_USER],
                 msg("PROBE", "p@faults.test", IMAP_USER)) != "ok":
        time.sleep(0.3)
        smtp_send(run, "probe2", t, "smtp", "p@faults.test", [IMAP_USER],
                  msg("PROBE2", "p@faults.test", IMAP_USER))


def metric(t, name):
    try:
        with urllib.request.urlopen("http://%s:%d/metrics" % (t.host, t.port("http")),
                                    timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    m = re.search(r"^%s (\S+)$" % name, text, re.M)
    return float(m.group(1)) if m else None


def mailbox_state(t):
    """{mailbox: {msgid: flags}} of the IMAP user, and the POP3 user's
    message count."""
    m = imaplib.IMAP4_SSL(t.host, t.port("imaps"), ssl_context=ssl_ctx(), timeout=15)
    m.login(IMAP_USER, server.PASSWORD)
    state = {}
    for box in server.IMAP_BOXES:
        typ, data = m.select(box, readonly=True)
        exists = int(data[0]) if typ == "OK" else 0
        typ, data = (m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
                     if exists else ("OK", []))
        found = {}
        for item in data or []:
            if isinstance(item, tuple):
                mid = re.search(rb"<([^@>]+)@faults\.test>", item[1])
                flags = re.search(rb"FLAGS \(([^)]*)\)", item[0])
                if mid:
                    found[mid.group(1).decode()] = (flags.group(1).decode() if flags else "")
        state[box] = found
    m.logout()
    p = poplib.POP3_SSL(t.host, t.port("pop3s"), context=ssl_ctx(), timeout=15)
    p.user(POP_USER)
    p.pass_(server.PASSWORD)
    count = p.stat()[0]
    p.quit()
    return state, count


def check_after(run, t, sync_fault, pop_before):
    state, pop_count = mailbox_state(t)
    inbox, work, archive = state["INBOX"], state["Work"], state["Archive"]
    strict = not sync_fault
    stored_unacked = 0

    def expect(op, present, where):
        nonlocal stored_unacked
        if run.ok(op) and not present:
            run.violations.append("%s acknowledged but not in %s" % (op, where))
        elif run.refused(op) and present:
            if strict:
                run.violations.append("%s refused but in %s (half-written)" % (op, where))
            else:
                stored_unacked += 1

    expect("mx A", "A" in inbox, "INBOX")
    expect("submit B", "B" in inbox or "B" in archive, "INBOX/Archive")
    expect("append C", "C" in inbox or run.ok("expunge C"), "INBOX")
    expect("store A flagged", "\\Flagged" in inbox.get("A", ""), "A's flags")
    expect("copy A", "A" in work, "Work")
    expect("move B", "B" in archive and "B" not in inbox, "Archive only")
    expect("expunge C", "C" not in inbox, "(gone)")
    expect("quit after dele", pop_count == pop_before - 1, "POP3 (deleted)")
    if not run.ok("quit after dele") and pop_count != pop_before:
        if strict or not run.refused("quit after dele"):
            run.violations.append("POP3: %d messages, %d before, QUIT not acknowledged"
                                  % (pop_count, pop_before))
    expect("probe", "PROBE" in inbox, "INBOX")
    expect("probe2", "PROBE2" in inbox, "INBOX")
    return stored_unacked


def stop_checked(run, t):
    """Stop tern; a sanitizer report is the run's violation, not the end of
    the campaign."""
    try:
        return t.stop()
    except BaseException as e:  # conftest reports with pytest.fail
        run.violations.append("at stop: %s" % str(e)[:2000])
        return None


class Campaign:
    def __init__(self, workdir, binary):
        self.workdir = workdir
        server.use_binary(binary)
        self.sink = Sink()
        template = os.path.join(workdir, "template")
        os.makedirs(template, exist_ok=True)
        t = server.make_server(template, self.sink)
        t.start()
        server.setup_accounts(t)
        m = imaplib.IMAP4_SSL(t.host, t.port("imaps"), ssl_context=ssl_ctx(), timeout=15)
        m.login(IMAP_USER, server.PASSWORD)
        m.create("Work")
        m.logout()
        setup = Run()
        smtp_send(setup, "setup", t, "smtp", "p@faults.test", [POP_USER],
                  msg("P", "p@faults.test", POP_USER))
        t.stop()
        if not setup.ok("setup"):
            raise RuntimeError("the POP3 user's message was not accepted: %r" % setup.replies)
        self.template_data = t.data_dir
        self.pop_before = 1
        self.runs = 0
        self.fired = 0
        self.rows = []  # (site, kind, steps, runs, fired, temp replies, stored unacked, violations)
        self.violations = []
        self.rng = random.Random(os.environ.get("TERN_FAULT_SEED", "faults"))

    def one(self, spec, site):
        self.runs += 1
        d = os.path.join(self.workdir, "run")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        t = server.make_server(d, self.sink)
        shutil.copytree(self.template_data, t.data_dir)
        run = Run()
        os.environ["TERN_FAULT"] = spec
        try:
            t.start()
        finally:
            del os.environ["TERN_FAULT"]
        scenario(run, t)
        logs = t.logs()
        if "event=fault_spec_ignored" in logs:
            t.stop()
            raise NotFaultBuild("%s was built without -DTERN_FAULTS=ON: no fault can be "
                                "injected" % server.conftest.TERN_BIN)
        fired = "event=fault_injected" in logs
        stopped = metric(t, "tern_store_writes_stopped")
        rc = stop_checked(run, t)
        if rc is not None and rc < 0:
            run.violations.append("tern ended by signal %d" % -rc)
        logs = t.logs()
        m = re.search(r"event=fault_count site=\S+ seen=(\d+)", logs)
        seen = int(m.group(1)) if m else 0
        sync_fault = site == "sync" and fired
        if fired and site == "sync":
            if stopped != 1:
                run.violations.append("a WAL sync failed but writes_stopped is %r" % stopped)
            if "event=writes_stopped" not in logs:
                run.violations.append("a WAL sync failed and the log does not say so")
            if run.ok("probe") or run.ok("probe2"):
                run.violations.append("a write was acknowledged after a failed WAL sync")
        elif fired and not (run.ok("probe") or run.ok("probe2")):
            run.violations.append("the server stopped serving after the fault: probe %s"
                                  % [r for r in run.replies if r[0] == "probe"])
        t.start()
        unacked = 0
        try:
            v = t.cli("verify")
            if v.returncode != 0:
                run.violations.append("tern verify: %s" % (v.stdout + v.stderr).strip()[:300])
            unacked = check_after(run, t, sync_fault, self.pop_before)
        finally:
            stop_checked(run, t)
        temp = sum(1 for _, k, _ in run.replies if k == "temp")
        for v in run.violations:
            self.violations.append("%s: %s" % (spec, v))
        if not fired and run.violations:
            pass  # a violation without the fault is reported the same way
        return fired, seen, temp, unacked, len(run.violations)

    def sweep(self, site, kind, sample=None, deadline=None):
        """Every N from 1 until a run has no step N; or (sample) that many
        N drawn from the steps the counting run saw."""
        base = site + ":%d" + (":" + kind if kind else "")
        # A first run with an N beyond any scenario counts the steps.
        _, total, _, _, v0 = self.one(base % 10**9, site)
        ns = iter(range(1, total + 3))
        if sample:
            ns = iter(sorted(self.rng.sample(range(1, total + 1), min(sample, total))))
        runs, fired, temp, unacked, viol = 1, 0, 0, 0, v0
        for n in ns:
            if deadline and time.monotonic() > deadline:
                break
            f, seen, tp, ua, v = self.one(base % n, site)
            runs += 1
            fired += f
            temp += tp
            unacked += ua
            viol += v
            if not f and n > seen:
                break  # no step N in this run: the sweep is over
        label = site + (":" + kind if kind else "")
        self.rows.append((label, total, runs, fired, temp, unacked, viol))
        self.fired += fired
        return viol


QUICK_SITES = [("step", "ioerr"), ("step", "full"), ("wal", "short"), ("sync", None)]


def main(workdir, binary, quick, log=print, only=None):
    """The sweep of every site; quick: three N of each of four sites (CI);
    only: the sites named so ("step:busy", "sync"), all of each."""
    c = Campaign(workdir, binary)
    deadline = time.monotonic() + 6 * 3600
    sites = QUICK_SITES if quick else SITES
    if only:
        sites = [(s, k) for s, k in SITES if (s + (":" + k if k else "")) in only]
    try:
        for site, kind in sites:
            c.sweep(site, kind, 3 if quick else None, deadline)
            label, total, runs, fired, temp, unacked, viol = c.rows[-1]
            log("faults %-12s steps %4d  runs %4d  injected %4d  temp replies %4d  "
                "stored-unacked %3d  violations %d" % (label, total, runs, fired, temp,
                                                        unacked, viol))
    finally:
        c.sink.stop()
    for v in c.violations[:30]:
        log("violation: " + v)
    return c


if __name__ == "__main__":
    import argparse
    import tempfile
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--bin", default=os.environ.get("TERN_BIN", "build/tern"))
    ap.add_argument("--site", action="append",
                    help="only this site, whole (step:ioerr, step:full, step:busy, wal:short, "
                         "wal:enospc, sync); may be repeated")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tern-faults-") as d:
        c = main(d, a.bin, a.quick, only=a.site)
        print("faults injected: %d" % c.fired)
        print("invariant violations: %d" % len(c.violations))
        raise SystemExit(1 if c.violations else 0)
