"""Helpers for the webhook tests (test_webhooks.py, test_webhooks_incoming.py):
an HTTP receiver on loopback, the Tern-Signature check, `tern webhook add`
and the event rows read from the store."""
import hashlib
import hmac
import http.server
import json
import re
import threading
import time

from conftest import free_port

HOOK_HOST = "127.0.0.7"


class Receiver:
    """An HTTP receiver: answers each POST with the next of statuses (the
    last one repeats) and records (headers, body, status answered)."""

    def __init__(self, port=None, statuses=(200,)):
        self.statuses = list(statuses)
        self.got = []
        self.port = port or free_port(HOOK_HOST)
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                st = outer.statuses[min(len(outer.got), len(outer.statuses) - 1)]
                outer.got.append((dict(self.headers), body, st))
                self.send_response(st)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer((HOOK_HOST, self.port), Handler)
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://%s:%d/hook" % (HOOK_HOST, self.port)

    def accepted(self):
        """The events answered 2xx, parsed, as (event id, JSON)."""
        return [(int(h["Tern-Event-Id"]), json.loads(b)) for h, b, st in self.got
                if 200 <= st < 300]

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def verify(secret, headers, body, now=None):
    """Stripe-style check: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>."""
    m = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", headers["Tern-Signature"])
    assert m, headers["Tern-Signature"]
    t = int(m.group(1))
    assert abs((now or time.time()) - t) < 60  # fresh: against replay
    want = hmac.new(secret.encode(), m.group(1).encode() + b"." + body,
                    hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, m.group(2))


def add_hook(t, url, *extra, owner=("--account", "alice@a.test")):
    r = t.cli("webhook", "add", *owner, url, *extra)
    assert r.returncode == 0, r.stderr
    m = re.fullmatch(r"id (\d+)\nsecret (whsec_[0-9a-f]{64})\n", r.stdout)
    assert m, r.stdout
    return int(m.group(1)), m.group(2)


def events_in_db(t):
    db = t.db()
    try:
        return db.execute("SELECT id, attempts, delivered_at, failed_at, last_error "
                          "FROM webhook_events ORDER BY id").fetchall()
    finally:
        db.close()
