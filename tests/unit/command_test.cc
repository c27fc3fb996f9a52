#include "heapscope/command.h"

#include <gtest/gtest.h>

#include "heapscope/buffer_target.h"

namespace heapscope {
namespace {

TEST(SplitArguments, QuotesAndEscapes) {
  EXPECT_EQ(split_arguments(R"(chunks --state "in use" a\ b 'x y')"),
            (std::vector<std::string>{"chunks", "--state", "in use", "a b", "x y"}));
  EXPECT_TRUE(split_arguments("   ").empty());
  EXPECT_THROW(split_arguments("\"open"), UserError);
}

TEST(ParseUint, AcceptsDecimalHexAndSuffixes) {
  EXPECT_EQ(parse_uint("123", "n"), 123u);
  EXPECT_EQ(parse_uint("0x7b", "n"), 123u);
  EXPECT_EQ(parse_uint("4k", "n"), 4096u);
  EXPECT_EQ(parse_uint("2M", "n"), 2u << 20);
  EXPECT_THROW(parse_uint("12q", "n"), UserError);
  EXPECT_THROW(parse_uint("", "n"), UserError);
  EXPECT_THROW(parse_uint("99999999999999999999", "n"), UserError);
}

TEST(ParseAddress, NumbersAndSums) {
  EXPECT_EQ(parse_address("0x1000").value, 0x1000u);
  EXPECT_EQ(parse_address("4096").value, 4096u);
  EXPECT_EQ(parse_address("0x1000+8").value, 0x1008u);
  EXPECT_EQ(parse_address("0x1000 - 0x10 + 2").value, 0xff2u);
  EXPECT_THROW(parse_address("0x1000+"), UserError);
  EXPECT_THROW(parse_address("victim"), UserError);
  EXPECT_THROW(parse_address("0x10-0x20"), UserError);  // below zero
  EXPECT_THROW(parse_address("0xffffffffffffffff+1"), UserError);
  EXPECT_FALSE(parse_address_sum("ptr->next"));
}

// The table says which arguments are addresses: a debugger's evaluator sees
// exactly those that are not numbers, and its error is the one line.
TEST(RunCommand, AddressArgumentsGoToTheEvaluator) {
  Session s(std::make_unique<BufferTarget>());
  std::vector<std::string> asked;
  AddressEvaluator evaluate = [&](const std::string& e) -> uint64_t {
    asked.push_back(e);
    if (e == "bad") throw UserError{"cannot evaluate 'bad': no such symbol"};
    return 0x1000;
  };
  StringSink sink;
  run_command(s, "heap", {"chunk", "victim"}, CancelToken(), sink, evaluate);
  run_command(s, "heap", {"chunk", "ptr", "+", "8"}, CancelToken(), sink, evaluate);
  run_command(s, "heap", {"chunk", "0x1000+8"}, CancelToken(), sink, evaluate);
  run_command(s, "mems", {"get", "$rax"}, CancelToken(), sink, evaluate);
  EXPECT_EQ(asked, (std::vector<std::string>{"victim", "ptr + 8", "$rax"}));
  auto out = run_command(s, "heap", {"chunk", "bad"}, CancelToken(), sink, evaluate);
  EXPECT_EQ(out.status, 2);
  EXPECT_EQ(out.error, "cannot evaluate 'bad': no such symbol");
  out = run_command(s, "heap", {"chunk", "victim"}, CancelToken(), sink);
  EXPECT_EQ(out.error, "invalid address: 'victim'");
}

// Values are checked from the table before any runner sees them (the
// BufferTarget has no heap: an error that names the value came from the table).
TEST(RunCommand, TypedOptionsAreCheckedByTheTable) {
  Session s(std::make_unique<BufferTarget>());
  auto error = [&](std::vector<std::string> argv) { return run_command(s, "heap", argv, CancelToken()).error; };
  EXPECT_EQ(error({"chunks", "--state", "bogus"}),
            "invalid value 'bogus' for --state (expected in_use, tcache, fast, unsorted, small, large, top, "
            "mmapped, metadata, free, cached)");
  EXPECT_EQ(error({"bins", "fastt"}), "unknown kind 'fastt' (expected tcache, fast, unsorted, small, large)");
  EXPECT_EQ(error({"chunks", "--limit", "ten"}), "invalid number for --limit: 'ten'");
  EXPECT_EQ(error({"leaks", "--list", "--summary"}), "--summary and --list cannot be used together");
  EXPECT_EQ(error({"pages", "0x1000", "--arena", "0"}), "ADDR and --arena cannot be used together");
}

TEST(CompleteArguments, OptionsValuesAndPositionals) {
  const CommandSpec& chunks = *find_command("heap", "chunks");
  EXPECT_EQ(complete_arguments(chunks, {"--state"}, "t"), (std::vector<std::string>{"tcache", "top"}));
  EXPECT_EQ(complete_arguments(chunks, {}, "--state=sm"), (std::vector<std::string>{"--state=small"}));
  EXPECT_EQ(complete_arguments(chunks, {"--limit", "5"}, "--m"),
            (std::vector<std::string>{"--max-size", "--min-size"}));
  EXPECT_TRUE(complete_arguments(chunks, {"--limit"}, "").empty());  // a number: nothing to offer
  const CommandSpec& bins = *find_command("heap", "bins");
  EXPECT_EQ(complete_arguments(bins, {}, ""),
            (std::vector<std::string>{"fast", "large", "small", "tcache", "unsorted"}));
  EXPECT_EQ(complete_arguments(bins, {"fast"}, ""),
            (std::vector<std::string>{"--all", "--arena", "--help", "--json", "--limit"}));
  EXPECT_EQ(complete_arguments(bins, {"--json"}, "--"), (std::vector<std::string>{"--all", "--arena", "--help", "--limit"}));
}

// Every option of the table is in its command's usage line, and each
// choice list is what the help shows.
TEST(CommandTable, UsageListsEveryOption) {
  for (const auto& c : command_table()) {
    for (const auto& o : c.options) {
      EXPECT_NE(c.usage.find(o.name), std::string::npos) << c.group << " " << c.name << ": " << o.name;
      if (!o.choices.empty())
        EXPECT_NE(command_help(c).find(o.choices.back()), std::string::npos) << o.name;
    }
  }
}

TEST(RunCommand, MisspeltCommandGetsASuggestion) {
  Session s(std::make_unique<BufferTarget>());
  EXPECT_EQ(run_command(s, "heap", {"stat"}, CancelToken()).error,
            "unknown command 'heap stat' (did you mean 'stats'? try 'heap help')");
  EXPECT_EQ(run_command(s, "heap", {"chekc"}, CancelToken()).error,
            "unknown command 'heap chekc' (did you mean 'check'? try 'heap help')");
  EXPECT_EQ(run_command(s, "mems", {"chian"}, CancelToken()).error,
            "unknown command 'mems chian' (did you mean 'chain'? try 'mems help')");
  EXPECT_EQ(run_command(s, "heap", {"xyzzy"}, CancelToken()).error, "unknown command 'heap xyzzy' (try 'heap help')");
}

TEST(RunCommand, UnknownCommandIsOneLineUserError) {
  auto t = std::make_unique<BufferTarget>();
  Session s(std::move(t));
  auto out = run_command(s, "heap", {"nosuch"}, CancelToken());
  EXPECT_EQ(out.status, 2);
  EXPECT_EQ(out.error.find('\n'), std::string::npos);
  EXPECT_NE(out.error.find("nosuch"), std::string::npos);
}

}  // namespace
}  // namespace heapscope
