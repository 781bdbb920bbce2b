#pragma once

#include "common/result.h"
#include "model/audit.h"
#include "model/event.h"
#include "model/step.h"
#include "model/token.h"
#include "model/worker.h"
#include "store/sqlitewriter.h"

#include <QElapsedTimer>
#include <QHash>
#include <QJsonValue>
#include <QMap>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QSet>
#include <QString>
#include <QVariantList>

#include <functional>
#include <memory>
#include <unordered_map>
#include <optional>
#include <variant>
#include <vector>

namespace Swamp {

class LeaseRow;
class SqliteCommitter;
class StepRow;
class WalCheckpointer;
namespace Query {
struct FieldsRead;
}
namespace Internal {
class RowColumns;
}

// The orchestrator's one database: SQLite (WAL) by default, PostgreSQL when given a
// postgresql:// URL. Holds the connection *name*, never a QSqlDatabase member. Every call
// checks its statement and returns the driver's error text in the Error ("database" code).
// Not thread-safe: the orchestrator uses it from its one thread.
class Store final
{
    Q_DISABLE_COPY_MOVE(Store)

public:
    enum class Dialect { Sqlite, Postgres };

    // `spec`: a path to a SQLite file, or postgresql://user[:password]@host[:port]/database.
    // Opens, configures (WAL, foreign keys, busy timeout) and migrates forward; a database whose
    // schema is newer than this binary knows is refused untouched ("schema_too_new").
    static Result<std::unique_ptr<Store>> open(const QString &spec);
    ~Store();

    Dialect dialect() const { return m_dialect; }
    QSqlDatabase database() const;
    int schemaVersion() const { return m_schemaVersion; }
    static int knownSchemaVersion();
    // The schema version the database had when it was opened (0: a new database). When it was
    // older than knownSchemaVersion() and SQLite, backupPath() is the copy made before migrating.
    int foundSchemaVersion() const { return m_foundSchemaVersion; }
    QString backupPath() const { return m_backupPath; }

    // Runs `body` in one transaction: committed when it succeeds, rolled back when it fails.
    // Nested calls join the outermost transaction. In group-commit mode the body runs in a
    // savepoint of the open batch: rolled back alone when it fails, committed with the batch.
    Result<void> transaction(const std::function<Result<void>()> &body);

    // Group commit: every statement joins one open batch transaction; the first one opens it and
    // calls `scheduleCommit`, which must arrange for commitBatch() to run soon (the orchestrator:
    // on its next event-loop turn). Nothing that depends on a change may be sent before the
    // batch holding it is committed (inBatch() tells). Off (nullptr) by default.
    void setGroupCommit(std::function<void()> scheduleCommit);
    bool inBatch() const { return m_batchOpen; }
    // Commits the open batch (nothing to do without one). On failure the batch is rolled back.
    Result<void> commitBatch();
    // The same without waiting, where it can: with write-behind, a batch that wrote nothing but
    // its kept rows is written and committed on a thread of its own (SqliteCommitter) while this
    // one goes on; otherwise it is committed here. `done` runs on `context`'s thread once the
    // batch is durable or failed (at once when it was committed here), always in batch order.
    // Until then commitsPending() is true: nothing that depends on it may be sent.
    void commitBatchAsync(QObject *context, std::function<void(const Result<void> &)> done);
    bool commitsPending() const { return m_commitsInFlight > 0; }
    // Whether commitBatchAsync() would hand the open batch to the committer thread (rather than
    // commit it here), and for how long that batch has been open.
    bool commitsOffThread() const { return m_committer && !m_mainWrote && !m_batchBroken; }
    qint64 batchAgeNs() const { return m_batchOpen ? m_batchClock.nsecsElapsed() : 0; }
    // Write-behind (in group-commit mode only): the rows that every
    // step changes several times (its run, step and lease rows, the worker's state and the
    // operator events) are kept in memory until the batch commits or the next other statement
    // runs, whichever comes first, and each row is written once, in its newest version. A step
    // whose `started` and `finished` arrive together is then one UPDATE, not two, and a body of
    // transaction() that only changes such rows needs no savepoint. Nothing else changes: every
    // statement still sees every change made before it, a failing body loses its own changes
    // only, and nothing may be sent before commitBatch() (which writes them first) succeeds.
    // On SQLite event ids are then counted here (this process is the only writer). On
    // PostgreSQL (postgresbatch.cpp) a batch's rows are written as a few multi-row statements
    // just before its commit, and claims and fences are checked there too. Off until enabled;
    // nothing without group commit.
    Result<void> enableWriteBehind();
    bool writeBehind() const { return m_writeBehind; }
    // PostgreSQL: `body` as one write-behind batch committed before this returns (its rows as
    // multi-row statements), for work done before the group commit exists (boot recovery).
    // `body` runs as it is on SQLite, and where write-behind is on already.
    Result<void> asOneBatch(const std::function<Result<void>()> &body);
    // PostgreSQL hands event ids out at commit, in commit order across a fleet (migration 007):
    // insertEvent() returns 0, and the event is stored with a pending id until its transaction
    // commits. The pending ids of this store's events committed since the last call; an event
    // read back with eventsAfter() is one of them when its pendingIds entry is.
    bool eventIdsAtCommit() const { return m_dialect == Dialect::Postgres; }
    QSet<qint64> takeOwnCommittedEvents() { return std::exchange(m_committedEventIds, {}); }
    // Statements, transaction starts and commits sent to PostgreSQL on the main connection since
    // the store opened (each one is a network round trip); 0 on SQLite.
    qint64 roundTrips() const { return m_roundTrips; }

    // PostgreSQL gone (postgresaway.cpp): when a statement or a commit finds the connection
    // broken, the store is "away". It says so once; every statement then fails at once with the
    // code "database_away" (no round trip, no log line), the open batch keeps its rows in memory
    // and commitBatch() returns "database_away" without losing them. reconnect() opens a new
    // session and replays what the batch had already written, statement by statement, checking
    // that each still changes (or locks) the same number of rows; a batch whose replay differs
    // (another orchestrator took a step it had claimed, ended a lease it held) is refused, and
    // its commit fails as any failed commit does.
    bool isAway() const { return m_away; }
    // An error that only says the store is away (said once already: not worth a log line).
    static bool isAwayError(const Error &error) { return error.code == u"database_away"; }
    Result<void> reconnect();
    qint64 awayMs() const { return m_away ? m_awayClock.elapsed() : 0; }
    // Since reconnect() last found the database again; -1 when it never had to.
    qint64 backMs() const { return m_backClock.isValid() ? m_backClock.elapsed() : -1; }
    // PostgreSQL: the server ends this session when it sits in a transaction for longer than
    // `idleInTransactionMs`, and a statement waiting for a row lock gives up after `lockMs`.
    // Nothing on SQLite.
    Result<void> limitSession(qint64 idleInTransactionMs, qint64 lockMs);
    // SQLite: WAL checkpoints run on a thread of their own (see WalCheckpointer) instead of
    // inside the commit that happens to cross the log's size threshold. Nothing on PostgreSQL.
    void checkpointInBackground();

    // One statement with positional `?` bindings; the query is positioned before its first row.
    // On PostgreSQL read its rows before running the next statement (one statement at a time
    // per connection); forEachRow() lets a visitor query the store meanwhile.
    Result<QSqlQuery> exec(const QString &sql, const QVariantList &bindings = {});
    Result<void> execute(const QString &sql, const QVariantList &bindings = {});
    // One data-changing statement, for callers that need what it changed. On SQLite every
    // distinct text is prepared once and kept: the orchestrator runs a few dozen statements
    // thousands of times a second, and parsing them each time cost more than running them.
    struct Written
    {
        qint64 rowsAffected = 0;
        QVariant lastInsertId; // SQLite: the rowid inserted; PostgreSQL: use RETURNING instead
    };
    Result<Written> write(const QString &sql, const QVariantList &bindings = {});

    // Hands the rows of a SELECT to `row`, which must not use the store meanwhile (see
    // forEachRow()). On SQLite the statement is prepared once and kept, as in write().
    Result<void> select(const QString &sql, const QVariantList &bindings,
                        const std::function<void(const QSqlQuery &)> &row);
    // Streams the rows of a SELECT to `row`, which may use the store meanwhile.
    Result<void> forEachRow(const QString &sql, const QVariantList &bindings,
                            const std::function<void(const QSqlQuery &)> &row);

    // Tokens
    Result<void> insertToken(const TokenRecord &token);
    // Newest first. Without `withBindings` the tokens' `bindings` are left empty: loading every
    // binding of a token with thousands of enrollments on each enrollment made enrolling O(n).
    Result<QList<TokenRecord>> tokensNamed(const QString &name, bool withBindings = true);
    Result<std::optional<TokenBinding>> binding(const QString &tokenId, const QString &machineId);
    Result<qint64> bindingCount(const QString &tokenId);
    Result<QList<TokenRecord>> allTokens();                      // oldest first
    Result<void> revokeToken(const QString &tokenId, const QDateTime &at, const QString &reason);
    // A new expiry for a token that is not revoked (a revoked one is left as it is).
    Result<void> extendToken(const QString &tokenId, const QDateTime &expiresAt, const QDateTime &at);
    Result<void> insertBinding(const QString &tokenId, const TokenBinding &binding);
    // Records the key of a machine bound before machine keys existed (its first enrollment since).
    Result<void> setBindingKey(const QString &tokenId, const QString &machineId, const QString &keyHash);

    // Workers
    Result<std::optional<WorkerRecord>> workerByMachine(const QString &machineId,
                                                        const QString &tokenName);
    // `onlyIfHeldBy`: an existing row is updated only while that orchestrator still holds it
    // (in a fleet another one may have taken the worker over meanwhile).
    Result<void> upsertWorker(const WorkerRecord &worker, const QString &onlyIfHeldBy = {});
    // Only the columns that move while a worker is connected (status, draining, last seen,
    // disconnected, updated): the hot path of every idle/busy change, a quarter of the upsert.
    Result<void> updateWorkerState(const WorkerRecord &worker, const QString &onlyIfHeldBy = {});
    Result<QList<WorkerRecord>> allWorkers();
    // `swamp worker pause/resume`: the only writer of the paused column (upsertWorker() keeps it).
    Result<void> setWorkerPaused(const QString &workerId, bool paused, const QDateTime &now);
    // `swamp worker label`: the only writer of the operator_labels column (upsertWorker() writes
    // it only with a new row).
    Result<void> setWorkerOperatorLabels(const QString &workerId, const LabelOverrides &labels, const QDateTime &now);
    // `swamp worker remove`: the worker's row and its binding to its token, whatever its status
    // (the caller ends its session first). Returns the number of bindings freed.
    Result<int> removeWorker(const WorkerRecord &worker);
    // `whereSql` e.g. "WHERE status = ? ORDER BY name".
    Result<QList<WorkerRecord>> workers(const QString &whereSql, const QVariantList &bindings = {});
    // Every worker that is not `disconnected` or `lost` becomes `disconnected`; returns how many.
    Result<int> reconcileWorkersOnBoot(const QDateTime &now);

    // Runs, steps, leases, output (stepstore.cpp)
    Result<void> insertRun(const RunRecord &run);
    Result<void> updateRun(const RunRecord &run);
    Result<std::optional<RunRecord>> run(const QString &id);
    Result<QList<RunRecord>> runs(int limit = -1);
    Result<void> insertStep(const StepRecord &step);
    Result<void> updateStep(const StepRecord &step);
    Result<std::optional<StepRecord>> step(const QString &id);
    Result<QList<StepRecord>> steps(const QString &whereSql = {}, const QVariantList &bindings = {});
    // Streams the rows without building a list (large stores): `visit` sees each in turn.
    Result<void> forEachStep(const QString &whereSql, const QVariantList &bindings,
                             const std::function<void(const StepRecord &)> &visit);
    Result<void> insertLease(const LeaseRecord &lease);
    Result<void> updateLease(const LeaseRecord &lease);
    Result<std::optional<LeaseRecord>> lease(const QString &id);
    Result<QList<LeaseRecord>> leases(const QString &whereSql = {}, const QVariantList &bindings = {});
    Result<void> forEachLease(const QString &whereSql, const QVariantList &bindings,
                              const std::function<void(const LeaseRecord &)> &visit);
    Result<void> appendOutput(const QString &stepId, int chunk, const QString &leaseId, int attempt,
                              const QString &stream, const QString &data, const QDateTime &at);
    struct OutputChunk
    {
        int chunk = 0;
        int attempt = 0;
        QString stream;
        QString data;
        QDateTime at;
    };
    Result<QList<OutputChunk>> output(const QString &stepId, int afterChunk, int limit = 10000);

    // Fleet: several orchestrators on one database (fleetstore.cpp). Only PostgreSQL shares a
    // database between processes; on SQLite the one orchestrator still registers itself.
    struct OrchestratorRecord
    {
        QString id;
        QString name;
        QString url;
        QString version;
        QString state; // alive, stopped, dead
        QDateTime startedAt;
        QDateTime heartbeatAt;
        QDateTime endedAt;
        QString endedReason;
        QJsonObject toJson() const;
    };
    Result<void> registerOrchestrator(const OrchestratorRecord &self);
    // False when this orchestrator is no longer `alive` in the table: another one declared it dead.
    Result<bool> heartbeatOrchestrator(const QString &id, const QDateTime &now);
    // The orchestrator's state (`alive`, `dead`, ...) read on the fleet's listening connection:
    // it never holds a transaction, so it still answers when the server has ended the main
    // session (idle in a transaction while the process was paused). Empty when the row is not
    // there at all: the database lost changes this orchestrator committed (storeLostChangesText()).
    Result<QString> orchestratorStateOnListener(const QString &id);
    // Why an orchestrator stops when its own committed records are gone from the database (a
    // failover to an asynchronous standby, a restore): `what` names the record.
    static QString lostChangesText(const QString &what);
    static QString lostChangesFix();
    Result<QList<OrchestratorRecord>> orchestrators();
    // Ids of other `alive` orchestrators that have not heartbeated for `silentForMs` (database clock).
    Result<QStringList> staleOrchestrators(const QString &self, qint64 silentForMs);
    // Compare-and-set: true for the one caller that moved it from alive to `state` (and, with
    // `silentForMs`, only while it is still that silent).
    Result<bool> endOrchestrator(const QString &id, const QString &state, const QString &reason,
                                 const QDateTime &now, qint64 silentForMs = 0);
    // Workers held by `orchestratorId` that are not yet disconnected/lost become disconnected.
    Result<int> disconnectWorkersOf(const QString &orchestratorId, const QDateTime &now);
    // Workers whose orchestrator is not alive (or unknown) become disconnected (boot, fleet mode).
    Result<int> disconnectOrphanedWorkers(const QDateTime &now);
    // Locks a queued step for this transaction (PostgreSQL: FOR NO KEY UPDATE SKIP LOCKED) and returns
    // its current row; nullopt when another orchestrator holds or took it, or it is not queued.
    Result<std::optional<StepRecord>> claimQueuedStep(const QString &id);
    // PostgreSQL, inside a write-behind batch: locks the queued ones of `ids` in one statement, for
    // the claimQueuedStep() calls of this batch that follow (each then costs no round trip). Call
    // it outside any transaction(): a savepoint rolled back would release the locks. Ids the batch
    // changed, or that an earlier call covered, are left out; nothing happens for the first id
    // when it was. The locks of steps never dispatched go with the batch's commit.
    Result<void> claimAhead(const QStringList &ids);
    // Locks a step row for this transaction and returns it (PostgreSQL: FOR NO KEY UPDATE).
    Result<std::optional<StepRecord>> stepForUpdate(const QString &id);
    // Compare-and-set on an active lease: writes `lease` only if the stored lease is still active.
    // False: it was superseded (expired by another orchestrator): fencing across orchestrators.
    Result<bool> updateActiveLease(const LeaseRecord &lease);
    // The same for a lease this orchestrator holds. With write-behind on PostgreSQL it waits for
    // the batch like any row and returns true; the commit then checks, in one statement for the
    // whole batch, that every such lease is still active, and fails the batch if not (only an
    // orchestrator declared dead loses its leases to another one).
    Result<bool> updateHeldLease(const LeaseRecord &lease);
    // The run's state follows its steps': recomputed from the stored steps (with write-behind,
    // once per batch for every run it touched, under the runs' row locks).
    Result<void> refreshRunState(const QString &runId);
    // Wakes the other orchestrators (PostgreSQL NOTIFY on the fleet channel, sent at commit);
    // nothing on SQLite. With write-behind the batch's payloads (each once) go in one statement,
    // as JSON arrays of at most 7,900 bytes.
    Result<void> notifyFleet(const QJsonObject &payload);
    static QString fleetChannel() { return QStringLiteral("swamp_fleet"); }
    // A second connection that only LISTENs on the fleet channel (so no query of ours ever reads
    // its notifications off the socket first); its driver emits QSqlDriver::notification.
    Result<QSqlDriver *> openFleetListener();

    // Named queries (namedqueries.cpp): what the scheduler and the services ask of the database
    // beyond one record, so that no SQL is written outside core/store/.
    // The scheduler
    Result<void> forEachQueuedStep(const std::function<void(const StepRecord &)> &visit);
    // The queued steps as scheduling needs them, in queue order (queued_at, seq): their columns
    // only, no command or environment; steps of a run share its id's text, steps with the same
    // labels their labels'.
    Result<void> forEachQueuedStepSummary(const std::function<void(const QueuedStep &)> &visit);
    // The same for those of `ids` still queued (a fleet's changes since its last look), up to 256
    // to a statement.
    Result<void> forEachQueuedStepSummary(const QStringList &ids, const std::function<void(const QueuedStep &)> &visit);
    Result<QList<StepRecord>> stepsOnWorkers();                     // dispatched or running
    // Ids an operator typed in part: those of `table` that start with `typed` (or, with `ending`,
    // end with it), in order, at most `limit`.
    enum class IdTable { Steps, Runs, Leases };
    Result<QStringList> idsMatching(IdTable table, const QString &typed, bool ending, int limit);
    // Those of `ids` that exist, in any order; with `forUpdate` locked for the running transaction
    // (PostgreSQL: FOR NO KEY UPDATE), as stepForUpdate() does one.
    enum class Lock { None, ForUpdate };
    Result<QList<StepRecord>> stepsWithIds(const QStringList &ids, Lock lock = Lock::None);
    Result<QList<StepRecord>> openStepsOf(const QString &stepOrRunId); // that step, or that run's steps
    Result<QList<LeaseRecord>> activeLeases();
    Result<QList<LeaseRecord>> activeLeasesOf(const QString &orchestratorId);
    // The active leases of one worker, oldest first (`worker show`).
    Result<QList<LeaseRecord>> activeLeasesOfWorker(const QString &workerId);
    // The worker record of that id, if there is one.
    Result<std::optional<WorkerRecord>> workerWithId(const QString &workerId);
    // Workers named `name` other than this machine's on this token (`worker connect --name`).
    Result<QList<WorkerRecord>> workersNamedElsewhere(const QString &name, const QString &machineId,
                                                      const QString &tokenName);
    // Their orchestrator is not alive; with ForUpdate locked for the running transaction.
    Result<QList<LeaseRecord>> activeLeasesOfGoneOrchestrators(Lock lock = Lock::None);
    // Boot recovery: those of these leases still active end `expired` with `reason`, up to 256
    // to a statement.
    Result<void> expireLeases(const QStringList &ids, const QString &reason, const QDateTime &now);
    // Queued steps with --secret-env values held by `holder`; empty: by no orchestrator alive.
    Result<QList<StepRecord>> queuedStepsWithSecretsHeldBy(const QString &holder);
    Result<void> requestStepCancel(const QString &stepId);
    // How many of the step's leases ended `cancelled` while it went on (given back without
    // counting as an attempt: rejected, drain deadline, revocation, orchestrator stop).
    Result<int> leasesGivenBack(const QString &stepId);
    Result<QList<std::pair<QString, StepState>>> stepStatesOfRun(const QString &runId);
    // Runs and `data query`
    Result<QList<StepRecord>> stepsOfRun(const QString &runId);     // by seq
    Result<QList<LeaseRecord>> leasesOfRun(const QString &runId);   // oldest first
    Result<QHash<QString, QHash<QString, int>>> stepCountsByRun();  // run id → state → count
    // A query's top-level `attributes.<field> == <literal>` conditions; those on columns narrow
    // the rows read (the query still decides on each row).
    using AttributeEqualities = QList<std::pair<QString, QJsonValue>>;
    // The rows of the steps (leases) the equalities leave, in no order (the caller orders what
    // it keeps: a store-wide ORDER BY sorted every whole row before the first one came), each as
    // a record read column by column (queryrows.h). Neither callback may use the store.
    // `keep` decides first, on what `reads` names of a row (nullopt: all of it), whether `visit`
    // gets the row, whole; on SQLite it runs inside the scan, so that a row it drops is never
    // read whole (StepRow::columnsFor()).
    Result<void> forEachStepRow(const AttributeEqualities &equalities, const std::optional<Query::FieldsRead> &reads,
                                const std::function<bool(const StepRow &)> &keep,
                                const std::function<void(const StepRow &)> &visit);
    Result<void> forEachLeaseRow(const AttributeEqualities &equalities, const std::optional<Query::FieldsRead> &reads,
                                 const std::function<bool(const LeaseRow &)> &keep,
                                 const std::function<void(const LeaseRow &)> &visit);
    Result<QList<AuditRecord>> auditRecordsMatching(const AttributeEqualities &equalities);
    Result<QList<AuditRecord>> tokenAuditRecords(); // every record about a token, oldest first
    // A fleet
    Result<QHash<QString, int>> activeLeasesPerWorkerElsewhere(const QString &orchestratorId);
    Result<QStringList> liveWorkersOnTokenElsewhere(const QString &tokenName, const QString &orchestratorId);
    // One orchestrator per SQLite file: whatever was alive before this start is not.
    Result<void> endAliveOrchestrators(const QDateTime &now, const QString &reason);
    // Whether orchestrator `id` is `alive` in the fleet table.
    Result<bool> orchestratorAlive(const QString &id);
    // Ids of the workers an alive orchestrator keeps disconnected within their reconnect grace
    // (a row's grace counts only while its holder is alive: nobody else can resume it).
    Result<QSet<QString>> workersWithinReconnectGrace();
    // The fleet's leader: the oldest alive orchestrator (by start, then id); empty when none is.
    // It alone reports the database-wide metrics, so that a sum over the fleet counts once.
    Result<QString> fleetLeader();
    // Metrics and health
    Result<QMap<QString, qint64>> workerCountsByStatus();
    enum class StepStates { Open, Ended };
    Result<QMap<QString, qint64>> stepCountsByState(StepStates which);
    Result<qint64> activeLeaseCount();
    // Fails unless a real table can be read (SQLite: the file; PostgreSQL: the connection).
    Result<void> checkReadable();

    // Operator events
    Result<qint64> insertEvent(const Event &event);
    // `pendingIds`: for each event, the pending id it had before its commit (PostgreSQL), or 0.
    Result<QList<Event>> eventsAfter(qint64 afterId, int limit, QList<qint64> *pendingIds = nullptr);
    // The events among `ids` that exist (oldest first).
    // The newest `limit` events whose subject is `subject`, oldest first (`worker show`).
    Result<QList<Event>> recentEventsAbout(const QString &subject, int limit);
    Result<QList<Event>> eventsWithIds(const QList<qint64> &ids, QList<qint64> *pendingIds = nullptr);
    Result<qint64> lastEventId();

    // Audit trail of admin actions (audit.cpp). Never removed by retention.
    Result<qint64> insertAudit(const AuditRecord &record);
    // Oldest first; `whereSql` e.g. "WHERE token_id = ?".
    Result<QList<AuditRecord>> auditRecords(const QString &whereSql = {},
                                            const QVariantList &bindings = {});

    // Retention and pruning (retention.cpp). Each call is one short transaction, so that the
    // orchestrator can yield to its event loop between batches.
    struct RetentionBatch
    {
        int steps = 0;
        int leases = 0;
        int outputChunks = 0;
        int runs = 0;
        bool more = false; // the batch was full: call again
    };
    // Deletes ended steps (succeeded, failed, cancelled, timed_out) that finished before
    // `cutoff`, oldest first, with their leases and output chunks, and then the runs left
    // without steps: about `maxRows` rows in all. A step with an active lease is never touched;
    // a step with more output than `maxRows` loses its output over several batches first.
    Result<RetentionBatch> deleteEndedSteps(const QDateTime &cutoff, int maxRows);
    // Deletes at most `maxRows` operator events older than `cutoff`, oldest first.
    Result<int> deleteEventsBefore(const QDateTime &cutoff, int maxRows);
    // Workers `disconnected` or `lost` since before `cutoff` (by disconnectedAt, else
    // lastSeenAt), oldest first.
    Result<QList<WorkerRecord>> workersGoneBefore(const QDateTime &cutoff);
    // Deletes a worker record and the bindings of its machine on the tokens of its token name,
    // so that a max-enrollments token regains that enrollment. Returns the bindings removed.
    // Error "worker_connected" (nothing removed) when it is connected again or, in a fleet,
    // within an alive orchestrator's reconnect grace.
    Result<int> deleteWorker(const WorkerRecord &worker);
    // The bindings of `worker`'s machine on the tokens of its token name (deleteWorker, removeWorker).
    Result<int> deleteBindingsOf(const WorkerRecord &worker);
    // deleteBindingsOf() and `deleteRow` in one transaction; the bindings freed.
    Result<int> deleteWithBindings(const WorkerRecord &worker, const std::function<Result<void>()> &deleteRow);

    static qint64 toMs(const QDateTime &when) { return when.isValid() ? when.toMSecsSinceEpoch() : 0; }
    static QVariant toMsOrNull(const QDateTime &when);
    static QDateTime fromMs(const QVariant &value);

private:
    Store(QString connectionName, Dialect dialect);
    Result<void> configure();
    Result<void> openBatch();
    Result<void> migrate(const QString &spec);
    Result<void> stageEvents();
    Result<QSqlQuery> run(const QString &sql, const QVariantList &bindings, bool forwardOnly);
    Result<QString> inlineBindings(const QString &sql, const QVariantList &bindings) const;
    Result<QList<TokenRecord>> loadTokens(const QString &sql, const QVariantList &values, bool withBindings = true);
    std::unexpected<Error> databaseError(const QString &what, const QString &driverText) const;

    // A row kept for write-behind: written as an INSERT when the batch first saw it inserted.
    struct PendingRow
    {
        QString id; // with the kind of row: the newest version replaces an older one; empty: never merged
        bool insert = false;
        QString heldBy; // workers: updateWorkerState()'s onlyIfHeldBy
        std::variant<RunRecord, StepRecord, LeaseRecord, WorkerRecord, Event> row;
    };
    template<typename Row>
    static constexpr size_t PendingRowKind =
        std::is_same_v<Row, RunRecord> ? 0
        : std::is_same_v<Row, StepRecord> ? 1
        : std::is_same_v<Row, LeaseRecord> ? 2
        : std::is_same_v<Row, WorkerRecord> ? 3
                                            : 4;
    struct PendingRows
    {
        std::vector<PendingRow> rows; // in the order each row was first changed (foreign keys)
        // (kind, id) → its place in rows; built only once rows outgrow a linear search (a body
        // changes a few rows; a batch under load, hundreds).
        QHash<std::pair<size_t, QString>, size_t> index;
        // PostgreSQL: what the commit checks or does besides writing the rows.
        QSet<QString> heldLeases;    // leases that must still be active (updateHeldLease())
        QSet<QString> runsToRefresh; // refreshRunState()
        QStringList notifications;   // notifyFleet() payloads, each once
        void put(PendingRow row);
        const PendingRow *find(size_t kind, const QString &id) const;
        // Takes `other`'s rows and sets (a body that succeeded joins its batch).
        void merge(PendingRows &other);
        bool isEmpty() const
        {
            return rows.empty() && heldLeases.isEmpty() && runsToRefresh.isEmpty() && notifications.isEmpty();
        }
        // Empty again, keeping the vector's storage for the next body.
        void clear();
    };
    // One row's statement, built without touching the store (also on SqliteCommitter's thread).
    struct Statement
    {
        QString sql;
        QVariantList values;
    };
    static Statement runInsertStatement(const RunRecord &run);
    static Statement runUpdateStatement(const RunRecord &run);
    static Statement stepInsertStatement(const StepRecord &step);
    static Statement stepUpdateStatement(const StepRecord &step);
    static Statement leaseInsertStatement(const LeaseRecord &lease);
    static Statement leaseUpdateStatement(const LeaseRecord &lease);
    static Statement workerStateStatement(const WorkerRecord &worker, const QString &onlyIfHeldBy);
    // With their ids, or (`withIds` false) leaving them to the table's sequence.
    static Statement eventsInsertStatement(const QList<const Event *> &events, bool withIds = true);
    static Statement statementFor(const PendingRow &pending);
    // The statements that write `rows`, in order; events (which reference nothing) last, many to
    // a statement (a step makes four).
    static QList<Statement> statementsFor(const std::vector<PendingRow> &rows);
    Result<void> execute(const Statement &statement);
    bool deferring() const { return m_writeBehind && !m_flushing; }
    Result<void> defer(PendingRow row);
    // `final`: the batch commits next (on PostgreSQL only then are events and the like written).
    Result<void> flushPending(PendingRows &pending, bool final = false);
    void countRoundTrip()
    {
        if (m_dialect == Dialect::Postgres)
            ++m_roundTrips;
    }
    // postgresbatch.cpp: the rows of a batch as multi-row statements, the held leases checked,
    // the runs refreshed, the events given their ids and the fleet notified.
    Result<void> flushPendingPostgres(const PendingRows &pending);
    Result<void> checkHeldLeases(const PendingRows &pending);
    Result<void> refreshRuns(const QSet<QString> &runIds);
    Result<void> queuedStepSummaries(const QString &andSql, const QVariantList &bindings,
                                     const std::function<void(const QueuedStep &)> &visit, bool stream);
    Result<void> insertEventsNumbered(const QList<const Event *> &events);
    Result<void> notifyPending(const QStringList &payloads);
    PendingRows &pendingRows() { return m_inBody ? m_bodyRows : m_batchRows; }
    // A statement that must not write the batch's rows first (a claim reads one row it locks).
    Result<QSqlQuery> execWithoutFlush(const QString &sql, const QVariantList &bindings);
    const PendingRow *pendingRow(size_t kind, const QString &id) const;
    // postgresaway.cpp
    static QStringList stagingStatements();
    std::unexpected<Error> awayError() const;
    // After a failed statement: whether libpq found the connection broken (then the store is away).
    bool noteConnectionLost(const QSqlError &error);
    void logForReplay(const QString &sql, const QSqlQuery &query, bool locking);
    std::unexpected<Error> keepForReplay(PendingRows rows);
    Result<void> setUpSession();
    // Refuses (code "database_pooled") a connection whose session does not last from one
    // transaction to the next: a pooler in transaction or statement mode in front of PostgreSQL.
    Result<void> checkSessionKept();
    static std::unexpected<Error> pooledError();
    Result<void> compareBackends(QSqlDatabase &probe);
    Result<void> replay();
    Result<void> writeHeldAgain();
    // Before any statement: writes what is pending, opening the running body's savepoint first
    // when there is one (see transaction()).
    Result<void> beforeStatement();
    Result<void> savepoint(const QString &sql);
    // `SELECT key, COUNT(*) ...` as key → count.
    Result<QMap<QString, qint64>> countBy(const QString &sql);
    // The rows of a SELECT, each column converted only when `row` reads it (queryrows.cpp): on
    // SQLite straight from SQLite. `row` must not use the store.
    // `columnsSql` is StepColumnsSql or LeaseColumnsSql, `where` what follows it. `keep` (may be
    // empty: every row) decides on a row's `projection` columns (of that SQL's enum; empty: all)
    // whether `row` gets it whole; on SQLite inside SQLite, as swamp_keep(projection...).
    Result<void> forEachColumns(const char *columnsSql, const QString &where, const QVariantList &bindings,
                                const QList<int> &projection,
                                const std::function<bool(const Internal::RowColumns &)> &keep,
                                const std::function<void(const Internal::RowColumns &)> &row);
    // Rolls back and releases the savepoint of a body that failed, with `run` (savepoint() or
    // write()); if that fails too, the open batch is broken (m_batchBroken).
    void undoBody(const std::function<Result<void>(const QString &)> &run);

    QString m_connectionName;
    Dialect m_dialect;
    int m_schemaVersion = 0;
    int m_foundSchemaVersion = 0;
    QString m_backupPath;
    int m_transactionDepth = 0;
    std::function<void()> m_scheduleCommit;
    bool m_batchOpen = false;
    QElapsedTimer m_batchClock; // since the open batch was opened
    bool m_writeBehind = false;
    bool m_flushing = false;       // writing pending rows: the public calls write at once
    bool m_inBody = false;         // a transaction() body of the open batch is running
    bool m_bodySavepoint = false;  // ... and has opened its savepoint
    PendingRows m_batchRows;       // from finished bodies and from outside any body
    PendingRows m_bodyRows;        // from the running body: dropped when it fails
    std::optional<Error> m_batchBroken; // pending rows could not be written: the batch must not commit
    qint64 m_lastEventId = 0;
    qint64 m_roundTrips = 0;
    // PostgreSQL away (see isAway()).
    bool m_away = false;
    // ... or only its transaction: a statement of the batch waited past lock_timeout for a row
    // lock another session holds (noteConnectionLost()). The session is kept; the batch is held
    // and written again as after a reconnect.
    bool m_contended = false;
    bool m_writingBatch = false; // the open batch's own rows or its commit are being written
    QElapsedTimer m_contentionTold;
    QElapsedTimer m_awayClock;
    QElapsedTimer m_backClock;
    bool m_finalFlush = false; // the commit's own flush: its rows are kept, not logged
    bool m_replaying = false;
    bool m_notLogged = false; // claimAhead()'s statement: its used claims are logged one by one
    struct Logged
    {
        QString sql;      // bindings inlined
        qint64 rows = -1; // rows changed, or locked by a FOR NO KEY UPDATE read; -1: not compared
        bool locking = false;
        bool stagesEvents = false;
    };
    QList<Logged> m_replayLog; // what the open batch wrote before its commit
    PendingRows m_finalRows;   // the rows its commit wrote (again rows if the commit is lost)
    // A fleet member's batches each set its orchestrators row's last_batch (migration 010), in
    // the same round trip as COMMIT: when the answer to a COMMIT is lost, the row says, once the
    // database is back, whether that batch was applied (its changes are then not made again) or
    // not (they are replayed).
    QString m_batchMarkerId;
    qint64 m_batchSeq = 0;
    struct UnansweredCommit
    {
        qint64 seq = 0;
        PendingRows rows; // its final rows, kept apart from what changed after
    };
    std::optional<UnansweredCommit> m_unanswered;
    // claimAhead(): the rows this batch locked (and the ids it found taken: nullopt), until it
    // ends or the connection is lost.
    QHash<QString, std::optional<StepRecord>> m_claimedAhead;
    bool claimedAhead(const QString &id) const { return m_claimedAhead.contains(id); }
    // What claimQueuedStep() would have run for `id`, logged for a replay as if it had.
    void logClaimForReplay(const QString &id, bool found);
    Result<void> commitMarked(QSqlDatabase &db);
    Result<void> settleUnansweredCommit();
    qint64 m_idleInTransactionMs = 0;
    qint64 m_lockMs = 0;
    QSet<qint64> m_uncommittedEventIds; // PostgreSQL: pending ids of events not committed yet
    QSet<qint64> m_committedEventIds;   // ... and committed
    void eventsCommitted(bool committed)
    {
        if (committed)
            m_committedEventIds.unite(m_uncommittedEventIds);
        m_uncommittedEventIds.clear();
    }
    std::unique_ptr<SqliteCommitter> m_committer; // write-behind on a file: commits off this thread
    bool m_mainWrote = false;  // this batch wrote on this thread's connection: commit it here
    int m_commitsInFlight = 0; // handed to m_committer, `done` not yet run
    // SQLite statements prepared once (see write() and forEachRow()); `busy` while a visitor
    // reads its rows, so that a nested use of the same text prepares a fresh one.
    struct Prepared
    {
        std::unique_ptr<QSqlQuery> query;
        bool busy = false;
    };
    Result<QSqlQuery *> prepared(const QString &sql, const QVariantList &bindings);
    // prepared(), run: a statement that fails is logged (its first 80 characters) and finished.
    Result<QSqlQuery *> executedStatement(const QString &sql, const QVariantList &bindings);
    std::unordered_map<QString, Prepared> m_prepared;
    SqliteWriter m_writer; // write() on SQLite
    int m_cursors = 0;
    QString m_listenerName;
    std::unique_ptr<WalCheckpointer> m_checkpointer;
};

} // namespace Swamp
