// Store: runs, steps, step leases and step output.
#include "store/store.h"
#include "store/columns_p.h"

#include "store/rows_p.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace Swamp {

namespace {
QString jsonText(const QJsonObject &object)
{
    return QString::fromUtf8(QJsonDocument(object).toJson(QJsonDocument::Compact));
}

QString jsonText(const QJsonArray &array)
{
    return QString::fromUtf8(QJsonDocument(array).toJson(QJsonDocument::Compact));
}

QVariant nullableText(const QString &text)
{
    return text.isEmpty() ? QVariant(QMetaType::fromType<QString>()) : QVariant(text);
}

QVariant nullableInt(const std::optional<int> &value)
{
    return value ? QVariant(*value) : QVariant(QMetaType::fromType<int>());
}
} // namespace

Store::Statement Store::runInsertStatement(const RunRecord &r)
{
    return {QStringLiteral("INSERT INTO runs (id, name, state, created_at, updated_at, finished_at) "
                           "VALUES (?, ?, ?, ?, ?, ?)"),
            {r.id, r.name, stepStateName(r.state), toMs(r.createdAt), toMs(r.updatedAt), toMsOrNull(r.finishedAt)}};
}

Store::Statement Store::runUpdateStatement(const RunRecord &r)
{
    return {QStringLiteral("UPDATE runs SET state = ?, updated_at = ?, finished_at = ? WHERE id = ?"),
            {stepStateName(r.state), toMs(r.updatedAt), toMsOrNull(r.finishedAt), r.id}};
}

Result<void> Store::insertRun(const RunRecord &r)
{
    if (deferring())
        return defer(PendingRow{r.id, true, {}, r});
    return execute(runInsertStatement(r));
}

Result<void> Store::updateRun(const RunRecord &r)
{
    if (deferring())
        return defer(PendingRow{r.id, false, {}, r});
    return execute(runUpdateStatement(r));
}

RunRecord runFromQuery(const QSqlQuery &q)
{
    return RunRecord{q.value(0).toString(), q.value(1).toString(), stepStateFromName(q.value(2).toString()),
                     Store::fromMs(q.value(3)), Store::fromMs(q.value(4)), Store::fromMs(q.value(5))};
}

Result<std::optional<RunRecord>> Store::run(const QString &id)
{
    std::optional<RunRecord> found;
    auto read = select(QString::fromLatin1(RunColumns) + QStringLiteral("WHERE id = ?"), {id},
                       [&](const QSqlQuery &q) { found = runFromQuery(q); });
    if (!read)
        return fail(read.error());
    return found;
}

Result<QList<RunRecord>> Store::runs(int limit)
{
    auto q = exec(QString::fromLatin1(RunColumns) + QStringLiteral("ORDER BY created_at DESC LIMIT ?"),
                  {limit < 0 ? std::numeric_limits<int>::max() : limit});
    if (!q)
        return fail(q.error());
    QList<RunRecord> list;
    while (q->next())
        list << runFromQuery(*q);
    return list;
}

Store::Statement Store::stepInsertStatement(const StepRecord &s)
{
    QJsonArray command = QJsonArray::fromStringList(s.spec.command);
    return {QStringLiteral("INSERT INTO steps (id, run_id, seq, name, command, shell, env, target, labels, "
                           "platform, timeout_ms, queue_timeout_ms, max_attempts, at_most_once, state, attempt, "
                           "exit_code, error, worker_id, worker_name, cancel_requested, output_bytes, "
                           "output_chunks, output_truncated, queued_at, started_at, finished_at, created_at, "
                           "updated_at, secret_env, secret_holder) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                           "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            {s.id, s.runId, s.seq, s.spec.name, jsonText(command), s.spec.shell ? 1 : 0, jsonText(s.spec.env),
             nullableText(s.spec.requirement.target), jsonText(labelsToJson(s.spec.requirement.labels)),
             nullableText(s.spec.requirement.platform),
             s.spec.timeoutMs > 0 ? QVariant(s.spec.timeoutMs) : QVariant(QMetaType::fromType<qlonglong>()),
             s.spec.queueTimeoutMs, s.spec.maxAttempts, s.spec.atMostOnce ? 1 : 0, stepStateName(s.state),
             s.attempt, nullableInt(s.exitCode), nullableText(s.error), nullableText(s.workerId),
             nullableText(s.workerName), s.cancelRequested ? 1 : 0, s.outputBytes, s.outputChunks,
             s.outputTruncated ? 1 : 0, toMs(s.queuedAt), toMsOrNull(s.startedAt), toMsOrNull(s.finishedAt),
             toMs(s.createdAt), toMs(s.updatedAt),
             // The names of --secret-env only: its values never reach the database.
             jsonText(QJsonArray::fromStringList(s.spec.secretNames)), nullableText(s.spec.secretHolder)}};
}

Store::Statement Store::stepUpdateStatement(const StepRecord &s)
{
    return {QStringLiteral("UPDATE steps SET state = ?, attempt = ?, exit_code = ?, error = ?, "
                           "worker_id = ?, worker_name = ?, "
                           // A cancel asked through another orchestrator is never undone.
                           "cancel_requested = CASE WHEN cancel_requested = 1 THEN 1 ELSE ? END, output_bytes = ?, "
                           "output_chunks = ?, output_truncated = ?, queued_at = ?, started_at = ?, "
                           "finished_at = ?, updated_at = ? WHERE id = ?"),
            {stepStateName(s.state), s.attempt, nullableInt(s.exitCode), nullableText(s.error),
             nullableText(s.workerId), nullableText(s.workerName), s.cancelRequested ? 1 : 0, s.outputBytes,
             s.outputChunks, s.outputTruncated ? 1 : 0, toMs(s.queuedAt), toMsOrNull(s.startedAt),
             toMsOrNull(s.finishedAt), toMs(s.updatedAt), s.id}};
}

Result<void> Store::insertStep(const StepRecord &s)
{
    if (deferring())
        return defer(PendingRow{s.id, true, {}, s});
    return execute(stepInsertStatement(s));
}

Result<void> Store::updateStep(const StepRecord &s)
{
    if (deferring())
        return defer(PendingRow{s.id, false, {}, s});
    return execute(stepUpdateStatement(s));
}

namespace Internal {

const char StepColumnsSql[] =
    "SELECT id, run_id, seq, name, command, shell, env, target, labels, platform, timeout_ms, "
    "queue_timeout_ms, max_attempts, at_most_once, state, attempt, exit_code, error, worker_id, "
    "worker_name, cancel_requested, output_bytes, output_chunks, output_truncated, queued_at, "
    "started_at, finished_at, created_at, updated_at, secret_env, secret_holder FROM steps ";

const char LeaseColumnsSql[] = "SELECT id, step_id, run_id, worker_id, worker_name, attempt, state, error, "
                               "exit_code, created_at, started_at, ended_at, updated_at, orchestrator_id "
                               "FROM step_leases ";

QDateTime timeFromColumn(const RowColumns &c, int column)
{
    const std::optional<qint64> ms = c.optionalInteger(column);
    return ms ? QDateTime::fromMSecsSinceEpoch(*ms, Qt::UTC) : QDateTime();
}

static std::optional<int> optionalInt(const RowColumns &c, int column)
{
    return c.isNull(column) ? std::nullopt : std::optional<int>(int(c.integer(column)));
}

// Every column but the four JSON texts, which the callers read their ways.
static StepRecord stepScalars(const RowColumns &c)
{
    StepRecord s;
    s.id = c.text(StepId);
    s.runId = c.text(StepRunId);
    s.seq = int(c.integer(StepSeq));
    s.spec.name = c.text(StepName);
    s.spec.shell = c.integer(StepShell) != 0;
    s.spec.requirement.target = c.text(StepTarget);
    s.spec.requirement.platform = c.text(StepPlatform);
    s.spec.timeoutMs = c.integer(StepTimeoutMs);
    s.spec.queueTimeoutMs = c.integer(StepQueueTimeoutMs);
    s.spec.maxAttempts = int(c.integer(StepMaxAttempts));
    s.spec.atMostOnce = c.integer(StepAtMostOnce) != 0;
    s.state = stepStateFromName(c.text(StepState_));
    s.attempt = int(c.integer(StepAttempt));
    s.exitCode = optionalInt(c, StepExitCode);
    s.error = c.text(StepError);
    s.workerId = c.text(StepWorkerId);
    s.workerName = c.text(StepWorkerName);
    s.cancelRequested = c.integer(StepCancelRequested) != 0;
    s.outputBytes = c.integer(StepOutputBytes);
    s.outputChunks = int(c.integer(StepOutputChunks));
    s.outputTruncated = c.integer(StepOutputTruncated) != 0;
    s.queuedAt = timeFromColumn(c, StepQueuedAt);
    s.startedAt = timeFromColumn(c, StepStartedAt);
    s.spec.secretHolder = c.text(StepSecretHolder);
    s.finishedAt = timeFromColumn(c, StepFinishedAt);
    s.createdAt = timeFromColumn(c, StepCreatedAt);
    s.updatedAt = timeFromColumn(c, StepUpdatedAt);
    return s;
}

StepRecord stepFromColumns(const RowColumns &c)
{
    StepRecord s = stepScalars(c);
    for (const QJsonValue &arg : QJsonDocument::fromJson(c.utf8(StepCommand)).array())
        s.spec.command << arg.toString();
    s.spec.env = QJsonDocument::fromJson(c.utf8(StepEnv)).object();
    s.spec.requirement.labels = labelsFromJson(QJsonDocument::fromJson(c.utf8(StepLabels)).object());
    for (const QJsonValue &name : QJsonDocument::fromJson(c.utf8(StepSecretEnv)).array())
        s.spec.secretNames << name.toString();
    return s;
}

StepRecord stepForJson(const RowColumns &c, TextCache &texts)
{
    StepRecord s = stepScalars(c);
    s.spec.command = texts.strings(c.utf8(StepCommand));
    s.spec.requirement.labels = texts.labels(c.utf8(StepLabels));
    s.spec.secretNames = texts.strings(c.utf8(StepSecretEnv));
    return s;
}

LeaseRecord leaseFromColumns(const RowColumns &c)
{
    LeaseRecord l;
    l.id = c.text(LeaseId);
    l.stepId = c.text(LeaseStepId);
    l.runId = c.text(LeaseRunId);
    l.workerId = c.text(LeaseWorkerId);
    l.workerName = c.text(LeaseWorkerName);
    l.attempt = int(c.integer(LeaseAttempt));
    l.state = leaseStateFromName(c.text(LeaseState_));
    l.error = c.text(LeaseError);
    l.exitCode = optionalInt(c, LeaseExitCode);
    l.createdAt = timeFromColumn(c, LeaseCreatedAt);
    l.startedAt = timeFromColumn(c, LeaseStartedAt);
    l.endedAt = timeFromColumn(c, LeaseEndedAt);
    l.updatedAt = timeFromColumn(c, LeaseUpdatedAt);
    l.orchestratorId = c.text(LeaseOrchestratorId);
    return l;
}

} // namespace Internal

static StepRecord stepFromQuery(const QSqlQuery &q)
{
    return Internal::stepFromColumns(Internal::QueryColumns(q));
}

static LeaseRecord leaseFromQuery(const QSqlQuery &q)
{
    return Internal::leaseFromColumns(Internal::QueryColumns(q));
}

Result<std::optional<StepRecord>> Store::step(const QString &id)
{
    auto list = steps(QStringLiteral("WHERE id = ?"), {id});
    if (!list)
        return fail(list.error());
    return list->isEmpty() ? std::optional<StepRecord>() : std::optional<StepRecord>(list->first());
}

Result<QList<StepRecord>> Store::steps(const QString &whereSql, const QVariantList &bindings)
{
    // The rows only fill a list: one statement, where forEachStep() declares, fetches from and
    // closes a cursor on PostgreSQL (three round trips for the one row of step() or a claim).
    QList<StepRecord> list;
    auto read = select(QString::fromLatin1(Internal::StepColumnsSql) + whereSql, bindings,
                       [&](const QSqlQuery &q) { list << stepFromQuery(q); });
    if (!read)
        return fail(read.error());
    return list;
}

namespace {
QString claimSql(const QString &where)
{
    return QString::fromLatin1(Internal::StepColumnsSql) + where + QStringLiteral(" AND state = 'queued'");
}
const QString SkipLocked = QStringLiteral(" FOR NO KEY UPDATE SKIP LOCKED");
} // namespace

Result<std::optional<StepRecord>> Store::claimQueuedStep(const QString &id)
{
    if (deferring()) {
        // A step row the open batch changed is this orchestrator's already: it inserted the step,
        // claimed it, or holds its lease. Nobody else can take it before the batch commits.
        if (const PendingRow *pending = pendingRow(PendingRowKind<StepRecord>, id)) {
            const StepRecord &step = std::get<StepRecord>(pending->row);
            return step.state == StepState::Queued ? std::optional<StepRecord>(step) : std::nullopt;
        }
        // Locked by claimAhead() in this batch (and held till it ends), or found taken then.
        if (const auto ahead = m_claimedAhead.constFind(id); ahead != m_claimedAhead.cend()) {
            logClaimForReplay(id, ahead->has_value());
            return *ahead;
        }
    }
    // SQLite has one writer (this process) and no row locks: the plain read is the claim. The
    // claim reads only the step's own row, which no pending row changes: no need to write them.
    const QString sql = claimSql(QStringLiteral("WHERE id = ?")) + (m_dialect == Dialect::Postgres ? SkipLocked : QString());
    auto query = deferring() ? execWithoutFlush(sql, {id}) : exec(sql, {id});
    if (!query)
        return fail(query.error());
    if (!query->next())
        return std::optional<StepRecord>();
    return std::optional<StepRecord>(stepFromQuery(*query));
}

Result<void> Store::claimAhead(const QStringList &ids)
{
    if (m_dialect != Dialect::Postgres || !deferring() || m_transactionDepth > 0 || ids.isEmpty()
        || claimedAhead(ids.first()) || pendingRow(PendingRowKind<StepRecord>, ids.first()))
        return {};
    QStringList wanted;
    for (const QString &id : ids) {
        if (!claimedAhead(id) && !pendingRow(PendingRowKind<StepRecord>, id) && !wanted.contains(id))
            wanted << id;
    }
    const QVariantList bindings(wanted.cbegin(), wanted.cend());
    // Not logged for a replay as it is: only the claims used are (logClaimForReplay()), so that a
    // replay does not compare rows this batch never depended on.
    m_notLogged = true;
    auto query = execWithoutFlush(claimSql(QStringLiteral("WHERE id IN (%1)").arg(placeholders(wanted.size()))) + SkipLocked, bindings);
    m_notLogged = false;
    if (!query)
        return fail(query.error());
    for (const QString &id : std::as_const(wanted))
        m_claimedAhead.insert(id, std::nullopt); // taken, locked by another, or not queued
    while (query->next()) {
        StepRecord step = stepFromQuery(*query);
        const QString id = step.id;
        m_claimedAhead.insert(id, std::move(step));
    }
    return {};
}

void Store::logClaimForReplay(const QString &id, bool found)
{
    if (!m_batchOpen || m_finalFlush || m_replaying)
        return;
    auto text = inlineBindings(claimSql(QStringLiteral("WHERE id = ?")) + SkipLocked, {id});
    if (text)
        m_replayLog << Logged{*text, found ? 1 : 0, true, false};
}

Result<void> Store::forEachStep(const QString &whereSql, const QVariantList &bindings,
                                const std::function<void(const StepRecord &)> &visit)
{
    return forEachRow(QString::fromLatin1(Internal::StepColumnsSql) + whereSql, bindings,
                      [&](const QSqlQuery &q) { visit(stepFromQuery(q)); });
}

Store::Statement Store::leaseInsertStatement(const LeaseRecord &l)
{
    return {QStringLiteral("INSERT INTO step_leases (id, step_id, run_id, worker_id, worker_name, attempt, "
                           "state, error, exit_code, created_at, started_at, ended_at, updated_at, "
                           "orchestrator_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            {l.id, l.stepId, l.runId, l.workerId, l.workerName, l.attempt, leaseStateName(l.state),
             nullableText(l.error), nullableInt(l.exitCode), toMs(l.createdAt), toMsOrNull(l.startedAt),
             toMsOrNull(l.endedAt), toMs(l.updatedAt), l.orchestratorId.isNull() ? QStringLiteral("") : l.orchestratorId}};
}

Store::Statement Store::leaseUpdateStatement(const LeaseRecord &l)
{
    return {QStringLiteral("UPDATE step_leases SET state = ?, error = ?, exit_code = ?, started_at = ?, "
                           "ended_at = ?, updated_at = ? WHERE id = ?"),
            {leaseStateName(l.state), nullableText(l.error), nullableInt(l.exitCode), toMsOrNull(l.startedAt),
             toMsOrNull(l.endedAt), toMs(l.updatedAt), l.id}};
}

Result<void> Store::insertLease(const LeaseRecord &l)
{
    if (deferring())
        return defer(PendingRow{l.id, true, {}, l});
    return execute(leaseInsertStatement(l));
}

Result<void> Store::updateLease(const LeaseRecord &l)
{
    if (deferring())
        return defer(PendingRow{l.id, false, {}, l});
    return execute(leaseUpdateStatement(l));
}

Result<std::optional<LeaseRecord>> Store::lease(const QString &id)
{
    auto list = leases(QStringLiteral("WHERE id = ?"), {id});
    if (!list)
        return fail(list.error());
    return list->isEmpty() ? std::optional<LeaseRecord>() : std::optional<LeaseRecord>(list->first());
}

Result<QList<LeaseRecord>> Store::leases(const QString &whereSql, const QVariantList &bindings)
{
    // One statement, as steps() does.
    QList<LeaseRecord> list;
    auto read = select(QString::fromLatin1(Internal::LeaseColumnsSql) + whereSql, bindings,
                       [&](const QSqlQuery &q) { list << leaseFromQuery(q); });
    if (!read)
        return fail(read.error());
    return list;
}

Result<void> Store::forEachLease(const QString &whereSql, const QVariantList &bindings,
                                 const std::function<void(const LeaseRecord &)> &visit)
{
    return forEachRow(QString::fromLatin1(Internal::LeaseColumnsSql) + whereSql, bindings,
                      [&](const QSqlQuery &q) { visit(leaseFromQuery(q)); });
}

Result<void> Store::appendOutput(const QString &stepId, int chunk, const QString &leaseId, int attempt,
                                 const QString &stream, const QString &data, const QDateTime &at)
{
    return execute(QStringLiteral("INSERT INTO step_output (step_id, chunk, lease_id, attempt, stream, data, at) "
                                  "VALUES (?, ?, ?, ?, ?, ?, ?)"),
                   {stepId, chunk, leaseId, attempt, stream, data, toMs(at)});
}

Result<QList<Store::OutputChunk>> Store::output(const QString &stepId, int afterChunk, int limit)
{
    auto q = exec(QStringLiteral("SELECT chunk, attempt, stream, data, at FROM step_output WHERE step_id = ? "
                                 "AND chunk > ? ORDER BY chunk LIMIT ?"),
                  {stepId, afterChunk, limit});
    if (!q)
        return fail(q.error());
    QList<OutputChunk> list;
    while (q->next()) {
        list << OutputChunk{q->value(0).toInt(), q->value(1).toInt(), q->value(2).toString(),
                            q->value(3).toString(), fromMs(q->value(4))};
    }
    return list;
}

} // namespace Swamp
