#pragma once

#include "common/result.h"

#include <QJsonObject>
#include <QMap>
#include <QString>
#include <QStringList>

namespace Swamp {

using Labels = QMap<QString, QString>;

// One label. Keys: [A-Za-z0-9][A-Za-z0-9._/-]{0,62}; values: up to 255 characters without `,`,
// `=` or control characters (text.h; may be empty). Error code "invalid_label".
Result<void> checkLabel(const QString &key, const QString &value);
// One `k=v` label, checked as above.
Result<std::pair<QString, QString>> parseLabel(const QString &text);
// Labels as they come in a frame: absent or null (none), else an object of at most `maxLabels`
// string values, each checked as above. Error code "invalid_label" naming the label.
Result<Labels> labelsFromWire(const QJsonValue &value, qsizetype maxLabels = 64);

// Several labels, from repeated `--label k=v` and/or a comma-separated `k=v,k=v` list.
Result<Labels> parseLabels(const QStringList &items);

QJsonObject labelsToJson(const Labels &labels);
Labels labelsFromJson(const QJsonObject &object);

// "k=v, k2=v2" (sorted by key), "-" when empty.
QString formatLabels(const Labels &labels);

// Labels in `over` replace those of the same key in `base`.
Labels mergeLabels(const Labels &base, const Labels &over);

// What an operator changed of a worker's labels after its enrollment (`swamp worker label`): keys
// set to a value and keys removed. They win over the worker's own labels (its --label and its
// token's) for those keys, also when it enrolls again; the other keys stay the worker's.
struct LabelOverrides
{
    Labels set;
    QStringList removed; // sorted, each once, none of them in `set`

    bool isEmpty() const { return set.isEmpty() && removed.isEmpty(); }
    // `own` with the keys set replaced or added and the keys removed taken out.
    Labels appliedTo(const Labels &own) const;
    // Sets `setNow` and removes `removeNow` on top of what is there (a key set now is no longer
    // removed, and the other way round).
    void change(const Labels &setNow, const QStringList &removeNow);
    // {"k": "v", "removed-key": null}; fromJson() reads that back (anything else is ignored).
    QJsonObject toJson() const;
    static LabelOverrides fromJson(const QJsonObject &object);
    bool operator==(const LabelOverrides &) const = default;
};

} // namespace Swamp
