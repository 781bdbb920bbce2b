// Step leases when machines die: requeue as attempt n+1, --at-most-once, exhausted attempts,
// orchestrator restart, fencing of a late result, and output continuity across a socket drop.

#include "steps/stephelpers.h"

#include <QFile>

using namespace SwampTest;

class tst_Leases : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void killedWorkerStepRerunsElsewhere();
    void atMostOnceFailsWhenWorkerDies();
    void attemptsExhausted();
    void revokeRequeuesRunningSteps();
    void orchestratorKilledMidRun();
    void lateResultFromExpiredLeaseIsRefused();
    void outputContinuesAcrossSocketDrop();

private:
    QJsonArray leasesOf(const QString &stepId);

    std::unique_ptr<Harness> m_h;
    QString m_token;
};

void tst_Leases::init()
{
    m_h = std::make_unique<Harness>();
    QVERIFY(m_h->startOrchestrator());
    m_token = m_h->createToken(u"pool"_s, {u"--max-enrollments"_s, u"unlimited"_s});
    QVERIFY(!m_token.isEmpty());
}

void tst_Leases::cleanup()
{
    m_h.reset();
}

QJsonArray tst_Leases::leasesOf(const QString &stepId)
{
    return query(*m_h, u"modelType == \"swamp/step-lease\" && attributes.stepId == \"%1\""_s.arg(stepId));
}

static int countState(const QJsonArray &leases, const QString &state)
{
    int n = 0;
    for (const QJsonValue &lease : leases)
        n += lease.toObject().value(u"attributes"_s).toObject().value(u"state"_s).toString() == state;
    return n;
}

void tst_Leases::killedWorkerStepRerunsElsewhere()
{
    Child *first = m_h->startEnrolledWorker(m_token, m_h->newCacheDir());
    QVERIFY(first);
    const QString firstName = Harness::enrolledName(first);
    const QString id = detach(*m_h, {u"--shell"_s, u"--"_s, u"echo started; sleep 2; echo finished"_s});
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, id), u"running"_s, 30000);
    first->signal(SIGKILL);
    QVERIFY(first->waitForExit(20000));
    QTRY_COMPARE_WITH_TIMEOUT(m_h->workerStatus(firstName), u"disconnected"_s, 20000);
    Child *second = m_h->startEnrolledWorker(m_token, m_h->newCacheDir());
    QVERIFY(second);
    // After the grace the first worker is lost, its lease expires, the step reruns as attempt 2.
    QTRY_COMPARE_WITH_TIMEOUT(m_h->workerStatus(firstName), u"lost"_s, 30000);
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, id), u"succeeded"_s, 60000);
    const QJsonObject step = stepOf(*m_h, id);
    QCOMPARE(step.value(u"attempt"_s).toInt(), 2);
    QCOMPARE(step.value(u"workerName"_s).toString(), Harness::enrolledName(second));
    const QJsonArray leases = leasesOf(id);
    QCOMPARE(leases.size(), 2);
    QCOMPARE(countState(leases, u"expired"_s), 1);
    QCOMPARE(countState(leases, u"completed"_s), 1);
    QVERIFY2(m_h->orchestratorOutput().contains(u"worker lost"_s), qPrintable(m_h->orchestratorOutput()));
}

void tst_Leases::atMostOnceFailsWhenWorkerDies()
{
    Child *w = m_h->startEnrolledWorker(m_token, m_h->newCacheDir());
    QVERIFY(w);
    const QString id = detach(*m_h, {u"--at-most-once"_s, u"--"_s, u"sleep"_s, u"30"_s});
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, id), u"running"_s, 30000);
    w->signal(SIGKILL);
    QVERIFY(m_h->startEnrolledWorker(m_token, m_h->newCacheDir()));
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, id), u"failed"_s, 45000);
    QCOMPARE(stepOf(*m_h, id).value(u"error"_s).toString(), u"worker lost after the step started"_s);
    QCOMPARE(leasesOf(id).size(), 1);
}

void tst_Leases::attemptsExhausted()
{
    Child *w = m_h->startEnrolledWorker(m_token, m_h->newCacheDir());
    QVERIFY(w);
    const QString id = detach(*m_h, {u"--attempts"_s, u"1"_s, u"--"_s, u"sleep"_s, u"30"_s});
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, id), u"running"_s, 30000);
    w->signal(SIGKILL);
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, id), u"failed"_s, 45000);
    QCOMPARE(stepOf(*m_h, id).value(u"error"_s).toString(), u"worker lost; attempts exhausted (1/1)"_s);
}

void tst_Leases::revokeRequeuesRunningSteps()
{
    // Revoke cuts the worker off at once; its running step goes back to the queue without
    // spending an attempt, and runs on a worker of another token.
    Child *revoked = m_h->startEnrolledWorker(m_token, m_h->newCacheDir());
    QVERIFY(revoked);
    const QString id = detach(*m_h, {u"--attempts"_s, u"1"_s, u"--shell"_s, u"--"_s, u"sleep 3; echo ok"_s}); // still running at the revoke
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, id), u"running"_s, 30000);
    const Run revoke = m_h->cli({u"worker"_s, u"token"_s, u"revoke"_s, u"pool"_s});
    QCOMPARE_EXIT(revoke, 0);
    QVERIFY2(revoke.out.contains(Harness::enrolledName(revoked)), qPrintable(revoke.describe()));
    QVERIFY(revoked->waitForExit(20000));
    QCOMPARE(revoked->exitCode(), 1);
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, id), u"queued"_s, 20000);
    const QString other = m_h->createToken(u"other"_s);
    QVERIFY(m_h->startEnrolledWorker(other, m_h->newCacheDir()));
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, id), u"succeeded"_s, 45000);
    QCOMPARE(countState(leasesOf(id), u"cancelled"_s), 1);
    QCOMPARE(countState(leasesOf(id), u"completed"_s), 1);
}

void tst_Leases::orchestratorKilledMidRun()
{
    QVERIFY(m_h->startEnrolledWorker(m_token, m_h->newCacheDir(), {}, {u"--concurrency"_s, u"4"_s}));
    QVERIFY(m_h->startEnrolledWorker(m_token, m_h->newCacheDir(), {}, {u"--concurrency"_s, u"4"_s}));
    QStringList ids;
    for (int i = 0; i < 12; ++i)
        ids << detach(*m_h, {u"--shell"_s, u"--"_s, u"sleep 1.%1; echo step-%2"_s.arg(3 + i % 5).arg(i)}); // outlives the submissions
    QTRY_VERIFY_WITH_TIMEOUT(countState(query(*m_h, u"modelType == \"swamp/step-lease\" && attributes.state == \"active\""_s), u"active"_s) > 0, 30000);
    const quint16 port = m_h->port();
    m_h->orchestrator()->signal(SIGKILL);
    QVERIFY(m_h->orchestrator()->waitForExit(20000));
    QVERIFY(m_h->startOrchestrator(port));
    // Every step ends exactly once: one completed lease each, whatever expired on the way.
    for (const QString &id : std::as_const(ids))
        QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, id), u"succeeded"_s, 90000);
    for (const QString &id : std::as_const(ids)) {
        const QJsonArray leases = leasesOf(id);
        QCOMPARE(countState(leases, u"completed"_s), 1);
        QCOMPARE(countState(leases, u"active"_s), 0);
    }
    QVERIFY(m_h->orchestratorOutput().contains(u"orchestrator restart"_s));
}

void tst_Leases::lateResultFromExpiredLeaseIsRefused()
{
    Child *paused = m_h->startEnrolledWorker(m_token, m_h->newCacheDir());
    QVERIFY(paused);
    const QString pausedName = Harness::enrolledName(paused);
    // The step runs until the test lets it finish: a fixed sleep could end before the freeze
    // on a loaded machine, and then there would be no late result to refuse.
    const QString release = m_h->tempPath(u"release"_s);
    const QString id = detach(*m_h, {u"--shell"_s, u"--"_s,
                                     u"while [ ! -e '%1' ]; do sleep 0.05; done; echo result"_s.arg(release)});
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, id), u"running"_s, 30000);
    // Frozen past heartbeat timeout and grace: the orchestrator declares it lost. Its step's
    // process is not frozen: it finishes now, and the worker holds the result until it wakes.
    paused->signal(SIGSTOP);
    QVERIFY(QFile(release).open(QIODevice::WriteOnly));
    QTRY_COMPARE_WITH_TIMEOUT(m_h->workerStatus(pausedName), u"lost"_s, 45000);
    Child *other = m_h->startEnrolledWorker(m_token, m_h->newCacheDir());
    QVERIFY(other);
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, id), u"succeeded"_s, 60000);
    // The frozen worker wakes up with its old result: refused, logged, and the step unchanged.
    paused->signal(SIGCONT);
    QTRY_VERIFY_WITH_TIMEOUT(m_h->orchestratorOutput().contains(u"refused finished from %1"_s.arg(pausedName)), 60000);
    const QJsonObject step = stepOf(*m_h, id);
    QCOMPARE(step.value(u"state"_s).toString(), u"succeeded"_s);
    QCOMPARE(step.value(u"workerName"_s).toString(), Harness::enrolledName(other));
    const QJsonArray leases = leasesOf(id);
    QCOMPARE(countState(leases, u"completed"_s), 1);
    QCOMPARE(countState(leases, u"expired"_s), 1);
}

void tst_Leases::outputContinuesAcrossSocketDrop()
{
    // A long grace: the same process comes back and resumes its session and its step.
    m_h = std::make_unique<Harness>();
    QVERIFY(m_h->startOrchestrator(0, {u"--reconnect-grace"_s, u"60s"_s}));
    m_token = m_h->createToken(u"pool"_s);
    Child *w = m_h->startEnrolledWorker(m_token, m_h->newCacheDir());
    QVERIFY(w);
    const QString marker = m_h->tempPath(u"resume"_s);
    // 1..40 before the pause, then wait for the marker, then 41..80.
    const QString script = u"i=1; while [ $i -le 40 ]; do echo line-$i; i=$((i+1)); done; "
                           "while [ ! -e '%1' ]; do sleep 0.05; done; "
                           "while [ $i -le 80 ]; do echo line-$i; i=$((i+1)); done"_s.arg(marker);
    const QString id = detach(*m_h, {u"--shell"_s, u"--"_s, script});
    QTRY_VERIFY_WITH_TIMEOUT(m_h->cli({u"run"_s, u"logs"_s, id}).out.contains(u"line-40\n"_s), 30000);
    // Frozen past the heartbeat timeout: the orchestrator drops the socket (grace starts).
    w->signal(SIGSTOP);
    QTRY_COMPARE_WITH_TIMEOUT(m_h->workerStatus(u"pool"_s), u"disconnected"_s, 30000);
    QFile(marker).open(QIODevice::WriteOnly); // the step goes on producing output meanwhile
    w->signal(SIGCONT);
    QTRY_VERIFY_WITH_TIMEOUT(w->outContains(u"session resumed"_s), 60000);
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*m_h, id), u"succeeded"_s, 60000);
    QString expected;
    for (int i = 1; i <= 80; ++i)
        expected += u"line-%1\n"_s.arg(i);
    QCOMPARE(m_h->cli({u"run"_s, u"logs"_s, id}).out, expected);
    QCOMPARE(leasesOf(id).size(), 1);
}

QTEST_GUILESS_MAIN(tst_Leases)
#include "tst_leases.moc"
