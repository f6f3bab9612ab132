// Typed condition values: numbers, dates, booleans and IP ranges, parsed the same way from the
// policy (once, at compile time) and from the request (per evaluation).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace scytale::policy::internal {

// Numeric* operators: an integer or decimal ("10", "-3", "2.5"; no exponent, hex, inf or nan).
// long double holds every int64 exactly on x86-64, so large integer ids compare correctly.
std::optional<long double> ParseNumber(std::string_view text);

// Date* operators: milliseconds since the Unix epoch. Accepts
//  - epoch seconds: "1700000000", optionally with a fraction "1700000000.250";
//  - the W3C profile of ISO 8601: "2024", "2024-05", "2024-05-17", "2024-05-17T10:20Z",
//    "2024-05-17T10:20:30Z", "2024-05-17T10:20:30.123+02:00" (no zone means UTC);
//  - the compact form of aws:CurrentTime/X-Amz-Date: "20240517T102030Z".
// An all-digit text is read as epoch seconds, never as a year.
std::optional<int64_t> ParseDate(std::string_view text);

// Bool: "true" or "false", any case.
std::optional<bool> ParseBool(std::string_view text);

// IpAddress/NotIpAddress: an IPv4 or IPv6 range in CIDR form; a bare address is /32 or /128.
// Host bits beyond the prefix are ignored ("10.1.2.3/8" is 10.0.0.0/8).
struct IpRange {
  bool v6 = false;
  std::array<uint8_t, 16> address{};
  int prefix = 0;
};
std::optional<IpRange> ParseIpRange(std::string_view text);
// True when `address` (an address, or a range whose network address is taken) lies in `range`.
// IPv4 never matches an IPv6 range and vice versa.
bool IpInRange(const IpRange& address, const IpRange& range);

}  // namespace scytale::policy::internal
