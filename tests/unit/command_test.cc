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
