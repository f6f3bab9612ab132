// Prometheus text exposition (format 0.0.4) of the request and audit series.

#include <atomic>
#include <cstdio>
#include <map>
#include <sstream>

#include "server/server.h"

namespace scytale::server {
namespace {

// Label values are operation names and fixed outcome words; escape anyway (\\, ", newline).
std::string Label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

template <size_t N>
void Histogram(std::ostringstream& out, const std::string& name, const std::string& labels,
               const std::array<double, N>& bounds, const std::array<uint64_t, N + 1>& buckets,
               uint64_t count, double sum) {
  std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < N; ++i) {
    cumulative += buckets[i];
    out << name << "_bucket{" << labels << sep << "le=\"" << Number(bounds[i]) << "\"} "
        << cumulative << "\n";
  }
  out << name << "_bucket{" << labels << sep << "le=\"+Inf\"} " << count << "\n";
  std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out << name << "_sum" << braces << " " << Number(sum) << "\n";
  out << name << "_count" << braces << " " << count << "\n";
}

// Label values here are fixed words chosen by the server, so the series stay few.
void Increment(std::map<std::string, uint64_t, std::less<>>& counters, std::string_view label) {
  auto it = counters.find(label);
  if (it == counters.end()) {
    it = counters.emplace(std::string(label), 0).first;
  }
  ++it->second;
}

}  // namespace

void Metrics::ObserveRequest(const std::string& operation, const std::string& outcome,
                             double seconds) {
  static std::atomic<size_t> next_shard{0};
  thread_local const size_t shard_index = next_shard++ % kShards;
  RequestShard& shard = shards_[shard_index];
  std::lock_guard lock(shard.mu);
  auto series = shard.operations.find(operation);
  if (series == shard.operations.end()) {
    std::string op = shard.operations.size() >= kMaxOperations ? "other" : operation;
    series = shard.operations.try_emplace(std::move(op)).first;
  }
  auto count = series->second.outcomes.find(outcome);
  if (count == series->second.outcomes.end()) {
    count = series->second.outcomes.emplace(outcome, 0).first;
  }
  ++count->second;
  Latency& l = series->second.latency;
  ++l.count;
  l.sum += seconds;
  size_t i = 0;
  while (i < kLatencyBounds.size() && seconds > kLatencyBounds[i]) {
    ++i;
  }
  ++l.buckets[i];
}

void Metrics::ObserveRejection(int status) {
  std::lock_guard lock(mu_);
  ++rejections_[status];
}

void Metrics::ObserveConnectionOpened() {
  std::lock_guard lock(mu_);
  ++connections_open_;
  ++connections_accepted_;
}

void Metrics::ObserveConnectionClosed() {
  std::lock_guard lock(mu_);
  --connections_open_;
}

void Metrics::ObserveConnectionRefused(std::string_view limit) {
  std::lock_guard lock(mu_);
  Increment(connections_refused_, limit);
}

void Metrics::ObserveTlsHandshake(std::string_view outcome) {
  std::lock_guard lock(mu_);
  Increment(tls_handshakes_, outcome);
}

void Metrics::ObserveTlsReload(bool ok) {
  std::lock_guard lock(mu_);
  ++tls_reloads_[ok];
}

std::string Metrics::Render(const audit::Stats* audit, const kms::ServiceStats* service) const {
  std::ostringstream out;
  // The shards added up.
  OperationMap operations;
  for (RequestShard& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (const auto& [op, series] : shard.operations) {
      OperationSeries& sum = operations[op];
      for (const auto& [outcome, n] : series.outcomes) {
        sum.outcomes[outcome] += n;
      }
      sum.latency.count += series.latency.count;
      sum.latency.sum += series.latency.sum;
      for (size_t i = 0; i < series.latency.buckets.size(); ++i) {
        sum.latency.buckets[i] += series.latency.buckets[i];
      }
    }
  }
  {
    std::lock_guard lock(mu_);
    out << "# HELP scytale_requests_total API calls answered, by operation and outcome "
           "(success, failure, denied).\n# TYPE scytale_requests_total counter\n";
    for (const auto& [op, series] : operations) {
      for (const auto& [outcome, n] : series.outcomes) {
        out << "scytale_requests_total{operation=\"" << Label(op) << "\",outcome=\""
            << Label(outcome) << "\"} " << n << "\n";
      }
    }
    out << "# HELP scytale_request_duration_seconds Time from request to answer, audit record "
           "included.\n# TYPE scytale_request_duration_seconds histogram\n";
    for (const auto& [op, series] : operations) {
      const Latency& l = series.latency;
      Histogram(out, "scytale_request_duration_seconds", "operation=\"" + Label(op) + "\"",
                kLatencyBounds, l.buckets, l.count, l.sum);
    }
    out << "# HELP scytale_http_rejections_total Requests refused before reaching the API "
           "(400 not HTTP/1.1, 413 body too large, 431 header too large), by status.\n"
           "# TYPE scytale_http_rejections_total counter\n";
    for (const auto& [status, n] : rejections_) {
      out << "scytale_http_rejections_total{status=\"" << status << "\"} " << n << "\n";
    }
    out << "# HELP scytale_connections_open Connections open now.\n"
           "# TYPE scytale_connections_open gauge\n"
        << "scytale_connections_open " << connections_open_ << "\n"
        << "# HELP scytale_connections_accepted_total Connections accepted and served.\n"
           "# TYPE scytale_connections_accepted_total counter\n"
        << "scytale_connections_accepted_total " << connections_accepted_ << "\n"
        << "# HELP scytale_connections_refused_total Connections closed as soon as accepted, "
           "by the limit reached (--max-connections, --max-connections-per-ip).\n"
           "# TYPE scytale_connections_refused_total counter\n";
    // Both series are always present, so that an alert on them has something to read.
    for (std::string_view limit : {"max_connections", "max_connections_per_ip"}) {
      auto it = connections_refused_.find(limit);
      out << "scytale_connections_refused_total{limit=\"" << limit << "\"} "
          << (it == connections_refused_.end() ? 0 : it->second) << "\n";
    }
    if (!tls_handshakes_.empty() || !tls_reloads_.empty()) {
      out << "# HELP scytale_tls_handshakes_total TLS handshakes, by the version negotiated, or "
             "failed (refused protocol or cipher, not TLS) or timeout.\n"
             "# TYPE scytale_tls_handshakes_total counter\n";
      for (const auto& [outcome, n] : tls_handshakes_) {
        out << "scytale_tls_handshakes_total{outcome=\"" << Label(outcome) << "\"} " << n << "\n";
      }
      out << "# HELP scytale_tls_reloads_total Certificate reloads (SIGHUP), by outcome.\n"
             "# TYPE scytale_tls_reloads_total counter\n";
      for (const auto& [ok, n] : tls_reloads_) {
        out << "scytale_tls_reloads_total{outcome=\"" << (ok ? "success" : "failure") << "\"} " << n
            << "\n";
      }
    }
  }
  if (audit != nullptr) {
    out << "# HELP scytale_audit_records_total Audit records made durable.\n"
           "# TYPE scytale_audit_records_total counter\n"
        << "scytale_audit_records_total " << audit->records << "\n"
        << "# HELP scytale_audit_failures_total Audit records that could not be written (their "
           "calls answered 500).\n# TYPE scytale_audit_failures_total counter\n"
        << "scytale_audit_failures_total " << audit->failures << "\n"
        << "# HELP scytale_audit_digests_total Signed digests written.\n"
           "# TYPE scytale_audit_digests_total counter\n"
        << "scytale_audit_digests_total " << audit->digests << "\n"
        << "# HELP scytale_audit_fsync_seconds Write+fsync time of one group commit.\n"
           "# TYPE scytale_audit_fsync_seconds histogram\n";
    Histogram(out, "scytale_audit_fsync_seconds", "", audit::Stats::kSyncSecondsBounds,
              audit->sync_seconds_buckets, audit->batches, audit->sync_seconds_sum);
    out << "# HELP scytale_audit_batch_records Records per group commit (one fsync).\n"
           "# TYPE scytale_audit_batch_records histogram\n";
    Histogram(out, "scytale_audit_batch_records", "", audit::Stats::kBatchSizeBounds,
              audit->batch_size_buckets, audit->batches, static_cast<double>(audit->records));
  }
  if (service != nullptr) {
    out << "# HELP scytale_backing_key_cache_hits_total Backing-key lookups answered from the "
           "cache.\n# TYPE scytale_backing_key_cache_hits_total counter\n"
        << "scytale_backing_key_cache_hits_total " << service->backing_key_cache_hits << "\n"
        << "# HELP scytale_backing_key_cache_misses_total Backing-key lookups that unwrapped the "
           "material with the root keystore.\n"
           "# TYPE scytale_backing_key_cache_misses_total counter\n"
        << "scytale_backing_key_cache_misses_total " << service->backing_key_cache_misses << "\n";
    if (!service->keys_by_state.empty()) {
      // The usual states are always present, so that their series do not come and go.
      std::map<std::string, int64_t> states = {
          {"Enabled", 0}, {"Disabled", 0}, {"PendingDeletion", 0}};
      for (const auto& [state, n] : service->keys_by_state) {
        states[state] = n;
      }
      out << "# HELP scytale_keys Keys of every account and region by state (counted at most "
             "every "
          << kms::ServiceStats::kKeyCountInterval.count() << " s).\n# TYPE scytale_keys gauge\n";
      for (const auto& [state, n] : states) {
        out << "scytale_keys{state=\"" << Label(state) << "\"} " << n << "\n";
      }
    }
  }
  return out.str();
}

}  // namespace scytale::server
