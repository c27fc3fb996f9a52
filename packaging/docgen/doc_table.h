// What the man page and the shell completions say about heapscope: the
// command table of the core and the CLI's own options (its --help), read
// once into plain structs. The renderers (man_page, bash_completion,
// zsh_completion) only format this, so a command or an option added to the
// table appears in all three by itself.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace heapscope::docgen {

struct DocOption {
  std::string name;        // "--state"
  std::string value_name;  // "S"; empty for a flag
  std::string help;
  std::vector<std::string> choices;  // the values it accepts, when the table lists them
  bool file_value = false;           // its value is a path
};

struct DocCommand {
  std::string group, name, summary, usage, details;
  std::vector<DocOption> options;  // with --help and --json, which every command takes
  std::vector<std::vector<std::string>> positional_choices;  // per positional; empty: free text
};

struct DocGroup {
  std::string name, summary;
};

struct DocTable {
  std::string version;
  std::vector<std::string> synopsis;  // the CLI's usage lines, without "heapscope "
  std::vector<DocOption> cli_options;
  std::vector<DocGroup> groups;
  std::vector<DocCommand> commands;
};

// The CLI's options from its --help text: lines "  --name [VALUE]  help"
// (DIR values complete as directories), and --name VALUE words of the usage
// lines (--pid PID). `cli_help` is what `heapscope --help` prints.
DocTable read_doc_table(std::string_view cli_help);

}  // namespace heapscope::docgen
