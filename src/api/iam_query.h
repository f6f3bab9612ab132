// api/iam_query.h: the AWS Query protocol of IAM (Version 2010-05-08) and STS (Version
// 2011-06-15), as the AWS CLI and boto3 speak it: a form-encoded request (Action=CreateUser&
// UserName=alice&Version=2010-05-08) in, an XML document out. Turns the parameters into an
// iam::IamService call and its answer (or error) into the XML botocore's query parser reads:
//
//   <CreateUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
//     <CreateUserResult><User>...</User></CreateUserResult>
//     <ResponseMetadata><RequestId>id</RequestId></ResponseMetadata>
//   </CreateUserResponse>
//
//   <ErrorResponse xmlns="...">
//     <Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>...</Message></Error>
//     <RequestId>id</RequestId>
//   </ErrorResponse>
//
// Knows nothing of HTTP connections or SigV4; the caller has authenticated the request.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "iam/iam.h"

namespace scytale::api {

struct QueryResponse {
  int status = 200;
  std::string body;  // XML (Content-Type: text/xml)
};

class QueryApi {
 public:
  // `iam` must outlive the codec.
  static std::unique_ptr<QueryApi> Create(iam::IamService* iam);
  virtual ~QueryApi() = default;

  // `service` is the SigV4 signing name ("iam" or "sts"); `query` the URL query string (may be
  // empty); `body` the form-encoded POST body. Parameters from both are merged; when a name
  // occurs more than once the first occurrence (query string before body) wins. Never throws:
  // bad input answers a 4xx error document, an unexpected failure a 500 one. Only the
  // CreateAccessKey and AssumeRole responses carry a secret (SecretAccessKey). Thread-safe.
  virtual QueryResponse Handle(const iam::Caller& caller, std::string_view service,
                               std::string_view query, std::string_view body,
                               const std::string& request_id) = 0;
};

// The XML error document and HTTP status for `error` in `service`'s dialect ("iam" or "sts";
// anything else is answered as IAM), e.g. kNotFound → NoSuchEntity, 404. Also answers
// authentication failures of IAM and STS requests. Internal errors never carry their message.
QueryResponse QueryErrorResponse(std::string_view service, const Error& error,
                                 const std::string& request_id);

}  // namespace scytale::api
