#!/usr/bin/env python3
"""Login benchmark (issue 15, "logins that cost nothing twice"): tern's
hashing threads and credentials cache, and the stress mix against Dovecot.

  capacity  tern with the credentials cache off ([auth] cache_ttl = 0), so
            every LOGIN runs yescrypt at tern's default cost: cache-missing
            logins per second with enough clients to keep the hashing
            threads busy (connect, LOGIN, LOGOUT in a loop). Then the loop's
            latency: the round trip of a NOOP on another, logged-in
            connection (every 20 ms), p50/p99, idle and while cache-missing
            logins arrive at half that capacity (paced, open loop).
  stress    N clients (10 and 50) on ONE mailbox (200 messages), each
            cycling LOGIN, SELECT, FETCH (UID FLAGS), FETCH (ENVELOPE),
            FETCH (BODY.PEEK[]), STORE +/-FLAGS (\\Seen), STORE +/-FLAGS
            ($Stress), APPEND, STORE \\Deleted beyond 200, EXPUNGE, LOGOUT:
            `imap_load stress`, which tracks EXISTS/EXPUNGE/FETCH numbers
            and counts protocol errors. tern (cache on, the default) against
            a private Dovecot checking the SAME yescrypt hash ({CRYPT} and
            tern's hash), without and with its auth cache (auth_cache_size
            = 10M). Commands/s and commands per CPU-second of the server
            (tern's process; Dovecot's master and everything under it,
            exited imap processes included through the master's cutime).
            Medians of --runs runs, servers interleaved.

Benchmarks only: never part of the test suite or CI. See bench/README.md.
"""

import argparse
import imaplib
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402
from imap_bench import DOVECOT_EXTRA, DOVECOT_UID0  # noqa: E402

USER = "stress@" + bl.BENCH_DOMAIN
BASE = 200  # messages in the stress mailbox
TERN_EXTRA = """[limits]
max_connections = 30000
max_connections_per_ip = 30000
"""
CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids):
    """utime + stime of the processes, plus what they reaped (cutime +
    cstime): a process tree's CPU including children that have exited."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        total += sum(int(x) for x in fields[11:15])
    return total / CLK


def fill(port, n):
    """n small messages in USER's INBOX, over IMAP (the same on both)."""
    m = imaplib.IMAP4("127.0.0.1", port)
    m.login(USER, bl.BENCH_PASS)
    for i in range(n):
        msg = ("From: Alice <alice@example.org>\r\nTo: <%s>\r\nSubject: report %d\r\n"
               "Message-ID: <%d.fill@bench.example>\r\nDate: Mon, 6 May 2024 10:00:00 +0000\r\n"
               "\r\n%s\r\n" % (USER, i, i, ("the quick brown fox %d " % i) * 40)).encode()
        m.append("INBOX", None, None, msg)
    m.logout()


# ---------------------------------------------------------------- capacity

def login_worker(args):
    """Log in and out on new connections until the deadline; rate 0: as
    fast as the server answers, else paced to rate per second (open loop:
    a slow answer does not delay the next start beyond catching up)."""
    port, deadline, rate = args
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    n, start = 0, time.monotonic()
    while time.monotonic() < deadline:
        if rate:
            due = start + n / rate
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if time.monotonic() >= deadline:
                break
        m = imaplib.IMAP4("127.0.0.1", port)
        m.login(USER, bl.BENCH_PASS)
        m.logout()
        n += 1
    return n


def noop_prober(port, seconds, q):
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    m = imaplib.IMAP4("127.0.0.1", port)
    m.login(USER, bl.BENCH_PASS)
    rtts = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        m.noop()
        rtts.append(time.monotonic() - t0)
        time.sleep(0.02)
    m.logout()
    q.put(rtts)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] * 1000 if xs else None


def noop_latency(port, seconds, login_rate, workers):
    q = multiprocessing.Queue()
    prober = multiprocessing.Process(target=noop_prober, args=(port, seconds, q))
    prober.start()
    logins = 0
    if login_rate:
        deadline = time.monotonic() + seconds
        with multiprocessing.Pool(workers) as pool:
            logins = sum(pool.map(login_worker,
                                  [(port, deadline, login_rate / workers)] * workers))
    rtts = q.get()
    prober.join()
    return {"p50_ms": pct(rtts, 0.5), "p99_ms": pct(rtts, 0.99), "noops": len(rtts),
            "logins_per_s": logins / seconds if login_rate else 0}


def run_capacity(args, tern_bin, out):
    t = bl.Tern(tern_bin, ("imap",), count_fsyncs=False, extra_config=TERN_EXTRA,
                auth_config="cache_ttl = 0\n")
    try:
        t.setup_account()
        t.cli("user", "add", USER, "--password-stdin", stdin=bl.BENCH_PASS + "\n")
        t.start()
        port = t.ports["imap"]
        # enough clients to keep every hashing thread busy
        workers = 2 * (os.cpu_count() or 2) + 2
        caps = []
        for _ in range(args.runs):
            c0 = cpu_seconds([t.proc.pid])
            deadline = time.monotonic() + args.seconds
            with multiprocessing.Pool(workers) as pool:
                n = sum(pool.map(login_worker, [(port, deadline, 0)] * workers))
            cpu = cpu_seconds([t.proc.pid]) - c0
            caps.append(n / args.seconds)
            bl.log("  capacity: %d cache-missing logins in %ds = %.1f/s, tern CPU %.2fs "
                   "(%.1f ms per login)" % (n, args.seconds, n / args.seconds, cpu,
                                            1000 * cpu / max(n, 1)))
        cap = statistics.median(caps)
        idle = [noop_latency(port, args.seconds, 0, 1) for _ in range(args.runs)]
        half = [noop_latency(port, args.seconds, cap / 2, workers) for _ in range(args.runs)]
        med = lambda rs, k: statistics.median(r[k] for r in rs)  # noqa: E731
        res = {"capacity_logins_per_s": cap, "runs": caps,
               "noop_idle_p50_ms": med(idle, "p50_ms"), "noop_idle_p99_ms": med(idle, "p99_ms"),
               "noop_loaded_p50_ms": med(half, "p50_ms"),
               "noop_loaded_p99_ms": med(half, "p99_ms"),
               "loaded_logins_per_s": med(half, "logins_per_s")}
        out["capacity"] = res
        print("\ncapacity (tern, cache off, default yescrypt): %.1f logins/s (runs %s)" % (
            cap, ", ".join("%.1f" % c for c in caps)))
        print("NOOP round trip on another connection: idle p50 %.2f ms p99 %.2f ms; with "
              "%.1f logins/s arriving (half the capacity): p50 %.2f ms p99 %.2f ms" % (
                  res["noop_idle_p50_ms"], res["noop_idle_p99_ms"], res["loaded_logins_per_s"],
                  res["noop_loaded_p50_ms"], res["noop_loaded_p99_ms"]))
        sys.stdout.flush()
    finally:
        t.stop()
        t.cleanup()


# ---------------------------------------------------------------- stress

def stress_once(imap_load, port, clients, seconds, label, pids):
    cmd = [imap_load, "stress", "-u", USER, "-p", bl.BENCH_PASS, "-c", str(clients),
           "-t", str(seconds), "-b", str(BASE), "-L", label, "127.0.0.1:%d" % port]
    # the server's CPU from the start of the window (imap_load's "running"
    # line: every client logged in and selected) to its end
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=bl.nofile_preexec(65536))
    c0 = None
    lines = []
    for line in p.stdout:
        if c0 is None and '"event":"running"' in line:
            c0 = cpu_seconds(pids())
            t0 = time.monotonic()
        else:
            lines.append(line)
        if c0 is not None and time.monotonic() - t0 >= seconds and lines:
            break
    cpu = cpu_seconds(pids()) - (c0 or 0)
    rest, err = p.communicate(timeout=600)
    lines += rest.splitlines()
    try:
        r = json.loads([x for x in lines if x.strip()][-1])
    except (ValueError, IndexError):
        raise RuntimeError("imap_load stress: %s %s" % (lines[-1:], err[-300:]))
    r["server_cpu_s"] = cpu
    r["commands_per_cpu_s"] = r.get("commands", 0) / cpu if cpu > 0 else None
    bl.log("  %s: %.0f commands/s, %.0f per CPU-second (CPU %.1fs), %d logins, "
           "%d protocol errors, %d flag mismatches%s" % (
               label, r.get("commands_per_s", 0), r["commands_per_cpu_s"] or 0, cpu,
               r.get("logins", 0), r.get("protocol_errors", -1), r.get("flag_mismatches", -1),
               (", first: " + r["first_error"]) if r.get("first_error") else ""))
    return r


def run_stress(args, tern_bin, imap_load, out):
    t = bl.Tern(tern_bin, ("imap",), count_fsyncs=False, extra_config=TERN_EXTRA,
                nofile=65536)
    dv = None
    try:
        t.setup_account()
        t.cli("user", "add", USER, "--password-stdin", stdin=bl.BENCH_PASS + "\n")
        import sqlite3
        con = sqlite3.connect(os.path.join(t.data, "tern.db"))
        hashed = con.execute("SELECT password_hash FROM accounts WHERE address = ?",
                             (USER,)).fetchone()[0]
        con.close()
        assert hashed.startswith("$y$"), hashed
        t.start()
        fill(t.ports["imap"], BASE)
        dv = bl.Dovecot(protocols=("imap",), users=[(USER, "{CRYPT}" + hashed, DOVECOT_UID0 + 1)],
                        extra_conf=DOVECOT_EXTRA, nofile=65536)
        md = dv.maildir_of(USER)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, sub), exist_ok=True)
        os.system("chown -R %d:%d %s" % (DOVECOT_UID0 + 1, dv.gid, md))
        dv.start()
        fill(dv.port, BASE)
        confs = {"dovecot": DOVECOT_EXTRA,
                 "dovecot_cache": DOVECOT_EXTRA + "auth_cache_size = 10M\n"}
        res = {}
        for n in args.clients:
            for run in range(args.runs):
                for srv in ("tern", "dovecot", "dovecot_cache"):
                    if srv == "tern":
                        r = stress_once(imap_load, t.ports["imap"], n, args.seconds,
                                        "tern c%d r%d" % (n, run), lambda: [t.proc.pid])
                    else:
                        dv.stop()
                        dv.write_config(confs[srv])
                        dv.start()
                        r = stress_once(imap_load, dv.port, n, args.seconds,
                                        "%s c%d r%d" % (srv, n, run), dv.pids)
                    res.setdefault((srv, n), []).append(r)
        out["stress"] = {"%s_%d" % k: v for k, v in res.items()}
        print("\nstress mix, one mailbox, ~10 commands per login (medians of %d runs of %ds)"
              % (args.runs, args.seconds))
        print("%-8s %-15s %10s %12s %8s %10s %10s" % (
            "clients", "server", "cmds/s", "cmds/CPU-s", "logins/s", "proto err", "flag mism"))
        for n in args.clients:
            row = {}
            for srv in ("tern", "dovecot", "dovecot_cache"):
                rs = res[(srv, n)]
                med = lambda k: statistics.median(r.get(k) or 0 for r in rs)  # noqa: E731
                row[srv] = (med("commands_per_s"), med("commands_per_cpu_s"))
                print("%-8d %-15s %10.0f %12.0f %8.1f %10d %10d" % (
                    n, srv, row[srv][0], row[srv][1], med("logins") / args.seconds,
                    sum(r.get("protocol_errors", 0) for r in rs),
                    sum(r.get("flag_mismatches", 0) for r in rs)))
            for ref in ("dovecot", "dovecot_cache"):
                print("%-8d tern/%-10s %10.2fx %11.2fx" % (
                    n, ref, row["tern"][0] / row[ref][0] if row[ref][0] else 0,
                    row["tern"][1] / row[ref][1] if row[ref][1] else 0))
        print("targets: >= 3x dovecot_cache commands/s, >= 2x per CPU-second, "
              "zero protocol errors")
        sys.stdout.flush()
    finally:
        if dv:
            dv.cleanup()
        t.stop()
        t.cleanup()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="capacity,stress")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--clients", default="10,50")
    ap.add_argument("--tern", default=None)
    ap.add_argument("--json", default=None, help="write the raw results here")
    args = ap.parse_args()
    args.clients = [int(x) for x in args.clients.split(",")]
    tern_bin = args.tern or bl.find_tern()
    if not tern_bin:
        sys.exit("no tern binary (build it, or --tern PATH)")
    imap_load = bl.bin_path("imap_load")
    with open("/proc/loadavg") as f:
        print("login benchmark, %s, load average %s" % (time.strftime("%Y-%m-%d %H:%M"),
                                                       " ".join(f.read().split()[:3])))
    out = {}
    if "capacity" in args.only:
        run_capacity(args, tern_bin, out)
    if "stress" in args.only:
        run_stress(args, tern_bin, imap_load, out)
    if args.json:
        import json
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
