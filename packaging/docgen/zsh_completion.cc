#include "zsh_completion.h"

#include <fmt/format.h>

#include "shell_text.h"

namespace heapscope::docgen {

namespace {

// "name:description" items for _describe (a colon in the name is escaped).
std::string described(const std::vector<std::pair<std::string, std::string>>& items) {
  std::string out;
  for (const auto& [name, help] : items) {
    std::string n;
    for (char c : name) n += c == ':' ? std::string("\\:") : std::string(1, c);
    out += " " + shell_quote(n + (help.empty() ? "" : ":" + help));
  }
  return "(" + out + " )";
}

std::string described_options(const std::vector<DocOption>& options) {
  std::vector<std::pair<std::string, std::string>> items;
  for (const auto& o : options) items.emplace_back(o.name, o.help);
  return described(items);
}

std::string words_reply(const std::vector<std::string>& words) {
  std::string quoted;
  for (const auto& w : words) quoted += " " + shell_quote(w);
  return "compadd --" + quoted;
}

const ShellReplies kZsh{"_files", "_files -/", "_pids", words_reply};

}  // namespace

std::string zsh_completion(const DocTable& t) {
  ValueCases values = value_cases(t, kZsh);
  std::string group_commands, command_options;
  std::vector<std::pair<std::string, std::string>> groups;
  for (const auto& g : t.groups) {
    groups.emplace_back(g.name, g.summary);
    std::vector<std::pair<std::string, std::string>> commands;
    for (const auto& c : t.commands)
      if (c.group == g.name) commands.emplace_back(c.name, c.summary);
    group_commands += fmt::format("      {}) commands={} ;;\n", shell_quote(g.name), described(commands));
  }
  for (const auto& c : t.commands) {
    std::string key = c.group + " " + c.name;
    command_options += fmt::format("    {}) opts={}; valued={} ;;\n", shell_quote(key), described_options(c.options),
                                   shell_quote(" " + joined(option_names(c.options, true)) + " "));
  }
  return fmt::format(R"(#compdef heapscope
# zsh completion for heapscope, generated from its command table by
# heapscope_docgen: do not edit.

# Sets opts ("--option:help" items) and valued (" --options --taking --a
# --value ") for the command "$1" ("GROUP COMMAND").
_heapscope_command_options() {{
  case "$1" in
{command_options}  esac
}}

_heapscope() {{
  local cur=$words[CURRENT] prev=$words[CURRENT-1]
  local cli_valued={cli_valued} cli_target={cli_target}
  local i word target="" group="" command="" value_next="" positionals=0 valued=""
  local -a opts commands
{position_loop}  if [[ -z $group ]]; then
    if [[ -n $value_next ]]; then
      case "$prev" in
{cli_values}      esac
    elif [[ $cur == -* ]]; then
      opts={cli_options}
      _describe -t options 'heapscope option' opts
    elif [[ -z $target ]]; then
      _files
    else
      commands={groups}
      _describe -t groups 'command group' commands
    fi
  elif [[ -z $command ]]; then
    case "$group" in
{group_commands}    esac
    _describe -t commands "$group command" commands
  elif [[ -n $value_next ]]; then
    case "$group $command $prev" in
{option_values}    esac
  elif [[ $cur == -* ]]; then
    _describe -t options "$group $command option" opts
  else
    case "$group $command $positionals" in
{positionals}    esac
  fi
}}

_heapscope "$@"
)",
                     fmt::arg("command_options", command_options),
                     fmt::arg("position_loop", position_loop(2, "CURRENT", "$words[i]")),
                     fmt::arg("cli_valued", shell_quote(" " + joined(option_names(t.cli_options, true)) + " ")),
                     fmt::arg("cli_target", shell_quote(values.cli_targets + " ")),
                     fmt::arg("cli_values", values.cli_values),
                     fmt::arg("cli_options", described_options(t.cli_options)), fmt::arg("groups", described(groups)),
                     fmt::arg("group_commands", group_commands), fmt::arg("option_values", values.option_values),
                     fmt::arg("positionals", values.positionals));
}

}  // namespace heapscope::docgen
