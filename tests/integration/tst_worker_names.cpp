// Worker names an operator chooses (`swamp worker connect --name NAME`, issue 21): the name is
// the worker's in every command, it survives restarts with the same --cache-dir, a second machine
// asking for it is refused with the fix, and a malformed name is a usage error (exit 2).
#include "swampharness.h"

#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace SwampTest;

class tst_WorkerNames : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void nameIsUsedAndSurvivesRestarts();
    void secondMachineWithTheNameIsRefused();
    void nameOfAnotherTokensWorkerIsRefused();
    void malformedNamesAreUsageErrors_data();
    void malformedNamesAreUsageErrors();
    void emptyNameFromTheEnvironmentIsAnError();

private:
    // The worker's --name (from `worker list --all --json`), or an empty string.
    QString machineOf(const QString &name) { return h->workerNamed(name).value(u"machineId"_s).toString(); }
    void stop(Child *worker)
    {
        worker->signal(SIGTERM);
        QVERIFY(worker->waitForExit(20000));
        QVERIFY2(worker->exitCode() == 0, qPrintable(worker->describe()));
    }

    std::unique_ptr<Harness> h;
};

void tst_WorkerNames::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    h = std::make_unique<Harness>();
    QVERIFY(h->startOrchestrator());
}

void tst_WorkerNames::cleanup()
{
    h.reset();
}

void tst_WorkerNames::nameIsUsedAndSurvivesRestarts()
{
    const QString token = h->createToken(u"pool"_s, {u"--max-enrollments"_s, u"3"_s});
    QVERIFY(!token.isEmpty());
    const QString cacheDir = h->newCacheDir();
    Child *first = h->startEnrolledWorker(token, cacheDir, u"build-1"_s, {u"--name"_s, u"build-1"_s});
    QVERIFY(first);
    QCOMPARE(h->workerStatus(u"build-1"_s), u"idle"_s);
    const QString id = h->workerNamed(u"build-1"_s).value(u"id"_s).toString();
    QVERIFY(!id.isEmpty());
    // Admin commands take it (drain is the one that exists for every worker).
    const Run drained = h->cli({u"worker"_s, u"drain"_s, u"build-1"_s});
    QVERIFY2(drained.exitCode == 0, qPrintable(drained.describe()));
    QVERIFY(first->waitForExit(20000));

    // Restarted with the same cache dir and no --name: still build-1, the same record.
    Child *second = h->startEnrolledWorker(token, cacheDir, u"build-1"_s);
    QVERIFY(second);
    stop(second);
    // And with it again (a systemd unit keeps its flags): the same.
    Child *third = h->startEnrolledWorker(token, cacheDir, u"build-1"_s, {u"--name"_s, u"build-1"_s});
    QVERIFY(third);
    const QJsonArray workers = h->workerList(true).value(u"workers"_s).toArray();
    QCOMPARE(workers.size(), 1);
    QCOMPARE(workers.first().toObject().value(u"id"_s).toString(), id);
    QCOMPARE(workers.first().toObject().value(u"name"_s).toString(), u"build-1"_s);
    // A new name for the same machine renames it (one record, one binding).
    stop(third);
    Child *renamed = h->startEnrolledWorker(token, cacheDir, u"build-one"_s, {u"--name"_s, u"build-one"_s});
    QVERIFY(renamed);
    QCOMPARE(h->workerNamed(u"build-one"_s).value(u"id"_s).toString(), id);
    QCOMPARE(h->workerList(true).value(u"workers"_s).toArray().size(), 1);
    QCOMPARE(h->tokenNamed(u"pool"_s).value(u"bindings"_s).toArray().size(), 1);
    // Without --name a worker of the token still gets the token's name.
    Child *other = h->startEnrolledWorker(token, h->newCacheDir());
    QVERIFY(other);
    QVERIFY2(Harness::enrolledName(other).startsWith(u"pool-"_s), qPrintable(other->describe()));
}

void tst_WorkerNames::secondMachineWithTheNameIsRefused()
{
    const QString token = h->createToken(u"pool"_s, {u"--max-enrollments"_s, u"3"_s});
    QVERIFY(!token.isEmpty());
    Child *first = h->startEnrolledWorker(token, h->newCacheDir(), u"gpu"_s, {u"--name"_s, u"gpu"_s});
    QVERIFY(first);
    const QString firstMachine = machineOf(u"gpu"_s);

    // Connected, then gone (disconnected): the name stays taken until the record is pruned.
    for (int round = 0; round < 2; ++round) {
        Child *second = h->startWorker(token, h->newCacheDir(), {u"--name"_s, u"gpu"_s});
        QVERIFY(second->waitForExit(30000));
        QVERIFY2(second->exitCode() == 1, qPrintable(second->describe()));
        QVERIFY2(second->errContains(u"worker name 'gpu' is taken by another machine's worker"_s),
                 qPrintable(second->describe()));
        QVERIFY2(second->errContains(u"give this worker another --name"_s), qPrintable(second->describe()));
        QVERIFY2(second->errContains(u"free its name with 'swamp worker remove gpu'"_s), qPrintable(second->describe()));
        QVERIFY2(!second->outContains(u"enrolled as"_s), qPrintable(second->describe()));
        // Nothing changed: the first machine keeps the name, the refused one used no enrollment.
        QCOMPARE(machineOf(u"gpu"_s), firstMachine);
        QCOMPARE(h->tokenNamed(u"pool"_s).value(u"bindings"_s).toArray().size(), 1);
        QCOMPARE(h->workerList(true).value(u"workers"_s).toArray().size(), 1);
        if (round == 0)
            stop(first);
    }
    QCOMPARE(h->workerStatus(u"gpu"_s), u"disconnected"_s);
}

void tst_WorkerNames::nameOfAnotherTokensWorkerIsRefused()
{
    // The name is unique in the orchestrator, not per token: also the token's own default names.
    const QString solo = h->createToken(u"solo"_s);
    const QString pool = h->createToken(u"pool"_s, {u"--max-enrollments"_s, u"2"_s});
    QVERIFY(!solo.isEmpty() && !pool.isEmpty());
    QVERIFY(h->startEnrolledWorker(solo, h->newCacheDir(), u"solo"_s));
    Child *clash = h->startWorker(pool, h->newCacheDir(), {u"--name"_s, u"solo"_s});
    QVERIFY(clash->waitForExit(30000));
    QVERIFY2(clash->exitCode() == 1, qPrintable(clash->describe()));
    QVERIFY2(clash->errContains(u"worker name 'solo' is taken"_s), qPrintable(clash->describe()));
    QVERIFY2(clash->errContains(u", idle)"_s), qPrintable(clash->describe()));
}

void tst_WorkerNames::malformedNamesAreUsageErrors_data()
{
    QTest::addColumn<QString>("name");
    QTest::newRow("empty") << QString();
    QTest::newRow("space") << u"build 1"_s;
    QTest::newRow("newline") << u"build\n1"_s;
    QTest::newRow("ansi") << u"\x1b[31mred"_s;
    QTest::newRow("upper case") << u"Build"_s;
    QTest::newRow("leading dash") << u"-build"_s;
    QTest::newRow("64 characters") << QString(64, u'a');
    QTest::newRow("10k characters") << QString(10000, u'a');
    QTest::newRow("unicode") << u"bäu"_s;
}

void tst_WorkerNames::malformedNamesAreUsageErrors()
{
    QFETCH(QString, name);
    const QString token = h->createToken(u"ci"_s);
    QVERIFY(!token.isEmpty());
    Child *worker = h->startWorker(token, h->newCacheDir(), {u"--name"_s, name});
    QVERIFY(worker->waitForExit(20000));
    QVERIFY2(worker->exitCode() == 2, qPrintable(worker->describe()));
    const QString err = worker->err();
    QVERIFY2(err.contains(u"--name: invalid worker name"_s), qPrintable(worker->describe()));
    QVERIFY2(err.contains(u"lowercase letters, digits and '-'"_s), qPrintable(worker->describe()));
    QVERIFY2(err.contains(u"swamp worker connect --help"_s), qPrintable(worker->describe()));
    QVERIFY2(!err.contains(QChar(0x1b)), qPrintable(worker->describe()));
    QVERIFY2(err.size() < 2000, qPrintable(worker->describe())); // the 10k name is not echoed whole
    QVERIFY(h->workerList(true).value(u"workers"_s).toArray().isEmpty());
}

void tst_WorkerNames::emptyNameFromTheEnvironmentIsAnError()
{
    const QString token = h->createToken(u"ci"_s);
    QVERIFY(!token.isEmpty());
    h->workerEnvironment.insert(u"SWAMP_WORKER_NAME"_s, QString());
    Child *empty = h->startWorker(token, h->newCacheDir());
    QVERIFY(empty->waitForExit(20000));
    QVERIFY2(empty->exitCode() == 2, qPrintable(empty->describe()));
    QVERIFY2(empty->errContains(u"invalid worker name"_s), qPrintable(empty->describe()));
    h->workerEnvironment.insert(u"SWAMP_WORKER_NAME"_s, u"from-env"_s);
    QVERIFY(h->startEnrolledWorker(token, h->newCacheDir(), u"from-env"_s));
}

QTEST_GUILESS_MAIN(tst_WorkerNames)
#include "tst_worker_names.moc"
