"""METADATA and METADATA-SERVER (RFC 5464): GETMETADATA with MAXSIZE and
DEPTH, SETMETADATA set and delete, server and mailbox entries, the
computed /shared/admin and /private/specialuse (RFC 6154 §4), the limits
and their response codes, entries going with DELETE and following RENAME.
Transcripts from the RFC's examples over raw sockets."""
import pytest

from test_imap_hardening import Raw, USER, PASSWORD, session, box  # noqa: F401


def lit(r, tag, head, data, tail=""):
    """Send `tag head{n}` + data + tail with a synchronizing literal."""
    r.send("%s %s{%d}\r\n" % (tag, head, len(data)))
    assert r.line().startswith("+ ")
    r.send(data + tail.encode() + b"\r\n")
    return r.until(tag)


def test_capability_advertised(box):
    r = session(box)
    caps = r.cmd("c", "CAPABILITY")[0].split()
    assert "METADATA" in caps and "METADATA-SERVER" in caps


def test_rfc_examples_mailbox(box):
    r = session(box)
    # §4.3: a multi-line value in a literal
    out = lit(r, "a", "SETMETADATA INBOX (/private/comment ",
              b"My new comment across\r\ntwo lines.", ")")
    assert out == ["a OK SETMETADATA completed"]
    out = r.cmd("b", 'GETMETADATA "INBOX" /private/comment')
    assert out[0] == '* METADATA INBOX (/private/comment {33}'
    assert r.cmd("c", "NOOP")[-1] == "c OK NOOP completed"
    # §4.3: several entries in one command
    r.ok("d", 'SETMETADATA INBOX (/private/comment "My new comment" '
              '/shared/comment "This one is for you!")')
    assert r.cmd("e", 'GETMETADATA "INBOX" (/shared/comment /private/comment)') == [
        '* METADATA INBOX (/shared/comment "This one is for you!" '
        '/private/comment "My new comment")',
        "e OK GETMETADATA completed"]
    # §4.4.1: entries as separate arguments
    assert r.cmd("f", 'GETMETADATA "INBOX" /private/comment /shared/comment') == [
        '* METADATA INBOX (/private/comment "My new comment" '
        '/shared/comment "This one is for you!")',
        "f OK GETMETADATA completed"]
    # §4.3: NIL deletes; a missing entry reads as NIL
    r.ok("g", "SETMETADATA INBOX (/private/comment NIL)")
    assert r.cmd("h", 'GETMETADATA "INBOX" /private/comment') == [
        "* METADATA INBOX (/private/comment NIL)", "h OK GETMETADATA completed"]
    # names are case-insensitive
    assert r.cmd("i", 'GETMETADATA inbox /SHARED/Comment') == [
        '* METADATA INBOX (/shared/comment "This one is for you!")',
        "i OK GETMETADATA completed"]


def test_rfc_examples_server(box):
    r = session(box)
    r.ok("a", 'SETMETADATA "" (/shared/comment "Shared comment")')
    assert r.cmd("b", 'GETMETADATA "" /shared/comment') == [
        '* METADATA "" (/shared/comment "Shared comment")', "b OK GETMETADATA completed"]
    # the required, read-only /shared/admin
    assert r.cmd("c", 'GETMETADATA "" /shared/admin') == [
        '* METADATA "" (/shared/admin "mailto:postmaster@example.test")',
        "c OK GETMETADATA completed"]
    assert r.cmd("d", 'SETMETADATA "" (/shared/admin "mailto:me@example.test")')[-1] \
        .startswith("d NO [NOPERM]")
    # server and mailbox entries are apart; private ones on the server too
    r.ok("e", 'SETMETADATA "" (/private/vendor/tern/x "1")')
    assert r.cmd("f", 'GETMETADATA INBOX /shared/comment') == [
        "* METADATA INBOX (/shared/comment NIL)", "f OK GETMETADATA completed"]
    assert r.cmd("g", 'GETMETADATA (DEPTH infinity) "" (/shared /private)') == [
        '* METADATA "" (/shared/admin "mailto:postmaster@example.test" '
        '/shared/comment "Shared comment" /private/vendor/tern/x "1")',
        "g OK GETMETADATA completed"]


def test_maxsize_longentries(box):
    """§4.2.1: the value over MAXSIZE is left out and its size told."""
    r = session(box)
    lit(r, "a", "SETMETADATA INBOX (/shared/comment ", b"x" * 2199, ")")
    r.ok("b", 'SETMETADATA INBOX (/private/comment "My own comment")')
    assert r.cmd("c", 'GETMETADATA "INBOX" (MAXSIZE 1024) (/shared/comment /private/comment)') == [
        '* METADATA INBOX (/private/comment "My own comment")',
        "c OK [METADATA LONGENTRIES 2199] GETMETADATA completed"]
    # options first, as RFC 5464 §5's grammar has them
    assert r.cmd("d", 'GETMETADATA (MAXSIZE 10) INBOX /shared/comment') == [
        "d OK [METADATA LONGENTRIES 2199] GETMETADATA completed"]


def test_depth(box):
    """§4.2.2: DEPTH 1 gives the children, not the grandchildren."""
    r = session(box)
    r.ok("a", 'SETMETADATA INBOX (/private/filters/values/small "SMALLER 5000" '
              '/private/filters/values/boss "FROM \\"boss@example.com\\"" '
              '/private/filters/values/boss/deeper "x" /private/filtersx "no")')
    assert r.cmd("b", 'GETMETADATA "INBOX" (DEPTH 1) (/private/filters/values)') == [
        '* METADATA INBOX (/private/filters/values/boss "FROM \\"boss@example.com\\"" '
        '/private/filters/values/small "SMALLER 5000")',
        "b OK GETMETADATA completed"]
    assert r.cmd("c", 'GETMETADATA "INBOX" (DEPTH infinity) /private/filters') == [
        '* METADATA INBOX (/private/filters/values/boss "FROM \\"boss@example.com\\"" '
        '/private/filters/values/boss/deeper "x" '
        '/private/filters/values/small "SMALLER 5000")',
        "c OK GETMETADATA completed"]
    assert r.cmd("d", 'GETMETADATA "INBOX" (DEPTH 0) /private/filters') == [
        "* METADATA INBOX (/private/filters NIL)", "d OK GETMETADATA completed"]


def test_specialuse_entry(box):
    """RFC 6154 §4: /private/specialuse reflects SPECIAL-USE."""
    r = session(box)
    assert r.cmd("a", 'GETMETADATA "Sent" /private/specialuse') == [
        '* METADATA "Sent" (/private/specialuse "\\\\Sent")', "a OK GETMETADATA completed"]
    assert r.cmd("b", 'GETMETADATA "INBOX" /private/specialuse') == [
        "* METADATA INBOX (/private/specialuse NIL)", "b OK GETMETADATA completed"]
    assert r.cmd("c", 'SETMETADATA "Sent" (/private/specialuse NIL)')[-1] \
        .startswith("c NO [NOPERM]")


def test_delete_and_rename(box):
    r = session(box)
    r.ok("a", "CREATE Projects")
    r.ok("b", 'SETMETADATA Projects (/shared/comment "plans")')
    r.ok("c", "RENAME Projects Attic")
    assert r.cmd("d", 'GETMETADATA Attic /shared/comment') == [
        '* METADATA "Attic" (/shared/comment "plans")', "d OK GETMETADATA completed"]
    assert r.cmd("e", 'GETMETADATA Projects /shared/comment')[-1] \
        .startswith("e NO [NONEXISTENT]")
    r.ok("f", "DELETE Attic")
    r.ok("g", "CREATE Attic")
    assert r.cmd("h", 'GETMETADATA Attic /shared/comment') == [
        '* METADATA "Attic" (/shared/comment NIL)', "h OK GETMETADATA completed"]
    # RENAME INBOX: INBOX keeps its entries, the new mailbox gets a copy
    r.ok("i", 'SETMETADATA INBOX (/private/comment "inbox note")')
    r.ok("j", "RENAME INBOX Old")
    for tag, mbox in (("k", "INBOX"), ("l", '"Old"')):
        assert r.cmd(tag, 'GETMETADATA %s /private/comment' % mbox) == [
            '* METADATA %s (/private/comment "inbox note")' % mbox,
            "%s OK GETMETADATA completed" % tag]
    db = box.db()
    assert db.execute("SELECT count(*) FROM metadata").fetchone()[0] == 2


def test_errors(box):
    r = session(box)
    bad = [
        'GETMETADATA INBOX /private/comment*',      # wildcard
        'GETMETADATA INBOX /private//comment',      # empty component
        'GETMETADATA INBOX /private/comment/',      # trailing slash
        'GETMETADATA INBOX /other/comment',         # unknown scope
        'SETMETADATA INBOX (/private "x")',         # one component
        'SETMETADATA INBOX (/shared/vendor/tern "x")',  # vendor needs 4
        'GETMETADATA INBOX /privatex',
        'GETMETADATA INBOX private/comment',        # no leading slash
        'GETMETADATA INBOX ()',                     # no entries
        'GETMETADATA INBOX (DEPTH 2) /shared/comment',
        'GETMETADATA INBOX (MAXSIZE x) /shared/comment',
        'GETMETADATA INBOX (DEPTH 0 DEPTH 1) /shared/comment',
        'GETMETADATA INBOX (FOO 1) /shared/comment',
        'GETMETADATA INBOX',
        'SETMETADATA INBOX /shared/comment "x"',    # not a list
        'SETMETADATA INBOX (/shared/comment)',      # odd list
        'SETMETADATA INBOX (/shared/comment atom)',  # a value is a string
        'SETMETADATA INBOX (/shared/co%ment "x")',
        'SETMETADATA INBOX ()',
    ]
    for i, c in enumerate(bad):
        if i % 10 == 9:  # stay under max_errors
            r.close()
            r = session(box)
        out = r.cmd("b%d" % i, c)
        assert out[-1].startswith("b%d BAD" % i), (c, out)
    assert r.cmd("n1", 'GETMETADATA Nope /shared/comment')[-1].startswith("n1 NO [NONEXISTENT]")
    assert r.cmd("n2", 'SETMETADATA Nope (/shared/comment "x")')[-1] \
        .startswith("n2 NO [NONEXISTENT]")
    # a SETMETADATA that fails changes nothing: an invalid name after a
    # valid one
    assert r.cmd("n3", 'SETMETADATA INBOX (/shared/comment "x" /bad "y")')[-1] \
        .startswith("n3 BAD")
    assert r.cmd("n4", 'GETMETADATA INBOX /shared/comment')[0] == \
        "* METADATA INBOX (/shared/comment NIL)"
    # not authenticated
    r2 = Raw(box)
    assert r2.cmd("x", 'GETMETADATA "" /shared/comment')[-1].startswith("x BAD")


@pytest.fixture
def small(tern_factory):
    t = tern_factory("[imap]\nmetadata_max_size = 1024\nmetadata_max_entries = 10\n"
                     "metadata_max_account_entries = 15\n")
    t.add_user(USER, PASSWORD)
    return t


def test_limits(small):
    r = session(small)
    # §4.1: at least 1024 octets must be accepted
    lit(r, "a", "SETMETADATA INBOX (/shared/comment ", b"y" * 1024, ")")
    out = lit(r, "b", "SETMETADATA INBOX (/private/comment ", b"y" * 1025, ")")
    assert out[-1].startswith("b NO [METADATA MAXSIZE 1024]"), out
    # ten entries on one mailbox, the eleventh is too many
    pairs = " ".join('/private/e%d "v"' % i for i in range(9))
    r.ok("c", "SETMETADATA INBOX (%s)" % pairs)
    assert r.cmd("d", 'SETMETADATA INBOX (/private/comment "My new comment")') == [
        "d NO [METADATA TOOMANY] Too many annotations"]
    # all or nothing: a replaced value beside the one too many stays old
    assert r.cmd("e", 'SETMETADATA INBOX (/private/e0 "new" /private/e99 "v")')[-1] \
        .startswith("e NO [METADATA TOOMANY]")
    assert r.cmd("f", "GETMETADATA INBOX /private/e0")[0] == '* METADATA INBOX (/private/e0 "v")'
    # replacing and deleting never hit the limit
    r.ok("g", 'SETMETADATA INBOX (/private/e0 "new" /private/e1 NIL)')
    r.ok("h", 'SETMETADATA INBOX (/private/e1 "back")')
    # the account's limit: 10 on INBOX, 5 more on the server, then no more
    r.ok("i", "SETMETADATA \"\" (%s)" % " ".join('/private/s%d "v"' % i for i in range(5)))
    assert r.cmd("j", 'SETMETADATA Sent (/shared/comment "x")')[-1] \
        .startswith("j NO [METADATA TOOMANY]")
