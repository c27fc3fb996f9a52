#include "bash_completion.h"

#include <fmt/format.h>

#include "shell_text.h"

namespace heapscope::docgen {

namespace {

std::string words_reply(const std::vector<std::string>& words) {
  return fmt::format("COMPREPLY=($(compgen -W {} -- \"$cur\"))", shell_quote(joined(words)));
}

const ShellReplies kBash{
    "compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\"))",
    "compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- \"$cur\"))",
    "COMPREPLY=($(compgen -W \"$(ls /proc | grep -E '^[0-9]+$')\" -- \"$cur\"))", words_reply};

}  // namespace

std::string bash_completion(const DocTable& t) {
  ValueCases values = value_cases(t, kBash);
  std::string groups, group_commands, command_options;
  for (const auto& g : t.groups) {
    groups += " " + g.name;
    group_commands += fmt::format("      {}) {} ;;\n", shell_quote(g.name), words_reply(command_names(t, g.name)));
  }
  for (const auto& c : t.commands) {
    std::string key = c.group + " " + c.name;
    command_options += fmt::format("    {}) opts={}; valued={} ;;\n", shell_quote(key),
                                   shell_quote(joined(option_names(c.options))),
                                   shell_quote(" " + joined(option_names(c.options, true)) + " "));
  }
  return fmt::format(R"(# bash completion for heapscope, generated from its command table by
# heapscope_docgen: do not edit.

# Sets opts (every option) and valued (" --options --taking --a --value ")
# for the command "$1" ("GROUP COMMAND").
_heapscope_command_options() {{
  case "$1" in
{command_options}  esac
}}

_heapscope() {{
  local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD-1]}}
  local cli_valued={cli_valued} cli_target={cli_target}
  local i word target="" group="" command="" value_next="" positionals=0 opts="" valued=""
{position_loop}  COMPREPLY=()
  if [[ -z $group ]]; then
    if [[ -n $value_next ]]; then
      case "$prev" in
{cli_values}      esac
    elif [[ $cur == -* ]]; then
      {cli_reply}
    elif [[ -z $target ]]; then
      compopt -o filenames 2>/dev/null
      COMPREPLY=($(compgen -f -- "$cur"))
    else
      {group_reply}
    fi
  elif [[ -z $command ]]; then
    case "$group" in
{group_commands}    esac
  elif [[ -n $value_next ]]; then
    case "$group $command $prev" in
{option_values}    esac
  elif [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    case "$group $command $positionals" in
{positionals}    esac
  fi
}}
complete -F _heapscope heapscope
)",
                     fmt::arg("command_options", command_options),
                     fmt::arg("position_loop", position_loop(1, "COMP_CWORD", "${COMP_WORDS[i]}")),
                     fmt::arg("cli_valued", shell_quote(" " + joined(option_names(t.cli_options, true)) + " ")),
                     fmt::arg("cli_target", shell_quote(values.cli_targets + " ")),
                     fmt::arg("cli_values", values.cli_values),
                     fmt::arg("cli_reply", words_reply(option_names(t.cli_options))),
                     fmt::arg("group_reply", words_reply({groups.substr(groups.empty() ? 0 : 1)})),
                     fmt::arg("group_commands", group_commands), fmt::arg("option_values", values.option_values),
                     fmt::arg("positionals", values.positionals));
}

}  // namespace heapscope::docgen
