#pragma once

#include "common/refusaldigest.h"
#include "common/result.h"
#include "model/step.h"
#include "protocol/workerframes.h"
#include "server/stepqueue.h"

#include <QHash>
#include <QJsonObject>
#include <QObject>
#include <QTimer>

#include <array>
#include <functional>
#include <optional>

namespace Swamp {

class EventLog;
class Fleet;
class Store;
class WorkerLink;
class WorkerPool;
struct WorkerSession;

// Steps, the queue and step leases (SPEC §5). Owns the in-memory view of every open step and
// active lease; every state change is written in one transaction with its lease before anything
// is sent. Scheduling is woken by pool changes (enroll, slot freed, undrain, submit), never by
// polling. Fencing: any frame naming a lease that is not active on that very session is refused.
class Scheduler final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(Scheduler)

public:
    // `link` reaches the workers' sockets (WorkerLink); all four outlive the scheduler.
    Scheduler(Store *store, EventLog *events, WorkerPool *pool, WorkerLink *link,
              qint64 defaultQueueTimeoutMs, QObject *parent = nullptr);

    // Several orchestrators on one database: leases name this orchestrator, queued steps are
    // claimed in the database (another orchestrator may take them first), lease writes are
    // fenced on the stored state, and requeues/cancels wake the others. Set before recover().
    void setFleet(Fleet *fleet, bool shared);

    // Boot reconciliation, in one transaction: every active lease expires ("orchestrator restart")
    // and its step is requeued under the usual rules; queued steps are loaded into the queue by
    // what scheduling needs (QueuedStep), their full records read when they are dispatched. In a
    // shared fleet only leases of orchestrators that are no longer alive expire. An error leaves
    // the database as it was.
    Result<int> recover();

    // Fleet: reloads the whole queue from the database (at boot, when the database is back).
    // Coalesced like requestSchedule().
    void requestRefresh();
    // Fleet: another orchestrator queued, requeued, dispatched or ended `stepId` (its event was
    // pulled): the steps changed since the last look are read again together, by id, never the
    // whole queue.
    void stepChangedElsewhere(const QString &stepId);
    // Fleet: `orchestratorId` died; its active leases expire and their steps are requeued.
    int expireLeasesOf(const QString &orchestratorId, const QString &reason);
    // Fleet: an operator cancelled `stepId` through another orchestrator.
    void cancelHere(const QString &stepId);

    // The result object (runId, stepIds, run) as compact JSON text.
    Result<QByteArray> submit(const QString &runName, const QList<StepSpec> &specs);
    // A step id or a run id. Queued steps end at once; running ones are cancelled on the worker.
    Result<QJsonObject> cancel(const QString &id);
    QList<StepRecord> queuedSteps() const;
    std::optional<StepRecord> openStep(const QString &id) const;

    // Coalesced: runs once on the next event-loop turn.
    void requestSchedule();

    // Worker frames, each already tied to its session.
    void handleStarted(WorkerSession *session, const Protocol::Started &started);
    void handleOutput(WorkerSession *session, const Protocol::Output &output);
    void handleFinished(WorkerSession *session, const Protocol::Finished &finished);
    void handleRejected(WorkerSession *session, const Protocol::Rejected &rejected);

    // The session's active leases expire at once (worker lost, replaced, revoked); their steps are
    // requeued or failed by the rules of SPEC §5. `reason`: "worker lost", ...
    void expireLeases(WorkerSession *session, const QString &reason);
    // Drain deadline passed: running steps are cancelled on the worker and requeued.
    void requeueLeases(WorkerSession *session, const QString &reason);
    // For a resumed session: {leaseId: lastOutputSeq} of its active leases; also re-sends
    // cancels that could not be delivered while it was away.
    QJsonObject resumeLeases(WorkerSession *session);

    void sweep(); // queue timeouts, and the summaries of refused lease frames

Q_SIGNALS:
    void stepChanged(const Swamp::StepRecord &step);
    void outputAppended(const QString &stepId, const QJsonObject &chunk);
    // Leases were added or removed on this session (slots changed).
    void slotsChanged(Swamp::WorkerSession *session);
    // A frame named a lease that is not active on its session (fencing); every one, while the
    // events about them are digested.
    void leaseFrameRefused();

private:
    bool shared() const { return m_shared; }
    void refreshQueue();
    void refreshWholeQueue();
    void refreshChangedSteps();
    // A queued step as the database has it: held as what scheduling needs unless this
    // orchestrator holds its current record. True when it joined the queue.
    bool mergeQueued(const QueuedStep &step);
    // A step that is no longer queued in the database (taken, cancelled or timed out elsewhere).
    void forgetQueued(const QString &id);
    // Expires the leases read from the store (`active`, another orchestrator's): returns how many.
    int expireStoredLeases(const Result<QList<LeaseRecord>> &active, const QString &reason, bool *complete);
    Result<void> recoverAlone(int &expired);
    Result<void> recoverShared(int &expired);
    // The queued steps with --secret-env names, in full (their values died with the last run).
    QList<StepRecord> queuedWithSecrets();
    void sortQueue();
    void schedule();
    // The open step `id` in full: m_open's, or read from the store into m_open when only its
    // QueuedStep is held (then also the next few such steps in the queue, in one read: they are
    // likely dispatched next). Null when it is not open here; an error when the store failed.
    Result<StepRecord *> openRecord(const QString &id);
    // `id` and up to `limit` - 1 queued steps after it, in queue order, that `also` accepts.
    QStringList queuedFrom(const QString &id, int limit, const std::function<bool(const QString &)> &also) const;
    // When queued step `id` times out waiting for a worker; nothing when it is not queued here.
    std::optional<qint64> queueDeadlineOf(const QString &id) const;
    // The open step `stepOrRunId`, or the open steps of that run.
    QList<QString> openStepIdsOf(const QString &stepOrRunId) const;
    // Connected, not draining, not held back, with a free slot; adds their free slots to `slots`.
    QList<WorkerSession *> availableWorkers(int *slots) const;
    // In a fleet the step is claimed first, and with it up to `claimAhead` - 1 of the steps
    // queued after it (the pass has that many free slots left): one round trip for a pass that
    // dispatches steps other orchestrators queued, not one per step.
    bool dispatch(StepRecord &step, WorkerSession *session, int claimAhead = 1);
    static constexpr int MaxClaimAhead = 64;
    // Its --secret-env values are held by another orchestrator: only that one dispatches it.
    bool secretsElsewhere(const QString &stepId) const;
    // The lease of `base`'s next attempt on `session`, and the step once dispatched.
    void prepareDispatch(const StepRecord &base, const WorkerSession &session, const QDateTime &now,
                         LeaseRecord &lease, StepRecord &next) const;
    // Ends `lease` with `leaseState` and either requeues the step or ends it.
    Result<void> retireLease(LeaseRecord &lease, LeaseState leaseState, const QString &reason,
                             bool countAttempt);
    // The step of `lease` as the lease rules make it (stepAfterLeaseEnded()), read for update in
    // a fleet; nullopt when it is gone or already ended. In retireLease()'s transaction.
    Result<std::optional<StepRecord>> stepAfterRetiring(const LeaseRecord &lease, const QString &reason,
                                                        bool countAttempt, const QDateTime &now);
    // Once retired and durable: the step back in the queue, or ended, with its event.
    void stepRetired(const StepRecord &step, const QString &reason);
    Result<void> finishStep(StepRecord &step, StepState state, std::optional<int> exitCode,
                            const QString &error);
    Result<void> saveStep(StepRecord &step);
    // One transaction that writes `lease` only while the stored lease is still active (fencing,
    // also across orchestrators) and then runs `then`; false when the lease was superseded.
    Result<bool> writeFenced(const LeaseRecord &lease, const std::function<Result<void>()> &then);
    // Ends a step that is still queued (in a fleet: claimed in the database first); false when
    // another orchestrator dispatched or ended it meanwhile.
    Result<bool> endQueued(StepRecord &step, StepState state, const QString &error);
    void refuse(WorkerSession *session, const QString &leaseId, const QString &what);
    void reportLeaseRefusals();
    // The orchestrator a step's --secret-env values are held by: this one.
    QString secretHolder() const;
    // Queued steps with --secret-env whose values this orchestrator does not hold: their holder
    // (a previous run of this one, or another orchestrator that died) is gone, so they can never
    // run; they fail, saying why.
    void failLostSecrets(const QList<StepRecord> &steps);
    // A fleet: the queued steps whose values `holder` held (empty: any orchestrator not alive).
    void failLostSecretsOf(const QString &holder);
    void dropSuperseded(WorkerSession *session, QString leaseId, const QString &what);
    // How a lease whose worker is gone ends (expireLeases(), requeueLeases()).
    struct Retirement
    {
        LeaseState state;
        QString reason;
        bool countAttempt;
    };
    // retireLease(), and if the database refuses it, again at every sweep() until it is written.
    void retireOrRetry(const QString &leaseId, const Retirement &retirement);
    LeaseRecord *activeLease(WorkerSession *session, const QString &leaseId, const QString &what);
    // What a worker sent for a lease and the database refused (it was away, or a lock timed out)
    // is asked again (a `resend`) once the database takes writes: schedulerresync.cpp.
    void resyncLater(const QString &leaseId, const Error &error);
    void resynced(const QString &leaseId) { m_resync.remove(leaseId); }
    bool inResync(const QString &leaseId) const { return m_resync.contains(leaseId); }
    bool takesOutput(const LeaseRecord &lease, int seq) const;
    bool takesFinished(const LeaseRecord &lease, int lastSeq) const;
    void askResends(qint64 nowMs);
    // Leases of a gone orchestrator that could not all be expired (the database refused): again at
    // every sweep() until none is left.
    void expireAgain();
    // The run of `changed` takes the state its steps' states give (runStateFrom()).
    void updateRun(const StepRecord &changed);
    // Only notes a step's new state for its run (a requeue does not change the run's state).
    void trackRunStep(const StepRecord &changed);
    struct OpenRun;
    OpenRun *openRun(const QString &runId);
    static qint64 queueDeadlineMs(const StepRecord &step);
    void stepEvent(const StepRecord &step, const QString &kind, const QString &message);
    void sendToWorker(WorkerSession *session, QByteArray frame); // encoded (protocol/workerframes.h)
    void sendCancel(WorkerSession *session, const QString &leaseId, const QString &reason);
    void sendAck(WorkerSession *session, const QString &leaseId);

    Store *m_store;
    EventLog *m_events;
    WorkerPool *m_pool;
    WorkerLink *m_link;
    qint64 m_defaultQueueTimeoutMs;
    // Every non-terminal step: in full in m_open, or, for queued steps recovered at boot (or
    // reloaded in a fleet) and not touched since, only what scheduling needs in m_queuedOnly;
    // openRecord() moves one from there to m_open. An id is in one of the two, never both.
    QHash<QString, StepRecord> m_open;
    QHash<QString, QueuedStep> m_queuedOnly;
    StepQueue m_queue;                     // queued step ids, oldest first
    QHash<QString, LeaseRecord> m_leases;  // active leases
    QHash<QString, int> m_lastSeq;         // per active lease: last output seq stored
    QHash<QString, Retirement> m_unretired; // leases of gone sessions whose end is not written yet
    struct Resync
    {
        qint64 dueMs = 0;   // when to ask (again)
        qint64 delayMs = 0; // the backoff between failed attempts
        bool asked = false;
    };
    // Leases whose frames the database refused: until what follows the last stored chunk comes
    // again, later frames are dropped (they come again too), so output is stored once, in order.
    QHash<QString, Resync> m_resync;
    QHash<QString, QString> m_goneOrchestrators; // id -> reason: leases left to expire
    // --secret-env values of the steps submitted here, by step id: in memory only, until the
    // step ends. Never written to the database, an event or a log.
    QHash<QString, QJsonObject> m_secrets;
    QTimer m_scheduleTimer;
    QTimer m_refreshTimer;
    bool m_refreshWhole = false;
    QSet<QString> m_changedElsewhere; // read at the next refresh
    // Which refused lease frames become events: the first per worker per minute, then a summary,
    // so that a worker sending frames for made-up leases cannot grow the database or the log.
    RefusalDigest m_leaseRefusals{60000, 20};
    Fleet *m_fleet = nullptr;
    bool m_shared = false;
    // Whether this orchestrator holds the lease (in a fleet, it may retire another's).
    bool heldHere(const LeaseRecord &lease) const;
    // Boot recovery in a fleet: the leases it expires and their steps were locked for its
    // transaction, the leases expired and the steps read into m_open all at once (retiring
    // neither writes the lease nor reads the step again), and the others are woken once at its
    // end, not once per requeued step.
    bool m_recovering = false;
    // One orchestrator: each open run's record and how many of its steps are in each state, so
    // that a step's change updates its run without reading the run and its steps back (a run
    // with one step used to cost two SELECTs per change). Loaded on first use after a restart;
    // dropped when the run ends. A fleet reads the store instead: the others change steps too.
    struct OpenRun
    {
        RunRecord record;
        QHash<QString, StepState> steps;
        std::array<int, 7> counts{}; // by StepState
        void set(const QString &stepId, StepState state);
    };
    QHash<QString, OpenRun> m_runs;
};

} // namespace Swamp
