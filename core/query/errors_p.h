#pragma once

#include "common/result.h"
#include "common/text.h"

#include <QString>
#include <QStringList>

namespace Swamp::Query::Internal {

// An error pointing at [position, position + length) of the predicate.
Error positionedError(const QString &code, const QString &message, qsizetype position,
                      qsizetype length, const QString &fix = {});

// closestMatch() (common/text.h) suggests the name meant.
using Swamp::closestMatch;

} // namespace Swamp::Query::Internal
