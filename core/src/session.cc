#include "heapscope/session.h"

#include <fmt/format.h>

#include <algorithm>
#include <string_view>

#include "analysis/check_ahead.h"
#include "analysis/scan_threads.h"
#include "heapscope/analysis/check.h"
#include "heapscope/error.h"
#include "heapscope/glibc/heap.h"
#include "heapscope/mems/heap.h"
#include "heapscope/mems/model.h"
#include "heapscope/model/allocator_model.h"
#include "targets/target_warnings.h"

namespace heapscope {

Session::Session(std::unique_ptr<Target> target, SessionOptions options)
    : target_(std::move(target)), options_(std::move(options)) {}

Session::~Session() = default;

const SymbolResolver& Session::symbols() {
  if (!symbols_) {
    SymbolOptions so;
    so.use_debuginfo = options_.use_debuginfo;
    so.sysroot = options_.sysroot;
    so.debug_dirs = options_.debug_dirs;
    so.exec_dirs = options_.exec_dirs;
    auto elf = make_elf_symbols(*target_, so);
    // Without debug info the roots must come from structure: a debugger's
    // own lookup (which reads debug files) would defeat --no-debuginfo.
    bool fallback = options_.symbol_fallback && options_.use_debuginfo;
    symbols_ = fallback ? with_fallback(std::move(elf), options_.symbol_fallback) : std::move(elf);
  }
  return *symbols_;
}

// On a truncated core the usual reason glibc's heap cannot be found is that
// libc's writable data (main_arena and mp_ live there) is in the missing
// part: its first unreadable address, so the error can say so.
static std::optional<Address> missing_libc_data(const Target& target) {
  if (targets::target_warnings(target).empty()) return std::nullopt;
  for (const Region& r : target.regions()) {
    std::string_view name = r.path;
    name.remove_prefix(std::min(name.size(), name.rfind('/') + 1));
    bool libc = name.starts_with("libc.so") || name.starts_with("libc-");
    if (libc && !r.readable && (r.perms & kPermWrite)) return r.range.begin;
  }
  return std::nullopt;
}

const glibc::Heap& Session::glibc_heap(const CancelToken& cancel) {
  // A target without a glibc heap is asked again by every command (and
  // twice by heap_model): the search runs once, its answer is kept.
  if (glibc_error_) throw UserError{*glibc_error_};
  if (!glibc_heap_) {
    try {
      glibc_heap_ = std::make_unique<glibc::Heap>(glibc::Heap::build(*target_, symbols(), cancel));
      // Every heap command ends with the check's count: it runs meanwhile.
      if (analysis::helper_thread_allowed(*target_))
        check_ahead_ = std::make_unique<CheckAhead>(*glibc_heap_, *target_, check_options(*glibc_heap_));
    } catch (const UserError& e) {
      if (auto at = missing_libc_data(*target_))
        glibc_error_ = fmt::format("glibc's main arena lies in the missing part (libc's data at {:#x})", at->value);
      else
        glibc_error_ = e.message;
      throw UserError{*glibc_error_};
    }
  }
  return *glibc_heap_;
}

// A model that failed leaves "note: <allocator>'s heap could not be read: <why>".
constexpr std::string_view kNotePrefix = "note: ";

std::vector<const HeapModel*> Session::heap_models(const CancelToken& cancel) {
  std::vector<const HeapModel*> out;
  try {
    out.push_back(&glibc_heap(cancel));
  } catch (const UserError&) {
    // No glibc heap: the other allocators may still be there.
  }
  if (!other_models_built_) {
    for (const AllocatorModel& m : allocator_models()) {
      if (m.name == "glibc") continue;
      try {
        if (auto model = m.try_build(*target_, symbols(), cancel)) other_models_.push_back(std::move(model));
      } catch (const UserError& e) {
        model_notes_.push_back(fmt::format("{}{}'s heap could not be read: {}", kNotePrefix, m.name, e.message));
      }
    }
    other_models_built_ = true;
  }
  for (const auto& m : other_models_) out.push_back(m.get());
  return out;
}

const HeapModel& Session::heap_model(const CancelToken& cancel) {
  try {
    return glibc_heap(cancel);
  } catch (const UserError&) {
    auto models = heap_models(cancel);
    // An allocator that is there but cannot be read says why, rather than
    // glibc (its note is the only kind of model note).
    if (models.empty() && !model_notes_.empty()) throw UserError{model_notes_.front().substr(kNotePrefix.size())};
    if (models.empty()) throw;
    return *models.front();
  }
}

const HeapModel& Session::heap_model(std::string_view allocator, const CancelToken& cancel) {
  if (allocator.empty()) return heap_model(cancel);
  std::string present;
  for (const HeapModel* m : heap_models(cancel)) {
    if (m->allocator == allocator) return *m;
    present += (present.empty() ? "" : ", ") + m->allocator;
  }
  throw UserError{fmt::format("no {} heap in this target (heaps found: {})", allocator,
                              present.empty() ? "none" : present)};
}

CheckOptions Session::check_options(const glibc::Heap& heap) {
  CheckOptions opt;
  // glibc 2.34+ keeps the key in a static: the model read it from libc's
  // symbols, rather than heap check inferring it from the entries.
  opt.tcache_key = heap.tcache_key;
  return opt;
}

const CheckReport& Session::heap_check(const CancelToken& cancel) {
  if (!heap_check_ && check_ahead_) {
    heap_check_ = check_ahead_->take();
    check_ahead_.reset();
  }
  if (!heap_check_) {
    const glibc::Heap& h = glibc_heap(cancel);
    heap_check_ = std::make_unique<CheckReport>(check_heap(h, *target_, check_options(h), cancel));
  }
  return *heap_check_;
}

const mems::SegmentHeap& Session::mems_heap() {
  // The mems model holds the same walk: reuse it when heap commands built it.
  if (other_models_built_)
    for (const auto& m : other_models_)
      if (auto* model = dynamic_cast<const mems::Model*>(m.get())) return model->walk;
  if (!mems_heap_) mems_heap_ = std::make_unique<mems::SegmentHeap>(mems::SegmentHeap::build(*target_, symbols()));
  return *mems_heap_;
}

std::vector<std::string> Session::take_new_notes() {
  std::vector<std::string> out;
  auto take = [&out](const std::vector<std::string>& all, size_t& shown) {
    for (size_t i = shown; i < all.size(); ++i) out.push_back(all[i]);
    shown = std::max(shown, all.size());
  };
  take(target_->notes(), target_notes_shown_);
  if (symbols_) take(symbols_->notes(), symbol_notes_shown_);
  take(model_notes_, model_notes_shown_);
  return out;
}

void Session::invalidate() {
  check_ahead_.reset();
  heap_check_.reset();
  glibc_heap_.reset();
  glibc_error_.reset();
  mems_heap_.reset();
  other_models_.clear();
  other_models_built_ = false;
}

}  // namespace heapscope
