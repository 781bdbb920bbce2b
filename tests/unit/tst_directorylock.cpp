// lockDirectory() (common/directorylock.h), the one-process-per-directory lock of the worker's
// cache dir and the orchestrator's data dir, against lock files it did not write itself: left by
// a dead process, naming a live one that does not hold them, unreadable, from another machine, or
// something else in their place. The real processes: tst_identity and tst_datadir_lock.
#include "testsupport.h"

#include "common/directorylock.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QRegularExpression>
#include <QSysInfo>
#include <QTemporaryDir>
#include <QTest>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace Qt::StringLiterals;
using namespace Swamp;

class tst_DirectoryLock : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void createsTheDirectoryAndAPrivateFile();
    void secondLockInThisProcessRefused();
    void releasedWithTheLock();
    void leftoverTakenOver_data();
    void leftoverTakenOver();
    void unwrittenYoungLockRefused();
    void lockOfAnotherHostRefused();
    void somethingElseInItsPlace();
    void deadHoldersForkLetsGo();
    void deadHoldersForkThatStaysRefused();

private:
    Result<std::unique_ptr<QLockFile>> lock();
    void writeLock(const QByteArray &content, const QDateTime &modified = {});
    // The lock of a process that is gone, whose flock a descriptor of this test holds (as a
    // child it was forking when it died would) until `releaseAfterMs`; -1: not released.
    void lockOfDeadHolderHeldFor(int releaseAfterMs);
    std::thread m_holder;
    QTemporaryDir m_root;
    QString m_dir;
    QList<qint64> m_inUsePids; // what inUse() was called with
};

void tst_DirectoryLock::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    m_dir = m_root.filePath(u"dir-%1"_s.arg(QLatin1String(QTest::currentTestFunction())) + u'-' +
                            QString::fromLatin1(QTest::currentDataTag()));
    m_inUsePids.clear();
}

Result<std::unique_ptr<QLockFile>> tst_DirectoryLock::lock()
{
    return lockDirectory(m_dir, u"test.lock"_s, [this](qint64 pid) {
        m_inUsePids.append(pid);
        return makeError(u"in_use"_s, u"in use by pid %1"_s.arg(pid), u"wait"_s);
    });
}

void tst_DirectoryLock::writeLock(const QByteArray &content, const QDateTime &modified)
{
    QVERIFY(QDir().mkpath(m_dir));
    QFile file(m_dir + u"/test.lock"_s);
    QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
    QCOMPARE(file.write(content), content.size());
    QVERIFY(file.flush()); // before the time is set: a write at close would set it again
    if (modified.isValid())
        QVERIFY(file.setFileTime(modified, QFileDevice::FileModificationTime));
}

void tst_DirectoryLock::createsTheDirectoryAndAPrivateFile()
{
    auto held = lock();
    QVERIFY_RESULT(held);
    QCOMPARE(QFileInfo(m_dir).permissions() & 0x0077, QFileDevice::Permissions());
    const QFileInfo file(m_dir + u"/test.lock"_s);
    QVERIFY(file.isFile());
    QCOMPARE(file.permissions(), QFileDevice::ReadOwner | QFileDevice::WriteOwner |
                                     QFileDevice::ReadUser | QFileDevice::WriteUser);
}

void tst_DirectoryLock::secondLockInThisProcessRefused()
{
    auto first = lock();
    QVERIFY_RESULT(first);
    auto second = lock();
    QVERIFY_ERROR_CODE(second, u"in_use"_s);
    QCOMPARE(m_inUsePids, QList<qint64>{QCoreApplication::applicationPid()});
}

void tst_DirectoryLock::releasedWithTheLock()
{
    {
        auto first = lock();
        QVERIFY_RESULT(first);
    }
    QVERIFY(!QFile::exists(m_dir + u"/test.lock"_s));
    QVERIFY_RESULT(lock());
}

void tst_DirectoryLock::leftoverTakenOver_data()
{
    // Lock files that no live process holds (nobody has the file's flock).
    QTest::addColumn<QByteArray>("content");
    const QByteArray host = QSysInfo::machineHostName().toUtf8();
    const QByteArray self = QByteArray::number(QCoreApplication::applicationPid());
    const QByteArray app = QCoreApplication::applicationFilePath().toUtf8();
    // pid 1 is alive (init) but not this program: QLockFile itself sees it as stale.
    QTest::addRow("pid-of-another-program") << QByteArray("1\n" + app + '\n' + host + '\n');
    // Our own pid and program, as a server that is PID 1 of its container again finds it.
    QTest::addRow("own-pid-reused") << QByteArray(self + '\n' + app + '\n' + host + '\n');
    QTest::addRow("empty") << QByteArray();
    QTest::addRow("garbage") << QByteArray("\x01\x02 not a lock file\n");
}

void tst_DirectoryLock::leftoverTakenOver()
{
    QFETCH(QByteArray, content);
    writeLock(content, QDateTime::currentDateTime().addSecs(-3600));
    auto held = lock();
    QVERIFY_RESULT(held);
    QVERIFY(m_inUsePids.isEmpty());
    QFile file(m_dir + u"/test.lock"_s);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QCOMPARE(file.readLine().trimmed(), QByteArray::number(QCoreApplication::applicationPid()));
}

void tst_DirectoryLock::unwrittenYoungLockRefused()
{
    // An empty lock file of this very moment may be a process between creating the file and
    // writing its pid: not taken over until it is a second old.
    writeLock({});
    auto refused = lock();
    QVERIFY_ERROR_CODE(refused, u"in_use"_s);
    QCOMPARE(m_inUsePids, QList<qint64>{0});
    QCOMPARE(QFileInfo(m_dir + u"/test.lock"_s).size(), 0);
}

void tst_DirectoryLock::lockOfAnotherHostRefused()
{
    // On a shared file system the flock of a process on another machine may not be visible here.
    writeLock("4242\nswamp\nsome-other-machine.example.net\n",
              QDateTime::currentDateTime().addSecs(-3600));
    auto refused = lock();
    QVERIFY_ERROR_CODE(refused, u"in_use"_s);
    QCOMPARE(m_inUsePids, QList<qint64>{4242});
}

void tst_DirectoryLock::somethingElseInItsPlace()
{
    QVERIFY(QDir().mkpath(m_dir + u"/test.lock"_s));
    auto refused = lock();
    QVERIFY_ERROR_CODE(refused, u"lock_file"_s);
    QCOMPARE(refused.error().text(),
             u"%1/test.lock is in the way of the lock file: it is not a file — remove it; swamp "
             "creates the lock file itself"_s.arg(m_dir));
    QVERIFY(m_inUsePids.isEmpty());
}

void tst_DirectoryLock::lockOfDeadHolderHeldFor(int releaseAfterMs)
{
    const pid_t dead = ::fork();
    if (dead == 0)
        ::_exit(0);
    QVERIFY(dead > 0);
    QCOMPARE(::waitpid(dead, nullptr, 0), dead);
    writeLock(QByteArray::number(dead) + '\n' + QCoreApplication::applicationFilePath().toUtf8() + '\n' +
                  QSysInfo::machineHostName().toUtf8() + '\n',
              QDateTime::currentDateTime().addSecs(-3600));
    const int fd = ::open(QFile::encodeName(m_dir + u"/test.lock"_s).constData(), O_RDONLY | O_CLOEXEC);
    QVERIFY(fd >= 0);
    QCOMPARE(::flock(fd, LOCK_EX | LOCK_NB), 0);
    if (m_holder.joinable())
        m_holder.join();
    m_holder = std::thread([fd, releaseAfterMs] {
        std::this_thread::sleep_for(std::chrono::milliseconds(releaseAfterMs < 0 ? 3000 : releaseAfterMs));
        ::close(fd);
    });
}

void tst_DirectoryLock::deadHoldersForkLetsGo()
{
    // The worker killed while a step's process was between fork and exec: the worker restarted
    // at once waits for that child to let go of the lock instead of refusing to start.
    lockOfDeadHolderHeldFor(300);
    auto held = lock();
    m_holder.join();
    QVERIFY_RESULT(held);
    QVERIFY(m_inUsePids.isEmpty());
}

void tst_DirectoryLock::deadHoldersForkThatStaysRefused()
{
    // A flock that outlives its pid for longer is a holder of its own: refused, after the grace.
    lockOfDeadHolderHeldFor(-1);
    QElapsedTimer waited;
    waited.start();
    auto refused = lock();
    const qint64 waitedMs = waited.elapsed();
    m_holder.join();
    QVERIFY_ERROR_CODE(refused, u"in_use"_s);
    QCOMPARE(m_inUsePids.size(), 1);
    QVERIFY2(waitedMs >= 1500, qPrintable(u"refused after %1 ms"_s.arg(waitedMs)));
}

QTEST_GUILESS_MAIN(tst_DirectoryLock)
#include "tst_directorylock.moc"
