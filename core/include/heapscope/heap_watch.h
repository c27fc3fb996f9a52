// `heapscope --pid PID --watch SECONDS heap stats`: a live heap sampled over
// time. Each sample opens the target afresh (for a live process: a stop),
// builds a fresh Session on it (no cache outlives a sample), takes heap
// stats and lets the target go before waiting for the next one. The loop
// knows no kind of target: the front-end says how to open one and how to
// tell that it has gone.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "heapscope/analysis/heap_sample.h"
#include "heapscope/cancel.h"
#include "heapscope/error.h"
#include "heapscope/output.h"
#include "heapscope/session.h"
#include "heapscope/target.h"

namespace heapscope {

struct WatchSource {
  // Opens (and stops) the target; it runs again when the Target is destroyed.
  std::function<Result<std::unique_ptr<Target>>()> open;
  // It has exited: the watch ends there, without an error.
  std::function<bool()> gone;
};

struct WatchOptions {
  double interval_seconds = 1;
  std::optional<uint64_t> count;        // none: until the target is gone or the token fires
  std::vector<std::string> stats_args;  // heap stats's own arguments after "stats" (--allocator NAME)
  std::string html_file;                // not empty: the growth plot is written there at the end
  std::string title;                    // what is watched, for the plot ("pid 4242")
};

struct WatchOutcome {
  int status = 0;          // 0, or 2 with `error`
  std::string error;       // one line
  std::string end_note;    // why a watch without a count ended ("note: the process exited ...")
  std::vector<HeapSample> samples;  // every sample taken, their stats_json dropped
};

// SECONDS as the user types it ("1", "0.25"): positive and at most a day.
Result<double> parse_watch_interval(std::string_view text);

// Takes samples until `options.count` are taken, the target is gone or
// `cancel` fires (both end it with status 0); each is written to `sink` as
// one JSON line as soon as it is taken, and the session's notes go to
// `on_note` once each. The first sample failing is an error; a later one
// failing because the target exited is the end. Then the plot, if asked for.
WatchOutcome watch_heap(const WatchSource& source, const WatchOptions& options, const SessionOptions& session_options,
                        const CancelToken& cancel, OutputSink& sink,
                        const std::function<void(const std::string&)>& on_note);

}  // namespace heapscope
