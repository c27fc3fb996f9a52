// heapscope_docgen: writes the man page and the bash and zsh completions
// from the command table (linked in) and the CLI's --help (run here), at
// build time. Not installed.
//   heapscope_docgen CLI DATADIR LIBDIR MAN BASH ZSH
#include <cstdio>
#include <fstream>
#include <string>

#include "bash_completion.h"
#include "doc_table.h"
#include "man_page.h"
#include "zsh_completion.h"

namespace {

std::string command_output(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  return pclose(p) == 0 ? out : std::string();
}

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  return static_cast<bool>(f.flush());
}

}  // namespace

int main(int argc, char** argv) {
  using namespace heapscope::docgen;
  if (argc != 7) {
    std::fprintf(stderr, "usage: heapscope_docgen CLI DATADIR LIBDIR MAN BASH ZSH\n");
    return 2;
  }
  std::string help = command_output(std::string("'") + argv[1] + "' --help");
  if (help.empty()) {
    std::fprintf(stderr, "heapscope_docgen: '%s --help' printed nothing\n", argv[1]);
    return 1;
  }
  DocTable table = read_doc_table(help);
  if (!write_file(argv[4], man_page(table, argv[2], argv[3])) || !write_file(argv[5], bash_completion(table)) ||
      !write_file(argv[6], zsh_completion(table))) {
    std::fprintf(stderr, "heapscope_docgen: cannot write the output files\n");
    return 1;
  }
  return 0;
}
