// The AWS KMS service model, trimmed to what request validation needs, as JSON text.
// Defined in kms_model_data.cc, which tools/gen_kms_model.py generates from botocore's
// data/kms/2014-11-01/service-2.json.gz. Layout:
//   {"source": "...", "apiVersion": "2014-11-01",
//    "operations": {"CreateKey": "CreateKeyRequest", ...},
//    "shapes": {"KeyIdType": {"type": "string", "min": 1, "max": 2048}, ...,
//               "TagList": {"type": "list", "member": "Tag"}, ...,
//               "Tag": {"type": "structure", "members": [["TagKey", "TagKeyType"], ...],
//                       "required": ["TagKey", "TagValue"]}}}
// Patterns are Java regular expressions, exactly as in the model.
#pragma once

namespace scytale::api::internal {

// NUL-terminated, static storage; never null.
extern const char* const kKmsModelJson;

}  // namespace scytale::api::internal
