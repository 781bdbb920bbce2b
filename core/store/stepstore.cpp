// Store: runs, steps, step leases and step output.
#include "store/store.h"

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

std::optional<int> optionalInt(const QVariant &value)
{
    return value.isNull() ? std::nullopt : std::optional<int>(value.toInt());
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

static RunRecord runFromQuery(const QSqlQuery &q)
{
    return RunRecord{q.value(0).toString(), q.value(1).toString(), stepStateFromName(q.value(2).toString()),
                     Store::fromMs(q.value(3)), Store::fromMs(q.value(4)), Store::fromMs(q.value(5))};
}

Result<std::optional<RunRecord>> Store::run(const QString &id)
{
    std::optional<RunRecord> found;
    auto read = select(QStringLiteral("SELECT id, name, state, created_at, updated_at, finished_at FROM runs WHERE id = ?"),
                           {id}, [&](const QSqlQuery &q) { found = runFromQuery(q); });
    if (!read)
        return fail(read.error());
    return found;
}

Result<QList<RunRecord>> Store::runs(int limit)
{
    auto q = exec(QStringLiteral("SELECT id, name, state, created_at, updated_at, finished_at FROM runs "
                                 "ORDER BY created_at DESC LIMIT ?"),
                  {limit < 0 ? std::numeric_limits<int>::max() : limit});
    if (!q)
        return fail(q.error());
    QList<RunRecord> list;
    while (q->next())
        list << runFromQuery(*q);
    return list;
}

static const char StepColumns[] =
    "SELECT id, run_id, seq, name, command, shell, env, target, labels, platform, timeout_ms, "
    "queue_timeout_ms, max_attempts, at_most_once, state, attempt, exit_code, error, worker_id, "
    "worker_name, cancel_requested, output_bytes, output_chunks, output_truncated, queued_at, "
    "started_at, finished_at, created_at, updated_at, secret_env, secret_holder FROM steps ";

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

static StepRecord stepFromQuery(const QSqlQuery &q)
{
    StepRecord s;
    s.id = q.value(0).toString();
    s.runId = q.value(1).toString();
    s.seq = q.value(2).toInt();
    s.spec.name = q.value(3).toString();
    for (const QJsonValue &arg : QJsonDocument::fromJson(q.value(4).toString().toUtf8()).array())
        s.spec.command << arg.toString();
    s.spec.shell = q.value(5).toInt() != 0;
    s.spec.env = QJsonDocument::fromJson(q.value(6).toString().toUtf8()).object();
    s.spec.requirement.target = q.value(7).toString();
    s.spec.requirement.labels = labelsFromJson(QJsonDocument::fromJson(q.value(8).toString().toUtf8()).object());
    s.spec.requirement.platform = q.value(9).toString();
    s.spec.timeoutMs = q.value(10).toLongLong();
    s.spec.queueTimeoutMs = q.value(11).toLongLong();
    s.spec.maxAttempts = q.value(12).toInt();
    s.spec.atMostOnce = q.value(13).toInt() != 0;
    s.state = stepStateFromName(q.value(14).toString());
    s.attempt = q.value(15).toInt();
    s.exitCode = optionalInt(q.value(16));
    s.error = q.value(17).toString();
    s.workerId = q.value(18).toString();
    s.workerName = q.value(19).toString();
    s.cancelRequested = q.value(20).toInt() != 0;
    s.outputBytes = q.value(21).toLongLong();
    s.outputChunks = q.value(22).toInt();
    s.outputTruncated = q.value(23).toInt() != 0;
    s.queuedAt = Store::fromMs(q.value(24));
    s.startedAt = Store::fromMs(q.value(25));
    for (const QJsonValue &name : QJsonDocument::fromJson(q.value(29).toString().toUtf8()).array())
        s.spec.secretNames << name.toString();
    s.spec.secretHolder = q.value(30).toString();
    s.finishedAt = Store::fromMs(q.value(26));
    s.createdAt = Store::fromMs(q.value(27));
    s.updatedAt = Store::fromMs(q.value(28));
    return s;
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
    auto read = select(QString::fromLatin1(StepColumns) + whereSql, bindings,
                       [&](const QSqlQuery &q) { list << stepFromQuery(q); });
    if (!read)
        return fail(read.error());
    return list;
}

Result<void> Store::forEachStep(const QString &whereSql, const QVariantList &bindings,
                                const std::function<void(const StepRecord &)> &visit)
{
    return forEachRow(QString::fromLatin1(StepColumns) + whereSql, bindings,
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

static const char LeaseColumns[] = "SELECT id, step_id, run_id, worker_id, worker_name, attempt, state, error, "
                                   "exit_code, created_at, started_at, ended_at, updated_at, orchestrator_id "
                                   "FROM step_leases ";

static LeaseRecord leaseFromQuery(const QSqlQuery &q)
{
    LeaseRecord l;
    l.id = q.value(0).toString();
    l.stepId = q.value(1).toString();
    l.runId = q.value(2).toString();
    l.workerId = q.value(3).toString();
    l.workerName = q.value(4).toString();
    l.attempt = q.value(5).toInt();
    l.state = leaseStateFromName(q.value(6).toString());
    l.error = q.value(7).toString();
    l.exitCode = optionalInt(q.value(8));
    l.createdAt = Store::fromMs(q.value(9));
    l.startedAt = Store::fromMs(q.value(10));
    l.endedAt = Store::fromMs(q.value(11));
    l.updatedAt = Store::fromMs(q.value(12));
    l.orchestratorId = q.value(13).toString();
    return l;
}

Result<QList<LeaseRecord>> Store::leases(const QString &whereSql, const QVariantList &bindings)
{
    // One statement, as steps() does.
    QList<LeaseRecord> list;
    auto read = select(QString::fromLatin1(LeaseColumns) + whereSql, bindings,
                       [&](const QSqlQuery &q) { list << leaseFromQuery(q); });
    if (!read)
        return fail(read.error());
    return list;
}

Result<void> Store::forEachLease(const QString &whereSql, const QVariantList &bindings,
                                 const std::function<void(const LeaseRecord &)> &visit)
{
    return forEachRow(QString::fromLatin1(LeaseColumns) + whereSql, bindings,
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
