"""The built-in webmail's files: served by tern from the binary itself.

What the browser tests (tests/browser) take for granted, checked with
plain HTTP clients: every file of web/ is served byte for byte under
/webmail/ (the page at / and /webmail/), with its content type, a strong
ETag that answers 304, a gzip copy for clients that take one, the page's
own CSP, only over TLS, and not at all with [http] webmail = false.
"""
import base64
import gzip
import os
import subprocess
import time

import pytest

from conftest import TERN_BIN
from test_http import get, raw, status_of, web

WEB = os.path.join(os.path.dirname(__file__), "..", "..", "web")
TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".js": "text/javascript; charset=utf-8"}


def web_files():
    out = []
    for d, dirs, files in os.walk(WEB):
        dirs[:] = [x for x in dirs if x != "node_modules" and not x.startswith(".")]
        for f in files:
            if os.path.splitext(f)[1] in TYPES:
                out.append(os.path.relpath(os.path.join(d, f), WEB))
    return sorted(out)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from conftest import Tern, LISTENERS
    d = tmp_path_factory.mktemp("webmail")
    t = Tern(str(d), listeners=LISTENERS + [("http", "http", "none"),
                                            ("https", "http", "implicit")])
    t.start()
    yield t
    t.stop()


def test_the_page_with_its_csp(server):
    for path in ("/", "/webmail/"):
        r, body = get(server, path)
        assert r.status == 200
        assert r.getheader("Content-Type") == "text/html; charset=utf-8"
        assert r.getheader("Cache-Control") == "no-cache"
        csp = r.getheader("Content-Security-Policy")
        for d in ("default-src 'none'", "script-src 'self'", "style-src 'self'",
                  "img-src 'self' data:", "connect-src 'self'", "frame-src 'self'",
                  "frame-ancestors 'none'", "base-uri 'none'"):
            assert d in csp, (d, csp)
        assert "unsafe" not in csp
        assert len(r.getheaders()) == len({k.lower() for k, _ in r.getheaders()}), \
            "a header twice (two CSPs?)"
        assert b'src="/webmail/app.js"' in body and b"<script>" not in body
        with open(os.path.join(WEB, "index.html"), "rb") as f:
            assert body == f.read()


@pytest.mark.parametrize("name", web_files())
def test_every_file_byte_for_byte_gzip_etag_304(server, name):
    with open(os.path.join(WEB, name), "rb") as f:
        want = f.read()
    r, body = get(server, "/webmail/" + name)
    assert r.status == 200 and body == want
    assert r.getheader("Content-Type") == TYPES[os.path.splitext(name)[1]]
    assert r.getheader("Content-Encoding") is None
    etag = r.getheader("ETag")
    assert etag and etag.startswith('"') and len(etag) == 34
    r, body = get(server, "/webmail/" + name, headers={"Accept-Encoding": "gzip"})
    if len(want) > 200:
        assert r.getheader("Content-Encoding") == "gzip"
        assert len(body) < len(want)
    if r.getheader("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    assert body == want and r.getheader("ETag") == etag
    r, body = get(server, "/webmail/" + name, headers={"If-None-Match": etag})
    assert r.status == 304 and body == b""
    r, body = get(server, "/webmail/" + name, headers={"If-None-Match": '"0000"'})
    assert r.status == 200 and len(body) > 0
    r, body = get(server, "/webmail/" + name, method="HEAD")
    assert r.status == 200 and body == b"" and int(r.getheader("Content-Length")) == len(want)


@pytest.mark.parametrize("path,status", [
    ("/webmail/nope.js", 404), ("/webmail/index.htm", 404), ("/webmail/views", 404),
    ("/webmail/views/", 404), ("/webmail/../etc/passwd", 400), ("/webmail/%2e%2e/x", 400),
    ("/webmail/app.js%00", 400), ("/webmail/package.json", 404), ("/webmail/tsconfig.json", 404),
    ("/webmail/node_modules/typescript/package.json", 404), ("/webmail", 404),
])
def test_what_is_not_there(server, path, status):
    out, _ = raw(server, b"GET %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" % path.encode(),
                 name="https")
    assert status_of(out) == status, out[:300]


def test_only_get_and_head(server):
    r, _ = get(server, "/", method="POST", body=b"x")
    assert r.status == 405 and "GET" in r.getheader("Allow")
    r, _ = get(server, "/webmail/app.js", method="DELETE")
    assert r.status == 405


def test_plain_http_redirects(server):
    out, _ = raw(server, b"GET /webmail/app.js HTTP/1.1\r\nHost: localhost\r\n"
                         b"Connection: close\r\n\r\n")
    assert status_of(out) == 301
    assert b"Location: https://localhost:%d/webmail/app.js\r\n" % server.port("https") in out


def test_switched_off(tern_factory):
    t = web(tern_factory, "[http]\nwebmail = false\n")
    for path in ("/", "/webmail/", "/webmail/app.js"):
        r, _ = get(t, path)
        assert r.status == 404, path


def test_static_dir_keeps_the_root(tern_factory, tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    (root / "index.html").write_text("<!doctype html><title>site</title>")
    t = web(tern_factory, '[http]\nstatic_dir = "%s"\n' % root)
    r, body = get(t, "/")
    assert r.status == 200 and b"<title>site</title>" in body
    r, body = get(t, "/webmail/")
    assert r.status == 200 and b"/webmail/app.js" in body
    # a static_dir without an index.html leaves "/" to the webmail
    (root / "index.html").unlink()
    time.sleep(1.1)  # static.c trusts its cache for a second
    r, body = get(t, "/")
    assert r.status == 200 and b"/webmail/app.js" in body


EMBED = os.path.join(os.path.dirname(os.path.abspath(TERN_BIN)), "embed_assets")


@pytest.mark.skipif(not os.path.exists(EMBED), reason="no embed_assets beside tern")
def test_embed_assets_refuses_what_it_cannot_serve(tmp_path):
    """The generator fails, and writes nothing, over the gzipped budget, for
    a name that is not plain, a type it does not know, a missing file."""
    root = tmp_path / "web"
    root.mkdir()
    out = tmp_path / "out.c"
    (root / "big.js").write_bytes(base64.b64encode(os.urandom(300000)))
    (root / 'a"b.js').write_text("x")
    (root / "x.exe").write_text("x")
    for f in ("big.js", 'a"b.js', "x.exe", "missing.js"):
        r = subprocess.run([EMBED, str(out), str(root), str(root / f)], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 1 and r.stderr, f
        assert not out.exists(), f
    (root / "ok.js").write_text("export const x = 1;\n" * 100)
    r = subprocess.run([EMBED, str(out), str(root), str(root / "ok.js")], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and "1 files, 2000 bytes" in r.stdout
    assert '{"ok.js", "text/javascript; charset=utf-8", asset0, sizeof asset0, asset0_gz' \
        in out.read_text()
