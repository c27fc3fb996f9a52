// _heapscope_gdb: the core's sessions and command table for gdb's Python.
// The Python package (heapscope) chooses the target and prints; everything
// that parses, walks or renders is the core's. Commands run with the GIL
// released; every call back into Python (reads, symbol lookups, the Ctrl-C
// poll) takes it again, so this also holds if the core ever uses threads.
#include <Python.h>
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>

#include "heapscope/callback_target.h"
#include "heapscope/command.h"
#include "heapscope/core_file.h"
#include "heapscope/error.h"
#include "heapscope/glibc/heap.h"
#include "heapscope/live_process.h"
#include "heapscope/output.h"
#include "heapscope/session.h"
#include "heapscope/version.h"

namespace py = pybind11;
using namespace heapscope;

namespace {

// Raised to Python as heapscope's one-line user error.
struct OpenError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Set when a Python callback was interrupted (KeyboardInterrupt inside a
// read); the command's cancel poll then reports "interrupted".
struct InterruptFlag {
  std::atomic<bool> set{false};
};

// The bytes at the end of a piece that start a UTF-8 character the piece
// does not finish: they wait for the next piece, so decoding piece by piece
// gives what decoding the whole output would.
size_t unfinished_utf8(std::string_view text) {
  for (size_t k = 1; k <= 3 && k <= text.size(); ++k) {
    const auto c = static_cast<unsigned char>(text[text.size() - k]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    const size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return length > k ? k : 0;
  }
  return 0;
}

// A Python callable (gdb.write) fed the command's output piece by piece, so
// gdb's pager pages a listing as it comes. Quitting the pager or Ctrl-C
// raises KeyboardInterrupt in the callable: the command stops there.
class PythonSink final : public OutputSink {
 public:
  PythonSink(py::object write, std::shared_ptr<InterruptFlag> interrupted)
      : write_(std::move(write)), interrupted_(std::move(interrupted)) {}

  void write(std::string_view text) override {
    carry_.append(text);
    const size_t ready = carry_.size() - unfinished_utf8(carry_);
    send(std::string_view(carry_).substr(0, ready));
    carry_.erase(0, ready);
  }
  // What is left at the end: an unfinished character, decoded as it is.
  void finish() {
    send(carry_);
    carry_.clear();
  }

 private:
  void send(std::string_view piece) {
    if (piece.empty()) return;
    py::gil_scoped_acquire gil;
    try {
      py::object text = py::reinterpret_steal<py::object>(
          PyUnicode_DecodeUTF8(piece.data(), static_cast<Py_ssize_t>(piece.size()), "replace"));
      if (!text) throw py::error_already_set();
      write_(text);
    } catch (py::error_already_set& e) {
      if (e.matches(PyExc_KeyboardInterrupt)) interrupted_->set = true;
      throw Cancelled{};
    }
  }

  py::object write_;
  std::shared_ptr<InterruptFlag> interrupted_;
  std::string carry_;
};

std::vector<Thread> threads_from_py(const py::list& items) {
  std::vector<Thread> out;
  for (const auto& item : items) {
    py::dict d = item.cast<py::dict>();
    Thread t;
    t.tid = d["tid"].cast<int>();
    for (const auto& kv : d["registers"].cast<py::dict>()) {
      t.registers.push_back({kv.first.cast<std::string>(), kv.second.cast<uint64_t>()});
    }
    if (auto v = t.reg("rip")) t.pc = Address(*v);
    if (auto v = t.reg("rsp")) t.sp = Address(*v);
    if (auto v = t.reg("fs_base")) t.thread_pointer = Address(*v);
    if (auto v = t.reg("pc"); v && t.pc.is_null()) t.pc = Address(*v);
    if (auto v = t.reg("sp"); v && t.sp.is_null()) t.sp = Address(*v);
    if (auto v = t.reg("tpidr"); v && t.thread_pointer.is_null()) t.thread_pointer = Address(*v);
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<Region> regions_from_py(const py::list& items) {
  std::vector<Region> out;
  for (const auto& item : items) {
    auto tup = item.cast<py::tuple>();  // (begin, end, perms "rwxp", path, offset)
    Region r;
    r.range = {Address(tup[0].cast<uint64_t>()), Address(tup[1].cast<uint64_t>())};
    auto perms = tup[2].cast<std::string>();
    if (perms.find('r') != std::string::npos) r.perms |= kPermRead;
    if (perms.find('w') != std::string::npos) r.perms |= kPermWrite;
    if (perms.find('x') != std::string::npos) r.perms |= kPermExec;
    r.path = tup[3].cast<std::string>();
    r.file_offset = tup[4].cast<uint64_t>();
    if (!r.range.empty()) out.push_back(std::move(r));
  }
  return out;
}

// Modules from the regions: one per backing file, in address order.
std::vector<Module> modules_from_regions(const std::vector<Region>& regions,
                                         const py::dict& build_ids) {
  std::vector<Module> out;
  for (const auto& r : regions) {
    if (r.path.empty() || r.path[0] != '/') continue;
    auto it = std::find_if(out.begin(), out.end(), [&](const Module& m) { return m.path == r.path; });
    if (it == out.end()) {
      Module m;
      m.path = r.path;
      m.base = r.range.begin;
      if (build_ids.contains(r.path)) m.build_id = build_ids[py::str(r.path)].cast<std::string>();
      out.push_back(std::move(m));
      it = out.end() - 1;
    }
    it->base = std::min(it->base, r.range.begin);
    it->ranges.push_back(r.range);
  }
  return out;
}

// A symbol lookup in gdb, called by the core when the ELF files lack a name.
std::function<std::optional<Address>(std::string_view)> symbol_fallback(py::object fn) {
  if (fn.is_none()) return {};
  auto holder = std::make_shared<py::object>(std::move(fn));
  return [holder](std::string_view name) -> std::optional<Address> {
    py::gil_scoped_acquire gil;
    try {
      py::object r = (*holder)(py::str(name.data(), name.size()));
      if (r.is_none()) return std::nullopt;
      return Address(r.cast<uint64_t>());
    } catch (py::error_already_set& e) {
      e.restore();
      PyErr_Clear();
      return std::nullopt;
    } catch (const py::cast_error&) {
      return std::nullopt;
    }
  };
}

// The Python package's evaluate(expression) -> int, or a str that is the
// one-line error: gdb's own evaluation of an address argument.
AddressEvaluator address_evaluator(py::object fn) {
  if (fn.is_none()) return {};
  auto holder = std::make_shared<py::object>(std::move(fn));
  return [holder](const std::string& expression) -> uint64_t {
    py::gil_scoped_acquire gil;
    py::object r;
    try {
      r = (*holder)(py::str(expression));
    } catch (py::error_already_set& e) {
      if (e.matches(PyExc_KeyboardInterrupt)) throw Cancelled{};
      throw UserError{fmt::format("cannot evaluate '{}': {}", expression, e.what())};
    }
    if (py::isinstance<py::str>(r)) throw UserError{r.cast<std::string>()};
    try {
      return r.cast<uint64_t>();
    } catch (const py::cast_error&) {
      throw UserError{fmt::format("cannot evaluate '{}': not an address", expression)};
    }
  };
}

class PySession {
 public:
  PySession(std::unique_ptr<Target> target, SessionOptions options,
            std::shared_ptr<InterruptFlag> interrupted)
      : session_(std::move(target), std::move(options)), interrupted_(std::move(interrupted)) {}

  // Runs one command, handing its output to write(str) in pieces as it is
  // rendered; returns (status, error).
  py::tuple run(const std::string& group, const std::string& raw, py::object write, py::object evaluate,
                bool color) {
    AddressEvaluator evaluator = address_evaluator(std::move(evaluate));
    interrupted_->set = false;
    auto flag = interrupted_;
    CancelToken cancel([flag] {
      if (flag->set) return true;
      py::gil_scoped_acquire gil;
      // gdb turns Ctrl-C into a pending Python KeyboardInterrupt while Python runs.
      if (PyErr_CheckSignals() != 0) {
        PyErr_Clear();
        flag->set = true;
      }
      return flag->set.load();
    });
    PythonSink sink(std::move(write), flag);
    CommandOutput out;
    {
      py::gil_scoped_release release;
      out = run_command_line(session_, group, raw, cancel, sink, evaluator, color);
      if (out.status == 0) {
        try {
          sink.finish();
        } catch (const Cancelled&) {
          out = {130, "", "interrupted"};
        }
      }
    }
    if (out.status == 0 && flag->set) out = {130, "", "interrupted"};
    return py::make_tuple(out.status, out.error);
  }

  // The model's view of the chunk holding addr, for pretty-printers; None
  // when there is no heap or no chunk there.
  py::object chunk(uint64_t addr) {
    const glibc::Heap* heap = nullptr;
    try {
      py::gil_scoped_release release;
      heap = &session_.glibc_heap();
    } catch (...) {
      return py::none();
    }
    const glibc::Chunk* c = heap->chunk_containing(Address(addr));
    if (!c) return py::none();
    py::dict d;
    d["address"] = c->address.value;
    d["size"] = c->size;
    d["state"] = std::string(glibc::state_name(glibc::state_of(*c)));
    d["arena"] = c->owner;
    d["flags"] = c->bits;
    return d;
  }

  std::string description() const { return session_.target().description(); }
  std::vector<std::string> notes() const { return session_.target().notes(); }
  std::vector<std::string> take_new_notes() { return session_.take_new_notes(); }
  void invalidate() { session_.invalidate(); }

 private:
  Session session_;
  std::shared_ptr<InterruptFlag> interrupted_;
};

// Where the target's files are: gdb's `set sysroot` and
// `set debug-file-directory`, as the Python side read them.
struct FileOptions {
  std::string sysroot;
  std::vector<std::string> debug_dirs;
};

SessionOptions make_options(bool use_debuginfo, py::object fallback, const FileOptions& files) {
  SessionOptions o;
  o.use_debuginfo = use_debuginfo;
  o.sysroot = files.sysroot;
  o.debug_dirs = files.debug_dirs;
  o.symbol_fallback = symbol_fallback(std::move(fallback));
  return o;
}

std::unique_ptr<PySession> open_core(const std::string& path, bool use_debuginfo,
                                     py::object fallback, const std::string& sysroot,
                                     const std::vector<std::string>& debug_dirs) {
  Result<std::unique_ptr<Target>> t = Error{};
  {
    py::gil_scoped_release release;
    CoreFileOptions o;
    o.sysroot = sysroot;
    t = open_core_file(path, o);
  }
  if (!t) throw OpenError(t.error().message);
  return std::make_unique<PySession>(std::move(*t),
                                     make_options(use_debuginfo, fallback, {sysroot, debug_dirs}),
                                     std::make_shared<InterruptFlag>());
}

std::unique_ptr<PySession> open_live(int pid, const py::list& threads, bool use_debuginfo,
                                     py::object fallback, const std::string& sysroot,
                                     const std::vector<std::string>& debug_dirs) {
  // gdb traces the process, so only gdb can read its registers: they come in
  // `threads`; memory and maps come from /proc.
  auto ts = threads_from_py(threads);
  Result<std::unique_ptr<Target>> t = Error{};
  {
    py::gil_scoped_release release;
    t = open_live_process(pid, StopMode::kAlreadyStopped, std::move(ts));
  }
  if (!t) throw OpenError(t.error().message);
  return std::make_unique<PySession>(std::move(*t),
                                     make_options(use_debuginfo, fallback, {sysroot, debug_dirs}),
                                     std::make_shared<InterruptFlag>());
}

std::unique_ptr<PySession> open_callback(py::object read, const py::list& regions,
                                         bool regions_complete, const py::list& threads,
                                         const py::dict& build_ids, std::optional<int> pid,
                                         const std::string& description, bool use_debuginfo,
                                         py::object fallback, const std::string& sysroot,
                                         const std::vector<std::string>& debug_dirs) {
  auto flag = std::make_shared<InterruptFlag>();
  auto reader = std::make_shared<py::object>(std::move(read));
  // read(addr, n) -> bytes or None, in Python: gdb.Inferior.read_memory.
  CallbackTarget::ReadFn fn = [reader, flag](uint64_t addr, void* dst, size_t n) -> size_t {
    if (flag->set) return 0;
    py::gil_scoped_acquire gil;
    try {
      py::object r = (*reader)(addr, n);
      if (r.is_none()) return 0;
      char* data = nullptr;
      Py_ssize_t len = 0;
      if (PyBytes_AsStringAndSize(r.ptr(), &data, &len) != 0) {
        PyErr_Clear();
        return 0;
      }
      size_t got = std::min(static_cast<size_t>(len), n);
      std::memcpy(dst, data, got);
      return got;
    } catch (py::error_already_set& e) {
      if (e.matches(PyExc_KeyboardInterrupt)) flag->set = true;
      return 0;
    }
  };
  auto rs = regions_from_py(regions);
  auto mods = modules_from_regions(rs, build_ids);
  // Without the process's mappings (only gdb's section table) the heap lies
  // outside every known region: let the cache ask gdb for any address.
  if (!regions_complete) rs.clear();
  auto target = std::make_unique<CallbackTarget>(std::move(fn), std::move(rs),
                                                 threads_from_py(threads), std::move(mods),
                                                 description);
  target->set_pid(pid);
  return std::make_unique<PySession>(std::move(target),
                                     make_options(use_debuginfo, fallback, {sysroot, debug_dirs}), flag);
}

py::list table() {
  py::list out;
  for (const auto& c : command_table()) {
    py::dict d;
    d["group"] = c.group;
    d["name"] = c.name;
    d["summary"] = c.summary;
    d["usage"] = c.usage;
    d["details"] = c.details;
    d["help"] = command_help(c);
    d["min_positional"] = c.min_positional;
    d["max_positional"] = c.max_positional;
    py::list opts;
    for (const auto& o : c.options) {
      py::dict od;
      od["name"] = o.name;
      od["value_name"] = o.value_name;
      od["help"] = o.help;
      opts.append(od);
    }
    d["options"] = opts;
    out.append(d);
  }
  return out;
}

}  // namespace

PYBIND11_MODULE(_heapscope_gdb, m) {
  m.doc() = "heapscope core bindings for the GDB front-end";
  m.attr("version") = std::string(kVersion);
  py::register_exception<OpenError>(m, "OpenError");

  py::class_<PySession>(m, "Session")
      .def("run", &PySession::run, py::arg("group"), py::arg("raw_args"), py::arg("write"),
           py::arg("evaluate") = py::none(), py::arg("color") = false,
           "Runs one command, writing its output with write(str) in pieces; evaluate(expr) -> int\n"
           "or an error str resolves address arguments that are not numbers; color: ANSI colour in\n"
           "text output. Returns (status, error).")
      .def("chunk", &PySession::chunk, py::arg("address"))
      .def("description", &PySession::description)
      .def("notes", &PySession::notes)
      .def("take_new_notes", &PySession::take_new_notes,
           "The notes not returned before (the target's and the symbols'), one line each.")
      .def("invalidate", &PySession::invalidate);

  m.def("open_core", &open_core, py::arg("path"), py::arg("use_debuginfo") = true,
        py::arg("symbol_fallback") = py::none(), py::arg("sysroot") = std::string(),
        py::arg("debug_dirs") = std::vector<std::string>());
  m.def("open_live", &open_live, py::arg("pid"), py::arg("threads"),
        py::arg("use_debuginfo") = true, py::arg("symbol_fallback") = py::none(),
        py::arg("sysroot") = std::string(), py::arg("debug_dirs") = std::vector<std::string>());
  m.def("open_callback", &open_callback, py::arg("read"), py::arg("regions"),
        py::arg("regions_complete"), py::arg("threads"), py::arg("build_ids"), py::arg("pid"),
        py::arg("description"), py::arg("use_debuginfo") = true,
        py::arg("symbol_fallback") = py::none(), py::arg("sysroot") = std::string(),
        py::arg("debug_dirs") = std::vector<std::string>());
  m.def("command_table", &table);
  m.def("command_groups", &command_groups);
  m.def("group_help", [](const std::string& g) { return group_help(g); });
  // The help a command line asks for, answered without a target (so `heap
  // help` works before a program is loaded); None when it is not a help
  // request. Mirrors run_command's order: group help, unknown name, --help.
  m.def("help_for", [](const std::string& group, const std::string& raw) -> py::object {
    std::vector<std::string> argv;
    try {
      argv = split_arguments(raw);
    } catch (const UserError&) {
      return py::none();
    }
    if (argv.empty() || argv[0] == "help" || argv[0] == "--help") return py::str(group_help(group));
    const CommandSpec* spec = find_command(group, argv[0]);
    if (spec && std::find(argv.begin() + 1, argv.end(), "--help") != argv.end())
      return py::str(command_help(*spec));
    return py::none();
  });
  // Completion of `group name words... partial` from the table: whole words.
  m.def("complete", [](const std::string& group, const std::string& name, const std::vector<std::string>& words,
                       const std::string& partial) -> std::vector<std::string> {
    const CommandSpec* spec = find_command(group, name);
    return spec ? complete_arguments(*spec, words, partial) : std::vector<std::string>{};
  });
  m.def("command_help", [](const std::string& g, const std::string& n) -> py::object {
    const CommandSpec* c = find_command(g, n);
    if (!c) return py::none();
    return py::str(command_help(*c));
  });
}
