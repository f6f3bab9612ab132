// Policy document → PolicyData: JSON parsing, validation against the IAM policy grammar, and
// precompilation of every pattern and typed value.
#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/encoding.h"
#include "policy/internal/compiled.h"

namespace scytale::policy::internal {
namespace {

using json = nlohmann::json;

constexpr std::string_view kVersion2012 = "2012-10-17";
constexpr std::string_view kVersion2008 = "2008-10-17";

// Messages that IAM or KMS send word for word where we know them; our own wording otherwise.
constexpr std::string_view kInvalidPrincipals =
    "Policy contains a statement with one or more invalid principals.";
constexpr std::string_view kNeedsVendor =
    "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.";

Error Malformed(std::string message) {
  return MakeError(ErrorCode::kMalformedPolicyDocument, std::move(message));
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Names a statement in messages: by Sid when it has one, else by 1-based position.
std::string StatementName(const json& statement, size_t index) {
  if (statement.is_object()) {
    auto sid = statement.find("Sid");
    if (sid != statement.end() && sid->is_string() && !sid->get_ref<const std::string&>().empty()) {
      return "Statement " + Quote(sid->get_ref<const std::string&>());
    }
  }
  return "Statement " + std::to_string(index + 1);
}

bool IsAccountId(std::string_view s) {
  if (s.size() != 12) {
    return false;
  }
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

// IAM unique ids (AIDA… users, AROA… roles) show up in policies whose principal was deleted.
bool IsUniqueId(std::string_view s) {
  if (s.size() < 16 || s.size() > 128 || s[0] != 'A') {
    return false;
  }
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
      return false;
    }
  }
  return true;
}

// A string or a list of strings (Action, Resource, principal ids).
Result<std::vector<std::string>> StringList(const json& value, std::string_view what,
                                            const std::string& where) {
  std::vector<std::string> out;
  if (value.is_string()) {
    out.push_back(value.get<std::string>());
    return out;
  }
  if (value.is_array()) {
    for (const json& item : value) {
      if (!item.is_string()) {
        return Malformed(where + ": every " + std::string(what) + " must be a string.");
      }
      out.push_back(item.get<std::string>());
    }
    return out;
  }
  return Malformed(where + ": " + std::string(what) + " must be a string or a list of strings.");
}

// Condition values may be strings, numbers or booleans (the grammar's condition_value).
Result<std::vector<std::string>> ConditionValues(const json& value, const std::string& where) {
  std::vector<std::string> out;
  auto one = [&](const json& v) -> Status {
    if (v.is_string()) {
      out.push_back(v.get<std::string>());
    } else if (v.is_boolean()) {
      out.push_back(v.get<bool>() ? "true" : "false");
    } else if (v.is_number()) {
      out.push_back(v.dump());
    } else {
      return Malformed(where + ": a condition value must be a string, number or boolean.");
    }
    return Ok();
  };
  if (value.is_array()) {
    for (const json& v : value) {
      SCY_RETURN_IF_ERROR(one(v));
    }
  } else {
    SCY_RETURN_IF_ERROR(one(value));
  }
  if (out.empty()) {
    return Malformed(where + ": a condition key needs at least one value.");
  }
  return out;
}

struct Compiler {
  PolicyKind kind;
  bool variables = false;  // Version 2012-10-17

  StringMatcher CompileString(std::string_view text, bool wildcards, bool ignore_case) const {
    StringMatcher m;
    m.wildcards = wildcards;
    m.ignore_case = ignore_case;
    if (variables && text.find("${") != std::string_view::npos) {
      Template parts = ParseTemplate(text);
      if (HasRequestVariables(parts)) {
        m.tmpl = std::move(parts);
        return m;
      }
      GlobBuilder builder(ignore_case);
      for (const TemplatePart& part : parts) {
        if (part.kind == TemplatePart::Kind::kPattern && wildcards) {
          builder.AppendPattern(part.text);
        } else {
          builder.AppendLiteral(part.text);
        }
      }
      m.glob = std::move(builder).Build();
      return m;
    }
    m.glob = wildcards ? Glob::Pattern(text, ignore_case) : Glob::Literal(text, ignore_case);
    return m;
  }

  ArnMatcher CompileArn(std::string_view text) const {
    ArnMatcher m;
    if (variables && text.find("${") != std::string_view::npos) {
      Template parts = ParseTemplate(text);
      if (HasRequestVariables(parts)) {
        m.tmpl = std::move(parts);
        return m;
      }
      ArnPatternBuilder builder;
      for (const TemplatePart& part : parts) {
        if (part.kind == TemplatePart::Kind::kPattern) {
          builder.AppendPattern(part.text);
        } else {
          builder.AppendLiteral(part.text);
        }
      }
      m.pattern = std::move(builder).Build();
      return m;
    }
    m.pattern = ArnPattern::Compile(text);
    return m;
  }

  Result<PrincipalEntry> AwsPrincipal(const std::string& id) const {
    PrincipalEntry e;
    if (id == "*") {
      e.kind = PrincipalKind::kAnyone;
      return e;
    }
    // "You cannot use a wildcard to match part of a principal name or ARN."
    if (id.find_first_of("*?") != std::string::npos) {
      return Malformed(std::string(kInvalidPrincipals));
    }
    if (IsAccountId(id)) {
      e.kind = PrincipalKind::kAccount;
      e.account = id;
      return e;
    }
    if (id.starts_with("arn:")) {
      const ArnParts p = SplitArn(id);
      if (p.count == 6 && !p.part[1].empty() && p.part[3].empty() && IsAccountId(p.part[4])) {
        const std::string_view service = p.part[2];
        const std::string_view resource = p.part[5];
        e.partition = std::string(p.part[1]);
        e.account = std::string(p.part[4]);
        e.arn = id;
        if (service == "iam" && resource == "root") {
          e.kind = PrincipalKind::kAccount;
          return e;
        }
        if (service == "iam" && resource.starts_with("user/") && resource.size() > 5 &&
            !resource.ends_with("/")) {
          e.kind = PrincipalKind::kArn;
          return e;
        }
        if (service == "iam" && resource.starts_with("role/") && resource.size() > 5 &&
            !resource.ends_with("/")) {
          e.kind = PrincipalKind::kRole;
          e.name = std::string(resource.substr(resource.rfind('/') + 1));
          return e;
        }
        if (service == "sts" && resource.starts_with("assumed-role/")) {
          const std::string_view rest = resource.substr(13);
          const size_t slash = rest.find('/');
          if (slash != std::string_view::npos && slash > 0 && slash + 1 < rest.size()) {
            e.kind = PrincipalKind::kArn;
            return e;
          }
        }
        if (service == "sts" && resource.starts_with("federated-user/") && resource.size() > 15) {
          e.kind = PrincipalKind::kArn;
          return e;
        }
      }
      return Malformed(std::string(kInvalidPrincipals));
    }
    if (IsUniqueId(id)) {
      e.kind = PrincipalKind::kOpaque;
      return e;
    }
    return Malformed(std::string(kInvalidPrincipals));
  }

  Result<PrincipalSet> Principals(const json& value, bool negated) const {
    PrincipalSet set;
    set.present = true;
    set.negated = negated;
    if (value.is_string()) {
      if (value.get_ref<const std::string&>() != "*") {
        return Malformed(std::string(kInvalidPrincipals));
      }
      set.entries.push_back(PrincipalEntry{PrincipalKind::kAnyone, "", "", "", ""});
      return set;
    }
    if (!value.is_object() || value.empty()) {
      return Malformed(std::string(kInvalidPrincipals));
    }
    for (const auto& [type, ids_json] : value.items()) {
      std::vector<std::string> ids;
      if (ids_json.is_string()) {
        ids.push_back(ids_json.get<std::string>());
      } else if (ids_json.is_array() && !ids_json.empty()) {
        for (const json& id : ids_json) {
          if (!id.is_string()) {
            return Malformed(std::string(kInvalidPrincipals));
          }
          ids.push_back(id.get<std::string>());
        }
      } else {
        return Malformed(std::string(kInvalidPrincipals));
      }
      for (const std::string& id : ids) {
        if (id.empty()) {
          return Malformed(std::string(kInvalidPrincipals));
        }
        if (type == "AWS") {
          SCY_ASSIGN_OR_RETURN(PrincipalEntry entry, AwsPrincipal(id));
          set.entries.push_back(std::move(entry));
        } else if (type == "Service") {
          set.entries.push_back(PrincipalEntry{PrincipalKind::kService, "", "", id, ""});
        } else if (type == "Federated") {
          set.entries.push_back(PrincipalEntry{PrincipalKind::kFederated, "", "", id, ""});
        } else if (type == "CanonicalUser") {
          set.entries.push_back(PrincipalEntry{PrincipalKind::kOpaque, "", "", id, ""});
        } else {
          return Malformed(std::string(kInvalidPrincipals));
        }
      }
    }
    return set;
  }

  Result<ActionSet> Actions(const json& value, bool negated, const std::string& where) const {
    ActionSet set;
    set.negated = negated;
    SCY_ASSIGN_OR_RETURN(std::vector<std::string> actions, StringList(value, "action", where));
    for (const std::string& action : actions) {
      if (action != "*") {
        const size_t colon = action.find(':');
        if (colon == std::string::npos || colon == 0) {
          return Malformed(std::string(kNeedsVendor));
        }
      }
      set.patterns.push_back(Glob::Pattern(action, /*ignore_case=*/true));
    }
    set.present = !set.patterns.empty();
    return set;
  }

  Result<ResourceSet> Resources(const json& value, bool negated, const std::string& where) const {
    ResourceSet set;
    set.negated = negated;
    SCY_ASSIGN_OR_RETURN(std::vector<std::string> resources, StringList(value, "resource", where));
    for (const std::string& resource : resources) {
      if (resource != "*" && !resource.starts_with("arn:")) {
        return Malformed("Resource " + resource + " must be in ARN format or \"*\".");
      }
      set.patterns.push_back(CompileString(resource, /*wildcards=*/true, /*ignore_case=*/false));
    }
    set.present = !set.patterns.empty();
    return set;
  }

  Result<Condition> OneCondition(std::string_view op_name, const std::string& key,
                                 const json& values_json, const std::string& where) const {
    struct Base {
      std::string_view name;
      Operator op;
      bool negated;
    };
    static constexpr Base kOperators[] = {
        {"StringEquals", Operator::kStringEquals, false},
        {"StringNotEquals", Operator::kStringEquals, true},
        {"StringEqualsIgnoreCase", Operator::kStringEqualsIgnoreCase, false},
        {"StringNotEqualsIgnoreCase", Operator::kStringEqualsIgnoreCase, true},
        {"StringLike", Operator::kStringLike, false},
        {"StringNotLike", Operator::kStringLike, true},
        {"NumericEquals", Operator::kNumericEquals, false},
        {"NumericNotEquals", Operator::kNumericEquals, true},
        {"NumericLessThan", Operator::kNumericLessThan, false},
        {"NumericLessThanEquals", Operator::kNumericLessThanEquals, false},
        {"NumericGreaterThan", Operator::kNumericGreaterThan, false},
        {"NumericGreaterThanEquals", Operator::kNumericGreaterThanEquals, false},
        {"DateEquals", Operator::kDateEquals, false},
        {"DateNotEquals", Operator::kDateEquals, true},
        {"DateLessThan", Operator::kDateLessThan, false},
        {"DateLessThanEquals", Operator::kDateLessThanEquals, false},
        {"DateGreaterThan", Operator::kDateGreaterThan, false},
        {"DateGreaterThanEquals", Operator::kDateGreaterThanEquals, false},
        {"Bool", Operator::kBool, false},
        {"BinaryEquals", Operator::kBinaryEquals, false},
        {"IpAddress", Operator::kIpAddress, false},
        {"NotIpAddress", Operator::kIpAddress, true},
        {"ArnEquals", Operator::kArnLike, false},
        {"ArnLike", Operator::kArnLike, false},
        {"ArnNotEquals", Operator::kArnLike, true},
        {"ArnNotLike", Operator::kArnLike, true},
        {"Null", Operator::kNull, false},
    };
    const std::string invalid_type = "Invalid Condition type : " + std::string(op_name);
    Condition c;
    std::string_view name = op_name;
    if (name.starts_with("ForAnyValue:")) {
      c.qualifier = SetQualifier::kForAnyValue;
      name.remove_prefix(12);
    } else if (name.starts_with("ForAllValues:")) {
      c.qualifier = SetQualifier::kForAllValues;
      name.remove_prefix(13);
    }
    if (name.ends_with("IfExists")) {
      c.if_exists = true;
      name.remove_suffix(8);
    }
    const Base* base = nullptr;
    for (const Base& b : kOperators) {
      if (b.name == name) {
        base = &b;
        break;
      }
    }
    if (base == nullptr || (base->op == Operator::kNull && c.if_exists)) {
      return Malformed(invalid_type);
    }
    c.op = base->op;
    c.negated = base->negated;

    const size_t colon = key.find(':');
    if (colon == std::string::npos || colon == 0) {
      return Malformed(std::string(kNeedsVendor));
    }
    c.key = FoldAscii(key);

    const std::string here = where + ", condition " + std::string(op_name) + " " + Quote(key);
    SCY_ASSIGN_OR_RETURN(std::vector<std::string> values, ConditionValues(values_json, here));
    auto bad_value = [&](const std::string& v) {
      return Malformed(here + ": invalid value " + Quote(v) + ".");
    };
    for (const std::string& v : values) {
      switch (c.op) {
        case Operator::kStringEquals:
          c.strings.push_back(CompileString(v, false, false));
          break;
        case Operator::kStringEqualsIgnoreCase:
          c.strings.push_back(CompileString(v, false, true));
          break;
        case Operator::kStringLike:
          c.strings.push_back(CompileString(v, true, false));
          break;
        case Operator::kBool: {
          StringMatcher m = CompileString(v, false, true);
          if (!m.tmpl && !ParseBool(v).has_value()) {
            return bad_value(v);
          }
          c.strings.push_back(std::move(m));
          break;
        }
        case Operator::kNumericEquals:
        case Operator::kNumericLessThan:
        case Operator::kNumericLessThanEquals:
        case Operator::kNumericGreaterThan:
        case Operator::kNumericGreaterThanEquals: {
          auto n = ParseNumber(v);
          if (!n) {
            return bad_value(v);
          }
          c.numbers.push_back(*n);
          break;
        }
        case Operator::kDateEquals:
        case Operator::kDateLessThan:
        case Operator::kDateLessThanEquals:
        case Operator::kDateGreaterThan:
        case Operator::kDateGreaterThanEquals: {
          auto d = ParseDate(v);
          if (!d) {
            return bad_value(v);
          }
          c.dates.push_back(*d);
          break;
        }
        case Operator::kBinaryEquals: {
          auto bytes = Base64Decode(v);
          if (!bytes) {
            return bad_value(v);
          }
          c.binaries.push_back(std::move(*bytes));
          break;
        }
        case Operator::kIpAddress: {
          auto range = ParseIpRange(v);
          if (!range) {
            return bad_value(v);
          }
          c.ip_ranges.push_back(*range);
          break;
        }
        case Operator::kArnLike:
          c.arns.push_back(CompileArn(v));
          break;
        case Operator::kNull: {
          auto b = ParseBool(v);
          if (!b) {
            return bad_value(v);
          }
          c.nulls.push_back(*b);
          break;
        }
      }
    }
    return c;
  }

  Result<std::vector<Condition>> Conditions(const json& value, const std::string& where) const {
    if (!value.is_object()) {
      return Malformed(where + ": Condition must be an object.");
    }
    std::vector<Condition> out;
    for (const auto& [op_name, block] : value.items()) {
      if (!block.is_object()) {
        return Malformed(where + ": the Condition operator " + op_name +
                         " must map condition keys to values.");
      }
      for (const auto& [key, values] : block.items()) {
        SCY_ASSIGN_OR_RETURN(Condition c, OneCondition(op_name, key, values, where));
        out.push_back(std::move(c));
      }
    }
    // Cheap checks first: a statement's conditions are AND'd, so their order is free.
    std::stable_sort(out.begin(), out.end(), [](const Condition& a, const Condition& b) {
      return (a.op == Operator::kNull) > (b.op == Operator::kNull);
    });
    return out;
  }

  Result<Statement> OneStatement(const json& s, size_t index) const {
    const std::string where = StatementName(s, index);
    if (!s.is_object()) {
      return Malformed(where + " must be an object.");
    }
    static const std::set<std::string, std::less<>> kFields = {
        "Sid",       "Effect",   "Principal",   "NotPrincipal", "Action",
        "NotAction", "Resource", "NotResource", "Condition"};
    for (const auto& [field, unused] : s.items()) {
      if (!kFields.contains(field)) {
        return Malformed(where + " has an unknown element " + Quote(field) + ".");
      }
    }
    Statement out;
    if (auto sid = s.find("Sid"); sid != s.end()) {
      if (!sid->is_string()) {
        return Malformed(where + ": Sid must be a string.");
      }
      out.sid = sid->get<std::string>();
    }

    auto effect = s.find("Effect");
    if (effect == s.end()) {
      return Malformed(where + " has no Effect.");
    }
    if (!effect->is_string() || (*effect != "Allow" && *effect != "Deny")) {
      return Malformed(where + " has an invalid Effect " + effect->dump() +
                       ": use \"Allow\" or \"Deny\".");
    }
    out.allow = *effect == "Allow";

    auto principal = s.find("Principal");
    auto not_principal = s.find("NotPrincipal");
    const bool has_principal = principal != s.end();
    const bool has_not_principal = not_principal != s.end();
    if (kind == PolicyKind::kIdentity) {
      if (has_principal || has_not_principal) {
        return Malformed("Policy document should not specify a principal.");
      }
    } else {
      if (has_principal && has_not_principal) {
        return Malformed(where + " has both Principal and NotPrincipal.");
      }
      if (!has_principal && !has_not_principal) {
        return Malformed(where +
                         " has no Principal: every statement of a key policy must name "
                         "the principals it applies to.");
      }
      SCY_ASSIGN_OR_RETURN(out.principal, Principals(has_principal ? *principal : *not_principal,
                                                     has_not_principal));
    }

    auto action = s.find("Action");
    auto not_action = s.find("NotAction");
    if (action != s.end() && not_action != s.end()) {
      return Malformed(where + " has both Action and NotAction.");
    }
    if (action != s.end() || not_action != s.end()) {
      const bool negated = not_action != s.end();
      SCY_ASSIGN_OR_RETURN(out.action, Actions(negated ? *not_action : *action, negated, where));
    }
    // A key policy statement without actions or resources is accepted and never applies (as
    // AWS KMS does); IAM rejects such identity policies.
    if (kind == PolicyKind::kIdentity && !out.action.present) {
      return Malformed("Policy statement must contain actions.");
    }

    auto resource = s.find("Resource");
    auto not_resource = s.find("NotResource");
    if (resource != s.end() && not_resource != s.end()) {
      return Malformed(where + " has both Resource and NotResource.");
    }
    if (kind == PolicyKind::kTrust) {
      // A trust policy's resource is the role it is attached to.
      if (resource != s.end() || not_resource != s.end()) {
        return Malformed("Has prohibited field Resource.");
      }
      out.resource.present = true;
      out.resource.negated = true;  // NotResource of nothing: every resource
    } else if (resource != s.end() || not_resource != s.end()) {
      const bool negated = not_resource != s.end();
      SCY_ASSIGN_OR_RETURN(out.resource,
                           Resources(negated ? *not_resource : *resource, negated, where));
    }
    if (kind == PolicyKind::kIdentity && !out.resource.present) {
      return Malformed("Policy statement must contain resources.");
    }

    if (auto condition = s.find("Condition"); condition != s.end()) {
      SCY_ASSIGN_OR_RETURN(out.conditions, Conditions(*condition, where));
    }
    return out;
  }
};

// nlohmann::json keeps the last of duplicate keys silently; the grammar forbids duplicates
// ("Individual elements must not contain multiple instances of the same key").
struct DuplicateKeyFinder {
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;

  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() && parsed.is_string() &&
            !open_objects.back().insert(parsed.get<std::string>()).second && duplicate.empty()) {
          duplicate = parsed.get<std::string>();
        }
        break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) {
          open_objects.pop_back();
        }
        break;
      default:
        break;
    }
    return true;
  }
};

}  // namespace

Template ParseTemplate(std::string_view text) {
  Template parts;
  std::string pending;
  auto flush = [&] {
    if (!pending.empty()) {
      parts.push_back(TemplatePart{TemplatePart::Kind::kPattern, std::move(pending), {}});
      pending.clear();
    }
  };
  auto trim = [](std::string_view s) {
    while (!s.empty() && s.front() == ' ') {
      s.remove_prefix(1);
    }
    while (!s.empty() && s.back() == ' ') {
      s.remove_suffix(1);
    }
    return s;
  };
  size_t pos = 0;
  while (pos < text.size()) {
    if (text[pos] == '$' && pos + 1 < text.size() && text[pos + 1] == '{') {
      const size_t close = text.find('}', pos + 2);
      const std::string_view inner = close == std::string_view::npos
                                         ? std::string_view()
                                         : text.substr(pos + 2, close - pos - 2);
      if (close == std::string_view::npos || trim(inner).empty()) {
        pending.push_back(text[pos++]);
        continue;
      }
      flush();
      if (inner == "*" || inner == "?" || inner == "$") {
        parts.push_back(TemplatePart{TemplatePart::Kind::kLiteral, std::string(inner), {}});
      } else {
        TemplatePart var{TemplatePart::Kind::kVariable, "", {}};
        std::string_view key = inner;
        const size_t comma = inner.find(',');
        if (comma != std::string_view::npos) {
          const std::string_view fallback = trim(inner.substr(comma + 1));
          if (fallback.size() >= 2 && fallback.front() == '\'' && fallback.back() == '\'') {
            key = inner.substr(0, comma);
            var.default_value = std::string(fallback.substr(1, fallback.size() - 2));
          }
        }
        var.text = FoldAscii(trim(key));
        parts.push_back(std::move(var));
      }
      pos = close + 1;
    } else {
      pending.push_back(text[pos++]);
    }
  }
  flush();
  return parts;
}

bool HasRequestVariables(const Template& parts) {
  for (const TemplatePart& part : parts) {
    if (part.kind == TemplatePart::Kind::kVariable) {
      return true;
    }
  }
  return false;
}

Result<std::unique_ptr<PolicyData>> ParsePolicy(std::string_view document, PolicyKind kind) {
  DuplicateKeyFinder duplicates;
  json doc = json::parse(document, std::ref(duplicates), /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Malformed("The policy document is not valid JSON.");
  }
  if (!duplicates.duplicate.empty()) {
    return Malformed("The policy document contains the element " + Quote(duplicates.duplicate) +
                     " more than once.");
  }
  if (!doc.is_object()) {
    return Malformed("The policy document must be a JSON object.");
  }
  for (const auto& [field, unused] : doc.items()) {
    if (field != "Version" && field != "Id" && field != "Statement") {
      return Malformed("The policy document has an unknown element " + Quote(field) + ".");
    }
  }

  auto data = std::make_unique<PolicyData>();
  data->kind = kind;
  if (auto version = doc.find("Version"); version != doc.end()) {
    if (!version->is_string() || (*version != kVersion2012 && *version != kVersion2008)) {
      return Malformed("Invalid policy Version " + version->dump() + ": use \"" +
                       std::string(kVersion2012) + "\" or \"" + std::string(kVersion2008) + "\".");
    }
    data->version = version->get<std::string>();
  }
  if (auto id = doc.find("Id"); id != doc.end()) {
    if (!id->is_string()) {
      return Malformed("The policy Id must be a string.");
    }
    data->id = id->get<std::string>();
  }

  auto statements = doc.find("Statement");
  if (statements == doc.end()) {
    return Malformed("The policy document has no Statement.");
  }
  std::vector<const json*> list;
  if (statements->is_object()) {
    list.push_back(&*statements);
  } else if (statements->is_array()) {
    for (const json& s : *statements) {
      list.push_back(&s);
    }
  } else {
    return Malformed("Statement must be an object or a list of objects.");
  }
  if (list.empty()) {
    return Malformed("The policy document must contain at least one statement.");
  }

  Compiler compiler{kind, data->version == kVersion2012};
  for (size_t i = 0; i < list.size(); ++i) {
    SCY_ASSIGN_OR_RETURN(Statement s, compiler.OneStatement(*list[i], i));
    data->statements.push_back(std::move(s));
  }
  return data;
}

}  // namespace scytale::policy::internal
