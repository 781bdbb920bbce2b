#pragma once

#include "common/result.h"

#include <QJsonObject>
#include <QMap>
#include <QString>
#include <QStringList>

namespace Swamp {

using Labels = QMap<QString, QString>;

// One `k=v` label. Keys: [A-Za-z0-9][A-Za-z0-9._/-]{0,62}; values: up to 255 printable
// characters without `,` or `=` (may be empty). Error code "invalid_label".
Result<std::pair<QString, QString>> parseLabel(const QString &text);

// Several labels, from repeated `--label k=v` and/or a comma-separated `k=v,k=v` list.
Result<Labels> parseLabels(const QStringList &items);

QJsonObject labelsToJson(const Labels &labels);
Labels labelsFromJson(const QJsonObject &object);

// "k=v, k2=v2" (sorted by key), "-" when empty.
QString formatLabels(const Labels &labels);

// Labels in `over` replace those of the same key in `base`.
Labels mergeLabels(const Labels &base, const Labels &over);

} // namespace Swamp
