"""A DNS server on loopback that answers badly on purpose, for the DNS-fault
tests (test_dns_faults.py): what dnsmasq will not do.

Names under each zone behave alike, whatever the type asked:
  timeout.test   no answer at all (UDP and TCP)
  servfail.test  SERVFAIL
  trunc.test     UDP: TC set and no records; TCP: the connection is closed
                 after a length prefix that promises more than comes
  bigtxt.test    TXT: 200 strings of 250 bytes (50 KB, TC over UDP, whole
                 over TCP); MX: 300 exchangers under nx.test; A: 127.0.0.1
  cname.test     a.cname.test is a CNAME for b.cname.test and b for a
  garbage.test   a reply with the query's id and 60 random bytes after it
  good.test      MX mx.good.test, A 127.0.0.1, TXT an SPF record passing
                 127.0.0.2 (the control: what a sane answer gives)
and every other name is NXDOMAIN. Every query is counted by zone.
"""
import collections
import os
import socket
import socketserver
import struct
import threading

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


def zone_of(qname):
    labels = qname.rstrip(".").lower().split(".")
    return ".".join(labels[-2:]) if len(labels) >= 2 else ""


class FaultDns:
    def __init__(self, port, host="127.0.0.1"):
        self.host, self.port = host, port
        self.counts = collections.Counter()
        self.lock = threading.Lock()
        outer = self

        class Udp(socketserver.BaseRequestHandler):
            def handle(self):
                data, sock = self.request
                reply = outer.answer(data, tcp=False)
                if reply is not None:
                    sock.sendto(reply, self.client_address)

        class Tcp(socketserver.BaseRequestHandler):
            def handle(self):
                self.request.settimeout(5)
                try:
                    head = self.request.recv(2, socket.MSG_WAITALL)
                    if len(head) < 2:
                        return
                    (n,) = struct.unpack("!H", head)
                    data = self.request.recv(n, socket.MSG_WAITALL)
                except OSError:
                    return
                reply = outer.answer(data, tcp=True)
                if reply is None:
                    return
                if reply == b"TRUNCATED":
                    self.request.sendall(struct.pack("!H", 512) + b"\0" * 10)
                    return
                self.request.sendall(struct.pack("!H", len(reply)) + reply)

        class UdpServer(socketserver.ThreadingUDPServer):
            allow_reuse_address = True
            daemon_threads = True

        class TcpServer(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.udp = UdpServer((host, port), Udp)
        self.tcp = TcpServer((host, port), Tcp)
        for s in (self.udp, self.tcp):
            threading.Thread(target=s.serve_forever, daemon=True).start()

    @property
    def servers(self):
        return "%s:%d" % (self.host, self.port)

    def stop(self):
        for s in (self.udp, self.tcp):
            s.shutdown()
            s.server_close()

    def answer(self, data, tcp):
        try:
            q = dns.message.from_wire(data)
        except Exception:
            return None
        if not q.question:
            return None
        question = q.question[0]
        qname = question.name.to_text().lower()
        zone = zone_of(qname)
        with self.lock:
            self.counts[zone] += 1
        r = dns.message.make_response(q)
        r.flags |= dns.flags.RA
        rtype = question.rdtype
        if zone == "timeout.test":
            return None
        if zone == "servfail.test":
            r.set_rcode(dns.rcode.SERVFAIL)
            return r.to_wire()
        if zone == "trunc.test":
            if tcp:
                return b"TRUNCATED"
            r.flags |= dns.flags.TC
            return r.to_wire()
        if zone == "garbage.test":
            return data[:2] + os.urandom(60)
        if zone == "cname.test":
            other = "b.cname.test." if qname.startswith("a.") else "a.cname.test."
            r.answer.append(dns.rrset.from_text(question.name, 60, "IN", "CNAME", other))
            return r.to_wire(max_size=65535)
        if zone == "bigtxt.test":
            if rtype == dns.rdatatype.TXT:
                strings = " ".join('"%s"' % (chr(ord("a") + i % 26) * 250) for i in range(200))
                r.answer.append(dns.rrset.from_text(question.name, 60, "IN", "TXT", strings))
            elif rtype == dns.rdatatype.MX:
                r.answer.append(dns.rrset.from_text_list(
                    question.name, 60, "IN", "MX",
                    ["%d mx%d.nx.test." % (i % 50, i) for i in range(300)]))
            elif rtype == dns.rdatatype.A:
                r.answer.append(dns.rrset.from_text(question.name, 60, "IN", "A", "127.0.0.1"))
            wire = r.to_wire(max_size=65535)
            if not tcp and len(wire) > 512:
                t = dns.message.make_response(q)
                t.flags |= dns.flags.TC | dns.flags.RA
                return t.to_wire()
            return wire
        if zone == "good.test":
            if rtype == dns.rdatatype.MX:
                r.answer.append(dns.rrset.from_text(question.name, 60, "IN", "MX",
                                                    "10 mx.good.test."))
            elif rtype == dns.rdatatype.A and qname == "mx.good.test.":
                r.answer.append(dns.rrset.from_text(question.name, 60, "IN", "A", "127.0.0.1"))
            elif rtype == dns.rdatatype.TXT and qname == "good.test.":
                r.answer.append(dns.rrset.from_text(question.name, 60, "IN", "TXT",
                                                    '"v=spf1 ip4:127.0.0.2 -all"'))
            return r.to_wire()
        r.set_rcode(dns.rcode.NXDOMAIN)
        return r.to_wire()
