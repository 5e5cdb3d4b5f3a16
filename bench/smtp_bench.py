#!/usr/bin/env python3
"""SMTP acceptance benchmark: tern vs a private Postfix vs smtp-sink.

For every cell (message size x concurrent sessions) and every run, the same
load generator (bench/smtp_load.c) sends unique messages for a fixed time to
each server in turn (tern, postfix, smtp-sink, interleaved so that machine
noise hits all of them alike) and reports accepted messages/s and MB/s;
the table shows the median over the runs.

Two load shapes: the grid (--sizes x --sessions) keeps one connection per
session and pipelines MAIL/RCPT/DATA (or what --per-conn and
--no-pipelining say); the per-message cells (--per-message-cells, by
default 4 KiB x 20 sessions) open a new connection for every message and
do not pipeline, as Postfix's smtp-source does: connection setup and the
greeting are part of every message there.

tern runs on its default [smtp] settings, the greeting delay included
(250 ms before the banner on mx listeners, skipped for an address that
waited once); --tern-greet-delay sets it.

tern gets a fresh data directory per cell; its store commits per message
come from the `event=store_stats jobs=N commits=M` line tern logs when it
stops (SIGTERM). Postfix's queue is drained between measurements so that
delivering one cell's mail does not eat the next cell's CPU.

Benchmarks only: never part of the test suite or CI. See bench/README.md.
"""

import argparse
import datetime
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="4096,65536", help="message sizes in bytes")
    ap.add_argument("--sessions", default="1,20,100", help="concurrent sessions")
    ap.add_argument("--seconds", type=float, default=5.0, help="load duration per measurement")
    ap.add_argument("--messages", type=int, default=0,
                    help="fixed message count per measurement instead of --seconds")
    ap.add_argument("--runs", type=int, default=3, help="measurements per cell and server (median)")
    ap.add_argument("--servers", default="tern,postfix,sink",
                    help="comma list out of tern, postfix, sink")
    ap.add_argument("--tern", default=None, help="tern binary (default: build-bench/tern, ...)")
    ap.add_argument("--no-pipelining", action="store_true", help="one command per round trip")
    ap.add_argument("--body", choices=("text", "random"), default="text",
                    help="message body: English-like word lines, or random alphanumerics "
                         "(the worst case for a server that indexes text)")
    ap.add_argument("--per-conn", type=int, default=0,
                    help="messages per connection (default 0: one connection per session)")
    ap.add_argument("--tern-greet-delay", type=int, default=None,
                    help="tern's [smtp] greet_delay_ms (default: not set, tern's own default, "
                         "250 ms with the greet pass)")
    ap.add_argument("--per-message-cells", default="4096x20",
                    help="SIZExSESSIONS,...: cells measured with a new connection per message "
                         "and no pipelining (smtp-source's shape); \"\" for none")
    ap.add_argument("--no-grid", action="store_true",
                    help="only the per-message cells, not the --sizes x --sessions grid")
    ap.add_argument("--json", default=None, help="also write all results to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temp directories")
    ap.add_argument("--tern-log-level", default="warn",
                    help="tern's log_level (info also prints event=store_stats at exit)")
    return ap.parse_args()


# A load shape: (messages per connection, 0 = one connection per session;
# pipelining).
def grid_shape(args):
    return (args.per_conn, not args.no_pipelining)


PER_MESSAGE = (1, False)


def shape_args(shape):
    per_conn, pipelining = shape
    return (["-R", str(per_conn)] if per_conn else []) + ([] if pipelining else ["-P"])


def shape_text(shape):
    per_conn, pipelining = shape
    return "pipelining %s, %s" % (
        "on" if pipelining else "off",
        "a new connection per message" if per_conn == 1
        else "%d message(s) per connection" % per_conn if per_conn
        else "one connection per session")


def load(port, sessions, size, args, label, shape):
    cmd = [bl.bin_path("smtp_load"), "-s", str(sessions), "-l", str(size), "-L", label,
           "-r", bl.BENCH_USER]
    if args.messages:
        cmd += ["-n", str(args.messages), "-t", "300"]
    else:
        cmd += ["-n", "2000000", "-t", str(args.seconds)]
    cmd += shape_args(shape)
    cmd += ["-B", args.body]
    cmd.append("127.0.0.1:%d" % port)
    res = bl.run_json(cmd, timeout=(args.seconds if not args.messages else 300) + 120)
    if res.get("failed") or res.get("conn_errors"):
        bl.log("  %s: %d failed, %d connection errors; first: %s" % (
            label, res.get("failed", 0), res.get("conn_errors", 0), res.get("first_error")))
    return res


WARMUP_BODY = "text"


def warmup(port, sessions, size, label, shape):
    cmd = [bl.bin_path("smtp_load"), "-s", str(sessions), "-l", str(size), "-n",
           str(max(50, sessions * 2)), "-t", "10", "-L", label, "-r", bl.BENCH_USER,
           "-B", WARMUP_BODY] + shape_args(shape) + ["127.0.0.1:%d" % port]
    try:
        return bl.run_json(cmd, timeout=60).get("accepted", 0)
    except Exception as e:  # a broken server shows up in the measurement itself
        bl.log("  warm-up %s: %s" % (label, e))
        return 0


def tern_stored(tern):
    """Mailbox entries in tern.db (tern stopped): every 250 must be there."""
    import sqlite3
    try:
        con = sqlite3.connect("file:%s?mode=ro" % os.path.join(tern.data, "tern.db"), uri=True)
        try:
            return con.execute("SELECT count(*) FROM mailbox_entries").fetchone()[0]
        finally:
            con.close()
    except Exception as e:
        bl.log("  could not count tern's stored messages: %s" % e)
        return None


def fmt(v, spec):
    return "n/a" if v is None else format(v, spec)


def print_table(cells, servers, args, out=sys.stdout):
    for shape in sorted({c["shape"] for c in cells}, key=lambda sh: sh == PER_MESSAGE):
        print_shape_table([c for c in cells if c["shape"] == shape], servers, args, shape, out)


def print_shape_table(cells, servers, args, shape, out):
    mode = ("%d messages" % args.messages) if args.messages else ("%gs" % args.seconds)
    greet = ("tern greet_delay_ms = %d" % args.tern_greet_delay
             if args.tern_greet_delay is not None else "tern's default greeting delay")
    print("\nSMTP acceptance (medians of %d run(s), %s per measurement, one load generator "
          "thread, %s, %s body, %s)" % (args.runs, mode, shape_text(shape), args.body, greet),
          file=out)
    hdr = ("size", "sess", "tern msg/s", "tern MB/s", "tern p50 ms", "commits/msg", "fsyncs/msg",
           "postfix msg/s", "postfix MB/s", "sink msg/s", "tern/postfix", "tern/sink")
    rows = []
    for c in cells:
        t, p, s = c.get("tern"), c.get("postfix"), c.get("sink")
        tm = t["msgs_per_s"] if t else None
        pm = p["msgs_per_s"] if p else None
        sm = s["msgs_per_s"] if s else None
        rows.append((
            "%dK" % (c["size"] // 1024) if c["size"] % 1024 == 0 else str(c["size"]),
            str(c["sessions"]),
            fmt(tm, ".0f"), fmt(t["mb_per_s"] if t else None, ".1f"),
            fmt(t["lat_p50_ms"] if t else None, ".2f"),
            fmt(c.get("commits_per_msg"), ".3f"),
            fmt(c.get("fsyncs_per_msg"), ".3f"),
            fmt(pm, ".0f"), fmt(p["mb_per_s"] if p else None, ".1f"), fmt(sm, ".0f"),
            fmt(tm / pm if tm and pm else None, ".2f"),
            fmt(tm / sm if tm and sm else None, ".2f"),
        ))
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(hdr)]
    line = "  ".join(h.rjust(w) for h, w in zip(hdr, widths))
    print(line, file=out)
    print("-" * len(line), file=out)
    for r in rows:
        print("  ".join(v.rjust(w) for v, w in zip(r, widths)), file=out)
    if any(c.get("tern") for c in cells) and not any(c.get("commits_per_msg") for c in cells):
        print("note: commits/msg needs tern's `event=store_stats` line at exit, which tern logs "
              "at info level only (run with --tern-log-level info); fsyncs/msg is counted by "
              "bench/fsync_count.so (WAL + database fsyncs / accepted messages, warm-up included)",
              file=out)
    notes = [c["note"] for c in cells if c.get("note")]
    for n in sorted(set(notes)):
        print("note: " + n, file=out)
    out.flush()


def median_result(results):
    ok = [r for r in results if r]
    if not ok:
        return None
    return {
        "msgs_per_s": bl.median([r["msgs_per_s"] for r in ok]),
        "mb_per_s": bl.median([r["mb_per_s"] for r in ok]),
        "lat_p50_ms": bl.median([r["lat_p50_ms"] for r in ok]),
        "lat_p99_ms": bl.median([r["lat_p99_ms"] for r in ok]),
        "accepted": sum(r["accepted"] for r in ok),
        "failed": sum(r["failed"] for r in ok),
        "runs": len(ok),
    }


def main():
    args = parse_args()
    global WARMUP_BODY
    WARMUP_BODY = args.body
    todo = []  # (size, sessions, shape)
    if not args.no_grid:
        todo += [(int(z), int(n), grid_shape(args)) for z in args.sizes.split(",")
                 for n in args.sessions.split(",")]
    for spec in filter(None, (x.strip() for x in args.per_message_cells.split(","))):
        z, n = spec.lower().split("x")
        todo.append((int(z), int(n), PER_MESSAGE))
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    tern_bin = args.tern or bl.find_tern()
    tern_note = None
    if "tern" in servers and not tern_bin:
        tern_note = "tern binary not found (build it first): tern columns are n/a"
        bl.log(tern_note)
        servers.remove("tern")

    tmp_fs = bl.fs_type(os.environ.get("BENCH_TMPDIR") or "/var/tmp")
    if tmp_fs in ("tmpfs", "ramfs"):
        bl.log("WARNING: temp dirs are on %s: fsync is free there, durability is not measured" % tmp_fs)

    cells = []
    all_runs = []
    pf_accepted = 0
    pf_note = None
    pf_cm = bl.postfix_instance(keep=args.keep) if "postfix" in servers else None
    sink_cm = bl.smtp_sink_instance() if "sink" in servers else None
    try:
        pf = pf_cm.__enter__() if pf_cm else None
        sink_port = sink_cm.__enter__() if sink_cm else None
        for size, sess, shape in todo:
            cell = {"size": size, "sessions": sess, "shape": shape}
            if tern_note:
                cell["note"] = tern_note
            bl.log("cell %d bytes x %d sessions, %s" % (size, sess, shape_text(shape)))
            per = {s: [] for s in servers}
            tern = None
            tern_warm = 0
            try:
                if "tern" in servers:
                    try:
                        tern = bl.Tern(tern_bin, ("smtp",), keep=args.keep,
                                       log_level=args.tern_log_level,
                                       greet_delay_ms=args.tern_greet_delay)
                        tern.setup_account()
                        tern.start()
                        tern_warm = warmup(tern.ports["smtp"], sess, size, "tern-warmup",
                                           shape)
                    except Exception as e:
                        bl.log("  tern: %s" % e)
                        cell["note"] = "tern failed to start: %s" % str(e).splitlines()[0][:150]
                        if tern:
                            tern.cleanup()
                        tern = None
                if pf:
                    pf_accepted += warmup(pf.port, sess, size, "postfix-warmup", shape)
                    pf.wait_drained()
                if sink_port:
                    warmup(sink_port, sess, size, "sink-warmup", shape)
                for run in range(args.runs):
                    for srv in servers:
                        if srv == "tern" and tern is None:
                            continue
                        if srv == "tern" and tern.proc.poll() is not None:
                            bl.log("  tern died (status %s): %s" % (
                                tern.proc.returncode, tern.stderr_text()[-800:]))
                            cell["note"] = "tern exited during the run (status %s)" % tern.proc.returncode
                            continue
                        port = {"tern": tern.ports["smtp"] if tern else None,
                                "postfix": pf.port if pf else None, "sink": sink_port}[srv]
                        try:
                            r = load(port, sess, size, args, srv, shape)
                        except Exception as e:
                            bl.log("  %s: %s" % (srv, e))
                            r = None
                        if r:
                            r.pop("_stderr", None)
                            r["server"], r["run"] = srv, run
                            all_runs.append(r)
                            bl.log("  run %d %-7s %8.0f msg/s %7.1f MB/s  p50 %.2f ms  "
                                   "p99 %.2f ms  (%d accepted, %d failed)" % (
                                       run + 1, srv, r["msgs_per_s"], r["mb_per_s"],
                                       r["lat_p50_ms"], r["lat_p99_ms"], r["accepted"],
                                       r["failed"]))
                        per[srv].append(r)
                        if srv == "postfix" and r:
                            pf_accepted += r["accepted"]
                        if srv == "postfix" and pf:
                            if not pf.wait_drained(timeout=300):
                                bl.log("  postfix queue did not drain in 300s")
            finally:
                if tern is not None:
                    alive = tern.proc.poll() is None
                    tern.stop()
                    st = tern.last_stats
                    msgs = tern_warm + sum(r["accepted"] for r in per.get("tern", []) if r)
                    cell["tern_messages"] = msgs
                    if st and st.get("jobs"):
                        cell["store_jobs"] = st["jobs"]
                        cell["store_commits"] = st.get("commits")
                        cell["commits_per_msg"] = st.get("commits", 0) / st["jobs"]
                    fs = tern.last_fsyncs
                    if fs and msgs:
                        cell["wal_syncs"] = fs["wal_syncs"]
                        cell["fsyncs_per_msg"] = (fs["wal_syncs"] + fs["db_syncs"]) / msgs
                    stored = tern_stored(tern)
                    cell["tern_stored"] = stored
                    if stored is not None and stored != msgs:
                        cell["note"] = ("tern acknowledged %d messages but tern.db holds %d "
                                        "mailbox entries" % (msgs, stored))
                        bl.log("  " + cell["note"])
                    if not alive:
                        cell["note"] = "tern exited during the run"
                    tern.cleanup()
            for srv in servers:
                cell[srv] = median_result(per[srv])
            cells.append(cell)
        if pf:
            pf.wait_drained(timeout=300)
            delivered = pf.delivered()
            if delivered != pf_accepted:
                pf_note = ("postfix acknowledged %d messages, %d are in the mailbox"
                           % (pf_accepted, delivered))
                bl.log(pf_note)
            else:
                bl.log("postfix: all %d acknowledged messages were delivered to the Maildir"
                       % delivered)
    finally:
        if sink_cm:
            sink_cm.__exit__(None, None, None)
        if pf_cm:
            pf_cm.__exit__(None, None, None)

    if pf_note and cells:
        cells[-1]["note"] = pf_note
    print_table(cells, servers, args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"when": datetime.datetime.now().isoformat(timespec="seconds"),
                       "args": vars(args), "cells": cells, "runs": all_runs}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
