"""Real SMTP clients from Debian against tern, as a user would run them:
Python smtplib, swaks, curl and msmtp. Each checks the stored bytes."""
import email.generator
import email.message
import io
import os
import shutil
import smtplib
import subprocess

import pytest

from conftest import ssl_ctx
from smtputil import inbox_messages, simple_message, strip_trace

PW = "password-alice"


@pytest.fixture
def srv(tern_factory):
    t = tern_factory()
    t.add_user("alice@example.test", PW)
    t.add_user("bob@example.test", "password-bob")
    return t


def need(tool):
    if not shutil.which(tool):
        pytest.skip("%s not installed" % tool)


# ---- smtplib ------------------------------------------------------------------

def test_smtplib_all_commands(srv):
    with smtplib.SMTP(srv.host, srv.port("smtp")) as s:
        assert s.helo("client.example")[0] == 250
        assert s.ehlo("client.example")[0] == 250
        for ext in ("size", "pipelining", "8bitmime", "smtputf8", "enhancedstatuscodes",
                    "chunking", "dsn", "starttls"):
            assert s.has_extn(ext), ext
        assert s.noop()[0] == 250
        assert s.verify("alice")[0] == 252
        assert s.expn("staff")[0] == 502
        assert s.docmd("HELP")[0] == 214
        assert s.mail("s@remote.example", ["BODY=8BITMIME", "SIZE=100"])[0] == 250
        assert s.rcpt("alice@example.test", ["NOTIFY=FAILURE"])[0] == 250
        assert s.rset()[0] == 250
        msg = simple_message(body="caf\u00e9\r\n").encode()
        assert s.sendmail("s@remote.example", ["alice@example.test", "bob@example.test"], msg,
                          mail_options=["BODY=8BITMIME"]) == {}
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            s.sendmail("s@remote.example", ["nobody@example.test"], msg)
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            s.sendmail("s@remote.example", ["x@relay.example"], msg)
    assert strip_trace(inbox_messages(srv, "alice@example.test")[0]) == msg
    assert strip_trace(inbox_messages(srv, "bob@example.test")[0]) == msg


def test_smtplib_starttls_login(srv):
    with smtplib.SMTP(srv.host, srv.port("submission")) as s:
        s.ehlo()
        assert not s.has_extn("auth")
        s.starttls(context=ssl_ctx())
        s.ehlo()
        assert "PLAIN" in s.esmtp_features["auth"] and "LOGIN" in s.esmtp_features["auth"]
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.login("alice@example.test", "wrong-password")
        assert e.value.smtp_code == 535
        s.login("alice@example.test", PW)
        msg = simple_message(frm="alice@example.test", to="bob@example.test")
        s.sendmail("alice@example.test", ["bob@example.test"], msg)
    got = inbox_messages(srv, "bob@example.test")[0]
    assert b"with ESMTPSA" in got and strip_trace(got) == msg.encode()


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_smtplib_smtp_ssl(srv, mech):
    with smtplib.SMTP_SSL(srv.host, srv.port("submissions"), context=ssl_ctx()) as s:
        s.ehlo()
        s.user, s.password = "alice@example.test", PW
        code, _ = s.auth(mech, getattr(s, "auth_" + mech.lower()),
                         initial_response_ok=(mech == "PLAIN"))
        assert code == 235
        msg = simple_message(frm="alice@example.test", to="x@remote.example")
        assert s.sendmail("alice@example.test", ["x@remote.example", "bob@example.test"],
                          msg) == {}
    db = srv.db()
    assert db.execute("SELECT rcpt FROM queue").fetchall() == [("x@remote.example",)]


def test_smtplib_send_message_utf8_body(srv):
    """Issue 14 item 6: the everyday EmailMessage with a UTF-8 body goes
    out with Content-Transfer-Encoding: 8bit, and send_message() does not
    add BODY=8BITMIME (only SMTPUTF8 addresses make it); tern stores it
    as sent."""
    msg = email.message.EmailMessage()
    msg["From"] = "s@remote.example"
    msg["To"] = "alice@example.test"
    msg["Subject"] = "Gr\u00fc\u00dfe"
    msg.set_content("Gr\u00fc\u00dfe aus K\u00f6ln, caf\u00e9 \u2603\n")
    assert msg["Content-Transfer-Encoding"] == "8bit"
    buf = io.BytesIO()
    email.generator.BytesGenerator(buf).flatten(msg, linesep="\r\n")
    with smtplib.SMTP(srv.host, srv.port("smtp")) as s:
        assert s.send_message(msg) == {}
    assert strip_trace(inbox_messages(srv, "alice@example.test")[0]) == buf.getvalue()


def test_smtplib_sendmail_as_bytes_lf(srv):
    """Issue 14 item 7: smtplib.sendmail(frm, to, msg.as_bytes()), the
    everyday pattern, sends LF line ends (only str messages get CRLF) and
    dot-stuffs after each LF. Stored as CRLF lines, the dot un-stuffed."""
    msg = email.message.EmailMessage()
    msg["From"] = "s@remote.example"
    msg["To"] = "alice@example.test"
    msg["Subject"] = "lf"
    msg.set_content("first line\n.a line with a leading dot\nlast\n")
    raw = msg.as_bytes()
    assert b"\r\n" not in raw and b"\n.a line" in raw
    with smtplib.SMTP(srv.host, srv.port("smtp")) as s:
        assert s.sendmail("s@remote.example", ["alice@example.test"], raw) == {}
    # smtplib ends the data with CRLF "." CRLF after the last LF: an empty
    # line more, as Postfix stores it too.
    assert strip_trace(inbox_messages(srv, "alice@example.test")[0]) == \
        raw.replace(b"\n", b"\r\n") + b"\r\n"


def test_smtplib_bdat_via_docmd(srv):
    with smtplib.SMTP(srv.host, srv.port("smtp")) as s:
        s.ehlo()
        s.mail("s@remote.example")
        s.rcpt("alice@example.test")
        body = simple_message().encode()
        s.send(b"BDAT %d LAST\r\n" % len(body) + body)
        assert s.getreply()[0] == 250
    assert strip_trace(inbox_messages(srv, "alice@example.test")[0]) == body


# ---- swaks -------------------------------------------------------------------------

def swaks(srv, *args, port="smtp"):
    need("swaks")
    return subprocess.run(["swaks", "--server", srv.host, "--port", str(srv.port(port)),
                           "--helo", "swaks.example", *args],
                          capture_output=True, text=True, timeout=60)


def test_swaks_plain_and_pipelining(srv):
    r = swaks(srv, "--from", "s@remote.example", "--to", "alice@example.test,bob@example.test",
              "--pipeline", "--body", "pipelined body")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "<** " not in r.stdout
    assert b"pipelined body" in inbox_messages(srv, "alice@example.test")[0]


def test_swaks_tls_auth_attachment(srv, tmp_path):
    att = tmp_path / "data.bin"
    att.write_bytes(os.urandom(50000))
    r = swaks(srv, "--from", "alice@example.test", "--to", "bob@example.test",
              "--tls", "--auth", "LOGIN", "--auth-user", "alice@example.test",
              "--auth-password", PW, "--attach", "@%s" % att,
              "--header", "From: alice@example.test", port="submission")
    assert r.returncode == 0, r.stdout + r.stderr
    got = inbox_messages(srv, "bob@example.test")[0]
    assert b"with ESMTPSA" in got and b"multipart/mixed" in got


def test_swaks_implicit_tls_plain(srv):
    r = swaks(srv, "--from", "alice@example.test", "--to", "bob@example.test",
              "--tlsc", "--auth", "PLAIN", "--auth-user", "alice@example.test",
              "--auth-password", PW, "--header", "From: alice@example.test",
              port="submissions")
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(inbox_messages(srv, "bob@example.test")) == 1


def test_swaks_wrong_password(srv):
    r = swaks(srv, "--from", "alice@example.test", "--to", "bob@example.test",
              "--tls", "--auth", "PLAIN", "--auth-user", "alice@example.test",
              "--auth-password", "nope-nope", port="submission")
    assert r.returncode != 0
    assert "535 5.7.8" in r.stdout


# ---- curl --------------------------------------------------------------------------

def test_curl_mx(srv, tmp_path):
    need("curl")
    f = tmp_path / "msg.eml"
    msg = simple_message(subject="from curl")
    f.write_bytes(msg.encode())
    r = subprocess.run(["curl", "-sS", "smtp://%s:%d" % (srv.host, srv.port("smtp")),
                        "--mail-from", "s@remote.example", "--mail-rcpt", "alice@example.test",
                        "--upload-file", str(f)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert strip_trace(inbox_messages(srv, "alice@example.test")[0]) == msg.encode()


def test_curl_submission_starttls_auth(srv, tmp_path):
    need("curl")
    f = tmp_path / "msg.eml"
    msg = simple_message(frm="alice@example.test", to="bob@example.test")
    f.write_bytes(msg.encode())
    r = subprocess.run(["curl", "-sS", "--ssl-reqd", "-k",
                        "smtp://%s:%d" % (srv.host, srv.port("submission")),
                        "--user", "alice@example.test:%s" % PW,
                        "--mail-from", "alice@example.test", "--mail-rcpt", "bob@example.test",
                        "--upload-file", str(f)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert strip_trace(inbox_messages(srv, "bob@example.test")[0]) == msg.encode()
    r = subprocess.run(["curl", "-sS", "-k", "smtps://%s:%d" % (srv.host, srv.port("submissions")),
                        "--user", "alice@example.test:%s" % PW,
                        "--mail-from", "alice@example.test", "--mail-rcpt", "bob@example.test",
                        "--upload-file", str(f)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert len(inbox_messages(srv, "bob@example.test")) == 2


def test_curl_relay_denied(srv, tmp_path):
    need("curl")
    f = tmp_path / "msg.eml"
    f.write_bytes(simple_message().encode())
    r = subprocess.run(["curl", "-sS", "smtp://%s:%d" % (srv.host, srv.port("smtp")),
                        "--mail-from", "s@remote.example", "--mail-rcpt", "x@relay.example",
                        "--upload-file", str(f)], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "554" in r.stderr


# ---- msmtp -------------------------------------------------------------------------

def test_msmtp(srv, tmp_path):
    need("msmtp")
    conf = tmp_path / "msmtprc"
    conf.write_text("account default\nhost %s\nport %d\nauth on\nuser alice@example.test\n"
                    "password %s\ntls on\ntls_starttls on\ntls_certcheck off\n"
                    "from alice@example.test\n" % (srv.host, srv.port("submission"), PW))
    conf.chmod(0o600)
    msg = simple_message(frm="alice@example.test", to="bob@example.test", subject="msmtp")
    r = subprocess.run(["msmtp", "-C", str(conf), "bob@example.test"], input=msg.encode(),
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert strip_trace(inbox_messages(srv, "bob@example.test")[0]) == msg.encode()


@pytest.mark.parametrize("mech", ["scram-sha-256", "scram-sha-1"])
def test_msmtp_scram(srv, tmp_path, mech):
    """A real SCRAM client: msmtp with GNU SASL, over STARTTLS."""
    need("msmtp")
    conf = tmp_path / "msmtprc"
    log = tmp_path / "msmtp.log"
    conf.write_text("account default\nhost %s\nport %d\nauth %s\nuser alice@example.test\n"
                    "password %s\ntls on\ntls_starttls on\ntls_certcheck off\n"
                    "from alice@example.test\n" % (srv.host, srv.port("submission"), mech, PW))
    conf.chmod(0o600)
    msg = simple_message(frm="alice@example.test", to="bob@example.test", subject=mech)
    r = subprocess.run(["msmtp", "-d", "-C", str(conf), "bob@example.test"], input=msg.encode(),
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert b"AUTH " + mech.upper().encode() in r.stdout + r.stderr
    assert strip_trace(inbox_messages(srv, "bob@example.test")[0]) == msg.encode()
    assert "event=auth result=ok mech=%s " % mech in srv.logs()


def test_msmtp_utf8_body(srv, tmp_path):
    """Issue 14 item 6: msmtp never sends BODY=8BITMIME, and everything
    that uses it as its sendmail (mutt, git, cron) sends ordinary UTF-8
    mail through it; written with LF line ends, as those programs do."""
    need("msmtp")
    conf = tmp_path / "msmtprc"
    conf.write_text("account default\nhost %s\nport %d\nauth on\nuser alice@example.test\n"
                    "password %s\ntls on\ntls_starttls on\ntls_certcheck off\n"
                    "from alice@example.test\nlogfile %s\n"
                    % (srv.host, srv.port("submission"), PW, tmp_path / "msmtp.log"))
    conf.chmod(0o600)
    msg = ("From: alice@example.test\nTo: bob@example.test\nSubject: caf\u00e9\n"
           "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
           "Content-Transfer-Encoding: 8bit\n\nGr\u00fc\u00dfe aus K\u00f6ln \u2603\n")
    r = subprocess.run(["msmtp", "-C", str(conf), "bob@example.test"], input=msg.encode(),
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    got = strip_trace(inbox_messages(srv, "bob@example.test")[0])
    assert got.endswith(msg.replace("\n", "\r\n").encode())
