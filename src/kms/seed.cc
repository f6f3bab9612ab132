// `scytale serve --seed FILE`: keys with fixed ids (and optionally fixed material), their
// aliases and tags, created at start where absent. See docs/seeding.md.
#include <openssl/crypto.h>

#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "kms/kms.h"

namespace scytale::kms {
namespace {

using json = nlohmann::json;

Error Bad(const std::string& what) {
  return MakeError(ErrorCode::kValidation, "seed file: " + what);
}

std::string Lower(std::string s) {
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

}  // namespace

Result<SeedReport> ApplySeed(KeyService& service, std::string_view text,
                             const std::string& default_account,
                             const std::string& default_region) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("keys") ||
      !doc["keys"].is_array()) {
    return Bad("expected a JSON object with a \"keys\" array");
  }
  SeedReport report;
  for (const json& k : doc["keys"]) {
    if (!k.is_object() || !k.contains("KeyId") || !k["KeyId"].is_string()) {
      return Bad("every key needs a string \"KeyId\"");
    }
    const std::string key_id = Lower(k["KeyId"].get<std::string>());
    if (!IsUuid(key_id)) {
      return Bad("KeyId '" + key_id + "' is not a UUID");
    }
    CallContext ctx{k.value("Account", default_account), k.value("Region", default_region),
                    "arn:aws:iam::" + k.value("Account", default_account) + ":root", "seed"};
    auto existing = service.DescribeKey(ctx, key_id);
    if (existing) {
      ++report.keys_present;
    } else if (existing.error().code != ErrorCode::kNotFound) {
      return existing.error();
    } else {
      CreateKeyRequest req;
      req.key_id_for_seeding = key_id;
      if (k.contains("Description")) {
        req.description = k["Description"].get<std::string>();
      }
      if (k.contains("KeyMaterial")) {
        auto raw = Base64Decode(k["KeyMaterial"].get<std::string>());
        if (!raw || raw->size() != 32) {
          return Bad("KeyMaterial of " + key_id + " must be 32 bytes in base64");
        }
        req.material_for_seeding = crypto::SecretBytes(*raw);
        OPENSSL_cleanse(raw->data(), raw->size());
      }
      if (k.contains("Tags")) {
        for (const json& t : k["Tags"]) {
          req.tags.push_back({t.at("TagKey").get<std::string>(), t.at("TagValue").get<std::string>()});
        }
      }
      SCY_ASSIGN_OR_RETURN(KeyMetadata created, service.CreateKey(ctx, req));
      (void)created;
      ++report.keys_created;
    }
    if (k.contains("Aliases")) {
      for (const json& a : k["Aliases"]) {
        Status made = service.CreateAlias(ctx, a.get<std::string>(), key_id);
        if (made) {
          ++report.aliases_created;
        } else if (made.error().code != ErrorCode::kAlreadyExists) {
          return made.error();
        }
      }
    }
  }
  return report;
}

}  // namespace scytale::kms
