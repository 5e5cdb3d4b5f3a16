"""contrib/tern.service: the hardening the README promises is there, and
systemd itself (`systemd-analyze verify`) accepts the unit with this
build's binary in ExecStart. Without systemd-analyze the check says
SKIPPED and passes."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import TERN_BIN

UNIT = os.path.join(os.path.dirname(__file__), "..", "..", "contrib", "tern.service")


def directives():
    out = {}
    section = None
    with open(UNIT) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                section = line
                continue
            key, value = line.split("=", 1)
            out.setdefault((section, key), []).append(value)
    return out


def test_unit_hardening():
    d = directives()
    svc = lambda key: d.get(("[Service]", key), [None])[-1]
    assert svc("Type") == "notify"  # tern sends READY=1 (lib/sd_notify.c)
    assert svc("User") == "tern" or svc("DynamicUser") == "yes"
    assert svc("StateDirectory") == "tern"
    assert svc("ConfigurationDirectory") == "tern"
    assert svc("ProtectSystem") == "strict"
    assert svc("ProtectHome") == "yes"
    assert svc("PrivateTmp") == "yes"
    assert svc("NoNewPrivileges") == "yes"
    assert svc("AmbientCapabilities") == "CAP_NET_BIND_SERVICE"
    assert svc("CapabilityBoundingSet") == "CAP_NET_BIND_SERVICE"
    assert svc("Restart") == "on-failure"
    assert int(svc("LimitNOFILE")) >= 65536
    assert re.fullmatch(r"\S*kill -HUP \$MAINPID", svc("ExecReload"))
    # the data and config directories the unit makes are the ones tern uses
    exec_start = svc("ExecStart").split()
    assert exec_start[1:] == ["--config", "/etc/tern/tern.toml", "serve"]
    assert d[("[Install]", "WantedBy")] == ["multi-user.target"]


def test_unit_command_line_is_tern_s():
    """ExecStart's arguments are ones tern takes."""
    r = subprocess.run([TERN_BIN, "--config", "/etc/tern/tern.toml", "serve", "--help"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and "SIGHUP" in r.stdout


def test_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        print("SKIPPED: systemd unit: systemd-analyze is not installed (package systemd)")
        pytest.skip("systemd-analyze is not installed")
    with open(UNIT) as f:
        text = f.read()
    text = text.replace("/usr/local/bin/tern", os.path.abspath(TERN_BIN))
    unit = tmp_path / "tern.service"
    unit.write_text(text)
    r = subprocess.run([analyze, "verify", "--man=no", str(unit)],
                       capture_output=True, text=True, timeout=120)
    # Other units of the host may draw warnings; none may name ours.
    ours = [l for l in (r.stdout + r.stderr).splitlines() if "tern.service" in l]
    assert r.returncode == 0 and not ours, r.stdout + r.stderr
