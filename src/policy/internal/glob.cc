#include "policy/internal/glob.h"

#include <cstring>
#include <utility>

namespace scytale::policy::internal {

std::string FoldAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = FoldAscii(c);
  }
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (FoldAscii(a[i]) != FoldAscii(b[i])) {
      return false;
    }
  }
  return true;
}

Glob Glob::Pattern(std::string_view pattern, bool ignore_case) {
  GlobBuilder builder(ignore_case);
  builder.AppendPattern(pattern);
  return std::move(builder).Build();
}

Glob Glob::Literal(std::string_view text, bool ignore_case) {
  GlobBuilder builder(ignore_case);
  builder.AppendLiteral(text);
  return std::move(builder).Build();
}

bool Glob::PieceAt(const Piece& piece, std::string_view subject, size_t pos) const {
  const size_t n = piece.size();
  if (piece.any.empty() && !ignore_case_) {
    return n == 0 || std::memcmp(subject.data() + pos, piece.text.data(), n) == 0;
  }
  for (size_t i = 0; i < n; ++i) {
    if (!piece.any.empty() && piece.any[i] != 0) {
      continue;
    }
    const char c = ignore_case_ ? FoldAscii(subject[pos + i]) : subject[pos + i];
    if (c != piece.text[i]) {
      return false;
    }
  }
  return true;
}

// Leftmost position p in [from, last] where `piece` matches, or npos. The leftmost occurrence
// is always the right choice for a piece between two '*': a later one only leaves less room.
size_t Glob::FindPiece(const Piece& piece, std::string_view subject, size_t from,
                       size_t last) const {
  if (piece.any.empty() && !ignore_case_) {
    const size_t at = subject.substr(0, last + piece.size()).find(piece.text, from);
    return at;
  }
  for (size_t p = from; p <= last; ++p) {
    if (PieceAt(piece, subject, p)) {
      return p;
    }
  }
  return std::string_view::npos;
}

bool Glob::Matches(std::string_view subject) const {
  const size_t n = pieces_.size();
  const Piece& first = pieces_.front();
  if (n == 1) {
    return subject.size() == first.size() && PieceAt(first, subject, 0);
  }
  const Piece& last = pieces_.back();
  if (subject.size() < first.size() + last.size()) {
    return false;
  }
  if (!PieceAt(first, subject, 0)) {
    return false;
  }
  const size_t end = subject.size() - last.size();
  if (!PieceAt(last, subject, end)) {
    return false;
  }
  size_t pos = first.size();
  for (size_t i = 1; i + 1 < n; ++i) {
    const Piece& piece = pieces_[i];
    if (piece.size() == 0) {
      continue;
    }
    if (pos + piece.size() > end) {
      return false;
    }
    const size_t at = FindPiece(piece, subject, pos, end - piece.size());
    if (at == std::string_view::npos) {
      return false;
    }
    pos = at + piece.size();
  }
  return true;
}

void GlobBuilder::AppendByte(char c, bool is_any) {
  Glob::Piece& piece = glob_.pieces_.back();
  // `any` stays empty until the piece has its first '?', then shadows `text` byte for byte.
  const bool track_any = is_any || !piece.any.empty();
  if (is_any && piece.any.empty()) {
    piece.any.assign(piece.text.size(), '\0');
  }
  piece.text.push_back(is_any ? '?' : (glob_.ignore_case_ ? FoldAscii(c) : c));
  if (track_any) {
    piece.any.push_back(is_any ? '\1' : '\0');
  }
}

void GlobBuilder::AppendPattern(std::string_view pattern) {
  for (char c : pattern) {
    if (c == '*') {
      AppendStar();
    } else if (c == '?') {
      AppendAnyChar();
    } else {
      AppendByte(c, false);
    }
  }
}

void GlobBuilder::AppendLiteral(std::string_view text) {
  for (char c : text) {
    AppendByte(c, false);
  }
}

void GlobBuilder::AppendStar() { glob_.pieces_.emplace_back(); }

void GlobBuilder::AppendAnyChar() { AppendByte('?', true); }

Glob GlobBuilder::Build() && { return std::move(glob_); }

ArnParts SplitArn(std::string_view arn) {
  ArnParts out;
  size_t start = 0;
  for (int i = 0; i < 5; ++i) {
    const size_t colon = arn.find(':', start);
    if (colon == std::string_view::npos) {
      break;
    }
    out.part[out.count] = arn.substr(start, colon - start);
    out.offset[out.count] = start;
    ++out.count;
    start = colon + 1;
  }
  out.part[out.count] = arn.substr(start);
  out.offset[out.count] = start;
  ++out.count;
  return out;
}

ArnPattern ArnPattern::Compile(std::string_view pattern) {
  ArnPatternBuilder builder;
  builder.AppendPattern(pattern);
  return std::move(builder).Build();
}

bool ArnPattern::Matches(std::string_view arn) const {
  if (components_.empty()) {
    return false;
  }
  const ArnParts value = SplitArn(arn);
  const size_t n = components_.size();
  if (static_cast<size_t>(value.count) < n) {
    return false;
  }
  for (size_t i = 0; i + 1 < n; ++i) {
    if (!components_[i].Matches(value.part[i])) {
      return false;
    }
  }
  return components_[n - 1].Matches(arn.substr(value.offset[n - 1]));
}

void ArnPatternBuilder::NextComponentIfColon(char c, bool* consumed) {
  *consumed = false;
  if (c == ':' && done_.size() < 5) {
    done_.push_back(std::move(current_).Build());
    current_ = GlobBuilder(false);
    *consumed = true;
  }
}

void ArnPatternBuilder::AppendPattern(std::string_view pattern) {
  for (char c : pattern) {
    bool consumed = false;
    NextComponentIfColon(c, &consumed);
    if (consumed) {
      continue;
    }
    if (c == '*') {
      current_.AppendStar();
    } else if (c == '?') {
      current_.AppendAnyChar();
    } else {
      current_.AppendLiteral(std::string_view(&c, 1));
    }
  }
}

void ArnPatternBuilder::AppendLiteral(std::string_view text) {
  for (char c : text) {
    bool consumed = false;
    NextComponentIfColon(c, &consumed);
    if (!consumed) {
      current_.AppendLiteral(std::string_view(&c, 1));
    }
  }
}

ArnPattern ArnPatternBuilder::Build() && {
  done_.push_back(std::move(current_).Build());
  return ArnPattern(std::move(done_));
}

}  // namespace scytale::policy::internal
