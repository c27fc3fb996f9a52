// The parts of symbol resolution that do not depend on ELF files.
#include <fmt/format.h>

#include "heapscope/symbols.h"

namespace heapscope {

std::string format_symbol(const SymbolAt& s) {
  std::string out = s.name.empty() ? s.module : s.name;
  if (s.offset) out += fmt::format("+{:#x}", s.offset);
  return out;
}

namespace {

class NoSymbols : public SymbolResolver {
 public:
  std::optional<Address> find(std::string_view, std::string_view) const override { return {}; }
  std::optional<SymbolAt> at(Address) const override { return {}; }
  bool has_full_symbols(std::string_view) const override { return false; }
};

class FallbackSymbols : public SymbolResolver {
 public:
  FallbackSymbols(std::unique_ptr<SymbolResolver> first,
                  std::function<std::optional<Address>(std::string_view)> fallback)
      : first_(std::move(first)), fallback_(std::move(fallback)) {}

  std::optional<Address> find(std::string_view module, std::string_view name) const override {
    if (auto a = first_->find(module, name)) return a;
    return fallback_(name);
  }
  std::optional<SymbolAt> at(Address a) const override { return first_->at(a); }
  bool has_full_symbols(std::string_view m) const override { return first_->has_full_symbols(m); }
  std::vector<std::string> notes() const override { return first_->notes(); }

 private:
  std::unique_ptr<SymbolResolver> first_;
  std::function<std::optional<Address>(std::string_view)> fallback_;
};

}  // namespace

std::unique_ptr<SymbolResolver> make_no_symbols() { return std::make_unique<NoSymbols>(); }

std::unique_ptr<SymbolResolver> with_fallback(
    std::unique_ptr<SymbolResolver> first,
    std::function<std::optional<Address>(std::string_view name)> fallback) {
  return std::make_unique<FallbackSymbols>(std::move(first), std::move(fallback));
}

}  // namespace heapscope
