// `heap allocator [NAME|auto]` and the --allocator option: which allocator's
// model the generic heap commands answer from, when a process has several
// (glibc beside mems, or beside a jemalloc that only part of it uses). The
// choice outlives sessions, like `heap arena`'s, for the same reason.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "commands/registry.h"
#include "heapscope/error.h"
#include "heapscope/model/allocator_model.h"
#include "heapscope/session.h"

namespace heapscope {

namespace {

std::string& chosen_allocator() {
  static std::string name;
  return name;
}

std::vector<std::string> allocator_names() {
  std::vector<std::string> names;
  for (const AllocatorModel& m : allocator_models()) names.emplace_back(m.name);
  return names;
}

struct Summary {
  uint64_t in_use_chunks = 0, in_use_bytes = 0, system_bytes = 0;
};

Summary summarize(const HeapModel& m) {
  Summary s;
  for (const Block& b : m.blocks) {
    if (is_live(m.state(b))) ++s.in_use_chunks, s.in_use_bytes += m.user_area(b).size() - m.kind_of(b).tail_bytes;
  }
  for (const AddressRange& r : m.system) s.system_bytes += r.size();
  return s;
}

std::string run_allocator(CommandContext& ctx) {
  if (!ctx.args.positional.empty()) {
    const std::string& name = ctx.args.positional[0];
    if (name == "auto") {
      chosen_allocator().clear();
    } else {
      ctx.session.heap_model(name, ctx.cancel);  // one line naming the heaps present when it is not here
      chosen_allocator() = name;
    }
  }
  auto models = ctx.session.heap_models(ctx.cancel);
  const HeapModel* answering = nullptr;
  try {
    answering = &ctx.session.heap_model(chosen_allocator(), ctx.cancel);
  } catch (const UserError&) {
    // No model at all, or the chosen one is absent from this target: none is marked.
  }
  if (ctx.args.json()) {
    nlohmann::json list = nlohmann::json::array();
    for (const HeapModel* m : models) {
      Summary s = summarize(*m);
      list.push_back({{"name", m->allocator},
                      {"version", m->version},
                      {"owners", m->owners.size()},
                      {"blocks", m->blocks.size()},
                      {"system_bytes", s.system_bytes},
                      {"in_use", {{"chunks", s.in_use_chunks}, {"bytes", s.in_use_bytes}}},
                      {"answering", m == answering}});
    }
    nlohmann::json chosen = chosen_allocator().empty() ? nlohmann::json(nullptr) : nlohmann::json(chosen_allocator());
    return nlohmann::json{{"allocators", list}, {"chosen", chosen}}.dump() + "\n";
  }
  std::string out;
  if (models.empty()) out += "no allocator's heap found in this target\n";
  for (const HeapModel* m : models) {
    Summary s = summarize(*m);
    out += fmt::format("{} {:<10} {:<18} {:>5} owners {:>10} blocks {:>14} bytes in use {:>14} bytes from the system\n",
                       m == answering ? '*' : ' ', m->allocator, m->version, m->owners.size(), m->blocks.size(),
                       s.in_use_bytes, s.system_bytes);
  }
  out += chosen_allocator().empty()
             ? "heap commands answer from the allocator marked * (glibc's when present); "
               "'heap allocator NAME' chooses another\n"
             : fmt::format("heap commands answer from {} unless given --allocator; 'heap allocator auto' goes back\n",
                           chosen_allocator());
  return out;
}

}  // namespace

const OptionSpec kAllocatorOption{"--allocator", "NAME",
                                  "read this allocator's heap (glibc, jemalloc, mems, ...) when the process has several",
                                  ValueKind::kChoice, allocator_names()};

const HeapModel& model_option(CommandContext& ctx) {
  auto named = ctx.args.get("--allocator");
  return ctx.session.heap_model(named ? *named : chosen_allocator(), ctx.cancel);
}

const HeapModel* named_model_option(CommandContext& ctx) {
  auto named = ctx.args.get("--allocator");
  const std::string name = named ? std::string(*named) : chosen_allocator();
  return name.empty() ? nullptr : &ctx.session.heap_model(name, ctx.cancel);
}

void add_allocator_commands(std::vector<CommandSpec>& t) {
  std::vector<std::string> choices = allocator_names();
  choices.insert(choices.begin(), "auto");
  t.push_back({"heap", "allocator", "List the allocators' heaps in the target, or choose the one heap commands read",
               "heap allocator [NAME|auto] [--json]",
               "A process may have several heaps: glibc's beside the mems allocators', or beside a jemalloc\n"
               "that only part of the program uses. The generic commands (stats, chunks, leaks, refs, sites)\n"
               "read glibc's when there is one, else the first other allocator's; 'heap allocator NAME'\n"
               "makes them read NAME's until 'heap allocator auto', and --allocator NAME does so for one command.",
               {}, 0, 1, rendered_whole(run_allocator), {{"NAME", ValueKind::kChoice, choices}}});
}

}  // namespace heapscope
