// `scytale audit verify` and `scytale audit query`: reading the log back.
//
// Verification walks every record in sequence order, checking that each one is a complete JSON
// line whose chain member continues the previous record (seq + 1, prev = SHA-256 of the previous
// line), then checks every digest: its Ed25519 signature, its link to the previous digest, and
// that the record it seals is present with the hash it sealed. The chain names modified,
// removed, reordered and inserted records, a torn last line and a renamed file; the digests name
// a tail that was cut at a line boundary and a change to the last record.

#include <algorithm>
#include <map>
#include <set>

#include "audit/audit.h"
#include "audit/internal/files.h"
#include "audit/internal/signer.h"

namespace scytale::audit {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct Line {
  const std::string* file = nullptr;
  size_t line_no = 0;  // 1-based
  std::string_view text;
  bool complete = true;  // ended with '\n'
  std::optional<internal::ChainLink> link;
  std::string hash;
};

struct LogFiles {
  std::vector<std::string> names;  // in sequence order
  std::vector<std::string> contents;
  std::vector<std::string> digests;  // in number order
};

Result<LogFiles> ReadLogFiles(const fs::path& dir, Env* env) {
  SCY_ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(dir));
  std::vector<std::pair<uint64_t, std::string>> logs;
  LogFiles out;
  for (const std::string& name : names) {
    if (auto seq = internal::LogFileSequence(name)) {
      logs.emplace_back(*seq, name);
    } else if (internal::DigestFileNumber(name)) {
      out.digests.push_back(name);
    }
  }
  std::sort(logs.begin(), logs.end());
  std::sort(out.digests.begin(), out.digests.end());
  for (auto& [seq, name] : logs) {
    SCY_ASSIGN_OR_RETURN(std::string text, env->ReadFile(dir / name));
    out.names.push_back(name);
    out.contents.push_back(std::move(text));
  }
  return out;
}

std::vector<Line> SplitLines(const LogFiles& files) {
  std::vector<Line> lines;
  for (size_t f = 0; f < files.names.size(); ++f) {
    std::string_view text = files.contents[f];
    size_t line_no = 0;
    while (!text.empty()) {
      size_t nl = text.find('\n');
      Line line;
      line.file = &files.names[f];
      line.line_no = ++line_no;
      line.complete = nl != std::string_view::npos;
      line.text = text.substr(0, line.complete ? nl : text.size());
      text.remove_prefix(line.complete ? nl + 1 : text.size());
      line.hash = internal::Sha256Hex(line.text);
      json record = json::parse(line.text, nullptr, /*allow_exceptions=*/false);
      line.link = internal::ChainOf(record);
      lines.push_back(std::move(line));
    }
  }
  return lines;
}

VerifyReport Bad(VerifyReport report, const Line& line, std::string message) {
  report.ok = false;
  report.bad_file = *line.file;
  report.bad_line = line.line_no;
  if (line.link) {
    report.bad_sequence = line.link->seq;
  }
  report.message = std::move(message);
  return report;
}

std::string Where(const Line& line) {
  std::string out = *line.file + ":" + std::to_string(line.line_no);
  if (line.link) {
    out += " (seq " + std::to_string(line.link->seq) + ")";
  }
  return out;
}

// Walks the chain; returns a failed report at the first bad record, or nullopt.
std::optional<VerifyReport> CheckChain(const VerifyReport& base, const std::vector<Line>& lines) {
  std::set<uint64_t> seqs;
  for (const Line& l : lines) {
    if (l.link) {
      seqs.insert(l.link->seq);
    }
  }
  uint64_t expected = 1;
  std::string prev_hash(internal::kZeroHash);
  for (size_t i = 0; i < lines.size(); ++i) {
    const Line& l = lines[i];
    if (!l.complete) {
      return Bad(base, l, "truncated record: the last line of the file ends without a newline");
    }
    if (!l.link) {
      return Bad(base, l, "not a valid chained record: the line was modified");
    }
    uint64_t seq = l.link->seq;
    if (seq == expected) {
      if (l.link->prev != prev_hash) {
        if (i == 0) {
          return Bad(base, l, "the first record does not start the chain (its prev is not zero)");
        }
        // Either the previous record changed (its hash no longer matches) or this record's own
        // prev was changed; in the second case the next record no longer chains to this one.
        bool this_changed = i + 1 < lines.size() && lines[i + 1].link &&
                            lines[i + 1].link->prev != l.hash;
        if (this_changed) {
          return Bad(base, l, "record was modified: its prev does not match " +
                                  Where(lines[i - 1]));
        }
        return Bad(base, lines[i - 1],
                   "record was modified: its SHA-256 does not match the prev of " + Where(l));
      }
    } else if (seq > expected) {
      if (seqs.contains(expected)) {
        return Bad(base, l, "records out of order: expected seq " + std::to_string(expected) +
                                ", which appears later in the log");
      }
      return Bad(base, l, "record(s) removed: seq " + std::to_string(expected) +
                              (seq - 1 > expected ? " to " + std::to_string(seq - 1) : "") +
                              " missing before this record");
    } else {
      if (i > 0 && lines[i - 1].link && lines[i - 1].link->seq == seq) {
        // Two records claim one seq: the genuine one is the one the next record chains to.
        bool next_chains_here = i + 1 >= lines.size() || !lines[i + 1].link ||
                                lines[i + 1].link->prev == l.hash;
        if (next_chains_here) {
          return Bad(base, lines[i - 1],
                     "record was inserted: it repeats seq " + std::to_string(seq) +
                         " of the genuine record after it");
        }
      }
      return Bad(base, l,
                 "record inserted or out of order: seq " + std::to_string(seq) +
                     " comes after seq " + std::to_string(expected - 1));
    }
    // The writer names a file after its first record and, once reopened, starts a new file
    // named after the next: a file renamed to a later sequence would sort after that new file,
    // and the records appended would come before older ones.
    if (l.line_no == 1 && internal::LogFileSequence(*l.file) != seq) {
      return Bad(base, l,
                 "file name does not match its first record (seq " + std::to_string(seq) +
                     "): the file was renamed");
    }
    prev_hash = l.hash;
    expected = seq + 1;
  }
  return std::nullopt;
}

}  // namespace

Result<VerifyReport> VerifyLog(const fs::path& dir, std::optional<fs::path> public_key_pem_path,
                               std::shared_ptr<Env> env) {
  if (!env) {
    env = PosixEnv();
  }
  SCY_ASSIGN_OR_RETURN(LogFiles files, ReadLogFiles(dir, env.get()));
  std::vector<Line> lines = SplitLines(files);
  VerifyReport report;
  // A crash mid-write leaves the log's very last line without its newline. Its record was never
  // acknowledged and the next start cuts it off, so it is reported but is not part of the chain;
  // the digests still catch a sealed record cut this way. A line without its newline anywhere
  // else (a file the log goes on after) fails the chain check below.
  if (!lines.empty() && !lines.back().complete) {
    const Line& torn = lines.back();
    size_t file_size = 0;
    for (size_t f = 0; f < files.names.size(); ++f) {
      if (&files.names[f] == torn.file) {
        file_size = files.contents[f].size();
      }
    }
    report.torn_tail = TornTail{*torn.file, file_size - torn.text.size(), torn.text.size()};
    lines.pop_back();
  }
  report.files = files.names.size();
  report.records = lines.size();
  report.digests = files.digests.size();
  if (!lines.empty() && lines.back().link) {
    report.last_sequence = lines.back().link->seq;
  }
  if (auto bad = CheckChain(report, lines)) {
    return *bad;
  }

  std::map<uint64_t, const Line*> by_seq;
  for (const Line& l : lines) {
    by_seq[l.link->seq] = &l;
  }
  fs::path pem_path = public_key_pem_path.value_or(dir / internal::kPublicKeyFile);
  Result<std::string> pem = env->ReadFile(pem_path);
  if (!pem && !files.digests.empty()) {
    return MakeError(pem.error().code, "cannot read the audit public key: " + pem.error().message);
  }
  std::string prev_digest_hash(internal::kZeroHash);
  uint64_t sealed = 0;
  uint64_t number = 0;
  for (const std::string& name : files.digests) {
    ++number;
    auto fail = [&](const std::string& message) {
      report.ok = false;
      report.bad_file = name;
      report.bad_line = 1;
      report.message = message;
      return report;
    };
    SCY_ASSIGN_OR_RETURN(std::string text, env->ReadFile(dir / name));
    json digest = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!digest.is_object() || !digest.contains("signature") || !digest["signature"].is_string() ||
        !digest.contains("lastSequence") || !digest["lastSequence"].is_number_unsigned() ||
        !digest.contains("lastRecordSha256") || !digest["lastRecordSha256"].is_string() ||
        !digest.contains("previousDigestSha256")) {
      return fail("digest is not valid JSON of the digest format");
    }
    std::optional<Bytes> signature = Base64Decode(digest["signature"].get<std::string>());
    if (!signature) {
      return fail("digest signature is not base64");
    }
    std::string signed_text = internal::DigestSigningText(digest);
    if (Status s = internal::VerifySignature(*pem, AsBytes(signed_text), *signature); !s) {
      return fail("digest signature does not verify with " + pem_path.string() + ": " +
                  s.error().message);
    }
    if (internal::DigestFileNumber(name) != number ||
        digest.value("digestNumber", uint64_t{0}) != number) {
      return fail("digest " + std::to_string(number) + " is missing (digests were removed)");
    }
    if (digest["previousDigestSha256"] != prev_digest_hash) {
      return fail("digest does not chain to the previous digest (a digest was replaced)");
    }
    uint64_t last = digest["lastSequence"].get<uint64_t>();
    if (last < sealed) {
      return fail("digest seals seq " + std::to_string(last) + ", before the previous digest");
    }
    auto it = by_seq.find(last);
    if (it == by_seq.end()) {
      report.ok = false;
      if (lines.empty()) {
        report.message = "the log is empty but " + name + " seals records up to seq " +
                         std::to_string(last) + " (the log was removed)";
        report.bad_file = name;
        return report;
      }
      const Line& tail = lines.back();
      report.bad_file = *tail.file;
      report.bad_line = tail.line_no + 1;
      report.bad_sequence = tail.link->seq + 1;
      report.message = "log truncated: records from seq " + std::to_string(tail.link->seq + 1) +
                       " to " + std::to_string(last) + " are missing after " + Where(tail) +
                       " (sealed by " + name + ")";
      return report;
    }
    if (digest["lastRecordSha256"] != it->second->hash) {
      return Bad(report, *it->second,
                 "record was modified: its SHA-256 does not match the one sealed by " + name);
    }
    sealed = last;
    prev_digest_hash = internal::Sha256Hex(text);
  }
  report.ok = true;
  report.records_after_last_digest = report.last_sequence - sealed;
  report.message = "ok: " + std::to_string(report.records) + " records in " +
                   std::to_string(report.files) + " files, " + std::to_string(report.digests) +
                   " signed digests; last seq " + std::to_string(report.last_sequence) + ", " +
                   std::to_string(report.records_after_last_digest) +
                   " records not yet sealed by a digest";
  if (report.torn_tail) {
    report.message += "; torn tail: " + report.torn_tail->file + " ends in " +
                      std::to_string(report.torn_tail->bytes) + " bytes without a newline at " +
                      "offset " + std::to_string(report.torn_tail->offset) +
                      " (a write cut off by a crash, never acknowledged; the next start of the "
                      "server cuts it off)";
  }
  return report;
}

namespace {

bool EndsWith(std::string_view s, std::string_view suffix) { return s.ends_with(suffix); }

std::string StringAt(const json& j, std::initializer_list<const char*> path) {
  const json* cur = &j;
  for (const char* p : path) {
    if (!cur->is_object()) {
      return "";
    }
    auto it = cur->find(p);
    if (it == cur->end()) {
      return "";
    }
    cur = &*it;
  }
  return cur->is_string() ? cur->get<std::string>() : "";
}

bool MatchesKey(const json& r, const std::string& key) {
  auto matches = [&](const std::string& v) {
    return !v.empty() && (v == key || EndsWith(v, "/" + key) || EndsWith(v, ":" + key));
  };
  auto res = r.find("resources");
  if (res != r.end() && res->is_array()) {
    for (const json& x : *res) {
      if (matches(StringAt(x, {"ARN"}))) {
        return true;
      }
    }
  }
  for (const char* member : {"keyId", "targetKeyId", "aliasName", "sourceKeyId",
                             "destinationKeyId"}) {
    if (matches(StringAt(r, {"requestParameters", member}))) {
      return true;
    }
  }
  return false;
}

bool MatchesPrincipal(const json& r, const std::string& p) {
  std::string arn = StringAt(r, {"userIdentity", "arn"});
  return (!arn.empty() && (arn == p || EndsWith(arn, ":" + p) || EndsWith(arn, "/" + p))) ||
         StringAt(r, {"userIdentity", "accessKeyId"}) == p ||
         StringAt(r, {"userIdentity", "accountId"}) == p;
}

}  // namespace

Result<std::vector<json>> QueryLog(const fs::path& dir, const QueryFilter& filter,
                                   std::shared_ptr<Env> env) {
  if (!env) {
    env = PosixEnv();
  }
  SCY_ASSIGN_OR_RETURN(LogFiles files, ReadLogFiles(dir, env.get()));
  std::vector<json> out;
  for (const std::string& text : files.contents) {
    std::string_view rest = text;
    while (!rest.empty()) {
      size_t nl = rest.find('\n');
      if (nl == std::string_view::npos) {
        break;  // a torn tail: the record it began was never acknowledged (not a record)
      }
      std::string_view line = rest.substr(0, nl);
      rest.remove_prefix(nl + 1);
      json r = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!r.is_object()) {
        continue;
      }
      std::string time = StringAt(r, {"eventTime"});
      if ((!filter.from.empty() && time < filter.from) ||
          (!filter.to.empty() && time >= filter.to) ||
          (!filter.event.empty() && StringAt(r, {"eventName"}) != filter.event) ||
          (!filter.outcome.empty() && OutcomeOf(r) != filter.outcome) ||
          (!filter.key.empty() && !MatchesKey(r, filter.key)) ||
          (!filter.principal.empty() && !MatchesPrincipal(r, filter.principal))) {
        continue;
      }
      out.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace scytale::audit
