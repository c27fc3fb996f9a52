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

// How one shell offers words: its reply for a path, a directory, a process
// id, and for a list of words.
struct ShellReplies {
  std::string file, directory, pid;
  std::string (*words)(const std::vector<std::string>& words);
};

// One item of a `case` on the option before the word being completed: the
// option's choices, or a path, a directory or a pid by its value's kind;
// empty when nothing can be offered.
inline std::string value_case(const ShellReplies& shell, const std::string& case_label, const DocOption& o,
                              int indent = 4) {
  std::string reply = !o.choices.empty()        ? shell.words(o.choices)
                      : o.value_name == "DIR"   ? shell.directory
                      : o.value_name == "PID"   ? shell.pid
                      : o.file_value            ? shell.file
                                                : "";
  if (reply.empty()) return "";
  return std::string(indent, ' ') + shell_quote(case_label) + ") " + reply + " ;;\n";
}

// The `case` items both completions take values from: the CLI options'
// values (on "$prev"), each command's option values ("GROUP COMMAND
// --option") and positional choices ("GROUP COMMAND N"); and the CLI options
// whose value names the target (--pid).
struct ValueCases {
  std::string cli_values, cli_targets, option_values, positionals;
};

inline ValueCases value_cases(const DocTable& t, const ShellReplies& shell) {
  ValueCases v;
  for (const auto& o : t.cli_options) {
    v.cli_values += value_case(shell, o.name, o, 8);
    if (o.value_name == "PID") v.cli_targets += " " + o.name;
  }
  for (const auto& c : t.commands) {
    std::string key = c.group + " " + c.name;
    for (const auto& o : c.options) v.option_values += value_case(shell, key + " " + o.name, o);
    for (size_t i = 0; i < c.positional_choices.size(); ++i)
      if (!c.positional_choices[i].empty())
        v.positionals += "    " + shell_quote(key + " " + std::to_string(i)) + ") " +
                         shell.words(c.positional_choices[i]) + " ;;\n";
  }
  return v;
}

// The loop both completions start with: it walks the words before the one
// being completed (indexes first..limit-1, `word_at_i` reads one) and sets
// target, group, command, positionals, value_next (the word is an option's
// value) and, through _heapscope_command_options, opts and valued.
inline std::string position_loop(int first, const std::string& limit, const std::string& word_at_i) {
  return "  # Where the word being completed stands: after the CLI's options and the\n"
         "  # core file (or --pid PID) come the group, the command and its arguments.\n"
         "  for ((i = " + std::to_string(first) + "; i < " + limit + "; i++)); do\n"
         "    word=" + word_at_i + "\n"
         R"(    if [[ -n $value_next ]]; then
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
      positionals=$((positionals + 1))
    fi
  done
)";
}

}  // namespace heapscope::docgen
