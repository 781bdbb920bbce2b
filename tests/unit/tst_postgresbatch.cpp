// Write-behind on PostgreSQL (core/store/postgresbatch.cpp), against a real server started by the
// test: a batch's rows reach the database as a few multi-row statements whatever their number,
// every column survives the trip, a lease another orchestrator ended fails the batch, a run
// follows steps finished by two stores, claims skip what another batch holds, the fleet's
// notifications go out once per batch, and event ids follow commit order across stores.
#include "testsupport.h"

#include "store/store.h"
#include "support/pgserver.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QSqlDriver>
#include <QSqlQuery>
#include <QTest>

#include <QSet>

#include <thread>

using namespace Qt::StringLiterals;
using namespace Swamp;

namespace {
QDateTime at(qint64 seconds)
{
    return QDateTime::fromMSecsSinceEpoch(1795514400000 + seconds * 1000, Qt::UTC);
}

RunRecord run(const QString &id)
{
    return RunRecord{id, u"build-"_s + id, StepState::Queued, at(0), at(0), {}};
}

StepRecord step(const QString &runId, int seq)
{
    StepRecord s;
    s.id = u"%1-step-%2"_s.arg(runId).arg(seq);
    s.runId = runId;
    s.seq = seq;
    s.spec.name = u"compile %1"_s.arg(seq);
    s.spec.command = {u"make"_s, u"it's \"quoted\" ? $1 ünïcode"_s};
    s.spec.requirement.labels = {{u"pool"_s, u"ci"_s}};
    s.spec.queueTimeoutMs = 600000;
    s.spec.maxAttempts = 3;
    s.queuedAt = s.createdAt = s.updatedAt = at(0);
    return s;
}

LeaseRecord lease(const StepRecord &s, const QString &orchestratorId)
{
    LeaseRecord l;
    l.id = s.id + u"-lease"_s;
    l.stepId = s.id;
    l.runId = s.runId;
    l.workerId = u"w1"_s;
    l.workerName = u"build-7"_s;
    l.attempt = 1;
    l.orchestratorId = orchestratorId;
    l.createdAt = l.updatedAt = at(1);
    return l;
}

WorkerRecord worker(const QString &id, const QString &orchestratorId)
{
    WorkerRecord w;
    w.id = id;
    w.name = u"worker-"_s + id;
    w.machineId = u"machine-"_s + id;
    w.tokenId = u"token-id"_s;
    w.tokenName = u"ci"_s;
    w.status = WorkerStatus::Idle;
    w.orchestratorId = orchestratorId;
    w.capacity = 1;
    w.enrolledAt = w.lastSeenAt = w.createdAt = w.updatedAt = at(0);
    return w;
}

Event makeEvent(const QString &kind, int n)
{
    return Event{0, at(n), kind, u"subject-%1"_s.arg(n), u"message %1"_s.arg(n), R"({"n":%1})"_ba.replace("%1", QByteArray::number(n))};
}

// Run "r" with its step "r-step-1" queued, committed.
void queueOneStep(Store &store)
{
    QVERIFY_RESULT(store.insertRun(run(u"r"_s)));
    QVERIFY_RESULT(store.insertStep(step(u"r"_s, 1)));
    QVERIFY_RESULT(store.commitBatch());
}

// Dispatched and running in the same batch: inserted once in its newest version.
void addDispatchedStep(Store &store, const QString &runId, int seq, const QString &orchestratorId)
{
    StepRecord s = step(runId, seq);
    QVERIFY_RESULT(store.insertStep(s));
    s.state = StepState::Running;
    s.attempt = 1;
    s.workerId = u"w1"_s;
    s.workerName = u"build-7"_s;
    s.startedAt = at(2);
    QVERIFY_RESULT(store.insertLease(lease(s, orchestratorId)));
    QVERIFY_RESULT(store.updateStep(s));
}
} // namespace

class tst_PostgresBatch : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void batchRoundTripsDoNotGrowWithItsRows();
    void everyColumnSurvivesTheMultiRowStatements();
    void workerRowHeldElsewhereIsNotTouched();
    void failingBodyLosesOnlyItsRows();
    void supersededHeldLeaseFailsTheBatch();
    void runFollowsStepsFinishedByTwoStores();
    void aStepInsertedElsewhereDoesNotBlockItsRunsRefresh();
    void claimSkipsWhatAnotherBatchHolds();
    void notificationsGoOutOncePerBatch();
    void eventIdsFollowCommitOrder();
    void lostConnectionHoldsTheBatchUntilReconnect();
    void aStatementFailingMidwayIsAnErrorNotAShortAnswer();
    void replayRefusedWhenAnotherTookTheClaim();
    void claimsAheadCostOneRoundTrip();
    void aReplayChecksOnlyTheClaimsAheadThatWereUsed();

private:
    std::unique_ptr<Store> openStore(bool writeBehind = true);
    // The server ends `store`'s session, as a restart or a failover does.
    void terminateSession(Store &store);
    // A batch with a claimed step dispatched on it, its lease and an event; not committed.
    void dispatchInOpenBatch(Store &store, const QString &stepId);
    // The server ends `store`'s session with a batch open: its commit is held.
    void loseSessionWithBatchOpen(Store &store);
    // `other` claims `stepId`, dispatches it to "w2" and commits.
    void dispatchElsewhere(Store &other, const QString &stepId);

    SwampTest::PostgresServer m_postgres;
    QString m_url;
};

void tst_PostgresBatch::initTestCase()
{
    SWAMP_START_POSTGRES(m_postgres);
    qputenv("PGPASSWORD", m_postgres.password().toUtf8());
}

void tst_PostgresBatch::init()
{
    m_url = m_postgres.createDatabase();
    QVERIFY2(!m_url.isEmpty(), qPrintable(m_postgres.errorString()));
}

std::unique_ptr<Store> tst_PostgresBatch::openStore(bool writeBehind)
{
    auto store = Store::open(m_url);
    if (!store) {
        qWarning().noquote() << store.error().text();
        return {};
    }
    if (writeBehind) {
        (*store)->setGroupCommit([] {}); // committed by the test
        if (auto on = (*store)->enableWriteBehind(); !on || !(*store)->eventIdsAtCommit())
            return {};
    }
    return std::move(*store);
}

// The point of the batch: its statements depend on the kinds of rows in it, not their number.
void tst_PostgresBatch::batchRoundTripsDoNotGrowWithItsRows()
{
    auto store = openStore();
    QVERIFY(store);
    QVERIFY_RESULT(store->upsertWorker(worker(u"w1"_s, u"orch-a"_s)));
    QVERIFY_RESULT(store->commitBatch());
    QList<qint64> tripsPerBatch;
    for (int steps : {10, 100}) {
        const qint64 before = store->roundTrips();
        const QString runId = u"run-%1"_s.arg(steps);
        QVERIFY_RESULT(store->insertRun(run(runId)));
        for (int i = 0; i < steps; ++i) {
            addDispatchedStep(*store, runId, i, u"orch-a"_s);
            QVERIFY_RESULT(store->refreshRunState(runId));
            WorkerRecord w = worker(u"w1"_s, u"orch-a"_s);
            w.status = i % 2 ? WorkerStatus::Busy : WorkerStatus::Idle;
            w.lastSeenAt = at(i);
            QVERIFY_RESULT(store->updateWorkerState(w, u"orch-a"_s));
            QVERIFY_RESULT(store->insertEvent(makeEvent(u"step.dispatched"_s, i)));
            QVERIFY_RESULT(store->insertEvent(makeEvent(u"step.started"_s, i)));
            QVERIFY_RESULT(store->notifyFleet({{u"k"_s, u"event"_s}}));
        }
        QVERIFY_RESULT(store->commitBatch());
        tripsPerBatch << store->roundTrips() - before;
        // Numbered at the commit in the order they were stored, and known as this store's.
        const QSet<qint64> own = store->takeOwnCommittedEvents();
        QCOMPARE(own.size(), 2 * steps);
        QList<qint64> pendingIds;
        auto events = store->eventsAfter(0, 1000, &pendingIds);
        QVERIFY_RESULT(events);
        const QList<Event> batch = events->mid(events->size() - 2 * steps);
        for (qsizetype i = 0; i < batch.size(); ++i) {
            QVERIFY(batch.at(i).id > 0);
            QVERIFY(own.contains(pendingIds.at(events->size() - 2 * steps + i)));
            QCOMPARE(batch.at(i).kind, i % 2 ? u"step.started"_s : u"step.dispatched"_s);
            QCOMPARE(batch.at(i).subject, u"subject-%1"_s.arg(i / 2));
        }
        auto stored = store->run(runId);
        QVERIFY_RESULT(stored);
        QCOMPARE((*stored)->state, StepState::Running);
        QVERIFY_RESULT(store->commitBatch()); // the read's batch
    }
    // BEGIN, runs, steps, leases, workers, the runs' lock, read and update, events, NOTIFY, COMMIT.
    QCOMPARE(tripsPerBatch.at(0), tripsPerBatch.at(1));
    QVERIFY2(tripsPerBatch.at(0) <= 11, qPrintable(QString::number(tripsPerBatch.at(0))));
}

// NULLs, quotes, question marks and non-ASCII text in multi-row VALUES, inserted and updated.
void tst_PostgresBatch::everyColumnSurvivesTheMultiRowStatements()
{
    auto store = openStore();
    QVERIFY(store);
    QVERIFY_RESULT(store->insertRun(run(u"r"_s)));
    StepRecord bare = step(u"r"_s, 1);
    StepRecord full = step(u"r"_s, 2);
    full.spec.requirement.target = u"build-7"_s;
    full.spec.timeoutMs = 5000;
    full.spec.secretNames = {u"TOKEN"_s};
    QVERIFY_RESULT(store->insertStep(bare));
    QVERIFY_RESULT(store->insertStep(full));
    QVERIFY_RESULT(store->commitBatch());
    // Updated in a later batch: the UPDATE ... FROM (VALUES ...) path, NULL next to values.
    bare.state = StepState::Failed;
    bare.exitCode = -2;
    bare.error = u"it's ? broken: ü"_s;
    bare.finishedAt = at(9);
    full.state = StepState::Running;
    full.workerId = u"w'1"_s;
    full.outputBytes = 1LL << 40;
    QVERIFY_RESULT(store->updateStep(bare));
    QVERIFY_RESULT(store->updateStep(full));
    QVERIFY_RESULT(store->commitBatch());
    for (const StepRecord &expected : {bare, full}) {
        auto stored = store->step(expected.id);
        QVERIFY_RESULT(stored);
        QVERIFY(stored->has_value());
        const StepRecord &s = **stored;
        QCOMPARE(s.state, expected.state);
        QCOMPARE(s.exitCode, expected.exitCode);
        QCOMPARE(s.error, expected.error);
        QCOMPARE(s.workerId, expected.workerId);
        QCOMPARE(s.outputBytes, expected.outputBytes);
        QCOMPARE(s.finishedAt, expected.finishedAt);
        QCOMPARE(s.startedAt, expected.startedAt);
        QCOMPARE(s.spec.command, expected.spec.command);
        QCOMPARE(s.spec.timeoutMs, expected.spec.timeoutMs);
        QCOMPARE(s.spec.requirement.target, expected.spec.requirement.target);
    }
}

// updateWorkerState(onlyIfHeldBy): in one statement for many rows, each row keeps its condition.
void tst_PostgresBatch::workerRowHeldElsewhereIsNotTouched()
{
    auto store = openStore();
    QVERIFY(store);
    QVERIFY_RESULT(store->upsertWorker(worker(u"mine"_s, u"orch-a"_s)));
    QVERIFY_RESULT(store->upsertWorker(worker(u"moved"_s, u"orch-b"_s)));
    QVERIFY_RESULT(store->upsertWorker(worker(u"any"_s, u"orch-b"_s)));
    QVERIFY_RESULT(store->commitBatch());
    for (const QString &id : {u"mine"_s, u"moved"_s, u"any"_s}) {
        WorkerRecord w = worker(id, {});
        w.status = WorkerStatus::Busy;
        QVERIFY_RESULT(store->updateWorkerState(w, id == u"any" ? QString() : u"orch-a"_s));
    }
    QVERIFY_RESULT(store->commitBatch());
    auto workers = store->allWorkers();
    QVERIFY_RESULT(workers);
    QHash<QString, WorkerStatus> status;
    for (const WorkerRecord &w : std::as_const(*workers))
        status.insert(w.id, w.status);
    QCOMPARE(status.value(u"mine"_s), WorkerStatus::Busy);
    QCOMPARE(status.value(u"moved"_s), WorkerStatus::Idle); // orch-b holds it now
    QCOMPARE(status.value(u"any"_s), WorkerStatus::Busy);
}

// A body that fails loses its own rows, whether they still wait or were written in its savepoint.
void tst_PostgresBatch::failingBodyLosesOnlyItsRows()
{
    auto store = openStore();
    QVERIFY(store);
    QVERIFY_RESULT(store->transaction([&] { return store->insertRun(run(u"first"_s)); }));
    auto waiting = store->transaction([&]() -> Result<void> {
        if (auto r = store->insertRun(run(u"waiting"_s)); !r)
            return r;
        if (auto r = store->insertEvent(makeEvent(u"lost"_s, 1)); !r)
            return fail(r.error());
        return fail(u"test"_s, u"the body fails with its rows still waiting"_s, u"none"_s);
    });
    QVERIFY_ERROR_CODE(waiting, u"test"_s);
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"statement failed"_s));
    auto written = store->transaction([&]() -> Result<void> {
        if (auto r = store->insertRun(run(u"written"_s)); !r)
            return r;
        return store->execute(u"INSERT INTO runs (id, name, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?)"_s,
                              {u"first"_s, u"duplicate"_s, u"queued"_s, 0, 0});
    });
    QVERIFY_ERROR_CODE(written, u"database"_s);
    QVERIFY_RESULT(store->transaction([&] { return store->insertRun(run(u"last"_s)); }));
    QVERIFY_RESULT(store->commitBatch());
    auto runs = store->runs();
    QVERIFY_RESULT(runs);
    QStringList ids;
    for (const RunRecord &r : std::as_const(*runs))
        ids << r.id;
    ids.sort();
    QCOMPARE(ids, (QStringList{u"first"_s, u"last"_s}));
    QVERIFY(store->takeOwnCommittedEvents().isEmpty());
}

// Only an orchestrator declared dead loses a lease to another: its batch must not be kept.
void tst_PostgresBatch::supersededHeldLeaseFailsTheBatch()
{
    auto store = openStore();
    auto other = openStore(false);
    QVERIFY(store && other);
    QVERIFY_RESULT(store->insertRun(run(u"r"_s)));
    addDispatchedStep(*store, u"r"_s, 1, u"orch-a"_s);
    QVERIFY_RESULT(store->commitBatch());
    // Another orchestrator takes over: the lease is expired and the step requeued.
    QVERIFY_RESULT(other->execute(u"UPDATE step_leases SET state = 'expired' WHERE step_id = ?"_s, {u"r-step-1"_s}));
    QVERIFY_RESULT(other->execute(u"UPDATE steps SET state = 'queued' WHERE id = ?"_s, {u"r-step-1"_s}));

    StepRecord finished = step(u"r"_s, 1);
    finished.state = StepState::Succeeded;
    finished.exitCode = 0;
    LeaseRecord completed = lease(finished, u"orch-a"_s);
    completed.state = LeaseState::Completed;
    auto held = store->updateHeldLease(completed);
    QVERIFY_RESULT(held);
    QVERIFY(*held); // known only at the commit
    QVERIFY_RESULT(store->updateStep(finished));
    QVERIFY_RESULT(store->insertEvent(makeEvent(u"step.finished"_s, 1)));
    auto committed = store->commitBatch();
    QVERIFY_ERROR_CODE(committed, u"evicted"_s);
    QVERIFY(committed.error().message.contains(completed.id));
    auto stored = other->step(u"r-step-1"_s);
    QVERIFY_RESULT(stored);
    QCOMPARE((*stored)->state, StepState::Queued);
    QVERIFY(store->takeOwnCommittedEvents().isEmpty());
    auto events = other->eventsAfter(0, 10);
    QVERIFY_RESULT(events);
    QVERIFY(events->isEmpty());
}

// Two orchestrators finish the two steps of one run at the same time, each seeing only its own
// step finished: the run still ends. The first one's commit is played by hand on its own
// connection (its step written, the run's row locked, the run written as it saw it) and held
// open while the store's commit runs on a thread; the store must wait for the run's row and then
// read the steps again.
void tst_PostgresBatch::runFollowsStepsFinishedByTwoStores()
{
    auto setup = openStore();
    auto holder = openStore(false);
    auto reader = openStore(false);
    QVERIFY(setup && holder && reader);
    QVERIFY_RESULT(setup->insertRun(run(u"r"_s)));
    addDispatchedStep(*setup, u"r"_s, 1, u"orch-a"_s);
    addDispatchedStep(*setup, u"r"_s, 2, u"orch-b"_s);
    QVERIFY_RESULT(setup->refreshRunState(u"r"_s));
    QVERIFY_RESULT(setup->commitBatch());

    QSqlDatabase db = holder->database();
    QVERIFY(db.transaction());
    QSqlQuery first(db);
    QVERIFY(first.exec(u"UPDATE steps SET state = 'succeeded' WHERE id = 'r-step-1'"_s));
    QVERIFY(first.exec(u"SELECT id FROM runs WHERE id = 'r' FOR UPDATE"_s));
    QVERIFY(first.exec(u"UPDATE runs SET state = 'running' WHERE id = 'r'"_s)); // step 2 still runs, as it saw

    std::atomic<bool> committed = false;
    std::thread other([&] {
        auto store = openStore();
        if (!store)
            return;
        StepRecord done = step(u"r"_s, 2);
        done.state = StepState::Succeeded;
        done.exitCode = 0;
        done.finishedAt = at(5);
        committed = store->updateStep(done) && store->refreshRunState(u"r"_s) && store->commitBatch();
    });
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            auto q = reader->exec(u"SELECT COUNT(*) FROM pg_locks WHERE NOT granted"_s);
            return q && q->next() && q->value(0).toInt() > 0;
        }(),
        10000);
    QVERIFY(db.commit());
    other.join();
    QVERIFY(committed);
    auto stored = reader->run(u"r"_s);
    QVERIFY_RESULT(stored);
    QCOMPARE((*stored)->state, StepState::Succeeded);
    QVERIFY((*stored)->finishedAt.isValid());
}

// Inserting a step takes a key-share lock on its run's row (the foreign key) until its
// transaction ends. A batch that refreshes that run must not wait for it: with FOR UPDATE it did,
// and two orchestrators doing both in turn deadlocked (40P01), which stopped one of them.
void tst_PostgresBatch::aStepInsertedElsewhereDoesNotBlockItsRunsRefresh()
{
    auto setup = openStore();
    auto holder = openStore(false);
    QVERIFY(setup && holder);
    QVERIFY_RESULT(setup->insertRun(run(u"r"_s)));
    addDispatchedStep(*setup, u"r"_s, 1, u"orch-a"_s);
    QVERIFY_RESULT(setup->refreshRunState(u"r"_s));
    QVERIFY_RESULT(setup->commitBatch());

    QSqlDatabase db = holder->database();
    QVERIFY(db.transaction());
    QSqlQuery keyShare(db);
    // The lock an INSERT of a step of run r takes on r's row, held until the transaction ends.
    QVERIFY(keyShare.exec(u"SELECT 1 FROM runs WHERE id = 'r' FOR KEY SHARE"_s));

    std::atomic<bool> committed = false;
    std::thread other([&] {
        auto store = openStore();
        if (!store)
            return;
        StepRecord done = step(u"r"_s, 1);
        done.state = StepState::Succeeded;
        done.attempt = 1;
        done.exitCode = 0;
        done.finishedAt = at(5);
        committed = store->updateStep(done) && store->refreshRunState(u"r"_s) && store->commitBatch();
    });
    const bool beforeTheHolderEnds = QTest::qWaitFor([&] { return committed.load(); }, 10000);
    QVERIFY(db.rollback());
    other.join();
    QVERIFY2(beforeTheHolderEnds, "the run's refresh waited for a key-share lock");
}

// A claim holds the step's row until its batch commits: another store skips it meanwhile. A step
// the batch itself inserted needs no claim at all.
void tst_PostgresBatch::claimSkipsWhatAnotherBatchHolds()
{
    auto a = openStore();
    auto b = openStore();
    QVERIFY(a && b);
    queueOneStep(*a);

    auto claimed = a->claimQueuedStep(u"r-step-1"_s);
    QVERIFY_RESULT(claimed);
    QVERIFY(claimed->has_value());
    auto skipped = b->claimQueuedStep(u"r-step-1"_s);
    QVERIFY_RESULT(skipped);
    QVERIFY(!skipped->has_value());

    const qint64 before = a->roundTrips();
    QVERIFY_RESULT(a->insertStep(step(u"r"_s, 2)));
    auto own = a->claimQueuedStep(u"r-step-2"_s);
    QVERIFY_RESULT(own);
    QVERIFY(own->has_value());
    QCOMPARE(a->roundTrips(), before);
    QVERIFY_RESULT(a->commitBatch());
    QVERIFY_RESULT(b->commitBatch());
    auto again = b->claimQueuedStep(u"r-step-1"_s);
    QVERIFY_RESULT(again);
    QVERIFY(again->has_value()); // still queued: a never dispatched it
    QVERIFY_RESULT(b->commitBatch());
}

void tst_PostgresBatch::notificationsGoOutOncePerBatch()
{
    auto store = openStore();
    auto listening = openStore(false);
    QVERIFY(store && listening);
    QSqlDriver *driver = listening->database().driver();
    QVERIFY(driver->subscribeToNotification(Store::fleetChannel()));
    QStringList payloads;
    connect(driver, &QSqlDriver::notification, this,
            [&](const QString &, QSqlDriver::NotificationSource, const QVariant &payload) { payloads << payload.toString(); });
    const QString big(3000, u'x');
    for (const QString &kind : QStringList{u"steps"_s, u"event"_s, u"steps"_s, big + u'1', big + u'2', big + u'3'})
        QVERIFY_RESULT(store->notifyFleet({{u"k"_s, kind}}));
    const qint64 before = store->roundTrips();
    QVERIFY_RESULT(store->commitBatch());
    QCOMPARE(store->roundTrips() - before, 2); // the NOTIFY statement and COMMIT
    QTRY_VERIFY(payloads.size() >= 2);
    QStringList kinds;
    for (const QString &payload : std::as_const(payloads)) {
        QVERIFY(payload.toUtf8().size() < 8000);
        for (const QJsonValue &value : QJsonDocument::fromJson(payload.toUtf8()).array())
            kinds << value.toObject().value(u"k"_s).toString().left(5);
    }
    QCOMPARE(kinds, (QStringList{u"steps"_s, u"event"_s, u"xxxxx"_s, u"xxxxx"_s, u"xxxxx"_s}));
}

// Event ids follow commit order, not the order events were stored in: a transaction that stored
// its event first but commits last gets the higher id, so a subscriber that has read one id has
// every lower one that will ever exist. The first transaction is played by hand on its own
// connection, as an orchestrator of this version writes (a pending id, the real one at commit).
void tst_PostgresBatch::eventIdsFollowCommitOrder()
{
    auto holder = openStore(false);
    auto store = openStore();
    auto reader = openStore(false);
    QVERIFY(holder && store && reader);
    QSqlDatabase db = holder->database();
    QVERIFY(db.transaction());
    QSqlQuery early(db);
    QVERIFY(early.exec(u"INSERT INTO swamp_staged_events (seq, at, kind, subject, message, data, first) "
                       "VALUES (nextval('events_pending_id'), 0, 'early', '', '', '{}', true)"_s));

    QVERIFY_RESULT(store->insertEvent(makeEvent(u"late"_s, 2)));
    QVERIFY_RESULT(store->commitBatch());
    auto seen = reader->eventsAfter(0, 10);
    QVERIFY_RESULT(seen);
    QCOMPARE(seen->size(), 1);
    const qint64 resumeAfter = seen->first().id;

    QVERIFY(db.commit());
    auto next = reader->eventsAfter(resumeAfter, 10);
    QVERIFY_RESULT(next);
    QCOMPARE(next->size(), 1); // resuming after the id it saw, the subscriber misses nothing
    QCOMPARE(next->first().kind, u"early"_s);
    auto all = reader->eventsAfter(0, 10);
    QVERIFY_RESULT(all);
    QCOMPARE(all->size(), 2);
}

void tst_PostgresBatch::terminateSession(Store &store)
{
    auto pid = store.exec(u"SELECT pg_backend_pid()"_s);
    QVERIFY_RESULT(pid);
    QVERIFY(pid->next());
    const int backend = pid->value(0).toInt();
    auto admin = openStore(false);
    QVERIFY(admin);
    auto ended = admin->exec(u"SELECT pg_terminate_backend(?)"_s, {backend});
    QVERIFY_RESULT(ended);
}

void tst_PostgresBatch::dispatchInOpenBatch(Store &store, const QString &stepId)
{
    auto claimed = store.claimQueuedStep(stepId);
    QVERIFY_RESULT(claimed);
    QVERIFY(claimed->has_value());
    StepRecord s = **claimed;
    s.state = StepState::Dispatched;
    s.attempt = 1;
    s.workerId = u"w1"_s;
    QVERIFY_RESULT(store.insertLease(lease(s, u"orch-a"_s)));
    QVERIFY_RESULT(store.updateStep(s));
    QVERIFY_RESULT(store.insertEvent(makeEvent(u"step.dispatched"_s, 1)));
}

void tst_PostgresBatch::loseSessionWithBatchOpen(Store &store)
{
    terminateSession(store);
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"connection to PostgreSQL is lost"_s));
    QVERIFY_ERROR_CODE(store.commitBatch(), u"database_away"_s);
}

void tst_PostgresBatch::dispatchElsewhere(Store &other, const QString &stepId)
{
    auto taken = other.claimQueuedStep(stepId);
    QVERIFY_RESULT(taken);
    QVERIFY(taken->has_value());
    StepRecord s = **taken;
    s.state = StepState::Dispatched;
    s.workerId = u"w2"_s;
    QVERIFY_RESULT(other.updateStep(s));
    QVERIFY_RESULT(other.commitBatch());
}

void tst_PostgresBatch::aStatementFailingMidwayIsAnErrorNotAShortAnswer()
{
    // The server sends four rows, then fails on the fifth (a division by zero; in production the
    // connection lost during a longer answer). Read row by row, the failure only ended the
    // reading: four rows came back as the whole answer, without an error.
    auto store = openStore();
    QVERIFY(store);
    const QString sql = u"SELECT 10 / (x - 5) FROM generate_series(1, 10) AS x"_s;
    int rows = 0;
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"statement failed"_s));
    const auto selected = store->select(sql, {}, [&](const QSqlQuery &) { ++rows; });
    QVERIFY2(!selected, qPrintable(u"%1 row(s) and no error"_s.arg(rows)));
    QVERIFY2(selected.error().message.contains(u"division by zero"_s), qPrintable(selected.error().message));
    // exec()'s caller reads the rows itself: the failure is exec()'s.
    auto other = openStore(false);
    QVERIFY(other);
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"statement failed"_s));
    QVERIFY(!other->exec(sql));
}

// The server goes away with a batch open: nothing is lost or logged per statement, and once the
// store is back the batch (its claim replayed and checked) commits.
void tst_PostgresBatch::lostConnectionHoldsTheBatchUntilReconnect()
{
    auto store = openStore();
    auto reader = openStore(false);
    QVERIFY(store && reader);
    queueOneStep(*store);
    dispatchInOpenBatch(*store, u"r-step-1"_s);
    terminateSession(*store);

    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"connection to PostgreSQL is lost"_s));
    auto held = store->commitBatch();
    QVERIFY_ERROR_CODE(held, u"database_away"_s);
    QVERIFY(store->isAway());
    QVERIFY(store->inBatch()); // what waits for it keeps waiting
    // Meanwhile: no round trip, no log line, and changes still join the batch.
    const qint64 trips = store->roundTrips();
    QVERIFY_ERROR_CODE(store->exec(u"SELECT 1"_s), u"database_away"_s);
    QVERIFY_RESULT(store->insertEvent(makeEvent(u"while.away"_s, 2)));
    QCOMPARE(store->roundTrips(), trips);

    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"connection to PostgreSQL is back"_s));
    QVERIFY_RESULT(store->reconnect());
    QVERIFY(!store->isAway());
    QVERIFY_RESULT(store->commitBatch());
    auto stored = reader->step(u"r-step-1"_s);
    QVERIFY_RESULT(stored);
    QCOMPARE((*stored)->state, StepState::Dispatched);
    auto leases = reader->leases(u"WHERE step_id = ?"_s, {u"r-step-1"_s});
    QVERIFY_RESULT(leases);
    QCOMPARE(leases->size(), 1);
    QCOMPARE(store->takeOwnCommittedEvents().size(), 2);
    auto events = reader->eventsAfter(0, 10);
    QVERIFY_RESULT(events);
    QCOMPARE(events->size(), 2);
    QCOMPARE(events->at(1).kind, u"while.away"_s);
}

// While the store was away another one dispatched the step it had claimed: its held batch must
// not be written over that (the step would run twice).
void tst_PostgresBatch::replayRefusedWhenAnotherTookTheClaim()
{
    auto store = openStore();
    auto other = openStore();
    QVERIFY(store && other);
    queueOneStep(*store);
    dispatchInOpenBatch(*store, u"r-step-1"_s);
    loseSessionWithBatchOpen(*store);
    dispatchElsewhere(*other, u"r-step-1"_s);

    auto back = store->reconnect();
    QVERIFY_ERROR_CODE(back, u"database"_s);
    QVERIFY2(back.error().message.contains(u"changed while this orchestrator held its changes"_s), qPrintable(back.error().message));
    QVERIFY(!store->isAway());
    QVERIFY_ERROR_CODE(store->commitBatch(), u"database"_s);
    auto stored = other->step(u"r-step-1"_s);
    QVERIFY_RESULT(stored);
    QCOMPARE((*stored)->workerId, u"w2"_s);
    QVERIFY_RESULT(other->commitBatch());
}

namespace {
// Run "r" with steps r-step-1 ... r-step-`count` queued, committed.
void queueSteps(Store &store, int count)
{
    QVERIFY_RESULT(store.insertRun(run(u"r"_s)));
    for (int seq = 1; seq <= count; ++seq)
        QVERIFY_RESULT(store.insertStep(step(u"r"_s, seq)));
    QVERIFY_RESULT(store.commitBatch());
}

QStringList stepIds(std::initializer_list<int> seqs)
{
    QStringList ids;
    for (int seq : seqs)
        ids << u"r-step-%1"_s.arg(seq);
    return ids;
}
} // namespace

// Steps another orchestrator queued: one statement locks those a scheduling pass may dispatch, and
// each claim that follows is answered from it. What another batch holds is not claimed, and the
// steps claimed ahead but never dispatched are free again once the batch commits.
void tst_PostgresBatch::claimsAheadCostOneRoundTrip()
{
    auto queuer = openStore();
    auto store = openStore();
    auto other = openStore();
    QVERIFY(queuer && store && other);
    queueSteps(*queuer, 7);
    auto held = other->claimQueuedStep(u"r-step-6"_s); // in the other's open batch
    QVERIFY_RESULT(held);
    QVERIFY(held->has_value());
    auto opening = store->claimQueuedStep(u"r-step-7"_s); // opens the batch: a claim of its own
    QVERIFY_RESULT(opening);
    QVERIFY(opening->has_value());

    const qint64 before = store->roundTrips();
    QVERIFY_RESULT(store->claimAhead(stepIds({2, 3, 4, 5, 6})));
    QCOMPARE(store->roundTrips() - before, 1);
    for (int seq : {2, 3}) {
        auto claimed = store->claimQueuedStep(u"r-step-%1"_s.arg(seq));
        QVERIFY_RESULT(claimed);
        QVERIFY(claimed->has_value());
        QCOMPARE((*claimed)->id, u"r-step-%1"_s.arg(seq));
        QCOMPARE((*claimed)->state, StepState::Queued);
    }
    auto taken = store->claimQueuedStep(u"r-step-6"_s);
    QVERIFY_RESULT(taken);
    QVERIFY(!taken->has_value());
    QVERIFY_RESULT(store->claimAhead(stepIds({3, 4}))); // covered already: nothing to do
    QCOMPARE(store->roundTrips() - before, 1);
    // Locked by the claim ahead, though never claimed from it yet.
    auto locked = other->claimQueuedStep(u"r-step-4"_s);
    QVERIFY_RESULT(locked);
    QVERIFY(!locked->has_value());
    // Not covered: a claim of its own, as before.
    auto first = store->claimQueuedStep(u"r-step-1"_s);
    QVERIFY_RESULT(first);
    QVERIFY(first->has_value());
    QCOMPARE(store->roundTrips() - before, 2);

    QVERIFY_RESULT(store->commitBatch());
    QVERIFY_RESULT(other->commitBatch());
    for (int seq : {4, 5}) {
        auto free = other->claimQueuedStep(u"r-step-%1"_s.arg(seq));
        QVERIFY_RESULT(free);
        QVERIFY(free->has_value());
    }
    QVERIFY_RESULT(other->commitBatch());
}

// The connection is lost after a claim ahead of three steps of which one was dispatched; another
// orchestrator takes a second one meanwhile. The replay repeats only the claim that was used, so
// the batch commits, and the steps claimed ahead are claimed again from the database.
void tst_PostgresBatch::aReplayChecksOnlyTheClaimsAheadThatWereUsed()
{
    auto store = openStore();
    auto other = openStore();
    auto reader = openStore(false);
    QVERIFY(store && other && reader);
    queueSteps(*store, 3);
    QVERIFY_RESULT(store->claimAhead(stepIds({1, 2, 3})));
    dispatchInOpenBatch(*store, u"r-step-1"_s);
    loseSessionWithBatchOpen(*store);
    dispatchElsewhere(*other, u"r-step-2"_s);

    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"connection to PostgreSQL is back"_s));
    QVERIFY_RESULT(store->reconnect());
    const qint64 before = store->roundTrips();
    auto again = store->claimQueuedStep(u"r-step-2"_s); // its lock went with the old session
    QVERIFY_RESULT(again);
    QVERIFY(!again->has_value());
    QCOMPARE(store->roundTrips() - before, 1);
    QVERIFY_RESULT(store->commitBatch());
    auto first = reader->step(u"r-step-1"_s);
    QVERIFY_RESULT(first);
    QCOMPARE((*first)->state, StepState::Dispatched);
    QCOMPARE((*first)->workerId, u"w1"_s);
    auto second = reader->step(u"r-step-2"_s);
    QVERIFY_RESULT(second);
    QCOMPARE((*second)->workerId, u"w2"_s);
}

QTEST_GUILESS_MAIN(tst_PostgresBatch)
#include "tst_postgresbatch.moc"
