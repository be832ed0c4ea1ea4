// RETURN_IF_ERROR / ASSIGN_OR_RETURN: abseil 20220623 (Debian 12) ships
// absl::Status but not these helpers.
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define ECOACT_CONCAT_INNER_(a, b) a##b
#define ECOACT_CONCAT_(a, b) ECOACT_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function if `expr` is not OK.
#define RETURN_IF_ERROR(expr)                         \
  do {                                                \
    const ::absl::Status ecoact_status_ = (expr);     \
    if (!ecoact_status_.ok()) return ecoact_status_;  \
  } while (0)

// ASSIGN_OR_RETURN(auto x, F()) declares x from the value of the StatusOr
// F(), or returns its status from the enclosing function.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ECOACT_ASSIGN_OR_RETURN_IMPL_(ECOACT_CONCAT_(ecoact_statusor_, __LINE__), lhs, expr)

#define ECOACT_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()
