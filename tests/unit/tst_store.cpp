// The orchestrator's database (SQLite in a temporary dir): forward migrations applied once,
// refusal of a newer schema without touching the file, tokens, bindings, workers, boot
// reconciliation and operator events.
#include "testsupport.h"

#include "store/store.h"
#include "version/version.h"

#include <QCryptographicHash>
#include <QFile>
#include <QRegularExpression>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>
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
    void init();
    void migrationsAppliedOnce();
    void reopenIsIdempotent();
    void newerSchemaRefusedUntouched();
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

private:
    std::unique_ptr<Store> openStore(const QString &path);
    QTemporaryDir m_dir;
};

void tst_Store::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
}

std::unique_ptr<Store> tst_Store::openStore(const QString &path)
{
    auto store = Store::open(path);
    if (!store) {
        qDebug() << store.error().code << store.error().text();
        return {};
    }
    return std::move(*store);
}

void tst_Store::migrationsAppliedOnce()
{
    QTemporaryDir dir;
    auto store = openStore(dir.filePath(u"swamp.db"_s));
    QVERIFY(store);
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
    auto mode = store->exec(u"PRAGMA journal_mode"_s);
    QVERIFY_RESULT(mode);
    QVERIFY(mode->next());
    QCOMPARE(mode->value(0).toString().toLower(), u"wal"_s);
    for (const char *table : {"enrollment_tokens", "token_bindings", "workers", "events"}) {
        auto exists = store->exec(u"SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"_s,
                                  {QString::fromLatin1(table)});
        QVERIFY_RESULT(exists);
        QVERIFY(exists->next());
        QVERIFY2(exists->value(0).toInt() == 1, table);
    }
    QCOMPARE(QString::number(int(QFile::permissions(dir.filePath(u"swamp.db"_s))
                                 & (QFileDevice::ReadOther | QFileDevice::ReadGroup))),
             u"0"_s);
}

void tst_Store::reopenIsIdempotent()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(u"swamp.db"_s);
    const TokenRecord t = token(u"ci"_s, at(0));
    {
        auto store = openStore(path);
        QVERIFY(store);
        QVERIFY_RESULT(store->insertToken(t));
    }
    for (int round = 0; round < 2; ++round) {
        auto store = openStore(path);
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
    QVERIFY(!QFile::exists(path + u".schema1.bak"_s));
}

void tst_Store::newerSchemaRefusedUntouched()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(u"swamp.db"_s);
    {
        auto store = openStore(path);
        QVERIFY(store);
        QVERIFY_RESULT(store->insertToken(token(u"ci"_s, at(0))));
        QVERIFY_RESULT(store->execute(u"INSERT INTO schema_migrations (version, applied_at, "
                                      "swamp_version) VALUES (?, ?, ?)"_s,
                                      {99, at(0).toMSecsSinceEpoch(), u"9.9.9"_s}));
    }
    QVERIFY(!QFile::exists(path + u"-wal"_s) || QFile(path + u"-wal"_s).size() == 0);
    const QByteArray before = fileHash(path);
    QVERIFY(!before.isEmpty());

    auto refused = Store::open(path);
    QVERIFY_ERROR_CODE(refused, u"schema_too_new"_s);
    QVERIFY2(refused.error().message.contains(u"schema version 99"_s), qPrintable(refused.error().message));
    QVERIFY2(refused.error().message.contains(u"9.9.9"_s), qPrintable(refused.error().message));
    QVERIFY2(refused.error().message.contains(u"nothing was changed"_s),
             qPrintable(refused.error().message));
    QCOMPARE(refused.error().fix, u"install swamp 9.9.9 or newer"_s);

    QCOMPARE(fileHash(path), before);
    QVERIFY(!QFile::exists(path + u".schema99.bak"_s));
}

void tst_Store::tokenRoundTrip()
{
    QTemporaryDir dir;
    auto store = openStore(dir.filePath(u"swamp.db"_s));
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
    QTemporaryDir dir;
    auto store = openStore(dir.filePath(u"swamp.db"_s));
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
    QTemporaryDir dir;
    auto store = openStore(dir.filePath(u"swamp.db"_s));
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
    QTemporaryDir dir;
    auto store = openStore(dir.filePath(u"swamp.db"_s));
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
    QTemporaryDir dir;
    auto store = openStore(dir.filePath(u"swamp.db"_s));
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
    QTemporaryDir dir;
    auto store = openStore(dir.filePath(u"swamp.db"_s));
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
    QTemporaryDir dir;
    auto store = openStore(dir.filePath(u"swamp.db"_s));
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
    QTemporaryDir dir;
    auto store = openStore(dir.filePath(u"swamp.db"_s));
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
    QTemporaryDir dir;
    auto store = openStore(dir.filePath(u"swamp.db"_s));
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
    QTemporaryDir dir;
    auto store = openStore(dir.filePath(u"swamp.db"_s));
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
    QTemporaryDir dir;
    auto store = openStore(dir.filePath(u"swamp.db"_s));
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
    QTemporaryDir dir;
    auto store = openStore(dir.filePath(u"swamp.db"_s));
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
        e.data = {{u"n"_s, i}};
        auto id = store->insertEvent(e);
        QVERIFY_RESULT(id);
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
        QCOMPARE(all->at(i).data.value(u"n"_s).toInt(), i);
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
}

QTEST_GUILESS_MAIN(tst_Store)
#include "tst_store.moc"
