"""CONTEXT=SORT (RFC 5267 §4) against the real binary: SORT and UID SORT
with RETURN (UPDATE) keep a context whose ADDTO and REMOVEFROM carry the
positions of the changes in the sorted result (§4.3.3, §4.3.4).

A model client applies every update as the RFC says a client must (pairs in
order, positions 1-based, sequence numbers renumbered by EXPUNGE) and, after
each change another session (or this one) makes, compares its result with
a SORT run from scratch. The RFC's own examples where they apply, and the
error paths: tag reuse, NOUPDATE, CANCELUPDATE, UIDONLY, UNSELECT.
"""
import random
import re
import time

import pytest

from test_imap_messages import Raw, append, deliver_smtp, login, USER, PASSWORD  # noqa: F401
from test_imap_messages import box  # noqa: F401  (the fixture)
from test_imap_search_ext import raw, ok, bad  # noqa: F401


def esearch(out, tag=None):
    return [ln for ln in out if ln.startswith(b"* ESEARCH") and
            (tag is None or ln.startswith(b'* ESEARCH (TAG "%s")' % tag.encode()))]


def mk(subject, date, frm="Alice <alice@example.org>"):
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@x>\r\n\r\n"
            "body\r\n" % (frm, USER, subject, date, random.random())).encode()


def parse_set(s):
    out = []
    for part in s.split(b","):
        if b":" in part:
            a, b = (int(x) for x in part.split(b":"))
            assert a < b, s  # the server writes runs upward
            out.extend(range(a, b + 1))
        else:
            out.append(int(part))
    return out


def updates(line):
    """[(what, [(pos, [nums])])] of an ESEARCH line's ADDTO/REMOVEFROM."""
    res = []
    for m in re.finditer(rb"(ADDTO|REMOVEFROM) \(([^)]*)\)", line):
        f = m.group(2).split(b" ")
        assert len(f) % 2 == 0, line
        res.append((m.group(1).decode(), [(int(f[i]), parse_set(f[i + 1]))
                                          for i in range(0, len(f), 2)]))
    return res


class Model:
    """A client's copy of a sort context's result (RFC 5267 §4.3.2)."""

    def __init__(self, tag, uid, crit, keys, initial):
        self.tag, self.uid, self.crit, self.keys = tag, uid, crit, keys
        self.v = list(initial)
        self.told = 0

    def apply(self, ln):
        if ln.startswith(b'* ESEARCH (TAG "%s")' % self.tag.encode()):
            self.told += 1
            for what, pairs in updates(ln):
                for pos, nums in pairs:
                    assert pos >= 1, ln  # a SORT context never says 0
                    for k, n in enumerate(nums):
                        if what == "ADDTO":
                            assert 1 <= pos + k <= len(self.v) + 1, (ln, self.v)
                            assert n not in self.v, (ln, self.v)
                            self.v.insert(pos - 1 + k, n)
                        else:
                            assert self.v[pos - 1] == n, (ln, self.v)
                            del self.v[pos - 1]
            return
        m = re.match(rb"\* (\d+) EXPUNGE", ln)
        if m and not self.uid:
            n = int(m.group(1))
            assert n not in self.v, (ln, self.v)  # REMOVEFROM came first
            self.v = [x - 1 if x > n else x for x in self.v]

    def fresh(self, r):
        """The same SORT from scratch."""
        out = ok(r, "f", "%sSORT %s UTF-8 %s" % ("UID " if self.uid else "", self.crit,
                                                  self.keys))
        line = [ln for ln in out if ln.startswith(b"* SORT")]
        return [int(x) for x in line[0].split()[2:]], out


def start(r, tag, uid, crit, keys):
    out = ok(r, tag, "%sSORT RETURN (UPDATE ALL) %s UTF-8 %s" % ("UID " if uid else "", crit,
                                                                 keys))
    line = esearch(out, tag)
    initial = []
    if line:
        m = re.search(rb" ALL (\S+)", line[0])
        initial = parse_set(m.group(1)) if m else []
    return Model(tag, uid, crit, keys, initial)


def settle(r, models, tag="n"):
    """NOOP, apply what it tells, and check every model against a fresh
    SORT (whose own untagged updates are applied after its line)."""
    out = ok(r, tag, "NOOP")
    for ln in out:
        for m in models:
            m.apply(ln)
    for m in models:
        want, out = m.fresh(r)
        assert m.v == want, (m.tag, m.crit, m.v, want)
        for ln in out:
            for mm in models:
                mm.apply(ln)


DATES = ["Mon, 3 Jan 2000 10:00:00 +0000", "Tue, 4 Jan 2000 10:00:00 +0000",
         "Wed, 5 Jan 2000 09:00:00 +0100", "Tue, 4 Jan 2000 10:00:00 +0000"]
SUBJECTS = ["apple", "Re: banana", "cherry", "Apple", "[fwd: date]", "banana"]
ARRIVALS = ['"01-Feb-2001 10:00:00 +0000"', '"02-Feb-2001 10:00:00 +0000"',
            '"01-Feb-2001 10:00:00 +0000"', None]


def test_context_sort_rfc5267_shapes(box):
    """§4.3 tag reuse and the B01/B02 examples, §4.3.3 ADDTO after the
    EXISTS and after the FETCH, §4.3.4 REMOVEFROM before the EXPUNGE, with
    positions; §4.3.5 CANCELUPDATE; CONTEXT alone is a hint."""
    m = login(box)
    for i, (s, d) in enumerate([("b", DATES[0]), ("d", DATES[1]), ("a", DATES[2])]):
        append(m, mk(s, d))
    m.logout()
    r = raw(box)
    other = raw(box)
    out = ok(r, "A01", "SORT RETURN (CONTEXT COUNT) (SUBJECT) UTF-8 UNDELETED")
    assert out == [b'* ESEARCH (TAG "A01") COUNT 3'], out
    out, line = r.cmd("B01", "UID SORT RETURN (UPDATE COUNT) (SUBJECT) UTF-8 UNDELETED")
    assert out == [b'* ESEARCH (TAG "B01") UID COUNT 3'], out
    assert line == b"B01 OK UID SORT completed, will notify", line
    out = bad(r, "B01", "SORT RETURN (UPDATE) (SUBJECT) UTF-8 FLAGGED")  # tag reuse
    assert out == []
    bad(r, "B01", "SEARCH RETURN (UPDATE) FLAGGED")  # either kind of context
    # result by subject: a(3) b(1) d(2); a new "c" goes to position 3,
    # after its EXISTS
    mm = login(box)
    new = append(mm, mk("c", DATES[0]))
    mm.logout()
    out = ok(r, "n1", "NOOP")
    assert esearch(out) == [b'* ESEARCH (TAG "B01") UID ADDTO (3 %d)' % new], out
    assert out.index(b"* 4 EXISTS") < out.index(esearch(out)[0])
    # \Deleted on 1 (b, position 2): REMOVEFROM after the FETCH
    ok(other, "o1", r"STORE 1 +FLAGS (\Deleted)")
    out = ok(r, "n2", "NOOP")
    assert esearch(out) == [b'* ESEARCH (TAG "B01") UID REMOVEFROM (2 1)'], out
    assert out.index(esearch(out)[0]) > next(i for i, ln in enumerate(out) if b"FETCH" in ln)
    # undeleted again: back at position 2
    ok(other, "o2", r"STORE 1 -FLAGS (\Deleted)")
    out = ok(r, "n3", "NOOP")
    assert esearch(out) == [b'* ESEARCH (TAG "B01") UID ADDTO (2 1)'], out
    # two adjacent ones expunged: one pair; REMOVEFROM before EXPUNGE
    ok(other, "o3", r"STORE 1,4 +FLAGS.SILENT (\Deleted)")
    ok(other, "o4", "EXPUNGE")
    out = ok(r, "n4", "NOOP")
    # b(1) and c(new) were at 2 and 3, now gone; the FETCH of \Deleted came
    # first (the flag change removed them), the EXPUNGE says nothing more
    assert esearch(out) == [b'* ESEARCH (TAG "B01") UID REMOVEFROM (2 1,%d)' % new], out
    out, line = r.cmd("B04", 'CANCELUPDATE "B01"')
    assert line == b"B04 OK No further updates", line
    mm = login(box)
    append(mm, mk("0", DATES[0]))
    mm.logout()
    out = ok(r, "n5", "NOOP")
    assert esearch(out) == [], out
    bad(r, "B05", 'CANCELUPDATE "B01"')  # gone


def test_context_sort_positions_runs_and_seqnums(box):
    """Several new messages: one pair per run of adjacent positions (the
    §4.3.3 C01 shape, "ADDTO (1 2731:2733)"); a sequence-number context
    renumbers with EXPUNGE; REVERSE puts new mail first."""
    m = login(box)
    append(m, mk("m", DATES[0]), date=ARRIVALS[0])
    append(m, mk("n", DATES[1]), date=ARRIVALS[1])
    m.logout()
    r = raw(box)
    other = raw(box)
    ok(r, "C01", "UID SORT RETURN (UPDATE) (REVERSE ARRIVAL) UTF-8 ALL")
    ok(r, "C02", "SORT RETURN (UPDATE) (SUBJECT) UTF-8 ALL")
    mm = login(box)
    u = [append(mm, mk(s, DATES[0]), date='"0%d-Mar-2001 10:00:00 +0000"' % (i + 1))
         for i, s in enumerate(("a", "b", "c", "z"))]
    mm.logout()
    out = ok(r, "n1", "NOOP")
    # REVERSE ARRIVAL: the four newest first, newest on top
    assert esearch(out, "C01") == [b'* ESEARCH (TAG "C01") UID ADDTO (1 %d,%d,%d,%d)' %
                                   (u[3], u[2], u[1], u[0])], out
    # SUBJECT: a b c (seq 3:5) before m n, z (seq 6) last: two runs
    assert esearch(out, "C02") == [b'* ESEARCH (TAG "C02") ADDTO (1 3:5 6 6)'], out
    # expunge "a" (seq 3): REMOVEFROM (1 3), then 3 EXPUNGE; z is seq 5 now
    ok(other, "o0", "NOOP")
    ok(other, "o1", r"STORE 3 +FLAGS.SILENT (\Deleted)")
    ok(other, "o2", "EXPUNGE")
    out = ok(r, "n2", "NOOP")
    assert esearch(out, "C02") == [b'* ESEARCH (TAG "C02") REMOVEFROM (1 3)'], out
    assert out.index(esearch(out, "C02")[0]) < out.index(b"* 3 EXPUNGE")
    out = ok(r, "f", "SORT (SUBJECT) UTF-8 ALL")
    assert out == [b"* SORT 3 4 1 2 5"], out


def test_context_sort_randomized_against_fresh_sort(box):
    """Two sessions: r holds sort contexts on UNSEEN (DATE, SUBJECT,
    REVERSE ARRIVAL, multi-key; UID and sequence forms); the other session
    delivers by SMTP, APPENDs, sets and clears \\Seen, EXPUNGEs and MOVEs,
    and r STOREs itself. After each step every context's result, as a
    client applying ADDTO/REMOVEFROM keeps it, equals a SORT from scratch."""
    rnd = random.Random(5267)
    random.seed(5267)
    m = login(box)
    m.create("Other")
    for i in range(8):
        append(m, mk(rnd.choice(SUBJECTS), rnd.choice(DATES)),
               flags=r"(\Seen)" if i % 3 == 0 else None, date=rnd.choice(ARRIVALS))
    m.logout()
    r = raw(box)
    other = raw(box)
    models = [
        start(r, "D1", True, "(DATE)", "UNSEEN"),
        start(r, "D2", False, "(SUBJECT)", "UNSEEN"),
        start(r, "D3", True, "(REVERSE ARRIVAL)", "UNSEEN"),
        start(r, "D4", False, "(REVERSE DATE SUBJECT)", "UNSEEN"),
        start(r, "D5", True, "(FROM REVERSE SIZE)", "OR UNSEEN FLAGGED"),
    ]
    settle(r, models)
    count = 8
    for step in range(45):
        ok(other, "on", "NOOP")  # its view has what r's has
        op = rnd.choice(["smtp", "append", "seen", "unseen", "expunge", "move", "own", "flag",
                         "ownexp"])
        if op == "smtp":
            deliver_smtp(box, mk(rnd.choice(SUBJECTS), rnd.choice(DATES),
                                 frm=rnd.choice(["a@x.example", "b@x.example"])))
            count += 1
            deadline = time.time() + 20
            while True:  # delivery is queued: wait for the message
                out = ok(other, "w", "STATUS INBOX (MESSAGES)")
                if b"MESSAGES %d" % count in out[0] or time.time() > deadline:
                    break
                time.sleep(0.1)
        elif op == "append":
            mm = login(box)
            append(mm, mk(rnd.choice(SUBJECTS), rnd.choice(DATES)),
                   flags=rnd.choice([None, r"(\Seen)", r"(\Flagged)"]), date=rnd.choice(ARRIVALS))
            mm.logout()
            count += 1
        elif op in ("seen", "unseen", "flag") and count:
            a = rnd.randint(1, count)
            b = min(count, a + rnd.randint(0, 2))
            sign = "-" if op == "unseen" else "+"
            flag = r"\Flagged" if op == "flag" else r"\Seen"
            if op == "flag" and rnd.random() < 0.5:
                sign = "-"
            ok(other, "o", "STORE %d:%d %sFLAGS (%s)" % (a, b, sign, flag))
        elif op == "expunge" and count > 2:
            gone = sorted(rnd.sample(range(1, count + 1), rnd.randint(1, 2)))
            ok(other, "o", r"STORE %s +FLAGS.SILENT (\Deleted)" % ",".join(map(str, gone)))
            ok(other, "o", "EXPUNGE")
            count -= len(gone)
        elif op == "move" and count > 1:
            ok(other, "o", "MOVE %d Other" % rnd.randint(1, count))
            count -= 1
            if rnd.random() < 0.5:  # and back: new UIDs
                mm = login(box)
                mm.select("Other")
                mm.uid("MOVE", "1:*", "INBOX")
                mm.logout()
        elif op == "ownexp" and count > 2:
            # this session expunges: REMOVEFROM before its own EXPUNGE lines
            out = ok(r, "own", r"STORE %d +FLAGS.SILENT (\Deleted)" % rnd.randint(1, count))
            out += ok(r, "own", "EXPUNGE")
            for ln in out:
                for mo in models:
                    mo.apply(ln)
        elif op == "own" and count:
            # this session's own STORE: its output carries the updates
            out = ok(r, "own", "STORE %d %sFLAGS (\\Seen)" % (rnd.randint(1, count),
                                                              rnd.choice("+-")))
            for ln in out:
                for mo in models:
                    mo.apply(ln)
        st = ok(other, "w", "STATUS INBOX (MESSAGES)")
        count = int(re.search(rb"MESSAGES (\d+)", st[0]).group(1))
        settle(r, models, "n%d" % step)
    # the run said something to every context, and more than a little
    assert all(mo.told for mo in models) and sum(mo.told for mo in models) > 40, \
        [mo.told for mo in models]


def test_context_sort_errors_limits_and_end(box):
    """NOUPDATE past the contexts a session keeps (shared with SEARCH) and
    for BODY/TEXT (the other options still answered, §4.3.1);
    CANCELUPDATE of unknown tags; UPDATE with SAVE and with PARTIAL (no
    interaction: every change is told, RFC 9394); UIDONLY (SORT is BAD,
    UID SORT keeps its context and REMOVEFROM comes before VANISHED);
    UNSELECT ends the contexts."""
    m = login(box)
    for s in ("b", "a", "c"):
        append(m, mk(s, DATES[0]))
    m.logout()
    r = raw(box)
    other = raw(box)
    out, line = r.cmd("T01", "SORT RETURN (UPDATE COUNT) (SUBJECT) UTF-8 BODY body")
    assert out == [b'* ESEARCH (TAG "T01") COUNT 3',
                   b'* NO [NOUPDATE "T01"] No updates for BODY or TEXT'], out
    assert line == b"T01 OK SORT completed, will not notify", line
    # SAVE and UPDATE: $ is the result of the moment, the context lives on
    out = ok(r, "V01", "SORT RETURN (UPDATE SAVE MIN) (SUBJECT) UTF-8 ALL")
    assert out == [b'* ESEARCH (TAG "V01") MIN 2'], out
    out = ok(r, "q", "SEARCH $")  # MIN: the first in sort order is saved
    assert out == [b"* SEARCH 2"], out
    # PARTIAL and UPDATE: a change outside the window is told all the same
    out = ok(r, "P01", "UID SORT RETURN (UPDATE PARTIAL 1:1) (SUBJECT) UTF-8 UNFLAGGED")
    assert out == [b'* ESEARCH (TAG "P01") UID PARTIAL (1:1 2)'], out
    ok(other, "o1", r"STORE 3 +FLAGS (\Flagged)")
    out = ok(r, "n1", "NOOP")
    assert esearch(out, "P01") == [b'* ESEARCH (TAG "P01") UID REMOVEFROM (3 3)'], out
    assert esearch(out, "V01") == [], out
    # 8 contexts in all, SEARCH's and SORT's together
    for i in range(5):
        ok(r, "U%d" % i, "SEARCH RETURN (UPDATE) ALL" if i % 2 else
           "UID SORT RETURN (UPDATE) (DATE) UTF-8 ALL")
    ok(r, "U5", "SORT RETURN (UPDATE) (ARRIVAL) UTF-8 ALL")
    out, line = r.cmd("U9", "UID SORT RETURN (UPDATE COUNT) (SIZE) UTF-8 ALL")
    assert out == [b'* ESEARCH (TAG "U9") UID COUNT 3',
                   b'* NO [NOUPDATE "U9"] Too many contexts'], out
    assert line == b"U9 OK UID SORT completed, will not notify", line
    bad(r, "c1", 'CANCELUPDATE "nosuch"')
    bad(r, "c2", 'CANCELUPDATE "U0" "nosuch"')  # all or nothing: U0 lives
    bad(r, "U0", "UID SORT RETURN (UPDATE) (DATE) UTF-8 ALL")  # still in use
    ok(r, "c3", 'CANCELUPDATE "U0" "U5" "P01"')
    ok(r, "U9", "UID SORT RETURN (UPDATE) (SIZE) UTF-8 ALL")
    # UNSELECT ends them all
    ok(r, "u", "UNSELECT")
    ok(r, "s", "SELECT INBOX")
    ok(other, "o2", r"STORE 1 +FLAGS (\Flagged)")
    out = ok(r, "n2", "NOOP")
    assert esearch(out) == [] and any(b"FETCH" in ln for ln in out), out
    bad(r, "c4", 'CANCELUPDATE "U9"')
    # UIDONLY (RFC 9586): SORT with its sequence numbers is refused, UID
    # SORT keeps a context, told before VANISHED
    u = raw(box, select=None)
    ok(u, "e", "ENABLE UIDONLY")
    ok(u, "s", "SELECT INBOX")
    out, line = u.cmd("X1", "SORT RETURN (UPDATE) (SUBJECT) UTF-8 ALL")
    assert line.startswith(b"X1 BAD"), line
    out = ok(u, "X2", "UID SORT RETURN (UPDATE) (SUBJECT) UTF-8 ALL")
    assert out == [b'* ESEARCH (TAG "X2") UID ALL 2,1,3'], out
    ok(other, "o3", r"STORE 2 +FLAGS.SILENT (\Deleted)")
    ok(other, "o4", "EXPUNGE")
    out = ok(u, "n3", "NOOP")
    assert out == [b'* ESEARCH (TAG "X2") UID REMOVEFROM (1 2)', b"* VANISHED 2"], out


def test_context_sort_memory_bound(tern_factory, monkeypatch):
    """The sort keys a session's contexts keep are bounded (32 MiB; the
    test lowers it): past it, NOUPDATE, the other options answered, and a
    SEARCH context (no keys) is still given."""
    monkeypatch.setenv("TERN_TEST_SORT_CONTEXT_BYTES", "2000")
    t = tern_factory()
    t.add_user(USER, PASSWORD)
    m = login(t)
    for i in range(12):
        append(m, mk("subject number %d of a few" % i, DATES[i % 3]))
    m.logout()
    r = raw(t)
    out, line = r.cmd("K1", "UID SORT RETURN (UPDATE COUNT) (SUBJECT) UTF-8 ALL")
    assert out == [b'* ESEARCH (TAG "K1") UID COUNT 12'], out
    assert line == b"K1 OK UID SORT completed, will notify", line
    out, line = r.cmd("K2", "UID SORT RETURN (UPDATE COUNT) (SUBJECT) UTF-8 ALL")
    assert out == [b'* ESEARCH (TAG "K2") UID COUNT 12',
                   b'* NO [NOUPDATE "K2"] Too many messages in sort contexts'], out
    assert line == b"K2 OK UID SORT completed, will not notify", line
    ok(r, "K3", "UID SEARCH RETURN (UPDATE COUNT) ALL")
    ok(r, "c", 'CANCELUPDATE "K1"')
    ok(r, "K4", "UID SORT RETURN (UPDATE COUNT) (SUBJECT) UTF-8 ALL")
