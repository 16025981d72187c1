#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Play systemd's part for one polltgtd: bind the listeners of a .socket
unit and pass them as LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES, and receive
sd_notify datagrams on NOTIFY_SOCKET, so tests can check socket
activation and readiness without a service manager.

  sd-harness.py [--notify PATH|@NAME] [--notify-log FILE]
                [--listen NAME=HOST:PORT]... [--pidfile FILE]
                [--bad-pid] -- COMMAND [ARG]...

Each datagram is appended to --notify-log as one line, its newlines
shown as ' | '.  --bad-pid sets LISTEN_PID to a PID that is not the
command's (it must then ignore the descriptors).  The harness exits with
the command's status and forwards SIGTERM and SIGHUP to it.
"""
import argparse
import os
import signal
import socket
import sys
import threading


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--notify")
    ap.add_argument("--notify-log")
    ap.add_argument("--listen", action="append", default=[])
    ap.add_argument("--pidfile")
    ap.add_argument("--bad-pid", action="store_true")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command

    env = dict(os.environ)
    if a.notify:
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        addr = "\0" + a.notify[1:] if a.notify.startswith("@") else a.notify
        ns.bind(addr)
        env["NOTIFY_SOCKET"] = a.notify

        def receive():
            while True:
                msg = ns.recv(4096).decode(errors="replace")
                with open(a.notify_log, "a") as f:
                    f.write(msg.replace("\n", " | ") + "\n")

        threading.Thread(target=receive, daemon=True).start()

    socks, names = [], []
    for spec in a.listen:
        name, hostport = spec.split("=", 1)
        host, port = hostport.rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, int(port)))
        s.listen(64)
        socks.append(s)
        names.append(name)

    pid = os.fork()
    if pid == 0:
        # The child becomes the command: its PID is the one LISTEN_PID
        # must name.
        for i, s in enumerate(socks):
            os.dup2(s.fileno(), 3 + i)
            os.set_inheritable(3 + i, True)  # dup2 onto itself keeps CLOEXEC
        if socks:
            env["LISTEN_FDS"] = str(len(socks))
            env["LISTEN_FDNAMES"] = ":".join(names)
            env["LISTEN_PID"] = str(os.getpid() + 1 if a.bad_pid
                                    else os.getpid())
        os.execvpe(cmd[0], cmd, env)

    for s in socks:
        s.close()  # the child holds them now
    if a.pidfile:
        with open(a.pidfile, "w") as f:
            f.write("%d\n" % pid)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, lambda n, _f: os.kill(pid, n))
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    sys.exit(os.waitstatus_to_exitcode(status) & 0xff)


if __name__ == "__main__":
    main()
