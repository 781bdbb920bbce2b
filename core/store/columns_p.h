#pragma once

// How the store writes and reads the columns that hold more than a scalar (internal to
// core/store/).

#include "common/labels.h"
#include "model/step.h"

#include <QJsonDocument>
#include <QSqlQuery>
#include <QString>

namespace Swamp {

// Labels as the compact JSON object text of their column.
inline QString labelsText(const Labels &labels)
{
    return QString::fromUtf8(QJsonDocument(labelsToJson(labels)).toJson(QJsonDocument::Compact));
}

inline Labels labelsFromText(const QString &text)
{
    return labelsFromJson(QJsonDocument::fromJson(text.toUtf8()).object());
}

// "?, ?, ?" for `count` values of an IN list or a VALUES row.
inline QString placeholders(qsizetype count)
{
    return count > 0 ? QStringLiteral("?") + QStringLiteral(", ?").repeated(count - 1) : QString();
}

// A run from the columns of RunColumns, in that order (stepstore.cpp).
inline constexpr char RunColumns[] = "SELECT id, name, state, created_at, updated_at, finished_at FROM runs ";
RunRecord runFromQuery(const QSqlQuery &q);

} // namespace Swamp
