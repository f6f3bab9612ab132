#include "api/internal/validator.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>

#include "api/internal/kms_model.h"
#include "common/encoding.h"

namespace scytale::api::internal {
namespace {

using nlohmann::json;

constexpr char32_t kMaxCodePoint = 0x10FFFF;
constexpr char32_t kReplacementChar = 0xFFFD;

// ---------------------------------------------------------------------------------------------
// UTF-8. nlohmann's parser rejects malformed UTF-8, so a bad sequence can only come from JSON
// built in code; each bad byte then counts as one U+FFFD, which no model pattern accepts.

std::u32string DecodeUtf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<uint8_t>(s[i]);
    size_t len = 0;
    char32_t cp = 0;
    if (b0 < 0x80) {
      len = 1;
      cp = b0;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
      cp = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3;
      cp = b0 & 0x0F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4;
      cp = b0 & 0x07;
    }
    bool ok = len != 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      const auto b = static_cast<uint8_t>(s[i + k]);
      ok = (b & 0xC0) == 0x80;
      cp = (cp << 6) | (b & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are malformed too.
    if (ok && ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > kMaxCodePoint ||
               (cp >= 0xD800 && cp <= 0xDFFF))) {
      ok = false;
    }
    if (!ok) {
      out.push_back(kReplacementChar);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Java regular expressions, the subset the service model uses: literals, escapes (\d \w \s and
// their negations, \uXXXX, \xHH, \t \n \r \f, escaped punctuation), classes with ranges and
// negation, '.', groups ((...) and (?:...)), '|', '^', '$' and the quantifiers * + ? {n} {n,}
// {n,m}. Anything else (backreferences, lookaround, \p{..}, class unions/intersections,
// possessive quantifiers) is rejected when the model is loaded, so an unsupported pattern shows
// up as a failing Create() in the tests rather than as a wrong answer.
//
// Matching is whole-string (Java's String.matches, which Coral uses) over code points with a
// Pike VM: time O(pattern x input), no recursion, no backtracking, so a 131072-character
// policy cannot exhaust the stack the way std::regex's recursive executor can. A pattern that is
// a single class with a quantifier (most of the model's) skips the VM for a per-character check.

class CharSet {
 public:
  void AddRange(char32_t lo, char32_t hi) { ranges_.emplace_back(lo, hi); }
  void Add(char32_t c) { AddRange(c, c); }
  void AddSet(const CharSet& other) {
    ranges_.insert(ranges_.end(), other.ranges_.begin(), other.ranges_.end());
  }
  // Sorts and merges the ranges; call before Contains() or Complement().
  void Normalize() {
    std::sort(ranges_.begin(), ranges_.end());
    std::vector<std::pair<char32_t, char32_t>> merged;
    for (const auto& r : ranges_) {
      if (!merged.empty() && r.first <= merged.back().second + 1) {
        merged.back().second = std::max(merged.back().second, r.second);
      } else {
        merged.push_back(r);
      }
    }
    ranges_ = std::move(merged);
  }
  CharSet Complement() const {
    CharSet out;
    char32_t next = 0;
    for (const auto& r : ranges_) {
      if (r.first > next) {
        out.AddRange(next, r.first - 1);
      }
      next = r.second + 1;
    }
    if (next <= kMaxCodePoint) {
      out.AddRange(next, kMaxCodePoint);
    }
    return out;
  }
  bool Contains(char32_t c) const {
    auto it = std::upper_bound(ranges_.begin(), ranges_.end(), std::make_pair(c, kMaxCodePoint));
    return it != ranges_.begin() && std::prev(it)->second >= c;
  }

 private:
  std::vector<std::pair<char32_t, char32_t>> ranges_;
};

CharSet MakeSet(std::initializer_list<std::pair<char32_t, char32_t>> ranges) {
  CharSet s;
  for (const auto& r : ranges) {
    s.AddRange(r.first, r.second);
  }
  s.Normalize();
  return s;
}

// Java's predefined classes without UNICODE_CHARACTER_CLASS: ASCII only.
const CharSet& DigitSet() {
  static const CharSet s = MakeSet({{'0', '9'}});
  return s;
}
const CharSet& WordSet() {
  static const CharSet s = MakeSet({{'a', 'z'}, {'A', 'Z'}, {'0', '9'}, {'_', '_'}});
  return s;
}
const CharSet& SpaceSet() {
  static const CharSet s = MakeSet({{' ', ' '}, {'\t', '\r'}});  // \t \n \x0B \f \r
  return s;
}
// '.' without DOTALL: anything but Java's line terminators.
const CharSet& DotSet() {
  static const CharSet s =
      MakeSet({{'\n', '\n'}, {'\r', '\r'}, {0x85, 0x85}, {0x2028, 0x2029}}).Complement();
  return s;
}

struct Node {
  enum class Kind { kEmpty, kSet, kBegin, kEnd, kConcat, kAlternate, kRepeat };
  Kind kind = Kind::kEmpty;
  int set = -1;  // kSet: index into the pattern's sets
  int min = 0;   // kRepeat
  int max = 0;   // kRepeat; -1 is unbounded
  std::vector<Node> children;
};

constexpr int kMaxRepeat = 1000;
constexpr size_t kMaxProgram = 20000;

class PatternParser {
 public:
  PatternParser(std::u32string pattern, std::vector<CharSet>* sets)
      : p_(std::move(pattern)), sets_(sets) {}

  Result<Node> Parse() {
    SCY_ASSIGN_OR_RETURN(Node node, ParseAlternation());
    if (pos_ != p_.size()) {
      return Fail("unbalanced ')'");
    }
    return node;
  }

 private:
  Error Fail(std::string_view what) const {
    return MakeError(ErrorCode::kInternal, "unsupported pattern construct at offset " +
                                               std::to_string(pos_) + ": " + std::string(what));
  }
  bool AtEnd() const { return pos_ >= p_.size(); }
  char32_t Peek(size_t ahead = 0) const {
    return pos_ + ahead < p_.size() ? p_[pos_ + ahead] : char32_t{0};
  }

  int AddSet(CharSet set) {
    set.Normalize();
    sets_->push_back(std::move(set));
    return static_cast<int>(sets_->size() - 1);
  }
  Node SetNode(CharSet set) {
    Node n;
    n.kind = Node::Kind::kSet;
    n.set = AddSet(std::move(set));
    return n;
  }

  Result<Node> ParseAlternation() {
    Node alt;
    alt.kind = Node::Kind::kAlternate;
    while (true) {
      SCY_ASSIGN_OR_RETURN(Node branch, ParseConcat());
      alt.children.push_back(std::move(branch));
      if (AtEnd() || Peek() != U'|') {
        break;
      }
      ++pos_;
    }
    if (alt.children.size() == 1) {
      return std::move(alt.children[0]);
    }
    return alt;
  }

  Result<Node> ParseConcat() {
    Node cat;
    cat.kind = Node::Kind::kConcat;
    while (!AtEnd() && Peek() != U'|' && Peek() != U')') {
      SCY_ASSIGN_OR_RETURN(Node atom, ParseAtom());
      SCY_ASSIGN_OR_RETURN(Node repeated, ParseQuantifier(std::move(atom)));
      cat.children.push_back(std::move(repeated));
    }
    if (cat.children.empty()) {
      return Node{};
    }
    if (cat.children.size() == 1) {
      return std::move(cat.children[0]);
    }
    return cat;
  }

  Result<int> ParseNumber() {
    if (AtEnd() || Peek() < U'0' || Peek() > U'9') {
      return Fail("expected a number in {}");
    }
    int n = 0;
    while (!AtEnd() && Peek() >= U'0' && Peek() <= U'9') {
      n = n * 10 + static_cast<int>(Peek() - U'0');
      if (n > kMaxRepeat) {
        return Fail("repeat count too large");
      }
      ++pos_;
    }
    return n;
  }

  Result<Node> ParseQuantifier(Node atom) {
    if (AtEnd()) {
      return atom;
    }
    int min = 0;
    int max = 0;
    switch (Peek()) {
      case U'*':
        ++pos_;
        min = 0;
        max = -1;
        break;
      case U'+':
        ++pos_;
        min = 1;
        max = -1;
        break;
      case U'?':
        ++pos_;
        min = 0;
        max = 1;
        break;
      case U'{': {
        ++pos_;
        SCY_ASSIGN_OR_RETURN(min, ParseNumber());
        max = min;
        if (!AtEnd() && Peek() == U',') {
          ++pos_;
          if (!AtEnd() && Peek() == U'}') {
            max = -1;
          } else {
            SCY_ASSIGN_OR_RETURN(max, ParseNumber());
          }
        }
        if (AtEnd() || Peek() != U'}') {
          return Fail("expected '}'");
        }
        ++pos_;
        if (max != -1 && max < min) {
          return Fail("{n,m} with m < n");
        }
        break;
      }
      default:
        return atom;
    }
    if (atom.kind == Node::Kind::kBegin || atom.kind == Node::Kind::kEnd) {
      return Fail("quantified anchor");
    }
    // A lazy quantifier accepts the same strings as the greedy one; a possessive one may not.
    if (!AtEnd() && Peek() == U'?') {
      ++pos_;
    } else if (!AtEnd() && Peek() == U'+') {
      return Fail("possessive quantifier");
    }
    if (!AtEnd() && (Peek() == U'*' || Peek() == U'+' || Peek() == U'?' || Peek() == U'{')) {
      return Fail("stacked quantifiers");
    }
    Node rep;
    rep.kind = Node::Kind::kRepeat;
    rep.min = min;
    rep.max = max;
    rep.children.push_back(std::move(atom));
    return rep;
  }

  Result<char32_t> ParseHex(size_t digits) {
    char32_t v = 0;
    for (size_t k = 0; k < digits; ++k) {
      char32_t c = Peek();
      int d = -1;
      if (c >= U'0' && c <= U'9') {
        d = static_cast<int>(c - U'0');
      } else if (c >= U'a' && c <= U'f') {
        d = static_cast<int>(c - U'a' + 10);
      } else if (c >= U'A' && c <= U'F') {
        d = static_cast<int>(c - U'A' + 10);
      }
      if (AtEnd() || d < 0) {
        return Fail("bad hex escape");
      }
      v = v * 16 + static_cast<char32_t>(d);
      ++pos_;
    }
    return v;
  }

  // After a backslash: either one character (out_char) or a predefined class (out_set).
  Status ParseEscape(std::optional<char32_t>* out_char, std::optional<CharSet>* out_set) {
    if (AtEnd()) {
      return Fail("trailing backslash");
    }
    const char32_t c = Peek();
    ++pos_;
    switch (c) {
      case U'd':
        *out_set = DigitSet();
        return Ok();
      case U'D':
        *out_set = DigitSet().Complement();
        return Ok();
      case U'w':
        *out_set = WordSet();
        return Ok();
      case U'W':
        *out_set = WordSet().Complement();
        return Ok();
      case U's':
        *out_set = SpaceSet();
        return Ok();
      case U'S':
        *out_set = SpaceSet().Complement();
        return Ok();
      case U't':
        *out_char = U'\t';
        return Ok();
      case U'n':
        *out_char = U'\n';
        return Ok();
      case U'r':
        *out_char = U'\r';
        return Ok();
      case U'f':
        *out_char = U'\f';
        return Ok();
      case U'a':
        *out_char = U'\a';
        return Ok();
      case U'e':
        *out_char = 0x1B;
        return Ok();
      case U'u': {
        SCY_ASSIGN_OR_RETURN(char32_t v, ParseHex(4));
        *out_char = v;
        return Ok();
      }
      case U'x': {
        SCY_ASSIGN_OR_RETURN(char32_t v, ParseHex(2));
        *out_char = v;
        return Ok();
      }
      default:
        break;
    }
    // Java: a backslash before a non-alphabetic character quotes it; letters and digits that
    // are not listed above are other constructs (\b, \p{..}, \1, \Q...) we do not support.
    const bool alnum =
        (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z') || (c >= U'0' && c <= U'9');
    if (alnum || c > 0x7F) {
      --pos_;
      return Fail("escape \\" + std::string(1, static_cast<char>(c < 0x80 ? c : '?')));
    }
    *out_char = c;
    return Ok();
  }

  Result<Node> ParseAtom() {
    const char32_t c = Peek();
    ++pos_;
    switch (c) {
      case U'^': {
        Node n;
        n.kind = Node::Kind::kBegin;
        return n;
      }
      case U'$': {
        Node n;
        n.kind = Node::Kind::kEnd;
        return n;
      }
      case U'.':
        return SetNode(DotSet());
      case U'[':
        return ParseClass();
      case U'(': {
        if (Peek() == U'?') {
          if (Peek(1) != U':') {
            return Fail("group construct (?");
          }
          pos_ += 2;
        }
        SCY_ASSIGN_OR_RETURN(Node inner, ParseAlternation());
        if (AtEnd() || Peek() != U')') {
          return Fail("missing ')'");
        }
        ++pos_;
        return inner;
      }
      case U'*':
      case U'+':
      case U'?':
      case U'{':
        --pos_;
        return Fail("dangling quantifier");
      case U'\\': {
        std::optional<char32_t> ch;
        std::optional<CharSet> set;
        SCY_RETURN_IF_ERROR(ParseEscape(&ch, &set));
        if (set) {
          return SetNode(std::move(*set));
        }
        CharSet single;
        single.Add(*ch);
        return SetNode(std::move(single));
      }
      default: {
        CharSet single;
        single.Add(c);
        return SetNode(std::move(single));
      }
    }
  }

  // After '['. Java rules for '-': it makes a range between two single characters unless the
  // next character is ']' (then it is literal); after a completed range or a predefined class
  // it is literal too, so [a-zA-Z0-9-_.] holds '-', '_' and '.'.
  Result<Node> ParseClass() {
    bool negate = false;
    if (Peek() == U'^') {
      negate = true;
      ++pos_;
    }
    CharSet set;
    bool empty = true;
    while (true) {
      if (AtEnd()) {
        return Fail("missing ']'");
      }
      char32_t c = Peek();
      if (c == U']') {
        if (empty) {
          return Fail("empty class");
        }
        ++pos_;
        break;
      }
      if (c == U'[') {
        return Fail("nested class");
      }
      if (c == U'&' && Peek(1) == U'&') {
        return Fail("class intersection");
      }
      ++pos_;
      std::optional<char32_t> lo;
      std::optional<CharSet> predefined;
      if (c == U'\\') {
        SCY_RETURN_IF_ERROR(ParseEscape(&lo, &predefined));
      } else {
        lo = c;
      }
      empty = false;
      if (predefined) {
        set.AddSet(*predefined);
        continue;
      }
      if (Peek() == U'-' && pos_ + 1 < p_.size() && Peek(1) != U']') {
        if (Peek(1) == U'[') {
          return Fail("class union");
        }
        pos_ += 1;  // '-'
        const char32_t h = Peek();
        ++pos_;
        std::optional<char32_t> hi;
        std::optional<CharSet> hi_set;
        if (h == U'\\') {
          SCY_RETURN_IF_ERROR(ParseEscape(&hi, &hi_set));
          if (hi_set) {
            return Fail("class as range end");
          }
        } else {
          hi = h;
        }
        if (*hi < *lo) {
          return Fail("illegal character range");
        }
        set.AddRange(*lo, *hi);
        continue;
      }
      set.Add(*lo);
    }
    set.Normalize();
    return SetNode(negate ? set.Complement() : std::move(set));
  }

  std::u32string p_;
  size_t pos_ = 0;
  std::vector<CharSet>* sets_;
};

class JavaPattern {
 public:
  static Result<JavaPattern> Compile(std::string_view java_pattern) {
    JavaPattern out;
    PatternParser parser(DecodeUtf8(java_pattern), &out.sets_);
    auto root = parser.Parse();
    if (!root.has_value()) {
      return MakeError(ErrorCode::kInternal,
                       "pattern " + std::string(java_pattern) + ": " + root.error().message);
    }
    out.DetectFastPath(*root);
    SCY_RETURN_IF_ERROR(out.Emit(*root));
    out.prog_.push_back(Inst{Op::kMatch, 0, 0});
    if (out.prog_.size() > kMaxProgram) {
      return MakeError(ErrorCode::kInternal,
                       "pattern " + std::string(java_pattern) + " expands to too large a program");
    }
    return out;
  }

  // Whole-string match, as Java's String.matches().
  bool FullMatch(std::u32string_view s) const {
    if (fast_set_ >= 0) {
      if (s.size() < static_cast<size_t>(fast_min_) ||
          (fast_max_ >= 0 && s.size() > static_cast<size_t>(fast_max_))) {
        return false;
      }
      const CharSet& set = sets_[static_cast<size_t>(fast_set_)];
      return std::all_of(s.begin(), s.end(), [&](char32_t c) { return set.Contains(c); });
    }
    return RunVm(s);
  }

 private:
  enum class Op { kSet, kSplit, kJmp, kBegin, kEnd, kMatch };
  struct Inst {
    Op op;
    int x;  // kSet: set index; kSplit/kJmp: target
    int y;  // kSplit: second target
  };

  JavaPattern() = default;

  // "^?[class]{min,max}$?" (or a bare class) is checked character by character.
  void DetectFastPath(const Node& root) {
    std::vector<const Node*> parts;
    if (root.kind == Node::Kind::kConcat) {
      for (const Node& c : root.children) {
        parts.push_back(&c);
      }
    } else {
      parts.push_back(&root);
    }
    if (!parts.empty() && parts.front()->kind == Node::Kind::kBegin) {
      parts.erase(parts.begin());
    }
    if (!parts.empty() && parts.back()->kind == Node::Kind::kEnd) {
      parts.pop_back();
    }
    if (parts.size() != 1) {
      return;
    }
    const Node& n = *parts[0];
    if (n.kind == Node::Kind::kSet) {
      fast_set_ = n.set;
      fast_min_ = 1;
      fast_max_ = 1;
    } else if (n.kind == Node::Kind::kRepeat && n.children[0].kind == Node::Kind::kSet) {
      fast_set_ = n.children[0].set;
      fast_min_ = n.min;
      fast_max_ = n.max;
    }
  }

  int Push(Op op, int x = 0, int y = 0) {
    prog_.push_back(Inst{op, x, y});
    return static_cast<int>(prog_.size() - 1);
  }
  int Here() const { return static_cast<int>(prog_.size()); }

  Status Emit(const Node& n) {
    if (prog_.size() > kMaxProgram) {
      return MakeError(ErrorCode::kInternal, "pattern program too large");
    }
    switch (n.kind) {
      case Node::Kind::kEmpty:
        return Ok();
      case Node::Kind::kSet:
        Push(Op::kSet, n.set);
        return Ok();
      case Node::Kind::kBegin:
        Push(Op::kBegin);
        return Ok();
      case Node::Kind::kEnd:
        Push(Op::kEnd);
        return Ok();
      case Node::Kind::kConcat:
        for (const Node& c : n.children) {
          SCY_RETURN_IF_ERROR(Emit(c));
        }
        return Ok();
      case Node::Kind::kAlternate: {
        std::vector<int> exits;
        for (size_t i = 0; i + 1 < n.children.size(); ++i) {
          const int split = Push(Op::kSplit);
          prog_[static_cast<size_t>(split)].x = Here();
          SCY_RETURN_IF_ERROR(Emit(n.children[i]));
          exits.push_back(Push(Op::kJmp));
          prog_[static_cast<size_t>(split)].y = Here();
        }
        SCY_RETURN_IF_ERROR(Emit(n.children.back()));
        for (int j : exits) {
          prog_[static_cast<size_t>(j)].x = Here();
        }
        return Ok();
      }
      case Node::Kind::kRepeat: {
        const Node& body = n.children[0];
        for (int i = 0; i < n.min; ++i) {
          SCY_RETURN_IF_ERROR(Emit(body));
        }
        if (n.max < 0) {
          const int split = Push(Op::kSplit);
          prog_[static_cast<size_t>(split)].x = Here();
          SCY_RETURN_IF_ERROR(Emit(body));
          Push(Op::kJmp, split);
          prog_[static_cast<size_t>(split)].y = Here();
          return Ok();
        }
        std::vector<int> splits;
        for (int i = n.min; i < n.max; ++i) {
          const int split = Push(Op::kSplit);
          prog_[static_cast<size_t>(split)].x = Here();
          splits.push_back(split);
          SCY_RETURN_IF_ERROR(Emit(body));
        }
        for (int s : splits) {
          prog_[static_cast<size_t>(s)].y = Here();
        }
        return Ok();
      }
    }
    return Ok();
  }

  // Thompson/Pike simulation: the set of live instructions advances one code point at a time.
  bool RunVm(std::u32string_view s) const {
    const size_t n = s.size();
    std::vector<size_t> mark(prog_.size(), std::numeric_limits<size_t>::max());
    std::vector<int> clist;
    std::vector<int> nlist;
    std::vector<int> stack;
    auto add = [&](std::vector<int>& list, int start, size_t pos) {
      stack.push_back(start);
      while (!stack.empty()) {
        const int pc = stack.back();
        stack.pop_back();
        const auto upc = static_cast<size_t>(pc);
        if (mark[upc] == pos) {
          continue;
        }
        mark[upc] = pos;
        const Inst& in = prog_[upc];
        switch (in.op) {
          case Op::kJmp:
            stack.push_back(in.x);
            break;
          case Op::kSplit:
            stack.push_back(in.y);
            stack.push_back(in.x);
            break;
          case Op::kBegin:
            if (pos == 0) {
              stack.push_back(pc + 1);
            }
            break;
          case Op::kEnd:
            if (pos == n) {
              stack.push_back(pc + 1);
            }
            break;
          case Op::kSet:
          case Op::kMatch:
            list.push_back(pc);
            break;
        }
      }
    };
    add(clist, 0, 0);
    for (size_t pos = 0;; ++pos) {
      if (pos == n) {
        return std::any_of(clist.begin(), clist.end(),
                           [&](int pc) { return prog_[static_cast<size_t>(pc)].op == Op::kMatch; });
      }
      if (clist.empty()) {
        return false;
      }
      nlist.clear();
      for (int pc : clist) {
        const Inst& in = prog_[static_cast<size_t>(pc)];
        if (in.op == Op::kSet && sets_[static_cast<size_t>(in.x)].Contains(s[pos])) {
          add(nlist, pc + 1, pos + 1);
        }
      }
      std::swap(clist, nlist);
    }
  }

  std::vector<CharSet> sets_;
  std::vector<Inst> prog_;
  int fast_set_ = -1;
  int fast_min_ = 0;
  int fast_max_ = 0;  // -1 is unbounded
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
  std::optional<JavaPattern> pattern;
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
        auto compiled = JavaPattern::Compile(s.pattern_text);
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
        if (!shape.min && !shape.max && !shape.pattern && shape.enum_values.empty()) {
          return Ok();
        }
        // Lengths count characters, not UTF-8 bytes.
        const std::u32string cps = DecodeUtf8(s);
        AppendLengthFailures(shape, static_cast<int64_t>(cps.size()), out_failures);
        if (!shape.enum_values.empty() &&
            std::find(shape.enum_values.begin(), shape.enum_values.end(), s) ==
                shape.enum_values.end()) {
          out_failures->push_back("Member must satisfy enum value set: " + shape.enum_text);
        }
        if (shape.pattern && !shape.pattern->FullMatch(cps)) {
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
