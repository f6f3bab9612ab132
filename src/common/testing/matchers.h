// gMock matchers for Result<T> and Status: EXPECT_THAT(r, IsOk()), HasError(ErrorCode::kX),
// HasErrorMessage(ErrorCode::kX, "text"). On failure they print the error's code and message.
#pragma once

#include <gmock/gmock.h>

#include "common/result.h"

namespace scytale::testing {

MATCHER(IsOk, "") {
  if (arg.has_value()) {
    return true;
  }
  *result_listener << "error " << static_cast<int>(arg.error().code) << ": " << arg.error().message;
  return false;
}

MATCHER_P(HasError, code, "") {
  if (arg.has_value()) {
    *result_listener << "succeeded";
    return false;
  }
  *result_listener << "error " << static_cast<int>(arg.error().code) << ": " << arg.error().message;
  return arg.error().code == code;
}

MATCHER_P2(HasErrorMessage, code, message, "") {
  if (arg.has_value()) {
    *result_listener << "succeeded";
    return false;
  }
  *result_listener << "error " << static_cast<int>(arg.error().code) << ": " << arg.error().message;
  return arg.error().code == code && arg.error().message == message;
}

}  // namespace scytale::testing
