"""CLI load: `tern user add/del` and `tern alias add/del` on churn-*
names, run against the same data directory while the server serves. The
CLI is its own process, so the kill does not touch it: exit status 0 is the
acknowledgement, and the change must be there after every restart."""
from driver import Driver
import server


class CliChurn(Driver):
    name_prefix = "cli"

    def session(self):
        L = self.ledger
        t = self.t
        k = self.rng.randrange(0, 12)
        kind = self.rng.choice(["user", "alias"])
        table = L.cli_users if kind == "user" else L.cli_aliases
        name = "churn-%s%d@%s" % (kind, k, server.DOMAIN)
        with L.lock:
            present = table.get(name, False)
        if kind == "user":
            args = (["user", "del", name] if present else
                    ["user", "add", name, "--password-stdin"])
        else:
            args = (["alias", "del", name] if present else
                    ["alias", "add", name, server.POP_USERS[0]])
        r = t.cli(*args, input=server.PASSWORD + "\n" if args[1] == "add" and kind == "user" else None)
        with L.lock:
            if r.returncode == 0:
                L.acked["cli " + " ".join(args[:2])] += 1
                table[name] = not present
            else:
                L.refused("cli " + " ".join(args[:2]), r.stderr.strip())
        self.stopping.wait(self.rng.uniform(0.05, 0.4))
