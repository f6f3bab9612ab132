// The compiled form of a policy document: what Compile produces and Evaluate walks. Every
// string the evaluator compares against is precompiled (folded, globbed, parsed to a number,
// date or IP range); only values that contain policy variables are finished per request.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/encoding.h"
#include "policy/internal/glob.h"
#include "policy/internal/values.h"
#include "policy/policy.h"

namespace scytale::policy::internal {

// A policy string containing ${...} variables, kept in pieces until a request fills them in.
struct TemplatePart {
  enum class Kind {
    kPattern,   // policy text: '*' and '?' are wildcards where the operator allows them
    kLiteral,   // ${*}, ${?}, ${$}: the character itself
    kVariable,  // ${key} or ${key, 'default'}: `text` is the folded key
  };
  Kind kind;
  std::string text;
  std::optional<std::string> default_value;
};
using Template = std::vector<TemplatePart>;

// Splits `text` at policy variables. "${" without a closing "}" is plain text.
Template ParseTemplate(std::string_view text);
// Whether `parts` has a variable that needs a request; without one (only text and
// ${*}/${?}/${$}) the string is precompiled like any other.
bool HasRequestVariables(const Template& parts);

// A string matcher from the policy: Resource entries and String*/Bool condition values.
struct StringMatcher {
  Glob glob;                     // when !tmpl
  std::optional<Template> tmpl;  // when the text uses request variables
  bool wildcards = false;        // whether '*'/'?' in policy text are wildcards
  bool ignore_case = false;
};

struct ArnMatcher {
  ArnPattern pattern;  // when !tmpl
  std::optional<Template> tmpl;
};

enum class PrincipalKind {
  kAnyone,     // "*" or {"AWS": "*"}
  kAccount,    // an account id or arn:aws:iam::<account>:root
  kArn,        // an IAM user, STS assumed-role session or federated user: exact ARN
  kRole,       // an IAM role: matches the role ARN and every session of the role
  kService,    // {"Service": "..."}
  kFederated,  // {"Federated": "..."}
  kOpaque,     // CanonicalUser or a unique id (AIDA..., AROA...): never matches a request
};

struct PrincipalEntry {
  PrincipalKind kind;
  std::string partition;  // kAccount from an ARN, kRole; empty: any partition
  std::string account;    // kAccount, kRole
  std::string name;       // kRole: role name (last path component); kService/kFederated: name
  std::string arn;        // kArn, kRole: the ARN as written
};

struct PrincipalSet {
  bool present = false;
  bool negated = false;  // NotPrincipal
  std::vector<PrincipalEntry> entries;
};

struct ActionSet {
  bool present = false;
  bool negated = false;        // NotAction
  std::vector<Glob> patterns;  // folded, case-insensitive
};

struct ResourceSet {
  bool present = false;
  bool negated = false;  // NotResource
  std::vector<StringMatcher> patterns;
};

enum class Operator {
  kStringEquals,
  kStringEqualsIgnoreCase,
  kStringLike,
  kNumericEquals,
  kNumericLessThan,
  kNumericLessThanEquals,
  kNumericGreaterThan,
  kNumericGreaterThanEquals,
  kDateEquals,
  kDateLessThan,
  kDateLessThanEquals,
  kDateGreaterThan,
  kDateGreaterThanEquals,
  kBool,
  kBinaryEquals,
  kIpAddress,
  kArnLike,  // ArnEquals and ArnLike are the same operator
  kNull,
};

enum class SetQualifier { kNone, kForAnyValue, kForAllValues };

struct Condition {
  Operator op;
  bool negated = false;  // StringNotEquals, NotIpAddress, ArnNotLike, ...
  bool if_exists = false;
  SetQualifier qualifier = SetQualifier::kNone;
  std::string key;  // folded
  // Exactly one of these holds the policy values, by operator family.
  std::vector<StringMatcher> strings;  // String*, Bool (folded literal "true"/"false")
  std::vector<long double> numbers;
  std::vector<int64_t> dates;
  std::vector<Bytes> binaries;
  std::vector<IpRange> ip_ranges;
  std::vector<ArnMatcher> arns;
  std::vector<bool> nulls;  // Null: true = "the key must be absent"
};

struct Statement {
  std::string sid;
  bool allow = false;
  PrincipalSet principal;
  ActionSet action;
  ResourceSet resource;
  std::vector<Condition> conditions;
};

struct PolicyData {
  PolicyKind kind = PolicyKind::kResource;
  std::string version;
  std::string id;
  std::vector<Statement> statements;
};

Result<std::unique_ptr<PolicyData>> ParsePolicy(std::string_view document, PolicyKind kind);

// The caller of a request, parsed from its principal ARN once per evaluation. Views point
// into the Request.
struct Caller {
  enum class Kind { kRoot, kUser, kAssumedRole, kFederatedUser, kService, kOther };
  Kind kind = Kind::kOther;
  std::string_view arn;
  std::string_view partition;
  std::string_view account;
  std::string_view role_name;  // kAssumedRole
};
Caller AnalyzeCaller(const Request& request);

// How a statement's Principal/NotPrincipal relates to the caller.
enum class PrincipalMatch { kNone, kViaAccount, kDirect };
PrincipalMatch MatchPrincipal(const PrincipalSet& set, const Caller& caller);

Evaluation EvaluatePolicy(const PolicyData& policy, const Caller& caller, const Request& request);

}  // namespace scytale::policy::internal
