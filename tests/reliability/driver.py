"""The shape every load driver shares: a thread that repeats one kind of
client session until the runner says stop (right after the SIGKILL), so
that whatever it was doing at the kill stays unanswered."""
import random
import threading
import time


class Driver(threading.Thread):
    name_prefix = "driver"

    def __init__(self, ledger, server, seed, index):
        super().__init__(daemon=True, name="%s-%d" % (self.name_prefix, index))
        self.ledger, self.t = ledger, server
        self.rng = random.Random("%s/%s/%d/%d" % (seed, self.name_prefix, ledger.cycle, index))
        self.index = index
        self.stopping = threading.Event()
        self.pause = 0.0  # seconds between sessions (the soak's steady rate)

    def run(self):
        while not self.stopping.is_set():
            if self.pause:
                self.stopping.wait(self.rng.uniform(0.5, 1.5) * self.pause)
                if self.stopping.is_set():
                    break
            try:
                self.session()
            except Exception as e:  # a session ends with the server: expected at the kill
                if not self.stopping.is_set() and not self.server_gone():
                    self.ledger.refused(self.name_prefix, "%s: %r" % (type(e).__name__, e))
                time.sleep(0.05)

    def server_gone(self):
        return self.ledger.killing

    def session(self):
        raise NotImplementedError
