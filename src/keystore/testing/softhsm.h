// SoftHSM2 tokens of a test's own, in a temporary directory: the system's token store is never
// touched. For tests and benchmarks of the pkcs11 keystore and of custom key stores.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace scytale::keystore::testing {

inline constexpr const char* kSoftHsmModule = "/usr/lib/softhsm/libsofthsm2.so";

// Writes `dir`/softhsm2.conf with its tokens in `dir`/tokens, points SOFTHSM2_CONF at it (call
// this before the process first loads the module), and initializes one token per label with
// the user PIN `pin`. Returns "" on success, else what went wrong (SoftHSM2 missing, or
// softhsm2-util's output).
inline std::string MakeSoftHsmTokens(const std::filesystem::path& dir,
                                     const std::vector<std::string>& labels,
                                     const std::string& pin) {
  if (!std::filesystem::exists(kSoftHsmModule) ||
      std::system("command -v softhsm2-util >/dev/null") != 0) {
    return std::string("SoftHSM2 (") + kSoftHsmModule +
           ", softhsm2-util) is not installed: run scripts/install-deps.sh";
  }
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "tokens");
  std::ofstream(dir / "softhsm2.conf")
      << "directories.tokendir = " << (dir / "tokens").string()
      << "\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n";
  ::setenv("SOFTHSM2_CONF", (dir / "softhsm2.conf").c_str(), 1);
  const std::filesystem::path log = dir / "softhsm2-util.log";
  for (const std::string& label : labels) {
    std::string cmd = "softhsm2-util --init-token --free --label " + label + " --pin " + pin +
                      " --so-pin so-" + pin + " >" + log.string() + " 2>&1";
    int rc = std::system(cmd.c_str());
    if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
      std::ifstream in(log);
      return "softhsm2-util --init-token failed: " +
             std::string(std::istreambuf_iterator<char>(in), {});
    }
  }
  return "";
}

}  // namespace scytale::keystore::testing
