// The audit log readers (audit/verify.cc: VerifyLog and QueryLog) on a directory whose files
// the input writes, and the writer's recovery (AuditLog::Open) on every directory VerifyLog
// accepts. Files live in memory (fuzz/memory_env.h).
//
// At start the World writes a real log: 8 records in 3 files (one per day), sealed by 4 signed
// digests (after seq 2, 3, 6 and 8):
//
//   audit-0000000000000001-20261128.jsonl   seq 1-3
//   audit-0000000000000004-20261129.jsonl   seq 4-6
//   audit-0000000000000007-20261130.jsonl   seq 7-8
//   digest-0000000000000001.json ... digest-0000000000000004.json
//
// Input: files separated by the byte 0x1e, each its name, '\n', then its contents. In the
// contents "{{n}}" stands for the World's record line n (seq n, without its newline) and
// "{{dn}}" for the text of its digest n (with its newline); "{{n<k}}" is the first k bytes of
// that text and "{{n>k}}" the rest from byte k on. So an input is any edit of the real log:
// records removed, reordered, duplicated, cut or changed in place, files split, merged or
// renamed, digests dropped or changed, and arbitrary bytes anywhere.
//
// Invariants: neither reader fails on a readable directory, and when VerifyLog accepts:
//  - the records sealed by the digests present (seq 1 to the largest lastSequence) are the
//    World's, unchanged, and the first QueryLog answers. Nothing beyond is promised: records
//    after the last digest and a torn last line are not sealed, and anyone can write records
//    that chain (the chain is unkeyed SHA-256); VerifyLog reports them as unsealed.
//  - AuditLog::Open recovers the log, one more record can be appended, and the whole verifies.
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>

#include "audit/audit.h"
#include "audit/internal/files.h"
#include "fuzz/fuzz_util.h"
#include "fuzz/memory_env.h"
#include "keystore/keystore.h"

namespace scytale::fuzz {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr char kOriginalDir[] = "/original";
constexpr char kWorkDir[] = "/work";
constexpr char kSigningKey[] = "/keys/audit-signing.key";
// The public key as an auditor holds it: outside the directory the input writes.
constexpr char kTrustedPublicKey[] = "/trusted/audit-public-key.pem";
constexpr char kPublicKeyName[] = "audit-public-key.pem";
constexpr char kFileSeparator = '\x1e';
constexpr size_t kMaxFiles = 16;
constexpr std::string_view kExpectedFiles[] = {
    "audit-0000000000000001-20261128.jsonl", "audit-0000000000000004-20261129.jsonl",
    "audit-0000000000000007-20261130.jsonl", "audit-public-key.pem",
    "digest-0000000000000001.json",          "digest-0000000000000002.json",
    "digest-0000000000000003.json",          "digest-0000000000000004.json",
};

std::chrono::system_clock::time_point At(int64_t seconds) {
  return std::chrono::system_clock::from_time_t(seconds);
}
constexpr int64_t kDay1 = 1795860000;  // 2026-11-28T10:00:00Z
constexpr int64_t kOneDay = 86400;

struct World {
  std::unique_ptr<keystore::RootKeystore> root;
  std::shared_ptr<MemoryEnv> env = std::make_shared<MemoryEnv>();
  std::vector<std::string> lines;    // the record lines, [seq - 1], without their newline
  std::vector<json> records;         // the same, parsed
  std::vector<std::string> digests;  // the digest files' text, [number - 1]
};

audit::Event MakeEvent(int n, int64_t time) {
  audit::Event e;
  e.time = At(time);
  e.event_name = n % 3 == 0 ? "Decrypt" : "Encrypt";
  e.aws_region = n % 2 == 0 ? "us-east-1" : "eu-west-1";
  e.source_ip = "192.0.2." + std::to_string(n);
  // Quotes, backslashes, a control character and non-ASCII: escaped in the record.
  e.user_agent = "fuzz/" + std::to_string(n) + " \"q\" \\ \x01 caf\xc3\xa9";
  e.user_identity = audit::UserIdentity{
      "IAMUser", "AIDAFUZZ", "arn:aws:iam::111122223333:user/alice", "111122223333", "AKIAFUZZ"};
  e.request_parameters = {{"keyId", "alias/k" + std::to_string(n)},
                          {"encryptionContext", {{"n", std::to_string(n)}}}};
  e.request_id = "req-" + std::to_string(n);
  e.read_only = true;
  e.resource_arns = {"arn:aws:kms:us-east-1:111122223333:key/k" + std::to_string(n)};
  e.recipient_account_id = "111122223333";
  if (n == 5) {
    // A call that failed authentication: no identity, an error.
    e.user_identity = audit::UserIdentity{"Unknown", "", "", "", "AKIAUNKNOWN"};
    e.error_code = "UnrecognizedClientException";
    e.error_message = "The security token included in the request is invalid.";
    e.resource_arns.clear();
    e.request_parameters = nullptr;
  }
  return e;
}

World& TheWorld() {
  static std::unique_ptr<World> world = [] {
    auto w = std::make_unique<World>();
    auto dir = MakeTempDir("fuzz-audit-reader");
    keystore::SoftOptions soft;
    soft.path = dir / "root.key";
    w->root = keystore::OpenSoftKeystore(soft).value();
    auto clock = std::make_shared<FakeClock>(At(kDay1));
    audit::LogOptions options;
    options.dir = kOriginalDir;
    options.signing_key_path = kSigningKey;
    options.root = w->root.get();
    options.env = w->env;
    options.clock = clock;
    options.digest_interval = std::chrono::seconds(0);
    auto log = audit::AuditLog::Open(options).value();
    auto append = [&](const audit::Event& e) {
      if (!log->Append(e)) {
        Fail("setup: Append");
      }
    };
    // Day 1: seq 1-3, a digest after seq 2. Day 2: seq 4-6 (the new day's file seals seq 3).
    // Day 3: seq 7 (a service event) and 8. Close seals the rest.
    append(MakeEvent(1, kDay1));
    append(MakeEvent(2, kDay1 + 60));
    if (!log->WriteDigest()) {
      Fail("setup: WriteDigest");
    }
    append(MakeEvent(3, kDay1 + 120));
    clock->Advance(std::chrono::hours(24));
    for (int n = 4; n <= 6; ++n) {
      append(MakeEvent(n, kDay1 + kOneDay + n));
    }
    clock->Advance(std::chrono::hours(24));
    append(audit::KmsServiceEvent("RotateKey", "arn:aws:kms:us-east-1:111122223333:key/k7",
                                  At(kDay1 + 2 * kOneDay)));
    append(MakeEvent(8, kDay1 + 2 * kOneDay + 8));
    if (!log->Close()) {
      Fail("setup: Close");
    }
    log.reset();

    if (w->env->ListDir(kOriginalDir).value() !=
        std::vector<std::string>(std::begin(kExpectedFiles), std::end(kExpectedFiles))) {
      Fail("setup: the World's log is not the one the seeds describe");
    }
    for (std::string_view name : kExpectedFiles) {
      std::string text = w->env->ReadFile(fs::path(kOriginalDir) / name).value();
      if (name.starts_with("digest-")) {
        w->digests.push_back(std::move(text));
      } else if (name.starts_with("audit-0")) {
        std::string_view rest = text;
        while (!rest.empty()) {
          w->lines.emplace_back(TakeLine(rest));
          w->records.push_back(json::parse(w->lines.back()));
        }
      } else {
        w->env->Put(kTrustedPublicKey, text);
      }
    }
    auto report = audit::VerifyLog(kOriginalDir, kTrustedPublicKey, w->env);
    if (!report || !report->ok || report->records != 8 || report->digests != 4) {
      Fail("setup: the World's log does not verify");
    }
    return w;
  }();
  return *world;
}

// Parses the digits at the front of `s` (at most `max_digits`), or nullopt.
std::optional<size_t> TakeNumber(std::string_view& s, size_t max_digits) {
  size_t n = 0;
  size_t digits = 0;
  while (digits < s.size() && digits < max_digits && s[digits] >= '0' && s[digits] <= '9') {
    n = n * 10 + static_cast<size_t>(s[digits] - '0');
    ++digits;
  }
  if (digits == 0) {
    return std::nullopt;
  }
  s.remove_prefix(digits);
  return n;
}

// The text "{{...}}" at the front of `s` stands for (see the top of the file), or nullopt when
// it is no reference to a line or digest of the World; consumes it.
std::optional<std::string_view> TakeReference(std::string_view& s, const World& w) {
  std::string_view rest = s.substr(2);  // after "{{"
  bool digest = !rest.empty() && rest.front() == 'd';
  if (digest) {
    rest.remove_prefix(1);
  }
  std::optional<size_t> index = TakeNumber(rest, 3);
  const std::vector<std::string>& texts = digest ? w.digests : w.lines;
  if (!index || *index == 0 || *index > texts.size()) {
    return std::nullopt;
  }
  std::string_view text = texts[*index - 1];
  if (!rest.empty() && (rest.front() == '<' || rest.front() == '>')) {
    bool head = rest.front() == '<';
    rest.remove_prefix(1);
    std::optional<size_t> at = TakeNumber(rest, 5);
    if (!at) {
      return std::nullopt;
    }
    size_t cut = std::min(*at, text.size());
    text = head ? text.substr(0, cut) : text.substr(cut);
  }
  if (!rest.starts_with("}}")) {
    return std::nullopt;
  }
  s = rest.substr(2);
  return text;
}

std::string Expand(std::string_view s, const World& w) {
  std::string out;
  while (!s.empty()) {
    if (s.starts_with("{{")) {
      if (auto text = TakeReference(s, w)) {
        out += *text;
        continue;
      }
    }
    out += s.front();
    s.remove_prefix(1);
  }
  return out;
}

bool IsFileName(std::string_view name) {
  return !name.empty() && name.size() <= 128 && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

// Filters QueryLog is also run with, one per input.
const audit::QueryFilter kFilters[] = {
    {.from = "2026-11-29"},
    {.to = "2026-11-29T10:00:05Z"},
    {.key = "k3"},
    {.key = "alias/k4"},
    {.principal = "111122223333"},
    {.principal = "user/alice"},
    {.principal = "AKIAUNKNOWN"},
    {.event = "Decrypt"},
    {.outcome = "denied"},
    {.outcome = "success"},
    {.from = "2026-11-28", .to = "2026-11-30", .key = "k1", .outcome = "success"},
};

// Whether `part` is `all` with some records left out, the rest in order.
bool IsSubsequence(const std::vector<json>& part, const std::vector<json>& all) {
  size_t i = 0;
  for (const json& r : all) {
    if (i < part.size() && part[i] == r) {
      ++i;
    }
  }
  return i == part.size();
}

// The largest lastSequence of the digests in `dir` (all of them verified: VerifyLog accepted).
uint64_t SealedUpTo(const World& w, const fs::path& dir) {
  uint64_t sealed = 0;
  const std::vector<std::string> names = w.env->ListDir(dir).value();
  for (const std::string& name : names) {
    if (!audit::internal::DigestFileNumber(name)) {
      continue;
    }
    json digest = json::parse(w.env->ReadFile(dir / name).value(), nullptr, false);
    if (digest.is_object() && digest.contains("lastSequence") &&
        digest["lastSequence"].is_number_unsigned()) {
      sealed = std::max(sealed, digest["lastSequence"].get<uint64_t>());
    }
  }
  return sealed;
}

[[noreturn]] void FailWith(const char* what, const std::string& detail) {
  std::fprintf(stderr, "%s\n", detail.c_str());
  Fail(what);
}

// The log VerifyLog accepted, opened by the writer, one record longer and closed.
void CheckReopens(const World& w, const audit::VerifyReport& before) {
  audit::LogOptions options;
  options.dir = kWorkDir;
  options.signing_key_path = kSigningKey;
  options.root = w.root.get();
  options.env = w.env;
  options.clock = std::make_shared<FakeClock>(At(kDay1 + 3 * kOneDay));
  options.digest_interval = std::chrono::seconds(0);
  auto log = audit::AuditLog::Open(options);
  if (!log) {
    FailWith("a log VerifyLog accepts does not open", log.error().message);
  }
  if (!(*log)->Append(MakeEvent(9, kDay1 + 3 * kOneDay)) || !(*log)->Close()) {
    Fail("cannot append to a log VerifyLog accepts");
  }
  log->reset();
  auto after = audit::VerifyLog(kWorkDir, kTrustedPublicKey, w.env);
  if (!after || !after->ok) {
    FailWith("a verified log, reopened and appended to, no longer verifies",
             after ? after->message : after.error().message);
  }
  if (after->records != before.records + 1 || after->last_sequence != before.last_sequence + 1 ||
      after->torn_tail || after->records_after_last_digest != 0) {
    FailWith("the record appended after reopening is not the log's last, sealed", after->message);
  }
}

}  // namespace
}  // namespace scytale::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace scytale;
  using namespace scytale::fuzz;
  World& w = TheWorld();
  w.env->ClearDir(kWorkDir);
  std::string_view rest = AsText(data, size);
  for (size_t files = 0; !rest.empty() && files < kMaxFiles; ++files) {
    size_t end = rest.find(kFileSeparator);
    std::string_view file = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    std::string_view name = TakeLine(file);
    if (IsFileName(name)) {
      w.env->Put(fs::path(kWorkDir) / name, Expand(file, w));
    }
  }
  // The writer checks its key against the directory's copy; the readers are given the trusted
  // one, so the input cannot swap keys.
  w.env->Put(fs::path(kWorkDir) / kPublicKeyName, w.env->ReadFile(kTrustedPublicKey).value());

  auto report = audit::VerifyLog(kWorkDir, kTrustedPublicKey, w.env);
  if (!report) {
    FailWith("VerifyLog failed on a readable directory", report.error().message);
  }
  auto all = audit::QueryLog(kWorkDir, {}, w.env);
  if (!all) {
    FailWith("QueryLog failed on a readable directory", all.error().message);
  }
  const audit::QueryFilter& filter =
      kFilters[std::hash<std::string_view>{}(AsText(data, size)) % std::size(kFilters)];
  auto some = audit::QueryLog(kWorkDir, filter, w.env);
  if (!some || !IsSubsequence(*some, *all)) {
    Fail("a filtered QueryLog answers records the unfiltered one does not");
  }
  if (!report->ok) {
    if (report->message.empty()) {
      Fail("VerifyLog refused a log without saying why");
    }
    return 0;
  }

  const uint64_t sealed = SealedUpTo(w, kWorkDir);
  if (sealed > w.records.size() || all->size() < sealed) {
    FailWith("VerifyLog accepted a log without all the records its digests seal", report->message);
  }
  for (size_t i = 0; i < sealed; ++i) {
    if ((*all)[i] != w.records[i]) {
      FailWith("VerifyLog accepted a log whose sealed records were changed",
               "seq " + std::to_string(i + 1) + ": " + (*all)[i].dump());
    }
  }
  // QueryLog answers every chained record, and the torn last line too when it is JSON.
  if (all->size() < report->records || all->size() > report->records + 1 ||
      (all->size() > report->records && !report->torn_tail)) {
    FailWith("QueryLog and VerifyLog disagree on the records of a verified log", report->message);
  }
  if (report->last_sequence != report->records ||
      report->records_after_last_digest != report->last_sequence - sealed) {
    FailWith("VerifyLog's counts do not add up", report->message);
  }
  CheckReopens(w, *report);
  return 0;
}
