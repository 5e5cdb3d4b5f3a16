#!/usr/bin/env python3
"""JMAP benchmark (issue 18): the webmail's load shape against a real tern,
and the same work done over IMAP by a private Dovecot, side by side.

  tern     default config plus an HTTPS listener (tern's self-signed
           certificate). One "session" is what the webmail does when a
           user opens it: POST /jmap/login (cookie + CSRF token), Mailbox/get,
           Email/query (INBOX, receivedAt descending, limit 50) with
           Email/get of those 50 (preview, from, subject, keywords,
           receivedAt) in the same request, open one message (Email/get with
           fetchTextBodyValues), set $seen (Email/set), after the session
           resource (GET /jmap/session, for the accountId). Six round trips
           on one keep-alive HTTPS connection.
  dovecot  the same five over IMAP: LOGIN (the SAME yescrypt hash, through
           {CRYPT}), SELECT INBOX, FETCH of the newest 50 (ENVELOPE FLAGS),
           FETCH one BODY[], STORE +FLAGS (\\Seen), then LOGOUT. Dovecot
           runs with its auth cache (tern caches verified credentials
           too), no TLS (tern's side pays TLS: the comparison favours
           Dovecot).

Both mailboxes hold the same --messages (10,000) messages: a Maildir
written once, read by `tern import --format maildir` and by Dovecot as its
own. --clients processes run sessions back to back for --seconds; each
run gives sessions/s, requests/s and p50/p99 of a request's latency; the
table shows medians of --runs runs (servers interleaved) and tern/dovecot
ratios. One untimed session on each server comes first (Dovecot indexes
the Maildir on its first SELECT). Dovecot's mail is that Maildir (as in
the other benches), so its \\Seen is a file rename in a directory of
--messages files; with several clients on one mailbox that costs it more
than the protocol does: read the ratio as "this mailbox, this format".

Server times (issue 18's figures; --server-messages, default 100,000,
0 to skip; --only-server-times skips the comparison above): a second tern
whose INBOX holds that many small messages, one keep-alive HTTPS client,
and before each timed request one new message APPENDed over IMAP, so the
Email/query result cache never has the answer (the common case: mail
arrives between two looks at the list). Timed, --server-runs times each:
  query+get  one request: Email/query (INBOX, receivedAt descending,
             limit 50) + Email/get of the 50 (the webmail's properties),
             after new mail (the kept result brought up to date), again
             (the result cache), and with a filter never asked before
             (the whole order read from the arrival-order index: a first look);
  set 1000   Email/set of 1000 flag changes ($flagged on, then off).
"server ms" is the CPU time of tern's loop thread for the request
(/proc/<pid>/task/<pid>/schedstat: JSON, TLS, the store reads; the
writer's share of a set is in "writer ms"), "wall ms" the client's round
trip; the store's jobs/commits/fsyncs per set come from /metrics. Medians
are printed. These have no Dovecot column: IMAP has no one-round-trip
equivalent of either, and timing a different amount of work would not be
a comparison.

Benchmarks only: never part of the test suite or CI. See bench/README.md.
"""

import argparse
import http.client
import imaplib
import json
import multiprocessing
import os
import random
import signal
import socket
import sqlite3
import ssl
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402
from imap_bench import DOVECOT_EXTRA, DOVECOT_UID0  # noqa: E402

USER = "webmail@" + bl.BENCH_DOMAIN
CORE = "urn:ietf:params:jmap:core"
MAIL = "urn:ietf:params:jmap:mail"


def write_maildir(path, n, words=300):
    """n messages of a few KiB in a Maildir (cur/, seen ones flagged S)."""
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
    rnd = random.Random(18)
    base = 1700000000
    for i in range(n):
        body = " ".join(rnd.choice(("lorem", "ipsum", "dolor", "sit", "amet", "quarterly",
                                    "report", "meeting", "budget", "draft"))
                        for _ in range(words))
        msg = ("From: Sender %d <s%d@example.org>\r\nTo: <%s>\r\nSubject: message %d\r\n"
               "Message-ID: <%d.jmapbench@example.org>\r\n"
               "Date: Mon, 6 May 2024 10:00:00 +0000\r\nContent-Type: text/plain\r\n\r\n"
               "%s\r\n" % (i % 97, i % 97, USER, i, i, body))
        name = "%d.M%dP1.bench:2,%s" % (base + i, i, "S" if i % 3 else "")
        p = os.path.join(path, "cur", name)
        with open(p, "w", newline="") as f:
            f.write(msg)
        os.utime(p, (base + i, base + i))


# ---------------------------------------------------------------- clients

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else 0.0


class Jmap:
    def __init__(self, port):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
        self.headers = {"Content-Type": "application/json"}

    def post(self, path, doc):
        self.c.request("POST", path, body=json.dumps(doc).encode(), headers=self.headers)
        r = self.c.getresponse()
        data = r.read()
        if r.status != 200:
            raise RuntimeError("%s: %d %s" % (path, r.status, data[:200]))
        return r, json.loads(data)

    def get(self, path):
        self.c.request("GET", path, headers=self.headers)
        r = self.c.getresponse()
        data = r.read()
        if r.status != 200:
            raise RuntimeError("%s: %d %s" % (path, r.status, data[:200]))
        return json.loads(data)

    def api(self, calls):
        _, out = self.post("/jmap/api", {"using": [CORE, MAIL], "methodCalls": calls})
        for m in out["methodResponses"]:
            if m[0] == "error":
                raise RuntimeError("JMAP error: %r" % (m,))
        return out["methodResponses"]


def jmap_session(port, lat):
    """One webmail session; each round trip's seconds go to lat."""
    j = Jmap(port)

    def timed(f, *a):
        t0 = time.perf_counter()
        r = f(*a)
        lat.append(time.perf_counter() - t0)
        return r

    r, out = timed(j.post, "/jmap/login", {"username": USER, "password": bl.BENCH_PASS})
    j.headers["Cookie"] = r.getheader("Set-Cookie").split(";")[0]
    j.headers["X-CSRF-Token"] = out["csrf"]
    acct = timed(j.get, "/jmap/session")["primaryAccounts"][MAIL]
    boxes = timed(j.api, [["Mailbox/get", {"accountId": acct, "ids": None}, "m"]])[0][1]
    inbox = [b["id"] for b in boxes["list"] if b["role"] == "inbox"][0]
    res = timed(j.api, [
        ["Email/query", {"accountId": acct, "filter": {"inMailbox": inbox},
                         "sort": [{"property": "receivedAt", "isAscending": False}],
                         "limit": 50}, "q"],
        ["Email/get", {"accountId": acct, "#ids": {"resultOf": "q", "name": "Email/query",
                                                   "path": "/ids"},
                       "properties": ["preview", "from", "subject", "keywords",
                                      "receivedAt"]}, "g"]])
    ids = res[0][1]["ids"]
    one = random.choice(ids)
    timed(j.api, [["Email/get", {"accountId": acct, "ids": [one],
                                 "properties": ["bodyValues", "textBody", "subject"],
                                 "fetchTextBodyValues": True}, "b"]])
    timed(j.api, [["Email/set", {"accountId": acct,
                                 "update": {one: {"keywords/$seen": True}}}, "s"]])
    j.c.close()


def imap_session(port, total, lat):
    def timed(f, *a):
        t0 = time.perf_counter()
        typ, data = f(*a)
        lat.append(time.perf_counter() - t0)
        if typ != "OK":
            raise RuntimeError("IMAP: %s %r" % (typ, data))
        return data

    m = imaplib.IMAP4("127.0.0.1", port)
    timed(m.login, USER, bl.BENCH_PASS)
    timed(m.select, "INBOX")
    timed(m.fetch, "%d:%d" % (max(1, total - 49), total), "(ENVELOPE FLAGS)")
    n = random.randint(max(1, total - 49), total)
    timed(m.fetch, str(n), "(BODY[])")
    timed(m.store, str(n), "+FLAGS", "(\\Seen)")
    m.logout()


def worker(args):
    kind, port, total, deadline = args
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    lat, sessions, errors = [], 0, 0
    while time.monotonic() < deadline:
        try:
            if kind == "tern":
                jmap_session(port, lat)
            else:
                imap_session(port, total, lat)
            sessions += 1
        except Exception as e:  # counted, and the first one is shown
            errors += 1
            if errors == 1:
                print("  %s: %s" % (kind, e), file=sys.stderr)
    return lat, sessions, errors


def run_once(kind, port, total, clients, seconds):
    deadline = time.monotonic() + seconds
    t0 = time.monotonic()
    with multiprocessing.Pool(clients) as pool:
        parts = pool.map(worker, [(kind, port, total, deadline)] * clients)
    wall = time.monotonic() - t0
    lat = [x for p in parts for x in p[0]]
    sessions = sum(p[1] for p in parts)
    r = {"sessions_per_s": sessions / wall, "requests_per_s": len(lat) / wall,
         "p50_ms": pct(lat, 0.50) * 1000, "p99_ms": pct(lat, 0.99) * 1000,
         "errors": sum(p[2] for p in parts)}
    bl.log("  %s: %.1f sessions/s, %.0f requests/s, p50 %.1f ms, p99 %.1f ms, %d errors" % (
        kind, r["sessions_per_s"], r["requests_per_s"], r["p50_ms"], r["p99_ms"], r["errors"]))
    return r


# ---------------------------------------------------------------- main

def wait_listening(port, timeout=20.0):
    """HTTPS sends no greeting (bl.wait_port waits for one): a connect."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def thread_cpu_ns(pid, tid):
    with open("/proc/%d/task/%d/schedstat" % (pid, tid)) as f:
        return int(f.read().split()[0])


def threads_cpu_ns(pid):
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            total += thread_cpu_ns(pid, int(tid))
        except OSError:
            pass  # a thread that ended
    return total


def store_counters(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
    c.request("GET", "/metrics")
    body = c.getresponse().read().decode()
    c.close()
    got = {}
    for line in body.splitlines():
        name, _, value = line.rpartition(" ")
        if name.startswith("tern_store_"):
            got[name[len("tern_store_"):]] = int(float(value))
    return got


def server_times(tern_bin, n, runs, keep):
    """Issue 18's two figures on a mailbox of n messages (see the top)."""
    https = bl.free_port()
    t = bl.Tern(tern_bin, ("imap",), keep=keep, count_fsyncs=False, extra_config=(
        '[[listen]]\nprotocol = "http"\naddress = "127.0.0.1:%d"\ntls = "implicit"\n' % https))
    out = {"messages": n, "runs": runs}
    try:
        t.setup_account()
        t.cli("user", "add", USER, "--password-stdin", stdin=bl.BENCH_PASS + "\n")
        src = os.path.join(t.dir, "maildir")
        bl.log("server times: writing %d messages" % n)
        write_maildir(src, n, words=20)
        t0 = time.monotonic()
        t.cli("import", USER, "--format", "maildir", src)
        bl.log("  imported in %.1f s" % (time.monotonic() - t0))
        t.start()
        wait_listening(https)
        pid = t.proc.pid
        j = Jmap(https)
        r, lo = j.post("/jmap/login", {"username": USER, "password": bl.BENCH_PASS})
        j.headers["Cookie"] = r.getheader("Set-Cookie").split(";")[0]
        j.headers["X-CSRF-Token"] = lo["csrf"]
        acct = j.get("/jmap/session")["primaryAccounts"][MAIL]
        boxes = j.api([["Mailbox/get", {"accountId": acct, "ids": None}, "m"]])[0][1]
        inbox = [b["id"] for b in boxes["list"] if b["role"] == "inbox"][0]
        imap = imaplib.IMAP4("127.0.0.1", t.ports["imap"])
        imap.login(USER, bl.BENCH_PASS)
        page = [
            ["Email/query", {"accountId": acct, "filter": {"inMailbox": inbox},
                             "sort": [{"property": "receivedAt", "isAscending": False}],
                             "limit": 50}, "q"],
            ["Email/get", {"accountId": acct, "#ids": {"resultOf": "q", "name": "Email/query",
                                                       "path": "/ids"},
                           "properties": ["preview", "from", "subject", "keywords",
                                          "receivedAt"]}, "g"]]

        def timed(calls):
            c0, a0, w0 = thread_cpu_ns(pid, pid), threads_cpu_ns(pid), time.perf_counter()
            res = j.api(calls)
            w1, c1, a1 = time.perf_counter(), thread_cpu_ns(pid, pid), threads_cpu_ns(pid)
            return res, (c1 - c0) / 1e6, (w1 - w0) * 1000, (a1 - a0 - (c1 - c0)) / 1e6

        def new_mail(i):
            imap.append("INBOX", None, None, (
                "From: New <new@example.org>\r\nTo: %s\r\nSubject: new %d\r\n\r\n"
                "arrived between two queries\r\n" % (USER, i)).encode())

        def never_kept(i):
            # the same list, but a filter no earlier query had: worked out
            # from the whole mailbox (the first look after a restart)
            other = json.loads(json.dumps(page))
            other[0][1]["filter"] = {"inMailbox": inbox, "before": "2100-01-01T00:00:%02dZ"
                                     % (i % 60)}
            return other

        q_cold, q_warm, q_fresh, sets = [], [], [], []
        timed(page)  # the first query of a process also fills SQLite's cache
        for i in range(runs):
            new_mail(i)
            res, cpu, wall, _ = timed(page)
            assert len(res[1][1]["list"]) == 50
            q_cold.append((cpu, wall))
            _, cpu, wall, _ = timed(page)
            q_warm.append((cpu, wall))
            new_mail(1000 + i)
            res, cpu, wall, _ = timed(never_kept(i))
            assert len(res[1][1]["list"]) == 50
            q_fresh.append((cpu, wall))
        ids = j.api([["Email/query", {"accountId": acct, "filter": {"inMailbox": inbox},
                                      "sort": [{"property": "receivedAt",
                                                "isAscending": False}],
                                      "limit": 1000}, "q"]])[0][1]["ids"]
        for i in range(runs):
            value = True if i % 2 == 0 else None
            before = store_counters(https)
            res, cpu, wall, writer = timed([["Email/set", {"accountId": acct, "update": {
                e: {"keywords/$flagged": value} for e in ids}}, "s"]])
            after = store_counters(https)
            assert len(res[0][1]["updated"]) == 1000, res[0][1].get("notUpdated")
            d = {k: after[k] - before[k] for k in ("jobs_total", "commits_total",
                                                   "fsyncs_total")}
            sets.append((cpu, wall, writer, d))
        imap.logout()
        j.c.close()
        med = statistics.median
        out["query_get_cold"] = {"server_ms": med(c for c, _ in q_cold),
                                 "wall_ms": med(w for _, w in q_cold)}
        out["query_get_cached"] = {"server_ms": med(c for c, _ in q_warm),
                                   "wall_ms": med(w for _, w in q_warm)}
        out["query_get_never_kept"] = {"server_ms": med(c for c, _ in q_fresh),
                                       "wall_ms": med(w for _, w in q_fresh)}
        out["set_1000"] = {"server_ms": med(s[0] for s in sets),
                           "wall_ms": med(s[1] for s in sets),
                           "writer_ms": med(s[2] for s in sets),
                           "jobs": [s[3]["jobs_total"] for s in sets],
                           "commits": [s[3]["commits_total"] for s in sets],
                           "fsyncs": [s[3]["fsyncs_total"] for s in sets],
                           "wall_ms_runs": [round(s[1], 1) for s in sets]}
        print("\nserver times on %d messages, medians of %d runs (issue 18: query+get "
              "< 20 ms, set < 100 ms and one commit)" % (n, runs))
        print("%-34s %10s %10s %10s" % ("request", "server ms", "writer ms", "wall ms"))
        for label, k in (("Email/query+get 50, new mail first", "query_get_cold"),
                         ("the same again (result cache)", "query_get_cached"),
                         ("a query never kept, new mail first", "query_get_never_kept")):
            print("%-34s %10.1f %10s %10.1f" % (label, out[k]["server_ms"], "",
                                               out[k]["wall_ms"]))
        s1 = out["set_1000"]
        print("%-34s %10.1f %10.1f %10.1f" % ("Email/set of 1000 flag changes",
                                             s1["server_ms"], s1["writer_ms"], s1["wall_ms"]))
        print("  store per set, median (most) of the runs: %g (%d) job(s), %g (%d) commit(s), "
              "%g (%d) fsync(s); another job of the server's (not this set's)"
              % (med(s1["jobs"]), max(s1["jobs"]), med(s1["commits"]), max(s1["commits"]),
                 med(s1["fsyncs"]), max(s1["fsyncs"])))
        print("  may share a set's window: test_jmap_set_batch checks it is one job alone")
        print("  set wall ms per run: %s" % " ".join("%.0f" % w for w in s1["wall_ms_runs"]))
        return out
    finally:
        t.stop()
        t.cleanup()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tern", default=None)
    ap.add_argument("--no-dovecot", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs")
    ap.add_argument("--json", default=None, help="write the raw results here")
    ap.add_argument("--server-messages", type=int, default=100000,
                    help="mailbox size for the server times (0: skip them)")
    ap.add_argument("--server-runs", type=int, default=9)
    ap.add_argument("--only-server-times", action="store_true")
    args = ap.parse_args()
    tern_bin = args.tern or bl.find_tern()
    if not tern_bin:
        sys.exit("no tern binary (build it, or --tern PATH)")
    if args.only_server_times:
        out = {"server_times": server_times(tern_bin, args.server_messages or 100000,
                                            args.server_runs, args.keep)}
        if args.json:
            with open(args.json, "w") as f:
                json.dump(out, f, indent=1)
        return
    https = bl.free_port()
    t = bl.Tern(tern_bin, ("imap",), keep=args.keep, count_fsyncs=False, extra_config=(
        '[[listen]]\nprotocol = "http"\naddress = "127.0.0.1:%d"\ntls = "implicit"\n' % https))
    dv = None
    out = {"messages": args.messages, "clients": args.clients, "seconds": args.seconds}
    try:
        t.setup_account()
        t.cli("user", "add", USER, "--password-stdin", stdin=bl.BENCH_PASS + "\n")
        con = sqlite3.connect(os.path.join(t.data, "tern.db"))
        hashed = con.execute("SELECT password_hash FROM accounts WHERE address = ?",
                             (USER,)).fetchone()[0]
        con.close()
        src = os.path.join(t.dir, "maildir")
        bl.log("writing %d messages" % args.messages)
        write_maildir(src, args.messages)
        t.cli("import", USER, "--format", "maildir", src)
        t.start()
        wait_listening(https)
        if not args.no_dovecot:
            dv = bl.Dovecot(protocols=("imap",), keep=args.keep,
                            users=[(USER, "{CRYPT}" + hashed, DOVECOT_UID0 + 1)],
                            extra_conf=DOVECOT_EXTRA + "auth_cache_size = 10M\n")
            md = dv.maildir_of(USER)
            subprocess.run(["cp", "-a", src, md], check=True)
            subprocess.run(["chown", "-R", "%d:%d" % (DOVECOT_UID0 + 1, dv.gid), md], check=True)
            dv.start()
        # One untimed session each first: Dovecot builds its index of the
        # Maildir on the first SELECT, tern's caches fill on the first query.
        bl.log("warming up")
        jmap_session(https, [])
        if dv:
            imap_session(dv.port, args.messages, [])
        res = {}
        for run in range(args.runs):
            for kind in ("tern",) + (() if args.no_dovecot else ("dovecot",)):
                port = https if kind == "tern" else dv.port
                r = run_once(kind, port, args.messages, args.clients, args.seconds)
                res.setdefault(kind, []).append(r)
        out["runs"] = res
        keys = ("sessions_per_s", "requests_per_s", "p50_ms", "p99_ms")
        med = {k: {x: statistics.median(r[x] for r in rs) for x in keys}
               for k, rs in res.items()}
        print("\nwebmail session on %d messages, %d clients, medians of %d runs of %ds"
              % (args.messages, args.clients, args.runs, args.seconds))
        print("%-22s %12s %12s %10s %10s" % ("server", "sessions/s", "requests/s", "p50 ms",
                                             "p99 ms"))
        for k, m in med.items():
            label = "tern (JMAP, HTTPS)" if k == "tern" else "dovecot (IMAP, plain)"
            print("%-22s %12.1f %12.0f %10.1f %10.1f" % (label, m["sessions_per_s"],
                                                         m["requests_per_s"], m["p50_ms"],
                                                         m["p99_ms"]))
        if "dovecot" in med:
            a, b = med["tern"], med["dovecot"]
            ratio = lambda x, y: x / y if y else 0.0  # noqa: E731
            print("%-22s %11.2fx %11.2fx %9.2fx %9.2fx" % (
                "tern/dovecot", ratio(a["sessions_per_s"], b["sessions_per_s"]),
                ratio(a["requests_per_s"], b["requests_per_s"]),
                ratio(a["p50_ms"], b["p50_ms"]), ratio(a["p99_ms"], b["p99_ms"])))
            print("(throughput: higher is better; latency ratios: lower is better)")
    finally:
        if dv:
            dv.cleanup()
        t.stop()
        t.cleanup()
    if args.server_messages:
        out["server_times"] = server_times(tern_bin, args.server_messages, args.server_runs,
                                           args.keep)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
