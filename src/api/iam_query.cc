#include "api/iam_query.h"

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <exception>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "common/encoding.h"
#include "crypto/crypto.h"

namespace scytale::api {
namespace {

// The two query dialects. botocore finds the result by element name (<XResult>, resultWrapper
// in the model), so the namespace is cosmetic, but it is what AWS sends.
struct Dialect {
  std::string_view service;
  std::string_view xmlns;
  std::string_view version;
  std::string_view internal_error_code;  // IAM: ServiceFailure, STS: InternalFailure
};
constexpr Dialect kIam{"iam", "https://iam.amazonaws.com/doc/2010-05-08/", "2010-05-08",
                       "ServiceFailure"};
constexpr Dialect kSts{"sts", "https://sts.amazonaws.com/doc/2011-06-15/", "2011-06-15",
                       "InternalFailure"};

const Dialect& DialectOf(std::string_view service) { return service == "sts" ? kSts : kIam; }

// AWS's own text for a failure on its side; the detail goes to the log, never to the client.
constexpr std::string_view kInternalMessage =
    "The request processing has failed because of an unknown error, exception or failure.";

// ---- XML ------------------------------------------------------------------------------------

// Calls emit() with the escaped form of `text`: the five XML specials as entities, CR as a
// character reference (a parser would fold a literal one into LF), and every byte sequence XML
// 1.0 cannot carry (control characters, invalid UTF-8, surrogates, U+FFFE/U+FFFF) as U+FFFD, so
// that whatever a stored name holds, botocore's expat parser accepts the document.
template <class Emit>
void EscapeXml(std::string_view text, Emit&& emit) {
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '&':
          emit("&amp;");
          break;
        case '<':
          emit("&lt;");
          break;
        case '>':
          emit("&gt;");
          break;
        case '"':
          emit("&quot;");
          break;
        case '\'':
          emit("&apos;");
          break;
        case '\r':
          emit("&#13;");
          break;
        case '\t':
        case '\n':
          emit(text.substr(i, 1));
          break;
        default:
          emit(c < 0x20 ? kReplacement : text.substr(i, 1));
          break;
      }
      ++i;
      continue;
    }
    // A multi-byte UTF-8 sequence: its length, the smallest code point it may encode (to refuse
    // overlong forms) and its value.
    size_t length = 0;
    uint32_t min = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      length = 2, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3, min = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4, min = 0x10000, cp = c & 0x07;
    }
    bool valid = length != 0 && i + length <= text.size();
    for (size_t k = 1; valid && k < length; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      valid = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    valid = valid && cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF) &&
            cp != 0xFFFE && cp != 0xFFFF;
    if (valid) {
      emit(text.substr(i, length));
      i += length;
    } else {
      emit(kReplacement);
      ++i;
    }
  }
}

void AppendEscaped(std::string& out, std::string_view text) {
  EscapeXml(text, [&out](std::string_view piece) { out.append(piece); });
}

size_t EscapedSize(std::string_view text) {
  size_t size = 0;
  EscapeXml(text, [&size](std::string_view piece) { size += piece.size(); });
  return size;
}

void Open(std::string& out, std::string_view name) { out.append("<").append(name).append(">"); }

void Close(std::string& out, std::string_view name) { out.append("</").append(name).append(">"); }

// <name>text</name>, text escaped. `name` is always one of ours, never client input.
void Element(std::string& out, std::string_view name, std::string_view text) {
  Open(out, name);
  AppendEscaped(out, text);
  Close(out, name);
}

// ISO 8601 in UTC, as IAM and STS write timestamps: 2026-11-28T15:04:05Z.
std::string IsoTime(int64_t epoch_seconds) {
  const auto t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) {
    return "1970-01-01T00:00:00Z";
  }
  char buffer[96];  // room for any int fields, so the format can never truncate
  std::snprintf(buffer, sizeof(buffer), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buffer;
}

// IAM returns policy documents percent-encoded (RFC 3986: all but unreserved characters);
// boto3 and the CLI unquote them before json.loads.
std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0F]);
    }
  }
  return out;
}

// ---- Errors ---------------------------------------------------------------------------------

// An error in the query protocol's own terms.
struct QueryError {
  int status;
  std::string_view code;
  std::string message;
};

QueryError ToQueryError(const Dialect& dialect, const Error& error) {
  auto client = [&error](int status, std::string_view code) {
    return QueryError{status, code, error.message};
  };
  switch (error.code) {
    case ErrorCode::kNotFound:
      return client(404, "NoSuchEntity");
    case ErrorCode::kAlreadyExists:
      return client(409, "EntityAlreadyExists");
    case ErrorCode::kConflict:
      return client(409, "DeleteConflict");
    case ErrorCode::kLimitExceeded:
      return client(409, "LimitExceeded");
    case ErrorCode::kMalformedPolicyDocument:
      return client(400, "MalformedPolicyDocument");
    case ErrorCode::kAccessDenied:
      return client(403, "AccessDenied");
    case ErrorCode::kInvalidSignature:
      return client(403, "SignatureDoesNotMatch");
    case ErrorCode::kIncompleteSignature:
      return client(400, "IncompleteSignature");
    case ErrorCode::kMissingAuthenticationToken:
      return client(403, "MissingAuthenticationToken");
    case ErrorCode::kUnrecognizedClient:
      return client(403, "InvalidClientTokenId");
    case ErrorCode::kExpiredToken:
      return client(400, "ExpiredToken");
    case ErrorCode::kThrottling:
      return client(400, "Throttling");
    case ErrorCode::kRequestTooLarge:
      return client(413, "RequestEntityTooLarge");
    case ErrorCode::kUnknownOperation:
      return client(400, "InvalidAction");
    // IAM and STS have no finer names for these; all are the client's input being wrong.
    case ErrorCode::kValidation:
    case ErrorCode::kSerialization:
    case ErrorCode::kUnsupportedOperation:
    case ErrorCode::kInvalidArn:
    case ErrorCode::kDisabled:
    case ErrorCode::kInvalidState:
    case ErrorCode::kInvalidCiphertext:
    case ErrorCode::kIncorrectKey:
    case ErrorCode::kInvalidKeyUsage:
    case ErrorCode::kInvalidMarker:
    case ErrorCode::kInvalidGrantToken:
    case ErrorCode::kInvalidGrantId:
    case ErrorCode::kInvalidImportToken:
    case ErrorCode::kExpiredImportToken:
    case ErrorCode::kIncorrectKeyMaterial:
    case ErrorCode::kKmsInvalidSignature:
    case ErrorCode::kKmsInvalidMac:
    case ErrorCode::kTag:
    case ErrorCode::kDryRun:
    case ErrorCode::kCustomKeyStoreNotFound:
    case ErrorCode::kCustomKeyStoreInvalidState:
    case ErrorCode::kCustomKeyStoreNameInUse:
    case ErrorCode::kCustomKeyStoreHasCmks:
    case ErrorCode::kCloudHsmClusterNotFound:
    case ErrorCode::kCloudHsmClusterInUse:
    case ErrorCode::kCloudHsmClusterNotRelated:
    case ErrorCode::kIncorrectTrustAnchor:
    case ErrorCode::kInvalidAliasName:
      return client(400, "ValidationError");
    case ErrorCode::kInternal:
    case ErrorCode::kDependencyTimeout:
    case ErrorCode::kKeyUnavailable:
      break;
  }
  return QueryError{500, dialect.internal_error_code, std::string(kInternalMessage)};
}

QueryResponse ErrorDocument(const Dialect& dialect, const QueryError& error,
                            const std::string& request_id) {
  QueryResponse response;
  response.status = error.status;
  std::string& out = response.body;
  out.append("<ErrorResponse xmlns=\"").append(dialect.xmlns).append("\">");
  Open(out, "Error");
  Element(out, "Type", error.status >= 500 ? "Receiver" : "Sender");
  Element(out, "Code", error.code);
  Element(out, "Message", error.message);
  Close(out, "Error");
  Element(out, "RequestId", request_id);
  Close(out, "ErrorResponse");
  return response;
}

// ---- Form decoding --------------------------------------------------------------------------

// application/x-www-form-urlencoded: '+' is a space, %XX a byte. nullopt on a broken escape,
// which is refused rather than guessed at.
std::optional<std::string> FormDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%') {
      if (i + 2 >= text.size()) {
        return std::nullopt;
      }
      const int hi = HexDigitValue(text[i + 1]);
      const int lo = HexDigitValue(text[i + 2]);
      if (hi < 0 || lo < 0) {
        return std::nullopt;
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

// The request's parameters in arrival order; lookups take the first of a repeated name.
class Params {
 public:
  // Adds the pairs of a form-encoded string; false when one does not decode.
  bool Parse(std::string_view form) {
    while (!form.empty()) {
      const size_t amp = form.find('&');
      std::string_view pair = form.substr(0, amp);
      form = amp == std::string_view::npos ? std::string_view() : form.substr(amp + 1);
      if (pair.empty()) {
        continue;
      }
      const size_t eq = pair.find('=');
      std::optional<std::string> name = FormDecode(pair.substr(0, eq));
      std::optional<std::string> value =
          FormDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
      if (!name || !value) {
        return false;
      }
      pairs_.emplace_back(std::move(*name), std::move(*value));
    }
    return true;
  }

  const std::string* Find(std::string_view name) const {
    for (const auto& [key, value] : pairs_) {
      if (key == name) {
        return &value;
      }
    }
    return nullptr;
  }

 private:
  std::vector<std::pair<std::string, std::string>> pairs_;
};

// AWS names a member in validation messages in lower camel case ("userName").
std::string MemberName(std::string_view parameter) {
  std::string name(parameter);
  if (!name.empty() && name[0] >= 'A' && name[0] <= 'Z') {
    name[0] = static_cast<char>(name[0] - 'A' + 'a');
  }
  return name;
}

Error ValidationFailure(std::string_view parameter, std::string_view value_text,
                        std::string_view constraint) {
  return MakeError(ErrorCode::kValidation,
                   "1 validation error detected: Value " + std::string(value_text) + " at '" +
                       MemberName(parameter) +
                       "' failed to satisfy constraint: " + std::string(constraint));
}

// An echoed value, quoted and cut short, as AWS quotes it in validation messages.
std::string Quoted(std::string_view value) {
  constexpr size_t kMaxEcho = 64;
  return "'" + std::string(value.substr(0, kMaxEcho)) + (value.size() > kMaxEcho ? "...'" : "'");
}

// A present parameter; the models give every name, ARN, path and document a minimum length of
// 1, so an empty one is refused as AWS refuses it.
Result<std::optional<std::string>> OptionalString(const Params& params, std::string_view name,
                                                  bool allow_empty = false) {
  const std::string* value = params.Find(name);
  if (value == nullptr) {
    return std::optional<std::string>();
  }
  if (value->empty() && !allow_empty) {
    return ValidationFailure(name, "''", "Member must have length greater than or equal to 1");
  }
  return std::optional<std::string>(*value);
}

Result<std::string> RequiredString(const Params& params, std::string_view name) {
  SCY_ASSIGN_OR_RETURN(std::optional<std::string> value, OptionalString(params, name));
  if (!value) {
    return ValidationFailure(name, "null", "Member must not be null");
  }
  return std::move(*value);
}

Result<std::optional<int>> OptionalInt(const Params& params, std::string_view name, int min,
                                       int max) {
  const std::string* value = params.Find(name);
  if (value == nullptr) {
    return std::optional<int>();
  }
  // Digits only (an optional leading '-'), with the magnitude capped before it can overflow.
  const std::string& text = *value;
  const bool negative = !text.empty() && text[0] == '-';
  const size_t first = negative ? 1 : 0;
  bool ok = text.size() > first && text.size() - first <= 10;
  int64_t number = 0;
  for (size_t i = first; ok && i < text.size(); ++i) {
    ok = text[i] >= '0' && text[i] <= '9';
    number = number * 10 + (text[i] - '0');
  }
  if (!ok) {
    return ValidationFailure(name, Quoted(text), "Member must be a number");
  }
  number = negative ? -number : number;
  if (number < min) {
    return ValidationFailure(
        name, Quoted(text),
        "Member must have value greater than or equal to " + std::to_string(min));
  }
  if (number > max) {
    return ValidationFailure(name, Quoted(text),
                             "Member must have value less than or equal to " + std::to_string(max));
  }
  return std::optional<int>(static_cast<int>(number));
}

// ---- Operations -----------------------------------------------------------------------------

// An operation's answer: the content of its <XResult> element, if it has one. A secret (the
// SecretAccessKey of CreateAccessKey and AssumeRole) is kept apart and escaped straight into
// the final body, between `result` and `result_tail`, so no other string ever holds it.
struct Output {
  bool has_result = false;
  std::string result;
  crypto::SecretBytes secret;
  std::string result_tail;
};

Output NoResult() { return Output{}; }

Output WithResult(std::string result) {
  Output output;
  output.has_result = true;
  output.result = std::move(result);
  return output;
}

// <IsTruncated> and, when truncated, the <Marker> that fetches the next page.
void AppendPaging(std::string& out, bool is_truncated, const std::optional<std::string>& marker) {
  Element(out, "IsTruncated", is_truncated ? "true" : "false");
  if (is_truncated && marker.has_value()) {
    Element(out, "Marker", *marker);
  }
}

void AppendUser(std::string& out, const iam::User& user) {
  Element(out, "Path", user.path);
  Element(out, "UserName", user.user_name);
  Element(out, "UserId", user.user_id);
  Element(out, "Arn", user.arn);
  Element(out, "CreateDate", IsoTime(user.create_date));
}

void AppendRole(std::string& out, const iam::Role& role) {
  Element(out, "Path", role.path);
  Element(out, "RoleName", role.role_name);
  Element(out, "RoleId", role.role_id);
  Element(out, "Arn", role.arn);
  Element(out, "CreateDate", IsoTime(role.create_date));
  Element(out, "AssumeRolePolicyDocument", UrlEncode(role.assume_role_policy_document));
  if (!role.description.empty()) {
    Element(out, "Description", role.description);
  }
  Element(out, "MaxSessionDuration", std::to_string(role.max_session_duration));
}

void AppendPolicyNames(std::string& out, const iam::ListPolicyNamesResult& listed) {
  Open(out, "PolicyNames");
  for (const std::string& name : listed.policy_names) {
    Element(out, "member", name);
  }
  Close(out, "PolicyNames");
  AppendPaging(out, listed.is_truncated, listed.marker);
}

class QueryApiImpl final : public QueryApi {
 public:
  explicit QueryApiImpl(iam::IamService* iam) : iam_(iam) {}

  QueryResponse Handle(const iam::Caller& caller, std::string_view service, std::string_view query,
                       std::string_view body, const std::string& request_id) override {
    const Dialect& dialect = DialectOf(service);
    try {
      return HandleOrThrow(dialect, caller, service, query, body, request_id);
    } catch (const std::exception&) {
      // Out of memory or a bug in a dependency; the server logs by request id.
    } catch (...) {
    }
    return ErrorDocument(
        dialect, QueryError{500, dialect.internal_error_code, std::string(kInternalMessage)},
        request_id);
  }

 private:
  using Handler = Result<Output> (QueryApiImpl::*)(const iam::Caller&, const Params&);
  struct Operation {
    std::string_view name;
    Handler handler;
  };

  std::span<const Operation> OperationsOf(const Dialect& dialect) const {
    static const Operation kIamOperations[] = {
        {"CreateUser", &QueryApiImpl::CreateUser},
        {"GetUser", &QueryApiImpl::GetUser},
        {"ListUsers", &QueryApiImpl::ListUsers},
        {"DeleteUser", &QueryApiImpl::DeleteUser},
        {"CreateAccessKey", &QueryApiImpl::CreateAccessKey},
        {"ListAccessKeys", &QueryApiImpl::ListAccessKeys},
        {"UpdateAccessKey", &QueryApiImpl::UpdateAccessKey},
        {"DeleteAccessKey", &QueryApiImpl::DeleteAccessKey},
        {"PutUserPolicy", &QueryApiImpl::PutUserPolicy},
        {"GetUserPolicy", &QueryApiImpl::GetUserPolicy},
        {"ListUserPolicies", &QueryApiImpl::ListUserPolicies},
        {"DeleteUserPolicy", &QueryApiImpl::DeleteUserPolicy},
        {"CreateRole", &QueryApiImpl::CreateRole},
        {"GetRole", &QueryApiImpl::GetRole},
        {"DeleteRole", &QueryApiImpl::DeleteRole},
        {"PutRolePolicy", &QueryApiImpl::PutRolePolicy},
        {"GetRolePolicy", &QueryApiImpl::GetRolePolicy},
        {"ListRolePolicies", &QueryApiImpl::ListRolePolicies},
        {"DeleteRolePolicy", &QueryApiImpl::DeleteRolePolicy},
    };
    static const Operation kStsOperations[] = {
        {"GetCallerIdentity", &QueryApiImpl::GetCallerIdentity},
        {"AssumeRole", &QueryApiImpl::AssumeRole},
    };
    if (&dialect == &kSts) {
      return kStsOperations;
    }
    return kIamOperations;
  }

  QueryResponse HandleOrThrow(const Dialect& dialect, const iam::Caller& caller,
                              std::string_view service, std::string_view query,
                              std::string_view body, const std::string& request_id) {
    if (service != kIam.service && service != kSts.service) {
      // The server routes only these two signing names here.
      return ErrorDocument(
          dialect,
          QueryError{400, "InvalidAction", "Could not find service " + std::string(service)},
          request_id);
    }
    Params params;
    if (!params.Parse(query) || !params.Parse(body)) {
      return ErrorDocument(
          dialect,
          QueryError{400, "MalformedQueryString", "The request parameters are not form-encoded."},
          request_id);
    }
    const std::string* action = params.Find("Action");
    if (action == nullptr || action->empty()) {
      return ErrorDocument(dialect, QueryError{400, "MissingAction", "Missing Action"}, request_id);
    }
    const std::string* version = params.Find("Version");
    const std::string_view asked_version = version != nullptr ? *version : dialect.version;
    const Operation* operation = nullptr;
    if (asked_version == dialect.version) {
      for (const Operation& candidate : OperationsOf(dialect)) {
        if (candidate.name == *action) {
          operation = &candidate;
          break;
        }
      }
    }
    if (operation == nullptr) {
      return ErrorDocument(dialect,
                           QueryError{400, "InvalidAction",
                                      "Could not find operation " + *action + " for version " +
                                          std::string(asked_version)},
                           request_id);
    }
    Result<Output> output = (this->*(operation->handler))(caller, params);
    if (!output.has_value()) {
      return ErrorDocument(dialect, ToQueryError(dialect, output.error()), request_id);
    }
    return Envelope(dialect, operation->name, *output, request_id);
  }

  // <XResponse xmlns><XResult>...</XResult><ResponseMetadata>...</ResponseMetadata></XResponse>
  // `action` is the canonical name from the operation table. The body is allocated once at its
  // final size, so a secret in it is never left behind in a freed buffer by a reallocation.
  static QueryResponse Envelope(const Dialect& dialect, std::string_view action,
                                const Output& output, const std::string& request_id) {
    const std::string response_name = std::string(action) + "Response";
    const std::string result_name = std::string(action) + "Result";
    std::string head;
    head.append("<").append(response_name).append(" xmlns=\"").append(dialect.xmlns).append("\">");
    std::string tail;
    if (output.has_result) {
      Open(head, result_name);
      head.append(output.result);
      tail.append(output.result_tail);
      Close(tail, result_name);
    }
    Open(tail, "ResponseMetadata");
    Element(tail, "RequestId", request_id);
    Close(tail, "ResponseMetadata");
    Close(tail, response_name);

    const std::string_view secret = AsString(output.secret.Reveal(crypto::KeyAccess::Grant()));
    QueryResponse response;
    response.body.reserve(head.size() + EscapedSize(secret) + tail.size());
    response.body.append(head);
    AppendEscaped(response.body, secret);
    response.body.append(tail);
    return response;
  }

  // -- Users --

  Result<Output> CreateUser(const iam::Caller& caller, const Params& params) {
    SCY_ASSIGN_OR_RETURN(std::string user_name, RequiredString(params, "UserName"));
    SCY_ASSIGN_OR_RETURN(std::optional<std::string> path, OptionalString(params, "Path"));
    SCY_ASSIGN_OR_RETURN(iam::User user, iam_->CreateUser(caller, user_name, path.value_or("/")));
    std::string out;
    Open(out, "User");
    AppendUser(out, user);
    Close(out, "User");
    return WithResult(std::move(out));
  }

  Result<Output> GetUser(const iam::Caller& caller, const Params& params) {
    SCY_ASSIGN_OR_RETURN(std::optional<std::string> user_name, OptionalString(params, "UserName"));
    SCY_ASSIGN_OR_RETURN(iam::User user, iam_->GetUser(caller, user_name));
    std::string out;
    Open(out, "User");
    AppendUser(out, user);
    Close(out, "User");
    return WithResult(std::move(out));
  }

  Result<Output> ListUsers(const iam::Caller& caller, const Params& params) {
    SCY_ASSIGN_OR_RETURN(std::optional<std::string> path_prefix,
                         OptionalString(params, "PathPrefix"));
    SCY_ASSIGN_OR_RETURN(std::optional<std::string> marker, OptionalString(params, "Marker"));
    SCY_ASSIGN_OR_RETURN(std::optional<int> max_items, OptionalInt(params, "MaxItems", 1, 1000));
    SCY_ASSIGN_OR_RETURN(iam::ListUsersResult listed,
                         iam_->ListUsers(caller, path_prefix.value_or("/"), marker, max_items));
    std::string out;
    Open(out, "Users");
    for (const iam::User& user : listed.users) {
      Open(out, "member");
      AppendUser(out, user);
      Close(out, "member");
    }
    Close(out, "Users");
    AppendPaging(out, listed.is_truncated, listed.marker);
    return WithResult(std::move(out));
  }

  Result<Output> DeleteUser(const iam::Caller& caller, const Params& params) {
    SCY_ASSIGN_OR_RETURN(std::string user_name, RequiredString(params, "UserName"));
    SCY_RETURN_IF_ERROR(iam_->DeleteUser(caller, user_name));
    return NoResult();
  }

  // -- Access keys --

  Result<Output> CreateAccessKey(const iam::Caller& caller, const Params& params) {
    SCY_ASSIGN_OR_RETURN(std::optional<std::string> user_name, OptionalString(params, "UserName"));
    SCY_ASSIGN_OR_RETURN(iam::NewAccessKey key, iam_->CreateAccessKey(caller, user_name));
    Output output;
    output.has_result = true;
    Open(output.result, "AccessKey");
    Element(output.result, "UserName", key.metadata.user_name);
    Element(output.result, "AccessKeyId", key.metadata.access_key_id);
    Element(output.result, "Status", key.metadata.status);
    Open(output.result, "SecretAccessKey");
    output.secret = std::move(key.secret_access_key);
    Close(output.result_tail, "SecretAccessKey");
    Element(output.result_tail, "CreateDate", IsoTime(key.metadata.create_date));
    Close(output.result_tail, "AccessKey");
    return output;
  }

  Result<Output> ListAccessKeys(const iam::Caller& caller, const Params& params) {
    SCY_ASSIGN_OR_RETURN(std::optional<std::string> user_name, OptionalString(params, "UserName"));
    SCY_ASSIGN_OR_RETURN(std::optional<std::string> marker, OptionalString(params, "Marker"));
    SCY_ASSIGN_OR_RETURN(std::optional<int> max_items, OptionalInt(params, "MaxItems", 1, 1000));
    SCY_ASSIGN_OR_RETURN(iam::ListAccessKeysResult listed,
                         iam_->ListAccessKeys(caller, user_name, marker, max_items));
    std::string out;
    Open(out, "AccessKeyMetadata");
    for (const iam::AccessKeyMetadata& key : listed.keys) {
      Open(out, "member");
      Element(out, "UserName", key.user_name);
      Element(out, "AccessKeyId", key.access_key_id);
      Element(out, "Status", key.status);
      Element(out, "CreateDate", IsoTime(key.create_date));
      Close(out, "member");
    }
    Close(out, "AccessKeyMetadata");
    AppendPaging(out, listed.is_truncated, listed.marker);
    return WithResult(std::move(out));
  }

  Result<Output> UpdateAccessKey(const iam::Caller& caller, const Params& params) {
    SCY_ASSIGN_OR_RETURN(std::optional<std::string> user_name, OptionalString(params, "UserName"));
    SCY_ASSIGN_OR_RETURN(std::string access_key_id, RequiredString(params, "AccessKeyId"));
    SCY_ASSIGN_OR_RETURN(std::string status, RequiredString(params, "Status"));
    SCY_RETURN_IF_ERROR(iam_->UpdateAccessKey(caller, user_name, access_key_id, status));
    return NoResult();
  }

  Result<Output> DeleteAccessKey(const iam::Caller& caller, const Params& params) {
    SCY_ASSIGN_OR_RETURN(std::optional<std::string> user_name, OptionalString(params, "UserName"));
    SCY_ASSIGN_OR_RETURN(std::string access_key_id, RequiredString(params, "AccessKeyId"));
    SCY_RETURN_IF_ERROR(iam_->DeleteAccessKey(caller, user_name, access_key_id));
    return NoResult();
  }

  // -- User policies --

  Result<Output> PutUserPolicy(const iam::Caller& caller, const Params& params) {
    SCY_ASSIGN_OR_RETURN(std::string user_name, RequiredString(params, "UserName"));
    SCY_ASSIGN_OR_RETURN(std::string policy_name, RequiredString(params, "PolicyName"));
    SCY_ASSIGN_OR_RETURN(std::string document, RequiredString(params, "PolicyDocument"));
    SCY_RETURN_IF_ERROR(iam_->PutUserPolicy(caller, user_name, policy_name, document));
    return NoResult();
  }

  Result<Output> GetUserPolicy(const iam::Caller& caller, const Params& params) {
    SCY_ASSIGN_OR_RETURN(std::string user_name, RequiredString(params, "UserName"));
    SCY_ASSIGN_OR_RETURN(std::string policy_name, RequiredString(params, "PolicyName"));
    SCY_ASSIGN_OR_RETURN(std::string document, iam_->GetUserPolicy(caller, user_name, policy_name));
    std::string out;
    Element(out, "UserName", user_name);
    Element(out, "PolicyName", policy_name);
    Element(out, "PolicyDocument", UrlEncode(document));
    return WithResult(std::move(out));
  }

  Result<Output> ListUserPolicies(const iam::Caller& caller, const Params& params) {
    SCY_ASSIGN_OR_RETURN(std::string user_name, RequiredString(params, "UserName"));
    SCY_ASSIGN_OR_RETURN(std::optional<std::string> marker, OptionalString(params, "Marker"));
    SCY_ASSIGN_OR_RETURN(std::optional<int> max_items, OptionalInt(params, "MaxItems", 1, 1000));
    SCY_ASSIGN_OR_RETURN(iam::ListPolicyNamesResult listed,
                         iam_->ListUserPolicies(caller, user_name, marker, max_items));
    std::string out;
    AppendPolicyNames(out, listed);
    return WithResult(std::move(out));
  }

  Result<Output> DeleteUserPolicy(const iam::Caller& caller, const Params& params) {
    SCY_ASSIGN_OR_RETURN(std::string user_name, RequiredString(params, "UserName"));
    SCY_ASSIGN_OR_RETURN(std::string policy_name, RequiredString(params, "PolicyName"));
    SCY_RETURN_IF_ERROR(iam_->DeleteUserPolicy(caller, user_name, policy_name));
    return NoResult();
  }

  // -- Roles --

  Result<Output> CreateRole(const iam::Caller& caller, const Params& params) {
    SCY_ASSIGN_OR_RETURN(std::string role_name, RequiredString(params, "RoleName"));
    SCY_ASSIGN_OR_RETURN(std::optional<std::string> path, OptionalString(params, "Path"));
    SCY_ASSIGN_OR_RETURN(std::string trust_policy,
                         RequiredString(params, "AssumeRolePolicyDocument"));
    SCY_ASSIGN_OR_RETURN(std::optional<std::string> description,
                         OptionalString(params, "Description", /*allow_empty=*/true));
    SCY_ASSIGN_OR_RETURN(std::optional<int> max_session_duration,
                         OptionalInt(params, "MaxSessionDuration", 3600, 43200));
    SCY_ASSIGN_OR_RETURN(iam::Role role,
                         iam_->CreateRole(caller, role_name, path.value_or("/"), trust_policy,
                                          description.value_or(""), max_session_duration));
    std::string out;
    Open(out, "Role");
    AppendRole(out, role);
    Close(out, "Role");
    return WithResult(std::move(out));
  }

  Result<Output> GetRole(const iam::Caller& caller, const Params& params) {
    SCY_ASSIGN_OR_RETURN(std::string role_name, RequiredString(params, "RoleName"));
    SCY_ASSIGN_OR_RETURN(iam::Role role, iam_->GetRole(caller, role_name));
    std::string out;
    Open(out, "Role");
    AppendRole(out, role);
    Close(out, "Role");
    return WithResult(std::move(out));
  }

  Result<Output> DeleteRole(const iam::Caller& caller, const Params& params) {
    SCY_ASSIGN_OR_RETURN(std::string role_name, RequiredString(params, "RoleName"));
    SCY_RETURN_IF_ERROR(iam_->DeleteRole(caller, role_name));
    return NoResult();
  }

  Result<Output> PutRolePolicy(const iam::Caller& caller, const Params& params) {
    SCY_ASSIGN_OR_RETURN(std::string role_name, RequiredString(params, "RoleName"));
    SCY_ASSIGN_OR_RETURN(std::string policy_name, RequiredString(params, "PolicyName"));
    SCY_ASSIGN_OR_RETURN(std::string document, RequiredString(params, "PolicyDocument"));
    SCY_RETURN_IF_ERROR(iam_->PutRolePolicy(caller, role_name, policy_name, document));
    return NoResult();
  }

  Result<Output> GetRolePolicy(const iam::Caller& caller, const Params& params) {
    SCY_ASSIGN_OR_RETURN(std::string role_name, RequiredString(params, "RoleName"));
    SCY_ASSIGN_OR_RETURN(std::string policy_name, RequiredString(params, "PolicyName"));
    SCY_ASSIGN_OR_RETURN(std::string document, iam_->GetRolePolicy(caller, role_name, policy_name));
    std::string out;
    Element(out, "RoleName", role_name);
    Element(out, "PolicyName", policy_name);
    Element(out, "PolicyDocument", UrlEncode(document));
    return WithResult(std::move(out));
  }

  Result<Output> ListRolePolicies(const iam::Caller& caller, const Params& params) {
    SCY_ASSIGN_OR_RETURN(std::string role_name, RequiredString(params, "RoleName"));
    SCY_ASSIGN_OR_RETURN(std::optional<std::string> marker, OptionalString(params, "Marker"));
    SCY_ASSIGN_OR_RETURN(std::optional<int> max_items, OptionalInt(params, "MaxItems", 1, 1000));
    SCY_ASSIGN_OR_RETURN(iam::ListPolicyNamesResult listed,
                         iam_->ListRolePolicies(caller, role_name, marker, max_items));
    std::string out;
    AppendPolicyNames(out, listed);
    return WithResult(std::move(out));
  }

  Result<Output> DeleteRolePolicy(const iam::Caller& caller, const Params& params) {
    SCY_ASSIGN_OR_RETURN(std::string role_name, RequiredString(params, "RoleName"));
    SCY_ASSIGN_OR_RETURN(std::string policy_name, RequiredString(params, "PolicyName"));
    SCY_RETURN_IF_ERROR(iam_->DeleteRolePolicy(caller, role_name, policy_name));
    return NoResult();
  }

  // -- STS --

  // Needs no permission, as in AWS: UserId is the account id for a root, the AIDA id for a
  // user and "<AROA id>:<session>" for a role session.
  Result<Output> GetCallerIdentity(const iam::Caller& caller, const Params&) {
    SCY_ASSIGN_OR_RETURN(iam::CallerIdentity identity, iam_->GetCallerIdentity(caller));
    std::string out;
    Element(out, "Arn", identity.arn);
    Element(out, "UserId", identity.user_id);
    Element(out, "Account", identity.account);
    return WithResult(std::move(out));
  }

  Result<Output> AssumeRole(const iam::Caller& caller, const Params& params) {
    SCY_ASSIGN_OR_RETURN(std::string role_arn, RequiredString(params, "RoleArn"));
    SCY_ASSIGN_OR_RETURN(std::string session_name, RequiredString(params, "RoleSessionName"));
    SCY_ASSIGN_OR_RETURN(std::optional<int> duration,
                         OptionalInt(params, "DurationSeconds", 900, 43200));
    SCY_ASSIGN_OR_RETURN(iam::AssumedRole assumed,
                         iam_->AssumeRole(caller, role_arn, session_name, duration));
    Output output;
    output.has_result = true;
    Open(output.result, "AssumedRoleUser");
    Element(output.result, "AssumedRoleId", assumed.assumed_role_id);
    Element(output.result, "Arn", assumed.assumed_role_arn);
    Close(output.result, "AssumedRoleUser");
    Open(output.result, "Credentials");
    Element(output.result, "AccessKeyId", assumed.access_key_id);
    Open(output.result, "SecretAccessKey");
    output.secret = std::move(assumed.secret_access_key);
    Close(output.result_tail, "SecretAccessKey");
    Element(output.result_tail, "SessionToken", assumed.session_token);
    Element(output.result_tail, "Expiration", IsoTime(assumed.expiration));
    Close(output.result_tail, "Credentials");
    return output;
  }

  iam::IamService* iam_;
};

}  // namespace

std::unique_ptr<QueryApi> QueryApi::Create(iam::IamService* iam) {
  return std::make_unique<QueryApiImpl>(iam);
}

QueryResponse QueryErrorResponse(std::string_view service, const Error& error,
                                 const std::string& request_id) {
  const Dialect& dialect = DialectOf(service);
  return ErrorDocument(dialect, ToQueryError(dialect, error), request_id);
}

}  // namespace scytale::api
