// Identifiers: key ids (UUID v4, lowercase), request ids, access key ids.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace scytale {

// A random UUID v4 in lowercase 8-4-4-4-12 form, as AWS key ids and request ids are.
std::string NewUuid();
// True for a lowercase-or-uppercase 8-4-4-4-12 hex UUID.
bool IsUuid(std::string_view s);

// Fills `out` with bytes from OpenSSL's public DRBG (RAND_bytes), for values that are unique and
// unpredictable but not secret: ids, IVs, salts, nonces. Short requests are served from a
// per-thread pool drawn 4 KiB at a time, because a RAND_bytes call costs a lock and a DRBG
// round (two AES key schedules) whatever its size, more than a whole AES-GCM seal of a short
// message. The pool is no more exposed than the DRBG state beside it in memory. Not for keys
// (crypto::RandomSecret draws those from the private DRBG, unpooled), and not fork-safe: a
// forked child would repeat its parent's pool (the server does not fork). False if the DRBG
// fails.
[[nodiscard]] bool PublicRandomBytes(uint8_t* out, size_t size);

}  // namespace scytale
