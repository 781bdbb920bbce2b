// data.query over many steps and leases (server/queryservice.h), in-process: results come in
// the order of their creation whatever order the store reads the rows in, a limit keeps the
// first ones (also when every row read is earlier than the last kept, which replaces it), a
// --select error fails the query, and every result's text is its record's as Qt writes it.
// tst_query_cli asks the same of a real orchestrator, with a few records.
#include "serverfixture.h"
#include "testsupport.h"

#include "query/answer.h"
#include "server/queryservice.h"
#include "server/stateview.h"

#include <QJsonArray>
#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp;

class tst_QueryService : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void resultsComeInCreationOrder();
    void aLimitKeepsTheFirstWhateverTheReadOrder();
    void aSelectErrorFailsTheQuery();
    void theReplyFrameHoldsTheAnswer();
    void theRowsFormRebuildsAsTheRecords();

private:
    // `count` finished steps (and a lease each) whose creation goes backwards as they are
    // inserted (rowid order is the reverse of the results'), each named with `padding`; but the
    // first `earliestFirst` of them are the earliest of all.
    void insertBackwards(int count, const QString &padding = {}, int earliestFirst = 0);
    QJsonObject query(const QString &predicate, qint64 limit = -1, const QString &select = {}, bool rows = false);
    static QStringList ids(const QJsonObject &answer);

    ServerParts m_parts;
    std::unique_ptr<StateView> m_view;
    std::unique_ptr<QueryService> m_query;
    QList<StepRecord> m_steps; // in creation order
};

void tst_QueryService::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    QVERIFY(m_parts.open());
    m_view = std::make_unique<StateView>(m_parts.store.get(), m_parts.sessions.get(), m_parts.scheduler.get(), QString());
    m_query = std::make_unique<QueryService>(m_parts.store.get(), m_view.get());
    m_steps.clear();
}

void tst_QueryService::cleanup()
{
    m_query.reset();
    m_view.reset();
    m_parts.close();
}

void tst_QueryService::insertBackwards(int count, const QString &padding, int earliestFirst)
{
    const QDateTime at = QDateTime::fromMSecsSinceEpoch(1795514400000, Qt::UTC);
    QVERIFY_RESULT(m_parts.store->insertRun({u"run-1"_s, u"r"_s, StepState::Succeeded, at, at, {}}));
    QList<StepRecord> steps;
    for (int i = 0; i < count; ++i) {
        StepRecord s;
        s.id = u"step-%1"_s.arg(i, 5, 10, QChar(u'0'));
        s.runId = u"run-1"_s;
        s.seq = i % 3; // ties of created at are ordered by seq
        s.spec.name = u"s%1 \"%2\" %3"_s.arg(i).arg(i % 2 ? u"eu"_s : u"us"_s, padding);
        s.spec.command = {u"true"_s};
        s.spec.requirement.labels = {{u"region"_s, i % 2 ? u"eu"_s : u"us"_s}};
        s.state = i % 7 == 0 ? StepState::Failed : StepState::Succeeded;
        s.exitCode = i % 7 == 0 ? 2 : 0;
        s.attempt = 1;
        s.workerName = u"w-%1"_s.arg(i % 10);
        // Three at each instant, the later inserted the earlier created.
        s.queuedAt = s.createdAt = s.startedAt = at.addMSecs(qint64(count - i / 3 * 3) * 10);
        if (i < earliestFirst)
            s.queuedAt = s.createdAt = s.startedAt = at.addSecs(i - earliestFirst);
        s.finishedAt = s.updatedAt = s.createdAt.addSecs(1);
        QVERIFY_RESULT(m_parts.store->insertStep(s));
        LeaseRecord l;
        l.id = u"lease-%1"_s.arg(i, 5, 10, QChar(u'0'));
        l.stepId = s.id;
        l.runId = s.runId;
        l.workerId = u"worker-1"_s;
        l.workerName = s.workerName;
        l.attempt = 1;
        l.state = LeaseState::Completed;
        l.createdAt = l.startedAt = s.startedAt;
        l.endedAt = l.updatedAt = s.finishedAt;
        QVERIFY_RESULT(m_parts.store->insertLease(l));
        steps << s;
    }
    std::stable_sort(steps.begin(), steps.end(), [](const StepRecord &a, const StepRecord &b) {
        return std::pair(a.createdAt, a.seq) < std::pair(b.createdAt, b.seq);
    });
    m_steps = steps;
}

QJsonObject tst_QueryService::query(const QString &predicate, qint64 limit, const QString &select, bool rows)
{
    QJsonObject params{{u"predicate"_s, predicate}, {u"limit"_s, limit}, {u"rows"_s, rows}};
    if (!select.isEmpty())
        params.insert(u"select"_s, select);
    auto answer = m_query->dataQuery(params);
    if (!answer) {
        qWarning().noquote() << "data.query failed:" << answer.error().message;
        return {};
    }
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(*answer, &error);
    if (error.error != QJsonParseError::NoError)
        qWarning().noquote() << "data.query's answer is no JSON:" << error.errorString();
    return document.object();
}

QStringList tst_QueryService::ids(const QJsonObject &answer)
{
    QStringList ids;
    for (const QJsonValue &result : answer.value(u"results"_s).toArray())
        ids << result[u"id"_s].toString();
    return ids;
}

void tst_QueryService::resultsComeInCreationOrder()
{
    insertBackwards(300);
    QStringList expected;
    for (const StepRecord &s : std::as_const(m_steps)) {
        if (s.spec.requirement.labels.value(u"region"_s) == u"eu")
            expected << s.id;
    }
    // Nothing pushed down: every row read, in the store's (the reverse) order.
    const QJsonObject answer = query(u"modelType == \"swamp/step\" && attributes.labels.region == \"eu\""_s);
    QCOMPARE(answer.value(u"total"_s).toInteger(), 150);
    QCOMPARE(ids(answer), expected);
    // Each result is its record, as the store's records write it.
    const QJsonArray results = answer.value(u"results"_s).toArray();
    for (const StepRecord &s : std::as_const(m_steps)) {
        if (s.id != expected.first())
            continue;
        QCOMPARE(results.first()[u"attributes"_s].toObject(), s.toJson());
        QCOMPARE(results.first()[u"name"_s].toString(), s.spec.name);
        QCOMPARE(results.first()[u"modelType"_s].toString(), u"swamp/step"_s);
    }
    // Steps, then leases, each in their order (the leases' by created at alone, then as read).
    const QJsonObject both = query(u"modelType in [\"swamp/step\", \"swamp/step-lease\"] && attributes.workerName == \"w-3\""_s);
    const QStringList found = ids(both);
    QCOMPARE(found.size(), 60);
    QVERIFY(std::all_of(found.cbegin(), found.cbegin() + 30, [](const QString &id) { return id.startsWith(u"step-"_s); }));
    QVERIFY(std::all_of(found.cbegin() + 30, found.cend(), [](const QString &id) { return id.startsWith(u"lease-"_s); }));
    QStringList stepsOfW3;
    for (const StepRecord &s : std::as_const(m_steps)) {
        if (s.workerName == u"w-3")
            stepsOfW3 << s.id;
    }
    QCOMPARE(found.mid(0, 30), stepsOfW3);
}

void tst_QueryService::aLimitKeepsTheFirstWhateverTheReadOrder()
{
    // Past the first two, every row read is earlier than the latest kept so far: each replaces
    // one, and the texts of those dropped (over a MB of them) are let go on the way; the first
    // two stay.
    insertBackwards(3000, QString(600, u'x'), 2);
    const QJsonObject answer = query(u"modelType == \"swamp/step\" && attributes.attempt == 1"_s, 5);
    QCOMPARE(answer.value(u"total"_s).toInteger(), 3000);
    QCOMPARE(answer.value(u"limited"_s).toBool(), true);
    QStringList expected;
    for (int i = 0; i < 5; ++i)
        expected << m_steps.at(i).id;
    QCOMPARE(ids(answer), expected);
    QCOMPARE(answer.value(u"results"_s).toArray().at(4)[u"attributes"_s].toObject(), m_steps.at(4).toJson());

    // A limit of none counts and keeps nothing; one above the total keeps them all, in order.
    const QJsonObject none = query(u"modelType == \"swamp/step-lease\""_s, 0);
    QCOMPARE(none.value(u"total"_s).toInteger(), 3000);
    QVERIFY(none.value(u"results"_s).toArray().isEmpty());
    const QJsonObject all = query(u"modelType == \"swamp/step\" && attributes.state == \"failed\""_s, 10000);
    QCOMPARE(all.value(u"limited"_s).toBool(), false);
    QStringList failed;
    for (const StepRecord &s : std::as_const(m_steps)) {
        if (s.state == StepState::Failed)
            failed << s.id;
    }
    QCOMPARE(ids(all), failed);
}

void tst_QueryService::aSelectErrorFailsTheQuery()
{
    insertBackwards(30);
    // A --select projects each result; one it cannot evaluate fails the query, whichever row.
    const QJsonObject selected = query(u"modelType == \"swamp/step\""_s, -1, u"attributes.exitCode"_s);
    QCOMPARE(selected.value(u"results"_s).toArray().size(), 30);
    QCOMPARE(selected.value(u"results"_s).toArray().first().toInteger(), m_steps.first().exitCode.value());
    auto failed = m_query->dataQuery({{u"predicate"_s, u"modelType == \"swamp/step\""_s},
                                      {u"select"_s, u"attributes.labels.missing"_s}});
    QVERIFY(!failed);
    QVERIFY2(failed.error().message.contains(u"missing"_s), qPrintable(failed.error().message));
}

void tst_QueryService::theReplyFrameHoldsTheAnswer()
{
    insertBackwards(10);
    // The admin service hands the reply's frame so far; the answer is appended to it.
    auto framed = m_query->dataQuery({{u"predicate"_s, u"modelType == \"swamp/step\""_s}},
                                     QByteArray(R"({"type":"result","id":"1","result":)"));
    QVERIFY_RESULT(framed);
    QJsonParseError error;
    const QJsonObject frame = QJsonDocument::fromJson(*framed + '}', &error).object();
    QCOMPARE(error.error, QJsonParseError::NoError);
    QCOMPARE(frame.value(u"id"_s).toString(), u"1"_s);
    QCOMPARE(ids(frame.value(u"result"_s).toObject()).size(), 10);
}

// The rows form (protocol.md), rebuilt by the client, is the records form's answer: the same
// results in the same order, with a limit (results kept aside and ordered), with the few models
// written as records between the rows, and with a --select (whose values are written as they are).
void tst_QueryService::theRowsFormRebuildsAsTheRecords()
{
    // Nothing stored yet: an equality on state is planned on empty tables too (no highest rowid).
    for (const bool rows : {false, true}) {
        const QJsonObject none = query(u"modelType in [\"swamp/step\", \"swamp/step-lease\"] && attributes.state == \"failed\""_s,
                                       -1, {}, rows);
        QCOMPARE(none.value(u"total"_s).toInteger(-1), 0);
    }
    insertBackwards(400, u"\"ü\\"_s, 3);
    const QList<std::tuple<QString, qint64, QString>> queries{
        {u"modelType == \"swamp/step\" && attributes.labels.region == \"eu\""_s, -1, {}},
        {u"modelType in [\"swamp/run\", \"swamp/step\", \"swamp/step-lease\"] && id != \"\""_s, -1, {}},
        {u"modelType in [\"swamp/step\", \"swamp/step-lease\"] && attributes.workerName == \"w-3\""_s, 7, {}},
        {u"modelType == \"swamp/step-lease\""_s, 0, {}},
        {u"modelType == \"swamp/step\" && attributes.state == \"failed\""_s, -1, u"attributes"_s},
        {u"modelType == \"swamp/step\" && attributes.exitCode == 99"_s, -1, {}},
    };
    for (const auto &[predicate, limit, select] : queries) {
        const QJsonObject records = query(predicate, limit, select);
        const QJsonObject rows = query(predicate, limit, select, true);
        QVERIFY2(records.value(u"total"_s).toInteger() > 0 || predicate.contains(u"99"_s), qPrintable(predicate));
        // Rows only where records of steps and leases are written: never with --select.
        QCOMPARE(rows.contains(u"tables"_s), select.isEmpty());
        auto rebuilt = Query::answerWithRecords(rows);
        QVERIFY_RESULT(rebuilt);
        QCOMPARE(*rebuilt, records);
    }
    // Only a JSON true asks for rows: anything else in "rows" gets the records form, which every
    // client reads.
    for (const QJsonValue &notTrue : {QJsonValue(u"true"_s), QJsonValue(1), QJsonValue(QJsonObject{}), QJsonValue(false)}) {
        auto answer = m_query->dataQuery({{u"predicate"_s, u"modelType == \"swamp/step\""_s}, {u"rows"_s, notTrue}, {u"limit"_s, 1}});
        QVERIFY_RESULT(answer);
        const QJsonObject records = QJsonDocument::fromJson(*answer).object();
        QVERIFY(!records.contains(u"tables"_s));
        QVERIFY(records.value(u"results"_s).toArray().first().isObject());
    }
    // Nothing but the run's record (after the steps and leases) is an object in the rows form of
    // the mixed query.
    const QJsonArray mixed = query(std::get<0>(queries.at(1)), -1, {}, true).value(u"results"_s).toArray();
    QCOMPARE(mixed.size(), 801);
    QVERIFY(mixed.last().isObject());
    QVERIFY(std::all_of(mixed.begin(), mixed.end() - 1, [](const QJsonValue &v) { return v.isArray(); }));
}

QTEST_GUILESS_MAIN(tst_QueryService)
#include "tst_queryservice.moc"
