// IamService: the IAM user/role/policy/access-key operations and STS AssumeRole, over the
// store, with IAM's names, limits and error messages.

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <mutex>
#include <string_view>

#include "iam/iam.h"
#include "iam/internal/access_keys.h"

namespace scytale::iam {
namespace {

using crypto::SecretBytes;
using internal::WrapAad;
using PolicyVector = std::vector<std::shared_ptr<const policy::CompiledPolicy>>;

// IAM's documented bounds.
constexpr size_t kMaxEntityName = 64;  // user and role names
constexpr size_t kMaxPolicyName = 128;
constexpr size_t kMaxPath = 512;
constexpr size_t kMaxPolicyDocument = 131072;  // the API member's bound; quotas are lower
constexpr size_t kMaxDescription = 1000;
constexpr int kMaxAccessKeysPerUser = 2;
constexpr const char* kActive = "Active";
constexpr const char* kInactive = "Inactive";
constexpr int kMinSessionDuration = 900;
constexpr int kDefaultSessionDuration = 3600;
constexpr int kMinMaxSessionDuration = 3600;
constexpr int kMaxMaxSessionDuration = 43200;
constexpr int kRoleChainingMaxDuration = 3600;  // a role session assuming another role
constexpr int kDefaultMaxItems = 100;
constexpr int kMaxMaxItems = 1000;
constexpr size_t kMaxMarker = 320;
// Expired session keys linger this long (answering ExpiredToken) before a purge removes them.
constexpr int64_t kExpiredKeyRetentionSeconds = 86400;
constexpr size_t kPolicyCacheCapacity = 10000;
// Identity policies cached per principal. A change through this node drops the entry at once;
// one through another node (several nodes on one PostgreSQL) is seen after at most this long.
constexpr std::chrono::seconds kPolicyCacheTtl{5};
// Role session tokens: opaque random bytes, base64 (320 characters, AWS's are a few hundred).
constexpr size_t kSessionTokenBytes = 240;

Error Validation(std::string message) {
  return MakeError(ErrorCode::kValidation, std::move(message));
}

std::string ConstraintMessage(const std::string& value, const char* member,
                              const std::string& constraint) {
  return "1 validation error detected: Value '" + value + "' at '" + member +
         "' failed to satisfy constraint: Member must " + constraint;
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '+' || c == '=' || c == ',' || c == '.' || c == '@' || c == '-';
}

// [\w+=,.@-]{min,max}
Status ValidateName(const std::string& value, const char* member, size_t min, size_t max) {
  if (value.size() < min) {
    return Validation(ConstraintMessage(
        value, member, "have length greater than or equal to " + std::to_string(min)));
  }
  if (value.size() > max) {
    return Validation(ConstraintMessage(
        value, member, "have length less than or equal to " + std::to_string(max)));
  }
  for (char c : value) {
    if (!IsNameChar(c)) {
      return Validation(
          ConstraintMessage(value, member, "satisfy regular expression pattern: [\\w+=,.@-]+"));
    }
  }
  return Ok();
}

Status ValidateEntityName(const std::string& value, const char* member) {
  return ValidateName(value, member, 1, kMaxEntityName);
}

Status ValidatePolicyName(const std::string& value) {
  return ValidateName(value, "policyName", 1, kMaxPolicyName);
}

// "/" or "/" + printable ASCII + "/", at most 512 characters.
Status ValidatePath(const std::string& path) {
  if (path.empty() || path.size() > kMaxPath) {
    return Validation(ConstraintMessage(path, "path", "have length between 1 and 512"));
  }
  bool printable = true;
  for (char c : path) {
    printable = printable && c >= 0x21 && c <= 0x7e;
  }
  if (!printable || path.front() != '/' || path.back() != '/') {
    return Validation(ConstraintMessage(
        path, "path",
        "satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"));
  }
  return Ok();
}

Status ValidatePathPrefix(const std::string& prefix) {
  if (prefix.empty() || prefix.size() > kMaxPath) {
    return Validation(ConstraintMessage(prefix, "pathPrefix", "have length between 1 and 512"));
  }
  bool printable = true;
  for (char c : prefix) {
    printable =
        printable && static_cast<unsigned char>(c) >= 0x21 && static_cast<unsigned char>(c) <= 0x7f;
  }
  if (!printable || prefix.front() != '/') {
    return Validation(ConstraintMessage(
        prefix, "pathPrefix", "satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*"));
  }
  return Ok();
}

Status ValidateDocumentSize(const std::string& document, const char* member) {
  if (document.empty() || document.size() > kMaxPolicyDocument) {
    return Validation(ConstraintMessage(document.empty() ? document : document.substr(0, 32),
                                        member, "have length between 1 and 131072"));
  }
  return Ok();
}

// ---- Paging ----

// MaxItems 1..1000 (default 100) and a Marker of 1..320 characters, as IAM's model bounds them.
// Returns the page size.
Result<size_t> ValidatePaging(const std::optional<std::string>& marker,
                              std::optional<int> max_items) {
  const int limit = max_items.value_or(kDefaultMaxItems);
  if (limit < 1 || limit > kMaxMaxItems) {
    return Validation(
        ConstraintMessage(std::to_string(limit), "maxItems", "have value between 1 and 1000"));
  }
  if (marker && (marker->empty() || marker->size() > kMaxMarker)) {
    return Validation(ConstraintMessage(*marker, "marker", "have length between 1 and 320"));
  }
  return static_cast<size_t>(limit);
}

Error InvalidMarker() { return MakeError(ErrorCode::kInvalidMarker, "Invalid Marker."); }

// A Marker is opaque to clients: base64("<list>|<scope>|<position>"). <list> names the kind of
// list ("users", "keys", "user-policies", "role-policies"); <scope> is 16 hex digits of the
// SHA-256 of what was listed (the account and path prefix, whose keys, which entity's
// policies), so that a marker handed out for one list is refused by another as IAM refuses it;
// <position> is the sort key of the last item returned. The next page starts after that
// position, so deleting the item between pages neither repeats nor skips anything.
std::string MarkerScope(std::string_view scope) {
  const std::array<uint8_t, 32> digest = crypto::Sha256(AsBytes(scope));
  return HexEncode(std::span<const uint8_t>(digest.data(), 8));
}

std::string EncodeMarker(std::string_view list, std::string_view scope, std::string_view position) {
  const std::string text =
      std::string(list) + "|" + MarkerScope(scope) + "|" + std::string(position);
  return Base64Encode(AsBytes(text));
}

// The position in a marker of `list` and `scope`; "Invalid Marker." for anything else.
Result<std::string> DecodeMarker(const std::string& marker, std::string_view list,
                                 std::string_view scope) {
  std::optional<Bytes> decoded = Base64Decode(marker);
  if (!decoded) {
    return InvalidMarker();
  }
  const std::string text(decoded->begin(), decoded->end());
  const std::string prefix = std::string(list) + "|" + MarkerScope(scope) + "|";
  if (!text.starts_with(prefix) || text.size() == prefix.size()) {
    return InvalidMarker();
  }
  return text.substr(prefix.size());
}

// Access keys are listed oldest first (ties by id), as the store lists them.
struct AccessKeyPosition {
  int64_t created_at = 0;
  std::string access_key_id;
  auto operator<=>(const AccessKeyPosition&) const = default;
};

std::string EncodeKeyPosition(const AccessKeyPosition& p) {
  return std::to_string(p.created_at) + ":" + p.access_key_id;
}

Result<AccessKeyPosition> DecodeKeyPosition(std::string_view text) {
  const size_t colon = text.find(':');
  AccessKeyPosition p;
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return InvalidMarker();
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + colon, p.created_at);
  if (ec != std::errc() || end != text.data() + colon) {
    return InvalidMarker();
  }
  p.access_key_id = std::string(text.substr(colon + 1));
  return p;
}

// The items of `sorted` (ordered by `position_of`) after `after`, at most `limit`; sets
// *out_truncated when more follow.
template <class T, class Position, class PositionOf>
std::vector<T> PageAfter(std::vector<T> sorted, const std::optional<Position>& after, size_t limit,
                         PositionOf position_of, bool* out_truncated) {
  auto first = sorted.begin();
  if (after) {
    first = std::find_if(sorted.begin(), sorted.end(),
                         [&](const T& item) { return *after < position_of(item); });
  }
  const size_t available = static_cast<size_t>(sorted.end() - first);
  *out_truncated = available > limit;
  std::vector<T> page;
  page.reserve(std::min(available, limit));
  for (auto it = first; it != sorted.end() && page.size() < limit; ++it) {
    page.push_back(std::move(*it));
  }
  return page;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::string UserArn(const std::string& account_id, const std::string& path,
                    const std::string& name) {
  return "arn:aws:iam::" + account_id + ":user" + path + name;
}

std::string RoleArn(const std::string& account_id, const std::string& path,
                    const std::string& name) {
  return "arn:aws:iam::" + account_id + ":role" + path + name;
}

std::string AssumedRoleArn(const std::string& account_id, const std::string& role_name,
                           const std::string& session_name) {
  return "arn:aws:sts::" + account_id + ":assumed-role/" + role_name + "/" + session_name;
}

// arn:<partition>:<service>:<region>:<account>:<resource>, split; empty when not an ARN.
struct ArnParts {
  bool valid = false;
  std::string service;
  std::string region;
  std::string account;
  std::string resource;
};

ArnParts SplitArn(std::string_view arn) {
  ArnParts out;
  std::string_view part[6];
  size_t start = 0;
  for (int i = 0; i < 5; ++i) {
    size_t colon = arn.find(':', start);
    if (colon == std::string_view::npos) {
      return out;
    }
    part[i] = arn.substr(start, colon - start);
    start = colon + 1;
  }
  part[5] = arn.substr(start);
  if (part[0] != "arn" || part[1].empty()) {
    return out;
  }
  out.valid = true;
  out.service = part[2];
  out.region = part[3];
  out.account = part[4];
  out.resource = part[5];
  return out;
}

// Who a principal ARN names, as far as IAM entities go.
struct Principal {
  enum class Kind { kOther, kRoot, kUser, kAssumedRole };
  Kind kind = Kind::kOther;
  std::string account;
  std::string name;     // the user name, or the role name of a session
  std::string session;  // the session name of a role session
};

Principal ParsePrincipal(const std::string& arn) {
  Principal p;
  ArnParts parts = SplitArn(arn);
  if (!parts.valid || !parts.region.empty() || parts.account.empty()) {
    return p;
  }
  p.account = parts.account;
  const std::string& r = parts.resource;
  if (parts.service == "iam" && r == "root") {
    p.kind = Principal::Kind::kRoot;
  } else if (parts.service == "iam" && r.starts_with("user/") && r.back() != '/') {
    p.kind = Principal::Kind::kUser;
    p.name = r.substr(r.rfind('/') + 1);
  } else if (parts.service == "sts" && r.starts_with("assumed-role/")) {
    std::string_view rest = std::string_view(r).substr(13);
    size_t slash = rest.find('/');
    if (slash != std::string_view::npos && slash > 0 && slash + 1 < rest.size()) {
      p.kind = Principal::Kind::kAssumedRole;
      p.name = rest.substr(0, slash);
      p.session = rest.substr(slash + 1);
    }
  }
  return p;
}

User ToUser(const storage::UserRow& row) {
  return User{row.user_name, row.user_id, UserArn(row.account_id, row.path, row.user_name),
              row.path, row.create_date};
}

Role ToRole(const storage::RoleRow& row) {
  Role r;
  r.role_name = row.role_name;
  r.role_id = row.role_id;
  r.arn = RoleArn(row.account_id, row.path, row.role_name);
  r.path = row.path;
  r.assume_role_policy_document = row.trust_policy;
  r.description = row.description;
  r.max_session_duration = row.max_session_duration;
  r.create_date = row.create_date;
  return r;
}

Error NoSuchUser(const std::string& name) {
  return MakeError(ErrorCode::kNotFound, "The user with name " + name + " cannot be found.");
}
Error NoSuchRole(const std::string& name) {
  return MakeError(ErrorCode::kNotFound, "The role with name " + name + " cannot be found.");
}
Error NoSuchUserPolicy(const std::string& name) {
  return MakeError(ErrorCode::kNotFound, "The user policy with name " + name + " cannot be found.");
}
Error NoSuchRolePolicy(const std::string& name) {
  return MakeError(ErrorCode::kNotFound, "The role policy with name " + name + " cannot be found.");
}
Error NoSuchAccessKey(const std::string& id) {
  return MakeError(ErrorCode::kNotFound, "The Access Key with id " + id + " cannot be found.");
}
Error NotAUser() {
  return Validation("Must specify userName when calling with non-User credentials");
}

// Compile errors keep their message but always carry kMalformedPolicyDocument.
Result<std::shared_ptr<const policy::CompiledPolicy>> CompileDocument(const std::string& document,
                                                                      policy::PolicyKind kind) {
  auto compiled = policy::CompiledPolicy::Compile(document, kind);
  if (!compiled) {
    return MakeError(ErrorCode::kMalformedPolicyDocument, compiled.error().message);
  }
  return std::move(*compiled);
}

// A trust policy is a resource policy of the role whose statements, by IAM's grammar, carry no
// Resource (the role is implied). The policy engine reads a resource-less statement of a
// resource policy as never applying (as AWS KMS does for key policies), so the trust policy is
// evaluated with "Resource": "*" added to each statement. A statement that names a resource is
// malformed, as in IAM.
Result<std::shared_ptr<const policy::CompiledPolicy>> CompileTrustPolicy(
    const std::string& document) {
  return CompileDocument(document, policy::PolicyKind::kTrust);
}

// Identity policies per IAM entity ("u|<account>|<name>" or "r|<account>|<name>", names
// lowercased), dropped when the entity's policies change. A generation counter keeps a load
// that raced with an invalidation from caching what it read before the change.
class PolicyCache {
 public:
  struct Entry {
    // For a user: the ARN checked against the user's row (its path and case); another ARN
    // with the same name must not be served this user's policies.
    std::string principal_arn;
    PolicyVector policies;
  };

  std::optional<Entry> Get(const std::string& key, uint64_t* out_generation) {
    std::lock_guard lock(mu_);
    *out_generation = generation_;
    auto it = entries_.find(key);
    if (it == entries_.end()) {
      return std::nullopt;
    }
    if (std::chrono::steady_clock::now() >= it->second.expires) {
      entries_.erase(it);  // changes made through another node show after at most the TTL
      return std::nullopt;
    }
    return it->second.entry;
  }
  void Put(const std::string& key, Entry entry, uint64_t generation) {
    std::lock_guard lock(mu_);
    if (generation != generation_) {
      return;
    }
    if (entries_.size() >= kPolicyCacheCapacity) {
      entries_.clear();
    }
    entries_[key] = {std::move(entry), std::chrono::steady_clock::now() + kPolicyCacheTtl};
  }
  void Invalidate(const std::string& key) {
    std::lock_guard lock(mu_);
    entries_.erase(key);
    ++generation_;
  }
  void Clear() {
    std::lock_guard lock(mu_);
    entries_.clear();
    ++generation_;
  }

 private:
  struct Timed {
    Entry entry;
    std::chrono::steady_clock::time_point expires;
  };
  std::mutex mu_;
  uint64_t generation_ = 0;
  std::map<std::string, Timed> entries_;
};

std::string UserCacheKey(const std::string& account_id, const std::string& name) {
  return "u|" + account_id + "|" + Lower(name);
}
std::string RoleCacheKey(const std::string& account_id, const std::string& name) {
  return "r|" + account_id + "|" + Lower(name);
}

class IamServiceImpl : public IamService {
 public:
  IamServiceImpl(storage::Store* store, keystore::RootKeystore* root, std::shared_ptr<Clock> clock,
                 Identities* identities)
      : store_(store), root_(root), clock_(std::move(clock)), identities_(identities) {}

  // ---- Users ----

  Result<User> CreateUser(const Caller& caller, const std::string& user_name,
                          const std::string& path_in) override {
    const std::string path = path_in.empty() ? "/" : path_in;
    SCY_RETURN_IF_ERROR(ValidateEntityName(user_name, "userName"));
    SCY_RETURN_IF_ERROR(ValidatePath(path));
    SCY_RETURN_IF_ERROR(
        Authorize(caller, "iam:CreateUser", UserArn(caller.account_id, path, user_name)));
    storage::UserRow row{caller.account_id, user_name, internal::RandomBase32Id("AIDA", 17), path,
                         clock_->NowSeconds()};
    Status inserted = store_->InsertUser(row);
    if (!inserted) {
      if (inserted.error().code == ErrorCode::kAlreadyExists) {
        return MakeError(ErrorCode::kAlreadyExists,
                         "User with name " + user_name + " already exists.");
      }
      return inserted.error();
    }
    // A user of this name may have existed before; its cached policies are not the new one's.
    policies_.Invalidate(UserCacheKey(caller.account_id, user_name));
    return ToUser(row);
  }

  Result<User> GetUser(const Caller& caller, const std::optional<std::string>& user_name) override {
    std::string name;
    if (user_name) {
      name = *user_name;
    } else {
      Principal self = ParsePrincipal(caller.principal_arn);
      if (self.kind != Principal::Kind::kUser) {
        return NotAUser();
      }
      name = self.name;
    }
    SCY_ASSIGN_OR_RETURN(storage::UserRow row, FindUser(caller, "iam:GetUser", name));
    return ToUser(row);
  }

  Result<ListUsersResult> ListUsers(const Caller& caller, const std::string& path_prefix_in,
                                    const std::optional<std::string>& marker,
                                    std::optional<int> max_items) override {
    const std::string prefix = path_prefix_in.empty() ? "/" : path_prefix_in;
    SCY_RETURN_IF_ERROR(ValidatePathPrefix(prefix));
    SCY_ASSIGN_OR_RETURN(const size_t limit, ValidatePaging(marker, max_items));
    SCY_RETURN_IF_ERROR(Authorize(caller, "iam:ListUsers", "*"));
    // The position is the last name of the previous page (names are unique per account).
    const std::string scope = caller.account_id + "|" + prefix;
    std::string after;
    if (marker) {
      SCY_ASSIGN_OR_RETURN(after, DecodeMarker(*marker, "users", scope));
    }
    SCY_ASSIGN_OR_RETURN(auto rows, store_->ListUsers(caller.account_id, prefix, after, limit + 1));
    ListUsersResult out;
    for (const auto& row : rows) {
      if (out.users.size() == limit) {
        out.is_truncated = true;
        out.marker = EncodeMarker("users", scope, out.users.back().user_name);
        break;
      }
      out.users.push_back(ToUser(row));
    }
    return out;
  }

  Status DeleteUser(const Caller& caller, const std::string& user_name) override {
    SCY_ASSIGN_OR_RETURN(storage::UserRow row, FindUser(caller, "iam:DeleteUser", user_name));
    const std::string arn = UserArn(row.account_id, row.path, row.user_name);
    // No CreateAccessKey between the check and the delete.
    std::lock_guard lock(key_mutation_mu_);
    SCY_ASSIGN_OR_RETURN(auto keys, store_->ListAccessKeys(arn));
    if (!keys.empty()) {
      return MakeError(ErrorCode::kConflict,
                       "Cannot delete entity, must delete access keys first.");
    }
    SCY_ASSIGN_OR_RETURN(auto policies, store_->ListUserPolicies(row.account_id, row.user_name));
    if (!policies.empty()) {
      return MakeError(ErrorCode::kConflict, "Cannot delete entity, must delete policies first.");
    }
    Status deleted = store_->DeleteUser(row.account_id, row.user_name);
    policies_.Invalidate(UserCacheKey(row.account_id, row.user_name));
    if (!deleted && deleted.error().code == ErrorCode::kNotFound) {
      return NoSuchUser(user_name);
    }
    return deleted;
  }

  // ---- Access keys ----

  Result<NewAccessKey> CreateAccessKey(const Caller& caller,
                                       const std::optional<std::string>& user_name) override {
    SCY_ASSIGN_OR_RETURN(KeyOwner owner, ResolveKeyOwner(caller, "iam:CreateAccessKey", user_name));
    // Serializes the count-then-insert of the per-user quota, and the insert with DeleteUser.
    std::lock_guard lock(key_mutation_mu_);
    if (!owner.user_name.empty()) {
      // The user may have been deleted since it was looked up; a key written now would outlive
      // it, and sign as a later user of the same name.
      SCY_ASSIGN_OR_RETURN(auto user, store_->GetUser(caller.account_id, owner.user_name));
      if (!user || UserArn(user->account_id, user->path, user->user_name) != owner.principal_arn) {
        return NoSuchUser(owner.user_name);
      }
    }
    SCY_ASSIGN_OR_RETURN(auto existing, store_->ListAccessKeys(owner.principal_arn));
    if (existing.size() >= static_cast<size_t>(kMaxAccessKeysPerUser)) {
      return MakeError(ErrorCode::kLimitExceeded, "Cannot exceed quota for AccessKeysPerUser: " +
                                                      std::to_string(kMaxAccessKeysPerUser));
    }
    std::string id;
    do {
      id = NewAccessKeyId();
      SCY_ASSIGN_OR_RETURN(auto taken, store_->GetAccessKey(id));
      if (!taken) {
        break;
      }
    } while (true);
    SCY_ASSIGN_OR_RETURN(SecretBytes secret, NewSecretAccessKey());
    SCY_ASSIGN_OR_RETURN(Bytes wrapped, root_->Wrap(secret, WrapAad(id)));
    storage::AccessKeyRow row;
    row.access_key_id = id;
    row.account_id = caller.account_id;
    row.principal_arn = owner.principal_arn;
    row.status = kActive;
    row.created_at = clock_->NowSeconds();
    row.wrapped_secret = std::move(wrapped);
    row.user_name = owner.user_name;
    SCY_RETURN_IF_ERROR(store_->PutAccessKey(row));
    identities_->Forget(id);
    return NewAccessKey{AccessKeyMetadata{owner.user_name, id, kActive, row.created_at},
                        std::move(secret)};
  }

  Result<ListAccessKeysResult> ListAccessKeys(const Caller& caller,
                                              const std::optional<std::string>& user_name,
                                              const std::optional<std::string>& marker,
                                              std::optional<int> max_items) override {
    SCY_ASSIGN_OR_RETURN(const size_t limit, ValidatePaging(marker, max_items));
    SCY_ASSIGN_OR_RETURN(KeyOwner owner, ResolveKeyOwner(caller, "iam:ListAccessKeys", user_name));
    std::optional<AccessKeyPosition> after;
    if (marker) {
      SCY_ASSIGN_OR_RETURN(std::string position,
                           DecodeMarker(*marker, "keys", owner.principal_arn));
      SCY_ASSIGN_OR_RETURN(after, DecodeKeyPosition(position));
    }
    // A user has at most two keys: the store's whole list is paged here.
    SCY_ASSIGN_OR_RETURN(auto rows, store_->ListAccessKeys(owner.principal_arn));
    auto position_of = [](const storage::AccessKeyRow& row) {
      return AccessKeyPosition{row.created_at, row.access_key_id};
    };
    std::sort(rows.begin(), rows.end(),
              [&](const auto& a, const auto& b) { return position_of(a) < position_of(b); });
    ListAccessKeysResult out;
    auto page = PageAfter(std::move(rows), after, limit, position_of, &out.is_truncated);
    for (const auto& row : page) {
      out.keys.push_back(
          AccessKeyMetadata{owner.user_name, row.access_key_id, row.status, row.created_at});
    }
    if (out.is_truncated) {
      out.marker =
          EncodeMarker("keys", owner.principal_arn, EncodeKeyPosition(position_of(page.back())));
    }
    return out;
  }

  Status UpdateAccessKey(const Caller& caller, const std::optional<std::string>& user_name,
                         const std::string& access_key_id, const std::string& status) override {
    SCY_RETURN_IF_ERROR(ValidateName(access_key_id, "accessKeyId", 16, 128));
    if (status != kActive && status != kInactive) {
      return Validation(
          ConstraintMessage(status, "status", "satisfy enum value set: [Active, Inactive]"));
    }
    SCY_ASSIGN_OR_RETURN(KeyOwner owner, ResolveKeyOwner(caller, "iam:UpdateAccessKey", user_name));
    // Read-modify-write of the whole row: a DeleteAccessKey in between must not see its key
    // written back.
    std::lock_guard lock(key_mutation_mu_);
    SCY_ASSIGN_OR_RETURN(auto row, store_->GetAccessKey(access_key_id));
    if (!row || row->principal_arn != owner.principal_arn) {
      return NoSuchAccessKey(access_key_id);
    }
    if (row->status != status) {
      row->status = status;
      SCY_RETURN_IF_ERROR(store_->PutAccessKey(*row));
    }
    // The next request signed with the key sees the new status, not a cached one.
    identities_->Forget(access_key_id);
    return Ok();
  }

  Status DeleteAccessKey(const Caller& caller, const std::optional<std::string>& user_name,
                         const std::string& access_key_id) override {
    SCY_RETURN_IF_ERROR(ValidateName(access_key_id, "accessKeyId", 16, 128));
    SCY_ASSIGN_OR_RETURN(KeyOwner owner, ResolveKeyOwner(caller, "iam:DeleteAccessKey", user_name));
    std::lock_guard lock(key_mutation_mu_);
    SCY_ASSIGN_OR_RETURN(auto row, store_->GetAccessKey(access_key_id));
    if (!row || row->principal_arn != owner.principal_arn) {
      return NoSuchAccessKey(access_key_id);
    }
    Status deleted = store_->DeleteAccessKey(access_key_id);
    identities_->Forget(access_key_id);
    if (!deleted && deleted.error().code == ErrorCode::kNotFound) {
      return NoSuchAccessKey(access_key_id);
    }
    return deleted;
  }

  // ---- User policies ----

  Status PutUserPolicy(const Caller& caller, const std::string& user_name,
                       const std::string& policy_name, const std::string& document) override {
    SCY_RETURN_IF_ERROR(ValidatePolicyName(policy_name));
    SCY_RETURN_IF_ERROR(ValidateDocumentSize(document, "policyDocument"));
    SCY_ASSIGN_OR_RETURN(storage::UserRow row, FindUser(caller, "iam:PutUserPolicy", user_name));
    SCY_RETURN_IF_ERROR(CompileDocument(document, policy::PolicyKind::kIdentity));
    Status put = store_->PutUserPolicy(row.account_id, row.user_name, {policy_name, document});
    policies_.Invalidate(UserCacheKey(row.account_id, row.user_name));
    if (!put && put.error().code == ErrorCode::kNotFound) {
      return NoSuchUser(user_name);
    }
    return put;
  }

  Result<std::string> GetUserPolicy(const Caller& caller, const std::string& user_name,
                                    const std::string& policy_name) override {
    SCY_RETURN_IF_ERROR(ValidatePolicyName(policy_name));
    SCY_ASSIGN_OR_RETURN(storage::UserRow row, FindUser(caller, "iam:GetUserPolicy", user_name));
    SCY_ASSIGN_OR_RETURN(auto policy,
                         store_->GetUserPolicy(row.account_id, row.user_name, policy_name));
    if (!policy) {
      return NoSuchUserPolicy(policy_name);
    }
    return policy->document;
  }

  Result<ListPolicyNamesResult> ListUserPolicies(const Caller& caller, const std::string& user_name,
                                                 const std::optional<std::string>& marker,
                                                 std::optional<int> max_items) override {
    SCY_ASSIGN_OR_RETURN(const size_t limit, ValidatePaging(marker, max_items));
    SCY_ASSIGN_OR_RETURN(storage::UserRow row, FindUser(caller, "iam:ListUserPolicies", user_name));
    SCY_ASSIGN_OR_RETURN(auto rows, store_->ListUserPolicies(row.account_id, row.user_name));
    return PolicyNamePage(std::move(rows), "user-policies",
                          UserCacheKey(row.account_id, row.user_name), marker, limit);
  }

  Status DeleteUserPolicy(const Caller& caller, const std::string& user_name,
                          const std::string& policy_name) override {
    SCY_RETURN_IF_ERROR(ValidatePolicyName(policy_name));
    SCY_ASSIGN_OR_RETURN(storage::UserRow row, FindUser(caller, "iam:DeleteUserPolicy", user_name));
    Status deleted = store_->DeleteUserPolicy(row.account_id, row.user_name, policy_name);
    policies_.Invalidate(UserCacheKey(row.account_id, row.user_name));
    if (!deleted && deleted.error().code == ErrorCode::kNotFound) {
      return NoSuchUserPolicy(policy_name);
    }
    return deleted;
  }

  // ---- Roles ----

  Result<Role> CreateRole(const Caller& caller, const std::string& role_name,
                          const std::string& path_in, const std::string& trust_policy,
                          const std::string& description,
                          std::optional<int> max_session_duration) override {
    const std::string path = path_in.empty() ? "/" : path_in;
    SCY_RETURN_IF_ERROR(ValidateEntityName(role_name, "roleName"));
    SCY_RETURN_IF_ERROR(ValidatePath(path));
    SCY_RETURN_IF_ERROR(ValidateDocumentSize(trust_policy, "assumeRolePolicyDocument"));
    if (description.size() > kMaxDescription) {
      return Validation(ConstraintMessage(description.substr(0, 32), "description",
                                          "have length less than or equal to 1000"));
    }
    const int max_duration = max_session_duration.value_or(kDefaultSessionDuration);
    if (max_duration < kMinMaxSessionDuration || max_duration > kMaxMaxSessionDuration) {
      return Validation(ConstraintMessage(std::to_string(max_duration), "maxSessionDuration",
                                          "have value between 3600 and 43200"));
    }
    SCY_RETURN_IF_ERROR(
        Authorize(caller, "iam:CreateRole", RoleArn(caller.account_id, path, role_name)));
    SCY_RETURN_IF_ERROR(CompileTrustPolicy(trust_policy));
    storage::RoleRow row{caller.account_id,
                         role_name,
                         internal::RandomBase32Id("AROA", 17),
                         path,
                         trust_policy,
                         description,
                         max_duration,
                         clock_->NowSeconds()};
    Status inserted = store_->InsertRole(row);
    if (!inserted) {
      if (inserted.error().code == ErrorCode::kAlreadyExists) {
        return MakeError(ErrorCode::kAlreadyExists,
                         "Role with name " + role_name + " already exists.");
      }
      return inserted.error();
    }
    policies_.Invalidate(RoleCacheKey(caller.account_id, role_name));
    return ToRole(row);
  }

  Result<Role> GetRole(const Caller& caller, const std::string& role_name) override {
    SCY_ASSIGN_OR_RETURN(storage::RoleRow row, FindRole(caller, "iam:GetRole", role_name));
    return ToRole(row);
  }

  Status DeleteRole(const Caller& caller, const std::string& role_name) override {
    SCY_ASSIGN_OR_RETURN(storage::RoleRow row, FindRole(caller, "iam:DeleteRole", role_name));
    SCY_ASSIGN_OR_RETURN(auto policies, store_->ListRolePolicies(row.account_id, row.role_name));
    if (!policies.empty()) {
      return MakeError(ErrorCode::kConflict, "Cannot delete entity, must delete policies first.");
    }
    // Sessions of the role keep their keys until they expire, but with the role gone they
    // have no identity policies left, so they may do nothing that needs one.
    Status deleted = store_->DeleteRole(row.account_id, row.role_name);
    policies_.Invalidate(RoleCacheKey(row.account_id, row.role_name));
    if (!deleted && deleted.error().code == ErrorCode::kNotFound) {
      return NoSuchRole(role_name);
    }
    return deleted;
  }

  Status PutRolePolicy(const Caller& caller, const std::string& role_name,
                       const std::string& policy_name, const std::string& document) override {
    SCY_RETURN_IF_ERROR(ValidatePolicyName(policy_name));
    SCY_RETURN_IF_ERROR(ValidateDocumentSize(document, "policyDocument"));
    SCY_ASSIGN_OR_RETURN(storage::RoleRow row, FindRole(caller, "iam:PutRolePolicy", role_name));
    SCY_RETURN_IF_ERROR(CompileDocument(document, policy::PolicyKind::kIdentity));
    Status put = store_->PutRolePolicy(row.account_id, row.role_name, {policy_name, document});
    policies_.Invalidate(RoleCacheKey(row.account_id, row.role_name));
    if (!put && put.error().code == ErrorCode::kNotFound) {
      return NoSuchRole(role_name);
    }
    return put;
  }

  Result<std::string> GetRolePolicy(const Caller& caller, const std::string& role_name,
                                    const std::string& policy_name) override {
    SCY_RETURN_IF_ERROR(ValidatePolicyName(policy_name));
    SCY_ASSIGN_OR_RETURN(storage::RoleRow row, FindRole(caller, "iam:GetRolePolicy", role_name));
    SCY_ASSIGN_OR_RETURN(auto policy,
                         store_->GetRolePolicy(row.account_id, row.role_name, policy_name));
    if (!policy) {
      return NoSuchRolePolicy(policy_name);
    }
    return policy->document;
  }

  Result<ListPolicyNamesResult> ListRolePolicies(const Caller& caller, const std::string& role_name,
                                                 const std::optional<std::string>& marker,
                                                 std::optional<int> max_items) override {
    SCY_ASSIGN_OR_RETURN(const size_t limit, ValidatePaging(marker, max_items));
    SCY_ASSIGN_OR_RETURN(storage::RoleRow row, FindRole(caller, "iam:ListRolePolicies", role_name));
    SCY_ASSIGN_OR_RETURN(auto rows, store_->ListRolePolicies(row.account_id, row.role_name));
    return PolicyNamePage(std::move(rows), "role-policies",
                          RoleCacheKey(row.account_id, row.role_name), marker, limit);
  }

  Status DeleteRolePolicy(const Caller& caller, const std::string& role_name,
                          const std::string& policy_name) override {
    SCY_RETURN_IF_ERROR(ValidatePolicyName(policy_name));
    SCY_ASSIGN_OR_RETURN(storage::RoleRow row, FindRole(caller, "iam:DeleteRolePolicy", role_name));
    Status deleted = store_->DeleteRolePolicy(row.account_id, row.role_name, policy_name);
    policies_.Invalidate(RoleCacheKey(row.account_id, row.role_name));
    if (!deleted && deleted.error().code == ErrorCode::kNotFound) {
      return NoSuchRolePolicy(policy_name);
    }
    return deleted;
  }

  // ---- STS ----

  Result<CallerIdentity> GetCallerIdentity(const Caller& caller) override {
    CallerIdentity out{caller.account_id, caller.principal_arn, ""};
    const Principal self = ParsePrincipal(caller.principal_arn);
    switch (self.kind) {
      case Principal::Kind::kRoot:
        out.user_id = self.account;
        break;
      case Principal::Kind::kUser: {
        SCY_ASSIGN_OR_RETURN(auto user, store_->GetUser(self.account, self.name));
        if (!user ||
            UserArn(user->account_id, user->path, user->user_name) != caller.principal_arn) {
          return MakeError(ErrorCode::kUnrecognizedClient,
                           "The security token included in the request is invalid.");
        }
        out.user_id = user->user_id;
        break;
      }
      case Principal::Kind::kAssumedRole: {
        SCY_ASSIGN_OR_RETURN(auto role, store_->GetRole(self.account, self.name));
        out.user_id = (role ? role->role_id : self.name) + ":" + self.session;
        break;
      }
      case Principal::Kind::kOther: {
        // Not an identity of ours (authentication resolves only to the kinds above).
        const std::string& arn = caller.principal_arn;
        out.user_id = arn.substr(arn.find_last_of(":/") + 1);
        break;
      }
    }
    return out;
  }

  Result<AssumedRole> AssumeRole(const Caller& caller, const std::string& role_arn,
                                 const std::string& role_session_name,
                                 std::optional<int> duration_seconds) override {
    const Principal self = ParsePrincipal(caller.principal_arn);
    if (self.kind == Principal::Kind::kRoot) {
      return MakeError(ErrorCode::kAccessDenied, "Roles may not be assumed by root accounts.");
    }
    SCY_RETURN_IF_ERROR(ValidateName(role_session_name, "roleSessionName", 2, 64));
    if (role_arn.size() < 20 || role_arn.size() > 2048) {
      return Validation(ConstraintMessage(role_arn, "roleArn", "have length between 20 and 2048"));
    }
    const ArnParts arn = SplitArn(role_arn);
    if (!arn.valid || arn.service != "iam" || !arn.region.empty() ||
        !arn.resource.starts_with("role/") || arn.resource.back() == '/') {
      return Validation(role_arn + " is invalid");
    }
    const std::string role_name = arn.resource.substr(arn.resource.rfind('/') + 1);
    const int duration = duration_seconds.value_or(kDefaultSessionDuration);
    if (duration < kMinSessionDuration || duration > kMaxMaxSessionDuration) {
      return Validation(ConstraintMessage(std::to_string(duration), "durationSeconds",
                                          "have value between 900 and 43200"));
    }

    policy::Request request{
        caller.principal_arn, caller.account_id, "sts:AssumeRole", role_arn, {}};
    auto denied = [&](policy::AccessOutcome outcome) {
      return MakeError(ErrorCode::kAccessDenied, policy::AccessDeniedMessage(outcome, request));
    };
    // Cross-account role assumption is not supported yet; unknown roles are denied, not
    // reported, as AWS STS does (a caller learns nothing about another's roles).
    if (self.account != caller.account_id || arn.account != caller.account_id) {
      return denied(policy::AccessOutcome::kDeniedNoResourcePolicyAllows);
    }
    SCY_ASSIGN_OR_RETURN(auto row, store_->GetRole(caller.account_id, role_name));
    if (!row || RoleArn(row->account_id, row->path, row->role_name) != role_arn) {
      return denied(policy::AccessOutcome::kDeniedNoResourcePolicyAllows);
    }
    auto trust = CompileTrustPolicy(row->trust_policy);
    if (!trust) {
      return denied(policy::AccessOutcome::kDeniedNoResourcePolicyAllows);
    }
    policy::AddPrincipalConditionKeys(&request);
    SCY_ASSIGN_OR_RETURN(PolicyVector identity, IdentityPolicies(caller.principal_arn));
    // The trust policy naming the caller allows on its own; naming the caller's account
    // delegates to the caller's identity policies, which must then allow sts:AssumeRole.
    const policy::AccessDecision decision =
        policy::AuthorizeKeyAccess(**trust, identity, false, request);
    if (!decision.allowed()) {
      return denied(decision.outcome);
    }
    if (duration > row->max_session_duration) {
      return Validation(
          "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
    }
    if (self.kind == Principal::Kind::kAssumedRole && duration > kRoleChainingMaxDuration) {
      return Validation(
          "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by "
          "role chaining.");
    }

    const int64_t now = clock_->NowSeconds();
    // Lazy purge of long-expired session keys; a failure here must not fail the call.
    (void)store_->DeleteExpiredAccessKeys(now - kExpiredKeyRetentionSeconds);

    AssumedRole out;
    std::string id;
    do {
      id = internal::RandomBase32Id("ASIA", 16);
      SCY_ASSIGN_OR_RETURN(auto taken, store_->GetAccessKey(id));
      if (!taken) {
        break;
      }
    } while (true);
    SCY_ASSIGN_OR_RETURN(out.secret_access_key, NewSecretAccessKey());
    SCY_ASSIGN_OR_RETURN(Bytes token_bytes, crypto::RandomBytes(kSessionTokenBytes));
    out.access_key_id = id;
    out.session_token = Base64Encode(token_bytes);
    out.expiration = now + duration;
    out.assumed_role_arn = AssumedRoleArn(caller.account_id, row->role_name, role_session_name);
    out.assumed_role_id = row->role_id + ":" + role_session_name;

    SCY_ASSIGN_OR_RETURN(Bytes wrapped, root_->Wrap(out.secret_access_key, WrapAad(id)));
    storage::AccessKeyRow key;
    key.access_key_id = id;
    key.account_id = caller.account_id;
    key.principal_arn = out.assumed_role_arn;
    key.status = kActive;
    key.created_at = now;
    key.wrapped_secret = std::move(wrapped);
    key.session_token = internal::SessionTokenDigest(out.session_token);
    key.expiration = out.expiration;
    SCY_RETURN_IF_ERROR(store_->PutAccessKey(key));
    identities_->Forget(id);
    return out;
  }

  // ---- Identity policies ----

  void OnStoreChange(const storage::Change& change) override {
    using Kind = storage::Change::Kind;
    switch (change.kind) {
      case Kind::kIdentity:
        policies_.Clear();  // identity changes are rare: the whole cache goes
        break;
      case Kind::kAccessKey:
        identities_->Forget(change.id);
        break;
      case Kind::kLost:
      case Kind::kResumed:
        policies_.Clear();
        identities_->ForgetAll();
        break;
      default:
        break;
    }
  }

  Result<PolicyVector> IdentityPolicies(const std::string& principal_arn) override {
    const Principal p = ParsePrincipal(principal_arn);
    std::string key;
    if (p.kind == Principal::Kind::kUser) {
      key = UserCacheKey(p.account, p.name);
    } else if (p.kind == Principal::Kind::kAssumedRole) {
      key = RoleCacheKey(p.account, p.name);
    } else {
      return PolicyVector{};  // roots and anything that is no IAM entity of ours
    }
    uint64_t generation = 0;
    if (auto hit = policies_.Get(key, &generation)) {
      if (p.kind != Principal::Kind::kUser || hit->principal_arn == principal_arn) {
        return std::move(hit->policies);
      }
    }
    std::vector<storage::InlinePolicyRow> rows;
    if (p.kind == Principal::Kind::kUser) {
      SCY_ASSIGN_OR_RETURN(auto user, store_->GetUser(p.account, p.name));
      // The ARN must name this very user (path and case included), not a namesake.
      if (!user || UserArn(user->account_id, user->path, user->user_name) != principal_arn) {
        return PolicyVector{};
      }
      SCY_ASSIGN_OR_RETURN(rows, store_->ListUserPolicies(p.account, p.name));
    } else {
      SCY_ASSIGN_OR_RETURN(rows, store_->ListRolePolicies(p.account, p.name));
    }
    PolicyVector compiled;
    for (const auto& row : rows) {
      auto policy = policy::CompiledPolicy::Compile(row.document, policy::PolicyKind::kIdentity);
      if (!policy) {
        return MakeError(ErrorCode::kInternal,
                         "stored policy " + row.policy_name + " of " + principal_arn +
                             " no longer compiles: " + policy.error().message);
      }
      compiled.push_back(std::move(*policy));
    }
    policies_.Put(key, PolicyCache::Entry{principal_arn, compiled}, generation);
    return compiled;
  }

 private:
  // Whose access keys an access-key operation concerns.
  struct KeyOwner {
    std::string principal_arn;
    std::string user_name;  // "" for an account root
  };

  // Allows the account root; anyone else needs an identity policy allowing `action` on
  // `resource` and none denying it.
  Status Authorize(const Caller& caller, const std::string& action, const std::string& resource) {
    if (caller.principal_arn == RootArn(caller.account_id)) {
      return Ok();
    }
    policy::Request request{caller.principal_arn, caller.account_id, action, resource, {}};
    const Principal self = ParsePrincipal(caller.principal_arn);
    if (self.kind == Principal::Kind::kOther || self.account != caller.account_id) {
      return MakeError(ErrorCode::kAccessDenied,
                       policy::AccessDeniedMessage(
                           policy::AccessOutcome::kDeniedNoIdentityPolicyAllows, request));
    }
    policy::AddPrincipalConditionKeys(&request);
    SCY_ASSIGN_OR_RETURN(PolicyVector identity, IdentityPolicies(caller.principal_arn));
    const policy::AccessDecision decision = policy::AuthorizeWithoutKeyPolicy(identity, request);
    if (!decision.allowed()) {
      return MakeError(ErrorCode::kAccessDenied,
                       policy::AccessDeniedMessage(decision.outcome, request));
    }
    return Ok();
  }

  // Validates the name, authorizes `action` on the user (before revealing whether it exists),
  // then answers NoSuchEntity for an unknown user.
  Result<storage::UserRow> FindUser(const Caller& caller, const std::string& action,
                                    const std::string& user_name) {
    SCY_RETURN_IF_ERROR(ValidateEntityName(user_name, "userName"));
    SCY_ASSIGN_OR_RETURN(auto row, store_->GetUser(caller.account_id, user_name));
    const std::string arn = row ? UserArn(row->account_id, row->path, row->user_name)
                                : UserArn(caller.account_id, "/", user_name);
    SCY_RETURN_IF_ERROR(Authorize(caller, action, arn));
    if (!row) {
      return NoSuchUser(user_name);
    }
    return std::move(*row);
  }

  Result<storage::RoleRow> FindRole(const Caller& caller, const std::string& action,
                                    const std::string& role_name) {
    SCY_RETURN_IF_ERROR(ValidateEntityName(role_name, "roleName"));
    SCY_ASSIGN_OR_RETURN(auto row, store_->GetRole(caller.account_id, role_name));
    const std::string arn = row ? RoleArn(row->account_id, row->path, row->role_name)
                                : RoleArn(caller.account_id, "/", role_name);
    SCY_RETURN_IF_ERROR(Authorize(caller, action, arn));
    if (!row) {
      return NoSuchRole(role_name);
    }
    return std::move(*row);
  }

  // A named user's keys, or without a name the caller's own (a root's, or a user's).
  Result<KeyOwner> ResolveKeyOwner(const Caller& caller, const std::string& action,
                                   const std::optional<std::string>& user_name) {
    if (user_name) {
      SCY_ASSIGN_OR_RETURN(storage::UserRow row, FindUser(caller, action, *user_name));
      return KeyOwner{UserArn(row.account_id, row.path, row.user_name), row.user_name};
    }
    const Principal self = ParsePrincipal(caller.principal_arn);
    if (self.kind == Principal::Kind::kRoot && self.account == caller.account_id) {
      return KeyOwner{caller.principal_arn, ""};
    }
    if (self.kind != Principal::Kind::kUser) {
      return NotAUser();
    }
    SCY_ASSIGN_OR_RETURN(storage::UserRow row, FindUser(caller, action, self.name));
    return KeyOwner{UserArn(row.account_id, row.path, row.user_name), row.user_name};
  }

  // One page of an entity's inline policy names, in name order (byte order, as IAM sorts them).
  // The store's whole list is paged here: an entity has a few policies at most (IAM's quota on
  // their total size keeps it so).
  static Result<ListPolicyNamesResult> PolicyNamePage(std::vector<storage::InlinePolicyRow> rows,
                                                      std::string_view list,
                                                      const std::string& scope,
                                                      const std::optional<std::string>& marker,
                                                      size_t limit) {
    std::optional<std::string> after;
    if (marker) {
      SCY_ASSIGN_OR_RETURN(after, DecodeMarker(*marker, list, scope));
    }
    std::vector<std::string> names;
    names.reserve(rows.size());
    for (auto& row : rows) {
      names.push_back(std::move(row.policy_name));
    }
    std::sort(names.begin(), names.end());
    ListPolicyNamesResult out;
    out.policy_names = PageAfter(
        std::move(names), after, limit, [](const std::string& name) { return name; },
        &out.is_truncated);
    if (out.is_truncated) {
      out.marker = EncodeMarker(list, scope, out.policy_names.back());
    }
    return out;
  }

  storage::Store* store_;
  keystore::RootKeystore* root_;
  std::shared_ptr<Clock> clock_;
  Identities* identities_;
  // Held by every write of an IAM user's or root's access keys, and by DeleteUser.
  std::mutex key_mutation_mu_;
  PolicyCache policies_;
};

}  // namespace

std::unique_ptr<IamService> IamService::Create(storage::Store* store, keystore::RootKeystore* root,
                                               std::shared_ptr<Clock> clock,
                                               Identities* identities) {
  return std::make_unique<IamServiceImpl>(store, root, std::move(clock), identities);
}

}  // namespace scytale::iam
