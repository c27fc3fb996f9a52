// What a self-contained HTML page needs to carry text and data safely:
// escaped text for the markup, and JSON that cannot end its <script> early.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace heapscope {

// <, > and & as entities.
std::string html_escape(std::string_view text);

// The JSON text of `data` for a <script type="application/json"> element:
// "</" becomes "<\/" (the same string to JSON), invalid UTF-8 is replaced.
std::string script_safe_json(const nlohmann::ordered_json& data);

}  // namespace heapscope
