#include "api/internal/secret_json.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <charconv>
#include <memory>
#include <optional>
#include <string_view>

#include "common/json_text.h"

namespace scytale::api::internal {
namespace {

using json = nlohmann::json;

constexpr std::array<std::string_view, 5> kSecretStringMembers = {
    "Plaintext", "PrivateKeyPlaintext", "SharedSecret", "Message", "KeyStorePassword"};
// An object all of whose strings are secret (AccessKeyId and RawSecretAccessKey).
constexpr std::string_view kSecretObjectMember = "XksProxyAuthenticationCredential";

void WipeString(json& value) {
  if (value.is_string()) {
    std::string& s = value.get_ref<std::string&>();
    OPENSSL_cleanse(s.data(), s.size());
  }
}

// Counts the bytes the serializer writes, so that the real pass writes into a buffer of the
// final size. nlohmann's serializer and output adapter are what json::dump() itself uses.
class CountingOutput : public nlohmann::detail::output_adapter_protocol<char> {
 public:
  void write_character(char /*c*/) override { ++size_; }
  void write_characters(const char* /*s*/, std::size_t length) override { size_ += length; }
  size_t size() const { return size_; }

 private:
  size_t size_ = 0;
};

using Serializer = nlohmann::detail::serializer<json>;

}  // namespace

json SecretToBase64Json(const crypto::SecretBytes& secret) {
  auto bytes = secret.Reveal(crypto::KeyAccess::Grant());
  json out = std::string(4 * ((bytes.size() + 2) / 3), '\0');
  std::string& text = out.get_ref<std::string&>();
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()), bytes.data(),
                  static_cast<int>(bytes.size()));
  return out;
}

void WipeSecretMembers(json& object) {
  if (!object.is_object()) {
    return;
  }
  for (std::string_view name : kSecretStringMembers) {
    if (auto it = object.find(name); it != object.end()) {
      WipeString(*it);
    }
  }
  if (auto it = object.find(kSecretObjectMember); it != object.end() && it->is_object()) {
    for (auto& [key, value] : it->items()) {
      WipeString(value);
    }
  }
}

namespace {

// The two passes of DumpSizedOnce over one tree: SizeSink counts, TextSink writes. Strings of
// ASCII, integers, booleans, null and the structure are written here (json_text.h: the same
// bytes as nlohmann's); floats and strings with other bytes go to nlohmann's serializer, as
// json::dump() would write them.
class SizeSink {
 public:
  void Raw(std::string_view s) { size_ += s.size(); }
  void Char(char /*c*/) { ++size_; }
  bool AsciiString(std::string_view s) {
    std::optional<size_t> n = AsciiJsonStringSize(s);
    size_ += n.value_or(0);
    return n.has_value();
  }
  void Nlohmann(const json& v) {
    auto counter = std::make_shared<CountingOutput>();
    Serializer(counter, ' ', json::error_handler_t::replace).dump(v, false, false, 0);
    size_ += counter->size();
  }
  size_t size() const { return size_; }

 private:
  size_t size_ = 0;
};

class TextSink {
 public:
  explicit TextSink(std::string& out) : out_(out) {}
  void Raw(std::string_view s) { out_.append(s); }
  void Char(char c) { out_.push_back(c); }
  bool AsciiString(std::string_view s) { return AppendAsciiJsonString(out_, s); }
  void Nlohmann(const json& v) {
    Serializer(nlohmann::detail::output_adapter<char, std::string>(out_), ' ',
               json::error_handler_t::replace)
        .dump(v, false, false, 0);
  }

 private:
  std::string& out_;
};

template <class Sink>
void Emit(Sink& sink, const json& v) {
  switch (v.type()) {
    case json::value_t::object: {
      sink.Char('{');
      bool first = true;
      for (const auto& [key, member] : v.get_ref<const json::object_t&>()) {
        if (!first) {
          sink.Char(',');
        }
        first = false;
        if (!sink.AsciiString(key)) {
          sink.Nlohmann(json(key));  // a key is never a secret
        }
        sink.Char(':');
        Emit(sink, member);
      }
      sink.Char('}');
      return;
    }
    case json::value_t::array: {
      sink.Char('[');
      bool first = true;
      for (const json& element : v.get_ref<const json::array_t&>()) {
        if (!first) {
          sink.Char(',');
        }
        first = false;
        Emit(sink, element);
      }
      sink.Char(']');
      return;
    }
    case json::value_t::string:
      if (!sink.AsciiString(v.get_ref<const std::string&>())) {
        sink.Nlohmann(v);
      }
      return;
    case json::value_t::boolean:
      sink.Raw(v.get<bool>() ? "true" : "false");
      return;
    case json::value_t::null:
      sink.Raw("null");
      return;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: {
      char buf[24];
      auto [end, ec] = v.is_number_unsigned()
                           ? std::to_chars(buf, buf + sizeof buf, v.get<uint64_t>())
                           : std::to_chars(buf, buf + sizeof buf, v.get<int64_t>());
      sink.Raw(std::string_view(buf, static_cast<size_t>(end - buf)));
      return;
    }
    default:  // floats (and binary, discarded): nlohmann's own formatting
      sink.Nlohmann(v);
      return;
  }
}

}  // namespace

std::string DumpSizedOnce(const json& value) {
  SizeSink size;
  Emit(size, value);
  std::string out;
  out.reserve(size.size());
  TextSink text(out);
  Emit(text, value);
  return out;
}

}  // namespace scytale::api::internal
