#include "policy/internal/values.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <string>

namespace scytale::policy::internal {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool AllDigits(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (!IsDigit(c)) {
      return false;
    }
  }
  return true;
}

// Reads exactly `n` digits at `*pos`.
bool ReadDigits(std::string_view s, size_t* pos, size_t n, int* out) {
  if (*pos + n > s.size()) {
    return false;
  }
  int value = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[*pos + i];
    if (!IsDigit(c)) {
      return false;
    }
    value = value * 10 + (c - '0');
  }
  *pos += n;
  *out = value;
  return true;
}

bool Consume(std::string_view s, size_t* pos, char c) {
  if (*pos < s.size() && s[*pos] == c) {
    ++*pos;
    return true;
  }
  return false;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// Milliseconds of a fraction ".123456" (the dot already consumed): the first three digits.
bool ReadFractionMillis(std::string_view s, size_t* pos, int* out_millis) {
  const size_t start = *pos;
  int millis = 0;
  int digits = 0;
  while (*pos < s.size() && IsDigit(s[*pos])) {
    if (digits < 3) {
      millis = millis * 10 + (s[*pos] - '0');
    }
    ++digits;
    ++*pos;
  }
  if (*pos == start) {
    return false;
  }
  for (int i = digits; i < 3; ++i) {
    millis *= 10;
  }
  *out_millis = millis;
  return true;
}

std::optional<int64_t> ParseEpoch(std::string_view text) {
  const size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  if (!AllDigits(whole) || whole.size() > 15) {
    return std::nullopt;
  }
  int64_t seconds = 0;
  std::from_chars(whole.data(), whole.data() + whole.size(), seconds);
  int millis = 0;
  if (dot != std::string_view::npos) {
    size_t pos = dot + 1;
    if (!ReadFractionMillis(text, &pos, &millis) || pos != text.size()) {
      return std::nullopt;
    }
  }
  return seconds * 1000 + millis;
}

// "Z", "+hh:mm", "-hh:mm", "+hhmm" or nothing (UTC); the offset in minutes east of UTC.
bool ReadZone(std::string_view s, size_t* pos, int* out_offset_minutes) {
  *out_offset_minutes = 0;
  if (*pos == s.size()) {
    return true;
  }
  if (Consume(s, pos, 'Z') || Consume(s, pos, 'z')) {
    return *pos == s.size();
  }
  int sign = 0;
  if (Consume(s, pos, '+')) {
    sign = 1;
  } else if (Consume(s, pos, '-')) {
    sign = -1;
  } else {
    return false;
  }
  int hh = 0;
  int mm = 0;
  if (!ReadDigits(s, pos, 2, &hh)) {
    return false;
  }
  Consume(s, pos, ':');
  if (!ReadDigits(s, pos, 2, &mm) || hh > 23 || mm > 59) {
    return false;
  }
  *out_offset_minutes = sign * (hh * 60 + mm);
  return *pos == s.size();
}

std::optional<int64_t> ParseIso8601(std::string_view s) {
  size_t pos = 0;
  int year = 0;
  int month = 1;
  int day = 1;
  int hour = 0;
  int minute = 0;
  int second = 0;
  int millis = 0;
  int zone_minutes = 0;
  if (!ReadDigits(s, &pos, 4, &year)) {
    return std::nullopt;
  }
  const bool compact = pos < s.size() && IsDigit(s[pos]);
  if (compact) {
    // 20240517T102030Z
    if (!ReadDigits(s, &pos, 2, &month) || !ReadDigits(s, &pos, 2, &day) ||
        !Consume(s, &pos, 'T') || !ReadDigits(s, &pos, 2, &hour) ||
        !ReadDigits(s, &pos, 2, &minute) || !ReadDigits(s, &pos, 2, &second) ||
        !ReadZone(s, &pos, &zone_minutes)) {
      return std::nullopt;
    }
  } else if (pos < s.size()) {
    if (!Consume(s, &pos, '-') || !ReadDigits(s, &pos, 2, &month)) {
      return std::nullopt;
    }
    if (pos < s.size()) {
      if (!Consume(s, &pos, '-') || !ReadDigits(s, &pos, 2, &day)) {
        return std::nullopt;
      }
      if (pos < s.size()) {
        if (!Consume(s, &pos, 'T') || !ReadDigits(s, &pos, 2, &hour) || !Consume(s, &pos, ':') ||
            !ReadDigits(s, &pos, 2, &minute)) {
          return std::nullopt;
        }
        if (Consume(s, &pos, ':')) {
          if (!ReadDigits(s, &pos, 2, &second)) {
            return std::nullopt;
          }
          if (Consume(s, &pos, '.') && !ReadFractionMillis(s, &pos, &millis)) {
            return std::nullopt;
          }
        }
        if (!ReadZone(s, &pos, &zone_minutes)) {
          return std::nullopt;
        }
      }
    }
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 60) {
    return std::nullopt;
  }
  const int64_t days = DaysFromCivil(year, month, day);
  const int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - zone_minutes * 60;
  return seconds * 1000 + millis;
}

}  // namespace

std::optional<long double> ParseNumber(std::string_view text) {
  size_t pos = 0;
  if (pos < text.size() && (text[pos] == '-' || text[pos] == '+')) {
    ++pos;
  }
  const size_t int_start = pos;
  while (pos < text.size() && IsDigit(text[pos])) {
    ++pos;
  }
  if (pos == int_start) {
    return std::nullopt;
  }
  if (pos < text.size()) {
    if (text[pos] != '.') {
      return std::nullopt;
    }
    ++pos;
    const size_t frac_start = pos;
    while (pos < text.size() && IsDigit(text[pos])) {
      ++pos;
    }
    if (pos == frac_start || pos != text.size()) {
      return std::nullopt;
    }
  }
  // strtold needs a terminated string; from_chars rejects a leading '+'.
  const std::string copy(text[0] == '+' ? text.substr(1) : text);
  return std::strtold(copy.c_str(), nullptr);
}

std::optional<int64_t> ParseDate(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  const size_t dot = text.find('.');
  if (AllDigits(text.substr(0, dot)) &&
      (dot == std::string_view::npos || AllDigits(text.substr(dot + 1)))) {
    return ParseEpoch(text);
  }
  return ParseIso8601(text);
}

std::optional<bool> ParseBool(std::string_view text) {
  if (text.size() == 4 && (text[0] | 0x20) == 't' && (text[1] | 0x20) == 'r' &&
      (text[2] | 0x20) == 'u' && (text[3] | 0x20) == 'e') {
    return true;
  }
  if (text.size() == 5 && (text[0] | 0x20) == 'f' && (text[1] | 0x20) == 'a' &&
      (text[2] | 0x20) == 'l' && (text[3] | 0x20) == 's' && (text[4] | 0x20) == 'e') {
    return false;
  }
  return std::nullopt;
}

std::optional<IpRange> ParseIpRange(std::string_view text) {
  IpRange range;
  const size_t slash = text.find('/');
  const std::string address(text.substr(0, slash));
  if (address.find(':') != std::string::npos) {
    range.v6 = true;
    if (inet_pton(AF_INET6, address.c_str(), range.address.data()) != 1) {
      return std::nullopt;
    }
  } else if (inet_pton(AF_INET, address.c_str(), range.address.data()) != 1) {
    return std::nullopt;
  }
  const int max_prefix = range.v6 ? 128 : 32;
  range.prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    if (!AllDigits(digits) || digits.size() > 3) {
      return std::nullopt;
    }
    int prefix = 0;
    std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (prefix > max_prefix) {
      return std::nullopt;
    }
    range.prefix = prefix;
  }
  // Clear the host bits so that comparisons only look at the network part.
  for (int bit = range.prefix; bit < max_prefix; ++bit) {
    range.address[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  }
  return range;
}

bool IpInRange(const IpRange& address, const IpRange& range) {
  if (address.v6 != range.v6) {
    return false;
  }
  const int full_bytes = range.prefix / 8;
  if (std::memcmp(address.address.data(), range.address.data(), full_bytes) != 0) {
    return false;
  }
  const int rest = range.prefix % 8;
  if (rest == 0) {
    return true;
  }
  const uint8_t mask = static_cast<uint8_t>(0xFFu << (8 - rest));
  return (address.address[full_bytes] & mask) == (range.address[full_bytes] & mask);
}

}  // namespace scytale::policy::internal
