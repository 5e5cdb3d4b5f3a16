"""The tern under test and the remote side it relays to.

tern is started exactly as the integration tests start it (conftest.Tern:
config, free loopback ports, self-signed TLS), with the queue sent through a
smarthost that is sink.Sink on loopback.
The accounts: two IMAP-only users, two POP3-only users, one submission
sender, and an alias; the CLI driver adds and removes churn-* users and
aliases besides them.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import conftest  # noqa: E402
from conftest import Tern  # noqa: E402

DOMAIN = "example.test"
REMOTE = "remote.test"
PASSWORD = "reliability-pw-1"
IMAP_USERS = ["imap1@" + DOMAIN, "imap2@" + DOMAIN]
IMAP_BOXES = ["INBOX", "Work", "Archive"]
POP_USERS = ["pop1@" + DOMAIN, "pop2@" + DOMAIN]
SENDER = "sender@" + DOMAIN
ALIAS = "alias-pop@" + DOMAIN  # -> pop2


def use_binary(path):
    conftest.TERN_BIN = path


def make_server(workdir, sink):
    extra = ("[smtp]\ngreet_delay_ms = 0\n\n[queue]\nscan_interval = 1\nretry_first = 1\n"
             "retry_max = 2\nsmarthost = \"127.0.0.1\"\nsmarthost_port = %d\n"
             "dns_servers = \"127.0.0.1:9\"\nmta_sts = false\n" % sink.port)
    # and /metrics, which the soak reads (loopback: no token)
    listeners = conftest.LISTENERS + [("http", "http", "none")]
    return QuietTern(workdir, extra_config=extra, listeners=listeners)


class QuietTern(Tern):
    """conftest's server at log level info: a 100-cycle campaign at debug
    writes a log of tens of megabytes, and the writing costs CPU."""

    def write_config(self):
        super().write_config()
        with open(self.config_path) as f:
            text = f.read()
        with open(self.config_path, "w") as f:
            f.write(text.replace('log_level = "debug"', 'log_level = "info"', 1))


def cli_ok(t, *args, input=None):
    r = t.cli(*args, input=input)
    if r.returncode != 0:
        raise RuntimeError("tern %s: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout


def setup_accounts(t):
    for u in IMAP_USERS + POP_USERS + [SENDER]:
        cli_ok(t, "user", "add", u, "--password-stdin", input=PASSWORD + "\n")
    cli_ok(t, "alias", "add", ALIAS, POP_USERS[1])
