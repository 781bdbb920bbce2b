// Liveness end to end (SPEC §4-§6): revoke cuts a live worker off at once, SIGTERM is a clean
// goodbye, kill -9 becomes `disconnected` and then `lost` after the grace, and workers come back
// by themselves when the orchestrator restarts.
#include "swampharness.h"

#include <QElapsedTimer>
#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace SwampTest;

class tst_WorkerLiveness : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void revokeCutsLiveWorkerOff();
    void revokeIsIdempotent();
    void sigtermIsCleanGoodbye();
    void killedBecomesDisconnectedThenLost();
    void orchestratorRestartWorkersComeBack();

private:
    std::unique_ptr<Harness> h;
};

void tst_WorkerLiveness::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    h = std::make_unique<Harness>();
    QVERIFY(h->startOrchestrator());
}

void tst_WorkerLiveness::cleanup()
{
    h.reset();
}

void tst_WorkerLiveness::revokeCutsLiveWorkerOff()
{
    const QString token = h->createToken(u"pool"_s, {u"--max-enrollments"_s, u"2"_s});
    QVERIFY(!token.isEmpty());
    Child *a = h->startEnrolledWorker(token, h->newCacheDir());
    Child *b = h->startEnrolledWorker(token, h->newCacheDir());
    QVERIFY(a && b);
    const QString nameA = Harness::enrolledName(a);
    const QString nameB = Harness::enrolledName(b);
    const QString other = h->createToken(u"other"_s);
    Child *bystander = h->startEnrolledWorker(other, h->newCacheDir(), u"other"_s);
    QVERIFY(bystander);

    QElapsedTimer timer;
    timer.start();
    const Run revoke = h->cli({u"worker"_s, u"token"_s, u"revoke"_s, u"pool"_s, u"--reason"_s,
                               u"leaked in a build log"_s});
    QCOMPARE_EXIT(revoke, 0);
    QVERIFY2(revoke.out.contains(u"Revoked enrollment token 'pool'"_s), qPrintable(revoke.describe()));
    QVERIFY2(revoke.out.contains(nameA) && revoke.out.contains(nameB), qPrintable(revoke.describe()));
    QVERIFY2(revoke.out.contains(u"Disconnected 2 worker(s)"_s), qPrintable(revoke.describe()));

    // Both workers are cut off within a second of the revoke and exit 1 naming the reason.
    QVERIFY(QTest::qWaitFor([&] { return !a->isRunning() && !b->isRunning(); }, 10000));
    QVERIFY2(timer.elapsed() < 1000 + 2000 /* the CLI's own start-up on a loaded machine */,
             qPrintable(u"took %1 ms"_s.arg(timer.elapsed())));
    for (Child *worker : {a, b}) {
        QVERIFY2(worker->exitCode() == 1, qPrintable(worker->describe()));
        QVERIFY2(worker->errContains(u"revoked"_s), qPrintable(worker->describe()));
    }
    QCOMPARE(h->workerStatus(nameA), u"disconnected"_s);
    QCOMPARE(h->workerStatus(nameB), u"disconnected"_s);
    const QJsonObject visible = h->workerList(false);
    QCOMPARE(visible.value(u"count"_s).toInt(), 1);
    QCOMPARE(visible.value(u"hidden"_s).toInt(), 2);
    const QJsonObject t = h->tokenNamed(u"pool"_s);
    QCOMPARE(t.value(u"state"_s).toString(), u"revoked"_s);
    QVERIFY(!t.value(u"revokedAt"_s).toString().isEmpty());
    // Workers of other tokens are untouched.
    QVERIFY(bystander->isRunning());
    QCOMPARE(h->workerStatus(u"other"_s), u"idle"_s);
    // A restart of a revoked machine is refused.
    Child *again = h->startWorker(token, h->newCacheDir());
    QVERIFY(again->waitForExit(20000));
    QCOMPARE(again->exitCode(), 1);
    QVERIFY(again->errContains(u"revoked"_s));
}

void tst_WorkerLiveness::revokeIsIdempotent()
{
    QVERIFY(!h->createToken(u"ci"_s).isEmpty());
    const Run first = h->cli({u"worker"_s, u"token"_s, u"revoke"_s, u"ci"_s});
    QCOMPARE_EXIT(first, 0);
    QVERIFY2(first.out.contains(u"No worker was connected on it."_s), qPrintable(first.describe()));
    const Run second = h->cli({u"worker"_s, u"token"_s, u"revoke"_s, u"ci"_s});
    QCOMPARE_EXIT(second, 0);
    QVERIFY2(second.out.contains(u"already revoked"_s), qPrintable(second.describe()));
    const Run unknown = h->cli({u"worker"_s, u"token"_s, u"revoke"_s, u"nope"_s});
    QCOMPARE_EXIT(unknown, 1);
    QVERIFY2(unknown.err.contains(u"enrollment token 'nope' not found — see 'swamp worker token list'"_s),
             qPrintable(unknown.describe()));
}

void tst_WorkerLiveness::sigtermIsCleanGoodbye()
{
    const QString token = h->createToken(u"ci"_s);
    QVERIFY(!token.isEmpty());
    Child *worker = h->startEnrolledWorker(token, h->newCacheDir(), u"ci"_s);
    QVERIFY(worker);
    worker->signal(SIGTERM);
    QVERIFY(worker->waitForExit(20000));
    QVERIFY2(worker->exitCode() == 0, qPrintable(worker->describe()));
    // Recorded at once, not after the heartbeat timeout (1 s): the first query already sees it.
    QCOMPARE(h->workerStatus(u"ci"_s), u"disconnected"_s);
    QVERIFY(!h->workerNamed(u"ci"_s).value(u"disconnectedAt"_s).toString().isEmpty());
}

void tst_WorkerLiveness::killedBecomesDisconnectedThenLost()
{
    const QString token = h->createToken(u"ci"_s);
    QVERIFY(!token.isEmpty());
    Child *worker = h->startEnrolledWorker(token, h->newCacheDir(), u"ci"_s);
    QVERIFY(worker);
    QCOMPARE(h->workerStatus(u"ci"_s), u"idle"_s);
    worker->process.kill();
    QVERIFY(worker->waitForExit(10000));
    QTRY_COMPARE_WITH_TIMEOUT(h->workerStatus(u"ci"_s), u"disconnected"_s, 10000);
    // The reconnect grace is 2 s.
    QTRY_COMPARE_WITH_TIMEOUT(h->workerStatus(u"ci"_s), u"lost"_s, 15000);
    const QJsonObject visible = h->workerList(false);
    QCOMPARE(visible.value(u"count"_s).toInt(), 0);
    QCOMPARE(visible.value(u"hidden"_s).toInt(), 1);
    QTRY_VERIFY_WITH_TIMEOUT(h->orchestratorOutput().contains(u"worker ci lost"_s), 10000);
    const Run table = h->cli({u"worker"_s, u"list"_s});
    QCOMPARE_EXIT(table, 0);
    QVERIFY2(table.out.contains(u"--all"_s), qPrintable(table.describe()));
    const Run all = h->cli({u"worker"_s, u"list"_s, u"--all"_s});
    QVERIFY2(all.out.contains(u"lost"_s), qPrintable(all.describe()));
}

void tst_WorkerLiveness::orchestratorRestartWorkersComeBack()
{
    const QString token = h->createToken(u"pool"_s, {u"--max-enrollments"_s, u"2"_s});
    QVERIFY(!token.isEmpty());
    Child *a = h->startEnrolledWorker(token, h->newCacheDir());
    Child *b = h->startEnrolledWorker(token, h->newCacheDir());
    QVERIFY(a && b);
    const QString nameA = Harness::enrolledName(a);
    const QString nameB = Harness::enrolledName(b);
    const QString idA = h->workerNamed(nameA).value(u"id"_s).toString();

    Child *first = h->orchestrator();
    QVERIFY(h->stopOrchestrator());
    QVERIFY2(first->exitCode() == 0, qPrintable(first->describe()));
    // The workers keep running and retry.
    QVERIFY(a->isRunning() && b->isRunning());

    const quint16 port = h->port();
    QVERIFY(h->startOrchestrator(port));
    QCOMPARE(h->port(), port);
    // Retried with backoff 1 s doubling: allow a generous window.
    QTRY_VERIFY_WITH_TIMEOUT(a->count(u"enrolled as"_s) + a->count(u"reconnected as"_s) >= 2
                                 && b->count(u"enrolled as"_s) + b->count(u"reconnected as"_s) >= 2,
                             25000);
    QTRY_COMPARE_WITH_TIMEOUT(h->workerStatus(nameA), u"idle"_s, 10000);
    QCOMPARE(h->workerStatus(nameB), u"idle"_s);
    const QJsonObject all = h->workerList(true);
    QCOMPARE(all.value(u"workers"_s).toArray().size(), 2);
    if (!idA.isEmpty())
        QCOMPARE(h->workerNamed(nameA).value(u"id"_s).toString(), idA);
    QVERIFY(!a->outputContains(u"enrollment failed"_s));
    QVERIFY(!b->outputContains(u"enrollment failed"_s));
}

QTEST_GUILESS_MAIN(tst_WorkerLiveness)
#include "tst_worker_liveness.moc"
