"""CLI load: `tern user add/del` and `tern alias add/del` on churn-*
names, run against the same data directory while the server serves. The
CLI is its own process: exit status 0 is the acknowledgement, and the
change must be there after every restart. A power cut (--power-loss) kills
a running CLI too: its change is then unanswered, either outcome allowed."""
import signal
import subprocess
import threading

import conftest
from driver import Driver
import server


class CliChurn(Driver):
    name_prefix = "cli"
    child = None
    # held while a CLI starts, and by the power cut: no CLI starts after it
    gate = threading.Lock()

    def kill_child(self):
        c = self.child
        if c is not None and c.poll() is None:
            c.send_signal(signal.SIGKILL)

    def session(self):
        L = self.ledger
        t = self.t
        k = self.rng.randrange(0, 12)
        kind = self.rng.choice(["user", "alias"])
        table = L.cli_users if kind == "user" else L.cli_aliases
        name = "churn-%s%d@%s" % (kind, k, server.DOMAIN)
        with L.lock:
            present = table.get(name, False)
        if present is None:  # unknown until the next check
            self.stopping.wait(0.05)
            return
        if kind == "user":
            args = (["user", "del", name] if present else
                    ["user", "add", name, "--password-stdin"])
        else:
            args = (["alias", "del", name] if present else
                    ["alias", "add", name, server.POP_USERS[0]])
        what = "cli " + " ".join(args[:2])
        with self.gate:
            if L.killing:
                return
            self.child = subprocess.Popen([conftest.TERN_BIN, "--config", t.config_path] + args,
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True)
        out, err = self.child.communicate(
            server.PASSWORD + "\n" if args[1] == "add" and kind == "user" else None, timeout=60)
        rc = self.child.returncode
        with L.lock:
            if rc == 0:
                L.acked[what] += 1
                table[name] = not present
            elif rc == -signal.SIGKILL:
                L.unanswered[what] += 1
                table[name] = None
            else:
                L.refused(what, err.strip())
        self.stopping.wait(self.rng.uniform(0.05, 0.4))
