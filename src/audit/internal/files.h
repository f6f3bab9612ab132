// Names and shared formats of the files in an audit directory.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace scytale::audit::internal {

inline constexpr std::string_view kPublicKeyFile = "audit-public-key.pem";
inline constexpr std::string_view kZeroHash =
    "0000000000000000000000000000000000000000000000000000000000000000";
inline constexpr std::string_view kChainMember = "scytaleChain";

// "2024-05-01T12:34:56Z", CloudTrail's eventTime format (UTC, seconds).
std::string FormatTime(std::chrono::system_clock::time_point t);
// "20240501" (UTC).
std::string DayOf(std::chrono::system_clock::time_point t);

// audit-<first sequence, 16 digits>-<day>[.<n>].jsonl
std::string LogFileName(uint64_t first_sequence, const std::string& day, int attempt);
// The first sequence number of a log file name, or nullopt when `name` is no log file.
std::optional<uint64_t> LogFileSequence(std::string_view name);
// digest-<number, 16 digits>.json
std::string DigestFileName(uint64_t number);
std::optional<uint64_t> DigestFileNumber(std::string_view name);

// The chain member of a parsed record.
struct ChainLink {
  uint64_t seq = 0;
  std::string prev;
};
std::optional<ChainLink> ChainOf(const nlohmann::json& record);

// The bytes a digest's signature covers: the digest object without "signature", serialized
// compactly with sorted keys (nlohmann's default order).
std::string DigestSigningText(const nlohmann::json& digest);

}  // namespace scytale::audit::internal
