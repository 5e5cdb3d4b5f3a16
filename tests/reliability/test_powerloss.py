"""The power-loss shim and its rollback on their own: a child process under
LD_PRELOAD writes, syncs, writes again, and is killed; after rollback() the
file holds exactly what was synced. Run with
    /usr/bin/python3 -m pytest tests/reliability/test_powerloss.py
(the shim from $TERN_POWERLOSS_SHIM, else build/libtern_powerloss.so)."""
import os
import signal
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import powerloss  # noqa: E402

SHIM = os.environ.get("TERN_POWERLOSS_SHIM") or os.path.join(HERE, "..", "..", "build",
                                                            "libtern_powerloss.so")
pytestmark = pytest.mark.skipif(not os.path.exists(SHIM), reason="tern_powerloss not built")

# The child: runs the steps given, then waits to be killed.
CHILD = r"""
import os, sys, time
path = sys.argv[1]
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
for step in sys.argv[2:]:
    op, _, arg = step.partition(":")
    if op == "w":                       # w:OFFSET:TEXT
        off, text = arg.split(":", 1)
        os.pwrite(fd, text.encode(), int(off))
    elif op == "a":                     # a:TEXT, at the position
        os.write(fd, arg.encode())
    elif op == "t":                     # t:SIZE
        os.ftruncate(fd, int(arg))
    elif op == "s":
        os.fsync(fd)
    elif op == "d":
        os.fdatasync(fd)
    elif op == "u":                     # u: unlink and start a new file of the same name
        os.unlink(path)
        os.close(fd)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
print("ready", flush=True)
time.sleep(60)
"""


def crash(tmp_path, steps, env_extra=None):
    data = tmp_path / "data"
    data.mkdir()
    journal = str(tmp_path / "journal")
    path = str(data / "file")
    env = dict(os.environ, **powerloss.environment(os.path.realpath(SHIM), str(data), journal))
    env.update(env_extra or {})
    p = subprocess.Popen([sys.executable, "-c", CHILD, path] + steps, env=env,
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    p.send_signal(signal.SIGKILL)
    p.wait()
    before = open(path, "rb").read()
    powerloss.rollback(str(data), journal)
    return before, open(path, "rb").read()


def test_unsynced_append_is_lost(tmp_path):
    before, after = crash(tmp_path, ["a:hello ", "s", "a:world"])
    assert before == b"hello world"
    assert after == b"hello "


def test_fdatasync_keeps_everything_before_it(tmp_path):
    before, after = crash(tmp_path, ["a:one ", "w:0:ONE", "d", "w:4:two", "a:three"])
    assert before == b"ONE three"  # the append writes at the position, 4
    assert after == b"ONE "


def test_overwrite_is_undone_to_the_synced_bytes(tmp_path):
    before, after = crash(tmp_path, ["a:abcdefgh", "s", "w:2:XY", "w:6:Z", "w:2:QQ"])
    assert before == b"abQQefZh"
    assert after == b"abcdefgh"


def test_truncate_is_undone(tmp_path):
    before, after = crash(tmp_path, ["a:0123456789", "s", "t:4", "a:x", "t:20"])
    assert len(before) == 20
    assert after == b"0123456789"


def test_nothing_synced_leaves_an_empty_file(tmp_path):
    before, after = crash(tmp_path, ["a:abc", "w:1:Z"])
    assert before == b"aZc"
    assert after == b""


def test_a_file_unlinked_and_made_again_keeps_the_old_ones_writes(tmp_path):
    # the old file's unsynced writes must not be undone on the new one
    before, after = crash(tmp_path, ["a:old data", "u", "a:new", "s", "a:+"])
    assert before == b"new+"
    assert after == b"new"


def test_ignoring_syncs_loses_everything(tmp_path):
    before, after = crash(tmp_path, ["a:hello", "s"], {"TERN_POWERLOSS_IGNORE_SYNCS": "1"})
    assert before == b"hello"
    assert after == b""
