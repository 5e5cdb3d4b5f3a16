"""`tern log level LEVEL` changes the running server's level without a
restart (app/log_control.c: a file in the data directory the server polls
and removes once taken); its error paths."""
import smtplib
import time


def ehlo(t, name):
    s = smtplib.SMTP(t.host, t.port("smtp"), timeout=10)
    s.ehlo(name)
    s.quit()


def at_info(tern_factory, start=True):
    """A server whose [server] log_level is info (the harness's is debug)."""
    t = tern_factory(start=False)
    with open(t.config_path) as f:
        text = f.read()
    with open(t.config_path, "w") as f:
        f.write(text.replace('log_level = "debug"', 'log_level = "info"'))
    return t.start() if start else t


def wait_log(t, text, timeout=5):
    end = time.time() + timeout
    while time.time() < end:
        if text in t.logs():
            return True
        time.sleep(0.05)
    return False


def test_log_level_changes_without_restart(tern_factory):
    t = at_info(tern_factory)
    ehlo(t, "before.example")
    r = t.cli("log", "level", "debug")
    assert r.returncode == 0, r.stderr
    assert "taken by the running server" in r.stdout
    assert wait_log(t, "event=log_level level=debug was=info")
    ehlo(t, "during.example")
    assert wait_log(t, "name=during.example"), t.logs()[-2000:]
    r = t.cli("log", "level", "info")
    assert r.returncode == 0, r.stderr
    assert wait_log(t, "event=log_level level=info was=debug")
    ehlo(t, "after.example")
    time.sleep(0.3)
    logs = t.logs()
    assert "name=before.example" not in logs  # a debug-only event, at info
    assert "name=after.example" not in logs
    pid = t.proc.pid
    assert t.proc.poll() is None and t.proc.pid == pid  # the same process throughout


def test_log_level_errors(tern_factory):
    t = tern_factory(start=False)
    r = t.cli("log", "level", "verbose")
    assert r.returncode == 2 and "unknown level 'verbose'" in r.stderr
    r = t.cli("log", "level")
    assert r.returncode == 2 and "usage" in r.stderr
    r = t.cli("log", "colour", "debug")
    assert r.returncode == 2
    # no server running: nobody takes it, the request is withdrawn
    import os
    os.makedirs(t.data_dir, exist_ok=True)
    r = t.cli("log", "level", "debug")
    assert r.returncode == 1 and "no running tern serve" in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(t.data_dir, "log-level"))
    # no data directory at all
    import shutil
    shutil.rmtree(t.data_dir)
    r = t.cli("log", "level", "debug")
    assert r.returncode == 1 and "cannot write" in r.stderr, r.stderr
    assert t.cli("log", "--help").returncode == 0


def test_a_bad_request_file_is_refused_and_start_forgets_old_ones(tern_factory):
    import os
    t = at_info(tern_factory, start=False)
    os.makedirs(t.data_dir, exist_ok=True)
    path = os.path.join(t.data_dir, "log-level")
    with open(path, "w") as f:
        f.write("debug\n")  # left from before: the config rules at start
    t.start()
    assert not os.path.exists(path)
    ehlo(t, "start.example")
    with open(path, "w") as f:
        f.write("loud\x01\n")
    assert wait_log(t, "event=log_level_refused"), t.logs()[-2000:]
    time.sleep(0.3)
    assert "name=start.example" not in t.logs()
