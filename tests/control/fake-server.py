#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A misbehaving status socket for polltgtctl's tests.

Usage: fake-server.py SOCKET MODE, MODE one of
  silent   accept, read the request, never answer;
  garbage  answer "HELLO\n";
  short    answer "OK 100\n" and 10 bytes, then close.
Serves clients one after the other until killed; creates SOCKET before it
accepts, so a test can wait for it.
"""
import os
import socket
import sys

path, mode = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
if os.path.exists(path):
    os.unlink(path)
s.bind(path)
s.listen(8)
held = []
while True:
    c, _ = s.accept()
    c.settimeout(5)
    try:
        c.recv(4096)
    except OSError:
        pass
    if mode == 'silent':
        held.append(c)  # keep it open, say nothing
        continue
    if mode == 'garbage':
        c.sendall(b'HELLO\n')
    elif mode == 'short':
        c.sendall(b'OK 100\n0123456789')
    c.close()
