#pragma once

#include "common/error.h"

#include <QJsonArray>
#include <QString>

namespace Swamp::Query {

// The CLI/console rendering of a query error. With details.position it shows the predicate's
// line and carets under details.length characters (tabs kept so the carets line up):
//   error: unknown field "stauts" in query predicate (did you mean "status"?)
//     modelType == "swamp/worker" && attributes.stauts == "idle"
//                                               ^^^^^^
// Without a position, just the first line. Every line ends with '\n'.
QString renderError(const Error &error, const QString &predicate);

// Human output for records: an aligned table NAME, MODEL TYPE, STATE (status or state),
// DETAILS (a few key=value attributes chosen per model). Empty for no records.
QString renderRecords(const QJsonArray &records);

// Human output for --select values: scalars one per line (strings unquoted); when every value
// is a map, a table whose columns are the keys (union, sorted); lists and other maps as
// one-line JSON. Empty for no values.
QString renderSelection(const QJsonArray &values);

} // namespace Swamp::Query
