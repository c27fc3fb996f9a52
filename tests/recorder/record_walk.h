// record_walk.h — the recorder's tables read in-process, the way a reader of
// a core decodes them (heapscope_record_layout.h): the tests' reference.
#pragma once

#include <cstdint>
#include <vector>

#include "heapscope_record_layout.h"

extern "C" struct hsr_root heapscope_record_root;

namespace record_walk {

struct Record {
  uint64_t address;
  uint64_t seq;
  uint32_t thread;
  uint32_t stack_id;
  const uint64_t* frames;  // innermost first
  uint32_t depth;
};

inline const void* segment_slot(const uint64_t* directory, uint64_t seg0, size_t size,
                                uint64_t index) {
  uint64_t j = index / seg0 + 1;
  int k = 63 - __builtin_clzll(j);
  uint64_t slot = index - ((1ull << k) - 1) * seg0;
  if (k >= static_cast<int>(HSR_SEGMENTS) || directory[k] == 0) return nullptr;
  return reinterpret_cast<const char*>(directory[k]) + slot * size;
}

inline const hsr_record* record_at(uint64_t i) {
  return static_cast<const hsr_record*>(segment_slot(heapscope_record_root.record_segments,
                                                     HSR_RECORD_SEGMENT0, sizeof(hsr_record), i));
}

inline const hsr_stack* stack_at(uint32_t id) {
  return static_cast<const hsr_stack*>(segment_slot(heapscope_record_root.stack_segments,
                                                    HSR_STACK_SEGMENT0, sizeof(hsr_stack), id - 1));
}

// Every live record. The vector is reserved first so that the walk itself
// allocates nothing (each allocation would change the tables being read).
inline std::vector<Record> live() {
  const hsr_root& root = heapscope_record_root;
  std::vector<Record> out;
  out.reserve(root.live_records + 4096);
  for (uint64_t i = 0; i < root.records_used; i++) {
    const hsr_record* r = record_at(i);
    if (!r || r->address == 0) continue;
    Record rec{HSR_HIDE(r->address), r->seq, r->thread, r->stack_id, nullptr, 0};
    if (r->stack_id) {
      const hsr_stack* s = stack_at(r->stack_id);
      rec.frames = reinterpret_cast<const uint64_t*>(s->frames);
      rec.depth = s->depth;
    }
    out.push_back(rec);
  }
  return out;
}

// The record of one address, if any (no allocation).
inline bool find(const void* p, Record* out) {
  const hsr_root& root = heapscope_record_root;
  for (uint64_t i = 0; i < root.records_used; i++) {
    const hsr_record* r = record_at(i);
    if (!r || r->address != HSR_HIDE(reinterpret_cast<uint64_t>(p))) continue;
    *out = Record{HSR_HIDE(r->address), r->seq, r->thread, r->stack_id, nullptr, 0};
    if (r->stack_id) {
      const hsr_stack* s = stack_at(r->stack_id);
      out->frames = reinterpret_cast<const uint64_t*>(s->frames);
      out->depth = s->depth;
    }
    return true;
  }
  return false;
}

}  // namespace record_walk
