// Retention and audit end to end, with real processes: `swamp serve --retention` removing 1,200
// old steps with their leases and output in batches while a queued and a running step survive,
// and the audit trail of token create and revoke. Pruning workers: tst_prune.
#include "steps/stephelpers.h"

#include "common/duration.h"

#include <QDeadlineTimer>
#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace SwampTest;

class tst_Retention : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void retentionRemovesOldStepsInBatches();
    void tokenCreateAndRevokeAreAudited();

private:
    std::unique_ptr<Harness> h;
};

namespace {
// Open steps (queued, dispatched, running), counted by the orchestrator.
int openSteps(Harness &h)
{
    return h
        .cli(
            {u"data"_s, u"query"_s,
             u"modelType == \"swamp/step\" && attributes.state in [\"queued\", \"dispatched\", \"running\"]"_s,
             u"--json"_s, u"--limit"_s, u"0"_s})
        .json()
        .value(u"total"_s)
        .toInt(-1);
}
} // namespace

void tst_Retention::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    h = std::make_unique<Harness>();
}

void tst_Retention::cleanup()
{
    h.reset();
}

void tst_Retention::retentionRemovesOldStepsInBatches()
{
    constexpr int Steps = 1200;
    QVERIFY(h->startOrchestrator()); // the default retention: 24h
    const quint16 port = h->port();
    const QString token = h->createToken(u"fleet"_s, {u"--max-enrollments"_s, u"unlimited"_s});
    QVERIFY(!token.isEmpty());
    for (int i = 0; i < 2; ++i)
        QVERIFY(h->startEnrolledWorker(token, h->newCacheDir(), {}, {u"--concurrency"_s, u"8"_s}));

    // 1,200 steps, each with one lease and one output chunk.
    const QString path = h->tempPath(u"many.json"_s);
    {
        QJsonArray steps;
        for (int i = 0; i < Steps; ++i)
            steps << QJsonObject{{u"name"_s, u"s%1"_s.arg(i)},
                                 {u"command"_s, QJsonArray{u"echo"_s, u"line %1"_s.arg(i)}}};
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(
            QJsonDocument(QJsonObject{{u"name"_s, u"many"_s}, {u"steps"_s, steps}}).toJson());
    }
    const Run submitted = h->cli({u"run"_s, u"--file"_s, path, u"--detach"_s});
    QCOMPARE_EXIT(submitted, 0);
    QCOMPARE(submitted.outLines().size(), Steps);
    const QString sample = submitted.outLines().at(Steps / 2).trimmed();
    QTRY_COMPARE_WITH_TIMEOUT(openSteps(*h), 0, 180000);
    QCOMPARE(total(*h, u"modelType == \"swamp/step\" && attributes.state == \"succeeded\""_s),
             Steps);
    QCOMPARE(total(*h, u"modelType == \"swamp/step-lease\" && attributes.state == \"completed\""_s),
             Steps);
    const Run sampleLogs = h->cli({u"run"_s, u"logs"_s, sample});
    QCOMPARE_EXIT(sampleLogs, 0);
    QCOMPARE(sampleLogs.out, u"line %1\n"_s.arg(Steps / 2));
    // A step no worker matches: queued across the restart and every retention pass.
    const QString queued = detach(*h, {u"--label"_s, u"nowhere=1"_s, u"--queue-timeout"_s, u"1h"_s,
                                       u"--"_s, u"echo"_s, u"never"_s});
    QVERIFY(!queued.isEmpty());

    // The same data dir with a retention of 1s: the first pass removes all of it, in batches.
    // Every step must be older than that retention by then: the last ones may have just ended.
    QDeadlineTimer olderThanRetention(1500);
    QTRY_VERIFY_WITH_TIMEOUT(olderThanRetention.hasExpired(), 5000);
    QVERIFY(h->stopOrchestrator());
    QCOMPARE(h->orchestrator()->exitCode(), 0);
    QVERIFY(h->startOrchestrator(port, {u"--retention"_s, u"1s"_s}));
    static const QRegularExpression summary(
        u"retention: removed (\\d+) step\\(s\\), (\\d+) lease\\(s\\), (\\d+) output chunk\\(s\\), "
        u"(\\d+) run\\(s\\) "
        "and (\\d+) event\\(s\\) older than 1s in (\\d+) batch\\(es\\) \\(longest (\\d+) ms\\)"_s);
    QRegularExpressionMatch pass;
    QTRY_VERIFY_WITH_TIMEOUT((pass = summary.match(h->orchestrator()->out())).hasMatch(), 30000);
    QCOMPARE(pass.captured(1).toInt(), Steps);
    QCOMPARE(pass.captured(2).toInt(), Steps);
    QCOMPARE(pass.captured(3).toInt(), Steps);
    QCOMPARE(pass.captured(4).toInt(), 1); // "many"; the queued step's run stays
    QVERIFY2(pass.captured(5).toInt() >= Steps, qPrintable(pass.captured(0))); // 4 events a step
    // Batches of 500 rows, a step being 3 (itself, its lease, its chunk), then the events.
    QVERIFY2(pass.captured(6).toInt() >= 8 + 10, qPrintable(pass.captured(0)));
    qInfo("%s", qPrintable(pass.captured(0)));

    QCOMPARE(total(*h, u"modelType == \"swamp/step\""_s), 1);
    QCOMPARE(stepState(*h, queued), u"queued"_s);
    QCOMPARE(total(*h, u"modelType == \"swamp/step-lease\""_s), 0);
    QCOMPARE(total(*h, u"modelType == \"swamp/run\""_s), 1);
    const Run goneLogs = h->cli({u"run"_s, u"logs"_s, sample});
    QCOMPARE_EXIT(goneLogs, 1);

    // A running step survives every pass while short steps around it come and go.
    QTRY_COMPARE_WITH_TIMEOUT(h->workerList(false).value(u"count"_s).toInt(), 2, 30000);
    const QString running = detach(*h, {u"--"_s, u"sh"_s, u"-c"_s, u"echo started; sleep 60"_s});
    QVERIFY(!running.isEmpty());
    QTRY_VERIFY_WITH_TIMEOUT(h->cli({u"run"_s, u"logs"_s, running}).out.contains(u"started"_s),
                             30000);
    QStringList shortSteps;
    for (int i = 0; i < 3; ++i) {
        const Run shortStep = h->cli({u"run"_s, u"--"_s, u"echo"_s, u"short"_s});
        QCOMPARE_EXIT(shortStep, 0);
    }
    QCOMPARE(total(*h, u"modelType == \"swamp/step\""_s), 5);
    // They end, and a later pass (every second) removes them.
    QTRY_COMPARE_WITH_TIMEOUT(total(*h, u"modelType == \"swamp/step\""_s), 2, 30000);
    QCOMPARE(stepState(*h, running), u"running"_s);
    QCOMPARE(stepState(*h, queued), u"queued"_s);
    QCOMPARE(total(*h, u"modelType == \"swamp/step-lease\" && attributes.state == \"active\""_s),
             1);
    QVERIFY(h->cli({u"run"_s, u"logs"_s, running}).out.contains(u"started"_s));
    // The audit trail is kept: the token was created long before the retention.
    QCOMPARE(
        total(*h, u"modelType == \"swamp/audit-event\" && attributes.tokenName == \"fleet\""_s), 1);
    QCOMPARE_EXIT(h->cli({u"run"_s, u"cancel"_s, running}), 0);
}

void tst_Retention::tokenCreateAndRevokeAreAudited()
{
    QVERIFY(h->startOrchestrator());
    Run created;
    QVERIFY(!h->createToken(u"ci"_s, {u"--reason"_s, u"ticket OPS-42"_s}, &created).isEmpty());
    const Run revoked = h->cli(
        {u"worker"_s, u"token"_s, u"revoke"_s, u"ci"_s, u"--reason"_s, u"leaked in a build log"_s});
    QCOMPARE_EXIT(revoked, 0);
    QCOMPARE_EXIT(h->cli({u"worker"_s, u"token"_s, u"revoke"_s, u"ci"_s}),
                  0); // a no-op: not audited

    QFile adminJson(h->dataDir() + u"/admin.json"_s);
    QVERIFY(adminJson.open(QIODevice::ReadOnly));
    const QString adminToken =
        QJsonDocument::fromJson(adminJson.readAll()).object().value(u"adminToken"_s).toString();
    QVERIFY(!adminToken.isEmpty());
    const QString version =
        h->cli({u"version"_s, u"--json"_s}).json().value(u"version"_s).toString();

    const Run list = h->cli({u"worker"_s, u"token"_s, u"list"_s, u"--json"_s});
    QCOMPARE_EXIT(list, 0);
    QVERIFY(!list.out.contains(adminToken));
    const QJsonArray audit = h->tokenNamed(u"ci"_s).value(u"audit"_s).toArray();
    QCOMPARE(audit.size(), 2);
    const QStringList actions{u"token.create"_s, u"token.revoke"_s};
    const QStringList reasons{u"ticket OPS-42"_s, u"leaked in a build log"_s};
    for (int i = 0; i < 2; ++i) {
        const QJsonObject entry = audit.at(i).toObject();
        QCOMPARE(entry.value(u"action"_s).toString(), actions.at(i));
        QCOMPARE(entry.value(u"address"_s).toString(), u"127.0.0.1"_s);
        QCOMPARE(entry.value(u"reason"_s).toString(), reasons.at(i));
        QVERIFY(Swamp::parseIsoUtc(entry.value(u"at"_s).toString()).isValid());
        const QJsonObject client = entry.value(u"client"_s).toObject();
        QCOMPARE(client.value(u"name"_s).toString(), u"swamp/"_s + version);
        QVERIFY2(QRegularExpression(u"^sha256:[0-9a-f]{16}$"_s)
                     .match(client.value(u"adminKey"_s).toString())
                     .hasMatch(),
                 qPrintable(client.value(u"adminKey"_s).toString()));
    }

    const Run everything =
        h->cli({u"data"_s, u"query"_s, u"modelType == \"swamp/audit-event\""_s, u"--json"_s});
    QCOMPARE_EXIT(everything, 0);
    QVERIFY(!everything.out.contains(adminToken));
    const QJsonArray records = everything.json().value(u"results"_s).toArray();
    QCOMPARE(records.size(), 2);
    const QJsonObject first = records.at(0).toObject();
    QCOMPARE(first.value(u"modelType"_s).toString(), u"swamp/audit-event"_s);
    QCOMPARE(first.value(u"name"_s).toString(), u"ci"_s);
    QCOMPARE(first.value(u"createdAt"_s), first.value(u"attributes"_s).toObject().value(u"at"_s));
    const QJsonObject attributes = first.value(u"attributes"_s).toObject();
    QCOMPARE(attributes.value(u"action"_s).toString(), u"token.create"_s);
    QCOMPARE(attributes.value(u"tokenName"_s).toString(), u"ci"_s);
    QCOMPARE(attributes.value(u"address"_s).toString(), u"127.0.0.1"_s);
    QCOMPARE(attributes.value(u"reason"_s).toString(), u"ticket OPS-42"_s);

    const QJsonArray revokes =
        query(*h, u"modelType == \"swamp/audit-event\" && attributes.action == \"token.revoke\" "
                  "&& attributes.client.name.startsWith(\"swamp/\")"_s);
    QCOMPARE(revokes.size(), 1);
    QCOMPARE(
        revokes.first().toObject().value(u"attributes"_s).toObject().value(u"reason"_s).toString(),
        u"leaked in a build log"_s);
    const Run table = h->cli({u"data"_s, u"query"_s, u"modelType == \"swamp/audit-event\""_s});
    QCOMPARE_EXIT(table, 0);
    QVERIFY2(table.out.contains(u"action=token.revoke"_s) &&
                 table.out.contains(u"reason=leaked in a build log"_s) &&
                 table.out.contains(u"address=127.0.0.1"_s),
             qPrintable(table.describe()));
    // The checker knows the model's fields.
    const Run typo = h->cli({u"data"_s, u"query"_s,
                             u"modelType == \"swamp/audit-event\" && attributes.reasn == \"x\""_s});
    QCOMPARE_EXIT(typo, 2);
    QVERIFY2(typo.err.contains(u"did you mean \"reason\""_s), qPrintable(typo.describe()));
}

QTEST_GUILESS_MAIN(tst_Retention)
#include "tst_retention.moc"
