// Tamper tests: every kind of change to a closed log is reported at the first bad record.

#include <algorithm>

#include "audit/internal/files.h"
#include "audit/internal/signer.h"
#include "audit/testing/audit_fixture.h"

namespace scytale::audit {
namespace {

using ::scytale::testing::IsOk;
using json = nlohmann::json;
using testing::AuditFixture;

class VerifyTest : public AuditFixture {
 protected:
  // Ten records (seq 1..10) in one file, sealed by a final digest.
  void SetUp() override {
    AuditFixture::SetUp();
    auto log = OpenLog();
    for (int i = 1; i <= 10; ++i) {
      ASSERT_THAT(log->Append(MakeEvent(i % 2 ? "Encrypt" : "Decrypt", i)), IsOk());
    }
    ASSERT_THAT(log->Close(), IsOk());
    file_ = LogFiles().at(0);
    lines_ = ReadLines(file_);
    ASSERT_EQ(lines_.size(), 10u);
  }

  void ExpectBadAt(size_t line, std::optional<uint64_t> seq, const std::string& words) {
    VerifyReport r = Verify();
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.bad_file, file_.filename().string());
    EXPECT_EQ(r.bad_line, line) << r.message;
    EXPECT_EQ(r.bad_sequence, seq) << r.message;
    EXPECT_THAT(r.message, ::testing::HasSubstr(words));
  }

  std::filesystem::path file_;
  std::vector<std::string> lines_;
};

TEST_F(VerifyTest, AnUntouchedLogVerifies) {
  VerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.records, 10u);
  EXPECT_EQ(r.last_sequence, 10u);
  EXPECT_EQ(r.digests, 1u);
}

TEST_F(VerifyTest, AModifiedRecordThatIsStillJsonIsNamed) {
  std::string& l = lines_[3];  // seq 4, a Decrypt
  l.replace(l.find("\"Decrypt\""), 9, "\"Encrypt\"");
  WriteLines(file_, lines_);
  ExpectBadAt(4, 4, "modified");
}

TEST_F(VerifyTest, AFlippedByteIsNamed) {
  lines_[6][lines_[6].size() / 2] ^= 0x01;
  WriteLines(file_, lines_);
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_line, 7u) << r.message;
}

TEST_F(VerifyTest, AModifiedLastRecordIsCaughtByTheDigest) {
  std::string& l = lines_[9];
  l.replace(l.find("\"Decrypt\""), 9, "\"Encrypt\"");
  WriteLines(file_, lines_);
  ExpectBadAt(10, 10, "sealed by digest-0000000000000001.json");
}

TEST_F(VerifyTest, AChangedPrevOfOneRecordNamesThatRecord) {
  json r = json::parse(lines_[4]);
  r["scytaleChain"]["prev"] = std::string(internal::kZeroHash);
  lines_[4] = r.dump();
  WriteLines(file_, lines_);
  ExpectBadAt(5, 5, "modified");
}

TEST_F(VerifyTest, ARemovedRecordIsNamed) {
  lines_.erase(lines_.begin() + 4);  // seq 5
  WriteLines(file_, lines_);
  ExpectBadAt(5, 6, "removed: seq 5 missing");
}

TEST_F(VerifyTest, SwappedRecordsAreNamed) {
  std::swap(lines_[2], lines_[3]);  // seq 4 now on line 3
  WriteLines(file_, lines_);
  ExpectBadAt(3, 4, "out of order");
}

TEST_F(VerifyTest, ACopiedRecordInsertedIsNamed) {
  lines_.insert(lines_.begin() + 6, lines_[1]);  // seq 2 again, on line 7
  WriteLines(file_, lines_);
  ExpectBadAt(7, 2, "inserted");
}

TEST_F(VerifyTest, AForgedRecordThatChainsIsNamed) {
  // The forger computes a correct chain member for seq 7, after seq 6.
  json forged = json::parse(lines_[0]);
  forged["eventName"] = "ScheduleKeyDeletion";
  forged["scytaleChain"] = {{"prev", internal::Sha256Hex(lines_[5])}, {"seq", 7}};
  lines_.insert(lines_.begin() + 6, forged.dump());
  WriteLines(file_, lines_);
  ExpectBadAt(7, 7, "inserted");
}

// Seq 10 is sealed by the digest, so cutting it mid-line is no crash remnant (a crash never
// tears a record that a digest sealed): the digest names it.
TEST_F(VerifyTest, ATailCutMidRecordIsNamed) {
  std::string text = PosixEnv()->ReadFile(file_).value();
  std::filesystem::resize_file(file_, text.size() - 20);
  ExpectBadAt(10, 10, "log truncated: records from seq 10 to 10 are missing");
}

TEST_F(VerifyTest, ATornLastLineIsReportedAndAccepted) {
  const std::string torn = R"({"awsRegion":"us-east-1","eventName":"Enc)";
  {
    std::ofstream out(file_, std::ios::app);
    out << torn;
  }
  VerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.records, 10u);
  EXPECT_EQ(r.last_sequence, 10u);
  ASSERT_TRUE(r.torn_tail);
  EXPECT_EQ(r.torn_tail->file, file_.filename().string());
  EXPECT_EQ(r.torn_tail->bytes, torn.size());
  EXPECT_EQ(r.torn_tail->offset, std::filesystem::file_size(file_) - torn.size());
  EXPECT_THAT(r.message, ::testing::HasSubstr("torn tail"));
}

// Records after a torn line: the torn line is in the middle of the log, and fails.
TEST_F(VerifyTest, ATornLineInTheMiddleOfTheLogIsNamed) {
  {
    std::ofstream out(file_, std::ios::app);
    out << R"({"awsRegion":"us-east-1","eventName":"Enc)";
  }
  json eleven = json::parse(lines_[9]);
  eleven["scytaleChain"] = {{"prev", internal::Sha256Hex(lines_[9])}, {"seq", 11}};
  std::filesystem::path next = file_.parent_path() / "audit-0000000000000011-20231114.jsonl";
  WriteLines(next, {eleven.dump()});
  ExpectBadAt(11, std::nullopt, "truncated record");
}

TEST_F(VerifyTest, ATailCutAtALineBoundaryIsNamedByTheDigest) {
  lines_.resize(8);
  WriteLines(file_, lines_);
  ExpectBadAt(9, 9, "log truncated: records from seq 9 to 10 are missing");
}

TEST_F(VerifyTest, ARemovedFileIsNamed) {
  std::filesystem::remove(file_);
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.message, ::testing::HasSubstr("removed"));
}

TEST_F(VerifyTest, ARenamedFileIsNamed) {
  // Named as if it began at seq 20, it would sort after the file the server starts on its next
  // start (seq 11), and records 1-10 would follow the ones appended then.
  auto renamed = file_.parent_path() / internal::LogFileName(20, "20231114", 0);
  std::filesystem::rename(file_, renamed);
  file_ = renamed;
  ExpectBadAt(1, 1, "file name does not match its first record (seq 1): the file was renamed");
}

TEST_F(VerifyTest, AForgedDigestFailsItsSignature) {
  auto path = dir_ / "audit" / "digest-0000000000000001.json";
  json d = json::parse(PosixEnv()->ReadFile(path).value());
  d["lastSequence"] = 8;
  d["lastRecordSha256"] = internal::Sha256Hex(lines_[7]);
  ASSERT_THAT(PosixEnv()->WriteFileDurably(path, d.dump()), IsOk());
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.bad_file, "digest-0000000000000001.json");
  EXPECT_THAT(r.message, ::testing::HasSubstr("signature does not verify"));
}

TEST_F(VerifyTest, ARemovedDigestIsDetected) {
  {
    auto log = OpenLog();
    ASSERT_THAT(log->Append(MakeEvent("Encrypt", 11)), IsOk());
    ASSERT_THAT(log->Close(), IsOk());
  }
  ASSERT_TRUE(Verify().ok);
  std::filesystem::remove(dir_ / "audit" / "digest-0000000000000001.json");
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.message, ::testing::HasSubstr("missing"));
}

TEST_F(VerifyTest, AnotherPublicKeyDoesNotVerifyTheDigests) {
  keystore::SoftOptions other;
  other.path = dir_ / "other-root.key";
  auto other_root = keystore::OpenSoftKeystore(other).value();
  auto signer = internal::Signer::LoadOrCreate(dir_ / "other-signing.key", other_root.get(),
                                               PosixEnv().get())
                    .value();
  auto pem = dir_ / "other.pem";
  ASSERT_THAT(PosixEnv()->WriteFileDurably(pem, signer->PublicKeyPem()), IsOk());
  auto report = VerifyLog(dir_ / "audit", pem);
  ASSERT_THAT(report, IsOk());
  EXPECT_FALSE(report->ok);
  EXPECT_THAT(report->message, ::testing::HasSubstr("signature does not verify"));
}

}  // namespace
}  // namespace scytale::audit
