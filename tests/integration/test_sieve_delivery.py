"""Sieve at delivery (deliver/sieve_filter.c, deliver/job.c): scripts put
and activated with `tern sieve`, mail sent over SMTP, read back over IMAP
and from the store. fileinto with and without :create, keep with
imap4flags, discard, reject with one recipient (550 at DATA) and with two
(accepted, a failure notice queued to the sender), redirect (a queue row
from an SRS address at the account's domain), vacation once per sender, a run that hits
the engine's action limit (implicit keep), the junk rescue (a script's
explicit keep wins over the junk verdict, its implicit keep does not), two
recipients each with its own script, the compile cache (one compile for
several deliveries), a :create'd mailbox announced to an IMAP NOTIFY
session, and a JMAP submission filtered the same way. Remote addresses
are under fail.test, which the test's dnsmasq never answers, so queue rows
stay where the test can read them; the junk test's senders are under
nx.test, which it answers with NXDOMAIN (a DMARC lookup that fails would
be a 451)."""
import imaplib
import os
import re
import smtplib
import tempfile

import pytest

from conftest import ssl_ctx
from relayutil import DNSMASQ, Dns, queue_config, wait_for

pytestmark = pytest.mark.skipif(not os.path.exists(DNSMASQ), reason="dnsmasq not installed")

USER = "rcpt@example.test"
OTHER = "other@example.test"
PASSWORD = "sieve-test-pw"


@pytest.fixture(scope="module")
def server():
    from conftest import Tern
    d = tempfile.mkdtemp(prefix="tern-sieve-")
    # 127.0.0.6 is listed by bl.test: mail from there is junk
    dns = Dns(["--address=/6.0.0.127.bl.test/127.0.0.2"], d)
    spam = '[spam]\n[[spam.dnsbl]]\nzone = "bl.test"\nweight = 10\n'
    t = Tern(d, extra_config=queue_config(dns, 25, retry_first=3600, retry_max=3600) + spam,
             listeners=[("smtp", "smtp", "none"), ("imap", "imap", "starttls")],
             auth={"check_timeout": 3, "plaintext_loopback": "true"})
    t.start()
    t.add_user(USER, PASSWORD)
    t.add_user(OTHER, PASSWORD)
    yield t
    t.stop()
    dns.stop()
    os.system("rm -rf '%s'" % d)


def put_active(t, script, name="test", account=USER):
    path = os.path.join(t.dir, name + ".sieve")
    with open(path, "w") as f:
        f.write(script)
    r = t.cli("sieve", "put", account, name, path)
    assert r.returncode == 0, r.stderr
    r = t.cli("sieve", "activate", account, name)
    assert r.returncode == 0, r.stderr


def message(subject, frm="sender@far.fail.test", to=USER, extra=""):
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
            "Date: Mon, 7 Dec 2026 10:00:00 +0000\r\nMessage-ID: <%s@far.fail.test>\r\n%s"
            "\r\nHello.\r\n" % (frm, to, subject, subject.replace(" ", "."), extra)).encode()


def send(t, msg, rcpts=(USER,), mail_from="sender@far.fail.test", source="127.0.0.1"):
    """(code, text) of the answer to DATA."""
    with smtplib.SMTP(t.host, t.port("smtp"), timeout=30, source_address=(source, 0)) as s:
        s.ehlo("client.test")
        code, text = s.mail(mail_from)
        assert code == 250, text
        for r in rcpts:
            code, text = s.rcpt(r)
            assert code == 250, text
        code, text = s.data(msg)
        return code, text.decode()


def where(t, subject, account=USER):
    """[(mailbox, flags, keywords)] of the entries whose message has that subject."""
    db = t.db()
    try:
        rows = db.execute(
            "SELECT b.name, e.flags, e.keywords, m.data FROM mailbox_entries e "
            "JOIN mailboxes b ON b.id = e.mailbox_id JOIN accounts a ON a.id = b.account_id "
            "JOIN messages m ON m.id = e.message_id WHERE a.address = ?", (account,)).fetchall()
    finally:
        db.close()
    needle = ("Subject: %s\r\n" % subject).encode()
    return sorted((r[0], r[1], r[2]) for r in rows if needle in bytes(r[3]))


def queue(t):
    """[(mail_from, rcpt, data)] of the queue."""
    db = t.db()
    try:
        return [(r[0], r[1], bytes(r[2])) for r in db.execute(
            "SELECT q.mail_from, q.rcpt, m.data FROM queue q JOIN messages m "
            "ON m.id = q.message_id ORDER BY q.id")]
    finally:
        db.close()


def imap(t):
    c = imaplib.IMAP4(t.host, t.port("imap"))
    c.starttls(ssl_ctx())
    c.login(USER, PASSWORD)
    return c


def test_put_with_a_syntax_error_stores_nothing(server):
    path = os.path.join(server.dir, "bad.sieve")
    with open(path, "w") as f:
        f.write('require "fileinto";\nif true {\n  fileinto "x"\n}\n')
    r = server.cli("sieve", "put", USER, "bad", path)
    assert r.returncode == 1
    assert re.match(r"^\d+:\d+: ", r.stderr), r.stderr
    assert "bad" not in server.cli("sieve", "list", USER).stdout
    # and the commands' other errors
    assert server.cli("sieve", "put", "nobody@example.test", "x", path).returncode == 1
    assert server.cli("sieve", "get", USER, "missing").returncode == 1
    assert server.cli("sieve", "activate", USER, "missing").returncode == 1
    assert server.cli("sieve", "frobnicate").returncode == 2


def test_active_script_cannot_be_deleted(server):
    put_active(server, "keep;\n", name="keeper")
    r = server.cli("sieve", "delete", USER, "keeper")
    assert r.returncode == 1 and "active" in r.stderr
    assert server.cli("sieve", "get", USER, "keeper").stdout == "keep;\n"
    assert server.cli("sieve", "activate", USER, "--none").returncode == 0
    assert server.cli("sieve", "delete", USER, "keeper").returncode == 0
    assert "keeper" not in server.cli("sieve", "list", USER).stdout


FILEINTO = '''require ["fileinto", "mailbox"];
if header :contains "subject" "to-archive" { fileinto "Archive"; }
elsif header :contains "subject" "to-missing" { fileinto "Nowhere"; }
elsif header :contains "subject" "to-create" { fileinto :create "Created"; }
elsif header :contains "subject" "to-badname" { fileinto :create "bad*name"; }
'''


def compiled(t):
    return t.logs().count("sieve event=compiled account=")


def test_fileinto(server):
    put_active(server, FILEINTO)
    before = compiled(server)
    for s in ("to-archive", "to-missing", "to-create", "to-badname", "plain"):
        code, text = send(server, message(s))
        assert code == 250, text
    # compiled once for the five deliveries (kept by (account, updated))
    wait_for(lambda: compiled(server) > before, timeout=5, what="the compile log line")
    assert compiled(server) == before + 1
    assert where(server, "to-archive") == [("Archive", 0, "")]
    # a missing mailbox without :create: the implicit keep, and a log line
    assert where(server, "to-missing") == [("INBOX", 0, "")]
    assert 'event=fileinto_missing' in server.logs() and 'mailbox="Nowhere"' in server.logs()
    # :create made it, and IMAP sees it
    assert where(server, "to-create") == [("Created", 0, "")]
    c = imap(server)
    typ, lst = c.list()
    assert any(b'"Created"' in ln or ln.endswith(b" Created") for ln in lst), lst
    c.logout()
    # a name IMAP could not list back is not made: the implicit keep
    assert where(server, "to-badname") == [("INBOX", 0, "")]
    assert where(server, "plain") == [("INBOX", 0, "")]


def test_keep_with_flags_visible_over_imap(server):
    put_active(server, '''require ["imap4flags"];
if header :contains "subject" "flagme" { addflag ["$label", "\\\\Flagged"]; keep; }
''')
    code, _ = send(server, message("flagme now"))
    assert code == 250
    c = imap(server)
    c.select("INBOX")
    typ, data = c.search(None, "SUBJECT", '"flagme now"')
    uid = data[0].split()[-1]
    typ, data = c.fetch(uid, "(FLAGS)")
    flags = data[0].decode()
    assert "\\Flagged" in flags and "$label" in flags, flags
    c.logout()


def test_discard_answers_250_and_stores_nothing(server):
    put_active(server, 'if header :contains "subject" "drop-it" { discard; }\n')
    code, _ = send(server, message("drop-it please"))
    assert code == 250
    assert where(server, "drop-it please") == []


REJECT = '''require ["reject"];
if header :contains "subject" "refuse" { reject "I do not want this: go away"; }
'''


def test_reject_one_recipient_is_550_with_the_reason(server):
    put_active(server, REJECT)
    code, text = send(server, message("refuse one"))
    assert code == 550, text
    assert text.startswith("5.7.1") and "go away" in text, text
    assert where(server, "refuse one") == []


def test_reject_with_two_recipients_accepts_and_notifies(server):
    put_active(server, REJECT)
    before = len(queue(server))
    code, text = send(server, message("refuse two"), rcpts=(USER, OTHER))
    assert code == 250, text
    assert where(server, "refuse two") == []
    assert where(server, "refuse two", OTHER) == [("INBOX", 0, "")]
    rows = queue(server)[before:]
    notice = [r for r in rows if r[1] == "sender@far.fail.test"]
    assert len(notice) == 1 and notice[0][0] == "", rows
    assert b"5.7.1" in notice[0][2] and b"go away" in notice[0][2]
    assert b"Final-Recipient: rfc822; " + USER.encode() in notice[0][2]


def test_redirect_queues_from_the_account(server):
    put_active(server, 'if header :contains "subject" "forward-me" '
                       '{ redirect "elsewhere@redir.fail.test"; }\n')
    code, _ = send(server, message("forward-me now"))
    assert code == 250
    rows = [r for r in queue(server) if r[1] == "elsewhere@redir.fail.test"]
    assert len(rows) == 1
    mail_from, _, data = rows[0]
    # rewritten with SRS at the account's domain: SPF passes at the destination
    assert mail_from.startswith("SRS0=") and mail_from.endswith("=far.fail.test=sender@example.test")
    assert b"Subject: forward-me now\r\n" in data and not data.startswith(b"Return-Path:")
    assert where(server, "forward-me now") == []  # redirect cancels the implicit keep


def test_redirect_refused_when_looping(server):
    put_active(server, 'redirect "loop@redir.fail.test";\n')
    many = "".join("Received: from hop%d.test by x.test; Mon, 7 Dec 2026 09:00:00 +0000\r\n" % i
                   for i in range(31))
    code, _ = send(server, message("looping", extra=many))
    assert code == 250
    assert [r for r in queue(server) if r[1] == "loop@redir.fail.test"] == []
    assert where(server, "looping") == [("INBOX", 0, "")]
    assert "event=redirect_refused" in server.logs()


def test_vacation_once_per_sender(server):
    put_active(server, '''require ["vacation"];
vacation :days 7 :subject "Away" :from "boss@elsewhere.test" "I am away until Monday.";
''')
    for i in range(2):
        code, _ = send(server, message("vac %d" % i, frm="friend@far.fail.test"),
                       mail_from="friend@far.fail.test")
        assert code == 250
        assert where(server, "vac %d" % i) == [("INBOX", 0, "")]  # kept as well
    replies = [r for r in queue(server) if r[1] == "friend@far.fail.test"]
    assert len(replies) == 1, replies
    mail_from, _, data = replies[0]
    assert mail_from == ""
    assert b"Subject: Away\r\n" in data
    assert b"Auto-Submitted: auto-replied" in data
    assert b"In-Reply-To: <vac.0@far.fail.test>" in data
    # a :from that is not the account's own is not used (the relay signs the reply)
    assert b"From: <" + USER.encode() + b">" in data
    assert "event=vacation_from_ignored" in server.logs()
    assert data.startswith(b"Auto-Submitted: auto-replied (vacation)\r\n")
    assert b"I am away until Monday." in data
    # another sender is answered; a null sender never
    code, _ = send(server, message("vac other", frm="third@far.fail.test"),
                   mail_from="third@far.fail.test")
    assert code == 250
    assert len([r for r in queue(server) if r[1] == "third@far.fail.test"]) == 1
    n = len(queue(server))
    code, _ = send(server, message("vac null", frm="x@far.fail.test"), mail_from="")
    assert code == 250
    assert len(queue(server)) == n


def test_run_time_limit_is_an_implicit_keep(server):
    # 33 actions: over the engine's 32 per run
    lines = "".join('fileinto "f%d";\n' % i for i in range(33))
    put_active(server, 'require "fileinto";\n' + lines)
    code, _ = send(server, message("too many actions"))
    assert code == 250
    assert where(server, "too many actions") == [("INBOX", 0, "")]
    assert "event=run_failed" in server.logs()


def test_junk_rescue(server):
    # no script: mail from the listed client goes to Junk
    assert server.cli("sieve", "activate", USER, "--none").returncode == 0
    code, text = send(server, message("junk plain", frm="a@nx.test"), mail_from="a@nx.test",
                      source="127.0.0.6")
    assert code == 250, text
    assert where(server, "junk plain") == [("Junk", 0, "$Junk")]
    # a script that keeps this sender explicitly rescues it; others stay junk
    put_active(server, 'if address :is "from" "friend@nx.test" { keep; }\n')
    code, _ = send(server, message("junk friend", frm="friend@nx.test"),
                   mail_from="friend@nx.test", source="127.0.0.6")
    assert code == 250
    assert where(server, "junk friend") == [("INBOX", 0, "")]
    code, _ = send(server, message("junk stranger", frm="b@nx.test"), mail_from="b@nx.test",
                   source="127.0.0.6")
    assert code == 250
    assert where(server, "junk stranger") == [("Junk", 0, "$Junk")]


def test_each_recipient_runs_its_own_script(server):
    put_active(server, 'if header :contains "subject" "both" { discard; }\n')
    put_active(server, 'require ["fileinto", "copy", "imap4flags"];\n'
                       'if header :contains "subject" "both" '
                       '{ fileinto :copy :flags "\\\\Seen" "Archive"; redirect :copy '
                       '"copy@redir.fail.test"; }\n', account=OTHER)
    code, _ = send(server, message("both of them"), rcpts=(USER, OTHER))
    assert code == 250
    assert where(server, "both of them") == []
    # :copy keeps the implicit keep beside the fileinto and the redirect
    assert where(server, "both of them", OTHER) == [("Archive", 1, ""), ("INBOX", 0, "")]
    rows = [r for r in queue(server) if r[1] == "copy@redir.fail.test"]
    assert len(rows) == 1 and rows[0][0].startswith("SRS0=")
    assert rows[0][0].endswith("=sender@example.test")  # SRS at OTHER's domain


def test_created_mailbox_is_announced(server):
    """A session with NOTIFY (RFC 5465) for its personal mailboxes hears
    of the mailbox fileinto :create made, as of an IMAP CREATE."""
    put_active(server, 'require ["fileinto", "mailbox"];\n'
                       'fileinto :create "Announced";\n')
    c = imap(server)
    c.send(b"n1 NOTIFY SET (personal (MailboxName))\r\n")
    while not c.readline().startswith(b"n1 "):
        pass
    code, _ = send(server, message("announce me"))
    assert code == 250
    assert where(server, "announce me") == [("Announced", 0, "")]
    c.send(b"n2 NOOP\r\n")
    lines = []
    while True:
        ln = c.readline()
        lines.append(ln)
        if ln.startswith(b"n2 "):
            break
    assert any(ln.startswith(b"* LIST") and b"Announced" in ln for ln in lines), lines
    c.logout()


def test_jmap_submission_is_filtered(tern_factory):
    """A JMAP EmailSubmission to a local recipient takes the same path:
    the recipient's script files it; its reject becomes a failure notice
    to the sender (no SMTP reply to carry it), and the submission stands."""
    from test_jmap_core import WEB
    from test_jmap_submit import ALICE, BOB, BOBPW, PW, account, call, draft, mailboxes
    t = tern_factory(extra_config="[jmap]\n", listeners=WEB)
    t.add_user(ALICE, PW)
    t.add_user(BOB, BOBPW)
    put_active(t, 'require ["fileinto", "reject"];\n'
                  'if header :contains "subject" "refuse" { reject "not from you"; }\n'
                  'else { fileinto "Archive"; }\n', account=BOB)
    acc = account(t)
    mb = mailboxes(t, acc)
    for subject in ("jmap filed", "jmap refuse"):
        res = call(t, [
            ["Email/set", {"accountId": acc, "create": {"k": draft(acc, mb, subject=subject)}},
             "0"],
            ["EmailSubmission/set", {"accountId": acc, "create": {
                "s": {"identityId": "I" + acc[1:], "emailId": "#k"}}}, "1"]], created={})
        assert "s" in res["methodResponses"][1][1]["created"], res
    assert where(t, "jmap filed", BOB) == [("Archive", 0, "")]
    assert where(t, "jmap refuse", BOB) == []
    # the notice went to Alice's INBOX (a local sender)
    db = t.db()
    try:
        notices = [bytes(r[0]) for r in db.execute(
            "SELECT m.data FROM mailbox_entries e JOIN mailboxes b ON b.id = e.mailbox_id "
            "JOIN accounts a ON a.id = b.account_id JOIN messages m ON m.id = e.message_id "
            "WHERE a.address = ? AND b.name = 'INBOX'", (ALICE,))]
    finally:
        db.close()
    assert any(b"5.7.1" in n and b"not from you" in n for n in notices), notices
