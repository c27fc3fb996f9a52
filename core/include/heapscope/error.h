// Error: what went wrong and where, as a value. Result<T>: a T or an Error.
// Errors never cross a front-end boundary as exceptions; front-ends print
// Error::message as one line.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace heapscope {

struct Error {
  std::string message;  // one line, no trailing newline
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error e) : v_(std::move(e)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Thrown only inside the core (e.g. by the option parser or a runner) and
// caught by run_command, which turns it into a one-line user error.
struct UserError {
  std::string message;
};

}  // namespace heapscope
