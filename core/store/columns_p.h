#pragma once

// How the store writes and reads the columns that hold more than a scalar (internal to
// core/store/).

#include "common/labels.h"

#include <QJsonDocument>
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

} // namespace Swamp
