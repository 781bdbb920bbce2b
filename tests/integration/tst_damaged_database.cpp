// A damaged, emptied or foreign SQLite file in a data dir that held a database: the real
// `swamp serve` exits 1 with the file, the cause, "nothing was changed" and the newest backup to
// restore (or how to start over), and changes nothing: the file keeps its bytes and time,
// admin.json its bytes. Before this, an emptied file was given a fresh schema next to the old
// admin.json (every worker then failed with `token does not exist`), and a damaged one started
// and failed later.
#include "swampharness.h"
#include "unit/sqlitefiles.h"

#include "store/store.h"

#include <QCryptographicHash>
#include <QFileInfo>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTest>
#include <QUuid>

using namespace Qt::StringLiterals;
using namespace SwampTest;

class tst_DamagedDatabase : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();
    void refused_data();
    void refused();
    void emptyFileOfNewDataDirStarts();

private:
    // A data dir as a running orchestrator left it (admin.json, a token) plus `steps` finished
    // steps with their runs and leases, written through the store.
    void populate(int steps);
    QString database() const { return QDir(h->dataDir()).absolutePath() + u"/swamp.db"_s; }
    std::unique_ptr<Harness> h;
};

namespace {

QByteArray hashOf(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly)
               ? QCryptographicHash::hash(file.readAll(), QCryptographicHash::Sha256)
               : QByteArray();
}

// What PRAGMA quick_check(10) reports first on `path` (SQLite's error when reading fails), read
// by the test itself so that the expected message is exact.
QString firstQuickCheckProblem(const QString &path)
{
    QString problem;
    withReadOnlyDatabase(path, [&](QSqlDatabase &db) {
        QSqlQuery query(db);
        if (!query.exec(u"PRAGMA quick_check(10)"_s))
            problem = query.lastError().databaseText();
        while (problem.isEmpty() && query.next()) {
            if (query.value(0).toString() != u"ok")
                problem = query.value(0).toString();
        }
        if (problem.isEmpty() && query.lastError().isValid())
            problem = query.lastError().databaseText();
    });
    // The message is one line, without the header that names the only database.
    problem.remove(u"*** in database main ***\n"_s);
    return problem.replace(u'\n', u' ').trimmed();
}

} // namespace

void tst_DamagedDatabase::initTestCase()
{
    QVERIFY(QSqlDatabase::isDriverAvailable(u"QSQLITE"_s));
}

void tst_DamagedDatabase::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    h = std::make_unique<Harness>();
}

void tst_DamagedDatabase::cleanup()
{
    h.reset();
}

void tst_DamagedDatabase::populate(int steps)
{
    QVERIFY(h->startOrchestrator());
    QVERIFY(!h->createToken(u"ci"_s).isEmpty());
    QVERIFY(h->stopOrchestrator());
    QCOMPARE(h->orchestrator()->exitCode(), 0);
    {
        auto store = Swamp::Store::open(database());
        QVERIFY_RESULT(store);
        const QDateTime at = QDateTime::currentDateTimeUtc().addSecs(-60);
        Swamp::RunRecord run;
        const auto written = (*store)->transaction([&]() -> Swamp::Result<void> {
            for (int i = 0; i < steps; ++i) {
                if (i % 100 == 0) {
                    run = Swamp::RunRecord{QUuid::createUuid().toString(QUuid::WithoutBraces),
                                           u"run-%1"_s.arg(i / 100),
                                           Swamp::StepState::Succeeded,
                                           at,
                                           at,
                                           at};
                    if (auto r = (*store)->insertRun(run); !r)
                        return r;
                }
                Swamp::StepRecord step;
                step.id = QUuid::createUuid().toString(QUuid::WithoutBraces);
                step.runId = run.id;
                step.seq = i % 100;
                step.spec.name = u"step-%1"_s.arg(i);
                step.spec.command = {u"make"_s, u"test"_s};
                step.spec.queueTimeoutMs = 600000;
                step.state = Swamp::StepState::Succeeded;
                step.attempt = 1;
                step.exitCode = 0;
                step.workerName = step.workerId = u"ci"_s;
                step.queuedAt = step.createdAt = step.startedAt = at;
                step.finishedAt = step.updatedAt = at.addSecs(1);
                if (auto r = (*store)->insertStep(step); !r)
                    return r;
                Swamp::LeaseRecord lease;
                lease.id = QUuid::createUuid().toString(QUuid::WithoutBraces);
                lease.stepId = step.id;
                lease.runId = run.id;
                lease.workerId = lease.workerName = u"ci"_s;
                lease.attempt = 1;
                lease.state = Swamp::LeaseState::Completed;
                lease.exitCode = 0;
                lease.createdAt = lease.startedAt = at;
                lease.endedAt = lease.updatedAt = step.finishedAt;
                if (auto r = (*store)->insertLease(lease); !r)
                    return r;
            }
            return {};
        });
        QVERIFY_RESULT(written);
    }
    // The last connection checkpointed the log into the file.
    QVERIFY(!QFile::exists(database() + u"-wal"_s) ||
            QFileInfo(database() + u"-wal"_s).size() == 0);
}

void tst_DamagedDatabase::refused_data()
{
    QTest::addColumn<QString>("damage");
    QTest::addColumn<bool>("withBackups");
    QTest::addRow("truncated-to-0-bytes") << u"truncate"_s << false;
    QTest::addRow("truncated-to-0-bytes-with-backups") << u"truncate"_s << true;
    QTest::addRow("200-bytes-flipped-in-the-middle") << u"flip"_s << true;
    QTest::addRow("200-bytes-flipped-no-backup") << u"flip"_s << false;
    QTest::addRow("not-a-database") << u"text"_s << true;
    QTest::addRow("removed") << u"remove"_s << false;
    QTest::addRow("foreign-sqlite-file") << u"foreign"_s << false;
    QTest::addRow("newer-schema") << u"newer"_s << false;
}

void tst_DamagedDatabase::refused()
{
    QFETCH(QString, damage);
    QFETCH(bool, withBackups);
    populate(3000);
    const QString dir = QDir(h->dataDir()).absolutePath();
    const QString db = database();
    QString newestBackup;
    if (withBackups) {
        // An old migration copy and a `swamp backup` kept in the data dir: the newer is named.
        const QString old = dir + u"/swamp.db.schema3.bak"_s;
        QVERIFY(QFile::copy(db, old));
        {
            QFile file(old);
            QVERIFY(file.open(QIODevice::ReadWrite));
            QVERIFY(file.setFileTime(QDateTime::currentDateTimeUtc().addDays(-40),
                                     QFileDevice::FileModificationTime));
        }
        newestBackup = dir + u"/before-damage.db"_s;
        const Run backup = h->cli({u"backup"_s, newestBackup});
        QCOMPARE_EXIT(backup, 0);
    }

    QString cause;
    QString code;
    bool fileInTheWay = true;
    if (damage == u"truncate") {
        QVERIFY(QFile::resize(db, 0));
        cause = u"the database %1 is empty (0 bytes), but the data dir held one before (%2)"_s.arg(
            db, withBackups ? u"it holds admin.json and 2 backup(s)"_s : u"it holds admin.json"_s);
        fileInTheWay = false;
    } else if (damage == u"flip") {
        // The first 200 bytes of the middle page, each inverted: its b-tree header and cell
        // pointers, which quick_check reads.
        QVERIFY(QFileInfo(db).size() > 100 * 4096);
        const QString damaged = invertMiddlePage(db);
        QVERIFY2(damaged.isEmpty(), qPrintable(damaged));
        const QString problem = firstQuickCheckProblem(db);
        QVERIFY2(!problem.isEmpty(), "the flipped bytes must be damage that quick_check sees");
        cause = u"the database %1 is damaged (PRAGMA quick_check: %2)"_s.arg(db, problem);
    } else if (damage == u"text") {
        QFile file(db);
        QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
        file.write(
            QByteArray("# not a database, but a config file copied over it\n").repeated(400));
        cause = u"%1 is not a SQLite database (SQLite: file is not a database)"_s.arg(db);
    } else if (damage == u"remove") {
        QVERIFY(QFile::remove(db));
        cause = u"the database %1 does not exist, but the data dir held one before (it holds "
                "admin.json)"_s.arg(db);
        fileInTheWay = false;
    } else if (damage == u"foreign") {
        QVERIFY(QFile::remove(db));
        const QString problem = executeSql(db, u"CREATE TABLE bookmarks (url TEXT)"_s);
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        cause = u"the database %1 holds no swamp schema, but the data dir held one before (it "
                "holds admin.json)"_s.arg(db);
    } else if (damage == u"newer") {
        const QString problem = executeSql(
            db,
            u"INSERT INTO schema_migrations (version, applied_at, swamp_version) VALUES (%1, 0, "
            "'9.0.0')"_s.arg(Swamp::Store::knownSchemaVersion() + 1));
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
    }

    const QString startOver = u"or start over with an empty database by moving %1 away (every "
                              "token, worker and step is forgotten)"_s.arg(dir);
    const QString putInPlace =
        u"copy it to %1, delete %1-wal and %1-shm, and start again"_s.arg(db);
    const QString aside = fileInTheWay ? u"move %1 aside and "_s.arg(db) : QString();
    const QString fix =
        newestBackup.isEmpty()
            ? u"no backup was found in %1: %2restore one taken with 'swamp backup' (%3); %4"_s.arg(
                  dir, aside, putInPlace, startOver)
            : u"%1restore the newest backup, %2 (written %3): %4; %5"_s.arg(
                  aside, newestBackup,
                  QFileInfo(newestBackup).lastModified().toUTC().toString(Qt::ISODate), putInPlace,
                  startOver);
    QString expected = u"error: %1; nothing was changed — %2\n"_s.arg(cause, fix);
    if (damage == u"newer") {
        expected =
            u"error: the database has schema version %1 (written by swamp 9.0.0) but this "
            "swamp %2 knows schema versions up to %3; nothing was changed — install swamp "
            "9.0.0 or newer\n"_s.arg(Swamp::Store::knownSchemaVersion() + 1)
                .arg(h->cli({u"version"_s, u"--json"_s}).json().value(u"version"_s).toString())
                .arg(Swamp::Store::knownSchemaVersion());
    }

    const QString adminJson = dir + u"/admin.json"_s;
    const QByteArray adminBefore = hashOf(adminJson);
    const QByteArray dbBefore = hashOf(db);
    const QDateTime dbModified = QFileInfo(db).lastModified();
    QStringList filesBefore = QDir(dir).entryList(QDir::Files, QDir::Name);

    const Run serve = h->cli({u"serve"_s, u"--listen"_s, u"127.0.0.1:0"_s, u"--data-dir"_s, dir});
    QCOMPARE_EXIT(serve, 1);
    QCOMPARE(serve.err, expected);
    QVERIFY2(serve.out.isEmpty(), qPrintable(serve.describe()));

    // Nothing changed: the file's bytes and time, admin.json, no new file but SQLite's own.
    QCOMPARE(hashOf(db), dbBefore);
    QCOMPARE(QFileInfo::exists(db), damage != u"remove");
    if (QFileInfo::exists(db))
        QCOMPARE(QFileInfo(db).lastModified(), dbModified);
    QCOMPARE(hashOf(adminJson), adminBefore);
    QStringList filesAfter = QDir(dir).entryList(QDir::Files, QDir::Name);
    for (QStringList *files : {&filesBefore, &filesAfter}) {
        files->removeAll(u"swamp.db-wal"_s);
        files->removeAll(u"swamp.db-shm"_s);
    }
    QCOMPARE(filesAfter, filesBefore);

    // The advice works: with the backup in place (and the damaged file aside) it starts again.
    if (!newestBackup.isEmpty()) {
        if (QFileInfo::exists(db))
            QVERIFY(QFile::rename(db, dir + u"/swamp.db.damaged"_s));
        QFile::remove(db + u"-wal"_s);
        QFile::remove(db + u"-shm"_s);
        QVERIFY(QFile::copy(newestBackup, db));
        QVERIFY2(h->startOrchestrator(), qPrintable(h->orchestratorOutput()));
        QCOMPARE(h->tokenNamed(u"ci"_s).value(u"state"_s).toString(), u"unused"_s);
        QCOMPARE(h->cli({u"data"_s, u"query"_s, u"modelType == \"swamp/step\""_s, u"--limit"_s,
                         u"1"_s, u"--json"_s})
                     .json()
                     .value(u"total"_s)
                     .toInt(),
                 3000);
    }
}

void tst_DamagedDatabase::emptyFileOfNewDataDirStarts()
{
    // Nothing shows that this data dir ever held a database: an empty file is a new one.
    QVERIFY(QDir().mkpath(h->dataDir()));
    QFile file(database());
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.close();
    QVERIFY2(h->startOrchestrator(), qPrintable(h->orchestratorOutput()));
    QVERIFY(!h->createToken(u"ci"_s).isEmpty());
}

QTEST_GUILESS_MAIN(tst_DamagedDatabase)
#include "tst_damaged_database.moc"
