"""Configuration: the TOML loader, the key table, and config.example.toml."""
import os
import re
import subprocess

from conftest import TERN_BIN

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
EXAMPLE = os.path.join(ROOT, "config.example.toml")


def check(tmp_path, text):
    p = tmp_path / "t.toml"
    p.write_bytes(text.encode())
    r = subprocess.run([TERN_BIN, "--config", str(p), "check-config"], capture_output=True,
                       text=True, timeout=30)
    return r, str(p)


def test_example_file_loads_and_equals_defaults():
    r = subprocess.run([TERN_BIN, "--config", EXAMPLE, "check-config"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    d = subprocess.run([TERN_BIN, "check-config"], capture_output=True, text=True, timeout=30,
                       env={k: v for k, v in os.environ.items() if k != "TERN_CONFIG"})
    assert d.returncode == 0
    # Same listeners and settings, only the source line differs.
    assert r.stdout.splitlines()[1:] == d.stdout.splitlines()[1:]


def test_example_documents_every_key_with_its_default():
    keys = subprocess.run([TERN_BIN, "check-config", "--keys"], capture_output=True, text=True,
                          timeout=30).stdout.splitlines()
    assert len(keys) > 30
    text = open(EXAMPLE).read()
    # Map each "key = value" line (commented or not) to the section it is in.
    section = ""
    documented = set()
    for line in text.splitlines():
        m = re.match(r"^#?\s*\[\[?([a-z0-9.]+)\]\]?\s*$", line)
        if m:
            section = m.group(1)
            continue
        m = re.match(r"^#?\s*([a-z_]+) = (.+)$", line)
        if m:
            documented.add((section, m.group(1), m.group(2).strip()))
    missing = []
    for k in keys:
        name, typ, default = k.split(" ", 2)
        sec, key = name.rsplit(".", 1)
        if (sec, key, default) not in documented:
            missing.append(k)
    assert not missing, "config.example.toml lacks (or has another default for): %s" % missing


def test_unknown_key_names_file_line_and_key(tmp_path):
    r, p = check(tmp_path, "[server]\nhostname = \"x\"\nhostnme = \"y\"\n")
    assert r.returncode != 0
    assert "%s:3:" % p in r.stderr and "server.hostnme" in r.stderr


def test_unknown_section(tmp_path):
    r, p = check(tmp_path, "[servre]\nhostname = \"x\"\n")
    assert r.returncode != 0 and "unknown key 'servre'" in r.stderr and p in r.stderr


def test_wrong_type(tmp_path):
    r, p = check(tmp_path, "\n[smtp]\nmax_recipients = \"many\"\n")
    assert r.returncode != 0
    assert "%s:3:" % p in r.stderr and "smtp.max_recipients" in r.stderr and "integer" in r.stderr


def test_out_of_range(tmp_path):
    r, _ = check(tmp_path, "[smtp]\nmax_recipients = 0\n")
    assert r.returncode != 0 and "out of range" in r.stderr


def test_bad_choice(tmp_path):
    r, _ = check(tmp_path, "[smtp]\nbare_newline = \"sometimes\"\n")
    assert r.returncode != 0 and "reject|normalize" in r.stderr


def test_syntax_error_has_line_and_column(tmp_path):
    r, p = check(tmp_path, "[server]\nhostname = \"unterminated\n")
    assert r.returncode != 0
    assert re.search(re.escape(p) + r":2:\d+:", r.stderr), r.stderr


def test_listen_entries(tmp_path):
    r, _ = check(tmp_path, '[[listen]]\nprotocol = "imap"\naddress = "[::1]:1143"\ntls = "none"\n')
    assert r.returncode == 0, r.stderr
    assert "[::1]:1143" in r.stdout and r.stdout.count("listen ") == 1
    r, _ = check(tmp_path, '[[listen]]\nprotocol = "gopher"\naddress = "127.0.0.1:70"\n')
    assert r.returncode != 0 and "listen.protocol" in r.stderr
    r, _ = check(tmp_path, '[[listen]]\nprotocol = "imap"\n')
    assert r.returncode != 0 and "address" in r.stderr
    r, _ = check(tmp_path, '[[listen]]\nprotocol = "imap"\naddress = "127.0.0.1:99999"\n')
    assert r.returncode != 0 and "port" in r.stderr
    r, _ = check(tmp_path, ('[[listen]]\nprotocol = "imap"\naddress = "127.0.0.1:1143"\n'
                            '[[listen]]\nprotocol = "pop3"\naddress = "127.0.0.1:1143"\n'))
    assert r.returncode != 0 and "twice" in r.stderr


def test_missing_file():
    r = subprocess.run([TERN_BIN, "--config", "/nonexistent/tern.toml", "check-config"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "/nonexistent/tern.toml" in r.stderr
