# Run inside gdb (-x) on a program and its core: walks libheapscope-record's
# tables through the layout alone (heapscope_record_layout.h: offsets, no
# debug info of the recorder) and prints one line per live record:
#   ROOT <field>=<value> ...
#   RECORD <address> <thread> <seq> <function of each frame, innermost first>
import struct

import gdb

MAGIC = 0x64726F6365725348
SEGMENTS = 32
RECORD_SEGMENT0 = 65536
STACK_SEGMENT0 = 4096


def read(addr, size):
    return bytes(gdb.selected_inferior().read_memory(addr, size))


def segment_slot(directory, seg0, size, index):
    j = index // seg0 + 1
    k = j.bit_length() - 1
    if k >= SEGMENTS or directory[k] == 0:
        raise RuntimeError("index %d in an unmapped segment" % index)
    return directory[k] + (index - ((1 << k) - 1) * seg0) * size


def function_at(pc):
    try:
        block = gdb.block_for_pc(pc - 1)
        while block is not None and block.function is None:
            block = block.superblock
        if block is not None:
            return block.function.name
    except RuntimeError:
        pass
    return "?"


root_addr = int(gdb.parse_and_eval("(long)&heapscope_record_root"))
raw = read(root_addr, 720)
magic, version, root_size, initialized, busy, record_size, stack_size = struct.unpack_from("<QIIIIII", raw, 0)
pid, next_seq, live_records, records_used = struct.unpack_from("<QQQQ", raw, 32)
stacks_used = struct.unpack_from("<Q", raw, 88)[0]
record_segments = struct.unpack_from("<32Q", raw, 208)
stack_segments = struct.unpack_from("<32Q", raw, 464)
print("ROOT magic_ok=%d version=%d root_size=%d initialized=%d busy=%d record_size=%d "
      "live_records=%d records_used=%d stacks_used=%d pid=%d"
      % (magic == MAGIC, version, root_size, initialized, busy, record_size, live_records,
         records_used, stacks_used, pid))
names = {}
for i in range(records_used):
    address, seq, stack_id, thread = struct.unpack(
        "<QQII", read(segment_slot(record_segments, RECORD_SEGMENT0, 28, i), 24))
    if address == 0:
        continue
    address ^= 0xffffffffffffffff  # stored complemented (HSR_HIDE)
    funcs = []
    if stack_id:
        frames_addr, depth = struct.unpack(
            "<QI", read(segment_slot(stack_segments, STACK_SEGMENT0, 24, stack_id - 1), 12))
        for pc in struct.unpack("<%dQ" % depth, read(frames_addr, 8 * depth)):
            if pc not in names:
                names[pc] = function_at(pc)
            funcs.append(names[pc])
    print("RECORD 0x%x %d %d %d %s" % (address, thread, seq, stack_id, " ".join(funcs)))
