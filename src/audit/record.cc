// CloudTrail event objects and the shared file-name formats.

#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <set>

#include "audit/audit.h"
#include "audit/internal/files.h"
#include "common/json_text.h"

namespace scytale::audit {
namespace internal {
namespace {

std::tm UtcTm(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

std::optional<uint64_t> SixteenDigits(std::string_view s) {
  if (s.size() < 16) {
    return std::nullopt;
  }
  uint64_t v = 0;
  for (char c : s.substr(0, 16)) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

}  // namespace

std::string FormatTime(std::chrono::system_clock::time_point t) {
  std::tm tm = UtcTm(t);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string DayOf(std::chrono::system_clock::time_point t) {
  std::tm tm = UtcTm(t);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%Y%m%d", &tm);
  return buf;
}

std::string LogFileName(uint64_t first_sequence, const std::string& day, int attempt) {
  char buf[96];
  if (attempt == 0) {
    std::snprintf(buf, sizeof(buf), "audit-%016" PRIu64 "-%s.jsonl", first_sequence, day.c_str());
  } else {
    std::snprintf(buf, sizeof(buf), "audit-%016" PRIu64 "-%s.%d.jsonl", first_sequence, day.c_str(),
                  attempt);
  }
  return buf;
}

std::optional<uint64_t> LogFileSequence(std::string_view name) {
  if (!name.starts_with("audit-") || !name.ends_with(".jsonl")) {
    return std::nullopt;
  }
  return SixteenDigits(name.substr(6));
}

std::string DigestFileName(uint64_t number) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "digest-%016" PRIu64 ".json", number);
  return buf;
}

std::optional<uint64_t> DigestFileNumber(std::string_view name) {
  if (!name.starts_with("digest-") || !name.ends_with(".json") || name.size() != 7 + 16 + 5) {
    return std::nullopt;
  }
  return SixteenDigits(name.substr(7));
}

std::optional<ChainLink> ChainOf(const nlohmann::json& record) {
  if (!record.is_object()) {
    return std::nullopt;
  }
  auto it = record.find(kChainMember);
  if (it == record.end() || !it->is_object()) {
    return std::nullopt;
  }
  auto seq = it->find("seq");
  auto prev = it->find("prev");
  if (seq == it->end() || !seq->is_number_unsigned() || prev == it->end() || !prev->is_string()) {
    return std::nullopt;
  }
  return ChainLink{seq->get<uint64_t>(), prev->get<std::string>()};
}

std::string DigestSigningText(const nlohmann::json& digest) {
  nlohmann::json body = digest;
  body.erase("signature");
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace internal

namespace {

nlohmann::json OrNull(const std::string& s) {
  return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
}

// Field `index` (0-based) of arn:aws:kms:<region>:<account>:key/<id> (3: region, 4: account),
// or "" when the ARN has fewer fields.
std::string ArnField(const std::string& arn, int index) {
  size_t start = 0;
  for (int field = 0; field < index && start != std::string::npos; ++field) {
    start = arn.find(':', start);
    start = start == std::string::npos ? start : start + 1;
  }
  if (start == std::string::npos) {
    return "";
  }
  size_t end = arn.find(':', start);
  return end == std::string::npos ? "" : arn.substr(start, end - start);
}

constexpr const char* kKmsService = "kms.amazonaws.com";

}  // namespace

nlohmann::json EventToJson(const Event& event, const std::string& event_id) {
  using nlohmann::json;
  json out = {
      {"eventVersion", "1.08"},
      {"eventTime", internal::FormatTime(event.time)},
      {"eventSource", event.event_source},
      {"eventName", event.event_name},
      {"awsRegion", OrNull(event.aws_region)},
      {"sourceIPAddress", OrNull(event.source_ip)},
      {"userAgent", OrNull(event.user_agent)},
      {"requestParameters", event.request_parameters},
      {"responseElements", event.response_elements},
      {"eventID", event_id},
      {"readOnly", event.read_only},
      {"eventType", event.event_type},
      {"managementEvent", true},
      {"eventCategory", "Management"},
      {"recipientAccountId", OrNull(event.recipient_account_id)},
  };
  if (!event.request_id.empty()) {
    out["requestID"] = event.request_id;
  }
  if (event.user_identity) {
    const UserIdentity& u = *event.user_identity;
    json identity = json::object();
    if (!u.type.empty()) {
      identity["type"] = u.type;
    }
    if (!u.principal_id.empty()) {
      identity["principalId"] = u.principal_id;
    }
    if (!u.arn.empty()) {
      identity["arn"] = u.arn;
    }
    if (!u.account_id.empty()) {
      identity["accountId"] = u.account_id;
    }
    if (!u.access_key_id.empty()) {
      identity["accessKeyId"] = u.access_key_id;
    }
    if (!u.invoked_by.empty()) {
      identity["invokedBy"] = u.invoked_by;
    }
    out["userIdentity"] = std::move(identity);
  } else {
    out["userIdentity"] = nullptr;
  }
  json resources = json::array();
  for (const std::string& arn : event.resource_arns) {
    std::string account = ArnField(arn, 4);
    json r = {{"ARN", arn}, {"type", "AWS::KMS::Key"}};
    if (!account.empty()) {
      r["accountId"] = account;
    }
    resources.push_back(std::move(r));
  }
  if (!resources.empty()) {
    out["resources"] = std::move(resources);
  }
  if (!event.error_code.empty()) {
    out["errorCode"] = event.error_code;
    out["errorMessage"] = event.error_message;
  }
  return out;
}

std::string EventToJsonText(const Event& event, const std::string& event_id) {
  const auto dump = [](const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  std::string out;
  out.reserve(1024);
  // The members in the order an nlohmann object (a std::map) keeps them: sorted by bytes.
  JsonObjectWriter w(out);
  w.Key("awsRegion").StringOrNull(event.aws_region);
  if (!event.error_code.empty()) {
    w.Key("errorCode").String(event.error_code);
    w.Key("errorMessage").String(event.error_message);
  }
  w.Key("eventCategory").String("Management");
  w.Key("eventID").String(event_id);
  w.Key("eventName").String(event.event_name);
  w.Key("eventSource").String(event.event_source);
  w.Key("eventTime").String(internal::FormatTime(event.time));
  w.Key("eventType").String(event.event_type);
  w.Key("eventVersion").String("1.08");
  w.Key("managementEvent").Bool(true);
  w.Key("readOnly").Bool(event.read_only);
  w.Key("recipientAccountId").StringOrNull(event.recipient_account_id);
  if (!event.request_id.empty()) {
    w.Key("requestID").String(event.request_id);
  }
  w.Key("requestParameters").Raw(dump(event.request_parameters));
  if (!event.resource_arns.empty()) {
    w.Key("resources").Raw("[");
    bool first = true;
    for (const std::string& arn : event.resource_arns) {
      if (!first) {
        out += ',';
      }
      first = false;
      JsonObjectWriter r(out);
      r.Key("ARN").String(arn);
      std::string account = ArnField(arn, 4);
      if (!account.empty()) {
        r.Key("accountId").String(account);
      }
      r.Key("type").String("AWS::KMS::Key");
      r.End();
    }
    out += ']';
  }
  w.Key("responseElements").Raw(dump(event.response_elements));
  w.Key("sourceIPAddress").StringOrNull(event.source_ip);
  w.Key("userAgent").StringOrNull(event.user_agent);
  w.Key("userIdentity");
  if (event.user_identity) {
    const UserIdentity& u = *event.user_identity;
    JsonObjectWriter id(out);
    const std::pair<const char*, const std::string*> members[] = {
        {"accessKeyId", &u.access_key_id}, {"accountId", &u.account_id},     {"arn", &u.arn},
        {"invokedBy", &u.invoked_by},      {"principalId", &u.principal_id}, {"type", &u.type}};
    for (const auto& [name, value] : members) {
      if (!value->empty()) {
        id.Key(name).String(*value);
      }
    }
    id.End();
  } else {
    w.Null();
  }
  w.End();
  return out;
}

Event KmsServiceEvent(std::string_view event_name, const std::string& key_arn,
                      std::chrono::system_clock::time_point time) {
  Event e;
  e.time = time;
  e.event_source = kKmsService;
  e.event_name = std::string(event_name);
  e.aws_region = ArnField(key_arn, 3);
  e.source_ip = kKmsService;
  e.user_agent = kKmsService;
  const std::string account = ArnField(key_arn, 4);
  e.user_identity = UserIdentity{"", "", "", account, "", kKmsService};
  e.request_parameters = nullptr;
  e.response_elements = nullptr;
  e.read_only = false;
  e.resource_arns = {key_arn};
  e.recipient_account_id = account;
  e.event_type = "AwsServiceEvent";
  return e;
}

std::string OutcomeOfErrorCode(std::string_view error_code) {
  if (error_code.empty()) {
    return "success";
  }
  static const std::set<std::string, std::less<>> kDenied = {
      "AccessDeniedException",
      "AccessDenied",
      "UnrecognizedClientException",
      "InvalidSignatureException",
      "IncompleteSignatureException",
      "MissingAuthenticationTokenException",
      "MissingAuthenticationToken",
      "ExpiredTokenException",
      "ExpiredToken",
      "InvalidClientTokenId",
      "SignatureDoesNotMatch",
      "IncompleteSignature",
  };
  return kDenied.contains(error_code) ? "denied" : "failure";
}

std::string OutcomeOf(const nlohmann::json& record) {
  auto it = record.find("errorCode");
  if (it == record.end() || !it->is_string()) {
    return "success";
  }
  return OutcomeOfErrorCode(it->get_ref<const std::string&>());
}

}  // namespace scytale::audit
