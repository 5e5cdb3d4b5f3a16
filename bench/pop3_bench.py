#!/usr/bin/env python3
"""POP3 download benchmark: tern vs a private Dovecot (dovecot-pop3d).

For each cell (message count x message size) both servers get a mailbox
holding the same messages (unique, exactly SIZE bytes on the wire with CRLF
line ends):

  tern:    rows written straight into tern.db with sqlite3 while tern is
           stopped (the same rows store_deliver() writes: messages,
           mailbox_entries, the mailbox's uidnext/highestmodseq), or, with
           --fill smtp or when the schema is not the one this script knows,
           delivered over SMTP with bench/smtp_load;
  Dovecot: a Maildir written directly (LF line ends as Dovecot's LDA writes
           them, S= and W= sizes in the file names, files in cur/).

Then the same client (bench/pop3_load.c) logs in, STATs and RETRs every
message; throughput is message bytes received / time from the first RETR to
the last message. One warm-up download per server (not counted) builds
Dovecot's index and warms the page cache for both; then --runs downloads
per server, interleaved; the table shows medians.

Benchmarks only: never part of the test suite or CI. See bench/README.md.
"""

import argparse
import datetime
import json
import os
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

BODY_LINE = b"The quick brown fox jumps over the lazy dog; pack my box with five dozen jugs!!"


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--counts", default="1000,10000")
    ap.add_argument("--sizes", default="4096,65536")
    ap.add_argument("--big", action="store_true",
                    help="include 10000 x 64 KiB (640 MB per server; skipped otherwise)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--window", type=int, default=1,
                    help="RETR commands in flight (1 = one at a time, like a mail client)")
    ap.add_argument("--min-seconds", type=float, default=1.0,
                    help="repeat the whole download within one measurement until this much "
                         "download time is collected (short cells are too noisy otherwise)")
    ap.add_argument("--servers", default="tern,dovecot")
    ap.add_argument("--tern", default=None)
    ap.add_argument("--fill", choices=("sql", "smtp"), default="sql",
                    help="how to fill tern's mailbox (sql falls back to smtp if the schema differs)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--keep", action="store_true")
    return ap.parse_args()


def make_message(i, size):
    """Message i: unique headers, body of 80-byte CRLF lines, exactly size bytes."""
    hdr = ("From: <sender@bench.example>\r\nTo: <%s>\r\nSubject: pop3 bench %010d\r\n"
           "Message-ID: <%010d.pop3.bench.example>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\n"
           % (bl.BENCH_USER, i, i)).encode()
    left = size - len(hdr)
    line = BODY_LINE[:78] + b"\r\n"
    body = line * (left // len(line))
    rest = left - len(body)
    if rest == 1:  # keep CRLF line ends: make the last full line one longer
        body = body[:-2] + b"x\r\n"
    elif rest >= 2:
        body += b"y" * (rest - 2) + b"\r\n"
    msg = hdr + body
    assert len(msg) == size, (len(msg), size)
    return msg


# ---------------------------------------------------------------- tern fill

EXPECTED = {
    "messages": {"id", "size", "refcount", "created", "data"},
    "mailbox_entries": {"mailbox_id", "uid", "message_id", "flags", "keywords", "modseq",
                        "internal_date"},
    "mailboxes": {"id", "account_id", "name", "uidnext", "highestmodseq"},
}


def tern_fill_sql(tern, count, size):
    """Write the mailbox with sqlite3 while tern is stopped. Returns False if
    the schema is not what this function knows (then fill over SMTP)."""
    db = os.path.join(tern.data, "tern.db")
    con = sqlite3.connect(db, timeout=30)
    try:
        for table, cols in EXPECTED.items():
            have = {r[1] for r in con.execute("PRAGMA table_info(%s)" % table)}
            if not cols <= have:
                bl.log("  tern schema differs (%s: missing %s): filling over SMTP" % (
                    table, ", ".join(sorted(cols - have))))
                return False
        row = con.execute(
            "SELECT m.id, m.uidnext, m.highestmodseq FROM mailboxes m JOIN accounts a "
            "ON a.id = m.account_id WHERE a.address = ? AND m.name = 'INBOX'",
            (bl.BENCH_USER,)).fetchone()
        if not row:
            bl.log("  tern: no INBOX for %s: filling over SMTP" % bl.BENCH_USER)
            return False
        mbid, uid, modseq = row
        now = int(time.time())
        con.execute("BEGIN IMMEDIATE")
        for i in range(count):
            m = make_message(i, size)
            cur = con.execute(
                "INSERT INTO messages(size, refcount, created, data) VALUES(?,1,?,?)",
                (len(m), now, m))
            modseq += 1
            con.execute(
                "INSERT INTO mailbox_entries(mailbox_id, uid, message_id, flags, modseq, "
                "internal_date, size) VALUES(?,?,?,0,?,?,?)",
                (mbid, uid, cur.lastrowid, modseq, now, len(m)))
            uid += 1
        con.execute("UPDATE mailboxes SET uidnext = ?, highestmodseq = ? WHERE id = ?",
                    (uid, modseq, mbid))
        con.execute("COMMIT")
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return True
    finally:
        con.close()


def tern_fill_smtp(tern, count, size):
    cmd = [bl.bin_path("smtp_load"), "-s", "20", "-n", str(count), "-l", str(size), "-t", "900",
           "-r", bl.BENCH_USER, "127.0.0.1:%d" % tern.ports["smtp"]]
    r = bl.run_json(cmd, timeout=1000)
    if r["accepted"] != count:
        raise RuntimeError("SMTP fill: %d of %d accepted (%s)" % (r["accepted"], count,
                                                                 r.get("first_error")))


def start_tern(tern_bin, count, size, fill, keep):
    t = bl.Tern(tern_bin, ("smtp", "pop3"), keep=keep, count_fsyncs=False)
    try:
        t.setup_account()
        how = "sql"
        if fill != "sql" or not tern_fill_sql(t, count, size):
            how = "smtp"
            t.start()
            tern_fill_smtp(t, count, size)
        else:
            t.start()
        return t, how
    except BaseException:
        t.cleanup()
        raise


# ---------------------------------------------------------------- dovecot fill

def dovecot_fill(dv, count, size):
    md = dv.maildir
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, sub), exist_ok=True)
    base = 1700000000
    cur = os.path.join(md, "cur")
    for i in range(count):
        m = make_message(i, size).replace(b"\r\n", b"\n")
        name = "%d.M%dP1.bench,S=%d,W=%d:2," % (base + i, i, len(m), size)
        with open(os.path.join(cur, name), "wb") as f:
            f.write(m)
    subprocess.run(["chown", "-R", "%d:%d" % (dv.uid, dv.gid), dv.mail], check=True)


# ---------------------------------------------------------------- measure

def download_once(port, args, count):
    cmd = [bl.bin_path("pop3_load"), "-u", bl.BENCH_USER, "-p", bl.BENCH_PASS, "-w",
           str(args.window), "127.0.0.1:%d" % port]
    r = bl.run_json(cmd, timeout=1800)
    if r.get("_rc", 0) != 0:
        raise RuntimeError("pop3_load failed: %s" % r.get("_stderr", "")[-300:])
    r.pop("_stderr", None)
    if r["messages"] != count:
        raise RuntimeError("downloaded %d messages, expected %d" % (r["messages"], count))
    return r


def download(port, args, count, min_seconds=0.0):
    """One measurement: whole-mailbox downloads (one session each) repeated
    until min_seconds of download time are collected; MB/s over the sum."""
    rs = [download_once(port, args, count)]
    while sum(r["seconds"] for r in rs) < min_seconds:
        rs.append(download_once(port, args, count))
    secs = sum(r["seconds"] for r in rs)
    nbytes = sum(r["bytes"] for r in rs)
    return {"messages": count, "bytes": rs[0]["bytes"], "downloads": len(rs),
            "seconds": secs / len(rs), "mb_per_s": nbytes / secs / 1e6,
            "msgs_per_s": count * len(rs) / secs,
            "login_ms": bl.median([r["login_ms"] for r in rs])}


def fmt(v, spec):
    return "n/a" if v is None else format(v, spec)


def first_cols(c):
    """MB/s of the first download after the other server's, and the ratio."""
    t, d = c.get("tern-first"), c.get("dovecot-first")
    tm = t["mb_per_s"] if t else None
    dm = d["mb_per_s"] if d else None
    return fmt(tm, ".1f"), fmt(dm, ".1f"), fmt(tm / dm if tm and dm else None, ".2f")


def print_table(cells, args, out=sys.stdout):
    print("\nPOP3 download with RETR (medians of %d run(s) after one warm-up; each run is one "
          "download right after the other server's (1st), then the whole download repeated "
          "until >= %gs; %s)" % (
              args.runs, args.min_seconds,
              "one RETR at a time" if args.window == 1 else "%d RETRs pipelined" % args.window),
          file=out)
    hdr = ("messages", "size", "tern MB/s", "tern msg/s", "tern s/dl", "dovecot MB/s", "dovecot msg/s",
           "dovecot s/dl", "tern/dovecot", "1st: tern", "dovecot", "tern/dovecot")
    rows = []
    for c in cells:
        t, d = c.get("tern"), c.get("dovecot")
        tm = t["mb_per_s"] if t else None
        dm = d["mb_per_s"] if d else None
        rows.append((str(c["count"]), "%dK" % (c["size"] // 1024),
                     fmt(tm, ".1f"), fmt(t["msgs_per_s"] if t else None, ".0f"),
                     fmt(t["seconds"] if t else None, ".2f"),
                     fmt(dm, ".1f"), fmt(d["msgs_per_s"] if d else None, ".0f"),
                     fmt(d["seconds"] if d else None, ".2f"),
                     fmt(tm / dm if tm and dm else None, ".2f"),
                     *first_cols(c)))
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(hdr)]
    line = "  ".join(h.rjust(w) for h, w in zip(hdr, widths))
    print(line, file=out)
    print("-" * len(line), file=out)
    for r in rows:
        print("  ".join(v.rjust(w) for v, w in zip(r, widths)), file=out)
    for n in sorted({c["note"] for c in cells if c.get("note")}):
        print("note: " + n, file=out)
    out.flush()


def median_result(rs):
    rs = [r for r in rs if r]
    if not rs:
        return None
    return {k: bl.median([r[k] for r in rs]) for k in ("mb_per_s", "msgs_per_s", "seconds")} | {
        "runs": len(rs), "bytes": rs[0]["bytes"], "messages": rs[0]["messages"]}


def main():
    args = parse_args()
    counts = [int(x) for x in args.counts.split(",")]
    sizes = [int(x) for x in args.sizes.split(",")]
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    tern_bin = args.tern or bl.find_tern()
    global_note = None
    if "tern" in servers and not tern_bin:
        global_note = "tern binary not found: tern columns are n/a"
        servers.remove("tern")
    cells, all_runs = [], []
    for count in counts:
        for size in sizes:
            if count >= 10000 and size >= 65536 and not args.big:
                bl.log("skipping %d x %d (use --big)" % (count, size))
                continue
            cell = {"count": count, "size": size}
            if global_note:
                cell["note"] = global_note
            bl.log("cell %d messages x %d bytes" % (count, size))
            inst = {}
            per = {s: [] for s in servers + [x + "-first" for x in servers]}
            try:
                if "tern" in servers:
                    t0 = time.monotonic()
                    try:
                        inst["tern"], how = start_tern(tern_bin, count, size, args.fill, args.keep)
                        cell["tern_fill"] = how
                        bl.log("  tern filled (%s) in %.1fs" % (how, time.monotonic() - t0))
                    except Exception as e:
                        bl.log("  tern: %s" % e)
                        cell["note"] = "tern: %s" % str(e).splitlines()[0][:150]
                if "dovecot" in servers:
                    t0 = time.monotonic()
                    dv = bl.Dovecot(keep=args.keep)
                    inst["dovecot"] = dv
                    dovecot_fill(dv, count, size)
                    dv.start()
                    bl.log("  dovecot filled in %.1fs" % (time.monotonic() - t0))
                ports = {}
                if "tern" in inst:
                    ports["tern"] = inst["tern"].ports["pop3"]
                if "dovecot" in inst:
                    ports["dovecot"] = inst["dovecot"].port
                for srv, port in list(ports.items()):  # warm-up
                    try:
                        download(port, args, count)
                    except Exception as e:
                        bl.log("  %s warm-up: %s" % (srv, e))
                        cell["note"] = "%s failed: %s" % (srv, str(e).splitlines()[0][:150])
                        del ports[srv]
                for run in range(args.runs):
                    for srv, port in ports.items():
                        try:
                            # The page cache may not hold both servers'
                            # mailboxes (on this VM it keeps about 1 GB):
                            # one download first, recorded as the figure
                            # "after the other server", re-warms it.
                            first = download_once(port, args, count)
                            per[srv + "-first"].append(first)
                            r = download(port, args, count, args.min_seconds)
                        except Exception as e:
                            bl.log("  %s: %s" % (srv, e))
                            cell["note"] = "%s failed: %s" % (srv, str(e).splitlines()[0][:150])
                            continue
                        r.update(server=srv, run=run, count=count, size=size)
                        all_runs.append(r)
                        per[srv].append(r)
                        bl.log("  run %d %-7s %8.1f MB/s %8.0f msg/s %7.2f s per download "
                               "(%d download(s) of %d msgs, %d bytes; the first one %.1f MB/s)" % (
                                   run + 1, srv, r["mb_per_s"], r["msgs_per_s"], r["seconds"],
                                   r["downloads"], r["messages"], r["bytes"], first["mb_per_s"]))
            finally:
                for srv, i in inst.items():
                    if srv == "tern" and i.proc is not None and i.proc.poll() is not None:
                        cell["note"] = "tern exited during the run (status %s)" % i.proc.returncode
                        bl.log("  tern stderr: %s" % i.stderr_text()[-800:])
                    i.cleanup()
            for srv in per:
                cell[srv] = median_result(per[srv])
            cells.append(cell)
    print_table(cells, args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"when": datetime.datetime.now().isoformat(timespec="seconds"),
                       "args": vars(args), "cells": cells, "runs": all_runs}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
