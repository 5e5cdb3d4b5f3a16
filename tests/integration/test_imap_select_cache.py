"""SELECT from the loop's cache of a mailbox's index (proto/imap/view_cache.c)
answers exactly what a cold read of the store answers.

After random mixes of changes by other IMAP sessions (APPEND with flags and
keywords, STORE of flags and keywords, the last use of a keyword removed
included, EXPUNGE, MOVE out and in, COPY in), by the selected session
itself, by SMTP deliveries and by POP3 (RETR sets \\Seen, DELE), a SELECT
(or EXAMINE) says what the database says (read-only, sqlite3): EXISTS,
FLAGS (keywords in the order a scan by UID meets them), [UNSEEN n],
UIDNEXT, UIDVALIDITY, HIGHESTMODSEQ, then `UID SEARCH ALL` and
`FETCH 1:* (UID FLAGS)`. At the end the server is
restarted (no cache) and must answer the same. QRESYNC's VANISHED (EARLIER)
and changed FETCHes come out of a cached SELECT as the database has them;
an account deleted and added again by the CLI (another process) gets an
empty INBOX, whatever the cache held for the old one.
"""
import imaplib
import poplib
import random
import re
import smtplib

import pytest

from conftest import HOST, ssl_ctx

USER = "sel@example.test"
PASSWORD = "select-cache-secret"
FLAG_BITS = [(1, "\\Seen"), (2, "\\Answered"), (4, "\\Flagged"), (8, "\\Deleted"),
             (16, "\\Draft")]
KEYWORDS = ["$Forwarded", "Work", "work", "$Junk", "Alpha", "beta", "Beta"]


@pytest.fixture
def box(tern):
    tern.add_user(USER, PASSWORD)
    return tern


def login(t):
    m = imaplib.IMAP4_SSL(HOST, t.port("imaps"), ssl_context=ssl_ctx(), timeout=30)
    m.login(USER, PASSWORD)
    return m


def msg(i):
    return ("From: a@example.org\r\nTo: %s\r\nSubject: m%d\r\n"
            "Message-ID: <m%d.%d@example.org>\r\n\r\nbody %d\r\n" %
            (USER, i, i, random.random() * 1e9, i)).encode()


def deliver(t, n):
    with smtplib.SMTP(HOST, t.port("smtp"), timeout=30) as s:
        for i in range(n):
            s.sendmail("a@example.org", [USER], msg(i))


def ok(r):
    assert r[0] == "OK", r
    return r[1]


def first_spellings(lists):
    """The keywords in the order a scan meets them, each once (any case)."""
    out, seen = [], set()
    for kws in lists:
        for k in kws.split():
            if k.lower() not in seen:
                seen.add(k.lower())
                out.append(k)
    return out


def oracle(t, mailbox="INBOX"):
    """What a cold read of the database says about mailbox."""
    db = t.db()
    try:
        row = db.execute(
            "SELECT b.id, b.uidvalidity, b.uidnext, b.highestmodseq FROM mailboxes b "
            "JOIN accounts a ON a.id = b.account_id WHERE a.address = ? AND b.name = ?",
            (USER, mailbox)).fetchone()
        entries = db.execute("SELECT uid, flags, keywords FROM mailbox_entries "
                             "WHERE mailbox_id = ? ORDER BY uid", (row[0],)).fetchall()
    finally:
        db.close()
    unseen = next((i + 1 for i, e in enumerate(entries) if not e[1] & 1), None)
    flags = {}
    for uid, bits, kws in entries:
        flags[uid] = frozenset([n for b, n in FLAG_BITS if bits & b] + kws.split())
    return {
        "exists": len(entries),
        "uidvalidity": row[1],
        "uidnext": row[2],
        "highestmodseq": row[3],
        "unseen": unseen,
        "keywords": first_spellings(e[2] for e in entries),
        "uids": [e[0] for e in entries],
        "flags": flags,
    }


def code(m, name):
    for o in m.untagged_responses.get("OK", []):
        g = re.match(rb"\[%s (\d+)\]" % name.encode(), o)
        if g:
            return int(g.group(1))
    return None


def observe(m, mailbox="INBOX", examine=False):
    """What a SELECT (EXAMINE) and the commands after it say."""
    typ, data = m.select(mailbox, readonly=examine)
    assert typ == "OK", data
    fl = m.untagged_responses["FLAGS"][-1].decode()
    system = "\\Answered \\Flagged \\Deleted \\Seen \\Draft"
    assert fl.startswith("(" + system), fl
    got = {
        "exists": int(m.untagged_responses["EXISTS"][-1]),
        "uidvalidity": code(m, "UIDVALIDITY"),
        "uidnext": code(m, "UIDNEXT"),
        "highestmodseq": code(m, "HIGHESTMODSEQ"),
        "unseen": code(m, "UNSEEN"),
        "keywords": fl[len(system) + 1:-1].split(),
    }
    got["uids"] = [int(u) for u in ok(m.uid("SEARCH", "ALL"))[0].split()]
    flags = {}
    if got["exists"]:
        for line in ok(m.fetch("1:*", "(UID FLAGS)")):
            if not isinstance(line, bytes):
                continue
            g = re.search(rb"UID (\d+) FLAGS \(([^)]*)\)", line)
            assert g, line
            flags[int(g.group(1))] = frozenset(f for f in g.group(2).decode().split()
                                               if f != "\\Recent")
    got["flags"] = flags
    return got


def some_uids(t, mailbox, rng):
    uids = oracle(t, mailbox)["uids"]
    if not uids:
        return []
    k = rng.randint(1, min(len(uids), 6))
    return sorted(rng.sample(uids, k))


def uidset(uids):
    return ",".join(str(u) for u in uids)


def random_change(t, other, selected, rng):
    """One change to INBOX (or between INBOX and Other), by someone."""
    op = rng.randrange(9)
    kws = " ".join(rng.sample(KEYWORDS, rng.randint(0, 2)))
    if op <= 1:
        deliver(t, rng.randint(1, 3))
    elif op == 2:
        flags = "(%s)" % " ".join(filter(None, [rng.choice(["", "\\Seen", "\\Flagged"]), kws]))
        ok(other.append(rng.choice(["INBOX", "INBOX", "Other"]), flags, None, msg(99)))
    elif op <= 5:
        # a STORE by the other session, or by the selected one itself
        who = rng.choice([other, selected])
        mailbox = "INBOX" if who is selected else rng.choice(["INBOX", "Other"])
        uids = some_uids(t, mailbox, rng)
        if not uids:
            return
        ok(who.select(mailbox))  # (the watcher's may have been an EXAMINE)
        what = rng.choice(["+FLAGS", "-FLAGS", "FLAGS", "+FLAGS.SILENT"])
        flags = " ".join(filter(None, [rng.choice(["", "\\Seen", "\\Deleted", "\\Answered"]),
                                       kws]))
        ok(who.uid("STORE", uidset(uids), what, "(%s)" % flags))
    elif op == 6:
        who = rng.choice([other, selected])
        ok(who.select("INBOX"))
        uids = some_uids(t, "INBOX", rng)
        if uids:
            ok(who.uid("STORE", uidset(uids), "+FLAGS.SILENT", "(\\Deleted)"))
            ok(who.expunge())
    else:
        src, dst = rng.choice([("INBOX", "Other"), ("Other", "INBOX")])
        uids = some_uids(t, src, rng)
        if not uids:
            return
        ok(other.select(src))
        ok(other.uid(rng.choice(["MOVE", "MOVE", "COPY"]), uidset(uids), dst))


def test_select_from_cache_matches_a_cold_read(box):
    rng = random.Random(15)
    deliver(box, 5)
    other, watcher = login(box), login(box)
    try:
        ok(other.create("Other"))
        ok(watcher.select("INBOX"))
        for rnd in range(40):
            for _ in range(rng.randint(1, 3)):
                random_change(box, other, watcher, rng)
            got = observe(watcher, examine=rng.random() < 0.25)
            want = oracle(box)
            assert got == want, "round %d" % rnd
            if rng.random() < 0.3:
                assert observe(watcher, "Other") == oracle(box, "Other"), "round %d" % rnd
                ok(watcher.select("INBOX"))
        # removing the last use of every keyword empties FLAGS
        ok(watcher.select("INBOX"))
        if oracle(box)["exists"]:
            ok(watcher.store("1:*", "-FLAGS.SILENT", "(%s)" % " ".join(KEYWORDS)))
        got = observe(watcher)
        assert got == oracle(box) and got["keywords"] == []
        warm = observe(watcher)
    finally:
        other.logout()
        watcher.logout()
    box.restart()  # no cache: every entry is read
    m = login(box)
    try:
        cold = observe(m)
    finally:
        m.logout()
    assert cold == warm


def test_qresync_select_from_cache(box):
    deliver(box, 12)
    m, other = login(box), login(box)
    try:
        ok(m._simple_command("ENABLE", "QRESYNC"))
        ok(m.select("INBOX"))  # the cache of INBOX is made
        ok(m.unselect())
        before = oracle(box)
        ok(other.select("INBOX"))
        ok(other.uid("STORE", "2,5", "+FLAGS", "(\\Seen Work)"))
        ok(other.uid("STORE", "3,4", "+FLAGS.SILENT", "(\\Deleted)"))
        ok(other.expunge())
        deliver(box, 2)
        after = oracle(box)
        m.untagged_responses.clear()
        typ, data = m._simple_command(
            "SELECT", "INBOX (QRESYNC (%d %d))" % (before["uidvalidity"],
                                                 before["highestmodseq"]))
        assert typ == "OK", data
        vanished = m.untagged_responses.get("VANISHED", [])
        assert vanished == [b"(EARLIER) 3:4"], vanished
        fetched = {}
        for line in m.untagged_responses.get("FETCH", []):
            g = re.search(rb"UID (\d+) FLAGS \(([^)]*)\) MODSEQ \((\d+)\)", line)
            assert g, line
            fetched[int(g.group(1))] = set(g.group(2).decode().split()) - {"\\Recent"}
        # the changed ones and the new ones, nothing else
        assert sorted(fetched) == [2, 5, 13, 14], fetched
        assert fetched[2] == {"\\Seen", "Work"} == fetched[5]
        assert code(m, "HIGHESTMODSEQ") == after["highestmodseq"]
        assert int(m.untagged_responses["EXISTS"][-1]) == after["exists"] == 12
        assert b"Work" in m.untagged_responses["FLAGS"][-1]
    finally:
        m.logout()
        other.logout()


def test_account_deleted_and_added_by_the_cli(box):
    deliver(box, 3)
    m = login(box)
    try:
        ok(m.select("INBOX"))
        ok(m.store("1", "+FLAGS", "(Gone)"))
        assert observe(m)["exists"] == 3
    finally:
        m.logout()
    r = box.cli("user", "del", USER)
    assert r.returncode == 0, r.stderr
    box.add_user(USER, PASSWORD)
    m = login(box)
    try:
        got = observe(m)
        assert got == oracle(box)
        assert got["exists"] == 0 and got["keywords"] == [] and got["uids"] == []
        deliver(box, 1)
        assert observe(m) == oracle(box)
    finally:
        m.logout()


def test_pop3_seen_and_dele_reach_a_cached_select(box):
    deliver(box, 4)
    m = login(box)
    try:
        assert observe(m) == oracle(box)  # the cache of INBOX is made
        assert observe(m)["unseen"] == 1
        p = poplib.POP3_SSL(HOST, box.port("pop3s"), context=ssl_ctx(), timeout=10)
        p.user(USER)
        p.pass_(PASSWORD)
        p.retr(1)  # \Seen
        p.dele(2)
        p.quit()
        got = observe(m)
        assert got == oracle(box)
        assert got["exists"] == 3 and got["unseen"] == 2
    finally:
        m.logout()
