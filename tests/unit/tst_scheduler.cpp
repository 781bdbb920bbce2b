// The scheduler in-process: a real store (SQLite in a temporary dir), event log and worker pool,
// and a fake WorkerLink that records the frames each worker would receive. The lease rules the
// process tests check through real workers are checked here directly: where a step goes, in
// which order, what a frame for a lease that is not active gets (fencing), what expiry and
// attempts do, and that nothing reaches a session after the pool dropped it.
#include "serverfixture.h"
#include "testsupport.h"

#include "server/eventlog.h"
#include "server/scheduler.h"
#include "server/workerlink.h"
#include "server/workerpool.h"
#include "store/store.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp;

namespace {

StepSpec spec(const QString &name, const Labels &labels = {})
{
    StepSpec s;
    s.name = name;
    s.command = QStringList{u"true"_s};
    s.requirement.labels = labels;
    return s;
}

} // namespace

class tst_Scheduler : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void dispatchesOnlyToAMatchingConnectedWorker();
    void stepsOfARunGoInSubmissionOrder();
    void finishedEndsTheStepAndAcks();
    void framesForALeaseNotActiveOnTheSessionAreRefused();
    void anExpiredLeaseRequeuesAndFencesTheLateResult();
    void theLastAttemptFailsTheStep();
    void atMostOnceIsNotRetried();
    void aQueuedStepIsCancelledAtOnce();
    void aResumedCancelDoesNotReachARemovedSession();
    void aLeaseTheDatabaseCouldNotEndIsRetried();
    void anEventTheDatabaseRefusesIsNotSent();
    void aRequeueThatDoesNotCountKeepsTheAttempt();
    void outputOfAnUnknownStreamIsRefused();
    void finishedOutcomes_data();
    void finishedOutcomes();

private:
    WorkerSession *addWorker(const QString &name, int capacity = 1, const Labels &labels = {});
    QStringList submit(const QList<StepSpec> &specs);
    // Lets the scheduler's coalesced timers run.
    static void settle() { QCoreApplication::processEvents(); QCoreApplication::processEvents(); }
    StepState stateOf(const QString &stepId);
    QJsonObject onlyDispatch(const QString &workerId);
    // The lease of the one dispatch `worker` got (empty if it got none or several).
    QString dispatchedLease(const WorkerSession *worker);
    // The worker says it started the step of `leaseId`.
    void started(WorkerSession *worker, const QString &leaseId);

    ServerParts m_parts;
    int m_workers = 0;
};

void tst_Scheduler::init()
{
    QVERIFY(m_parts.open());
}

void tst_Scheduler::cleanup()
{
    m_parts.close();
}

WorkerSession *tst_Scheduler::addWorker(const QString &name, int capacity, const Labels &labels)
{
    auto session = std::make_unique<WorkerSession>();
    session->record.id = u"worker-%1"_s.arg(++m_workers);
    session->record.name = name;
    session->record.capacity = capacity;
    session->record.labels = labels;
    session->record.platform = u"linux"_s;
    session->record.arch = u"x86_64"_s;
    session->record.status = WorkerStatus::Idle;
    return m_parts.sessions->pool().insert(std::move(session));
}

QStringList tst_Scheduler::submit(const QList<StepSpec> &specs)
{
    auto submitted = m_parts.scheduler->submit(u"run"_s, specs);
    if (!submitted)
        qWarning() << submitted.error().message;
    QStringList ids;
    const QJsonArray stepIds = QJsonDocument::fromJson(submitted.value_or(QByteArray())).object()
                                   .value(u"stepIds"_s).toArray();
    for (const QJsonValue &id : stepIds)
        ids << id.toString();
    return ids;
}

StepState tst_Scheduler::stateOf(const QString &stepId)
{
    if (auto open = m_parts.scheduler->openStep(stepId))
        return open->state;
    auto stored = m_parts.store->step(stepId);
    return stored && *stored ? (*stored)->state : StepState::Queued;
}

QJsonObject tst_Scheduler::onlyDispatch(const QString &workerId)
{
    const QList<QJsonObject> dispatches = m_parts.link.sent(workerId, u"dispatch"_s);
    return dispatches.size() == 1 ? dispatches.first() : QJsonObject();
}

QString tst_Scheduler::dispatchedLease(const WorkerSession *worker)
{
    return onlyDispatch(worker->record.id).value(u"leaseId"_s).toString();
}

void tst_Scheduler::started(WorkerSession *worker, const QString &leaseId)
{
    m_parts.scheduler->handleStarted(worker, Protocol::Started::decode({{u"type"_s, u"started"_s}, {u"leaseId"_s, leaseId}}));
}

void tst_Scheduler::dispatchesOnlyToAMatchingConnectedWorker()
{
    WorkerSession *plain = addWorker(u"plain"_s);
    WorkerSession *gone = addWorker(u"gone"_s, 1, {{u"gpu"_s, u"a100"_s}});
    m_parts.link.disconnected.insert(gone->record.id);
    const QStringList ids = submit({spec(u"train"_s, {{u"gpu"_s, u"a100"_s}})});
    QCOMPARE(ids.size(), 1);
    settle();
    // The only matching worker has no socket: the step waits.
    QVERIFY(m_parts.link.frames.isEmpty());
    QCOMPARE(stateOf(ids.first()), StepState::Queued);

    WorkerSession *gpu = addWorker(u"gpu"_s, 1, {{u"gpu"_s, u"a100"_s}});
    m_parts.scheduler->requestSchedule();
    settle();
    const QJsonObject dispatch = onlyDispatch(gpu->record.id);
    QCOMPARE(dispatch.value(u"stepId"_s).toString(), ids.first());
    QCOMPARE(dispatch.value(u"attempt"_s).toInt(), 1);
    QVERIFY(!dispatch.value(u"leaseId"_s).toString().isEmpty());
    QVERIFY(m_parts.link.frames.value(plain->record.id).isEmpty());
    QVERIFY(m_parts.link.frames.value(gone->record.id).isEmpty());
    QCOMPARE(stateOf(ids.first()), StepState::Dispatched);
    QCOMPARE(gpu->leaseIds.size(), 1);
}

void tst_Scheduler::stepsOfARunGoInSubmissionOrder()
{
    WorkerSession *worker = addWorker(u"one-slot"_s);
    const QStringList ids = submit({spec(u"first"_s), spec(u"second"_s), spec(u"third"_s)});
    QCOMPARE(ids.size(), 3);
    QStringList order;
    for (int i = 0; i < 3; ++i) {
        settle();
        const QList<QJsonObject> dispatches = m_parts.link.sent(worker->record.id, u"dispatch"_s);
        QCOMPARE(dispatches.size(), i + 1); // one slot: the next only after the previous ended
        const QJsonObject dispatch = dispatches.last();
        order << dispatch.value(u"stepId"_s).toString();
        const QString leaseId = dispatch.value(u"leaseId"_s).toString();
        started(worker, leaseId);
        m_parts.scheduler->handleFinished(worker, Protocol::Finished::decode({{u"type"_s, u"finished"_s}, {u"leaseId"_s, leaseId},
                                             {u"outcome"_s, u"exited"_s}, {u"exitCode"_s, 0}}));
    }
    QCOMPARE(order, ids);
}

void tst_Scheduler::finishedEndsTheStepAndAcks()
{
    WorkerSession *worker = addWorker(u"w"_s);
    QSignalSpy changed(m_parts.scheduler.get(), &Scheduler::stepChanged);
    const QStringList ids = submit({spec(u"fails"_s)});
    settle();
    const QString leaseId = dispatchedLease(worker);
    started(worker, leaseId);
    QCOMPARE(stateOf(ids.first()), StepState::Running);
    m_parts.scheduler->handleFinished(worker, Protocol::Finished::decode({{u"type"_s, u"finished"_s}, {u"leaseId"_s, leaseId},
                                         {u"outcome"_s, u"exited"_s}, {u"exitCode"_s, 3}}));
    QCOMPARE(stateOf(ids.first()), StepState::Failed);
    auto stored = m_parts.store->step(ids.first());
    QVERIFY(stored && *stored);
    QCOMPARE((*stored)->exitCode, std::optional<int>(3));
    const QList<QJsonObject> acks = m_parts.link.sent(worker->record.id, u"ack"_s);
    QCOMPARE(acks.size(), 1);
    QCOMPARE(acks.first().value(u"leaseId"_s).toString(), leaseId);
    QVERIFY(worker->leaseIds.isEmpty());
    QVERIFY(!changed.isEmpty());
    QCOMPARE(changed.last().first().value<StepRecord>().state, StepState::Failed);
}

void tst_Scheduler::framesForALeaseNotActiveOnTheSessionAreRefused()
{
    WorkerSession *holder = addWorker(u"holder"_s);
    WorkerSession *other = addWorker(u"other"_s);
    m_parts.link.disconnected.insert(other->record.id); // the step goes to `holder`
    const QStringList ids = submit({spec(u"s"_s)});
    settle();
    const QString leaseId = dispatchedLease(holder);
    QVERIFY(!leaseId.isEmpty());
    QSignalSpy refusedSignal(m_parts.scheduler.get(), &Scheduler::leaseFrameRefused);

    // Another worker names the lease: refused, and the step does not move.
    started(other, leaseId);
    m_parts.scheduler->handleFinished(other, Protocol::Finished::decode({{u"type"_s, u"finished"_s}, {u"leaseId"_s, leaseId},
                                        {u"outcome"_s, u"exited"_s}, {u"exitCode"_s, 0}}));
    // A made-up lease on the holder: refused too.
    m_parts.scheduler->handleOutput(holder, Protocol::Output::decode({{u"type"_s, u"output"_s}, {u"leaseId"_s, u"made-up"_s},
                                       {u"seq"_s, 1}, {u"stream"_s, u"stdout"_s}, {u"data"_s, u"x"_s}}));
    QCOMPARE(refusedSignal.size(), 3);
    QCOMPARE(m_parts.link.sent(other->record.id, u"refused"_s).size(), 2);
    QCOMPARE(m_parts.link.sent(holder->record.id, u"refused"_s).size(), 1);
    QCOMPARE(stateOf(ids.first()), StepState::Dispatched);
    QCOMPARE(holder->leaseIds.size(), 1);
}

void tst_Scheduler::anExpiredLeaseRequeuesAndFencesTheLateResult()
{
    WorkerSession *first = addWorker(u"first"_s);
    const QStringList ids = submit({spec(u"s"_s)});
    settle();
    const QString oldLease = dispatchedLease(first);
    started(first, oldLease);

    // The worker is lost: the lease expires and the step goes back to the queue, attempt 1 spent.
    m_parts.link.disconnected.insert(first->record.id);
    m_parts.scheduler->expireLeases(first, u"worker lost"_s);
    QCOMPARE(stateOf(ids.first()), StepState::Queued);
    QVERIFY(first->leaseIds.isEmpty());

    WorkerSession *second = addWorker(u"second"_s);
    m_parts.scheduler->requestSchedule();
    settle();
    const QJsonObject redispatch = onlyDispatch(second->record.id);
    QCOMPARE(redispatch.value(u"attempt"_s).toInt(), 2);
    QVERIFY(redispatch.value(u"leaseId"_s).toString() != oldLease);

    // The first worker comes back with the old lease's result: fenced, acked so it forgets it,
    // and the step stays with the second worker.
    m_parts.link.disconnected.remove(first->record.id);
    m_parts.scheduler->handleFinished(first, Protocol::Finished::decode({{u"type"_s, u"finished"_s}, {u"leaseId"_s, oldLease},
                                        {u"outcome"_s, u"exited"_s}, {u"exitCode"_s, 0}}));
    QCOMPARE(m_parts.link.sent(first->record.id, u"refused"_s).size(), 1);
    QCOMPARE(stateOf(ids.first()), StepState::Dispatched);
    QCOMPARE(m_parts.scheduler->openStep(ids.first())->workerName, u"second"_s);
    auto expired = m_parts.store->lease(oldLease);
    QVERIFY(expired && *expired);
    QCOMPARE((*expired)->state, LeaseState::Expired);
}

void tst_Scheduler::theLastAttemptFailsTheStep()
{
    StepSpec twice = spec(u"flaky"_s);
    twice.maxAttempts = 2;
    const QStringList ids = submit({twice});
    for (int attempt = 1; attempt <= 2; ++attempt) {
        WorkerSession *worker = addWorker(u"w%1"_s.arg(attempt));
        m_parts.scheduler->requestSchedule();
        settle();
        QCOMPARE(onlyDispatch(worker->record.id).value(u"attempt"_s).toInt(), attempt);
        m_parts.link.disconnected.insert(worker->record.id);
        m_parts.scheduler->expireLeases(worker, u"worker lost"_s);
    }
    QCOMPARE(stateOf(ids.first()), StepState::Failed);
    auto stored = m_parts.store->step(ids.first());
    QVERIFY(stored && *stored);
    QCOMPARE((*stored)->attempt, 2);
    QVERIFY2((*stored)->error.contains(u"worker lost"_s), qPrintable((*stored)->error));
}

void tst_Scheduler::atMostOnceIsNotRetried()
{
    StepSpec once = spec(u"charge-card"_s);
    once.atMostOnce = true;
    const QStringList ids = submit({once});
    // Lost before it started: nothing ran, so it may go to another worker.
    WorkerSession *first = addWorker(u"first"_s);
    settle();
    QVERIFY(!onlyDispatch(first->record.id).isEmpty());
    m_parts.link.disconnected.insert(first->record.id);
    m_parts.scheduler->expireLeases(first, u"worker lost"_s);
    QCOMPARE(stateOf(ids.first()), StepState::Queued);

    // Lost after it started: it may have run, so it fails instead of running twice.
    WorkerSession *second = addWorker(u"second"_s);
    m_parts.scheduler->requestSchedule();
    settle();
    const QString leaseId = dispatchedLease(second);
    started(second, leaseId);
    m_parts.link.disconnected.insert(second->record.id);
    m_parts.scheduler->expireLeases(second, u"worker lost"_s);
    QCOMPARE(stateOf(ids.first()), StepState::Failed);
    WorkerSession *third = addWorker(u"third"_s);
    m_parts.scheduler->requestSchedule();
    settle();
    QVERIFY(m_parts.link.sent(third->record.id, u"dispatch"_s).isEmpty());
}

void tst_Scheduler::aQueuedStepIsCancelledAtOnce()
{
    const QStringList ids = submit({spec(u"never-runs"_s)});
    auto cancelled = m_parts.scheduler->cancel(ids.first());
    QVERIFY(cancelled);
    QCOMPARE(stateOf(ids.first()), StepState::Cancelled);
    addWorker(u"late"_s);
    m_parts.scheduler->requestSchedule();
    settle();
    QVERIFY(m_parts.link.frames.isEmpty());
}

// Issue 19: resumeLeases() re-sends an operator's cancel on the next event-loop turn. It used to
// capture the raw WorkerSession*, which the pool may delete before that turn (the worker's
// session ended): a use-after-free that AddressSanitizer reports (scripts/test-sanitized.sh).
void tst_Scheduler::aResumedCancelDoesNotReachARemovedSession()
{
    WorkerSession *worker = addWorker(u"w"_s);
    const QStringList ids = submit({spec(u"long"_s)});
    settle();
    const QString leaseId = dispatchedLease(worker);
    started(worker, leaseId);
    QVERIFY(m_parts.scheduler->cancel(ids.first()));
    QCOMPARE(m_parts.link.sent(worker->record.id, u"cancel"_s).size(), 1);

    // The worker reconnects: the cancel it may have missed is sent again on the next turn...
    const QString workerId = worker->record.id;
    const QJsonObject resumed = m_parts.scheduler->resumeLeases(worker);
    QVERIFY(resumed.contains(leaseId));
    // ...but before that turn its session ends and the pool deletes it.
    m_parts.scheduler->expireLeases(worker, u"worker lost"_s);
    m_parts.sessions->pool().remove(workerId);
    settle();
    QCOMPARE(m_parts.link.sent(workerId, u"cancel"_s).size(), 1);
}

// A worker is lost while the database refuses writes: its lease cannot be ended. It used to be
// dropped from the session anyway and stay active forever, its step never moving again; now
// sweep() ends it once the database takes writes again, and the step is requeued.
void tst_Scheduler::aLeaseTheDatabaseCouldNotEndIsRetried()
{
    WorkerSession *worker = addWorker(u"w"_s);
    const QStringList ids = submit({spec(u"s"_s)});
    settle();
    const QString leaseId = dispatchedLease(worker);
    QVERIFY(!leaseId.isEmpty());

    QVERIFY(m_parts.store->execute(u"PRAGMA query_only = ON"_s));
    m_parts.link.disconnected.insert(worker->record.id);
    m_parts.scheduler->expireLeases(worker, u"worker lost"_s);
    m_parts.scheduler->sweep();
    QCOMPARE(stateOf(ids.first()), StepState::Dispatched);
    auto stored = m_parts.store->lease(leaseId);
    QVERIFY(stored && *stored);
    QCOMPARE((*stored)->state, LeaseState::Active);

    QVERIFY(m_parts.store->execute(u"PRAGMA query_only = OFF"_s));
    m_parts.scheduler->sweep();
    QCOMPARE(stateOf(ids.first()), StepState::Queued);
    stored = m_parts.store->lease(leaseId);
    QVERIFY(stored && *stored);
    QCOMPARE((*stored)->state, LeaseState::Expired);
    WorkerSession *next = addWorker(u"next"_s);
    m_parts.scheduler->requestSchedule();
    settle();
    QCOMPARE(onlyDispatch(next->record.id).value(u"attempt"_s).toInt(), 2);
}

// An event the database refuses gets no made-up id and reaches no subscriber: a subscriber
// resumes after the last id it saw, so a made-up id (the next stored event's) would hide one.
void tst_Scheduler::anEventTheDatabaseRefusesIsNotSent()
{
    QSignalSpy appended(m_parts.events.get(), &EventLog::appended);
    const Event stored = m_parts.events->append(u"test.stored"_s, u"s"_s, u"stored"_s);
    QVERIFY(stored.id > 0);
    QVERIFY(m_parts.store->execute(u"PRAGMA query_only = ON"_s));
    const Event refused = m_parts.events->append(u"test.refused"_s, u"s"_s, u"refused"_s);
    QVERIFY(m_parts.store->execute(u"PRAGMA query_only = OFF"_s));
    QCOMPARE(refused.id, 0);
    const Event next = m_parts.events->append(u"test.next"_s, u"s"_s, u"next"_s);
    QCOMPARE(appended.size(), 2);
    QCOMPARE(appended.at(1).first().value<Event>().id, next.id);
    const QList<Event> after = m_parts.events->since(stored.id, 10);
    QCOMPARE(after.size(), 1);
    QCOMPARE(after.first().kind, u"test.next"_s);
}

// Issue 19 items 2 and 3: `exited` without a (whole-number) exitCode, and an exit code sent with
// another outcome. Only `exited` has an exit code; anything else is stored without one, like
// failed_to_start (docs/protocol.md, `finished`).
void tst_Scheduler::finishedOutcomes_data()
{
    QTest::addColumn<QString>("outcome");
    QTest::addColumn<QJsonValue>("exitCode"); // undefined: left out
    QTest::addColumn<StepState>("stepState");
    QTest::addColumn<LeaseState>("leaseState");
    QTest::addColumn<int>("storedExitCode"); // -1: none
    QTest::addColumn<QString>("error");
    const QJsonValue absent(QJsonValue::Undefined);
    QTest::addRow("exited-0") << u"exited"_s << QJsonValue(0) << StepState::Succeeded << LeaseState::Completed << 0
                              << QString();
    QTest::addRow("exited-3") << u"exited"_s << QJsonValue(3) << StepState::Failed << LeaseState::Completed << 3
                              << u"exited with code 3"_s;
    QTest::addRow("exited-without-exit-code") << u"exited"_s << absent << StepState::Failed << LeaseState::Failed << -1
                                              << u"the worker reported an exit without an exit code"_s;
    QTest::addRow("exited-null") << u"exited"_s << QJsonValue(QJsonValue::Null) << StepState::Failed
                                 << LeaseState::Failed << -1 << u"without an exit code"_s;
    // 1.5 read as an int is 0: it used to make the step succeed.
    QTest::addRow("exited-fraction") << u"exited"_s << QJsonValue(1.5) << StepState::Failed << LeaseState::Failed << -1
                                     << u"without an exit code"_s;
    QTest::addRow("exited-string") << u"exited"_s << QJsonValue(u"0"_s) << StepState::Failed << LeaseState::Failed
                                   << -1 << u"without an exit code"_s;
    QTest::addRow("exited-huge") << u"exited"_s << QJsonValue(1e12) << StepState::Failed << LeaseState::Failed << -1
                                 << u"without an exit code"_s;
    QTest::addRow("timed-out-with-137") << u"timed_out"_s << QJsonValue(137) << StepState::TimedOut
                                        << LeaseState::Failed << -1 << u"timed out"_s;
    QTest::addRow("crashed-with-139") << u"crashed"_s << QJsonValue(139) << StepState::Failed << LeaseState::Failed
                                      << -1 << u"without an exit code"_s;
    QTest::addRow("cancelled-with-0") << u"cancelled"_s << QJsonValue(0) << StepState::Cancelled
                                      << LeaseState::Cancelled << -1 << u"cancelled"_s;
    QTest::addRow("unknown-outcome-with-7") << u"exploded"_s << QJsonValue(7) << StepState::Failed << LeaseState::Failed
                                            << -1 << u"without an exit code"_s;
    QTest::addRow("failed-to-start") << u"failed_to_start"_s << absent << StepState::Failed << LeaseState::Failed << -1
                                     << u"without an exit code"_s;
}

void tst_Scheduler::finishedOutcomes()
{
    QFETCH(QString, outcome);
    QFETCH(QJsonValue, exitCode);
    QFETCH(StepState, stepState);
    QFETCH(LeaseState, leaseState);
    QFETCH(int, storedExitCode);
    QFETCH(QString, error);
    WorkerSession *worker = addWorker(u"w"_s);
    const QStringList ids = submit({spec(u"s"_s)});
    settle();
    const QString leaseId = dispatchedLease(worker);
    started(worker, leaseId);
    QJsonObject finished{{u"type"_s, u"finished"_s}, {u"leaseId"_s, leaseId}, {u"outcome"_s, outcome}};
    if (!exitCode.isUndefined())
        finished.insert(u"exitCode"_s, exitCode);
    m_parts.scheduler->handleFinished(worker, Protocol::Finished::decode(finished));

    QCOMPARE(m_parts.link.sent(worker->record.id, u"ack"_s).size(), 1);
    const std::optional<int> expected = storedExitCode < 0 ? std::nullopt : std::optional<int>(storedExitCode);
    auto step = m_parts.store->step(ids.first());
    QVERIFY(step && *step);
    QCOMPARE((*step)->state, stepState);
    QCOMPARE((*step)->exitCode, expected);
    QVERIFY2((*step)->error.contains(error), qPrintable((*step)->error));
    auto lease = m_parts.store->lease(leaseId);
    QVERIFY(lease && *lease);
    QCOMPARE((*lease)->state, leaseState);
    QCOMPARE((*lease)->exitCode, expected);
}

// Issue 19 item 8: output with a `stream` other than stdout or stderr was stored as stdout. It
// is refused (not stored); its seq is not taken, so a resend is refused again, and the step
// goes on.
void tst_Scheduler::outputOfAnUnknownStreamIsRefused()
{
    WorkerSession *worker = addWorker(u"w"_s);
    const QStringList ids = submit({spec(u"s"_s)});
    settle();
    const QString leaseId = dispatchedLease(worker);
    started(worker, leaseId);
    const auto output = [&](int seq, const QJsonValue &stream, const QString &data) {
        QJsonObject frame{{u"type"_s, u"output"_s}, {u"leaseId"_s, leaseId}, {u"seq"_s, seq}, {u"data"_s, data}};
        if (!stream.isUndefined())
            frame.insert(u"stream"_s, stream);
        m_parts.scheduler->handleOutput(worker, Protocol::Output::decode(frame));
    };
    const QRegularExpression refused(u"refused output .* \"stream\" must be"_s);
    for (const QJsonValue &stream : {QJsonValue(u"stdlog"_s), QJsonValue(u"STDOUT"_s), QJsonValue(1),
                                     QJsonValue(QJsonValue::Undefined)}) {
        QTest::ignoreMessage(QtWarningMsg, refused);
        output(1, stream, u"where does this go\n"_s);
    }
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"output gap"_s));
    output(2, u"stderr"_s, u"kept\n"_s);
    QTest::ignoreMessage(QtWarningMsg, refused);
    output(3, u"stdlog"_s, u"again\n"_s);
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"output gap"_s));
    output(4, u"stdout"_s, u"also kept\n"_s);
    m_parts.scheduler->handleFinished(worker, Protocol::Finished::decode({{u"type"_s, u"finished"_s}, {u"leaseId"_s, leaseId},
                                         {u"outcome"_s, u"exited"_s}, {u"exitCode"_s, 0}}));
    QCOMPARE(stateOf(ids.first()), StepState::Succeeded);
    auto chunks = m_parts.store->output(ids.first(), 0);
    QVERIFY(chunks);
    QCOMPARE(chunks->size(), 2);
    QCOMPARE(chunks->at(0).stream, u"stderr"_s);
    QCOMPARE(chunks->at(0).data, u"kept\n"_s);
    QCOMPARE(chunks->at(1).stream, u"stdout"_s);
    QCOMPARE(chunks->at(1).data, u"also kept\n"_s);
}

// Issue 19 item 11: a requeue that does not count (drain deadline, rejected) took the attempt
// back, so the queued step read attempt 0 and its next lease had the same number as the one
// before (two leases, and their output, under one attempt). `attempt` is the number of attempts
// started; maxAttempts bounds those that count.
void tst_Scheduler::aRequeueThatDoesNotCountKeepsTheAttempt()
{
    StepSpec once = spec(u"once"_s);
    once.maxAttempts = 1;
    const QStringList ids = submit({once});
    WorkerSession *drained = addWorker(u"drained"_s);
    settle();
    const QString first = dispatchedLease(drained);
    QCOMPARE(onlyDispatch(drained->record.id).value(u"attempt"_s).toInt(), 1);
    started(drained, first);

    // The drain deadline passes: cancelled and requeued, without spending its only attempt.
    m_parts.link.disconnected.insert(drained->record.id);
    m_parts.scheduler->requeueLeases(drained, u"drain deadline passed"_s);
    QCOMPARE(stateOf(ids.first()), StepState::Queued);
    auto queued = m_parts.store->step(ids.first());
    QVERIFY(queued && *queued);
    QCOMPARE((*queued)->attempt, 1);
    QCOMPARE(m_parts.scheduler->openStep(ids.first())->attempt, 1);

    // The next dispatch is attempt 2; the worker declines it (not counted either): attempt 3.
    WorkerSession *busy = addWorker(u"busy"_s);
    m_parts.scheduler->requestSchedule();
    settle();
    const QJsonObject second = onlyDispatch(busy->record.id);
    QCOMPARE(second.value(u"attempt"_s).toInt(), 2);
    m_parts.link.disconnected.insert(busy->record.id);
    m_parts.scheduler->handleRejected(busy, Protocol::Rejected::decode({{u"type"_s, u"rejected"_s},
                                       {u"leaseId"_s, second.value(u"leaseId"_s).toString()}}));
    QCOMPARE(stateOf(ids.first()), StepState::Queued);
    QCOMPARE(m_parts.scheduler->openStep(ids.first())->attempt, 2);
    WorkerSession *lost = addWorker(u"lost"_s);
    m_parts.scheduler->requestSchedule();
    settle();
    QCOMPARE(onlyDispatch(lost->record.id).value(u"attempt"_s).toInt(), 3);

    // Lost: the first attempt that counts, and with maxAttempts 1 the last.
    m_parts.link.disconnected.insert(lost->record.id);
    m_parts.scheduler->expireLeases(lost, u"worker lost"_s);
    QCOMPARE(stateOf(ids.first()), StepState::Failed);
    auto failed = m_parts.store->step(ids.first());
    QVERIFY(failed && *failed);
    QCOMPARE((*failed)->attempt, 3);
    QCOMPARE((*failed)->error, u"worker lost; attempts exhausted (1/1)"_s);
    auto leases = m_parts.store->leases(u"WHERE step_id = ? ORDER BY created_at"_s, {ids.first()});
    QVERIFY(leases);
    QList<int> attempts;
    for (const LeaseRecord &lease : *leases)
        attempts << lease.attempt;
    QCOMPARE(attempts, (QList<int>{1, 2, 3}));
}

QTEST_GUILESS_MAIN(tst_Scheduler)
#include "tst_scheduler.moc"
