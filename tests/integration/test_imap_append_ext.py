"""MULTIAPPEND (RFC 3502) and REPLACE (RFC 8508) against the real binary.

MULTIAPPEND: the RFC's example transcript, then atomicity: a bad flag, a
bad date, an empty or too big message, an over-quota sum, a literal the
spool budget refuses, or a client that hangs up in the middle, and nothing
of the command is stored. REPLACE and UID REPLACE: the RFC's examples
(APPENDUID in an untagged OK, EXISTS, EXPUNGE), VANISHED under QRESYNC,
another target mailbox, the net quota, and the errors.
"""
import imaplib
import re
import socket
import time

import pytest

from conftest import HOST, ssl_ctx

USER = "dora@example.test"
PASSWORD = "append-secret-1"


@pytest.fixture
def box(tern):
    tern.add_user(USER, PASSWORD)
    return tern


class Raw:
    """Line-level IMAP client over TLS, synchronising literals by hand."""

    def __init__(self, t):
        s = socket.create_connection((HOST, t.port("imaps")), timeout=30)
        self.sock = ssl_ctx().wrap_socket(s, server_hostname="localhost")
        self.buf = b""
        self.line()
        _, tag = self.cmd(b"l", b'LOGIN "%s" "%s"' % (USER.encode(), PASSWORD.encode()))
        assert b" OK" in tag, tag

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            c = self.sock.recv(65536)
            if not c:
                raise ConnectionError("closed: %r" % self.buf)
            self.buf += c
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def read_exact(self, n):
        while len(self.buf) < n:
            c = self.sock.recv(65536)
            if not c:
                raise ConnectionError("closed")
            self.buf += c
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def until(self, tag):
        """Untagged lines (a literal joined to its line) and the tagged one."""
        out = []
        while True:
            ln = self.line()
            m = re.search(rb"\{(\d+)\}$", ln)
            if m:
                ln = ln + b"\r\n" + self.read_exact(int(m.group(1))) + self.line()
            if ln.startswith(tag + b" "):
                return out, ln
            out.append(ln)

    def cmd(self, tag, text):
        self.send(tag + b" " + text + b"\r\n")
        return self.until(tag)

    def sync(self, tag, pieces):
        """Send a command whose pieces end in synchronising literal
        headers: wait for "+" after each but the last. Returns (untagged,
        tagged) or, if the server answers instead of "+", that answer."""
        self.send(tag + b" ")
        for i, p in enumerate(pieces):
            self.send(p)
            if i + 1 < len(pieces):
                ln = self.line()
                if not ln.startswith(b"+"):
                    return [], ln
        self.send(b"\r\n")
        return self.until(tag)

    def close(self):
        self.sock.close()


def count(t, mailbox="INBOX"):
    m = imaplib.IMAP4_SSL(HOST, t.port("imaps"), ssl_context=ssl_ctx(), timeout=30)
    m.login(USER, PASSWORD)
    typ, d = m.select(mailbox)
    assert typ == "OK", d
    m.logout()
    return int(d[0])


def mail(subject, size=0):
    head = ("From: Fred <fred@example.com>\r\nTo: %s\r\nSubject: %s\r\n\r\n"
            % (USER, subject)).encode()
    line = b"x" * 70 + b"\r\n"
    return head + line * (size // len(line)) + b"body\r\n"


def lit(data, plus=False):
    return b"{%d%s}\r\n" % (len(data), b"+" if plus else b"") + data


# ---- MULTIAPPEND ----------------------------------------------------------

RFC3502_1 = (b"Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n"
             b"From: Fred Foobar <foobar@Blurdybloop.example.COM>\r\n"
             b"Subject: afternoon meeting\r\n"
             b"To: mooch@owatagu.example.net\r\n"
             b"Message-Id: <B27397-0100000@Blurdybloop.example.COM>\r\n"
             b"MIME-Version: 1.0\r\n"
             b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
             b"\r\n"
             b"Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n")
RFC3502_2 = (b"Date: Mon, 7 Feb 1994 22:43:04 -0800 (PST)\r\n"
             b"From: Joe Mooch <mooch@OWaTaGu.example.net>\r\n"
             b"Subject: Re: afternoon meeting\r\n"
             b"To: foobar@blurdybloop.example.com\r\n"
             b"Message-Id: <a0434793874930@OWaTaGu.example.net>\r\n"
             b"MIME-Version: 1.0\r\n"
             b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
             b"\r\n"
             b"3:30 is fine with me.\r\n")


def test_multiappend_rfc3502_example(box):
    r = Raw(box)
    _, tag = r.cmd(b"c", b"CAPABILITY")
    _, tag = r.cmd(b"A002", b"CREATE saved-messages")
    assert tag.startswith(b"A002 OK"), tag
    # the RFC's transcript, with synchronising literals: "+" for each
    out, tag = r.sync(b"A003", [
        b"APPEND saved-messages (\\Seen) {%d}\r\n" % len(RFC3502_1),
        RFC3502_1 + b' (\\Seen) " 7-Feb-1994 22:43:04 -0800" {%d}\r\n' % len(RFC3502_2),
        RFC3502_2])
    assert re.match(rb"A003 OK \[APPENDUID (\d+) 1:2\] APPEND completed$", tag), tag
    # the RFC answers TRYCREATE at the literal's header; tern reads the
    # command first (the RFC's MAY), then answers the same
    out, tag = r.sync(b"A004", [b"APPEND bogusname (\\Flagged) {1023}\r\n", b"x" * 1023])
    assert tag == b"A004 NO [TRYCREATE] No such mailbox", tag
    out, tag = r.cmd(b"A006", b"EXAMINE saved-messages")
    assert b"* 2 EXISTS" in out
    out, tag = r.cmd(b"A007", b"FETCH 1:2 (FLAGS INTERNALDATE RFC822.SIZE)")
    assert out[0] == (b'* 1 FETCH (FLAGS (\\Seen \\Recent) INTERNALDATE "%s" RFC822.SIZE %d)'
                      % (out[0].split(b'"')[1], len(RFC3502_1))), out
    assert out[1] == (b'* 2 FETCH (FLAGS (\\Seen \\Recent) INTERNALDATE '
                      b'"08-Feb-1994 06:43:04 +0000" RFC822.SIZE %d)' % len(RFC3502_2)), out
    out, tag = r.cmd(b"A008", b"FETCH 2 BODY.PEEK[]")
    assert out[0].endswith(RFC3502_2 + b")"), out
    r.close()


def test_multiappend_appenduid_set_and_capability(box):
    m = imaplib.IMAP4_SSL(HOST, box.port("imaps"), ssl_context=ssl_ctx(), timeout=30)
    m.login(USER, PASSWORD)
    typ, caps = m.capability()
    assert b" MULTIAPPEND " in caps[0], caps
    m.logout()
    r = Raw(box)
    msgs = [mail("m%d" % i) for i in range(5)]
    out, tag = r.cmd(b"a", b"APPEND INBOX " + b" ".join(lit(x, True) for x in msgs))
    assert re.match(rb"a OK \[APPENDUID \d+ 1:5\]", tag), tag
    out, tag = r.cmd(b"b", b"APPEND INBOX " + b" ".join(lit(x, True) for x in msgs[:2]))
    assert re.match(rb"b OK \[APPENDUID \d+ 6:7\]", tag), tag
    assert count(box) == 7


@pytest.mark.parametrize("bad, answer", [
    (b"(\\Bogus) ", b"BAD"),                                    # a flag clients may not set
    (b'"31-Feb-2020 00:00:00 +0000" ', b"BAD"),                  # no such date
    (b"(\\Seen) (\\Seen) ", b"BAD"),                            # two flag lists
])
def test_multiappend_bad_part_stores_nothing(box, bad, answer):
    r = Raw(box)
    good = mail("good")
    out, tag = r.cmd(b"a", b"APPEND INBOX " + lit(good, True) + b" " + bad + lit(good, True) +
                     b" " + lit(good, True))
    assert tag.startswith(b"a " + answer), tag
    # the connection goes on, and nothing of the command was stored
    _, tag = r.cmd(b"n", b"NOOP")
    assert tag.startswith(b"n OK")
    r.close()
    assert count(box) == 0


def test_multiappend_empty_or_too_big_part_stores_nothing(box):
    r = Raw(box)
    good = mail("good")
    out, tag = r.cmd(b"a", b"APPEND INBOX " + lit(good, True) + b" {0+}\r\n")
    assert tag.startswith(b"a NO"), tag
    # over APPENDLIMIT (50 MiB): refused at its header, before any "+";
    # the first message was already sent
    out, tag = r.sync(b"b", [b"APPEND INBOX " + lit(good, True) + b" {60000000}\r\n", b""])
    assert tag.startswith(b"b NO [TOOBIG]") or tag.startswith(b"b BAD"), tag
    _, tag = r.cmd(b"n", b"NOOP")
    assert tag.startswith(b"n OK")
    r.close()
    assert count(box) == 0


def test_multiappend_client_gives_up_midway(box):
    r = Raw(box)
    good = mail("good", 2000)
    # two messages sent, the third announced and half sent, then the
    # client is gone: nothing may be stored
    r.send(b"a APPEND INBOX {%d}\r\n" % len(good))
    assert r.line().startswith(b"+")
    r.send(good + b" {%d}\r\n" % len(good))
    assert r.line().startswith(b"+")
    r.send(good + b" {%d}\r\n" % len(good))
    assert r.line().startswith(b"+")
    r.send(good[:1000])
    time.sleep(0.2)
    r.close()
    time.sleep(0.3)
    assert count(box) == 0
    # and a client that announces a literal and then says nothing more
    # stores nothing either when it hangs up
    r = Raw(box)
    r.send(b"b APPEND INBOX " + lit(good, True) + b" {%d}\r\n" % len(good))
    assert r.line().startswith(b"+")
    r.close()
    time.sleep(0.3)
    assert count(box) == 0


def test_multiappend_quota_is_for_the_sum(box):
    r = box.cli("user", "quota", USER, "10000")
    assert r.returncode == 0, r.stderr
    a, b = mail("a", 4000), mail("b", 4000)
    c = Raw(box)
    # each fits, the three together do not
    out, tag = c.cmd(b"a", b"APPEND INBOX " + b" ".join(lit(x, True) for x in (a, b, a)))
    assert tag.startswith(b"a NO [OVERQUOTA]"), tag
    assert count(box) == 0
    out, tag = c.cmd(b"b", b"APPEND INBOX " + b" ".join(lit(x, True) for x in (a, b)))
    assert re.match(rb"b OK \[APPENDUID \d+ 1:2\]", tag), tag
    c.close()
    assert count(box) == 2


def test_multiappend_too_many_messages(box):
    r = Raw(box)
    one = b"Subject: s\r\n\r\nx\r\n"
    out, tag = r.cmd(b"a", b"APPEND INBOX " + b" ".join([lit(one, True)] * 1001))
    assert tag.startswith(b"a NO [LIMIT]"), tag
    r.close()
    assert count(box) == 0


def test_multiappend_literals_charged_to_spool_budget(tern_factory):
    """Every literal of a MULTIAPPEND draws from [smtp] spool_memory: the
    third of three 2 MB messages does not fit a 5 MB budget, the command
    is refused with NO [UNAVAILABLE], and the first two are not stored."""
    t = tern_factory(extra_config="[smtp]\nspool_memory = %d\n" % (5 * 1024 * 1024))
    t.add_user(USER, PASSWORD)
    r = Raw(t)
    big = mail("big", 2 * 1024 * 1024)
    out, tag = r.sync(b"a", [b"APPEND INBOX {%d}\r\n" % len(big),
                             big + b" {%d}\r\n" % len(big),
                             big + b" {%d}\r\n" % len(big), big])
    assert tag.startswith(b"a NO [UNAVAILABLE]"), tag
    _, tag = r.cmd(b"n", b"NOOP")
    assert tag.startswith(b"n OK")
    # the budget came back: two fit now
    out, tag = r.sync(b"b", [b"APPEND INBOX {%d}\r\n" % len(big),
                             big + b" {%d}\r\n" % len(big), big])
    assert re.match(rb"b OK \[APPENDUID \d+ 1:2\]", tag), tag
    r.close()
    assert count(t) == 2


# ---- REPLACE --------------------------------------------------------------

RFC8508_1 = (b"Date: Thu, 1 Jan 2015 00:05:00 -0500 (EST)\r\n"
             b"From: Fritz Schmidt <fritz.ze@example.org>\r\n"
             b"Subject: happy new year !!\r\n"
             b"To: miss.mitzy@example.org\r\n"
             b"Message-Id: <B238822388-0100000@example.org>\r\n"
             b"MIME-Version: 1.0\r\n"
             b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
             b"\r\n"
             b"Just saw the best fireworks show. Wish you were here.\r\n")
RFC8508_2 = (b"Date: Thu, 1 Jan 2015 00:06:00 -0500 (EST)\r\n"
             b"From: Fritz Schmidt <fritz.ze@example.org>\r\n"
             b"Subject: happy new year !!\r\n"
             b"To: miss.mitzy@example.org\r\n"
             b"Message-Id: <B238822389-0100000@example.org>\r\n"
             b"MIME-Version: 1.0\r\n"
             b"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
             b"\r\n"
             b"Just saw the best fireworks show. Wish you were here.\r\n"
             b"Hopefully next year you can join us.\r\n")


def drafts_with_four(box):
    r = Raw(box)  # Drafts is made with the account
    _, tag = r.cmd(b"a", b"APPEND Drafts " + b" ".join(lit(mail("d%d" % i), True)
                                                     for i in range(4)))
    assert tag.startswith(b"a OK [APPENDUID"), tag
    uv = int(re.search(rb"APPENDUID (\d+)", tag).group(1))
    out, tag = r.cmd(b"s", b"SELECT Drafts")
    assert b"* 4 EXISTS" in out, out
    return r, uv


def test_replace_rfc8508_examples(box):
    r, uv = drafts_with_four(box)
    _, tag = r.cmd(b"e", b"ENABLE IMAP4rev2")  # no RECENT: the RFC's transcript exactly
    assert tag.startswith(b"e OK"), tag
    # REPLACE 4: APPENDUID in an untagged OK, then EXISTS, then EXPUNGE
    out, tag = r.sync(b"A003", [b"REPLACE 4 Drafts (\\Seen \\Draft) {%d}\r\n" % len(RFC8508_1),
                                RFC8508_1])
    assert out == [b"* OK [APPENDUID %d 5] Replacement Message ready" % uv,
                   b"* 5 EXISTS", b"* 4 EXPUNGE"], out
    assert tag == b"A003 OK REPLACE completed", tag
    # UID REPLACE of the message just made (UID 5, now seq 4)
    out, tag = r.sync(b"A004", [b"UID REPLACE 5 Drafts (\\Seen \\Draft) {%d}\r\n" % len(RFC8508_2),
                                RFC8508_2])
    assert out == [b"* OK [APPENDUID %d 6] Replacement Message ready" % uv,
                   b"* 5 EXISTS", b"* 4 EXPUNGE"], out
    assert tag == b"A004 OK UID REPLACE completed", tag
    out, tag = r.cmd(b"f", b"UID FETCH 1:* (FLAGS RFC822.SIZE)")
    # (\Recent was claimed at SELECT, before ENABLE: left out here)
    assert [re.sub(rb"^\* \d+ FETCH | ?\\Recent", b"", ln) for ln in out] == [
        b"(UID 1 FLAGS () RFC822.SIZE %d)" % len(mail("d0")),
        b"(UID 2 FLAGS () RFC822.SIZE %d)" % len(mail("d1")),
        b"(UID 3 FLAGS () RFC822.SIZE %d)" % len(mail("d2")),
        b"(UID 6 FLAGS (\\Seen \\Draft) RFC822.SIZE %d)" % len(RFC8508_2)], out
    r.close()
    assert count(box, "Drafts") == 4


def test_replace_into_another_mailbox_and_qresync(box):
    r, uv = drafts_with_four(box)
    _, tag = r.cmd(b"e", b"ENABLE QRESYNC")
    assert tag.startswith(b"e OK"), tag
    # the draft goes to Sent: no EXISTS here, VANISHED under QRESYNC
    out, tag = r.cmd(b"r", b"UID REPLACE 2 Sent " + lit(RFC8508_1, True))
    assert re.fullmatch(rb"\* OK \[APPENDUID \d+ 1\] Replacement Message ready", out[0]), out
    assert out[1:] == [b"* VANISHED 2"], out
    assert tag == b"r OK UID REPLACE completed", tag
    r.close()
    assert count(box, "Drafts") == 3
    assert count(box, "Sent") == 1


def test_replace_errors_leave_everything(box):
    r, uv = drafts_with_four(box)
    m = mail("new")
    _, tag = r.cmd(b"a", b"REPLACE 5 Drafts " + lit(m, True))
    assert tag.startswith(b"a BAD"), tag  # no sequence number 5
    _, tag = r.cmd(b"b", b"UID REPLACE 99 Drafts " + lit(m, True))
    assert tag.startswith(b"b NO"), tag
    _, tag = r.cmd(b"c", b"REPLACE 1 NoSuchBox " + lit(m, True))
    assert tag.startswith(b"c NO [TRYCREATE]"), tag
    _, tag = r.cmd(b"d", b"REPLACE 1 Drafts (\\Bogus) " + lit(m, True))
    assert tag.startswith(b"d BAD"), tag
    _, tag = r.cmd(b"e", b"REPLACE 1 Drafts " + lit(m, True) + b" " + lit(m, True))
    assert tag.startswith(b"e BAD"), tag  # one message only
    _, tag = r.cmd(b"f", b"REPLACE 1 Drafts {0+}\r\n")
    assert tag.startswith(b"f NO"), tag
    _, tag = r.cmd(b"g", b"REPLACE 1 Drafts")
    assert tag.startswith(b"g BAD"), tag
    out, tag = r.cmd(b"x", b"EXAMINE Drafts")
    _, tag = r.cmd(b"h", b"REPLACE 1 Drafts " + lit(m, True))
    assert tag.startswith(b"h NO [READ-ONLY]"), tag
    _, tag = r.cmd(b"u", b"UNSELECT")
    _, tag = r.cmd(b"i", b"REPLACE 1 Drafts " + lit(m, True))
    assert tag.startswith(b"i BAD") or tag.startswith(b"i NO"), tag  # selected state only
    r.close()
    assert count(box, "Drafts") == 4


def test_replace_message_expunged_meanwhile(box):
    r, uv = drafts_with_four(box)
    other = Raw(box)
    other.cmd(b"s", b"SELECT Drafts")
    _, tag = other.cmd(b"x", b"UID STORE 4 +FLAGS.SILENT (\\Deleted)")
    _, tag = other.cmd(b"y", b"UID EXPUNGE 4")
    assert tag.startswith(b"y OK"), tag
    other.close()
    # r still sees 4 messages; the one it replaces is gone: nothing happens
    out, tag = r.cmd(b"a", b"REPLACE 4 Drafts " + lit(mail("new"), True))
    assert tag.startswith(b"a NO"), (out, tag)
    assert not any(b"APPENDUID" in ln for ln in out), out
    r.close()
    assert count(box, "Drafts") == 3


def test_replace_quota_is_net(box):
    assert box.cli("user", "quota", USER, "10000").returncode == 0
    r = Raw(box)
    old, new = mail("old", 6000), mail("new", 6500)
    _, tag = r.cmd(b"a", b"APPEND Drafts " + lit(old, True))
    assert tag.startswith(b"a OK"), tag
    _, tag = r.cmd(b"b", b"APPEND Drafts " + lit(new, True))
    assert tag.startswith(b"b NO [OVERQUOTA]"), tag
    r.cmd(b"s", b"SELECT Drafts")
    # old + new is over the quota, new alone is not
    out, tag = r.cmd(b"r", b"REPLACE 1 Drafts " + lit(new, True))
    assert tag == b"r OK REPLACE completed", (out, tag)
    # too big even alone: NO [OVERQUOTA], and the old message stays
    out, tag = r.cmd(b"t", b"REPLACE 1 Drafts " + lit(mail("huge", 12000), True))
    assert tag.startswith(b"t NO [OVERQUOTA]"), tag
    assert not any(b"EXPUNGE" in ln for ln in out), out
    r.close()
    assert count(box, "Drafts") == 1


# ---- CATENATE -------------------------------------------------------------

BOUNDARY = b"------------030308070208000400050907"
DRAFT = (b"Message-ID: <419399E1.6000505@example.org>\r\n"
         b"Date: Thu, 12 Nov 2004 16:57:05 +0000\r\n"
         b"From: Bob Ar <bar@example.org>\r\n"
         b"MIME-Version: 1.0\r\n"
         b"To: foo@example.net\r\n"
         b"Subject: About our holiday trip\r\n"
         b"Content-Type: multipart/mixed;\r\n"
         b"              boundary=\"" + BOUNDARY + b"\"\r\n"
         b"\r\n"
         b"--" + BOUNDARY + b"\r\n"
         b"Content-Type: text/plain; charset=us-ascii; format=flowed\r\n"
         b"Content-Transfer-Encoding: 7bit\r\n"
         b"\r\n"
         b"Our travel agent has sent the schedule.\r\n"
         b"\r\n"
         b"--" + BOUNDARY + b"\r\n"
         b"Content-Type: application/x-zip-compressed; name=\"x.zip\"\r\n"
         b"Content-Transfer-Encoding: base64\r\n"
         b"\r\n"
         b"UEsDBBQAAAAIAHVZ\r\n"
         b"\r\n"
         b"--" + BOUNDARY + b"--\r\n")
HEADER_END = DRAFT.index(b"\r\n\r\n") + 4


def draft_in_drafts(box):
    r = Raw(box)
    _, tag = r.cmd(b"a", b"APPEND Drafts (\\Draft) " + lit(DRAFT, True))
    m = re.match(rb"a OK \[APPENDUID (\d+) (\d+)\]", tag)
    assert m, tag
    return r, int(m.group(1)), int(m.group(2))


def fetch_uid(r, mailbox, uid):
    r.cmd(b"x", b"EXAMINE " + mailbox)
    out, tag = r.cmd(b"f", b"UID FETCH %d (FLAGS BODY.PEEK[])" % uid)
    assert tag.startswith(b"f OK") and len(out) == 1, (out, tag)
    m = re.match(rb"\* \d+ FETCH \(UID \d+ FLAGS \(([^)]*)\) BODY\[\] \{(\d+)\}\r\n", out[0]) or \
        re.match(rb"\* \d+ FETCH \(FLAGS \(([^)]*)\) UID \d+ BODY\[\] \{(\d+)\}\r\n", out[0])
    assert m, out[0][:200]
    start = m.end()
    return m.group(1), out[0][start:start + int(m.group(2))]


def test_catenate_rfc4469_examples(box):
    r, uv, uid = draft_in_drafts(box)
    _, tag = r.cmd(b"c", b"CAPABILITY")
    base = b"/Drafts;UIDVALIDITY=%d/;UID=%d" % (uv, uid)
    sep = b"\r\n--" + BOUNDARY + b"\r\n"
    end = b"\r\n--" + BOUNDARY + b"--\r\n"
    # Example 1: header, the text part (MIME header and body), the whole
    # earlier message as the second part's body, with synchronising TEXTs
    out, tag = r.sync(b"A003", [
        b'APPEND Drafts (\\Seen \\Draft $MDNSent) CATENATE (URL "' + base +
        b'/;section=HEADER" TEXT {%d}\r\n' % len(sep),
        sep + b' URL "' + base + b'/;section=1.MIME" URL "' + base +
        b'/;section=1" TEXT {%d}\r\n' % len(sep),
        sep + b' URL "/Drafts;UIDVALIDITY=%d/;UID=%d" TEXT {%d}\r\n' % (uv, uid, len(end)),
        end + b")"])
    m = re.match(rb"A003 OK \[APPENDUID %d (\d+)\]" % uv, tag)
    assert m, tag
    text_mime = (b"Content-Type: text/plain; charset=us-ascii; format=flowed\r\n"
                 b"Content-Transfer-Encoding: 7bit\r\n\r\n")
    text_body = b"Our travel agent has sent the schedule.\r\n"
    want = DRAFT[:HEADER_END] + sep + text_mime + text_body + sep + DRAFT + end
    flags, got = fetch_uid(r, b"Drafts", int(m.group(1)))
    assert got == want
    assert set(flags.split()) - {b"\\Recent"} == {b"\\Seen", b"\\Draft", b"$MDNSent"}, flags
    # the source was not marked \Seen by being read
    flags, got = fetch_uid(r, b"Drafts", uid)
    assert got == DRAFT and b"\\Seen" not in flags, flags

    # Example 2: new text, the old attachment (Section=2.MIME, 2) by URL,
    # with LITERAL+ this time; APPENDUID in the tagged OK
    new_text = (DRAFT[:HEADER_END] + b"--" + BOUNDARY + b"\r\n" + text_mime +
                b"Our travel agent has sent the updated schedule.\r\n\r\nCheers,\r\nBob\r\n"
                b"--" + BOUNDARY + b"\r\n")
    out, tag = r.cmd(b"A004", b"APPEND Drafts (\\Seen \\Draft $MDNSent) CATENATE (TEXT " +
                     lit(new_text, True) + b' URL "' + base + b'/;Section=2.MIME" URL "' + base +
                     b'/;Section=2" TEXT ' + lit(end, True) + b")")
    m = re.match(rb"A004 OK \[APPENDUID %d (\d+)\]" % uv, tag)
    assert m, tag
    att_mime = DRAFT[DRAFT.index(b"Content-Type: application"):DRAFT.index(b"UEsD")]
    flags, got = fetch_uid(r, b"Drafts", int(m.group(1)))
    assert got == new_text + att_mime + b"UEsDBBQAAAAIAHVZ\r\n" + end
    r.close()


def test_catenate_badurl_stores_nothing(box):
    r, uv, uid = draft_in_drafts(box)
    r.cmd(b"c", b"CREATE Sent")
    good = b"/Drafts;UIDVALIDITY=%d/;UID=%d" % (uv, uid)
    head = b"Subject: Digest\r\nContent-Type: multipart/digest; boundary=x\r\n\r\n--x\r\n"
    # Example 4: the second URL names no such message
    bad = b"/Drafts;UIDVALIDITY=%d/;UID=113330/;section=1.5.9" % uv
    out, tag = r.cmd(b"A003", b"APPEND Sent (\\Seen $MDNSent) CATENATE (TEXT " + lit(head, True) +
                     b' URL "' + good + b'" TEXT ' + lit(b"\r\n--x\r\n", True) + b' URL "' +
                     bad + b'" TEXT ' + lit(b"\r\n--x--\r\n", True) + b")")
    assert tag == b"A003 NO [BADURL " + bad + b"] Cannot fetch that URL", tag
    for url in [
        b"/Drafts;UIDVALIDITY=%d/;UID=%d" % (uv + 1, uid),   # UIDVALIDITY changed
        good + b"/;section=7",                               # no such part
        good + b"/;section=1.FOO",                           # not a section
        b"/NoSuchBox/;UID=1",
        b"imap://%s@localhost/Drafts/;UID=%d" % (USER.encode(), uid),  # absolute
        good + b";URLAUTH=anonymous",
        b"Drafts/;UID=1",                                    # not a path
        b"/Drafts?SUBJECT%20x",
    ]:
        out, tag = r.cmd(b"b", b'APPEND Sent CATENATE (URL "' + url + b'")')
        assert tag.startswith(b"b NO [BADURL " + url.replace(b"]", b"?") + b"]"), (url, tag)
    # a URL with "]" in it: shown with "?" so the code stays one code
    out, tag = r.cmd(b"c", b'APPEND Sent CATENATE (URL "/Dr]afts/;UID=1")')
    assert tag.startswith(b"c NO [BADURL /Dr?afts/;UID=1]"), tag
    # MULTIAPPEND: a good CATENATE message, then one with a bad URL
    out, tag = r.cmd(b"d", b'APPEND Sent CATENATE (URL "' + good + b'") CATENATE (URL "' + bad +
                     b'")')
    assert tag.startswith(b"d NO [BADURL"), tag
    # syntax
    for args in [b"CATENATE ()", b'CATENATE (TEXT "quoted")', b"CATENATE (FOO {1+}\r\nx)",
                 b"CATENATE (URL)", b"CATENATE", b"CATENATE TEXT"]:
        out, tag = r.cmd(b"e", b"APPEND Sent " + args)
        assert tag.startswith(b"e BAD"), (args, tag)
    _, tag = r.cmd(b"n", b"NOOP")
    assert tag.startswith(b"n OK")
    r.close()
    assert count(box, "Sent") == 0


def test_catenate_other_accounts_are_out_of_reach(box):
    box.add_user("eve@example.test", "eve-secret-1")
    r, uv, uid = draft_in_drafts(box)
    # eve's relative URL names eve's own Drafts, where there is nothing
    s = socket.create_connection((HOST, box.port("imaps")), timeout=30)
    e = Raw.__new__(Raw)
    e.sock = ssl_ctx().wrap_socket(s, server_hostname="localhost")
    e.buf = b""
    e.line()
    _, tag = e.cmd(b"l", b'LOGIN "eve@example.test" "eve-secret-1"')
    assert tag.startswith(b"l OK")
    _, tag = e.cmd(b"a", b'APPEND Drafts CATENATE (URL "/Drafts;UIDVALIDITY=%d/;UID=%d")'
                   % (uv, uid))
    assert tag.startswith(b"a NO [BADURL"), tag
    e.close()
    r.close()


def test_catenate_toobig_and_multiappend_and_replace(tern_factory):
    t = tern_factory(extra_config="[imap]\nmax_literal = 4096\n")
    t.add_user(USER, PASSWORD)
    r = Raw(t)
    one = mail("one", 1500)
    _, tag = r.cmd(b"a", b"APPEND Drafts " + lit(one, True))
    uv, uid = map(int, re.match(rb"a OK \[APPENDUID (\d+) (\d+)\]", tag).groups())
    url = b'URL "/Drafts;UIDVALIDITY=%d/;UID=%d"' % (uv, uid)
    # twice fits APPENDLIMIT, three times does not
    out, tag = r.cmd(b"b", b"APPEND Drafts CATENATE (" + url + b" " + url + b")")
    assert re.match(rb"b OK \[APPENDUID %d 2\]" % uv, tag), tag
    out, tag = r.cmd(b"c", b"APPEND Drafts CATENATE (" + url + b" " + url + b" " + url + b")")
    assert tag.startswith(b"c NO [TOOBIG]"), tag
    out, tag = r.cmd(b"d", b"APPEND Drafts CATENATE (TEXT " + lit(b"x" * 3000, True) + b" " +
                     url + b")")
    assert tag.startswith(b"d NO [TOOBIG]"), tag
    # a command's URLs read at most twice APPENDLIMIT of messages, however
    # small the parts they take: five headers of the 1.5 KB message fit,
    # six do not
    hdr = b" " + url[:-1] + b'/;SECTION=HEADER"'
    out, tag = r.cmd(b"d2", b"APPEND Drafts CATENATE (" + (hdr * 5)[1:] + b")")
    assert tag.startswith(b"d2 OK"), tag
    out, tag = r.cmd(b"d3", b"APPEND Drafts CATENATE (" + (hdr * 6)[1:] + b")")
    assert tag.startswith(b"d3 NO [TOOBIG]"), tag
    # MULTIAPPEND of two CATENATE messages and a plain one
    out, tag = r.cmd(b"e", b"APPEND Drafts (\\Seen) CATENATE (" + url + b") CATENATE (TEXT " +
                     lit(b"Subject: x\r\n\r\n", True) + b" " + url[:-1] + b'/;SECTION=TEXT") ' +
                     lit(one, True))
    assert re.match(rb"e OK \[APPENDUID %d 4:6\]" % uv, tag), tag
    flags, got = fetch_uid(r, b"Drafts", 5)
    assert got == b"Subject: x\r\n\r\n" + one[one.index(b"\r\n\r\n") + 4:]
    # RFC 8508 4.2: UID REPLACE with CATENATE, the URL naming the message
    # being replaced
    r.cmd(b"s", b"SELECT Drafts")
    out, tag = r.sync(b"A011", [b"UID REPLACE %d Drafts CATENATE (TEXT {71}\r\n" % uid,
                                b"To: Mitzy <miss.mitzy@example.org>\r\n"
                                b"Subject: My view of the fireworks\r\n"
                                b' URL "/Drafts/;UID=%d")' % uid])
    assert re.fullmatch(rb"\* OK \[APPENDUID %d 7\] Replacement Message ready" % uv, out[0]), out
    assert out[1:] == [b"* 7 EXISTS", b"* 7 RECENT", b"* 1 EXPUNGE"], out
    assert tag == b"A011 OK UID REPLACE completed"
    flags, got = fetch_uid(r, b"Drafts", 7)
    assert got == (b"To: Mitzy <miss.mitzy@example.org>\r\n"
                   b"Subject: My view of the fireworks\r\n") + one
    r.close()


# ---- URLAUTH --------------------------------------------------------------

import hashlib  # noqa: E402
import hmac  # noqa: E402

OWNER = USER.replace("@", "%40")
BODY = (b"From: Joe <joe@example.com>\r\nSubject: urlauth\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        b"Content-Type: text/plain\r\n\r\nfirst\r\n--b\r\nContent-Type: multipart/alternative; "
        b"boundary=c\r\n\r\n--c\r\nContent-Type: text/plain\r\n\r\nnot this\r\n--c\r\n"
        b"Content-Type: text/plain\r\n\r\nSi vis pacem, para bellum.\r\n\r\n--c--\r\n--b--\r\n")


def key_of(t, mailbox):
    db = t.db()
    row = db.execute("SELECT k.key FROM urlauth_keys k JOIN mailboxes m ON m.id = k.mailbox_id "
                     "WHERE m.name = ?", (mailbox,)).fetchone()
    db.close()
    return row and bytes(row[0])


def genurlauth(r, rump, tag=b"g"):
    out, tag_line = r.cmd(tag, b'GENURLAUTH "' + rump + b'" INTERNAL')
    assert tag_line == tag + b" OK GENURLAUTH completed", (out, tag_line)
    m = re.fullmatch(rb'\* GENURLAUTH "(.*)"', out[0])
    assert m, out
    return m.group(1)


def urlfetch(r, url, tag=b"u"):
    out, tag_line = r.cmd(tag, b'URLFETCH "' + url + b'"')
    assert tag_line == tag + b" OK URLFETCH completed", (out, tag_line)
    assert len(out) == 1, out
    head = b"* URLFETCH "
    assert out[0].startswith(head), out
    rest = out[0][len(head):]
    m = re.match(rb'"?([^" ]*)"? (NIL|\{(\d+)\}\r\n)', rest)
    assert m and m.group(1) == url, out
    if m.group(2) == b"NIL":
        return None
    return rest[m.end():m.end() + int(m.group(3))]


def test_urlauth_rfc4467_examples(box):
    r = Raw(box)
    _, tag = r.cmd(b"a", b"APPEND INBOX " + lit(BODY, True))
    uid = int(re.match(rb"a OK \[APPENDUID \d+ (\d+)\]", tag).group(1))
    # a775, a776: no access identifier, no owner
    _, tag = r.cmd(b"a775", b'GENURLAUTH "imap://%s@example.test/INBOX/;uid=%d/;section=1.2" '
                   b"INTERNAL" % (OWNER.encode(), uid))
    assert tag.startswith(b"a775 BAD"), tag
    _, tag = r.cmd(b"a776", b'GENURLAUTH "imap://example.test/INBOX/;uid=%d/;section=1.2'
                   b';urlauth=submit+fred" INTERNAL' % uid)
    assert tag.startswith(b"a776 BAD"), tag
    # a777: the token is HMAC-SHA1 of the rump under INBOX's new key
    rump = b"imap://%s@example.test/INBOX/;uid=%d/;section=2.2;urlauth=user+%s" % (
        OWNER.encode(), uid, USER.encode())
    full = genurlauth(r, rump, b"a777")
    key = key_of(box, "INBOX")
    assert key and len(key) == 32
    assert full == rump + b":internal:" + hmac.new(key, rump, hashlib.sha1).hexdigest().encode()
    # a002: URLFETCH gives the part
    assert urlfetch(r, full, b"a002") == b"Si vis pacem, para bellum.\r\n"
    # the key stays: a second URL is signed with the same one
    again = genurlauth(r, rump)
    assert again == full
    r.close()


def test_urlauth_access_identifiers_and_tampering(box):
    box.add_user("eve@example.test", "eve-secret-1")
    r = Raw(box)
    _, tag = r.cmd(b"a", b"APPEND INBOX " + lit(BODY, True) + b" " + lit(mail("other"), True))
    base = b"imap://%s@example.test/INBOX/;uid=1" % OWNER.encode()
    urls = {acc: genurlauth(r, base + b";urlauth=" + acc)
            for acc in (b"anonymous", b"authuser", b"user+eve%40example.test",
                        b"user+" + OWNER.encode(), b"submit+" + OWNER.encode())}
    e = Raw.__new__(Raw)
    s = socket.create_connection((HOST, box.port("imaps")), timeout=30)
    e.sock = ssl_ctx().wrap_socket(s, server_hostname="localhost")
    e.buf = b""
    e.line()
    _, tag = e.cmd(b"l", b'LOGIN "eve@example.test" "eve-secret-1"')
    for acc, url in urls.items():
        for who, c in ((b"owner", r), (b"eve", e)):
            got = urlfetch(c, url)
            allowed = acc in (b"anonymous", b"authuser") or \
                (acc == b"user+eve%40example.test" and who == b"eve") or \
                (acc == b"user+" + OWNER.encode() and who == b"owner")
            assert (got == BODY) == allowed, (acc, who, got)
    good = urls[b"anonymous"]
    token = good.rsplit(b":", 1)[1]
    for bad in [
        good[:-1] + (b"0" if good[-1:] != b"0" else b"1"),         # wrong token
        good.replace(b"/;uid=1", b"/;uid=2"),                      # another message
        good.replace(b"INBOX", b"Drafts"),                         # another mailbox
        good.replace(b":internal:", b":other:"),                   # another mechanism
        good.replace(b"example.test/", b"example.test/INBOX/;uid=1;urlauth=anonymous:internal:" +
                     token + b"/"),
        b"/INBOX/;uid=1;urlauth=anonymous:internal:" + token,     # relative
        base + b";urlauth=anonymous",                              # no token
        b"imap://eve%40example.test@example.test/INBOX/;uid=1;urlauth=anonymous:internal:" +
        token,                                                     # another owner
    ]:
        assert urlfetch(e, bad) is None, bad
    # EXPIRE: signed in, and checked
    past = genurlauth(r, base + b";EXPIRE=2001-01-01T00:00:00Z;urlauth=anonymous")
    assert urlfetch(e, past) is None
    future = genurlauth(r, base + b";EXPIRE=2099-01-01T00:00:00Z;urlauth=anonymous")
    assert urlfetch(e, future) == BODY
    assert urlfetch(e, future.replace(b"2099", b"2098")) is None
    # eve cannot sign URLs to dora's mailbox
    _, tag = e.cmd(b"x", b'GENURLAUTH "' + base + b';urlauth=anonymous" INTERNAL')
    assert tag.startswith(b"x BAD"), tag
    # several at once, and bounds
    out, tag = e.cmd(b"m", b'URLFETCH "' + good + b'" "' + base + b'" "/x"')
    assert tag.startswith(b"m OK") and out[0].count(b" NIL") == 2, out
    _, tag = e.cmd(b"n", b"URLFETCH " + b" ".join([b'"/x"'] * 101))
    assert tag.startswith(b"n NO [LIMIT]"), tag
    _, tag = e.cmd(b"o", b"URLFETCH")
    assert tag.startswith(b"o BAD"), tag
    _, tag = r.cmd(b"p", b'GENURLAUTH "' + base + b';urlauth=anonymous" XSAMPLE')
    assert tag.startswith(b"p BAD"), tag
    _, tag = r.cmd(b"q", b'GENURLAUTH "' + base + b';urlauth=anonymous"')
    assert tag.startswith(b"q BAD"), tag
    _, tag = r.cmd(b"q", b'GENURLAUTH "' + base + b';urlauth=someone" INTERNAL')
    assert tag.startswith(b"q BAD"), tag
    e.close()
    r.close()


def test_urlauth_resetkey(box):
    r = Raw(box)
    _, tag = r.cmd(b"a", b"APPEND INBOX " + lit(BODY, True))
    _, tag = r.cmd(b"b", b"APPEND Drafts " + lit(BODY, True))
    inbox = genurlauth(r, b"imap://%s@example.test/INBOX/;uid=1;urlauth=authuser" %
                       OWNER.encode())
    drafts = genurlauth(r, b"imap://%s@example.test/Drafts/;uid=1;urlauth=authuser" %
                        OWNER.encode())
    assert urlfetch(r, inbox) == BODY and urlfetch(r, drafts) == BODY
    # a32: one mailbox's key, with URLMECH; what it signed is revoked
    _, tag = r.cmd(b"a32", b"RESETKEY INBOX")
    assert tag == b"a32 OK [URLMECH INTERNAL] Key reset", tag
    assert urlfetch(r, inbox) is None and urlfetch(r, drafts) == BODY
    inbox2 = genurlauth(r, inbox.rsplit(b":", 2)[0])
    assert inbox2 != inbox and urlfetch(r, inbox2) == BODY
    _, tag = r.cmd(b"a33", b"RESETKEY INBOX XSAMPLE")
    assert tag.startswith(b"a33 BAD"), tag
    _, tag = r.cmd(b"a34", b"RESETKEY INBOX INTERNAL")
    assert tag.startswith(b"a34 OK [URLMECH INTERNAL]"), tag
    _, tag = r.cmd(b"a35", b"RESETKEY NoSuchBox")
    assert tag.startswith(b"a35 NO"), tag
    # a31: every key
    drafts2 = genurlauth(r, drafts.rsplit(b":", 2)[0])
    _, tag = r.cmd(b"a31", b"RESETKEY")
    assert tag == b"a31 OK All keys removed", tag
    assert urlfetch(r, drafts2) is None and urlfetch(r, drafts) is None
    # a deleted mailbox takes its key along
    r.cmd(b"c", b"CREATE Tmp")
    r.cmd(b"d", b"APPEND Tmp " + lit(BODY, True))
    tmp = genurlauth(r, b"imap://%s@example.test/Tmp/;uid=1;urlauth=authuser" % OWNER.encode())
    assert urlfetch(r, tmp) == BODY
    r.cmd(b"e", b"DELETE Tmp")
    r.cmd(b"f", b"CREATE Tmp")
    r.cmd(b"g", b"APPEND Tmp " + lit(BODY, True))
    assert urlfetch(r, tmp) is None
    r.close()
