"""What the mail-authentication integration tests share: reading the
Authentication-Results fields of a stored message and the server's
/metrics page."""
import http.client

from conftest import ssl_ctx


def ar_fields(data):
    """The Authentication-Results fields of a message, unfolded."""
    head = data.split(b"\r\n\r\n", 1)[0].decode()
    return [f for f in head.replace("\r\n\t", " ").replace("\r\n ", " ").split("\r\n")
            if f.lower().startswith("authentication-results:")]


def metrics_page(t):
    """The server's /metrics page (the https listener on t's address)."""
    c = http.client.HTTPSConnection(t.host, t.port("https"), context=ssl_ctx(), timeout=10)
    try:
        c.request("GET", "/metrics")
        r = c.getresponse()
        body = r.read().decode()
    finally:
        c.close()
    assert r.status == 200, body
    return body


def smtp_counters(t):
    """The tern_smtp_* samples of /metrics: name with labels -> int."""
    got = {}
    for line in metrics_page(t).splitlines():
        name, _, value = line.rpartition(" ")
        if name.startswith("tern_smtp_"):
            got[name] = int(float(value))
    return got
