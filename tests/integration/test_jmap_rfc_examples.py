"""RFC 8621 §4.10's worked example, request for request, against the real
binary over HTTPS: the first screen of a large inbox (Email/query with
collapseThreads, then Email/get, Thread/get and Email/get chained by result
references), marking an Email unread from "another device", the changes a
client asks for afterwards (Email/changes, Email/queryChanges with upToId),
and saving the example's draft (bodyStructure with a header:Content-Language
part, sentAt in +10:00). The RFC's ids and states are its server's; here the
values come from the messages put in over IMAP, and each response is
checked against what IMAP says of the same mail."""
import imaplib
import json
import re

from conftest import HOST, ssl_ctx
from test_jmap_imap import USER, PASSWORD, account, api, imap_login, server

JANE = "Jane Doe <jdoe@example.com>"


def mail(subject, when, msgid, frm=JANE, extra="", body="Hello.\r\n"):
    return ("From: %s\r\nTo: alice@example.test\r\nSubject: %s\r\nDate: %s\r\n"
            "Message-ID: <%s@example.com>\r\n%s\r\n%s" % (frm, subject, when, msgid, extra,
                                                          body)).encode()


REVEAL = ("From: %s\r\nTo: alice@example.test\r\nSubject: The Big Reveal\r\n"
          "Date: Wed, 27 Jun 2018 00:20:35 +0000\r\nMessage-ID: <reveal@example.com>\r\n"
          "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
          "--b\r\nContent-Type: text/plain\r\n\r\n"
          "As you may be aware, we are required to prepare a presentation.\r\n"
          "--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
          "filename=deck.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n"
          "--b--\r\n" % JANE).encode()


def append(m, box, raw, flags, when):
    typ, data = m.append(box, flags, imaplib.Time2Internaldate(when), raw)
    assert typ == "OK", data
    return int(re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1))


def imap_ids(m, uid):
    typ, data = m.uid("FETCH", str(uid), "(EMAILID THREADID FLAGS RFC822.SIZE)")
    line = data[0].decode()
    return (re.search(r"EMAILID \((\w+)\)", line).group(1),
            re.search(r"THREADID \((\w+)\)", line).group(1),
            re.search(r"FLAGS \(([^)]*)\)", line).group(1),
            int(re.search(r"RFC822\.SIZE (\d+)", line).group(1)))


def test_rfc8621_section_4_10(tern_factory):
    t = server(tern_factory)
    acc = account(t)
    m = imap_login(t)
    # 2018-06-25 .. 06-28: "Plans" and its reply are one thread, the
    # reply the newest mail of the box.
    uids = {
        "other": append(m, "INBOX", mail("Other", "Mon, 25 Jun 2018 09:00:00 +0000", "other"),
                        "", 1529917200),
        "plans": append(m, "INBOX", mail("Plans", "Tue, 26 Jun 2018 09:00:00 +0000", "plans"),
                        "(\\Seen)", 1530003600),
        "reveal": append(m, "INBOX", REVEAL, "(\\Seen \\Flagged)", 1530058835),
        "re": append(m, "INBOX", mail("Re: Plans", "Thu, 28 Jun 2018 09:00:00 +0000", "re",
                                      extra="In-Reply-To: <plans@example.com>\r\n"
                                      "References: <plans@example.com>\r\n"), "", 1530176400),
    }
    m.select("INBOX")
    ids = {k: imap_ids(m, u) for k, u in uids.items()}
    assert ids["plans"][1] == ids["re"][1] != ids["reveal"][1]  # one thread, by IMAP
    inbox = [r for r in api(t, [["Mailbox/query", {"accountId": acc,
                                                   "filter": {"role": "inbox"}}, "m"]])][0][1]
    inbox_id = inbox["ids"][0]

    # The first request of §4.10, as the RFC writes it.
    query = {"accountId": acc, "filter": {"inMailbox": inbox_id},
             "sort": [{"isAscending": False, "property": "receivedAt"}],
             "collapseThreads": True, "position": 0, "limit": 30, "calculateTotal": True}
    res = api(t, [
        ["Email/query", query, "0"],
        ["Email/get", {"accountId": acc, "#ids": {"resultOf": "0", "name": "Email/query",
                                                  "path": "/ids"},
                       "properties": ["threadId"]}, "1"],
        ["Thread/get", {"accountId": acc, "#ids": {"resultOf": "1", "name": "Email/get",
                                                   "path": "/list/*/threadId"}}, "2"],
        ["Email/get", {"accountId": acc, "#ids": {"resultOf": "2", "name": "Thread/get",
                                                  "path": "/list/*/emailIds"},
                       "properties": ["threadId", "mailboxIds", "keywords", "hasAttachment",
                                      "from", "subject", "receivedAt", "size", "preview"]},
         "3"]])
    assert [r[0] for r in res] == ["Email/query", "Email/get", "Thread/get", "Email/get"], res
    q = res[0][1]
    # newest first, one Email per thread: the reply stands for "Plans"
    assert q["ids"] == [ids["re"][0], ids["reveal"][0], ids["other"][0]], q
    assert q["total"] == 3 and q["position"] == 0 and q["canCalculateChanges"] is True
    assert [e["threadId"] for e in res[1][1]["list"]] == [ids[k][1] for k in
                                                           ("re", "reveal", "other")]
    threads = {th["id"]: th["emailIds"] for th in res[2][1]["list"]}
    assert threads[ids["re"][1]] == [ids["plans"][0], ids["re"][0]]  # oldest first
    got = {e["id"]: e for e in res[3][1]["list"]}
    assert set(got) == {v[0] for v in ids.values()} and res[3][1]["notFound"] == []
    big = got[ids["reveal"][0]]
    assert big["threadId"] == ids["reveal"][1]
    assert big["mailboxIds"] == {inbox_id: True}
    assert big["keywords"] == {"$seen": True, "$flagged": True}
    assert big["hasAttachment"] is True and got[ids["other"][0]]["hasAttachment"] is False
    assert big["from"] == [{"email": "jdoe@example.com", "name": "Jane Doe"}]
    assert big["subject"] == "The Big Reveal"
    assert big["receivedAt"] == "2018-06-27T00:20:35Z"
    assert big["size"] == ids["reveal"][3]
    assert big["preview"].startswith("As you may be aware, we are required")
    query_state = q["queryState"]

    # "On another device, the user marks the first Email as unread."
    state0 = res[3][1]["state"]
    res = api(t, [["Email/set", {"accountId": acc, "update": {
        ids["reveal"][0]: {"keywords/$seen": None}}}, "0"]])
    assert res[0][0] == "Email/set" and res[0][1]["updated"] == {ids["reveal"][0]: None}
    assert res[0][1]["oldState"] == state0 != res[0][1]["newState"]
    assert "\\Seen" not in imap_ids(m, uids["reveal"])[2]
    # "The user also deletes a few Emails, and then a new message arrives."
    m.uid("STORE", str(uids["other"]), "+FLAGS.SILENT", "(\\Deleted)")
    m.expunge()
    new_uid = append(m, "INBOX", mail("Brand new", "Fri, 29 Jun 2018 09:00:00 +0000", "new"),
                     "", 1530262800)
    new_id = imap_ids(m, new_uid)[0]
    res = api(t, [
        ["Email/changes", {"accountId": acc, "sinceState": state0, "maxChanges": 50}, "3"],
        ["Email/queryChanges", dict({k: v for k, v in query.items()
                                     if k not in ("position", "limit")},
                                    sinceQueryState=query_state, maxChanges=25), "11"]])
    # the Email updated, the one deleted and the new one (RFC 8620 §5.2)
    assert res[0][0] == "Email/changes", res[0]
    ch = res[0][1]
    assert ch["oldState"] == state0 != ch["newState"] and ch["hasMoreChanges"] is False
    assert (ch["created"], ch["updated"], ch["destroyed"]) == (
        [new_id], [ids["reveal"][0]], [ids["other"][0]]), ch
    qc = res[1][1]
    assert res[1][0] == "Email/queryChanges", res[1]
    assert qc["oldQueryState"] == query_state != qc["newQueryState"]
    assert ids["other"][0] in qc["removed"]
    assert {"id": new_id, "index": 0} in qc["added"]
    assert qc["total"] == 3

    # The draft of §4.10, as the RFC writes it (into Drafts).
    drafts = api(t, [["Mailbox/query", {"accountId": acc, "filter": {"role": "drafts"}},
                      "d"]])[0][1]["ids"][0]
    res = api(t, [["Email/set", {"accountId": acc, "create": {"k192": {
        "mailboxIds": {drafts: True},
        "keywords": {"$seen": True, "$draft": True},
        "from": [{"name": "Joe Bloggs", "email": "joe@example.com"}],
        "subject": "World domination",
        "receivedAt": "2018-07-10T01:03:11Z",
        "sentAt": "2018-07-10T11:03:11+10:00",
        "bodyStructure": {"type": "text/plain", "partId": "bd48",
                          "header:Content-Language": "en"},
        "bodyValues": {"bd48": {"value": "I have the most brilliant plan.  Let me tell you "
                                         "all about it.  What we do is, we",
                                "isTruncated": False}}}}}, "0"]])
    assert res[0][1].get("created"), json.dumps(res)
    created = res[0][1]["created"]["k192"]
    assert set(created) >= {"id", "blobId", "threadId", "size"}, res
    m.select("Drafts")
    typ, data = m.uid("FETCH", "1:*", "(EMAILID FLAGS INTERNALDATE BODY.PEEK[])")
    line, raw = data[0][0].decode(), data[0][1]
    assert "EMAILID (%s)" % created["id"] in line
    assert "\\Draft" in line and "\\Seen" in line
    assert '"10-Jul-2018 01:03:11 +0000"' in line
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"\r\nDate: Tue, 10 Jul 2018 11:03:11 +1000\r\n" in b"\r\n" + head + b"\r\n"
    assert re.search(rb"(?m)^From: \"?Joe Bloggs\"? <joe@example.com>\r?$", head), head
    assert re.search(rb"(?m)^Subject: World domination\r?$", head)
    assert re.search(rb"(?mi)^Content-Language: en\r?$", head), head
    assert re.search(rb"(?mi)^Content-Type: text/plain", head), head
    assert b"I have the most brilliant plan." in body
    assert len(raw) == created["size"]
    m.logout()
