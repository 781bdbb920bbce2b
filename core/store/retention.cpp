// Store: retention (ended steps with their leases and output, empty runs, old operator events)
// and pruning of long-gone workers. Dialect-neutral SQL: SQLite and PostgreSQL alike. Every
// SELECT is read to the end before the next statement runs (one statement at a time on a
// PostgreSQL connection).
#include "store/columns_p.h"
#include "store/store.h"

#include <QSet>

namespace Swamp {

namespace {
// Terminal step states (isTerminal() in model/step.h); written out for the SQL.
const char EndedStates[] = "'succeeded', 'failed', 'cancelled', 'timed_out'";

// An ended step retention may delete, with the number of rows it takes with it: itself, its
// output chunks, its leases.
struct EndedStep
{
    QString id;
    QString runId;
    qint64 cost = 0;
};

// The oldest ended steps before `cutoff` without an active lease, at most `maxRows`.
Result<QList<EndedStep>> oldestEndedSteps(Store &store, const QDateTime &cutoff, int maxRows)
{
    // The rows each step takes with it are counted, not taken from its counters. The state is
    // tested with NOT IN so that the planner walks steps_by_finished in order and stops at the
    // limit, instead of sorting every ended step.
    auto query = store.exec(
        QStringLiteral("SELECT id, run_id, "
                       "(SELECT COUNT(*) FROM step_output o WHERE o.step_id = steps.id), "
                       "(SELECT COUNT(*) FROM step_leases l WHERE l.step_id = steps.id) FROM steps "
                       "WHERE finished_at < ? AND state NOT IN ('queued', 'dispatched', 'running') "
                       "AND NOT EXISTS (SELECT 1 FROM step_leases l WHERE l.step_id = steps.id "
                       "AND l.state = 'active') "
                       "ORDER BY finished_at LIMIT ?"),
        {Store::toMs(cutoff), maxRows});
    if (!query)
        return fail(query.error());
    QList<EndedStep> steps;
    while (query->next()) {
        steps << EndedStep{query->value(0).toString(), query->value(1).toString(),
                           1 + query->value(2).toLongLong() + query->value(3).toLongLong()};
    }
    return steps;
}

// The oldest steps while their rows fit `maxRows` (always at least one); sets `more` when a
// step was left for the next batch.
QList<EndedStep> stepsThatFit(const QList<EndedStep> &candidates, int maxRows, bool &more)
{
    QList<EndedStep> taken;
    qint64 rows = 0;
    for (const EndedStep &candidate : candidates) {
        if (!taken.isEmpty() && rows + candidate.cost > maxRows) {
            more = true;
            break;
        }
        taken << candidate;
        rows += candidate.cost;
    }
    return taken;
}

// The first `maxRows` output chunks of one step; returns how many were deleted.
Result<int> deleteFirstOutputChunks(Store &store, const QString &stepId, int maxRows)
{
    auto chunks = store.exec(
        QStringLiteral("DELETE FROM step_output WHERE step_id = ? AND chunk IN "
                       "(SELECT chunk FROM step_output WHERE step_id = ? ORDER BY chunk LIMIT ?)"),
        {stepId, stepId, maxRows});
    if (!chunks)
        return fail(chunks.error());
    return chunks->numRowsAffected();
}

// The steps with their output and their leases (none active, or the step is kept), counted into
// `batch`.
Result<void> deleteStepsWithRows(Store &store, const QList<EndedStep> &steps,
                                 Store::RetentionBatch &batch)
{
    QVariantList ids;
    for (const EndedStep &step : steps)
        ids << step.id;
    const QString in = placeholders(ids.size());
    auto output =
        store.exec(QStringLiteral("DELETE FROM step_output WHERE step_id IN (%1)").arg(in), ids);
    if (!output)
        return fail(output.error());
    batch.outputChunks += output->numRowsAffected();
    auto leases = store.exec(
        QStringLiteral("DELETE FROM step_leases WHERE step_id IN (%1) AND state <> 'active'")
            .arg(in),
        ids);
    if (!leases)
        return fail(leases.error());
    batch.leases = leases->numRowsAffected();
    auto deleted = store.exec(QStringLiteral("DELETE FROM steps WHERE id IN (%1) AND state IN (%2)")
                                  .arg(in, QLatin1String(EndedStates)),
                              ids);
    if (!deleted)
        return fail(deleted.error());
    batch.steps = deleted->numRowsAffected();
    return {};
}

// The runs of `steps` that have no step left; returns how many were deleted.
Result<int> deleteEmptiedRuns(Store &store, const QList<EndedStep> &steps)
{
    QSet<QString> runIds;
    for (const EndedStep &step : steps)
        runIds.insert(step.runId);
    QVariantList runs;
    for (const QString &runId : std::as_const(runIds))
        runs << runId;
    auto emptied = store.exec(QStringLiteral("DELETE FROM runs WHERE id IN (%1) AND NOT EXISTS "
                                             "(SELECT 1 FROM steps s WHERE s.run_id = runs.id)")
                                  .arg(placeholders(runs.size())),
                              runs);
    if (!emptied)
        return fail(emptied.error());
    return emptied->numRowsAffected();
}
} // namespace

Result<Store::RetentionBatch> Store::deleteEndedSteps(const QDateTime &cutoff, int maxRows)
{
    maxRows = std::max(1, maxRows);
    RetentionBatch batch;
    auto done = transaction([&]() -> Result<void> {
        const auto candidates = oldestEndedSteps(*this, cutoff, maxRows);
        if (!candidates)
            return fail(candidates.error());
        if (candidates->isEmpty())
            return {};
        batch.more = candidates->size() == maxRows;
        const QList<EndedStep> taken = stepsThatFit(*candidates, maxRows, batch.more);
        if (taken.size() == 1 && taken.first().cost > maxRows) {
            // One step with much output: its chunks go first, maxRows per batch.
            const auto chunks = deleteFirstOutputChunks(*this, taken.first().id, maxRows);
            if (!chunks)
                return fail(chunks.error());
            batch.outputChunks += *chunks;
            if (*chunks >= maxRows) {
                batch.more = true;
                return {};
            }
        }
        if (auto deleted = deleteStepsWithRows(*this, taken, batch); !deleted)
            return deleted;
        const auto emptied = deleteEmptiedRuns(*this, taken);
        if (!emptied)
            return fail(emptied.error());
        batch.runs = *emptied;
        return {};
    });
    if (!done)
        return fail(done.error());
    return batch;
}

Result<int> Store::deleteEventsBefore(const QDateTime &cutoff, int maxRows)
{
    auto query =
        exec(QStringLiteral("DELETE FROM events WHERE id IN "
                            "(SELECT id FROM events WHERE at < ? ORDER BY at, id LIMIT ?)"),
             {toMs(cutoff), std::max(1, maxRows)});
    if (!query)
        return fail(query.error());
    return query->numRowsAffected();
}

Result<QList<WorkerRecord>> Store::workersGoneBefore(const QDateTime &cutoff)
{
    return workers(QStringLiteral("WHERE status IN ('disconnected', 'lost') "
                                  "AND COALESCE(disconnected_at, last_seen_at) < ? "
                                  "ORDER BY COALESCE(disconnected_at, last_seen_at), id"),
                   {toMs(cutoff)});
}

Result<int> Store::deleteBindingsOf(const WorkerRecord &worker)
{
    auto bindings = exec(QStringLiteral("DELETE FROM token_bindings WHERE machine_id = ? AND token_id IN "
                                        "(SELECT id FROM enrollment_tokens WHERE name = ?)"),
                         {worker.machineId, worker.tokenName});
    if (!bindings)
        return fail(bindings.error());
    return bindings->numRowsAffected();
}

Result<int> Store::deleteWithBindings(const WorkerRecord &worker, const std::function<Result<void>()> &deleteRow)
{
    int freed = 0;
    auto done = transaction([&]() -> Result<void> {
        auto bindings = deleteBindingsOf(worker);
        if (!bindings)
            return fail(bindings.error());
        freed = *bindings;
        return deleteRow();
    });
    if (!done)
        return fail(done.error());
    return freed;
}

Result<int> Store::deleteWorker(const WorkerRecord &worker)
{
    return deleteWithBindings(worker, [&]() -> Result<void> {
        // Not while an alive orchestrator keeps it within its reconnect grace: it may resume.
        auto removed =
            exec(QStringLiteral(
                     "DELETE FROM workers WHERE id = ? AND status IN ('disconnected', 'lost') "
                     "AND (grace_until IS NULL OR orchestrator_id NOT IN "
                     "(SELECT id FROM orchestrators WHERE state = 'alive'))"),
                 {worker.id});
        if (!removed)
            return fail(removed.error());
        if (removed->numRowsAffected() != 1) {
            // Reconnected meanwhile (through another orchestrator on a shared database), or
            // dropped into another one's grace: keep it.
            return fail(QStringLiteral("worker_connected"),
                        Tr::tr("worker %1 is connected again; it was not pruned").arg(worker.name),
                        Tr::tr("prune only workers that stay gone; see 'swamp worker list --all'"));
        }
        return {};
    });
}

Result<int> Store::removeWorker(const WorkerRecord &worker)
{
    return deleteWithBindings(worker, [&] { return execute(QStringLiteral("DELETE FROM workers WHERE id = ?"), {worker.id}); });
}

} // namespace Swamp
