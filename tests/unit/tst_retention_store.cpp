// The store's retention, pruning and audit functions (SQLite in a temporary dir): ended steps go
// with their leases, output and emptied runs in bounded batches while open steps, active leases
// and recent steps stay; old events go in batches; long-gone workers are found and deleted with
// their token bindings; the reaper works in batches and yields to the event loop between them;
// audit records round-trip; and a database of the previous schema is
// backed up before it is migrated.
#include "oldschema.h"
#include "testsupport.h"

#include "server/reaper.h"
#include "store/store.h"
#include "version/version.h"

#include <QDir>
#include <QFile>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>
#include <QUuid>

using namespace Qt::StringLiterals;
using namespace Swamp;

namespace {
const QDateTime Base = QDateTime::fromMSecsSinceEpoch(1795514400000, Qt::UTC);

QDateTime at(qint64 secondsAfterBase)
{
    return Base.addSecs(secondsAfterBase);
}

QString newId()
{
    return QUuid::createUuid().toString(QUuid::WithoutBraces);
}

RunRecord run(const QString &name)
{
    return RunRecord{newId(), name, StepState::Succeeded, at(0), at(0), at(0)};
}

StepRecord step(const RunRecord &r, int seq, StepState state, const QDateTime &finishedAt = {})
{
    StepRecord s;
    s.id = newId();
    s.runId = r.id;
    s.seq = seq;
    s.spec.name = u"s%1"_s.arg(seq);
    s.spec.command = QStringList{u"echo"_s, QString::number(seq)};
    s.spec.queueTimeoutMs = 600000;
    s.state = state;
    s.attempt = state == StepState::Queued ? 0 : 1;
    s.queuedAt = s.createdAt = s.updatedAt = at(0);
    s.finishedAt = finishedAt;
    return s;
}

LeaseRecord lease(const StepRecord &s, LeaseState state)
{
    LeaseRecord l;
    l.id = newId();
    l.stepId = s.id;
    l.runId = s.runId;
    l.workerId = u"w1"_s;
    l.workerName = u"build-01"_s;
    l.attempt = 1;
    l.state = state;
    l.createdAt = l.updatedAt = at(0);
    return l;
}

TokenRecord token(const QString &name, int maxEnrollments = 1)
{
    TokenRecord t;
    t.id = newId();
    t.name = name;
    t.secretHash = hashSecret(u"secret-of-"_s + t.id);
    t.createdAt = t.updatedAt = at(0);
    t.expiresAt = at(86400);
    t.maxEnrollments = maxEnrollments;
    return t;
}

WorkerRecord worker(const QString &name, const TokenRecord &t, WorkerStatus status,
                    const QDateTime &gone)
{
    WorkerRecord w;
    w.id = newId();
    w.name = name;
    w.machineId = newId();
    w.tokenId = t.id;
    w.tokenName = t.name;
    w.instanceId = newId();
    w.platform = u"linux"_s;
    w.arch = u"x86_64"_s;
    w.version = u"0.1.0"_s;
    w.hostname = name;
    w.orchestrator = u"ws://127.0.0.1:9090"_s;
    w.status = status;
    w.enrolledAt = w.createdAt = at(0);
    w.lastSeenAt = w.updatedAt = gone;
    if (status == WorkerStatus::Disconnected || status == WorkerStatus::Lost)
        w.disconnectedAt = gone;
    return w;
}

// One run of `steps` ended steps, each with a completed lease and two output chunks.
Result<RunRecord> seedEndedSteps(Store &store, int steps, const QDateTime &firstFinished)
{
    const RunRecord old = run(u"old"_s);
    const StepState endings[] = {StepState::Succeeded, StepState::Failed, StepState::Cancelled,
                                 StepState::TimedOut};
    auto seeded = store.transaction([&]() -> Result<void> {
        if (auto r = store.insertRun(old); !r)
            return r;
        for (int i = 0; i < steps; ++i) {
            const StepRecord s = step(old, i, endings[i % 4], firstFinished.addSecs(i));
            if (auto r = store.insertStep(s); !r)
                return r;
            if (auto r = store.insertLease(lease(s, LeaseState::Completed)); !r)
                return r;
            for (int chunk = 1; chunk <= 2; ++chunk) {
                if (auto r = store.appendOutput(s.id, chunk, u"l"_s, 1, u"stdout"_s, u"x\n"_s,
                                                firstFinished);
                    !r)
                    return r;
            }
        }
        return {};
    });
    if (!seeded)
        return fail(seeded.error());
    return old;
}

int count(Store &store, const QString &sql, const QVariantList &bindings = {})
{
    auto query = store.exec(sql, bindings);
    if (!query || !query->next())
        return -1;
    return query->value(0).toInt();
}
} // namespace

class tst_RetentionStore : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void endedStepsGoInBatches();
    void largeOutputGoesOverSeveralBatches();
    void eventsGoOldestFirstInBatches();
    void goneWorkersAreFoundByTheirDisconnectTime();
    void deletingAWorkerFreesItsBindings();
    void connectedWorkerIsNotDeleted();
    void reaperYieldsBetweenBatches();
    void auditRoundTrip();
    void previousSchemaIsBackedUpThenMigrated();

private:
    std::unique_ptr<Store> openStore(const QString &path);
};

void tst_RetentionStore::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
}

std::unique_ptr<Store> tst_RetentionStore::openStore(const QString &path)
{
    auto store = Store::open(path);
    if (!store) {
        qDebug() << store.error().code << store.error().text();
        return {};
    }
    return std::move(*store);
}

void tst_RetentionStore::endedStepsGoInBatches()
{
    QTemporaryDir dir;
    auto store = openStore(dir.filePath(u"swamp.db"_s));
    QVERIFY(store);
    constexpr int OldSteps = 1200;
    const QDateTime cutoff = at(3600);

    // One big run of old ended steps, each with a lease and two output chunks.
    auto seeded = seedEndedSteps(*store, OldSteps, at(60));
    QVERIFY_RESULT(seeded);
    const RunRecord old = *seeded;
    // A run that keeps going: an old ended step next to a queued and a running one.
    const RunRecord mixed = run(u"mixed"_s);
    QVERIFY_RESULT(store->insertRun(mixed));
    const StepRecord mixedEnded = step(mixed, 0, StepState::Succeeded, at(10));
    const StepRecord queued = step(mixed, 1, StepState::Queued);
    const StepRecord running = step(mixed, 2, StepState::Running);
    for (const StepRecord &s : {mixedEnded, queued, running})
        QVERIFY_RESULT(store->insertStep(s));
    const LeaseRecord active = lease(running, LeaseState::Active);
    QVERIFY_RESULT(store->insertLease(active));
    QVERIFY_RESULT(
        store->appendOutput(running.id, 1, active.id, 1, u"stdout"_s, u"still here\n"_s, at(10)));
    // Recent: ended after the cutoff.
    const RunRecord recent = run(u"recent"_s);
    QVERIFY_RESULT(store->insertRun(recent));
    const StepRecord recentStep = step(recent, 0, StepState::Succeeded, at(7200));
    QVERIFY_RESULT(store->insertStep(recentStep));
    // Ended long ago but still holding an active lease (never expected; never touched).
    const RunRecord odd = run(u"odd"_s);
    QVERIFY_RESULT(store->insertRun(odd));
    const StepRecord oddStep = step(odd, 0, StepState::Failed, at(5));
    QVERIFY_RESULT(store->insertStep(oddStep));
    QVERIFY_RESULT(store->insertLease(lease(oddStep, LeaseState::Active)));

    int batches = 0;
    Store::RetentionBatch total;
    for (;;) {
        auto batch = store->deleteEndedSteps(cutoff, 500);
        QVERIFY_RESULT(batch);
        ++batches;
        QVERIFY2(batch->steps * 4 <= 500, qPrintable(u"a batch took %1 steps"_s.arg(batch->steps)));
        total.steps += batch->steps;
        total.leases += batch->leases;
        total.outputChunks += batch->outputChunks;
        total.runs += batch->runs;
        if (!batch->more)
            break;
        QVERIFY(batches < 100);
    }
    // Each old step is 4 rows (itself, a lease, two chunks): 125 steps per batch of 500 rows.
    QVERIFY2(batches >= 10, qPrintable(u"%1 batches"_s.arg(batches)));
    QCOMPARE(total.steps, OldSteps + 1);
    QCOMPARE(total.leases, OldSteps);
    QCOMPARE(total.outputChunks, OldSteps * 2);
    QCOMPARE(total.runs, 1); // "old"; "mixed" still has steps

    QCOMPARE(count(*store, u"SELECT COUNT(*) FROM steps"_s), 4);
    QCOMPARE(count(*store, u"SELECT COUNT(*) FROM steps WHERE id IN (?, ?, ?, ?)"_s,
                   {queued.id, running.id, recentStep.id, oddStep.id}),
             4);
    QCOMPARE(count(*store, u"SELECT COUNT(*) FROM step_leases WHERE state = 'active'"_s), 2);
    QCOMPARE(count(*store, u"SELECT COUNT(*) FROM step_leases"_s), 2);
    QCOMPARE(count(*store, u"SELECT COUNT(*) FROM step_output"_s), 1);
    QCOMPARE(count(*store, u"SELECT COUNT(*) FROM step_output WHERE step_id = ?"_s, {running.id}),
             1);
    QCOMPARE(count(*store, u"SELECT COUNT(*) FROM runs"_s), 3);
    QCOMPARE(count(*store, u"SELECT COUNT(*) FROM runs WHERE id = ?"_s, {old.id}), 0);

    // Nothing left to do: one empty batch.
    auto again = store->deleteEndedSteps(cutoff, 500);
    QVERIFY_RESULT(again);
    QCOMPARE(again->steps, 0);
    QVERIFY(!again->more);
}

void tst_RetentionStore::largeOutputGoesOverSeveralBatches()
{
    QTemporaryDir dir;
    auto store = openStore(dir.filePath(u"swamp.db"_s));
    QVERIFY(store);
    const RunRecord r = run(u"chatty"_s);
    StepRecord s = step(r, 0, StepState::Succeeded, at(10));
    s.outputChunks = 1300;
    QVERIFY_RESULT(store->transaction([&]() -> Result<void> {
        if (auto x = store->insertRun(r); !x)
            return x;
        if (auto x = store->insertStep(s); !x)
            return x;
        if (auto x = store->insertLease(lease(s, LeaseState::Completed)); !x)
            return x;
        for (int chunk = 1; chunk <= 1300; ++chunk) {
            if (auto x =
                    store->appendOutput(s.id, chunk, u"l"_s, 1, u"stdout"_s, u"line\n"_s, at(10));
                !x)
                return x;
        }
        return {};
    }));
    QList<int> chunksPerBatch;
    for (;;) {
        auto batch = store->deleteEndedSteps(at(3600), 500);
        QVERIFY_RESULT(batch);
        chunksPerBatch << batch->outputChunks;
        if (!batch->more) {
            QCOMPARE(batch->steps, 1);
            QCOMPARE(batch->leases, 1);
            QCOMPARE(batch->runs, 1);
            break;
        }
        QCOMPARE(batch->steps, 0);
        QVERIFY(chunksPerBatch.size() < 10);
    }
    QCOMPARE(chunksPerBatch, (QList<int>{500, 500, 300}));
    QCOMPARE(count(*store, u"SELECT COUNT(*) FROM step_output"_s), 0);
    QCOMPARE(count(*store, u"SELECT COUNT(*) FROM steps"_s), 0);
}

void tst_RetentionStore::eventsGoOldestFirstInBatches()
{
    QTemporaryDir dir;
    auto store = openStore(dir.filePath(u"swamp.db"_s));
    QVERIFY(store);
    QVERIFY_RESULT(store->transaction([&]() -> Result<void> {
        for (int i = 0; i < 1200; ++i) {
            auto id = store->insertEvent(Event{0, at(i), u"step.queued"_s, u"s"_s, u"old"_s, {}});
            if (!id)
                return fail(id.error());
        }
        for (int i = 0; i < 5; ++i) {
            auto id =
                store->insertEvent(Event{0, at(7200 + i), u"step.queued"_s, u"s"_s, u"new"_s, {}});
            if (!id)
                return fail(id.error());
        }
        return {};
    }));
    const qint64 last = store->lastEventId().value_or(-1);
    QList<int> deleted;
    for (int round = 0; round < 4; ++round) {
        auto n = store->deleteEventsBefore(at(3600), 500);
        QVERIFY_RESULT(n);
        deleted << *n;
    }
    QCOMPARE(deleted, (QList<int>{500, 500, 200, 0}));
    auto rest = store->eventsAfter(0, 100);
    QVERIFY_RESULT(rest);
    QCOMPARE(rest->size(), 5);
    for (const Event &event : std::as_const(*rest))
        QCOMPARE(event.message, u"new"_s);
    QCOMPARE(store->lastEventId().value_or(-1), last);
}

void tst_RetentionStore::goneWorkersAreFoundByTheirDisconnectTime()
{
    QTemporaryDir dir;
    auto store = openStore(dir.filePath(u"swamp.db"_s));
    QVERIFY(store);
    const TokenRecord t = token(u"pool"_s, 0);
    QVERIFY_RESULT(store->insertToken(t));
    // Connected ones long unseen in the database (heartbeats never write it) must not count.
    const WorkerRecord idle = worker(u"idle"_s, t, WorkerStatus::Idle, at(0));
    const WorkerRecord busy = worker(u"busy"_s, t, WorkerStatus::Busy, at(0));
    const WorkerRecord draining = worker(u"draining"_s, t, WorkerStatus::Draining, at(0));
    const WorkerRecord lost = worker(u"lost"_s, t, WorkerStatus::Lost, at(20));
    const WorkerRecord gone = worker(u"gone"_s, t, WorkerStatus::Disconnected, at(10));
    const WorkerRecord recent = worker(u"recent"_s, t, WorkerStatus::Disconnected, at(5000));
    WorkerRecord noDisconnectTime = worker(u"legacy"_s, t, WorkerStatus::Disconnected, at(30));
    noDisconnectTime.disconnectedAt = QDateTime();
    for (const WorkerRecord &w : {idle, busy, draining, lost, gone, recent, noDisconnectTime})
        QVERIFY_RESULT(store->upsertWorker(w));

    auto found = store->workersGoneBefore(at(3600));
    QVERIFY_RESULT(found);
    QStringList names;
    for (const WorkerRecord &w : std::as_const(*found))
        names << w.name;
    QCOMPARE(names, (QStringList{u"gone"_s, u"lost"_s, u"legacy"_s}));

    auto all = store->workersGoneBefore(at(100000));
    QVERIFY_RESULT(all);
    QCOMPARE(all->size(), 4);
    auto none = store->workersGoneBefore(at(0));
    QVERIFY_RESULT(none);
    QVERIFY(none->isEmpty());
}

void tst_RetentionStore::deletingAWorkerFreesItsBindings()
{
    QTemporaryDir dir;
    auto store = openStore(dir.filePath(u"swamp.db"_s));
    QVERIFY(store);
    // The machine is bound on a revoked token and on its successor of the same name, and on
    // another token; only the bindings on tokens of the worker's token name go.
    TokenRecord revoked = token(u"solo"_s);
    revoked.revokedAt = at(5);
    const TokenRecord solo = token(u"solo"_s);
    const TokenRecord other = token(u"other"_s);
    for (const TokenRecord &t : {revoked, solo, other})
        QVERIFY_RESULT(store->insertToken(t));
    const WorkerRecord w = worker(u"solo"_s, solo, WorkerStatus::Lost, at(10));
    QVERIFY_RESULT(store->upsertWorker(w));
    QVERIFY_RESULT(store->insertBinding(revoked.id, {w.machineId, u"solo"_s, at(0)}));
    QVERIFY_RESULT(store->insertBinding(solo.id, {w.machineId, u"solo"_s, at(6)}));
    QVERIFY_RESULT(store->insertBinding(other.id, {w.machineId, u"other"_s, at(6)}));
    QVERIFY_RESULT(store->insertBinding(solo.id, {u"another-machine"_s, u"solo-2"_s, at(7)}));

    auto freed = store->deleteWorker(w);
    QVERIFY_RESULT(freed);
    QCOMPARE(*freed, 2);
    auto byMachine = store->workerByMachine(w.machineId, u"solo"_s);
    QVERIFY_RESULT(byMachine);
    QVERIFY(!byMachine->has_value());
    auto tokens = store->tokensNamed(u"solo"_s);
    QVERIFY_RESULT(tokens);
    for (const TokenRecord &t : std::as_const(*tokens))
        QVERIFY(!t.isBound(w.machineId));
    QCOMPARE(
        count(*store, u"SELECT COUNT(*) FROM token_bindings WHERE machine_id = ?"_s, {w.machineId}),
        1);
    QCOMPARE(count(*store,
                   u"SELECT COUNT(*) FROM token_bindings WHERE machine_id = 'another-machine'"_s),
             1);
}

void tst_RetentionStore::connectedWorkerIsNotDeleted()
{
    QTemporaryDir dir;
    auto store = openStore(dir.filePath(u"swamp.db"_s));
    QVERIFY(store);
    const TokenRecord solo = token(u"solo"_s);
    QVERIFY_RESULT(store->insertToken(solo));
    WorkerRecord w = worker(u"solo"_s, solo, WorkerStatus::Lost, at(10));
    QVERIFY_RESULT(store->upsertWorker(w));
    QVERIFY_RESULT(store->insertBinding(solo.id, {w.machineId, u"solo"_s, at(0)}));
    // It came back (e.g. through another orchestrator) after it was found gone.
    WorkerRecord back = w;
    back.status = WorkerStatus::Idle;
    QVERIFY_RESULT(store->upsertWorker(back));

    auto refused = store->deleteWorker(w);
    QVERIFY_ERROR_CODE(refused, u"worker_connected"_s);
    QVERIFY2(refused.error().message.contains(u"solo"_s), qPrintable(refused.error().message));
    // Rolled back: the binding is still there.
    QCOMPARE(
        count(*store, u"SELECT COUNT(*) FROM token_bindings WHERE machine_id = ?"_s, {w.machineId}),
        1);
    QCOMPARE(count(*store, u"SELECT COUNT(*) FROM workers WHERE id = ?"_s, {w.id}), 1);
}

void tst_RetentionStore::reaperYieldsBetweenBatches()
{
    QTemporaryDir dir;
    auto store = openStore(dir.filePath(u"swamp.db"_s));
    QVERIFY(store);
    QVERIFY_RESULT(seedEndedSteps(*store, 1000, at(0)));
    QVERIFY_RESULT(store->insertEvent(Event{0, at(0), u"step.queued"_s, u"s"_s, u"old"_s, {}}));
    const QDateTime recent = QDateTime::currentDateTimeUtc();
    QVERIFY_RESULT(store->insertEvent(Event{0, recent, u"step.queued"_s, u"s"_s, u"new"_s, {}}));

    Reaper reaper(store.get(), 60 * 60 * 1000);
    QCOMPARE(reaper.intervalMs(), 5 * 60 * 1000);           // a quarter of 1h, at most 5 min
    QCOMPARE(Reaper(store.get(), 1000).intervalMs(), 1000); // at least 1s
    // Something else that wants the event loop while the pass runs: it must get turns.
    int turns = 0;
    int turnsDuringPass = 0;
    QTimer other;
    other.setInterval(0);
    QObject::connect(&other, &QTimer::timeout, &other, [&] {
        ++turns;
        if (reaper.isRunning())
            ++turnsDuringPass;
    });
    QSignalSpy finished(&reaper, &Reaper::passFinished);
    other.start();
    reaper.start();
    QVERIFY(finished.wait(30000));
    other.stop();
    const RetentionSummary summary = finished.first().first().value<RetentionSummary>();
    QVERIFY2(summary.error.isEmpty(), qPrintable(summary.error));
    QCOMPARE(summary.steps, 1000);
    QCOMPARE(summary.leases, 1000);
    QCOMPARE(summary.outputChunks, 2000);
    QCOMPARE(summary.runs, 1);
    QCOMPARE(summary.events, 1);
    QVERIFY(summary.removedAnything());
    // 4 rows a step, 500 rows a batch: at least 8 batches of steps, then one of events.
    QVERIFY2(summary.batches >= 9, qPrintable(summary.message()));
    QVERIFY2(turnsDuringPass >= summary.batches - 1,
             qPrintable(u"%1 turns of the event loop during %2 batches"_s.arg(turnsDuringPass)
                            .arg(summary.batches)));
    QVERIFY(summary.message().startsWith(
        u"retention: removed 1000 step(s), 1000 lease(s), 2000 output chunk(s), "
        "1 run(s) and 1 event(s) older than 1h in "_s));
    QCOMPARE(summary.toJson().value(u"steps"_s).toInt(), 1000);
    QVERIFY(!reaper.isRunning());
    QCOMPARE(count(*store, u"SELECT COUNT(*) FROM steps"_s), 0);
    QCOMPARE(count(*store, u"SELECT COUNT(*) FROM events"_s), 1);
    reaper.stop();
}

void tst_RetentionStore::auditRoundTrip()
{
    QTemporaryDir dir;
    auto store = openStore(dir.filePath(u"swamp.db"_s));
    QVERIFY(store);
    const QString adminToken =
        u"9d4f26e8f7e09c0fcb47b23f75d7e4cadd2ae7dca42147fe193edb627e458a9c"_s;
    const QString key = adminKeyFingerprint(adminToken);
    QVERIFY2(QRegularExpression(u"^sha256:[0-9a-f]{16}$"_s).match(key).hasMatch(), qPrintable(key));
    QVERIFY(!adminToken.contains(key.mid(7)));
    QVERIFY(adminKeyFingerprint(adminToken + u'x') != key);

    AuditRecord created{0,  at(1), u"token.create"_s, u"t1"_s,        u"ci"_s,
                        {}, key,   u"swamp/0.1.0"_s,  u"127.0.0.1"_s, u"ticket OPS-42"_s};
    AuditRecord revoked{0,  at(2), u"token.revoke"_s,        u"t1"_s,       u"ci"_s,
                        {}, key,   u"swamp-console/0.1.0"_s, u"10.0.0.7"_s, u"leaked"_s};
    AuditRecord pruned{0,   at(3), u"worker.prune"_s, u"t2"_s, u"pool"_s, u"pool-1e23cb9d"_s,
                       key, {},    u"::1"_s,          {}};
    for (AuditRecord *r : {&created, &revoked, &pruned}) {
        auto id = store->insertAudit(*r);
        QVERIFY_RESULT(id);
        QVERIFY(*id > 0);
        r->id = *id;
    }
    QVERIFY(created.id < revoked.id && revoked.id < pruned.id);

    auto forToken = store->auditRecords(u"WHERE token_id = ?"_s, {u"t1"_s});
    QVERIFY_RESULT(forToken);
    QCOMPARE(forToken->size(), 2);
    const AuditRecord &back = forToken->first();
    QCOMPARE(back.id, created.id);
    QCOMPARE(back.at, created.at);
    QCOMPARE(back.action, created.action);
    QCOMPARE(back.tokenName, u"ci"_s);
    QCOMPARE(back.adminKey, key);
    QCOMPARE(back.client, u"swamp/0.1.0"_s);
    QCOMPARE(back.address, u"127.0.0.1"_s);
    QCOMPARE(back.reason, u"ticket OPS-42"_s);
    QCOMPARE(forToken->at(1).action, u"token.revoke"_s);

    auto all = store->auditRecords();
    QVERIFY_RESULT(all);
    QCOMPARE(all->size(), 3);
    const QJsonObject json = all->at(2).toJson();
    QCOMPARE(json.value(u"action"_s).toString(), u"worker.prune"_s);
    QCOMPARE(json.value(u"workerName"_s).toString(), u"pool-1e23cb9d"_s);
    QCOMPARE(json.value(u"tokenName"_s).toString(), u"pool"_s);
    QCOMPARE(json.value(u"at"_s).toString(), u"2026-11-24T10:00:03.000Z"_s);
    QCOMPARE(json.value(u"client"_s).toObject().value(u"adminKey"_s).toString(), key);
    const QJsonObject short_ = all->at(0).toTokenJson();
    QCOMPARE(short_.keys(),
             (QStringList{u"action"_s, u"address"_s, u"at"_s, u"client"_s, u"reason"_s}));
    QCOMPARE(all->at(2).toTokenJson().value(u"workerName"_s).toString(), u"pool-1e23cb9d"_s);

    // Retention never touches the audit trail.
    QVERIFY_RESULT(store->deleteEndedSteps(at(100000), 500));
    QVERIFY_RESULT(store->deleteEventsBefore(at(100000), 500));
    QCOMPARE(count(*store, u"SELECT COUNT(*) FROM audit_events"_s), 3);
}

void tst_RetentionStore::previousSchemaIsBackedUpThenMigrated()
{
    // A database as the previous release left it: every migration but the newest applied.
    QTemporaryDir dir;
    const QString path = dir.filePath(u"swamp.db"_s);
    const int previous = Store::knownSchemaVersion() - 1;
    QVERIFY(previous >= 1);
    const TokenRecord t = token(u"kept"_s);
    const QString problem = SwampTest::createDatabaseAtSchema(
        path, previous, u"0.0.9"_s,
        {u"INSERT INTO enrollment_tokens (id, name, secret_hash, created_at, expires_at, "
         u"max_enrollments, "
         "labels, updated_at) VALUES ('%1', 'kept', 'h', 1, 2, 1, '{}', 1)"_s.arg(t.id)});
    QVERIFY2(problem.isEmpty(), qPrintable(problem));

    auto store = openStore(path);
    QVERIFY(store);
    QCOMPARE(store->foundSchemaVersion(), previous);
    QCOMPARE(store->schemaVersion(), Store::knownSchemaVersion());
    const QString backup = path + u".schema%1.bak"_s.arg(previous);
    QCOMPARE(store->backupPath(), backup);
    QVERIFY(QFile::exists(backup));
    auto tokens = store->tokensNamed(u"kept"_s);
    QVERIFY_RESULT(tokens);
    QCOMPARE(tokens->size(), 1);
    QCOMPARE(count(*store, u"SELECT MAX(version) FROM schema_migrations"_s),
             Store::knownSchemaVersion());
    QCOMPARE(count(*store, u"SELECT COUNT(*) FROM audit_events"_s), 0);

    // The backup is the old database, whole.
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"backup"_s);
        db.setDatabaseName(backup);
        db.setConnectOptions(u"QSQLITE_OPEN_READONLY"_s);
        QVERIFY(db.open());
        QSqlQuery query(db);
        QVERIFY(query.exec(u"SELECT MAX(version) FROM schema_migrations"_s));
        QVERIFY(query.next());
        QCOMPARE(query.value(0).toInt(), previous);
        QVERIFY(query.exec(u"SELECT name FROM enrollment_tokens"_s));
        QVERIFY(query.next());
        QCOMPARE(query.value(0).toString(), u"kept"_s);
        query.finish();
        db.close();
    }
    QSqlDatabase::removeDatabase(u"backup"_s);

    // Opening again migrates nothing and makes no second backup.
    QFile::remove(backup);
    store.reset();
    auto again = openStore(path);
    QVERIFY(again);
    QCOMPARE(again->foundSchemaVersion(), Store::knownSchemaVersion());
    QVERIFY(again->backupPath().isEmpty());
    QVERIFY(!QFile::exists(backup));
}

QTEST_GUILESS_MAIN(tst_RetentionStore)
#include "tst_retention_store.moc"
