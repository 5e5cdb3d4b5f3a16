#!/usr/bin/env python3
"""IMAP benchmark: tern vs a private Dovecot (dovecot-imapd), side by side.

What the IMAP issue asks for, with the same client (bench/imap_load.c)
against both servers in the same run:

  mix      N concurrent clients: LOGIN, SELECT INBOX, then a mix of FETCH
           (flags; header fields), STORE +/-FLAGS, UID SEARCH (flag and
           header keys), APPEND, STORE \\Deleted + EXPUNGE, NOOP for a fixed
           time; completed tagged commands per second.
  latency  on a --count (100,000) message INBOX: SELECT, UID FETCH 1:*
           (FLAGS) (the whole response read) and UID SEARCH BODY <word>,
           each on a fresh connection.
  idle     C connections (1,000 and 10,000): LOGIN, SELECT, IDLE; the
           server's memory (VmRSS, and Pss, summed over all its processes)
           before and after, per connection. Dovecot twice: as configured
           by default (one imap process per connection) and with IMAP
           hibernation (imap_hibernate_timeout = 1s).

Both servers hold the same messages (2-4 KiB of text from a fixed
vocabulary; one in --rare-every carries the --word searched for):

  tern:    delivered over SMTP (smtplib, parallel sessions), then the
           script waits until tern's background IMAP/FTS index has caught up;
  Dovecot: Maildirs written directly (LF line ends, S=/W= in the names);
           its first SELECT builds its index (timed, not counted).

Both are filled once per run and reused by every measurement (the idle
measurements restart the servers on the same data). Measurements are
interleaved (tern, dovecot, tern, ...) and the table shows medians.

Passwords: both servers check the same sha512-crypt hash (rounds=1000,
~1 ms): tern's default yescrypt costs ~75 ms per LOGIN here, which would
make 10,000 logins take minutes on both servers and measure the hash, not
IMAP. tern's accounts are created with `tern user add`, then their hash is
replaced in tern.db while tern is stopped; Dovecot gets {CRYPT}<hash>.

Benchmarks only: never part of the test suite or CI. See bench/README.md.
"""

import argparse
import datetime
import json
import multiprocessing
import os
import random
import signal
import smtplib
import sqlite3
import subprocess
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

BIG_USER = "big@" + bl.BENCH_DOMAIN
MIX_USER = "user%d@" + bl.BENCH_DOMAIN
NOFILE = 65536  # capped at the hard limit when it cannot be raised

# Keep in sync with imap_load.c (the mix searches for these).
FROM_NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
SUBJECT_WORDS = ["report", "meeting", "budget", "invoice", "travel", "review", "release", "lunch"]

COMMON = """the of and to a in is it you that he was for on are with as his they be at one
have this from or had by hot but some what there we can out other were all your when up use
word how said an each she which do their time if will way about many then them would write
like so these her long make thing see him two has look more day could go come did my sound no
most number who over know water than call first people may down side been now find any new
work part take get place made live where after back little only round man year came show
every good me give our under name very through just form much great think say help low line
before turn cause same mean differ move right boy old too does tell sentence set three want
air well also play small end put home read hand port large spell add even land here must big
high such follow act why ask men change went light kind off need house picture try us again
animal point mother world near build self earth father head stand own page should country
found answer school grow study still learn plant cover food sun four thought let keep eye
never last door between city tree cross since hard start might story saw far sea draw left
late run while press close night real life few stop open seem together next white children
begin got walk example ease paper often always music those both mark book letter until mile
river car feet care second group carry took rain eat room friend began idea fish mountain
north once base hear horse cut sure watch color face wood main enough plain girl usual young
ready above ever red list though feel talk bird soon body dog family direct pose leave song
measure state product black short numeral class wind question happen complete ship area half
rock order fire south problem piece told knew pass farm top whole king size heard best hour
better true during hundred am remember step early hold west ground interest reach fast five
sing listen six table travel less morning ten simple several vowel toward war lay against
pattern slow center love person money serve appear road map science rule govern pull cold
notice voice fall power town fine certain fly unit lead cry dark machine note wait plan
figure star box noun field rest correct able pound done beauty drive stood contain front
teach week final gave green oh quick develop sleep warm free minute strong special mind
behind clear tail produce fact street inch lot nothing course stay wheel full force blue
object decide surface deep moon island foot yet busy test record boat common gold possible
plane age dry wonder laugh thousand ago ran check game shape yes miss brought heat snow bed
bring sit perhaps fill east weight language among schedule draft please attached numbers
quarter team update customer server backup monday friday office thanks regards invoice
meeting budget report review release lunch deadline contract proposal agenda""".split()
SYLLABLES = ["ka", "ro", "mi", "ten", "sul", "bar", "el", "dor", "vi", "na", "pel", "gro",
             "tis", "lu", "mer", "ost", "fa", "ril", "son", "cha", "wen", "dri", "ap", "ul"]


def vocabulary(word):
    """~1,500 words: common English words and made-up ones (trigram-wise a
    realistic mix); none contains the rare search word."""
    rng = random.Random(1)
    made = set()
    while len(made) < 1000:
        made.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    vocab = sorted(set(COMMON) | made)
    vocab = [w for w in vocab if word not in w]
    return vocab


NAMES_FULL = {n: n.capitalize() + " " + ln for n, ln in zip(
    FROM_NAMES, ["Archer", "Brown", "Cooper", "Dalton", "Evans", "Foster", "Gray", "Hughes"])}

GEN = {}  # per process: vocabulary and parameters, set by gen_init()


def gen_init(word, rare_every):
    # a pool worker must die at once on SIGTERM (Pool.terminate()), not
    # raise SystemExit somewhere inside multiprocessing's locks (benchlib's
    # handler): that left a worker hanging on a futex and the run with it
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    GEN["vocab"] = vocabulary(word)
    GEN["word"] = word
    GEN["rare_every"] = rare_every


def make_message(acct, i, rcpt):
    """Message i of account acct (acct -1: the big mailbox), CRLF line ends.
    Deterministic: both servers get the same bytes (tern adds Received:)."""
    vocab, word = GEN["vocab"], GEN["word"]
    rng = random.Random(acct * 1000003 + i)
    name = rng.choice(FROM_NAMES)
    day = 1 + (i * 7) % 28
    month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
             "Dec"][(i // 28) % 12]
    subject = " ".join(rng.sample(vocab, 2) + [rng.choice(SUBJECT_WORDS)] + rng.sample(vocab, 2))
    hdr = ("From: %s <%s@example.org>\r\nTo: <%s>\r\nSubject: %s\r\n"
           "Date: %s, %d %s %d %02d:%02d:%02d +0000\r\n"
           "Message-ID: <%d.%d@gen.bench.example>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain; charset=us-ascii\r\n\r\n" % (
               NAMES_FULL[name], name, rcpt, subject,
               ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][i % 7], day, month,
               2023 + (i // 336) % 2, rng.randrange(24), rng.randrange(60), rng.randrange(60),
               i, acct))
    target = rng.randint(2048, 4096) - len(hdr)
    words = rng.choices(vocab, k=target // 5 + 8)
    if GEN["rare_every"] and i % GEN["rare_every"] == GEN["rare_every"] // 2:
        words[rng.randrange(len(words))] = word
    lines, line, n = [], [], 0
    total = 0
    for w in words:
        if n + len(w) + 1 > 72:
            s = " ".join(line)
            lines.append(s)
            total += len(s) + 2
            if total >= target:
                break
            line, n = [], 0
            if rng.random() < 0.08:
                lines.append("")
                total += 2
        line.append(w)
        n += len(w) + 1
    if line and total < target:
        lines.append(" ".join(line))
    if word in words and word not in " ".join(lines):
        lines.append(word)  # the rare word was in the cut-off tail
    return (hdr + "\r\n".join(lines) + "\r\n").encode()


def mailbox_plan(args):
    """[(acct, address, count)]: the big INBOX, then the mix accounts."""
    plan = [(-1, BIG_USER, args.count)]
    for k in range(args.accounts):
        plan.append((k, MIX_USER % k, args.mix_msgs))
    return plan


def password_hash():
    """sha512-crypt, 1000 rounds: a cheap hash both servers check alike."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import crypt
            return crypt.crypt(bl.BENCH_PASS, "$6$rounds=1000$imapbenchsalt")
        except ImportError:
            pass
    out = subprocess.run(["openssl", "passwd", "-6", "-salt", "imapbenchsalt", bl.BENCH_PASS],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


# Bump when make_message() or the mailbox layout changes: it is part of the
# cache key.
GEN_VERSION = 1


def cache_path(args, what):
    """Where --cache keeps a filled data set for these parameters, or None."""
    if not args.cache:
        return None
    key = "imap-v%d-n%d-a%dx%d-r%d-%s" % (GEN_VERSION, args.count, args.accounts,
                                          args.mix_msgs, args.rare_every, args.word)
    return os.path.join(os.path.abspath(args.cache), key, what)


def cache_save(src, dst):
    t0 = time.monotonic()
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    tmp = dst + ".tmp"
    bl.remove_tree(tmp)
    subprocess.run(["cp", "-a", src, tmp], check=True)
    bl.remove_tree(dst)
    os.rename(tmp, dst)
    bl.log("  saved %s in %.1fs" % (dst, time.monotonic() - t0))


# ---------------------------------------------------------------- tern

TERN_EXTRA = """[limits]
max_connections = 30000
max_connections_per_ip = 30000
"""


def smtp_worker(job):
    """Deliver a list of (acct, i, rcpt) over one SMTP session."""
    port, items = job
    n = 0
    s = smtplib.SMTP("127.0.0.1", port, timeout=120)
    try:
        s.ehlo("fill.bench.example")
        for acct, i, rcpt in items:
            s.sendmail("fill@bench.example", [rcpt], make_message(acct, i, rcpt))
            n += 1
    finally:
        try:
            s.quit()
        except Exception:
            pass
    return n


def tern_db_counts(tern):
    """(messages, indexed) from tern.db, read-only; indexed None if the
    schema has no imap_message_info."""
    db = os.path.join(tern.data, "tern.db")
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
    try:
        msgs = con.execute("SELECT count(*) FROM messages").fetchone()[0]
        try:
            idx = con.execute("SELECT count(*) FROM imap_message_info").fetchone()[0]
        except sqlite3.Error:
            idx = None
        return msgs, idx
    finally:
        con.close()


def tern_setup(args, tern_bin, hashed, notes):
    t = bl.Tern(tern_bin, ("smtp", "imap"), keep=args.keep, count_fsyncs=False,
                extra_config=TERN_EXTRA, nofile=NOFILE)
    t.cached = False
    cached = cache_path(args, "tern-data")
    if cached and os.path.exists(os.path.join(cached, "tern.db")):
        try:
            subprocess.run(["cp", "-a", cached, t.data], check=True)
            t.start()
            t.fill_s, t.fill_done, t.cached = None, time.monotonic(), True
            bl.log("  tern: data dir from the cache %s" % cached)
            return t
        except Exception as e:
            bl.log("  tern: the cached data dir did not work (%s): filling anew" % e)
            t.cleanup()
            t = bl.Tern(tern_bin, ("smtp", "imap"), keep=args.keep, count_fsyncs=False,
                        extra_config=TERN_EXTRA, nofile=NOFILE)
            t.cached = False
    try:
        t0 = time.monotonic()
        t.setup_account()
        plan = mailbox_plan(args)
        for _, addr, _ in plan:
            p = t.cli("user", "add", addr, "--password-stdin", stdin=bl.BENCH_PASS + "\n",
                      check=False)
            if p.returncode != 0 and "exist" not in (p.stdout + p.stderr).lower():
                raise RuntimeError("tern user add %s: %s%s" % (addr, p.stdout, p.stderr))
        # the same cheap hash as Dovecot's (see the module docstring)
        try:
            con = sqlite3.connect(os.path.join(t.data, "tern.db"), timeout=30)
            with con:
                n = con.execute("UPDATE accounts SET password_hash = ? WHERE address LIKE ?",
                                (hashed, "%@" + bl.BENCH_DOMAIN)).rowcount
            con.close()
            if n < len(plan):
                raise sqlite3.Error("%d of %d accounts updated" % (n, len(plan)))
            t.hash = hashed
        except sqlite3.Error as e:
            notes.append("tern: could not set the sha512-crypt hash (%s): its logins check "
                         "yescrypt" % e)
            t.hash = None
        t.start()
        bl.log("  tern: %d accounts in %.1fs" % (len(plan), time.monotonic() - t0))
        t0 = time.monotonic()
        items = [(acct, i, addr) for acct, addr, count in plan for i in range(count)]
        nsess = args.fill_sessions
        jobs = [(t.ports["smtp"], items[k::nsess]) for k in range(nsess)]
        with multiprocessing.Pool(nsess, initializer=gen_init,
                                  initargs=(args.word, args.rare_every)) as pool:
            done = sum(pool.map(smtp_worker, jobs))
            pool.close()
            pool.join()
        if done != len(items):
            raise RuntimeError("SMTP fill: %d of %d delivered" % (done, len(items)))
        t.fill_s = time.monotonic() - t0
        t.fill_done = time.monotonic()
        bl.log("  tern: %d messages delivered over SMTP in %.1fs (%.0f msg/s)" % (
            done, t.fill_s, done / t.fill_s))
        return t
    except BaseException:
        t.cleanup()
        raise


def tern_wait_index(t, args, notes, imap_load):
    """tern builds its IMAP index (ENVELOPE, BODYSTRUCTURE, FTS5) in its
    store writer's quiet time, and a SEARCH that needs it indexes the
    mailbox first. Make it complete before measuring, so that the
    measurements see the steady state, not the catch-up: wait up to
    --index-wait seconds for the background indexer, then SEARCH each
    mailbox once (timed)."""
    last = None
    t.index_s = t.ondemand_s = None
    msgs, idx = tern_db_counts(t)
    t.indexed_bg = idx
    while idx is not None and idx < msgs:
        waited = time.monotonic() - t.fill_done
        if waited > args.index_wait:
            break
        if last is None or time.monotonic() - last > 30:
            bl.log("  tern: IMAP index %d of %d messages" % (idx, msgs))
            last = time.monotonic()
        if t.proc.poll() is not None:
            raise RuntimeError("tern exited (status %s): %s" % (
                t.proc.returncode, t.stderr_text()[-500:]))
        time.sleep(1)
        msgs, idx = tern_db_counts(t)
    if idx is None:
        notes.append("tern: no imap_message_info table: did not wait for its index")
        return
    t.indexed_bg = idx
    if idx >= msgs:
        t.index_s = time.monotonic() - t.fill_done
        bl.log("  tern: index complete %.1fs after the last delivery" % t.index_s)
    else:
        bl.log("  tern: background index at %d of %d messages after %ds: a SEARCH in each "
               "mailbox indexes the rest" % (idx, msgs, args.index_wait))
        t0 = time.monotonic()
        port = t.ports["imap"]
        cmds = [[imap_load, "latency", "-u", BIG_USER, "-w", args.word]]
        if args.accounts:
            cmds.append([imap_load, "latency", "-u", MIX_USER, "-U", str(args.accounts),
                         "-W", str(args.accounts)])
        for cmd in cmds:
            cmd += ["-p", bl.BENCH_PASS, "-o", "b", "-r", "0", "127.0.0.1:%d" % port]
            r = bl.run_json(cmd, timeout=args.index_timeout)
            if r["_rc"] != 0:
                raise RuntimeError("indexing SEARCH: %s" % r["_stderr"][-300:])
        t.ondemand_s = time.monotonic() - t0
        msgs, idx = tern_db_counts(t)
        bl.log("  tern: SEARCHes indexed %d more messages in %.1fs (%d of %d)" % (
            idx - t.indexed_bg, t.ondemand_s, idx, msgs))
        if idx < msgs:
            notes.append("tern: index incomplete after a SEARCH in every mailbox (%d of %d)"
                         % (idx, msgs))
    cached = cache_path(args, "tern-data")
    if cached and not t.cached:
        t.stop()  # a consistent copy: tern.db checkpointed, no writer
        cache_save(t.data, cached)
        t.start()


def tern_restart(t):
    t.stop()
    t.start()


# ---------------------------------------------------------------- dovecot

# Dovecot tuned for many connections (as its documentation says for large
# installations): login processes in high-performance mode, enough imap
# processes for 10,000 connections, no per-user+IP connection cap.
DOVECOT_EXTRA = """
default_process_limit = 12000
default_client_limit = 12000
default_vsz_limit = 1G
service imap-login {
  service_count = 0
  process_min_avail = 2
}
service imap {
  process_limit = 12000
}
protocol imap {
  mail_max_userip_connections = 100000
}
"""

# Every Dovecot user runs as a uid of its own (DOVECOT_UID0 + 1 + account,
# no passwd entry needed): Dovecot's IDLE and hibernation need an inotify
# instance per imap process, and the kernel allows 128 per uid by default
# (fs.inotify.max_user_instances; beyond it Dovecot logs a warning, polls
# instead, and such a process cannot hibernate). With its own uid per
# account and at most ~100 connections per account (see --accounts), no
# machine-wide setting has to change.
DOVECOT_UID0 = 200000

# IMAP hibernation: an IDLE session's state moves to the single
# imap-hibernate process and its imap process exits.
DOVECOT_HIBERNATE = """
imap_hibernate_timeout = 1s
service imap {
  unix_listener imap-master {
    mode = 0666
  }
}
service imap-hibernate {
  unix_listener imap-hibernate {
    mode = 0666
  }
}
"""


def maildir_worker(job):
    md, acct, rcpt, start, stop = job
    cur = os.path.join(md, "cur")
    for i in range(start, stop):
        m = make_message(acct, i, rcpt)
        lf = m.replace(b"\r\n", b"\n")
        name = "%d.M%dP%d.bench,S=%d,W=%d:2," % (1700000000 + i, i, acct + 2, len(lf), len(m))
        with open(os.path.join(cur, name), "wb") as f:
            f.write(lf)
    return stop - start


def dovecot_setup(args, hashed, imap_load):
    users = [(addr, "{CRYPT}" + hashed, DOVECOT_UID0 + acct + 1)
             for acct, addr, _ in mailbox_plan(args)]
    dv = bl.Dovecot(keep=args.keep, protocols=("imap",), users=users, extra_conf=DOVECOT_EXTRA,
                    nofile=NOFILE)
    cached = cache_path(args, "dovecot-mail")
    try:
        t0 = time.monotonic()
        if cached and os.path.isdir(cached):
            os.rmdir(dv.mail)
            subprocess.run(["cp", "-a", cached, dv.mail], check=True)
            bl.log("  dovecot: Maildirs (and Dovecot's index) from the cache %s in %.1fs" % (
                cached, time.monotonic() - t0))
            dv.start()
            dv.index_s = None
            return dv
        jobs = []
        for acct, addr, count in mailbox_plan(args):
            md = dv.maildir_of(addr)
            for sub in ("cur", "new", "tmp"):
                os.makedirs(os.path.join(md, sub), exist_ok=True)
            for s in range(0, count, 5000):
                jobs.append((md, acct, addr, s, min(count, s + 5000)))
        with multiprocessing.Pool(2, initializer=gen_init,
                                  initargs=(args.word, args.rare_every)) as pool:
            n = sum(pool.map(maildir_worker, jobs))
            pool.close()
            pool.join()
        for addr, uid in dv.user_uids.items():
            subprocess.run(["chown", "-R", "%d:%d" % (uid, dv.gid), dv.maildir_of(addr)],
                           check=True)
        bl.log("  dovecot: %d messages written to Maildirs in %.1fs" % (n, time.monotonic() - t0))
        dv.start()
        # the first SELECT builds Dovecot's index (dovecot.index*, uidlist)
        t0 = time.monotonic()
        latency(imap_load, dv.port, BIG_USER, args.word, "s", warm=True)
        dv.index_s = time.monotonic() - t0
        bl.log("  dovecot: first SELECT of the big INBOX (index build) %.1fs" % dv.index_s)
        if cached:
            cache_save(dv.mail, cached)
        return dv
    except BaseException:
        dv.cleanup()
        raise


def dovecot_restart(dv, hibernate):
    dv.stop()
    dv.write_config(DOVECOT_EXTRA + (DOVECOT_HIBERNATE if hibernate else ""))
    dv.start()


# ---------------------------------------------------------------- measurements

def latency(imap_load, port, user, word, ops="sfb", warm=False):
    cmd = [imap_load, "latency", "-u", user, "-p", bl.BENCH_PASS, "-w", word, "-o", ops,
           "-r", "0" if warm else "1", "-W", "1" if warm else "0", "127.0.0.1:%d" % port]
    r = bl.run_json(cmd, timeout=3600)
    if r["_rc"] != 0:
        raise RuntimeError("imap_load latency: %s" % r["_stderr"][-300:])
    return r


def mix(imap_load, port, args, clients, seconds, label):
    cmd = [imap_load, "mix", "-u", MIX_USER, "-U", str(args.accounts), "-p", bl.BENCH_PASS,
           "-c", str(clients), "-t", str(seconds), "-b", str(args.mix_msgs), "-L", label,
           "127.0.0.1:%d" % port]
    r = bl.run_json(cmd, timeout=seconds + 600)
    if r.get("commands") and not r.get("search_hits"):
        bl.log("  %s: no UID SEARCH found anything: check the mailboxes" % label)
    if r.get("failed") or r.get("lost") or r.get("setup_failed"):
        bl.log("  %s: %d failed, %d lost, %d setup failures; first: %s" % (
            label, r.get("failed", 0), r.get("lost", 0), r.get("setup_failed", 0),
            r.get("first_error")))
    return r


def count_named(pids, name):
    n = 0
    for pid in pids:
        try:
            with open("/proc/%d/comm" % pid) as f:
                n += f.read().strip() == name
        except OSError:
            pass
    return n


def idle(imap_load, args, srv, inst, conns, hibernate=False):
    """Memory per idle IDLE connection: (after - before) / idling."""
    port = inst.ports["imap"]
    if srv == "tern":
        tern_restart(inst)
        pids = lambda: [inst.proc.pid]  # noqa: E731
    else:
        dovecot_restart(inst, hibernate)
        pids = inst.pids
    # one LOGIN + SELECT per account first, one connection at a time, so
    # that one-time allocations (caches, per-account and per-mailbox state)
    # are in the baseline and at most one session's freed memory is
    warm = [imap_load, "latency", "-u", MIX_USER, "-U", str(args.accounts), "-p", bl.BENCH_PASS,
            "-o", "s", "-r", "0", "-W", str(args.accounts), "127.0.0.1:%d" % port]
    r = bl.run_json(warm, timeout=600)
    if r["_rc"] != 0:
        raise RuntimeError("imap_load latency (warm-up): %s" % r["_stderr"][-300:])
    time.sleep(1.5)
    before = bl.proc_memory(pids())
    cmd = [imap_load, "idle", "-u", MIX_USER, "-U", str(args.accounts), "-p", bl.BENCH_PASS,
           "-c", str(conns), "-P", "100", "-T", "1200", "-L", srv,
           "-S", "4" if conns >= 5000 else "0",
           "127.0.0.1:%d" % port]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, preexec_fn=bl.nofile_preexec(NOFILE))
    try:
        line = p.stdout.readline()
        try:
            ready = json.loads(line)
        except ValueError:
            raise RuntimeError("imap_load idle: %s %s" % (line, p.stderr.read()[-300:]))
        if ready.get("failed"):
            bl.log("  %s idle: %d of %d connections failed; first: %s" % (
                srv, ready["failed"], conns, ready.get("first_error")))
        if hibernate:
            # wait until the imap processes have handed their clients over
            # (or until their number stops falling: a few may fail to
            # hibernate, e.g. at the fd limit of imap-hibernate)
            deadline = time.monotonic() + 60 + conns / 50
            last, same = None, 0
            while time.monotonic() < deadline:
                left = count_named(pids(), "imap")
                if left <= 2 or same >= 5:
                    break
                same = same + 1 if left == last else 0
                last = left
                time.sleep(1)
        time.sleep(2)
        after = bl.proc_memory(pids())
        # a second look: did it settle?
        time.sleep(1)
        after2 = bl.proc_memory(pids())
        p.stdin.write("\n")
        p.stdin.flush()
        out, err = p.communicate(timeout=600)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    final = {}
    if out.strip():
        try:
            final = json.loads(out.strip().splitlines()[-1])
        except ValueError:
            pass
    n = ready.get("idling", 0)
    res = {"connections": conns, "idling": n, "failed": ready.get("failed"),
           "imap_procs_after": after["names"].get("imap", 0),
           "lost_while_idle": final.get("lost_while_idle"), "setup_s": ready.get("setup_s"),
           "before": before, "after": after, "after2": after2,
           "first_error": ready.get("first_error") or final.get("first_error")}
    if n:
        res["rss_kib"] = (after["rss"] - before["rss"]) / n
        res["pss_kib"] = (after["pss"] - before["pss"]) / n
        res["rss2_kib"] = (after2["rss"] - before["rss"]) / n
    bl.log("  %s idle %d: %d idling (setup %.1fs), %d processes, VmRSS %+.0f MiB = %.1f KiB/conn, "
           "Pss %.1f KiB/conn" % (
               srv, conns, n, ready.get("setup_s") or 0, after["procs"],
               (after["rss"] - before["rss"]) / 1024, res.get("rss_kib") or 0,
               res.get("pss_kib") or 0))
    return res


# ---------------------------------------------------------------- table

def fmt(v, spec):
    return "n/a" if v is None else format(v, spec)


def print_table(rows, args, notes, info, out=sys.stdout):
    print("\nIMAP: tern vs Dovecot (medians; mailbox %d messages, mix %ds x %d run(s), "
          "latency %d run(s))" % (args.count, args.seconds, args.runs, args.latency_runs),
          file=out)
    hdr = ("measurement", "tern", "dovecot", "tern/dovecot", "target", "met")
    table = []
    for r in rows:
        t, d = r.get("tern"), r.get("dovecot")
        ratio = t / d if t is not None and d else None
        met = ""
        if r.get("check") and t is not None and (d is not None or not r.get("needs_d")):
            met = "yes" if r["check"](t, d) else "NO"
        elif r.get("target"):
            met = "n/a"
        table.append((r["name"], fmt(t, r["fmt"]), fmt(d, r["fmt"]), fmt(ratio, ".2f"),
                      r.get("target", ""), met))
    widths = [max(len(h), *(len(x[i]) for x in table)) if table else len(h)
              for i, h in enumerate(hdr)]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w)
                     for i, (h, w) in enumerate(zip(hdr, widths)))
    print(line, file=out)
    print("-" * len(line), file=out)
    for x in table:
        print("  ".join(v.ljust(w) if i == 0 else v.rjust(w)
                        for i, (v, w) in enumerate(zip(x, widths))), file=out)
    print("tern/dovecot: commands/s higher is better; ms and KiB lower is better", file=out)
    for n in info:
        print("info: " + n, file=out)
    for n in notes:
        print("note: " + n, file=out)
    out.flush()


def build_rows(res, args):
    rows = []
    med = bl.median

    def m(srv, key, sub=None):
        rs = res.get(srv, {}).get(key) or []
        vals = [r.get(sub) if sub else r for r in rs]
        return med([v for v in vals if v is not None])

    for n in args.clients:
        key = "mix%d" % n
        rows.append({"name": "mix commands/s, %d clients" % n, "fmt": ".0f",
                     "tern": m("tern", key, "commands_per_s"),
                     "dovecot": m("dovecot", key, "commands_per_s"),
                     "target": ">= 3x dovecot",
                     "check": lambda t, d: t >= 3 * d, "needs_d": True})
        rows.append({"name": "  mix p50 ms, %d clients" % n, "fmt": ".2f",
                     "tern": m("tern", key, "lat_p50_ms"),
                     "dovecot": m("dovecot", key, "lat_p50_ms")})
        rows.append({"name": "  mix p99 ms, %d clients" % n, "fmt": ".2f",
                     "tern": m("tern", key, "lat_p99_ms"),
                     "dovecot": m("dovecot", key, "lat_p99_ms")})
    c = "%dk" % (args.count // 1000) if args.count >= 1000 else str(args.count)
    if "latency" in args.only:
        rows += latency_rows(m, c)
    for n in args.idle:
        rows += idle_rows(m, n, args)
    return rows


def latency_rows(m, c):
    rows = []
    rows.append({"name": "SELECT ms, %s msgs" % c, "fmt": ".1f",
                 "tern": m("tern", "latency", "select_ms_median"),
                 "dovecot": m("dovecot", "latency", "select_ms_median")})
    rows.append({"name": "UID FETCH 1:* (FLAGS) ms, %s" % c, "fmt": ".1f",
                 "tern": m("tern", "latency", "fetch_ms_median"),
                 "dovecot": m("dovecot", "latency", "fetch_ms_median"),
                 "target": "< 150 ms", "check": lambda t, d: t < 150})
    rows.append({"name": "UID SEARCH BODY ms, %s" % c, "fmt": ".1f",
                 "tern": m("tern", "latency", "search_ms_median"),
                 "dovecot": m("dovecot", "latency", "search_ms_median"),
                 "target": "< 100 ms", "check": lambda t, d: t < 100})
    return rows


def idle_rows(m, n, args):
    key = "idle%d" % n
    rows = [{"name": "idle KiB/conn VmRSS, %d conns" % n, "fmt": ".1f",
             "tern": m("tern", key, "rss_kib"), "dovecot": m("dovecot", key, "rss_kib"),
             "target": "<= 8 KiB", "check": lambda t, d: t <= 8},
            {"name": "  same, Pss", "fmt": ".1f",
             "tern": m("tern", key, "pss_kib"), "dovecot": m("dovecot", key, "pss_kib")}]
    if not args.no_hibernate:
        rows += [{"name": "  dovecot hibernating, VmRSS", "fmt": ".1f",
                  "tern": m("tern", key, "rss_kib"), "dovecot": m("dovecot-hib", key, "rss_kib")},
                 {"name": "  dovecot hibernating, Pss", "fmt": ".1f",
                  "tern": m("tern", key, "pss_kib"), "dovecot": m("dovecot-hib", key, "pss_kib")}]
    return rows


# ---------------------------------------------------------------- main

def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=100000, help="messages in the big INBOX")
    ap.add_argument("--clients", default="10,100", help="mix: concurrent clients (list)")
    ap.add_argument("--accounts", type=int, default=0,
                    help="accounts for mix and idle (default: the largest --clients, one per "
                         "client, and at least one per 100 idle connections)")
    ap.add_argument("--mix-msgs", type=int, default=200, help="messages per mix account")
    ap.add_argument("--seconds", type=float, default=10.0, help="mix: duration of a run")
    ap.add_argument("--runs", type=int, default=3, help="mix: runs per cell and server")
    ap.add_argument("--latency-runs", type=int, default=5,
                    help="latency: runs per server (one connection each)")
    ap.add_argument("--idle", default="1000,10000", help="idle: connection counts (list)")
    ap.add_argument("--idle-runs", type=int, default=1, help="idle: runs per count and server")
    ap.add_argument("--dovecot-procs-max", type=int, default=2000,
                    help="idle: measure Dovecot without hibernation (one process per "
                         "connection) only up to this many connections")
    ap.add_argument("--no-hibernate", action="store_true",
                    help="skip the Dovecot-with-hibernation idle measurement")
    ap.add_argument("--word", default="quokkaberry", help="the word SEARCH BODY looks for")
    ap.add_argument("--rare-every", type=int, default=100,
                    help="one message in this many contains --word")
    ap.add_argument("--fill-sessions", type=int, default=8, help="SMTP sessions filling tern")
    ap.add_argument("--index-wait", type=int, default=60,
                    help="seconds to wait for tern's background index after the fill; then a "
                         "SEARCH in each mailbox makes tern index the rest")
    ap.add_argument("--index-timeout", type=int, default=3600,
                    help="time limit for those SEARCHes")
    ap.add_argument("--only", default="mix,latency,idle", help="which measurements")
    ap.add_argument("--servers", default="tern,dovecot")
    ap.add_argument("--tern", default=None)
    ap.add_argument("--cache", default=None, metavar="DIR",
                    help="keep the filled tern data dir and Dovecot Maildirs in DIR and reuse "
                         "them in later runs with the same parameters (~1.5 GB for 100k)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    a.clients = [int(x) for x in a.clients.split(",") if x.strip()]
    a.idle = [int(x) for x in a.idle.split(",") if x.strip()]
    a.only = set(x.strip() for x in a.only.split(","))
    if not a.accounts:
        a.accounts = max(a.clients) if a.clients else 10
        # <= 100 idle connections per account (Dovecot: inotify per uid)
        a.accounts = max(a.accounts, (max(a.idle) + 99) // 100 if a.idle else 0)
    if "mix" not in a.only:
        a.clients = []
    if "idle" not in a.only:
        a.idle = []
    return a


def main():
    args = parse_args()
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    tern_bin = args.tern or bl.find_tern()
    notes, info = [], []
    if "tern" in servers and not tern_bin:
        notes.append("tern binary not found: tern columns are n/a")
        servers.remove("tern")
    if bl.fs_type(os.environ.get("BENCH_TMPDIR") or "/var/tmp") == "tmpfs":
        notes.append("temp dirs are on tmpfs: fsync costs nothing (set BENCH_TMPDIR)")
    imap_load = bl.bin_path("imap_load")
    hashed = password_hash()
    res = {s: {} for s in servers + ["dovecot-hib"]}
    inst = {}
    try:
        if "tern" in servers:
            bl.log("tern: filling %d + %d x %d messages" % (args.count, args.accounts,
                                                            args.mix_msgs))
            try:
                inst["tern"] = tern_setup(args, tern_bin, hashed, notes)
            except Exception as e:
                bl.log("  tern: %s" % e)
                notes.append("tern: %s" % str(e).splitlines()[0][:200])
        if "dovecot" in servers:
            # meanwhile tern indexes in the background
            bl.log("dovecot: filling %d + %d x %d messages" % (args.count, args.accounts,
                                                               args.mix_msgs))
            inst["dovecot"] = dovecot_setup(args, hashed, imap_load)
            res["dovecot"]["fill"] = {"index_s": inst["dovecot"].index_s}
            if inst["dovecot"].index_s is not None:
                info.append("dovecot: first SELECT of the %d-message INBOX (builds its index) "
                            "%.1fs" % (args.count, inst["dovecot"].index_s))
        if "tern" in inst:
            try:
                t = inst["tern"]
                tern_wait_index(t, args, notes, imap_load)
                res["tern"]["fill"] = {"deliver_s": t.fill_s, "index_s": t.index_s,
                                       "indexed_in_background": t.indexed_bg,
                                       "index_on_demand_s": t.ondemand_s, "cached": t.cached}
                total = args.count + args.accounts * args.mix_msgs
                if not t.cached:
                    info.append("tern fill: %d messages over SMTP in %.0fs (%.0f msg/s, %d "
                                "sessions)" % (total, t.fill_s, total / t.fill_s,
                                               args.fill_sessions))
                if t.index_s is not None and not t.cached:
                    info.append("tern: its background IMAP index was complete %.0fs after the "
                                "last delivery" % t.index_s)
                elif t.ondemand_s is not None:
                    info.append("tern: its background IMAP index covered %d of %d messages "
                                "%ds after the last delivery; one SEARCH per mailbox indexed "
                                "the rest in %.0fs" % (t.indexed_bg, total, args.index_wait,
                                                       t.ondemand_s))
            except Exception as e:
                bl.log("  tern: %s" % e)
                notes.append("tern: %s" % str(e).splitlines()[0][:200])
                inst.pop("tern").cleanup()
        ports = {s: i.ports["imap"] for s, i in inst.items()}

        def alive(srv):
            i = inst[srv]
            if i.proc is None or i.proc.poll() is not None:
                msg = "%s is not running (exit status %s)" % (srv, i.proc and i.proc.returncode)
                if srv == "tern":
                    msg += ": " + i.stderr_text()[-300:].replace("\n", " | ")
                raise RuntimeError(msg)

        def attempt(srv, what, fn):
            try:
                alive(srv)
                return fn()
            except Exception as e:
                bl.log("  %s %s: %s" % (srv, what, e))
                n = "%s %s: %s" % (srv, what, str(e).splitlines()[0][:200])
                if n not in notes:
                    notes.append(n)
                return None

        if "latency" in args.only:
            bl.log("latency: SELECT, UID FETCH 1:* (FLAGS), UID SEARCH BODY %s on %d messages"
                   % (args.word, args.count))
            for srv, port in ports.items():  # warm-up (page cache, Dovecot's cache)
                attempt(srv, "latency warm-up",
                        lambda: latency(imap_load, port, BIG_USER, args.word, warm=True))
            for run in range(args.latency_runs):
                for srv, port in ports.items():
                    r = attempt(srv, "latency",
                                lambda: latency(imap_load, port, BIG_USER, args.word))
                    if r:
                        r.pop("_stderr", None)
                        res[srv].setdefault("latency", []).append(r)
                        bl.log("  run %d %-7s SELECT %7.1f ms  FETCH %7.1f ms (%d lines)  "
                               "SEARCH BODY %8.1f ms (%d hits)" % (
                                   run + 1, srv, r["select_ms_median"], r["fetch_ms_median"],
                                   r["fetch_lines"], r["search_ms_median"], r["search_hits"]))
        for n in args.clients:
            bl.log("mix: %d clients x %gs" % (n, args.seconds))
            for srv, port in ports.items():
                attempt(srv, "mix warm-up",
                        lambda: mix(imap_load, port, args, n, min(2.0, args.seconds), srv))
            for run in range(args.runs):
                for srv, port in ports.items():
                    r = attempt(srv, "mix", lambda: mix(imap_load, port, args, n, args.seconds,
                                                        srv))
                    if r:
                        r.pop("_stderr", None)
                        res[srv].setdefault("mix%d" % n, []).append(r)
                        bl.log("  run %d %-7s %8.0f commands/s  p50 %6.2f ms  p99 %7.2f ms  "
                               "(%d failed)" % (run + 1, srv, r["commands_per_s"],
                                                r["lat_p50_ms"], r["lat_p99_ms"], r["failed"]))
        for n in args.idle:
            bl.log("idle: %d connections in IDLE" % n)
            variants = [(s, s, False) for s in inst]
            if "dovecot" in inst and n > args.dovecot_procs_max:
                variants.remove(("dovecot", "dovecot", False))
                notes.append(
                    "dovecot without hibernation not measured at %d connections (one imap "
                    "process each; --dovecot-procs-max %d): in a trial on this machine 10,000 "
                    "took 20 minutes to start and ~8 GB; its Pss per connection is flat "
                    "(~510 KiB at 1,000 and at 9,465)" % (n, args.dovecot_procs_max))
            if "dovecot" in inst and not args.no_hibernate:
                variants.append(("dovecot-hib", "dovecot", True))
            for run in range(args.idle_runs):
                for key, srv, hib in variants:
                    r = attempt(srv, "idle %d%s" % (n, " (hibernation)" if hib else ""),
                                lambda: idle(imap_load, args, srv, inst[srv], n, hib))
                    if r:
                        res[key].setdefault("idle%d" % n, []).append(r)
            if "dovecot" in inst and not args.no_hibernate:
                dovecot_restart(inst["dovecot"], False)
    finally:
        for srv, i in inst.items():
            if srv == "tern" and i.proc is not None and i.proc.poll() is not None:
                notes.append("tern exited during the run (status %s)" % i.proc.returncode)
                bl.log("  tern stderr: %s" % i.stderr_text()[-800:])
            i.cleanup()
    print_table(build_rows(res, args), args, notes, info)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"when": datetime.datetime.now().isoformat(timespec="seconds"),
                       "args": {k: (sorted(v) if isinstance(v, set) else v)
                                for k, v in vars(args).items()},
                       "results": res, "notes": notes}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
