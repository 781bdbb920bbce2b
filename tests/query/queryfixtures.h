#pragma once

#include "query/checker_p.h"
#include "query/evaluator_p.h"
#include "query/parser_p.h"
#include "query/predicate.h"
#include "query/quick_p.h"
#include "query/record.h"
#include "query/value_p.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <expected>
#include <QLocale>
#include <QTest>

#include <algorithm>
#include <cmath>

// Fixed records, one per built-in model, and a fixed query time.
namespace QueryFixtures {

using namespace Qt::StringLiterals;

inline QDateTime now()
{
    return QDateTime::fromString(u"2026-11-24T10:00:00.000Z"_s, Qt::ISODateWithMs);
}

inline QJsonObject parseObject(const char *json)
{
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(QByteArray(json), &error);
    if (error.error != QJsonParseError::NoError)
        qFatal("bad fixture: %s", qPrintable(error.errorString()));
    return document.object();
}

inline QJsonObject worker()
{
    return parseObject(R"({"modelType": "swamp/worker", "name": "ci-linux-1", "id": "wrk_1",
        "createdAt": "2026-11-01T00:00:00.000Z", "updatedAt": "2026-11-24T09:58:00.000Z",
        "attributes": {"status": "idle", "machineId": "m1", "instanceId": "i1",
            "tokenName": "ci", "platform": "linux", "arch": "amd64", "version": "0.1.0",
            "hostname": "build-01", "orchestrator": "https://orch:8443",
            "labels": {"region": "eu", "os": "linux", "größe": "groß"},
            "capacity": 4, "activeSteps": 1, "draining": false,
            "enrolledAt": "2026-11-01T00:00:00.000Z", "lastSeenAt": "2026-11-24T09:50:00.000Z",
            "disconnectedAt": null}})");
}

inline QJsonObject token()
{
    return parseObject(R"({"modelType": "swamp/enrollment-token", "name": "ci", "id": "tok_1",
        "createdAt": "2026-11-01T00:00:00.000Z", "updatedAt": "2026-11-02T00:00:00.000Z",
        "attributes": {"state": "enrolled", "expiresAt": "2026-12-01T00:00:00.000Z",
            "revokedAt": null, "revokeReason": null, "maxEnrollments": null, "enrollments": 2,
            "bindings": [
                {"machineId": "m1", "workerName": "ci-linux-1", "enrolledAt": "2026-11-01T00:00:00.000Z"},
                {"machineId": "m2", "workerName": "ci-mac-1", "enrolledAt": "2026-11-02T00:00:00.000Z"}],
            "labels": {}}})");
}

inline QJsonObject step()
{
    return parseObject(R"({"modelType": "swamp/step", "name": "build", "id": "stp_1",
        "createdAt": "2026-11-24T09:00:00.000Z", "updatedAt": "2026-11-24T09:30:00.000Z",
        "attributes": {"runId": "run_1", "requirement": "linux", "state": "running",
            "command": ["make", "test"], "exitCode": null, "error": null, "attempt": 1,
            "maxAttempts": 3, "atMostOnce": false, "target": null, "platform": "linux",
            "labels": {"region": "eu"}, "workerName": "ci-linux-1", "timeoutSeconds": 600,
            "queuedAt": "2026-11-24T09:00:00.000Z", "startedAt": "2026-11-24T09:00:30.500Z",
            "finishedAt": null}})");
}

inline QJsonObject lease()
{
    return parseObject(R"({"modelType": "swamp/step-lease", "name": "build#1", "id": "lse_1",
        "createdAt": "2026-11-24T09:00:30.000Z", "updatedAt": "2026-11-24T09:00:30.000Z",
        "attributes": {"stepId": "stp_1", "runId": "run_1", "workerId": "wrk_1",
            "workerName": "ci-linux-1", "state": "active", "attempt": 1, "error": null,
            "exitCode": null, "startedAt": "2026-11-24T09:00:30.000Z", "endedAt": null}})");
}

inline QJsonObject run()
{
    return parseObject(R"({"modelType": "swamp/run", "name": "nightly", "id": "run_1",
        "createdAt": "2026-11-24T09:00:00.000Z", "updatedAt": "2026-11-24T09:30:00.000Z",
        "attributes": {"state": "running", "steps": 3, "succeeded": 1, "failed": 0,
            "finishedAt": null}})");
}

inline QJsonObject record(const QString &name)
{
    if (name == u"worker")
        return worker();
    if (name == u"token")
        return token();
    if (name == u"step")
        return step();
    if (name == u"lease")
        return lease();
    if (name == u"run")
        return run();
    return {};
}

inline QString describe(const Swamp::Query::Internal::Value &value);

inline QString describeDouble(double number)
{
    if (std::isnan(number))
        return u"nan"_s;
    if (std::isinf(number))
        return number > 0 ? u"inf"_s : u"-inf"_s;
    QString text = QString::number(number, 'g', QLocale::FloatingPointShortest);
    if (!text.contains(u'.') && !text.contains(u'e'))
        text += u".0"_s;
    return text;
}

// A typed rendering, so that 3 (int) and 3.0 (double) differ in expectations.
inline QString describe(const Swamp::Query::Internal::Value &value)
{
    using namespace Swamp::Query::Internal;
    switch (value.kind()) {
    case Kind::Null:
        return u"null"_s;
    case Kind::Bool:
        return value.boolean() ? u"true"_s : u"false"_s;
    case Kind::Int:
        return QString::number(value.integer());
    case Kind::Double:
        return describeDouble(value.number());
    case Kind::String:
        return u'"' + value.string() + u'"';
    case Kind::Timestamp:
        return u"timestamp(\"%1\")"_s.arg(formatTimestamp(value.timestampMs()));
    case Kind::Duration:
        return u"duration(\"%1\")"_s.arg(formatDuration(value.durationMs()));
    case Kind::List: {
        QStringList parts;
        for (const Value &element : value.list())
            parts << describe(element);
        return u'[' + parts.join(u", ") + u']';
    }
    case Kind::Map: {
        QStringList keys = mapKeys(value);
        keys.sort();
        QStringList parts;
        for (const QString &key : keys)
            parts << u"\"%1\": %2"_s.arg(
                key, describe(**mapValue(value, key, Swamp::Query::FieldType::Any)));
        return u'{' + parts.join(u", ") + u'}';
    }
    case Kind::Dyn:
        break;
    }
    return u"?"_s;
}

// A value as a store's row hands it to the quick tests (Record::scalar()): a string as its UTF-8,
// bytes as they are (a column's raw text), an integer, null; Unknown for the rest.
inline Swamp::Query::Scalar scalarOf(const QVariant &value)
{
    using Swamp::Query::Scalar;
    switch (value.metaType().id()) {
    case QMetaType::Nullptr:
        return Scalar::null();
    case QMetaType::LongLong:
        return Scalar::fromInt(value.toLongLong());
    case QMetaType::QString:
        return Scalar::fromUtf8(value.toString().toUtf8());
    case QMetaType::QByteArray:
        return Scalar::fromUtf8(value.toByteArray());
    default:
        return {};
    }
}

// A JSON record served field by field, as a store serves its rows (query/record.h): timestamps
// the schema knows as QDateTime, lists of strings as QStringList, the rest as JSON. Counts what is
// read, by name.
class JsonRecord final : public Swamp::Query::Record
{
public:
    explicit JsonRecord(QJsonObject json)
        : m_json(std::move(json))
        , m_attributes(m_json.value(u"attributes"_s).toObject())
        , m_modelType(m_json.value(u"modelType"_s).toString())
    {
    }

    QVariant field(const QString &name) const override
    {
        ++fieldReads[name];
        return m_json.contains(name) ? served(name, m_json.value(name)) : QVariant();
    }
    QVariant attribute(const QString &name) const override
    {
        ++attributeReads[name];
        return m_attributes.contains(name) ? served(name, m_attributes.value(name)) : QVariant();
    }
    QStringList attributeNames() const override
    {
        ++nameReads;
        return m_attributes.keys();
    }

    // What attribute() serves, as a store's row reads its columns: a string as its UTF-8, an
    // integer, null; Unknown for the rest (timestamps, lists, maps, doubles, bools).
    Swamp::Query::Scalar scalar(int id) const override
    {
        using Swamp::Query::Scalar;
        ++scalarReads;
        if (id < 0 || id >= Swamp::Query::attributeIdNames().size())
            return {};
        const QString name = Swamp::Query::attributeIdNames().at(id);
        if (!m_attributes.contains(name))
            return {};
        ++attributeReads[name];
        return scalarOf(served(name, m_attributes.value(name)));
    }

    // A string entry of a map attribute (labels), as the evaluator reads it from the JSON.
    Swamp::Query::Scalar scalarEntry(int id, const QString &key) const override
    {
        ++scalarReads;
        if (id < 0 || id >= Swamp::Query::attributeIdNames().size())
            return {};
        const QString name = Swamp::Query::attributeIdNames().at(id);
        const QJsonValue map = m_attributes.value(name);
        if (!map.isObject() || !map.toObject().value(key).isString())
            return {};
        ++attributeReads[name];
        return Swamp::Query::Scalar::fromString(map.toObject().value(key).toString());
    }

    mutable QHash<QString, int> fieldReads;
    mutable int scalarReads = 0;
    mutable QHash<QString, int> attributeReads;
    mutable int nameReads = 0;

private:
    QVariant served(const QString &name, const QJsonValue &value) const
    {
        using namespace Swamp::Query;
        const bool topLevel = name == u"createdAt" || name == u"updatedAt";
        const bool timestamp = topLevel || Schema::builtin().attributeType(name, {m_modelType}) == FieldType::Timestamp;
        if (value.isNull())
            return QVariant::fromValue(nullptr);
        if (timestamp && value.isString()) {
            const QDateTime at = QDateTime::fromString(value.toString(), Qt::ISODateWithMs);
            if (at.isValid())
                return at;
        }
        if (value.isArray()) {
            const QJsonArray array = value.toArray();
            if (std::all_of(array.begin(), array.end(), [](const QJsonValueConstRef &e) { return e.isString(); })) {
                QStringList strings;
                for (const QJsonValueConstRef element : array)
                    strings << element.toString();
                return strings;
            }
        }
        if (value.isString())
            return value.toString();
        if (value.isBool())
            return value.toBool();
        if (value.isDouble() && value.toDouble() == double(value.toInteger()))
            return value.toInteger();
        return value.toVariant().metaType().id() == QMetaType::Double ? QVariant(value.toDouble())
                                                                     : QVariant::fromValue(value);
    }

    QJsonObject m_json;
    QJsonObject m_attributes;
    QString m_modelType;
};

// Parses and checks `predicate` against the built-in schema; the error code when it fails.
inline std::expected<Swamp::Query::Internal::Program, QString> compiledForTest(const QString &predicate)
{
    using namespace Swamp::Query;
    auto root = Internal::parse(predicate);
    if (!root)
        return std::unexpected(root.error().code);
    Internal::Program program;
    program.source = predicate;
    program.root = std::move(*root);
    if (auto checked = Internal::check(program, Schema::builtin()); !checked)
        return std::unexpected(checked.error().code);
    return program;
}

// Compiles and evaluates; "!code" for an error.
inline QString evaluateToText(const QString &predicate, const QJsonObject &record)
{
    using namespace Swamp::Query;
    auto program = compiledForTest(predicate);
    if (!program)
        return u'!' + program.error();
    auto value = Internal::evaluate(*program, record, now().toMSecsSinceEpoch());
    if (!value)
        return u'!' + value.error().code;
    return describe(*value);
}

// The same on the record served field by field, with the tree as Predicate::compile() leaves it
// (constant lists folded, quick tests marked: they read the record's scalars): the answer must
// not change.
inline QString evaluateRecordToText(const QString &predicate, const QJsonObject &record)
{
    using namespace Swamp::Query;
    auto program = compiledForTest(predicate);
    if (!program)
        return u'!' + program.error();
    Internal::foldConstantLists(*program->root);
    Internal::addQuickTests(*program->root);
    auto value = Internal::evaluate(*program, JsonRecord(record), now().toMSecsSinceEpoch());
    if (!value)
        return u'!' + value.error().code;
    return describe(*value);
}

} // namespace QueryFixtures

#define QVERIFY_RESULT(result)                                                                     \
    do {                                                                                           \
        if (!(result))                                                                             \
            QFAIL(qPrintable(u"%1: %2"_s.arg((result).error().code, (result).error().message)));   \
    } while (false)
