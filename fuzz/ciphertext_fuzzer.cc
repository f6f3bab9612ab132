// The symmetric ciphertext blob parser (kms/internal/ciphertext.h), which Decrypt and ReEncrypt
// run on bytes from the client before knowing which key they belong to.
//
// Input: a blob. Whatever parses is then opened under a fixed key that no input was sealed
// with, so every open must fail with kInvalidCiphertext (and never hand out plaintext).
#include "common/encoding.h"
#include "fuzz/fuzz_util.h"
#include "kms/internal/ciphertext.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace scytale;
  using namespace scytale::kms::internal;
  static const crypto::SecretBytes kKey(Bytes(32, 0x5a));
  auto parsed = ParseBlob(std::span<const uint8_t>(data, size));
  if (!parsed) {
    if (parsed.error().code != ErrorCode::kInvalidCiphertext) {
      fuzz::Fail("ParseBlob failed with a code other than kInvalidCiphertext");
    }
    return 0;
  }
  // The spans lie inside the input and the header round-trips through SealBlob's framing.
  const uint8_t* end = data + size;
  for (auto part : {parsed->header_bytes, parsed->salt, parsed->iv, parsed->ciphertext_and_tag}) {
    if (part.data() < data || part.data() + part.size() > end) {
      fuzz::Fail("ParseBlob returned a span outside the blob");
    }
  }
  auto opened = OpenBlob(*parsed, kKey, {{"purpose", "fuzz"}});
  if (opened || opened.error().code != ErrorCode::kInvalidCiphertext) {
    fuzz::Fail("OpenBlob of an unauthenticated blob did not fail with kInvalidCiphertext");
  }
  return 0;
}
