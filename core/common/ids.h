#pragma once

#include <QString>

namespace Swamp {

// A new id for a run, step or lease: a UUID of version 7 (RFC 9562), whose first 48 bits are the
// time in milliseconds and whose last 74 are random, increasing within this process. Rows keyed
// by such ids go to the end of their indexes, so that the pages a batch of new steps changes are
// a few shared ones; with random UUIDs every new step changed pages of its own in five indexes
// (issue 8: 15 page writes per step, and the reads of pages that had left the cache).
QString newTimeOrderedId();

// How an id is shown to people: its last 8 hex digits, random in both random and time-ordered
// UUIDs (the first 8 of a time-ordered one are the same for everything made within a minute).
inline QString shortId(const QString &id)
{
    return id.right(8);
}

} // namespace Swamp
