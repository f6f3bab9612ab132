// The audit log writer: group commit (LevelDB's writer queue), the hash chain, rotation by
// size and day, and signed digests.
//
// Append and AppendAsync serialize their record on the caller's thread and queue it. The log's
// committer thread takes every queued record (up to max_batch_records), links them into the
// chain, writes them with one write and one fdatasync, then wakes the callers of Append and
// calls the callbacks of AppendAsync. While it is in I/O, new records queue and form the next
// batch, so under load one fsync carries many records, and a server answering through
// AppendAsync keeps no thread waiting on the disk.

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "audit/audit.h"
#include "audit/internal/files.h"
#include "audit/internal/signer.h"
#include "common/encoding.h"
#include "common/ids.h"

namespace scytale::audit {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

template <size_t N>
void Observe(const std::array<double, N>& bounds, std::array<uint64_t, N + 1>& buckets,
             double value) {
  size_t i = 0;
  while (i < N && value > bounds[i]) {
    ++i;
  }
  ++buckets[i];
}

class AuditLogImpl : public AuditLog {
 public:
  AuditLogImpl(LogOptions options, std::unique_ptr<internal::Signer> signer)
      : options_(std::move(options)), signer_(std::move(signer)) {}

  ~AuditLogImpl() override {
    if (!closed_) {
      (void)Close();
    }
  }

  // Reads the chain head and the digest chain head back from the directory.
  Status Recover() {
    Env* env = options_.env.get();
    SCY_ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(options_.dir));
    std::vector<std::pair<uint64_t, std::string>> logs;
    for (const std::string& name : names) {
      if (auto seq = internal::LogFileSequence(name)) {
        logs.emplace_back(*seq, name);
      } else if (auto number = internal::DigestFileNumber(name)) {
        if (*number > digest_number_) {
          digest_number_ = *number;
        }
      }
    }
    std::sort(logs.begin(), logs.end());
    for (auto it = logs.rbegin(); it != logs.rend(); ++it) {
      fs::path path = options_.dir / it->second;
      SCY_ASSIGN_OR_RETURN(std::string text, env->ReadFile(path));
      size_t end = text.rfind('\n');
      size_t keep = end == std::string::npos ? 0 : end + 1;
      if (keep != text.size()) {
        // A torn last line: its Append never returned success, so it was never acknowledged.
        // It is cut off (new records never follow garbage) and reported to the caller.
        SCY_RETURN_IF_ERROR(env->TruncateFile(path, keep));
        torn_tails_.push_back({it->second, keep, text.size() - keep});
        text.resize(keep);
      }
      if (text.empty()) {
        continue;
      }
      size_t start = text.rfind('\n', text.size() - 2);
      start = start == std::string::npos ? 0 : start + 1;
      std::string_view line = std::string_view(text).substr(start, text.size() - 1 - start);
      json record = json::parse(line, nullptr, /*allow_exceptions=*/false);
      auto link = internal::ChainOf(record);
      if (!link) {
        return MakeError(ErrorCode::kInvalidState,
                         "the last audit record in " + path.string() +
                             " is not a chained record; run `scytale audit verify`");
      }
      last_seq_ = link->seq;
      last_hash_ = internal::Sha256Hex(line);
      break;
    }
    if (digest_number_ > 0) {
      fs::path path = options_.dir / internal::DigestFileName(digest_number_);
      SCY_ASSIGN_OR_RETURN(std::string text, env->ReadFile(path));
      json digest = json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (!digest.is_object() || !digest.contains("lastSequence") ||
          !digest["lastSequence"].is_number_unsigned()) {
        return MakeError(ErrorCode::kInvalidState,
                         path.string() + " is not a digest; run `scytale audit verify`");
      }
      last_digest_hash_ = internal::Sha256Hex(text);
      digest_last_seq_ = digest["lastSequence"].get<uint64_t>();
    }
    if (options_.digest_interval.count() > 0) {
      digester_ = std::thread([this] { DigestLoop(); });
    }
    committer_ = std::thread([this] { CommitLoop(); });
    return Ok();
  }

  Status Append(const Event& event) override {
    Writer w;
    w.body = Serialize(event);
    std::unique_lock lock(mu_);
    if (stopping_) {
      return MakeError(ErrorCode::kInternal, "the audit log is closed");
    }
    queue_.push_back(&w);
    work_cv_.notify_one();
    w.cv.wait(lock, [&] { return w.done; });
    return std::move(w.status);
  }

  void AppendAsync(const Event& event, std::function<void(Status)> done) override {
    auto w = std::make_unique<Writer>();
    w->body = Serialize(event);
    w->callback = std::move(done);
    {
      std::lock_guard lock(mu_);
      if (!stopping_) {
        queue_.push_back(w.release());
        work_cv_.notify_one();
        return;
      }
    }
    w->callback(MakeError(ErrorCode::kInternal, "the audit log is closed"));
  }

  Status WriteDigest() override {
    std::lock_guard io(io_mu_);
    return WriteDigestLocked();
  }

  Status Close() override {
    {
      // The committer writes what is queued, then ends.
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    work_cv_.notify_all();
    stop_cv_.notify_all();
    if (committer_.joinable()) {
      committer_.join();
    }
    {
      std::lock_guard lock(digest_mu_);
      closed_ = true;
    }
    digest_cv_.notify_all();
    if (digester_.joinable()) {
      digester_.join();
    }
    std::lock_guard io(io_mu_);
    Status s = WriteDigestLocked();
    file_.reset();
    return s;
  }

  Stats GetStats() const override {
    std::lock_guard lock(stats_mu_);
    return stats_;
  }

  const std::vector<TornTail>& TornTailsCutAtOpen() const override { return torn_tails_; }

 private:
  // A queued record: an Append waiting on `cv` for `done`, or an AppendAsync's `callback`.
  struct Writer {
    std::string body;
    Status status;
    bool done = false;
    std::condition_variable cv;
    std::function<void(Status)> callback;
  };

  static std::string Serialize(const Event& event) {
    return EventToJsonText(event, NewUuid());
  }

  void CommitLoop() {
    std::unique_lock lock(mu_);
    size_t last_batch = 0;
    for (;;) {
      work_cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) {
        return;  // stopping, and everything queued is written
      }
      if (last_batch > 1 && options_.commit_delay.count() > 0 && !stopping_ &&
          queue_.size() < options_.max_batch_records) {
        // Calls are arriving together: let more of them join this write and fdatasync. Appends
        // do not wake this wait (they notify work_cv_); Close does.
        stop_cv_.wait_for(lock, options_.commit_delay, [&] { return stopping_; });
      }
      size_t n = std::min(queue_.size(), options_.max_batch_records);
      last_batch = n;
      std::vector<Writer*> batch(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
      lock.unlock();
      auto started = std::chrono::steady_clock::now();
      Status s = WriteBatch(batch);
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      {
        std::lock_guard stats_lock(stats_mu_);
        if (s) {
          stats_.records += batch.size();
          ++stats_.batches;
          stats_.sync_seconds_sum += seconds;
          Observe(Stats::kSyncSecondsBounds, stats_.sync_seconds_buckets, seconds);
          Observe(Stats::kBatchSizeBounds, stats_.batch_size_buckets,
                  static_cast<double>(batch.size()));
        } else {
          stats_.failures += batch.size();
        }
      }
      // Waiting Appends own their Writer and may leave as soon as they see `done`: it is set
      // under mu_ and they are not touched afterwards.
      std::vector<std::unique_ptr<Writer>> async;
      lock.lock();
      for (Writer* q : batch) {
        if (q->callback) {
          async.emplace_back(q);
        } else {
          q->status = s;
          q->done = true;
          q->cv.notify_one();
        }
      }
      lock.unlock();
      for (auto& q : async) {
        q->callback(s);
      }
      async.clear();
      lock.lock();
    }
  }

  void DigestLoop() {
    std::unique_lock lock(digest_mu_);
    while (!closed_) {
      digest_cv_.wait_for(lock, options_.digest_interval, [&] { return closed_.load(); });
      if (closed_) {
        break;
      }
      lock.unlock();
      (void)WriteDigest();  // failures are counted; the next round retries
      lock.lock();
    }
  }

  // Opens the next file, named after the sequence number of its first record. A name left by
  // a failed attempt gets a suffix, so a file is never appended to after an I/O error.
  Status OpenNewFile(const std::string& day) {
    Env* env = options_.env.get();
    SCY_ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(options_.dir));
    for (int attempt = 0;; ++attempt) {
      std::string name = internal::LogFileName(last_seq_ + 1, day, attempt);
      if (std::binary_search(names.begin(), names.end(), name)) {
        continue;
      }
      SCY_ASSIGN_OR_RETURN(file_, env->OpenForAppend(options_.dir / name));
      file_name_ = name;
      file_day_ = day;
      return Ok();
    }
  }

  Status WriteBatch(const std::vector<Writer*>& batch) {
    std::lock_guard io(io_mu_);
    if (closed_) {
      return MakeError(ErrorCode::kInternal, "the audit log is closed");
    }
    uint64_t seq = last_seq_;
    std::string hash = last_hash_;
    std::string data;
    for (const Writer* w : batch) {
      // The body is a JSON object; the chain member goes in before its closing brace.
      std::string line = w->body;
      line.pop_back();
      line += ",\"";
      line += internal::kChainMember;
      line += "\":{\"prev\":\"" + hash + "\",\"seq\":" + std::to_string(++seq) + "}}";
      hash = internal::Sha256Hex(line);
      data += line;
      data += '\n';
    }
    std::string day = internal::DayOf(options_.clock->Now());
    if (file_ && (day != file_day_ ||
                  (file_->Size() > 0 && file_->Size() + data.size() > options_.max_file_bytes))) {
      // Rotation closes the file with a digest that covers its last record.
      SCY_RETURN_IF_ERROR(WriteDigestLocked());
      file_.reset();
    }
    if (!file_) {
      SCY_RETURN_IF_ERROR(OpenNewFile(day));
    }
    if (files_since_digest_.empty() || files_since_digest_.back() != file_name_) {
      files_since_digest_.push_back(file_name_);
    }
    uint64_t before = file_->Size();
    Status s = file_->Append(data);
    if (s) {
      s = file_->Sync();
    }
    if (!s) {
      // Cut the batch off again and never touch this file after an I/O error (a failed fsync
      // may have dropped dirty pages); the next batch starts a fresh file.
      (void)file_->Truncate(before);
      file_.reset();
      return s;
    }
    last_seq_ = seq;
    last_hash_ = hash;
    return Ok();
  }

  Status WriteDigestLocked() {
    if (last_seq_ == digest_last_seq_) {
      return Ok();  // nothing new to seal
    }
    json digest = {
        {"digestVersion", 1},
        {"digestNumber", digest_number_ + 1},
        {"digestTime", internal::FormatTime(options_.clock->Now())},
        {"previousDigestSha256", last_digest_hash_},
        {"firstSequence", digest_last_seq_ + 1},
        {"lastSequence", last_seq_},
        {"lastRecordSha256", last_hash_},
        {"logFiles", files_since_digest_},
        {"publicKeySha256", internal::Sha256Hex(signer_->PublicKeyPem())},
        {"signatureAlgorithm", "Ed25519"},
    };
    std::string signed_text = internal::DigestSigningText(digest);
    SCY_ASSIGN_OR_RETURN(Bytes signature, signer_->Sign(AsBytes(signed_text)));
    digest["signature"] = Base64Encode(signature);
    std::string text = digest.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    Status s = options_.env->WriteFileDurably(
        options_.dir / internal::DigestFileName(digest_number_ + 1), text);
    {
      std::lock_guard stats_lock(stats_mu_);
      if (s) {
        ++stats_.digests;
      }
    }
    SCY_RETURN_IF_ERROR(s);
    ++digest_number_;
    digest_last_seq_ = last_seq_;
    last_digest_hash_ = internal::Sha256Hex(text);
    files_since_digest_.clear();
    if (file_) {
      files_since_digest_.push_back(file_name_);
    }
    return Ok();
  }

  const LogOptions options_;
  const std::unique_ptr<internal::Signer> signer_;
  std::vector<TornTail> torn_tails_;  // set by Recover

  // Records waiting for the committer (a waiting Append's, or an AppendAsync's owned here).
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable stop_cv_;  // Close ends a group-commit wait early
  std::deque<Writer*> queue_;
  bool stopping_ = false;
  std::thread committer_;

  // Held by the leader (or a digest writer) during I/O; guards everything below.
  std::mutex io_mu_;
  std::unique_ptr<WritableFile> file_;
  std::string file_name_;
  std::string file_day_;
  uint64_t last_seq_ = 0;
  std::string last_hash_{internal::kZeroHash};
  uint64_t digest_number_ = 0;
  uint64_t digest_last_seq_ = 0;
  std::string last_digest_hash_{internal::kZeroHash};
  std::vector<std::string> files_since_digest_;

  std::mutex digest_mu_;
  std::condition_variable digest_cv_;
  std::atomic<bool> closed_{false};
  std::thread digester_;

  mutable std::mutex stats_mu_;
  Stats stats_;
};

}  // namespace

Result<std::unique_ptr<AuditLog>> AuditLog::Open(LogOptions options) {
  if (!options.env) {
    options.env = PosixEnv();
  }
  if (!options.clock) {
    options.clock = SystemClock();
  }
  if (options.max_batch_records == 0) {
    options.max_batch_records = 1;
  }
  Env* env = options.env.get();
  SCY_RETURN_IF_ERROR(env->CreateDir(options.dir));
  SCY_ASSIGN_OR_RETURN(auto signer,
                       internal::Signer::LoadOrCreate(options.signing_key_path, options.root, env));
  fs::path pem_path = options.dir / internal::kPublicKeyFile;
  Result<std::string> pem = env->ReadFile(pem_path);
  if (!pem) {
    if (pem.error().code != ErrorCode::kNotFound) {
      return pem.error();
    }
    SCY_RETURN_IF_ERROR(env->WriteFileDurably(pem_path, signer->PublicKeyPem()));
  } else if (*pem != signer->PublicKeyPem()) {
    return MakeError(ErrorCode::kInvalidState,
                     pem_path.string() + " is not the public key of the audit signing key " +
                         options.signing_key_path.string() +
                         "; this audit directory belongs to another signing key");
  }
  auto log = std::make_unique<AuditLogImpl>(std::move(options), std::move(signer));
  SCY_RETURN_IF_ERROR(log->Recover());
  return std::unique_ptr<AuditLog>(std::move(log));
}

}  // namespace scytale::audit
