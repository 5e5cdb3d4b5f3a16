#!/usr/bin/env python3
"""Sieve at delivery: SMTP acceptance with a user's filter active vs none.

Issue 22's bar: with a 10 KiB script of about 100 rules active for the
recipient, SMTP acceptance of 4 KiB messages from 20 sessions, a new
connection per message and no pipelining (smtp-source's shape, the same
load generator as bench/smtp_bench.py), stays at 0.8x or more of the same
run with no script.

One tern on its default settings (the mx greeting delay included: an
address that waited once is let through at once after) and one account. The two cases alternate on the same server, run after run, so
that machine noise hits both alike: `tern sieve activate rcpt@bench.test
bench` and `... --none` between measurements (the CLI writes while tern
runs; the next delivery reads the new active script, compiled once and
cached). The table shows medians; the ratio is the median of each run's
pair of measurements.

The script is what a user's rules look like: 100 rules of the kinds the
webmail writes and people write by hand (header/address/envelope tests,
:contains/:is/:matches, allof/anyof/not, size, fileinto, addflag) that do
not match the benchmark's mail, so every message runs all of them, then a
last rule files it into "Filtered". At the end the number of messages in
"Filtered" must equal the messages accepted while the script was active:
that proves each of them went through the script (the ratio is refused
otherwise).

Benchmarks only: never part of the test suite or CI. See bench/README.md.
"""

import argparse
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402
import smtp_bench  # noqa: E402


def bench_script(rules=100):
    """About 100 B per rule: ~10 KiB for 100."""
    out = ['require ["fileinto", "mailbox", "imap4flags", "envelope", "variables", "copy"];',
           "# %d rules that do not match the benchmark's mail, then one that does." % rules]
    for i in range(rules):
        kind = i % 5
        if kind == 0:
            out.append('if header :contains "subject" ["invoice %04d", "receipt %04d"] '
                       '{ fileinto :create "Finance/%04d"; stop; }' % (i, i, i))
        elif kind == 1:
            out.append('if address :domain :is ["from", "sender"] "vendor%04d.example" '
                       '{ fileinto "Vendors"; addflag "$vendor"; }' % i)
        elif kind == 2:
            out.append('if allof (header :matches "list-id" "*list-%04d.lists.example*", '
                       'not exists "x-keep") { fileinto "Lists/%04d"; stop; }' % (i, i))
        elif kind == 3:
            out.append('if anyof (size :over 20M, envelope :localpart :is "from" '
                       '"noreply-%04d") { addflag "\\\\Seen"; fileinto "Trash"; }' % i)
        else:
            out.append('if header :is "x-project" "p%04d" '
                       '{ set "p" "%04d"; fileinto :copy "Projects/${p}"; }' % (i, i))
    out.append('if exists "subject" { fileinto :create "Filtered"; stop; }')
    return "\n".join(out) + "\n"


def filtered(tern):
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(tern.data, "tern.db"), uri=True)
    try:
        return con.execute("SELECT count(*) FROM mailbox_entries e JOIN mailboxes m "
                           "ON m.id = e.mailbox_id WHERE m.name = 'Filtered'").fetchone()[0]
    finally:
        con.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--runs", type=int, default=5, help="measurements per case (median)")
    ap.add_argument("--rules", type=int, default=100)
    ap.add_argument("--tern", default=None)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--tern-greet-delay", type=int, default=None,
                    help="[smtp] greet_delay_ms (default: tern's own, 250 ms with the greet pass)")
    args = ap.parse_args()
    # smtp_bench.load() reads these
    args.messages, args.body = 0, "text"

    tern_bin = args.tern or bl.find_tern()
    if not tern_bin:
        bl.log("tern binary not found (build it first)")
        return 1
    script = bench_script(args.rules)
    tern = bl.Tern(tern_bin, ("smtp",), keep=args.keep, greet_delay_ms=args.tern_greet_delay)
    results = {"none": [], "script": []}
    accepted_with_script = 0
    try:
        tern.setup_account()
        path = os.path.join(tern.dir, "bench.sieve")
        with open(path, "w") as f:
            f.write(script)
        tern.cli("sieve", "put", bl.BENCH_USER, "bench", path)
        tern.cli("sieve", "activate", bl.BENCH_USER, "--none")
        tern.start()
        shape = smtp_bench.PER_MESSAGE
        smtp_bench.warmup(tern.ports["smtp"], args.sessions, args.size, "warmup", shape)
        for run in range(args.runs):
            # Which case goes first alternates: the second of a pair meets
            # the checkpoint of the first one's writes.
            for case in (("none", "script") if run % 2 == 0 else ("script", "none")):
                if case == "script":
                    tern.cli("sieve", "activate", bl.BENCH_USER, "bench")
                else:
                    tern.cli("sieve", "activate", bl.BENCH_USER, "--none")
                r = smtp_bench.load(tern.ports["smtp"], args.sessions, args.size, args,
                                    "tern-" + case, shape)
                results[case].append(r["msgs_per_s"])
                if case == "script":
                    accepted_with_script += r["accepted"]
                bl.log("  run %d %-6s %7.0f msg/s  p50 %.2f ms  p99 %.2f ms  "
                       "(%d accepted, %d failed)" % (run + 1, case, r["msgs_per_s"],
                                                     r["lat_p50_ms"], r["lat_p99_ms"],
                                                     r["accepted"], r["failed"]))
        tern.stop()
        got = filtered(tern)
    finally:
        tern.cleanup()

    none, with_script = bl.median(results["none"]), bl.median(results["script"])
    # The ratio of each run's pair (measured back to back), then their
    # median: a burst of load from elsewhere moves a pair together.
    ratio = bl.median([s / n for n, s in zip(results["none"], results["script"]) if n])
    print("Sieve at delivery: %d B messages, %d sessions, a new connection per message, "
          "no pipelining; medians of %d runs of %.0f s" % (args.size, args.sessions, args.runs,
                                                          args.seconds))
    print("script: %d rules, %d bytes" % (args.rules, len(script)))
    print("%-22s %10s" % ("case", "msg/s"))
    print("%-22s %10.0f" % ("no script", none))
    print("%-22s %10.0f" % ("script active", with_script))
    print("ratio script / none: %.2f, the median of the runs' pairs (bar: >= 0.80)" % ratio)
    if got != accepted_with_script:
        print("NOT VALID: %d messages accepted with the script active, %d filed by it"
              % (accepted_with_script, got))
        return 1
    print("every one of the %d messages accepted with the script active was filed by it" % got)
    return 0 if ratio >= 0.8 else 2


if __name__ == "__main__":
    sys.exit(main())
