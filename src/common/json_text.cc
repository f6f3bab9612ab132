#include "common/json_text.h"

#include <nlohmann/json.hpp>

namespace scytale {

namespace {

// One pass over `s`: how many of its bytes need an escape, and whether it is all ASCII. Written
// without branches on the data: most strings here (base64, ARNs, ids) have nothing to escape.
size_t CountEscapes(std::string_view s, bool& ascii) {
  size_t escapes = 0;
  unsigned high = 0;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    escapes += static_cast<size_t>((c < 0x20) | (c == '"') | (c == '\\'));
    high |= c;
  }
  ascii = (high & 0x80) == 0;
  return escapes;
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

bool AppendAsciiJsonString(std::string& out, std::string_view s) {
  bool ascii = true;
  size_t escapes = CountEscapes(s, ascii);
  if (!ascii) {
    return false;
  }
  out += '"';
  if (escapes == 0) {
    out += s;
    out += '"';
    return true;
  }
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
  return true;
}

void AppendJsonString(std::string& out, std::string_view s) {
  if (!AppendAsciiJsonString(out, s)) {
    // UTF-8 validation and replacement are nlohmann's own, so the text stays identical.
    out += nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

std::optional<size_t> AsciiJsonStringSize(std::string_view s) {
  bool ascii = true;
  if (CountEscapes(s, ascii) == 0) {
    return ascii ? std::optional<size_t>(s.size() + 2) : std::nullopt;
  }
  if (!ascii) {
    return std::nullopt;
  }
  size_t size = 2;
  char buf[6];
  for (char c : s) {
    size += Plain(c) ? 1 : EscapeOf(c, buf).size();
  }
  return size;
}

}  // namespace scytale
