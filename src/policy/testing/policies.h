// Policies and requests for policy/ tests: AWS's default key policy, a key ARN, compiling that
// fails the test, and requests.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "policy/policy.h"

namespace scytale::policy::testing {

inline constexpr char kKeyArn[] =
    "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

// The key policy AWS gives a key created without one [KMS guide, key-policy-default].
inline constexpr char kDefaultKeyPolicy[] = R"json({
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : { "AWS" : "arn:aws:iam::111122223333:root" },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
})json";

// A document that must compile; anything else fails the test and aborts, since the table that
// holds it cannot run.
inline std::shared_ptr<const CompiledPolicy> MustCompile(const std::string& document,
                                                         PolicyKind kind) {
  auto policy = CompiledPolicy::Compile(document, kind);
  if (!policy.has_value()) {
    ADD_FAILURE() << policy.error().message << "\n" << document;
    std::abort();
  }
  return *policy;
}

// Condition keys of a request and their values ({} values: present but empty).
using Keys = std::vector<std::pair<std::string, std::vector<std::string>>>;

inline Request MakeRequest(std::string principal, std::string action = "kms:Encrypt",
                           std::string resource = kKeyArn, const Keys& keys = {}) {
  Request request;
  request.principal_arn = std::move(principal);
  request.action = std::move(action);
  request.resource = std::move(resource);
  for (const auto& [key, values] : keys) {
    request.conditions.Set(key, values);
  }
  return request;
}

}  // namespace scytale::policy::testing
