// `swamp backup <file>` with real processes: taken while an orchestrator commits a stream of
// steps from two workers, each copy is one consistent snapshot that passes PRAGMA quick_check;
// restoring one (stop, replace the file, start) brings back its tokens and steps, and the steps
// it had not seen finish run again. And every refusal, which writes nothing.
#include "steps/stephelpers.h"
#include "unit/sqlitefiles.h"

#include "store/store.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace SwampTest;

class tst_Backup : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void underWriteLoadThenRestore();
    void refusals_data();
    void refusals();

private:
    int total(const QString &predicate) { return SwampTest::total(*h, predicate); }
    // Until no step is queued, dispatched or running; then every one of them must have succeeded.
    void waitForAllSucceeded(int steps);
    std::unique_ptr<Harness> h;
};

namespace {

struct Snapshot
{
    QString quickCheck;
    int schemaVersion = -1;
    int steps = -1;
    int succeeded = -1;
    int tokens = -1;
};

Snapshot inspect(const QString &path)
{
    Snapshot snapshot;
    withReadOnlyDatabase(path, [&](QSqlDatabase &db) {
        QSqlQuery query(db);
        const auto one = [&](const QString &sql) {
            return query.exec(sql) && query.next() ? query.value(0) : QVariant();
        };
        snapshot.quickCheck = one(u"PRAGMA quick_check"_s).toString();
        snapshot.schemaVersion = one(u"SELECT max(version) FROM schema_migrations"_s).toInt();
        snapshot.steps = one(u"SELECT count(*) FROM steps"_s).toInt();
        snapshot.succeeded = one(u"SELECT count(*) FROM steps WHERE state = 'succeeded'"_s).toInt();
        snapshot.tokens = one(u"SELECT count(*) FROM enrollment_tokens"_s).toInt();
    });
    return snapshot;
}

QByteArray fileBytes(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

} // namespace

void tst_Backup::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    h = std::make_unique<Harness>();
}

void tst_Backup::cleanup()
{
    h.reset();
}

void tst_Backup::waitForAllSucceeded(int steps)
{
    QTRY_COMPARE_WITH_TIMEOUT(
        total(u"modelType == \"swamp/step\" && attributes.state in [\"queued\", \"dispatched\", "
              "\"running\"]"_s),
        0, 240000);
    const QJsonArray others =
        query(*h, u"modelType == \"swamp/step\" && attributes.state != \"succeeded\""_s);
    QVERIFY2(others.isEmpty(),
             qPrintable(QString::fromUtf8(QJsonDocument(others).toJson(QJsonDocument::Compact))));
    QCOMPARE(total(u"modelType == \"swamp/step\" && attributes.state == \"succeeded\""_s), steps);
}

void tst_Backup::underWriteLoadThenRestore()
{
    constexpr int Steps = 1500;
    QVERIFY(h->startOrchestrator());
    const quint16 port = h->port();
    const QString token = h->createToken(u"fleet"_s, {u"--max-enrollments"_s, u"unlimited"_s});
    QVERIFY(!token.isEmpty());
    for (int i = 0; i < 2; ++i)
        QVERIFY(h->startEnrolledWorker(token, h->newCacheDir(), {}, {u"--concurrency"_s, u"4"_s}));
    const QString path = h->tempPath(u"load.json"_s);
    {
        QJsonArray steps;
        for (int i = 0; i < Steps; ++i)
            steps << QJsonObject{{u"name"_s, u"s%1"_s.arg(i)},
                                 {u"command"_s, QJsonArray{u"true"_s}}};
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(
            QJsonDocument(QJsonObject{{u"name"_s, u"load"_s}, {u"steps"_s, steps}}).toJson());
    }
    QCOMPARE_EXIT(h->cli({u"run"_s, u"--file"_s, path, u"--detach"_s}), 0);
    const QString succeeded = u"modelType == \"swamp/step\" && attributes.state == \"succeeded\""_s;
    QTRY_VERIFY_WITH_TIMEOUT(total(succeeded) > 0, 60000);

    // Backups while the steps are committed, each between two counts taken around it.
    QString chosen;
    Snapshot chosenSnapshot;
    int overlapping = 0;
    for (int i = 0; i < 20 && overlapping < 3; ++i) {
        const int before = total(succeeded);
        const QString file = h->tempPath(u"backup-%1.db"_s.arg(i));
        const Run backup = h->cli({u"backup"_s, file});
        const int after = total(succeeded);
        QCOMPARE_EXIT(backup, 0);
        QVERIFY2(backup.out.startsWith(u"Backed up %1 to %2 ("_s.arg(
                     QDir(h->dataDir()).absolutePath() + u"/swamp.db"_s, file)),
                 qPrintable(backup.out));
        QVERIFY2(backup.out.contains(u"PRAGMA quick_check of the copy: ok"_s),
                 qPrintable(backup.out));
        const Snapshot snapshot = inspect(file);
        QCOMPARE(snapshot.quickCheck, u"ok"_s);
        QCOMPARE(snapshot.schemaVersion, Swamp::Store::knownSchemaVersion());
        QCOMPARE(snapshot.steps, Steps);
        QCOMPARE(snapshot.tokens, 1);
        QVERIFY2(before <= snapshot.succeeded && snapshot.succeeded <= after,
                 qPrintable(u"%1 <= %2 <= %3"_s.arg(before).arg(snapshot.succeeded).arg(after)));
        QCOMPARE(QFileInfo(file).permissions() & (QFileDevice::ReadGroup | QFileDevice::ReadOther),
                 QFileDevice::Permissions());
        if (before < after && after < Steps) {
            ++overlapping;
            chosen = file;
            chosenSnapshot = snapshot;
            qInfo("backup %d, taken while %d then %d steps had succeeded, holds %d (%s)", i, before,
                  after, snapshot.succeeded, qPrintable(backup.out.trimmed()));
        }
    }
    QVERIFY2(overlapping > 0, "no backup was taken while steps were being committed");
    QVERIFY(chosenSnapshot.succeeded < Steps);
    // Nothing but the copies: no partial file left next to them.
    QCOMPARE(QDir(h->tempPath(QString())).entryList({u".*.partial"_s}, QDir::Files | QDir::Hidden),
             QStringList());

    // Restore: stop, replace the file (and drop the log of the newer one), start.
    waitForAllSucceeded(Steps);
    QVERIFY(h->stopOrchestrator());
    QCOMPARE(h->orchestrator()->exitCode(), 0);
    const QString db = h->dataDir() + u"/swamp.db"_s;
    QVERIFY(QFile::remove(db));
    QFile::remove(db + u"-wal"_s);
    QFile::remove(db + u"-shm"_s);
    QVERIFY(QFile::copy(chosen, db));
    QVERIFY2(h->startOrchestrator(port), qPrintable(h->orchestratorOutput()));
    QCOMPARE(h->tokenNamed(u"fleet"_s).value(u"state"_s).toString(), u"enrolled"_s);
    QCOMPARE(total(u"modelType == \"swamp/step\""_s), Steps);
    // The steps that had finished after the backup was taken run again, and all finish.
    waitForAllSucceeded(Steps);
}

void tst_Backup::refusals_data()
{
    QTest::addColumn<QString>("setup");
    QTest::addColumn<int>("exitCode");
    QTest::addRow("target-exists") << u"exists"_s << 1;
    QTest::addRow("target-is-a-dangling-symlink") << u"symlink"_s << 1;
    QTest::addRow("target-directory-missing") << u"no-directory"_s << 1;
    QTest::addRow("no-database") << u"no-database"_s << 1;
    QTest::addRow("postgresql") << u"postgresql"_s << 1;
    QTest::addRow("no-file-named") << u"no-argument"_s << 2;
    QTest::addRow("two-files") << u"two-arguments"_s << 2;
}

void tst_Backup::refusals()
{
    QFETCH(QString, setup);
    QFETCH(int, exitCode);
    if (setup != u"no-database") {
        QVERIFY(h->startOrchestrator());
        QVERIFY(!h->createToken(u"ci"_s).isEmpty());
    }
    const QString db = QDir(h->dataDir()).absolutePath() + u"/swamp.db"_s;
    QString target = h->tempPath(u"backup.db"_s);
    QStringList arguments{u"backup"_s, target};
    QProcessEnvironment env = Harness::baseEnvironment();
    env.insert(u"SWAMP_DATA_DIR"_s, h->dataDir());
    QString expected;
    if (setup == u"exists") {
        QFile file(target);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("an older backup");
        expected = u"error: %1 already exists; nothing was written — give the backup a new file "
                   "name, or remove the old file first\n"_s.arg(target);
    } else if (setup == u"symlink") {
        QVERIFY(QFile::link(h->tempPath(u"elsewhere/secret"_s), target));
        expected = u"error: %1 already exists; nothing was written — give the backup a new file "
                   "name, or remove the old file first\n"_s.arg(target);
    } else if (setup == u"no-directory") {
        target = h->tempPath(u"missing/backup.db"_s);
        arguments = {u"backup"_s, target};
        expected = u"error: cannot write the backup %1: "_s.arg(target);
    } else if (setup == u"no-database") {
        expected =
            u"error: there is no SQLite database at %1 — run 'swamp backup' on the "
            "orchestrator's machine with its data dir (--data-dir or SWAMP_DATA_DIR); an "
            "orchestrator with --database postgresql:// is backed up with pg_dump instead\n"_s.arg(
                db);
    } else if (setup == u"postgresql") {
        env.insert(u"SWAMP_DATABASE_URL"_s, u"postgresql://swamp@db.example.net/swamp"_s);
        expected = u"error: SWAMP_DATABASE_URL is set: this orchestrator keeps its state in "
                   "PostgreSQL, and swamp backup copies only a SQLite database — back PostgreSQL "
                   "up with pg_dump (see 'Backup and restore' in the operations guide), or pass "
                   "--data-dir to copy a SQLite data dir\n"_s;
    } else if (setup == u"no-argument") {
        arguments = {u"backup"_s};
        expected = u"error: name the file to write: swamp backup <file>\nRun 'swamp backup --help' "
                   "for usage.\n"_s;
    } else if (setup == u"two-arguments") {
        arguments << h->tempPath(u"second.db"_s);
        expected = u"error: unexpected argument \"%1\" — swamp backup writes one file\nRun 'swamp "
                   "backup --help' for usage.\n"_s.arg(h->tempPath(u"second.db"_s));
    }
    const QByteArray before = fileBytes(target);
    const QStringList filesBefore =
        QDir(h->tempPath(QString()))
            .entryList(QDir::Files | QDir::Hidden | QDir::System, QDir::Name);

    const Run run = h->cli(arguments, swampBinary(), env);
    QCOMPARE_EXIT(run, exitCode);
    if (setup == u"no-directory") {
        QVERIFY2(run.err.startsWith(expected), qPrintable(run.err));
        QVERIFY2(run.err.endsWith(u" — check that %1 exists and is writable by this user\n"_s.arg(
                     h->tempPath(u"missing"_s))),
                 qPrintable(run.err));
    } else {
        QCOMPARE(run.err, expected);
    }
    QVERIFY2(run.out.isEmpty(), qPrintable(run.describe()));
    // Nothing written: the target as it was, no new file next to it.
    QCOMPARE(fileBytes(target), before);
    QCOMPARE(QDir(h->tempPath(QString()))
                 .entryList(QDir::Files | QDir::Hidden | QDir::System, QDir::Name),
             filesBefore);
    QVERIFY(!QFile::exists(h->tempPath(u"elsewhere/secret"_s)));
}

QTEST_GUILESS_MAIN(tst_Backup)
#include "tst_backup.moc"
