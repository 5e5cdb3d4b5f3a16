"""Mailbox/set (RFC 8621 §2.5) against the real binary over HTTPS, checked
through IMAP on the same account: create with a parent made in the same
call, a role, unsubscribed; rename and move with the children following;
destroy with mailboxHasChild / mailboxHasEmail / onDestroyRemoveEmails;
ifInState; and every refusal as its SetError."""
import imaplib
import re

from conftest import HOST, ssl_ctx
from test_jmap_imap import PASSWORD, USER, account, api, server


def mset(t, acct, **args):
    out = api(t, [["Mailbox/set", dict(args, accountId=acct), "0"]])
    assert out[0][0] == "Mailbox/set", out
    return out[0][1]


def boxes(t, acct):
    out = api(t, [["Mailbox/get", {"accountId": acct}, "0"]])
    return out[0][1]


def imap(t):
    m = imaplib.IMAP4_SSL(HOST, t.port("imaps"), ssl_context=ssl_ctx())
    m.login(USER, PASSWORD)
    return m


def imap_list(m, cmd="LIST"):
    typ, data = m._simple_command(cmd, '""', '"*"')
    assert typ == "OK"
    typ, data = m._untagged_response(typ, data, cmd)
    out = {}
    for line in data:
        if not line:
            continue
        line = line.decode()
        mm = re.match(r'\(([^)]*)\) "/" "?([^"]*)"?$', line)
        assert mm, line
        out[mm.group(2)] = mm.group(1)
    return out


def test_create_rename_move_destroy_seen_over_imap(tern_factory):
    t = server(tern_factory)
    acct = account(t)
    before = boxes(t, acct)
    inbox = next(b["id"] for b in before["list"] if b["role"] == "inbox")
    archive = next(b["id"] for b in before["list"] if b["role"] == "archive")
    # one mailbox per role: the default Archive goes first (it is empty)
    res = mset(t, acct, ifInState=before["state"], destroy=[archive])
    assert res["destroyed"] == [archive], res
    before = boxes(t, acct)
    res = mset(t, acct, ifInState=before["state"], create={
        "p": {"name": "Projects"},
        "y": {"name": "2026", "parentId": "#p"},
        "q": {"name": "Quiet", "isSubscribed": False, "sortOrder": 3},
        "a": {"name": "Old mail", "role": "archive"}})
    assert res["oldState"] == before["state"]
    assert set(res["created"]) == {"p", "y", "q", "a"}, res.get("notCreated")
    assert res["created"]["q"]["isSubscribed"] is False
    assert res["created"]["p"]["totalEmails"] == 0
    now = boxes(t, acct)
    assert res["newState"] == now["state"] != before["state"]
    by_id = {b["id"]: b for b in now["list"]}
    y = by_id[res["created"]["y"]["id"]]
    assert y["name"] == "2026" and y["parentId"] == res["created"]["p"]["id"]
    assert by_id[res["created"]["a"]["id"]]["role"] == "archive"
    m = imap(t)
    names = imap_list(m)
    assert "Projects/2026" in names and "\\Archive" in names["Old mail"], names
    assert "Quiet" not in imap_list(m, "LSUB") and "Projects" in imap_list(m, "LSUB")

    # rename the parent: the child follows; move the child to the top
    p, yid = res["created"]["p"]["id"], res["created"]["y"]["id"]
    res = mset(t, acct, update={p: {"name": "Work"}})
    assert res["updated"] == {p: None}, res
    names = imap_list(m)
    assert "Work/2026" in names and "Projects" not in names, names
    res = mset(t, acct, update={yid: {"parentId": None, "name": "Y2026"},
                                p: {"isSubscribed": False}})
    assert set(res["updated"]) == {yid, p}, res
    names = imap_list(m)
    assert "Y2026" in names and "Work/2026" not in names
    assert "Work" not in imap_list(m, "LSUB")
    # move under a new parent created in the same call
    res = mset(t, acct, create={"n": {"name": "Nest"}}, update={yid: {"parentId": "#n"}})
    assert res["updated"] == {yid: None}, res
    assert "Nest/Y2026" in imap_list(m)

    # destroy: children first, then emails
    nest = res["created"]["n"]["id"]
    m.append("Nest/Y2026", None, None, b"Subject: keep\r\n\r\nkeep me\r\n")
    m.append("Nest/Y2026", None, None, b"Subject: both\r\n\r\nin two places\r\n")
    m.select('"Nest/Y2026"')
    m.uid("COPY", "2", "INBOX")
    res = mset(t, acct, destroy=[nest, yid])
    assert res["notDestroyed"][nest]["type"] == "mailboxHasChild", res
    assert res["notDestroyed"][yid]["type"] == "mailboxHasEmail", res
    m.close()
    res = mset(t, acct, destroy=[yid, nest], onDestroyRemoveEmails=True)
    assert res["destroyed"] == [yid, nest], res
    assert "Nest" not in imap_list(m) and "Nest/Y2026" not in imap_list(m)
    typ, data = m.select("INBOX")
    assert data[0] == b"1"  # the copy in INBOX stays
    out = api(t, [["Email/query", {"accountId": acct}, "q"]])
    assert len(out[0][1]["ids"]) == 1
    out = api(t, [["Email/get", {"accountId": acct, "ids": out[0][1]["ids"],
                                 "properties": ["subject", "mailboxIds"]}, "g"]])
    assert out[0][1]["list"][0]["subject"] == "both"
    assert out[0][1]["list"][0]["mailboxIds"] == {inbox: True}
    m.logout()


def test_refusals(tern_factory):
    t = server(tern_factory)
    acct = account(t)
    now = boxes(t, acct)
    inbox = next(b["id"] for b in now["list"] if b["role"] == "inbox")
    arch = next(b["id"] for b in now["list"] if b["role"] == "archive")  # a default
    res = mset(t, acct, create={
        "slash": {"name": "a/b"},
        "empty": {"name": ""},
        "noname": {"parentId": None},
        "ctl": {"name": "a\tb"},
        "long": {"name": "x" * 256},
        "role": {"name": "X", "role": "inbox"},
        "role2": {"name": "Y", "role": "archive"},
        "parent": {"name": "Z", "parentId": "F999999"},
        "inbox": {"name": "inbox"},
        "dup": {"name": "Archive"},
        "prop": {"name": "P", "totalEmails": 3},
        "unknown": {"name": "U", "colour": "red"},
        "sort": {"name": "S", "sortOrder": -1}})
    nc = res["notCreated"]
    assert res["created"] == {}, res
    for k in ("slash", "empty", "noname", "ctl", "long", "inbox", "dup"):
        assert nc[k]["type"] == "invalidProperties" and nc[k]["properties"] == ["name"], (k, nc)
    for k in ("role", "role2"):
        assert nc[k]["properties"] == ["role"], nc[k]
    assert nc["parent"]["properties"] == ["parentId"]
    for k, p in (("prop", "totalEmails"), ("unknown", "colour"), ("sort", "sortOrder")):
        assert nc[k]["properties"] == [p], nc[k]

    res = mset(t, acct, create={"c": {"name": "Child", "parentId": arch}})
    child = res["created"]["c"]["id"]
    res = mset(t, acct, update={
        inbox: {"name": "Post"},
        "F424242": {"name": "Nope"},
        arch: {"parentId": child},
        child: {"role": "trash"}})
    nu = res["notUpdated"]
    assert nu[inbox]["type"] == "forbidden"
    assert nu["F424242"]["type"] == "notFound"
    assert nu[arch]["properties"] == ["parentId"]
    assert nu[child]["properties"] == ["role"]
    res = mset(t, acct, update={arch: {"role": "archive", "name": "Archive"}})
    assert res["updated"] == {arch: None}, res  # unchanged role and name: fine
    res = mset(t, acct, destroy=[inbox, "F424242"])
    assert res["notDestroyed"][inbox]["type"] == "forbidden"
    assert res["notDestroyed"]["F424242"]["type"] == "notFound"

    out = api(t, [["Mailbox/set", {"accountId": acct, "ifInState": "nope",
                                   "create": {"x": {"name": "X"}}}, "0"],
                  ["Mailbox/set", {"accountId": acct, "create": []}, "1"],
                  ["Mailbox/set", {"accountId": acct, "destroy": [1]}, "2"],
                  ["Mailbox/set", {"accountId": acct, "onDestroyRemoveEmails": 1}, "3"],
                  ["Mailbox/set", {"accountId": "A999"}, "4"]])
    assert [o[1]["type"] for o in out] == ["stateMismatch", "invalidArguments",
                                           "invalidArguments", "invalidArguments",
                                           "accountNotFound"], out
    names = [b["name"] for b in boxes(t, acct)["list"]]
    assert "X" not in names
