"""ACL (RFC 4314) read-only for the owner, and LIST-MYRIGHTS (RFC 8440),
against the real binary: MYRIGHTS, GETACL and LISTRIGHTS give the owner
every right; SETACL and DELETEACL are checked (an unknown right is BAD)
and refused with NO [CANNOT]; LIST ... RETURN (MYRIGHTS) as in the RFC's
examples (no MYRIGHTS for a \\NonExistent name or one listed only for
its children)."""
from test_imap_messages import USER, Raw, box  # noqa: F401

RIGHTS = b"lrswipkxtecda"


def test_acl_read_only_owner(box):
    r = Raw(box)
    out, _ = r.cmd("c0", "CAPABILITY")
    assert b" ACL" not in out[0]
    r.login()
    out, _ = r.cmd("c", "CAPABILITY")
    caps = out[0].split()
    assert b"ACL" in caps and b"RIGHTS=texk" in caps and b"LIST-MYRIGHTS" in caps
    out, t = r.cmd("A003", "MYRIGHTS INBOX")
    assert out == [b"* MYRIGHTS INBOX " + RIGHTS] and t.startswith(b"A003 OK"), (out, t)
    out, t = r.cmd("A002", "GETACL INBOX")
    assert out == [b"* ACL INBOX " + USER.encode() + b" " + RIGHTS], out
    out, t = r.cmd("a001", "LISTRIGHTS Drafts " + USER)
    assert out == [b'* LISTRIGHTS "Drafts" ' + USER.encode() + b" " + RIGHTS], out
    out, t = r.cmd("a005", "listrights Drafts anyone")
    assert out == [b'* LISTRIGHTS "Drafts" anyone ""'], out
    # SETACL/DELETEACL: refused, after the checks a real one makes
    _, t = r.cmd("A002", "SETACL Drafts Chris +cda")
    assert t.startswith(b"A002 NO [CANNOT]"), t
    _, t = r.cmd("A035", "SETACL Drafts John lrQswicda")
    assert t.startswith(b"A035 BAD"), t  # "Q" is no right (§3.1)
    _, t = r.cmd("B001", "DELETEACL Drafts Chris")
    assert t.startswith(b"B001 NO [CANNOT]"), t
    for bad in ("MYRIGHTS", "GETACL", "LISTRIGHTS INBOX", 'LISTRIGHTS INBOX ""',
                "SETACL INBOX fred", "DELETEACL INBOX", "MYRIGHTS INBOX extra"):
        _, t = r.cmd("x", bad)
        assert t.startswith(b"x BAD"), (bad, t)
    for cmd in ("MYRIGHTS nosuch", "GETACL nosuch", "LISTRIGHTS nosuch fred",
                "SETACL nosuch fred r", "DELETEACL nosuch fred"):
        _, t = r.cmd("n", cmd)
        assert t.startswith(b"n NO [NONEXISTENT]"), (cmd, t)
    # the ACL did not change
    out, _ = r.cmd("g", "GETACL Drafts")
    assert out == [b'* ACL "Drafts" ' + USER.encode() + b" " + RIGHTS], out


def test_list_myrights(box):
    """RFC 8440 §4's examples."""
    r = Raw(box)
    r.login()
    r.cmd("c", "CREATE foo/sub")
    r.cmd("u", "UNSUBSCRIBE foo")
    r.cmd("u2", "UNSUBSCRIBE INBOX")
    r.cmd("s", "SUBSCRIBE INBOX")
    r.cmd("s2", "CREATE bar")
    r.cmd("s3", "DELETE bar")  # still subscribed: \NonExistent
    out, t = r.cmd("A01", 'LIST "" % RETURN (MYRIGHTS)')
    assert t.startswith(b"A01 OK"), t
    assert out[0] == b'* LIST (\\HasNoChildren) "/" INBOX'
    assert out[1] == b"* MYRIGHTS INBOX " + RIGHTS
    i = out.index(b'* LIST (\\HasChildren) "/" "foo"')
    assert out[i + 1] == b'* MYRIGHTS "foo" ' + RIGHTS
    out, t = r.cmd("A01b", 'LIST (SUBSCRIBED) "" "*" RETURN (MYRIGHTS)')
    bar = [k for k, ln in enumerate(out) if ln.endswith(b'"bar"')]
    assert bar and b"\\NonExistent" in out[bar[0]], out
    assert not any(ln.startswith(b'* MYRIGHTS "bar"') for ln in out), out
    out, t = r.cmd("A02", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" % RETURN (MYRIGHTS)')
    assert b"* MYRIGHTS INBOX " + RIGHTS in out, out
    foo = [ln for ln in out if ln.endswith(b'"foo" ("CHILDINFO" ("SUBSCRIBED"))')]
    assert foo, out
    assert not any(ln.startswith(b'* MYRIGHTS "foo"') for ln in out), out
    _, t = r.cmd("A03", 'LIST "" % RETURN (MYRIGHTS BOGUS)')
    assert t.startswith(b"A03 BAD"), t
