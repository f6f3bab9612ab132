#include "api/internal/validator.h"

#include <openssl/crypto.h>

// pcre2.h needs the code unit width first: requests are UTF-8, so 8-bit units.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <new>
#include <optional>
#include <unordered_map>
#include <utility>

#include "api/internal/kms_model.h"
#include "common/encoding.h"

namespace scytale::api::internal {
namespace {

using nlohmann::json;

// Code points in UTF-8 text: every byte but a continuation byte (10xxxxxx) starts one. AWS
// counts characters, not bytes. nlohmann's parser rejects malformed UTF-8, so this is exact for
// request bodies; malformed text built in code fails every pattern (see Regex::FullMatch).
int64_t CountCodePoints(std::string_view s) {
  return std::count_if(s.begin(), s.end(),
                       [](char c) { return (static_cast<uint8_t>(c) & 0xC0) != 0x80; });
}

// ---------------------------------------------------------------------------------------------
// Patterns. The model's patterns are Java regular expressions, which Coral (AWS's Java service
// framework) checks with String.matches(): the whole string must match. PCRE2 reads nearly all
// of Java's syntax the same way; JavaToPcre2 rewrites what it reads differently and rejects
// what it would silently take to mean something else, so a model that needs more fails Create()
// (and the tests) rather than matching differently.

// pcre2 objects, each freed by its own function, as OsslPtr does for OpenSSL.
template <class T>
struct Pcre2Deleter;
template <>
struct Pcre2Deleter<pcre2_code> {
  void operator()(pcre2_code* p) const { pcre2_code_free(p); }
};
template <>
struct Pcre2Deleter<pcre2_match_data> {
  void operator()(pcre2_match_data* p) const { pcre2_match_data_free(p); }
};
template <>
struct Pcre2Deleter<pcre2_match_context> {
  void operator()(pcre2_match_context* p) const { pcre2_match_context_free(p); }
};
template <class T>
using Pcre2Ptr = std::unique_ptr<T, Pcre2Deleter<T>>;

// PCRE2_UTF: patterns and values match by code point, as in Java. Without PCRE2_UCP, \d \w \s
// stay ASCII-only, as Java's do without UNICODE_CHARACTER_CLASS; PCRE2_NEVER_UCP keeps a
// "(*UCP)" from changing that. PCRE2_DOLLAR_ENDONLY: '$' does not match before a final "\n".
// PCRE2_NEVER_BACKSLASH_C: \C (one byte) could split a UTF-8 character.
constexpr uint32_t kCompileOptions =
    PCRE2_UTF | PCRE2_NEVER_UCP | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C;

// Bounds on one match, far above what the model's patterns need for a valid value (a
// maximum-size policy takes a handful of steps), so that no value can make a match slow or
// deep. Reaching one makes pcre2_match fail, which counts as "does not match".
constexpr uint32_t kMatchLimit = 1'000'000;
constexpr uint32_t kDepthLimit = 10'000;  // the interpreter's backtracking depth (not JIT's)

// Java's '.' (without DOTALL): anything but a line terminator. PCRE2's excludes only "\n".
constexpr std::string_view kJavaDot = "[^\\n\\r\\x{85}\\x{2028}\\x{2029}]";

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Rewrites \uXXXX (PCRE2 has no such escape) to \x{XXXX} and '.' to kJavaDot. Rejects, since
// PCRE2 would accept them with another meaning: '[' or "&&" inside a class (Java's union and
// intersection), \p and \P (Java's \p{Alpha} or \p{Lower} are ASCII, PCRE2's are Unicode),
// inline flags such as (?s) or (?i) (they change '.' and case folding), "(*" (PCRE2 verbs,
// a syntax error in Java) and an unbalanced ')' (it would escape the \A(?:...)\z wrapper).
Result<std::string> JavaToPcre2(std::string_view java) {
  auto unsupported = [&](std::string_view what) {
    return MakeError(ErrorCode::kInternal, "pattern " + std::string(java) + ": " +
                                               std::string(what) + " is not supported");
  };
  std::string out;
  bool in_class = false;
  int depth = 0;
  for (size_t i = 0; i < java.size(); ++i) {
    const char c = java[i];
    const char next = i + 1 < java.size() ? java[i + 1] : '\0';
    if (c == '\\') {
      if (next == 'u') {
        if (i + 6 > java.size() ||
            !std::all_of(java.begin() + static_cast<std::ptrdiff_t>(i + 2),
                         java.begin() + static_cast<std::ptrdiff_t>(i + 6), IsHexDigit)) {
          return unsupported("\\u without four hex digits");
        }
        out += "\\x{";
        out += java.substr(i + 2, 4);
        out += '}';
        i += 5;
      } else if (next == 'Q') {
        // Quoted up to \E (or the end), in PCRE2 too; nothing inside is rewritten.
        const size_t end = java.find("\\E", i + 2);
        const size_t stop = end == std::string_view::npos ? java.size() : end + 2;
        out += java.substr(i, stop - i);
        if (end == std::string_view::npos) {
          out += "\\E";  // or the wrapper's ")\z" would be quoted too
        }
        i = stop - 1;
      } else if (next == 'p' || next == 'P') {
        return unsupported("\\p");
      } else if (i + 1 == java.size()) {
        return unsupported("a trailing '\\'");  // it would escape the wrapper's ')'
      } else {
        out += java.substr(i, 2);
        ++i;
      }
      continue;
    }
    if (in_class) {
      if (c == '[' || (c == '&' && next == '&')) {
        return unsupported("a class inside a class or &&");
      }
      in_class = c != ']';
      out += c;
      continue;
    }
    switch (c) {
      case '[':
        in_class = true;
        out += c;
        if (next == '^') {
          out += next;
          ++i;
        }
        // A ']' first in a class is literal, in Java as in PCRE2.
        if (i + 1 < java.size() && java[i + 1] == ']') {
          out += ']';
          ++i;
        }
        break;
      case '.':
        out += kJavaDot;
        break;
      case '(':
        if (next == '*' || (next == '?' && i + 2 < java.size() &&
                            (IsAsciiLetter(java[i + 2]) || java[i + 2] == '-'))) {
          return unsupported("an inline flag or (*");
        }
        ++depth;
        out += c;
        break;
      case ')':
        if (--depth < 0) {
          return unsupported("an unbalanced ')'");
        }
        out += c;
        break;
      default:
        out += c;
        break;
    }
  }
  return out;
}

// Shared by every match (PCRE2 only reads it), so created once.
Pcre2Ptr<pcre2_match_context> MakeMatchContext() {
  Pcre2Ptr<pcre2_match_context> context(pcre2_match_context_create(nullptr));
  if (context == nullptr) {
    throw std::bad_alloc();
  }
  pcre2_set_match_limit(context.get(), kMatchLimit);
  pcre2_set_depth_limit(context.get(), kDepthLimit);
  return context;
}

// A model pattern compiled for whole-string matching.
class Regex {
 public:
  // Fails for a pattern JavaToPcre2 or PCRE2 rejects.
  static Result<Regex> Compile(std::string_view java_pattern) {
    SCY_ASSIGN_OR_RETURN(const std::string translated, JavaToPcre2(java_pattern));
    // Java's matches(): \A and \z anchor the whole pattern, alternatives included.
    const std::string whole = "\\A(?:" + translated + ")\\z";
    int error_code = 0;
    PCRE2_SIZE error_offset = 0;
    Pcre2Ptr<pcre2_code> code(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(whole.data()),
                                            whole.size(), kCompileOptions, &error_code,
                                            &error_offset, nullptr));
    if (code == nullptr) {
      PCRE2_UCHAR text[256];
      pcre2_get_error_message(error_code, text, sizeof(text));
      return MakeError(ErrorCode::kInternal, "pattern " + std::string(java_pattern) + ": " +
                                                 reinterpret_cast<const char*>(text) + " (offset " +
                                                 std::to_string(error_offset) + " of " + whole +
                                                 ")");
    }
    // JIT only makes matching faster: where it is unavailable, the interpreter answers the same.
    pcre2_jit_compile(code.get(), PCRE2_JIT_COMPLETE);
    return Regex(std::move(code));
  }

  // Thread-safe: the code and the context are only read, and match data is per call. A
  // negative return (no match, malformed UTF-8 or a limit reached) counts as no match.
  bool FullMatch(std::string_view s, pcre2_match_context* context) const {
    Pcre2Ptr<pcre2_match_data> data(pcre2_match_data_create_from_pattern(code_.get(), nullptr));
    if (data == nullptr) {
      throw std::bad_alloc();
    }
    return pcre2_match(code_.get(), reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), 0, 0,
                       data.get(), context) >= 0;
  }

 private:
  explicit Regex(Pcre2Ptr<pcre2_code> code) : code_(std::move(code)) {}

  Pcre2Ptr<pcre2_code> code_;
};

// ---------------------------------------------------------------------------------------------
// The model.

enum class ShapeType {
  kString,
  kInteger,
  kLong,
  kFloat,
  kBoolean,
  kBlob,
  kTimestamp,
  kList,
  kMap,
  kStructure
};

struct Shape;

struct Member {
  std::string name;       // "KeyId", as on the wire
  std::string path_name;  // "keyId", as in AWS's messages
  const Shape* shape = nullptr;
  bool required = false;
};

struct Shape {
  std::string name;
  ShapeType type = ShapeType::kString;
  std::optional<int64_t> min;
  std::optional<int64_t> max;
  std::vector<std::string> enum_values;
  std::string enum_text;  // "[A, B, C]"
  std::optional<Regex> pattern;
  std::string pattern_text;
  bool sensitive = false;
  // False for blobs, sensitive shapes and anything containing one: their values never appear
  // in a message (plaintext, key store passwords, XKS credentials).
  bool printable = true;
  std::vector<Member> members;    // structure, in model order
  const Shape* member = nullptr;  // list
  const Shape* key = nullptr;     // map
  const Shape* value = nullptr;   // map

  bool IsContainer() const {
    return type == ShapeType::kList || type == ShapeType::kMap || type == ShapeType::kStructure;
  }
};

std::string LowerFirst(std::string_view name) {
  std::string out(name);
  if (!out.empty() && out[0] >= 'A' && out[0] <= 'Z') {
    out[0] = static_cast<char>(out[0] - 'A' + 'a');
  }
  return out;
}

std::optional<ShapeType> ParseShapeType(std::string_view t) {
  static const std::map<std::string_view, ShapeType> kTypes = {
      {"string", ShapeType::kString},       {"integer", ShapeType::kInteger},
      {"long", ShapeType::kLong},           {"float", ShapeType::kFloat},
      {"double", ShapeType::kFloat},        {"boolean", ShapeType::kBoolean},
      {"blob", ShapeType::kBlob},           {"timestamp", ShapeType::kTimestamp},
      {"list", ShapeType::kList},           {"map", ShapeType::kMap},
      {"structure", ShapeType::kStructure},
  };
  auto it = kTypes.find(t);
  if (it == kTypes.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::string ExpectedType(const Shape& shape) {
  switch (shape.type) {
    case ShapeType::kString:
      return "a string";
    case ShapeType::kInteger:
      return "a 32-bit integer";
    case ShapeType::kLong:
      return "a 64-bit integer";
    case ShapeType::kFloat:
      return "a number";
    case ShapeType::kBoolean:
      return "a boolean";
    case ShapeType::kBlob:
      return "a base64-encoded string";
    case ShapeType::kTimestamp:
      return "a number of seconds since the epoch";
    case ShapeType::kList:
      return "a list";
    case ShapeType::kMap:
      return "a map (JSON object)";
    case ShapeType::kStructure:
      return "a structure (JSON object)";
  }
  return "a value";
}

// The first words follow Coral's SerializationException messages.
std::string FoundToken(const json& v) {
  switch (v.type()) {
    case json::value_t::object:
      return "Start of structure or map found where not expected";
    case json::value_t::array:
      return "Start of list found where not expected";
    case json::value_t::string:
      return "Unexpected JSON string";
    case json::value_t::boolean:
      return "Unexpected JSON boolean";
    case json::value_t::number_float:
      return "Unexpected JSON number";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "Unexpected JSON integer";
    default:
      return "Unexpected JSON value";
  }
}

Error TypeMismatch(const Shape& shape, const json& v, const std::string& path) {
  return MakeError(ErrorCode::kSerialization,
                   FoundToken(v) + ": '" + path + "' must be " + ExpectedType(shape) + ".");
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) {
      out += sep;
    }
    out += parts[i];
  }
  return out;
}

// AWS prints values with Java's toString: lists "[a, b]", maps "{k=v}", structures
// "{Name: v,Other: w}". Only called for printable shapes.
std::string Render(const Shape& shape, const json& v) {
  if (v.is_null()) {
    return "null";
  }
  switch (shape.type) {
    case ShapeType::kString:
      return v.is_string() ? v.get_ref<const std::string&>() : v.dump();
    case ShapeType::kList: {
      if (!v.is_array()) {
        return v.dump();
      }
      std::vector<std::string> parts;
      for (const json& e : v) {
        parts.push_back(Render(*shape.member, e));
      }
      return "[" + Join(parts, ", ") + "]";
    }
    case ShapeType::kMap: {
      if (!v.is_object()) {
        return v.dump();
      }
      std::vector<std::string> parts;
      for (const auto& [k, e] : v.items()) {
        parts.push_back(k + "=" + Render(*shape.value, e));
      }
      return "{" + Join(parts, ", ") + "}";
    }
    case ShapeType::kStructure: {
      if (!v.is_object()) {
        return v.dump();
      }
      std::vector<std::string> parts;
      for (const Member& m : shape.members) {
        auto it = v.find(m.name);
        if (it != v.end() && !it->is_null()) {
          parts.push_back(m.name + ": " + Render(*m.shape, *it));
        }
      }
      return "{" + Join(parts, ",") + "}";
    }
    default:
      return v.dump();
  }
}

void AddViolation(const Shape& shape, const json* value, const std::string& path,
                  const std::string& constraint, std::vector<std::string>* out) {
  std::string msg = "Value";
  if (value == nullptr) {
    msg += " null";
  } else if (shape.printable) {
    msg += " '" + Render(shape, *value) + "'";
  }
  msg += " at '" + path + "' failed to satisfy constraint: " + constraint;
  out->push_back(std::move(msg));
}

void AddUnique(std::string constraint, std::vector<std::string>* out) {
  if (std::find(out->begin(), out->end(), constraint) == out->end()) {
    out->push_back(std::move(constraint));
  }
}

class ModelValidatorImpl final : public ModelValidator {
 public:
  Status Load(const json& model) {
    const json& shapes = model.at("shapes");
    for (const auto& [name, spec] : shapes.items()) {
      Shape& s = shapes_[name];
      s.name = name;
      auto type = ParseShapeType(spec.at("type").get<std::string>());
      if (!type) {
        return MakeError(ErrorCode::kInternal,
                         "shape " + name + " has unknown type " + spec.at("type").dump());
      }
      s.type = *type;
      if (spec.contains("min")) {
        s.min = spec["min"].get<int64_t>();
      }
      if (spec.contains("max")) {
        s.max = spec["max"].get<int64_t>();
      }
      if (spec.contains("enum")) {
        s.enum_values = spec["enum"].get<std::vector<std::string>>();
        s.enum_text = "[" + Join(s.enum_values, ", ") + "]";
      }
      if (spec.contains("pattern")) {
        s.pattern_text = spec["pattern"].get<std::string>();
        auto compiled = Regex::Compile(s.pattern_text);
        if (!compiled.has_value()) {
          return MakeError(ErrorCode::kInternal, "shape " + name + ": " + compiled.error().message);
        }
        s.pattern.emplace(std::move(*compiled));
      }
      s.sensitive = spec.value("sensitive", false);
    }
    // Second pass: resolve shape references (unordered_map nodes do not move).
    auto resolve = [&](const json& ref, const Shape** out) -> Status {
      auto it = shapes_.find(ref.get<std::string>());
      if (it == shapes_.end()) {
        return MakeError(ErrorCode::kInternal, "unknown shape " + ref.dump());
      }
      *out = &it->second;
      return Ok();
    };
    for (const auto& [name, spec] : shapes.items()) {
      Shape& s = shapes_[name];
      const std::vector<std::string> required = spec.value("required", std::vector<std::string>{});
      if (spec.contains("members")) {
        for (const json& pair : spec["members"]) {
          Member m;
          m.name = pair.at(0).get<std::string>();
          m.path_name = LowerFirst(m.name);
          m.required = std::find(required.begin(), required.end(), m.name) != required.end();
          SCY_RETURN_IF_ERROR(resolve(pair.at(1), &m.shape));
          s.members.push_back(std::move(m));
        }
      }
      if (s.type == ShapeType::kList) {
        SCY_RETURN_IF_ERROR(resolve(spec.at("member"), &s.member));
      }
      if (s.type == ShapeType::kMap) {
        SCY_RETURN_IF_ERROR(resolve(spec.at("key"), &s.key));
        SCY_RETURN_IF_ERROR(resolve(spec.at("value"), &s.value));
        if (s.key->type != ShapeType::kString) {
          return MakeError(ErrorCode::kInternal, "map " + name + " has non-string keys");
        }
      }
      if (s.type == ShapeType::kStructure && !spec.contains("members")) {
        return MakeError(ErrorCode::kInternal, "structure " + name + " has no members");
      }
    }
    // Printability flows up from blobs and sensitive shapes to every container holding them.
    for (auto& [name, s] : shapes_) {
      s.printable = !(s.sensitive || s.type == ShapeType::kBlob);
    }
    for (bool changed = true; changed;) {
      changed = false;
      for (auto& [name, s] : shapes_) {
        bool p = s.printable;
        for (const Member& m : s.members) {
          p = p && m.shape->printable;
        }
        for (const Shape* child : {s.member, s.key, s.value}) {
          p = p && (child == nullptr || child->printable);
        }
        if (p != s.printable) {
          s.printable = p;
          changed = true;
        }
      }
    }
    for (const auto& [op, input] : model.at("operations").items()) {
      const Shape* shape = nullptr;
      if (!input.is_null()) {
        SCY_RETURN_IF_ERROR(resolve(input, &shape));
        if (shape->type != ShapeType::kStructure) {
          return MakeError(ErrorCode::kInternal, "input of " + op + " is not a structure");
        }
      }
      operations_.emplace(op, shape);
    }
    return Ok();
  }

  bool HasOperation(std::string_view operation) const override {
    return operations_.find(operation) != operations_.end();
  }

  std::vector<std::string> Operations() const override {
    std::vector<std::string> out;
    out.reserve(operations_.size());
    for (const auto& [name, shape] : operations_) {
      out.push_back(name);
    }
    return out;
  }

  Status Validate(std::string_view operation, const json& input) const override {
    auto it = operations_.find(operation);
    if (it == operations_.end()) {
      return MakeError(ErrorCode::kUnknownOperation,
                       "Operation " + std::string(operation) + " is not supported.");
    }
    if (!input.is_object()) {
      return MakeError(ErrorCode::kSerialization,
                       FoundToken(input) + ": the request body must be a JSON object.");
    }
    if (it->second == nullptr) {
      return Ok();
    }
    std::vector<std::string> violations;
    SCY_RETURN_IF_ERROR(CheckStructureMembers(*it->second, input, "", &violations));
    if (violations.empty()) {
      return Ok();
    }
    const size_t n = violations.size();
    return MakeError(ErrorCode::kValidation,
                     std::to_string(n) + (n == 1 ? " validation error" : " validation errors") +
                         " detected: " + Join(violations, "; "));
  }

 private:
  // A non-null value of any shape at `path`: type errors abort (kSerialization, as AWS fails
  // deserialization before it validates); constraint failures are appended to out_violations.
  Status CheckValue(const Shape& shape, const json& v, const std::string& path,
                    std::vector<std::string>* out_violations) const {
    switch (shape.type) {
      case ShapeType::kStructure:
        if (!v.is_object()) {
          return TypeMismatch(shape, v, path);
        }
        return CheckStructureMembers(shape, v, path, out_violations);
      case ShapeType::kList:
        return CheckList(shape, v, path, out_violations);
      case ShapeType::kMap:
        return CheckMap(shape, v, path, out_violations);
      default: {
        std::vector<std::string> failures;
        SCY_RETURN_IF_ERROR(CheckScalar(shape, v, path, &failures));
        for (const std::string& f : failures) {
          AddViolation(shape, &v, path, f, out_violations);
        }
        return Ok();
      }
    }
  }

  Status CheckStructureMembers(const Shape& shape, const json& obj, const std::string& prefix,
                               std::vector<std::string>* out_violations) const {
    for (const Member& m : shape.members) {
      const std::string path = prefix.empty() ? m.path_name : prefix + "." + m.path_name;
      auto it = obj.find(m.name);
      // AWS treats an explicit null like an absent member.
      if (it == obj.end() || it->is_null()) {
        if (m.required) {
          AddViolation(*m.shape, nullptr, path, "Member must not be null", out_violations);
        }
        continue;
      }
      SCY_RETURN_IF_ERROR(CheckValue(*m.shape, *it, path, out_violations));
    }
    return Ok();
  }

  // Coral reports the elements of a list of scalars as one violation on the list ("Member must
  // satisfy constraint: [...]"); elements that are structures (or containers) are walked with
  // paths like 'tags.1.member.tagKey'.
  Status CheckList(const Shape& shape, const json& v, const std::string& path,
                   std::vector<std::string>* out_violations) const {
    if (!v.is_array()) {
      return TypeMismatch(shape, v, path);
    }
    // The list's own length is reported first, but only rendered once every element has
    // passed its type check (Render assumes well-typed values).
    const size_t own_at = out_violations->size();
    const Shape& elem = *shape.member;
    std::vector<std::string> elem_failures;
    for (size_t i = 0; i < v.size(); ++i) {
      const json& e = v[i];
      const std::string elem_path = path + "." + std::to_string(i + 1) + ".member";
      if (elem.IsContainer()) {
        if (e.is_null()) {
          AddViolation(elem, nullptr, elem_path, "Member must not be null", out_violations);
          continue;
        }
        SCY_RETURN_IF_ERROR(CheckValue(elem, e, elem_path, out_violations));
        continue;
      }
      if (e.is_null()) {
        AddUnique("Member must not be null", &elem_failures);
        continue;
      }
      std::vector<std::string> failures;
      SCY_RETURN_IF_ERROR(CheckScalar(elem, e, elem_path, &failures));
      for (std::string& f : failures) {
        AddUnique(std::move(f), &elem_failures);
      }
    }
    if (!elem_failures.empty()) {
      AddViolation(shape, &v, path,
                   "Member must satisfy constraint: [" + Join(elem_failures, ", ") + "]",
                   out_violations);
    }
    InsertLengthViolations(shape, v, path, own_at, out_violations);
    return Ok();
  }

  // Maps are reported on the map's own path; key and value failures are summarised the way
  // Coral does ("Map keys must satisfy constraint: [...]").
  Status CheckMap(const Shape& shape, const json& v, const std::string& path,
                  std::vector<std::string>* out_violations) const {
    if (!v.is_object()) {
      return TypeMismatch(shape, v, path);
    }
    const size_t own_at = out_violations->size();
    std::vector<std::string> key_failures;
    std::vector<std::string> value_failures;
    for (const auto& [k, e] : v.items()) {
      const std::string entry_path = path + "." + k;
      std::vector<std::string> failures;
      SCY_RETURN_IF_ERROR(CheckScalar(*shape.key, json(k), entry_path, &failures));
      for (std::string& f : failures) {
        AddUnique(std::move(f), &key_failures);
      }
      if (e.is_null()) {
        AddUnique("Member must not be null", &value_failures);
        continue;
      }
      if (shape.value->IsContainer()) {
        SCY_RETURN_IF_ERROR(CheckValue(*shape.value, e, entry_path, out_violations));
        continue;
      }
      failures.clear();
      SCY_RETURN_IF_ERROR(CheckScalar(*shape.value, e, entry_path, &failures));
      for (std::string& f : failures) {
        AddUnique(std::move(f), &value_failures);
      }
    }
    if (!key_failures.empty()) {
      AddViolation(shape, &v, path,
                   "Map keys must satisfy constraint: [" + Join(key_failures, ", ") + "]",
                   out_violations);
    }
    if (!value_failures.empty()) {
      AddViolation(shape, &v, path,
                   "Map value must satisfy constraint: [" + Join(value_failures, ", ") + "]",
                   out_violations);
    }
    InsertLengthViolations(shape, v, path, own_at, out_violations);
    return Ok();
  }

  // Length constraints of a list or map (element or entry count), reported on `path` itself
  // and placed at index `at` of out_violations.
  static void InsertLengthViolations(const Shape& shape, const json& v, const std::string& path,
                                     size_t at, std::vector<std::string>* out_violations) {
    std::vector<std::string> failures;
    AppendLengthFailures(shape, static_cast<int64_t>(v.size()), &failures);
    std::vector<std::string> own;
    for (const std::string& f : failures) {
      AddViolation(shape, &v, path, f, &own);
    }
    out_violations->insert(out_violations->begin() + static_cast<std::ptrdiff_t>(at), own.begin(),
                           own.end());
  }

  static void AppendLengthFailures(const Shape& shape, int64_t length,
                                   std::vector<std::string>* out_failures) {
    if (shape.min && length < *shape.min) {
      out_failures->push_back("Member must have length greater than or equal to " +
                              std::to_string(*shape.min));
    }
    if (shape.max && length > *shape.max) {
      out_failures->push_back("Member must have length less than or equal to " +
                              std::to_string(*shape.max));
    }
  }

  // Type-checks a non-null scalar and lists the constraints it fails (in the order: length,
  // value range, enum, pattern).
  Status CheckScalar(const Shape& shape, const json& v, const std::string& path,
                     std::vector<std::string>* out_failures) const {
    switch (shape.type) {
      case ShapeType::kString: {
        if (!v.is_string()) {
          return TypeMismatch(shape, v, path);
        }
        const std::string& s = v.get_ref<const std::string&>();
        AppendLengthFailures(shape, CountCodePoints(s), out_failures);
        if (!shape.enum_values.empty() &&
            std::find(shape.enum_values.begin(), shape.enum_values.end(), s) ==
                shape.enum_values.end()) {
          out_failures->push_back("Member must satisfy enum value set: " + shape.enum_text);
        }
        if (shape.pattern && !shape.pattern->FullMatch(s, match_context_.get())) {
          out_failures->push_back("Member must satisfy regular expression pattern: " +
                                  shape.pattern_text);
        }
        return Ok();
      }
      case ShapeType::kBlob: {
        if (!v.is_string()) {
          return TypeMismatch(shape, v, path);
        }
        // Lengths apply to the decoded bytes. The decoded copy may be plaintext: wipe it.
        std::optional<Bytes> decoded = Base64Decode(v.get_ref<const std::string&>());
        if (!decoded) {
          return MakeError(ErrorCode::kSerialization,
                           "Invalid base64: '" + path + "' must be " + ExpectedType(shape) + ".");
        }
        const auto size = static_cast<int64_t>(decoded->size());
        OPENSSL_cleanse(decoded->data(), decoded->size());
        AppendLengthFailures(shape, size, out_failures);
        return Ok();
      }
      case ShapeType::kInteger:
      case ShapeType::kLong: {
        if (!v.is_number_integer()) {
          return TypeMismatch(shape, v, path);
        }
        const bool is_int = shape.type == ShapeType::kInteger;
        const int64_t lo =
            is_int ? std::numeric_limits<int32_t>::min() : std::numeric_limits<int64_t>::min();
        const int64_t hi =
            is_int ? std::numeric_limits<int32_t>::max() : std::numeric_limits<int64_t>::max();
        int64_t n = 0;
        bool in_range = true;
        if (v.is_number_unsigned()) {
          const auto u = v.get<uint64_t>();
          in_range = u <= static_cast<uint64_t>(hi);
          n = in_range ? static_cast<int64_t>(u) : 0;
        } else {
          n = v.get<int64_t>();
          in_range = n >= lo && n <= hi;
        }
        if (!in_range) {
          return MakeError(ErrorCode::kSerialization, "Numeric value out of range: '" + path +
                                                          "' must be " + ExpectedType(shape) + ".");
        }
        if (shape.min && n < *shape.min) {
          out_failures->push_back("Member must have value greater than or equal to " +
                                  std::to_string(*shape.min));
        }
        if (shape.max && n > *shape.max) {
          out_failures->push_back("Member must have value less than or equal to " +
                                  std::to_string(*shape.max));
        }
        return Ok();
      }
      case ShapeType::kFloat: {
        if (!v.is_number()) {
          return TypeMismatch(shape, v, path);
        }
        const double d = v.get<double>();
        if (shape.min && d < static_cast<double>(*shape.min)) {
          out_failures->push_back("Member must have value greater than or equal to " +
                                  std::to_string(*shape.min));
        }
        if (shape.max && d > static_cast<double>(*shape.max)) {
          out_failures->push_back("Member must have value less than or equal to " +
                                  std::to_string(*shape.max));
        }
        return Ok();
      }
      case ShapeType::kBoolean:
        if (!v.is_boolean()) {
          return TypeMismatch(shape, v, path);
        }
        return Ok();
      case ShapeType::kTimestamp:
        // AWS JSON 1.1 sends epoch seconds, possibly with a fraction.
        if (!v.is_number()) {
          return TypeMismatch(shape, v, path);
        }
        return Ok();
      case ShapeType::kList:
      case ShapeType::kMap:
      case ShapeType::kStructure:
        break;
    }
    return MakeError(ErrorCode::kInternal, "CheckScalar called on a container at " + path);
  }

  Pcre2Ptr<pcre2_match_context> match_context_ = MakeMatchContext();
  std::map<std::string, const Shape*, std::less<>> operations_;
  std::unordered_map<std::string, Shape> shapes_;
};

}  // namespace

Result<std::unique_ptr<ModelValidator>> ModelValidator::Create() {
  json model = json::parse(kKmsModelJson, nullptr, /*allow_exceptions=*/false);
  if (model.is_discarded() || !model.is_object()) {
    return MakeError(ErrorCode::kInternal, "embedded KMS model is not valid JSON");
  }
  auto validator = std::make_unique<ModelValidatorImpl>();
  try {
    SCY_RETURN_IF_ERROR(validator->Load(model));
  } catch (const json::exception& e) {
    // Only a malformed generated file gets here.
    return MakeError(ErrorCode::kInternal, std::string("embedded KMS model: ") + e.what());
  }
  return std::unique_ptr<ModelValidator>(std::move(validator));
}

}  // namespace scytale::api::internal
