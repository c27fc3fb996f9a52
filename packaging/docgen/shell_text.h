// Text for the generated shell scripts: quoting, and the lists the bash and
// zsh completions both take from the DocTable.
#pragma once

#include <string>
#include <vector>

#include "doc_table.h"

namespace heapscope::docgen {

// 'text' as one single-quoted shell word.
inline std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

inline std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

inline std::vector<std::string> option_names(const std::vector<DocOption>& options, bool valued_only = false) {
  std::vector<std::string> out;
  for (const auto& o : options)
    if (!valued_only || !o.value_name.empty()) out.push_back(o.name);
  return out;
}

inline std::vector<std::string> command_names(const DocTable& t, const std::string& group) {
  std::vector<std::string> out;
  for (const auto& c : t.commands)
    if (c.group == group) out.push_back(c.name);
  return out;
}

// How a value is completed: a path, a directory, a process id, or nothing.
enum class ValueCompletion { kNone, kFile, kDirectory, kPid };

inline ValueCompletion value_completion(const DocOption& o) {
  if (o.value_name == "DIR") return ValueCompletion::kDirectory;
  if (o.value_name == "PID") return ValueCompletion::kPid;
  if (o.file_value) return ValueCompletion::kFile;
  return ValueCompletion::kNone;
}

}  // namespace heapscope::docgen
