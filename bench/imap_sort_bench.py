#!/usr/bin/env python3
"""SELECT/SORT/THREAD benchmark: tern vs a private Dovecot on the same
--count (100,000) message INBOX.

Issue 15's target: SORT (ARRIVAL, DATE, FROM, SUBJECT) and THREAD=REFERENCES
on 100k messages each < 100 ms; ESORT PARTIAL 1:50 (a webmail's first page)
< 20 ms. Both servers get imap_bench.py's mailbox
(the same generator, the same fill and index wait: tern over SMTP, then
its background indexer; Dovecot from Maildirs, its index built by a first
SELECT). One connection per server, logged in and INBOX selected; each
command is sent once untimed (Dovecot builds its sort cache then; tern
has its sort records from the indexer), then --runs times, timed from the
send to the tagged OK with the whole response read. The table shows
medians (and the first, untimed run). Servers alternate per command.
A command a server refuses (Dovecot 2.3 may not take RETURN (PARTIAL))
is shown as n/a with its reply; the ratio is then against that server's
CLOSEST row (plain SORT (DATE)), marked with *.

Benchmarks only: never part of the test suite or CI. See bench/README.md.
"""

import argparse
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402
import imap_bench as ib  # noqa: E402

COMMANDS = [
    # issue 15: SELECT of a 100k-message mailbox <= 2 ms (again and again on
    # one connection: tern's view cache, Dovecot's index)
    ("SELECT", "SELECT INBOX"),
    ("SORT ARRIVAL", "UID SORT (ARRIVAL) UTF-8 ALL"),
    ("SORT DATE", "UID SORT (DATE) UTF-8 ALL"),
    ("SORT FROM", "UID SORT (FROM) UTF-8 ALL"),
    ("SORT SUBJECT", "UID SORT (SUBJECT) UTF-8 ALL"),
    ("SORT REVERSE DATE", "UID SORT (REVERSE DATE) UTF-8 ALL"),
    ("SORT DISPLAYFROM", "UID SORT (DISPLAYFROM) UTF-8 ALL"),
    ("ESORT MIN MAX COUNT", "UID SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 ALL"),
    # a webmail's first page (RFC 9394 PARTIAL): only 50 of the order
    ("ESORT PARTIAL 1:50 DATE", "UID SORT RETURN (PARTIAL 1:50) (DATE) UTF-8 ALL"),
    ("ESORT PARTIAL 1:50 REV ARR",
     "UID SORT RETURN (PARTIAL 1:50) (REVERSE ARRIVAL) UTF-8 ALL"),
    ("THREAD REFERENCES", "UID THREAD REFERENCES UTF-8 ALL"),
    ("THREAD ORDEREDSUBJECT", "UID THREAD ORDEREDSUBJECT UTF-8 ALL"),
]


# a row whose command a server may refuse -> the row to compare with then
CLOSEST = {
    "ESORT PARTIAL 1:50 DATE": "SORT DATE",
    "ESORT PARTIAL 1:50 REV ARR": "SORT DATE",
}


class Refused(Exception):
    """The server answered NO or BAD (not a failure of the bench)."""


class Client:
    """A plain IMAP connection: one command at a time, the reply read
    whole (no literals come back from SORT, THREAD or SELECT)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=600)
        self.buf = bytearray()
        self.n = 0
        self.read_until(b"\r\n")

    def read_until(self, end):
        """Up to and including end; the buffer is searched only where new
        bytes came in (a reply of 100,000 numbers is one line)."""
        start = 0
        while True:
            i = self.buf.find(end, start)
            if i >= 0:
                break
            start = max(0, len(self.buf) - len(end) + 1)
            c = self.sock.recv(1 << 20)
            if not c:
                raise ConnectionError("closed")
            self.buf += c
        i += len(end)
        out = bytes(self.buf[:i])
        del self.buf[:i]
        return out

    def cmd(self, text):
        self.n += 1
        tag = b"t%d" % self.n
        self.sock.sendall(tag + b" " + text.encode() + b"\r\n")
        data = b""
        while True:
            ln = self.read_until(b"\r\n")
            data += ln
            if ln.startswith(tag + b" "):
                if not ln.startswith(tag + b" OK"):
                    raise Refused(ln[len(tag) + 1:].decode(errors="replace").strip())
                return data

    def timed(self, text):
        t0 = time.perf_counter()
        data = self.cmd(text)
        return (time.perf_counter() - t0) * 1000.0, data


def connect(port, first_select):
    """Logged in, INBOX selected; first_select[0] gets how long that first
    SELECT after the server's start took (tern: no view cache yet)."""
    c = Client(port)
    c.cmd('LOGIN "%s" "%s"' % (ib.BIG_USER, bl.BENCH_PASS))
    ms, data = c.timed("SELECT INBOX")
    first_select.append(ms)
    m = re.search(rb"\* (\d+) EXISTS", data)
    return c, int(m.group(1)) if m else 0


def cpu_ms(pids):
    """CPU time (user + system) of these processes so far, in ms."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])
    return total * 1000.0 / tick


def server_pids(name, inst):
    """The processes that work for our one connection: tern itself; for
    Dovecot its imap processes (one per connection)."""
    if name == "tern":
        return [inst.proc.pid]
    out = []
    for pid in bl.descendants(inst.proc.pid):
        try:
            with open("/proc/%d/comm" % pid) as f:
                if f.read().strip() == "imap":
                    out.append(pid)
        except OSError:
            pass
    return out


def summary(data):
    """How many numbers the untagged reply carries (a sanity check)."""
    m = re.search(rb"\* (\d+) EXISTS", data)
    if m:
        return "%s EXISTS" % m.group(1).decode()
    line = data.split(b"\r\n", 1)[0]
    if line.startswith(b"* ESEARCH"):
        return line[:80].decode(errors="replace")
    return "%d numbers" % len(re.findall(rb"\d+", line))


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=100000, help="messages in the INBOX")
    ap.add_argument("--runs", type=int, default=7, help="timed runs per command and server")
    ap.add_argument("--servers", default="tern,dovecot")
    ap.add_argument("--tern", default=None)
    ap.add_argument("--index-wait", type=int, default=1200,
                    help="seconds to wait for tern's background index after the fill")
    ap.add_argument("--fill-sessions", type=int, default=8)
    ap.add_argument("--cache", default=None, metavar="DIR",
                    help="as imap_bench.py's --cache (the same data sets)")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--only", default=None, metavar="LABELS",
                    help="comma-separated command labels to run (default: all)")
    a = ap.parse_args()
    # what imap_bench.py's helpers read: the big INBOX only
    a.accounts, a.mix_msgs, a.word, a.rare_every = 0, 0, "quokkaberry", 100
    a.index_timeout = 3600
    return a


def main():
    args = parse_args()
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    tern_bin = args.tern or bl.find_tern()
    notes = []
    hashed = ib.password_hash()
    imap_load = bl.bin_path("imap_load")
    commands = COMMANDS
    if args.only:
        want = [w.strip() for w in args.only.split(",")]
        commands = [c for c in COMMANDS if c[0] in want]
    inst, conns, res, first_select, refused = {}, {}, {}, {}, {}
    try:
        if "tern" in servers:
            bl.log("tern: filling %d messages" % args.count)
            t = ib.tern_setup(args, tern_bin, hashed, notes)
            inst["tern"] = t
            ib.tern_wait_index(t, args, notes, imap_load)
            conns["tern"] = connect(t.ports["imap"], first_select.setdefault("tern", []))
        if "dovecot" in servers:
            bl.log("dovecot: filling %d messages" % args.count)
            dv = ib.dovecot_setup(args, hashed, imap_load)
            inst["dovecot"] = dv
            conns["dovecot"] = connect(dv.port, first_select.setdefault("dovecot", []))
        for name, (c, exists) in conns.items():
            bl.log("%s: INBOX has %d messages" % (name, exists))
        for label, cmd in commands:
            ok = {}
            for name, (c, _) in conns.items():
                try:
                    first, data = c.timed(cmd)
                except Refused as e:
                    if name == "tern":
                        raise
                    res.setdefault(label, {})
                    refused.setdefault(label, {})[name] = str(e)
                    continue
                ok[name] = c
                res.setdefault(label, {})[name] = {"first": first, "runs": [],
                                                   "what": summary(data)}
            for _ in range(args.runs):
                for name, (c, _) in conns.items():
                    if name not in ok:
                        continue
                    pids = server_pids(name, inst[name])
                    cpu0 = cpu_ms(pids)
                    ms, _ = c.timed(cmd)
                    res[label][name]["runs"].append(ms)
                    res[label][name].setdefault("cpu", 0.0)
                    res[label][name]["cpu"] += cpu_ms(pids) - cpu0
            bl.log("  %s: %s" % (label, ", ".join(
                "%s %.1f ms" % (n, bl.median(r["runs"])) for n, r in res[label].items())))
    finally:
        for c, _ in conns.values():
            try:
                c.sock.close()
            except OSError:
                pass
        for i in inst.values():
            try:
                i.cleanup()
            except Exception as e:
                bl.log("cleanup: %s" % e)
    names = [n for n in ("tern", "dovecot") if n in conns]
    print()
    print("SELECT/SORT/THREAD on a %d-message INBOX, medians of %d runs (ms; first untimed run in "
          "brackets)" % (args.count, args.runs))
    print("%-28s" % "command" + "".join("%22s" % n for n in names) +
          ("%10s" % "ratio" if len(names) == 2 else ""))
    for label, _ in commands:
        if label not in res:
            continue
        row = res.get(label, {})
        cells = []
        for n in names:
            r = row.get(n)
            cells.append("%10.1f (%7.1f)" % (bl.median(r["runs"]), r["first"]) if r else "n/a")
        line = "%-28s" % label + "".join("%22s" % c for c in cells)
        if len(names) == 2 and all(n in row for n in names):
            line += "%9.2fx" % (bl.median(row["dovecot"]["runs"]) /
                                max(bl.median(row["tern"]["runs"]), 1e-9))
        elif len(names) == 2 and "tern" in row and "dovecot" in res.get(CLOSEST.get(label), {}):
            line += "%9.2fx*" % (bl.median(res[CLOSEST[label]]["dovecot"]["runs"]) /
                                 max(bl.median(row["tern"]["runs"]), 1e-9))
        print(line)
    print()
    print("server CPU time per command, mean of the timed runs (ms; the machine is shared, "
          "wall-clock medians above include waiting for a core)")
    for label, _ in commands:
        if label not in res:
            continue
        row = res.get(label, {})
        print("%-28s" % label + "".join(
            "%22s" % ("%.1f" % (row[n]["cpu"] / len(row[n]["runs"])) if n in row else "n/a")
            for n in names))
    for label, _ in commands:
        for n in names:
            if label in res and n in res[label]:
                print("  %s %s: %s" % (label, n, res[label][n]["what"]))
    for label, why in refused.items():
        for n, text in why.items():
            print("  %s %s: n/a, refused: %s%s" % (
                label, n, text, "; * = ratio against its %s" % CLOSEST[label]
                if label in CLOSEST else ""))
    print("the first SELECT INBOX after the server's start (untimed above): " + ", ".join(
        "%s %.1f ms" % (n, first_select[n][0]) for n in names if first_select.get(n)))
    for n in notes:
        print("note: %s" % n)


if __name__ == "__main__":
    main()
