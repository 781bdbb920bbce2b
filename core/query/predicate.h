#pragma once

#include "common/result.h"
#include "query/record.h"
#include "query/schema.h"

#include <QDateTime>
#include <QJsonObject>
#include <QJsonValue>
#include <QList>
#include <QSet>
#include <QString>
#include <QStringList>

#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace Swamp::Query {

namespace Internal {
struct Program;
}

// A compiled `swamp data query` predicate (a CEL subset, see docs/query.md): compiled once,
// evaluated per record. Cheap to copy; copies share the compiled tree. Thread-safe for
// concurrent const use.
//
// Records look like {"modelType", "name", "id", "createdAt", "updatedAt", "attributes": {...}};
// timestamp fields (per the schema) are ISO-8601 strings read as timestamps.
//
// Error codes, all with message, fix and details {"position", "length"} (0-based QChar offset
// into the predicate) where there is a spot to point at:
//   query_syntax         not valid syntax, bad escape, literal out of range, bad regex literal
//   query_unknown_field  unknown field, model type or function; details also carry
//                        "suggestion" (when one is close) and "fields" (the known names)
//   query_type           no operator/function for the operand types ("no operator '<' for
//                        string and int"), at compile time when the types are known, else at
//                        run time
//   query_too_long       more than 4096 characters (no position)
//   query_too_deep       nested deeper than 64 levels
//   query_budget         more than 100,000 evaluation steps for one record
//   query_runtime        missing key not guarded by has(), null where a value is needed,
//                        integer overflow, division by zero, bad conversion or timestamp
// What a predicate reads of a record: the top-level fields it names (modelType, name, id,
// createdAt, updatedAt) and the attributes it names (`attributes.<name>`, `attributes["name"]`).
struct FieldsRead
{
    QSet<QString> fields;
    QSet<QString> attributes;
};

class Predicate
{
public:
    static Result<Predicate> compile(const QString &text, const Schema &schema = Schema::builtin());

    // True only when the predicate evaluates to bool true, false for bool false. A runtime
    // error is returned as an Error, and so is a non-bool result (query_type).
    Result<bool> matches(const QJsonObject &record, const QDateTime &now) const;
    // The same on a record read field by field (record.h): the same answer as on its JSON.
    Result<bool> matches(const Record &record, const QDateTime &now) const;

    // For --select: the value as JSON (timestamps → ISO strings, durations → "90s").
    Result<QJsonValue> evaluate(const QJsonObject &record, const QDateTime &now) const;
    Result<QJsonValue> evaluate(const Record &record, const QDateTime &now) const;

    // The predicate text as compiled.
    QString text() const;

    // What the expression evaluates to when the checker can tell: Bool for predicates, Any when
    // it depends on the record. The CLI can refuse a non-bool predicate up front.
    FieldType resultType() const;

    // SQL push-down hints, taken only from the top-level chain of &&, so each is a necessary
    // condition: a record that fails one cannot match.
    // The model types the predicate can match (from `modelType == "x"` or `modelType in [...]`,
    // intersected); nullopt = any, an empty list = none.
    std::optional<QStringList> modelTypes() const;
    // Equalities `attributes.<field> == <literal>` (either operand order; string, int, double or
    // bool literals), e.g. {"status", "idle"}.
    QList<std::pair<QString, QJsonValue>> attributeEqualities() const;

    // The same predicate for records of `modelType` only: the top-level conditions that only
    // name model types and admit it (modelType == "x", modelType in [...]) are true for each of
    // them, and are no longer evaluated per record. The answer on such a record is the same.
    Predicate forModelType(const QString &modelType) const;
    // The same predicate for records that a store gave as holding some of the attribute
    // equalities (an SQL condition on the column the attribute is read from): those conditions,
    // each where `holds(attribute, literal)`, are true for each of them and no longer evaluated.
    // The answer on such a record is the same; on another one it may not be.
    Predicate knowingTrue(const std::function<bool(const QString &attribute, const QJsonValue &literal)> &holds) const;

    // What it reads of a record, so that a store reads only those columns while it scans;
    // nullopt when it reads `attributes` whole (`"x" in attributes`, size(attributes), ...).
    std::optional<FieldsRead> fieldsRead() const;

private:
    Predicate() = default;
    void knowWhetherAllKnown(); // m_allKnown from m_skip

    std::shared_ptr<const Internal::Program> m_program;
    std::vector<bool> m_skip; // per top-level conjunct: known true (forModelType(), knowingTrue())
    bool m_allKnown = false;  // every one of them: it matches without a look
};

} // namespace Swamp::Query
