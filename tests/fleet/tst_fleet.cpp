// Several orchestrators on one PostgreSQL database (a fleet), as operators run them: real
// `swamp serve` processes on 127.0.0.1 sharing a real PostgreSQL server started by the test,
// real workers, and the CLI talking to any of them.

#include "integration/swampharness.h"
#include "steps/stephelpers.h"
#include "fleetfixture.h"
#include "support/pgserver.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QSet>
#include <QTest>
#include <QUrl>

#include <csignal>
#include <memory>

using namespace SwampTest;
using namespace Qt::StringLiterals;

class TestFleet : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();
    void stepsCrossOrchestrators();
    void revokeCutsOffEverywhere();
    void extendReachesEverywhere();
    void killedOrchestratorIsTakenOver();
    void pausedOrchestratorIsFenced();
    void aRowLockHeldElsewhereDelaysTheCommitNotTheOrchestrator();
    void aCommitTheServerRefusesIsNeverAcknowledged();

private:

    FleetFixture m_fleet;
};

void TestFleet::initTestCase()
{
    SWAMP_START_POSTGRES(m_fleet.server);
    QVERIFY(m_fleet.writeAdminToken());
}

void TestFleet::init()
{
    QVERIFY2(m_fleet.newDatabase(), qPrintable(m_fleet.server.errorString()));
}

void TestFleet::cleanup()
{
    m_fleet.orchestrators.clear(); // kills every child of every harness
}

void TestFleet::stepsCrossOrchestrators()
{
    Harness *a = m_fleet.startOrchestrator();
    QVERIFY(a);
    Harness *b = m_fleet.startOrchestrator();
    QVERIFY(b);
    QVERIFY(!a->orchestratorOutput().contains(m_fleet.server.password()));

    // A token made through A enrolls a worker on B: one fleet, one set of tokens.
    const QString token = a->createToken(u"fleet"_s, {u"--max-enrollments"_s, u"10"_s});
    QVERIFY(!token.isEmpty());
    Child *onA = a->startEnrolledWorker(token, a->newCacheDir(), {}, {u"--label"_s, u"home=a"_s});
    QVERIFY(onA);
    Child *onB = b->startEnrolledWorker(token, b->newCacheDir(), {}, {u"--label"_s, u"home=b"_s});
    QVERIFY(onB);
    const QString nameA = Harness::enrolledName(onA);
    const QString nameB = Harness::enrolledName(onB);

    // Either orchestrator lists the whole fleet and says who holds each worker.
    for (Harness *h : {a, b}) {
        const QJsonObject list = h->workerList(false);
        QCOMPARE(list.value(u"count"_s).toInt(), 2);
        QVERIFY(list.value(u"fleet"_s).toBool());
        QCOMPARE(list.value(u"orchestrators"_s).toArray().size(), 2);
        QCOMPARE(FleetFixture::workerIn(list, nameA).value(u"orchestrator"_s).toString(), a->url());
        QCOMPARE(FleetFixture::workerIn(list, nameB).value(u"orchestrator"_s).toString(), b->url());
    }
    const Run table = b->cli({u"worker"_s, u"list"_s});
    QCOMPARE(table.exitCode, 0);
    QVERIFY2(table.out.contains(u"ORCHESTRATOR"_s), qPrintable(table.out));
    QVERIFY2(table.out.contains(u"127.0.0.1:%1"_s.arg(a->port())), qPrintable(table.out));

    // Submitted to A, placed on B's worker; the output streams back through A.
    const Run run = a->cli({u"run"_s, u"--label"_s, u"home=b"_s, u"--"_s, u"sh"_s, u"-c"_s, u"echo from-b; exit 3"_s});
    QCOMPARE(run.exitCode, 3);
    QVERIFY2(run.out.contains(u"from-b"_s), qPrintable(run.describe()));
    QVERIFY2(run.err.contains(nameB) || run.out.contains(nameB), qPrintable(run.describe()));

    // Submitted to B, run on A's worker, detached; B and A agree on its end.
    const QString stepId = detach(*b, {u"--label"_s, u"home=a"_s, u"--"_s, u"true"_s});
    QVERIFY(!stepId.isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*a, stepId), u"succeeded"_s, 30000);
    QCOMPARE(stepState(*b, stepId), u"succeeded"_s);
    QCOMPARE(stepOf(*b, stepId).value(u"workerName"_s).toString(), nameA);

    // Queries answered by either see every record.
    for (Harness *h : {a, b}) {
        QCOMPARE(query(*h, u"modelType == \"swamp/step\""_s).size(), 2);
        QCOMPARE(query(*h, u"modelType == \"swamp/worker\""_s).size(), 2);
    }
    // Drain through A a worker B holds: B applies it.
    QCOMPARE(a->cli({u"worker"_s, u"drain"_s, nameB}).exitCode, 0);
    QTRY_VERIFY_WITH_TIMEOUT(onB->waitForExit(100), 30000);
    QCOMPARE(onB->exitCode(), 0);
    QVERIFY(!b->orchestratorOutput().contains(m_fleet.server.password()));
}

void TestFleet::revokeCutsOffEverywhere()
{
    Harness *a = m_fleet.startOrchestrator();
    QVERIFY(a);
    Harness *b = m_fleet.startOrchestrator();
    QVERIFY(b);
    const QString token = a->createToken(u"doomed"_s);
    QVERIFY(!token.isEmpty());
    Child *onB = b->startEnrolledWorker(token, b->newCacheDir());
    QVERIFY(onB);
    const QString name = Harness::enrolledName(onB);

    const Run revoke = a->cli({u"worker"_s, u"token"_s, u"revoke"_s, u"doomed"_s, u"--json"_s});
    QCOMPARE(revoke.exitCode, 0);
    QVERIFY2(revoke.json().value(u"disconnected"_s).toArray().contains(name), qPrintable(revoke.out));
    // B cuts its worker off at once: the worker stops with the revoked message (permanent).
    QTRY_VERIFY_WITH_TIMEOUT(!onB->isRunning(), 10000);
    QCOMPARE(onB->exitCode(), 1);
    QVERIFY2(onB->outputContains(u"revoked"_s), qPrintable(onB->describe()));
    QTRY_COMPARE_WITH_TIMEOUT(a->workerStatus(name), u"disconnected"_s, 10000);
}

void TestFleet::extendReachesEverywhere()
{
    Harness *a = m_fleet.startOrchestrator();
    QVERIFY(a);
    Harness *b = m_fleet.startOrchestrator();
    QVERIFY(b);
    const QString token = a->createToken(u"short"_s, {u"--duration"_s, u"8s"_s});
    QVERIFY(!token.isEmpty());
    Child *onB = b->startEnrolledWorker(token, b->newCacheDir());
    QVERIFY(onB);
    const QString name = Harness::enrolledName(onB);
    // A running step keeps the worker draining (not gone) once the token expired on B.
    QCOMPARE(a->cli({u"run"_s, u"--detach"_s, u"--target"_s, name, u"--"_s, u"sleep"_s, u"120"_s}).exitCode, 0);
    QTRY_VERIFY_WITH_TIMEOUT(onB->outputContains(u"draining: enrollment token 'short' has expired"_s), 30000);

    // Extended through A: B moves its session and undrains the worker.
    const Run extend = a->cli({u"worker"_s, u"token"_s, u"extend"_s, u"short"_s, u"--duration"_s, u"1d"_s, u"--json"_s});
    QCOMPARE(extend.exitCode, 0);
    QVERIFY2(extend.json().value(u"workers"_s).toArray().contains(name), qPrintable(extend.out));
    QTRY_VERIFY_WITH_TIMEOUT(onB->outputContains(u"undrained: taking steps again"_s), 10000);
    QVERIFY(onB->isRunning());
}

void TestFleet::killedOrchestratorIsTakenOver()
{
    for (int i = 0; i < 3; ++i)
        QVERIFY(m_fleet.startOrchestrator());
    Harness *a = m_fleet.orchestrators[0].get();
    Harness *b = m_fleet.orchestrators[1].get();
    const QString token = a->createToken(u"ha"_s, {u"--max-enrollments"_s, u"10"_s});
    QVERIFY(!token.isEmpty());
    // Each worker knows every orchestrator, starting with a different one.
    QList<Child *> workers;
    QStringList names;
    for (int i = 0; i < 3; ++i) {
        Harness *h = m_fleet.orchestrators[size_t(i)].get();
        Child *worker = h->startWorker(token, h->newCacheDir(), {u"--concurrency"_s, u"2"_s}, swampBinary(), m_fleet.fleetUrls(i));
        QTRY_VERIFY_WITH_TIMEOUT(worker->outContains(u"enrolled as "_s) || !worker->isRunning(), 30000);
        QVERIFY2(worker->isRunning(), qPrintable(worker->describe()));
        workers << worker;
        names << Harness::enrolledName(worker);
    }
    QTRY_COMPARE_WITH_TIMEOUT(a->workerList(false).value(u"count"_s).toInt(), 3, 10000);

    // 36 steps of a second over 6 slots, submitted through A in one run; B dies while they run.
    const QString runFile = a->tempPath(u"run.json"_s);
    {
        QJsonArray steps;
        for (int i = 0; i < 36; ++i) {
            steps << QJsonObject{{u"name"_s, u"s%1"_s.arg(i)}, {u"command"_s, u"sleep 1; echo done-%1"_s.arg(i)},
                                 {u"attempts"_s, 3}};
        }
        QFile file(runFile);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(QJsonDocument(QJsonObject{{u"name"_s, u"ha"_s}, {u"steps"_s, steps}}).toJson());
    }
    const Run submitted = a->cli({u"run"_s, u"--file"_s, runFile, u"--detach"_s});
    QCOMPARE(submitted.exitCode, 0);
    const QStringList stepIds = submitted.outLines();
    QCOMPARE(stepIds.size(), 36);
    // Wait until B's worker runs something, then kill -9 B.
    QTRY_VERIFY_WITH_TIMEOUT(FleetFixture::workerIn(a->workerList(false), names[1]).value(u"activeSteps"_s).toInt() > 0, 30000);
    b->orchestrator()->signal(SIGKILL);
    QVERIFY(b->orchestrator()->waitForExit(10000));

    // Every step ends exactly once: succeeded, one completed lease each.
    QTRY_COMPARE_WITH_TIMEOUT(query(*a, u"modelType == \"swamp/step\" && attributes.state == \"succeeded\""_s).size(),
                              qsizetype(stepIds.size()), 60000);
    QVERIFY(query(*a, u"modelType == \"swamp/step\" && attributes.state != \"succeeded\""_s).isEmpty());
    const QJsonArray leases = query(*a, u"modelType == \"swamp/step-lease\" && attributes.state == \"completed\""_s);
    QHash<QString, int> completed;
    for (const QJsonValue &lease : leases)
        ++completed[lease.toObject().value(u"attributes"_s).toObject().value(u"stepId"_s).toString()];
    for (const QString &id : std::as_const(stepIds))
        QCOMPARE(completed.value(id), 1);
    QCOMPARE(completed.size(), stepIds.size());
    // A survivor took over: B's leases expired, B is gone from the fleet, its worker moved.
    QTRY_VERIFY_WITH_TIMEOUT(a->orchestratorOutput().contains(u"stopped heartbeating"_s)
                                 || m_fleet.orchestrators[2]->orchestratorOutput().contains(u"stopped heartbeating"_s),
                             20000);
    QTRY_COMPARE_WITH_TIMEOUT(a->workerList(false).value(u"orchestrators"_s).toArray().size(), 2, 20000);
    QTRY_VERIFY_WITH_TIMEOUT(FleetFixture::workerIn(a->workerList(false), names[1]).value(u"orchestrator"_s).toString() != b->url()
                                 && FleetFixture::workerIn(a->workerList(false), names[1]).value(u"status"_s).toString() == u"idle"_s,
                             30000);
    for (Child *worker : std::as_const(workers))
        QVERIFY2(worker->isRunning(), qPrintable(worker->describe()));
}

void TestFleet::pausedOrchestratorIsFenced()
{
    Harness *a = m_fleet.startOrchestrator();
    QVERIFY(a);
    Harness *b = m_fleet.startOrchestrator();
    QVERIFY(b);
    const QString token = a->createToken(u"fence"_s);
    QVERIFY(!token.isEmpty());
    // The worker starts on B and knows A too.
    Child *worker = b->startWorker(token, b->newCacheDir(), {}, swampBinary(), b->url() + u',' + a->url());
    QTRY_VERIFY_WITH_TIMEOUT(worker->outContains(u"enrolled as "_s) || !worker->isRunning(), 30000);
    QVERIFY2(worker->isRunning(), qPrintable(worker->describe()));
    const QString name = Harness::enrolledName(worker);

    // A step that outlives B's pause; B freezes while the step runs.
    const QString stepId = detach(*a, {u"--attempts"_s, u"3"_s, u"--"_s, u"sh"_s, u"-c"_s, u"sleep 6; echo slow"_s});
    QVERIFY(!stepId.isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*a, stepId), u"running"_s, 30000);
    b->orchestrator()->signal(SIGSTOP);
    // A declares B dead and requeues the step; the worker fails over to A and runs it again
    // (its first attempt's result is refused: that lease was superseded).
    QTRY_VERIFY_WITH_TIMEOUT(a->orchestratorOutput().contains(u"stopped heartbeating"_s), 20000);
    QTRY_VERIFY_WITH_TIMEOUT(stepOf(*a, stepId).value(u"attempt"_s).toInt() >= 2, 30000);
    // B wakes up, finds it was declared dead, and exits 1 instead of acting on stale state.
    b->orchestrator()->signal(SIGCONT);
    QVERIFY(b->orchestrator()->waitForExit(20000));
    QCOMPARE(b->orchestrator()->exitCode(), 1);
    QVERIFY2(b->orchestratorOutput().contains(u"declared this one dead"_s), qPrintable(b->orchestratorOutput()));

    QTRY_COMPARE_WITH_TIMEOUT(stepState(*a, stepId), u"succeeded"_s, 60000);
    const QJsonArray leases = query(*a, u"modelType == \"swamp/step-lease\" && attributes.stepId == \"%1\""_s.arg(stepId));
    int completed = 0;
    for (const QJsonValue &lease : leases)
        completed += lease.toObject().value(u"attributes"_s).toObject().value(u"state"_s).toString() == u"completed"_s;
    QCOMPARE(completed, 1);
    QTRY_VERIFY_WITH_TIMEOUT(FleetFixture::workerIn(a->workerList(false), name).value(u"orchestrator"_s).toString() == a->url(), 30000);
}

void TestFleet::aRowLockHeldElsewhereDelaysTheCommitNotTheOrchestrator()
{
    // A session that holds a row lock the orchestrator's commit needs for longer than its
    // lock_timeout (a third of the 3 s fleet timeout): another orchestrator frozen with its batch
    // open until the server ends it, or an operator's forgotten transaction. The commit waits,
    // gives up, and is written again once the lock is free: the orchestrator does not stop, and
    // the step ends once, on its first attempt.
    Harness *a = m_fleet.startOrchestrator();
    QVERIFY(a);
    const QString token = a->createToken(u"locked"_s);
    QVERIFY(!token.isEmpty());
    Child *worker = a->startEnrolledWorker(token, a->newCacheDir(), {});
    QVERIFY(worker);
    const QString stepId = detach(*a, {u"--"_s, u"sh"_s, u"-c"_s, u"sleep 1.5; echo done"_s});
    QVERIFY(!stepId.isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*a, stepId), u"running"_s, 30000);
    // The step ends while its run's row is locked; the lock is held for 5 s (5 lock timeouts).
    const QString database = QUrl(m_fleet.database).path().mid(1);
    QVERIFY2(m_fleet.server.adminSql(u"BEGIN; SELECT 1 FROM runs FOR UPDATE; SELECT pg_sleep(5); COMMIT"_s, database),
             qPrintable(m_fleet.server.errorString()));
    QTRY_VERIFY2_WITH_TIMEOUT(a->orchestratorOutput().contains(u"waited more than 1000 ms for a row lock"_s),
                              qPrintable(a->orchestratorOutput()), 10000);
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*a, stepId), u"succeeded"_s, 30000);
    QVERIFY2(a->orchestrator()->isRunning(), qPrintable(a->orchestratorOutput()));
    // Each attempt in those 5 s waited for the lock again; the log said so once.
    QCOMPARE(a->orchestratorOutput().count(u"waited more than"_s), 1);
    QVERIFY2(!a->orchestratorOutput().contains(u"commit failed"_s), qPrintable(a->orchestratorOutput()));
    const QJsonObject step = stepOf(*a, stepId);
    QCOMPARE(step.value(u"attempt"_s).toInt(), 1);
    QCOMPARE(total(*a, u"modelType == \"swamp/step-lease\" && attributes.state == \"completed\""_s), 1);
    QCOMPARE(total(*a, u"modelType == \"swamp/step-lease\""_s), 1);
    QCOMPARE(a->cli({u"run"_s, u"logs"_s, stepId}).out.trimmed(), u"done"_s);
}

void TestFleet::aCommitTheServerRefusesIsNeverAcknowledged()
{
    // The batch's statements succeed and its COMMIT fails (here a deferred constraint trigger;
    // in production a server shut down or failed over during the commit). The orchestrator must
    // read the COMMIT's own answer, not the marker's UPDATE before it in the same round trip: a
    // submission it acknowledged would be in no table.
    Harness *a = m_fleet.startOrchestrator();
    QVERIFY(a);
    const QString database = QUrl(m_fleet.database).path().mid(1);
    QVERIFY2(m_fleet.server.adminSql(
                 u"CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS "
                 u"$$ BEGIN RAISE EXCEPTION 'refused at commit by the test'; END $$; "
                 u"CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON runs DEFERRABLE INITIALLY DEFERRED "
                 u"FOR EACH ROW EXECUTE FUNCTION refuse_at_commit()"_s,
                 database),
             qPrintable(m_fleet.server.errorString()));
    const Run submitted = a->cli({u"run"_s, u"--detach"_s, u"--"_s, u"true"_s});
    QVERIFY2(submitted.exitCode != 0, qPrintable(submitted.describe()));
    QCOMPARE(m_fleet.server.adminValue(u"SELECT count(*) FROM steps"_s, database).value_or(u"?"_s), u"0"_s);
    // Nothing it holds is what the database holds: it stops and says why.
    QVERIFY(a->orchestrator()->waitForExit(20000));
    QCOMPARE(a->orchestrator()->exitCode(), 1);
    QVERIFY2(a->orchestratorOutput().contains(u"refused at commit by the test"_s), qPrintable(a->orchestratorOutput()));
}

QTEST_GUILESS_MAIN(TestFleet)
#include "tst_fleet.moc"
