// `scytale serve --seed FILE`: keys with fixed ids (and optionally fixed material), their
// aliases and tags, created at start where absent. See docs/seeding.md.
#include <openssl/crypto.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "common/ids.h"
#include "kms/internal/ops.h"
#include "kms/kms.h"

namespace scytale::kms {
namespace {

using json = nlohmann::json;

Error Bad(const std::string& what) {
  return MakeError(ErrorCode::kValidation, "seed file: " + what);
}

Error InKey(const std::string& key_id, const Error& e) {
  return MakeError(e.code, "seed file: key " + key_id + ": " + e.message);
}

std::string Lower(std::string s) {
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

// One key of the seed document, checked member by member.
struct SeedKey {
  std::string key_id;
  std::string account;
  std::string region;
  std::optional<std::string> description;
  std::optional<std::string> material_base64;
  std::vector<Tag> tags;
  std::vector<std::string> aliases;
};

// Reads an optional string member; an error names the member.
Status OptionalString(const json& obj, const char* name, const std::string& where,
                      std::optional<std::string>* out) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) {
    return Ok();
  }
  if (!it->is_string()) {
    return Bad(where + std::string(name) + " must be a string");
  }
  *out = it->get<std::string>();
  return Ok();
}

Result<SeedKey> ParseKey(const json& k, const std::string& default_account,
                         const std::string& default_region) {
  if (!k.is_object() || !k.contains("KeyId") || !k["KeyId"].is_string()) {
    return Bad("every key needs a string \"KeyId\"");
  }
  SeedKey out;
  out.key_id = Lower(k["KeyId"].get<std::string>());
  if (!IsUuid(out.key_id)) {
    return Bad("KeyId '" + out.key_id + "' is not a UUID");
  }
  const std::string where = "key " + out.key_id + ": ";
  std::optional<std::string> account, region;
  SCY_RETURN_IF_ERROR(OptionalString(k, "Account", where, &account));
  SCY_RETURN_IF_ERROR(OptionalString(k, "Region", where, &region));
  SCY_RETURN_IF_ERROR(OptionalString(k, "Description", where, &out.description));
  SCY_RETURN_IF_ERROR(OptionalString(k, "KeyMaterial", where, &out.material_base64));
  if (out.material_base64) {
    auto raw = Base64Decode(*out.material_base64);
    bool ok = raw && raw->size() == 32;
    if (raw) {
      OPENSSL_cleanse(raw->data(), raw->size());
    }
    if (!ok) {
      return Bad(where + "KeyMaterial must be 32 bytes in base64");
    }
  }
  out.account = account.value_or(default_account);
  out.region = region.value_or(default_region);
  if (out.account.size() != 12 || !std::all_of(out.account.begin(), out.account.end(), ::isdigit)) {
    return Bad(where + "Account must be 12 digits");
  }
  if (auto tags = k.find("Tags"); tags != k.end()) {
    if (!tags->is_array()) {
      return Bad(where + "Tags must be a list of {\"TagKey\", \"TagValue\"}");
    }
    for (const json& t : *tags) {
      if (!t.is_object() || !t.contains("TagKey") || !t["TagKey"].is_string() ||
          !t.contains("TagValue") || !t["TagValue"].is_string()) {
        return Bad(where + "each of Tags needs a string TagKey and a string TagValue");
      }
      out.tags.push_back({t["TagKey"].get<std::string>(), t["TagValue"].get<std::string>()});
    }
  }
  if (auto aliases = k.find("Aliases"); aliases != k.end()) {
    if (!aliases->is_array()) {
      return Bad(where + "Aliases must be a list of alias names");
    }
    for (const json& a : *aliases) {
      if (!a.is_string()) {
        return Bad(where + "each of Aliases must be a string");
      }
      std::string name = a.get<std::string>();
      // Checked before anything is created, so a bad name creates nothing.
      if (Status valid = internal::CheckAliasName(name); !valid) {
        return MakeError(valid.error().code,
                         "seed file: " + where + "alias '" + name + "': " + valid.error().message);
      }
      out.aliases.push_back(std::move(name));
    }
  }
  return out;
}

Status ApplyKey(KeyService& service, const SeedKey& key, SeedReport& report) {
  CallContext ctx{key.account, key.region, "arn:aws:iam::" + key.account + ":root", "seed"};
  auto existing = service.DescribeKey(ctx, key.key_id);
  if (existing) {
    ++report.keys_present;
  } else if (existing.error().code != ErrorCode::kNotFound) {
    return InKey(key.key_id, existing.error());
  } else {
    CreateKeyRequest req;
    req.key_id_for_seeding = key.key_id;
    req.description = key.description;
    req.tags = key.tags;
    if (key.material_base64) {
      auto raw = Base64Decode(*key.material_base64);
      if (!raw || raw->size() != 32) {
        return Bad("key " + key.key_id + ": KeyMaterial must be 32 bytes in base64");
      }
      req.material_for_seeding = crypto::SecretBytes(*raw);
      OPENSSL_cleanse(raw->data(), raw->size());
    }
    auto created = service.CreateKey(ctx, req);
    if (!created) {
      return InKey(key.key_id, created.error());
    }
    ++report.keys_created;
  }
  for (const std::string& alias : key.aliases) {
    Status made = service.CreateAlias(ctx, alias, key.key_id);
    if (made) {
      ++report.aliases_created;
    } else if (made.error().code != ErrorCode::kAlreadyExists) {
      return InKey(key.key_id, made.error());
    }
  }
  return Ok();
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
  std::vector<SeedKey> keys;
  for (const json& k : doc["keys"]) {
    SCY_ASSIGN_OR_RETURN(SeedKey key, ParseKey(k, default_account, default_region));
    keys.push_back(std::move(key));
  }
  SeedReport report;
  for (const SeedKey& key : keys) {
    SCY_RETURN_IF_ERROR(ApplyKey(service, key, report));
  }
  return report;
}

}  // namespace scytale::kms
