"""The admin command line: domain, user, alias, version, help, errors."""
import subprocess

from conftest import TERN_BIN

SPECIAL = {"INBOX": "", "Sent": "\\Sent", "Drafts": "\\Drafts", "Trash": "\\Trash",
           "Junk": "\\Junk", "Archive": "\\Archive"}


def run(*args, input=None):
    return subprocess.run([TERN_BIN, *args], input=input, capture_output=True, text=True,
                          timeout=30)


def test_version_and_help():
    r = run("version")
    assert r.returncode == 0 and r.stdout.startswith("tern ")
    r = run("--help")
    assert r.returncode == 0 and "serve" in r.stdout and "alias" in r.stdout
    for cmd in ("serve", "check-config", "domain", "user", "alias"):
        r = run(cmd, "--help")
        assert r.returncode == 0, cmd
        assert "usage: tern" in r.stdout, cmd


def test_unknown_command_and_option():
    r = run("frobnicate")
    assert r.returncode != 0 and "unknown command" in r.stderr
    r = run("--bogus", "serve")
    assert r.returncode != 0 and "unknown option" in r.stderr
    r = run()
    assert r.returncode != 0 and "no command" in r.stderr


def test_user_add_creates_special_mailboxes(tern_factory):
    t = tern_factory(start=False)
    t.add_domain("example.test")
    r = t.add_user("alice@example.test", "correct horse battery")
    assert "alice@example.test" in r.stdout
    with t.db() as db:
        rows = db.execute(
            "SELECT m.name, m.special_use, EXISTS(SELECT 1 FROM subscriptions s "
            "WHERE s.account_id = m.account_id AND s.name = m.name) FROM mailboxes m "
            "JOIN accounts a ON a.id = m.account_id WHERE a.address = ?",
            ("alice@example.test",)).fetchall()
        got = {name: (special or "") for name, special, _ in rows}
        assert got == SPECIAL
        assert all(sub == 1 for _, _, sub in rows)
        (h,) = db.execute("SELECT password_hash FROM accounts WHERE address = ?",
                          ("alice@example.test",)).fetchone()
        assert h.startswith("$y$"), "new passwords are yescrypt"
    r = t.cli("user", "list")
    assert r.returncode == 0 and "alice@example.test" in r.stdout


def test_user_errors_say_what_to_do(tern_factory):
    t = tern_factory(start=False)
    r = t.cli("user", "add", "bob@nowhere.test", "--password-stdin", input="longenough\n")
    assert r.returncode != 0
    assert "tern domain add nowhere.test" in r.stderr
    # The password is never taken from argv.
    r = t.cli("user", "add", "bob@example.test", "hunter2hunter2")
    assert r.returncode != 0 and "usage" in r.stderr
    t.add_domain("example.test")
    r = t.cli("user", "add", "bob@example.test", "--password-stdin", input="short\n")
    assert r.returncode != 0 and "at least 8" in r.stderr
    r = t.cli("user", "add", "bob@example.test", "--password-stdin", input="")
    assert r.returncode != 0 and "no password" in r.stderr
    t.add_user("bob@example.test", "longenough")
    r = t.cli("user", "add", "bob@example.test", "--password-stdin", input="longenough\n")
    assert r.returncode != 0 and "already exists" in r.stderr
    r = t.cli("user", "passwd", "nobody@example.test", "--password-stdin", input="longenough\n")
    assert r.returncode != 0
    r = t.cli("user", "add", "not-an-address", "--password-stdin", input="longenough\n")
    assert r.returncode != 0 and "not an address" in r.stderr


def test_user_passwd_and_del(tern_factory):
    t = tern_factory(start=False)
    t.add_domain("example.test")
    t.add_user("carol@example.test", "first password")
    with t.db() as db:
        (h1,) = db.execute("SELECT password_hash FROM accounts WHERE address='carol@example.test'").fetchone()
    r = t.cli("user", "passwd", "carol@example.test", "--password-stdin", input="second password\n")
    assert r.returncode == 0, r.stderr
    with t.db() as db:
        (h2,) = db.execute("SELECT password_hash FROM accounts WHERE address='carol@example.test'").fetchone()
    assert h1 != h2
    r = t.cli("user", "del", "carol@example.test")
    assert r.returncode == 0, r.stderr
    with t.db() as db:
        assert db.execute("SELECT count(*) FROM accounts").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM mailboxes").fetchone()[0] == 0
    r = t.cli("user", "del", "carol@example.test")
    assert r.returncode != 0


def test_domain_commands(tern_factory):
    t = tern_factory(start=False)
    t.add_domain("one.test")
    t.add_domain("Two.Test")
    r = t.cli("domain", "list")
    assert r.stdout.split() == ["one.test", "two.test"] or sorted(r.stdout.split()) == ["one.test", "two.test"]
    r = t.cli("domain", "add", "one.test")
    assert r.returncode != 0 and "already exists" in r.stderr
    t.add_user("u@one.test", "longenough")
    r = t.cli("domain", "del", "one.test")
    assert r.returncode != 0 and "tern user del" in r.stderr
    r = t.cli("domain", "del", "two.test")
    assert r.returncode == 0
    r = t.cli("domain", "bogus")
    assert r.returncode != 0 and "usage" in r.stderr


def test_alias_commands(tern_factory):
    t = tern_factory(start=False)
    t.add_domain("example.test")
    t.add_user("dave@example.test", "longenough")
    assert t.cli("alias", "add", "info@example.test", "dave@example.test").returncode == 0
    assert t.cli("alias", "add", "@example.test", "dave@example.test").returncode == 0
    r = t.cli("alias", "list")
    assert "info@example.test -> dave@example.test" in r.stdout
    assert "@example.test -> dave@example.test" in r.stdout
    r = t.cli("alias", "add", "x@elsewhere.test", "dave@example.test")
    assert r.returncode != 0 and "tern domain add" in r.stderr
    assert t.cli("alias", "del", "@example.test").returncode == 0
    assert t.cli("alias", "del", "@example.test").returncode != 0
    r = t.cli("alias", "list")
    assert "@example.test -> dave" not in r.stdout.replace("info@example.test", "")


def test_cli_while_server_runs(tern):
    # The server holds the database open; the CLI writes next to it.
    tern.add_user("erin@example.test", "longenough")
    r = tern.cli("user", "list")
    assert "erin@example.test" in r.stdout
    assert "postmaster@example.test" in r.stdout
