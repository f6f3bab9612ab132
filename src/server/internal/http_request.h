// What a session does with a request between the socket and the Handler, kept apart from I/O
// so that fuzz/http_fuzzer.cc parses and converts requests with the server's own code: the
// parser's limits, and a parsed Beast request turned into a server::HttpRequest.
#pragma once

#include <boost/beast/http.hpp>
#include <string>

#include "server/server.h"

namespace scytale::server::internal {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;
using BeastRequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// Sets a fresh parser's header and body limits from `options` (max_header_bytes,
// max_body_bytes). Past them the parser fails with http::error::header_limit or body_limit,
// which the server answers 431 or 413.
void ApplyRequestLimits(const ServerOptions& options, BeastRequestParser& parser);

// The request as the Handler sees it: header names lowercased and a header sent several times
// given once, its values joined by "," in the order sent (RFC 9110 §5.3; SigV4 canonicalizes
// them so). The body is moved out of `request`; its method, target, version and keep-alive stay.
HttpRequest ToHttpRequest(BeastRequest& request, std::string remote_address, bool secure);

}  // namespace scytale::server::internal
