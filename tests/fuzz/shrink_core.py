#!/usr/bin/env python3
"""Shrinks an ELF64 core into a fuzz seed: the headers and notes stay whole,
each PT_LOAD keeps at most KEEP bytes of its contents (p_filesz is cut to
match, p_memsz is kept, so the reader sees a short dump, as a core whose
pages were left out). Usage: shrink_core.py CORE OUT [KEEP]"""
import struct
import sys


def shrink(data, keep):
    ehdr = bytearray(data[:64])
    phoff, = struct.unpack_from("<Q", ehdr, 32)
    phentsize, phnum = struct.unpack_from("<HH", ehdr, 54)
    phdrs = [bytearray(data[phoff + i * phentsize: phoff + (i + 1) * phentsize]) for i in range(phnum)]
    out = bytearray(ehdr)
    struct.pack_into("<Q", out, 32, 64)  # program headers right after the ELF header
    out += b"".join(bytes(p) for p in phdrs)
    for i, p in enumerate(phdrs):
        ptype, = struct.unpack_from("<I", p, 0)
        off, = struct.unpack_from("<Q", p, 8)
        filesz, = struct.unpack_from("<Q", p, 32)
        if ptype == 4:  # PT_NOTE: whole
            new = filesz
        elif ptype == 1:  # PT_LOAD: a little
            new = min(filesz, keep)
        else:
            new = 0
        content = data[off:off + new]
        struct.pack_into("<Q", p, 8, len(out))
        struct.pack_into("<Q", p, 32, new)
        out += content
        out[64 + i * phentsize: 64 + (i + 1) * phentsize] = p
    return bytes(out)


if __name__ == "__main__":
    keep = int(sys.argv[3]) if len(sys.argv) > 3 else 256
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    with open(sys.argv[2], "wb") as f:
        f.write(shrink(data, keep))
