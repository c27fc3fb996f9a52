// Session: one target plus what has been learned about it (symbols, the
// glibc heap model, the mems model), kept between commands so a front-end
// that runs several commands on one stop pays for the walk once.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "heapscope/cancel.h"
#include "heapscope/symbols.h"
#include "heapscope/target.h"

namespace heapscope {

namespace glibc {
class Heap;
}
namespace mems {
class SegmentHeap;
}
class HeapModel;
struct CheckReport;
struct CheckOptions;

struct SessionOptions {
  bool use_debuginfo = true;
  // Where the target's files and their debug files are (SymbolOptions).
  std::string sysroot;
  std::vector<std::string> debug_dirs;
  std::vector<std::string> exec_dirs;
  // A front-end's own symbol lookup (gdb, lldb), tried after the ELF files.
  std::function<std::optional<Address>(std::string_view)> symbol_fallback;
};

class CheckAhead;

class Session {
 public:
  Session(std::unique_ptr<Target> target, SessionOptions options = {});
  ~Session();

  const Target& target() const { return *target_; }
  const SymbolResolver& symbols();
  const SessionOptions& options() const { return options_; }

  // The glibc heap model, built on first use. Throws UserError when the
  // target has no glibc heap that can be found, Cancelled when `cancel` fires.
  const glibc::Heap& glibc_heap(const CancelToken& cancel = CancelToken());

  // Every allocator's model of this target that could be built, in
  // allocator_models() order (glibc first), each built once. Allocators
  // that are not in the target are left out; one that is there but cannot
  // be read leaves a note.
  std::vector<const HeapModel*> heap_models(const CancelToken& cancel = CancelToken());
  // The model the heap commands answer from: glibc's when the target has
  // one, else the first other allocator's. Throws glibc's UserError (which
  // names the allocator in use when it is another) when there is none.
  const HeapModel& heap_model(const CancelToken& cancel = CancelToken());
  // The model of the allocator named `allocator` ("glibc", "jemalloc",
  // "mems", ...); empty: heap_model(cancel). Throws UserError naming the
  // allocators present when there is no such model.
  const HeapModel& heap_model(std::string_view allocator, const CancelToken& cancel = CancelToken());

  // `heap check` over the whole glibc heap, run on first use: every heap
  // command reports how many problems it found, so its figures and heap
  // check's never disagree.
  const CheckReport& heap_check(const CancelToken& cancel = CancelToken());

  // The options heap check runs with on `heap` (the tcache key its model
  // read from libc's symbols, when they have it).
  CheckOptions check_options(const glibc::Heap& heap);

  // The mems allocators' model, built on first use. Throws UserError when the
  // target has no mems root.
  const mems::SegmentHeap& mems_heap();

  // Caveats the user has not been shown yet (the target's, then the symbol
  // resolver's), one "note: ..." line each; each is returned once. Front-ends
  // print them on their error stream after a command.
  std::vector<std::string> take_new_notes();

  // Forget cached models (a live target that has run since).
  void invalidate();

 private:
  std::unique_ptr<Target> target_;
  SessionOptions options_;
  std::unique_ptr<SymbolResolver> symbols_;
  std::unique_ptr<glibc::Heap> glibc_heap_;
  std::optional<std::string> glibc_error_;  // why the target has no glibc heap
  // Models of the allocators after glibc, built on first use of heap_models().
  bool other_models_built_ = false;
  std::vector<std::unique_ptr<HeapModel>> other_models_;
  std::vector<std::string> model_notes_;
  size_t model_notes_shown_ = 0;
  std::unique_ptr<CheckReport> heap_check_;
  std::unique_ptr<mems::SegmentHeap> mems_heap_;
  size_t target_notes_shown_ = 0;
  size_t symbol_notes_shown_ = 0;
  // heap check running beside the first command (analysis/check_ahead.h).
  // Last: destroyed first, while the model and target it reads still are.
  std::unique_ptr<CheckAhead> check_ahead_;
};

}  // namespace heapscope
