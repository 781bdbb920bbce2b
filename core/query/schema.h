#pragma once

#include <QHash>
#include <QList>
#include <QString>
#include <QStringList>

#include <optional>
#include <utility>

namespace Swamp::Query {

// Field types the schema knows. Timestamp fields arrive in records as ISO-8601 UTC strings
// ("2026-11-24T10:00:00.000Z") and are read as query timestamps; Duration fields arrive as
// duration strings ("90s"). Null is allowed for any field.
enum class FieldType { Any, String, Int, Double, Bool, Timestamp, Duration, Map, List };

// Which model types exist and each one's attribute fields and types. The checker uses it to
// refuse unknown fields (with a suggestion) and the evaluator to read timestamps.
// Every record also has the fixed top-level fields, see topLevelFields().
class Schema
{
public:
    // swamp/worker, swamp/enrollment-token, swamp/step, swamp/step-lease, swamp/run,
    // swamp/audit-event.
    static const Schema &builtin();

    // Adds or replaces a model type; attributes keep the given order.
    void addModel(const QString &modelType, const QList<std::pair<QString, FieldType>> &attributes);
    QStringList modelTypes() const;
    bool hasModel(const QString &modelType) const;

    // The attributes of one model, in declaration order; empty for an unknown model.
    QList<std::pair<QString, FieldType>> attributes(const QString &modelType) const;

    // The type of `attributes.<name>` across the given models (all models when empty):
    // nullopt when none of them has it, Any when they disagree.
    std::optional<FieldType> attributeType(const QString &name,
                                           const QStringList &modelTypes = {}) const;
    // Sorted, de-duplicated attribute names across the given models (all models when empty).
    QStringList attributeNames(const QStringList &modelTypes = {}) const;

    // modelType, name, id, createdAt, updatedAt, attributes.
    static QList<std::pair<QString, FieldType>> topLevelFields();

private:
    QStringList m_order;
    QHash<QString, QList<std::pair<QString, FieldType>>> m_models;
};

} // namespace Swamp::Query
