// Renderers for `heap frag` and `heap pages`: text for people, one line of
// JSON for programs.
#pragma once

#include <optional>
#include <string>

#include "heapscope/analysis/frag.h"
#include "heapscope/analysis/model_frag.h"
#include "heapscope/analysis/pages.h"
#include "heapscope/glibc/heap.h"
#include "render/style.h"

namespace heapscope {

// Text: free classes, addresses in colour when `style` is on.
std::string frag_text(const glibc::Heap& h, const FragReport& r, std::optional<int> only_arena,
                      const Style& style = Style());
// `findings`: how many problems heap check finds.
std::string frag_json(const glibc::Heap& h, const FragReport& r, std::optional<int> only_arena, size_t findings);

std::string pages_text(const glibc::Heap& h, const PagesReport& r);
std::string pages_json(const glibc::Heap& h, const PagesReport& r);
// heap pages on any other allocator's model.
std::string model_pages_text(const HeapModel& h, const ModelPagesReport& r);
std::string model_pages_json(const HeapModel& h, const ModelPagesReport& r);
// heap frag's generic part, on any other allocator's model.
std::string model_frag_text(const HeapModel& h, const ModelFragReport& r, const Style& style = Style());
std::string model_frag_json(const HeapModel& h, const ModelFragReport& r, size_t findings);

std::string mems_frag_text(const MemsFrag& f);
std::string mems_frag_json(const MemsFrag& f);

// The OS page frame behind a target address (os_page()), for `mems get` on a
// live local process: one text line ("" without one), or the JSON line with
// an "os_page" member added.
std::string os_page_text(const std::optional<OsPage>& page, Address a);
std::string with_os_page_json(std::string json_line, const std::optional<OsPage>& page);

// Text histogram: one line per bucket, bars scaled to `bar_width`.
std::string histogram_text(const SizeHistogram& hist, size_t bar_width, std::string_view indent);

}  // namespace heapscope
