#pragma once

#include "query/checker_p.h"
#include "query/evaluator_p.h"
#include "query/parser_p.h"
#include "query/predicate.h"
#include "query/value_p.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLocale>
#include <QTest>

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

// Compiles and evaluates; "!code" for an error.
inline QString evaluateToText(const QString &predicate, const QJsonObject &record)
{
    using namespace Swamp::Query;
    auto root = Internal::parse(predicate);
    if (!root)
        return u'!' + root.error().code;
    Internal::Program program;
    program.source = predicate;
    program.root = std::move(*root);
    if (auto checked = Internal::check(program, Schema::builtin()); !checked)
        return u'!' + checked.error().code;
    auto value = Internal::evaluate(program, record, now().toMSecsSinceEpoch());
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
