// `heapscope diff A B`: the CLI's form of heap diff, where each side is a
// core file, a snapshot file (heap snapshot save --file) or `--pid PID`.
// Each side becomes a HeapSnapshot the same way `heap snapshot save` makes
// one, then heap diff's renderer prints the change.
#pragma once

#include <string>
#include <vector>

#include "heapscope/cancel.h"
#include "heapscope/command.h"
#include "heapscope/session.h"

namespace heapscope {

// args: the two sides, then --json / --limit N. A user error comes back
// as status 2 and one line.
CommandOutput run_diff_command(const std::vector<std::string>& args, const SessionOptions& options,
                               const CancelToken& cancel, OutputSink& sink);

}  // namespace heapscope
