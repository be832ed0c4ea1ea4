// gMock matchers for statuses: abseil 20220623 (Debian 12) ships neither
// StatusIs nor IsOk. They accept absl::Status, absl::StatusOr<T> and
// grpc::Status alike, so a test reads the same at every layer:
//
//   EXPECT_THAT(store.Get("x"), StatusIs(absl::StatusCode::kNotFound));
//   EXPECT_THAT(stub_status, StatusIs(grpc::StatusCode::INVALID_ARGUMENT,
//                                     HasSubstr("quantity")));
//   EXPECT_THAT(client.Ping(), IsOk());
//   ASSERT_OK_AND_ASSIGN(auto value, client.Command({"GET", key}));
#pragma once

#include <ostream>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/base/config.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/support/status.h"

namespace ecoact::test {
namespace internal_status {

// The parts of any status type the matchers look at.
struct StatusView {
  absl::StatusCode code;
  std::string message;
};

inline StatusView ViewOf(const absl::Status& status) {
  return {status.code(), std::string(status.message())};
}
template <typename T>
StatusView ViewOf(const absl::StatusOr<T>& status_or) {
  return ViewOf(status_or.status());
}
// gRPC and abseil number the canonical codes identically.
inline StatusView ViewOf(const grpc::Status& status) {
  return {static_cast<absl::StatusCode>(status.error_code()), status.error_message()};
}

inline absl::StatusCode ToAbslCode(absl::StatusCode code) { return code; }
inline absl::StatusCode ToAbslCode(grpc::StatusCode code) {
  return static_cast<absl::StatusCode>(code);
}

inline std::string Describe(const StatusView& view) {
  if (view.code == absl::StatusCode::kOk) return "OK";
  return absl::StrCat(absl::StatusCodeToString(view.code), ": ", view.message);
}

class StatusIsImpl {
 public:
  StatusIsImpl(absl::StatusCode code, ::testing::Matcher<const std::string&> message)
      : code_(code), message_(std::move(message)) {}

  bool MatchAndExplain(const StatusView& actual, ::testing::MatchResultListener* listener) const {
    if (actual.code != code_) return false;
    ::testing::StringMatchResultListener message_listener;
    if (!message_.MatchAndExplain(actual.message, &message_listener)) {
      *listener << "the code matches but the message doesn't";
      if (!message_listener.str().empty()) *listener << " (" << message_listener.str() << ")";
      return false;
    }
    return true;
  }

  void DescribeTo(std::ostream* os) const {
    *os << "has status code " << absl::StatusCodeToString(code_) << " and a message that ";
    message_.DescribeTo(os);
  }

  void DescribeNegationTo(std::ostream* os) const {
    *os << "doesn't have status code " << absl::StatusCodeToString(code_)
        << " or has a message that ";
    message_.DescribeNegationTo(os);
  }

 private:
  absl::StatusCode code_;
  ::testing::Matcher<const std::string&> message_;
};

template <typename StatusType>
class MonoStatusIsMatcher : public ::testing::MatcherInterface<StatusType> {
 public:
  explicit MonoStatusIsMatcher(StatusIsImpl impl) : impl_(std::move(impl)) {}
  bool MatchAndExplain(StatusType actual,
                       ::testing::MatchResultListener* listener) const override {
    return impl_.MatchAndExplain(ViewOf(actual), listener);
  }
  void DescribeTo(std::ostream* os) const override { impl_.DescribeTo(os); }
  void DescribeNegationTo(std::ostream* os) const override { impl_.DescribeNegationTo(os); }

 private:
  StatusIsImpl impl_;
};

// Becomes a Matcher of whichever status type it is applied to.
class StatusIsMatcher {
 public:
  explicit StatusIsMatcher(StatusIsImpl impl) : impl_(std::move(impl)) {}
  template <typename StatusType>
  operator ::testing::Matcher<StatusType>() const {  // NOLINT: implicit by design
    using Arg = const std::decay_t<StatusType>&;
    return ::testing::Matcher<StatusType>(::testing::MakeMatcher(
        static_cast<::testing::MatcherInterface<Arg>*>(new MonoStatusIsMatcher<Arg>(impl_))));
  }

 private:
  StatusIsImpl impl_;
};

class IsOkMatcher {
 public:
  template <typename StatusType>
  operator ::testing::Matcher<StatusType>() const {  // NOLINT: implicit by design
    using Arg = const std::decay_t<StatusType>&;
    return ::testing::Matcher<StatusType>(::testing::MakeMatcher(
        static_cast<::testing::MatcherInterface<Arg>*>(new Mono<Arg>())));
  }

 private:
  template <typename StatusType>
  class Mono : public ::testing::MatcherInterface<StatusType> {
   public:
    bool MatchAndExplain(StatusType actual,
                         ::testing::MatchResultListener* /*listener*/) const override {
      return ViewOf(actual).code == absl::StatusCode::kOk;
    }
    void DescribeTo(std::ostream* os) const override { *os << "is OK"; }
    void DescribeNegationTo(std::ostream* os) const override { *os << "is not OK"; }
  };
};

}  // namespace internal_status

// Matches a status (or the status of a StatusOr) with code `code` (an
// absl::StatusCode or a grpc::StatusCode) and a message matching `message`
// (a string for equality, or any matcher such as HasSubstr).
template <typename Code, typename MessageMatcher>
internal_status::StatusIsMatcher StatusIs(Code code, MessageMatcher&& message) {
  return internal_status::StatusIsMatcher(internal_status::StatusIsImpl(
      internal_status::ToAbslCode(code),
      ::testing::MatcherCast<const std::string&>(std::forward<MessageMatcher>(message))));
}

template <typename Code>
internal_status::StatusIsMatcher StatusIs(Code code) {
  return StatusIs(code, ::testing::_);
}

// Matches an OK status, or a StatusOr holding a value.
inline internal_status::IsOkMatcher IsOk() { return internal_status::IsOkMatcher(); }

}  // namespace ecoact::test

// Readable failure messages: without these, gtest prints a StatusOr or a
// grpc::Status as a byte dump. Found by argument-dependent lookup; abseil
// releases after 20220623 print StatusOr themselves.
namespace grpc {
inline void PrintTo(const Status& status, std::ostream* os) {
  *os << ::ecoact::test::internal_status::Describe(::ecoact::test::internal_status::ViewOf(status));
}
}  // namespace grpc

#if defined(ABSL_LTS_RELEASE_VERSION) && ABSL_LTS_RELEASE_VERSION <= 20220623
namespace absl {
template <typename T>
void PrintTo(const StatusOr<T>& status_or, std::ostream* os) {
  if (status_or.ok()) {
    *os << "value " << ::testing::PrintToString(*status_or);
  } else {
    *os << status_or.status();
  }
}
}  // namespace absl
#endif

#define ECOACT_STATUS_CONCAT_INNER_(a, b) a##b
#define ECOACT_STATUS_CONCAT_(a, b) ECOACT_STATUS_CONCAT_INNER_(a, b)

#ifndef EXPECT_OK
#define EXPECT_OK(expr) EXPECT_THAT((expr), ::ecoact::test::IsOk())
#endif
#ifndef ASSERT_OK
#define ASSERT_OK(expr) ASSERT_THAT((expr), ::ecoact::test::IsOk())
#endif

// ASSERT_OK_AND_ASSIGN(auto value, F()) declares `value` from the StatusOr
// F(), or fails the test (fatally) showing the status.
#ifndef ASSERT_OK_AND_ASSIGN
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ECOACT_ASSERT_OK_AND_ASSIGN_IMPL_(ECOACT_STATUS_CONCAT_(ecoact_statusor_, __LINE__), lhs, expr)
#define ECOACT_ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                     \
  ASSERT_THAT(statusor, ::ecoact::test::IsOk());              \
  lhs = std::move(statusor).value()
#endif
