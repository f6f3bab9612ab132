// Identifiers: key ids (UUID v4, lowercase), request ids, access key ids.
#pragma once

#include <string>
#include <string_view>

namespace scytale {

// A random UUID v4 in lowercase 8-4-4-4-12 form, as AWS key ids and request ids are.
std::string NewUuid();
// True for a lowercase-or-uppercase 8-4-4-4-12 hex UUID.
bool IsUuid(std::string_view s);

}  // namespace scytale
