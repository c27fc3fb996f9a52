#include "heapscope/heap_watch.h"

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include "heapscope/command.h"
#include "render/growth_plot.h"
#include "render/watch_render.h"

namespace heapscope {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr double kMaxInterval = 24 * 3600;
// How often a wait looks at the token and the target: Ctrl-C and an exit
// are noticed this soon.
constexpr auto kWaitSlice = std::chrono::milliseconds(50);

double seconds_between(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Only what keeps heap stats's figures the ones plotted: one allocator's
// model, every arena.
void check_stats_args(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--json") continue;
    if (args[i] == "--allocator" && i + 1 < args.size()) {
      ++i;
      continue;
    }
    throw UserError{fmt::format("--watch takes heap stats [--allocator NAME], not '{}'", args[i])};
  }
}

std::string allocator_arg(const std::vector<std::string>& args) {
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--allocator") return args[i + 1];
  return {};
}

enum class Taken { kSample, kGone, kCancelled };

// One sample: open (stop), heap stats, let go. The process stands still
// from open until the Session (and its Target) is destroyed.
Taken take_sample(const WatchSource& source, const WatchOptions& options, const SessionOptions& session_options,
                  const CancelToken& cancel, bool first, HeapSample& sample, std::vector<std::string>& notes) {
  const auto began = SteadyClock::now();
  sample.unix_time = unix_now();
  auto target = source.open();
  if (!target) {
    if (!first && source.gone()) return Taken::kGone;
    throw UserError{target.error().message};
  }
  {
    Session session(std::move(*target), session_options);
    std::vector<std::string> argv{"stats", "--json"};
    argv.insert(argv.end(), options.stats_args.begin(), options.stats_args.end());
    CommandOutput out = run_command(session, "heap", argv, cancel);
    if (out.status == 130 || cancel.cancelled()) return Taken::kCancelled;
    if (out.status != 0) {
      if (!first && source.gone()) return Taken::kGone;
      throw UserError{out.error};
    }
    while (!out.out.empty() && out.out.back() == '\n') out.out.pop_back();
    sample.stats_json = std::move(out.out);
    // heap stats built this model already: the session hands it back.
    const HeapModel& model = session.heap_model(allocator_arg(options.stats_args), cancel);
    set_sample_figures(sample, model, compute_model_stats(model));
    notes = session.take_new_notes();
  }
  sample.stop_ms = 1000 * seconds_between(began, SteadyClock::now());
  return Taken::kSample;
}

// Waits until `until`, looking at the token and the target now and then.
// False when either says to stop.
bool wait_until(SteadyClock::time_point until, const WatchSource& source, const CancelToken& cancel) {
  while (SteadyClock::now() < until) {
    if (cancel.cancelled() || source.gone()) return false;
    std::this_thread::sleep_for(std::min<SteadyClock::duration>(kWaitSlice, until - SteadyClock::now()));
  }
  return !cancel.cancelled();
}

}  // namespace

Result<double> parse_watch_interval(std::string_view text) {
  const std::string s(text);
  char* end = nullptr;
  errno = 0;
  double v = s.empty() ? 0 : std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || errno != 0 || !std::isfinite(v) || v <= 0 || v > kMaxInterval)
    return Error{fmt::format("--watch takes a number of seconds above 0 and at most {:.0f}, not '{}'",
                             kMaxInterval, s)};
  return v;
}

WatchOutcome watch_heap(const WatchSource& source, const WatchOptions& options, const SessionOptions& session_options,
                        const CancelToken& cancel, OutputSink& sink,
                        const std::function<void(const std::string&)>& on_note) {
  WatchOutcome outcome;
  std::set<std::string> notes_shown;
  try {
    check_stats_args(options.stats_args);
    // A page that cannot be written is said before the first stop, not after the last.
    std::ofstream page;
    if (!options.html_file.empty()) {
      page.open(options.html_file, std::ios::binary | std::ios::trunc);
      if (!page) throw UserError{fmt::format("cannot write {}", options.html_file)};
    }
    const auto interval = std::chrono::duration_cast<SteadyClock::duration>(
        std::chrono::duration<double>(options.interval_seconds));
    SteadyClock::time_point start;
    for (uint64_t i = 0; !options.count || i < *options.count; ++i) {
      if (i > 0 && !wait_until(start + interval * static_cast<int64_t>(i), source, cancel)) break;
      HeapSample sample;
      sample.index = i;
      const auto began = SteadyClock::now();
      if (i == 0) start = began;
      std::vector<std::string> notes;
      Taken taken = take_sample(source, options, session_options, cancel, i == 0, sample, notes);
      if (taken != Taken::kSample) break;
      sample.elapsed_seconds = seconds_between(start, began);
      for (const std::string& note : notes)
        if (notes_shown.insert(note).second && on_note) on_note(note);
      sink.write(heap_sample_json(sample));
      sample.stats_json.clear();
      outcome.samples.push_back(std::move(sample));
    }
    if (page.is_open()) {
      page << growth_plot_html(outcome.samples, options.title);
      if (!page.flush()) throw UserError{fmt::format("cannot write {}", options.html_file)};
    }
  } catch (const UserError& e) {
    outcome.status = 2;
    outcome.error = e.message;
    return outcome;
  } catch (const Cancelled&) {  // the sink's reader went away
  }
  const size_t n = outcome.samples.size();
  if (source.gone())
    outcome.end_note = fmt::format("note: the process exited; {} sample{} taken", n, n == 1 ? "" : "s");
  else if (cancel.cancelled())
    outcome.end_note = fmt::format("note: interrupted; {} sample{} taken", n, n == 1 ? "" : "s");
  return outcome;
}

}  // namespace heapscope
