#pragma once

#include "common/result.h"
#include "query/checker_p.h"
#include "query/value_p.h"

#include <QJsonObject>

namespace Swamp::Query::Internal {

constexpr qint64 stepBudget = 100000;

// Evaluates a checked program against one record. Errors: query_runtime (missing key, overflow,
// division by zero, bad conversion), query_type (no matching overload), query_budget (more than
// stepBudget steps; concatenations cost their length). All carry the position of the culprit.
Result<Value> evaluate(const Program &program, const QJsonObject &record, qint64 nowMs);

} // namespace Swamp::Query::Internal
