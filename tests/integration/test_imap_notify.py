"""NOTIFY (RFC 5465): one session sets NOTIFY, another (or SMTP) changes
the account, and the first hears of it without sending a command (read
with a timeout) and in IDLE: STATUS for other mailboxes, EXISTS/EXPUNGE/
FETCH for the selected one, LIST for MailboxName and SubscriptionChange,
METADATA for metadata changes. The error paths: BAD for the RFC's event
rules and bad syntax, NO [BADEVENT ...] for an unsupported event,
OK [NOTIFICATIONOVERFLOW] past imap.notify_max_pending."""
import smtplib
import socket

import pytest

from conftest import HOST
from test_imap_hardening import Raw, USER, PASSWORD, session, append, box  # noqa: F401


def unsolicited(r, n, timeout=5):
    """n lines the server sends on its own (no command outstanding)."""
    r.sock.settimeout(timeout)
    try:
        return [r.line() for _ in range(n)]
    finally:
        r.sock.settimeout(20)


def silent(r, timeout=0.5):
    """Nothing arrives within timeout."""
    r.sock.settimeout(timeout)
    try:
        got = r.line()
    except (socket.timeout, TimeoutError):
        return True
    finally:
        r.sock.settimeout(20)
    raise AssertionError("unexpected %r" % got)


def test_capability(box):
    r = session(box)
    assert "NOTIFY" in r.cmd("c", "CAPABILITY")[0].split()


def test_status_option_and_other_mailbox(box):
    a = session(box)
    a.ok("c1", "CREATE Lists/Lemonade")
    a.ok("c2", "CREATE misc")
    b = session(box)
    append(b, "Lists/Lemonade")
    out = a.ok("n", "NOTIFY SET STATUS (selected (MessageNew MessageExpunge)) "
                    "(subtree Lists (MessageNew MessageExpunge))")
    # Lists (made as Lemonade's parent) and Lists/Lemonade, not misc
    assert out[0].startswith('* STATUS "Lists" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY ')
    assert out[1].startswith('* STATUS "Lists/Lemonade" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY ')
    assert len(out) == 3 and out[2] == "n OK NOTIFY completed"
    # a new message in Lists/Lemonade: STATUS between commands
    append(b, "Lists/Lemonade")
    st = unsolicited(a, 1)[0]
    assert st.startswith('* STATUS "Lists/Lemonade" (MESSAGES 2 UIDNEXT 3 ')
    # misc is not watched
    append(b, "misc")
    assert silent(a)
    # expunge in the watched mailbox
    b.ok("s", "SELECT Lists/Lemonade")
    b.ok("f", "STORE 1 +FLAGS (\\Deleted)")
    b.ok("e", "EXPUNGE")
    st = unsolicited(a, 1)[0]
    assert st.startswith('* STATUS "Lists/Lemonade" (MESSAGES 1 UIDNEXT 3 ')


def test_selected_between_commands_and_idle(box):
    a = session(box, select="INBOX")
    b = session(box, select="INBOX")
    a.ok("n", "NOTIFY SET (selected (MessageNew MessageExpunge FlagChange))")
    append(b)
    assert unsolicited(a, 2) == ["* 1 EXISTS", "* 1 RECENT"]
    b.ok("f", "STORE 1 +FLAGS (\\Flagged)")
    ln = unsolicited(a, 1)[0]
    assert ln.startswith("* 1 FETCH (UID 1 FLAGS (") and "\\Flagged" in ln
    b.ok("f2", "STORE 1 +FLAGS (\\Deleted)")
    unsolicited(a, 1)
    b.ok("e", "EXPUNGE")
    assert unsolicited(a, 1) == ["* 1 EXPUNGE"]
    # and in IDLE
    a.send("i IDLE\r\n")
    assert a.line().startswith("+ ")
    append(b)
    assert unsolicited(a, 2) == ["* 1 EXISTS", "* 1 RECENT"]
    a.send("DONE\r\n")
    assert a.until("i")[-1] == "i OK IDLE terminated"


def test_selected_delayed_holds_expunge(box):
    a = session(box, select="INBOX")
    b = session(box, select="INBOX")
    append(b)
    a.ok("n0", "NOOP")
    a.ok("n", "NOTIFY SET (selected-delayed (MessageNew MessageExpunge FlagChange))")
    b.ok("f", "STORE 1 +FLAGS (\\Deleted)")
    # the flag change goes out between commands, the EXPUNGE waits
    assert unsolicited(a, 1)[0].startswith("* 1 FETCH (UID 1 FLAGS (")
    b.ok("e", "EXPUNGE")
    assert silent(a)
    out = a.ok("x", "NOOP")
    assert "* 1 EXPUNGE" in out


def test_smtp_delivery_reaches_subscriber(box):
    a = session(box)
    a.ok("n", "NOTIFY SET (inboxes (MessageNew MessageExpunge))")
    with smtplib.SMTP(HOST, box.port("smtp"), timeout=20) as s:
        s.sendmail("alice@example.org", [USER],
                   b"From: alice@example.org\r\nSubject: hi\r\n\r\nbody\r\n")
    st = unsolicited(a, 1)[0]
    assert st.startswith('* STATUS INBOX (MESSAGES 1 UIDNEXT 2 ')


def test_mailbox_name_and_subscription(box):
    r"""The LIST lines carry what LIST RETURN (CHILDREN SUBSCRIBED) would say
    (RFC 5465 §5.4-§5.5): tern subscribes what CREATE makes, and says
    \HasChildren / \HasNoChildren; OLDNAME on RENAME."""
    a = session(box)
    b = session(box)
    a.ok("n", "NOTIFY SET (personal (MailboxName SubscriptionChange))")
    b.ok("c", "CREATE NewMailbox")
    assert unsolicited(a, 1) == ['* LIST (\\HasNoChildren \\Subscribed) "/" "NewMailbox"']
    b.ok("r", "RENAME NewMailbox Other")
    assert unsolicited(a, 1) == [
        '* LIST (\\HasNoChildren \\Subscribed) "/" "Other" ("OLDNAME" ("NewMailbox"))']
    b.ok("u", "UNSUBSCRIBE Other")
    assert unsolicited(a, 1) == ['* LIST (\\HasNoChildren) "/" "Other"']
    b.ok("s", "SUBSCRIBE Other")
    assert unsolicited(a, 1) == ['* LIST (\\HasNoChildren \\Subscribed) "/" "Other"']
    # the same line as LIST RETURN (CHILDREN SUBSCRIBED) gives
    assert a.ok("l", 'LIST "" Other RETURN (CHILDREN SUBSCRIBED)')[0] == \
        '* LIST (\\HasNoChildren \\Subscribed) "/" "Other"'
    b.ok("d", "DELETE Other")
    # a subscription outlives its mailbox (RFC 3501 §6.3.6)
    assert unsolicited(a, 1) == ['* LIST (\\NonExistent \\HasNoChildren \\Subscribed) "/" "Other"']
    # CREATE's missing parents are told too, each with its children (and,
    # §5.4, each created mailbox's direct parent again)
    b.ok("c3", "CREATE Top/Mid/Leaf")
    got = drain(a)
    assert set(got) == {
        '* LIST (\\HasNoChildren \\Subscribed) "/" "Top/Mid/Leaf"',
        '* LIST (\\HasChildren \\Subscribed) "/" "Top"',
        '* LIST (\\HasChildren \\Subscribed) "/" "Top/Mid"'}, got
    # a renamed parent: its children went with it, no events of their own
    b.ok("r2", "RENAME Top/Mid Top/Middle")
    assert unsolicited(a, 1) == [
        '* LIST (\\HasChildren \\Subscribed) "/" "Top/Middle" ("OLDNAME" ("Top/Mid"))']
    assert silent(a)
    # special-use attributes as LIST shows them
    b.ok("d4", "DELETE Archive")  # it has \\Archive: one mailbox per use
    unsolicited(a, 1)
    b.ok("c4", "CREATE Starred (USE (\\Archive))")
    assert unsolicited(a, 1) == ['* LIST (\\HasNoChildren \\Subscribed \\Archive) "/" "Starred"']
    # this session's own changes are not told (§5)
    a.ok("c2", "CREATE Mine")
    assert silent(a)


def drain(r, timeout=0.7):
    """Every line the server sends on its own until it is quiet."""
    out = []
    r.sock.settimeout(timeout)
    try:
        while True:
            out.append(r.line())
    except (socket.timeout, TimeoutError):
        return out
    finally:
        r.sock.settimeout(20)


def test_mailbox_name_parent_is_affected(box):
    """RFC 5465 §5.4: "If a mailbox is created or deleted, the mailbox itself
    and its direct parent (whether it is an existing mailbox or not) are
    considered to be affected": a LIST for the parent too, with its
    attributes as they are after the change."""
    a = session(box)
    b = session(box)
    b.ok("c0", "CREATE Parent")
    a.ok("n", "NOTIFY SET (personal (MailboxName))")
    b.ok("c1", "CREATE Parent/Child")
    assert drain(a) == ['* LIST (\\HasNoChildren \\Subscribed) "/" "Parent/Child"',
                        '* LIST (\\HasChildren \\Subscribed) "/" "Parent"']
    b.ok("d1", "DELETE Parent/Child")
    assert drain(a) == [
        '* LIST (\\NonExistent \\HasNoChildren \\Subscribed) "/" "Parent/Child"',
        '* LIST (\\HasNoChildren \\Subscribed) "/" "Parent"']
    # (a parent that is no mailbox does not happen here: CREATE makes the
    # missing parents, DELETE refuses a mailbox with children)
    b.ok("c3", "CREATE Parent/Third")
    drain(a)
    # RENAME: the new name only, with OLDNAME (§5.4), no parent lines
    b.ok("r", "RENAME Parent/Third Parent/Fourth")
    assert drain(a) == [
        '* LIST (\\HasNoChildren \\Subscribed) "/" "Parent/Fourth" '
        '("OLDNAME" ("Parent/Third"))']


def test_metadata_events_in_idle(box):
    a = session(box)
    b = session(box)
    a.ok("n", "NOTIFY SET (inboxes (MailboxMetadataChange)) (personal (ServerMetadataChange))")
    a.send("i IDLE\r\n")
    assert a.line().startswith("+ ")
    b.ok("m", 'SETMETADATA INBOX (/shared/comment "hi")')
    assert unsolicited(a, 1) == ['* METADATA INBOX /shared/comment']
    b.ok("m2", 'SETMETADATA "" (/shared/comment NIL)')
    assert unsolicited(a, 1) == ['* METADATA "" /shared/comment']
    a.send("DONE\r\n")
    a.until("i")


def test_none_stops(box):
    a = session(box)
    b = session(box)
    a.ok("n", "NOTIFY SET (personal (MailboxName))")
    a.ok("x", "NOTIFY NONE")
    b.ok("c", "CREATE Quiet")
    assert silent(a)


@pytest.mark.parametrize("args", [
    "SET (selected (MessageNew))",                     # needs MessageExpunge
    "SET (selected (MessageExpunge))",                 # needs MessageNew
    "SET (personal (FlagChange))",                     # needs both
    "SET (selected (MailboxName))",                    # selected: message events only
    "SET (selected (MessageNew MessageExpunge)) (selected-delayed (MessageNew MessageExpunge))",
    "SET (nosuch (MailboxName))",
    "SET (subtree (MailboxName))",
    "SET STATUS",
    "SET",
    "FOO",
    "SET personal MailboxName",
    "SET (personal ())",
    "SET (personal (MessageNew (UID) MessageExpunge))",  # fetch-att: selected only
])
def test_bad(box, args):
    a = session(box)
    out = a.cmd("b", "NOTIFY " + args)
    assert out[-1].startswith("b BAD"), out


def test_badevent(box):
    a = session(box)
    out = a.cmd("b", "NOTIFY SET (personal (MailboxName Frobnicate))")
    assert out[-1] == ("b NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName "
                       "SubscriptionChange MailboxMetadataChange ServerMetadataChange)] "
                       "Unsupported event")
    out = a.cmd("c", "NOTIFY SET (selected (MessageNew MessageExpunge AnnotationChange))")
    assert out[-1].startswith("c NO [BADEVENT (")


def test_rfc_example_fetch_att(box):
    """§3's example: MessageNew with a fetch-att list on the selected
    mailbox; a new message then comes as EXISTS and a FETCH with those
    attributes (§5.2), between commands; none for this session's own
    APPEND (§5.2 SHOULD NOT)."""
    a = session(box)
    a.ok("c", "CREATE Lists/Lemonade")
    b = session(box)
    out = a.ok("b", "notify set status (selected (MessageNew (uid "
                    "body.peek[header.fields (from to subject)]) MessageExpunge)) "
                    "(subtree Lists (MessageNew MessageExpunge))")
    assert out[-1] == "b OK NOTIFY completed"
    a.ok("c2", "select inbox")
    append(b, "Lists/Lemonade")
    assert unsolicited(a, 1)[0].startswith('* STATUS "Lists/Lemonade" (MESSAGES 1 ')
    uid = append(b, subject="Re: good morning")
    got = unsolicited(a, 3)
    assert got[:2] == ["* 1 EXISTS", "* 1 RECENT"], got
    assert got[2] == "* 1 FETCH (UID %d BODY[header.fields (from to subject)] {85}" % uid, got
    assert unsolicited(a, 5) == ["From: Alice <alice@example.org>", "To: dora@example.test",
                                 "Subject: Re: good morning", "", ")"]
    # its own APPEND: EXISTS at the tagged reply, no FETCH
    append(a)
    out = a.ok("n2", "NOOP")
    assert not any("FETCH" in ln for ln in out), out
    assert silent(a)


def test_fetch_att_envelope_flags_and_partial(box):
    a = session(box, select="INBOX")
    b = session(box, select="INBOX")
    a.ok("n", "NOTIFY SET (selected (MessageNew (FLAGS ENVELOPE MODSEQ "
              "BODY.PEEK[]<0.4>) MessageExpunge FlagChange))")
    append(b, flags="\\Flagged", subject="hi")
    got = unsolicited(a, 3)
    assert got[0] == "* 1 EXISTS"
    assert got[2].startswith('* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent) ENVELOPE (NIL "hi" ') \
        or got[2].startswith('* 1 FETCH (UID 1 FLAGS (\\Flagged) ENVELOPE (NIL "hi" '), got
    assert " MODSEQ (" in got[2] and got[2].endswith(" BODY[]<0> {4}"), got
    assert a.line() == "From)"


def test_fetch_att_uidonly(box):
    """Under UIDONLY (RFC 9586) the FETCH is a UIDFETCH, which leads with
    the UID: no UID item besides."""
    a = session(box)
    a.ok("e", "ENABLE UIDONLY")
    a.ok("s", "SELECT INBOX")
    b = session(box)
    a.ok("n", "NOTIFY SET (selected (MessageNew (UID FLAGS) MessageExpunge))")
    uid = append(b)
    got = unsolicited(a, 3)
    assert got[:2] == ["* 1 EXISTS", "* 1 RECENT"]
    assert got[2].startswith("* %d UIDFETCH (FLAGS (" % uid), got


@pytest.mark.parametrize("atts,why", [
    ("(BODY[HEADER])", "sets \\Seen"),
    ("(RFC822)", "sets \\Seen"),
    ("(BODY.PEEK[1])", "header sections"),
    ("(BODY.PEEK[TEXT])", "header sections"),
    ("(BODY.PEEK[])", "header sections"),
    ("(BODY.PEEK[]<0.100000>)", "header sections"),
    ("(BINARY.PEEK[1])", "no body part"),
    ("(BINARY.SIZE[1])", "no body part"),
])
def test_fetch_att_refused(box, atts, why):
    """Attributes that set \\Seen or need a body part (§5.2 SHOULD NOT), and
    unbounded bodies: NO [CANNOT]."""
    a = session(box)
    out = a.cmd("b", "NOTIFY SET (selected (MessageNew %s MessageExpunge))" % atts)
    assert out[-1].startswith("b NO [CANNOT] MessageNew takes ") and why in out[-1], out


@pytest.mark.parametrize("atts", ["()", "(NOSUCH)", "(BODY.PEEK[HEADER.FIELDS])"])
def test_fetch_att_bad(box, atts):
    a = session(box)
    out = a.cmd("b", "NOTIFY SET (selected (MessageNew %s MessageExpunge))" % atts)
    assert out[-1].startswith("b BAD"), out


def test_overflow(tern_factory):
    t = tern_factory(extra_config="[imap]\nnotify_max_pending = 2\n")
    t.add_user(USER, PASSWORD)
    a = session(t)
    b = session(t)
    a.ok("n", "NOTIFY SET (personal (MailboxName))")
    # a command in progress (a literal not yet sent): events queue up
    a.send("x APPEND INBOX {5}\r\n")
    assert a.line().startswith("+ ")
    for i in range(4):
        b.ok("c%d" % i, "CREATE Box%d" % i)
    a.send("hello\r\n")
    out = a.until("x")
    assert "* OK [NOTIFICATIONOVERFLOW] Too many notifications, NOTIFY NONE in effect" in out
    assert out[-1].startswith("x OK")
    # as after NOTIFY NONE
    b.ok("c9", "CREATE Later")
    assert silent(a)


def test_unauthenticate_drops_notify(box):
    a = session(box)
    b = session(box)
    a.ok("n", "NOTIFY SET (personal (MailboxName))")
    a.ok("u", "UNAUTHENTICATE")
    b.ok("c", "CREATE Gone")
    assert silent(a)


@pytest.mark.parametrize("groups", [
    "(personal (MessageNew MessageExpunge FlagChange))",  # INBOX matches, but is selected
    "(selected NONE) (personal (MailboxName))",
])
def test_no_selected_group_is_selected_none(box, groups):
    """RFC 5465 §3: without SELECTED / SELECTED-DELAYED the client gets no
    message events for the selected mailbox, "the same as specifying
    SELECTED NONE": no STATUS for it (even when another group names it),
    nothing between commands, and (§4) nothing in IDLE either; its updates
    wait for a tagged reply, as in the base protocol."""
    a = session(box, select="INBOX")
    b = session(box, select="INBOX")
    out = a.ok("n", "NOTIFY SET STATUS " + groups)
    assert not any(ln.startswith("* STATUS INBOX") for ln in out), out
    append(b)
    assert silent(a)
    out = a.ok("x", "NOOP")
    assert out[0] == "* 1 EXISTS", out
    a.send("i IDLE\r\n")
    assert a.line().startswith("+ ")
    b.ok("f", "STORE 1 +FLAGS (\\Flagged)")
    append(b)
    assert silent(a)
    a.send("DONE\r\n")
    out = a.until("i")
    assert "* 2 EXISTS" in out and any(ln.startswith("* 1 FETCH (UID 1 FLAGS (") for ln in out)
    assert out[-1] == "i OK IDLE terminated"


def test_selected_without_flagchange(box):
    """SELECTED (MessageNew MessageExpunge): flag changes are not told
    between commands or in IDLE, only at the next command."""
    a = session(box, select="INBOX")
    b = session(box, select="INBOX")
    append(b)
    a.ok("n0", "NOOP")
    a.ok("n", "NOTIFY SET (selected (MessageNew MessageExpunge))")
    b.ok("f", "STORE 1 +FLAGS (\\Flagged)")
    assert silent(a)
    out = a.ok("x", "NOOP")
    assert out[0].startswith("* 1 FETCH (UID 1 FLAGS ("), out
    append(b)
    assert unsolicited(a, 2)[0] == "* 2 EXISTS"


def test_fetch_att_burst_to_a_client_not_reading(box):
    """A burst of new mail for a client that does not read: the FETCHes stop
    once ~4 MiB wait in the server's output (notify_queue.c), so memory
    stays bounded; every EXISTS still comes, and the client can FETCH the
    rest."""
    a = session(box, select="INBOX")
    a.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    b = session(box)
    a.ok("n", "NOTIFY SET (selected (MessageNew (UID BODY.PEEK[]<0.65536>) MessageExpunge))")
    msg = ("From: a@example.org\r\nSubject: burst\r\n\r\n" +
           ("x" * 78 + "\r\n") * 800).encode()  # 64 KB
    total = 200
    for i in range(total):
        b.send("A%d APPEND INBOX {%d+}\r\n" % (i, len(msg)))
        b.send(msg + b"\r\n")
        assert b.until("A%d" % i)[-1].startswith("A%d OK" % i)
    b.close()
    # Now drain it with a normal window. The kernel keeps the window clamp
    # it computed from the small buffer, so SO_RCVBUF alone leaves it at
    # ~8 KiB and the drain of ~4 MiB took four minutes; TCP_WINDOW_CLAMP
    # lifts it (15 s for the whole test).
    a.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    a.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_WINDOW_CLAMP, 4 << 20)
    fetches = exists = 0
    a.send("z NOOP\r\n")
    for ln in a.until("z"):
        if ln.startswith("* ") and " FETCH (UID " in ln:
            fetches += 1
        if ln.endswith(" EXISTS"):
            exists = int(ln.split()[1])
    assert exists == total
    assert 0 < fetches < total, fetches
    out = a.ok("f", "FETCH %d (UID)" % total)
    assert out[0].startswith("* %d FETCH (UID " % total), out
