// The orchestrator's database, every test on both dialects (global data rows "sqlite": a file in a
// temporary dir; "postgresql": a fresh database on a real server, see tests/support/pgserver.h):
// forward migrations applied once, refusal of a newer schema without touching it, tokens,
// bindings, workers, boot reconciliation, operator events, runs, steps, leases, output and
// transactions.
#include "testsupport.h"

#include "server/eventlog.h"
#include "store/store.h"
#include "support/pgserver.h"
#include "version/version.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QSqlError>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QTemporaryDir>
#include <QTest>
#include <QUrl>
#include <QUuid>

using namespace Qt::StringLiterals;
using namespace Swamp;

Q_DECLARE_METATYPE(Swamp::WorkerStatus)

namespace {
QDateTime at(qint64 secondsAfterBase)
{
    return QDateTime::fromMSecsSinceEpoch(1795514400000 + secondsAfterBase * 1000, Qt::UTC);
}

TokenRecord token(const QString &name, const QDateTime &created, int maxEnrollments = 1)
{
    TokenRecord t;
    t.id = QUuid::createUuid().toString(QUuid::WithoutBraces);
    t.name = name;
    t.secretHash = hashSecret(u"secret-of-"_s + t.id);
    t.createdAt = created;
    t.updatedAt = created;
    t.expiresAt = created.addDays(1);
    t.maxEnrollments = maxEnrollments;
    return t;
}

WorkerRecord worker(const QString &name, WorkerStatus status)
{
    WorkerRecord w;
    w.id = QUuid::createUuid().toString(QUuid::WithoutBraces);
    w.name = name;
    w.machineId = QUuid::createUuid().toString(QUuid::WithoutBraces);
    w.tokenId = u"token-id"_s;
    w.tokenName = u"ci"_s;
    w.instanceId = u"instance-1"_s;
    w.labels = {{u"region"_s, u"eu"_s}};
    w.platform = u"linux"_s;
    w.arch = u"x86_64"_s;
    w.version = u"0.1.0"_s;
    w.hostname = u"build-7"_s;
    w.capacity = 4;
    w.status = status;
    w.orchestrator = u"ws://127.0.0.1:9090"_s;
    w.enrolledAt = at(0);
    w.lastSeenAt = at(10);
    w.createdAt = at(0);
    w.updatedAt = at(10);
    return w;
}

QByteArray fileHash(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QCryptographicHash::hash(file.readAll(), QCryptographicHash::Sha256);
}
} // namespace

class tst_Store : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase_data();
    void init();
    void cleanup();
    void migrationsAppliedOnce();
    void reopenIsIdempotent();
    void newerSchemaRefusedUntouched();
    void olderSchemaMigratedForward();
    void tokenRoundTrip();
    void tokensNamedNewestFirst();
    void allTokensOldestFirst();
    void bindingsInEnrollmentOrder();
    void duplicateBindingFails();
    void revokeKeepsFirstRevocation();
    void workerRoundTrip();
    void workerUpsertUpdatesInPlace();
    void workerByMachineNeedsTokenName();
    void reconcileOnBoot_data();
    void reconcileOnBoot();
    void reconcileCountsOnlyLive();
    void eventsInOrder();
    void fleetPullsEventsCommittedOutOfOrder();
    void evictedStateReadableAfterSessionEnded();
    void runStepLeaseOutputRoundTrip();
    void stepNullsAndFlags();
    void runsNewestFirstAndLimited();
    void nestedTransactionJoinsOuter();
    void failedStatementRollsBackTransaction();
    void queryWhileVisitingRows();
    void writeBehindWritesNewestVersionOnce();
    void writeBehindLargeBatchMergesEveryRow();
    void writeBehindFailingBodyLosesOnlyItsRows();
    void writeBehindEventIdsContinue();
    void writeBehindFailedFlushRefusesCommit();
    void writeBehindCommitsOffThread();
    void writeBehindOffThreadFailureStopsLaterBatches();

private:
    // SQLite in the orchestrator's mode: group commit (committed by the test) and write-behind.
    std::unique_ptr<Store> openWriteBehindStore();
    bool postgres() const;
    std::unique_ptr<Store> openStore();
    QString snapshot(Store &store);

    // Each test function (and data row) gets a fresh database: a SQLite file in its own
    // directory, or a new PostgreSQL database on the one server of this test executable.
    SwampTest::PostgresServer m_postgres;
    std::unique_ptr<QTemporaryDir> m_dir;
    QString m_spec;
};

void tst_Store::initTestCase_data()
{
    QTest::addColumn<QString>("dialect");
    QTest::addRow("sqlite") << u"sqlite"_s;
    QTest::addRow("postgresql") << u"postgresql"_s;
}

bool tst_Store::postgres() const
{
    return m_spec.startsWith(u"postgresql://");
}

void tst_Store::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    QFETCH_GLOBAL(QString, dialect);
    m_spec.clear();
    if (dialect == u"postgresql") {
        SWAMP_START_POSTGRES(m_postgres);
        // As an operator runs it: the password from the environment, never in the URL.
        qputenv("PGPASSWORD", m_postgres.password().toUtf8());
        m_spec = m_postgres.createDatabase();
        QVERIFY2(!m_spec.isEmpty(), qPrintable(m_postgres.errorString()));
    } else {
        m_dir = std::make_unique<QTemporaryDir>();
        QVERIFY(m_dir->isValid());
        m_spec = m_dir->filePath(u"swamp.db"_s);
    }
}

void tst_Store::cleanup()
{
    m_dir.reset();
}

std::unique_ptr<Store> tst_Store::openStore()
{
    auto store = Store::open(m_spec);
    if (!store) {
        qDebug() << store.error().code << store.error().text();
        return {};
    }
    return std::move(*store);
}

// Every row of every table in a fixed order: equal snapshots mean nothing was written.
QString tst_Store::snapshot(Store &store)
{
    QString text;
    for (const char *table : {"schema_migrations", "enrollment_tokens", "token_bindings", "workers",
                              "events", "runs", "steps", "step_leases", "step_output"}) {
        auto rows = store.exec(u"SELECT * FROM %1 ORDER BY 1, 2"_s.arg(QLatin1String(table)));
        if (!rows)
            return rows.error().text();
        text += QLatin1String(table) + u'\n';
        while (rows->next()) {
            QStringList values;
            for (int i = 0; i < rows->record().count(); ++i)
                values << (rows->value(i).isNull() ? u"NULL"_s : rows->value(i).toString());
            text += values.join(u'|') + u'\n';
        }
    }
    return text;
}

void tst_Store::migrationsAppliedOnce()
{
    auto store = openStore();
    QVERIFY(store);
    QCOMPARE(store->dialect(), postgres() ? Store::Dialect::Postgres : Store::Dialect::Sqlite);
    QCOMPARE(store->schemaVersion(), Store::knownSchemaVersion());
    auto rows = store->exec(u"SELECT version, swamp_version FROM schema_migrations ORDER BY version"_s);
    QVERIFY_RESULT(rows);
    int count = 0;
    while (rows->next()) {
        ++count;
        QCOMPARE(rows->value(0).toInt(), count);
        QCOMPARE(rows->value(1).toString(), Swamp::version());
    }
    QCOMPARE(count, Store::knownSchemaVersion());
    const QString tableQuery = postgres()
        ? u"SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() "
          "AND table_name = ?"_s
        : u"SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"_s;
    for (const char *table : {"enrollment_tokens", "token_bindings", "workers", "events", "runs",
                              "steps", "step_leases", "step_output"}) {
        auto exists = store->exec(tableQuery, {QString::fromLatin1(table)});
        QVERIFY_RESULT(exists);
        QVERIFY(exists->next());
        QVERIFY2(exists->value(0).toInt() == 1, table);
    }
    if (postgres())
        return;
    auto mode = store->exec(u"PRAGMA journal_mode"_s);
    QVERIFY_RESULT(mode);
    QVERIFY(mode->next());
    QCOMPARE(mode->value(0).toString().toLower(), u"wal"_s);
    QCOMPARE(QString::number(int(QFile::permissions(m_spec)
                                 & (QFileDevice::ReadOther | QFileDevice::ReadGroup))),
             u"0"_s);
}

void tst_Store::reopenIsIdempotent()
{
    const TokenRecord t = token(u"ci"_s, at(0));
    {
        auto store = openStore();
        QVERIFY(store);
        QVERIFY_RESULT(store->insertToken(t));
    }
    for (int round = 0; round < 2; ++round) {
        auto store = openStore();
        QVERIFY(store);
        QCOMPARE(store->schemaVersion(), Store::knownSchemaVersion());
        auto count = store->exec(u"SELECT COUNT(*) FROM schema_migrations"_s);
        QVERIFY_RESULT(count);
        QVERIFY(count->next());
        QCOMPARE(count->value(0).toInt(), Store::knownSchemaVersion());
        auto tokens = store->allTokens();
        QVERIFY_RESULT(tokens);
        QCOMPARE(tokens->size(), 1);
        QCOMPARE(tokens->first().id, t.id);
    }
    // No backup is made when nothing needs migrating.
    if (m_dir)
        QCOMPARE(QDir(m_dir->path()).entryList({u"*.bak"_s}, QDir::Files), QStringList());
}

void tst_Store::newerSchemaRefusedUntouched()
{
    QString before;
    {
        auto store = openStore();
        QVERIFY(store);
        QVERIFY_RESULT(store->insertToken(token(u"ci"_s, at(0))));
        QVERIFY_RESULT(store->execute(u"INSERT INTO schema_migrations (version, applied_at, "
                                      "swamp_version) VALUES (?, ?, ?)"_s,
                                      {99, at(0).toMSecsSinceEpoch(), u"9.9.9"_s}));
        before = snapshot(*store);
        QVERIFY(before.contains(u"9.9.9"_s));
    }
    QByteArray beforeFile;
    if (!postgres()) {
        QVERIFY(!QFile::exists(m_spec + u"-wal"_s) || QFile(m_spec + u"-wal"_s).size() == 0);
        beforeFile = fileHash(m_spec);
        QVERIFY(!beforeFile.isEmpty());
    }

    auto refused = Store::open(m_spec);
    QVERIFY_ERROR_CODE(refused, u"schema_too_new"_s);
    QVERIFY2(refused.error().message.contains(u"schema version 99"_s), qPrintable(refused.error().message));
    QVERIFY2(refused.error().message.contains(u"9.9.9"_s), qPrintable(refused.error().message));
    QVERIFY2(refused.error().message.contains(u"nothing was changed"_s),
             qPrintable(refused.error().message));
    QCOMPARE(refused.error().fix, u"install swamp 9.9.9 or newer"_s);

    if (!postgres()) {
        QCOMPARE(fileHash(m_spec), beforeFile);
        QVERIFY(!QFile::exists(m_spec + u".schema99.bak"_s));
    }
    // Read back through a plain connection: opening a Store would be refused.
    const QString name = u"tst-store-raw"_s;
    {
        QSqlDatabase raw = QSqlDatabase::addDatabase(postgres() ? u"QPSQL"_s : u"QSQLITE"_s, name);
        if (postgres()) {
            const QUrl url(m_spec);
            raw.setHostName(url.host());
            raw.setPort(url.port());
            raw.setUserName(url.userName());
            raw.setDatabaseName(url.path().mid(1));
        } else {
            raw.setDatabaseName(m_spec);
        }
        QVERIFY2(raw.open(), qPrintable(raw.lastError().text()));
        QSqlQuery count(raw);
        QVERIFY(count.exec(u"SELECT COUNT(*) FROM schema_migrations"_s) && count.next());
        QCOMPARE(count.value(0).toInt(), Store::knownSchemaVersion() + 1);
        QSqlQuery tokens(raw);
        QVERIFY(tokens.exec(u"SELECT COUNT(*) FROM enrollment_tokens"_s) && tokens.next());
        QCOMPARE(tokens.value(0).toInt(), 1);
    }
    QSqlDatabase::removeDatabase(name);
}

// A database of schema 1 (as swamp 0.1 before steps left it) is migrated to the current schema
// with its rows kept. SQLite is first copied next to the database; PostgreSQL is not copied (the
// operator's pg_dump is the backup) and the log says so.
void tst_Store::olderSchemaMigratedForward()
{
    const TokenRecord t = token(u"ci"_s, at(0));
    {
        auto store = openStore();
        QVERIFY(store);
        QVERIFY_RESULT(store->insertToken(t));
        // Back to schema 1: what schemas 2 (steps), 3 (audit), 4 (fleet), 5 (machine keys), 6
        // (secret environment), 7 (event order, PostgreSQL only), 8 (the worker's reconnect
        // grace), 9 (pause), 10 (batch marker), 11 (operator labels) and 12 (unique chosen names) added goes.
        if (postgres()) {
            for (const char *statement : {"DROP TRIGGER swamp_publish_at_commit ON pg_temp.swamp_staged_events",
                                          "DROP FUNCTION swamp_publish_events()", "DROP SEQUENCE events_pending_id",
                                          "ALTER TABLE events DROP COLUMN pending_id"})
                QVERIFY_RESULT(store->execute(QLatin1String(statement)));
        }
        for (const char *statement : {"DROP INDEX workers_by_chosen_name", "ALTER TABLE workers DROP COLUMN chosen_name",
                                      "ALTER TABLE workers DROP COLUMN operator_labels",
                                      "ALTER TABLE workers DROP COLUMN paused", "DROP INDEX events_by_subject",
                                      "ALTER TABLE workers DROP COLUMN grace_until",
                                      "ALTER TABLE steps DROP COLUMN secret_env",
                                      "ALTER TABLE steps DROP COLUMN secret_holder",
                                      "DROP TABLE step_output", "DROP TABLE step_leases", "DROP TABLE steps",
                                      "DROP TABLE runs", "DROP TABLE audit_events", "DROP INDEX events_by_at",
                                      "DROP TABLE orchestrators", "DROP INDEX workers_by_orchestrator",
                                      "ALTER TABLE workers DROP COLUMN orchestrator_id",
                                      "ALTER TABLE token_bindings DROP COLUMN key_hash"})
            QVERIFY_RESULT(store->execute(QLatin1String(statement)));
        QVERIFY_RESULT(store->execute(u"DELETE FROM schema_migrations WHERE version > 1"_s));
    }
    if (postgres()) {
        QTest::ignoreMessage(QtWarningMsg,
                             QRegularExpression(u"migrating PostgreSQL database .* from schema 1 to \\d+.*"
                                                "pg_dump"_s));
    }
    auto store = openStore();
    QVERIFY(store);
    QCOMPARE(store->schemaVersion(), Store::knownSchemaVersion());
    auto tokens = store->allTokens();
    QVERIFY_RESULT(tokens);
    QCOMPARE(tokens->size(), 1);
    QCOMPARE(tokens->first().id, t.id);
    QVERIFY_RESULT(store->insertRun(RunRecord{u"run-1"_s, u"after-upgrade"_s, StepState::Queued, at(1), at(1), {}}));
    if (postgres()) {
        QVERIFY(!m_spec.contains(u".bak"_s));
        return;
    }
    const QString backup = m_spec + u".schema1.bak"_s;
    QVERIFY(QFile::exists(backup));
    QSqlDatabase copy = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"tst-store-backup"_s);
    copy.setDatabaseName(backup);
    QVERIFY(copy.open());
    {
        QSqlQuery version(copy);
        QVERIFY(version.exec(u"SELECT MAX(version) FROM schema_migrations"_s) && version.next());
        QCOMPARE(version.value(0).toInt(), 1);
    }
    copy.close();
    copy = {};
    QSqlDatabase::removeDatabase(u"tst-store-backup"_s);
}

void tst_Store::tokenRoundTrip()
{
    auto store = openStore();
    QVERIFY(store);
    TokenRecord t = token(u"pool"_s, at(0), 0);
    t.labels = {{u"pool"_s, u"ci"_s}, {u"region"_s, u"eu"_s}};
    QVERIFY_RESULT(store->insertToken(t));
    auto loaded = store->tokensNamed(u"pool"_s);
    QVERIFY_RESULT(loaded);
    QCOMPARE(loaded->size(), 1);
    const TokenRecord &back = loaded->first();
    QCOMPARE(back.id, t.id);
    QCOMPARE(back.name, t.name);
    QCOMPARE(back.secretHash, t.secretHash);
    QCOMPARE(back.createdAt, t.createdAt);
    QCOMPARE(back.expiresAt, t.expiresAt);
    QCOMPARE(back.updatedAt, t.updatedAt);
    QCOMPARE(back.maxEnrollments, 0);
    QCOMPARE(back.labels, t.labels);
    QVERIFY(!back.revokedAt.isValid());
    QVERIFY(back.revokeReason.isEmpty());
    QVERIFY(back.bindings.isEmpty());
    auto none = store->tokensNamed(u"other"_s);
    QVERIFY_RESULT(none);
    QVERIFY(none->isEmpty());
}

void tst_Store::tokensNamedNewestFirst()
{
    auto store = openStore();
    QVERIFY(store);
    const TokenRecord oldest = token(u"ci"_s, at(0));
    const TokenRecord newest = token(u"ci"_s, at(200));
    const TokenRecord middle = token(u"ci"_s, at(100));
    QVERIFY_RESULT(store->insertToken(oldest));
    QVERIFY_RESULT(store->insertToken(newest));
    QVERIFY_RESULT(store->insertToken(middle));
    QVERIFY_RESULT(store->insertToken(token(u"other"_s, at(300))));
    auto named = store->tokensNamed(u"ci"_s);
    QVERIFY_RESULT(named);
    QCOMPARE(named->size(), 3);
    QCOMPARE(named->at(0).id, newest.id);
    QCOMPARE(named->at(1).id, middle.id);
    QCOMPARE(named->at(2).id, oldest.id);
}

void tst_Store::allTokensOldestFirst()
{
    auto store = openStore();
    QVERIFY(store);
    const TokenRecord b = token(u"b"_s, at(100));
    const TokenRecord a = token(u"a"_s, at(0));
    QVERIFY_RESULT(store->insertToken(b));
    QVERIFY_RESULT(store->insertToken(a));
    auto all = store->allTokens();
    QVERIFY_RESULT(all);
    QCOMPARE(all->size(), 2);
    QCOMPARE(all->at(0).id, a.id);
    QCOMPARE(all->at(1).id, b.id);
}

void tst_Store::bindingsInEnrollmentOrder()
{
    auto store = openStore();
    QVERIFY(store);
    const TokenRecord t = token(u"pool"_s, at(0), 3);
    const TokenRecord other = token(u"solo"_s, at(0));
    QVERIFY_RESULT(store->insertToken(t));
    QVERIFY_RESULT(store->insertToken(other));
    QVERIFY_RESULT(store->insertBinding(t.id, {u"m-second"_s, u"pool-22222222"_s, at(20)}));
    QVERIFY_RESULT(store->insertBinding(t.id, {u"m-first"_s, u"pool-11111111"_s, at(10)}));
    QVERIFY_RESULT(store->insertBinding(other.id, {u"m-solo"_s, u"solo"_s, at(5)}));
    auto loaded = store->tokensNamed(u"pool"_s);
    QVERIFY_RESULT(loaded);
    QCOMPARE(loaded->size(), 1);
    const QList<TokenBinding> bindings = loaded->first().bindings;
    QCOMPARE(bindings.size(), 2);
    QCOMPARE(bindings.at(0).machineId, u"m-first"_s);
    QCOMPARE(bindings.at(0).workerName, u"pool-11111111"_s);
    QCOMPARE(bindings.at(0).enrolledAt, at(10));
    QCOMPARE(bindings.at(1).machineId, u"m-second"_s);
    QVERIFY(loaded->first().isBound(u"m-first"_s));
    QVERIFY(!loaded->first().isBound(u"m-solo"_s));
    QCOMPARE(loaded->first().enrollmentsText(), u"2/3"_s);
}

void tst_Store::duplicateBindingFails()
{
    auto store = openStore();
    QVERIFY(store);
    const TokenRecord t = token(u"pool"_s, at(0), 3);
    QVERIFY_RESULT(store->insertToken(t));
    QVERIFY_RESULT(store->insertBinding(t.id, {u"m1"_s, u"pool-1"_s, at(10)}));
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"statement failed"_s));
    auto again = store->insertBinding(t.id, {u"m1"_s, u"pool-1"_s, at(20)});
    QVERIFY_ERROR_CODE(again, u"database"_s);
}

void tst_Store::revokeKeepsFirstRevocation()
{
    auto store = openStore();
    QVERIFY(store);
    const TokenRecord t = token(u"ci"_s, at(0));
    QVERIFY_RESULT(store->insertToken(t));
    QVERIFY_RESULT(store->revokeToken(t.id, at(50), u"leaked in a build log"_s));
    QVERIFY_RESULT(store->revokeToken(t.id, at(90), u"again"_s)); // idempotent
    auto loaded = store->tokensNamed(u"ci"_s);
    QVERIFY_RESULT(loaded);
    const TokenRecord &back = loaded->first();
    QCOMPARE(back.revokedAt, at(50));
    QCOMPARE(back.revokeReason, u"leaked in a build log"_s);
    QCOMPARE(back.updatedAt, at(50));
    QCOMPARE(tokenStateName(back.effectiveState(at(60))), u"revoked"_s);
}

void tst_Store::workerRoundTrip()
{
    auto store = openStore();
    QVERIFY(store);
    WorkerRecord w = worker(u"ci"_s, WorkerStatus::Idle);
    w.draining = true;
    w.disconnectedAt = at(5);
    QVERIFY_RESULT(store->upsertWorker(w));
    auto found = store->workerByMachine(w.machineId, w.tokenName);
    QVERIFY_RESULT(found);
    QVERIFY(found->has_value());
    const WorkerRecord &back = **found;
    QCOMPARE(back.id, w.id);
    QCOMPARE(back.name, w.name);
    QCOMPARE(back.machineId, w.machineId);
    QCOMPARE(back.tokenId, w.tokenId);
    QCOMPARE(back.tokenName, w.tokenName);
    QCOMPARE(back.instanceId, w.instanceId);
    QCOMPARE(back.labels, w.labels);
    QCOMPARE(back.platform, w.platform);
    QCOMPARE(back.arch, w.arch);
    QCOMPARE(back.version, w.version);
    QCOMPARE(back.hostname, w.hostname);
    QCOMPARE(back.capacity, w.capacity);
    QCOMPARE(workerStatusName(back.status), workerStatusName(w.status));
    QCOMPARE(back.draining, true);
    QCOMPARE(back.orchestrator, w.orchestrator);
    QCOMPARE(back.enrolledAt, w.enrolledAt);
    QCOMPARE(back.lastSeenAt, w.lastSeenAt);
    QCOMPARE(back.disconnectedAt, w.disconnectedAt);
    QCOMPARE(back.createdAt, w.createdAt);
    QCOMPARE(back.updatedAt, w.updatedAt);
}

void tst_Store::workerUpsertUpdatesInPlace()
{
    auto store = openStore();
    QVERIFY(store);
    WorkerRecord w = worker(u"ci"_s, WorkerStatus::Idle);
    QVERIFY_RESULT(store->upsertWorker(w));
    w.status = WorkerStatus::Disconnected;
    w.disconnectedAt = at(30);
    w.instanceId = u"instance-2"_s;
    w.updatedAt = at(30);
    QVERIFY_RESULT(store->upsertWorker(w));
    auto all = store->allWorkers();
    QVERIFY_RESULT(all);
    QCOMPARE(all->size(), 1);
    QCOMPARE(all->first().id, w.id);
    QCOMPARE(workerStatusName(all->first().status), u"disconnected"_s);
    QCOMPARE(all->first().disconnectedAt, at(30));
    QCOMPARE(all->first().instanceId, u"instance-2"_s);
    QCOMPARE(all->first().createdAt, at(0)); // created_at is kept
}

void tst_Store::workerByMachineNeedsTokenName()
{
    auto store = openStore();
    QVERIFY(store);
    const WorkerRecord w = worker(u"ci"_s, WorkerStatus::Idle);
    QVERIFY_RESULT(store->upsertWorker(w));
    auto otherToken = store->workerByMachine(w.machineId, u"other"_s);
    QVERIFY_RESULT(otherToken);
    QVERIFY(!otherToken->has_value());
    auto otherMachine = store->workerByMachine(QUuid::createUuid().toString(QUuid::WithoutBraces), u"ci"_s);
    QVERIFY_RESULT(otherMachine);
    QVERIFY(!otherMachine->has_value());
}

void tst_Store::reconcileOnBoot_data()
{
    QTest::addColumn<Swamp::WorkerStatus>("before");
    QTest::addColumn<Swamp::WorkerStatus>("after");
    QTest::addColumn<bool>("touched");
    QTest::addRow("idle-becomes-disconnected") << WorkerStatus::Idle << WorkerStatus::Disconnected << true;
    QTest::addRow("busy-becomes-disconnected") << WorkerStatus::Busy << WorkerStatus::Disconnected << true;
    QTest::addRow("draining-becomes-disconnected") << WorkerStatus::Draining
                                                   << WorkerStatus::Disconnected << true;
    QTest::addRow("disconnected-untouched") << WorkerStatus::Disconnected
                                            << WorkerStatus::Disconnected << false;
    QTest::addRow("lost-stays-lost") << WorkerStatus::Lost << WorkerStatus::Lost << false;
}

void tst_Store::reconcileOnBoot()
{
    QFETCH(Swamp::WorkerStatus, before);
    QFETCH(Swamp::WorkerStatus, after);
    QFETCH(bool, touched);
    auto store = openStore();
    QVERIFY(store);
    WorkerRecord w = worker(u"ci"_s, before);
    w.draining = before == WorkerStatus::Draining;
    if (!touched)
        w.disconnectedAt = at(5);
    QVERIFY_RESULT(store->upsertWorker(w));
    auto count = store->reconcileWorkersOnBoot(at(100));
    QVERIFY_RESULT(count);
    QCOMPARE(*count, touched ? 1 : 0);
    auto back = store->workerByMachine(w.machineId, w.tokenName);
    QVERIFY_RESULT(back);
    QVERIFY(back->has_value());
    QCOMPARE(workerStatusName((*back)->status), workerStatusName(after));
    QCOMPARE((*back)->disconnectedAt, touched ? at(100) : at(5));
    QCOMPARE((*back)->draining, false);
    QCOMPARE((*back)->lastSeenAt, at(10)); // last seen is what it was, not the boot time
}

void tst_Store::reconcileCountsOnlyLive()
{
    auto store = openStore();
    QVERIFY(store);
    for (WorkerStatus status : {WorkerStatus::Idle, WorkerStatus::Busy, WorkerStatus::Draining,
                                WorkerStatus::Disconnected, WorkerStatus::Lost})
        QVERIFY_RESULT(store->upsertWorker(worker(workerStatusName(status), status)));
    auto count = store->reconcileWorkersOnBoot(at(100));
    QVERIFY_RESULT(count);
    QCOMPARE(*count, 3);
    auto again = store->reconcileWorkersOnBoot(at(200));
    QVERIFY_RESULT(again);
    QCOMPARE(*again, 0);
}

void tst_Store::eventsInOrder()
{
    auto store = openStore();
    QVERIFY(store);
    auto none = store->lastEventId();
    QVERIFY_RESULT(none);
    QCOMPARE(*none, qint64(0));
    QList<qint64> ids;
    const QStringList kinds{u"token.created"_s, u"worker.enrolled"_s, u"worker.lost"_s};
    for (int i = 0; i < kinds.size(); ++i) {
        Event e;
        e.at = at(i);
        e.kind = kinds.at(i);
        e.subject = i == 0 ? QString() : u"ci"_s;
        e.message = u"message %1"_s.arg(i);
        e.setData({{u"n"_s, i}});
        auto id = store->insertEvent(e);
        QVERIFY_RESULT(id);
        if (postgres()) {
            QCOMPARE(*id, 0); // given at commit (here at once: no transaction is open)
            auto stored = store->eventsAfter(ids.isEmpty() ? 0 : ids.last(), 10);
            QVERIFY_RESULT(stored);
            QCOMPARE(stored->size(), 1);
            id = stored->first().id;
        }
        if (!ids.isEmpty())
            QVERIFY(*id > ids.last());
        ids << *id;
    }
    auto last = store->lastEventId();
    QVERIFY_RESULT(last);
    QCOMPARE(*last, ids.last());
    auto all = store->eventsAfter(0, 100);
    QVERIFY_RESULT(all);
    QCOMPARE(all->size(), 3);
    for (int i = 0; i < 3; ++i) {
        QCOMPARE(all->at(i).id, ids.at(i));
        QCOMPARE(all->at(i).kind, kinds.at(i));
        QCOMPARE(all->at(i).at, at(i));
        QCOMPARE(all->at(i).message, u"message %1"_s.arg(i));
        QCOMPARE(all->at(i).data().value(u"n"_s).toInt(), i);
    }
    QCOMPARE(all->at(0).subject, QString());
    auto afterFirst = store->eventsAfter(ids.first(), 100);
    QVERIFY_RESULT(afterFirst);
    QCOMPARE(afterFirst->size(), 2);
    QCOMPARE(afterFirst->first().id, ids.at(1));
    auto limited = store->eventsAfter(0, 1);
    QVERIFY_RESULT(limited);
    QCOMPARE(limited->size(), 1);
    QCOMPARE(limited->first().id, ids.first());
    auto nothing = store->eventsAfter(ids.last(), 100);
    QVERIFY_RESULT(nothing);
    QVERIFY(nothing->isEmpty());

    // Event data goes into frames as stored text: a row changed by hand to hold something that
    // is not a JSON object reads back as empty data, and the event's text stays valid JSON.
    QVERIFY_RESULT(store->exec(u"UPDATE events SET data = ? WHERE id = ?"_s, {u"{\"n\": 1"_s, ids.at(1)}));
    QVERIFY_RESULT(store->exec(u"UPDATE events SET data = ? WHERE id = ?"_s, {u"[1, 2]"_s, ids.at(2)}));
    auto edited = store->eventsAfter(ids.first(), 100);
    QVERIFY_RESULT(edited);
    QCOMPARE(edited->size(), 2);
    for (const Event &event : std::as_const(*edited)) {
        QCOMPARE(event.data(), QJsonObject());
        QJsonParseError error;
        const QJsonDocument text = QJsonDocument::fromJson(event.toJsonText(), &error);
        QCOMPARE(error.error, QJsonParseError::NoError);
        QCOMPARE(text.object().value(u"data"_s), QJsonValue(QJsonObject()));
    }
}

// Fleet: event ids follow commit order (migration 007). An orchestrator pulling the others'
// events gets each once, in id order, and knows its own: appended, never remoteAppended.
void tst_Store::fleetPullsEventsCommittedOutOfOrder()
{
    if (!postgres())
        QSKIP("SQLite has one writer at a time: its events commit in id order");
    auto a = openStore(); // the orchestrator that pulls
    auto b = openStore(); // another one, whose transaction stays open for a while
    auto c = openStore(); // a third, committing at once
    QVERIFY(a && b && c);
    EventLog log(a.get());
    log.setShared(true);
    QList<Event> remote;
    QList<Event> own;
    connect(&log, &EventLog::remoteAppended, this, [&remote](const Event &event) { remote << event; });
    connect(&log, &EventLog::appended, this, [&own](const Event &event) { own << event; });
    auto event = [](const QString &kind) {
        return Event{0, QDateTime::currentDateTimeUtc(), kind, u"ci"_s, kind, {}};
    };

    QSqlDatabase held = b->database();
    QVERIFY(held.transaction());
    QVERIFY_RESULT(b->insertEvent(event(u"b.first"_s)));
    QVERIFY_RESULT(c->insertEvent(event(u"c.second"_s)));
    log.append(u"a.own"_s, u"ci"_s, u"a.own"_s);
    QCOMPARE(own.size(), 1); // read back with its id once committed
    QCOMPARE(remote.size(), 1);
    QCOMPARE(remote.at(0).kind, u"c.second"_s);
    QVERIFY(own.at(0).id > remote.at(0).id);

    QVERIFY(held.commit());
    log.pullRemote();
    QCOMPARE(remote.size(), 2);
    QCOMPARE(remote.at(1).kind, u"b.first"_s);
    QVERIFY(remote.at(1).id > own.at(0).id); // committed last: numbered last

    log.pullRemote();
    QCOMPARE(remote.size(), 2);
    QCOMPARE(own.size(), 1);
    QCOMPARE(log.lastId(), remote.at(1).id);
}

// An orchestrator paused with a transaction open finds its session ended by the server; its
// listening connection still tells it that another one declared it dead.
void tst_Store::evictedStateReadableAfterSessionEnded()
{
    if (!postgres())
        QSKIP("only PostgreSQL ends a session idle in a transaction and has a fleet connection");
    auto paused = openStore();
    auto survivor = openStore();
    QVERIFY(paused && survivor);
    const QDateTime now = QDateTime::currentDateTimeUtc();
    QVERIFY_RESULT(paused->registerOrchestrator({u"o-paused"_s, u"paused"_s, u"ws://p"_s, u"0"_s, u"alive"_s, now, now, {}, {}}));
    auto listener = paused->openFleetListener();
    QVERIFY_RESULT(listener);
    auto alive = paused->orchestratorStateOnListener(u"o-paused"_s);
    QVERIFY_RESULT(alive);
    QCOMPARE(*alive, u"alive"_s);

    QSqlDatabase held = paused->database();
    QVERIFY(held.transaction());
    auto pid = paused->exec(u"SELECT pg_backend_pid()"_s);
    QVERIFY_RESULT(pid);
    QVERIFY(pid->next());
    const qint64 backend = pid->value(0).toLongLong();
    auto ended = survivor->endOrchestrator(u"o-paused"_s, u"dead"_s, u"stopped responding"_s, now);
    QVERIFY_RESULT(ended);
    QVERIFY(*ended);
    QVERIFY_RESULT(survivor->exec(u"SELECT pg_terminate_backend(?)"_s, {backend}));
    QVERIFY(!held.commit());

    auto dead = paused->orchestratorStateOnListener(u"o-paused"_s);
    QVERIFY_RESULT(dead);
    QCOMPARE(*dead, u"dead"_s);
}

namespace {
RunRecord run(const QString &id, const QDateTime &created)
{
    return RunRecord{id, u"build-"_s + id, StepState::Queued, created, created, {}};
}

// The ids of every stored run, sorted.
QStringList runIds(Store &store)
{
    auto runs = store.runs();
    if (!runs)
        return {runs.error().text()};
    QStringList ids;
    for (const RunRecord &r : std::as_const(*runs))
        ids << r.id;
    ids.sort();
    return ids;
}

StepRecord step(const QString &runId, int seq, const QDateTime &queued)
{
    StepRecord s;
    s.id = u"%1-step-%2"_s.arg(runId).arg(seq);
    s.runId = runId;
    s.seq = seq;
    s.spec.name = u"compile %1"_s.arg(seq);
    s.spec.command = {u"make"_s, u"-j2"_s, u"it's \"quoted\" ? $1 ünïcode"_s};
    s.spec.env = {{u"CC"_s, u"gcc"_s}};
    s.spec.requirement.labels = {{u"pool"_s, u"ci"_s}};
    s.spec.queueTimeoutMs = 600000;
    s.spec.maxAttempts = 3;
    s.queuedAt = queued;
    s.createdAt = queued;
    s.updatedAt = queued;
    return s;
}
} // namespace

void tst_Store::runStepLeaseOutputRoundTrip()
{
    auto store = openStore();
    QVERIFY(store);
    RunRecord r = run(u"r1"_s, at(0));
    QVERIFY_RESULT(store->insertRun(r));
    StepRecord s = step(r.id, 1, at(0));
    s.spec.shell = true;
    s.spec.atMostOnce = true;
    s.spec.timeoutMs = 3'600'000'000LL; // beyond 32 bits
    s.spec.requirement.target = u"build-7"_s;
    s.spec.requirement.platform = u"linux/x86_64"_s;
    QVERIFY_RESULT(store->insertStep(s));

    LeaseRecord l;
    l.id = u"lease-1"_s;
    l.stepId = s.id;
    l.runId = r.id;
    l.workerId = u"worker-1"_s;
    l.workerName = u"build-7"_s;
    l.attempt = 1;
    l.createdAt = at(5);
    l.updatedAt = at(5);
    QVERIFY_RESULT(store->insertLease(l));
    l.state = LeaseState::Completed;
    l.exitCode = 0;
    l.startedAt = at(6);
    l.endedAt = at(9);
    l.updatedAt = at(9);
    QVERIFY_RESULT(store->updateLease(l));

    QVERIFY_RESULT(store->appendOutput(s.id, 1, l.id, 1, u"stdout"_s, u"line one\n"_s, at(7)));
    QVERIFY_RESULT(store->appendOutput(s.id, 2, l.id, 1, u"stderr"_s, u"wärning: ' \" \\ %\n"_s, at(8)));
    QVERIFY_RESULT(store->appendOutput(s.id, 3, l.id, 1, u"stdout"_s, u"done\n"_s, at(8)));

    s.state = StepState::Succeeded;
    s.attempt = 1;
    s.exitCode = 0;
    s.workerId = l.workerId;
    s.workerName = l.workerName;
    s.outputBytes = 5'000'000'000LL;
    s.outputChunks = 3;
    s.outputTruncated = true;
    s.startedAt = at(6);
    s.finishedAt = at(9);
    s.updatedAt = at(9);
    QVERIFY_RESULT(store->updateStep(s));
    r.state = StepState::Succeeded;
    r.finishedAt = at(9);
    r.updatedAt = at(9);
    QVERIFY_RESULT(store->updateRun(r));

    auto backRun = store->run(r.id);
    QVERIFY_RESULT(backRun);
    QVERIFY(backRun->has_value());
    QCOMPARE((*backRun)->name, r.name);
    QCOMPARE(stepStateName((*backRun)->state), u"succeeded"_s);
    QCOMPARE((*backRun)->createdAt, at(0));
    QCOMPARE((*backRun)->finishedAt, at(9));

    auto found = store->step(s.id);
    QVERIFY_RESULT(found);
    QVERIFY(found->has_value());
    const StepRecord &b = **found;
    QCOMPARE(b.runId, r.id);
    QCOMPARE(b.seq, 1);
    QCOMPARE(b.spec.name, s.spec.name);
    QCOMPARE(b.spec.command, s.spec.command);
    QCOMPARE(b.spec.shell, true);
    QCOMPARE(b.spec.env, s.spec.env);
    QCOMPARE(b.spec.requirement.target, u"build-7"_s);
    QCOMPARE(b.spec.requirement.labels, s.spec.requirement.labels);
    QCOMPARE(b.spec.requirement.platform, u"linux/x86_64"_s);
    QCOMPARE(b.spec.timeoutMs, 3'600'000'000LL);
    QCOMPARE(b.spec.queueTimeoutMs, 600000);
    QCOMPARE(b.spec.maxAttempts, 3);
    QCOMPARE(b.spec.atMostOnce, true);
    QCOMPARE(stepStateName(b.state), u"succeeded"_s);
    QCOMPARE(b.attempt, 1);
    QCOMPARE(b.exitCode, std::optional<int>(0));
    QCOMPARE(b.workerName, u"build-7"_s);
    QCOMPARE(b.cancelRequested, false);
    QCOMPARE(b.outputBytes, 5'000'000'000LL);
    QCOMPARE(b.outputChunks, 3);
    QCOMPARE(b.outputTruncated, true);
    QCOMPARE(b.queuedAt, at(0));
    QCOMPARE(b.startedAt, at(6));
    QCOMPARE(b.finishedAt, at(9));

    auto leases = store->leases(u"WHERE step_id = ? ORDER BY created_at"_s, {s.id});
    QVERIFY_RESULT(leases);
    QCOMPARE(leases->size(), 1);
    QCOMPARE(leases->first().id, l.id);
    QCOMPARE(leaseStateName(leases->first().state), u"completed"_s);
    QCOMPARE(leases->first().exitCode, std::optional<int>(0));
    QVERIFY(leases->first().error.isEmpty());
    QCOMPARE(leases->first().startedAt, at(6));
    QCOMPARE(leases->first().endedAt, at(9));

    auto all = store->output(s.id, 0);
    QVERIFY_RESULT(all);
    QCOMPARE(all->size(), 3);
    QCOMPARE(all->at(1).chunk, 2);
    QCOMPARE(all->at(1).stream, u"stderr"_s);
    QCOMPARE(all->at(1).data, u"wärning: ' \" \\ %\n"_s);
    QCOMPARE(all->at(1).at, at(8));
    auto page = store->output(s.id, 1, 1);
    QVERIFY_RESULT(page);
    QCOMPARE(page->size(), 1);
    QCOMPARE(page->first().chunk, 2);
    auto none = store->output(s.id, 3);
    QVERIFY_RESULT(none);
    QVERIFY(none->isEmpty());
}

// Unset optional columns stay NULL (not 0 or ''), flags read back as bools on both dialects.
void tst_Store::stepNullsAndFlags()
{
    auto store = openStore();
    QVERIFY(store);
    QVERIFY_RESULT(store->insertRun(run(u"r1"_s, at(0))));
    StepRecord s = step(u"r1"_s, 1, at(0));
    s.cancelRequested = true;
    QVERIFY_RESULT(store->insertStep(s));
    auto nulls = store->exec(u"SELECT COUNT(*) FROM steps WHERE exit_code IS NULL AND target IS NULL "
                             "AND platform IS NULL AND timeout_ms IS NULL AND error IS NULL AND "
                             "worker_id IS NULL AND started_at IS NULL AND finished_at IS NULL"_s);
    QVERIFY_RESULT(nulls);
    QVERIFY(nulls->next());
    QCOMPARE(nulls->value(0).toInt(), 1);
    auto found = store->step(s.id);
    QVERIFY_RESULT(found);
    QVERIFY(found->has_value());
    QCOMPARE((*found)->exitCode, std::nullopt);
    QCOMPARE((*found)->spec.timeoutMs, 0);
    QVERIFY(!(*found)->startedAt.isValid());
    QCOMPARE((*found)->spec.shell, false);
    QCOMPARE((*found)->spec.atMostOnce, false);
    QCOMPARE((*found)->cancelRequested, true);
    QCOMPARE((*found)->outputTruncated, false);
    // A negative exit code (killed by a signal) is kept as it is.
    s.exitCode = -9;
    s.state = StepState::Failed;
    QVERIFY_RESULT(store->updateStep(s));
    auto failed = store->steps(u"WHERE state = ? AND exit_code = ?"_s, {u"failed"_s, -9});
    QVERIFY_RESULT(failed);
    QCOMPARE(failed->size(), 1);
    QCOMPARE(failed->first().exitCode, std::optional<int>(-9));
    auto missing = store->step(u"no-such-step"_s);
    QVERIFY_RESULT(missing);
    QVERIFY(!missing->has_value());
}

void tst_Store::runsNewestFirstAndLimited()
{
    auto store = openStore();
    QVERIFY(store);
    for (int i = 0; i < 5; ++i)
        QVERIFY_RESULT(store->insertRun(run(u"r%1"_s.arg(i), at(i * 10))));
    auto all = store->runs();
    QVERIFY_RESULT(all);
    QCOMPARE(all->size(), 5);
    QCOMPARE(all->first().id, u"r4"_s);
    QCOMPARE(all->last().id, u"r0"_s);
    auto two = store->runs(2);
    QVERIFY_RESULT(two);
    QCOMPARE(two->size(), 2);
    QCOMPARE(two->at(1).id, u"r3"_s);
    auto zero = store->runs(0);
    QVERIFY_RESULT(zero);
    QVERIFY(zero->isEmpty());
}

void tst_Store::nestedTransactionJoinsOuter()
{
    auto store = openStore();
    QVERIFY(store);
    auto committed = store->transaction([&]() -> Result<void> {
        if (auto r = store->insertRun(run(u"outer"_s, at(0))); !r)
            return r;
        return store->transaction([&] { return store->insertRun(run(u"inner"_s, at(1))); });
    });
    QVERIFY_RESULT(committed);
    auto rolledBack = store->transaction([&]() -> Result<void> {
        if (auto r = store->insertRun(run(u"discarded-outer"_s, at(2))); !r)
            return r;
        auto inner = store->transaction([&] { return store->insertRun(run(u"discarded-inner"_s, at(3))); });
        if (!inner)
            return inner;
        return fail(u"test"_s, u"the body fails after the inner transaction"_s, u"none"_s);
    });
    QVERIFY_ERROR_CODE(rolledBack, u"test"_s);
    QCOMPARE(runIds(*store), (QStringList{u"inner"_s, u"outer"_s}));
}

// A statement that fails inside a transaction rolls the whole transaction back, and the
// connection is usable afterwards (PostgreSQL aborts the transaction on the first error).
void tst_Store::failedStatementRollsBackTransaction()
{
    auto store = openStore();
    QVERIFY(store);
    QVERIFY_RESULT(store->insertRun(run(u"kept"_s, at(0))));
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"statement failed"_s));
    auto failed = store->transaction([&]() -> Result<void> {
        if (auto r = store->insertRun(run(u"lost"_s, at(1))); !r)
            return r;
        return store->insertRun(run(u"kept"_s, at(2))); // duplicate primary key
    });
    QVERIFY_ERROR_CODE(failed, u"database"_s);
    QVERIFY2(!failed.error().message.contains(m_postgres.password()) || !postgres(),
             qPrintable(failed.error().message));
    auto runs = store->runs();
    QVERIFY_RESULT(runs);
    QCOMPARE(runs->size(), 1);
    QCOMPARE(runs->first().id, u"kept"_s);
    QVERIFY_RESULT(store->insertRun(run(u"after"_s, at(3))));
}

// The query service visits steps one by one and asks the store about other things meanwhile.
void tst_Store::queryWhileVisitingRows()
{
    auto store = openStore();
    QVERIFY(store);
    QVERIFY_RESULT(store->insertRun(run(u"r1"_s, at(0))));
    for (int i = 1; i <= 3; ++i)
        QVERIFY_RESULT(store->insertStep(step(u"r1"_s, i, at(i))));
    QStringList visited;
    auto result = store->forEachStep(u"WHERE run_id = ? ORDER BY seq"_s, {u"r1"_s}, [&](const StepRecord &s) {
        auto r = store->run(s.runId);
        visited << s.id + u'@' + (r && *r ? (*r)->id : u"?"_s);
    });
    QVERIFY_RESULT(result);
    QCOMPARE(visited, (QStringList{u"r1-step-1@r1"_s, u"r1-step-2@r1"_s, u"r1-step-3@r1"_s}));
}

std::unique_ptr<Store> tst_Store::openWriteBehindStore()
{
    auto store = openStore();
    if (!store)
        return {};
    store->setGroupCommit([] {});
    if (auto on = store->enableWriteBehind(); !on) {
        qDebug() << on.error().text();
        return {};
    }
    if (!store->writeBehind())
        return {};
    return store;
}

namespace {
// Counts the statements that really reach a table, from inside SQLite (temporary triggers on the
// store's own connection).
Result<void> countWrites(Store &store, const QString &table)
{
    for (const QString &sql : {u"CREATE TEMP TABLE IF NOT EXISTS written (what TEXT PRIMARY KEY, n INTEGER NOT NULL)"_s,
                               u"INSERT INTO written VALUES ('%1 insert', 0), ('%1 update', 0)"_s.arg(table),
                               u"CREATE TEMP TRIGGER count_%1_inserts AFTER INSERT ON %1 BEGIN "
                               "UPDATE written SET n = n + 1 WHERE what = '%1 insert'; END"_s.arg(table),
                               u"CREATE TEMP TRIGGER count_%1_updates AFTER UPDATE ON %1 BEGIN "
                               "UPDATE written SET n = n + 1 WHERE what = '%1 update'; END"_s.arg(table)}) {
        if (auto r = store.exec(sql); !r)
            return fail(r.error());
    }
    return {};
}

LeaseRecord activeLease(const QString &id, const QString &stepId, const QString &runId)
{
    LeaseRecord l;
    l.id = id;
    l.stepId = stepId;
    l.runId = runId;
    l.workerId = u"w1"_s;
    l.workerName = u"build-7"_s;
    l.attempt = 1;
    l.createdAt = l.updatedAt = at(1);
    return l;
}

qint64 writes(Store &store, const QString &what)
{
    auto q = store.exec(u"SELECT n FROM written WHERE what = ?"_s, {what});
    return q && q->next() ? q->value(0).toLongLong() : -1;
}
} // namespace

// The orchestrator's hot rows wait for the commit: a step inserted, dispatched, started and
// finished in one batch is one INSERT of its final version; a read in between sees the newest.
void tst_Store::writeBehindWritesNewestVersionOnce()
{
    if (postgres())
        QSKIP("write-behind is SQLite's (one orchestrator) only");
    auto store = openWriteBehindStore();
    QVERIFY(store);
    QVERIFY_RESULT(countWrites(*store, u"steps"_s));
    QVERIFY_RESULT(countWrites(*store, u"step_leases"_s));
    QVERIFY_RESULT(store->commitBatch());

    RunRecord r = run(u"r1"_s, at(0));
    StepRecord s = step(r.id, 1, at(0));
    QVERIFY_RESULT(store->transaction([&]() -> Result<void> {
        if (auto w = store->insertRun(r); !w)
            return w;
        return store->insertStep(s);
    }));
    LeaseRecord l = activeLease(u"lease-1"_s, s.id, r.id);
    s.state = StepState::Dispatched;
    s.attempt = 1;
    s.workerId = u"w1"_s;
    QVERIFY_RESULT(store->transaction([&]() -> Result<void> {
        if (auto w = store->insertLease(l); !w)
            return w;
        return store->updateStep(s);
    }));
    // A read flushes what waits: it sees the dispatched step.
    auto read = store->step(s.id);
    QVERIFY_RESULT(read);
    QVERIFY(read->has_value());
    QCOMPARE((*read)->state, StepState::Dispatched);
    QCOMPARE(writes(*store, u"steps insert"_s), 1);

    s.state = StepState::Running;
    s.startedAt = at(2);
    l.startedAt = at(2);
    QVERIFY_RESULT(store->transaction([&]() -> Result<void> {
        if (auto w = store->updateLease(l); !w)
            return w;
        return store->updateStep(s);
    }));
    s.state = StepState::Succeeded;
    s.exitCode = 0;
    s.finishedAt = at(3);
    l.state = LeaseState::Completed;
    l.exitCode = 0;
    l.endedAt = at(3);
    QVERIFY_RESULT(store->transaction([&]() -> Result<void> {
        if (auto w = store->updateLease(l); !w)
            return w;
        return store->updateStep(s);
    }));
    QVERIFY_RESULT(store->commitBatch());

    QCOMPARE(writes(*store, u"steps insert"_s), 1);
    QCOMPARE(writes(*store, u"steps update"_s), 1);       // started and finished: one UPDATE
    QCOMPARE(writes(*store, u"step_leases insert"_s), 1); // inserted and updated before the read
    QCOMPARE(writes(*store, u"step_leases update"_s), 1);
    auto stored = store->step(s.id);
    QVERIFY_RESULT(stored);
    QCOMPARE((*stored)->state, StepState::Succeeded);
    QCOMPARE((*stored)->exitCode, std::optional<int>(0));
    QCOMPARE((*stored)->startedAt, at(2));
    auto lease = store->lease(l.id);
    QVERIFY_RESULT(lease);
    QCOMPARE((*lease)->state, LeaseState::Completed);
    QCOMPARE((*lease)->startedAt, at(2));

    // Another connection sees it all once committed.
    {
        QSqlDatabase other = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"other"_s);
        other.setDatabaseName(m_spec);
        QVERIFY(other.open());
        QSqlQuery q(other);
        QVERIFY(q.exec(u"SELECT s.state, l.state FROM steps s JOIN step_leases l ON l.step_id = s.id"_s));
        QVERIFY(q.next());
        QCOMPARE(q.value(0).toString(), u"succeeded"_s);
        QCOMPARE(q.value(1).toString(), u"completed"_s);
        QVERIFY(!q.next());
    }
    QSqlDatabase::removeDatabase(u"other"_s);
}

// A batch of many rows (past the size where the kept rows get an index) still merges every
// later change of a row into its first place: one INSERT per row, one UPDATE per updated row,
// the newest version of each.
void tst_Store::writeBehindLargeBatchMergesEveryRow()
{
    if (postgres())
        QSKIP("write-behind is SQLite's (one orchestrator) only");
    auto store = openWriteBehindStore();
    QVERIFY(store);
    QVERIFY_RESULT(countWrites(*store, u"steps"_s));
    QVERIFY_RESULT(store->commitBatch());
    const RunRecord r = run(u"big"_s, at(0));
    QVERIFY_RESULT(store->transaction([&] { return store->insertRun(r); }));
    QList<StepRecord> steps;
    for (int i = 0; i < 40; ++i) {
        steps << step(r.id, i, at(0));
        // Inserts and updates interleaved, in bodies of a few rows and one of many.
        QVERIFY_RESULT(store->transaction([&] { return store->insertStep(steps.last()); }));
        if (i % 3 == 0) {
            steps.last().state = StepState::Dispatched;
            QVERIFY_RESULT(store->transaction([&] { return store->updateStep(steps.last()); }));
        }
    }
    QVERIFY_RESULT(store->transaction([&]() -> Result<void> {
        for (StepRecord &s : steps) {
            s.state = StepState::Running;
            s.startedAt = at(1);
            if (auto w = store->updateStep(s); !w)
                return w;
        }
        for (int i = 0; i < steps.size(); i += 2) {
            steps[i].state = StepState::Succeeded;
            steps[i].exitCode = 0;
            steps[i].finishedAt = at(2);
            if (auto w = store->updateStep(steps[i]); !w)
                return w;
        }
        return {};
    }));
    QVERIFY_RESULT(store->commitBatch());
    // All of it was kept until the commit: one INSERT per step, no UPDATE.
    QCOMPARE(writes(*store, u"steps insert"_s), 40);
    QCOMPARE(writes(*store, u"steps update"_s), 0);
    for (int i = 0; i < steps.size(); ++i) {
        auto stored = store->step(steps.at(i).id);
        QVERIFY_RESULT(stored);
        QVERIFY(stored->has_value());
        QCOMPARE((*stored)->state, i % 2 == 0 ? StepState::Succeeded : StepState::Running);
        QCOMPARE((*stored)->startedAt, at(1));
    }
}

// A failing body loses its own rows, whether they still wait or were written inside its
// savepoint; the rows of the bodies before it are committed.
void tst_Store::writeBehindFailingBodyLosesOnlyItsRows()
{
    if (postgres())
        QSKIP("write-behind is SQLite's (one orchestrator) only");
    auto store = openWriteBehindStore();
    QVERIFY(store);
    QVERIFY_RESULT(store->transaction([&] { return store->insertRun(run(u"first"_s, at(0))); }));
    auto waiting = store->transaction([&]() -> Result<void> {
        if (auto r = store->insertRun(run(u"waiting"_s, at(1))); !r)
            return r;
        return fail(u"test"_s, u"the body fails with its row still waiting"_s, u"none"_s);
    });
    QVERIFY_ERROR_CODE(waiting, u"test"_s);
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"statement failed"_s));
    auto written = store->transaction([&]() -> Result<void> {
        if (auto r = store->insertRun(run(u"written"_s, at(2))); !r)
            return r;
        // A statement of its own: "first" is written before the savepoint, "written" inside it.
        return store->execute(u"INSERT INTO runs (id, name, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?)"_s,
                              {u"first"_s, u"duplicate"_s, u"queued"_s, 0, 0});
    });
    QVERIFY_ERROR_CODE(written, u"database"_s);
    QVERIFY_RESULT(store->transaction([&] { return store->insertRun(run(u"last"_s, at(3))); }));
    QVERIFY_RESULT(store->commitBatch());
    QCOMPARE(runIds(*store), (QStringList{u"first"_s, u"last"_s}));
}

// Event ids counted in memory continue after the largest SQLite ever handed out, also when the
// newest events were deleted since (AUTOINCREMENT never reuses an id).
void tst_Store::writeBehindEventIdsContinue()
{
    if (postgres())
        QSKIP("write-behind is SQLite's (one orchestrator) only");
    qint64 last = 0;
    {
        auto store = openStore();
        QVERIFY(store);
        for (int i = 0; i < 3; ++i) {
            auto id = store->insertEvent(Event{0, at(i), u"worker.enrolled"_s, u"ci"_s, u"m"_s, {}});
            QVERIFY_RESULT(id);
            last = *id;
        }
        QVERIFY_RESULT(store->execute(u"DELETE FROM events WHERE id > 1"_s));
    }
    auto store = openWriteBehindStore();
    QVERIFY(store);
    auto id = store->insertEvent(Event{0, at(5), u"worker.lost"_s, u"ci"_s, u"gone"_s, R"({"n":5})"_ba});
    QVERIFY_RESULT(id);
    QCOMPARE(*id, last + 1);
    auto next = store->insertEvent(Event{0, at(6), u"worker.lost"_s, u"ci"_s, u"gone"_s, {}});
    QVERIFY_RESULT(next);
    QCOMPARE(*next, last + 2);
    QVERIFY_RESULT(store->commitBatch());
    auto all = store->eventsAfter(1, 10);
    QVERIFY_RESULT(all);
    QCOMPARE(all->size(), 2);
    QCOMPARE(all->first().id, last + 1);
    QCOMPARE(all->first().data().value(u"n"_s).toInt(), 5);
    QCOMPARE(all->first().at, at(5));
}

// A waiting row that cannot be written (here a lease of a step that does not exist) fails the
// batch: nothing of it is committed, and the store goes on with the next one.
void tst_Store::writeBehindFailedFlushRefusesCommit()
{
    if (postgres())
        QSKIP("write-behind is SQLite's (one orchestrator) only");
    auto store = openWriteBehindStore();
    QVERIFY(store);
    QVERIFY_RESULT(store->insertRun(run(u"lost"_s, at(0))));
    QVERIFY_RESULT(store->insertLease(activeLease(u"orphan"_s, u"no-such-step"_s, u"lost"_s)));
    QVERIFY_RESULT(store->insertRun(run(u"also-lost"_s, at(2))));
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"statement failed"_s));
    auto committed = store->commitBatch();
    QVERIFY_ERROR_CODE(committed, u"database"_s);
    QVERIFY(!store->inBatch());
    QVERIFY_RESULT(store->insertRun(run(u"next"_s, at(3))));
    QVERIFY_RESULT(store->commitBatch());
    auto runs = store->runs();
    QVERIFY_RESULT(runs);
    QCOMPARE(runs->size(), 1);
    QCOMPARE(runs->first().id, u"next"_s);
}

// A batch of kept rows only is committed on the committer's thread: `done` comes in batch order
// once it is durable (another connection sees it), commitsPending() tells until then, and a
// statement meanwhile waits for it and sees its rows.
void tst_Store::writeBehindCommitsOffThread()
{
    if (postgres())
        QSKIP("write-behind is SQLite's (one orchestrator) only");
    auto store = openWriteBehindStore();
    QVERIFY(store);
    QObject context;
    QList<int> done;
    for (int batch = 0; batch < 3; ++batch) {
        QVERIFY_RESULT(store->transaction([&]() -> Result<void> {
            const RunRecord r = run(u"run-%1"_s.arg(batch), at(batch));
            if (auto w = store->insertRun(r); !w)
                return w;
            return store->insertStep(step(r.id, 1, at(batch)));
        }));
        store->commitBatchAsync(&context, [&done, batch](const Result<void> &committed) {
            QVERIFY_RESULT(committed);
            done << batch;
        });
        QVERIFY(!store->inBatch());
    }
    QVERIFY(store->commitsPending());
    QTRY_COMPARE(done, (QList<int>{0, 1, 2}));
    QVERIFY(!store->commitsPending());
    {
        QSqlDatabase other = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"other"_s);
        other.setDatabaseName(m_spec);
        QVERIFY(other.open());
        QSqlQuery q(other);
        QVERIFY(q.exec(u"SELECT COUNT(*) FROM steps"_s));
        QVERIFY(q.next());
        QCOMPARE(q.value(0).toInt(), 3);
    }
    QSqlDatabase::removeDatabase(u"other"_s);

    // A read right behind an async commit waits for it.
    QVERIFY_RESULT(store->insertRun(run(u"run-3"_s, at(3))));
    bool committed = false;
    store->commitBatchAsync(&context, [&](const Result<void> &r) { committed = r.has_value(); });
    auto read = store->run(u"run-3"_s);
    QVERIFY_RESULT(read);
    QVERIFY(read->has_value());
    QTRY_VERIFY(committed);
}

// When a batch fails on the committer's thread, its `done` says so and so do the later batches'
// and the next commit's: the orchestrator stops on the first.
void tst_Store::writeBehindOffThreadFailureStopsLaterBatches()
{
    if (postgres())
        QSKIP("write-behind is SQLite's (one orchestrator) only");
    auto store = openWriteBehindStore();
    QVERIFY(store);
    QObject context;
    QStringList outcomes;
    const auto record = [&](const Result<void> &r) { outcomes << (r ? u"ok"_s : r.error().code); };
    QVERIFY_RESULT(store->insertRun(run(u"kept"_s, at(0))));
    store->commitBatchAsync(&context, record);
    // Batches queued while one is written share its transaction, and its fate: wait for this one.
    QTRY_COMPARE(outcomes.size(), 1);
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"FOREIGN KEY constraint failed"_s));
    QVERIFY_RESULT(store->insertLease(activeLease(u"orphan"_s, u"no-such-step"_s, u"kept"_s)));
    store->commitBatchAsync(&context, record);
    QVERIFY_RESULT(store->insertRun(run(u"after"_s, at(1))));
    store->commitBatchAsync(&context, record);
    QTRY_COMPARE(outcomes.size(), 3);
    QCOMPARE(outcomes, (QStringList{u"ok"_s, u"database"_s, u"database"_s}));
    QVERIFY_RESULT(store->insertRun(run(u"later"_s, at(2))));
    QVERIFY_ERROR_CODE(store->commitBatch(), u"database"_s);
}

QTEST_GUILESS_MAIN(tst_Store)
#include "tst_store.moc"
