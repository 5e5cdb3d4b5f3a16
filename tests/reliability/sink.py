"""The relay's next hop: an SMTP server on loopback that accepts every
message and keeps it, so the checks can count deliveries per recipient.

Not relayutil.ScriptedSmtp: that one records a message whose connection
closed in the middle of DATA as received (its loop ends on EOF as on the
final dot), which is exactly what a crash produces here. A message counts
only when its final dot came and the 250 was sent.
"""
import socket
import threading
import time


class Sink:
    def __init__(self, host="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        # (rcpts, data, time, accepted): in the order their 250 was sent,
        # with the time their connection was accepted
        self.messages = []
        self.restarts = []  # when each restart of tern began
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.session, args=(c, time.time()), daemon=True).start()

    def session(self, c, accepted):
        f = c.makefile("rb")
        rcpts = []
        try:
            c.sendall(b"220 sink ESMTP\r\n")
            while True:
                line = f.readline()
                if not line:
                    return
                verb = line[:4].upper()
                if verb == b"EHLO":
                    c.sendall(b"250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
                elif verb == b"MAIL":
                    rcpts = []
                    c.sendall(b"250 ok\r\n")
                elif verb == b"RCPT":
                    rcpts.append(line[8:].split(b">")[0].lstrip(b"<").decode())
                    c.sendall(b"250 ok\r\n")
                elif verb == b"DATA":
                    c.sendall(b"354 go\r\n")
                    data = []
                    while True:
                        ln = f.readline()
                        if not ln:
                            return  # cut in the middle: not received
                        if ln == b".\r\n":
                            break
                        data.append(ln[1:] if ln.startswith(b"..") else ln)
                    with self.lock:
                        self.messages.append((list(rcpts), b"".join(data), time.time(), accepted))
                    c.sendall(b"250 2.0.0 ok\r\n")
                elif verb == b"QUIT":
                    c.sendall(b"221 bye\r\n")
                    return
                else:
                    c.sendall(b"250 ok\r\n")
        except OSError:
            return
        finally:
            c.close()

    def mark_restart(self):
        """Called before tern starts again: a connection accepted after it
        is the new process's (one accepted before is an older one's, even
        if its message arrives later)."""
        with self.lock:
            self.restarts.append(time.time())

    def deliveries(self):
        """(index, rcpts, data, time, accepted) of every message so far."""
        with self.lock:
            return [(i,) + m for i, m in enumerate(self.messages)]

    def epoch(self, index):
        """Which run of tern sent message number index (0: the first)."""
        accepted = self.messages[index][3]
        return sum(1 for r in self.restarts if r <= accepted)

    def stop(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
