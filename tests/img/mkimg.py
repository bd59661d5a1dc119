#!/usr/bin/env python3
"""Test images for tests/img/run.

  mkimg.py pattern FILE SIZE SEED      a raw disk: random data, zeros and holes
  mkimg.py modify FILE SEED            overwrite a few random 4 KiB blocks
  mkimg.py leak FILE                   qcow2: one cluster with refcount 1 and
                                       no reference (qemu-img check: a leak)
  mkimg.py corrupt FILE                qcow2: refcount 0 for the L1 table's
                                       cluster (a corruption)
  mkimg.py hostile KIND FILE           qcow2 header patched: truncated,
                                       l1-past-eof, huge-size, huge-l1,
                                       incompat-bit, cluster-bits,
                                       refcount-order, snapshots-past-eof,
                                       backing-name-past-eof
Header offsets: QEMU's docs/interop/qcow2.txt.
"""
import os
import random
import struct
import sys


def pattern(path, size, seed):
    rnd = random.Random(seed)
    with open(path, "wb") as f:
        f.truncate(size)
        blk = 65536
        for off in range(0, size, blk):
            n = min(blk, size - off)
            kind = rnd.random()
            f.seek(off)
            if kind < 0.40:
                f.write(rnd.randbytes(n))
            elif kind < 0.55:
                f.write(bytes(n))                    # written zeros
            elif kind < 0.70:
                inner = rnd.randrange(0, n, 512)     # a little data
                f.seek(off + inner)
                f.write(rnd.randbytes(min(512 * rnd.randint(1, 8), n - inner)))
            # else: a hole


def modify(path, seed):
    rnd = random.Random(seed)
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        for _ in range(24):
            off = rnd.randrange(0, max(1, size - 4096), 512)
            f.seek(off)
            f.write(rnd.randbytes(4096) if rnd.random() < 0.8 else bytes(4096))


def header(f):
    f.seek(0)
    h = f.read(104)
    (magic, version, _bo, _bs, cluster_bits, _size, _crypt, l1_size, l1_off,
     rt_off, _rt_clusters, _nsn, _sn_off) = struct.unpack(">IIQIIQIIQQIIQ", h[:72])
    order = struct.unpack(">I", h[96:100])[0] if version >= 3 else 4
    return cluster_bits, l1_off, rt_off, order


def set_refcount(f, cluster_index, value):
    cluster_bits, _l1, rt_off, order = header(f)
    if order != 4:
        sys.exit("mkimg: only refcount_bits=16 images")
    cs = 1 << cluster_bits
    per_block = cs * 8 // 16
    f.seek(rt_off + 8 * (cluster_index // per_block))
    rb = struct.unpack(">Q", f.read(8))[0] & ~0x1ff
    if not rb:
        sys.exit("mkimg: no refcount block there")
    f.seek(rb + 2 * (cluster_index % per_block))
    f.write(struct.pack(">H", value))


def leak(path):
    with open(path, "r+b") as f:
        cluster_bits = header(f)[0]
        cs = 1 << cluster_bits
        end = (os.path.getsize(path) + cs - 1) // cs * cs
        f.truncate(end + cs)
        set_refcount(f, end // cs, 1)


def corrupt(path):
    with open(path, "r+b") as f:
        cluster_bits, l1_off, _rt, _o = header(f)
        set_refcount(f, l1_off >> cluster_bits, 0)


def hostile(kind, path):
    with open(path, "r+b") as f:
        def put(off, fmt, val):
            f.seek(off)
            f.write(struct.pack(fmt, val))
        if kind == "truncated":
            f.truncate(50)
        elif kind == "l1-past-eof":
            put(40, ">Q", 1 << 40)
        elif kind == "huge-size":
            put(24, ">Q", 1 << 62)
        elif kind == "huge-l1":
            put(36, ">I", 0x7fffffff)
        elif kind == "incompat-bit":
            put(72, ">Q", 1 << 40)
        elif kind == "cluster-bits":
            put(20, ">I", 40)
        elif kind == "refcount-order":
            put(96, ">I", 9)
        elif kind == "snapshots-past-eof":
            put(60, ">I", 1000)
            put(64, ">Q", 1 << 44)
        elif kind == "backing-name-past-eof":
            put(8, ">Q", 1 << 40)
            put(16, ">I", 200)
        elif kind == "rt-past-eof":
            put(48, ">Q", 1 << 45)
        elif kind in ("l1-entry-past-eof", "l2-entry-past-eof", "l2-entry-unaligned",
                      "compressed-bogus", "l1-entry-overlaps-header"):
            _cb, l1_off, _rt, _o = header(f)
            f.seek(l1_off)
            l2 = struct.unpack(">Q", f.read(8))[0] & 0x00fffffffffffe00
            copied = 1 << 63
            if kind == "l1-entry-past-eof":
                put(l1_off, ">Q", copied | (1 << 50))
            elif kind == "l1-entry-overlaps-header":
                put(l1_off, ">Q", copied | 0)
            elif kind == "l2-entry-past-eof":
                put(l2, ">Q", copied | (1 << 50))
            elif kind == "l2-entry-unaligned":
                f.seek(l2)
                e = struct.unpack(">Q", f.read(8))[0]
                put(l2, ">Q", (e & ~0x1ff) + 512)
            else:
                put(l2, ">Q", (1 << 62) | ((1 << 62) - 1))
        else:
            sys.exit(f"mkimg: unknown kind {kind}")


def main(a):
    if a[0] == "pattern":
        pattern(a[1], int(a[2]), int(a[3]))
    elif a[0] == "modify":
        modify(a[1], int(a[2]))
    elif a[0] == "leak":
        leak(a[1])
    elif a[0] == "corrupt":
        corrupt(a[1])
    elif a[0] == "hostile":
        hostile(a[1], a[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
