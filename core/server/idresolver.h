#pragma once

#include "common/result.h"

#include <QString>

namespace Swamp {

class Store;

// Ids as operators type them (issue 21): a whole id, a unique prefix of at least
// MinimumIdPrefix characters, or a unique ending of as many (the CLI shows the last 8 hex digits
// of an id, shortId(): the first ones are the same for every id made within a minute). Every
// admin method that takes a step, run or lease id resolves it here before anything else.
namespace IdResolver {

constexpr qsizetype MinimumIdPrefix = 4;

enum Kind { Step = 1, Run = 2, Lease = 4 };

struct Resolved
{
    QString id;
    Kind kind = Step;
};

// `typed` as the one id of `kinds` (a combination of Kind) that it names. Errors: invalid_id (too
// short), not_found, ambiguous_id (names up to 10 matching ids, in `details.matches` all found).
// A prefix is looked up as a range of the primary key (indexed on SQLite and PostgreSQL alike);
// an ending, only when no prefix matched, by a scan of the id column with an escaped LIKE.
Result<Resolved> resolve(Store &store, const QString &typed, int kinds);

} // namespace IdResolver
} // namespace Swamp
