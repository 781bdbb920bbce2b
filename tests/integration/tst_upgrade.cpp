// "Upgrade the fleet" of the operations guide, followed literally with real processes: an
// orchestrator and workers on version A (`swamp-alt-version`, the same code linked with another
// version string), the orchestrator upgraded first to version B (`swamp`) on the same data dir,
// then the workers. Also: a database migrated from the previous schema is backed up first and
// the backup named, and an older binary refuses a newer schema without touching the file.
#include "steps/stephelpers.h"
#include "unit/oldschema.h"

#include "store/store.h"

#include <QCryptographicHash>
#include <QFileInfo>
#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace SwampTest;

class tst_Upgrade : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void upgradeTheFleet();
    void previousSchemaIsBackedUpAndNamed();
    void olderBinaryRefusesNewerSchema();

private:
    QString versionOf(const QString &binary);
    Child *startEnrolledWorker(const QString &binary, const QString &token, const QString &cacheDir);
    std::unique_ptr<Harness> h;
};

namespace {
QByteArray fileHash(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QCryptographicHash::hash(file.readAll(), QCryptographicHash::Sha256);
}

QStringList backups(const QString &dir)
{
    return QDir(dir).entryList({u"*.bak"_s}, QDir::Files);
}
} // namespace

void tst_Upgrade::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    h = std::make_unique<Harness>();
}

void tst_Upgrade::cleanup()
{
    h.reset();
}

QString tst_Upgrade::versionOf(const QString &binary)
{
    return h->cli({u"version"_s, u"--json"_s}, binary).json().value(u"version"_s).toString();
}

Child *tst_Upgrade::startEnrolledWorker(const QString &binary, const QString &token, const QString &cacheDir)
{
    Child *worker = h->startWorker(token, cacheDir, {}, binary);
    if (!QTest::qWaitFor([&] { return worker->outContains(u"enrolled as "_s) || !worker->isRunning(); }, 30000)
        || !worker->outContains(u"enrolled as "_s)) {
        qWarning("worker did not enroll: %s", qPrintable(worker->describe()));
        return nullptr;
    }
    return worker;
}

void tst_Upgrade::upgradeTheFleet()
{
    const QString a = altSwampBinary();
    const QString versionA = versionOf(a);
    const QString versionB = versionOf(swampBinary());
    QVERIFY(!versionA.isEmpty() && !versionB.isEmpty() && versionA != versionB);

    // Version A everywhere: orchestrator, admin CLI, workers.
    QVERIFY(h->startOrchestrator(0, {}, a));
    QVERIFY(h->orchestrator()->outContains(u"(swamp %1, "_s.arg(versionA)));
    const quint16 port = h->port();
    const auto cliA = [&](const QStringList &arguments) { return h->cli(arguments, a); };
    const Run soloToken = cliA({u"worker"_s, u"token"_s, u"create"_s, u"solo"_s, u"--duration"_s, u"7d"_s});
    const Run fleetToken = cliA({u"worker"_s, u"token"_s, u"create"_s, u"fleet"_s, u"--duration"_s, u"7d"_s,
                                 u"--max-enrollments"_s, u"unlimited"_s});
    QCOMPARE_EXIT(soloToken, 0);
    QCOMPARE_EXIT(fleetToken, 0);
    const QString solo = soloToken.outLines().value(0);
    const QString fleet = fleetToken.outLines().value(0);
    const QStringList cacheDirs{h->newCacheDir(), h->newCacheDir()};
    QList<Child *> workersA{startEnrolledWorker(a, solo, cacheDirs.at(0)),
                            startEnrolledWorker(a, fleet, cacheDirs.at(1))};
    QVERIFY(workersA.at(0) && workersA.at(1));
    const QJsonArray before = cliA({u"worker"_s, u"list"_s, u"--json"_s}).json().value(u"workers"_s).toArray();
    QCOMPARE(before.size(), 2);
    QHash<QString, QString> idByName;
    for (const QJsonValue &value : before) {
        const QJsonObject worker = value.toObject();
        QCOMPARE(worker.value(u"version"_s).toString(), versionA);
        idByName.insert(worker.value(u"name"_s).toString(), worker.value(u"id"_s).toString());
    }
    QVERIFY(idByName.contains(u"solo"_s));
    const Run stepA = cliA({u"run"_s, u"--"_s, u"echo"_s, u"before the upgrade"_s});
    QCOMPARE_EXIT(stepA, 0);
    QCOMPARE(stepA.out, u"before the upgrade\n"_s);
    const QJsonArray stepsA = cliA({u"data"_s, u"query"_s, u"modelType == \"swamp/step\""_s, u"--json"_s})
                                  .json().value(u"results"_s).toArray();
    QCOMPARE(stepsA.size(), 1);
    const QString stepId = stepsA.first().toObject().value(u"id"_s).toString();

    // 1. Upgrade the orchestrator first: stop it, start version B on the same data dir.
    QVERIFY(h->stopOrchestrator());
    QCOMPARE(h->orchestrator()->exitCode(), 0);
    QVERIFY(h->startOrchestrator(port));
    QVERIFY(h->orchestrator()->outContains(u"(swamp %1, "_s.arg(versionB)));

    // Workers still on A see protocol_mismatch and stop (exit 1) until they are upgraded.
    const QString mismatch = u"enrollment failed: protocol_mismatch: this worker runs swamp %1 but the "
                             "orchestrator runs swamp %2 — upgrade both to the same version"_s.arg(versionA, versionB);
    for (Child *worker : std::as_const(workersA)) {
        QVERIFY2(worker->waitForExit(60000), qPrintable(worker->describe()));
        QVERIFY2(worker->exitCode() == 1, qPrintable(worker->describe()));
        QVERIFY2(worker->errContains(mismatch), qPrintable(worker->describe()));
    }

    // Everything A recorded is still there.
    const QJsonObject soloRecord = h->tokenNamed(u"solo"_s);
    QCOMPARE(soloRecord.value(u"state"_s).toString(), u"enrolled"_s);
    QCOMPARE(soloRecord.value(u"enrollments"_s).toInt(), 1);
    QCOMPARE(h->tokenNamed(u"fleet"_s).value(u"enrollments"_s).toInt(), 1);
    const QJsonObject all = h->workerList(true);
    QCOMPARE(all.value(u"count"_s).toInt(), 2);
    for (auto it = idByName.cbegin(); it != idByName.cend(); ++it) {
        QCOMPARE(h->workerNamed(it.key()).value(u"id"_s).toString(), it.value());
        QCOMPARE(h->workerStatus(it.key()), u"disconnected"_s);
    }
    QCOMPARE(stepState(*h, stepId), u"succeeded"_s);
    QCOMPARE(h->cli({u"run"_s, u"logs"_s, stepId}).out, u"before the upgrade\n"_s);
    QVERIFY2(backups(h->dataDir()).isEmpty(), "no migration was due, so no backup");

    // 2. Then the workers: version B on the same cache dirs resumes each machine's identity
    // (the single-use token would refuse any other machine).
    for (int i = 0; i < cacheDirs.size(); ++i) {
        Child *worker = h->startEnrolledWorker(i == 0 ? solo : fleet, cacheDirs.at(i));
        QVERIFY(worker);
        const QString name = Harness::enrolledName(worker);
        QVERIFY2(idByName.contains(name), qPrintable(worker->describe()));
        const QJsonObject record = h->workerNamed(name);
        QCOMPARE(record.value(u"id"_s).toString(), idByName.value(name));
        QCOMPARE(record.value(u"status"_s).toString(), u"idle"_s);
        QCOMPARE(record.value(u"version"_s).toString(), versionB);
    }
    QCOMPARE(h->workerList(true).value(u"count"_s).toInt(), 2);
    const Run stepB = h->cli({u"run"_s, u"--target"_s, u"solo"_s, u"--"_s, u"echo"_s, u"after the upgrade"_s});
    QCOMPARE_EXIT(stepB, 0);
    QCOMPARE(stepB.out, u"after the upgrade\n"_s);
}

void tst_Upgrade::previousSchemaIsBackedUpAndNamed()
{
    // A data dir as the previous release (one schema version back) left it, with a token.
    const int previous = Swamp::Store::knownSchemaVersion() - 1;
    QVERIFY(QDir().mkpath(h->dataDir()));
    const QString database = h->dataDir() + u"/swamp.db"_s;
    const QString problem = createDatabaseAtSchema(
        database, previous, u"0.0.8"_s,
        {u"INSERT INTO enrollment_tokens (id, name, secret_hash, created_at, expires_at, max_enrollments, "
         "labels, updated_at) VALUES ('4b1c2f0e-0000-4000-8000-000000000001', 'kept', '%1', %2, %3, 1, '{}', %2)"_s
             .arg(QString::fromLatin1(QByteArray(64, 'a')))
             .arg(QDateTime::currentMSecsSinceEpoch())
             .arg(QDateTime::currentMSecsSinceEpoch() + 3600000)});
    QVERIFY2(problem.isEmpty(), qPrintable(problem));

    QVERIFY(h->startOrchestrator());
    const QString backup = QDir(h->dataDir()).absolutePath() + u"/swamp.db.schema%1.bak"_s.arg(previous);
    const QString line = u"database schema migrated from version %1 to %2; the old database was backed up to %3"_s
                             .arg(previous)
                             .arg(Swamp::Store::knownSchemaVersion())
                             .arg(backup);
    QTRY_VERIFY2_WITH_TIMEOUT(h->orchestrator()->outContains(line), qPrintable(h->orchestrator()->describe()), 10000);
    QVERIFY(QFile::exists(backup));
    QCOMPARE(QFileInfo(backup).permissions() & (QFileDevice::ReadOther | QFileDevice::ReadGroup),
             QFileDevice::Permissions());
    QCOMPARE(h->tokenNamed(u"kept"_s).value(u"state"_s).toString(), u"unused"_s);
    // The new schema works: an audited token create.
    QVERIFY(!h->createToken(u"new"_s).isEmpty());
    QCOMPARE(h->tokenNamed(u"new"_s).value(u"audit"_s).toArray().size(), 1);
    QVERIFY(h->stopOrchestrator());
}

void tst_Upgrade::olderBinaryRefusesNewerSchema()
{
    // A data dir written by the current swamp, then migrated by a future one: its schema is
    // one version past what this source tree knows.
    QVERIFY(h->startOrchestrator());
    QVERIFY(!h->createToken(u"ci"_s).isEmpty());
    QVERIFY(h->stopOrchestrator());
    const QString database = h->dataDir() + u"/swamp.db"_s;
    const int newer = Swamp::Store::knownSchemaVersion() + 1;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"future"_s);
        db.setDatabaseName(database);
        QVERIFY(db.open());
        QSqlQuery query(db);
        QVERIFY(query.exec(u"INSERT INTO schema_migrations (version, applied_at, swamp_version) VALUES (%1, %2, '9.0.0')"_s
                               .arg(newer)
                               .arg(QDateTime::currentMSecsSinceEpoch())));
        query.finish();
        db.close();
    }
    QSqlDatabase::removeDatabase(u"future"_s);
    QVERIFY2(!QFile::exists(database + u"-wal"_s) || QFileInfo(database + u"-wal"_s).size() == 0,
             "the WAL was checkpointed when the last connection closed");
    const QByteArray bytes = fileHash(database);
    const QDateTime modified = QFileInfo(database).lastModified();
    const QStringList files = QDir(h->dataDir()).entryList(QDir::Files, QDir::Name);
    QVERIFY(!bytes.isEmpty());

    const QString a = altSwampBinary();
    const Run refused = h->cli({u"serve"_s, u"--listen"_s, u"127.0.0.1:0"_s, u"--data-dir"_s, h->dataDir()}, a);
    QCOMPARE_EXIT(refused, 1);
    QCOMPARE(refused.err.trimmed(),
             u"error: the database has schema version %1 (written by swamp 9.0.0) but this swamp %2 knows "
             "schema versions up to %3; nothing was changed — install swamp 9.0.0 or newer"_s
                 .arg(newer)
                 .arg(versionOf(a))
                 .arg(newer - 1));
    QVERIFY2(refused.out.isEmpty(), qPrintable(refused.describe()));

    // Untouched: same bytes, same modification time, no backup, no new file.
    QCOMPARE(fileHash(database), bytes);
    QCOMPARE(QFileInfo(database).lastModified(), modified);
    QVERIFY(backups(h->dataDir()).isEmpty());
    QStringList after = QDir(h->dataDir()).entryList(QDir::Files, QDir::Name);
    after.removeAll(u"swamp.db-shm"_s); // SQLite's shared-memory index of the WAL, not data
    after.removeAll(u"swamp.db-wal"_s);
    QStringList expected = files;
    expected.removeAll(u"swamp.db-shm"_s);
    expected.removeAll(u"swamp.db-wal"_s);
    QCOMPARE(after, expected);
}

QTEST_GUILESS_MAIN(tst_Upgrade)
#include "tst_upgrade.moc"
