// audit/: the audit log. One CloudTrail-format record per API call (allowed, denied or failed,
// including failed authentication), made durable before the call is answered, linked into a
// SHA-256 hash chain across files and sealed periodically by signed digest files.
//
// Files in the audit directory (docs/audit.md has the full description):
//
//   audit-<first sequence, 16 digits>-<YYYYMMDD>.jsonl   records, one JSON object per line
//   digest-<digest number, 16 digits>.json               signed digests
//   audit-public-key.pem                                 Ed25519 public key of the digests
//
// A record line is a CloudTrail event object with one extra member, appended last:
//
//   {"awsRegion":"us-east-1",...,"eventName":"Encrypt",...,
//    "scytaleChain":{"prev":"<hex SHA-256 of the previous record line>","seq":42}}\n
//
// The hash of a record is SHA-256 over its line's bytes without the final "\n". The first
// record of the log has seq 1 and prev = 64 zeros; every other record has seq = previous + 1
// and prev = hash of the previous record, also across file boundaries.
//
// Never put plaintext, data keys, key material, secret access keys, passwords or session
// tokens in an Event: the callers (api/, server/) select which request members are recorded.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "keystore/keystore.h"

namespace scytale::audit {

// ---------------------------------------------------------------------------------------
// Records

struct UserIdentity {
  // "Root", "IAMUser", "AssumedRole", "Unknown" (failed authentication); empty (omitted) for
  // the service's own work, which CloudTrail identifies by accountId and invokedBy only.
  std::string type;
  std::string principal_id;
  std::string arn;
  std::string account_id;
  std::string access_key_id;
  std::string invoked_by{};  // "kms.amazonaws.com" for the service's own work
};

// One API call as CloudTrail shows it. Members left empty are written as null (or omitted
// for errorCode/errorMessage).
struct Event {
  std::chrono::system_clock::time_point time;
  std::string event_source = "kms.amazonaws.com";
  std::string event_name;
  std::string aws_region;
  std::string source_ip;
  std::string user_agent;
  std::optional<UserIdentity> user_identity;
  nlohmann::json request_parameters;  // null or an object, camelCase, no secrets
  nlohmann::json response_elements;   // null or an object, camelCase, no secrets
  std::string request_id;  // omitted when empty (service events have none)
  bool read_only = false;
  std::vector<std::string> resource_arns;  // key ARNs the call touched
  std::string recipient_account_id;
  std::string error_code;  // empty on success
  std::string error_message;
  // "AwsApiCall" for calls; "AwsServiceEvent" for work the service does by itself (keys
  // destroyed after their waiting period, automatic rotations).
  std::string event_type = "AwsApiCall";
};

// The record CloudTrail makes when KMS acts on a key by itself, not for a caller: eventType
// AwsServiceEvent, `event_name` (DeleteKey when a key is destroyed at the end of its waiting
// period, RotateKey for an automatic rotation), userIdentity {accountId, invokedBy
// kms.amazonaws.com}, sourceIPAddress and userAgent kms.amazonaws.com, no request parameters,
// readOnly false, and the key as the resource. Region and account are taken from `key_arn`.
Event KmsServiceEvent(std::string_view event_name, const std::string& key_arn,
                      std::chrono::system_clock::time_point time);

// The CloudTrail event object of `event` (without the chain member). eventID is `event_id`.
nlohmann::json EventToJson(const Event& event, const std::string& event_id);
// EventToJson(event, event_id).dump() (no indent, invalid UTF-8 replaced), written directly:
// the text of a record's line before its chain member.
std::string EventToJsonText(const Event& event, const std::string& event_id);

// ---------------------------------------------------------------------------------------
// Files (injectable, as LevelDB's Env, so tests make writes fail)

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(std::string_view data) = 0;
  virtual Status Sync() = 0;  // fdatasync
  virtual Status Truncate(uint64_t size) = 0;
  virtual uint64_t Size() const = 0;
};

class Env {
 public:
  virtual ~Env() = default;
  // Opens `path` for appending, creating it (0600) if absent. A new file's directory entry is
  // synced before this returns.
  virtual Result<std::unique_ptr<WritableFile>> OpenForAppend(const std::filesystem::path& path) = 0;
  // Writes a whole file durably: temporary file, fsync, rename, directory fsync.
  virtual Status WriteFileDurably(const std::filesystem::path& path, std::string_view contents) = 0;
  virtual Result<std::string> ReadFile(const std::filesystem::path& path) = 0;
  // Names (not paths) of the regular files in `dir`, sorted.
  virtual Result<std::vector<std::string>> ListDir(const std::filesystem::path& dir) = 0;
  virtual Status CreateDir(const std::filesystem::path& dir) = 0;
  virtual Status TruncateFile(const std::filesystem::path& path, uint64_t size) = 0;
};

// The real file system. Thread-safe.
std::shared_ptr<Env> PosixEnv();

// ---------------------------------------------------------------------------------------
// Writing

struct LogOptions {
  std::filesystem::path dir;  // created (0700) when absent
  // Where the audit signing key lives, wrapped by `root` (e.g. <data-dir>/audit-signing.key).
  // Created on first open; its public key is written to dir/audit-public-key.pem.
  std::filesystem::path signing_key_path;
  keystore::RootKeystore* root = nullptr;  // must outlive the log
  std::shared_ptr<Env> env;                // default PosixEnv()
  std::shared_ptr<Clock> clock;            // default SystemClock(); rotation and digest times
  uint64_t max_file_bytes = 64 << 20;      // rotate when a file would grow past this
  std::chrono::seconds digest_interval{60};  // 0: digests only on rotation and Close
  size_t max_batch_records = 1024;
  // Group commit: when the batch before held more than one record (calls are arriving together),
  // the committer waits this long before taking the next one, so that one write and fdatasync
  // serve more calls. A lone caller (batches of one) is never delayed. 0: never wait.
  std::chrono::microseconds commit_delay{0};
};

// Counters for /metrics. Bucket i counts observations <= the bound i; the last is +Inf.
struct Stats {
  static constexpr std::array<double, 10> kSyncSecondsBounds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0};
  static constexpr std::array<double, 8> kBatchSizeBounds = {1, 2, 4, 8, 16, 32, 64, 256};
  uint64_t records = 0;  // records made durable
  uint64_t batches = 0;  // write+fsync rounds that succeeded
  uint64_t failures = 0;  // Append calls answered with an error
  uint64_t digests = 0;
  double sync_seconds_sum = 0;
  std::array<uint64_t, kSyncSecondsBounds.size() + 1> sync_seconds_buckets{};
  std::array<uint64_t, kBatchSizeBounds.size() + 1> batch_size_buckets{};
};

// The end of a log file that a crash cut off mid-write: the bytes after its last newline. The
// record they began was never acknowledged (Append returns only after its whole line is written
// and fsynced).
struct TornTail {
  std::string file;     // name in the audit directory
  uint64_t offset = 0;  // where its last complete line ends (the file's size once cut)
  uint64_t bytes = 0;   // the torn bytes after it
};

class AuditLog {
 public:
  // Opens the log in options.dir: recovers the chain head from the last record, loads or
  // creates the signing key. A torn last line (the log's newest file ends without a newline) is
  // cut off, and TornTailsCutAtOpen() names it, so that the caller reports it; a line that is
  // complete but no chained record is an error (kInvalidState), never dropped. Records go to a
  // new file, never after what was cut. Errors: kInternal for I/O, kInvalidState when the log
  // or key cannot be read.
  static Result<std::unique_ptr<AuditLog>> Open(LogOptions options);
  virtual ~AuditLog() = default;

  // What Open cut off: the newest file's torn tail, and, where that file was left empty, the
  // torn tails of the files before it up to the first complete record. Usually none.
  virtual const std::vector<TornTail>& TornTailsCutAtOpen() const = 0;

  // Appends one record and returns once it is on disk (written and fsynced). Concurrent callers
  // share one write and one fsync (group commit). On failure (kInternal) the record is not part
  // of the log and the caller must not answer the call as if it had succeeded; later calls try
  // again on a fresh file. Thread-safe.
  virtual Status Append(const Event& event) = 0;
  // Append without waiting: the record is serialized and queued, and `done` is called with
  // what Append would have returned once the batch that carries it is on disk (or failed) —
  // on the log's committer thread, in record order, or at once when the log is closed. `done`
  // must be quick (e.g. post the answer to the connection's thread) and must not call back
  // into the log. A caller answers its call only from `done`. Thread-safe.
  virtual void AppendAsync(const Event& event, std::function<void(Status)> done) = 0;
  // Writes a signed digest now if records were added since the last one. Thread-safe.
  virtual Status WriteDigest() = 0;
  // Writes a final digest. No Append may run concurrently or later.
  virtual Status Close() = 0;
  virtual Stats GetStats() const = 0;
};

// ---------------------------------------------------------------------------------------
// Verifying and reading

struct VerifyReport {
  bool ok = false;
  size_t files = 0;
  size_t records = 0;
  size_t digests = 0;
  uint64_t last_sequence = 0;
  size_t records_after_last_digest = 0;  // not yet sealed by a digest (not an error)
  // The log's very last line when it has no newline: a write a crash cut off, never
  // acknowledged and not counted in `records`. Reported, not an error (the next Open cuts it
  // off), unless a digest seals the record it should have been.
  std::optional<TornTail> torn_tail;
  // When !ok: the first bad record (file name, 1-based line, its sequence when known).
  std::string bad_file;
  size_t bad_line = 0;
  std::optional<uint64_t> bad_sequence;
  std::string message;  // what is wrong, or a summary when ok
};

// Checks the chain of every record and the signature and chain of every digest, with the
// public key in `public_key_pem_path` (default: dir/audit-public-key.pem). Names the first
// record that was modified, removed, reordered or inserted, a line without its newline anywhere
// but at the very end of the log, a file whose name is not the seq of its first record, and a
// tail cut off below a digest. A torn last line is
// reported in `torn_tail` and does not fail. Errors (kInternal, kNotFound) only when the
// directory or key cannot be read.
Result<VerifyReport> VerifyLog(const std::filesystem::path& dir,
                               std::optional<std::filesystem::path> public_key_pem_path = {},
                               std::shared_ptr<Env> env = nullptr);

struct QueryFilter {
  std::string from{};       // eventTime >= from (ISO 8601, a prefix such as "2024-05-01" works)
  std::string to{};         // eventTime <  to
  std::string key{};        // key id, key ARN or alias appearing in resources or keyId
  std::string principal{};  // userIdentity.arn, accessKeyId or accountId (exact or ARN suffix)
  std::string event{};      // eventName
  std::string outcome{};    // "success", "failure" (any error), "denied" (authn/authz errors)
};

// Every record of the log in order that matches `filter`. Lines that are not JSON are skipped, and
// so is a file's last line when no newline ends it (a torn tail, even one that parses: its record
// was never acknowledged).
Result<std::vector<nlohmann::json>> QueryLog(const std::filesystem::path& dir,
                                             const QueryFilter& filter,
                                             std::shared_ptr<Env> env = nullptr);

// "success", "denied" or "failure" for a record.
std::string OutcomeOf(const nlohmann::json& record);
// The same from an errorCode ("" = success): "denied" for authentication and authorization
// errors, "failure" for any other.
std::string OutcomeOfErrorCode(std::string_view error_code);

}  // namespace scytale::audit
