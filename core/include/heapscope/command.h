// The command table: every `heap ...` and `mems ...` command, its options and
// its runner. Front-ends (CLI, gdb, lldb) register one subcommand per entry
// and pass the raw arguments through; the core parses, runs and renders, so
// every front-end prints the same bytes.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "heapscope/cancel.h"
#include "heapscope/error.h"
#include "heapscope/output.h"
#include "heapscope/session.h"

namespace heapscope {

// What an argument's value is. The one table says it once; parsing,
// checking, help, completion and the debuggers' expression evaluation of
// addresses all follow from it.
enum class ValueKind {
  kText,     // anything (a type name)
  kNumber,   // 123, 0x7b, 4k, 1M
  kAddress,  // a number, N+M-K; in a debugger any expression it evaluates
  kChoice,   // one of `choices`
  kFile,     // a path the command writes or reads
};

struct OptionSpec {
  std::string name;        // "--arena"
  std::string value_name;  // "I"; empty for a flag
  std::string help;
  ValueKind kind = ValueKind::kText;  // of the value; ignored for a flag
  std::vector<std::string> choices;   // kChoice: the accepted values
  // The value may be left out (`--dump` or `--dump 64`): the next word is
  // taken only when it is a number; absent, the option's value is "".
  bool value_optional = false;
};

// A positional argument (`heap chunk ADDR`, `heap bins [KIND]`).
struct PositionalSpec {
  std::string name;  // "ADDR", as the usage line says it
  ValueKind kind = ValueKind::kText;
  std::vector<std::string> choices;
};

// Evaluates an address argument the way the debugger evaluates its own
// commands' arguments ("victim", "$rax", "ptr->next"); throws UserError (one
// line) when it cannot. Numbers never reach it: the core reads those itself,
// so every front-end answers `heap chunk 0x...` with the same bytes.
using AddressEvaluator = std::function<uint64_t(const std::string& expression)>;

class ParsedArgs {
 public:
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;  // option name -> value ("" for flags)

  bool has(std::string_view name) const { return values.count(std::string(name)) != 0; }
  bool json() const { return has("--json"); }
  std::optional<std::string> get(std::string_view name) const;
  // Unsigned integer option (decimal or 0x hex, k/M/G suffix for sizes);
  // throws UserError on a malformed value.
  std::optional<uint64_t> get_uint(std::string_view name) const;
};

// Parses a number the way users type it: 123, 0x7b, 4k, 1M. Throws UserError.
uint64_t parse_uint(std::string_view text, std::string_view what);
// Parses an address: 0x..., decimal, or a sum of them with + and -
// ("0x4052a0+8", "0x1000 - 16"). Throws UserError.
Address parse_address(std::string_view text);
// The same without throwing: nullopt when `text` is not numbers and +/-.
std::optional<Address> parse_address_sum(std::string_view text);

struct CommandContext {
  Session& session;
  const ParsedArgs& args;
  const CancelToken& cancel;
  OutputWriter& out;  // where the runner writes, as it renders
  bool found_problems = false;  // set by a check that found some (the CLI exits 1)
  // The front-end wants colour (a terminal, the debugger's colour switch
  // on); never set for --json. Only the renderers read it.
  bool color = false;
};

struct CommandSpec {
  std::string group;     // "heap" or "mems"
  std::string name;      // "stats"
  std::string summary;   // one line, no trailing period
  std::string usage;     // "heap chunks [--arena I] [--state S] ..."
  std::string details;   // further help paragraphs, may be empty
  std::vector<OptionSpec> options;  // --json is added to every command
  size_t min_positional = 0;
  size_t max_positional = 0;
  // Writes the rendered output (text or one JSON line, ending in '\n') to
  // ctx.out as it goes: a listing is streamed, never built whole.
  std::function<void(CommandContext&)> run;
  // What each positional is (empty: text). With one address positional,
  // extra words join it: `heap chunk ptr + 8`.
  std::vector<PositionalSpec> positionals = {};
  // Sets of options (or positional names) of which at most one may be given.
  std::vector<std::vector<std::string>> exclusive = {};
};

const std::vector<CommandSpec>& command_table();
const CommandSpec* find_command(std::string_view group, std::string_view name);
std::vector<std::string> command_groups();  // {"heap", "mems"}
// The command of `group` a typo most likely meant ("stat" -> "stats"), if any.
std::optional<std::string> nearest_command(std::string_view group, std::string_view typed);

// Help for a group ("heap": its summary and subcommands) or one command.
std::string group_help(std::string_view group);
std::string command_help(const CommandSpec& spec);

// Candidates for the word being typed after `GROUP NAME WORDS...`: option
// names when it starts with '-', the choices of the option it is the value
// of, or the choices of the positional it would be. Whole words, sorted.
std::vector<std::string> complete_arguments(const CommandSpec& spec, const std::vector<std::string>& words,
                                            std::string_view partial);

// Splits a raw argument string like a shell would (quotes, backslashes).
std::vector<std::string> split_arguments(std::string_view raw);

struct CommandOutput {
  int status = 0;    // 0 ok; 2 user error; 130 interrupted
  std::string out;   // what to print on success (empty when a sink took it)
  std::string error; // one line, no newline, when status != 0
  // A check (heap check, mems check) ran and found problems: the CLI exits
  // 1 so a script can gate on it; the debuggers print the same as ever.
  bool found_problems = false;
};

// argv[0] is the subcommand name ("stats"); the rest are its arguments.
// The output goes to `sink` in pieces as it is rendered; when the command
// fails or is interrupted midway, what was written stays written and the
// error comes back in the result. A debugger front-end passes `evaluate` for
// address arguments that are not numbers.
// `color`: the front-end's colour switch (text only; JSON is never coloured).
CommandOutput run_command(Session& session, std::string_view group,
                          const std::vector<std::string>& argv, const CancelToken& cancel,
                          OutputSink& sink, const AddressEvaluator& evaluate = {}, bool color = false);
CommandOutput run_command_line(Session& session, std::string_view group, std::string_view raw,
                               const CancelToken& cancel, OutputSink& sink,
                               const AddressEvaluator& evaluate = {}, bool color = false);
// The same, with the output kept whole in CommandOutput::out (tests, small
// answers): printed only on success, as before streaming.
CommandOutput run_command(Session& session, std::string_view group,
                          const std::vector<std::string>& argv, const CancelToken& cancel);
CommandOutput run_command_line(Session& session, std::string_view group, std::string_view raw,
                               const CancelToken& cancel);

}  // namespace heapscope
