"""OBJECTID (RFC 8474), SAVEDATE (RFC 8514) against the real binary.

MAILBOXID on SELECT/EXAMINE, CREATE and STATUS (also through LIST-STATUS),
kept by RENAME and never given again after DELETE + CREATE; EMAILID kept
by COPY and MOVE, new for the same bytes stored twice, never reused after
the newest message is expunged; THREADID from Message-ID / In-Reply-To /
References, in any order of arrival, over APPEND and SMTP; the SEARCH
keys; SAVEDATE set by APPEND, delivery, COPY and MOVE, and the SAVED*
search keys. The RFC's own examples are the transcripts where they apply.
"""
import re
import time

from test_imap_messages import Raw, USER, box, deliver_smtp, login, wait_count  # noqa: F401

OBJECTID = rb"[A-Za-z0-9_-]{1,255}"


def mailboxid(lines_or_line):
    text = lines_or_line if isinstance(lines_or_line, bytes) else b"\n".join(lines_or_line)
    m = re.search(rb"MAILBOXID \((" + OBJECTID + rb")\)", text)
    assert m, text
    return m.group(1)


def append_raw(r, tag, data, mailbox="INBOX", date=None):
    """APPEND with a synchronizing literal; returns the APPENDUID uid."""
    d = ' "%s"' % date if date else ""
    r.send("%s APPEND %s%s {%d}\r\n" % (tag, mailbox, d, len(data)))
    assert r.line().startswith(b"+")
    r.send(data + b"\r\n")
    while True:
        ln = r.line()
        if ln.startswith(tag.encode() + b" "):
            break
    assert b" OK " in ln, ln
    return int(re.search(rb"APPENDUID \d+ (\d+)", ln).group(1))


def fetch_ids(r, tag, which="1:*", uid=False):
    """{uid: (emailid, threadid)} for the messages in `which`."""
    out, t = r.cmd(tag, "%sFETCH %s (UID EMAILID THREADID)" % ("UID " if uid else "", which))
    assert b" OK " in t, t
    ids = {}
    for ln in out:
        m = re.search(rb"UID (\d+)", ln)
        e = re.search(rb"EMAILID \((" + OBJECTID + rb")\)", ln)
        th = re.search(rb"THREADID \((" + OBJECTID + rb")\)", ln)
        assert m and e and th, ln
        ids[int(m.group(1))] = (e.group(1), th.group(1))
    return ids


def m(msgid, subject, refs=None, irt=None):
    h = "From: a@example.org\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\n" % (
        USER, subject, msgid)
    if irt:
        h += "In-Reply-To: <%s>\r\n" % irt
    if refs:
        h += "References: %s\r\n" % " ".join("<%s>" % x for x in refs)
    return (h + "\r\nbody of %s\r\n" % subject).encode()


def test_capabilities_after_login_only(box):
    r = Raw(box)
    _, t = r.cmd("c", "CAPABILITY")
    assert b"OBJECTID" not in r.buf and b"OBJECTID" not in t
    r.login()
    out, _ = r.cmd("c2", "CAPABILITY")
    caps = out[0].split()
    assert b"OBJECTID" in caps and b"SAVEDATE" in caps


def test_mailboxid_create_select_status_rename_delete(box):
    r = Raw(box)
    r.login()
    _, t = r.cmd("3", "CREATE foo")
    foo = mailboxid(t)
    _, t = r.cmd("4", "CREATE bar")
    bar = mailboxid(t)
    assert foo != bar
    _, t = r.cmd("5", "CREATE foo")
    assert t.startswith(b"5 NO ") and b"MAILBOXID" not in t
    out, t = r.cmd("6", "STATUS foo (MAILBOXID)")
    assert out == [b'* STATUS "foo" (MAILBOXID (' + foo + b"))"], out
    out, t = r.cmd("7", "STATUS bar (mailboxid)")
    assert out == [b'* STATUS "bar" (MAILBOXID (' + bar + b"))"], out
    _, t = r.cmd("8", "RENAME foo renamed")
    assert b"8 OK" in t
    out, _ = r.cmd("9", "STATUS renamed (MAILBOXID)")
    assert out == [b'* STATUS "renamed" (MAILBOXID (' + foo + b"))"], out
    out, _ = r.cmd("10", 'SELECT "renamed"')
    assert b"* OK [MAILBOXID (" + foo + b")] Ok" in out, out
    out, _ = r.cmd("10b", 'EXAMINE "bar"')
    assert mailboxid([x for x in out if b"MAILBOXID" in x]) == bar
    out, t = r.cmd("11", 'LIST "" "*" RETURN (STATUS (MAILBOXID))')
    assert b"11 OK" in t
    st = {ln.split()[2].strip(b'"'): mailboxid(ln) for ln in out if ln.startswith(b"* STATUS")}
    assert st[b"bar"] == bar and st[b"renamed"] == foo and b"INBOX" in st
    assert len(set(st.values())) == len(st)
    # a second session sees the same ids
    r2 = Raw(box)
    r2.login()
    out, _ = r2.cmd("a", "STATUS renamed (MAILBOXID)")
    assert mailboxid(out) == foo
    # DELETE + CREATE of the same name: a new id, never an old one
    r.cmd("u", "UNSELECT")
    _, t = r.cmd("12", "DELETE bar")
    assert b"12 OK" in t
    _, t = r.cmd("13", "CREATE bar")
    assert mailboxid(t) not in (bar, foo)
    # RENAME INBOX makes a new mailbox for its messages (RFC 8474 §4)
    out, _ = r.cmd("14", "STATUS INBOX (MAILBOXID)")
    inbox = mailboxid(out)
    _, t = r.cmd("15", "RENAME INBOX oldinbox")
    assert b"15 OK" in t
    out, _ = r.cmd("16", "STATUS INBOX (MAILBOXID)")
    assert mailboxid(out) == inbox
    out, _ = r.cmd("17", "STATUS oldinbox (MAILBOXID)")
    assert mailboxid(out) not in (inbox, foo, bar)


def test_status_mailboxid_errors(box):
    r = Raw(box)
    r.login()
    _, t = r.cmd("1", "STATUS nosuch (MAILBOXID)")
    assert t.startswith(b"1 NO [NONEXISTENT]"), t
    _, t = r.cmd("2", "STATUS INBOX (MAILBOXID MESSAGES)")
    assert b"2 OK" in t


def test_rfc8474_emailid_threadid_example(box):
    """RFC 8474 §5.3 and §6, with the RFC's messages."""
    r = Raw(box)
    r.login()
    r.cmd("c", "CREATE foo")
    a = m("fake.1521475657.54797@example.com", "Message A")
    b = m("fake.1521475657.21213@example.org", "Re: Message A",
          refs=["fake.1521475657.54797@example.com"])
    c = m("fake.1521475657.60280@example.com", "Message C")
    for i, d in enumerate((a, b, c)):
        append_raw(r, "ap%d" % i, d, date="20-Mar-2018 03:07:37 +1100")
    r.cmd("s", "SELECT INBOX")
    ids = fetch_ids(r, "22")
    (e1, t1), (e2, t2), (e3, t3) = ids[1], ids[2], ids[3]
    assert len({e1, e2, e3}) == 3
    assert t1 == t2 and t3 != t1
    assert len({e1, e2, e3, t1, t3}) == 5  # EMAILIDs and THREADIDs never clash
    out, t = r.cmd("27", "SEARCH EMAILID " + e1.decode())
    assert out == [b"* SEARCH 1"], out
    out, t = r.cmd("28", "SEARCH THREADID " + t1.decode())
    assert out == [b"* SEARCH 1 2"], out
    out, t = r.cmd("23", "MOVE 2 foo")
    assert b"23 OK" in t
    ids = fetch_ids(r, "24")
    assert ids == {1: (e1, t1), 3: (e3, t3)}
    r.cmd("25", 'SELECT "foo"')
    ids = fetch_ids(r, "26")
    assert list(ids.values()) == [(e2, t2)]


def test_emailid_copy_keeps_redelivery_and_expunge_do_not(box):
    r = Raw(box)
    r.login()
    data = m("same@example.org", "same bytes")
    append_raw(r, "a1", data)
    r.cmd("c", "CREATE other")
    r.cmd("s", "SELECT INBOX")
    r.cmd("cp", "COPY 1 other")
    append_raw(r, "a2", data)  # the same bytes again: another email
    ids = fetch_ids(r, "f")
    (e1, t1), (e2, t2) = ids[1], ids[2]
    assert e1 != e2
    assert t1 == t2  # same Message-ID: same thread
    # the copy, seen from a second session
    r2 = Raw(box)
    r2.login()
    r2.cmd("s", "SELECT other")
    assert list(fetch_ids(r2, "f").values()) == [(e1, t1)]
    # expunge the newest message everywhere; a new one must not get its id
    r.cmd("st", "UID STORE 2 +FLAGS (\\Deleted)")
    _, t = r.cmd("x", "EXPUNGE")
    assert b"x OK" in t
    append_raw(r, "a3", m("new@example.org", "new"))
    ids = fetch_ids(r, "f2")
    assert ids[3][0] not in (e1, e2)
    assert ids[3][1] not in (t1, t2)


def test_threadid_any_order_and_smtp(box):
    """Replies join their parent's thread whatever arrives first; a
    reply delivered over SMTP joins the thread its parent started over
    APPEND; a message naming only a grandparent still joins."""
    r = Raw(box)
    r.login()
    # child first, then parent (parent found through the child's References)
    append_raw(r, "a1", m("child@x", "Re: p", irt="parent@x", refs=["parent@x"]))
    append_raw(r, "a2", m("parent@x", "p"))
    # grandchild names parent and child
    deliver_smtp(box, m("grand@x", "Re: Re: p", irt="child@x", refs=["parent@x", "child@x"]))
    # unrelated
    deliver_smtp(box, m("other@x", "other"))
    # a reply over SMTP to a thread of one
    r.cmd("s", "SELECT INBOX")
    wait_count(login(box), 4)
    r.cmd("s2", "SELECT INBOX")
    ids = fetch_ids(r, "f")
    assert ids[1][1] == ids[2][1] == ids[3][1]
    assert ids[4][1] != ids[1][1]
    deliver_smtp(box, m("reply-other@x", "Re: other", irt="other@x"))
    r3 = Raw(box)
    r3.login()
    wait_count(login(box), 5)
    r3.cmd("s", "SELECT INBOX")
    ids = fetch_ids(r3, "f")
    assert ids[5][1] == ids[4][1]
    # search by thread, UID form
    out, _ = r3.cmd("u", "UID SEARCH THREADID " + ids[1][1].decode())
    assert out == [b"* SEARCH 1 2 3"], out
    # no Message-ID at all: a thread of its own
    append_raw(r3, "a9", b"Subject: none\r\n\r\nno id\r\n")
    ids = fetch_ids(r3, "f2")
    assert ids[6][1] not in {v[1] for k, v in ids.items() if k != 6}


def test_threads_are_per_account(box):
    box.add_user("dave@example.test", "dave-secret-1")
    r = Raw(box)
    r.login()
    append_raw(r, "a", m("root@x", "root"))
    r2 = Raw(box)
    _, t = r2.cmd("l", 'LOGIN "dave@example.test" "dave-secret-1"')
    assert b"OK" in t
    append_raw(r2, "b", m("reply@x", "Re: root", irt="root@x"))
    r2.cmd("s", "SELECT INBOX")
    r.cmd("s", "SELECT INBOX")
    dave = fetch_ids(r2, "f")[1]
    carol = fetch_ids(r, "f")[1]
    # dave never saw root: his reply starts a thread of its own
    assert dave[1] == b"T" + dave[0][1:]
    assert carol[1] == b"T" + carol[0][1:]


def test_objectid_search_and_fetch_errors(box):
    r = Raw(box)
    r.login()
    append_raw(r, "a", m("e@x", "e"))
    r.cmd("s", "SELECT INBOX")
    for bad in ("SEARCH EMAILID", "SEARCH EMAILID M1(", "SEARCH THREADID " + "T" * 256,
                'SEARCH EMAILID "M1"', "SEARCH EMAILID NIL("):
        _, t = r.cmd("b", bad)
        assert t.startswith(b"b BAD"), (bad, t)
    for none in ("SEARCH EMAILID x1", "SEARCH EMAILID M0", "SEARCH THREADID M1",
                 "SEARCH EMAILID M99999999999999999999", "SEARCH EMAILID m1"):
        out, t = r.cmd("n", none)
        assert t.startswith(b"n OK") and out == [b"* SEARCH"], (none, out, t)
    out, t = r.cmd("o", "SEARCH OR EMAILID M1 NOT EMAILID M1")
    assert out == [b"* SEARCH 1"], out


def test_savedate_fetch_and_search(box):
    r = Raw(box)
    r.login()
    before = time.time()
    # an old internal date: SAVEDATE is still now
    append_raw(r, "a", m("s1@x", "s1"), date="01-Jan-2015 18:50:53 +0100")
    r.cmd("c", "CREATE dst")
    r.cmd("s", "SELECT INBOX")
    out, t = r.cmd("101", "FETCH 1 (SAVEDATE INTERNALDATE)")
    assert b"101 OK" in t
    sd = re.search(rb'SAVEDATE "([^"]+)"', out[0]).group(1)
    assert re.search(rb'INTERNALDATE "01-Jan-2015 ', out[0])
    saved = time.mktime(time.strptime(sd.decode()[:20], "%d-%b-%Y %H:%M:%S"))
    # strptime reads it as local time; the server writes UTC offsets: compare loosely
    assert abs(saved - before) < 2 * 86400
    today = time.strftime("%d-%b-%Y", time.gmtime())
    out, _ = r.cmd("102", "SEARCH SAVEDON " + today)
    assert out == [b"* SEARCH 1"], out
    out, _ = r.cmd("103", "SEARCH SAVEDSINCE 28-Dec-2014")
    assert out == [b"* SEARCH 1"], out
    out, _ = r.cmd("104", "SEARCH SAVEDBEFORE " + today)
    assert out == [b"* SEARCH"], out
    out, _ = r.cmd("105", "SEARCH SAVEDATESUPPORTED")
    assert out == [b"* SEARCH 1"], out
    out, _ = r.cmd("106", "SEARCH ON 01-Jan-2015")
    assert out == [b"* SEARCH 1"], out
    _, t = r.cmd("107", "SEARCH SAVEDON 32-Jan-2015")
    assert t.startswith(b"107 BAD"), t
    _, t = r.cmd("108", "SEARCH SAVEDBEFORE")
    assert t.startswith(b"108 BAD"), t
    # COPY: the copy is saved now, the source keeps its date
    time.sleep(1.1)
    r.cmd("cp", "COPY 1 dst")
    out, _ = r.cmd("f2", "FETCH 1 SAVEDATE")
    assert re.search(rb'SAVEDATE "([^"]+)"', out[0]).group(1) == sd
    r2 = Raw(box)
    r2.login()
    r2.cmd("s", "SELECT dst")
    out, _ = r2.cmd("f", "FETCH 1 (SAVEDATE)")
    sd2 = re.search(rb'SAVEDATE "([^"]+)"', out[0]).group(1)
    assert sd2 != sd
    # delivery over SMTP gets one too
    deliver_smtp(box, m("s2@x", "s2"))
    wait_count(login(box), 2)
    r.cmd("s", "SELECT INBOX")
    out, _ = r.cmd("f3", "FETCH 2 (SAVEDATE)")
    assert re.search(rb'SAVEDATE "\d\d-\w\w\w-\d{4} \d\d:\d\d:\d\d [+-]\d{4}"', out[0]), out


def test_upgrade_from_schema_9(box):
    """Mail stored before schema 10 has no thread and no save date: each
    such message is a thread of its own (numbered like its EMAILID, so
    stable), its SAVEDATE is its internal date, and ids given after the
    upgrade never repeat one given before, even when the newest message
    was expunged."""
    from test_imap_messages import UNDO_SCHEMA_10, UNDO_AFTER_10
    r = Raw(box)
    r.login()
    append_raw(r, "a1", m("old1@x", "old1"), date="01-Jan-2015 18:50:53 +0100")
    append_raw(r, "a2", m("old2@x", "old2"), date="02-Jan-2015 18:50:53 +0100")
    r.cmd("s", "SELECT INBOX")
    before = fetch_ids(r, "f")
    r.sock.close()
    box.stop()
    db = box.db()
    db.executescript("BEGIN;" + UNDO_SCHEMA_10 + UNDO_AFTER_10 + "PRAGMA user_version = 9; COMMIT;")
    db.close()
    box.start()
    assert "event=migrated from=9 to=10" in box.logs()
    r = Raw(box)
    r.login()
    r.cmd("s", "SELECT INBOX")
    ids = fetch_ids(r, "f")
    assert [e for e, _ in ids.values()] == [e for e, _ in before.values()]
    for e, t in ids.values():
        assert t == b"T" + e[1:]
    out, _ = r.cmd("sd", "FETCH 1:2 (SAVEDATE)")
    assert b'SAVEDATE "01-Jan-2015 17:50:53 +0000"' in out[0], out
    out, _ = r.cmd("so", "SEARCH SAVEDON 02-Jan-2015")
    assert out == [b"* SEARCH 2"], out
    # the newest message goes; the next one gets a new id all the same
    r.cmd("d", "STORE 2 +FLAGS.SILENT (\\Deleted)")
    r.cmd("x", "EXPUNGE")
    append_raw(r, "a3", m("new@x", "Re: old1", irt="old1@x"))
    ids2 = fetch_ids(r, "f2")
    assert ids2[3][0] not in [e for e, _ in before.values()]
    # (old1's Message-ID was never recorded: the reply starts its own thread)
    assert ids2[3][1] == b"T" + ids2[3][0][1:]
