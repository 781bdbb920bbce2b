// swamp-bench-query: how long a compiled predicate takes over 100,000 synthetic records of mixed
// models. Prints the median of several runs; asserts nothing about time.

#include "query/predicate.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonObject>
#include <QTextStream>

#include <algorithm>
#include <vector>

using namespace Qt::StringLiterals;

namespace {

QString iso(const QDateTime &when)
{
    return when.toUTC().toString(Qt::ISODateWithMs);
}

QList<QJsonObject> makeRecords(int count, const QDateTime &now)
{
    static const QStringList regions{u"eu"_s, u"us"_s, u"ap"_s};
    static const QStringList statuses{u"idle"_s, u"busy"_s, u"draining"_s, u"disconnected"_s};
    static const QStringList states{u"queued"_s, u"running"_s, u"succeeded"_s, u"failed"_s};
    QList<QJsonObject> records;
    records.reserve(count);
    for (int i = 0; i < count; ++i) {
        const QString created = iso(now.addSecs(-86400 + i % 86400));
        QJsonObject attributes;
        QString modelType;
        switch (i % 5) {
        case 0:
            modelType = u"swamp/worker"_s;
            attributes = {{u"status"_s, statuses.at(i / 5 % statuses.size())},
                          {u"platform"_s, u"linux"_s},
                          {u"arch"_s, u"amd64"_s},
                          {u"hostname"_s, u"host-%1"_s.arg(i)},
                          {u"labels"_s, QJsonObject{{u"region"_s, regions.at(i / 5 % 3)},
                                                    {u"os"_s, u"linux"_s}}},
                          {u"capacity"_s, 4},
                          {u"activeSteps"_s, i % 4},
                          {u"draining"_s, false},
                          {u"lastSeenAt"_s, iso(now.addSecs(-(i % 900)))},
                          {u"disconnectedAt"_s, QJsonValue::Null}};
            break;
        case 1:
            modelType = u"swamp/enrollment-token"_s;
            attributes = {{u"state"_s, u"enrolled"_s},
                          {u"expiresAt"_s, iso(now.addDays(7))},
                          {u"maxEnrollments"_s, QJsonValue::Null},
                          {u"enrollments"_s, 1},
                          {u"bindings"_s, QJsonArray{}},
                          {u"labels"_s, QJsonObject{}}};
            break;
        case 2:
            modelType = u"swamp/step"_s;
            attributes = {{u"runId"_s, u"run_%1"_s.arg(i / 50)},
                          {u"state"_s, states.at(i % states.size())},
                          {u"command"_s, QJsonArray{u"make"_s, u"test"_s}},
                          {u"attempt"_s, 1},
                          {u"workerName"_s, u"ci-%1"_s.arg(i % 40)},
                          {u"queuedAt"_s, created}};
            break;
        case 3:
            modelType = u"swamp/step-lease"_s;
            attributes = {{u"stepId"_s, u"stp_%1"_s.arg(i)},
                          {u"workerName"_s, (i % 2 ? u"ci-%1"_s : u"mac-%1"_s).arg(i % 40)},
                          {u"state"_s, i % 3 ? u"completed"_s : u"active"_s},
                          {u"attempt"_s, 1},
                          {u"startedAt"_s, created}};
            break;
        default:
            modelType = u"swamp/run"_s;
            attributes = {{u"state"_s, states.at(i % states.size())},
                          {u"steps"_s, 3},
                          {u"succeeded"_s, 1},
                          {u"failed"_s, 0},
                          {u"finishedAt"_s, QJsonValue::Null}};
            break;
        }
        records << QJsonObject{{u"modelType"_s, modelType},  {u"name"_s, u"record-%1"_s.arg(i)},
                               {u"id"_s, u"id_%1"_s.arg(i)}, {u"createdAt"_s, created},
                               {u"updatedAt"_s, created},    {u"attributes"_s, attributes}};
    }
    return records;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QTextStream out(stdout);
    const QDateTime now = QDateTime::fromString(u"2026-11-24T10:00:00.000Z"_s, Qt::ISODateWithMs);
    constexpr int recordCount = 100000;
    constexpr int runs = 7;
    const QList<QJsonObject> records = makeRecords(recordCount, now);

    const QStringList predicates{
        u"modelType == \"swamp/worker\" && attributes.labels.region == \"eu\" "
        "&& attributes.lastSeenAt < now - duration(\"5m\")"_s,
        u"modelType == \"swamp/step-lease\" && attributes.state == \"active\" "
        "&& attributes.workerName.startsWith(\"ci-\")"_s,
        u"modelType == \"swamp/worker\" && attributes.status == \"idle\""_s,
        u"name.matches(\"^record-[0-9]*7$\")"_s,
        u"true"_s,
        u"modelType == \"swamp/run\""_s,
    };
    for (const QString &text : predicates) {
        const auto predicate = Swamp::Query::Predicate::compile(text);
        if (!predicate) {
            out << "compile error: " << predicate.error().message << Qt::endl;
            return 1;
        }
        std::vector<qint64> timings;
        int matched = 0;
        int errors = 0;
        for (int run = 0; run < runs; ++run) {
            matched = 0;
            errors = 0;
            QElapsedTimer timer;
            timer.start();
            for (const QJsonObject &record : records) {
                const Swamp::Result<bool> result = predicate->matches(record, now);
                if (!result)
                    ++errors;
                else if (*result)
                    ++matched;
            }
            timings.push_back(timer.nsecsElapsed());
        }
        std::sort(timings.begin(), timings.end());
        const double medianMs = double(timings.at(timings.size() / 2)) / 1e6;
        out << text << Qt::endl
            << "  " << recordCount << " records, " << matched << " matched, " << errors
            << " errors: median " << QString::number(medianMs, 'f', 1) << " ms ("
            << QString::number(medianMs * 1e6 / recordCount, 'f', 0) << " ns/record) over " << runs
            << " runs" << Qt::endl;
    }
    return 0;
}
