// One `swamp serve` per data dir, with real processes: a second one on the same data dir exits 1
// with the holder's pid and changes nothing (the first keeps running its worker's steps, its
// admin.json keeps every byte, the database sees no second orchestrator); a lock left behind by
// kill -9, or naming a live process that does not hold it, is taken over.
#include "swampharness.h"
#include "unit/sqlitefiles.h"

#include <QCryptographicHash>
#include <QHostInfo>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QSysInfo>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace SwampTest;

class tst_DataDirLock : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void secondServeRefusedFirstUnharmed();
    void lockOfKilledServeTakenOver();
    void lockNamingAnotherLiveProcessTakenOver();
    void unwrittenLockOfDeadProcessTakenOver();

private:
    Run serveAgain();
    int orchestratorRows();
    std::unique_ptr<Harness> h;
};

namespace {
QByteArray fileBytes(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}
} // namespace

void tst_DataDirLock::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    h = std::make_unique<Harness>();
}

void tst_DataDirLock::cleanup()
{
    h.reset();
}

// A second `swamp serve` on the harness's data dir, on another port; waits for its exit.
Run tst_DataDirLock::serveAgain()
{
    return h->cli({u"serve"_s, u"--listen"_s, u"127.0.0.1:0"_s, u"--data-dir"_s, h->dataDir()});
}

// How many orchestrators ever registered in the SQLite file (read-only, beside the live one).
int tst_DataDirLock::orchestratorRows()
{
    int rows = -1;
    withReadOnlyDatabase(h->dataDir() + u"/swamp.db"_s, [&](QSqlDatabase &db) {
        QSqlQuery query(db);
        if (query.exec(u"SELECT count(*) FROM orchestrators"_s) && query.next())
            rows = query.value(0).toInt();
    });
    return rows;
}

void tst_DataDirLock::secondServeRefusedFirstUnharmed()
{
    QVERIFY(h->startOrchestrator());
    Child *first = h->orchestrator();
    Child *worker = h->startEnrolledWorker(h->createToken(u"ci"_s), h->newCacheDir());
    QVERIFY(worker);
    QCOMPARE_EXIT(h->cli({u"run"_s, u"--"_s, u"true"_s}), 0);
    const QString adminJson = h->dataDir() + u"/admin.json"_s;
    const QByteArray adminBefore = fileBytes(adminJson);
    QVERIFY(!adminBefore.isEmpty());
    const int rowsBefore = orchestratorRows();
    QCOMPARE(rowsBefore, 1);
    const QString firstOut = first->out();
    const QString firstErr = first->err();

    const Run second = serveAgain();
    QCOMPARE_EXIT(second, 1);
    QCOMPARE(second.err,
             u"error: data dir %1 is in use by swamp serve (pid %2) — stop that orchestrator "
             "first, or give this one its own --data-dir\n"_s.arg(QDir(h->dataDir()).absolutePath())
                 .arg(first->pid()));
    QVERIFY2(second.out.isEmpty(), qPrintable(second.describe()));

    // Nothing changed: the same admin.json, no second registration, nobody reconciled, and the
    // first orchestrator and its worker carry on.
    QCOMPARE(fileBytes(adminJson), adminBefore);
    QCOMPARE(orchestratorRows(), rowsBefore);
    QVERIFY(first->isRunning());
    QCOMPARE_EXIT(h->cli({u"run"_s, u"--"_s, u"echo"_s, u"still here"_s}), 0);
    QCOMPARE(h->workerStatus(u"ci"_s), u"idle"_s);
    QVERIFY2(!worker->outputContains(u"disconnected"_s), qPrintable(worker->describe()));
    QCOMPARE(first->err(), firstErr);
    const QString newLines = first->out().mid(firstOut.size());
    QVERIFY2(!newLines.contains(u"marked disconnected"_s) && !newLines.contains(u"expired"_s),
             qPrintable(newLines));
    QCOMPARE(fileBytes(adminJson), adminBefore);

    // --json: the same error as one document, for scripts.
    const Run json = h->cli(
        {u"serve"_s, u"--listen"_s, u"127.0.0.1:0"_s, u"--data-dir"_s, h->dataDir(), u"--json"_s});
    QCOMPARE_EXIT(json, 1);
    QCOMPARE(json.json().value(u"error"_s).toObject().value(u"code"_s).toString(),
             u"data_dir_in_use"_s);
}

void tst_DataDirLock::lockOfKilledServeTakenOver()
{
    QVERIFY(h->startOrchestrator());
    const quint16 port = h->port();
    Child *worker = h->startEnrolledWorker(h->createToken(u"ci"_s), h->newCacheDir());
    QVERIFY(worker);
    h->orchestrator()->process.kill(); // SIGKILL: the lock file stays, naming a dead pid
    QVERIFY(h->orchestrator()->waitForExit(10000));
    QVERIFY(QFile::exists(h->dataDir() + u"/serve.lock"_s));

    QVERIFY(h->startOrchestrator(port));
    QCOMPARE(fileBytes(h->dataDir() + u"/serve.lock"_s).split('\n').value(0),
             QByteArray::number(h->orchestrator()->pid()));
    // The worker comes back to the new one and runs steps again.
    QTRY_COMPARE_WITH_TIMEOUT(h->workerStatus(u"ci"_s), u"idle"_s, 60000);
    QCOMPARE_EXIT(h->cli({u"run"_s, u"--"_s, u"true"_s}), 0);
    QVERIFY(worker->isRunning());
}

void tst_DataDirLock::lockNamingAnotherLiveProcessTakenOver()
{
    // After a container restart the pid in a lock left by kill -9 may belong to a live process
    // again, even to a swamp (or to the new server itself, PID 1). A swamp worker stands in for
    // it here: alive, named swamp, holding no lock on this file.
    Child *other = h->startWorker(u"ci.%1"_s.arg(QString(64, u'a')), h->newCacheDir(), {},
                                  swampBinary(), u"ws://127.0.0.1:1"_s);
    QTRY_VERIFY_WITH_TIMEOUT(other->outContains(u"connecting to"_s), 20000);
    QVERIFY(QDir().mkpath(h->dataDir()));
    QFile lock(h->dataDir() + u"/serve.lock"_s);
    QVERIFY(lock.open(QIODevice::WriteOnly));
    lock.write(QByteArray::number(other->pid()) + "\nswamp\n" +
               QSysInfo::machineHostName().toUtf8() + '\n');
    lock.close();

    QVERIFY2(h->startOrchestrator(), qPrintable(h->orchestratorOutput()));
    QCOMPARE(fileBytes(h->dataDir() + u"/serve.lock"_s).split('\n').value(0),
             QByteArray::number(h->orchestrator()->pid()));
    QVERIFY(other->isRunning());
    // ... and the lock it holds now is real.
    const Run second = serveAgain();
    QCOMPARE_EXIT(second, 1);
    QVERIFY2(second.err.contains(u"(pid %1)"_s.arg(h->orchestrator()->pid())),
             qPrintable(second.err));
}

void tst_DataDirLock::unwrittenLockOfDeadProcessTakenOver()
{
    // A process that died (power cut) between creating the lock file and writing its pid.
    QVERIFY(QDir().mkpath(h->dataDir()));
    const QString path = h->dataDir() + u"/serve.lock"_s;
    QFile lock(path);
    QVERIFY(lock.open(QIODevice::WriteOnly));
    QVERIFY(lock.setFileTime(QDateTime::currentDateTime().addSecs(-3600),
                             QFileDevice::FileModificationTime));
    lock.close();
    QCOMPARE(QFileInfo(path).size(), 0);
    QVERIFY2(h->startOrchestrator(), qPrintable(h->orchestratorOutput()));
    QCOMPARE(fileBytes(path).split('\n').value(0), QByteArray::number(h->orchestrator()->pid()));
}

QTEST_GUILESS_MAIN(tst_DataDirLock)
#include "tst_datadir_lock.moc"
