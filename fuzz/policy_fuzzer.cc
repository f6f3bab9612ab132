// The IAM policy language (policy/policy.h): key policies, identity policies and role trust
// policies all arrive as client JSON (PutKeyPolicy, CreateKey, PutUserPolicy, CreateRole).
//
// Input: a policy document. It is compiled as each kind of policy; whatever compiles is
// evaluated against a handful of requests, including ones whose condition keys come from the
// document's own bytes.
#include "fuzz/fuzz_util.h"
#include "policy/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace scytale;
  using namespace scytale::policy;
  std::string_view document = fuzz::AsText(data, size);
  for (PolicyKind kind : {PolicyKind::kResource, PolicyKind::kIdentity, PolicyKind::kTrust}) {
    auto compiled = CompiledPolicy::Compile(document, kind);
    if (!compiled) {
      if (compiled.error().code != ErrorCode::kMalformedPolicyDocument) {
        fuzz::Fail("Compile failed with a code other than kMalformedPolicyDocument");
      }
      continue;
    }
    const CompiledPolicy& policy = **compiled;
    Request requests[3];
    requests[0].principal_arn = "arn:aws:iam::111122223333:root";
    requests[0].action = "kms:Encrypt";
    requests[0].resource =
        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    requests[0].conditions.Add("kms:EncryptionContext:purpose", "fuzz")
        .Add("kms:EncryptionContextKeys", "purpose")
        .Add("aws:SecureTransport", "true");
    requests[1].principal_arn = "arn:aws:sts::444455556666:assumed-role/Admin/session";
    requests[1].action = "kms:CreateGrant";
    requests[1].resource = "*";
    requests[1].conditions.Add("kms:GrantIsForAWSResource", "false")
        .Add("aws:CurrentTime", "2026-11-28T14:20:00Z")
        .Add("aws:SourceIp", "203.0.113.7")
        .Add("kms:RequestAlias", "alias/fuzz");
    requests[2].principal_arn = "ec2.amazonaws.com";
    requests[2].action = std::string(document.substr(0, 64));
    requests[2].resource = std::string(document.substr(size / 2, 64));
    requests[2].conditions.Add(std::string(document.substr(0, 32)),
                               std::string(document.substr(size / 3, 32)));
    for (const Request& request : requests) {
      Evaluation evaluation = policy.Evaluate(request);
      bool applies = evaluation.decision != Decision::kNotApplicable;
      if (applies != (evaluation.statement_index >= 0) ||
          evaluation.statement_index >= static_cast<int>(policy.statement_count())) {
        fuzz::Fail("Evaluate's statement index does not match its decision");
      }
    }
  }
  return 0;
}
