// Helpers shared by the fuzz targets.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace scytale::fuzz {

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Takes the text up to the first '\n' off the front of `rest` (all of it when there is none).
inline std::string_view TakeLine(std::string_view& rest) {
  size_t end = rest.find('\n');
  std::string_view line = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  return line;
}

// A fresh directory for a target's store, removed at exit.
inline std::filesystem::path MakeTempDir(const char* name) {
  auto dir = std::filesystem::temp_directory_path() /
             (std::string("scy-") + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  static std::filesystem::path to_remove;
  to_remove = dir;
  std::atexit([] { std::filesystem::remove_all(to_remove); });
  return dir;
}

// A broken invariant is a finding: report it and abort so libFuzzer saves the input.
[[noreturn]] inline void Fail(const char* what) {
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

}  // namespace scytale::fuzz
