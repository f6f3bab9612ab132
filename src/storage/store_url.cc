// RedactStoreUrl: connection strings go to logs and error messages only without their password.

#include <regex>

#include "storage/storage.h"

namespace scytale::storage {

std::string RedactStoreUrl(const std::string& url) {
  std::string out = url;
  // URI form: scheme://user:password@host... (the last '@' of the authority ends the userinfo;
  // a password may itself hold '@' or ':').
  if (size_t scheme = out.find("://"); scheme != std::string::npos) {
    size_t start = scheme + 3;
    size_t end = out.find_first_of("/?", start);
    if (end == std::string::npos) {
      end = out.size();
    }
    size_t at = out.rfind('@', end);
    if (at != std::string::npos && at >= start) {
      size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) {
        out.replace(colon + 1, at - colon - 1, "***");
      }
    }
  }
  // password=... as a URI parameter or in the key=value form (possibly quoted).
  static const std::regex kPasswordParam(R"((password\s*=\s*)('(?:[^'\\]|\\.)*'|[^&\s]*))",
                                         std::regex::icase);
  return std::regex_replace(out, kPasswordParam, "$1***");
}

}  // namespace scytale::storage
