#include "server/internal/http_request.h"

#include <cctype>
#include <string_view>

namespace scytale::server::internal {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace

void ApplyRequestLimits(const ServerOptions& options, BeastRequestParser& parser) {
  parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
  parser.body_limit(options.max_body_bytes);
}

HttpRequest ToHttpRequest(BeastRequest& request, std::string remote_address, bool secure) {
  HttpRequest out;
  out.method = std::string(request.method_string());
  out.target = std::string(request.target());
  for (const auto& field : request) {
    std::string name = Lower(field.name_string());
    auto existing = out.headers.find(name);
    if (existing != out.headers.end()) {
      existing->second += ",";
      existing->second += std::string(field.value());
    } else {
      out.headers.emplace(std::move(name), std::string(field.value()));
    }
  }
  out.body = std::move(request.body());
  out.remote_address = std::move(remote_address);
  out.secure = secure;
  return out;
}

}  // namespace scytale::server::internal
