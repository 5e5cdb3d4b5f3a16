"""Email/changes, Thread/changes and Mailbox/changes (RFC 8620 §5.2, RFC
8621) over real HTTPS JMAP, with the changes made by other clients: IMAP
(APPEND, STORE, COPY, MOVE, EXPUNGE, CREATE, RENAME, DELETE) and SMTP
delivery. Each step asks for the changes since the state of the step
before and checks the exact ids; maxChanges walks through intermediate
states and must add up to the same; an unknown state, and any state from
before a restart, is cannotCalculateChanges."""
import re
import smtplib

from conftest import HOST
import test_jmap_imap as j
from test_jmap_imap import account, call, imap_login, mailbox_ids, message, server


def changes(t, kind, since, **extra):
    """[name, result] of one /changes call."""
    return call(t, kind + "/changes", dict(extra, sinceState=since))


def ok_changes(t, kind, since, **extra):
    res = changes(t, kind, since, **extra)
    assert res[0] == kind + "/changes", res
    assert res[1]["oldState"] == since
    return res[1]


def triple(r):
    return (sorted(r["created"]), sorted(r["updated"]), sorted(r["destroyed"]))


def state(t, kind):
    return call(t, kind + "/get", {"ids": []})[1]["state"]


def uid_of(m, subject):
    typ, data = m.uid("SEARCH", None, "SUBJECT", '"%s"' % subject)
    assert typ == "OK"
    uids = data[0].split()
    assert len(uids) == 1, (subject, data)
    return uids[0].decode()


def ids(m, mailbox, subject):
    """(EMAILID, THREADID) of the message with that subject in mailbox."""
    m.select(mailbox)
    typ, data = m.uid("FETCH", uid_of(m, subject), "(UID EMAILID THREADID)")
    assert typ == "OK" and data[0], data
    d = data[0] if isinstance(data[0], bytes) else data[0][0]
    return (re.search(rb"EMAILID \(([^)]+)\)", d).group(1).decode(),
            re.search(rb"THREADID \(([^)]+)\)", d).group(1).decode())


def smtp_deliver(t, raw):
    s = smtplib.SMTP(HOST, t.port("smtp"), timeout=10)
    s.sendmail("bob@example.org", [j.USER], raw)
    s.quit()


def test_email_and_thread_changes_follow_imap_and_smtp(tern_factory):
    t = server(tern_factory)
    account(t)
    m = imap_login(t)
    m.create("Work")
    for subject in ("alpha", "bravo", "charlie"):
        assert m.append("INBOX", None, None, message(subject))[0] == "OK"
    a, ta = ids(m, "INBOX", "alpha")
    b, tb = ids(m, "INBOX", "bravo")
    c, tc = ids(m, "INBOX", "charlie")
    work = mailbox_ids(t)["Work"]
    inbox = mailbox_ids(t)["INBOX"]

    s0, t0 = state(t, "Email"), state(t, "Thread")
    r = ok_changes(t, "Email", s0)
    assert r["newState"] == s0 and triple(r) == ([], [], []) and r["hasMoreChanges"] is False

    # a flag set over IMAP: that Email updated, its thread too
    mb0 = state(t, "Mailbox")
    m.select("INBOX")
    m.uid("STORE", uid_of(m, "alpha"), "+FLAGS", "(\\Flagged)")
    r = ok_changes(t, "Email", s0)
    assert triple(r) == ([], [a], []) and r["newState"] == state(t, "Email") != s0
    assert triple(ok_changes(t, "Thread", t0)) == ([], [ta], [])
    mr = ok_changes(t, "Mailbox", mb0)
    assert triple(mr) == ([], [inbox], []) and mr["updatedProperties"] is not None

    # a MOVE to another mailbox: the same Email, updated (not destroyed + created)
    s1, mb1 = r["newState"], state(t, "Mailbox")
    typ, _ = m.uid("MOVE", uid_of(m, "bravo"), "Work")
    assert typ == "OK"
    assert triple(ok_changes(t, "Email", s1)) == ([], [b], [])
    assert ids(m, "Work", "bravo") == (b, tb)
    mr = ok_changes(t, "Mailbox", mb1)
    assert triple(mr) == ([], sorted([inbox, work]), [])

    # a COPY: one more mailbox, updated
    s2 = state(t, "Email")
    m.select("INBOX")
    assert m.uid("COPY", uid_of(m, "alpha"), "Work")[0] == "OK"
    assert triple(ok_changes(t, "Email", s2)) == ([], [a], [])

    # EXPUNGE of the only copy: destroyed, and its thread (alone in it) too
    s3, t3 = state(t, "Email"), state(t, "Thread")
    m.select("INBOX")
    m.uid("STORE", uid_of(m, "charlie"), "+FLAGS", "(\\Deleted)")
    m.expunge()
    assert triple(ok_changes(t, "Email", s3)) == ([], [], [c])
    assert triple(ok_changes(t, "Thread", t3)) == ([], [], [tc])

    # EXPUNGE of one copy of two: still there, updated
    s4 = state(t, "Email")
    m.select("Work")
    m.uid("STORE", uid_of(m, "alpha"), "+FLAGS", "(\\Deleted)")
    m.expunge()
    assert triple(ok_changes(t, "Email", s4)) == ([], [a], [])

    # SMTP delivery: created; a reply joins alpha's thread (updated)
    s5, t5 = state(t, "Email"), state(t, "Thread")
    smtp_deliver(t, message("delta"))
    smtp_deliver(t, message("Re: alpha", msgid="reply-alpha",
                            extra="In-Reply-To: <alpha@example.org>\r\n"))
    d, td = ids(m, "INBOX", "delta")
    ra, tra = ids(m, "INBOX", "Re: alpha")
    assert tra == ta
    r = ok_changes(t, "Email", s5)
    assert triple(r) == (sorted([d, ra]), [], [])
    assert triple(ok_changes(t, "Thread", t5)) == ([td], [ta], [])

    # created and expunged again between two states: nothing to say
    s6 = state(t, "Email")
    m.append("INBOX", None, None, message("echo"))
    m.select("INBOX")
    m.uid("STORE", uid_of(m, "echo"), "+FLAGS", "(\\Deleted)")
    m.expunge()
    r = ok_changes(t, "Email", s6)
    assert r["newState"] != s6 and triple(r) == ([], [], [])
    # ... and the answers chain: from the last newState, nothing changed
    r2 = ok_changes(t, "Email", r["newState"])
    assert r2["newState"] == r["newState"] and triple(r2) == ([], [], [])
    m.logout()


def walk(t, kind, since, max_changes, between=None):
    """Follows hasMoreChanges to the end; returns the final newState and
    the net created/updated/destroyed sets as a client applying each answer
    in turn would hold them."""
    created, updated, destroyed = set(), set(), set()
    steps = 0
    while True:
        r = ok_changes(t, kind, since, maxChanges=max_changes)
        n = len(r["created"]) + len(r["updated"]) + len(r["destroyed"])
        assert n <= max_changes, r
        for x in r["created"]:
            created.add(x)
            destroyed.discard(x)
        for x in r["updated"]:
            if x not in created:
                updated.add(x)
        for x in r["destroyed"]:
            if x in created:
                created.discard(x)
            else:
                destroyed.add(x)
            updated.discard(x)
        steps += 1
        assert steps < 50
        since = r["newState"]
        if not r["hasMoreChanges"]:
            return since, created, updated, destroyed, steps
        assert n > 0  # an intermediate step always moves on
        if between and steps == 1:
            between()


def test_max_changes_walks_intermediate_states(tern_factory):
    t = server(tern_factory)
    account(t)
    m = imap_login(t)
    m.append("INBOX", None, None, message("keep"))
    keep, keep_thread = ids(m, "INBOX", "keep")
    s0, t0 = state(t, "Email"), state(t, "Thread")
    subjects = ["m%d" % i for i in range(7)]
    for s in subjects:
        m.append("INBOX", None, None, message(s))
    new = {ids(m, "INBOX", s)[0] for s in subjects}
    new_threads = {ids(m, "INBOX", s)[1] for s in subjects}
    m.select("INBOX")
    m.uid("STORE", uid_of(m, "keep"), "+FLAGS", "(\\Seen)")

    end, created, updated, destroyed, steps = walk(t, "Email", s0, 3)
    assert steps == 3  # 8 changes, 3 at a time
    assert (created, updated, destroyed) == (new, {keep}, set())
    assert end == state(t, "Email")

    # the same walk while mail keeps changing between the steps: the last
    # of the new ones expunged (it may have been sent as created already),
    # a flag on the first
    def meanwhile():
        m.select("INBOX")
        m.uid("STORE", uid_of(m, "m6"), "+FLAGS", "(\\Deleted)")
        m.expunge()
        m.uid("STORE", uid_of(m, "m0"), "+FLAGS", "(\\Flagged)")
    gone, gone_thread = ids(m, "INBOX", "m6")
    end, created, updated, destroyed, _ = walk(t, "Email", s0, 2, between=meanwhile)
    assert created == new - {gone} and destroyed == set() and updated == {keep}
    assert end == state(t, "Email")
    r = ok_changes(t, "Email", end)
    assert triple(r) == ([], [], [])

    # Thread/changes cuts by thread: m6's thread came and went
    end, created, updated, destroyed, steps = walk(t, "Thread", t0, 4)
    assert steps == 2  # 6 created + 1 updated, 4 at a time
    assert (created, updated, destroyed) == (new_threads - {gone_thread}, {keep_thread}, set())
    assert end == state(t, "Thread")

    # maxChanges 0 or not a number: invalidArguments
    for bad in (0, -1, "3"):
        res = changes(t, "Email", s0, maxChanges=bad)
        assert res[0] == "error" and res[1]["type"] == "invalidArguments", (bad, res)
    m.logout()


def test_mailbox_changes_follow_imap(tern_factory):
    t = server(tern_factory)
    account(t)
    m = imap_login(t)
    m.create("Old")
    s0 = state(t, "Mailbox")
    r = ok_changes(t, "Mailbox", s0)
    assert r["newState"] == s0 and triple(r) == ([], [], [])

    m.create("Projects")
    m.create("Projects/2026")
    m.rename("Old", "Older")
    r = ok_changes(t, "Mailbox", s0)
    boxes = mailbox_ids(t)
    assert triple(r) == (sorted([boxes["Projects"], boxes["2026"]]), [boxes["Older"]], [])
    assert r["updatedProperties"] is None  # a name changed, not only counts
    assert r["newState"] == state(t, "Mailbox")

    s1 = r["newState"]
    older = boxes["Older"]
    m.delete("Older")
    m.unsubscribe("Projects")
    r = ok_changes(t, "Mailbox", s1)
    assert triple(r) == ([], [boxes["Projects"]], [older])
    assert r["updatedProperties"] is None

    # maxChanges 1 over three changes: three steps that add up
    s2 = r["newState"]
    y2026 = boxes["2026"]
    m.create("A1")
    m.create("A2")
    m.delete("Projects/2026")
    seen = []
    since = s2
    for _ in range(5):
        r = ok_changes(t, "Mailbox", since, maxChanges=1)
        got = r["created"] + r["updated"] + r["destroyed"]
        assert len(got) <= 1
        seen += got
        since = r["newState"]
        if not r["hasMoreChanges"]:
            break
    boxes = mailbox_ids(t)
    assert sorted(seen) == sorted([boxes["A1"], boxes["A2"], y2026])
    assert since == state(t, "Mailbox")

    # deleting a mailbox that held mail: Email/changes cannot say which
    # Emails went with it (the design: the client refetches)
    m.create("Full")
    m.append("Full", None, None, message("inside"))
    s3 = state(t, "Email")
    m.delete("Full")
    res = changes(t, "Email", s3)
    assert res[0] == "error" and res[1]["type"] == "cannotCalculateChanges"
    m.logout()


def test_unknown_states_and_restart(tern_factory):
    t = server(tern_factory)
    account(t)
    m = imap_login(t)
    m.append("INBOX", None, None, message("one"))
    s0, t0, mb0 = state(t, "Email"), state(t, "Thread"), state(t, "Mailbox")
    for kind in ("Email", "Thread", "Mailbox"):
        for since in ("bogus", "", "0.0.0", s0 + "-1"):
            res = changes(t, kind, since)
            assert res[0] == "error" and res[1]["type"] == "cannotCalculateChanges", (kind, res)
        res = call(t, kind + "/changes", {})
        assert res[0] == "error" and res[1]["type"] == "invalidArguments"
    m.append("INBOX", None, None, message("two"))
    m.logout()
    t.restart()
    # the snapshots were in memory: gone with the restart
    for kind, since in (("Email", s0), ("Thread", t0), ("Mailbox", mb0)):
        res = changes(t, kind, since)
        assert res[0] == "error" and res[1]["type"] == "cannotCalculateChanges", (kind, res)
    # but the current state is known again as soon as it is handed out
    s1 = state(t, "Email")
    r = ok_changes(t, "Email", s1)
    assert r["newState"] == s1 and triple(r) == ([], [], [])
    m = imap_login(t)
    m.append("INBOX", None, None, message("three"))
    three, _ = ids(m, "INBOX", "three")
    assert triple(ok_changes(t, "Email", s1)) == ([three], [], [])
    m.logout()


def test_pushed_state_serves_changes(tern_factory):
    """A state that reached the client only through the EventSource push
    can be asked for changes: the push records what it hands out too."""
    t = server(tern_factory)
    account(t)
    es = j.EventSource(t, "types=Email&closeafter=no&ping=0")
    smtp_deliver(t, message("first"))
    pushed = j.state_event(es)["Email"]
    smtp_deliver(t, message("second"))
    j.state_event(es)
    m = imap_login(t)
    second, _ = ids(m, "INBOX", "second")
    m.logout()
    r = ok_changes(t, "Email", pushed)
    assert triple(r) == ([second], [], [])
    es.close()


def test_intermediate_states_across_email_and_thread(tern_factory):
    """A state cut by thread (Thread/changes) also serves Email/changes,
    which then cuts by thread too; a state cut by Email cannot serve
    Thread/changes (one thread could straddle the cut)."""
    t = server(tern_factory)
    account(t)
    m = imap_login(t)
    s0 = state(t, "Email")
    for i in range(3):
        m.append("INBOX", None, None, message("root%d" % i))
        m.append("INBOX", None, None, message("answer%d" % i, msgid="re%d" % i,
                                              extra="In-Reply-To: <root%d@example.org>\r\n" % i))
    emails = set()
    for i in range(3):
        root, thread = ids(m, "INBOX", "root%d" % i)
        answer, answer_thread = ids(m, "INBOX", "answer%d" % i)
        assert thread == answer_thread
        emails |= {root, answer}
    r = ok_changes(t, "Thread", s0, maxChanges=1)
    assert len(r["created"]) == 1 and r["hasMoreChanges"] is True
    by_thread = r["newState"]
    # Email/changes from it: the two remaining threads' four Emails, two
    # (one thread) at a time at most
    end, created, updated, destroyed, steps = walk(t, "Email", by_thread, 3)
    assert steps == 2 and len(created) == 4 and created < emails
    assert updated == destroyed == set() and end == state(t, "Email")
    r = ok_changes(t, "Email", s0, maxChanges=1)
    assert r["hasMoreChanges"] is True
    res = changes(t, "Thread", r["newState"])
    assert res[0] == "error" and res[1]["type"] == "cannotCalculateChanges", res
    # a thread with more changes than maxChanges cannot be cut
    res = changes(t, "Email", by_thread, maxChanges=1)
    assert res[0] == "error" and res[1]["type"] == "cannotCalculateChanges", res
    m.logout()


def test_mailbox_set_states_serve_mailbox_changes(tern_factory):
    """Mailbox/set's newState is a state like any other: Mailbox/changes
    from it names what IMAP did next; the Emails of a mailbox destroyed
    with onDestroyRemoveEmails make Email/changes ask for a refetch."""
    t = server(tern_factory)
    account(t)
    res = call(t, "Mailbox/set", {"create": {"k": {"name": "ViaJmap"}}})
    assert res[0] == "Mailbox/set", res
    after_set = res[1]["newState"]
    made = res[1]["created"]["k"]["id"]
    assert triple(ok_changes(t, "Mailbox", res[1]["oldState"]))[0] == [made]
    m = imap_login(t)
    m.create("ViaImap")
    r = ok_changes(t, "Mailbox", after_set)
    assert triple(r) == ([mailbox_ids(t)["ViaImap"]], [], [])
    m.append("ViaJmap", None, None, message("doomed"))
    m.logout()
    s0 = state(t, "Email")
    res = call(t, "Mailbox/set", {"destroy": [made], "onDestroyRemoveEmails": True})
    assert res[1]["destroyed"] == [made], res
    res = changes(t, "Email", s0)
    assert res[0] == "error" and res[1]["type"] == "cannotCalculateChanges", res
    r = ok_changes(t, "Mailbox", after_set)
    assert triple(r) == ([mailbox_ids(t)["ViaImap"]], [], [made])
