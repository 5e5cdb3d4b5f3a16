"""[spam] rspamd_url: each message from an mx client is posted to rspamd's
/checkv2 with the envelope in headers, and its action applied (reject ->
550 5.7.1, soft reject and greylist -> 451 4.7.1, add header -> X-Spam
headers, no action -> delivered); an rspamd that fails or does not answer
in time lets the mail through (fail open). rspamd here is a fake in
Python that answers the action the Subject asks for and records what it
was sent."""
import http.server
import json
import threading
import time

import pytest

from smtputil import inbox_messages, smtp_raw, simple_message, wait_quiet


class FakeRspamd(http.server.BaseHTTPRequestHandler):
    seen = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        FakeRspamd.seen.append((self.path, dict(self.headers), self.headers.get_all("Rcpt"), body))
        subject = [ln for ln in body.split(b"\r\n") if ln.startswith(b"Subject: ")][0][9:].decode()
        if subject == "broken":
            self.send_response(500)
            self.end_headers()
            return
        if subject == "slow":
            time.sleep(2)
        reply = json.dumps({"action": subject.replace("-", " "), "score": 7.5,
                            "required_score": 15}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *a):
        pass


@pytest.fixture
def rspamd():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeRspamd)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    FakeRspamd.seen.clear()
    yield srv
    srv.shutdown()


@pytest.fixture
def server(tern_factory, rspamd):
    t = tern_factory(extra_config="[smtp]\ngreet_delay_ms = 0\n\n[spam]\n"
                     "rspamd_url = \"http://127.0.0.1:%d/\"\nrspamd_timeout_ms = 1000\n"
                     % rspamd.server_address[1])
    t.add_user("alice@example.test", "pw-alice-123")
    return t


def send(t, subject, body="Hello.\r\n", helo="client.example"):
    """One message to alice over mx; the reply to its end of data."""
    c = smtp_raw(t)
    c.ehlo(helo)
    assert c.cmd("MAIL FROM:<sender@remote.example>")[0] == 250
    assert c.cmd("RCPT TO:<alice@example.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(simple_message(subject=subject, body=body) + ".\r\n")
    r = c.reply()
    assert c.cmd("NOOP")[0] == 250  # the session goes on
    c.close()
    return r


def stored(t, subject, mailbox="INBOX"):
    wait_quiet(0.2)
    for m in inbox_messages(t, "alice@example.test", mailbox):
        if ("Subject: %s\r\n" % subject).encode() in m:
            return m.decode()
    return None


@pytest.mark.parametrize("action,code,text", [
    ("reject", 550, "5.7.1 Message rejected as spam"),
    ("soft-reject", 451, "4.7.1 Try again later"),
    ("greylist", 451, "4.7.1 Try again later"),
])
def test_refusing_actions(server, action, code, text):
    c, lines = send(server, action)
    assert (c, lines[-1]) == (code, text)
    assert stored(server, action) is None


def test_no_action_delivers_and_sends_the_envelope(server):
    c, lines = send(server, "no-action")
    assert c == 250, lines
    m = stored(server, "no-action")
    assert m is not None and "X-Spam-Flag" not in m
    path, headers, rcpts, body = FakeRspamd.seen[-1]
    assert path == "/checkv2"
    assert headers["IP"] == "127.0.0.1" and headers["Helo"] == "client.example"
    assert headers["From"] == "sender@remote.example" and rcpts == ["alice@example.test"]
    assert headers["Queue-Id"] and "User" not in headers
    assert body.endswith(b"Hello.\r\n") and b"Subject: no-action\r\n" in body


def test_add_header_marks_spam(server):
    c, lines = send(server, "add-header")
    assert c == 250, lines
    assert stored(server, "add-header") is None  # into Junk, not INBOX
    m = stored(server, "add-header", "Junk")
    assert "X-Spam-Flag: YES\r\nX-Spam-Score: 7.50\r\n" in m.split("\r\n\r\n")[0]


@pytest.mark.parametrize("subject", ["broken", "slow"])
def test_failure_delivers(server, subject):
    c, lines = send(server, subject)
    assert c == 250, lines
    assert stored(server, subject) is not None
    assert "event=rspamd_failed" in server.logs()
