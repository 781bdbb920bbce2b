// kill -9 of the orchestrator in the middle of a run of 500 short steps on 3 workers, then a
// restart on the same data dir and port: the workers come back by themselves, and every step
// ends exactly once. None is lost (all succeed), none completes twice (one completed lease each),
// and each attempt's output is stored once.

#include "steps/privatenetwork.h"
#include "steps/stephelpers.h"

#include <QElapsedTimer>
#include <QFile>
#include <QHash>

using namespace SwampTest;

class tst_CrashRecovery : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanup();
    void orchestratorKilledMidRun();

private:
    std::unique_ptr<Harness> m_h;
    QList<Child *> m_children;
};

static int countOf(const QString &text, const QString &what)
{
    return int(text.count(what));
}

static QString lastLines(const QString &text, int count)
{
    const QStringList lines = text.split(u'\n');
    return lines.mid(std::max<qsizetype>(0, lines.size() - count)).join(u'\n');
}

void tst_CrashRecovery::initTestCase()
{
    // The restart takes the port back: in the machine's shared namespace another process (a test
    // running at the same time, say) may have been given it meanwhile. A namespace of its own
    // rules that out where it may have one; elsewhere it runs as it is.
    if (const QString failed = enterPrivateNetwork(); !failed.isEmpty())
        qInfo("running in the machine's network namespace: %s", qPrintable(failed));
}

void tst_CrashRecovery::cleanup()
{
    // A failure message is cut at 1 KB: what the processes said last goes to the log instead.
    if (QTest::currentTestFailed()) {
        for (Child *child : std::as_const(m_children)) {
            qWarning("%s (%s), last lines:\n--- stdout ---\n%s\n--- stderr ---\n%s",
                     qPrintable(child->name()), child->isRunning() ? "running" : "exited",
                     qPrintable(lastLines(child->out(), 60)),
                     qPrintable(lastLines(child->err(), 30)));
        }
    }
    m_children.clear();
    m_h.reset();
}

void tst_CrashRecovery::orchestratorKilledMidRun()
{
    constexpr int Steps = 500;
    constexpr int Workers = 3;
    m_h = std::make_unique<Harness>();
    Harness &h = *m_h;
    QVERIFY(h.startOrchestrator()); // 200ms heartbeat, 1s timeout, 2s grace
    m_children << h.orchestrator();
    const QString token = h.createToken(u"crash"_s, {u"--max-enrollments"_s, u"unlimited"_s});
    QVERIFY(!token.isEmpty());
    QList<Child *> workers;
    for (int i = 0; i < Workers; ++i) {
        workers << h.startEnrolledWorker(token, h.newCacheDir(), {}, {u"--concurrency"_s, u"4"_s});
        QVERIFY(workers.last());
        m_children << workers.last();
    }

    // Short steps with a little sleep after their output: at any moment a dozen are running,
    // most of them with output already stored.
    const QString path = h.tempPath(u"steps.json"_s);
    {
        QJsonArray steps;
        for (int i = 0; i < Steps; ++i) {
            steps << QJsonObject{{u"name"_s, u"s%1"_s.arg(i)},
                                 {u"command"_s, u"echo out-%1; sleep 0.05"_s.arg(i)}};
        }
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(
            QJsonDocument(QJsonObject{{u"name"_s, u"crash"_s}, {u"steps"_s, steps}}).toJson());
    }
    const Run submitted = h.cli({u"run"_s, u"--file"_s, path, u"--detach"_s, u"--json"_s});
    QCOMPARE_EXIT(submitted, 0);
    const QString runId = submitted.json().value(u"runId"_s).toString();
    QVERIFY2(!runId.isEmpty(), qPrintable(submitted.describe()));
    QCOMPARE(submitted.json().value(u"stepIds"_s).toArray().size(), Steps);

    // Mid-run: a fifth of the steps done (the event lines say so as they happen, no polling).
    Child *first = h.orchestrator();
    QTRY_VERIFY_WITH_TIMEOUT(countOf(first->out(), u" succeeded on "_s) >= Steps / 5, 30000);
    first->signal(SIGKILL);
    QVERIFY(first->waitForExit(20000));
    const int doneBeforeKill = countOf(first->out(), u" succeeded on "_s);
    QVERIFY2(doneBeforeKill < Steps, "the run was over before the kill: make the steps longer");

    // Same data dir, same port: the workers find it again by themselves.
    QElapsedTimer sinceKill;
    sinceKill.start();
    QVERIFY(h.startOrchestrator(h.port()));
    Child *second = h.orchestrator();
    m_children << second;
    QVERIFY(second != first);
    const QString openSteps = u"modelType == \"swamp/step\" && "
                              "attributes.state in [\"queued\", \"dispatched\", \"running\"]"_s;
    const auto open = [&] {
        const Run run =
            h.cli({u"data"_s, u"query"_s, openSteps, u"--json"_s, u"--limit"_s, u"0"_s});
        return run.json().value(u"total"_s).toInt(-1);
    };
    QTRY_COMPARE_WITH_TIMEOUT(open(), 0, 30000);
    const qint64 recoveredMs = sinceKill.elapsed();
    for (Child *worker : std::as_const(workers))
        QVERIFY2(worker->isRunning(), qPrintable(worker->describe()));

    // 0 lost: the run and every step of it succeeded, with exit code 0.
    const QJsonObject status = runStatus(h, runId);
    QCOMPARE(status.value(u"run"_s).toObject().value(u"state"_s).toString(), u"succeeded"_s);
    const QJsonArray steps = status.value(u"steps"_s).toArray();
    QCOMPARE(steps.size(), Steps);
    QHash<QString, int> numberOf; // step id → i of its command
    for (const QJsonValue &value : steps) {
        const QJsonObject step = value.toObject();
        QVERIFY2(step.value(u"state"_s).toString() == u"succeeded"_s &&
                     step.value(u"exitCode"_s).isDouble() && step.value(u"exitCode"_s).toInt() == 0,
                 QJsonDocument(step).toJson().constData());
        numberOf.insert(step.value(u"id"_s).toString(),
                        step.value(u"name"_s).toString().mid(1).toInt());
    }
    QCOMPARE(numberOf.size(), Steps);

    // 0 completed twice: exactly one completed lease per step, none left active. The kill hit
    // steps in flight: their leases expired at the restart, and they ran again.
    const QJsonArray leases = query(h, u"modelType == \"swamp/step-lease\""_s);
    QHash<QString, int> completed;
    QHash<QString, int> completedAttempt;
    int expired = 0;
    int declined = 0;
    for (const QJsonValue &value : leases) {
        const QJsonObject attributes = value.toObject().value(u"attributes"_s).toObject();
        const QString stepId = attributes.value(u"stepId"_s).toString();
        const QString state = attributes.value(u"state"_s).toString();
        QVERIFY2(numberOf.contains(stepId), qPrintable(stepId));
        if (state == u"completed") {
            ++completed[stepId];
            completedAttempt.insert(stepId, attributes.value(u"attempt"_s).toInt());
        } else if (state == u"expired") {
            QCOMPARE(attributes.value(u"error"_s).toString(), u"orchestrator restart"_s);
            ++expired;
        } else if (state == u"cancelled" && attributes.value(u"startedAt"_s).isNull()) {
            // Declined: a worker back from the restart still had its slots taken by the steps
            // of its expired leases, and the step went back to the queue without running.
            ++declined;
        } else {
            QFAIL(qPrintable(u"unexpected lease: "_s +
                             QString::fromUtf8(QJsonDocument(value.toObject()).toJson())));
        }
    }
    for (auto it = numberOf.cbegin(); it != numberOf.cend(); ++it)
        QVERIFY2(completed.value(it.key()) == 1,
                 qPrintable(u"step %1 (s%2) has %3 completed lease(s)"_s.arg(it.key())
                                .arg(it.value())
                                .arg(completed.value(it.key()))));
    QVERIFY2(expired > 0, "no lease was active at the kill: the test did not kill mid-run");
    QCOMPARE(countOf(second->out(), u"expired: orchestrator restart"_s), expired);
    QCOMPARE(leases.size(), Steps + expired + declined);
    QCOMPARE(status.value(u"leases"_s).toArray().size(), leases.size()); // run status agrees

    // Each step's output is stored once per attempt, and the completed attempt has it.
    for (auto it = numberOf.cbegin(); it != numberOf.cend(); ++it) {
        const QJsonArray chunks =
            h.cli({u"run"_s, u"logs"_s, it.key(), u"--json"_s}).json().value(u"chunks"_s).toArray();
        QHash<int, QString> byAttempt;
        for (const QJsonValue &value : chunks) {
            const QJsonObject chunk = value.toObject();
            byAttempt[chunk.value(u"attempt"_s).toInt()] += chunk.value(u"data"_s).toString();
        }
        const QString line = u"out-%1\n"_s.arg(it.value());
        QVERIFY2(byAttempt.value(completedAttempt.value(it.key())) == line,
                 qPrintable(u"step s%1: %2"_s.arg(it.value())
                                .arg(QString::fromUtf8(QJsonDocument(chunks).toJson()))));
        for (auto attempt = byAttempt.cbegin(); attempt != byAttempt.cend(); ++attempt)
            QVERIFY2(attempt.value() == line,
                     qPrintable(u"step s%1: %2"_s.arg(it.value())
                                    .arg(QString::fromUtf8(QJsonDocument(chunks).toJson()))));
    }
    qInfo("%d steps, %d done before the kill, all done %lld ms after it; %d lease(s) expired "
          "by the restart, %d declined after it",
          Steps, doneBeforeKill, recoveredMs, expired, declined);
}

QTEST_GUILESS_MAIN(tst_CrashRecovery)
#include "tst_crash_recovery.moc"
