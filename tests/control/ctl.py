#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A raw client of the status socket, independent of polltgtctl, so the
protocol tests check the server alone.

As a module: Conn(path).request("stats") -> (ok, body).
As a program: ctl.py SOCKET REQUEST... sends the requests pipelined in one
write and prints each body; exit status 0 if every answer was OK, 1 if one
was ERR, 3 on a protocol or connection failure.  With --json-path P (after
SOCKET), prints the value at the dotted path P of a JSON answer instead
(list elements by index: iothreads.0.params.max_ns).
"""
import json
import socket
import sys

TIMEOUT = 10


class ProtocolError(Exception):
    pass


class Conn:
    def __init__(self, path, timeout=TIMEOUT):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b''

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ProtocolError('connection closed by the server')
        self.buf += data

    def answer(self):
        """Read one framed answer: (ok, body as str)."""
        while b'\n' not in self.buf:
            if len(self.buf) > 64:
                raise ProtocolError(f'no header line: {self.buf[:64]!r}')
            self._fill()
        header, self.buf = self.buf.split(b'\n', 1)
        parts = header.decode('ascii').split(' ')
        if len(parts) != 2 or parts[0] not in ('OK', 'ERR') or \
                not parts[1].isdigit():
            raise ProtocolError(f'bad header {header!r}')
        n = int(parts[1])
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return parts[0] == 'OK', body.decode('utf-8')

    def request(self, line):
        self.send(line.encode() + b'\n')
        return self.answer()

    def closed_by_server(self):
        """True if the server closed the connection (EOF, nothing left)."""
        try:
            data = self.sock.recv(1)
        except ConnectionResetError:
            return True
        return data == b'' and self.buf == b''


def request(path, line):
    c = Conn(path)
    try:
        return c.request(line)
    finally:
        c.close()


def get_path(doc, path):
    for part in path.split('.'):
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def main(argv):
    if len(argv) < 3:
        print('usage: ctl.py SOCKET [--json-path P] REQUEST...', file=sys.stderr)
        return 2
    path, reqs = argv[1], argv[2:]
    jpath = None
    if reqs[0] == '--json-path':
        jpath, reqs = reqs[1], reqs[2:]
    status = 0
    try:
        c = Conn(path)
        c.send(b''.join(r.encode() + b'\n' for r in reqs))
        for _ in reqs:
            ok, body = c.answer()
            if jpath is not None and ok:
                v = get_path(json.loads(body), jpath)
                print(json.dumps(v) if not isinstance(v, str) else v)
            else:
                sys.stdout.write(body)
            if not ok:
                status = 1
        c.close()
    except (OSError, ProtocolError) as e:
        print(f'ctl.py: {path}: {e}', file=sys.stderr)
        return 3
    return status


if __name__ == '__main__':
    sys.exit(main(sys.argv))
