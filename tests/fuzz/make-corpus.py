#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Write the seed corpus of the fuzz harnesses (tests/fuzz/corpus/TARGET/),
# built from the protocols: small valid inputs that take each harness past
# its first checks (a whole NBD handshake, a login, a command of every
# family), so fuzzing starts deep instead of rediscovering the magic
# numbers.  Each seed is in the format its harness documents at the top
# of fuzz-TARGET.c.  Regression inputs (what fuzzing found, named
# regress-*) are checked in by hand next to the seeds and never touched
# here.
#
#   tests/fuzz/make-corpus.py [CORPUS_DIR]
#
# --capture BUILDDIR instead records what real clients send (nbdinfo,
# iscsi-inq, iscsi-ls against that build's polltgtd, through a proxy that
# keeps the client's bytes) as seeds named real-*.
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
IQN = b"iqn.2026-11.org.polltgt"
INITIATOR = b"iqn.2026-11.org.fuzz:init"

# --- NBD ------------------------------------------------------------------

NBD_IHAVEOPT = 0x49484156454F5054
NBD_REQUEST_MAGIC = 0x25609513
OPT = dict(EXPORT_NAME=1, ABORT=2, LIST=3, STARTTLS=5, INFO=6, GO=7,
           STRUCTURED_REPLY=8, LIST_META_CONTEXT=9, SET_META_CONTEXT=10)
CMD = dict(READ=0, WRITE=1, DISC=2, FLUSH=3, TRIM=4, CACHE=5,
           WRITE_ZEROES=6, BLOCK_STATUS=7)
FUA, NO_HOLE, DF, REQ_ONE, FAST_ZERO = 1, 2, 4, 8, 16


def nbd_opt(opt, data=b""):
    return struct.pack(">QII", NBD_IHAVEOPT, OPT[opt], len(data)) + data


def nbd_name(name):
    return struct.pack(">I", len(name)) + name


def nbd_go(name, infos=(), opt="GO"):
    data = nbd_name(name) + struct.pack(">H", len(infos))
    data += b"".join(struct.pack(">H", i) for i in infos)
    return nbd_opt(opt, data)


def nbd_meta(opt, name, queries):
    data = nbd_name(name) + struct.pack(">I", len(queries))
    data += b"".join(nbd_name(q) for q in queries)
    return nbd_opt(opt, data)


def nbd_req(cmd, offset=0, length=0, flags=0, cookie=1, payload=b""):
    return struct.pack(">IHHQQI", NBD_REQUEST_MAGIC, flags, CMD[cmd], cookie,
                       offset, length) + payload


FLAGS = struct.pack(">I", 3)  # FIXED_NEWSTYLE | NO_ZEROES


def nbd_handshake_seeds():
    disc = nbd_req("DISC")
    sr = nbd_opt("STRUCTURED_REPLY")
    base = [b"base:allocation"]
    yield "go-read", FLAGS + nbd_go(b"disk0") + nbd_req("READ", 0, 512) + disc
    yield "go-info", FLAGS + nbd_go(b"disk0", (0, 1, 2, 3)) + disc
    yield "info-then-go", FLAGS + nbd_go(b"ro", (2, 3), "INFO") + \
        nbd_go(b"ro") + disc
    yield "default-export", FLAGS + nbd_go(b"") + disc
    yield "export-name", FLAGS + nbd_opt("EXPORT_NAME", b"disk0") + disc
    yield "export-name-zeroes", struct.pack(">I", 1) + \
        nbd_opt("EXPORT_NAME", b"null") + disc
    yield "list-abort", FLAGS + nbd_opt("LIST") + nbd_opt("ABORT")
    yield "structured-meta", FLAGS + sr + \
        nbd_meta("LIST_META_CONTEXT", b"disk0", [b"base:"]) + \
        nbd_meta("SET_META_CONTEXT", b"disk0", base) + nbd_go(b"disk0") + \
        nbd_req("BLOCK_STATUS", 0, 65536) + disc
    yield "meta-list-all", FLAGS + sr + \
        nbd_meta("LIST_META_CONTEXT", b"", []) + nbd_opt("ABORT")
    yield "starttls-unknown", FLAGS + nbd_opt("STARTTLS") + \
        struct.pack(">QII", NBD_IHAVEOPT, 99, 4) + b"junk" + nbd_opt("ABORT")
    yield "no-such-export", FLAGS + nbd_go(b"missing") + nbd_opt("ABORT")
    yield "bad-length", FLAGS + nbd_opt("GO", b"\0\0\0\x09ab") + \
        nbd_opt("ABORT")


def nbd_request_seeds():
    # The first byte picks the handshake (fuzz-nbd-request.c).
    disc = nbd_req("DISC", cookie=99)
    data = bytes(range(256)) * 16
    yield "read-write", b"\x00" + nbd_req("WRITE", 4096, 4096, FUA, 2, data) + \
        nbd_req("READ", 4096, 4096, 0, 3) + disc
    yield "structured-read", b"\x01" + nbd_req("READ", 0, 65536, 0, 1) + \
        nbd_req("READ", 8192, 512, DF, 2) + disc
    yield "block-status", b"\x03" + \
        nbd_req("WRITE", 0, 4096, 0, 1, data) + \
        nbd_req("BLOCK_STATUS", 0, 1 << 20, 0, 2) + \
        nbd_req("BLOCK_STATUS", 4096, 8192, REQ_ONE, 3) + disc
    yield "trim-zero-flush", b"\x01" + nbd_req("TRIM", 0, 8192, 0, 1) + \
        nbd_req("WRITE_ZEROES", 8192, 8192, NO_HOLE, 2) + \
        nbd_req("WRITE_ZEROES", 16384, 4096, FAST_ZERO, 3) + \
        nbd_req("FLUSH", 0, 0, 0, 4) + nbd_req("CACHE", 0, 4096, 0, 5) + disc
    yield "readonly-write", b"\x04" + nbd_req("WRITE", 0, 512, 0, 1, data[:512]) + \
        nbd_req("READ", 0, 512, 0, 2) + disc
    yield "null-export", b"\x09" + nbd_req("WRITE", 1 << 20, 4096, 0, 1, data) + \
        nbd_req("READ", 1 << 29, 65536, 0, 2) + disc
    yield "out-of-range", b"\x00" + nbd_req("READ", (1 << 20) - 512, 1024) + \
        nbd_req("WRITE", 1 << 40, 16, 0, 2, data[:16]) + \
        nbd_req("READ", 0, 0, 0, 3) + disc
    yield "bad-flags-magic", b"\x00" + nbd_req("READ", 0, 512, 0x80) + \
        nbd_req("FLUSH", 4096, 1, 0, 2) + \
        struct.pack(">IHHQQI", 0x12345678, 0, 0, 3, 0, 512)
    yield "pipelined", b"\x01" + b"".join(
        nbd_req("READ", (i * 4096) % (1 << 20), 4096, 0, i) for i in range(70)) + \
        disc
    yield "eof-mid-payload", b"\x00" + nbd_req("WRITE", 0, 4096, 0, 1, data[:100])


# --- iSCSI ----------------------------------------------------------------

def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def digest(data):
    return struct.pack("<I", crc32c(data))  # sent little-endian (RFC 7143)


def pdu(op, flags=0, data=b"", lun=0, itt=1, f20=0xFFFFFFFF, f24=0, f28=0,
        rest=b"", ahs=b"", digests=False, spec=b"\0\0"):
    """A PDU: BHS (48 bytes), AHS, padded data, optional CRC32C digests."""
    bhs = bytes([op, flags]) + spec + bytes([len(ahs) // 4])
    bhs += len(data).to_bytes(3, "big") + struct.pack(">Q", lun)
    bhs += struct.pack(">IIII", itt, f20, f24, f28) + rest.ljust(16, b"\0")
    assert len(bhs) == 48
    hdr = bhs + ahs
    pad = data + b"\0" * ((4 - len(data) % 4) % 4)
    if not digests:
        return hdr + pad
    return hdr + digest(hdr) + pad + (digest(pad) if data else b"")


def keys(*kv):
    return b"".join(k + b"\0" for k in kv)


def login(kv, csg=1, nsg=3, transit=True, cont=False, itt=0x10, cmdsn=1,
          tsih=0, isid=b"\x80\0\0\x12\x34\x00"):
    flags = (0x80 if transit else 0) | (0x40 if cont else 0) | csg << 2 | nsg
    rest = b""
    # ISID, TSIH in the LUN field; CID at 20 (in f20's high half).
    lun = int.from_bytes(isid + struct.pack(">H", tsih), "big")
    return pdu(0x43, flags, kv, lun=lun, itt=itt, f20=0, f24=cmdsn, rest=rest)


def lun_field(n):
    return n << 48 if n < 256 else (0x4000 | n) << 48


def scsi_cmd(cdb, itt, cmdsn, edtl=0, read=False, write=False, data=b"",
             lun=0, final=True, digests=False, ahs=b""):
    flags = (0x80 if final else 0) | (0x40 if read else 0) | \
        (0x20 if write else 0) | 1  # simple task attribute
    return pdu(0x01, flags, data, lun=lun_field(lun), itt=itt, f20=edtl,
               f24=cmdsn, rest=bytes(cdb).ljust(16, b"\0"), ahs=ahs,
               digests=digests)


def data_out(itt, ttt, offset, data, datasn=0, final=True, digests=False):
    rest = struct.pack(">III", 0, datasn, offset)  # reserved, DataSN, offset
    return pdu(0x05, 0x80 if final else 0, data, itt=itt, f20=ttt,
               f24=0, f28=0, rest=rest, digests=digests)


def nop_out(itt, cmdsn, data=b"", digests=False):
    return pdu(0x40, 0x80, data, itt=itt, f20=0xFFFFFFFF, f24=cmdsn,
               digests=digests)


def text_req(kv, itt, cmdsn, digests=False):
    return pdu(0x04, 0x80, kv, itt=itt, f20=0xFFFFFFFF, f24=cmdsn,
               digests=digests)


def logout(itt, cmdsn, reason=0, digests=False):
    return pdu(0x06, 0x80 | reason, itt=itt, f20=0, f24=cmdsn,
               digests=digests)


def tmf(func, itt, cmdsn, rtt=0xFFFFFFFF, lun=0, refcmdsn=0):
    return pdu(0x42, 0x80 | func, lun=lun_field(lun), itt=itt, f20=rtt,
               f24=cmdsn, rest=struct.pack(">I", refcmdsn))


def be(n, v):
    return v.to_bytes(n, "big")


READ10 = lambda lba, n: [0x28, 0] + list(be(4, lba)) + [0] + list(be(2, n)) + [0]
WRITE10 = lambda lba, n: [0x2a, 0] + list(be(4, lba)) + [0] + list(be(2, n)) + [0]
INQUIRY = [0x12, 0, 0, 0, 96, 0]
TARGET = IQN + b":disk0"
NORMAL = (b"InitiatorName=" + INITIATOR, b"SessionType=Normal",
          b"TargetName=" + TARGET)


def iscsi_login_seeds():
    yield "op-to-ffp", login(keys(*NORMAL, b"HeaderDigest=None",
                                   b"DataDigest=None",
                                   b"MaxRecvDataSegmentLength=65536")) + \
        scsi_cmd(INQUIRY, 1, 1, 96, read=True) + logout(2, 2)
    yield "security-then-op", \
        login(keys(*NORMAL, b"AuthMethod=None"), csg=0, nsg=1) + \
        login(keys(b"HeaderDigest=CRC32C,None", b"DataDigest=None",
                   b"MaxBurstLength=262144", b"FirstBurstLength=65536",
                   b"InitialR2T=No", b"ImmediateData=Yes",
                   b"MaxOutstandingR2T=1", b"ErrorRecoveryLevel=0",
                   b"DefaultTime2Wait=2", b"DefaultTime2Retain=0",
                   b"MaxConnections=1", b"DataPDUInOrder=Yes",
                   b"DataSequenceInOrder=Yes"), itt=0x11)
    yield "discovery", login(keys(b"InitiatorName=" + INITIATOR,
                                  b"SessionType=Discovery")) + \
        text_req(keys(b"SendTargets=All"), 1, 1) + logout(2, 2)
    yield "chap", login(keys(b"InitiatorName=" + INITIATOR,
                             b"SessionType=Normal",
                             b"TargetName=" + IQN + b":secure",
                             b"AuthMethod=CHAP,None"), csg=0, nsg=1,
                        transit=False) + \
        login(keys(b"CHAP_A=5"), csg=0, nsg=1, transit=False, itt=0x11) + \
        login(keys(b"CHAP_N=fuzzuser", b"CHAP_R=0x" + b"00" * 16,
                   b"CHAP_I=7", b"CHAP_C=0x" + b"ab" * 16),
              csg=0, nsg=1, itt=0x12)
    # Keys continued across two PDUs (C bit), the value cut in the middle.
    text = keys(*NORMAL, b"MaxRecvDataSegmentLength=8192")
    yield "continued", login(text[:30], transit=False, cont=True) + \
        login(text[30:], itt=0x11)
    yield "bad-keys", login(keys(b"InitiatorName=" + INITIATOR,
                                 b"TargetName=" + TARGET,
                                 b"MaxRecvDataSegmentLength=1",
                                 b"X-vendor.key=1", b"NoEquals",
                                 b"HeaderDigest=MD5", b"=empty",
                                 b"MaxBurstLength=99999999999"))
    yield "ffp-text-renegotiate", login(keys(*NORMAL)) + \
        text_req(keys(b"MaxRecvDataSegmentLength=16384"), 1, 1) + \
        text_req(keys(b"SendTargets=" + TARGET), 2, 2) + logout(3, 3)
    yield "wrong-target", login(keys(b"InitiatorName=" + INITIATOR,
                                     b"SessionType=Normal",
                                     b"TargetName=iqn.2026-11.org.polltgt:none"))


def iscsi_pdu_seeds():
    # The first byte picks the login (fuzz-iscsi-pdu.c); CmdSN starts at 1.
    data = bytes(range(256)) * 4
    yield "inquiry-read", b"\x00" + scsi_cmd(INQUIRY, 1, 1, 96, read=True) + \
        scsi_cmd(READ10(0, 8), 2, 2, 4096, read=True) + \
        scsi_cmd([0x25] + [0] * 9, 3, 3, 8, read=True) + logout(4, 4)
    yield "write-immediate", b"\x00" + \
        scsi_cmd(WRITE10(8, 2), 1, 1, 1024, write=True, data=data) + \
        scsi_cmd(READ10(8, 2), 2, 2, 1024, read=True) + logout(3, 3)
    yield "write-unsolicited", b"\x00" + \
        scsi_cmd(WRITE10(16, 4), 1, 1, 2048, write=True, data=data[:512],
                 final=False) + data_out(1, 0xFFFFFFFF, 512, data[:1024],
                                         0, False) + \
        data_out(1, 0xFFFFFFFF, 1536, data[:512], 1, True) + logout(2, 2)
    yield "write-r2t", b"\x02" + \
        scsi_cmd(WRITE10(0, 2), 1, 1, 1024, write=True) + \
        data_out(1, 0, 0, data) + nop_out(2, 2, b"ping")
    yield "digests", b"\x01" + \
        scsi_cmd(INQUIRY, 1, 1, 96, read=True, digests=True) + \
        scsi_cmd(WRITE10(0, 1), 2, 2, 512, write=True, data=data[:512],
                 digests=True) + \
        nop_out(3, 3, b"hello", digests=True) + logout(4, 3, digests=True)
    yield "bad-digest", b"\x01" + scsi_cmd(INQUIRY, 1, 1, 96, read=True)
    # Immediate PDUs (NOP-Out, TMF) carry the next CmdSN without using it.
    yield "nop-text-tmf", b"\x00" + nop_out(1, 1, b"x" * 100) + \
        text_req(keys(b"SendTargets=All"), 2, 1) + \
        scsi_cmd(READ10(0, 1), 3, 2, 512, read=True) + \
        tmf(1, 4, 3, rtt=3) + tmf(5, 5, 3, lun=1) + tmf(6, 6, 3) + \
        logout(7, 3)
    yield "lun1-report-luns", b"\x00" + \
        scsi_cmd([0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0], 1, 1, 256,
                 read=True) + \
        scsi_cmd([0x9e, 0x10] + [0] * 8 + [0, 0, 0, 32, 0, 0], 2, 2, 32,
                 read=True, lun=1) + \
        scsi_cmd(READ10(0, 1), 3, 3, 4096, read=True, lun=1) + \
        scsi_cmd(INQUIRY, 4, 4, 96, read=True, lun=5)
    # Extended CDB AHS (type 1) and a bidirectional read length AHS (type 2).
    ext = struct.pack(">HB", 17, 1) + b"\0" + bytes(16)
    bidi = struct.pack(">HB", 5, 2) + b"\0" + struct.pack(">I", 512)
    yield "ahs", b"\x00" + scsi_cmd([0x7f] + [0] * 15, 1, 1, 0, ahs=ext) + \
        scsi_cmd(READ10(0, 1), 2, 2, 512, read=True, ahs=bidi)
    yield "out-of-window", b"\x00" + scsi_cmd(READ10(0, 1), 1, 50, 512,
                                              read=True) + \
        pdu(0x10, 0x80, itt=9) + pdu(0x1c, 0x80, itt=10) + \
        scsi_cmd(READ10(0, 1), 2, 1, 512, read=True)
    yield "logout-connection", b"\x00" + logout(1, 1, reason=1)


# --- SCSI -----------------------------------------------------------------

def cdb_rec(cdb, data=b"", flags=0):
    cdb = bytes(cdb).ljust(16, b"\0")
    return bytes([flags]) + cdb + struct.pack(">H", len(data)) + data


def scsi_cdb_seeds():
    blk = bytes(range(256)) * 2
    yield "inquiry-vpd", b"".join(
        cdb_rec([0x12, 1, page, 0, 255, 0])
        for page in (0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2)) + \
        cdb_rec(INQUIRY) + cdb_rec(INQUIRY, flags=2)
    yield "capacity-modes", cdb_rec([0x25]) + \
        cdb_rec([0x9e, 0x10] + [0] * 8 + [0, 0, 0, 32]) + \
        cdb_rec([0x1a, 0, 0x3f, 0, 255, 0]) + \
        cdb_rec([0x5a, 0, 0x3f, 0, 0, 0, 0, 1, 0, 0]) + \
        cdb_rec([0x5a, 0, 0x08, 0, 0, 0, 0, 0, 64, 0], flags=1)
    yield "read-write", cdb_rec(WRITE10(0, 1), blk) + \
        cdb_rec(READ10(0, 1)) + cdb_rec([0x08, 0, 0, 1, 1, 0]) + \
        cdb_rec([0x0a, 0, 0, 2, 1, 0], blk) + \
        cdb_rec([0x8a, 0] + [0] * 7 + [3] + [0, 0, 0, 1, 0, 0], blk) + \
        cdb_rec([0x88, 0] + [0] * 7 + [3] + [0, 0, 0, 1, 0, 0]) + \
        cdb_rec(WRITE10(0, 1), blk * 8, flags=1)
    yield "short-write", cdb_rec(WRITE10(4, 4), blk[:700], flags=4)
    yield "write-same-unmap", \
        cdb_rec([0x41, 0x08, 0, 0, 0, 10, 0, 0, 4, 0], blk) + \
        cdb_rec([0x93, 0x08] + [0] * 7 + [20] + [0, 0, 0, 8, 0, 0], blk) + \
        cdb_rec([0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0],
                struct.pack(">HH4x", 22, 16) +
                struct.pack(">QI4x", 100, 8)) + \
        cdb_rec([0x9e, 0x12] + [0] * 8 + [0, 0, 1, 0])
    yield "compare-and-write", \
        cdb_rec([0x89, 0] + [0] * 8 + [0, 0, 0, 1, 0, 0], blk + blk) + \
        cdb_rec(READ10(0, 1))
    yield "verify-sync-prefetch", cdb_rec([0x2f, 0x02, 0, 0, 0, 0, 0, 0, 1, 0],
                                          blk) + \
        cdb_rec([0x35] + [0] * 9) + cdb_rec([0x91] + [0] * 15) + \
        cdb_rec([0x34, 0, 0, 0, 0, 0, 0, 0, 8, 0]) + \
        cdb_rec([0x2e, 0, 0, 0, 0, 9, 0, 0, 1, 0], blk)
    yield "misc", cdb_rec([0x00]) + cdb_rec([0x03, 0, 0, 0, 18, 0]) + \
        cdb_rec([0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]) + \
        cdb_rec([0xa3, 0x0c, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0]) + \
        cdb_rec([0xa3, 0x0c, 1, 0x28, 0, 0, 0, 0, 1, 0, 0, 0]) + \
        cdb_rec([0x1b, 0, 0, 0, 1, 0]) + cdb_rec([0x1e, 0, 0, 0, 1, 0]) + \
        cdb_rec([0x4d, 0, 0, 0, 0, 0, 0, 1, 0, 0]) + \
        cdb_rec([0x5e, 0, 0, 0, 0, 0, 0, 1, 0, 0]) + \
        cdb_rec([0x15, 0x10, 0, 0, 12, 0], bytes(12)) + \
        cdb_rec([0xff] * 16) + cdb_rec([0x7f] + [0] * 15)


# --- INI ------------------------------------------------------------------

def config_seeds():
    with open(os.path.join(HERE, "..", "..", "conf", "polltgt.ini"), "rb") as f:
        yield "shipped", f.read()
    yield "every-section", b"""[server]
iothreads = 2
log-level = debug
pidfile = /run/polltgtd.pid
[poll]
policy = classic
max-ns = 32us
grow = 4
shrink = 2
weight = 3
idle-timeout-ms = 7000
[iothread 1]
policy = busy
cpu = 0
[nbd]
listen = 127.0.0.1:10809, [::1]:10810, unix:/tmp/nbd.sock
default-export = a
max-connections = 16
max-payload = 1M
handshake-timeout = 2s
[iscsi]
listen = 0.0.0.0:3260
iqn-prefix = iqn.2026-11.org.example
login-timeout = 15s
nop-interval = 30s
nop-timeout = 5s
queue-depth = 64
max-recv-data-segment-length = 64K
max-burst-length = 1M
first-burst-length = 256K
max-outstanding-r2t = 4
immediate-data = no
initial-r2t = yes
header-digest = crc32c
data-digest = none, crc32c
[status]
socket = none
[export a]
backend = file
path = disk.img
create = yes
direct = yes
size = 10G
description = a file ; a comment
iothread = 1
allow = 127.0.0.1, 10.0.0.0/8, ::1, unix
protocols = nbd
[export b]
backend = memory
size = 64M
readonly = yes
protocols = iscsi
iqn = iqn.2026-11.org.example:shared
lun = 3
block-size = 4096
chap-username = user
chap-secret = secret-of-12bytes
chap-mutual-username = target
chap-mutual-secret = another-secret
initiators = iqn.1994-05.com.redhat:abc, iqn.2026-11.org.x:y
"""
    yield "errors", b"""[server]
iothread = 2
[poll]
max-ns = lots
[nbd]
listen = 999.0.0.1:99999
[export x]
size = -1
[export x]
backend = nowhere
"""
    yield "gateway", b"""[export up]
backend = nbd
path = nbd+unix:///disk?socket=/tmp/up.sock
[export i]
backend = iscsi
path = iscsi://127.0.0.1:3260/iqn.2026-11.org.polltgt:disk0/0
size = 1G
"""


GENERATORS = {
    "nbd-handshake": nbd_handshake_seeds,
    "nbd-request": nbd_request_seeds,
    "iscsi-login": iscsi_login_seeds,
    "iscsi-pdu": iscsi_pdu_seeds,
    "scsi-cdb": scsi_cdb_seeds,
    "config": config_seeds,
}


def write_seeds(top):
    for target, gen in GENERATORS.items():
        d = os.path.join(top, target)
        os.makedirs(d, exist_ok=True)
        for name, blob in gen():
            with open(os.path.join(d, "seed-" + name), "wb") as f:
                f.write(blob)


# --- Capture --------------------------------------------------------------

def proxy_once(listener, upstream, out):
    """Accept one client, relay both ways, keep the client's bytes."""
    c, _ = listener.accept()
    s = socket.socket(upstream[0], socket.SOCK_STREAM)
    s.connect(upstream[1])
    got = bytearray()

    def pump(a, b, keep):
        while True:
            try:
                chunk = a.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                try:
                    b.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            if keep:
                got.extend(chunk)
            try:
                b.sendall(chunk)
            except OSError:
                return  # the other side is gone: nothing more to relay

    t = threading.Thread(target=pump, args=(s, c, False))
    t.start()
    pump(c, s, True)
    t.join(5)
    c.close()
    s.close()
    out.append(bytes(got))


def capture(builddir, top):
    tmp = tempfile.mkdtemp(prefix="polltgt-capture.")
    sock = os.path.join(tmp, "nbd.sock")
    with socket.socket() as probe:  # a free port for the iSCSI listener
        probe.bind(("127.0.0.1", 0))
        iport = probe.getsockname()[1]
    conf = os.path.join(tmp, "capture.ini")
    with open(conf, "w") as f:
        f.write(f"""[poll]
max-ns = 0
[nbd]
listen = unix:{sock}
[iscsi]
listen = 127.0.0.1:{iport}
[status]
socket = none
[export disk0]
backend = memory
size = 1M
""")
    srv = subprocess.Popen([os.path.join(builddir, "server", "polltgtd"),
                            "--foreground", "-c", conf])
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", iport)).close()
                if os.path.exists(sock):
                    break
            except OSError:
                pass
            time.sleep(0.05)
        runs = [
            ("nbd-handshake", "nbdinfo", socket.AF_UNIX, sock,
             lambda p: ["nbdinfo", f"nbd+unix:///disk0?socket={p}"]),
            ("nbd-handshake", "nbdinfo-list", socket.AF_UNIX, sock,
             lambda p: ["nbdinfo", "--list", f"nbd+unix://?socket={p}"]),
            ("nbd-handshake", "nbdinfo-map", socket.AF_UNIX, sock,
             lambda p: ["nbdinfo", "--map", f"nbd+unix:///disk0?socket={p}"]),
            ("iscsi-login", "iscsi-inq", socket.AF_INET, ("127.0.0.1", iport),
             lambda p: ["iscsi-inq", "-i", INITIATOR.decode(),
                        f"iscsi://127.0.0.1:{p[1]}/{TARGET.decode()}/0"]),
            ("iscsi-login", "iscsi-ls", socket.AF_INET, ("127.0.0.1", iport),
             lambda p: ["iscsi-ls", "-i", INITIATOR.decode(), "-s",
                        f"iscsi://127.0.0.1:{p[1]}"]),
        ]
        for target, name, fam, up, cmd in runs:
            lst = socket.socket(fam, socket.SOCK_STREAM)
            if fam == socket.AF_UNIX:
                addr = os.path.join(tmp, "proxy.sock")
                if os.path.exists(addr):
                    os.unlink(addr)
            else:
                addr = ("127.0.0.1", 0)
            lst.bind(addr)
            lst.listen(4)
            me = lst.getsockname()
            got = []
            th = threading.Thread(target=proxy_once, args=(lst, (fam, up), got))
            th.start()
            subprocess.run(cmd(me), stdout=subprocess.DEVNULL, timeout=20,
                           check=False)
            th.join(10)
            lst.close()
            if got and got[0]:
                d = os.path.join(top, target)
                os.makedirs(d, exist_ok=True)
                with open(os.path.join(d, "real-" + name), "wb") as f:
                    f.write(got[0])
                print(f"{target}/real-{name}: {len(got[0])} bytes")
    finally:
        srv.terminate()
        srv.wait()


def main():
    args = sys.argv[1:]
    top = os.path.join(HERE, "corpus")
    if args[:1] == ["--capture"]:
        capture(args[1], args[2] if len(args) > 2 else top)
        return
    write_seeds(args[0] if args else top)


if __name__ == "__main__":
    main()
