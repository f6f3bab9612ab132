// Evaluation of a compiled policy against one request. Nothing here allocates except the
// resolution of policy variables (${aws:username}) in the statements that use them.
#include <algorithm>
#include <utility>

#include "common/encoding.h"
#include "policy/internal/compiled.h"

namespace scytale::policy::internal {
namespace {

struct EvalState {
  const ConditionKeys* keys;
  // Set when a policy variable has no value in the request and no default: the IAM guide
  // says the statement is then invalid, so it does not apply (neither allows nor denies).
  bool unresolved = false;
};

// The single value of a variable's key, its default, or nullptr.
const std::string* VariableValue(const TemplatePart& part, const ConditionKeys& keys) {
  const std::vector<std::string>* values = keys.FindFolded(part.text);
  if (values != nullptr && values->size() == 1) {
    return &values->front();
  }
  // Multivalued keys cannot be policy variables; treat them like absent ones.
  return part.default_value ? &*part.default_value : nullptr;
}

template <class Builder>
bool Resolve(const Template& parts, bool wildcards, const ConditionKeys& keys, Builder* builder) {
  for (const TemplatePart& part : parts) {
    switch (part.kind) {
      case TemplatePart::Kind::kPattern:
        if (wildcards) {
          builder->AppendPattern(part.text);
        } else {
          builder->AppendLiteral(part.text);
        }
        break;
      case TemplatePart::Kind::kLiteral:
        builder->AppendLiteral(part.text);
        break;
      case TemplatePart::Kind::kVariable: {
        const std::string* value = VariableValue(part, keys);
        if (value == nullptr) {
          return false;
        }
        builder->AppendLiteral(*value);
        break;
      }
    }
  }
  return true;
}

bool MatchString(const StringMatcher& m, std::string_view subject, EvalState* state) {
  if (!m.tmpl) {
    return m.glob.Matches(subject);
  }
  GlobBuilder builder(m.ignore_case);
  if (!Resolve(*m.tmpl, m.wildcards, *state->keys, &builder)) {
    state->unresolved = true;
    return false;
  }
  return std::move(builder).Build().Matches(subject);
}

bool MatchArn(const ArnMatcher& m, std::string_view subject, EvalState* state) {
  if (!m.tmpl) {
    return m.pattern.Matches(subject);
  }
  ArnPatternBuilder builder;
  if (!Resolve(*m.tmpl, /*wildcards=*/true, *state->keys, &builder)) {
    state->unresolved = true;
    return false;
  }
  return std::move(builder).Build().Matches(subject);
}

bool MatchAction(const ActionSet& set, std::string_view action) {
  if (!set.present) {
    return false;
  }
  bool any = false;
  for (const Glob& pattern : set.patterns) {
    if (pattern.Matches(action)) {
      any = true;
      break;
    }
  }
  return set.negated ? !any : any;
}

bool MatchResource(const ResourceSet& set, std::string_view resource, EvalState* state) {
  if (!set.present) {
    return false;
  }
  bool any = false;
  for (const StringMatcher& pattern : set.patterns) {
    if (MatchString(pattern, resource, state)) {
      any = true;
      break;
    }
    if (state->unresolved) {
      return false;
    }
  }
  return set.negated ? !any : any;
}

bool CompareNumber(Operator op, long double request, long double policy) {
  switch (op) {
    case Operator::kNumericEquals:
      return request == policy;
    case Operator::kNumericLessThan:
      return request < policy;
    case Operator::kNumericLessThanEquals:
      return request <= policy;
    case Operator::kNumericGreaterThan:
      return request > policy;
    case Operator::kNumericGreaterThanEquals:
      return request >= policy;
    default:
      return false;
  }
}

bool CompareDate(Operator op, int64_t request, int64_t policy) {
  switch (op) {
    case Operator::kDateEquals:
      return request == policy;
    case Operator::kDateLessThan:
      return request < policy;
    case Operator::kDateLessThanEquals:
      return request <= policy;
    case Operator::kDateGreaterThan:
      return request > policy;
    case Operator::kDateGreaterThanEquals:
      return request >= policy;
    default:
      return false;
  }
}

// Whether one request value matches any of the condition's policy values, in the operator's
// positive sense (StringNotEquals is evaluated as StringEquals, then negated by the caller).
bool AnyPolicyValueMatches(const Condition& c, const std::string& value, EvalState* state) {
  switch (c.op) {
    case Operator::kStringEquals:
    case Operator::kStringEqualsIgnoreCase:
    case Operator::kStringLike:
    case Operator::kBool:
      for (const StringMatcher& m : c.strings) {
        if (MatchString(m, value, state)) {
          return true;
        }
        if (state->unresolved) {
          return false;
        }
      }
      return false;
    case Operator::kNumericEquals:
    case Operator::kNumericLessThan:
    case Operator::kNumericLessThanEquals:
    case Operator::kNumericGreaterThan:
    case Operator::kNumericGreaterThanEquals: {
      const auto number = ParseNumber(value);
      if (!number) {
        return false;
      }
      return std::any_of(c.numbers.begin(), c.numbers.end(),
                         [&](long double p) { return CompareNumber(c.op, *number, p); });
    }
    case Operator::kDateEquals:
    case Operator::kDateLessThan:
    case Operator::kDateLessThanEquals:
    case Operator::kDateGreaterThan:
    case Operator::kDateGreaterThanEquals: {
      const auto date = ParseDate(value);
      if (!date) {
        return false;
      }
      return std::any_of(c.dates.begin(), c.dates.end(),
                         [&](int64_t p) { return CompareDate(c.op, *date, p); });
    }
    case Operator::kBinaryEquals: {
      // Binary request values travel base64-encoded, like the policy's.
      const auto bytes = Base64Decode(value);
      if (!bytes) {
        return false;
      }
      return std::find(c.binaries.begin(), c.binaries.end(), *bytes) != c.binaries.end();
    }
    case Operator::kIpAddress: {
      const auto address = ParseIpRange(value);
      if (!address) {
        return false;
      }
      return std::any_of(c.ip_ranges.begin(), c.ip_ranges.end(),
                         [&](const IpRange& r) { return IpInRange(*address, r); });
    }
    case Operator::kArnLike:
      for (const ArnMatcher& m : c.arns) {
        if (MatchArn(m, value, state)) {
          return true;
        }
        if (state->unresolved) {
          return false;
        }
      }
      return false;
    case Operator::kNull:
      return false;
  }
  return false;
}

bool EvaluateCondition(const Condition& c, EvalState* state) {
  const std::vector<std::string>* values = state->keys->FindFolded(c.key);
  const bool present = values != nullptr && !values->empty();
  if (c.op == Operator::kNull) {
    // "true": the key must be absent; "false": it must be present. Several values are OR'd.
    for (bool want_absent : c.nulls) {
      if (want_absent != present) {
        return true;
      }
    }
    return false;
  }
  if (!present) {
    if (c.if_exists) {
      return true;
    }
    switch (c.qualifier) {
      case SetQualifier::kForAllValues:
        return true;  // every one of no values matches
      case SetQualifier::kForAnyValue:
        return false;
      case SetQualifier::kNone:
        return c.negated;  // "the key is not X" holds when there is no key
    }
  }
  switch (c.qualifier) {
    case SetQualifier::kNone: {
      bool any = false;
      for (const std::string& value : *values) {
        if (AnyPolicyValueMatches(c, value, state)) {
          any = true;
          break;
        }
        if (state->unresolved) {
          return false;
        }
      }
      return c.negated ? !any : any;
    }
    case SetQualifier::kForAnyValue:
      for (const std::string& value : *values) {
        const bool match = AnyPolicyValueMatches(c, value, state);
        if (state->unresolved) {
          return false;
        }
        if (match != c.negated) {
          return true;
        }
      }
      return false;
    case SetQualifier::kForAllValues:
      for (const std::string& value : *values) {
        const bool match = AnyPolicyValueMatches(c, value, state);
        if (state->unresolved) {
          return false;
        }
        if (match == c.negated) {
          return false;
        }
      }
      return true;
  }
  return false;
}

bool SamePartition(std::string_view a, std::string_view b) {
  return a.empty() || b.empty() || a == b;
}

bool AccountMatches(const PrincipalEntry& e, const Caller& caller) {
  return !caller.account.empty() && caller.kind != Caller::Kind::kService &&
         caller.account == e.account && SamePartition(e.partition, caller.partition);
}

bool RoleSessionMatches(const PrincipalEntry& e, const Caller& caller) {
  return caller.kind == Caller::Kind::kAssumedRole && caller.account == e.account &&
         caller.role_name == e.name && SamePartition(e.partition, caller.partition);
}

bool ServiceMatches(const PrincipalEntry& e, const Caller& caller) {
  return caller.kind == Caller::Kind::kService &&
         (e.name == "*" || EqualsIgnoreCase(e.name, caller.arn));
}

PrincipalMatch MatchEntry(const PrincipalEntry& e, const Caller& caller) {
  switch (e.kind) {
    case PrincipalKind::kAnyone:
      return PrincipalMatch::kDirect;
    case PrincipalKind::kAccount:
      if (!AccountMatches(e, caller)) {
        return PrincipalMatch::kNone;
      }
      // The account's root user is the account principal itself.
      return caller.kind == Caller::Kind::kRoot ? PrincipalMatch::kDirect
                                                : PrincipalMatch::kViaAccount;
    case PrincipalKind::kArn:
      return caller.arn == e.arn ? PrincipalMatch::kDirect : PrincipalMatch::kNone;
    case PrincipalKind::kRole:
      return caller.arn == e.arn || RoleSessionMatches(e, caller) ? PrincipalMatch::kDirect
                                                                  : PrincipalMatch::kNone;
    case PrincipalKind::kService:
      return ServiceMatches(e, caller) ? PrincipalMatch::kDirect : PrincipalMatch::kNone;
    case PrincipalKind::kFederated:
      return caller.arn == e.name ? PrincipalMatch::kDirect : PrincipalMatch::kNone;
    case PrincipalKind::kOpaque:
      return PrincipalMatch::kNone;
  }
  return PrincipalMatch::kNone;
}

// NotPrincipal excludes a caller only when every level of its identity is listed: the account
// for its root; the user and its account; the session, its role and the role's account. This
// is the IAM guide's advice made a rule ("AWS might validate the account first, then the role,
// and then the assumed-role user"): listing only a user still leaves its account denied.
bool NotPrincipalExcludes(const PrincipalSet& set, const Caller& caller) {
  bool self = false;
  bool role = false;
  bool account = false;
  for (const PrincipalEntry& e : set.entries) {
    switch (e.kind) {
      case PrincipalKind::kAnyone:
        return true;
      case PrincipalKind::kAccount:
        account = account || AccountMatches(e, caller);
        break;
      case PrincipalKind::kArn:
        self = self || caller.arn == e.arn;
        break;
      case PrincipalKind::kRole:
        self = self || caller.arn == e.arn;
        role = role || RoleSessionMatches(e, caller);
        break;
      case PrincipalKind::kService:
        self = self || ServiceMatches(e, caller);
        break;
      case PrincipalKind::kFederated:
        self = self || caller.arn == e.name;
        break;
      case PrincipalKind::kOpaque:
        break;
    }
  }
  switch (caller.kind) {
    case Caller::Kind::kRoot:
      return account;
    case Caller::Kind::kAssumedRole:
      return self && role && account;
    case Caller::Kind::kService:
      return self;
    case Caller::Kind::kUser:
    case Caller::Kind::kFederatedUser:
    case Caller::Kind::kOther:
      return self && account;
  }
  return false;
}

PrincipalMatch EvaluateStatement(const Statement& s, PolicyKind kind, const Caller& caller,
                                 const Request& request) {
  if (!MatchAction(s.action, request.action)) {
    return PrincipalMatch::kNone;
  }
  PrincipalMatch principal = PrincipalMatch::kDirect;
  if (kind != PolicyKind::kIdentity) {
    principal = MatchPrincipal(s.principal, caller);
    if (principal == PrincipalMatch::kNone) {
      return principal;
    }
  }
  EvalState state{&request.conditions};
  if (!MatchResource(s.resource, request.resource, &state)) {
    return PrincipalMatch::kNone;
  }
  for (const Condition& c : s.conditions) {
    if (!EvaluateCondition(c, &state)) {
      return PrincipalMatch::kNone;
    }
  }
  return state.unresolved ? PrincipalMatch::kNone : principal;
}

}  // namespace

Caller AnalyzeCaller(const Request& request) {
  Caller caller;
  caller.arn = request.principal_arn;
  if (!caller.arn.starts_with("arn:")) {
    // A service principal ("ec2.amazonaws.com") is named, not ARN'd.
    if (!caller.arn.empty()) {
      caller.kind = Caller::Kind::kService;
    }
  } else {
    const ArnParts p = SplitArn(caller.arn);
    if (p.count == 6) {
      caller.partition = p.part[1];
      caller.account = p.part[4];
      const std::string_view service = p.part[2];
      const std::string_view resource = p.part[5];
      if (service == "iam" && resource == "root") {
        caller.kind = Caller::Kind::kRoot;
      } else if (service == "iam" && resource.starts_with("user/")) {
        caller.kind = Caller::Kind::kUser;
      } else if (service == "sts" && resource.starts_with("assumed-role/")) {
        caller.kind = Caller::Kind::kAssumedRole;
        const std::string_view rest = resource.substr(13);
        caller.role_name = rest.substr(0, rest.find('/'));
      } else if (service == "sts" && resource.starts_with("federated-user/")) {
        caller.kind = Caller::Kind::kFederatedUser;
      }
    }
  }
  if (!request.principal_account.empty()) {
    caller.account = request.principal_account;
  }
  return caller;
}

PrincipalMatch MatchPrincipal(const PrincipalSet& set, const Caller& caller) {
  if (!set.present) {
    return PrincipalMatch::kNone;
  }
  if (set.negated) {
    // NotPrincipal names whom the statement does NOT apply to; everyone else is covered as
    // directly as by "*".
    return NotPrincipalExcludes(set, caller) ? PrincipalMatch::kNone : PrincipalMatch::kDirect;
  }
  PrincipalMatch best = PrincipalMatch::kNone;
  for (const PrincipalEntry& e : set.entries) {
    best = std::max(best, MatchEntry(e, caller));
    if (best == PrincipalMatch::kDirect) {
      break;
    }
  }
  return best;
}

Evaluation EvaluatePolicy(const PolicyData& policy, const Caller& caller, const Request& request) {
  int direct = -1;
  int via_account = -1;
  for (size_t i = 0; i < policy.statements.size(); ++i) {
    const Statement& s = policy.statements[i];
    const PrincipalMatch match = EvaluateStatement(s, policy.kind, caller, request);
    if (match == PrincipalMatch::kNone) {
      continue;
    }
    const int index = static_cast<int>(i);
    if (!s.allow) {
      return Evaluation{Decision::kDeny, index};
    }
    if (match == PrincipalMatch::kDirect && direct < 0) {
      direct = index;
    } else if (match == PrincipalMatch::kViaAccount && via_account < 0) {
      via_account = index;
    }
  }
  if (direct >= 0) {
    return Evaluation{Decision::kAllow, direct};
  }
  if (via_account >= 0) {
    return Evaluation{Decision::kAllowViaAccount, via_account};
  }
  return Evaluation{};
}

}  // namespace scytale::policy::internal
