"""`tern quickstart ADDRESS`: a config, the domain, the account with a
password printed once, postmaster@ as its alias, DKIM keys and the DNS
records, in one command; run again, it keeps everything and says so.

The written config is started as it is except for its listener addresses
(the standard ports on every interface become free loopback ports) and its
ACME entries (nothing here may reach Let's Encrypt)."""
import imaplib
import os
import re
import smtplib
import subprocess

import pytest

from conftest import HOST, TERN_BIN, sanitizer_report, ssl_ctx

ADDRESS = "you@example.org"
# (name, protocol, tls) as quickstart writes them, by standard port.
STANDARD = {25: ("smtp", "smtp", "starttls"), 587: ("submission", "submission", "starttls"),
            465: ("submissions", "submission", "implicit"), 110: ("pop3", "pop3", "starttls"),
            995: ("pop3s", "pop3", "implicit"), 143: ("imap", "imap", "starttls"),
            993: ("imaps", "imap", "implicit"), 80: ("http", "http", "none"),
            443: ("https", "http", "implicit")}
LISTENERS = list(STANDARD.values())


def quickstart(*args, cwd=None, config=None, data_dir=None):
    cmd = [TERN_BIN, "quickstart", *args]
    if config:
        cmd += ["--config", config]
    if data_dir:
        cmd += ["--data-dir", data_dir]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=cwd)
    report = sanitizer_report(r.stderr)
    if report:
        pytest.fail("tern quickstart wrote a sanitizer report:\n" + report, pytrace=False)
    return r


def password_of(out):
    found = re.findall(r"^  password  (\S+)$", out, re.M)
    assert len(found) <= 1, out
    return found[0] if found else None


def to_loopback(t):
    """The quickstart config with each standard port's listener moved to
    t's free loopback port for it, and without its ACME entries."""
    with open(t.config_path) as f:
        text = f.read()
    text = re.sub(r"(?:#[^\n]*\n)*\[\[tls\.acme\]\]\n(?:\w+ = [^\n]*\n)*\n?", "", text)
    seen = set()

    def move(m):
        port = int(m.group(2))
        name = STANDARD[port][0]
        if port in seen:  # net.ipv6.bindv6only: "0.0.0.0" and "[::]" both
            return ""
        seen.add(port)
        return m.group(1) + 'address = "%s:%d"\n' % (HOST, t.port(name))
    head, sep, rest = text.partition("[[listen]]")
    blocks = re.sub(r'(\[\[listen\]\]\nprotocol = "\w+"\n)address = "(?:\[::\]|0\.0\.0\.0):(\d+)"\n',
                    move, sep + rest)
    blocks = re.sub(r'\ntls = "\w+"\n(?=\ntls|\Z)', "\n", blocks)  # a dropped duplicate's
    with open(t.config_path, "w") as f:
        f.write(head + blocks)


def dns_records(out):
    recs = {}
    for line in out.splitlines():
        m = re.match(r"^(\S+)\.\t3600\tIN\t(\w+)\t(.*)$", line)
        if m:
            recs.setdefault((m.group(1), m.group(2)), []).append(m.group(3))
    return recs


def imap_login(t, password):
    m = imaplib.IMAP4_SSL(HOST, t.port("imaps"), ssl_context=ssl_ctx())
    m.login(ADDRESS, password)
    return m


@pytest.fixture
def fresh(tern_factory):
    """A Tern with ports picked and no config: quickstart writes it."""
    t = tern_factory(start=False, listeners=LISTENERS)
    os.remove(t.config_path)
    t.write_config = lambda: to_loopback(t)  # start() re-picks ports this way
    return t


def test_quickstart_then_serve_then_again(fresh):
    t = fresh
    r = quickstart(ADDRESS, cwd=t.dir, config=t.config_path, data_dir=t.data_dir)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    password = password_of(out)
    assert password and len(password) >= 20, out
    assert "config    %s: written" % t.config_path in out
    for what in ("domain    example.org: created", "account   you@example.org: created",
                 "alias     postmaster@example.org: created", ": created\n"):
        assert what in out, out

    with open(t.config_path) as f:
        config = f.read()
    assert 'hostname = "mail.example.org"' in config and 'domain = "example.org"' in config
    assert 'data_dir = "%s"' % t.data_dir in config
    ports = sorted(int(p) for p in re.findall(r'address = "(?:\[::\]|0\.0\.0\.0):(\d+)"', config))
    assert sorted(set(ports)) == sorted(STANDARD)
    assert config.count("[[tls.acme]]") == 2 and 'domains = "mail.example.org"' in config
    assert 'contact = "mailto:you@example.org"' in config

    # every record to publish
    recs = dns_records(out)
    assert recs[("example.org", "MX")] == ["10 mail.example.org."]
    assert recs[("example.org", "TXT")] == ['"v=spf1 mx -all"']
    dkim = [k for k in recs if k[0].endswith("._domainkey.example.org")]
    assert len(dkim) == 2, recs
    assert "k=ed25519" in "".join(recs[dkim[1]]) or "k=ed25519" in "".join(recs[dkim[0]])
    assert recs[("_dmarc.example.org", "TXT")][0].startswith('"v=DMARC1; p=quarantine')
    assert recs[("_mta-sts.example.org", "TXT")][0].startswith('"v=STSv1; id=')
    assert recs[("_smtp._tls.example.org", "TXT")][0].startswith('"v=TLSRPTv1;')
    for name in ("mta-sts", "autoconfig", "autodiscover"):
        assert recs[(name + ".example.org", "CNAME")] == ["mail.example.org."]
    for srv, port in (("_submissions", 465), ("_submission", 587), ("_imaps", 993),
                      ("_imap", 143), ("_pop3s", 995), ("_pop3", 110), ("_autodiscover", 443)):
        assert recs[(srv + "._tcp.example.org", "SRV")] == ["0 1 %d mail.example.org." % port]
    assert re.search(r"^(; )?mail\.example\.org\.\t3600\tIN\tA\t", out, re.M), out
    assert re.search(r"^(; )?mail\.example\.org\.\t3600\tIN\tAAAA\t", out, re.M), out
    assert "tern --config %s serve" % t.config_path in out

    # the password is nowhere on disk in clear
    for name in os.listdir(t.data_dir):
        with open(os.path.join(t.data_dir, name), "rb") as f:
            assert password.encode() not in f.read(), name

    to_loopback(t)
    t.start()
    m = imap_login(t, password)
    m.logout()
    with smtplib.SMTP_SSL(HOST, t.port("submissions"), context=ssl_ctx(), timeout=30) as s:
        s.login(ADDRESS, password)
        for to in (ADDRESS, "postmaster@example.org"):
            s.sendmail(ADDRESS, [to], "From: %s\r\nTo: %s\r\nSubject: hello from "
                       "quickstart\r\n\r\nhi\r\n" % (ADDRESS, to))
    m = imap_login(t, password)
    m.select("INBOX")
    typ, data = m.search(None, "SUBJECT", '"hello from quickstart"')
    assert len(data[0].split()) == 2  # the account's and postmaster@'s, its alias
    m.logout()
    assert password not in t.logs() and password not in t.stdout()
    t.stop()

    # again: nothing new, nothing broken, the same password
    r = quickstart(ADDRESS, cwd=t.dir, config=t.config_path, data_dir=t.data_dir)
    assert r.returncode == 0, r.stderr
    assert password_of(r.stdout) is None
    for what in ("config    %s: exists, kept" % t.config_path, "domain    example.org: exists, kept",
                 "account   you@example.org: exists, kept",
                 "alias     postmaster@example.org: exists, kept", ": exist, kept"):
        assert what in r.stdout, r.stdout
    # the same keys, no new ones (the SRV ports are the loopback config's now)
    no_srv = lambda recs: {k: v for k, v in recs.items() if k[1] != "SRV"}
    assert no_srv(dns_records(r.stdout)) == no_srv(recs)
    keys = t.cli("dkim", "list", "example.org").stdout
    assert keys.rstrip().endswith("2 keys"), keys
    t.start()  # the loopback config was kept, not rewritten
    imap_login(t, password).logout()


def test_reset_password_and_force(tmp_path):
    d = str(tmp_path)
    r = quickstart("admin@example.net", "--hostname", "mx.example.net", "--no-acme", cwd=d)
    assert r.returncode == 0, r.stderr
    config = os.path.join(d, "tern-data", "tern.toml")  # the default places
    assert "config    %s: written" % config in r.stdout
    with open(config) as f:
        text = f.read()
    assert "\n[[tls.acme]]" not in text and 'hostname = "mx.example.net"' in text
    assert "self-signed" in r.stdout
    first = password_of(r.stdout)

    r = quickstart("admin@example.net", "--reset-password", cwd=d)
    assert r.returncode == 0, r.stderr
    second = password_of(r.stdout)
    assert second and second != first
    assert "exists, new password set" in r.stdout

    # --force: a new config, the old one kept beside it; the store untouched
    with open(config, "a") as f:
        f.write("# edited by hand\n")
    r = quickstart("admin@example.net", "--hostname", "mail2.example.net", "--force", cwd=d)
    assert r.returncode == 0, r.stderr
    assert password_of(r.stdout) is None and "exists, kept" in r.stdout
    with open(config + ".bak") as f:
        assert f.read().endswith("# edited by hand\n")
    with open(config) as f:
        assert 'hostname = "mail2.example.net"' in f.read()
    r = subprocess.run([TERN_BIN, "--config", config, "user", "list"], capture_output=True,
                       text=True, timeout=60)
    assert r.stdout.split() == ["admin@example.net"]

    # an existing config with another primary domain: the second domain joins it
    r = quickstart("bob@example.com", "--config", config, cwd=d)
    assert r.returncode == 0, r.stderr
    assert "primary domain is example.net" in r.stdout
    assert "example.com.\t3600\tIN\tMX\t10 mail2.example.net." in r.stdout


@pytest.mark.parametrize("address", ["nobody", "@example.org", "a@b", "a b@example.org",
                                     "a@-x.example.org", "a..b@example.org", "a@example.123",
                                     'a"b@example.org', "a@exa_mple.org"])
def test_bad_address(tmp_path, address):
    r = quickstart(address, cwd=str(tmp_path))
    assert r.returncode == 2
    assert "is not an address like you@example.org" in r.stderr
    assert os.listdir(str(tmp_path)) == []  # nothing written


def test_bad_arguments(tmp_path):
    d = str(tmp_path)
    r = quickstart(cwd=d)
    assert r.returncode == 2 and "needs the ADDRESS" in r.stderr
    r = quickstart(ADDRESS, "--bogus", cwd=d)
    assert r.returncode == 2 and "unexpected argument '--bogus'" in r.stderr
    r = quickstart(ADDRESS, "--hostname", "not a host", cwd=d)
    assert r.returncode == 2 and "is not a host name" in r.stderr
    r = quickstart("--help", cwd=d)
    assert r.returncode == 0 and "usage: tern quickstart" in r.stdout
    assert os.listdir(d) == []


def test_unwritable_places(tmp_path):
    d = str(tmp_path)
    blocker = os.path.join(d, "a-file")
    with open(blocker, "w") as f:
        f.write("not a directory\n")
    # a data directory that cannot be made (under a file: even root fails)
    r = quickstart(ADDRESS, cwd=d, data_dir=os.path.join(blocker, "data"),
                   config=os.path.join(d, "tern.toml"))
    assert r.returncode == 1
    assert "cannot create the data directory %s/data" % blocker in r.stderr
    assert not os.path.exists(os.path.join(d, "tern.toml"))
    # a config that cannot be written: the store is there, nothing else
    r = quickstart(ADDRESS, cwd=d, data_dir=os.path.join(d, "data"),
                   config=os.path.join(blocker, "tern.toml"))
    assert r.returncode == 1 and "cannot create the directory %s" % blocker in r.stderr
    assert password_of(r.stdout) is None
    if os.geteuid() != 0:
        ro = os.path.join(d, "ro")
        os.mkdir(ro, 0o500)
        r = quickstart(ADDRESS, cwd=d, data_dir=os.path.join(ro, "data"))
        assert r.returncode == 1 and "Permission denied" in r.stderr
    # then from a good place it works
    r = quickstart(ADDRESS, cwd=d, data_dir=os.path.join(d, "data"))
    assert r.returncode == 0, r.stderr


def test_existing_config_is_checked(tmp_path):
    d = str(tmp_path)
    config = os.path.join(d, "tern.toml")
    with open(config, "w") as f:
        f.write("[server]\nnonsense = 1\n")
    r = quickstart(ADDRESS, cwd=d, config=d)
    assert r.returncode == 1 and "is not a file" in r.stderr
    r = quickstart(ADDRESS, cwd=d, config=config)
    assert r.returncode == 1 and "is not a valid config" in r.stderr and "unknown key" in r.stderr
    with open(config) as f:
        assert f.read() == "[server]\nnonsense = 1\n"  # not touched
    os.remove(config)
    r = quickstart(ADDRESS, cwd=d, config=config, data_dir=os.path.join(d, "one"))
    assert r.returncode == 0, r.stderr
    r = quickstart(ADDRESS, cwd=d, config=config, data_dir=os.path.join(d, "two"))
    assert r.returncode == 1 and "keeps its data in %s/one" % d in r.stderr
    assert not os.path.exists(os.path.join(d, "two"))
    r = quickstart(ADDRESS, "--hostname", "other.example.org", cwd=d, config=config)
    assert r.returncode == 0 and "is kept with hostname mail.example.org" in r.stderr
