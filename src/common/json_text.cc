#include "common/json_text.h"

#include <nlohmann/json.hpp>

namespace scytale {

namespace {

bool IsAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      return false;
    }
  }
  return true;
}

// A byte JSON takes as is inside a string.
bool Plain(char c) { return static_cast<unsigned char>(c) >= 0x20 && c != '"' && c != '\\'; }

// The escape of a byte below 0x80 that JSON does not take as is, or empty.
std::string_view EscapeOf(char c, char (&buf)[6]) {
  static constexpr char kHex[] = "0123456789abcdef";
  switch (c) {
    case '"':
      return "\\\"";
    case '\\':
      return "\\\\";
    case '\b':
      return "\\b";
    case '\t':
      return "\\t";
    case '\n':
      return "\\n";
    case '\f':
      return "\\f";
    case '\r':
      return "\\r";
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        buf[0] = '\\';
        buf[1] = 'u';
        buf[2] = '0';
        buf[3] = '0';
        buf[4] = kHex[(c >> 4) & 0x0f];
        buf[5] = kHex[c & 0x0f];
        return {buf, 6};
      }
      return {};
  }
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  if (!IsAscii(s)) {
    // UTF-8 validation and replacement are nlohmann's own, so the text stays identical.
    out += nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return;
  }
  out += '"';
  // Runs of bytes that need no escape are appended whole.
  size_t run = 0;
  char buf[6];
  for (size_t i = 0; i < s.size(); ++i) {
    if (!Plain(s[i])) {
      out.append(s.data() + run, i - run);
      out += EscapeOf(s[i], buf);
      run = i + 1;
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

std::optional<size_t> AsciiJsonStringSize(std::string_view s) {
  size_t size = 2;
  char buf[6];
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      return std::nullopt;
    }
    size += Plain(c) ? 1 : EscapeOf(c, buf).size();
  }
  return size;
}

}  // namespace scytale
