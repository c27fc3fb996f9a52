// HelperProcess: runs target_helper for the target and symbol tests, either
// to a real core dump (the kernel writes it; core_pattern must be a plain
// file name) or as a live child that waits on a pipe.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace heapscope::testing {

inline std::string make_temp_dir() {
  char tmpl[] = "/tmp/heapscope-test-XXXXXX";
  const char* d = mkdtemp(tmpl);
  return d ? d : "";
}

inline void remove_tree(const std::string& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

using Info = std::map<std::string, std::string>;

inline Info read_info(const std::string& dir) {
  Info info;
  std::ifstream in(dir + "/info.txt");
  std::string k, v;
  while (in >> k >> v) info[k] = v;
  return info;
}

inline uint64_t info_u64(const Info& info, const std::string& key) {
  auto it = info.find(key);
  return it == info.end() ? 0 : std::strtoull(it->second.c_str(), nullptr, 0);
}

struct MapsLine {
  uint64_t begin = 0, end = 0, offset = 0;
  std::string perms, path;
};

inline std::vector<MapsLine> read_maps(const std::string& file) {
  std::vector<MapsLine> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string range, perms, off, dev, inode, path;
    ls >> range >> perms >> off >> dev >> inode;
    std::getline(ls >> std::ws, path);
    MapsLine m;
    auto dash = range.find('-');
    m.begin = std::strtoull(range.substr(0, dash).c_str(), nullptr, 16);
    m.end = std::strtoull(range.substr(dash + 1).c_str(), nullptr, 16);
    m.offset = std::strtoull(off.c_str(), nullptr, 16);
    m.perms = perms;
    m.path = path;
    out.push_back(m);
  }
  return out;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A core dump of target_helper with `threads` threads, in its own directory.
struct HelperCore {
  std::string dir;
  std::string core;         // empty when skip_reason is set
  std::string skip_reason;  // why no core could be made on this machine
  Info info;

  ~HelperCore() { remove_tree(dir); }
};

inline std::unique_ptr<HelperCore> make_helper_core(int threads) {
  auto hc = std::make_unique<HelperCore>();
  std::string pattern = read_text("/proc/sys/kernel/core_pattern");
  if (!pattern.empty() && pattern[0] == '|') {
    hc->skip_reason = "core_pattern pipes cores to a program (" + pattern.substr(0, pattern.size() - 1) +
                      "); cannot make test cores";
    return hc;
  }
  if (pattern.find('/') != std::string::npos) {
    hc->skip_reason = "core_pattern is an absolute path; tests need cores in the process's cwd";
    return hc;
  }
  hc->dir = make_temp_dir();
  pid_t pid = fork();
  if (pid == 0) {
    struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_CORE, &rl);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 1);
    std::string t = std::to_string(threads);
    execl(HEAPSCOPE_TARGET_HELPER, HEAPSCOPE_TARGET_HELPER, hc->dir.c_str(), "crash", t.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFSIGNALED(status) || !WCOREDUMP(status)) {
    hc->skip_reason = "the kernel wrote no core (RLIMIT_CORE hard limit, or cores disabled)";
    return hc;
  }
  if (DIR* d = opendir(hc->dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.rfind("core", 0) == 0) hc->core = hc->dir + "/" + n;
    }
    closedir(d);
  }
  if (hc->core.empty()) hc->skip_reason = "core dumped but no core file found in " + hc->dir;
  hc->info = read_info(hc->dir);
  return hc;
}

// A live target_helper that waits for lines on its stdin.
struct HelperChild {
  pid_t pid = -1;
  int to_child = -1;
  FILE* from_child = nullptr;
  std::string dir;
  Info info;

  // Sends a line and returns the answer ("" on failure).
  std::string ping(const std::string& what) {
    std::string line = what + "\n";
    if (write(to_child, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return "";
    char buf[256];
    if (!std::fgets(buf, sizeof buf, from_child)) return "";
    std::string s = buf;
    if (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }

  ~HelperChild() {
    if (to_child >= 0) close(to_child);
    if (from_child) std::fclose(from_child);
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    remove_tree(dir);
  }
};

inline std::unique_ptr<HelperChild> start_helper_child(int threads, bool big = false) {
  auto c = std::make_unique<HelperChild>();
  c->dir = make_temp_dir();
  int in[2], out[2];
  if (pipe(in) != 0 || pipe(out) != 0) return c;
  c->pid = fork();
  if (c->pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[1]);
    close(out[0]);
    std::string t = std::to_string(threads);
    execl(HEAPSCOPE_TARGET_HELPER, HEAPSCOPE_TARGET_HELPER, c->dir.c_str(), "wait", t.c_str(),
          big ? "big" : static_cast<char*>(nullptr), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  c->to_child = in[1];
  c->from_child = fdopen(out[0], "r");
  char buf[64];
  if (!std::fgets(buf, sizeof buf, c->from_child) || std::string(buf) != "ready\n") {
    c->pid = c->pid > 0 ? c->pid : -1;
    return c;
  }
  c->info = read_info(c->dir);
  return c;
}

}  // namespace heapscope::testing
