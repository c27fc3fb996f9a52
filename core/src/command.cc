#include "heapscope/command.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

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

// One number of an address sum: 0x... or decimal.
static std::optional<uint64_t> address_term(std::string_view s) {
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<Address> parse_address_sum(std::string_view text) {
  uint64_t total = 0;
  bool negative = false, first = true;
  size_t i = 0;
  while (true) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    size_t end = i;
    while (end < text.size() && text[end] != '+' && text[end] != '-' && text[end] != ' ' && text[end] != '\t') ++end;
    auto term = address_term(text.substr(i, end - i));
    if (!term) return std::nullopt;
    // Checked: an address out of 64 bits is a typo, not a wrap-around.
    if (first) total = *term;
    else if (negative ? __builtin_sub_overflow(total, *term, &total) : __builtin_add_overflow(total, *term, &total))
      return std::nullopt;
    first = false;
    i = end;
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i == text.size()) return Address(total);
    if (text[i] != '+' && text[i] != '-') return std::nullopt;
    negative = text[i++] == '-';
  }
}

Address parse_address(std::string_view text) {
  if (auto a = parse_address_sum(text)) return *a;
  throw UserError{fmt::format("invalid address: '{}'", text)};
}

const OptionSpec kArenaOption{"--arena", "I", "only arena I (0 is the main arena; ring order)", ValueKind::kNumber};

void check_arena_index(const glibc::Heap& h, uint64_t index, std::string_view why) {
  if (index >= h.arenas.size())
    throw UserError{fmt::format("no arena {} (the heap has {} arena{}: 0..{}){}", index, h.arenas.size(),
                                h.arenas.size() == 1 ? "" : "s", h.arenas.size() - 1, why)};
}

std::optional<int> arena_option(const CommandContext& ctx, const glibc::Heap& h) {
  auto v = ctx.args.get_uint("--arena");
  const bool from_default = !v && default_arena();
  if (from_default) v = default_arena();
  if (!v) return std::nullopt;
  check_arena_index(h, *v, from_default ? "; it is the default arena: 'heap arena none' clears it" : "");
  return static_cast<int>(*v);
}

const std::vector<CommandSpec>& command_table() {
  static const std::vector<CommandSpec> table = [] {
    std::vector<CommandSpec> t;
    add_heap_commands(t);
    add_arena_commands(t);
    add_allocator_commands(t);
    add_mp_commands(t);
    add_frag_commands(t);
    add_leak_commands(t);
    add_check_commands(t);
    add_try_free_commands(t);
    add_sites_commands(t);
    add_snapshot_commands(t);
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

// Edits (insert, delete, replace, swap two neighbours) from a to b.
static size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

std::optional<std::string> nearest_command(std::string_view group, std::string_view typed) {
  if (typed.size() > 64) return std::nullopt;  // a pasted blob is no typo
  std::optional<std::string> best;
  size_t best_distance = 3;  // at most two edits: "stat", "chunsk", "bisn"
  for (const auto& c : command_table()) {
    if (c.group != group) continue;
    size_t d = edit_distance(typed, c.name);
    if (d < best_distance || (d == best_distance && best && c.name < *best)) {
      best_distance = d;
      best = c.name;
    }
  }
  if (best && best_distance * 2 > best->size()) return std::nullopt;  // "ab" is not a typo of "map"
  return best;
}

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
    width = std::max(width, o.name.size() + (o.value_name.empty() ? 0 : o.value_name.size() + 3));
  for (const auto& o : spec.options) {
    std::string left = o.value_name.empty() ? o.name
                       : o.value_optional   ? o.name + " [" + o.value_name + "]"
                                            : o.name + " " + o.value_name;
    std::string help = o.help;
    if (!o.choices.empty()) help += fmt::format(" ({})", fmt::join(o.choices, ", "));
    s += fmt::format("  {:<{}}  {}\n", left, width, help);
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

namespace {

const OptionSpec* find_option(const CommandSpec& spec, std::string_view name) {
  for (const auto& o : spec.options)
    if (o.name == name) return &o;
  return nullptr;
}

bool looks_like_option(const std::string& a) {
  return a.size() > 1 && a[0] == '-' && !std::isdigit(static_cast<unsigned char>(a[1]));
}

// A value checked against its kind: numbers must parse, choices must be
// listed, and an address that is not a number is the debugger's to evaluate.
std::string checked_value(ValueKind kind, const std::vector<std::string>& choices, std::string_view what,
                          std::string value, const AddressEvaluator& evaluate) {
  switch (kind) {
    case ValueKind::kNumber:
      parse_uint(value, what);
      break;
    case ValueKind::kAddress:
      if (!parse_address_sum(value)) {
        if (!evaluate) parse_address(value);  // throws: the CLI takes numbers
        value = to_hex(Address(evaluate(value)));
      }
      break;
    case ValueKind::kChoice:
      if (std::find(choices.begin(), choices.end(), value) == choices.end())
        throw UserError{what.starts_with("--")
                            ? fmt::format("invalid value '{}' for {} (expected {})", value, what, fmt::join(choices, ", "))
                            : fmt::format("unknown {} '{}' (expected {})", what, value, fmt::join(choices, ", "))};
      break;
    case ValueKind::kText:
    case ValueKind::kFile:
      break;
  }
  return value;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

ParsedArgs parse_args(const CommandSpec& spec, const std::vector<std::string>& argv,
                      const AddressEvaluator& evaluate) {
  ParsedArgs args;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (looks_like_option(a)) {
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
      const OptionSpec* o = find_option(spec, name);
      if (!o)
        throw UserError{fmt::format("unknown option '{}' for '{} {}' (try --help)", name,
                                    spec.group, spec.name)};
      if (o->value_name.empty()) {
        if (inline_value) throw UserError{fmt::format("option {} takes no value", name)};
        args.values[name] = "";
      } else {
        if (!inline_value && o->value_optional) {
          bool number = false;
          if (i + 1 < argv.size()) try {
              parse_uint(argv[i + 1], name);
              number = true;
            } catch (const UserError&) {
            }
          args.values[name] = number ? argv[++i] : "";
          continue;
        }
        if (!inline_value) {
          if (i + 1 >= argv.size())
            throw UserError{fmt::format("option {} needs a value ({})", name, o->value_name)};
          value = argv[++i];
        }
        args.values[name] = checked_value(o->kind, o->choices, name, std::move(value), evaluate);
      }
    } else {
      args.positional.push_back(a);
    }
  }
  // `heap chunk ptr + 8`: the words of one address expression.
  if (spec.positionals.size() == 1 && spec.positionals[0].kind == ValueKind::kAddress &&
      args.positional.size() > 1) {
    std::string joined = fmt::format("{}", fmt::join(args.positional, " "));
    args.positional = {std::move(joined)};
  }
  if (args.positional.size() < spec.min_positional || args.positional.size() > spec.max_positional)
    throw UserError{fmt::format("wrong number of arguments; usage: {}", spec.usage)};
  for (size_t k = 0; k < args.positional.size() && k < spec.positionals.size(); ++k) {
    const PositionalSpec& p = spec.positionals[k];
    args.positional[k] = checked_value(p.kind, p.choices, lower(p.name), std::move(args.positional[k]), evaluate);
  }
  for (const auto& set : spec.exclusive) {
    std::vector<std::string> given;
    for (const auto& name : set) {
      auto p = std::find_if(spec.positionals.begin(), spec.positionals.end(),
                            [&](const PositionalSpec& ps) { return ps.name == name; });
      bool present = p != spec.positionals.end()
                         ? static_cast<size_t>(p - spec.positionals.begin()) < args.positional.size()
                         : args.has(name);
      if (present) given.push_back(name);
    }
    if (given.size() > 1)
      throw UserError{fmt::format("{} and {} cannot be used together", given[0], given[1])};
  }
  return args;
}

}  // namespace

std::vector<std::string> complete_arguments(const CommandSpec& spec, const std::vector<std::string>& words,
                                            std::string_view partial) {
  std::vector<std::string> out;
  auto add_matching = [&](const std::vector<std::string>& candidates, std::string_view prefix) {
    for (const auto& c : candidates)
      if (std::string_view(c).starts_with(partial.substr(prefix.size()))) out.push_back(std::string(prefix) + c);
  };
  // Which word the partial one is: an option's value, or the next positional.
  size_t positionals = 0;
  const OptionSpec* value_of = nullptr;
  std::vector<std::string> given;
  for (const auto& w : words) {
    if (value_of) {
      value_of = nullptr;
      continue;
    }
    if (looks_like_option(w)) {
      given.push_back(w.substr(0, w.find('=')));
      const OptionSpec* o = find_option(spec, w);
      if (o && !o->value_name.empty()) value_of = o;
    } else {
      ++positionals;
    }
  }
  if (value_of) {
    add_matching(value_of->choices, "");
  } else if (auto eq = partial.find('='); partial.starts_with("--") && eq != std::string_view::npos) {
    if (const OptionSpec* o = find_option(spec, partial.substr(0, eq)))
      add_matching(o->choices, partial.substr(0, eq + 1));
  } else if (!partial.starts_with("-") && positionals < spec.positionals.size() &&
             spec.positionals[positionals].kind == ValueKind::kChoice) {
    add_matching(spec.positionals[positionals].choices, "");
  } else if (partial.starts_with("-") || partial.empty()) {
    std::vector<std::string> names{"--help", "--json"};
    for (const auto& o : spec.options) names.push_back(o.name);
    std::erase_if(names, [&](const std::string& n) { return std::find(given.begin(), given.end(), n) != given.end(); });
    add_matching(names, "");
  }
  std::sort(out.begin(), out.end());
  return out;
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
                          OutputSink& front_end_sink, const AddressEvaluator& evaluate, bool color) {
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
      auto near = nearest_command(group, argv[0]);
      result.error = near ? fmt::format("unknown command '{} {}' (did you mean '{}'? try '{} help')", group,
                                        argv[0], *near, group)
                          : fmt::format("unknown command '{} {}' (try '{} help')", group, argv[0], group);
      return result;
    }
    if (std::find(argv.begin() + 1, argv.end(), "--help") != argv.end()) {
      sink.write(command_help(*spec));
      return result;
    }
    const bool json = std::find(argv.begin() + 1, argv.end(), "--json") != argv.end();
    WarningSink warned(sink, warnings, json);
    OutputWriter out(warned);
    ParsedArgs args = parse_args(*spec, argv, evaluate);
    CommandContext ctx{session, args, cancel, out};
    ctx.color = color && !json;
    spec->run(ctx);
    out.flush();
    result.found_problems = ctx.found_problems;
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
                               const CancelToken& cancel, OutputSink& sink, const AddressEvaluator& evaluate,
                               bool color) {
  std::vector<std::string> argv;
  try {
    argv = split_arguments(raw);
  } catch (const UserError& e) {
    return {2, "", e.message};
  }
  return run_command(session, group, argv, cancel, sink, evaluate, color);
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
