"""Streamed downloads (proto/http/body_stream.c, jmap_blob.c) against the
real binary: a whole message and an upload go out in 64 KiB slices as the
socket drains. Byte-exact round trips of a 30 MB message and upload and
of sizes around the slice and output-queue boundaries on one keep-alive
connection, HEAD, two pipelined downloads, the server's memory while a
client stalls mid-download, and a client that goes away mid-download
(the server keeps serving everybody else)."""
import base64
import json
import os
import socket
import ssl
import time

from conftest import HOST, ssl_ctx
from test_jmap_blob import acct_of, download, email_import, mailbox_ids, upload
from test_jmap_core import PASSWORD, USER, basic, server

BIG = 30 * 1024 * 1024
SLICE = 65536
QUEUE = 1048576  # [limits] max_output's default: the conn's output queue
CONF = "max_size_upload = %d\n[http]\nmax_body = %d\n" % (BIG + (1 << 20), BIG + (2 << 20))


def big_message(size):
    """A message of about size bytes: a text part and a base64 attachment."""
    head = (b"From: Big <big@example.org>\r\nTo: %s\r\nSubject: big\r\n"
            b"Message-ID: <big@example.org>\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=BB\r\n\r\n"
            b"--BB\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
            b"--BB\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" % USER.encode())
    raw = base64.encodebytes(os.urandom(size * 3 // 4 - len(head))).replace(b"\n", b"\r\n")
    return head + raw + b"--BB--\r\n"


def rss_anon_kib(t):
    with open("/proc/%d/status" % t.proc.pid) as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    raise AssertionError("no RssAnon")


def raw_get(t, path, extra=b"", count=1, rcvbuf=None):
    """A TLS socket that sent count GETs of path (pipelined); rcvbuf: a
    small receive buffer, so that the kernel does not take the body in."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(20)
    sock.connect((HOST, t.port("https")))
    s = ssl_ctx().wrap_socket(sock, server_hostname=HOST)
    auth = basic()["Authorization"].encode()
    req = b"GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n%s\r\n" % (
        path.encode(), auth, extra)
    s.sendall(req * count)
    return s


def read_head(s, buf=b""):
    """Reads one response head: (status, headers dict, bytes after it)."""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        assert chunk, "closed before the head"
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    fields = {k.lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
    return int(lines[0].split()[1]), fields, rest


def read_exact(s, n, buf=b""):
    parts, have = [buf[:n]], min(len(buf), n)
    rest = buf[n:]
    while have < n:
        chunk = s.recv(min(1 << 20, n - have))
        assert chunk, "closed after %d of %d bytes" % (have, n)
        parts.append(chunk)
        have += len(chunk)
    return b"".join(parts), rest


def dl_path(acct, blob):
    return "/jmap/download/%s/%s/x.bin" % (acct, blob)


def test_big_message_and_upload_byte_exact_with_bounded_memory(tern_factory):
    t = server(tern_factory, CONF)
    acct = acct_of(t)
    msg = big_message(BIG)
    r, up = upload(t, msg, "message/rfc822")
    assert r.status == 201, up
    name, res, _ = email_import(t, acct, {"k": {
        "blobId": up["blobId"], "mailboxIds": {mailbox_ids(t, acct)["INBOX"]: True}}})
    assert name == "Email/import", res
    mblob = res["created"]["k"]["blobId"]
    for blob in (up["blobId"], mblob):
        r, got = download(t, acct, blob, "big.eml", "message/rfc822")
        assert r.status == 200
        assert int(r.getheader("Content-Length")) == len(msg)
        assert got == msg, blob
    # A client that stops reading after 256 KiB: the server holds its
    # output queue and a slice, not the message (it held the message
    # twice before, ~60 MB: the read and the conn's copy).
    for blob in (up["blobId"], mblob):
        time.sleep(0.3)
        before = rss_anon_kib(t)
        s = raw_get(t, dl_path(acct, blob))
        status, fields, rest = read_head(s)
        assert status == 200 and int(fields["content-length"]) == len(msg)
        got, rest = read_exact(s, 256 * 1024, rest)
        time.sleep(1.0)
        grown = rss_anon_kib(t) - before
        print("tern grew by %d KiB during a stalled download of %s" % (grown, blob))
        assert grown < 16 * 1024, "tern grew by %d KiB during a stalled download" % grown
        tail, rest = read_exact(s, len(msg) - len(got), rest)
        assert got + tail == msg and rest == b""
        s.close()


def test_sizes_around_the_slice_on_one_connection(tern_factory):
    import http.client
    t = server(tern_factory, CONF)
    acct = acct_of(t)
    sizes = (1, SLICE - 1, SLICE, SLICE + 1, 2 * SLICE, 3 * SLICE + 7, QUEUE - 1, QUEUE,
             QUEUE + 1, QUEUE + SLICE + 1, 3 * QUEUE)
    blobs = {}
    for n in sizes:
        data = os.urandom(n)
        r, out = upload(t, data)
        assert r.status == 201 and out["size"] == n
        blobs[n] = (out["blobId"], data)
    c = http.client.HTTPSConnection(HOST, t.port("https"), context=ssl_ctx(), timeout=20)
    for n in sizes + tuple(reversed(sizes)):
        blob, data = blobs[n]
        c.request("GET", dl_path(acct, blob), headers=basic())
        r = c.getresponse()
        got = r.read()
        assert r.status == 200 and int(r.getheader("Content-Length")) == n
        assert got == data, n
        # HEAD: the same head, no body; the connection goes on
        c.request("HEAD", dl_path(acct, blob), headers=basic())
        r = c.getresponse()
        assert r.status == 200 and int(r.getheader("Content-Length")) == n
        assert r.read() == b""
    # a JMAP call on the same connection after the streamed bodies
    c.request("GET", "/jmap/session", headers=basic())
    r = c.getresponse()
    assert r.status == 200 and json.loads(r.read())["username"] == USER
    c.close()


def test_pipelined_downloads_in_order(tern_factory):
    t = server(tern_factory, CONF)
    acct = acct_of(t)
    data = os.urandom(2 * QUEUE + 12345)
    r, out = upload(t, data)
    assert r.status == 201
    s = raw_get(t, dl_path(acct, out["blobId"]), count=3)
    rest = b""
    for _ in range(3):
        status, fields, rest = read_head(s, rest)
        assert status == 200 and int(fields["content-length"]) == len(data)
        got, rest = read_exact(s, len(data), rest)
        assert got == data
    s.close()


def test_connection_close_after_the_last_slice(tern_factory):
    t = server(tern_factory, CONF)
    acct = acct_of(t)
    data = os.urandom(3 * QUEUE + 5)
    r, out = upload(t, data)
    assert r.status == 201
    s = raw_get(t, dl_path(acct, out["blobId"]), extra=b"Connection: close\r\n")
    status, fields, rest = read_head(s)
    assert status == 200 and fields["connection"] == "close"
    got, rest = read_exact(s, len(data), rest)
    assert got == data and rest == b""
    s.settimeout(10)
    try:
        tail = s.recv(1)
    except (ssl.SSLError, ConnectionResetError):
        tail = b""
    assert tail == b"", "the connection stays open after a Connection: close body"
    s.close()


def test_client_gone_mid_download(tern_factory):
    t = server(tern_factory, CONF)
    acct = acct_of(t)
    data = os.urandom(8 * QUEUE)
    r, out = upload(t, data)
    assert r.status == 201
    path = dl_path(acct, out["blobId"])
    # one client stalls mid-download, another goes away: the others are served
    stalled = raw_get(t, path)
    read_head(stalled)
    for linger in (False, True):
        s = raw_get(t, path)
        status, _, rest = read_head(s)
        assert status == 200
        read_exact(s, SLICE + 1, rest)
        if linger:  # a reset rather than a FIN
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
        r, got = download(t, acct, out["blobId"])
        assert r.status == 200 and got == data
    # a download of an upload that is gone by now is 404, not a stream
    r, got = download(t, acct, "U999999")
    assert r.status == 404
    stalled.close()
    time.sleep(0.3)
    assert t.proc.poll() is None
    r, got = download(t, acct, out["blobId"])
    assert r.status == 200 and got == data


def test_stalled_client_cut_off_slow_one_served(tern_factory):
    # keepalive_timeout 2 s: a client that takes nothing for that long is
    # cut off mid-body; one that keeps reading, slowly, gets everything
    t = server(tern_factory, CONF.replace("[http]\n", "[http]\nkeepalive_timeout = 2\n"))
    acct = acct_of(t)
    data = os.urandom(12 * QUEUE)
    r, out = upload(t, data)
    assert r.status == 201
    path = dl_path(acct, out["blobId"])
    stalled = raw_get(t, path, rcvbuf=65536)
    status, _, rest = read_head(stalled)
    assert status == 200
    slow = raw_get(t, path)
    status, _, srest = read_head(slow)
    assert status == 200
    got = [srest]
    have = len(srest)
    start = time.monotonic()
    while have < len(data):  # ~6 s at 1 MiB a half second: longer than the timeout
        time.sleep(0.5)
        chunk, _ = read_exact(slow, min(QUEUE, len(data) - have))
        got.append(chunk)
        have += len(chunk)
    assert time.monotonic() - start > 3
    assert b"".join(got) == data
    slow.close()
    # by now the stalled one was cut off: its bytes end before the body's
    stalled.settimeout(10)
    total = len(rest)
    try:
        while True:
            chunk = stalled.recv(1 << 20)
            if not chunk:
                break
            total += len(chunk)
    except (ssl.SSLError, ConnectionResetError):
        pass
    assert total < len(data), "a stalled download was never cut off"
    stalled.close()
    assert t.proc.poll() is None


def test_wrong_password_and_other_account_not_streamed(tern_factory):
    t = server(tern_factory, CONF)
    acct = acct_of(t)
    r, out = upload(t, os.urandom(3 * SLICE))
    assert r.status == 201
    r, _ = download(t, acct, out["blobId"], headers=basic(password=PASSWORD + "x"))
    assert r.status == 401
    t.add_user("bob@example.test", PASSWORD)
    r, _ = download(t, acct, out["blobId"], headers=basic("bob@example.test"))
    assert r.status == 404
