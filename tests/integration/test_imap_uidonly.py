"""UIDONLY (RFC 9586): once enabled, sequence numbers are refused with BAD
[UIDREQUIRED] and never sent: FETCH responses are UIDFETCH, expunges are
VANISHED, also for changes made by another session. Raw transcripts."""
import re

from test_imap_hardening import Raw, USER, PASSWORD, session, append, box  # noqa: F401


def untagged(out, tag):
    """The untagged lines of a reply that must be OK."""
    assert out[-1].startswith(tag + " OK"), out
    return out[:-1]


def uidonly(t, n=3):
    """A session with UIDONLY enabled and INBOX (n messages) selected."""
    r = session(t)
    uids = [append(r, subject="m%d" % i) for i in range(n)]
    r.ok("r", "ENABLE IMAP4rev2")  # no \\Recent in the flags
    assert r.cmd("e", "ENABLE UIDONLY") == ["* ENABLED UIDONLY", "e OK ENABLE completed"]
    out = r.ok("s", "SELECT INBOX")
    assert not any("[UNSEEN" in ln for ln in out), out
    return r, uids


def test_capability_and_enable(box):
    r = session(box)
    assert "UIDONLY" in r.cmd("c", "CAPABILITY")[0].split()
    assert r.cmd("e", "ENABLE UIDONLY") == ["* ENABLED UIDONLY", "e OK ENABLE completed"]
    assert r.cmd("f", "ENABLE UIDONLY") == ["* ENABLED", "f OK ENABLE completed"]


def test_sequence_numbers_refused(box):
    """§3, §3.2, §3.5, §3.7: every form that takes message numbers."""
    r, uids = uidonly(box)
    for i, c in enumerate(["FETCH 1:2 (UID FLAGS)", "STORE 1 +FLAGS (\\Seen)",
                           "SEARCH ALL", "COPY 1 Trash", "MOVE 1 Trash",
                           "UID SEARCH 1:2", "UID SEARCH OR 1 UID 1",
                           "UID SEARCH NOT 2"]):
        out = r.cmd("b%d" % i, c)
        assert out == ["b%d BAD [UIDREQUIRED] Message numbers are not allowed once "
                       "UIDONLY is enabled" % i], (c, out)
    r.close()
    r = session(box)
    r.ok("q", "ENABLE QRESYNC UIDONLY")
    out = r.cmd("s", "SELECT INBOX (QRESYNC (1 1 1:5 (1:3 %d:%d)))" % (uids[0], uids[2]))
    assert out[-1].startswith("s BAD [UIDREQUIRED]"), out


def test_uid_commands_use_uidfetch(box):
    """§3.3's examples: UIDFETCH leads with the UID, the UID item only when
    asked for; §3.4: EXPUNGE answers VANISHED; §3.6: COPYUID with MOVE."""
    r, (u1, u2, u3) = uidonly(box)
    assert untagged(r.cmd("a", "UID FETCH %d:%d (FLAGS)" % (u1, u2)), "a") == [
        "* %d UIDFETCH (FLAGS ())" % u1, "* %d UIDFETCH (FLAGS ())" % u2]
    assert untagged(r.cmd("b", "UID FETCH %d (UID FLAGS)" % u1), "b") == [
        "* %d UIDFETCH (UID %d FLAGS ())" % (u1, u1)]
    assert untagged(r.cmd("c", "UID STORE %d +FLAGS (\\Deleted)" % u2), "c") == [
        "* %d UIDFETCH (FLAGS (\\Deleted))" % u2]
    assert untagged(r.cmd("d", "UID STORE %d +FLAGS.SILENT (\\Seen)" % u1), "d") == []
    assert untagged(r.cmd("e", "EXPUNGE"), "e") == ["* VANISHED %d" % u2]
    out = untagged(r.cmd("f", "UID MOVE %d Trash" % u3), "f")
    assert re.match(r"\* OK \[COPYUID \d+ %d \d+\]" % u3, out[0]), out
    assert out[1:] == ["* VANISHED %d" % u3], out
    assert untagged(r.cmd("g", "UID SEARCH ALL"), "g") == ["* ESEARCH (TAG \"g\") UID ALL %d" % u1]
    assert untagged(r.cmd("h", "UID SEARCH UID 1:*"), "h") == ["* ESEARCH (TAG \"h\") UID ALL %d" % u1]


def test_other_sessions_changes(box):
    """§3.6: another session's flag changes and expunges arrive as
    UIDFETCH and VANISHED, never with a message number."""
    r, (u1, u2, u3) = uidonly(box)
    other = session(box, select="INBOX")
    other.ok("a", "UID STORE %d +FLAGS (\\Flagged)" % u1)
    other.ok("b", "UID STORE %d +FLAGS (\\Deleted)" % u3)
    other.ok("c", "EXPUNGE")
    out = r.cmd("n", "NOOP")
    assert "* %d UIDFETCH (FLAGS (\\Flagged))" % u1 in out, out
    assert "* VANISHED %d" % u3 in out, out
    assert not any(re.match(r"\* \d+ (FETCH|EXPUNGE)", ln) for ln in out), out
    # and in IDLE
    r.send("i IDLE\r\n")
    assert r.line().startswith("+ ")
    other.ok("d", "UID STORE %d +FLAGS (\\Deleted)" % u2)
    other.ok("e", "EXPUNGE")
    seen = [r.line() for _ in range(2)]
    assert seen == ["* %d UIDFETCH (FLAGS (\\Deleted))" % u2, "* VANISHED %d" % u2], seen
    r.send("DONE\r\n")
    assert r.until("i") == ["i OK IDLE terminated"]


def test_without_uidonly_unchanged(box):
    r = session(box)
    u = append(r)
    r.ok("r", "ENABLE IMAP4rev2")
    r.ok("s", "SELECT INBOX")
    assert untagged(r.cmd("a", "FETCH 1 (FLAGS)"), "a") == ["* 1 FETCH (FLAGS ())"]
    assert untagged(r.cmd("b", "UID FETCH %d (FLAGS)" % u), "b") == [
        "* 1 FETCH (UID %d FLAGS ())" % u]


def test_sort_and_thread(box):
    """§3, §3.5: SORT and THREAD take message numbers (BAD), so do their
    UID forms' sequence-set keys; UID SORT/THREAD with UIDs work."""
    r, uids = uidonly(box)
    for i, c in enumerate(["SORT (SUBJECT) UTF-8 ALL", "THREAD REFERENCES UTF-8 ALL",
                           "SORT RETURN (COUNT) (DATE) UTF-8 ALL",
                           "UID SORT (SUBJECT) UTF-8 1:2",
                           "UID SORT RETURN (ALL) (ARRIVAL) UTF-8 OR 1 UID 1",
                           "UID THREAD ORDEREDSUBJECT UTF-8 NOT 2"]):
        out = r.cmd("b%d" % i, c)
        assert out == ["b%d BAD [UIDREQUIRED] Message numbers are not allowed once "
                       "UIDONLY is enabled" % i], (c, out)
    out = untagged(r.cmd("u", "UID SORT (REVERSE SUBJECT) UTF-8 UID %d:%d" % (uids[0], uids[2])),
                   "u")
    assert out == ["* SORT %d %d %d" % (uids[2], uids[1], uids[0])], out
    out = untagged(r.cmd("v", "UID SORT RETURN (MIN COUNT) (REVERSE SUBJECT) UTF-8 ALL"), "v")
    assert out == ['* ESEARCH (TAG "v") UID MIN %d COUNT 3' % uids[2]], out
    out = untagged(r.cmd("t", "UID THREAD ORDEREDSUBJECT UTF-8 ALL"), "t")
    assert len(out) == 1 and out[0].startswith("* THREAD ("), out
    assert sorted(int(x) for x in re.findall(r"\d+", out[0])) == sorted(uids), out
