// Wildcard matching for the policy language: '*' (any run of bytes, possibly empty) and '?' (any
// one byte), as IAM uses them in Action, Resource and the String*Like/Arn* condition operators.
// Patterns are compiled once into literal pieces split at '*', so matching is a few memcmp/find
// calls: no regex, no allocation, linear in practice.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace scytale::policy::internal {

// ASCII-only case folding. IAM's "IgnoreCase" and action-name matching are about ASCII names;
// bytes >= 0x80 (UTF-8) are compared exactly.
inline char FoldAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
std::string FoldAscii(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// An immutable compiled pattern. Thread-safe to use concurrently.
class Glob {
 public:
  // Matches only the empty string; use GlobBuilder or the factories below.
  Glob() : pieces_(1) {}

  // `pattern` with '*' and '?' as wildcards.
  static Glob Pattern(std::string_view pattern, bool ignore_case);
  // `text` matched exactly (every byte literal).
  static Glob Literal(std::string_view text, bool ignore_case);

  bool Matches(std::string_view subject) const;

  // True when the pattern has no wildcard (an equality test).
  bool IsLiteral() const { return pieces_.size() == 1 && pieces_[0].any.empty(); }
  // True for "*" (matches everything).
  bool MatchesEverything() const {
    return pieces_.size() == 2 && pieces_[0].text.empty() && pieces_[1].text.empty();
  }

 private:
  friend class GlobBuilder;
  // A run of bytes between two '*'. `any` is empty when the piece has no '?', otherwise it has
  // the piece's length and holds 1 where the pattern had '?'.
  struct Piece {
    std::string text;
    std::string any;
    size_t size() const { return text.size(); }
  };
  bool PieceAt(const Piece& piece, std::string_view subject, size_t pos) const;
  size_t FindPiece(const Piece& piece, std::string_view subject, size_t from, size_t last) const;

  std::vector<Piece> pieces_;  // pieces_.size() == number of '*' + 1
  bool ignore_case_ = false;
};

// Builds a Glob from a mix of wildcard text and literal text (policy variables such as ${*} and
// substituted values are literal: a user named "a*" must not become a wildcard).
class GlobBuilder {
 public:
  explicit GlobBuilder(bool ignore_case) { glob_.ignore_case_ = ignore_case; }
  void AppendPattern(std::string_view pattern);
  void AppendLiteral(std::string_view text);
  void AppendStar();
  void AppendAnyChar();
  Glob Build() &&;

 private:
  void AppendByte(char c, bool is_any);
  Glob glob_;
};

// The six colon-separated components of an ARN (arn:partition:service:region:account:resource);
// the resource component keeps any further colons. Returns how many components were found
// (fewer than six for a string that is not a full ARN).
struct ArnParts {
  std::string_view part[6];
  size_t offset[6] = {0, 0, 0, 0, 0, 0};  // where each component starts in the input
  int count = 0;
};
ArnParts SplitArn(std::string_view arn);

// The ArnEquals/ArnLike matcher: each component is matched separately, so a '*' cannot run
// across a colon, except in the last component the pattern has, which matches the remainder of
// the value (so "*" matches any value and "arn:aws:iam::*" any IAM ARN).
class ArnPattern {
 public:
  ArnPattern() = default;
  explicit ArnPattern(std::vector<Glob> components) : components_(std::move(components)) {}
  static ArnPattern Compile(std::string_view pattern);
  bool Matches(std::string_view arn) const;

 private:
  std::vector<Glob> components_;
};

// Builds an ArnPattern the way GlobBuilder builds a Glob: the first five colons (of pattern or
// literal text) end components.
class ArnPatternBuilder {
 public:
  void AppendPattern(std::string_view pattern);
  void AppendLiteral(std::string_view text);
  ArnPattern Build() &&;

 private:
  void NextComponentIfColon(char c, bool* consumed);
  std::vector<Glob> done_;
  GlobBuilder current_{false};
};

}  // namespace scytale::policy::internal
