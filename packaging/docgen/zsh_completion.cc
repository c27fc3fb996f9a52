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

std::string reply_for(ValueCompletion how) {
  switch (how) {
    case ValueCompletion::kFile: return "_files";
    case ValueCompletion::kDirectory: return "_files -/";
    case ValueCompletion::kPid: return "_pids";
    case ValueCompletion::kNone: break;
  }
  return "";
}

std::string words_reply(const std::vector<std::string>& words) {
  std::string quoted;
  for (const auto& w : words) quoted += " " + shell_quote(w);
  return "compadd --" + quoted;
}

std::string value_case(const std::string& case_label, const DocOption& o, int indent = 4) {
  std::string reply = o.choices.empty() ? reply_for(value_completion(o)) : words_reply(o.choices);
  return reply.empty() ? "" : fmt::format("{:{}}{}) {} ;;\n", "", indent, shell_quote(case_label), reply);
}

}  // namespace

std::string zsh_completion(const DocTable& t) {
  std::string cli_values, target_options, group_commands, command_options, option_values, positionals;
  std::vector<std::pair<std::string, std::string>> groups;
  for (const auto& o : t.cli_options) {
    cli_values += value_case(o.name, o, 8);
    if (o.value_name == "PID") target_options += " " + o.name;
  }
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
    for (const auto& o : c.options) option_values += value_case(key + " " + o.name, o);
    for (size_t i = 0; i < c.positional_choices.size(); ++i)
      if (!c.positional_choices[i].empty())
        positionals += fmt::format("    {}) {} ;;\n", shell_quote(key + " " + std::to_string(i)),
                                   words_reply(c.positional_choices[i]));
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
  # Where the word being completed stands: after the CLI's options and the
  # core file (or --pid PID) come the group, the command and its arguments.
  for ((i = 2; i < CURRENT; i++)); do
    word=$words[i]
    if [[ -n $value_next ]]; then
      value_next=""
    elif [[ -z $group ]]; then
      if [[ $cli_valued == *" $word "* ]]; then
        value_next=1
        [[ $cli_target == *" $word "* ]] && target=$word
      elif [[ $word != -* ]]; then
        if [[ -z $target ]]; then target=$word; else group=$word; fi
      fi
    elif [[ -z $command ]]; then
      command=$word
      _heapscope_command_options "$group $command"
    elif [[ $valued == *" $word "* ]]; then
      value_next=1
    elif [[ $word != -* ]]; then
      (( positionals++ ))
    fi
  done
  if [[ -z $group ]]; then
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
                     fmt::arg("cli_valued", shell_quote(" " + joined(option_names(t.cli_options, true)) + " ")),
                     fmt::arg("cli_target", shell_quote(target_options + " ")), fmt::arg("cli_values", cli_values),
                     fmt::arg("cli_options", described_options(t.cli_options)), fmt::arg("groups", described(groups)),
                     fmt::arg("group_commands", group_commands), fmt::arg("option_values", option_values),
                     fmt::arg("positionals", positionals));
}

}  // namespace heapscope::docgen
