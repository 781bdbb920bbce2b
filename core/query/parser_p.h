#pragma once

#include "common/result.h"
#include "query/ast_p.h"

#include <QString>

#include <memory>

namespace Swamp::Query::Internal {

constexpr int maxNesting = 64;
constexpr qsizetype maxPredicateLength = 4096;

// Parses a predicate into a tree. Errors: query_too_long, query_syntax, query_too_deep (nesting
// deeper than maxNesting; checked while parsing, so deep input never recurses deeply).
Result<std::unique_ptr<Node>> parse(const QString &text);

} // namespace Swamp::Query::Internal
