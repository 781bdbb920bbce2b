// Machine identity end to end (SPEC §4): one record per machine across restarts, temporary
// identities without --cache-dir, multi-enrollment naming, one process per cache dir, and the
// ghost-session rule after a kill -9.
#include "swampharness.h"

#include <QCryptographicHash>
#include <QRegularExpression>
#include <QSet>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace SwampTest;

namespace {
QString suffixOf(const QString &machineId)
{
    return QString::fromLatin1(
        QCryptographicHash::hash(machineId.toUtf8(), QCryptographicHash::Sha256).toHex().left(8));
}
} // namespace

class tst_WorkerIdentity : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void restartKeepsNameAndRecord();
    void noCacheDirIsNewMachineEachStart();
    void maxEnrollmentsThree();
    void unlimitedEnrollments();
    void twoProcessesOneCacheDir();
    void killedThenRestartedReplacesGhost();
    void cacheDirFilesArePrivate();

private:
    std::unique_ptr<Harness> h;
};

void tst_WorkerIdentity::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    h = std::make_unique<Harness>();
    QVERIFY(h->startOrchestrator());
}

void tst_WorkerIdentity::cleanup()
{
    h.reset();
}

void tst_WorkerIdentity::restartKeepsNameAndRecord()
{
    const QString token = h->createToken(u"ci"_s);
    QVERIFY(!token.isEmpty());
    const QString cacheDir = h->newCacheDir();
    Child *first = h->startEnrolledWorker(token, cacheDir, u"ci"_s);
    QVERIFY(first);
    const QJsonObject before = h->workerNamed(u"ci"_s);
    QCOMPARE(before.value(u"status"_s).toString(), u"idle"_s);
    const QString machineId = readMachineId(cacheDir);
    QCOMPARE(before.value(u"machineId"_s).toString(), machineId);

    first->signal(SIGTERM);
    QVERIFY(first->waitForExit(20000));
    QVERIFY2(first->exitCode() == 0, qPrintable(first->describe()));

    Child *second = h->startEnrolledWorker(token, cacheDir, u"ci"_s);
    QVERIFY(second);
    QCOMPARE(readMachineId(cacheDir), machineId);
    const QJsonObject all = h->workerList(true);
    QCOMPARE(all.value(u"workers"_s).toArray().size(), 1); // no second record
    const QJsonObject after = all.value(u"workers"_s).toArray().first().toObject();
    QCOMPARE(after.value(u"name"_s).toString(), u"ci"_s);
    QCOMPARE(after.value(u"machineId"_s).toString(), machineId);
    QCOMPARE(after.value(u"status"_s).toString(), u"idle"_s);
    // The same record: the id stays, only the process (instance) changes.
    if (before.contains(u"id"_s))
        QCOMPARE(after.value(u"id"_s).toString(), before.value(u"id"_s).toString());
    QVERIFY(after.value(u"instanceId"_s).toString() != before.value(u"instanceId"_s).toString());
    const QJsonObject token_ = h->tokenNamed(u"ci"_s);
    QCOMPARE(token_.value(u"bindings"_s).toArray().size(), 1);
}

void tst_WorkerIdentity::noCacheDirIsNewMachineEachStart()
{
    const QString token = h->createToken(u"ephemeral"_s, {u"--max-enrollments"_s, u"unlimited"_s});
    QVERIFY(!token.isEmpty());
    QSet<QString> names;
    for (int i = 0; i < 2; ++i) {
        Child *worker = h->startEnrolledWorker(token, QString());
        QVERIFY(worker);
        QVERIFY2(worker->errContains(u"warning: "_s), qPrintable(worker->describe()));
        QVERIFY2(worker->errContains(u"new machine"_s), qPrintable(worker->describe()));
        names.insert(Harness::enrolledName(worker));
        worker->signal(SIGTERM);
        QVERIFY(worker->waitForExit(20000));
        QCOMPARE(worker->exitCode(), 0);
    }
    QCOMPARE(names.size(), 2); // a new machine each start
    QCOMPARE(h->workerList(true).value(u"workers"_s).toArray().size(), 2);

    // A one-machine token: the first start binds it, the second (a new machine) is refused.
    const QString solo = h->createToken(u"solo"_s);
    QVERIFY(!solo.isEmpty());
    Child *first = h->startEnrolledWorker(solo, QString(), u"solo"_s);
    QVERIFY(first);
    first->signal(SIGTERM);
    QVERIFY(first->waitForExit(20000));
    Child *second = h->startWorker(solo, QString());
    QVERIFY(second->waitForExit(30000));
    QVERIFY2(second->exitCode() == 1, qPrintable(second->describe()));
    QVERIFY2(second->errContains(u"already bound to another machine"_s), qPrintable(second->describe()));
}

void tst_WorkerIdentity::maxEnrollmentsThree()
{
    const QString token = h->createToken(u"pool"_s, {u"--max-enrollments"_s, u"3"_s});
    QVERIFY(!token.isEmpty());
    QSet<QString> names;
    static const QRegularExpression shape(u"^pool-[0-9a-f]{8}$"_s);
    for (int i = 0; i < 3; ++i) {
        const QString cacheDir = h->newCacheDir();
        Child *worker = h->startEnrolledWorker(token, cacheDir);
        QVERIFY(worker);
        const QString name = Harness::enrolledName(worker);
        QVERIFY2(shape.match(name).hasMatch(), qPrintable(name));
        QCOMPARE(name, u"pool-"_s + suffixOf(readMachineId(cacheDir)));
        names.insert(name);
    }
    QCOMPARE(names.size(), 3);
    Child *fourth = h->startWorker(token, h->newCacheDir());
    QVERIFY(fourth->waitForExit(30000));
    QVERIFY2(fourth->exitCode() == 1, qPrintable(fourth->describe()));
    QVERIFY2(fourth->errContains(u"already bound to another machine"_s), qPrintable(fourth->describe()));

    const QJsonObject list = h->workerList(false);
    QCOMPARE(list.value(u"count"_s).toInt(), 3);
    const QJsonObject t = h->tokenNamed(u"pool"_s);
    QCOMPARE(t.value(u"state"_s).toString(), u"enrolled"_s);
    QCOMPARE(t.value(u"maxEnrollments"_s).toInt(), 3);
    QCOMPARE(t.value(u"bindings"_s).toArray().size(), 3);
    QSet<QString> bound;
    for (const QJsonValue &b : t.value(u"bindings"_s).toArray())
        bound.insert(b.toObject().value(u"workerName"_s).toString());
    QCOMPARE(bound, names);
    const Run table = h->cli({u"worker"_s, u"token"_s, u"list"_s});
    QVERIFY2(table.out.contains(u"3/3"_s), qPrintable(table.describe()));
}

void tst_WorkerIdentity::unlimitedEnrollments()
{
    const QString token = h->createToken(u"fleet"_s, {u"--max-enrollments"_s, u"unlimited"_s});
    QVERIFY(!token.isEmpty());
    for (int i = 0; i < 2; ++i)
        QVERIFY(h->startEnrolledWorker(token, h->newCacheDir()));
    const Run table = h->cli({u"worker"_s, u"token"_s, u"list"_s});
    QVERIFY2(table.out.contains(u"2/unlimited"_s), qPrintable(table.describe()));
}

void tst_WorkerIdentity::twoProcessesOneCacheDir()
{
    const QString token = h->createToken(u"ci"_s);
    QVERIFY(!token.isEmpty());
    const QString cacheDir = h->newCacheDir();
    Child *first = h->startEnrolledWorker(token, cacheDir, u"ci"_s);
    QVERIFY(first);
    Child *second = h->startWorker(token, cacheDir);
    QVERIFY(second->waitForExit(20000));
    QVERIFY2(second->exitCode() == 1, qPrintable(second->describe()));
    const QString expected = u"cache dir %1 is in use by another worker (pid %2) — give each worker "
                             "its own --cache-dir"_s.arg(QDir::toNativeSeparators(cacheDir))
                                 .arg(first->pid());
    QVERIFY2(second->errContains(expected), qPrintable(second->describe()));
    QVERIFY2(!second->outContains(u"connecting"_s), qPrintable(second->describe()));
    QVERIFY(first->isRunning());
    QCOMPARE(h->workerStatus(u"ci"_s), u"idle"_s);
}

void tst_WorkerIdentity::killedThenRestartedReplacesGhost()
{
    const QString token = h->createToken(u"ci"_s);
    QVERIFY(!token.isEmpty());
    const QString cacheDir = h->newCacheDir();
    Child *first = h->startEnrolledWorker(token, cacheDir, u"ci"_s);
    QVERIFY(first);
    const QString id = h->workerNamed(u"ci"_s).value(u"id"_s).toString();
    first->process.kill(); // SIGKILL: no goodbye
    QVERIFY(first->waitForExit(10000));
    QElapsedTimer timer;
    timer.start();
    Child *second = h->startEnrolledWorker(token, cacheDir, u"ci"_s);
    QVERIFY(second);
    // At once: well before the reconnect grace (2 s) + the ghost probe would run out twice.
    QVERIFY2(timer.elapsed() < 10000, qPrintable(u"took %1 ms"_s.arg(timer.elapsed())));
    QVERIFY(!second->outputContains(u"already_connected"_s));
    QCOMPARE(second->count(u"enrolled as"_s), 1);
    const QJsonObject list = h->workerList(true);
    QCOMPARE(list.value(u"workers"_s).toArray().size(), 1);
    QCOMPARE(h->workerStatus(u"ci"_s), u"idle"_s);
    if (!id.isEmpty())
        QCOMPARE(h->workerNamed(u"ci"_s).value(u"id"_s).toString(), id);
    QVERIFY2(second->isRunning(), qPrintable(second->describe()));
}

void tst_WorkerIdentity::cacheDirFilesArePrivate()
{
    const QString token = h->createToken(u"ci"_s);
    QVERIFY(!token.isEmpty());
    const QString cacheDir = h->newCacheDir();
    QVERIFY(h->startEnrolledWorker(token, cacheDir, u"ci"_s));
    const QFileInfo dir(cacheDir);
    QCOMPARE(dir.permissions() & (QFileDevice::ReadGroup | QFileDevice::ReadOther
                                  | QFileDevice::ExeGroup | QFileDevice::ExeOther),
             QFileDevice::Permissions());
    const QFileInfoList files = QDir(cacheDir).entryInfoList(QDir::Files | QDir::Hidden);
    QVERIFY(!files.isEmpty());
    for (const QFileInfo &file : files) {
        QVERIFY2((file.permissions() & (QFileDevice::ReadGroup | QFileDevice::ReadOther
                                         | QFileDevice::WriteGroup | QFileDevice::WriteOther))
                     == QFileDevice::Permissions(),
                 qPrintable(file.filePath()));
    }
}

QTEST_GUILESS_MAIN(tst_WorkerIdentity)
#include "tst_worker_identity.moc"
