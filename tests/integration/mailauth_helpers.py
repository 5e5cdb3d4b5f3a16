"""What the mail-authentication integration tests share: running a
`tern ... check` command against dnsmasq, reading the
Authentication-Results fields of a stored message and the server's
/metrics page."""
import http.client
import subprocess
import tempfile

from conftest import TERN_BIN, ssl_ctx


def check_cli(dns, *args):
    """`tern ARGS` asking dns (a relayutil.Dns), in an empty directory: its
    stdout, stripped; it must exit 0."""
    with tempfile.TemporaryDirectory() as cwd:
        r = subprocess.run([TERN_BIN, *args, "--dns-servers", dns.servers, "--timeout", "1"],
                           capture_output=True, text=True, cwd=cwd, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def header(data):
    """A message's header section, as text."""
    return data.split(b"\r\n\r\n", 1)[0].decode()


def ar_fields(data):
    """The Authentication-Results fields of a message, unfolded."""
    head = header(data)
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


def smtp_counters(t, prefix="tern_smtp_"):
    """The samples of /metrics whose name starts with prefix: name with
    labels -> int."""
    got = {}
    for line in metrics_page(t).splitlines():
        name, _, value = line.rpartition(" ")
        if name.startswith(prefix):
            got[name] = int(float(value))
    return got
