#include "api/internal/secret_json.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <memory>
#include <string_view>

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

std::string DumpSizedOnce(const json& value) {
  auto counter = std::make_shared<CountingOutput>();
  Serializer(counter, ' ', json::error_handler_t::replace).dump(value, false, false, 0);
  std::string out;
  out.reserve(counter->size());
  Serializer(nlohmann::detail::output_adapter<char, std::string>(out), ' ',
             json::error_handler_t::replace)
      .dump(value, false, false, 0);
  return out;
}

}  // namespace scytale::api::internal
