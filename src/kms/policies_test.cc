// Key policies through the service layer: PutKeyPolicy / GetKeyPolicy / ListKeyPolicies, the
// checks a new policy passes (size quota, syntax, lockout safety check), and the policy
// enforced on every operation on a key, with the condition keys each operation sets. The
// caller is always the account root (the only principal so far), which the default key policy
// allows and any other key policy may lock out, as in AWS.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/testing/matchers.h"
#include "kms/kms.h"
#include "kms/testing/service_fixture.h"

namespace scytale::kms {
namespace {

using ::scytale::testing::HasError;
using ::scytale::testing::HasErrorMessage;
using ::scytale::testing::IsOk;

using crypto::SecretBytes;

constexpr const char* kAccount = "111122223333";
constexpr const char* kRoot = "arn:aws:iam::111122223333:root";
constexpr const char* kOtherRoot = "arn:aws:iam::444455556666:root";
constexpr const char* kLockoutMessage =
    "The new key policy will not allow you to update the key policy in the future.";

// ---- policy documents --------------------------------------------------------------------

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

// ["a","b"] from {"a","b"}.
std::string List(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    out += (i ? "," : "") + Quoted(items[i]);
  }
  return out + "]";
}

// One statement. `principal`: an AWS principal ARN or account id, or "*" (Principal "*").
std::string Stmt(const std::string& effect, const std::string& principal,
                 const std::vector<std::string>& actions, const std::string& condition = "",
                 const std::string& resource = "*") {
  std::string p = principal == "*" ? "\"*\"" : "{\"AWS\":" + Quoted(principal) + "}";
  std::string s = "{\"Effect\":" + Quoted(effect) + ",\"Principal\":" + p +
                  ",\"Action\":" + List(actions) + ",\"Resource\":" + Quoted(resource);
  if (!condition.empty()) {
    s += ",\"Condition\":" + condition;
  }
  return s + "}";
}

std::string Allow(const std::vector<std::string>& actions, const std::string& condition = "",
                  const std::string& principal = kRoot) {
  return Stmt("Allow", principal, actions, condition);
}

std::string Deny(const std::vector<std::string>& actions, const std::string& condition = "",
                 const std::string& principal = kRoot) {
  return Stmt("Deny", principal, actions, condition);
}

std::string Policy(const std::vector<std::string>& statements) {
  std::string out = "{\"Version\":\"2012-10-17\",\"Statement\":[";
  for (size_t i = 0; i < statements.size(); ++i) {
    out += (i ? "," : "") + statements[i];
  }
  return out + "]}";
}

// A statement that keeps the key manageable (the lockout check passes) without granting any
// cryptographic operation.
std::string Manage() {
  return Allow({"kms:PutKeyPolicy", "kms:GetKeyPolicy", "kms:DescribeKey", "kms:CreateAlias",
                "kms:TagResource", "kms:UntagResource"});
}

// The console's key-administrator statement.
const std::vector<std::string> kAdminActions = {
    "kms:Create*",  "kms:Describe*",       "kms:Enable*",          "kms:List*",
    "kms:Put*",     "kms:Update*",         "kms:Revoke*",          "kms:Disable*",
    "kms:Get*",     "kms:Delete*",         "kms:TagResource",      "kms:UntagResource",
    "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"};

// The console's key-user statement.
const std::vector<std::string> kUserActions = {"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*",
                                               "kms:GenerateDataKey*", "kms:DescribeKey"};

// `doc` (ending in '}') padded with spaces to exactly `size` bytes.
std::string PaddedTo(std::string doc, size_t size) {
  doc.insert(doc.size() - 1, std::string(size - doc.size(), ' '));
  return doc;
}

std::string Denied(const std::string& action, const std::string& arn) {
  return "User: " + std::string(kRoot) + " is not authorized to perform: " + action +
         " on resource: " + arn + " because no resource-based policy allows the " + action +
         " action";
}

std::string ExplicitlyDenied(const std::string& action, const std::string& arn) {
  return "User: " + std::string(kRoot) + " is not authorized to perform: " + action +
         " on resource: " + arn + " with an explicit deny in a resource-based policy";
}

// ---- fixture -----------------------------------------------------------------------------

class PoliciesTest : public testing::ServiceFixture {
 protected:
  Result<KeyMetadata> CreateWithPolicy(const std::string& policy, bool bypass = false,
                                       std::vector<Tag> tags = {}) {
    CreateKeyRequest req;
    req.policy = policy;
    req.bypass_policy_lockout_safety_check = bypass;
    req.tags = std::move(tags);
    return service_->CreateKey(Ctx(), req);
  }
  Status Put(const std::string& key_id, const std::string& policy, bool bypass = false,
             std::optional<std::string> name = std::nullopt) {
    return service_->PutKeyPolicy(Ctx(), key_id, policy, name, bypass);
  }
  std::string PolicyOf(const std::string& key_id) {
    // Read from the store: GetKeyPolicy itself may be denied.
    auto row = store_->GetKey(kAccount, "us-east-1", KeyIdOnly(key_id)).value();
    return row ? row->policy : "<no key>";
  }
  static std::string KeyIdOnly(const std::string& id_or_arn) {
    auto slash = id_or_arn.rfind('/');
    return slash == std::string::npos ? id_or_arn : id_or_arn.substr(slash + 1);
  }
  size_t KeyCount() { return service_->ListKeys(Ctx(), {}).value().keys.size(); }

  Result<EncryptResponse> Encrypt(const std::string& key_id, const EncryptionContext& context = {},
                                  const CallContext* ctx = nullptr) {
    EncryptRequest req;
    req.key_id = key_id;
    req.plaintext = SecretBytes(AsBytes(std::string_view("secret")));
    req.context = context;
    return service_->Encrypt(ctx ? *ctx : Ctx(), req);
  }
  Result<DecryptResponse> Decrypt(const Bytes& blob, const EncryptionContext& context = {},
                                  std::optional<std::string> key_id = std::nullopt) {
    DecryptRequest req;
    req.ciphertext_blob = blob;
    req.context = context;
    req.key_id = std::move(key_id);
    return service_->Decrypt(Ctx(), req);
  }
  Result<ReEncryptResponse> ReEncrypt(const Bytes& blob, const std::string& destination,
                                      const EncryptionContext& context = {}) {
    ReEncryptRequest req;
    req.ciphertext_blob = blob;
    req.source_context = context;
    req.destination_key_id = destination;
    req.destination_context = context;
    return service_->ReEncrypt(Ctx(), req);
  }
  Result<GenerateDataKeyResponse> DataKey(const std::string& key_id,
                                          const EncryptionContext& context = {},
                                          bool with_plaintext = true) {
    GenerateDataKeyRequest req;
    req.key_id = key_id;
    req.key_spec = "AES_256";
    req.context = context;
    return with_plaintext ? service_->GenerateDataKey(Ctx(), req)
                          : service_->GenerateDataKeyWithoutPlaintext(Ctx(), req);
  }
  Bytes BlobUnder(const std::string& key_id, const EncryptionContext& context = {}) {
    auto enc = Encrypt(key_id, context);
    EXPECT_THAT(enc, IsOk());
    return enc ? enc->ciphertext_blob : Bytes{};
  }
};

// ---- GetKeyPolicy / ListKeyPolicies / PutKeyPolicy ---------------------------------------

TEST_F(PoliciesTest, NewKeyGetsAwsDefaultPolicyNamedDefault) {
  KeyMetadata key = NewKey();
  auto expected = nlohmann::json::parse(R"({
    "Version": "2012-10-17",
    "Id": "key-default-1",
    "Statement": [{
      "Sid": "Enable IAM User Permissions",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
      "Action": "kms:*",
      "Resource": "*"
    }]
  })");
  for (const std::optional<std::string>& name :
       {std::optional<std::string>(), std::optional<std::string>("default")}) {
    for (const std::string& id : {key.key_id, key.arn}) {
      auto got = service_->GetKeyPolicy(Ctx(), id, name);
      ASSERT_THAT(got, IsOk());
      EXPECT_EQ(got->policy_name, "default");
      EXPECT_EQ(nlohmann::json::parse(got->policy), expected) << got->policy;
    }
  }
  auto names = service_->ListKeyPolicies(Ctx(), key.key_id);
  ASSERT_THAT(names, IsOk());
  EXPECT_EQ(names->policy_names, std::vector<std::string>{"default"});
  EXPECT_FALSE(names->truncated);
  ASSERT_THAT(service_->ListKeyPolicies(Ctx(), key.arn), IsOk());
}

TEST_F(PoliciesTest, DefaultPolicyNamesTheCallersAccount) {
  auto key = service_->CreateKey(Ctx("us-east-1", "444455556666"), {});
  ASSERT_THAT(key, IsOk());
  auto got = service_->GetKeyPolicy(Ctx("us-east-1", "444455556666"), key->key_id, std::nullopt);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(nlohmann::json::parse(got->policy)["Statement"][0]["Principal"]["AWS"],
            "arn:aws:iam::444455556666:root");
}

TEST_F(PoliciesTest, OnlyThePolicyNamedDefaultExists) {
  KeyMetadata key = NewKey();
  EXPECT_THAT(service_->GetKeyPolicy(Ctx(), key.key_id, "other"), HasError(ErrorCode::kNotFound));
  EXPECT_THAT(service_->GetKeyPolicy(Ctx(), key.key_id, "Default"),
              HasError(ErrorCode::kNotFound));
  EXPECT_THAT(Put(key.key_id, Policy({Allow({"kms:*"})}), false, "other"),
              HasError(ErrorCode::kNotFound));
  EXPECT_THAT(Put(key.key_id, Policy({Allow({"kms:*"})}), false, "default"), IsOk());
}

TEST_F(PoliciesTest, PolicyOperationsTakeKeyIdsAndArnsButNotAliases) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/p", key.key_id), IsOk());
  EXPECT_THAT(service_->GetKeyPolicy(Ctx(), "alias/p", std::nullopt),
              HasError(ErrorCode::kNotFound));
  EXPECT_THAT(service_->ListKeyPolicies(Ctx(), "alias/p"), HasError(ErrorCode::kNotFound));
  EXPECT_THAT(Put("alias/p", Policy({Allow({"kms:*"})})), HasError(ErrorCode::kNotFound));
  EXPECT_THAT(service_->GetKeyPolicy(Ctx(), "1234abcd-12ab-34cd-56ef-1234567890ab", std::nullopt),
              HasError(ErrorCode::kNotFound));
  EXPECT_THAT(Put(key.arn, Policy({Allow({"kms:*"})})), IsOk());
}

TEST_F(PoliciesTest, PutKeyPolicyStoresTheDocumentVerbatim) {
  KeyMetadata key = NewKey();
  const std::string doc =
      "{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"mine\",\n  \"Statement\" : [ {\n"
      "    \"Sid\" : \"Root may do anything\",\n    \"Effect\" : \"Allow\",\n"
      "    \"Principal\" : { \"AWS\" : \"arn:aws:iam::111122223333:root\" },\n"
      "    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  } ]\n}";
  ASSERT_THAT(Put(key.key_id, doc), IsOk());
  auto got = service_->GetKeyPolicy(Ctx(), key.key_id, std::nullopt);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->policy, doc);
  EXPECT_EQ(got->policy_name, "default");

  auto created = CreateWithPolicy(doc);
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(service_->GetKeyPolicy(Ctx(), created->key_id, std::nullopt)->policy, doc);
}

// ---- size quota and syntax ---------------------------------------------------------------

TEST_F(PoliciesTest, MalformedPoliciesAreRejectedOnCreateKeyAndPutKeyPolicy) {
  const std::string ok_stmt = Allow({"kms:*"});
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty", ""},
      {"not JSON", "{not json"},
      {"truncated", Policy({ok_stmt}).substr(0, 40)},
      {"array", "[" + Policy({ok_stmt}) + "]"},
      {"string", "\"kms:*\""},
      {"no Statement", R"({"Version":"2012-10-17"})"},
      {"empty Statement", R"({"Version":"2012-10-17","Statement":[]})"},
      {"bad Version", R"({"Version":"2013-01-01","Statement":[)" + ok_stmt + "]}"},
      {"unknown element", R"({"Version":"2012-10-17","Foo":1,"Statement":[)" + ok_stmt + "]}"},
      {"duplicate element",
       R"({"Version":"2012-10-17","Statement":[)" + ok_stmt + R"(],"Statement":[)" + ok_stmt +
           "]}"},
      {"bad Effect", Policy({Stmt("Permit", kRoot, {"kms:*"})})},
      {"no Principal",
       Policy({R"({"Effect":"Allow","Action":"kms:*","Resource":"*"})"})},
      {"invalid principal", Policy({Stmt("Allow", "bob", {"kms:*"})})},
      {"action without vendor", Policy({Allow({"Encrypt"})})},
      {"resource not an ARN", Policy({Stmt("Allow", kRoot, {"kms:*"}, "", "key/1234")})},
      {"unknown condition operator",
       Policy({Allow({"kms:*"}, R"({"StringEqualz":{"kms:CallerAccount":"111122223333"}})")})},
      {"non-boolean Bool value",
       Policy({Allow({"kms:*"}, R"({"Bool":{"aws:SecureTransport":"yes"}})")})},
      {"condition key without vendor",
       Policy({Allow({"kms:*"}, R"({"StringEquals":{"CallerAccount":"111122223333"}})")})},
  };
  KeyMetadata key = NewKey();
  const std::string before = PolicyOf(key.key_id);
  for (const auto& [what, doc] : cases) {
    SCOPED_TRACE(what);
    for (bool bypass : {false, true}) {
      EXPECT_THAT(CreateWithPolicy(doc, bypass), HasError(ErrorCode::kMalformedPolicyDocument));
      EXPECT_THAT(Put(key.key_id, doc, bypass), HasError(ErrorCode::kMalformedPolicyDocument));
    }
  }
  EXPECT_EQ(KeyCount(), 1u);  // nothing half-created
  EXPECT_EQ(PolicyOf(key.key_id), before);
  EXPECT_THAT(Encrypt(key.key_id), IsOk());
}

TEST_F(PoliciesTest, PolicyLargerThan32KBExceedsTheQuota) {
  KeyMetadata key = NewKey();
  const std::string base = Policy({Allow({"kms:*"})});
  const std::string at_quota = PaddedTo(base, 32768);
  const std::string over_quota = PaddedTo(base, 32769);
  ASSERT_EQ(at_quota.size(), 32768u);
  ASSERT_EQ(over_quota.size(), 32769u);

  EXPECT_THAT(CreateWithPolicy(over_quota),
              HasErrorMessage(ErrorCode::kLimitExceeded,
                              "The key policy is larger than the quota of 32 KB."));
  EXPECT_THAT(CreateWithPolicy(over_quota, /*bypass=*/true), HasError(ErrorCode::kLimitExceeded));
  EXPECT_THAT(Put(key.key_id, over_quota), HasError(ErrorCode::kLimitExceeded));
  EXPECT_THAT(Put(key.key_id, PaddedTo(base, 131072)), HasError(ErrorCode::kLimitExceeded));
  EXPECT_EQ(KeyCount(), 1u);

  auto created = CreateWithPolicy(at_quota);
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(service_->GetKeyPolicy(Ctx(), created->key_id, std::nullopt)->policy, at_quota);
  EXPECT_THAT(Put(key.key_id, at_quota), IsOk());
  EXPECT_EQ(service_->GetKeyPolicy(Ctx(), key.key_id, std::nullopt)->policy, at_quota);
}

TEST_F(PoliciesTest, StatementWithoutActionOrResourceIsAcceptedButGrantsNothing) {
  KeyMetadata key = NewKey();
  const std::string no_action =
      R"({"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Resource":"*"})";
  const std::string no_resource =
      R"({"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*"})";
  // Alone they would lock the root out...
  EXPECT_THAT(Put(key.key_id, Policy({no_action, no_resource})),
              HasErrorMessage(ErrorCode::kMalformedPolicyDocument, kLockoutMessage));
  // ...beside a real statement they are inert.
  ASSERT_THAT(Put(key.key_id, Policy({no_action, no_resource, Manage()})), IsOk());
  EXPECT_THAT(Encrypt(key.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Encrypt", key.arn)));
}

// ---- lockout safety check ----------------------------------------------------------------

TEST_F(PoliciesTest, LockoutCheckRefusesAPolicyThatDropsTheRootsPutKeyPolicy) {
  KeyMetadata key = NewKey();
  const std::string before = PolicyOf(key.key_id);
  const std::vector<std::pair<std::string, std::string>> lockouts = {
      {"key user actions only", Policy({Allow(kUserActions)})},
      {"another account only", Policy({Stmt("Allow", kOtherRoot, {"kms:*"})})},
      {"another account's id only", Policy({Stmt("Allow", "444455556666", {"kms:*"})})},
      {"PutKeyPolicy explicitly denied", Policy({Allow({"kms:*"}), Deny({"kms:PutKeyPolicy"})})},
      {"everything denied to everyone", Policy({Allow({"kms:*"}), Deny({"kms:*"}, "", "*")})},
      {"Deny kms:Put*", Policy({Allow({"kms:*"}), Deny({"kms:Put*"})})},
      {"only over TLS (there is none yet)",
       Policy({Allow({"kms:*"}, R"({"Bool":{"aws:SecureTransport":"true"}})")})},
      {"only from another account",
       Policy({Allow({"kms:*"}, R"({"StringEquals":{"kms:CallerAccount":"444455556666"}})",
                     "*")})},
      {"only via an AWS service",
       Policy({Allow({"kms:*"},
                     R"({"StringEquals":{"kms:ViaService":"ec2.us-east-1.amazonaws.com"}})")})},
      {"PutKeyPolicy on another key only",
       Policy({Stmt("Allow", kRoot, {"kms:*"}, "",
                    "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")})},
  };
  for (const auto& [what, doc] : lockouts) {
    SCOPED_TRACE(what);
    EXPECT_THAT(CreateWithPolicy(doc),
                HasErrorMessage(ErrorCode::kMalformedPolicyDocument, kLockoutMessage));
    EXPECT_THAT(Put(key.key_id, doc),
                HasErrorMessage(ErrorCode::kMalformedPolicyDocument, kLockoutMessage));
  }
  EXPECT_EQ(KeyCount(), 1u);
  EXPECT_EQ(PolicyOf(key.key_id), before);
  EXPECT_THAT(Encrypt(key.key_id), IsOk());

  // With the check bypassed every one of them is taken (each on a fresh key).
  for (const auto& [what, doc] : lockouts) {
    SCOPED_TRACE(what);
    auto created = CreateWithPolicy(doc, /*bypass=*/true);
    ASSERT_THAT(created, IsOk());
    EXPECT_EQ(PolicyOf(created->key_id), doc);
    KeyMetadata fresh = NewKey();
    EXPECT_THAT(Put(fresh.key_id, doc, /*bypass=*/true), IsOk());
    EXPECT_EQ(PolicyOf(fresh.key_id), doc);
  }
}

TEST_F(PoliciesTest, LockoutCheckAcceptsPoliciesThatKeepPutKeyPolicy) {
  const std::vector<std::pair<std::string, std::string>> keepers = {
      {"root, PutKeyPolicy only", Policy({Allow({"kms:PutKeyPolicy"})})},
      {"root, kms:Put*", Policy({Allow({"kms:Put*"})})},
      {"root by account id", Policy({Stmt("Allow", kAccount, {"kms:*"})})},
      {"everyone", Policy({Allow({"kms:*"}, "", "*")})},
      {"everyone in the account",
       Policy({Allow({"kms:*"}, R"({"StringEquals":{"kms:CallerAccount":"111122223333"}})",
                     "*")})},
      {"without TLS", Policy({Allow({"kms:*"}, R"({"Bool":{"aws:SecureTransport":"false"}})")})},
      {"root and another account",
       Policy({Stmt("Allow", kOtherRoot, {"kms:*"}), Allow({"kms:PutKeyPolicy"})})},
      {"key administrators", Policy({Allow(kAdminActions)})},
      {"deny of crypto only", Policy({Allow({"kms:*"}), Deny({"kms:Encrypt", "kms:Decrypt"})})},
      {"Version 2008-10-17",
       R"({"Version":"2008-10-17","Statement":[)" + Allow({"kms:*"}) + "]}"},
  };
  for (const auto& [what, doc] : keepers) {
    SCOPED_TRACE(what);
    auto created = CreateWithPolicy(doc);
    ASSERT_THAT(created, IsOk());
    EXPECT_EQ(PolicyOf(created->key_id), doc);
    KeyMetadata key = NewKey();
    EXPECT_THAT(Put(key.key_id, doc), IsOk());
    EXPECT_EQ(PolicyOf(key.key_id), doc);
    // And the root can indeed put a policy afterwards.
    EXPECT_THAT(Put(key.key_id, Policy({Allow({"kms:*"})})), IsOk());
  }
}

TEST_F(PoliciesTest, LockoutCheckSeesTheKeyArnOfPutKeyPolicy) {
  KeyMetadata key = NewKey();
  KeyMetadata other = NewKey();
  const std::string on_this_key = Policy({Stmt("Allow", kRoot, {"kms:*"}, "", key.arn)});
  EXPECT_THAT(Put(other.key_id, on_this_key),
              HasErrorMessage(ErrorCode::kMalformedPolicyDocument, kLockoutMessage));
  EXPECT_THAT(Put(key.key_id, on_this_key), IsOk());
  EXPECT_THAT(Encrypt(key.key_id), IsOk());
  const std::string by_pattern =
      Policy({Stmt("Allow", kRoot, {"kms:*"}, "", "arn:aws:kms:us-east-1:111122223333:key/*")});
  EXPECT_THAT(CreateWithPolicy(by_pattern), IsOk());
  const std::string other_region =
      Policy({Stmt("Allow", kRoot, {"kms:*"}, "", "arn:aws:kms:eu-west-1:111122223333:key/*")});
  EXPECT_THAT(CreateWithPolicy(other_region),
              HasErrorMessage(ErrorCode::kMalformedPolicyDocument, kLockoutMessage));
}

// authorize.h: the lockout check uses "the same condition keys as a real call". A policy whose
// PutKeyPolicy allow depends on properties of the key itself (kms:KeyUsage, kms:KeySpec,
// aws:ResourceTag/*) does let the root call PutKeyPolicy, so the check must not refuse it.
TEST_F(PoliciesTest, LockoutCheckSeesTheKeysOwnConditionKeys) {
  CreateKeyRequest tagged;
  tagged.tags = {{"team", "payments"}};
  KeyMetadata key = service_->CreateKey(Ctx(), tagged).value();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"kms:KeyUsage",
       Policy({Allow({"kms:*"}, R"({"StringEquals":{"kms:KeyUsage":"ENCRYPT_DECRYPT"}})")})},
      {"kms:KeySpec",
       Policy({Allow({"kms:*"}, R"({"StringEquals":{"kms:KeySpec":"SYMMETRIC_DEFAULT"}})")})},
      {"aws:ResourceTag", Policy({Allow({"kms:*"},
                                        R"({"StringEquals":{"aws:ResourceTag/team":"payments"}})")})},
  };
  for (const auto& [what, doc] : cases) {
    SCOPED_TRACE(what);
    // Put with the check bypassed; the real PutKeyPolicy call that follows is authorized by
    // this very policy, so the root demonstrably keeps kms:PutKeyPolicy...
    ASSERT_THAT(Put(key.key_id, doc, /*bypass=*/true), IsOk());
    EXPECT_THAT(Put(key.key_id, doc, /*bypass=*/true), IsOk());
    // ...and the lockout check must agree.
    EXPECT_THAT(Put(key.key_id, doc), IsOk());
    ASSERT_THAT(Put(key.key_id, Policy({Allow({"kms:*"})}), /*bypass=*/true), IsOk());
  }
}

// ---- a locked-out key ----------------------------------------------------------------------

TEST_F(PoliciesTest, BypassedLockoutPolicyDeniesEveryOperationOnTheKey) {
  KeyMetadata key = NewKey();
  KeyMetadata other = NewKey();
  const Bytes blob = BlobUnder(key.key_id);
  const Bytes other_blob = BlobUnder(other.key_id);
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/locked", key.key_id), IsOk());
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/free", other.key_id), IsOk());
  ASSERT_THAT(service_->TagResource(Ctx(), key.key_id, {{"env", "prod"}}), IsOk());
  const std::string lockout = Policy({Stmt("Allow", kOtherRoot, {"kms:*"})});
  ASSERT_THAT(Put(key.key_id, lockout, /*bypass=*/true), IsOk());

  const std::string& arn = key.arn;
  EXPECT_THAT(Encrypt(key.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied,
                              "User: arn:aws:iam::111122223333:root is not authorized to perform: "
                              "kms:Encrypt on resource: " +
                                  arn + " because no resource-based policy allows the "
                                        "kms:Encrypt action"));
  EXPECT_THAT(Encrypt(key.arn), HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Encrypt", arn)));
  EXPECT_THAT(Encrypt("alias/locked"),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Encrypt", arn)));

  struct Case {
    std::string action;
    std::function<Status()> call;
  };
  auto status = [](auto result) -> Status {
    if (result) {
      return Ok();
    }
    return std::unexpected(result.error());
  };
  const CallContext ctx = Ctx();
  const std::vector<Case> cases = {
      {"kms:DescribeKey", [&] { return status(service_->DescribeKey(ctx, key.key_id)); }},
      {"kms:DescribeKey", [&] { return status(service_->DescribeKey(ctx, "alias/locked")); }},
      {"kms:Decrypt", [&] { return status(Decrypt(blob)); }},
      {"kms:Decrypt", [&] { return status(Decrypt(blob, {}, key.key_id)); }},
      {"kms:ReEncryptFrom", [&] { return status(ReEncrypt(blob, other.key_id)); }},
      {"kms:ReEncryptTo", [&] { return status(ReEncrypt(other_blob, key.key_id)); }},
      {"kms:GenerateDataKey", [&] { return status(DataKey(key.key_id)); }},
      {"kms:GenerateDataKeyWithoutPlaintext",
       [&] { return status(DataKey(key.key_id, {}, /*with_plaintext=*/false)); }},
      {"kms:EnableKey", [&] { return service_->EnableKey(ctx, key.key_id); }},
      {"kms:DisableKey", [&] { return service_->DisableKey(ctx, key.key_id); }},
      {"kms:ScheduleKeyDeletion",
       [&] { return status(service_->ScheduleKeyDeletion(ctx, key.key_id, 7)); }},
      {"kms:CancelKeyDeletion", [&] { return status(service_->CancelKeyDeletion(ctx, key.key_id)); }},
      {"kms:UpdateKeyDescription",
       [&] { return service_->UpdateKeyDescription(ctx, key.key_id, "changed"); }},
      {"kms:TagResource", [&] { return service_->TagResource(ctx, key.key_id, {{"a", "b"}}); }},
      {"kms:UntagResource", [&] { return service_->UntagResource(ctx, key.key_id, {"env"}); }},
      {"kms:ListResourceTags",
       [&] { return status(service_->ListResourceTags(ctx, {key.key_id, {}, {}})); }},
      {"kms:CreateAlias", [&] { return service_->CreateAlias(ctx, "alias/new", key.key_id); }},
      // UpdateAlias needs the permission on the key the alias leaves and the one it joins.
      {"kms:UpdateAlias", [&] { return service_->UpdateAlias(ctx, "alias/free", key.key_id); }},
      {"kms:UpdateAlias", [&] { return service_->UpdateAlias(ctx, "alias/locked", other.key_id); }},
      {"kms:DeleteAlias", [&] { return service_->DeleteAlias(ctx, "alias/locked"); }},
      {"kms:PutKeyPolicy", [&] { return Put(key.key_id, Policy({Allow({"kms:*"})})); }},
      {"kms:PutKeyPolicy",
       [&] { return Put(key.key_id, Policy({Allow({"kms:*"})}), /*bypass=*/true); }},
      {"kms:GetKeyPolicy",
       [&] { return status(service_->GetKeyPolicy(ctx, key.key_id, std::nullopt)); }},
      {"kms:ListKeyPolicies", [&] { return status(service_->ListKeyPolicies(ctx, key.key_id)); }},
      {"kms:EnableKeyRotation",
       [&] { return service_->EnableKeyRotation(ctx, key.key_id, std::nullopt); }},
      {"kms:DisableKeyRotation", [&] { return service_->DisableKeyRotation(ctx, key.key_id); }},
      {"kms:GetKeyRotationStatus",
       [&] { return status(service_->GetKeyRotationStatus(ctx, key.key_id)); }},
      {"kms:RotateKeyOnDemand", [&] { return status(service_->RotateKeyOnDemand(ctx, key.key_id)); }},
      {"kms:ListKeyRotations",
       [&] { return status(service_->ListKeyRotations(ctx, {key.key_id, {}, {}, {}})); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.action);
    EXPECT_THAT(c.call(), HasErrorMessage(ErrorCode::kAccessDenied, Denied(c.action, arn)));
  }

  // Nothing changed.
  auto row = store_->GetKey(kAccount, "us-east-1", key.key_id).value();
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->key_state, "Enabled");
  EXPECT_EQ(row->description, "");
  EXPECT_EQ(row->policy, lockout);
  EXPECT_EQ(row->tags, (std::vector<std::pair<std::string, std::string>>{{"env", "prod"}}));
  EXPECT_FALSE(row->rotation_enabled);
  EXPECT_EQ(store_->ListKeyVersions(key.key_id).value().size(), 1u);
  auto aliases = service_->ListAliases(Ctx(), {}).value().aliases;
  ASSERT_EQ(aliases.size(), 2u);  // ListAliases is an IAM permission: still answered
  for (const auto& a : aliases) {
    EXPECT_EQ(a.target_key_id, a.alias_name == "alias/locked" ? key.key_id : other.key_id);
  }
  // ListKeys (IAM permission) still lists the key; the other key is untouched.
  EXPECT_EQ(KeyCount(), 2u);
  EXPECT_THAT(Encrypt(other.key_id), IsOk());
  EXPECT_THAT(Decrypt(other_blob), IsOk());
}

TEST_F(PoliciesTest, LockedOutKeyCanStillBeDescribedWhenThePolicyAllowsIt) {
  auto key = CreateWithPolicy(Policy({Allow({"kms:DescribeKey"})}), /*bypass=*/true);
  ASSERT_THAT(key, IsOk());
  auto described = service_->DescribeKey(Ctx(), key->key_id);
  ASSERT_THAT(described, IsOk());
  EXPECT_EQ(described->arn, key->arn);
  EXPECT_THAT(Encrypt(key->key_id),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Encrypt", key->arn)));
  EXPECT_THAT(service_->GetKeyPolicy(Ctx(), key->key_id, std::nullopt),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:GetKeyPolicy", key->arn)));
  EXPECT_THAT(Put(key->key_id, Policy({Allow({"kms:*"})})),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:PutKeyPolicy", key->arn)));
  EXPECT_THAT(service_->DisableKey(Ctx(), key->key_id),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:DisableKey", key->arn)));
}

TEST_F(PoliciesTest, AccessIsCheckedBeforeTheKeyState) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->DisableKey(Ctx(), key.key_id), IsOk());
  EXPECT_THAT(Encrypt(key.key_id), HasError(ErrorCode::kDisabled));
  ASSERT_THAT(Put(key.key_id, Policy({Allow({"kms:*"}), Deny({"kms:Encrypt"})})), IsOk());
  EXPECT_THAT(Encrypt(key.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied, ExplicitlyDenied("kms:Encrypt", key.arn)));
  EXPECT_THAT(DataKey(key.key_id), HasError(ErrorCode::kDisabled));
}

// ---- explicit Deny -----------------------------------------------------------------------

TEST_F(PoliciesTest, ExplicitDenyOfDecryptForTheRoot) {
  KeyMetadata key = NewKey();
  KeyMetadata other = NewKey();
  const Bytes blob = BlobUnder(key.key_id);
  const Bytes other_blob = BlobUnder(other.key_id);
  ASSERT_THAT(Put(key.key_id, Policy({Allow({"kms:*"}), Deny({"kms:Decrypt"})})), IsOk());

  EXPECT_THAT(Decrypt(blob),
              HasErrorMessage(ErrorCode::kAccessDenied,
                              "User: arn:aws:iam::111122223333:root is not authorized to perform: "
                              "kms:Decrypt on resource: " +
                                  key.arn + " with an explicit deny in a resource-based policy"));
  EXPECT_THAT(Decrypt(blob, {}, key.arn),
              HasErrorMessage(ErrorCode::kAccessDenied, ExplicitlyDenied("kms:Decrypt", key.arn)));
  EXPECT_THAT(Encrypt(key.key_id), IsOk());
  EXPECT_THAT(DataKey(key.key_id), IsOk());
  EXPECT_THAT(service_->DescribeKey(Ctx(), key.key_id), IsOk());
  // ReEncrypt needs kms:ReEncryptFrom / kms:ReEncryptTo, not kms:Decrypt (as in AWS).
  EXPECT_THAT(ReEncrypt(blob, other.key_id), IsOk());
  EXPECT_THAT(ReEncrypt(other_blob, key.key_id), IsOk());
  EXPECT_THAT(Decrypt(other_blob), IsOk());

  // Denying ReEncryptFrom too: re-encrypting *from* the key is refused, *to* it is not.
  ASSERT_THAT(
      Put(key.key_id, Policy({Allow({"kms:*"}), Deny({"kms:Decrypt", "kms:ReEncryptFrom"})})),
      IsOk());
  EXPECT_THAT(ReEncrypt(blob, other.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied,
                              ExplicitlyDenied("kms:ReEncryptFrom", key.arn)));
  EXPECT_THAT(ReEncrypt(blob, key.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied,
                              ExplicitlyDenied("kms:ReEncryptFrom", key.arn)));
  auto moved = ReEncrypt(other_blob, key.key_id);
  ASSERT_THAT(moved, IsOk());
  EXPECT_EQ(moved->key_arn, key.arn);
  EXPECT_EQ(moved->source_key_arn, other.arn);

  // kms:ReEncrypt* covers both directions.
  ASSERT_THAT(Put(key.key_id, Policy({Allow({"kms:*"}), Deny({"kms:ReEncrypt*"})})), IsOk());
  EXPECT_THAT(ReEncrypt(other_blob, key.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied,
                              ExplicitlyDenied("kms:ReEncryptTo", key.arn)));
  EXPECT_THAT(ReEncrypt(blob, other.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied,
                              ExplicitlyDenied("kms:ReEncryptFrom", key.arn)));
  EXPECT_THAT(Decrypt(blob), IsOk());
}

TEST_F(PoliciesTest, DenyToEveryoneOverridesAnAllowNamingTheRoot) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(Put(key.key_id, Policy({Allow({"kms:*"}), Deny({"kms:GenerateDataKey*"}, "", "*")})),
              IsOk());
  EXPECT_THAT(DataKey(key.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied,
                              ExplicitlyDenied("kms:GenerateDataKey", key.arn)));
  EXPECT_THAT(DataKey(key.key_id, {}, false),
              HasErrorMessage(ErrorCode::kAccessDenied,
                              ExplicitlyDenied("kms:GenerateDataKeyWithoutPlaintext", key.arn)));
  EXPECT_THAT(Encrypt(key.key_id), IsOk());
}

// ---- condition keys ------------------------------------------------------------------------

TEST_F(PoliciesTest, EncryptionContextConditionOnEncryptDecryptAndDataKeys) {
  KeyMetadata key = NewKey();
  const Bytes other_blob = BlobUnder(key.key_id, {{"purpose", "other"}});
  const Bytes none_blob = BlobUnder(key.key_id);
  ASSERT_THAT(Put(key.key_id,
                  Policy({Manage(),
                          Allow({"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"},
                                R"({"StringEquals":{"kms:EncryptionContext:purpose":"billing"}})")})),
              IsOk());

  EXPECT_THAT(Encrypt(key.key_id, {{"purpose", "billing"}}), IsOk());
  EXPECT_THAT(Encrypt(key.key_id, {{"purpose", "billing"}, {"team", "a"}}), IsOk());
  // The context key's case does not matter in kms:EncryptionContext:<key>; the value's does.
  EXPECT_THAT(Encrypt(key.key_id, {{"PURPOSE", "billing"}}), IsOk());
  EXPECT_THAT(Encrypt(key.key_id, {{"purpose", "Billing"}}),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Encrypt", key.arn)));
  EXPECT_THAT(Encrypt(key.key_id, {{"purpose", "other"}}),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Encrypt", key.arn)));
  EXPECT_THAT(Encrypt(key.key_id, {{"team", "billing"}}),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Encrypt", key.arn)));
  EXPECT_THAT(Encrypt(key.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Encrypt", key.arn)));

  const Bytes billing_blob = BlobUnder(key.key_id, {{"purpose", "billing"}});
  EXPECT_THAT(Decrypt(billing_blob, {{"purpose", "billing"}}), IsOk());
  EXPECT_THAT(Decrypt(other_blob, {{"purpose", "other"}}),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Decrypt", key.arn)));
  EXPECT_THAT(Decrypt(none_blob),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Decrypt", key.arn)));
  // The policy is checked before the ciphertext: a wrong context is AccessDenied, not
  // InvalidCiphertext.
  EXPECT_THAT(Decrypt(billing_blob, {{"purpose", "other"}}), HasError(ErrorCode::kAccessDenied));
  // With the allowed context a blob made under another context just fails to open.
  EXPECT_THAT(Decrypt(other_blob, {{"purpose", "billing"}}),
              HasError(ErrorCode::kInvalidCiphertext));

  EXPECT_THAT(DataKey(key.key_id, {{"purpose", "billing"}}), IsOk());
  EXPECT_THAT(DataKey(key.key_id, {{"purpose", "billing"}}, false), IsOk());
  EXPECT_THAT(DataKey(key.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:GenerateDataKey", key.arn)));
  EXPECT_THAT(DataKey(key.key_id, {{"purpose", "x"}}, false),
              HasErrorMessage(ErrorCode::kAccessDenied,
                              Denied("kms:GenerateDataKeyWithoutPlaintext", key.arn)));
}

TEST_F(PoliciesTest, EncryptionContextKeysCondition) {
  KeyMetadata key = NewKey();
  // ForAnyValue: the context must have one of the listed keys (exact case).
  ASSERT_THAT(
      Put(key.key_id,
          Policy({Manage(),
                  Allow({"kms:Encrypt"},
                        R"({"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":"purpose"}})")})),
      IsOk());
  EXPECT_THAT(Encrypt(key.key_id, {{"purpose", "x"}}), IsOk());
  EXPECT_THAT(Encrypt(key.key_id, {{"purpose", "x"}, {"team", "y"}}), IsOk());
  EXPECT_THAT(Encrypt(key.key_id, {{"Purpose", "x"}}),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Encrypt", key.arn)));
  EXPECT_THAT(Encrypt(key.key_id, {{"team", "y"}}),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Encrypt", key.arn)));
  EXPECT_THAT(Encrypt(key.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Encrypt", key.arn)));

  // ForAllValues: every key must be listed; an empty context passes vacuously (as in AWS).
  ASSERT_THAT(Put(key.key_id,
                  Policy({Manage(), Allow({"kms:Encrypt"},
                                          R"({"ForAllValues:StringEquals":)"
                                          R"({"kms:EncryptionContextKeys":["purpose","team"]}})")})),
              IsOk());
  EXPECT_THAT(Encrypt(key.key_id, {{"purpose", "x"}}), IsOk());
  EXPECT_THAT(Encrypt(key.key_id, {{"purpose", "x"}, {"team", "y"}}), IsOk());
  EXPECT_THAT(Encrypt(key.key_id), IsOk());
  EXPECT_THAT(Encrypt(key.key_id, {{"purpose", "x"}, {"other", "y"}}),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Encrypt", key.arn)));

  // The usual pairing that also requires a non-empty context.
  ASSERT_THAT(Put(key.key_id,
                  Policy({Manage(), Allow({"kms:Encrypt"},
                                          R"({"ForAllValues:StringEquals":)"
                                          R"({"kms:EncryptionContextKeys":["purpose","team"]},)"
                                          R"("Null":{"kms:EncryptionContextKeys":"false"}})")})),
              IsOk());
  EXPECT_THAT(Encrypt(key.key_id, {{"team", "y"}}), IsOk());
  EXPECT_THAT(Encrypt(key.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Encrypt", key.arn)));
}

TEST_F(PoliciesTest, RequestAliasConditionAllowsUseOnlyThroughTheAlias) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/app", key.key_id), IsOk());
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/other", key.key_id), IsOk());
  const Bytes blob = BlobUnder(key.key_id);
  ASSERT_THAT(Put(key.key_id,
                  Policy({Manage(), Allow({"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"},
                                          R"({"StringEquals":{"kms:RequestAlias":"alias/app"}})")})),
              IsOk());
  EXPECT_THAT(Encrypt("alias/app"), IsOk());
  EXPECT_THAT(Encrypt("arn:aws:kms:us-east-1:111122223333:alias/app"), IsOk());
  EXPECT_THAT(DataKey("alias/app"), IsOk());
  EXPECT_THAT(Encrypt("alias/other"),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Encrypt", key.arn)));
  EXPECT_THAT(Encrypt(key.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Encrypt", key.arn)));
  EXPECT_THAT(Encrypt(key.arn),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Encrypt", key.arn)));
  EXPECT_THAT(DataKey(key.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:GenerateDataKey", key.arn)));
  // Decrypt: the KeyId the caller names is the request alias.
  EXPECT_THAT(Decrypt(blob, {}, "alias/app"), IsOk());
  EXPECT_THAT(Decrypt(blob),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Decrypt", key.arn)));
  EXPECT_THAT(Decrypt(blob, {}, key.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Decrypt", key.arn)));

  ASSERT_THAT(Put(key.key_id, Policy({Manage(), Allow({"kms:Encrypt"},
                                                      R"({"StringLike":{"kms:RequestAlias":"alias/app*"}})")})),
              IsOk());
  EXPECT_THAT(Encrypt("alias/app"), IsOk());
  EXPECT_THAT(Encrypt("alias/other"), HasError(ErrorCode::kAccessDenied));
}

// kms:RequestAlias also applies to DescribeKey (AWS: "cryptographic operations, DescribeKey,
// and GetPublicKey").
TEST_F(PoliciesTest, RequestAliasConditionOnDescribeKey) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(service_->CreateAlias(Ctx(), "alias/app", key.key_id), IsOk());
  ASSERT_THAT(Put(key.key_id,
                  Policy({Allow({"kms:PutKeyPolicy"}),
                          Allow({"kms:DescribeKey"},
                                R"({"StringEquals":{"kms:RequestAlias":"alias/app"}})")})),
              IsOk());
  EXPECT_THAT(service_->DescribeKey(Ctx(), "alias/app"), IsOk());
  EXPECT_THAT(service_->DescribeKey(Ctx(), key.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:DescribeKey", key.arn)));
}

TEST_F(PoliciesTest, ResourceTagCondition) {
  auto key = CreateWithPolicy(
      Policy({Manage(),
              Allow({"kms:Encrypt"}, R"({"StringEquals":{"aws:ResourceTag/env":"prod"}})")}),
      false, {{"env", "prod"}});
  ASSERT_THAT(key, IsOk());
  EXPECT_THAT(Encrypt(key->key_id), IsOk());
  ASSERT_THAT(service_->TagResource(Ctx(), key->key_id, {{"env", "dev"}}), IsOk());
  EXPECT_THAT(Encrypt(key->key_id),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Encrypt", key->arn)));
  ASSERT_THAT(service_->TagResource(Ctx(), key->key_id, {{"env", "prod"}}), IsOk());
  EXPECT_THAT(Encrypt(key->key_id), IsOk());
  ASSERT_THAT(service_->UntagResource(Ctx(), key->key_id, {"env"}), IsOk());
  EXPECT_THAT(Encrypt(key->key_id),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Encrypt", key->arn)));

  // A key without the tag is not covered.
  auto untagged = CreateWithPolicy(
      Policy({Manage(),
              Allow({"kms:Encrypt"}, R"({"StringEquals":{"aws:ResourceTag/env":"prod"}})")}));
  ASSERT_THAT(untagged, IsOk());
  EXPECT_THAT(Encrypt(untagged->key_id), HasError(ErrorCode::kAccessDenied));
}

TEST_F(PoliciesTest, CallerAccountCondition) {
  auto mine = CreateWithPolicy(Policy(
      {Allow({"kms:*"}, R"({"StringEquals":{"kms:CallerAccount":"111122223333"}})", "*")}));
  ASSERT_THAT(mine, IsOk());
  EXPECT_THAT(Encrypt(mine->key_id), IsOk());
  EXPECT_THAT(service_->DisableKey(Ctx(), mine->key_id), IsOk());

  auto theirs = CreateWithPolicy(
      Policy({Allow({"kms:*"}, R"({"StringEquals":{"kms:CallerAccount":"444455556666"}})", "*")}),
      /*bypass=*/true);
  ASSERT_THAT(theirs, IsOk());
  EXPECT_THAT(Encrypt(theirs->key_id),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Encrypt", theirs->arn)));

  // The usual "deny other accounts" statement.
  auto deny_others = CreateWithPolicy(Policy(
      {Allow({"kms:*"}), Deny({"kms:*"}, R"({"StringNotEquals":{"kms:CallerAccount":"111122223333"}})",
                              "*")}));
  ASSERT_THAT(deny_others, IsOk());
  EXPECT_THAT(Encrypt(deny_others->key_id), IsOk());
}

TEST_F(PoliciesTest, ViaServiceIsNeverPresent) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(Put(key.key_id,
                  Policy({Manage(), Allow({"kms:Encrypt"},
                                          R"({"StringEquals":{"kms:ViaService":)"
                                          R"("ec2.us-east-1.amazonaws.com"}})")})),
              IsOk());
  EXPECT_THAT(Encrypt(key.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Encrypt", key.arn)));
  ASSERT_THAT(Put(key.key_id,
                  Policy({Manage(), Allow({"kms:Encrypt"},
                                          R"({"StringLike":{"kms:ViaService":"*"}})")})),
              IsOk());
  EXPECT_THAT(Encrypt(key.key_id), HasError(ErrorCode::kAccessDenied));
  // Absent: Null is true, ...IfExists passes, a Deny on a service does not apply.
  ASSERT_THAT(Put(key.key_id,
                  Policy({Manage(), Allow({"kms:Encrypt"},
                                          R"({"Null":{"kms:ViaService":"true"}})")})),
              IsOk());
  EXPECT_THAT(Encrypt(key.key_id), IsOk());
  ASSERT_THAT(Put(key.key_id,
                  Policy({Manage(), Allow({"kms:Encrypt"},
                                          R"({"StringEqualsIfExists":{"kms:ViaService":)"
                                          R"("ec2.us-east-1.amazonaws.com"}})")})),
              IsOk());
  EXPECT_THAT(Encrypt(key.key_id), IsOk());
  ASSERT_THAT(Put(key.key_id,
                  Policy({Allow({"kms:*"}), Deny({"kms:Encrypt"},
                                                 R"({"StringLike":{"kms:ViaService":"*.amazonaws.com"}})")})),
              IsOk());
  EXPECT_THAT(Encrypt(key.key_id), IsOk());
}

TEST_F(PoliciesTest, SecureTransportIsFalseWithoutTls) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(Put(key.key_id,
                  Policy({Manage(), Allow({"kms:Encrypt"},
                                          R"({"Bool":{"aws:SecureTransport":"true"}})")})),
              IsOk());
  EXPECT_THAT(Encrypt(key.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Encrypt", key.arn)));
  // Once a request does come over TLS, the same policy allows it.
  CallContext tls = Ctx();
  tls.secure_transport = true;
  EXPECT_THAT(Encrypt(key.key_id, {}, &tls), IsOk());

  ASSERT_THAT(Put(key.key_id,
                  Policy({Manage(), Allow({"kms:Encrypt"},
                                          R"({"Bool":{"aws:SecureTransport":"false"}})")})),
              IsOk());
  EXPECT_THAT(Encrypt(key.key_id), IsOk());

  // The common "deny plain HTTP" statement denies everything, explicitly.
  const std::string deny_http = Policy(
      {Allow({"kms:*"}), Deny({"kms:*"}, R"({"Bool":{"aws:SecureTransport":"false"}})", "*")});
  EXPECT_THAT(Put(key.key_id, deny_http),
              HasErrorMessage(ErrorCode::kMalformedPolicyDocument, kLockoutMessage));
  ASSERT_THAT(Put(key.key_id, deny_http, /*bypass=*/true), IsOk());
  EXPECT_THAT(Encrypt(key.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied, ExplicitlyDenied("kms:Encrypt", key.arn)));
  EXPECT_THAT(service_->DescribeKey(Ctx(), key.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied,
                              ExplicitlyDenied("kms:DescribeKey", key.arn)));
  EXPECT_THAT(Encrypt(key.key_id, {}, &tls), IsOk());
}

TEST_F(PoliciesTest, RequestValueConditionKeys) {
  KeyMetadata key = NewKey();
  ASSERT_THAT(
      Put(key.key_id,
          Policy({Allow({"kms:PutKeyPolicy", "kms:DescribeKey", "kms:CancelKeyDeletion",
                         "kms:EnableKey"}),
                  Allow({"kms:Encrypt", "kms:GenerateDataKey"},
                        R"({"StringEquals":{"kms:EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}})"),
                  Allow({"kms:ScheduleKeyDeletion"},
                        R"({"NumericGreaterThanEquals":)"
                        R"({"kms:ScheduleKeyDeletionPendingWindowInDays":"14"}})"),
                  Allow({"kms:EnableKeyRotation"},
                        R"({"NumericLessThanEquals":{"kms:RotationPeriodInDays":"180"}})"),
                  Allow({"kms:TagResource"},
                        R"({"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]},)"
                        R"("StringEqualsIfExists":{"aws:RequestTag/env":["dev","prod"]}})")})),
      IsOk());
  // kms:EncryptionAlgorithm: the default applies when the request names none.
  EXPECT_THAT(Encrypt(key.key_id), IsOk());
  EXPECT_THAT(DataKey(key.key_id), IsOk());

  EXPECT_THAT(service_->ScheduleKeyDeletion(Ctx(), key.key_id, 7),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:ScheduleKeyDeletion", key.arn)));
  EXPECT_THAT(service_->ScheduleKeyDeletion(Ctx(), key.key_id, std::nullopt), IsOk());  // 30
  ASSERT_THAT(service_->CancelKeyDeletion(Ctx(), key.key_id), IsOk());
  ASSERT_THAT(service_->EnableKey(Ctx(), key.key_id), IsOk());

  EXPECT_THAT(service_->EnableKeyRotation(Ctx(), key.key_id, 365),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:EnableKeyRotation", key.arn)));
  EXPECT_THAT(service_->EnableKeyRotation(Ctx(), key.key_id, 90), IsOk());

  EXPECT_THAT(service_->TagResource(Ctx(), key.key_id, {{"env", "prod"}, {"team", "a"}}), IsOk());
  EXPECT_THAT(service_->TagResource(Ctx(), key.key_id, {{"team", "b"}}), IsOk());
  EXPECT_THAT(service_->TagResource(Ctx(), key.key_id, {{"owner", "x"}}),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:TagResource", key.arn)));
  EXPECT_THAT(service_->TagResource(Ctx(), key.key_id, {{"env", "test"}}),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:TagResource", key.arn)));
}

TEST_F(PoliciesTest, DryRunIsAuthorizedToo) {
  KeyMetadata key = NewKey();
  EncryptRequest req;
  req.key_id = key.key_id;
  req.plaintext = SecretBytes(AsBytes(std::string_view("x")));
  req.dry_run = true;
  EXPECT_THAT(service_->Encrypt(Ctx(), req), HasError(ErrorCode::kDryRun));
  ASSERT_THAT(Put(key.key_id, Policy({Allow({"kms:*"}), Deny({"kms:Encrypt"})})), IsOk());
  EXPECT_THAT(service_->Encrypt(Ctx(), req),
              HasErrorMessage(ErrorCode::kAccessDenied, ExplicitlyDenied("kms:Encrypt", key.arn)));
}

// ---- key users and key administrators ------------------------------------------------------

TEST_F(PoliciesTest, KeyUserPolicyDeniesManagement) {
  KeyMetadata key = NewKey();
  const std::string users = Policy({Allow(kUserActions)});
  EXPECT_THAT(Put(key.key_id, users),
              HasErrorMessage(ErrorCode::kMalformedPolicyDocument, kLockoutMessage));
  ASSERT_THAT(Put(key.key_id, users, /*bypass=*/true), IsOk());

  const Bytes blob = BlobUnder(key.key_id);
  EXPECT_THAT(Decrypt(blob), IsOk());
  EXPECT_THAT(ReEncrypt(blob, key.key_id), IsOk());
  EXPECT_THAT(DataKey(key.key_id), IsOk());
  EXPECT_THAT(DataKey(key.key_id, {}, false), IsOk());
  EXPECT_THAT(service_->DescribeKey(Ctx(), key.key_id), IsOk());

  const std::string& arn = key.arn;
  EXPECT_THAT(service_->DisableKey(Ctx(), key.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:DisableKey", arn)));
  EXPECT_THAT(service_->EnableKey(Ctx(), key.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:EnableKey", arn)));
  EXPECT_THAT(service_->TagResource(Ctx(), key.key_id, {{"a", "b"}}),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:TagResource", arn)));
  EXPECT_THAT(service_->ScheduleKeyDeletion(Ctx(), key.key_id, 7),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:ScheduleKeyDeletion", arn)));
  EXPECT_THAT(service_->CreateAlias(Ctx(), "alias/user", key.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:CreateAlias", arn)));
  EXPECT_THAT(service_->EnableKeyRotation(Ctx(), key.key_id, std::nullopt),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:EnableKeyRotation", arn)));
  EXPECT_THAT(service_->UpdateKeyDescription(Ctx(), key.key_id, "x"),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:UpdateKeyDescription", arn)));
  EXPECT_THAT(service_->GetKeyPolicy(Ctx(), key.key_id, std::nullopt),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:GetKeyPolicy", arn)));
  EXPECT_THAT(Put(key.key_id, Policy({Allow({"kms:*"})})),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:PutKeyPolicy", arn)));
  auto row = store_->GetKey(kAccount, "us-east-1", key.key_id).value();
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->key_state, "Enabled");
  EXPECT_TRUE(row->tags.empty());
  EXPECT_FALSE(row->rotation_enabled);
}

TEST_F(PoliciesTest, KeyAdministratorPolicyAllowsManagementButNotUse) {
  KeyMetadata key = NewKey();
  const Bytes blob = BlobUnder(key.key_id);
  KeyMetadata other = NewKey();
  const Bytes other_blob = BlobUnder(other.key_id);
  ASSERT_THAT(Put(key.key_id, Policy({Allow(kAdminActions)})), IsOk());  // passes the check
  const CallContext ctx = Ctx();
  const std::string& arn = key.arn;

  EXPECT_THAT(service_->DescribeKey(ctx, key.key_id), IsOk());
  EXPECT_THAT(service_->UpdateKeyDescription(ctx, key.key_id, "administered"), IsOk());
  EXPECT_THAT(service_->TagResource(ctx, key.key_id, {{"env", "prod"}}), IsOk());
  EXPECT_THAT(service_->ListResourceTags(ctx, {key.key_id, {}, {}}), IsOk());
  EXPECT_THAT(service_->UntagResource(ctx, key.key_id, {"env"}), IsOk());
  EXPECT_THAT(service_->CreateAlias(ctx, "alias/admin", key.key_id), IsOk());
  EXPECT_THAT(service_->CreateAlias(ctx, "alias/moving", other.key_id), IsOk());
  EXPECT_THAT(service_->UpdateAlias(ctx, "alias/moving", key.key_id), IsOk());
  EXPECT_THAT(service_->DeleteAlias(ctx, "alias/moving"), IsOk());
  EXPECT_THAT(service_->EnableKeyRotation(ctx, key.key_id, 90), IsOk());
  EXPECT_THAT(service_->GetKeyRotationStatus(ctx, key.key_id), IsOk());
  EXPECT_THAT(service_->ListKeyRotations(ctx, {key.key_id, {}, {}, {}}), IsOk());
  EXPECT_THAT(service_->DisableKeyRotation(ctx, key.key_id), IsOk());
  EXPECT_THAT(service_->DisableKey(ctx, key.key_id), IsOk());
  EXPECT_THAT(service_->EnableKey(ctx, key.key_id), IsOk());
  EXPECT_THAT(service_->GetKeyPolicy(ctx, key.key_id, std::nullopt), IsOk());
  EXPECT_THAT(service_->ListKeyPolicies(ctx, key.key_id), IsOk());
  EXPECT_THAT(service_->ScheduleKeyDeletion(ctx, key.key_id, 7), IsOk());
  EXPECT_THAT(service_->CancelKeyDeletion(ctx, key.key_id), IsOk());
  EXPECT_THAT(service_->EnableKey(ctx, key.key_id), IsOk());
  EXPECT_THAT(Put(key.key_id, Policy({Allow(kAdminActions)})), IsOk());
  EXPECT_EQ(store_->GetKey(kAccount, "us-east-1", key.key_id).value()->description,
            "administered");

  EXPECT_THAT(Encrypt(key.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Encrypt", arn)));
  EXPECT_THAT(Encrypt("alias/admin"),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Encrypt", arn)));
  EXPECT_THAT(Decrypt(blob), HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:Decrypt", arn)));
  EXPECT_THAT(DataKey(key.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:GenerateDataKey", arn)));
  EXPECT_THAT(DataKey(key.key_id, {}, false),
              HasErrorMessage(ErrorCode::kAccessDenied,
                              Denied("kms:GenerateDataKeyWithoutPlaintext", arn)));
  EXPECT_THAT(ReEncrypt(blob, other.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:ReEncryptFrom", arn)));
  EXPECT_THAT(ReEncrypt(other_blob, key.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:ReEncryptTo", arn)));
  // RotateKeyOnDemand is in neither of the console's groups.
  EXPECT_THAT(service_->RotateKeyOnDemand(ctx, key.key_id),
              HasErrorMessage(ErrorCode::kAccessDenied, Denied("kms:RotateKeyOnDemand", arn)));

  // Administrators plus users: everything works.
  ASSERT_THAT(Put(key.key_id, Policy({Allow(kAdminActions), Allow(kUserActions)})), IsOk());
  EXPECT_THAT(Decrypt(blob), IsOk());
  EXPECT_THAT(Encrypt("alias/admin"), IsOk());
}

// ---- the policy cache ----------------------------------------------------------------------

TEST_F(PoliciesTest, PolicyChangesTakeEffectOnTheNextCall) {
  KeyMetadata key = NewKey();
  KeyMetadata other = NewKey();
  const std::string deny_encrypt = Policy({Allow({"kms:*"}), Deny({"kms:Encrypt"})});
  const std::string allow_all = Policy({Allow({"kms:*"})});
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE(round);
    EXPECT_THAT(Encrypt(key.key_id), IsOk());
    ASSERT_THAT(Put(key.key_id, deny_encrypt), IsOk());
    EXPECT_THAT(Encrypt(key.key_id),
                HasErrorMessage(ErrorCode::kAccessDenied, ExplicitlyDenied("kms:Encrypt", key.arn)));
    EXPECT_THAT(Encrypt(other.key_id), IsOk());  // another key's policy is its own
    // An update that leaves the policy alone keeps the deny.
    ASSERT_THAT(service_->UpdateKeyDescription(Ctx(), key.key_id, "round " + std::to_string(round)),
                IsOk());
    EXPECT_THAT(Encrypt(key.key_id), HasError(ErrorCode::kAccessDenied));
    ASSERT_THAT(Put(key.key_id, allow_all), IsOk());
  }
  EXPECT_THAT(Encrypt(key.key_id), IsOk());
  // Putting the same text again, and the default document itself, change nothing.
  ASSERT_THAT(Put(key.key_id, allow_all), IsOk());
  EXPECT_THAT(Encrypt(key.key_id), IsOk());
}

TEST_F(PoliciesTest, PolicyChangeIsSeenByAnotherServiceOverTheSameStore) {
  // A second service instance (its own policy cache) over the same store, as after a restart
  // or in a second process.
  auto second = KeyService::Create(store_.get(), root_.get(), clock_);
  KeyMetadata key = NewKey();
  EncryptRequest req;
  req.key_id = key.key_id;
  req.plaintext = SecretBytes(AsBytes(std::string_view("x")));
  EXPECT_THAT(second->Encrypt(Ctx(), req), IsOk());  // caches the default policy
  ASSERT_THAT(Put(key.key_id, Policy({Allow({"kms:*"}), Deny({"kms:Encrypt"})})), IsOk());
  EXPECT_THAT(second->Encrypt(Ctx(), req),
              HasErrorMessage(ErrorCode::kAccessDenied, ExplicitlyDenied("kms:Encrypt", key.arn)));
}

}  // namespace
}  // namespace scytale::kms
