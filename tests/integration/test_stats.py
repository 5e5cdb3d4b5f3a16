"""`tern stats [--json]`: counts read from the store in one snapshot, while
the server runs and after it stopped, against known content: N messages
delivered over SMTP, accounts, aliases, and queue rows in every state."""
import json
import smtplib
import time

from smtputil import count, inbox_messages, simple_message


def stats(t, *args):
    r = t.cli("stats", "--json", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_stats_count_what_was_delivered(tern):
    t = tern
    t.add_user("alice@example.test", "pw-alice-1")
    t.add_user("bob@example.test", "pw-bob-1")
    t.add_domain("other.test")
    assert t.cli("alias", "add", "sales@example.test", "alice@example.test").returncode == 0
    before = stats(t)
    assert before["accounts"] == 3  # postmaster, alice, bob
    assert before["domains"] == 2 and before["aliases"] == 1
    assert before["messages"] == 0 and before["bytes"] == 0
    assert before["queue"]["total"] == 0

    N = 7
    s = smtplib.SMTP(t.host, t.port("smtp"), timeout=10)
    for i in range(N):
        s.sendmail("x@remote.example", ["alice@example.test"],
                   simple_message(subject="n%d" % i))
    # one message to two accounts (one via the alias): stored once
    s.sendmail("x@remote.example", ["sales@example.test", "bob@example.test"],
               simple_message(to="sales@example.test", subject="both"))
    s.quit()

    after = stats(t)  # while serving
    alice = inbox_messages(t, "alice@example.test")
    bob = inbox_messages(t, "bob@example.test")
    assert len(alice) == N + 1 and len(bob) == 1
    assert after["messages"] == N + 2
    assert after["bytes"] == sum(len(m) for m in alice + bob)
    assert after["stored_messages"] == count(t, "SELECT count(*) FROM messages")
    assert after["stored_bytes"] == count(t, "SELECT sum(size) FROM messages")
    assert after["mailboxes"] == count(t, "SELECT count(*) FROM mailboxes")
    assert after["accounts"] == 3 and after["queue"]["total"] == 0

    r = t.cli("stats")
    assert r.returncode == 0, r.stderr
    assert "messages         %d\n" % (N + 2) in r.stdout
    assert "accounts         3\n" in r.stdout
    assert "queue            0 (queued 0, deferred 0, sending 0, bouncing 0)" in r.stdout


def test_stats_queue_by_state(tern):
    t = tern
    t.add_user("alice@example.test", "pw-alice-1")
    s = smtplib.SMTP(t.host, t.port("smtp"), timeout=10)
    s.sendmail("x@remote.example", ["alice@example.test"], simple_message())
    s.quit()
    t.stop()
    # rows in each state, written while no runner can take them
    now = int(time.time())
    db = t.db()
    mid = db.execute("SELECT id FROM messages").fetchone()[0]
    rows = [  # attempts, claimed_until, cancelled
        (0, 0, 0), (0, 0, 0), (2, 0, 0), (1, now + 3600, 0), (1, 0, 1)]
    for attempts, claimed, cancelled in rows:
        db.execute("INSERT INTO queue(message_id, mail_from, rcpt, next_attempt, attempts,"
                   " expires, claimed_until, cancelled, created)"
                   " VALUES(?, 'a@example.test', 'r@remote.example', ?, ?, ?, ?, ?, ?)",
                   (mid, now + 3600, attempts, now + 86400, claimed, cancelled, now))
    db.commit()
    db.close()
    q = stats(t)["queue"]  # no server running: the store is read all the same
    assert q == {"queued": 2, "deferred": 1, "sending": 1, "bouncing": 1, "total": 5}, q


def test_stats_errors(tern_factory):
    t = tern_factory(start=False)
    r = t.cli("stats")
    assert r.returncode == 1 and "no store at" in r.stderr, r.stderr
    import os
    assert not os.path.exists(os.path.join(t.data_dir, "tern.db"))  # none made
    t.start()
    r = t.cli("stats", "--yaml")
    assert r.returncode == 2 and "unexpected argument '--yaml'" in r.stderr
    assert t.cli("stats", "--help").returncode == 0
