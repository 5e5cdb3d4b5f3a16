"""BURL (RFC 4468) on submission: a client stores a draft over IMAP,
GENURLAUTHs it for submit+itself, and sends it with BURL without
uploading it again; tern resolves the URL in-process against the same
store. Then the RFC's failure cases, BURL mixed with BDAT, and the
checks: the host must be this server's, the submit+ user the one logged
in, the URL signed."""
import imaplib
import re
import smtplib

import pytest

from conftest import HOST, ssl_ctx
from smtputil import inbox_messages, strip_trace

USER = "harry@example.test"
PASSWORD = "burl-secret-1"
RON = "ron@example.test"
HOSTNAME = "mail.example.test"  # conftest's [server] hostname
DRAFT = (b"From: Harry <harry@example.test>\r\nTo: Ron <ron@example.test>\r\n"
         b"Subject: via BURL\r\nMessage-ID: <burl-1@example.test>\r\n"
         b"Date: Sun, 6 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
         b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
         b"Content-Type: text/plain\r\n\r\nThe draft, sent from the server.\r\n--b--\r\n")
ENC_USER = USER.replace("@", "%40")
imaplib.Commands.setdefault("GENURLAUTH", ("AUTH", "SELECTED"))


@pytest.fixture
def srv(tern):
    tern.add_user(USER, PASSWORD)
    tern.add_user(RON, "ron-secret-1")
    return tern


def imap(t, user=USER, password=PASSWORD):
    m = imaplib.IMAP4_SSL(HOST, t.port("imaps"), ssl_context=ssl_ctx(), timeout=30)
    m.login(user, password)
    return m


def store_draft(t, data=DRAFT):
    m = imap(t)
    typ, resp = m.append("Drafts", r"(\Draft)", None, data)
    assert typ == "OK", resp
    uv, uid = map(int, re.search(rb"APPENDUID (\d+) (\d+)", resp[0]).groups())
    return m, uv, uid


def genurlauth(m, rump):
    typ, data = m._simple_command("GENURLAUTH", '"%s"' % rump, "INTERNAL")
    assert typ == "OK", data
    typ, data = m._untagged_response(typ, data, "GENURLAUTH")
    return re.fullmatch(rb'"(.*)"', data[0]).group(1).decode()


def submission(t, user=USER, password=PASSWORD):
    s = smtplib.SMTP(HOST, t.port("submission"), timeout=30)
    s.starttls(context=ssl_ctx())
    s.ehlo()
    assert not s.has_extn("burl")  # not before AUTH
    s.login(user, password)
    s.ehlo()
    return s


def test_burl_round_trip(srv):
    m, uv, uid = store_draft(srv)
    caps = m.capability()[1][0].split()
    assert b"URLAUTH" in caps
    url = genurlauth(m, "imap://%s@%s/Drafts;uidvalidity=%d/;uid=%d;urlauth=submit+%s"
                     % (ENC_USER, HOSTNAME, uv, uid, ENC_USER))
    m.logout()
    s = submission(srv)
    assert s.has_extn("burl") and s.esmtp_features["burl"] == "imap"
    assert s.docmd("MAIL FROM:<%s>" % USER)[0] == 250
    assert s.docmd("RCPT TO:<%s>" % RON)[0] == 250
    code, msg = s.docmd("BURL", url + " LAST")
    assert code == 250, msg
    s.quit()
    got = inbox_messages(srv, RON)
    assert len(got) == 1 and strip_trace(got[0]) == DRAFT
    # and over IMAP, as Ron reads it
    r = imap(srv, RON, "ron-secret-1")
    r.select("INBOX")
    typ, d = r.fetch("1", "(BODY.PEEK[])")
    assert d[0][1].endswith(DRAFT)
    r.logout()


def test_burl_mixed_with_bdat_and_parts(srv):
    m, uv, uid = store_draft(srv)
    base = "imap://%s@%s/Drafts;uidvalidity=%d/;uid=%d" % (ENC_USER, HOSTNAME, uv, uid)
    header = genurlauth(m, base + "/;section=HEADER;urlauth=submit+" + ENC_USER)
    part = genurlauth(m, base + "/;section=1;urlauth=submit+" + ENC_USER)
    m.logout()
    s = submission(srv)
    s.docmd("MAIL FROM:<%s>" % USER)
    s.docmd("RCPT TO:<%s>" % RON)
    # header by URL, a new body part by BDAT, the old text by URL, the end by BDAT
    code, msg = s.docmd("BURL", header)
    assert (code, msg[:5]) == (250, b"2.5.0"), msg
    mid = b"--b\r\nContent-Type: text/plain\r\n\r\nA new first part.\r\n--b\r\n\r\n"
    s.send(b"BDAT %d\r\n" % len(mid) + mid)
    assert s.getreply()[0] == 250
    code, msg = s.docmd("BURL", part)
    assert code == 250, msg
    end = b"\r\n--b--\r\n"
    s.send(b"BDAT %d LAST\r\n" % len(end) + end)
    code, msg = s.getreply()
    assert code == 250, msg
    s.quit()
    got = strip_trace(inbox_messages(srv, RON)[0])
    head = DRAFT[:DRAFT.index(b"\r\n\r\n") + 4]
    assert got == head + mid + b"The draft, sent from the server." + end


def test_burl_failures(srv):
    m, uv, uid = store_draft(srv)
    base = "imap://%s@%s/Drafts;uidvalidity=%d/;uid=%d" % (ENC_USER, HOSTNAME, uv, uid)
    good = genurlauth(m, base + ";urlauth=submit+" + ENC_USER)
    for_ron = genurlauth(m, base + ";urlauth=submit+ron%40example.test")
    user_url = genurlauth(m, base + ";urlauth=user+" + ENC_USER)
    other_host = genurlauth(m, base.replace(HOSTNAME, "imap.elsewhere.example") +
                            ";urlauth=submit+" + ENC_USER)
    m.logout()

    def txn(url, rcpt=RON):
        # a connection each: failures count towards [smtp] max_errors
        s = submission(srv)
        s.docmd("MAIL FROM:<%s>" % USER)
        s.docmd("RCPT TO:<%s>" % rcpt)
        r = s.docmd("BURL", url + " LAST")
        s.quit()
        return r

    # RFC 4468 3.4: a wrong token
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert txn(bad) == (554, b"5.7.0 IMAP URL authorization failed")
    # submit+ someone else, user+ (not for the submission server), another host
    assert txn(for_ron)[1].startswith(b"5.7.0")
    assert txn(user_url)[1].startswith(b"5.7.0")
    assert txn(other_host) == (554, b"5.7.8 URL resolution requires trust relationship")
    # no token at all, a relative URL, a message that is not there
    assert txn(base + ";urlauth=submit+" + ENC_USER)[1].startswith(b"5.7.0")
    assert txn("/Drafts/;uid=%d" % uid)[1].startswith(b"5.7.8")
    assert txn(good.replace(";uid=%d" % uid, ";uid=%d" % (uid + 5)))[1].startswith(b"5.7.0")
    s = submission(srv)
    # every RCPT failed: 554 5.5.0, the URL is not read
    s.docmd("MAIL FROM:<%s>" % USER)
    assert s.docmd("RCPT TO:<nobody@example.test>")[0] >= 500
    assert s.docmd("BURL", good + " LAST") == (554, b"5.5.0 No recipients have been specified")
    # before MAIL
    assert s.docmd("BURL", good + " LAST")[0] == 503
    s.quit()
    s = submission(srv)
    # syntax
    s.docmd("MAIL FROM:<%s>" % USER)
    s.docmd("RCPT TO:<%s>" % RON)
    assert s.docmd("BURL")[0] == 501
    assert s.docmd("BURL", good + " NOTLAST")[0] == 501
    assert s.docmd("BURL", "http://example.com/ LAST")[0] == 501
    s.docmd("RSET")
    # nothing arrived, and a good one works after all that
    assert inbox_messages(srv, RON) == []
    s.docmd("MAIL FROM:<%s>" % USER)
    s.docmd("RCPT TO:<%s>" % RON)
    assert s.docmd("BURL", good + " LAST")[0] == 250
    s.quit()
    assert len(inbox_messages(srv, RON)) == 1


def test_burl_needs_auth_and_submission(srv):
    s = smtplib.SMTP(HOST, srv.port("submission"), timeout=30)
    s.starttls(context=ssl_ctx())
    s.ehlo()
    assert s.docmd("BURL", "imap://x@y/INBOX/;uid=1;urlauth=anonymous:internal:" + "0" * 40 +
                   " LAST")[0] == 530
    s.quit()
    s = smtplib.SMTP(HOST, srv.port("smtp"), timeout=30)
    s.ehlo()
    assert not s.has_extn("burl")
    assert s.docmd("BURL", "imap://x@y/INBOX/;uid=1 LAST")[0] == 500
    s.quit()
