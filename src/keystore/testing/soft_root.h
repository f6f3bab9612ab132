// A soft root keystore for tests: a fresh master key file in a test's directory.
#pragma once

#include <filesystem>
#include <memory>

#include "keystore/keystore.h"

namespace scytale::keystore::testing {

// Opens (creating on first use) the soft keystore `dir`/root.key, without a passphrase. Throws
// (std::bad_expected_access) when it cannot, which fails the test.
inline std::unique_ptr<RootKeystore> OpenSoftRoot(const std::filesystem::path& dir) {
  SoftOptions options;
  options.path = dir / "root.key";
  return OpenSoftKeystore(options).value();
}

}  // namespace scytale::keystore::testing
