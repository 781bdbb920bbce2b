#pragma once

#include "common/result.h"

#include <QString>
#include <QStringList>

namespace Swamp::Query::Internal {

// An error pointing at [position, position + length) of the predicate.
Error positionedError(const QString &code, const QString &message, qsizetype position,
                      qsizetype length, const QString &fix = {});

// The candidate closest to `word` by edit distance, if close enough to be a likely typo.
QString closestMatch(const QString &word, const QStringList &candidates);

} // namespace Swamp::Query::Internal
