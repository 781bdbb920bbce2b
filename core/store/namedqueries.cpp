// The named queries the orchestrator's services and scheduler run: every statement they need
// that is not a plain read or write of one record. No SQL is written outside core/store/
// (scripts/check-layers.sh checks it); the services name what they want instead.
#include "store/store.h"

#include "store/columns_p.h"
#include "store/queryrows.h"
#include "store/rows_p.h"

namespace Swamp {

namespace {

const QString OpenStates = QStringLiteral("('queued', 'dispatched', 'running')");
const QString AliveOrchestrators = QStringLiteral("(SELECT id FROM orchestrators WHERE state = 'alive')");

// `attribute == value` conditions on the attributes that are columns of a table, as a WHERE
// clause; the others are left to the caller's predicate. Each condition is necessary, so the
// clause only narrows what the predicate then decides.
struct Filter
{
    QStringList columns; // of the conditions, in order
    QVariantList bindings;
    bool stateThroughTable = false; // `+state`: no index serves it (scanWhenMostRowsMatch())

    QString where() const
    {
        if (columns.isEmpty())
            return {};
        QStringList conditions;
        for (const QString &column : columns)
            conditions << (stateThroughTable && column == u"state" ? QStringLiteral("+state") : column) + QStringLiteral(" = ?");
        return QStringLiteral("WHERE ") + conditions.join(QStringLiteral(" AND ")) + u' ';
    }
};

Filter filterOn(const Store::AttributeEqualities &equalities, const QHash<QString, QString> &columns)
{
    Filter filter;
    for (const auto &[field, value] : equalities) {
        const QString column = columns.value(field);
        const bool integral = value.isDouble() && value.toDouble() == double(value.toInteger());
        if (column.isEmpty() || !(value.isString() || integral))
            continue;
        filter.columns << column;
        filter.bindings << (value.isString() ? QVariant(value.toString()) : QVariant(value.toInteger()));
    }
    return filter;
}

// The filter as SQLite should run it over `table`. Without statistics its planner follows an
// index for any equality: for `state = 'completed'` over 100,000 leases, 95,000 of them, that
// is a lookup by rowid per row, where reading the table through reads the same rows in half the
// time (47 vs 28 ms, issue 20). The index on state is the one that can be that unselective (run
// and step ids name a handful of rows): when it would be followed, its entries for the value are
// counted first (the index alone), and when they are over a quarter of the rows the condition is
// written `+state`, which no index serves. The count stops past a quarter, all the decision
// needs: 25,000 entries read, not 95,000 (3 ms where the whole count took 10-14).
Result<Filter> scanWhenMostRowsMatch(Store &store, Filter filter, const QString &table)
{
    const qsizetype state = filter.columns.indexOf(QStringLiteral("state"));
    if (store.dialect() != Store::Dialect::Sqlite || state < 0 || filter.columns.contains(QStringLiteral("run_id"))
        || filter.columns.contains(QStringLiteral("step_id")))
        return filter;
    // The highest rowid stands for the row count: never below it, above it after deletes (which
    // then leaves the index followed, as before). An empty table has none (0).
    const QString rows = QStringLiteral("(SELECT COALESCE(MAX(rowid), 0) FROM %1)").arg(table);
    auto counted = store.exec(QStringLiteral("SELECT COUNT(*), %2 FROM (SELECT 1 FROM %1 WHERE state = ? LIMIT %2 / 4 + 1)")
                                  .arg(table, rows),
                              {filter.bindings.at(state)});
    if (!counted)
        return fail(counted.error());
    if (!counted->next())
        return filter;
    const qint64 matching = counted->value(0).toLongLong(); // at most a quarter and one
    filter.stateThroughTable = matching * 4 > counted->value(1).toLongLong();
    return filter;
}

// Whether the database narrows the rows: those it gives then mostly match, and are read whole
// at once rather than first projected to what the predicate reads (forEachColumns()'s keep).
bool narrowed(const Filter &filter)
{
    return !filter.columns.isEmpty();
}

const QHash<QString, QString> StepAttributeColumns = {
    {QStringLiteral("state"), QStringLiteral("state")},         {QStringLiteral("workerName"), QStringLiteral("worker_name")},
    {QStringLiteral("exitCode"), QStringLiteral("exit_code")},  {QStringLiteral("runId"), QStringLiteral("run_id")},
    {QStringLiteral("attempt"), QStringLiteral("attempt")},     {QStringLiteral("target"), QStringLiteral("target")},
};
const QHash<QString, QString> LeaseAttributeColumns = {
    {QStringLiteral("state"), QStringLiteral("state")},         {QStringLiteral("workerName"), QStringLiteral("worker_name")},
    {QStringLiteral("exitCode"), QStringLiteral("exit_code")},  {QStringLiteral("runId"), QStringLiteral("run_id")},
    {QStringLiteral("stepId"), QStringLiteral("step_id")},      {QStringLiteral("workerId"), QStringLiteral("worker_id")},
    {QStringLiteral("attempt"), QStringLiteral("attempt")},
};
const QHash<QString, QString> AuditAttributeColumns = {
    {QStringLiteral("action"), QStringLiteral("action")},       {QStringLiteral("tokenName"), QStringLiteral("token_name")},
    {QStringLiteral("tokenId"), QStringLiteral("token_id")},    {QStringLiteral("workerName"), QStringLiteral("worker_name")},
    {QStringLiteral("address"), QStringLiteral("address")},
};

} // namespace

// --- the scheduler --------------------------------------------------------------------------

Result<void> Store::forEachQueuedStep(const std::function<void(const StepRecord &)> &visit)
{
    return forEachStep(QStringLiteral("WHERE state = 'queued'"), {}, visit);
}

namespace {

// `ids` as "IN (?, …)" lists of up to 256 marks: padded to a power of two (by repeating the last
// id), so that SQLite keeps a few statement texts prepared for every size.
struct IdChunk
{
    QString in;
    QVariantList ids;
};

QList<IdChunk> idChunks(const QStringList &ids)
{
    constexpr qsizetype Chunk = 256;
    QList<IdChunk> chunks;
    for (qsizetype from = 0; from < ids.size(); from += Chunk) {
        const QStringList chunk = ids.mid(from, Chunk);
        qsizetype marks = 1;
        while (marks < chunk.size())
            marks *= 2;
        IdChunk part{QStringLiteral("IN (?") + QStringLiteral(", ?").repeated(marks - 1) + u')', {}};
        for (qsizetype i = 0; i < marks; ++i)
            part.ids << chunk.at(std::min(i, chunk.size() - 1));
        chunks << part;
    }
    return chunks;
}

} // namespace

Result<void> Store::forEachQueuedStepSummary(const std::function<void(const QueuedStep &)> &visit)
{
    return queuedStepSummaries(QString(), {}, visit, true);
}

Result<void> Store::forEachQueuedStepSummary(const QStringList &ids, const std::function<void(const QueuedStep &)> &visit)
{
    for (const IdChunk &chunk : idChunks(ids)) {
        // A padded list names its last id more than once; IN matches its row once.
        if (auto r = queuedStepSummaries(QStringLiteral(" AND id ") + chunk.in, chunk.ids, visit, false); !r)
            return r;
    }
    return {};
}

Result<void> Store::queuedStepSummaries(const QString &andSql, const QVariantList &bindings,
                                        const std::function<void(const QueuedStep &)> &visit, bool stream)
{
    QString runId;
    QHash<QString, Labels> labels; // by their column's text: parsed once each
    // A whole queue is streamed (on PostgreSQL through a cursor); a few ids are one statement.
    const auto read = stream ? &Store::forEachRow : &Store::select;
    return (this->*read)(QStringLiteral("SELECT id, run_id, seq, attempt, target, labels, platform, queued_at, "
                                     "queue_timeout_ms, secret_env <> '[]' FROM steps WHERE state = 'queued'")
                          + andSql + QStringLiteral(" ORDER BY queued_at, seq"),
                      bindings, [&](const QSqlQuery &q) {
                          QueuedStep step;
                          step.id = q.value(0).toString();
                          if (const QString run = q.value(1).toString(); run != runId)
                              runId = run;
                          step.runId = runId;
                          step.seq = q.value(2).toInt();
                          step.attempt = q.value(3).toInt();
                          step.requirement.target = q.value(4).toString();
                          const QString labelsText = q.value(5).toString();
                          auto known = labels.constFind(labelsText);
                          if (known == labels.cend())
                              known = labels.insert(labelsText, labelsFromText(labelsText));
                          step.requirement.labels = *known;
                          step.requirement.platform = q.value(6).toString();
                          step.queuedAt = fromMs(q.value(7));
                          step.queueTimeoutMs = q.value(8).toLongLong();
                          step.hasSecrets = q.value(9).toBool();
                          visit(step);
                      });
}

namespace {

// `text` for a LIKE pattern with ESCAPE '\': its wildcards and the escape itself taken literally.
QString likeEscaped(QString text)
{
    text.replace(u'\\', QStringLiteral("\\\\"));
    text.replace(u'%', QStringLiteral("\\%"));
    text.replace(u'_', QStringLiteral("\\_"));
    return text;
}

} // namespace

// A prefix is first a range of the primary key, which both databases answer from the index (a LIKE
// 'p%' is not indexable on PostgreSQL under a non-C collation, nor on SQLite without
// case_sensitive_like); the escaped LIKE then keeps the exact matches. The range covers the hex
// digits before the first dash only: a locale's collation may skip punctuation, never reorder
// hex digits.
Result<QStringList> Store::idsMatching(IdTable table, const QString &typed, bool ending, int limit)
{
    const QString name = table == IdTable::Steps ? QStringLiteral("steps")
                         : table == IdTable::Runs ? QStringLiteral("runs")
                                                  : QStringLiteral("step_leases");
    QString sql = QStringLiteral("SELECT id FROM %1 WHERE ").arg(name);
    QVariantList bindings;
    const QString rangeStart = typed.left(typed.indexOf(u'-') < 0 ? typed.size() : typed.indexOf(u'-'));
    if (!ending && !rangeStart.isEmpty()) {
        QString rangeEnd = rangeStart;
        rangeEnd.back() = QChar(rangeEnd.back().unicode() + 1);
        sql += QStringLiteral("id >= ? AND id < ? AND ");
        bindings << rangeStart << rangeEnd;
    }
    sql += QStringLiteral("id LIKE ? ESCAPE '\\' ORDER BY id LIMIT ?");
    const QString pattern = likeEscaped(typed);
    bindings << QString(ending ? QStringLiteral("%") + pattern : pattern + QStringLiteral("%")) << limit;
    QStringList ids;
    auto read = select(sql, bindings, [&](const QSqlQuery &q) { ids << q.value(0).toString(); });
    if (!read)
        return fail(read.error());
    return ids;
}

Result<QList<StepRecord>> Store::stepsOnWorkers()
{
    return steps(QStringLiteral("WHERE state IN ('dispatched', 'running') ORDER BY queued_at, seq"));
}

Result<QList<StepRecord>> Store::stepsWithIds(const QStringList &ids, Lock lock)
{
    const QString forUpdate =
        lock == Lock::ForUpdate && m_dialect == Dialect::Postgres ? QStringLiteral(" FOR NO KEY UPDATE") : QString();
    QList<StepRecord> found;
    for (const IdChunk &chunk : idChunks(ids)) {
        auto part = steps(QStringLiteral("WHERE id ") + chunk.in + forUpdate, chunk.ids);
        if (!part)
            return fail(part.error());
        found += *part;
    }
    return found;
}

Result<QList<StepRecord>> Store::openStepsOf(const QString &stepOrRunId)
{
    return steps(QStringLiteral("WHERE (id = ? OR run_id = ?) AND state IN ") + OpenStates,
                 {stepOrRunId, stepOrRunId});
}

Result<QList<LeaseRecord>> Store::activeLeases()
{
    return leases(QStringLiteral("WHERE state = 'active'"));
}

Result<QList<LeaseRecord>> Store::activeLeasesOfWorker(const QString &workerId)
{
    return leases(QStringLiteral("WHERE worker_id = ? AND state = 'active' ORDER BY created_at"), {workerId});
}

Result<std::optional<WorkerRecord>> Store::workerWithId(const QString &workerId)
{
    auto rows = workers(QStringLiteral("WHERE id = ?"), {workerId});
    if (!rows)
        return fail(rows.error());
    return rows->isEmpty() ? std::optional<WorkerRecord>() : std::optional<WorkerRecord>(rows->first());
}

Result<QList<WorkerRecord>> Store::workersNamedElsewhere(const QString &name, const QString &machineId,
                                                         const QString &tokenName)
{
    return workers(QStringLiteral("WHERE name = ? AND NOT (machine_id = ? AND token_name = ?)"),
                   {name, machineId, tokenName});
}

Result<QList<LeaseRecord>> Store::activeLeasesOf(const QString &orchestratorId)
{
    return leases(QStringLiteral("WHERE state = 'active' AND orchestrator_id = ?"), {orchestratorId});
}

Result<QList<LeaseRecord>> Store::activeLeasesOfGoneOrchestrators(Lock lock)
{
    const QString forUpdate =
        lock == Lock::ForUpdate && m_dialect == Dialect::Postgres ? QStringLiteral(" FOR NO KEY UPDATE") : QString();
    return leases(QStringLiteral("WHERE state = 'active' AND orchestrator_id NOT IN ") + AliveOrchestrators + forUpdate);
}

Result<void> Store::expireLeases(const QStringList &ids, const QString &reason, const QDateTime &now)
{
    for (const IdChunk &chunk : idChunks(ids)) {
        if (auto r = execute(QStringLiteral("UPDATE step_leases SET state = 'expired', error = ?, ended_at = ?, updated_at = ? "
                                            "WHERE state = 'active' AND id ")
                                 + chunk.in,
                             QVariantList{reason, toMs(now), toMs(now)} + chunk.ids);
            !r)
            return r;
    }
    return {};
}

Result<QList<StepRecord>> Store::queuedStepsWithSecretsHeldBy(const QString &holder)
{
    if (holder.isEmpty()) {
        return steps(QStringLiteral("WHERE state = 'queued' AND secret_env <> '[]' AND (secret_holder IS NULL "
                                    "OR secret_holder NOT IN ") + AliveOrchestrators + u')');
    }
    return steps(QStringLiteral("WHERE state = 'queued' AND secret_env <> '[]' AND secret_holder = ?"), {holder});
}

Result<void> Store::requestStepCancel(const QString &stepId)
{
    return execute(QStringLiteral("UPDATE steps SET cancel_requested = 1 WHERE id = ?"), {stepId});
}

Result<int> Store::leasesGivenBack(const QString &stepId)
{
    auto count = exec(QStringLiteral("SELECT COUNT(*) FROM step_leases WHERE step_id = ? AND state = 'cancelled'"), {stepId});
    if (!count)
        return fail(count.error());
    return count->next() ? count->value(0).toInt() : 0;
}

Result<QList<std::pair<QString, StepState>>> Store::stepStatesOfRun(const QString &runId)
{
    QList<std::pair<QString, StepState>> states;
    auto read = select(QStringLiteral("SELECT id, state FROM steps WHERE run_id = ?"), {runId}, [&](const QSqlQuery &q) {
        states.append({q.value(0).toString(), stepStateFromName(q.value(1).toString())});
    });
    if (!read)
        return fail(read.error());
    return states;
}

// --- runs, queries ----------------------------------------------------------------------------

Result<QList<StepRecord>> Store::stepsOfRun(const QString &runId)
{
    return steps(QStringLiteral("WHERE run_id = ? ORDER BY seq"), {runId});
}

Result<QList<LeaseRecord>> Store::leasesOfRun(const QString &runId)
{
    return leases(QStringLiteral("WHERE run_id = ? ORDER BY created_at"), {runId});
}

Result<QHash<QString, QHash<QString, int>>> Store::stepCountsByRun()
{
    auto counts = exec(QStringLiteral("SELECT run_id, state, COUNT(*) FROM steps GROUP BY run_id, state"));
    if (!counts)
        return fail(counts.error());
    QHash<QString, QHash<QString, int>> byRun;
    while (counts->next())
        byRun[counts->value(0).toString()][counts->value(1).toString()] += counts->value(2).toInt();
    return byRun;
}

using KeepColumns = std::function<bool(const Internal::RowColumns &)>;

Result<void> Store::forEachStepRow(const AttributeEqualities &equalities, const std::optional<Query::FieldsRead> &reads,
                                   const std::function<bool(const StepRow &)> &keep,
                                   const std::function<void(const StepRow &)> &visit)
{
    auto planned = scanWhenMostRowsMatch(*this, filterOn(equalities, StepAttributeColumns), QStringLiteral("steps"));
    if (!planned)
        return fail(planned.error());
    const Filter &filter = *planned;
    Internal::TextCache texts;
    return forEachColumns(
        Internal::StepColumnsSql, filter.where(), filter.bindings, narrowed(filter) ? QList<int>() : StepRow::columnsFor(reads),
        keep ? [&](const Internal::RowColumns &columns) { return keep(StepRow(columns, texts)); } : KeepColumns(),
        [&](const Internal::RowColumns &columns) { visit(StepRow(columns, texts)); });
}

Result<void> Store::forEachLeaseRow(const AttributeEqualities &equalities, const std::optional<Query::FieldsRead> &reads,
                                    const std::function<bool(const LeaseRow &)> &keep,
                                    const std::function<void(const LeaseRow &)> &visit)
{
    auto planned = scanWhenMostRowsMatch(*this, filterOn(equalities, LeaseAttributeColumns), QStringLiteral("step_leases"));
    if (!planned)
        return fail(planned.error());
    const Filter &filter = *planned;
    return forEachColumns(
        Internal::LeaseColumnsSql, filter.where(), filter.bindings, narrowed(filter) ? QList<int>() : LeaseRow::columnsFor(reads),
        keep ? [&](const Internal::RowColumns &columns) { return keep(LeaseRow(columns)); } : KeepColumns(),
        [&](const Internal::RowColumns &columns) { visit(LeaseRow(columns)); });
}

Result<QList<AuditRecord>> Store::auditRecordsMatching(const AttributeEqualities &equalities)
{
    const Filter filter = filterOn(equalities, AuditAttributeColumns);
    return auditRecords(filter.where(), filter.bindings);
}

Result<QList<AuditRecord>> Store::tokenAuditRecords()
{
    return auditRecords(QStringLiteral("WHERE token_id IS NOT NULL"));
}

// --- workers in a fleet -----------------------------------------------------------------------

Result<QHash<QString, int>> Store::activeLeasesPerWorkerElsewhere(const QString &orchestratorId)
{
    auto counts = exec(QStringLiteral("SELECT worker_id, COUNT(*) FROM step_leases WHERE state = 'active' "
                                      "AND orchestrator_id <> ? GROUP BY worker_id"),
                       {orchestratorId});
    if (!counts)
        return fail(counts.error());
    QHash<QString, int> active;
    while (counts->next())
        active.insert(counts->value(0).toString(), counts->value(1).toInt());
    return active;
}

Result<QStringList> Store::liveWorkersOnTokenElsewhere(const QString &tokenName, const QString &orchestratorId)
{
    auto names = exec(QStringLiteral("SELECT name FROM workers WHERE token_name = ? AND orchestrator_id <> ? "
                                     "AND status NOT IN ('disconnected', 'lost') ORDER BY name"),
                      {tokenName, orchestratorId});
    if (!names)
        return fail(names.error());
    QStringList list;
    while (names->next())
        list << names->value(0).toString();
    return list;
}

Result<void> Store::endAliveOrchestrators(const QDateTime &now, const QString &reason)
{
    return execute(QStringLiteral("UPDATE orchestrators SET state = 'dead', ended_at = ?, ended_reason = ? "
                                  "WHERE state = 'alive'"),
                   {toMs(now), reason});
}

Result<bool> Store::orchestratorAlive(const QString &id)
{
    auto alive =
        exec(QStringLiteral("SELECT COUNT(*) FROM orchestrators WHERE id = ? AND state = 'alive'"),
             {id});
    if (!alive)
        return fail(alive.error());
    return alive->next() && alive->value(0).toInt() > 0;
}

Result<QSet<QString>> Store::workersWithinReconnectGrace()
{
    QSet<QString> ids;
    auto read = select(
        QStringLiteral(
            "SELECT id FROM workers WHERE status = 'disconnected' AND grace_until IS NOT NULL "
            "AND orchestrator_id IN ") +
            AliveOrchestrators,
        {}, [&](const QSqlQuery &q) { ids.insert(q.value(0).toString()); });
    if (!read)
        return fail(read.error());
    return ids;
}

Result<QString> Store::fleetLeader()
{
    auto leader = exec(QStringLiteral(
        "SELECT id FROM orchestrators WHERE state = 'alive' ORDER BY started_at, id LIMIT 1"));
    if (!leader)
        return fail(leader.error());
    return leader->next() ? leader->value(0).toString() : QString();
}

// --- metrics and health -----------------------------------------------------------------------

Result<QMap<QString, qint64>> Store::countBy(const QString &sql)
{
    auto query = exec(sql);
    if (!query)
        return fail(query.error());
    QMap<QString, qint64> counts;
    while (query->next())
        counts.insert(query->value(0).toString(), query->value(1).toLongLong());
    return counts;
}

Result<QMap<QString, qint64>> Store::workerCountsByStatus()
{
    return countBy(QStringLiteral("SELECT status, COUNT(*) FROM workers GROUP BY status"));
}

Result<QMap<QString, qint64>> Store::stepCountsByState(StepStates which)
{
    return countBy(QStringLiteral("SELECT state, COUNT(*) FROM steps WHERE state ")
                   + (which == StepStates::Open ? QStringLiteral("IN ") : QStringLiteral("NOT IN ")) + OpenStates
                   + QStringLiteral(" GROUP BY state"));
}

Result<qint64> Store::activeLeaseCount()
{
    auto leases = exec(QStringLiteral("SELECT COUNT(*) FROM step_leases WHERE state = 'active'"));
    if (!leases)
        return fail(leases.error());
    return leases->next() ? leases->value(0).toLongLong() : 0;
}

Result<void> Store::checkReadable()
{
    // A read of a real table: for SQLite this touches the file, for PostgreSQL the connection.
    auto answer = exec(QStringLiteral("SELECT COUNT(*) FROM schema_migrations"));
    if (!answer)
        return fail(answer.error());
    if (!answer->next())
        return fail(QStringLiteral("database"), Tr::tr("the database returned no row for a trivial query"));
    return {};
}

} // namespace Swamp
