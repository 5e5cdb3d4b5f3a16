"""[spam] rspamd_url against Debian's real rspamd, started here on a free
loopback port with a minimal configuration (no Redis, no lists, a short
TLD file so that it starts in a second) and a few Lua rules of our own
that give each action its Subject word. The verdicts come from rspamd's
own scoring: its built-in GTUBE check rejects, the action thresholds
turn our symbols' scores into greylist and add header, a prefilter asks
for soft reject, and one rule fires only if the envelope tern sends in
the request headers (IP, Helo, From, Rcpt) reached rspamd's task.
test_rspamd.py keeps a fake for what a real rspamd will not do on
demand (fail, answer late)."""
import os
import shutil
import subprocess
import time
import urllib.request

import pytest

from conftest import HOST, free_port
from test_rspamd import send, stored

RSPAMD = shutil.which("rspamd")
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

RULES = r"""
local function subject_has(task, word)
  local s = task:get_subject()
  return s ~= nil and s:find(word, 1, true) ~= nil
end
rspamd_config:register_symbol{name = 'TERN_GREY', score = 4.5, group = 'tern',
  callback = function(task) return subject_has(task, 'tern-greylist') end}
rspamd_config:register_symbol{name = 'TERN_SPAMMY', score = 7.0, group = 'tern',
  callback = function(task) return subject_has(task, 'tern-add-header') end}
rspamd_config:register_symbol{name = 'TERN_SOFT', type = 'prefilter', priority = 10,
  group = 'tern', callback = function(task)
    if subject_has(task, 'tern-soft-reject') then
      task:set_pre_result('soft reject', 'try later')
    end
  end}
rspamd_config:register_symbol{name = 'TERN_ENVELOPE', score = 20.0, group = 'tern',
  callback = function(task)
    if not subject_has(task, 'tern-envelope') then return false end
    local from = task:get_from('smtp')
    local rcpt = task:get_recipients('smtp')
    local ip = task:get_from_ip()
    return from ~= nil and from[1].addr == 'sender@remote.example'
      and rcpt ~= nil and #rcpt == 1 and rcpt[1].addr == 'alice@example.test'
      and task:get_helo() == 'envelope.example'
      and ip ~= nil and tostring(ip) == '127.0.0.1'
  end}
"""

CONFIG = """
options {
    pidfile = "%(dir)s/rspamd.pid";
    dns { nameserver = ["127.0.0.1:1"]; timeout = 1s; retransmits = 1; }
    hs_cache_dir = "%(dir)s";
    local_addrs = [];
    url_tld = "%(dir)s/tld.dat";
}
lua = "%(dir)s/rules.lua";
logging { type = "file"; filename = "%(dir)s/rspamd.log"; level = "info"; }
actions { reject = 15; add_header = 6; greylist = 4; }
worker "normal" {
    bind_socket = "%(host)s:%(port)d";
    count = 1;
    task_timeout = 8s;
}
"""


@pytest.fixture(scope="module")
def rspamd(tmp_path_factory):
    if not RSPAMD:
        print("SKIPPED: test_rspamd_real: rspamd is not installed (Debian package rspamd)")
        pytest.skip("rspamd is not installed")
    d = str(tmp_path_factory.mktemp("rspamd"))
    port = free_port()
    with open(os.path.join(d, "rules.lua"), "w") as f:
        f.write(RULES)
    with open(os.path.join(d, "tld.dat"), "w") as f:
        f.write("com\nnet\norg\ntest\nexample\n")
    conf = os.path.join(d, "rspamd.conf")
    with open(conf, "w") as f:
        f.write(CONFIG % {"dir": d, "host": HOST, "port": port})
    cmd = [RSPAMD, "-f", "-c", conf]
    if os.geteuid() == 0:
        cmd += ["-i", "-u", "root", "-g", "root"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = "http://%s:%d" % (HOST, port)
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/ping", timeout=1) as r:
                if r.read().strip() == b"pong":
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            log = open(os.path.join(d, "rspamd.log")).read()[-3000:] if os.path.exists(
                os.path.join(d, "rspamd.log")) else ""
            pytest.fail("rspamd did not start: %s" % log)
        time.sleep(0.1)
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture
def server(tern_factory, rspamd):
    t = tern_factory(extra_config="[smtp]\ngreet_delay_ms = 0\n\n[spam]\n"
                     "rspamd_url = \"%s/\"\nrspamd_timeout_ms = 5000\n" % rspamd)
    t.add_user("alice@example.test", "pw-alice-123")
    return t


def test_gtube_is_rejected(server):
    c, lines = send(server, "gtube", body=GTUBE + "\r\n")
    assert (c, lines[-1]) == (550, "5.7.1 Message rejected as spam")
    assert stored(server, "gtube") is None


def test_clean_mail_is_delivered_unmarked(server):
    c, lines = send(server, "a clean note")
    assert c == 250, lines
    m = stored(server, "a clean note")
    assert m is not None and "X-Spam-" not in m


def test_add_header_goes_to_junk_with_rspamd_score(server):
    c, lines = send(server, "tern-add-header")
    assert c == 250, lines
    assert stored(server, "tern-add-header") is None
    head = stored(server, "tern-add-header", "Junk").split("\r\n\r\n")[0]
    assert "X-Spam-Flag: YES\r\nX-Spam-Score: 7.00\r\n" in head


@pytest.mark.parametrize("subject", ["tern-greylist", "tern-soft-reject"])
def test_greylist_and_soft_reject_defer(server, subject):
    c, lines = send(server, subject)
    assert (c, lines[-1]) == (451, "4.7.1 Try again later")
    assert stored(server, subject) is None


def test_rspamd_sees_the_envelope(server):
    """TERN_ENVELOPE scores 20 (reject) only when rspamd's task holds the
    SMTP envelope tern put in the request headers."""
    c, lines = send(server, "tern-envelope", helo="envelope.example")
    assert (c, lines[-1]) == (550, "5.7.1 Message rejected as spam")
    c, lines = send(server, "tern-envelope", helo="other.example")
    assert c == 250, lines
