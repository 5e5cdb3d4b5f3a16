"""CREATE-SPECIAL-USE (RFC 6154 §3, §5.3) against the real binary: the
RFC's example, LIST showing the uses, one mailbox per use ([USEATTR]
for a second one), \\All and \\Flagged refused (tern has no virtual
mailboxes), syntax errors BAD."""
import re

from test_imap_messages import Raw, box  # noqa: F401


def test_rfc6154_create_example(box):
    r = Raw(box)
    r.login()
    out, _ = r.cmd("t1", "CAPABILITY")
    assert b" CREATE-SPECIAL-USE " in out[0]
    # every new account has Drafts and Sent: free the uses first
    for i, name in enumerate(("Drafts", "Sent")):
        _, t = r.cmd("d%d" % i, "DELETE %s" % name)
        assert b"OK" in t, t
    _, t = r.cmd("t2", "CREATE MySpecial (USE (\\Drafts \\Sent))")
    assert t.startswith(b"t2 OK "), t
    _, t = r.cmd("t3", "CREATE Everything (USE (\\All))")
    assert t == b"t3 NO [USEATTR] \\All not supported", t
    out, _ = r.cmd("t4", 'LIST "" "%" RETURN (SPECIAL-USE)')
    line = [ln for ln in out if ln.endswith(b'"MySpecial"')]
    assert line and b"\\Drafts \\Sent" in line[0], out
    assert not any(ln.endswith(b'"Everything"') for ln in out)
    out, _ = r.cmd("t5", 'LIST (SPECIAL-USE) "" "*"')
    names = [ln.rsplit(b" ", 1)[1].strip(b'"') for ln in out]
    assert b"MySpecial" in names and b"INBOX" not in names
    # a second session sees it too
    r2 = Raw(box)
    r2.login()
    out, _ = r2.cmd("l", 'LIST "" "MySpecial" RETURN (SPECIAL-USE)')
    assert b"\\Drafts \\Sent" in out[0], out


def test_create_special_use_errors(box):
    r = Raw(box)
    r.login()
    # one mailbox per use: Trash exists already
    _, t = r.cmd("a", "CREATE Bin (USE (\\Trash))")
    assert t.startswith(b"a NO [USEATTR]"), t
    _, t = r.cmd("a2", "STATUS Bin (MESSAGES)")
    assert t.startswith(b"a2 NO"), t  # nothing was created
    _, t = r.cmd("b", "CREATE F (USE (\\Flagged))")
    assert t == b"b NO [USEATTR] \\Flagged not supported", t
    _, t = r.cmd("c", "CREATE F (USE (\\Whatever))")
    assert t.startswith(b"c NO [USEATTR]"), t
    # case-insensitive attributes, duplicates folded, empty list = none
    _, t = r.cmd("d", "DELETE Archive")
    assert b"OK" in t
    _, t = r.cmd("e", "CREATE Old/Arch (USE (\\archive \\ARCHIVE))")
    assert t.startswith(b"e OK"), t
    out, _ = r.cmd("f", 'LIST "" "Old*" RETURN (SPECIAL-USE)')
    assert any(ln.endswith(b'"Old/Arch"') and b"\\Archive" in ln for ln in out), out
    assert any(ln.endswith(b'"Old"') and b"\\Archive" not in ln for ln in out), out
    _, t = r.cmd("g", "CREATE Plain (USE ())")
    assert t.startswith(b"g OK"), t
    for bad in ("CREATE X (USE)", "CREATE X (USE Drafts)", "CREATE X (USE (Drafts))",
                "CREATE X (FOO (\\Drafts))", "CREATE X USE", "CREATE X (USE (\\Drafts) X)",
                'CREATE X (USE ("\\Drafts"))', "CREATE X (USE (\\))"):
        _, t = r.cmd("h", bad)
        assert t.startswith(b"h BAD"), (bad, t)
    # the name is still free after all of those
    _, t = r.cmd("i", "CREATE X")
    assert re.match(rb"i OK \[MAILBOXID \(F\d+\)\]", t), t
