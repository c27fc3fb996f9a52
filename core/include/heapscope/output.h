// OutputSink: where a command's output goes, piece by piece as it is
// rendered, so a listing of millions of chunks never sits whole in memory
// and its first line is out before its last is made. Each front-end supplies
// one (the CLI: stdout; gdb: gdb.write, through its pager; lldb: the
// debugger's output file); StringSink keeps everything (tests, help).
// OutputWriter is a renderer's buffer in front of a sink: it hands the sink
// pieces of about 64 KiB.
#pragma once

#include <fmt/format.h>

#include <iterator>
#include <string>
#include <string_view>

namespace heapscope {

class OutputSink {
 public:
  virtual ~OutputSink() = default;
  // Writes the text. May throw Cancelled: the user interrupted, quit a
  // pager, or the reader went away; the command then stops.
  virtual void write(std::string_view text) = 0;
};

class StringSink final : public OutputSink {
 public:
  void write(std::string_view text) override { text_.append(text); }
  const std::string& text() const { return text_; }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

class OutputWriter {
 public:
  static constexpr size_t kPiece = 64 * 1024;

  explicit OutputWriter(OutputSink& sink) : sink_(sink) {}
  OutputWriter(const OutputWriter&) = delete;
  OutputWriter& operator=(const OutputWriter&) = delete;

  void write(std::string_view text) {
    buffer_.append(text.data(), text.data() + text.size());
    if (buffer_.size() >= kPiece) flush();
  }
  template <typename... Args>
  void print(fmt::format_string<Args...> format, Args&&... args) {
    fmt::format_to(std::back_inserter(buffer_), format, std::forward<Args>(args)...);
    if (buffer_.size() >= kPiece) flush();
  }
  // Room for up to `most` bytes at the end of the buffer, to write in place
  // (a listing of a million rows puts each together there: no copy), then
  // end_append with where the writing stopped.
  char* begin_append(size_t most) {
    const size_t used = buffer_.size();
    buffer_.resize(used + most);  // a memory_buffer grows without filling
    return buffer_.data() + used;
  }
  void end_append(const char* end) {
    buffer_.resize(static_cast<size_t>(end - buffer_.data()));
    if (buffer_.size() >= kPiece) flush();
  }
  // A long piece made elsewhere: to the sink after what is buffered,
  // without a copy into the buffer (which would grow to hold it).
  void write_through(std::string_view text) {
    if (text.size() < kPiece) return write(text);
    flush();
    sink_.write(text);
  }
  // Hands what is buffered to the sink. The command runner calls it at the
  // end; what is still buffered when a command fails is dropped.
  void flush() {
    if (buffer_.size() == 0) return;
    sink_.write(std::string_view(buffer_.data(), buffer_.size()));
    buffer_.clear();
  }

 private:
  OutputSink& sink_;
  fmt::memory_buffer buffer_;
};

}  // namespace heapscope
