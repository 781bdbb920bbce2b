#pragma once

#include "common/result.h"
#include "query/checker_p.h"
#include "query/value_p.h"

#include <QJsonObject>

#include <vector>

namespace Swamp::Query::Internal {

constexpr qint64 stepBudget = 100000;

// Evaluates a checked program against one record. Errors: query_runtime (missing key, overflow,
// division by zero, bad conversion), query_type (no matching overload), query_budget (more than
// stepBudget steps; concatenations cost their length). All carry the position of the culprit.
// Once checked: a list literal of literals becomes one literal, built once instead of at each
// record (`modelType in ["a", "b"]`).
void foldConstantLists(Node &node);

// `skip`: empty, or per conjunct of the root (Program::conjunctModelTypes) whether it is known to
// be true for this record and is not evaluated.
Result<Value> evaluate(const Program &program, const QJsonObject &record, qint64 nowMs,
                       const std::vector<bool> &skip = {});
Result<Value> evaluate(const Program &program, const Record &record, qint64 nowMs,
                       const std::vector<bool> &skip = {});

} // namespace Swamp::Query::Internal
