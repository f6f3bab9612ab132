// Writing JSON text directly, for the hot paths that would otherwise build an nlohmann::json tree
// only to dump it (an audit record and a request-log line per call). The text is byte for byte
// what nlohmann::json::dump(-1, ' ', false, error_handler_t::replace) writes for the same values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace scytale {

// Appends `s` as a JSON string, quotes included: `"` and `\` escaped, control characters as
// \b \t \n \f \r or \u00xx, other UTF-8 as is, invalid UTF-8 replaced by U+FFFD.
void AppendJsonString(std::string& out, std::string_view s);

// AppendJsonString for an ASCII `s`; false, and nothing appended, when `s` is not ASCII.
bool AppendAsciiJsonString(std::string& out, std::string_view s);

// The number of bytes AppendJsonString(out, s) appends, when `s` is ASCII; std::nullopt when it
// is not (its escaping is then nlohmann's).
std::optional<size_t> AsciiJsonStringSize(std::string_view s);

// Builds one JSON object: Key() then a value, in the order the caller gives (callers give keys
// sorted, as nlohmann's std::map-backed objects dump them).
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string& out) : out_(out) { out_ += '{'; }
  JsonObjectWriter& Key(std::string_view key) {
    out_ += first_ ? "\"" : ",\"";
    first_ = false;
    out_ += key;  // keys are ours: plain ASCII, nothing to escape
    out_ += "\":";
    return *this;
  }
  void String(std::string_view s) { AppendJsonString(out_, s); }
  // A string, or null when it is empty.
  void StringOrNull(std::string_view s) {
    if (s.empty()) {
      out_ += "null";
    } else {
      AppendJsonString(out_, s);
    }
  }
  void Bool(bool b) { out_ += b ? "true" : "false"; }
  void Int(int64_t n) { out_ += std::to_string(n); }
  void Null() { out_ += "null"; }
  // Text that is already JSON.
  void Raw(std::string_view json) { out_ += json; }
  void End() { out_ += '}'; }

 private:
  std::string& out_;
  bool first_ = true;
};

}  // namespace scytale
