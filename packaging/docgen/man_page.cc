#include "man_page.h"

#include <fmt/format.h>

#include <sstream>

namespace heapscope::docgen {

namespace {

// Text as roff reads it literally: backslashes escaped, '-' as a real minus
// (so options can be searched and copied), no line read as a request.
std::string roff(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') out += "\\e";
    else if (c == '-') out += "\\-";
    else out += c;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

std::string option_tag(const DocOption& o) {
  if (o.value_name.empty()) return fmt::format(".TP\n.B {}\n", roff(o.name));
  return fmt::format(".TP\n.BI \"{} \" {}\n", roff(o.name), roff(o.value_name));
}

std::string option_help(const DocOption& o) {
  std::string help = o.help.empty() ? std::string() : roff(o.help);
  if (!o.choices.empty()) {
    std::string values;
    for (const auto& c : o.choices) values += (values.empty() ? "" : ", ") + roff(c);
    help += (help.empty() ? "" : " ") + fmt::format("({})", values);
  }
  return help + "\n";
}

// A command's details: paragraphs apart at blank lines, each line kept.
std::string paragraphs(const std::string& text) {
  std::string out = ".PP\n";
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) out += ".PP\n";
    else out += roff(line) + "\n.br\n";
  }
  return out;
}

std::string command_section(const DocCommand& c) {
  std::string s = fmt::format(".SS \"{} {}\"\n{}.\n.PP\n\\fB{}\\fR\n", roff(c.group), roff(c.name),
                              roff(c.summary), roff(c.usage));
  if (!c.details.empty()) s += paragraphs(c.details);
  for (const auto& o : c.options)
    if (o.name != "--json" && o.name != "--help") s += option_tag(o) + option_help(o);
  return s;
}

}  // namespace

std::string man_page(const DocTable& t, const std::string& data_dir, const std::string& lib_dir) {
  std::string s;
  s += fmt::format(".\\\" Generated from heapscope's command table by heapscope_docgen; do not edit.\n");
  s += fmt::format(".TH HEAPSCOPE 1 \"\" \"heapscope {}\" \"User Commands\"\n", t.version);
  s += ".SH NAME\nheapscope \\- inspect the heap of a core file or a live process\n";
  s += ".SH SYNOPSIS\n.nf\n";
  for (const auto& u : t.synopsis) s += fmt::format("\\fBheapscope\\fR {}\n", roff(u));
  s += ".fi\n";
  s += ".SH DESCRIPTION\n"
       "heapscope shows what is on a C or C++ program's heap: how much, where, what is free, on which\n"
       "list, and what is wrong with it. It reads a core file or stops a live process; it never\n"
       "writes to the target and never runs code in it. The same commands run inside\n"
       ".BR gdb (1)\nand\n.BR lldb (1)\nand print the same bytes there.\n";
  for (const auto& g : t.groups)
    s += fmt::format(".TP\n.B {}\n{}.\n", roff(g.name), roff(g.summary));
  s += ".SH OPTIONS\n";
  for (const auto& o : t.cli_options) s += option_tag(o) + option_help(o);
  s += ".SH COMMANDS\nEvery command takes\n.B \\-\\-json\n(one line of JSON) and\n.BR \\-\\-help .\n";
  for (const auto& g : t.groups)  // the table interleaves groups; the page does not
    for (const auto& c : t.commands)
      if (c.group == g.name) s += command_section(c);
  s += ".SH EXIT STATUS\n0 when the command ran; 2 on an error (one line on standard error); 130 when\n"
       "interrupted. A command's description names any other status it uses.\n";
  s += fmt::format(
      ".SH FILES\n.TP\n.I PREFIX/{}/heapscope/heapscope\\-gdb.py\n"
      "the gdb front-end: add \\fBsource\\fR and this path to \\fI~/.gdbinit\\fR.\n"
      ".TP\n.I PREFIX/{}/heapscope/libheapscope\\-lldb.so\n"
      "the LLDB plugin: add \\fBplugin load\\fR and this path to \\fI~/.lldbinit\\fR.\n"
      ".PP\nPREFIX is /usr for the Debian package, /usr/local for \\fBcmake \\-\\-install\\fR by default.\n",
      roff(data_dir), roff(lib_dir));
  s += ".SH SEE ALSO\n.BR gdb (1),\n.BR lldb (1),\n.BR core (5),\n.BR mallinfo2 (3),\n.BR malloc_info (3)\n";
  return s;
}

}  // namespace heapscope::docgen
