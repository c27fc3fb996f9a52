// Renderers for the heap commands: each report in text (for people) and as
// one line of JSON (for programs). Runners pick one; nothing else prints.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "heapscope/analysis/check.h"
#include "heapscope/analysis/stats.h"
#include "heapscope/glibc/heap.h"
#include "heapscope/output.h"
#include "render/style.h"

namespace heapscope {

std::string stats_text(const HeapStats& s, const Style& style = Style());
std::string stats_json(const HeapStats& s);

std::string arenas_text(const glibc::Heap& h);
std::string arenas_json(const glibc::Heap& h);

// One row of `heap chunks --json` written at p, after a comma when
// `comma`; returns its end. At most kMaxChunkJsonRow bytes when the
// model's kind names are at most kMaxKindNameInRow (chunk_json_rows_fit).
inline constexpr size_t kMaxKindNameInRow = 64;
inline constexpr size_t kMaxChunkJsonRow = 256;  // the longest row: 190 bytes with a 64-byte name
bool chunk_json_rows_fit(const HeapModel& model);
char* put_chunk_json_row(char* p, const HeapModel& model, const Block& c, bool comma);

// A chunk listing written row by row as the runner finds the chunks: the
// head now, add() per chunk shown, then the text or the JSON ending.
class ChunkListWriter {
 public:
  // Rows name the model's kinds and its user pointers ("data").
  ChunkListWriter(OutputWriter& out, const HeapModel& model, bool json, Style style = Style());
  void add(const Block& c);
  // JSON rows made elsewhere by put_chunk_json_row, each after a comma.
  void add_json_rows(std::string_view rows, size_t count);
  // "N chunks", or "... N of M matching chunks shown (--limit)".
  void finish_text(size_t total_matching);
  // `findings`: how many problems heap check finds in the whole heap.
  void finish_json(size_t total_matching, size_t findings);

 private:
  OutputWriter& out_;
  const HeapModel& model_;
  bool json_;
  bool json_rows_fit_;  // every kind name fits put_chunk_json_row's room
  Style style_;
  size_t shown_ = 0;
};

// Where a free chunk sits: the list and its position, if on one.
struct ListPlace {
  const glibc::FreeList* list = nullptr;
  size_t position = 0;
};
// `findings`: heap check's findings at this chunk.
std::string chunk_text(const std::vector<const CheckFinding*>& findings, const glibc::Chunk& c, Address asked,
                       const std::vector<ListPlace>& places, uint64_t prev_size_field,
                       uint64_t size_field, std::optional<uint64_t> fd, std::optional<uint64_t> bk,
                       const Style& style = Style());
std::string chunk_json(const std::vector<const CheckFinding*>& findings, const glibc::Chunk& c, Address asked,
                       const std::vector<ListPlace>& places, uint64_t prev_size_field,
                       uint64_t size_field, std::optional<uint64_t> fd, std::optional<uint64_t> bk);

// At most `per_list` chunks of each list are printed (the count is always whole).
void bins_text(OutputWriter& out, const glibc::Heap& h, const std::vector<const glibc::FreeList*>& lists,
               size_t per_list, const Style& style = Style());
void bins_json(OutputWriter& out, const std::vector<const glibc::FreeList*>& lists, size_t per_list,
               size_t findings);

}  // namespace heapscope
