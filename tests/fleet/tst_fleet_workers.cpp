// One worker at a time in a fleet (issue 21): names chosen with `worker connect --name` are
// unique across the orchestrators of one database, `worker show` / `worker list` filters
// answered by any of them see the workers the others hold, and a pause, a label or a removal
// through one reaches the one holding the worker. Two enrollments racing for one name through two
// orchestrators: exactly one wins (the unique index of schema 12).

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
    void labelThroughAnotherOrchestrator();
    void removeThroughAnotherOrchestrator();
    void nameRaceOnTwoOrchestrators();

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
    const auto fleet = m_fleet.twoWithWorkerOnFirst(u"gpu-01"_s);
    QVERIFY(fleet.worker);
    Harness *b = fleet.b;
    const QString token = fleet.token;
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
    const auto fleet = m_fleet.twoWithWorkerOnFirst(u"on-a"_s, {u"--label"_s, u"home=a"_s});
    QVERIFY(fleet.worker);
    Harness *a = fleet.a;
    Harness *b = fleet.b;
    QVERIFY(b->startEnrolledWorker(fleet.token, b->newCacheDir(), u"on-b"_s,
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
    const auto fleet = m_fleet.twoWithWorkerOnFirst(u"on-a"_s);
    QVERIFY(fleet.worker);
    Harness *a = fleet.a;
    Harness *b = fleet.b;
    Child *worker = fleet.worker;
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

void TestFleetWorkers::labelThroughAnotherOrchestrator()
{
    const auto fleet = m_fleet.twoWithWorkerOnFirst(u"on-a"_s, {u"--label"_s, u"region=eu"_s});
    QVERIFY(fleet.worker);
    Harness *a = fleet.a;
    Harness *b = fleet.b;
    // A step for region=mars, submitted through B, waits; labelled through B, A's worker takes it.
    const QString mars = detach(*b, {u"--label"_s, u"region=mars"_s, u"--"_s, u"true"_s});
    QVERIFY(!mars.isEmpty());
    QCOMPARE(stepOf(*b, mars).value(u"waitReason"_s).toObject().value(u"code"_s).toString(), u"no_match"_s);
    QCOMPARE_EXIT(b->cli({u"worker"_s, u"label"_s, u"on-a"_s, u"region=mars"_s}), 0);
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*b, mars), u"succeeded"_s, 30000);
    QCOMPARE(stepOf(*b, mars).value(u"workerName"_s).toString(), u"on-a"_s);
    // Both see the new labels; audited once.
    for (Harness *h : {a, b}) {
        const QJsonObject labels =
            h->cli({u"worker"_s, u"show"_s, u"on-a"_s, u"--json"_s}).json().value(u"worker"_s).toObject().value(u"labels"_s).toObject();
        QCOMPARE(labels, (QJsonObject{{u"region"_s, u"mars"_s}}));
    }
    QCOMPARE(query(*a, u"modelType == \"swamp/audit-event\" && attributes.action == \"worker.label\""_s).size(), 1);
}

void TestFleetWorkers::removeThroughAnotherOrchestrator()
{
    const auto fleet = m_fleet.twoWithWorkerOnFirst(u"on-a"_s);
    QVERIFY(fleet.worker);
    Harness *a = fleet.a;
    Harness *b = fleet.b;
    Child *worker = fleet.worker;
    const QString running = detach(*a, {u"--"_s, u"sleep"_s, u"60"_s});
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*a, running), u"running"_s, 30000);
    // Removed through B: A ends the session, the worker exits 3, its step goes back to the queue.
    const Run removed = b->cli({u"worker"_s, u"remove"_s, u"on-a"_s, u"--reason"_s, u"retired"_s});
    QCOMPARE_EXIT(removed, 0);
    QVERIFY(worker->waitForExit(30000));
    QVERIFY2(worker->exitCode() == 3 && worker->errContains(u"worker on-a was removed by an operator: retired"_s),
             qPrintable(worker->describe()));
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*a, running), u"queued"_s, 30000);
    // Gone on both, also after A wrote the end of its session.
    for (Harness *h : {a, b}) {
        QTRY_COMPARE_WITH_TIMEOUT(h->workerList(true).value(u"workers"_s).toArray().size(), 0, 10000);
        QCOMPARE(h->tokenNamed(u"pool"_s).value(u"bindings"_s).toArray().size(), 0);
    }
    QCOMPARE(query(*a, u"modelType == \"swamp/audit-event\" && attributes.action == \"worker.remove\""_s).size(), 1);
    QCOMPARE_EXIT(a->cli({u"run"_s, u"cancel"_s, running}), 0);
}

void TestFleetWorkers::nameRaceOnTwoOrchestrators()
{
    Harness *a = m_fleet.startOrchestrator();
    QVERIFY(a);
    Harness *b = m_fleet.startOrchestrator();
    QVERIFY(b);
    const QString token = a->createToken(u"pool"_s, {u"--max-enrollments"_s, u"20"_s});
    QVERIFY(!token.isEmpty());
    // Each round, two machines ask for one new name at once, one through each orchestrator:
    // exactly one gets it, the other is refused as the check would have refused it.
    for (int round = 0; round < 5; ++round) {
        const QString name = u"race-%1"_s.arg(round);
        Child *viaA = a->startWorker(token, a->newCacheDir(), {u"--name"_s, name});
        Child *viaB = b->startWorker(token, b->newCacheDir(), {u"--name"_s, name});
        const QString enrolled = u"enrolled as %1 "_s.arg(name);
        QTRY_VERIFY_WITH_TIMEOUT((viaA->outContains(enrolled) || !viaA->isRunning()) && (viaB->outContains(enrolled) || !viaB->isRunning()),
                                 30000);
        QVERIFY2(viaA->outContains(enrolled) != viaB->outContains(enrolled),
                 qPrintable(viaA->describe() + u"\n"_s + viaB->describe()));
        Child *loser = viaA->outContains(enrolled) ? viaB : viaA;
        QVERIFY(loser->waitForExit(30000));
        QVERIFY2(loser->exitCode() == 1 && loser->errContains(u"worker name '%1' is taken by another machine's worker"_s.arg(name)),
                 qPrintable(loser->describe()));
        QJsonArray named;
        for (const QJsonValue &w : b->workerList(true).value(u"workers"_s).toArray()) {
            if (w.toObject().value(u"name"_s).toString() == name)
                named << w;
        }
        QCOMPARE(named.size(), 1);
    }
}

QTEST_GUILESS_MAIN(TestFleetWorkers)
#include "tst_fleet_workers.moc"
