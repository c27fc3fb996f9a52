#include "doc_table.h"

#include <regex>
#include <sstream>

#include "heapscope/command.h"
#include "heapscope/version.h"

namespace heapscope::docgen {

namespace {

// The option table gains types, choices and typed positionals (issue 21):
// read them when the table has them, so completion offers the values as soon
// as the table lists them, and compile against the table either way.
template <typename Option>
std::vector<std::string> choices_of(const Option& o) {
  if constexpr (requires { o.choices; })
    return o.choices;
  else
    return {};
}

template <typename Option>
bool file_value_of(const Option& o) {
  if constexpr (requires { o.kind; })
    return o.kind == decltype(o.kind)::kFile;
  else
    return o.value_name == "FILE";
}

template <typename Spec>
std::vector<std::vector<std::string>> positional_choices_of(const Spec& s) {
  std::vector<std::vector<std::string>> out;
  if constexpr (requires { s.positionals; })
    for (const auto& p : s.positionals) out.push_back(choices_of(p));
  return out;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

void read_cli_help(std::string_view help, DocTable& t) {
  static const std::regex option_line(R"(^  (--[a-z][a-z0-9-]*)(?: ([A-Z][A-Z0-9_-]*))?\s{2,}(.*)$)");
  static const std::regex usage_option(R"((--[a-z][a-z0-9-]*) ([A-Z][A-Z0-9_-]*))");
  static const std::regex usage_line(R"(^(?:Usage:)?\s*heapscope (.*)$)");
  std::istringstream in{std::string(help)};
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, option_line))
      t.cli_options.push_back({m[1], m[2], m[3], {}, m[2] == "FILE" || m[2] == "DIR"});
    else if (std::regex_match(line, m, usage_line))
      t.synopsis.push_back(m[1]);
  }
  // Options that only the usage lines name, such as --pid PID.
  for (const auto& u : t.synopsis)
    for (std::sregex_iterator it(u.begin(), u.end(), usage_option), end; it != end; ++it) {
      bool known = false;
      for (const auto& o : t.cli_options) known = known || o.name == (*it)[1];
      if (!known) t.cli_options.push_back({(*it)[1], (*it)[2], "", {}, false});
    }
  // Every CLI answers these two; its help need not list them.
  t.cli_options.push_back({"--help", "", "print the usage and the options, then exit", {}, false});
  t.cli_options.push_back({"--version", "", "print the version, then exit", {}, false});
}

}  // namespace

DocTable read_doc_table(std::string_view cli_help) {
  DocTable t;
  t.version = kVersion;
  read_cli_help(cli_help, t);
  for (const auto& g : command_groups()) {
    std::string summary = first_line(group_help(g));
    if (summary.ends_with(".")) summary.pop_back();
    t.groups.push_back({g, summary});
  }
  for (const CommandSpec& spec : command_table()) {
    DocCommand c{spec.group, spec.name, spec.summary, spec.usage, spec.details, {}, positional_choices_of(spec)};
    for (const OptionSpec& o : spec.options)
      c.options.push_back({o.name, o.value_name, o.help, choices_of(o), file_value_of(o)});
    c.options.push_back({"--json", "", "print one line of JSON instead of text", {}, false});
    c.options.push_back({"--help", "", "show this command's usage and options", {}, false});
    t.commands.push_back(std::move(c));
  }
  return t;
}

}  // namespace heapscope::docgen
