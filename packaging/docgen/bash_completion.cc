#include "bash_completion.h"

#include <fmt/format.h>

#include "shell_text.h"

namespace heapscope::docgen {

namespace {

std::string reply_for(ValueCompletion how) {
  switch (how) {
    case ValueCompletion::kFile: return "compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\"))";
    case ValueCompletion::kDirectory: return "compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- \"$cur\"))";
    case ValueCompletion::kPid: return "COMPREPLY=($(compgen -W \"$(ls /proc | grep -E '^[0-9]+$')\" -- \"$cur\"))";
    case ValueCompletion::kNone: break;
  }
  return "";
}

std::string words_reply(const std::vector<std::string>& words) {
  return fmt::format("COMPREPLY=($(compgen -W {} -- \"$cur\"))", shell_quote(joined(words)));
}

// The value of `option`, after `case_label` matched: its choices or a path.
std::string value_case(const std::string& case_label, const DocOption& o, int indent = 4) {
  std::string reply = o.choices.empty() ? reply_for(value_completion(o)) : words_reply(o.choices);
  return reply.empty() ? "" : fmt::format("{:{}}{}) {} ;;\n", "", indent, shell_quote(case_label), reply);
}

}  // namespace

std::string bash_completion(const DocTable& t) {
  std::string cli_values, target_options, groups, group_commands, command_options, option_values, positionals;
  for (const auto& o : t.cli_options) {
    cli_values += value_case(o.name, o, 8);
    if (o.value_name == "PID") target_options += " " + o.name;
  }
  for (const auto& g : t.groups) {
    groups += " " + g.name;
    group_commands += fmt::format("      {}) {} ;;\n", shell_quote(g.name), words_reply(command_names(t, g.name)));
  }
  for (const auto& c : t.commands) {
    std::string key = c.group + " " + c.name;
    command_options += fmt::format("    {}) opts={}; valued={} ;;\n", shell_quote(key),
                                   shell_quote(joined(option_names(c.options))),
                                   shell_quote(" " + joined(option_names(c.options, true)) + " "));
    for (const auto& o : c.options) option_values += value_case(key + " " + o.name, o);
    for (size_t i = 0; i < c.positional_choices.size(); ++i)
      if (!c.positional_choices[i].empty())
        positionals += fmt::format("    {}) {} ;;\n", shell_quote(key + " " + std::to_string(i)),
                                   words_reply(c.positional_choices[i]));
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
  # Where the word being completed stands: after the CLI's options and the
  # core file (or --pid PID) come the group, the command and its arguments.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${{COMP_WORDS[i]}}
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
      ((positionals++))
    fi
  done
  COMPREPLY=()
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
                     fmt::arg("cli_valued", shell_quote(" " + joined(option_names(t.cli_options, true)) + " ")),
                     fmt::arg("cli_target", shell_quote(target_options + " ")), fmt::arg("cli_values", cli_values),
                     fmt::arg("cli_reply", words_reply(option_names(t.cli_options))),
                     fmt::arg("group_reply", words_reply({groups.substr(groups.empty() ? 0 : 1)})),
                     fmt::arg("group_commands", group_commands), fmt::arg("option_values", option_values),
                     fmt::arg("positionals", positionals));
}

}  // namespace heapscope::docgen
