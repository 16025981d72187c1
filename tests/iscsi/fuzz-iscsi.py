#!/usr/bin/env python3
# Seeded random PDUs for test-iscsi-fuzz.sh: N connections to 127.0.0.1:PORT,
# most after a valid login, each sending 1-11 PDUs with random opcodes,
# flags, lengths (up to 70000), LUNs, tags, CDBs and AHS, some cut short.
# Deterministic for a seed; exits 1 if the server stops accepting.
import socket, struct, random, sys, time
port = int(sys.argv[1]); n = int(sys.argv[2]); seed = int(sys.argv[3])
rnd = random.Random(seed)
IQN = b"iqn.2026-11.org.polltgt:disk0"
def pdu(op, flags, data=b"", itt=1, f20=0, cmdsn=0, exp=0, lun=b"\0"*8, rest=b"\0"*16, ahs=b""):
    dl = len(data)
    bhs = bytes([op, flags, 0, 0, len(ahs)//4]) + dl.to_bytes(3, "big") + lun + struct.pack(">IIII", itt, f20, cmdsn, exp) + rest
    pad = (4 - dl % 4) % 4
    return bhs + ahs + data + b"\0" * pad
def login(s, cmdsn):
    text = b"InitiatorName=iqn.2026-11.org.fuzz:i\0TargetName=" + IQN + b"\0SessionType=Normal\0HeaderDigest=None\0DataDigest=None\0MaxRecvDataSegmentLength=65536\0"
    bhs = bytearray(pdu(0x43, 0x87, text, itt=7, cmdsn=cmdsn))
    bhs[8:14] = bytes([0x80, 0, 0, rnd.randrange(256), rnd.randrange(256), 1])
    s.sendall(bytes(bhs))
    r = b""
    s.settimeout(2)
    while len(r) < 48:
        c = s.recv(4096)
        if not c: return False
        r += c
    return r[0] & 0x3f == 0x23 and r[36] == 0
stats = {"ok": 0, "loginfail": 0}
for i in range(n):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        cmdsn = rnd.randrange(1 << 32)
        if rnd.random() < 0.85:
            if not login(s, cmdsn):
                stats["loginfail"] += 1
        for k in range(rnd.randrange(1, 12)):
            op = rnd.choice([0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x10, 0x1c, rnd.randrange(64)])
            if rnd.random() < 0.5: op |= 0x40
            flags = rnd.randrange(256)
            dl = rnd.choice([0, 0, 1, 3, 48, 512, 4096, rnd.randrange(70000)])
            data = bytes(rnd.randrange(256) for _ in range(min(dl, 5000))) + b"\0" * max(0, dl - 5000)
            cdb = bytes([rnd.choice([0x28, 0x2a, 0x88, 0x8a, 0x89, 0x93, 0x42, 0x12, 0xa0, 0x9e, 0x41, 0x2f, rnd.randrange(256)])]) + bytes(rnd.randrange(256) for _ in range(15))
            lun = bytes([rnd.choice([0, 0, 0x40, 0xff]), rnd.randrange(4)]) + b"\0" * 6
            f20 = rnd.choice([0, 512, 4096, 0xffffffff, rnd.randrange(1 << 32)])
            ahs = b"" if rnd.random() < 0.9 else bytes(rnd.randrange(256) for _ in range(4 * rnd.randrange(1, 4)))
            p = pdu(op, flags, data, itt=rnd.randrange(1 << 32), f20=f20, cmdsn=cmdsn + k, exp=0, lun=lun, rest=cdb, ahs=ahs)
            if rnd.random() < 0.1:
                p = p[:rnd.randrange(len(p))]
            s.sendall(p)
        s.settimeout(0.05)
        try:
            while s.recv(65536): pass
        except Exception: pass
        s.close()
        stats["ok"] += 1
    except (ConnectionRefusedError,):
        print("server gone at connection", i); sys.exit(1)
    except Exception as e:
        pass
print(stats)
