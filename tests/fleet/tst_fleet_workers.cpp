// One worker at a time in a fleet (issue 21): names chosen with `worker connect --name` are
// unique across the orchestrators of one database, `worker show` / `worker list` filters
// answered by any of them see the workers the others hold, and a pause through one reaches the
// one holding the worker.

#include "integration/swampharness.h"
#include "steps/stephelpers.h"
#include "fleetfixture.h"
#include "support/pgserver.h"

#include <QJsonArray>
#include <QTest>

using namespace SwampTest;
using namespace Qt::StringLiterals;

class TestFleetWorkers : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();
    void nameIsUniqueAcrossTheFleet();
    void showAndFiltersSeeTheWholeFleet();
    void pauseThroughAnotherOrchestrator();

private:
    FleetFixture m_fleet;
};

void TestFleetWorkers::initTestCase()
{
    SWAMP_START_POSTGRES(m_fleet.server);
    QVERIFY(m_fleet.writeAdminToken());
}

void TestFleetWorkers::init()
{
    QVERIFY2(m_fleet.newDatabase(), qPrintable(m_fleet.server.errorString()));
}

void TestFleetWorkers::cleanup()
{
    m_fleet.orchestrators.clear(); // kills every child of every harness
}

void TestFleetWorkers::nameIsUniqueAcrossTheFleet()
{
    Harness *a = m_fleet.startOrchestrator();
    QVERIFY(a);
    Harness *b = m_fleet.startOrchestrator();
    QVERIFY(b);
    const QString token = a->createToken(u"pool"_s, {u"--max-enrollments"_s, u"5"_s});
    QVERIFY(!token.isEmpty());
    QVERIFY(a->startEnrolledWorker(token, a->newCacheDir(), u"gpu-01"_s, {u"--name"_s, u"gpu-01"_s}));
    // The same name asked of the other orchestrator, by another machine: refused there too.
    Child *clash = b->startWorker(token, b->newCacheDir(), {u"--name"_s, u"gpu-01"_s});
    QVERIFY(clash->waitForExit(30000));
    QVERIFY2(clash->exitCode() == 1, qPrintable(clash->describe()));
    QVERIFY2(clash->errContains(u"worker name 'gpu-01' is taken by another machine's worker"_s),
             qPrintable(clash->describe()));
    QCOMPARE(b->workerList(true).value(u"workers"_s).toArray().size(), 1);
    QCOMPARE(b->tokenNamed(u"pool"_s).value(u"bindings"_s).toArray().size(), 1);
    QVERIFY(b->startEnrolledWorker(token, b->newCacheDir(), u"gpu-02"_s, {u"--name"_s, u"gpu-02"_s}));
}

void TestFleetWorkers::showAndFiltersSeeTheWholeFleet()
{
    Harness *a = m_fleet.startOrchestrator();
    QVERIFY(a);
    Harness *b = m_fleet.startOrchestrator();
    QVERIFY(b);
    const QString token = a->createToken(u"pool"_s, {u"--max-enrollments"_s, u"5"_s});
    QVERIFY(!token.isEmpty());
    QVERIFY(a->startEnrolledWorker(token, a->newCacheDir(), u"on-a"_s,
                                   {u"--name"_s, u"on-a"_s, u"--label"_s, u"home=a"_s}));
    QVERIFY(b->startEnrolledWorker(token, b->newCacheDir(), u"on-b"_s,
                                   {u"--name"_s, u"on-b"_s, u"--label"_s, u"home=b"_s}));
    // B shows A's worker and says that A holds it.
    const Run shown = b->cli({u"worker"_s, u"show"_s, u"on-a"_s});
    QCOMPARE_EXIT(shown, 0);
    QVERIFY2(shown.out.contains(u"Orchestrator:"_s) && shown.out.contains(u"127.0.0.1:%1"_s.arg(a->port())),
             qPrintable(shown.describe()));
    QVERIFY2(shown.out.contains(u"worker.enrolled"_s), qPrintable(shown.describe()));
    const QJsonObject json = b->cli({u"worker"_s, u"show"_s, u"on-a"_s, u"--json"_s}).json();
    QVERIFY(json.value(u"fleet"_s).toBool());
    QCOMPARE(json.value(u"worker"_s).toObject().value(u"orchestrator"_s).toString(), a->url());
    // Filters answered by A find B's worker.
    const QJsonArray found = a->cli({u"worker"_s, u"list"_s, u"--label"_s, u"home=b"_s, u"--status"_s, u"idle"_s,
                                     u"--json"_s})
                                 .json()
                                 .value(u"workers"_s)
                                 .toArray();
    QCOMPARE(found.size(), 1);
    QCOMPARE(found.first().toObject().value(u"name"_s).toString(), u"on-b"_s);
}

void TestFleetWorkers::pauseThroughAnotherOrchestrator()
{
    Harness *a = m_fleet.startOrchestrator();
    QVERIFY(a);
    Harness *b = m_fleet.startOrchestrator();
    QVERIFY(b);
    const QString token = a->createToken(u"pool"_s, {u"--max-enrollments"_s, u"5"_s});
    QVERIFY(!token.isEmpty());
    Child *worker = a->startEnrolledWorker(token, a->newCacheDir(), u"on-a"_s, {u"--name"_s, u"on-a"_s});
    QVERIFY(worker);
    // Paused through B; A, which holds it, gives it nothing submitted to either.
    QCOMPARE_EXIT(b->cli({u"worker"_s, u"pause"_s, u"on-a"_s, u"--reason"_s, u"maintenance"_s}), 0);
    QTRY_VERIFY_WITH_TIMEOUT(a->cli({u"worker"_s, u"show"_s, u"on-a"_s, u"--json"_s}).json().value(u"worker"_s).toObject().value(u"paused"_s).toBool(),
                             10000);
    for (Harness *h : {a, b}) {
        const QString waiting = detach(*h, {u"--queue-timeout"_s, u"2s"_s, u"--"_s, u"true"_s});
        QVERIFY(!waiting.isEmpty());
        QTRY_COMPARE_WITH_TIMEOUT(stepState(*a, waiting), u"timed_out"_s, 30000);
        QVERIFY(stepOf(*a, waiting).value(u"workerName"_s).toString().isEmpty());
    }
    QVERIFY2(worker->isRunning() && !worker->outContains(u"step started"_s), qPrintable(worker->describe()));
    // Resumed through B: A's worker runs the next step at once.
    QCOMPARE_EXIT(b->cli({u"worker"_s, u"resume"_s, u"on-a"_s}), 0);
    const QString ran = detach(*b, {u"--"_s, u"true"_s});
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*b, ran), u"succeeded"_s, 30000);
    QCOMPARE(stepOf(*b, ran).value(u"workerName"_s).toString(), u"on-a"_s);
    // Audited once, whichever orchestrator is asked.
    QCOMPARE(query(*a, u"modelType == \"swamp/audit-event\" && attributes.workerName == \"on-a\""_s).size(), 2);
}

QTEST_GUILESS_MAIN(TestFleetWorkers)
#include "tst_fleet_workers.moc"
