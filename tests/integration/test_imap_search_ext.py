"""SEARCH extensions against the real binary, as raw transcripts:
SEARCHRES (RFC 5182: SAVE and $ everywhere a set goes, expunges, failed
searches, pipelining), WITHIN (RFC 5032: OLDER/YOUNGER), PARTIAL (RFC 9394:
paged ESEARCH results and the UID FETCH modifier), and CONTEXT=SEARCH
(RFC 5267 §4: UPDATE contexts told ADDTO/REMOVEFROM as another session
changes the mailbox, CANCELUPDATE, NOUPDATE).

The RFCs' examples are replayed on mailboxes built to give them meaning;
where an example's numbers are those of a huge mailbox, the same shape is
checked on a small one.
"""
import re
import time

import pytest

from test_imap_messages import Raw, append, login, msg, USER, PASSWORD  # noqa: F401
from test_imap_messages import box  # noqa: F401  (the fixture)


def raw(t, select="INBOX"):
    r = Raw(t)
    r.login()
    if select:
        out, tag = r.cmd("s", "SELECT " + select)
        assert b" OK" in tag, tag
    return r


def ok(r, tag, text):
    out, line = r.cmd(tag, text)
    assert line.startswith(tag.encode() + b" OK"), (text, line, out)
    return out


def bad(r, tag, text):
    out, line = r.cmd(tag, text)
    assert line.startswith(tag.encode() + b" BAD"), (text, line, out)
    return out


def fetched(out):
    """The sequence numbers of "* n FETCH" lines."""
    return [int(m.group(1)) for m in (re.match(rb"\* (\d+) FETCH", ln) for ln in out) if m]


def pipeline(r, cmds):
    """Send every (tag, command) at once; return {tag: (untagged lines,
    tagged line)} read in order."""
    r.send("".join("%s %s\r\n" % c for c in cmds))
    res, out = {}, []
    tags = [c[0].encode() for c in cmds]
    while len(res) < len(cmds):
        ln = r.line()
        t = ln.split(b" ", 1)[0]
        if t in tags:
            res[t.decode()] = (out, ln)
            out = []
        else:
            out.append(ln)
    return res


def fmt(nums):
    """Ascending numbers as a compact set, as the server writes them."""
    runs = []
    for x in nums:
        if runs and runs[-1][1] + 1 == x:
            runs[-1][1] = x
        else:
            runs.append([x, x])
    return ",".join("%d" % a if a == b else "%d:%d" % (a, b) for a, b in runs).encode()


def fill(t, n, flagged=(), smith=(), junk=()):
    """n messages; flags and senders by 1-based position."""
    m = login(t)
    uids = []
    for i in range(1, n + 1):
        flags = []
        if i in flagged:
            flags.append(r"\Flagged")
        if i in junk:
            flags.append("$Junk")
        frm = "Smith <smith@example.org>" if i in smith else "Eric <eric@example.org>"
        uids.append(append(m, msg("message %d" % i, frm=frm,
                                  body=("big " * 2000 if i % 4 == 0 else "small") + "\r\n"),
                           flags="(%s)" % " ".join(flags) if flags else None))
    m.logout()
    return uids


# ---------------------------------------------------------------- SEARCHRES

def test_searchres_rfc5182_examples(box):
    uids = fill(box, 8, flagged=(2, 4, 5, 7), smith=(5,), junk=(3, 6))
    r = raw(box)
    # Example 1: SAVE, then FETCH $
    out = ok(r, "A282", 'SEARCH RETURN (SAVE) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"')
    assert out == []
    out = ok(r, "A283", "FETCH $ (UID FLAGS)")
    assert fetched(out) == [2, 4, 7]
    # Example 2: the same pipelined
    res = pipeline(r, [("A284", 'SEARCH RETURN (SAVE) FLAGGED NOT FROM "Smith"'),
                       ("A285", "FETCH $ (UID)")])
    assert res["A284"][1].startswith(b"A284 OK") and res["A284"][0] == []
    assert fetched(res["A285"][0]) == [2, 4, 7]
    # Example 3: $ of a SEARCH used by UID SEARCH, with and without UID
    ok(r, "A300", 'SEARCH RETURN (SAVE) SINCE 1-Jan-2004 NOT FROM "Smith"')
    small = [u for i, u in enumerate(uids, 1) if i % 4 and i != 5]
    out = ok(r, "A301", "UID SEARCH UID $ SMALLER 4096")
    assert out == [b"* SEARCH " + " ".join(map(str, small)).encode()], out
    assert ok(r, "A302", "UID SEARCH $ SMALLER 4096") == out
    # Example 4: $ inside OR, with CHARSET and a literal
    ok(r, "P282", 'SEARCH RETURN (SAVE) FLAGGED NOT FROM "Smith"')
    r.send("P283 SEARCH CHARSET UTF-8 (OR $ 1,3) TEXT {5}\r\n")
    assert r.line().startswith(b"+")
    r.send("small\r\n")
    assert r.line() == b"* SEARCH 1 2 3 7"
    assert r.line().startswith(b"P283 OK")
    # Example 10: what MIN/MAX/COUNT/ALL put in $
    crit = 'SINCE 12-Feb-2006 NOT FROM "Smith"'
    ok(r, "C281", "SEARCH RETURN (SAVE) " + crit)  # $ = 1:4,6:8
    assert ok(r, "C282", "SEARCH RETURN (ALL) FLAGGED") == [b'* ESEARCH (TAG "C282") ALL 2,4:5,7']
    assert fetched(ok(r, "x1", "FETCH $ (UID)")) == [1, 2, 3, 4, 6, 7, 8]  # unchanged
    out = ok(r, "C283", "SEARCH RETURN (ALL SAVE) FLAGGED " + crit)
    assert out == [b'* ESEARCH (TAG "C283") ALL 2,4,7']
    assert fetched(ok(r, "x2", "FETCH $ (UID)")) == [2, 4, 7]
    out = ok(r, "C284", "SEARCH RETURN (SAVE MIN) FLAGGED " + crit)
    assert out == [b'* ESEARCH (TAG "C284") MIN 2']
    assert fetched(ok(r, "x3", "FETCH $ (UID)")) == [2]
    out = ok(r, "C285", "SEARCH RETURN (MAX SAVE MIN) FLAGGED " + crit)
    assert out == [b'* ESEARCH (TAG "C285") MIN 2 MAX 7']
    assert fetched(ok(r, "x4", "FETCH $ (UID)")) == [2, 7]
    out = ok(r, "C286", "SEARCH RETURN (MAX SAVE MIN COUNT) FLAGGED " + crit)
    assert out == [b'* ESEARCH (TAG "C286") MIN 2 MAX 7 COUNT 3']
    assert fetched(ok(r, "x5", "FETCH $ (UID)")) == [2, 4, 7]
    out = ok(r, "C287", "SEARCH RETURN (ALL SAVE MIN) FLAGGED " + crit)
    assert out == [b'* ESEARCH (TAG "C287") MIN 2 ALL 2,4,7']
    assert fetched(ok(r, "x6", "FETCH $ (UID)")) == [2, 4, 7]
    # Example 9: the second SAVE wins
    res = pipeline(r, [("H282", "SEARCH RETURN (SAVE) KEYWORD $Junk"),
                       ("H283", 'SEARCH RETURN (SAVE) FROM "Smith"'),
                       ("H284", "FETCH $ (UID)")])
    assert fetched(res["H284"][0]) == [5]


def test_searchres_everywhere_a_set_goes(box):
    """Example 7 ($ with COPY and STORE, pipelined), then STORE, UID
    FETCH, MOVE, UID EXPUNGE, SEARCH and UID SEARCH on $; Example 6 (an
    empty $ is a valid set)."""
    uids = fill(box, 6, junk=(2, 5))
    r = raw(box)
    ok(r, "c2", "CREATE Other")  # Junk is there from the start
    # Example 6: nothing found, COPY $ copies nothing and succeeds
    res = pipeline(r, [("E282", 'SEARCH RETURN (SAVE) FROM "Nobody"'),
                       ("E283", 'COPY $ "Other"')])
    assert res["E283"][1].startswith(b"E283 OK"), res
    # Example 7
    res = pipeline(r, [("F282", "SEARCH RETURN (SAVE) KEYWORD $Junk"),
                       ("F283", 'COPY $ "Junk"'),
                       ("F284", r"STORE $ +FLAGS.Silent (\Deleted)")])
    assert all(res[t][1].startswith(t.encode() + b" OK") for t in res), res
    out = ok(r, "f1", "UID SEARCH DELETED")
    assert out == [b"* SEARCH %d %d" % (uids[1], uids[4])]
    out = ok(r, "f2", "UID FETCH $ (FLAGS)")
    assert fetched(out) == [2, 5] and all(b"\\Deleted" in ln for ln in out)
    out = ok(r, "f3", "STATUS Junk (MESSAGES)")
    assert out == [b'* STATUS "Junk" (MESSAGES 2)']
    assert ok(r, "f4", "SEARCH $") == [b"* SEARCH 2 5"]
    assert ok(r, "f5", "UID SEARCH $") == [b"* SEARCH %d %d" % (uids[1], uids[4])]
    # UID EXPUNGE $: the saved messages go, and leave $
    out = ok(r, "f6", "UID EXPUNGE $")
    assert out == [b"* 5 EXPUNGE", b"* 2 EXPUNGE"], out
    assert ok(r, "f7", "FETCH $ (UID)") == []
    # MOVE $
    ok(r, "f8", "SEARCH RETURN (SAVE) 1,2")
    ok(r, "f9", 'MOVE $ "Other"')
    assert ok(r, "f10", "SEARCH ALL") == [b"* SEARCH 1 2"]


def test_searchres_edge_cases(box):
    fill(box, 4, flagged=(1, 3))
    r = raw(box)
    # $ before any SAVE is empty, not an error
    assert ok(r, "a1", "FETCH $ (UID)") == []
    assert ok(r, "a2", "SEARCH $") == [b"* SEARCH"]
    assert ok(r, "a3", r"STORE $ +FLAGS (\Seen)") == []
    ok(r, "a4", "SEARCH RETURN (SAVE) FLAGGED")
    # a BAD SAVE search leaves $ alone
    bad(r, "a5", "SEARCH RETURN (SAVE) BOGUS")
    assert fetched(ok(r, "a6", "FETCH $ (UID)")) == [1, 3]
    # a NO without SAVE leaves $ alone (RFC 5182 §2.1; Example 5 shows a
    # command without SAVE emptying $, which the normative text forbids)
    out, line = r.cmd("B283", "SEARCH CHARSET KOI8-R (OR $ 1,3000:3021) TEXT XXXX")
    assert line.startswith(b"B283 NO [BADCHARSET"), line
    assert fetched(ok(r, "a7", "FETCH $ (UID)")) == [1, 3]
    # a NO with SAVE empties it
    out, line = r.cmd("B284", "SEARCH RETURN (SAVE) CHARSET KOI8-R (OR $ 1) TEXT XXXX")
    assert line.startswith(b"B284 NO [BADCHARSET"), line
    assert ok(r, "a8", "FETCH $ (UID)") == []
    # SAVE of nothing: $ is empty
    ok(r, "a9", "SEARCH RETURN (SAVE) FLAGGED")
    ok(r, "a10", "SEARCH RETURN (SAVE) KEYWORD nothere")
    assert ok(r, "a11", "FETCH $ (UID)") == []
    # SELECT resets $ (even of the same mailbox), UNSELECT too
    ok(r, "a12", "SEARCH RETURN (SAVE) FLAGGED")
    ok(r, "a13", "SELECT INBOX")
    assert ok(r, "a14", "FETCH $ (UID)") == []
    ok(r, "a15", "SEARCH RETURN (SAVE) FLAGGED")
    ok(r, "a16", "UNSELECT")
    ok(r, "a17", "EXAMINE INBOX")
    assert ok(r, "a18", "FETCH $ (UID)") == []
    # "$" is only a whole set: "$,1" and "$:3" are not sets
    bad(r, "a19", "FETCH $,1 (UID)")
    bad(r, "a20", "FETCH 1:$ (UID)")


def test_searchres_expunged_messages_leave(box):
    """Another session expunges a saved message: $ no longer names it,
    and sequence numbers of $ follow the renumbering."""
    fill(box, 5, flagged=(2, 3, 5))
    r = raw(box)
    ok(r, "a", "SEARCH RETURN (SAVE) FLAGGED")
    other = raw(box)
    ok(other, "o1", r"STORE 1,3 +FLAGS.SILENT (\Deleted)")
    ok(other, "o2", "EXPUNGE")
    out = ok(r, "n", "NOOP")
    assert out == [b"* 3 EXPUNGE", b"* 1 EXPUNGE"], out
    out = ok(r, "b", "FETCH $ (UID)")
    assert fetched(out) == [1, 3]
    assert ok(r, "c", "SEARCH $") == [b"* SEARCH 1 3"]


# ---------------------------------------------------------------- WITHIN

def test_within_older_younger(box):
    m = login(box)
    append(m, msg("old one"), date='"01-Jan-2001 00:00:00 +0000"')
    append(m, msg("new one"))
    now = time.gmtime(time.time() - 7200)
    append(m, msg("two hours"), date=time.strftime('"%d-%b-%Y %H:%M:%S +0000"', now))
    m.logout()
    r = raw(box)
    assert ok(r, "a1", "SEARCH YOUNGER 3600") == [b"* SEARCH 2"]
    assert ok(r, "a2", "SEARCH OLDER 3600") == [b"* SEARCH 1 3"]
    assert ok(r, "a3", "SEARCH YOUNGER 10800") == [b"* SEARCH 2 3"]
    assert ok(r, "a4", "SEARCH OLDER 10800") == [b"* SEARCH 1"]
    assert ok(r, "a5", "SEARCH NOT YOUNGER 10800 NOT OLDER 100000000") == [b"* SEARCH"]
    # RFC 5032 §4
    assert ok(r, "a6", "SEARCH UNSEEN YOUNGER 259200") == [b"* SEARCH 2 3"]
    assert ok(r, "a7", "UID SEARCH RETURN (COUNT) YOUNGER 100000") == [
        b'* ESEARCH (TAG "a7") UID COUNT 2']
    for i, arg in enumerate(["0", "-5", "abc", "4294967296", ""]):
        bad(r, "b%d" % i, ("SEARCH YOUNGER " + arg).rstrip())
    bad(r, "b9", "SEARCH OLDER")


# ---------------------------------------------------------------- PARTIAL

def test_partial_search(box):
    uids = fill(box, 12, flagged=(1, 2, 3, 5, 8, 9, 10, 11, 12))
    r = raw(box)
    fl = [uids[i - 1] for i in (1, 2, 3, 5, 8, 9, 10, 11, 12)]

    def part(tag, rng, rest="FLAGGED", uid=True):
        out = ok(r, tag, "%sSEARCH RETURN (PARTIAL %s) %s" % ("UID " if uid else "", rng, rest))
        assert len(out) == 1, out
        return out[0]

    # the RFC 9394 §3.1 shapes on 9 results
    exp = lambda tag, rng, res: b'* ESEARCH (TAG "%s") UID PARTIAL (%s %s)' % (  # noqa: E731
        tag.encode(), rng.encode(), res)
    assert part("A01", "-1:-3") == exp("A01", "-1:-3", b"%d:%d" % (fl[6], fl[8]))
    assert part("A02", "8:20") == exp("A02", "8:20", b"%d:%d" % (fl[7], fl[8]))
    assert part("A03", "1:5") == exp("A03", "1:5", b"%d:%d,%d,%d" % (fl[0], fl[2], fl[3], fl[4]))
    assert part("A04", "10:15") == exp("A04", "10:15", b"NIL")
    assert part("A05", "-10:-15") == exp("A05", "-10:-15", b"NIL")
    assert part("A06", "-3:-1") == exp("A06", "-3:-1", b"%d:%d" % (fl[6], fl[8]))
    assert part("A07", "5:4") == exp("A07", "5:4", b"%d,%d" % (fl[3], fl[4]))
    assert part("A08", "1:4294967295") == exp("A08", "1:4294967295", fmt(fl))
    assert part("A09", "-9:-9") == exp("A09", "-9:-9", b"%d" % fl[0])
    # sequence numbers, with other options, and on no results
    out = ok(r, "B1", "SEARCH RETURN (MIN PARTIAL 2:3 COUNT MAX) FLAGGED")
    assert out == [b'* ESEARCH (TAG "B1") MIN 1 MAX 12 COUNT 9 PARTIAL (2:3 2:3)'], out
    out = ok(r, "B2", "SEARCH RETURN (PARTIAL 1:10) KEYWORD nothere")
    assert out == [b'* ESEARCH (TAG "B2") PARTIAL (1:10 NIL)'], out
    out = ok(r, "B3", "SEARCH RETURN (PARTIAL -1:-2 COUNT) KEYWORD nothere")
    assert out == [b'* ESEARCH (TAG "B3") COUNT 0 PARTIAL (-1:-2 NIL)'], out
    out = ok(r, "B4", "SEARCH RETURN (PARTIAL 1:2) MODSEQ 1")
    assert re.fullmatch(rb'\* ESEARCH \(TAG "B4"\) PARTIAL \(1:2 1:2\) MODSEQ \d+', out[0]), out
    # errors: 0, mixed signs, '*', ALL together, twice, missing range
    for i, rng in enumerate(["0:5", "1:0", "-1:5", "1:-5", "1:*", "-0:-1", "1", "-1", "1:2:3",
                             "1:4294967296", "01:5", "a:b", "1,2", '"1:2"']):
        bad(r, "E%d" % i, "SEARCH RETURN (PARTIAL %s) ALL" % rng)
    bad(r, "E20", "SEARCH RETURN (PARTIAL 1:5 ALL) ALL")
    bad(r, "E21", "SEARCH RETURN (ALL PARTIAL 1:5) ALL")
    bad(r, "E22", "SEARCH RETURN (PARTIAL 1:5 PARTIAL 6:7) ALL")
    bad(r, "E23", "SEARCH RETURN (PARTIAL) ALL")
    # SAVE with PARTIAL (RFC 9394 §3.2 table)
    ok(r, "S1", "SEARCH RETURN (SAVE PARTIAL 2:3) FLAGGED")
    assert fetched(ok(r, "s1", "FETCH $ (UID)")) == [2, 3]
    ok(r, "S2", "SEARCH RETURN (SAVE PARTIAL 2:3 MIN) FLAGGED")
    assert fetched(ok(r, "s2", "FETCH $ (UID)")) == [1, 2, 3]
    ok(r, "S3", "SEARCH RETURN (SAVE PARTIAL 2:3 MAX) FLAGGED")
    assert fetched(ok(r, "s3", "FETCH $ (UID)")) == [2, 3, 12]
    ok(r, "S4", "SEARCH RETURN (SAVE PARTIAL -2:-3 MIN MAX) FLAGGED")
    assert fetched(ok(r, "s4", "FETCH $ (UID)")) == [1, 10, 11, 12]
    ok(r, "S5", "SEARCH RETURN (SAVE PARTIAL 2:3 COUNT MIN) FLAGGED")
    assert fetched(ok(r, "s5", "FETCH $ (UID)")) == [1, 2, 3, 5, 8, 9, 10, 11, 12]
    ok(r, "S6", "SEARCH RETURN (SAVE PARTIAL 20:30) FLAGGED")
    assert fetched(ok(r, "s6", "FETCH $ (UID)")) == []


def test_partial_uid_fetch(box):
    uids = fill(box, 8)
    r = raw(box)
    ok(r, "e", "ENABLE CONDSTORE")
    # RFC 9394 §3.3
    out = ok(r, "10", "UID FETCH %d:%d (UID FLAGS) (PARTIAL -1:-3)" % (uids[1], uids[6]))
    assert fetched(out) == [5, 6, 7], out
    out = ok(r, "11", "UID FETCH 1:* (UID FLAGS) (PARTIAL 1:5)")
    assert fetched(out) == [1, 2, 3, 4, 5], out
    out = ok(r, "12", "UID FETCH 1:* (UID) (PARTIAL 7:100)")
    assert fetched(out) == [7, 8], out
    assert ok(r, "13", "UID FETCH 1:* (UID) (PARTIAL 9:100)") == []
    assert ok(r, "14", "UID FETCH 1:* (UID) (PARTIAL -9:-100)") == []
    out = ok(r, "15", "UID FETCH %d,%d,%d:%d (UID) (PARTIAL 2:3)" % (uids[0], uids[2], uids[4],
                                                                      uids[5]))
    assert fetched(out) == [3, 5], out
    # §3.4: with CHANGEDSINCE the range is taken first, then filtered
    out = ok(r, "16", r"UID STORE %d,%d +FLAGS.SILENT (\Flagged)" % (uids[2], uids[7]))
    out = ok(r, "17", "FETCH 1:* (MODSEQ)")
    ms = {int(re.match(rb"\* (\d+)", ln).group(1)): int(re.search(rb"MODSEQ \((\d+)\)", ln).group(1))
          for ln in out}
    since = max(v for k, v in ms.items() if k not in (3, 8))
    out = ok(r, "101", "UID FETCH 1:* (UID FLAGS) (PARTIAL -1:-3 CHANGEDSINCE %d)" % since)
    assert fetched(out) == [8], out
    out = ok(r, "102", "UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE %d PARTIAL -1:-6)" % since)
    assert fetched(out) == [3, 8], out
    # $ with PARTIAL
    ok(r, "s", "SEARCH RETURN (SAVE) 2:6")
    assert fetched(ok(r, "103", "UID FETCH $ (UID) (PARTIAL -1:-2)")) == [5, 6]
    # errors
    bad(r, "b1", "FETCH 1:* (UID) (PARTIAL 1:5)")  # UID FETCH only
    bad(r, "b2", "UID FETCH 1:* (UID) (PARTIAL 0:5)")
    bad(r, "b3", "UID FETCH 1:* (UID) (PARTIAL 1:5 PARTIAL 1:2)")
    bad(r, "b4", "UID FETCH 1:* (UID) (PARTIAL)")
    bad(r, "b5", "UID FETCH 1:* (UID) (PARTIAL -1:3)")


# ---------------------------------------------------------------- CONTEXT=SEARCH

def esearch(out, tag=None):
    return [ln for ln in out if ln.startswith(b"* ESEARCH") and
            (tag is None or ln.startswith(b'* ESEARCH (TAG "%s")' % tag.encode()))]


def index_of(out, prefix):
    return next(i for i, ln in enumerate(out) if ln.startswith(prefix))


def test_context_search_rfc5267_examples(box):
    """§4.2 (CONTEXT hint), §4.3 (UPDATE, tag reuse), §4.3.3 (ADDTO after
    the FETCH that caused it, and after EXISTS), §4.3.4 (REMOVEFROM before
    the EXPUNGE), §4.3.5 (CANCELUPDATE), across two sessions."""
    uids = fill(box, 6, junk=(4,))
    r = raw(box)
    other = raw(box)
    out = ok(r, "A01", "SEARCH RETURN (CONTEXT COUNT) UNDELETED UNKEYWORD $Junk")
    assert out == [b'* ESEARCH (TAG "A01") COUNT 5']
    out, line = r.cmd("B01", "UID SEARCH RETURN (UPDATE COUNT) DELETED KEYWORD $Junk")
    assert out == [b'* ESEARCH (TAG "B01") UID COUNT 0'] and b"will notify" in line, (out, line)
    bad(r, "B01", "SEARCH RETURN (UPDATE) FLAGGED")  # tag reuse
    # another session flags messages 2 and 3: FETCH, then ADDTO
    ok(other, "o1", r"STORE 2:4 +FLAGS (\Deleted $Junk)")
    out = ok(r, "n1", "NOOP")
    assert esearch(out) == [b'* ESEARCH (TAG "B01") UID ADDTO (0 %d:%d)' % (uids[1], uids[3])], out
    assert index_of(out, b"* ESEARCH") > index_of(out, b"* 4 FETCH")
    # one of them stops matching
    ok(other, "o2", "STORE 3 -FLAGS ($Junk)")
    out = ok(r, "n2", "NOOP")
    assert esearch(out) == [b'* ESEARCH (TAG "B01") UID REMOVEFROM (0 %d)' % uids[2]], out
    # expunged: REMOVEFROM first, EXPUNGE after
    ok(other, "o3", "EXPUNGE")
    out = ok(r, "n3", "NOOP")
    assert esearch(out) == [b'* ESEARCH (TAG "B01") UID REMOVEFROM (0 %d,%d)' % (uids[1],
                                                                                  uids[3])], out
    assert index_of(out, b"* ESEARCH") < index_of(out, b"* 2 EXPUNGE")
    # new mail that matches: EXISTS, then ADDTO
    m = login(box)
    new = append(m, msg("junk arrives"), flags=r"(\Deleted $Junk)")
    append(m, msg("clean arrives"))
    m.logout()
    out = ok(r, "n4", "NOOP")
    assert esearch(out) == [b'* ESEARCH (TAG "B01") UID ADDTO (0 %d)' % new], out
    assert index_of(out, b"* ESEARCH") > index_of(out, b"* 5 EXISTS")
    # CANCELUPDATE: no more updates
    out, line = r.cmd("B04", 'CANCELUPDATE "B01"')
    assert line == b"B04 OK No further updates", line
    ok(other, "o4", r"STORE 1 +FLAGS (\Deleted $Junk)")
    out = ok(r, "n5", "NOOP")
    assert esearch(out) == [] and any(b"FETCH" in ln for ln in out), out
    bad(r, "B05", 'CANCELUPDATE "B01"')  # gone
    bad(r, "B06", "CANCELUPDATE")
    # the tag is free again
    ok(r, "B01", "SEARCH RETURN (UPDATE COUNT) DELETED")


def test_context_search_sequence_numbers_and_own_changes(box):
    """A SEARCH (not UID) context reports sequence numbers that are valid
    when told; this session's own STORE updates its contexts before the
    tagged OK; sequence numbers in the query name the messages of the
    moment (RFC 5267 §4.3), UID ranges stay ranges."""
    uids = fill(box, 5, flagged=(2,))
    r = raw(box)
    other = raw(box)
    out = ok(r, "C01", "SEARCH RETURN (UPDATE) FLAGGED")
    assert out == [b'* ESEARCH (TAG "C01") ALL 2']
    out = ok(r, "s1", r"STORE 4 +FLAGS (\Flagged)")
    assert out[-1] == b'* ESEARCH (TAG "C01") ADDTO (0 4)', out
    out = ok(r, "s2", r"STORE 2 -FLAGS (\Flagged)")
    assert out[-1] == b'* ESEARCH (TAG "C01") REMOVEFROM (0 2)', out
    out = ok(r, "s3", r"STORE 1 +FLAGS.SILENT (\Flagged)")
    assert out == [b'* ESEARCH (TAG "C01") ADDTO (0 1)'], out
    # another session expunges message 1: REMOVEFROM 1, then "1 EXPUNGE";
    # message 4 is now 3
    ok(other, "o1", r"STORE 1 +FLAGS.SILENT (\Deleted)")
    ok(other, "o2", "EXPUNGE")
    out = ok(r, "n1", "NOOP")
    assert out == [b'* ESEARCH (TAG "C01") REMOVEFROM (0 1)', b"* 1 EXPUNGE"], out
    ok(other, "o3", r"STORE 2 +FLAGS (\Flagged)")  # message 3 to r as well
    out = ok(r, "n2", "NOOP")
    assert esearch(out) == [b'* ESEARCH (TAG "C01") ADDTO (0 2)'], out
    # frozen sequence numbers: "1:2" meant UIDs 2 and 3 (now seq 1 and 2)
    out = ok(r, "D01", "UID SEARCH RETURN (UPDATE) 1:2 UNANSWERED")
    assert out == [b'* ESEARCH (TAG "D01") UID ALL %d:%d' % (uids[1], uids[2])], out
    ok(other, "o4", r"STORE 1 +FLAGS (\Answered)")
    out = ok(r, "n3", "NOOP")
    assert esearch(out, "D01") == [b'* ESEARCH (TAG "D01") UID REMOVEFROM (0 %d)' % uids[1]]
    ok(other, "o5", "EXPUNGE")  # nothing deleted now
    # UID ranges are numbers: a new message inside one matches
    top = uids[-1]
    out = ok(r, "E01", "UID SEARCH RETURN (UPDATE COUNT) UID %d:%d" % (top, top + 10))
    assert out == [b'* ESEARCH (TAG "E01") UID COUNT 1'], out
    m = login(box)
    new = append(m, msg("in range"))
    m.logout()
    out = ok(r, "n4", "NOOP")
    assert esearch(out, "E01") == [b'* ESEARCH (TAG "E01") UID ADDTO (0 %d)' % new], out
    # UPDATE ignores PARTIAL: all changes are told
    ok(r, "F01", "UID SEARCH RETURN (UPDATE PARTIAL 1:1) UNFLAGGED")
    ok(other, "o6", r"STORE 1:* -FLAGS (\Flagged)")
    out = ok(r, "n5", "NOOP")
    add = esearch(out, "F01")
    assert len(add) == 1 and b"ADDTO" in add[0], out


def test_context_search_idle_limits_and_end(box):
    fill(box, 3)
    r = raw(box)
    other = raw(box)
    # while IDLE the updates come at once
    ok(r, "Y01", "UID SEARCH RETURN (UPDATE) FLAGGED")
    r.send("i IDLE\r\n")
    assert r.line().startswith(b"+")
    ok(other, "o1", r"STORE 2 +FLAGS (\Flagged)")
    got = [r.line(), r.line()]
    assert got[0].startswith(b"* 2 FETCH") and got[1].startswith(
        b'* ESEARCH (TAG "Y01") UID ADDTO (0 '), got
    r.send("DONE\r\n")
    assert r.line().startswith(b"i OK")
    # WITHIN in a context: a new message is young
    ok(r, "W01", "SEARCH RETURN (UPDATE COUNT) YOUNGER 3600")
    m = login(box)
    append(m, msg("young"))
    m.logout()
    out = ok(r, "n0", "NOOP")
    assert b'* ESEARCH (TAG "W01") ADDTO (0 4)' in out, out
    # BODY/TEXT: refused with NOUPDATE, the other options answered
    out, line = r.cmd("T01", "SEARCH RETURN (UPDATE COUNT) BODY small")
    assert out == [b'* ESEARCH (TAG "T01") COUNT 3', b'* NO [NOUPDATE "T01"] No updates for '
                   b'BODY or TEXT'] and b"will not notify" in line, (out, line)
    # at most 8 contexts: W01, Y01 and 6 more, then NOUPDATE (§4.3.1)
    for i in range(6):
        ok(r, "U%d" % i, "SEARCH RETURN (UPDATE) ALL")
    out, line = r.cmd("U9", "SEARCH RETURN (UPDATE COUNT) ALL")
    assert out == [b'* ESEARCH (TAG "U9") COUNT 4',
                   b'* NO [NOUPDATE "U9"] Too many contexts'], out
    assert line.startswith(b"U9 OK"), line
    ok(r, "c1", 'CANCELUPDATE "U0" "U1"')
    ok(r, "U9", "SEARCH RETURN (UPDATE) ALL")
    bad(r, "c2", 'CANCELUPDATE "U2" "nosuch"')  # all or nothing
    ok(r, "c3", 'CANCELUPDATE "U2"')
    bad(r, "c4", "CANCELUPDATE U3")  # quoted tags only
    # leaving the mailbox ends every context
    ok(r, "u", "UNSELECT")
    ok(r, "s", "SELECT INBOX")
    ok(other, "o2", r"STORE 1 +FLAGS (\Flagged)")
    out = ok(r, "n1", "NOOP")
    assert esearch(out) == [] and any(b"FETCH" in ln for ln in out), out
    bad(r, "c5", 'CANCELUPDATE "Y01"')
    bad(r, "c6", 'CANCELUPDATE "W01"')
