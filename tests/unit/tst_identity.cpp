// The worker's machine identity and the one-process-per-cache-dir lock (SPEC §4).
#include "testsupport.h"

#include "model/token.h"
#include "worker/machineidentity.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>
#include <QUuid>

#include <sys/stat.h>

using namespace Qt::StringLiterals;
using namespace Swamp;

namespace {
int modeOf(const QString &path)
{
    struct stat info {};
    if (::stat(QFile::encodeName(path).constData(), &info) != 0)
        return -1;
    return int(info.st_mode & 07777);
}

QByteArray readAll(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return file.readAll();
}

bool writeAll(const QString &path, const QByteArray &data)
{
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return false;
    return file.write(data) == data.size();
}
} // namespace

class tst_Identity : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void createdPrivateAndAtomic();
    void reused();
    void existingDirectoryMadePrivate();
    void acceptsIdWithBraces();
    void corruptFile_data();
    void corruptFile();
    void machineKeyIsCreatedOnceAndPrivate();
    void corruptMachineKey();
    void distinctDirsDistinctIds();
    void suffix_data();
    void suffix();
    void secondLockInSameProcess();
    void lockReleasedOnDestruction();
    void lockHeldByOtherProcess();
    void staleLockOfDeadProcessTakenOver();

private:
    QProcess *startLockHolder(const QString &cacheDir);
    QList<QProcess *> m_children;
};

void tst_Identity::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
}

void tst_Identity::cleanup()
{
    for (QProcess *child : std::as_const(m_children)) {
        if (child->state() != QProcess::NotRunning) {
            child->kill();
            child->waitForFinished(10000);
        }
        delete child;
    }
    m_children.clear();
}

void tst_Identity::createdPrivateAndAtomic()
{
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString cacheDir = tmp.filePath(u"worker/cache"_s);
    auto id = loadOrCreateMachineId(cacheDir);
    QVERIFY_RESULT(id);
    QVERIFY(!QUuid::fromString(*id).isNull());
    QCOMPARE(id->size(), 36); // without braces
    const QString file = cacheDir + u"/machine-id"_s;
    QVERIFY(QFile::exists(file));
    QCOMPARE(QString::number(modeOf(file), 8), u"600"_s);
    QCOMPARE(QString::number(modeOf(cacheDir), 8), u"700"_s);
    QCOMPARE(readAll(file).trimmed(), id->toLatin1());
    // Atomic write: nothing but the file itself is left behind.
    QCOMPARE(QDir(cacheDir).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden),
             QStringList{u"machine-id"_s});
}

void tst_Identity::reused()
{
    QTemporaryDir tmp;
    auto first = loadOrCreateMachineId(tmp.path());
    QVERIFY_RESULT(first);
    const QByteArray before = readAll(tmp.filePath(u"machine-id"_s));
    auto second = loadOrCreateMachineId(tmp.path());
    QVERIFY_RESULT(second);
    QCOMPARE(*second, *first);
    QCOMPARE(readAll(tmp.filePath(u"machine-id"_s)), before);
}

void tst_Identity::existingDirectoryMadePrivate()
{
    QTemporaryDir tmp;
    const QString cacheDir = tmp.filePath(u"open"_s);
    QVERIFY(QDir().mkpath(cacheDir));
    QVERIFY(::chmod(QFile::encodeName(cacheDir).constData(), 0755) == 0);
    QVERIFY_RESULT(loadOrCreateMachineId(cacheDir));
    QCOMPARE(QString::number(modeOf(cacheDir), 8), u"700"_s);
}

void tst_Identity::acceptsIdWithBraces()
{
    QTemporaryDir tmp;
    const QString id = u"7f0c2b1e-5d3a-4c8e-9b6f-0a1d2e3f4a5b"_s;
    QVERIFY(writeAll(tmp.filePath(u"machine-id"_s), "{" + id.toLatin1() + "}\n"));
    auto loaded = loadOrCreateMachineId(tmp.path());
    QVERIFY_RESULT(loaded);
    QCOMPARE(*loaded, id);
}

void tst_Identity::corruptFile_data()
{
    QTest::addColumn<QByteArray>("content");
    QTest::addRow("empty-file") << QByteArray();
    QTest::addRow("only-newline") << QByteArray("\n");
    QTest::addRow("not-a-uuid") << QByteArray("not-a-uuid\n");
    QTest::addRow("truncated-uuid") << QByteArray("7f0c2b1e-5d3a-4c8e\n");
    QTest::addRow("json") << QByteArray("{}");
    QTest::addRow("binary-garbage") << QByteArray("\x00\xff\x13\x37", 4);
    QTest::addRow("nil-uuid") << QByteArray("00000000-0000-0000-0000-000000000000\n");
}

void tst_Identity::corruptFile()
{
    QFETCH(QByteArray, content);
    QTemporaryDir tmp;
    const QString file = tmp.filePath(u"machine-id"_s);
    QVERIFY(writeAll(file, content));
    auto id = loadOrCreateMachineId(tmp.path());
    QVERIFY_ERROR_CODE(id, u"identity_corrupt"_s);
    QVERIFY2(id.error().message.contains(QDir::toNativeSeparators(file)),
             qPrintable(id.error().message));
    QVERIFY(!id.error().fix.isEmpty());
    // The corrupt file is left for the operator to inspect, never silently replaced.
    QCOMPARE(readAll(file), content);
}

void tst_Identity::distinctDirsDistinctIds()
{
    QTemporaryDir a;
    QTemporaryDir b;
    auto idA = loadOrCreateMachineId(a.path());
    auto idB = loadOrCreateMachineId(b.path());
    QVERIFY_RESULT(idA);
    QVERIFY_RESULT(idB);
    QVERIFY(*idA != *idB);
}

void tst_Identity::suffix_data()
{
    QTest::addColumn<QString>("machineId");
    QTest::addRow("uuid") << u"7f0c2b1e-5d3a-4c8e-9b6f-0a1d2e3f4a5b"_s;
    QTest::addRow("other-uuid") << u"00000000-0000-4000-8000-000000000001"_s;
}

void tst_Identity::suffix()
{
    QFETCH(QString, machineId);
    const QString expected = QString::fromLatin1(
        QCryptographicHash::hash(machineId.toUtf8(), QCryptographicHash::Sha256).toHex().left(8));
    QCOMPARE(machineIdSuffix(machineId), expected);
    QCOMPARE(machineIdSuffix(machineId).size(), 8);
}

void tst_Identity::secondLockInSameProcess()
{
    QTemporaryDir tmp;
    auto first = lockCacheDir(tmp.path());
    QVERIFY_RESULT(first);
    auto second = lockCacheDir(tmp.path());
    QVERIFY_ERROR_CODE(second, u"cache_dir_in_use"_s);
    QCOMPARE(second.error().text(),
             u"cache dir %1 is in use by another worker (pid %2) — give each worker its own "
             "--cache-dir"_s.arg(QDir::toNativeSeparators(tmp.path()))
                 .arg(QCoreApplication::applicationPid()));
}

void tst_Identity::lockReleasedOnDestruction()
{
    QTemporaryDir tmp;
    {
        auto first = lockCacheDir(tmp.path());
        QVERIFY_RESULT(first);
    }
    auto again = lockCacheDir(tmp.path());
    QVERIFY_RESULT(again);
}

// A real `swamp worker connect` pointed at a closed port: it takes the cache dir lock and then
// retries forever, which makes it a lock holder in another process.
QProcess *tst_Identity::startLockHolder(const QString &cacheDir)
{
    auto *child = new QProcess;
    m_children << child;
    child->setProcessChannelMode(QProcess::MergedChannels);
    child->start(QStringLiteral(SWAMP_BINARY),
                 {u"worker"_s, u"connect"_s, u"ws://127.0.0.1:1"_s, u"--token"_s,
                  u"lock-holder."_s + QString(64, u'a'), u"--cache-dir"_s, cacheDir});
    return child;
}

void tst_Identity::lockHeldByOtherProcess()
{
    QTemporaryDir tmp;
    QProcess *holder = startLockHolder(tmp.path());
    QVERIFY(holder->waitForStarted(10000));
    QByteArray output;
    QVERIFY(QTest::qWaitFor([&] {
        output += holder->readAll();
        return output.contains("connecting to");
    }, 20000));
    auto lock = lockCacheDir(tmp.path());
    QVERIFY_ERROR_CODE(lock, u"cache_dir_in_use"_s);
    QVERIFY2(lock.error().message.contains(u"(pid %1)"_s.arg(holder->processId())),
             qPrintable(lock.error().message));
}

void tst_Identity::staleLockOfDeadProcessTakenOver()
{
    QTemporaryDir tmp;
    QProcess *holder = startLockHolder(tmp.path());
    QVERIFY(holder->waitForStarted(10000));
    QByteArray output;
    QVERIFY(QTest::qWaitFor([&] {
        output += holder->readAll();
        return output.contains("connecting to");
    }, 20000));
    holder->kill(); // SIGKILL: the lock file stays behind, naming a dead pid
    QVERIFY(holder->waitForFinished(10000));
    QVERIFY(QFile::exists(tmp.filePath(u"worker.lock"_s)));
    auto lock = lockCacheDir(tmp.path());
    QVERIFY_RESULT(lock);
}

void tst_Identity::machineKeyIsCreatedOnceAndPrivate()
{
    QTemporaryDir tmp;
    auto key = loadOrCreateMachineKey(tmp.path());
    QVERIFY_RESULT(key);
    QVERIFY2(QRegularExpression(u"^[0-9a-f]{64}$"_s).match(*key).hasMatch(), qPrintable(*key));
    const QString file = tmp.filePath(u"machine-key"_s);
    QCOMPARE(QFile::permissions(file) & ~(QFileDevice::ReadUser | QFileDevice::WriteUser),
             QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    auto again = loadOrCreateMachineKey(tmp.path());
    QVERIFY_RESULT(again);
    QCOMPARE(*again, *key);
    QTemporaryDir other;
    auto otherKey = loadOrCreateMachineKey(other.path());
    QVERIFY_RESULT(otherKey);
    QVERIFY(*otherKey != *key);
}

void tst_Identity::corruptMachineKey()
{
    QTemporaryDir tmp;
    const QString file = tmp.filePath(u"machine-key"_s);
    const QByteArray content = QByteArray(63, 'a') + '\n';
    QVERIFY(writeAll(file, content));
    auto key = loadOrCreateMachineKey(tmp.path());
    QVERIFY_ERROR_CODE(key, u"identity_corrupt"_s);
    QVERIFY2(key.error().message.contains(QDir::toNativeSeparators(file)), qPrintable(key.error().message));
    QCOMPARE(readAll(file), content); // left for the operator, never silently replaced
}

QTEST_GUILESS_MAIN(tst_Identity)
#include "model/token.h"
#include "tst_identity.moc"
