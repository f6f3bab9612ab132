// Text encodings of bytes: hex and base64 (standard alphabet, padded, as AWS JSON blobs use).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace scytale {

using Bytes = std::vector<uint8_t>;

inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string_view AsString(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::string HexEncode(std::span<const uint8_t> data);
// The value of a hex digit of either case, or -1.
int HexDigitValue(char c);
// Lowercase or uppercase hex; nullopt on odd length or a non-hex character.
std::optional<Bytes> HexDecode(std::string_view hex);

// %XX escapes decoded (either case); with `plus_is_space`, '+' is a space as well
// (application/x-www-form-urlencoded). A '%' without two hex digits after it is kept as is.
std::string PercentDecode(std::string_view text, bool plus_is_space);

std::string Base64Encode(std::span<const uint8_t> data);
// Strict RFC 4648 base64 with padding; nullopt on anything else (as AWS rejects it).
std::optional<Bytes> Base64Decode(std::string_view text);
// Decoded length of a well-formed base64 text, without decoding.
size_t Base64DecodedSize(std::string_view text);

}  // namespace scytale
