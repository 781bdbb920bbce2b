#pragma once

#include "common/result.h"

#include <QDateTime>
#include <QJsonValue>
#include <QString>

namespace Swamp {

// Durations as operators type them: a whole number and one unit, `45s`, `30m`, `24h`, `7d`, `2w`
// (also `500ms` for fine-grained tuning). Always > 0.
// Error code: "invalid_duration", message
//   invalid duration "<v>" — use a number and a unit: 45s, 30m, 24h, 7d, 2w
Result<qint64> parseDurationMs(const QString &text);
// The same, but zero ("0s", "0") is allowed too: "at once" (e.g. `worker prune --grace-period 0s`).
Result<qint64> parseDurationOrZeroMs(const QString &text);

// The largest unit that divides exactly: 90000 → "90s", 86400000 → "1d", 1500 → "1500ms".
QString formatDurationMs(qint64 ms);

// Human relative time from `now`: "12s ago", "3m ago", "in 23h", "just now".
QString formatRelative(const QDateTime &when, const QDateTime &now);

// ISO-8601 UTC with milliseconds: "2026-11-24T10:00:00.123Z". Empty for an invalid time.
QString isoUtc(const QDateTime &when);
QDateTime parseIsoUtc(const QString &text);
// The same into `text` (IsoUtcLength characters, no terminator), for years 1970-9999; false for
// any other time (then isoUtc() formats it) and for an invalid one.
constexpr int IsoUtcLength = 24;
bool formatIsoUtc(const QDateTime &when, char *text);
// The same from milliseconds since the epoch (a timestamp column), without a QDateTime.
bool formatIsoUtcMs(qint64 ms, char *text);
// isoUtc() of milliseconds since the epoch: what a record writes of a timestamp column.
QString isoUtcMs(qint64 ms);

// For JSON records: the ISO time, or null for an invalid (unset) time.
QJsonValue isoUtcOrNull(const QDateTime &when);

} // namespace Swamp
