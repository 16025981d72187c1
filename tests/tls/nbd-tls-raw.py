#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A raw NBD client for what libnbd and qemu will not do on purpose:
options in plaintext against tls = require, STARTTLS twice, a client
that asks for TLS and then stalls, and a TLS connection kept open across
a reload.  Written from the NBD protocol document; Python's ssl module
does the TLS side.

  nbd-tls-raw.py require SOCK          options before TLS are refused
  nbd-tls-raw.py starttls SOCK DIR     STARTTLS rules and state discard
  nbd-tls-raw.py stall SOCK            STARTTLS, then silence until EOF
  nbd-tls-raw.py hold SOCK DIR FIFO    TLS, GO, READ; wait for a line on
                                       FIFO; READ again
DIR holds ca-cert.pem and, if the client has one, client-cert.pem and
client-key.pem (the layout of make_pki in tls-functions.sh).
Exit 0 when every check holds; a message and exit 1 otherwise.
"""
import os
import socket
import ssl
import struct
import sys
import time

IHAVEOPT = 0x49484156454F5054
REPLY_MAGIC = 0x3E889045565A9
OPT_EXPORT_NAME, OPT_ABORT, OPT_LIST, OPT_STARTTLS = 1, 2, 3, 5
OPT_GO, OPT_STRUCTURED_REPLY = 7, 8
REP_ACK, REP_INFO = 1, 3
ERR = 1 << 31
REP_ERR_INVALID, REP_ERR_TLS_REQD = ERR | 3, ERR | 5


def die(msg):
    sys.exit("nbd-tls-raw: " + msg)


class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(20)
        self.s.connect(path)
        magic, opt, flags = struct.unpack(">QQH", self.recv(18))
        if magic != 0x4E42444D41474943 or opt != IHAVEOPT:
            die("bad greeting")
        self.s.sendall(struct.pack(">I", 3))  # fixed newstyle, no zeroes

    def recv(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise EOFError("server closed after %d of %d bytes" %
                               (len(buf), n))
            buf += chunk
        return buf

    def option(self, opt, data=b""):
        self.s.sendall(struct.pack(">QII", IHAVEOPT, opt, len(data)) + data)

    def reply(self, opt):
        magic, ropt, rtype, rlen = struct.unpack(">QIII", self.recv(20))
        if magic != REPLY_MAGIC or ropt != opt:
            die("bad option reply header for option %d" % opt)
        return rtype, self.recv(rlen)

    def expect(self, opt, want, data=b""):
        self.option(opt, data)
        rtype, payload = self.reply(opt)
        if rtype != want:
            die("option %d: reply %#x, expected %#x (%r)" %
                (opt, rtype, want, payload))

    def starttls(self, cadir):
        self.expect(OPT_STARTTLS, REP_ACK)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(os.path.join(cadir, "ca-cert.pem"))
        cert = os.path.join(cadir, "client-cert.pem")
        if os.path.exists(cert):
            ctx.load_cert_chain(cert, os.path.join(cadir, "client-key.pem"))
        self.s = ctx.wrap_socket(self.s, server_hostname="localhost")
        return self.s.version()

    def go(self, name):
        n = name.encode()
        self.option(OPT_GO, struct.pack(">I", len(n)) + n + b"\0\0")
        while True:
            rtype, _ = self.reply(OPT_GO)
            if rtype == REP_ACK:
                return
            if rtype != REP_INFO:
                die("NBD_OPT_GO: reply %#x" % rtype)

    def read(self, offset, length, handle):
        self.s.sendall(struct.pack(">IHHQQI", 0x25609513, 0, 0, handle, offset,
                                   length))
        magic, err, h = struct.unpack(">IIQ", self.recv(16))
        if magic != 0x67446698 or h != handle or err != 0:
            die("READ: magic %#x error %d handle %d" % (magic, err, h))
        return self.recv(length)


def cmd_require(path):
    c = Conn(path)
    c.expect(OPT_LIST, REP_ERR_TLS_REQD)
    c.expect(OPT_STRUCTURED_REPLY, REP_ERR_TLS_REQD)
    c.expect(OPT_GO, REP_ERR_TLS_REQD, struct.pack(">I", 0) + b"\0\0")
    # No error reply exists for EXPORT_NAME: the server must hang up.
    c.option(OPT_EXPORT_NAME, b"disk0")
    try:
        data = c.s.recv(1)
    except ConnectionResetError:
        data = b""
    if data:
        die("NBD_OPT_EXPORT_NAME before TLS was answered")


def cmd_starttls(path, cadir):
    c = Conn(path)
    # Negotiated in plaintext: must be forgotten once TLS is up.
    c.expect(OPT_STRUCTURED_REPLY, REP_ACK)
    c.expect(OPT_STARTTLS, REP_ERR_INVALID, b"x")  # STARTTLS takes no data
    version = c.starttls(cadir)
    c.expect(OPT_STARTTLS, REP_ERR_INVALID)  # once only
    # Accepted again, not "already negotiated": the state was discarded.
    c.expect(OPT_STRUCTURED_REPLY, REP_ACK)
    c.option(OPT_LIST)
    while c.reply(OPT_LIST)[0] != REP_ACK:
        pass
    c.expect(OPT_ABORT, REP_ACK)
    print("starttls: ok over", version)


def cmd_stall(path):
    c = Conn(path)
    c.expect(OPT_STARTTLS, REP_ACK)
    t0 = time.monotonic()
    print("stall: STARTTLS acknowledged; sending nothing more", flush=True)
    c.s.settimeout(60)
    try:
        while c.s.recv(4096):
            pass
    except ConnectionResetError:
        pass
    print("stall: closed by the server after %.1f s" % (time.monotonic() - t0))


def cmd_hold(path, cadir, fifo):
    c = Conn(path)
    c.starttls(cadir)
    c.go("disk0")
    first = c.read(0, 4096, 1)
    with open(fifo) as f:
        f.readline()
    if c.read(0, 4096, 2) != first:
        die("the second READ differs")
    print("hold: the connection kept working")


def main():
    cmds = {"require": cmd_require, "starttls": cmd_starttls,
            "stall": cmd_stall, "hold": cmd_hold}
    if len(sys.argv) < 3 or sys.argv[1] not in cmds:
        die("usage: see the source")
    try:
        cmds[sys.argv[1]](*sys.argv[2:])
    except (EOFError, OSError) as e:
        die("%s: %s" % (sys.argv[1], e))


main()
