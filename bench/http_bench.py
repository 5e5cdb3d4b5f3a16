#!/usr/bin/env python3
"""HTTP benchmark: tern's static files vs a private nginx (Debian's nginx-light).

Both serve the same directory (a 10 KiB JavaScript asset, as a webmail ships)
on loopback:

  tern:   the default config plus one plain and one HTTPS listener and
          [http] static_dir (nothing tuned);
  nginx:  Debian's default nginx.conf reduced to what applies (worker
          processes auto, sendfile, tcp_nopush, keep-alive 65 s, its
          self-signed certificate for HTTPS), minus the access log: tern
          writes none per request, so nginx does not either.

Load: wrk (Debian's `wrk`), 50 keep-alive connections, 2 threads, GET of the
asset, no Accept-Encoding (neither compresses); --runs runs of --seconds per
server, interleaved, over plain HTTP and over HTTPS. The table shows median
requests/s and the ratio tern/nginx.

Idle connections: --idle keep-alive connections, each having made one
request, are opened and held; the server's memory (tern: RSS; nginx: RSS of
master and workers) is read before and after, settled for a few seconds
(tern trims its heap after a quiet second). Bytes per connection = growth /
count.

Benchmarks only: never part of the test suite or CI. See bench/README.md.
"""

import argparse
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

ASSET = "app.js"


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--idle", type=int, default=10000, help="idle keep-alive connections (0 = skip)")
    ap.add_argument("--servers", default="tern,nginx")
    ap.add_argument("--tern", default=None)
    ap.add_argument("--json", default=None)
    ap.add_argument("--keep", action="store_true")
    return ap.parse_args()


def make_site(root):
    os.makedirs(root, exist_ok=True)
    line = "export function f%05d(a, b) { return a * 31 + b; } // pad pad pad\n"
    text = "".join(line % i for i in range(150))[:10240]
    with open(os.path.join(root, ASSET), "w") as f:
        f.write(text)
    return len(text)


def self_signed(d):
    crt, key = os.path.join(d, "c.crt"), os.path.join(d, "c.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=localhost"],
                   check=True, capture_output=True)
    return crt, key


class TernHTTP:
    """One listener: plain HTTP (with an HTTPS listener beside it, tern
    would redirect plain requests for files there) or HTTPS."""

    def __init__(self, binary, site, keep, tls):
        self.dir = bl.bench_tmpdir("tern-http-bench-")
        self.keep = keep
        self.port = bl.free_port()
        cfg = os.path.join(self.dir, "tern.toml")
        with open(cfg, "w") as f:
            # Every client is 127.0.0.1: the per-address limit (200) would
            # refuse the idle test's connections, so it is raised; nothing
            # else is changed.
            f.write('[server]\ndata_dir = "%s/data"\n\n[limits]\nmax_connections_per_ip = 20000\n\n'
                    '[http]\nstatic_dir = "%s"\n\n'
                    '[[listen]]\nprotocol = "http"\naddress = "127.0.0.1:%d"\ntls = "%s"\n'
                    % (self.dir, site, self.port, "implicit" if tls else "none"))
        self.log = open(os.path.join(self.dir, "tern.log"), "wb")
        self.proc = subprocess.Popen([binary, "--config", cfg, "serve"], stdout=subprocess.DEVNULL,
                                     stderr=self.log, preexec_fn=bl.nofile_preexec(65536))
        wait_http(self.port, self.proc, tls)

    def pids(self):
        return [self.proc.pid]

    def stop(self):
        bl.stop_process(self.proc)
        self.log.close()
        if not self.keep:
            bl.remove_tree(self.dir)


NGINX_CONF = """\
worker_processes auto;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
daemon off;
events {{ worker_connections 20000; }}
worker_rlimit_nofile 65536;
http {{
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        listen 127.0.0.1:{tls_port} ssl;
        ssl_certificate {crt};
        ssl_certificate_key {key};
        root {site};
    }}
}}
"""


class Nginx:
    def __init__(self, site, keep):
        self.dir = bl.bench_tmpdir("nginx-bench-")
        self.keep = keep
        self.port, self.tls_port = bl.free_port(), bl.free_port()
        crt, key = self_signed(self.dir)
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(dir=self.dir, port=self.port, tls_port=self.tls_port, crt=crt,
                                      key=key, site=site))
        self.log = open(os.path.join(self.dir, "stderr.log"), "wb")
        self.proc = subprocess.Popen(["nginx", "-c", conf, "-p", self.dir], stdout=subprocess.DEVNULL,
                                     stderr=self.log, preexec_fn=bl.nofile_preexec(65536))
        wait_http(self.port, self.proc)

    def pids(self):
        return bl.descendants(self.proc.pid)

    def stop(self):
        bl.stop_process(self.proc)
        self.log.close()
        if not self.keep:
            bl.remove_tree(self.dir)


def wait_http(port, proc, tls=False, timeout=20):
    deadline = time.monotonic() + timeout
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited with %s" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as raw:
                s = ctx.wrap_socket(raw, server_hostname="localhost") if tls else raw
                s.sendall(b"GET /%s HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n" % ASSET.encode())
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("no HTTP on port %d" % port)


def wrk(url, connections, seconds):
    out = subprocess.run(["wrk", "-t2", "-c%d" % connections, "-d%ds" % seconds, url],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    m = re.search(r"Requests/sec:\s*([\d.]+)", out)
    errs = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if not m or errs:
        raise RuntimeError("wrk: %s" % out)
    return float(m.group(1))


def idle_bytes(server, port, tls, n):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE

    def memory():
        return bl.proc_memory(server.pids())["rss"] * 1024

    time.sleep(3)  # the last load's buffers trimmed
    base = memory()
    socks = []
    try:
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=20)
            if tls:
                s = ctx.wrap_socket(s, server_hostname="localhost")
            s.sendall(b"GET /%s HTTP/1.1\r\nHost: b\r\n\r\n" % ASSET.encode())
            socks.append(s)
        for s in socks:
            got = b""
            while b"\r\n\r\n" not in got:
                chunk = s.recv(16384)
                if not chunk:
                    raise RuntimeError("connection closed: %r" % got[:100])
                got += chunk
            if not got.startswith(b"HTTP/1.1 200"):
                raise RuntimeError("refused: %r" % got[:100])
        time.sleep(4)  # settle: tern trims its heap after a quiet second
        return (memory() - base) / n
    finally:
        for s in socks:
            s.close()


def main():
    a = parse_args()
    servers = a.servers.split(",")
    site = os.path.join(bl.bench_tmpdir("http-site-"), "www")
    size = make_site(site)
    binary = a.tern or bl.find_tern()
    results = {"size": size, "rps": {}, "idle": {}}
    nginx = None
    try:
        if "nginx" in servers:
            nginx = Nginx(site, a.keep)
        for scheme in ("http", "https"):
            tls = scheme == "https"
            running = {}
            try:
                if "tern" in servers and binary:
                    running["tern"] = TernHTTP(binary, site, a.keep, tls)
                if nginx:
                    running["nginx"] = nginx
                ports = {n: (s.tls_port if tls and n == "nginx" else s.port)
                         for n, s in running.items()}
                for run in range(a.runs):
                    for name in running:
                        rps = wrk("%s://127.0.0.1:%d/%s" % (scheme, ports[name], ASSET),
                                  a.connections, a.seconds)
                        results["rps"].setdefault(scheme, {}).setdefault(name, []).append(rps)
                        bl.log("%s %s run %d: %.0f req/s" % (name, scheme, run + 1, rps))
                for name, srv in running.items() if a.idle else ():
                    b = idle_bytes(srv, ports[name], tls, a.idle)
                    results["idle"].setdefault(scheme, {})[name] = b
                    bl.log("%s %s: %.0f bytes per idle connection" % (name, scheme, b))
            finally:
                if "tern" in running:
                    running["tern"].stop()
    finally:
        if nginx:
            nginx.stop()
        if not a.keep:
            bl.remove_tree(os.path.dirname(site))

    print("\nHTTP: GET of a %d-byte static file, %d keep-alive connections, wrk -t2, %d s x %d runs "
          "(medians)" % (size, a.connections, a.seconds, a.runs))
    print("%-7s %14s %14s %8s" % ("", "tern req/s", "nginx req/s", "ratio"))
    for scheme, by in results["rps"].items():
        t, n = bl.median(by.get("tern", [])), bl.median(by.get("nginx", []))
        print("%-7s %14s %14s %8s" % (scheme, "%.0f" % t if t else "n/a", "%.0f" % n if n else "n/a",
                                      "%.2fx" % (t / n) if t and n else "n/a"))
    if results["idle"]:
        print("\n%d idle keep-alive connections: server memory growth per connection" % a.idle)
        print("%-7s %14s %14s" % ("", "tern", "nginx"))
        for scheme, by in results["idle"].items():
            print("%-7s %14s %14s" % (scheme, "%.0f B" % by["tern"] if "tern" in by else "n/a",
                                      "%.0f B" % by["nginx"] if "nginx" in by else "n/a"))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
