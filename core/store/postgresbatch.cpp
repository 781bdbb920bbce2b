// Write-behind on PostgreSQL: a batch's rows go to the server as a few multi-row statements just
// before its commit, instead of a statement (a network round trip, and on the server a parse and
// a plan) per row. The same pass checks that the leases this orchestrator wrote are still its
// own, brings the runs' states up to date, gives the batch's events their ids and wakes the fleet.
#include "store/store.h"
#include "store/columns_p.h"

#include "common/logging.h"

#include <QJsonDocument>
#include <QSqlError>

#include <algorithm>

namespace Swamp {

namespace {
// Rows per statement: a statement's text grows with them; a few hundred keep it far below what
// the server parses quickly.
constexpr qsizetype RowsPerStatement = 200;
// NOTIFY payloads must stay under 8000 bytes.
constexpr qsizetype NotifyPayloadBytes = 7900;

// "INSERT INTO t (...) VALUES (?, ?)" for n rows: the row's placeholders n times.
QString multiRowInsertSql(const QString &singleRow, qsizetype rows)
{
    const qsizetype values = singleRow.indexOf(QStringLiteral(" VALUES ("));
    Q_ASSERT(values > 0);
    const QString group = singleRow.mid(values + 8);
    QString sql = singleRow.left(values + 8);
    sql.reserve(sql.size() + rows * (group.size() + 2));
    for (qsizetype i = 0; i < rows; ++i) {
        if (i > 0)
            sql += QStringLiteral(", ");
        sql += group;
    }
    return sql;
}

// The shape of one kind of row's UPDATE as one statement for many rows:
// UPDATE t SET c = v.c::type, ... FROM (VALUES (...), ...) AS v(c, ..., id) WHERE t.id = v.id.
struct UpdateShape
{
    const char *table;
    // The single-row statement's values, in its order: "name:type" (the key `id` among them, and
    // values a condition reads marked "name:type:read", which are not assigned).
    const char *columns;
    // Assignments that are not a plain copy (the rest are), and a condition beyond the key's.
    const char *assignments = "";
    const char *where = "";
};

QString multiRowUpdateSql(const UpdateShape &shape, qsizetype rows, qsizetype valuesPerRow)
{
    QStringList names;
    QStringList set;
    const QString special = QString::fromLatin1(shape.assignments);
    for (const QString &column : QString::fromLatin1(shape.columns).split(u' ', Qt::SkipEmptyParts)) {
        const QString name = column.section(u':', 0, 0);
        names << name;
        if (name != u"id" && column.section(u':', 2) != u"read" && !special.contains(name + QStringLiteral(" =")))
            set << QStringLiteral("%1 = v.%1::%2").arg(name, column.section(u':', 1, 1));
    }
    if (!special.isEmpty())
        set << special;
    Q_ASSERT(names.size() == valuesPerRow);
    const QString group = u'(' + placeholders(valuesPerRow) + u')';
    QStringList groups;
    groups.reserve(rows);
    for (qsizetype i = 0; i < rows; ++i)
        groups << group;
    return QStringLiteral("UPDATE %1 AS t SET %2 FROM (VALUES %3) AS v(%4) WHERE t.id = v.id::text%5")
        .arg(QString::fromLatin1(shape.table), set.join(QStringLiteral(", ")), groups.join(QStringLiteral(", ")),
             names.join(QStringLiteral(", ")), QString::fromLatin1(shape.where));
}

const UpdateShape RunUpdate{"runs", "state:text updated_at:bigint finished_at:bigint id:text"};
const UpdateShape StepUpdate{
    "steps",
    "state:text attempt:bigint exit_code:bigint error:text worker_id:text worker_name:text cancel_requested:bigint "
    "output_bytes:bigint output_chunks:bigint output_truncated:bigint queued_at:bigint started_at:bigint "
    "finished_at:bigint updated_at:bigint id:text",
    // A cancel asked through another orchestrator is never undone.
    "cancel_requested = CASE WHEN t.cancel_requested = 1 THEN 1 ELSE v.cancel_requested::bigint END"};
const UpdateShape LeaseUpdate{"step_leases", "state:text error:text exit_code:bigint started_at:bigint "
                                             "ended_at:bigint updated_at:bigint id:text"};
const UpdateShape WorkerStateUpdate{"workers",
                                    "status:text draining:bigint last_seen_at:bigint disconnected_at:bigint "
                                    "updated_at:bigint id:text held_by:text:read",
                                    "", " AND (v.held_by IS NULL OR t.orchestrator_id = v.held_by::text)"};

} // namespace

Result<void> Store::flushPendingPostgres(const PendingRows &pending)
{
    if (auto checked = checkHeldLeases(pending); !checked)
        return checked;
    // Inserts first, by kind in the order the foreign keys need (runs, steps, leases), then the
    // updates of rows that already existed.
    std::array<QList<Statement>, 4> inserts;
    std::array<QList<Statement>, 4> updates;
    QList<const Event *> events;
    for (const PendingRow &row : pending.rows) {
        if (const Event *event = std::get_if<Event>(&row.row)) {
            events << event;
            continue;
        }
        Statement single = statementFor(row);
        if (const auto *worker = std::get_if<WorkerRecord>(&row.row)) {
            single = workerStateStatement(*worker, {});
            single.values << (row.heldBy.isEmpty() ? QVariant(QMetaType::fromType<QString>()) : QVariant(row.heldBy));
        }
        (row.insert ? inserts : updates)[row.row.index()] << std::move(single);
    }
    const std::array<const UpdateShape *, 4> shapes{&RunUpdate, &StepUpdate, &LeaseUpdate, &WorkerStateUpdate};
    auto write = [&](const QList<Statement> &rows, const UpdateShape *shape) -> Result<void> {
        for (qsizetype first = 0; first < rows.size(); first += RowsPerStatement) {
            const QList<Statement> chunk = rows.mid(first, RowsPerStatement);
            Statement statement;
            statement.sql = shape ? multiRowUpdateSql(*shape, chunk.size(), chunk.first().values.size())
                                  : multiRowInsertSql(chunk.first().sql, chunk.size());
            for (const Statement &row : chunk)
                statement.values << row.values;
            if (auto r = execute(statement); !r)
                return r;
        }
        return {};
    };
    for (const QList<Statement> &rows : inserts) {
        if (auto r = write(rows, nullptr); !r)
            return r;
    }
    for (size_t kind = 0; kind < updates.size(); ++kind) {
        if (auto r = write(updates[kind], shapes[kind]); !r)
            return r;
    }
    if (auto r = refreshRuns(pending.runsToRefresh); !r)
        return r;
    if (auto r = insertEventsNumbered(events); !r)
        return r;
    return notifyPending(pending.notifications);
}

Result<void> Store::checkHeldLeases(const PendingRows &pending)
{
    QVariantList ids;
    for (const QString &id : pending.heldLeases) {
        const PendingRow *row = pending.find(PendingRowKind<LeaseRecord>, id);
        if (!row || !row->insert)
            ids << id; // a lease the batch inserts is this orchestrator's by construction
    }
    if (ids.isEmpty())
        return {};
    // Locked, so that another orchestrator retiring one of them waits for this commit and then
    // finds it no longer active (its own compare-and-set fails, as it must).
    auto query = exec(QStringLiteral("SELECT id, state FROM step_leases WHERE id IN (%1) FOR NO KEY UPDATE")
                          .arg(placeholders(ids.size())),
                      ids);
    if (!query)
        return fail(query.error());
    QHash<QString, QString> states;
    while (query->next())
        states.insert(query->value(0).toString(), query->value(1).toString());
    for (const QVariant &id : std::as_const(ids)) {
        const auto state = states.constFind(id.toString());
        if (state != states.cend() && *state == u"active")
            continue;
        if (state == states.cend()) // never ended by anyone: the row this orchestrator wrote is gone
            return fail(QStringLiteral("evicted"), lostChangesText(Tr::tr("lease %1").arg(id.toString())), lostChangesFix());
        return fail(QStringLiteral("evicted"),
                    Tr::tr("lease %1 was ended by another orchestrator while this one held it: this "
                           "orchestrator was declared dead, and its changes since are not kept")
                        .arg(id.toString()),
                    Tr::tr("nothing to do: it stops, a supervisor (systemd Restart=on-failure) starts it "
                           "again, and its workers reconnect to the fleet"));
    }
    return {};
}

Result<void> Store::refreshRuns(const QSet<QString> &runIds)
{
    if (runIds.isEmpty())
        return {};
    QStringList sorted(runIds.cbegin(), runIds.cend());
    std::sort(sorted.begin(), sorted.end());
    const QVariantList ids(sorted.cbegin(), sorted.cend());
    const QString in = placeholders(ids.size());
    // The runs' rows are locked (in id order, so that two orchestrators cannot deadlock on them)
    // before their steps are read: a batch that commits meanwhile, changing another step of the
    // same run, is then seen, and no run keeps a state its steps have left.
    QHash<QString, RunRecord> runs;
    auto locked = select(QString::fromLatin1(RunColumns) + QStringLiteral("WHERE id IN (%1) ORDER BY id FOR NO KEY UPDATE").arg(in),
                         ids, [&](const QSqlQuery &q) {
                             RunRecord run = runFromQuery(q);
                             runs.insert(run.id, run);
                         });
    if (!locked)
        return locked;
    QHash<QString, QList<StepState>> states;
    auto read = select(QStringLiteral("SELECT run_id, state FROM steps WHERE run_id IN (%1) GROUP BY run_id, state").arg(in),
                       ids, [&](const QSqlQuery &q) {
                           states[q.value(0).toString()] << stepStateFromName(q.value(1).toString());
                       });
    if (!read)
        return read;
    QList<Statement> changed;
    const QDateTime now = QDateTime::currentDateTimeUtc();
    for (RunRecord &run : runs) {
        if (!states.contains(run.id))
            continue; // no steps (yet): nothing to follow
        const StepState state = runStateFrom(states.value(run.id));
        if (state == run.state)
            continue;
        run.state = state;
        run.updatedAt = now;
        if (isTerminal(state) && !run.finishedAt.isValid())
            run.finishedAt = now;
        changed << runUpdateStatement(run);
    }
    if (changed.isEmpty())
        return {};
    Statement statement{multiRowUpdateSql(RunUpdate, changed.size(), changed.first().values.size()), {}};
    for (const Statement &row : std::as_const(changed))
        statement.values << row.values;
    return execute(statement);
}

Result<void> Store::insertEventsNumbered(const QList<const Event *> &events)
{
    // Pending ids now, the real ones at commit (migration 007).
    for (qsizetype first = 0; first < events.size(); first += RowsPerStatement) {
        const Statement statement = eventsInsertStatement(events.mid(first, RowsPerStatement), false);
        auto query = exec(statement.sql + QStringLiteral(" RETURNING seq"), statement.values);
        if (!query)
            return fail(query.error());
        while (query->next())
            m_uncommittedEventIds.insert(query->value(0).toLongLong());
    }
    return {};
}

Result<void> Store::notifyPending(const QStringList &payloads)
{
    if (payloads.isEmpty())
        return {};
    // One statement; each payload a JSON array of notifications under NOTIFY's size limit.
    QStringList arrays;
    QString current;
    for (const QString &payload : payloads) {
        if (payload.toUtf8().size() + 2 > NotifyPayloadBytes) {
            qCWarning(lcDb) << "fleet notification too large, not sent (the heartbeat catches up):" << payload.left(80);
            continue;
        }
        if (!current.isEmpty() && current.toUtf8().size() + payload.toUtf8().size() + 2 > NotifyPayloadBytes) {
            arrays << current + u']';
            current.clear();
        }
        current += (current.isEmpty() ? QStringLiteral("[") : QStringLiteral(",")) + payload;
    }
    if (!current.isEmpty())
        arrays << current + u']';
    if (arrays.isEmpty())
        return {};
    QStringList calls;
    QVariantList values;
    for (const QString &array : std::as_const(arrays)) {
        calls << QStringLiteral("pg_notify(?, ?)");
        values << fleetChannel() << array;
    }
    return execute(QStringLiteral("SELECT ") + calls.join(QStringLiteral(", ")), values);
}

Result<bool> Store::updateHeldLease(const LeaseRecord &lease)
{
    if (!deferring() || m_dialect != Dialect::Postgres)
        return updateActiveLease(lease);
    if (auto r = defer(PendingRow{lease.id, false, {}, lease}); !r)
        return fail(r.error());
    pendingRows().heldLeases.insert(lease.id);
    return true;
}

Result<void> Store::refreshRunState(const QString &runId)
{
    if (deferring() && m_dialect == Dialect::Postgres) {
        if (auto opened = openBatch(); !opened)
            return opened;
        pendingRows().runsToRefresh.insert(runId);
        return {};
    }
    return transaction([&] { return refreshRuns({runId}); });
}

Result<void> Store::notifyFleet(const QJsonObject &payload)
{
    if (m_dialect != Dialect::Postgres)
        return {};
    const QString text = QString::fromUtf8(QJsonDocument(payload).toJson(QJsonDocument::Compact));
    if (deferring()) {
        if (auto opened = openBatch(); !opened)
            return opened;
        QStringList &pending = pendingRows().notifications;
        if (!pending.contains(text))
            pending << text;
        return {};
    }
    return execute(QStringLiteral("SELECT pg_notify(?, ?)"), {fleetChannel(), text});
}

} // namespace Swamp
