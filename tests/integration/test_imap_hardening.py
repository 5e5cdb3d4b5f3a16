"""IMAP hardening (issue 14, items 12-16): what an attacker and real clients
found, each pinned by a transcript against the real binary.

  12  keywords: no FETCH names a keyword before an untagged FLAGS (and
      PERMANENTFLAGS) announced it, whoever added it and however the
      session hears of it;
  13  grammar: "~" not before "{" is an atom character; STORE's NIL is the
      keyword "NIL"; ID up to RFC 2971's limits, BAD beyond them;
  14  sequence sets: only "*" is the largest UID in use, 4294967295 is a
      number like any other;
  15  SEARCH RETURN (MIN/MAX) MODSEQ (RFC 4731 §3.2); LSUB's \\Noselect
      (RFC 3501 §6.3.9); LIST (SUBSCRIBED) of deleted mailboxes and
      RECURSIVEMATCH (RFC 5258 §5's examples);
  16  ENVELOPE and SEARCH of group syntax (RFC 3501 §7.4.2).

Raw sockets throughout: the exact replies and their order are the point.
The keyword test's client keeps FLAGS and PERMANENTFLAGS as a strict,
state-tracking client does.
"""
import re
import socket
import time

import pytest

from conftest import HOST, ssl_ctx
from test_imap_messages import UNDO_SCHEMA_10

USER = "dora@example.test"
PASSWORD = "hardening-pw-1"


@pytest.fixture
def box(tern):
    tern.add_user(USER, PASSWORD)
    return tern


class Raw:
    """A line-level IMAP client for exact transcripts (implicit TLS, or
    plaintext on the loopback listener)."""

    def __init__(self, t, tls=True):
        if tls:
            s = socket.create_connection((HOST, t.port("imaps")), timeout=20)
            self.sock = ssl_ctx().wrap_socket(s, server_hostname="localhost")
        else:
            self.sock = socket.create_connection((HOST, t.port("imap")), timeout=20)
        self.buf = b""
        self.greeting = self.line()

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        while b"\r\n" not in self.buf:
            c = self.sock.recv(65536)
            if not c:
                raise ConnectionError("closed: %r" % self.buf)
            self.buf += c
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln.decode("utf-8", "replace")

    def until(self, tag):
        """Lines up to and including the tagged reply."""
        out = []
        while True:
            ln = self.line()
            out.append(ln)
            if ln.startswith(tag + " "):
                return out

    def cmd(self, tag, text):
        self.send("%s %s\r\n" % (tag, text))
        return self.until(tag)

    def ok(self, tag, text):
        r = self.cmd(tag, text)
        assert r[-1].startswith(tag + " OK"), r
        return r

    def login(self):
        self.ok("L", 'LOGIN "%s" "%s"' % (USER, PASSWORD))

    def close(self):
        self.sock.close()


def session(t, select=None):
    r = Raw(t)
    r.login()
    if select:
        r.ok("S", "SELECT " + select)
    return r


def append(r, mailbox="INBOX", flags="", subject="hello", to="dora@example.test",
           extra=""):
    msg = ("From: Alice <alice@example.org>\r\nTo: %s\r\nSubject: %s\r\n%s\r\nbody\r\n" %
           (to, subject, extra))
    data = msg.encode()
    fl = "(%s) " % flags if flags else ""
    r.send("A APPEND %s %s{%d+}\r\n" % (mailbox, fl, len(data)))
    r.send(data + b"\r\n")
    out = r.until("A")
    assert out[-1].startswith("A OK"), out
    return int(re.search(r"APPENDUID \d+ (\d+)", out[-1]).group(1))


# ---- 13: IMAP grammar ---------------------------------------------------------


def test_tilde_not_before_brace_is_an_atom_char(box):
    """RFC 9051 §9: ATOM-CHAR excludes only atom-specials, and "~" is not
    one; it starts a literal8 only as "~{". RFC 3501 §6.3.8's own example
    is LIST ~/Mail/ %. Before: "BAD invalid literal8"."""
    r = session(box)
    assert r.cmd("a", 'LIST "" ~foo') == ["a OK LIST completed"]
    assert r.cmd("b", "LIST ~/Mail/ %") == ["b OK LIST completed"]
    r.ok("c", "CREATE ~notes")
    assert r.cmd("d", 'LIST "" ~notes') == [
        '* LIST (\\HasNoChildren) "/" "~notes"', "d OK LIST completed"]
    assert r.cmd("e", "STATUS ~notes (MESSAGES)") == [
        '* STATUS "~notes" (MESSAGES 0)', "e OK STATUS completed"]
    # a literal8 still is one
    r.send("f APPEND ~notes ~{3}\r\n")
    assert r.line().startswith("+ ")
    r.send(b"a\0b\r\n")
    assert r.until("f")[-1].startswith("f OK [APPENDUID ")


def test_store_nil_is_the_keyword_nil(box):
    """STORE 1 +FLAGS NIL: flag = flag-keyword = atom, and NIL is an atom
    (so is it inside a list). Before: "BAD Invalid flag"."""
    r = session(box, "INBOX")
    append(r)
    append(r)
    out = r.cmd("a", "STORE 1 +FLAGS NIL")
    assert out[-1] == "a OK STORE completed", out
    assert "* 1 FETCH (FLAGS (\\Recent NIL))" in out, out
    out = r.cmd("b", "STORE 2 +FLAGS.SILENT (nil)")
    assert out[-1] == "b OK STORE completed", out
    assert r.cmd("c", "SEARCH KEYWORD NIL") == ["* SEARCH 1 2", "c OK SEARCH completed"]
    assert r.cmd("d", "SEARCH UNKEYWORD nil") == ["* SEARCH", "d OK SEARCH completed"]
    assert r.cmd("e", "FETCH 2 FLAGS") == ["* 2 FETCH (FLAGS (\\Recent nil))",
                                          "e OK FETCH completed"]


def id_command(pairs, field_len=30, value_len=1024, value_char="v", literal=False):
    """An ID command of `pairs` pairs at the given sizes."""
    parts = []
    for i in range(pairs):
        field = ("f%02d" % i).ljust(field_len, "x")
        value = value_char * value_len
        if literal:
            parts.append('{%d+}\r\n%s {%d+}\r\n%s' % (len(field), field, len(value), value))
        else:
            esc = value.replace("\\", "\\\\").replace('"', '\\"')
            parts.append('"%s" "%s"' % (field, esc))
    return "ID (" + " ".join(parts) + ")"


@pytest.mark.parametrize("authenticated", [False, True])
def test_id_accepts_rfc2971_maxima(box, authenticated):
    """RFC 2971 §3.3: up to 30 pairs, 30-octet fields and 1024-octet
    values, before login (where clients send it) and after. Before: the
    quoted form was "BAD Line too long" before login, the literal form
    "literal too big"."""
    r = Raw(box)
    if authenticated:
        r.login()
    for tag, cmd in (("a", id_command(30)),
                     ("b", id_command(30, value_char='"')),  # every octet escaped
                     ("c", id_command(30, literal=True)),
                     ("d", 'ID ("name" NIL "version" "1")')):
        out = r.cmd(tag, cmd)
        assert len(out) == 2 and out[0].startswith('* ID ("name" "tern" '), out
        assert out[1] == tag + " OK ID completed", out
    # the session is alive and still unauthenticated (or not)
    assert r.cmd("e", "NOOP") == ["e OK NOOP completed"]


@pytest.mark.parametrize("authenticated", [False, True])
def test_id_beyond_rfc2971_limits_is_bad_not_bye(box, authenticated):
    r = Raw(box)
    if authenticated:
        r.login()
    for tag, cmd in (("a", id_command(31, value_len=10)),
                     ("b", id_command(32, value_len=10)),  # over the parser's 64 arguments
                     ("c", id_command(1, value_len=1025)),
                     ("d", id_command(1, field_len=31)),
                     ("e", id_command(31, literal=True, value_len=10))):
        out = r.cmd(tag, cmd)
        assert len(out) == 1 and out[0].startswith(tag + " BAD "), (tag, out)
    assert r.cmd("f", "NOOP") == ["f OK NOOP completed"]
    if not authenticated:
        r.login()  # not counted against it either


# ---- 14: '*' and 4294967295 ---------------------------------------------------


def test_only_star_is_the_largest_uid(box):
    """RFC 9051 §9: "*" is the largest number in use; 4294967295 is a
    number like any other, so <uidnext>:4294967295 names no message while
    <uidnext>:* names the last one (§6.4.9). Every user of the sequence-set
    code: SEARCH (UID and sequence keys), FETCH, STORE, COPY, MOVE, UID
    EXPUNGE, and QRESYNC's known-uids. Before: 4294967295 meant "*"."""
    r = session(box)
    r.ok("c", "CREATE Other")
    r.ok("s", "SELECT INBOX")
    for _ in range(3):
        append(r)
    r.ok("n", "NOOP")
    big = "4:4294967295"
    assert r.cmd("a1", "UID SEARCH UID " + big) == ["* SEARCH", "a1 OK UID SEARCH completed"]
    assert r.cmd("a2", "UID SEARCH UID 4:*") == ["* SEARCH 3", "a2 OK UID SEARCH completed"]
    assert r.cmd("a3", "SEARCH " + big) == ["* SEARCH", "a3 OK SEARCH completed"]
    assert r.cmd("a4", "SEARCH 4:*") == ["* SEARCH 3", "a4 OK SEARCH completed"]
    assert r.cmd("a5", "SEARCH RETURN (MAX) UID 2:4294967295") == [
        '* ESEARCH (TAG "a5") MAX 3', "a5 OK SEARCH completed"]
    assert r.cmd("b1", "UID FETCH %s UID" % big) == ["b1 OK UID FETCH completed"]
    assert r.cmd("b2", "UID FETCH 4:* UID") == ["* 3 FETCH (UID 3)", "b2 OK UID FETCH completed"]
    # sequence numbers: 4294967295 is past the end like any other number
    assert r.cmd("b3", "FETCH 1:4294967295 UID")[-1].startswith("b3 BAD ")
    assert r.cmd("b4", "FETCH 3:* UID") == ["* 3 FETCH (UID 3)", "b4 OK FETCH completed"]
    assert r.cmd("c1", "UID STORE %s +FLAGS (\\Flagged)" % big) == ["c1 OK STORE completed"]
    assert r.cmd("c2", "SEARCH FLAGGED") == ["* SEARCH", "c2 OK SEARCH completed"]
    assert r.cmd("d1", "UID COPY %s Other" % big)[-1].startswith("d1 OK")
    assert r.cmd("d2", "UID MOVE %s Other" % big)[-1].startswith("d2 OK")
    assert r.cmd("d3", "STATUS Other (MESSAGES)") == [
        '* STATUS "Other" (MESSAGES 0)', "d3 OK STATUS completed"]
    r.ok("e0", "STORE 1:* +FLAGS.SILENT (\\Deleted)")
    assert r.cmd("e1", "UID EXPUNGE " + big) == ["e1 OK UID EXPUNGE completed"]
    assert r.cmd("e2", "UID EXPUNGE 4:*") == ["* 3 EXPUNGE", "e2 OK UID EXPUNGE completed"]
    assert r.cmd("e3", "SEARCH ALL") == ["* SEARCH 1 2", "e3 OK SEARCH completed"]
    # what '*' means to VANISHED: every UID given out, so the expunged
    # last message is reported for 1:* (as it is for 1:4294967295)
    r.ok("q0", "ENABLE QRESYNC")
    for tag, uids in (("q1", "1:*"), ("q2", "1:4294967295")):
        assert r.cmd(tag, "UID FETCH %s (FLAGS) (CHANGEDSINCE 1 VANISHED)" % uids)[0] == \
            "* VANISHED (EARLIER) 3"
    validity = re.search(r"UIDVALIDITY (\d+)", " ".join(r.cmd("q3", "STATUS INBOX (UIDVALIDITY)"))).group(1)
    r.ok("q4", "UNSELECT")
    # QRESYNC known-uids: "*" is not allowed (RFC 7162 §7); 4294967295 is a UID
    assert r.cmd("q5", "SELECT INBOX (QRESYNC (%s 1 1:*))" % validity)[-1].startswith("q5 BAD ")
    out = r.cmd("q6", "SELECT INBOX (QRESYNC (%s 1 3:4294967295))" % validity)
    assert out[-1].startswith("q6 OK"), out
    assert "* VANISHED (EARLIER) 3" in out, out


# ---- 16: group syntax in ENVELOPE and SEARCH ----------------------------------

GROUP_TO = "group: a@b.test, c@d.test;, group2: ;"
# RFC 5322 appendix A.1.3, folded as there
A13_TO = ("A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
          "         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); "
          "(the end of the group)")
A13_CC = "(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;"


def test_group_syntax_envelope_and_search(box):
    """RFC 3501 §7.4.2 (RFC 9051 §7.5.2): a group is (NIL NIL "name" NIL),
    its members, then (NIL NIL NIL NIL); nothing else. Before: a comment
    after a group, or a group of only a comment, became an invented
    address (NIL NIL "the end of the group" "MISSING_DOMAIN"). SEARCH
    FROM/TO/CC finds every member of a group and the group's name."""
    r = session(box, "INBOX")
    append(r, to=GROUP_TO, subject="one")
    append(r, to=A13_TO, subject="two", extra="Cc: %s\r\n" % A13_CC)
    append(r, to="x@y.test", subject="three",
           extra="Reply-To: Senders: s1@x.test, s2@x.test;\r\n")
    out = r.cmd("f", "FETCH 1:3 (ENVELOPE)")
    assert out[-1] == "f OK FETCH completed", out
    frm = '(("Alice" NIL "alice" "example.org"))'
    assert out[0] == (
        '* 1 FETCH (ENVELOPE (NIL "one" %s %s %s ((NIL NIL "group" NIL)'
        '(NIL NIL "a" "b.test")(NIL NIL "c" "d.test")(NIL NIL NIL NIL)'
        '(NIL NIL "group2" NIL)(NIL NIL NIL NIL)) NIL NIL NIL NIL))' % (frm, frm, frm))
    assert out[1] == (
        '* 2 FETCH (ENVELOPE (NIL "two" %s %s %s ((NIL NIL "A Group" NIL)'
        '("Chris Jones" NIL "c" "public.example")(NIL NIL "joe" "example.org")'
        '("John" NIL "jdoe" "one.test")(NIL NIL NIL NIL)) '
        '((NIL NIL "Hidden recipients" NIL)(NIL NIL NIL NIL)) NIL NIL NIL))' % (frm, frm, frm))
    assert out[2] == (
        '* 3 FETCH (ENVELOPE (NIL "three" %s %s ((NIL NIL "Senders" NIL)'
        '(NIL NIL "s1" "x.test")(NIL NIL "s2" "x.test")(NIL NIL NIL NIL)) '
        '((NIL NIL "x" "y.test")) NIL NIL NIL NIL))' % (frm, frm))
    assert "MISSING_" not in " ".join(out)
    search_group_members(r)


def search_group_members(r):
    for key, want in (("TO a@b.test", "1"), ("TO c@d.test", "1"), ("TO group2", "1"),
                      ("TO group", "1 2"), ("TO joe@example.org", "2"),
                      ("TO jdoe@one.test", "2"), ("TO \"Chris Jones\"", "2"),
                      ("CC \"Hidden recipients\"", "2"), ("TO s1@x.test", ""),
                      ("HEADER Reply-To s2@x.test", "3"), ("FROM alice@example.org", "1 2 3")):
        got = r.cmd("s", "SEARCH " + key)
        assert got == [("* SEARCH " + want).rstrip(), "s OK SEARCH completed"], (key, got)


def test_group_members_searchable_through_the_fts_prefilter(tern_factory, monkeypatch):
    """The same searches where a large mailbox goes: the FTS5 header
    prefilter, then the field check (search_keys.c)."""
    monkeypatch.setenv("TERN_TEST_SEARCH_PREFILTER_MIN", "1")
    t = tern_factory()
    t.add_user(USER, PASSWORD)
    r = session(t, "INBOX")
    append(r, to=GROUP_TO, subject="one")
    append(r, to=A13_TO, subject="two", extra="Cc: %s\r\n" % A13_CC)
    append(r, to="x@y.test", subject="three",
           extra="Reply-To: Senders: s1@x.test, s2@x.test;\r\n")
    r.ok("n", "NOOP")
    search_group_members(r)


# ---- 15: SEARCH RETURN (MIN/MAX) MODSEQ ---------------------------------------


def test_esearch_min_max_modseq_is_the_returned_messages(box):
    """RFC 4731 §3.2 (RFC 7162 §3.1.10 defers to it): with a lone MIN or
    MAX the MODSEQ is the found message's; MIN and MAX without ALL/COUNT,
    the higher of the two; otherwise the highest of all found (§3.2's own
    examples a1-a4, on messages flagged in the order 1, 3, 2). Before: the
    highest of all found in every case."""
    r = session(box, "INBOX")
    for _ in range(3):
        append(r)
    r.ok("n", "NOOP")
    ms = {}
    for seq in (1, 3, 2):
        r.ok("f%d" % seq, "STORE %d +FLAGS.SILENT (\\Flagged)" % seq)
    for ln in r.cmd("g", "FETCH 1:3 (MODSEQ)")[:-1]:
        m = re.match(r"\* (\d+) FETCH \(MODSEQ \((\d+)\)\)", ln)
        ms[int(m.group(1))] = int(m.group(2))
    assert ms[1] < ms[3] < ms[2], ms
    for tag, ret, want in (("a1", "MIN", "MIN 1 MODSEQ %d" % ms[1]),
                           ("a2", "MAX", "MAX 3 MODSEQ %d" % ms[3]),
                           ("a3", "MIN MAX", "MIN 1 MAX 3 MODSEQ %d" % ms[3]),
                           ("a4", "MIN COUNT", "MIN 1 COUNT 3 MODSEQ %d" % ms[2]),
                           ("a5", "ALL", "ALL 1:3 MODSEQ %d" % ms[2]),
                           ("a6", "MAX SAVE", "MAX 3 MODSEQ %d" % ms[3])):
        assert r.cmd(tag, "SEARCH RETURN (%s) MODSEQ 1 FLAGGED" % ret) == [
            '* ESEARCH (TAG "%s") %s' % (tag, want), tag + " OK SEARCH completed"]
    # UID SEARCH: the same messages by UID
    assert r.cmd("u", "UID SEARCH RETURN (MAX) MODSEQ 1") == [
        '* ESEARCH (TAG "u") UID MAX 3 MODSEQ %d' % ms[3], "u OK UID SEARCH completed"]
    # and the IMAP4rev1 form keeps the highest of all
    assert r.cmd("o", "SEARCH MODSEQ 1") == [
        "* SEARCH 1 2 3 (MODSEQ %d)" % ms[2], "o OK SEARCH completed"]


def test_esort_min_max_modseq_is_the_returned_messages(box):
    """SORT RETURN the same as SEARCH RETURN above, MIN and MAX being the
    first and last in the sort order (RFC 5267 §3.2): SUBJECT sorts the
    messages 3, 2, 1. Before: the highest of all found in every case."""
    r = session(box, "INBOX")
    for subject in ("c", "b", "a"):
        append(r, subject=subject)
    r.ok("n", "NOOP")
    for seq in (1, 3, 2):
        r.ok("f%d" % seq, "STORE %d +FLAGS.SILENT (\\Flagged)" % seq)
    ms = {}
    for ln in r.cmd("g", "FETCH 1:3 (MODSEQ)")[:-1]:
        m = re.match(r"\* (\d+) FETCH \(MODSEQ \((\d+)\)\)", ln)
        ms[int(m.group(1))] = int(m.group(2))
    assert ms[1] < ms[3] < ms[2], ms
    for tag, ret, want in (("s1", "MIN", "MIN 3 MODSEQ %d" % ms[3]),
                           ("s2", "MAX", "MAX 1 MODSEQ %d" % ms[1]),
                           ("s3", "MIN MAX", "MIN 3 MAX 1 MODSEQ %d" % ms[3]),
                           ("s4", "MAX COUNT", "MAX 1 COUNT 3 MODSEQ %d" % ms[2]),
                           ("s5", "ALL", "ALL 3,2,1 MODSEQ %d" % ms[2]),
                           ("s6", "MIN SAVE", "MIN 3 MODSEQ %d" % ms[3])):
        assert r.cmd(tag, "SORT RETURN (%s) (SUBJECT) UTF-8 MODSEQ 1 FLAGGED" % ret) == [
            '* ESEARCH (TAG "%s") %s' % (tag, want), tag + " OK SORT completed"]
    assert r.cmd("su", "UID SORT RETURN (MAX) (REVERSE SUBJECT) UTF-8 MODSEQ 1") == [
        '* ESEARCH (TAG "su") UID MAX 3 MODSEQ %d' % ms[3], "su OK UID SORT completed"]
    # the RFC 5256 form keeps the highest of all
    assert r.cmd("o", "SORT (SUBJECT) UTF-8 MODSEQ 1") == [
        "* SORT 3 2 1 (MODSEQ %d)" % ms[2], "o OK SORT completed"]


# ---- 15: LSUB, LIST (SUBSCRIBED), RECURSIVEMATCH: RFC 5258 §5 ------------------
#
# RFC 5258 §5's examples as transcripts. tern differs from them only where
# the RFC leaves a choice: it always sends \HasChildren or \HasNoChildren
# (§4 allows it; for a name without a mailbox they count mailboxes), it has
# no \Marked, \NoInferiors or remote mailboxes, and it creates the parents
# of a new mailbox, so a name like example 9's "qux2" is a mailbox here.

DEFAULTS = ("Archive", "Drafts", "Junk", "Sent", "Trash")


def bare_account(t, user):
    """A session of a new account holding INBOX and nothing else."""
    t.add_user(user, PASSWORD)
    r = Raw(t)
    r.ok("L", 'LOGIN "%s" "%s"' % (user, PASSWORD))
    for name in DEFAULTS:
        r.ok("u", "UNSUBSCRIBE " + name)
        r.ok("d", "DELETE " + name)
    return r


def lines(r, tag, text):
    out = r.cmd(tag, text)
    assert out[-1].startswith(tag + " OK"), out
    return out[:-1]


def mailboxes(r, create=(), unsubscribe=(), delete=()):
    """CREATE (the new names are subscribed), then UNSUBSCRIBE, then
    DELETE (the names stay subscribed)."""
    for name in create:
        r.ok("c", "CREATE " + name)
    for name in unsubscribe:
        r.ok("u", "UNSUBSCRIBE " + name)
    for name in delete:
        r.ok("d", "DELETE " + name)


def test_rfc5258_examples_1_to_7(tern):
    """The hierarchy of example 1; "Fruit/Peach" is subscribed but was
    deleted. Before: LIST (SUBSCRIBED) lost "Fruit/Peach" (a subscription
    went with its mailbox) and UNSUBSCRIBE of it was NO."""
    r = bare_account(tern, "rfc5258@example.test")
    mailboxes(r, create=("Fruit/Apple", "Fruit/Banana", "Fruit/Peach", "Tofu",
                         "Vegetable/Broccoli", "Vegetable/Corn"),
              delete=("Fruit/Peach",),
              unsubscribe=("Fruit", "Fruit/Apple", "Tofu", "Vegetable/Corn"))
    assert lines(r, "A01", 'LIST "" "*"') == [
        '* LIST (\\HasNoChildren) "/" INBOX',
        '* LIST (\\HasChildren) "/" "Fruit"',
        '* LIST (\\HasNoChildren) "/" "Fruit/Apple"',
        '* LIST (\\HasNoChildren) "/" "Fruit/Banana"',
        '* LIST (\\HasNoChildren) "/" "Tofu"',
        '* LIST (\\HasChildren) "/" "Vegetable"',
        '* LIST (\\HasNoChildren) "/" "Vegetable/Broccoli"',
        '* LIST (\\HasNoChildren) "/" "Vegetable/Corn"']
    subscribed = [
        '* LIST (\\HasNoChildren \\Subscribed) "/" INBOX',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "Fruit/Banana"',
        '* LIST (\\NonExistent \\HasNoChildren \\Subscribed) "/" "Fruit/Peach"',
        '* LIST (\\HasChildren \\Subscribed) "/" "Vegetable"',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "Vegetable/Broccoli"']
    assert lines(r, "A02", 'LIST (SUBSCRIBED) "" "*"') == subscribed
    assert lines(r, "A03", 'LIST () "" "%" RETURN (CHILDREN)') == [
        '* LIST (\\HasNoChildren) "/" INBOX',
        '* LIST (\\HasChildren) "/" "Fruit"',
        '* LIST (\\HasNoChildren) "/" "Tofu"',
        '* LIST (\\HasChildren) "/" "Vegetable"']
    assert lines(r, "A05", 'LIST (REMOTE SUBSCRIBED) "" "*"') == subscribed
    # example 6: not a superset of 5: no "Fruit/Peach"
    assert lines(r, "A06", 'LIST (REMOTE) "" "*" RETURN (SUBSCRIBED)') == [
        '* LIST (\\HasNoChildren \\Subscribed) "/" INBOX',
        '* LIST (\\HasChildren) "/" "Fruit"',
        '* LIST (\\HasNoChildren) "/" "Fruit/Apple"',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "Fruit/Banana"',
        '* LIST (\\HasNoChildren) "/" "Tofu"',
        '* LIST (\\HasChildren \\Subscribed) "/" "Vegetable"',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "Vegetable/Broccoli"',
        '* LIST (\\HasNoChildren) "/" "Vegetable/Corn"']
    # example 7, on this hierarchy: several patterns, one response each
    assert lines(r, "BBB", 'LIST "" ("INBOX" "Tofu" "Fruit/%" "Fruit/B*")') == [
        '* LIST (\\HasNoChildren) "/" INBOX',
        '* LIST (\\HasNoChildren) "/" "Fruit/Apple"',
        '* LIST (\\HasNoChildren) "/" "Fruit/Banana"',
        '* LIST (\\HasNoChildren) "/" "Tofu"']
    # LSUB (RFC 3501 §6.3.9): the subscribed names, \Noselect where no
    # mailbox has the name; with "%", a parent of subscribed names
    assert lines(r, "L1", 'LSUB "" "*"') == [
        '* LSUB (\\HasNoChildren) "/" INBOX',
        '* LSUB (\\HasNoChildren) "/" "Fruit/Banana"',
        '* LSUB (\\Noselect \\HasNoChildren) "/" "Fruit/Peach"',
        '* LSUB (\\HasChildren) "/" "Vegetable"',
        '* LSUB (\\HasNoChildren) "/" "Vegetable/Broccoli"']
    assert lines(r, "L2", 'LSUB "" "%"') == [
        '* LSUB (\\HasNoChildren) "/" INBOX',
        '* LSUB (\\Noselect \\HasChildren) "/" "Fruit"',
        '* LSUB (\\HasChildren) "/" "Vegetable"']
    # a subscription without its mailbox is taken off the list like any
    r.ok("U", "UNSUBSCRIBE Fruit/Peach")
    assert r.cmd("U2", "UNSUBSCRIBE Fruit/Peach")[-1].startswith("U2 NO [NONEXISTENT]")
    assert r.cmd("S", "SUBSCRIBE Fruit/Peach")[-1].startswith("S NO [NONEXISTENT]")
    assert lines(r, "A07", 'LIST (SUBSCRIBED) "" "Fruit/*"') == [
        '* LIST (\\HasNoChildren \\Subscribed) "/" "Fruit/Banana"']


def test_rfc5258_example_8_childinfo(tern):
    """Before: A2 (a subscribed child whose parents are both gone) gave
    nothing, and so did LSUB for it."""
    r = bare_account(tern, "ex8@example.test")
    mailboxes(r, create=("Foo/Bar", "Foo/Baz", "Moo"),
              unsubscribe=("INBOX", "Foo", "Foo/Bar", "Moo"))
    assert lines(r, "CA3", 'LIST "" "%" RETURN (CHILDREN)') == [
        '* LIST (\\HasNoChildren) "/" INBOX',
        '* LIST (\\HasChildren) "/" "Foo"',
        '* LIST (\\HasNoChildren) "/" "Moo"']
    # A: only "Foo/Baz" is subscribed
    assert lines(r, "C02", 'LIST (SUBSCRIBED) "" "*"') == [
        '* LIST (\\HasNoChildren \\Subscribed) "/" "Foo/Baz"']
    assert lines(r, "C03", 'LIST (SUBSCRIBED) "" "%"') == []
    assert lines(r, "C04", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"') == [
        '* LIST (\\HasChildren) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))']
    # A1: "Foo" subscribed too
    r.ok("s", "SUBSCRIBE Foo")
    assert lines(r, "C04", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"') == [
        '* LIST (\\HasChildren \\Subscribed) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))']
    # B: nothing subscribed
    mailboxes(r, unsubscribe=("Foo", "Foo/Baz"))
    assert lines(r, "C04", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"') == []
    # C: "Foo" and "Moo"
    r.ok("s1", "SUBSCRIBE Foo")
    r.ok("s2", "SUBSCRIBE Moo")
    assert lines(r, "C04", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN)') == [
        '* LIST (\\HasChildren \\Subscribed) "/" "Foo"',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "Moo"']
    # A2: "Foo" is no mailbox and not subscribed; "Foo/Baz" is subscribed
    # (its mailbox deleted, so that its parent can go too)
    mailboxes(r, unsubscribe=("Foo", "Moo"))
    r.ok("s3", "SUBSCRIBE Foo/Baz")
    mailboxes(r, delete=("Foo/Bar", "Foo/Baz", "Foo"), unsubscribe=("Foo/Bar",))
    assert lines(r, "C04", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"') == [
        '* LIST (\\NonExistent \\HasNoChildren) "/" "Foo" ("CHILDINFO" ("SUBSCRIBED"))']
    # and LSUB's view of the same (RFC 3501 §6.3.9)
    assert lines(r, "L1", 'LSUB "" "%"') == ['* LSUB (\\Noselect \\HasNoChildren) "/" "Foo"']
    assert lines(r, "L2", 'LSUB "" "*"') == [
        '* LSUB (\\Noselect \\HasNoChildren) "/" "Foo/Baz"']


def test_rfc5258_example_9_childinfo_whatever_the_pattern(tern):
    r = bare_account(tern, "ex9@example.test")
    mailboxes(r, create=("foo2/bar1", "foo2/bar2", "baz2/bar2", "baz2/bar22", "baz2/bar222",
                         "eps2/mamba", "qux2/bar2"),
              unsubscribe=("INBOX", "foo2", "baz2", "qux2"))
    assert lines(r, "D02", 'LIST (SUBSCRIBED) "" "*"') == [
        '* LIST (\\HasNoChildren \\Subscribed) "/" "baz2/bar2"',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "baz2/bar22"',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "baz2/bar222"',
        '* LIST (\\HasChildren \\Subscribed) "/" "eps2"',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "eps2/mamba"',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "foo2/bar1"',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "foo2/bar2"',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "qux2/bar2"']
    # "baz2" and "qux2" are the example's "may also include" lines
    assert lines(r, "D03", 'LIST (RECURSIVEMATCH SUBSCRIBED) "" "*2"') == [
        '* LIST (\\HasChildren) "/" "baz2" ("CHILDINFO" ("SUBSCRIBED"))',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "baz2/bar2"',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "baz2/bar22"',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "baz2/bar222"',
        '* LIST (\\HasChildren \\Subscribed) "/" "eps2" ("CHILDINFO" ("SUBSCRIBED"))',
        '* LIST (\\HasChildren) "/" "foo2" ("CHILDINFO" ("SUBSCRIBED"))',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "foo2/bar2"',
        '* LIST (\\HasChildren) "/" "qux2" ("CHILDINFO" ("SUBSCRIBED"))',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "qux2/bar2"']
    assert lines(r, "D04", 'LIST (RECURSIVEMATCH SUBSCRIBED) "" "*"') == [
        '* LIST (\\HasChildren) "/" "baz2" ("CHILDINFO" ("SUBSCRIBED"))',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "baz2/bar2"',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "baz2/bar22"',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "baz2/bar222"',
        '* LIST (\\HasChildren \\Subscribed) "/" "eps2" ("CHILDINFO" ("SUBSCRIBED"))',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "eps2/mamba"',
        '* LIST (\\HasChildren) "/" "foo2" ("CHILDINFO" ("SUBSCRIBED"))',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "foo2/bar1"',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "foo2/bar2"',
        '* LIST (\\HasChildren) "/" "qux2" ("CHILDINFO" ("SUBSCRIBED"))',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "qux2/bar2"']


def test_rfc5258_example_10_childinfo_without_children(tern):
    """CHILDINFO counts subscriptions, \\HasChildren mailboxes: "foo/bar"
    is subscribed but no mailbox. Before: "foo/bar" was not listed."""
    r = bare_account(tern, "ex10@example.test")
    mailboxes(r, create=("foo/bar",), delete=("foo/bar",), unsubscribe=("INBOX", "foo"))
    assert lines(r, "a1", 'LIST "" ("foo" "foo/*")') == ['* LIST (\\HasNoChildren) "/" "foo"']
    assert lines(r, "a2", 'LIST (SUBSCRIBED) "" "foo/*"') == [
        '* LIST (\\NonExistent \\HasNoChildren \\Subscribed) "/" "foo/bar"']
    assert lines(r, "a3", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" foo RETURN (CHILDREN)') == [
        '* LIST (\\HasNoChildren) "/" "foo" ("CHILDINFO" ("SUBSCRIBED"))']
    # RENAME takes the subscriptions under the name along
    r.ok("r", "RENAME foo bar")
    assert lines(r, "a4", 'LIST (SUBSCRIBED) "" "*"') == [
        '* LIST (\\NonExistent \\HasNoChildren \\Subscribed) "/" "bar/bar"']


def test_upgrade_from_schema_5_keeps_subscriptions(box):
    """Schema 6 makes subscriptions names of their own: what a database
    of schema 5 had subscribed (a mailbox column) is subscribed after the
    upgrade, nothing more, and the column is gone."""
    r = session(box)
    mailboxes(r, create=("Lists/rust", "Lists/go", "Work"), unsubscribe=("Lists", "Work"))
    before = lines(r, "l", 'LSUB "" "*"')
    r.close()
    box.stop()
    db = box.db()
    db.executescript("""
        BEGIN;
        ALTER TABLE mailboxes ADD COLUMN subscribed INTEGER NOT NULL DEFAULT 1;
        UPDATE mailboxes SET subscribed = EXISTS(SELECT 1 FROM subscriptions s
          WHERE s.account_id = mailboxes.account_id AND s.name = mailboxes.name);
        DROP TABLE subscriptions;
        DROP TABLE tokens;  -- schema 7's
        DROP TABLE dkim_keys;  -- schema 8's
        DROP TABLE urlauth_keys;  -- schema 9's
    """ + UNDO_SCHEMA_10 + """
        DROP TABLE metadata;  -- schema 11's
        ALTER TABLE accounts DROP COLUMN scram_sha1;  -- schema 12's
        ALTER TABLE accounts DROP COLUMN scram_sha256;
        DROP TABLE imap_sort_keys;  -- schema 13's
        DROP TABLE tlsrpt_counts;  -- schema 14's
        DROP TABLE mta_sts_policies;  -- schema 15's
        DROP TABLE uploads;  -- schema 16's
        ALTER TABLE expunged DROP COLUMN message_id;  -- schema 17's
        ALTER TABLE expunged DROP COLUMN thread_id;
        DROP INDEX mailbox_entries_date;  -- schema 18's
        DROP TABLE sieve_scripts;  -- schema 19's (24 rebuilt it with ids)
        DROP TABLE sieve_vacation;
        DROP TABLE token_owners;  -- schema 20's
        DROP TABLE send_idempotency;
        DROP TABLE webhook_events;  -- schema 21's
        DROP TABLE webhooks;
        DROP TABLE card_emails;  -- schema 22's
        DROP TABLE cards;
        DROP TABLE addressbooks;
        DROP TABLE contacts_state;
        PRAGMA user_version = 5;
        COMMIT;
    """)
    db.close()
    box.start()
    assert "event=migrated from=5 to=6" in box.logs()
    db = box.db()
    assert "subscribed" not in {c[1] for c in db.execute("PRAGMA table_info(mailboxes)")}
    # schema 9: the accounts have no SCRAM keys yet (they come with a login)
    assert db.execute("SELECT count(*) FROM accounts WHERE scram_sha256 != ''").fetchone()[0] == 0
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    db.close()
    r = session(box)
    assert lines(r, "l", 'LSUB "" "*"') == before
    assert '* LSUB (\\HasNoChildren) "/" "Lists/go"' in before
    assert not any('"Work"' in ln for ln in before)


# ---- 12: keywords are announced before a FETCH names them --------------------


class FlagTracker:
    """What a strict client keeps: the keywords of the last untagged FLAGS
    and PERMANENTFLAGS. Every keyword a FETCH names must be in both."""

    def __init__(self):
        self.flags = None
        self.permanent = None
        self.fetched = set()

    def feed(self, lines):
        for ln in lines:
            m = re.match(r"\* FLAGS \((.*)\)$", ln)
            if m:
                self.flags = {f.lower() for f in m.group(1).split()}
                continue
            m = re.match(r"\* OK \[PERMANENTFLAGS \((.*)\)\]", ln)
            if m:
                self.permanent = {f.lower() for f in m.group(1).split()}
                continue
            m = re.match(r"\* \d+ FETCH \(.*FLAGS \(([^)]*)\)", ln)
            if m:
                for f in m.group(1).split():
                    if f.startswith("\\"):
                        continue
                    self.fetched.add(f.lower())
                    assert self.flags is not None and f.lower() in self.flags, \
                        "keyword %s fetched before FLAGS named it: %r" % (f, ln)
                    assert self.permanent is not None and f.lower() in self.permanent, \
                        "keyword %s fetched before PERMANENTFLAGS named it: %r" % (f, ln)
        return lines


class Tracked(Raw):
    def __init__(self, t):
        super().__init__(t)
        self.tracker = FlagTracker()

    def until(self, tag):
        return self.tracker.feed(super().until(tag))

    def idle_until(self, pred, timeout=10):
        """IDLE until a line satisfies pred; then DONE. All the lines."""
        self.send("I IDLE\r\n")
        assert self.line().startswith("+ ")
        out = []
        deadline = time.time() + timeout
        while not any(pred(ln) for ln in out):
            assert time.time() < deadline, out
            out.append(self.line())
            self.tracker.feed(out[-1:])
        self.send("DONE\r\n")
        return out + self.until("I")


def fetch_line(uid, kw):
    return lambda ln: re.match(r"\* \d+ FETCH \(.*UID %d.*%s" % (uid, re.escape(kw)), ln)


def test_keywords_announced_before_fetch(box):
    """A FETCH never names a keyword the session has not seen in FLAGS and
    PERMANENTFLAGS, whoever added it and however the session hears of it:
    its own STORE, another session's STORE seen in IDLE, at NOOP and in its
    own FETCH, APPEND and COPY into the selected mailbox (its own and
    another session's). Before: FLAGS came after STORE's FETCH, and never
    for another session's keyword or a new message's."""
    a = Tracked(box)
    a.login()
    a.ok("c", "CREATE Other")
    append(a)
    a.ok("s", "SELECT INBOX")
    b = session(box, "INBOX")

    # its own STORE: FLAGS, then the FETCH
    out = a.ok("a1", "STORE 1 +FLAGS ($Own)")
    assert out.index(next(l for l in out if l.startswith("* FLAGS"))) < \
        out.index(next(l for l in out if " FETCH " in l)), out
    # another session's STORE, seen in IDLE
    b.ok("b1", "STORE 1 +FLAGS ($Idle)")
    out = a.idle_until(fetch_line(1, "$Idle"))
    assert any("$Idle" in l for l in out if l.startswith("* FLAGS")), out
    # ... at NOOP
    b.ok("b2", "STORE 1 +FLAGS ($Noop)")
    time.sleep(0.2)
    out = a.ok("a2", "NOOP")
    assert "$Noop" in out[0] and out[0].startswith("* FLAGS"), out
    # ... in this session's own FETCH, before anything told it
    b.ok("b3", "STORE 1 +FLAGS ($Fetch)")
    time.sleep(0.2)
    out = a.ok("a3", "FETCH 1 (FLAGS)")
    assert out[0].startswith("* FLAGS") and "$Fetch" in out[0], out
    # the session's own APPEND with a new keyword
    append(a, flags="$Appended")
    assert a.tracker.flags and "$appended" in a.tracker.flags
    a.ok("a4", "FETCH 2 (FLAGS)")
    # another session's APPEND, seen in IDLE
    append(b, flags="$TheirAppend")
    a.idle_until(lambda l: l == "* 3 EXISTS")
    assert "$theirappend" in a.tracker.flags
    # COPY into the selected mailbox from another mailbox
    b.ok("b4", "SELECT Other")
    append(b, mailbox="Other", flags="$Copied")
    b.ok("b5", "COPY 1 INBOX")
    a.ok("a5", "NOOP")
    assert "$copied" in a.tracker.flags
    a.ok("a6", "FETCH 1:* (FLAGS)")
    a.ok("a7", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1)")
    assert {"$own", "$idle", "$noop", "$fetch", "$appended", "$theirappend",
            "$copied"} <= a.tracker.fetched
    # and the FETCH that sets \\Seen on a message whose keyword is new
    b.ok("b6", "SELECT INBOX")
    b.ok("b7", "STORE 4 +FLAGS ($Seen1)")
    time.sleep(0.2)
    out = a.ok("a8", "FETCH 4 (BODY[TEXT])")
    assert out[0].startswith("* FLAGS") and "$Seen1" in out[0], out
