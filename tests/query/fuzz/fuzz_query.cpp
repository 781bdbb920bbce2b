// libFuzzer harness for the data query language: every input is a predicate (UTF-8). It is
// compiled, and when that succeeds evaluated against one record of each built-in model; errors
// are rendered. Crashes, sanitizer reports and broken invariants (an unknown error code, a
// position outside the predicate) are findings. See docs/query.md for how to run it.

#include "query/predicate.h"
#include "query/render.h"

#include <QDateTime>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSet>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

using namespace Qt::StringLiterals;

namespace {

QList<QJsonObject> records()
{
    static const char *const texts[] = {
        R"({"modelType": "swamp/worker", "name": "ci-linux-1", "id": "wrk_1",
            "createdAt": "2026-11-01T00:00:00.000Z", "updatedAt": "2026-11-24T09:58:00.000Z",
            "attributes": {"status": "idle", "hostname": "build-01", "platform": "linux",
                "labels": {"region": "eu", "größe": "groß"}, "capacity": 4, "activeSteps": 1,
                "draining": false, "lastSeenAt": "2026-11-24T09:50:00.000Z",
                "disconnectedAt": null}})",
        R"({"modelType": "swamp/enrollment-token", "name": "ci", "id": "tok_1",
            "createdAt": "2026-11-01T00:00:00.000Z", "updatedAt": "2026-11-02T00:00:00.000Z",
            "attributes": {"state": "enrolled", "expiresAt": "2026-12-01T00:00:00.000Z",
                "maxEnrollments": null, "enrollments": 2, "labels": {},
                "bindings": [{"machineId": "m1", "workerName": "ci-linux-1",
                              "enrolledAt": "2026-11-01T00:00:00.000Z"}]}})",
        R"({"modelType": "swamp/step", "name": "build", "id": "stp_1",
            "createdAt": "2026-11-24T09:00:00.000Z", "updatedAt": "not a time",
            "attributes": {"state": "running", "command": ["make", "test"], "exitCode": null,
                "attempt": 1, "startedAt": "bad", "timeoutSeconds": 1e300}})",
    };
    QList<QJsonObject> list;
    for (const char *text : texts)
        list << QJsonDocument::fromJson(QByteArray(text)).object();
    return list;
}

void checkError(const Swamp::Error &error, const QString &predicate)
{
    static const QSet<QString> codes{
        u"query_syntax"_s,   u"query_unknown_field"_s, u"query_type"_s,   u"query_too_long"_s,
        u"query_too_deep"_s, u"query_budget"_s,        u"query_runtime"_s};
    if (!codes.contains(error.code) || error.message.isEmpty()) {
        std::fprintf(stderr, "bad error: %s %s\n", qPrintable(error.code),
                     qPrintable(error.message));
        std::abort();
    }
    if (error.details.contains(u"position")) {
        const qint64 position = error.details.value(u"position").toInteger(-1);
        const qint64 length = error.details.value(u"length").toInteger(-1);
        if (position < 0 || position > predicate.size() || length < 1) {
            std::fprintf(stderr, "bad position %lld/%lld in %s\n", (long long)position,
                         (long long)length, qPrintable(predicate));
            std::abort();
        }
    }
    (void)Swamp::Query::renderError(error, predicate);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const QList<QJsonObject> fixed = records();
    static const QDateTime now =
        QDateTime::fromString(u"2026-11-24T10:00:00.000Z"_s, Qt::ISODateWithMs);
    const QString predicate =
        QString::fromUtf8(reinterpret_cast<const char *>(data), qsizetype(size));
    const auto compiled = Swamp::Query::Predicate::compile(predicate);
    if (!compiled) {
        checkError(compiled.error(), predicate);
        return 0;
    }
    (void)compiled->modelTypes();
    (void)compiled->attributeEqualities();
    QJsonArray values;
    for (const QJsonObject &record : fixed) {
        const auto matched = compiled->matches(record, now);
        if (!matched)
            checkError(matched.error(), predicate);
        const auto value = compiled->evaluate(record, now);
        if (value)
            values.append(*value);
        else
            checkError(value.error(), predicate);
    }
    (void)Swamp::Query::renderSelection(values);
    return 0;
}
