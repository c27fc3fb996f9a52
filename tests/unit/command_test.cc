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
