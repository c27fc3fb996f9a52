#include "heapscope/command.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "commands/registry.h"
#include "heapscope/error.h"
#include "targets/target_warnings.h"

namespace heapscope {

std::optional<std::string> ParsedArgs::get(std::string_view name) const {
  auto it = values.find(std::string(name));
  if (it == values.end()) return std::nullopt;
  return it->second;
}

std::optional<uint64_t> ParsedArgs::get_uint(std::string_view name) const {
  auto v = get(name);
  if (!v) return std::nullopt;
  return parse_uint(*v, name);
}

uint64_t parse_uint(std::string_view text, std::string_view what) {
  std::string_view s = text;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  uint64_t mult = 1;
  if (base == 10 && !s.empty()) {
    switch (s.back()) {
      case 'k': case 'K': mult = 1ull << 10; break;
      case 'm': case 'M': mult = 1ull << 20; break;
      case 'g': case 'G': mult = 1ull << 30; break;
      default: break;
    }
    if (mult != 1) s.remove_suffix(1);
  }
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size())
    throw UserError{fmt::format("invalid number for {}: '{}'", what, text)};
  if (v > UINT64_MAX / mult) throw UserError{fmt::format("number too large for {}: '{}'", what, text)};
  return v * mult;
}

Address parse_address(std::string_view text) {
  std::string_view s = text;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size())
    throw UserError{fmt::format("invalid address: '{}'", text)};
  return Address(v);
}

const OptionSpec kArenaOption{"--arena", "I", "only arena I (0 is the main arena; ring order)"};

std::optional<int> arena_option(const CommandContext& ctx, const glibc::Heap& h) {
  auto v = ctx.args.get_uint("--arena");
  if (!v) return std::nullopt;
  if (*v >= h.arenas.size())
    throw UserError{fmt::format("no arena {} (the heap has {} arena{}: 0..{})", *v, h.arenas.size(),
                                h.arenas.size() == 1 ? "" : "s", h.arenas.size() - 1)};
  return static_cast<int>(*v);
}

const std::vector<CommandSpec>& command_table() {
  static const std::vector<CommandSpec> table = [] {
    std::vector<CommandSpec> t;
    add_heap_commands(t);
    add_frag_commands(t);
    add_leak_commands(t);
    add_check_commands(t);
    add_sites_commands(t);
    add_mems_commands(t);
    return t;
  }();
  return table;
}

const CommandSpec* find_command(std::string_view group, std::string_view name) {
  for (const auto& c : command_table())
    if (c.group == group && c.name == name) return &c;
  return nullptr;
}

std::vector<std::string> command_groups() { return {"heap", "mems"}; }

static const char* group_summary(std::string_view group) {
  return group == "heap" ? "Inspect the glibc malloc heap (arenas, chunks, bins, tcache)"
                         : "Inspect the MeMS segment and pool allocators";
}

std::string group_help(std::string_view group) {
  std::string s = fmt::format("{}.\n\nUsage: {} SUBCOMMAND [OPTIONS] [--json]\n\nSubcommands:\n",
                              group_summary(group), group);
  size_t width = 0;
  for (const auto& c : command_table())
    if (c.group == group) width = std::max(width, c.name.size());
  for (const auto& c : command_table())
    if (c.group == group) s += fmt::format("  {:<{}}  {}\n", c.name, width, c.summary);
  s += fmt::format("\nRun \"{} SUBCOMMAND --help\" for its options.\n", group);
  return s;
}

std::string command_help(const CommandSpec& spec) {
  std::string s = fmt::format("{}.\n\nUsage: {}\n", spec.summary, spec.usage);
  if (!spec.details.empty()) s += "\n" + spec.details + "\n";
  s += "\nOptions:\n";
  size_t width = 6;
  for (const auto& o : spec.options)
    width = std::max(width, o.name.size() + (o.value_name.empty() ? 0 : o.value_name.size() + 1));
  for (const auto& o : spec.options) {
    std::string left = o.value_name.empty() ? o.name : o.name + " " + o.value_name;
    s += fmt::format("  {:<{}}  {}\n", left, width, o.help);
  }
  s += fmt::format("  {:<{}}  {}\n", "--json", width, "print one line of JSON instead of text");
  return s;
}

std::vector<std::string> split_arguments(std::string_view raw) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (quote) {
      if (c == quote) quote = 0;
      else if (c == '\\' && quote == '"' && i + 1 < raw.size()) cur += raw[++i];
      else cur += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < raw.size()) {
      cur += raw[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) out.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (quote) throw UserError{"unterminated quote in arguments"};
  if (in_word) out.push_back(std::move(cur));
  return out;
}

static ParsedArgs parse_args(const CommandSpec& spec, const std::vector<std::string>& argv) {
  ParsedArgs args;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.size() > 1 && a[0] == '-' && !(a.size() > 1 && std::isdigit(static_cast<unsigned char>(a[1])))) {
      std::string name = a, value;
      bool inline_value = false;
      if (auto eq = a.find('='); eq != std::string::npos) {
        name = a.substr(0, eq);
        value = a.substr(eq + 1);
        inline_value = true;
      }
      if (name == "--json") {
        if (inline_value) throw UserError{"option --json takes no value"};
        args.values[name] = "";
        continue;
      }
      auto it = std::find_if(spec.options.begin(), spec.options.end(),
                             [&](const OptionSpec& o) { return o.name == name; });
      if (it == spec.options.end())
        throw UserError{fmt::format("unknown option '{}' for '{} {}' (try --help)", name,
                                    spec.group, spec.name)};
      if (it->value_name.empty()) {
        if (inline_value) throw UserError{fmt::format("option {} takes no value", name)};
        args.values[name] = "";
      } else {
        if (!inline_value) {
          if (i + 1 >= argv.size())
            throw UserError{fmt::format("option {} needs a value ({})", name, it->value_name)};
          value = argv[++i];
        }
        args.values[name] = value;
      }
    } else {
      args.positional.push_back(a);
    }
  }
  if (args.positional.size() < spec.min_positional || args.positional.size() > spec.max_positional)
    throw UserError{fmt::format("wrong number of arguments; usage: {}", spec.usage)};
  return args;
}

namespace {

// The front-end's sink, with the cancel token polled before each piece: a
// listing stops between pieces when the user interrupts.
class CancellableSink final : public OutputSink {
 public:
  CancellableSink(OutputSink& sink, const CancelToken& cancel) : sink_(sink), cancel_(cancel) {}
  void write(std::string_view text) override {
    check_cancel(cancel_);
    sink_.write(text);
  }

 private:
  OutputSink& sink_;
  const CancelToken& cancel_;
};

// The target's warnings (a truncated core) qualify every answer: text says
// them first, one "warning: " line each; JSON carries them as "warnings" in
// its top-level object. Both go out with the first piece of output, before
// anything the command streams.
class WarningSink final : public OutputSink {
 public:
  WarningSink(OutputSink& sink, std::vector<std::string> warnings, bool json)
      : sink_(sink), warnings_(std::move(warnings)), json_(json), pending_(!warnings_.empty()) {}
  void write(std::string_view text) override {
    if (pending_ && !text.empty()) {
      pending_ = false;
      if (json_ && text.starts_with("{")) {
        nlohmann::json list = warnings_;
        sink_.write("{\"warnings\":" + list.dump() + (text.starts_with("{}") ? "" : ","));
        text.remove_prefix(1);
      } else if (!json_) {
        sink_.write(lines());
      }
    }
    sink_.write(text);
  }
  // A text answer with no output still carries its warnings.
  void finish() {
    if (pending_ && !json_) sink_.write(lines());
    pending_ = false;
  }

 private:
  std::string lines() const {
    std::string out;
    for (const auto& w : warnings_) out += "warning: " + w + "\n";
    return out;
  }
  OutputSink& sink_;
  std::vector<std::string> warnings_;
  bool json_;
  bool pending_;
};

}  // namespace

CommandOutput run_command(Session& session, std::string_view group,
                          const std::vector<std::string>& argv, const CancelToken& cancel,
                          OutputSink& front_end_sink) {
  CommandOutput result;
  CancellableSink sink(front_end_sink, cancel);
  const std::vector<std::string> warnings = targets::target_warnings(session.target());
  try {
    if (argv.empty() || argv[0] == "help" || argv[0] == "--help") {
      sink.write(group_help(group));
      return result;
    }
    const CommandSpec* spec = find_command(group, argv[0]);
    if (!spec) {
      result.status = 2;
      result.error = fmt::format("unknown command '{} {}' (try '{} help')", group, argv[0], group);
      return result;
    }
    if (std::find(argv.begin() + 1, argv.end(), "--help") != argv.end()) {
      sink.write(command_help(*spec));
      return result;
    }
    const bool json = std::find(argv.begin() + 1, argv.end(), "--json") != argv.end();
    WarningSink warned(sink, warnings, json);
    OutputWriter out(warned);
    ParsedArgs args = parse_args(*spec, argv);
    CommandContext ctx{session, args, cancel, out};
    spec->run(ctx);
    out.flush();
    warned.finish();
  } catch (const UserError& e) {
    result.status = 2;
    result.error = e.message;
  } catch (const Cancelled&) {
    result.status = 130;
    result.error = "interrupted";
  } catch (const std::bad_alloc&) {
    result.status = 2;
    result.error = "out of memory while analysing the target";
  } catch (const std::exception& e) {
    result.status = 2;
    result.error = fmt::format("internal error: {}", e.what());
  }
  // An error is explained by them ("the core is truncated: ...; <error>").
  if (result.status != 0 && result.status != 130)
    for (auto w = warnings.rbegin(); w != warnings.rend(); ++w) result.error = *w + "; " + result.error;
  return result;
}

CommandOutput run_command_line(Session& session, std::string_view group, std::string_view raw,
                               const CancelToken& cancel, OutputSink& sink) {
  std::vector<std::string> argv;
  try {
    argv = split_arguments(raw);
  } catch (const UserError& e) {
    return {2, "", e.message};
  }
  return run_command(session, group, argv, cancel, sink);
}

CommandOutput run_command(Session& session, std::string_view group,
                          const std::vector<std::string>& argv, const CancelToken& cancel) {
  StringSink sink;
  CommandOutput result = run_command(session, group, argv, cancel, sink);
  if (result.status == 0) result.out = sink.take();
  return result;
}

CommandOutput run_command_line(Session& session, std::string_view group, std::string_view raw,
                               const CancelToken& cancel) {
  StringSink sink;
  CommandOutput result = run_command_line(session, group, raw, cancel, sink);
  if (result.status == 0) result.out = sink.take();
  return result;
}

}  // namespace heapscope
