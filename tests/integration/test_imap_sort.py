"""SORT, THREAD (RFC 5256), SORT=DISPLAY (RFC 5957) and ESORT (RFC 5267)
against the real binary: every sort key with and without REVERSE, several
keys, base subjects, both THREAD algorithms on crafted mailboxes (loops in
References, duplicate and missing Message-IDs), UID forms, ESEARCH return
options, the errors, and messages before and after the indexer made their
sort records."""
import re
import time

import pytest

from test_imap_messages import Raw, USER, PASSWORD, login, append  # noqa: F401


def mk(subject=None, frm=None, to=None, cc=None, date=None, msgid=None, refs=None, irt=None,
       body="body\r\n"):
    h = []
    for name, v in (("From", frm), ("To", to), ("Cc", cc), ("Subject", subject), ("Date", date),
                    ("Message-ID", msgid), ("References", refs), ("In-Reply-To", irt)):
        if v is not None:
            h.append("%s: %s\r\n" % (name, v))
    return ("".join(h) + "\r\n" + body).encode()


@pytest.fixture
def box(tern):
    tern.add_user(USER, PASSWORD)
    return tern


def fill(t, msgs, dates=None):
    m = login(t)
    for i, data in enumerate(msgs):
        d = '"%s"' % dates[i] if dates else None
        append(m, data, date=d)
    m.logout()


def raw(t):
    r = Raw(t)
    r.login()
    _, tag = r.cmd("s", "SELECT INBOX")
    assert b"OK" in tag
    return r


def nums(r, cmd):
    out, tag = r.cmd("a", cmd)
    assert tag.startswith(b"a OK"), (cmd, out, tag)
    line = [ln for ln in out if ln.startswith(b"* SORT")]
    assert len(line) == 1, out
    return [int(x) for x in line[0].split()[2:]]


def thread(r, cmd):
    out, tag = r.cmd("a", cmd)
    assert tag.startswith(b"a OK"), (cmd, out, tag)
    line = [ln for ln in out if ln.startswith(b"* THREAD")]
    assert len(line) == 1, out
    return line[0][len(b"* THREAD"):].strip().decode()


def wait_indexed(t, n, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        db = t.db()
        try:
            c = db.execute("SELECT count(*) FROM imap_sort_keys").fetchone()[0]
        finally:
            db.close()
        if c >= n:
            return
        time.sleep(0.2)
    raise AssertionError("the indexer never made %d sort records" % n)


# Five messages whose keys order differently.
FIVE = [
    mk("Re: Banana", "Zed <zed@b.example>", "Amy <mike@x.example>", "c@x", "Mon, 3 Jan 2000 10:00:00 +0000",
       "<1@x>", body="x" * 300),
    mk("apple", "\"Bob\" <alice@b.example>", "Zoe <zoe@x.example>", None, "Mon, 3 Jan 2000 09:00:00 -0200",
       "<2@x>", body="x" * 100),
    mk("[fwd: cherry]", "carl@b.example", "bert@x.example", "a@x", "Sun, 2 Jan 2000 23:00:00 +0000",
       "<3@x>", body="x" * 200),
    mk("Fw: APPLE (fwd)", "=?UTF-8?Q?=C3=89mile?= <emile@b.example>", None, "b@x", None, "<4@x>",
       body="x" * 50),
    mk("banana", "Adam <bob@b.example>", "Ann <ann@x.example>", None,
       "Mon, 3 Jan 2000 10:00:00 +0000", "<5@x>", body="x" * 400),
]
FIVE_ARRIVAL = ["05-Jan-2000 00:00:00 +0000", "04-Jan-2000 00:00:00 +0000",
                "06-Jan-2000 00:00:00 +0000", "01-Jan-2000 00:00:00 +0000",
                "07-Jan-2000 00:00:00 +0000"]
# the internal date of 4 (no Date:) is 1 Jan 2000 00:00, its sent date
EXPECT = {
    "ARRIVAL": [4, 2, 1, 3, 5],
    "DATE": [4, 3, 1, 5, 2],  # 2 is 11:00 UTC; 1 and 5 tie: sequence order
    "SIZE": [4, 2, 3, 1, 5],
    "SUBJECT": [2, 4, 1, 5, 3],  # apple, apple, banana, banana, cherry
    "FROM": [2, 5, 3, 4, 1],  # alice bob carl emile zed (addr-mailbox)
    "TO": [4, 5, 3, 1, 2],  # "" ann bert mike zoe
    "CC": [2, 5, 3, 4, 1],  # "" "" a b c
    "DISPLAYFROM": [5, 2, 3, 4, 1],  # Adam Bob carl@b.example Émile Zed
    "DISPLAYTO": [4, 1, 5, 3, 2],  # "" Amy Ann bert@x.example Zoe
}


@pytest.mark.parametrize("indexed", [False, True])
def test_every_key_and_reverse(box, indexed):
    fill(box, FIVE, FIVE_ARRIVAL)
    if indexed:
        wait_indexed(box, 5)
    r = raw(box)
    for key, want in EXPECT.items():
        assert nums(r, "SORT (%s) UTF-8 ALL" % key) == want, key
    # REVERSE reverses the key; ties stay in sequence order
    assert nums(r, "SORT (REVERSE ARRIVAL) UTF-8 ALL") == [5, 3, 1, 2, 4]
    assert nums(r, "SORT (REVERSE DATE) UTF-8 ALL") == [2, 1, 5, 3, 4]
    assert nums(r, "SORT (REVERSE SUBJECT) UTF-8 ALL") == [3, 1, 5, 2, 4]
    assert nums(r, "SORT (REVERSE CC) UTF-8 ALL") == [1, 4, 3, 2, 5]
    assert nums(r, "SORT (REVERSE SIZE) UTF-8 ALL") == [5, 1, 3, 2, 4]
    assert nums(r, "SORT (REVERSE FROM) UTF-8 ALL") == [1, 4, 3, 5, 2]
    assert nums(r, "SORT (REVERSE TO) UTF-8 ALL") == [2, 1, 3, 5, 4]
    assert nums(r, "SORT (REVERSE DISPLAYFROM) UTF-8 ALL") == [1, 4, 3, 2, 5]
    assert nums(r, "SORT (REVERSE DISPLAYTO) UTF-8 ALL") == [2, 3, 5, 1, 4]
    # several keys: subject, then date descending
    assert nums(r, "SORT (SUBJECT REVERSE DATE) UTF-8 ALL") == [2, 4, 1, 5, 3]
    assert nums(r, "SORT (SUBJECT REVERSE SIZE) US-ASCII ALL") == [2, 4, 5, 1, 3]
    # search criteria restrict; UID SORT names UIDs (here equal to seqs)
    assert nums(r, "SORT (SIZE) UTF-8 1:3") == [2, 3, 1]
    assert nums(r, "SORT (SIZE) UTF-8 OR 1 5") == [1, 5]
    assert nums(r, 'SORT (SUBJECT) UTF-8 TEXT "not in mailbox"') == []
    r.send("u UID SORT (REVERSE SIZE) UTF-8 2:4\r\n")
    out, tag = [], None
    while True:
        ln = r.line()
        if ln.startswith(b"u "):
            tag = ln
            break
        out.append(ln)
    assert out == [b"* SORT 3 2 4"] and tag == b"u OK UID SORT completed", (out, tag)


def test_sort_numbers_after_expunge(box):
    fill(box, FIVE, FIVE_ARRIVAL)
    r = raw(box)
    r.cmd("d", "STORE 2 +FLAGS.SILENT (\\Deleted)")
    r.cmd("e", "EXPUNGE")
    # sequence numbers shift; UIDs do not
    assert nums(r, "SORT (SIZE) UTF-8 ALL") == [3, 2, 1, 4]
    out, tag = r.cmd("a", "UID SORT (SIZE) UTF-8 ALL")
    assert out == [b"* SORT 4 3 1 5"], out


def test_base_subject_rules(box):
    subjects = [
        "Re: re: [fwd: Hello world]",  # 1
        "hello   WORLD (fwd)",  # 2
        "[PATCH] Re: Hello world",  # 3
        "[PATCH]",  # 4: a lone blob is the base subject
        "FWD[x]: hello\tworld",  # 5
        "=?ISO-8859-1?Q?R=E9sum=E9?=",  # 6: Résumé
        "resume",  # 7
        "",  # 8: empty
        "re:",  # 9: empty base
        "[a][b] fw: zz",  # 10
    ]
    fill(box, [mk(s, "a@b", msgid="<s%d@x>" % i) for i, s in enumerate(subjects)])
    r = raw(box)
    # "" (8, 9), HELLO WORLD x4 (seq order), RESUME, RE\u0301SUME\u0301, ZZ,
    # "[PATCH]" ('[' is after 'Z')
    assert nums(r, "SORT (SUBJECT) UTF-8 ALL") == [8, 9, 1, 2, 3, 5, 7, 6, 10, 4]
    # ORDEREDSUBJECT: one thread per base subject, by first date
    assert thread(r, "THREAD ORDEREDSUBJECT UTF-8 ALL") == \
        "(1 (2)(3)(5))(4)(6)(7)(8 9)(10)"


def test_orderedsubject(box):
    msgs = [
        mk("x", "a@b", date="Tue, 4 Jan 2000 10:00:00 +0000"),  # 1
        mk("Re: y", "a@b", date="Mon, 3 Jan 2000 10:00:00 +0000"),  # 2
        mk("y", "a@b", date="Wed, 5 Jan 2000 10:00:00 +0000"),  # 3
        mk("re: x", "a@b", date="Mon, 3 Jan 2000 11:00:00 +0000"),  # 4
        mk("x", "a@b", date="Thu, 6 Jan 2000 10:00:00 +0000"),  # 5
        mk("z", "a@b", date="Sat, 1 Jan 2000 10:00:00 +0000"),  # 6
    ]
    fill(box, msgs)
    r = raw(box)
    # threads by their first date: z (6), y (2, then 3), x (4, then 1, 5)
    assert thread(r, "THREAD ORDEREDSUBJECT UTF-8 ALL") == "(6)(2 3)(4 (1)(5))"
    assert thread(r, "UID THREAD ORDEREDSUBJECT UTF-8 ALL") == "(6)(2 3)(4 (1)(5))"
    assert thread(r, 'THREAD ORDEREDSUBJECT US-ASCII TEXT "gewp"') == ""
    assert thread(r, "THREAD ORDEREDSUBJECT UTF-8 1:3") == "(2 3)(1)"


def test_references(box):
    d = "Mon, %d Jan 2000 10:00:00 +0000"
    msgs = [
        mk("root", "a@b", date=d % 1, msgid="<a@x>"),  # 1
        mk("Re: root", "a@b", date=d % 2, msgid="<b@x>", refs="<a@x>"),  # 2
        mk("Re: root", "a@b", date=d % 4, msgid="<c@x>", refs="<a@x> <b@x>"),  # 3
        mk("Re: root", "a@b", date=d % 3, msgid="<d@x>", irt="<b@x> (was there)"),  # 4
        # a parent we do not have: 5 and 6 are siblings under a dummy
        mk("other", "a@b", date=d % 6, msgid="<e@x>", refs="<gone@x>"),  # 5
        mk("other", "a@b", date=d % 5, msgid="<f@x>", refs="<gone@x>"),  # 6
        # no Message-ID at all, reply by subject to 1's thread
        mk("Re: root", "a@b", date=d % 7),  # 7
        # a duplicate Message-ID: only the first (1) owns it
        mk("dup", "a@b", date=d % 8, msgid="<a@x>"),  # 8
        # a loop: 9 says 10 is its parent, 10 says 9 is its
        mk("loop", "a@b", date=d % 9, msgid="<l1@x>", refs="<l2@x>"),  # 9
        mk("loop", "a@b", date=d % 10, msgid="<l2@x>", refs="<l1@x>"),  # 10
        # quoted msg-id equals the plain one
        mk("Re: quoted", "a@b", date=d % 12, msgid="<q2@x>", refs='<"q1"@x>'),  # 11
        mk("quoted", "a@b", date=d % 11, msgid="<q1@x>"),  # 12
        # references that loop back on itself
        mk("self", "a@b", date=d % 13, msgid="<s@x>", refs="<s@x> <s@x>"),  # 13
    ]
    fill(box, msgs)
    r = raw(box)
    got = thread(r, "THREAD REFERENCES UTF-8 ALL")
    # 1 has 2 (-> 4, 3) and 7 (by subject: a reply to "root");
    # 5 and 6 under a dummy (6 older); 8 alone; 9/10: 9 is 10's child
    # (10's References come later and would make a loop, so 10 keeps 9's
    # link? no: 9 was linked under 10 first, 10's link to 9 is refused)
    assert got == "(1 (2 (4)(3))(7))((6)(5))(8)(10 9)(12 11)(13)", got
    assert thread(r, "UID THREAD REFERENCES UTF-8 ALL") == got
    # search criteria: only some messages take part
    assert thread(r, "THREAD REFERENCES UTF-8 3:4") == "((4)(3))"
    assert thread(r, "THREAD REFERENCES UTF-8 SUBJECT other") == "((6)(5))"


def test_references_subject_merges(box):
    d = "Mon, %d Jan 2000 10:00:00 +0000"
    msgs = [
        mk("Topic", "a@b", date=d % 1, msgid="<1@x>"),  # 1
        mk("Topic", "a@b", date=d % 2, msgid="<2@x>"),  # 2: neither a reply: dummy
        mk("Re: Other", "a@b", date=d % 3, msgid="<3@x>"),  # 3
        mk("Other", "a@b", date=d % 4, msgid="<4@x>"),  # 4: 3 is a reply, 4 is not
        mk("", "a@b", date=d % 5, msgid="<5@x>"),  # 5: empty subjects are never merged
        mk("", "a@b", date=d % 6, msgid="<6@x>"),  # 6
    ]
    fill(box, msgs)
    r = raw(box)
    assert thread(r, "THREAD REFERENCES UTF-8 ALL") == "((1)(2))(4 3)(5)(6)"


def test_esort(box):
    fill(box, FIVE, FIVE_ARRIVAL)
    r = raw(box)
    out, tag = r.cmd("E01", "UID SORT RETURN () (REVERSE SIZE) UTF-8 ALL")
    assert out == [b'* ESEARCH (TAG "E01") UID ALL 5,1,3,2,4'], out
    assert tag == b"E01 OK UID SORT completed"
    out, tag = r.cmd("E02", "SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) UTF-8 ALL")
    assert out == [b'* ESEARCH (TAG "E02") MIN 2 MAX 3 COUNT 5 ALL 2,4,1,5,3'], out
    # ascending runs become ranges, descending ones do not (RFC 5267 §3.2)
    out, tag = r.cmd("E03", "SORT RETURN (ALL) (REVERSE ARRIVAL) UTF-8 ALL")
    assert out == [b'* ESEARCH (TAG "E03") ALL 5,3,1:2,4'], out
    out, tag = r.cmd("E04", "SORT RETURN (ALL) (ARRIVAL) UTF-8 1:3")
    assert out == [b'* ESEARCH (TAG "E04") ALL 2,1,3'], out
    out, tag = r.cmd("E05", "SORT RETURN (COUNT) (SIZE) UTF-8 TEXT nothingmatches")
    assert out == [b'* ESEARCH (TAG "E05") COUNT 0'], out
    out, tag = r.cmd("E06", "SORT RETURN (MIN) (SIZE) UTF-8 TEXT nothingmatches")
    assert out == [b'* ESEARCH (TAG "E06")'], out
    out, tag = r.cmd("E07", "SORT RETURN (BOGUS) (SIZE) UTF-8 ALL")
    assert tag.startswith(b"E07 BAD"), tag


def test_capabilities(box):
    r = Raw(box)
    r.login()
    out, _ = r.cmd("c", "CAPABILITY")
    caps = out[0].split()
    for c in (b"SORT", b"SORT=DISPLAY", b"THREAD=ORDEREDSUBJECT", b"THREAD=REFERENCES",
              b"ESORT"):
        assert c in caps, out


@pytest.mark.parametrize("cmd,want", [
    ("SORT (BOGUS) UTF-8 ALL", b"BAD"),
    ("SORT () UTF-8 ALL", b"BAD"),
    ("SORT SUBJECT UTF-8 ALL", b"BAD"),
    ("SORT (REVERSE) UTF-8 ALL", b"BAD"),
    ("SORT (REVERSE REVERSE DATE) UTF-8 ALL", b"BAD"),
    ("SORT (SUBJECT)", b"BAD"),
    ("SORT (SUBJECT) UTF-8", b"BAD"),
    ("SORT (SUBJECT) UTF-8 BOGUSKEY", b"BAD"),
    ("SORT (SUBJECT) UTF-8 (ALL", b"BAD"),
    ("SORT (SUBJECT) KOI8-R ALL", b"NO [BADCHARSET (UTF-8 US-ASCII)]"),
    ("SORT (%s) UTF-8 ALL" % " ".join(["DATE"] * 17), b"BAD"),
    ("SORT RETURN (ALL)", b"BAD"),
    ("SORT RETURN ALL (DATE) UTF-8 ALL", b"BAD"),
    ("THREAD", b"BAD"),
    ("THREAD BOGUS UTF-8 ALL", b"BAD"),
    ("THREAD REFERENCES", b"BAD"),
    ("THREAD REFERENCES UTF-8", b"BAD"),
    ("THREAD REFERENCES ISO-8859-1 ALL", b"NO [BADCHARSET (UTF-8 US-ASCII)]"),
    ("THREAD (REFERENCES) UTF-8 ALL", b"BAD"),
])
def test_errors(box, cmd, want):
    fill(box, FIVE[:1])
    r = raw(box)
    out, tag = r.cmd("x", cmd)
    assert tag.startswith(b"x " + want), (cmd, tag)
    # the session goes on
    assert nums(r, "SORT (DATE) UTF-8 ALL") == [1]


def test_not_selected(box):
    r = Raw(box)
    r.login()
    _, tag = r.cmd("x", "SORT (DATE) UTF-8 ALL")
    assert tag.startswith(b"x BAD") or tag.startswith(b"x NO"), tag
    _, tag = r.cmd("y", "THREAD REFERENCES UTF-8 ALL")
    assert tag.startswith(b"y BAD") or tag.startswith(b"y NO"), tag


def test_empty_mailbox(box):
    r = raw(box)
    assert nums(r, "SORT (DATE) UTF-8 ALL") == []
    assert thread(r, "THREAD REFERENCES UTF-8 ALL") == ""
    out, _ = r.cmd("e", "SORT RETURN (COUNT) (DATE) UTF-8 ALL")
    assert out == [b'* ESEARCH (TAG "e") COUNT 0'], out


def test_imaplib_sort_and_thread(box):
    fill(box, FIVE, FIVE_ARRIVAL)
    m = login(box)
    m.select("INBOX")
    typ, data = m.sort("(SUBJECT)", "UTF-8", "ALL")
    assert typ == "OK" and data[0].split() == [b"2", b"4", b"1", b"5", b"3"]
    typ, data = m.thread("REFERENCES", "UTF-8", "ALL")
    assert typ == "OK" and data[0].startswith(b"(")
    m.logout()


def test_new_mail_after_a_sort(box):
    """The records of a mailbox are kept between SORTs (sort_cache.c):
    mail that arrives later, and expunges, still show."""
    fill(box, FIVE[:3], FIVE_ARRIVAL[:3])
    r = raw(box)
    assert nums(r, "SORT (SUBJECT) UTF-8 ALL") == [2, 1, 3]
    m = login(box)
    append(m, mk("aardvark", "a@b", msgid="<new@x>"))
    m.logout()
    r.cmd("n", "NOOP")
    assert nums(r, "SORT (SUBJECT) UTF-8 ALL") == [4, 2, 1, 3]
    r.cmd("d", "STORE 2 +FLAGS.SILENT (\\Deleted)")
    r.cmd("e", "EXPUNGE")
    assert nums(r, "SORT (SUBJECT) UTF-8 ALL") == [3, 1, 2]
    # another session of the same mailbox sees the same
    r2 = raw(box)
    assert nums(r2, "SORT (SUBJECT) UTF-8 ALL") == [3, 1, 2]
    assert thread(r2, "THREAD ORDEREDSUBJECT UTF-8 ALL").count("(") == 3


def test_esort_partial_and_save(box):
    """ESORT through the one ESEARCH writer: PARTIAL (RFC 9394) slices the
    sorted result, SAVE (RFC 5182 §2.4) keeps what is reported as $, MIN
    and MAX are first and last in sort order (RETURN (UPDATE): see
    test_imap_context_sort.py)."""
    fill(box, FIVE, FIVE_ARRIVAL)
    r = raw(box)  # REVERSE ARRIVAL: 5,3,1,2,4
    out, tag = r.cmd("P1", "SORT RETURN (PARTIAL 1:2) (REVERSE ARRIVAL) UTF-8 ALL")
    assert out == [b'* ESEARCH (TAG "P1") PARTIAL (1:2 5,3)'], out
    out, tag = r.cmd("P2", "UID SORT RETURN (PARTIAL -1:-2) (REVERSE ARRIVAL) UTF-8 ALL")
    assert out == [b'* ESEARCH (TAG "P2") UID PARTIAL (-1:-2 2,4)'], out
    out, tag = r.cmd("P3", "SORT RETURN (PARTIAL 9:10 COUNT) (REVERSE ARRIVAL) UTF-8 ALL")
    assert out == [b'* ESEARCH (TAG "P3") COUNT 5 PARTIAL (9:10 NIL)'], out
    for i, bad in enumerate(["RETURN (PARTIAL 1:2 ALL)", "RETURN (PARTIAL 0:2)",
                             "RETURN (UPDATE BOGUS)", "RETURN (PARTIAL 1:2 PARTIAL 3:4)"]):
        out, tag = r.cmd("B%d" % i, "SORT %s (DATE) UTF-8 ALL" % bad)
        assert tag.startswith(b"B%d BAD" % i) and not out, (bad, out, tag)
    # SAVE alone: no ESEARCH; $ is every hit, ascending
    out, tag = r.cmd("S1", "UID SORT RETURN (SAVE) (REVERSE ARRIVAL) UTF-8 2:5")
    assert out == [] and tag.startswith(b"S1 OK"), (out, tag)
    assert nums_search(r, "UID SEARCH UID $") == [2, 3, 4, 5]
    # SAVE with MIN and MAX: the first and last in sort order
    out, tag = r.cmd("S2", "SORT RETURN (SAVE MIN MAX) (REVERSE ARRIVAL) UTF-8 ALL")
    assert out == [b'* ESEARCH (TAG "S2") MIN 5 MAX 4'], out
    assert nums_search(r, "SEARCH $") == [4, 5]
    # SAVE with PARTIAL: the slice reported
    out, tag = r.cmd("S3", "SORT RETURN (SAVE PARTIAL 2:3) (REVERSE ARRIVAL) UTF-8 ALL")
    assert out == [b'* ESEARCH (TAG "S3") PARTIAL (2:3 3,1)'], out
    assert nums_search(r, "SEARCH $") == [1, 3]
    # $ in SORT's own keys
    assert nums(r, "SORT (ARRIVAL) UTF-8 $") == [1, 3]
    # nothing found: $ is empty
    out, tag = r.cmd("S4", "SORT RETURN (SAVE) (SUBJECT) UTF-8 TEXT nothingmatches")
    assert out == [] and tag.startswith(b"S4 OK"), (out, tag)
    assert nums_search(r, "SEARCH $") == []


def nums_search(r, cmd):
    out, tag = r.cmd("q", cmd)
    assert tag.startswith(b"q OK"), (cmd, out, tag)
    line = [ln for ln in out if ln.startswith(b"* SEARCH")]
    assert len(line) == 1, out
    return [int(x) for x in line[0].split()[2:]]


def esearch_set(text):
    """An ESEARCH sequence set (ascending runs as a:b) as a list."""
    if text == "NIL":
        return []
    out = []
    for part in text.split(","):
        if ":" in part:
            a, b = (int(x) for x in part.split(":"))
            out.extend(range(a, b + 1) if a <= b else range(a, b - 1, -1))
        else:
            out.append(int(part))
    return out


def test_esort_partial_ranges_many(box):
    """An ESORT that reports only MIN, MAX, COUNT or a PARTIAL range is not
    sorted whole (cmd_sort.c selects the positions it needs): the slices
    must be exactly those of the full sort, at the edges (1:1, the last
    page, past the end, -1:-50, REVERSE) and with many equal keys (ties in
    sequence order); sequence numbers differ from UIDs (expunged ones)."""
    n_all = 160
    subjects = ["apple", "banana", "cherry", "Re: apple"]
    dates = ["Mon, 3 Jan 2000 10:00:00 +0000", "Sun, 2 Jan 2000 10:00:00 +0000",
             "Tue, 4 Jan 2000 10:00:00 +0000"]
    msgs, arrival = [], []
    for i in range(n_all):
        msgs.append(mk(subjects[(i * 7) % 4], "u%d@b.example" % (i % 5), date=dates[(i * 3) % 3],
                       msgid="<m%d@x>" % i, body="x" * (10 + (i * 37) % 13)))
        arrival.append("%02d-Jan-2001 00:00:00 +0000" % (1 + (i * 11) % 5))
    fill(box, msgs, arrival)
    r = raw(box)
    out, tag = r.cmd("d", "STORE 1:10 +FLAGS.SILENT (\\Deleted)")
    assert tag.startswith(b"d OK"), tag
    out, tag = r.cmd("x", "EXPUNGE")
    assert tag.startswith(b"x OK"), tag
    n = n_all - 10
    criteria = ["(DATE)", "(REVERSE ARRIVAL)", "(SUBJECT)", "(REVERSE DATE SUBJECT)",
                "(SIZE)", "(REVERSE FROM ARRIVAL)"]
    ranges = ["1:1", "1:50", "51:100", "%d:%d" % (n - 49, n), "%d:%d" % (n - 9, n + 20),
              "%d:%d" % (n + 1, n + 50), "-1:-50", "-1:-1", "-%d:-%d" % (n - 9, n + 20),
              "60:70", "-%d:-%d" % (n + 1, n + 9)]
    k = 0
    for uid in ("", "UID "):
        for crit in criteria:
            full = nums(r, "%sSORT %s UTF-8 ALL" % (uid, crit))
            assert len(full) == n
            for rng in ranges:
                k += 1
                tag_ = "P%d" % k
                out, tag = r.cmd(tag_, "%sSORT RETURN (PARTIAL %s) %s UTF-8 ALL" % (uid, rng, crit))
                assert tag.startswith(tag_.encode() + b" OK"), (crit, rng, tag)
                m = re.search(rb"PARTIAL \((\S+) ([^)]*)\)", out[0])
                assert m and m.group(1).decode() == rng, (crit, rng, out)
                a, b = (abs(int(x)) for x in rng.split(":"))
                lo, hi = min(a, b), max(a, b)
                want = full[lo - 1:hi] if not rng.startswith("-") else \
                    full[max(n - hi, 0):max(n - lo + 1, 0)]
                assert esearch_set(m.group(2).decode()) == want, (uid, crit, rng)
            out, tag = r.cmd("M", "%sSORT RETURN (MIN MAX COUNT PARTIAL 60:70) %s UTF-8 ALL"
                             % (uid, crit))
            want = "MIN %d MAX %d COUNT %d" % (full[0], full[-1], n)
            assert want.encode() in out[0], (crit, out)
            for opt, v in (("MIN", full[0]), ("MAX", full[-1])):
                out, tag = r.cmd("N", "%sSORT RETURN (%s) %s UTF-8 ALL" % (uid, opt, crit))
                assert out[0].endswith(b" %s %d" % (opt.encode(), v)), (crit, opt, out)
            out, tag = r.cmd("S", "%sSORT RETURN (SAVE PARTIAL -1:-5) %s UTF-8 ALL"
                             % (uid, crit))
            assert tag.startswith(b"S OK"), tag
            assert nums_search(r, "%sSEARCH %s$" % (uid, "UID " if uid else "")) == \
                sorted(full[-5:])


def test_esort_partial_update_keeps_whole_order(box):
    """RETURN (UPDATE PARTIAL ...) on more messages than the selection
    threshold: the CONTEXT=SORT context needs the whole order (not just
    the page), so a new message's ADDTO position is its place in a SORT
    from scratch."""
    dates = ["Mon, %d Jan 2001 10:00:00 +0000" % (1 + (i * 7) % 28) for i in range(100)]
    fill(box, [mk("s%d" % i, "a@b", date=d, msgid="<u%d@x>" % i) for i, d in enumerate(dates)])
    r = raw(box)
    out, tag = r.cmd("U1", "UID SORT RETURN (UPDATE PARTIAL 1:5) (DATE) UTF-8 ALL")
    assert tag.startswith(b"U1 OK"), (out, tag)
    m = login(box)
    uid = append(m, mk("new", "a@b", date="Mon, 15 Jan 2001 09:00:00 +0000", msgid="<new@x>"))
    m.logout()
    out, tag = r.cmd("n", "NOOP")
    adds = [ln for ln in out if b"ADDTO" in ln]
    full = nums(r, "UID SORT (DATE) UTF-8 ALL")
    assert adds == [b'* ESEARCH (TAG "U1") UID ADDTO (%d %d)' % (full.index(uid) + 1, uid)], out
