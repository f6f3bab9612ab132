// Grants as kms/ reads them: the stored form of operations and constraints, who a grant's
// principal covers, what its constraints allow, and grant tokens.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "kms/kms.h"
#include "storage/storage.h"

namespace scytale::kms::internal {

inline constexpr size_t kMaxGrantsPerKey = 50000;

// Operations are stored sorted and without duplicates, joined by commas, so that two grants
// with the same operations in another order compare equal (Name idempotency).
std::string EncodeGrantOperations(std::vector<std::string> operations);
std::vector<std::string> DecodeGrantOperations(std::string_view encoded);
// Constraints are stored as canonical JSON ("" for none).
std::string EncodeGrantConstraints(const std::optional<GrantConstraints>& constraints);
std::optional<GrantConstraints> DecodeGrantConstraints(std::string_view encoded);

// The parts of a principal ARN a grant may name: arn:aws:iam::<account>:root | user/... |
// role/..., arn:aws:sts::<account>:assumed-role/<role>/<session> | federated-user/<name>.
struct PrincipalArn {
  std::string account;
  std::string kind;  // root | user | role | assumed-role | federated-user
  std::string name;  // user or role name (last path segment); the role of a session
};
std::optional<PrincipalArn> ParsePrincipalArn(std::string_view arn);

// How a grant's grantee or retiring principal covers a caller.
enum class GrantPrincipalMatch {
  kNone,
  kDirect,      // the same principal, or a session of the named role
  kViaAccount,  // the grant names the caller's account (its root): the caller's IAM policies
                // must allow the operation too, unless the caller is that root
};
GrantPrincipalMatch MatchGrantPrincipal(std::string_view grant_principal,
                                        std::string_view caller_arn);

// Whether a request with `context` satisfies the constraints.
bool GrantConstraintsAllow(const GrantConstraints& constraints, const EncryptionContext& context);
// Whether a child grant's constraints are at least as strict as its parent's (CreateGrant
// through a grant): Subset may gain pairs or become Equals, never the reverse.
bool GrantConstraintsAtLeastAsStrict(const GrantConstraints& child,
                                     const GrantConstraints& parent);

// A grant id: 64 lowercase hex digits.
bool IsGrantId(std::string_view id);
Result<std::string> NewGrantId();

// A grant token names its grant (key ARN and grant id) with a fresh nonce, so every
// CreateGrant returns a new token, and a checksum that catches tokens that were not made here.
// Tokens are not secret and authorize nothing by themselves.
Result<std::string> MakeGrantToken(const std::string& key_arn, const std::string& grant_id);
struct GrantTokenRef {
  std::string key_arn;
  std::string grant_id;
};
Result<GrantTokenRef> ParseGrantToken(std::string_view token);  // kInvalidGrantToken

// The grant operations that make sense for a key of this usage.
bool GrantOperationSuitsKey(std::string_view operation, const storage::KeyRow& key);

}  // namespace scytale::kms::internal
