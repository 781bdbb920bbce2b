// Workers (table workers).
#include "store/store.h"
#include "store/columns_p.h"

#include <QJsonDocument>
#include <QSqlError>

namespace Swamp {

static const char WorkerColumns[] =
    "SELECT id, name, machine_id, token_id, token_name, instance_id, labels, platform, arch, "
    "version, hostname, capacity, status, draining, orchestrator, enrolled_at, last_seen_at, "
    "disconnected_at, created_at, updated_at, orchestrator_id, grace_until, paused, operator_labels, chosen_name FROM workers ";

static QString overridesText(const LabelOverrides &labels)
{
    return QString::fromUtf8(QJsonDocument(labels.toJson()).toJson(QJsonDocument::Compact));
}

static WorkerRecord workerFromQuery(const QSqlQuery &q)
{
    WorkerRecord w;
    w.id = q.value(0).toString();
    w.name = q.value(1).toString();
    w.machineId = q.value(2).toString();
    w.tokenId = q.value(3).toString();
    w.tokenName = q.value(4).toString();
    w.instanceId = q.value(5).toString();
    w.ownLabels = labelsFromText(q.value(6).toString());
    w.platform = q.value(7).toString();
    w.arch = q.value(8).toString();
    w.version = q.value(9).toString();
    w.hostname = q.value(10).toString();
    w.capacity = q.value(11).toInt();
    w.status = workerStatusFromName(q.value(12).toString());
    w.draining = q.value(13).toInt() != 0;
    w.orchestrator = q.value(14).toString();
    w.enrolledAt = Store::fromMs(q.value(15));
    w.lastSeenAt = Store::fromMs(q.value(16));
    w.disconnectedAt = Store::fromMs(q.value(17));
    w.createdAt = Store::fromMs(q.value(18));
    w.updatedAt = Store::fromMs(q.value(19));
    w.orchestratorId = q.value(20).toString();
    w.graceUntil = Store::fromMs(q.value(21));
    w.paused = q.value(22).toInt() != 0;
    w.operatorLabels = LabelOverrides::fromJson(QJsonDocument::fromJson(q.value(23).toString().toUtf8()).object());
    w.labels = w.operatorLabels.appliedTo(w.ownLabels);
    w.nameChosen = !q.value(24).isNull();
    return w;
}

Result<std::optional<WorkerRecord>> Store::workerByMachine(const QString &machineId,
                                                           const QString &tokenName)
{
    std::optional<WorkerRecord> found;
    auto read = select(QString::fromLatin1(WorkerColumns) + QStringLiteral("WHERE machine_id = ? AND token_name = ?"),
                       {machineId, tokenName}, [&](const QSqlQuery &query) { found = workerFromQuery(query); });
    if (!read)
        return fail(read.error());
    return found;
}

Result<void> Store::upsertWorker(const WorkerRecord &w, const QString &onlyIfHeldBy)
{
    // The labels column is the worker's own; without an operator's labels they are its labels.
    const Labels &own = w.operatorLabels.isEmpty() ? w.labels : w.ownLabels;
    QVariantList bindings{w.id, w.name, w.machineId, w.tokenId, w.tokenName, w.instanceId, labelsText(own),
                          w.platform, w.arch, w.version, w.hostname, w.capacity, workerStatusName(w.status),
                          w.draining ? 1 : 0, w.orchestrator, toMs(w.enrolledAt), toMs(w.lastSeenAt),
                          toMsOrNull(w.disconnectedAt), toMs(w.createdAt), toMs(w.updatedAt),
                          w.orchestratorId.isNull() ? QStringLiteral("") : w.orchestratorId,
                          toMsOrNull(w.graceUntil), w.paused ? 1 : 0, overridesText(w.operatorLabels),
                          w.nameChosen ? QVariant(w.name) : QVariant(QMetaType::fromType<QString>())};
    QString held;
    if (!onlyIfHeldBy.isEmpty()) {
        held = QStringLiteral(" WHERE workers.orchestrator_id = ?");
        bindings << onlyIfHeldBy;
    }
    return execute(
               QStringLiteral(
                   "INSERT INTO workers (id, name, machine_id, token_id, token_name, instance_id, "
                   "labels, platform, arch, version, hostname, capacity, status, draining, "
                   "orchestrator, enrolled_at, last_seen_at, disconnected_at, created_at, "
                   "updated_at, orchestrator_id, grace_until, paused, operator_labels, chosen_name) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                   "ON CONFLICT (id) DO UPDATE SET name = excluded.name, token_id = "
                   "excluded.token_id, instance_id = excluded.instance_id, labels = excluded.labels, "
                   "platform = excluded.platform, arch = excluded.arch, version = excluded.version, "
                   "hostname = excluded.hostname, capacity = excluded.capacity, status = "
                   "excluded.status, draining = excluded.draining, orchestrator = "
                   "excluded.orchestrator, enrolled_at = excluded.enrolled_at, last_seen_at = "
                   "excluded.last_seen_at, disconnected_at = excluded.disconnected_at, updated_at = "
                   "excluded.updated_at, orchestrator_id = excluded.orchestrator_id, "
                   "grace_until = excluded.grace_until, chosen_name = excluded.chosen_name") + held,
               bindings)
        ;
}

Store::Statement Store::workerStateStatement(const WorkerRecord &w, const QString &onlyIfHeldBy)
{
    Statement statement{QStringLiteral("UPDATE workers SET status = ?, draining = ?, last_seen_at = ?, "
                                       "disconnected_at = ?, updated_at = ? WHERE id = ?"),
                        {workerStatusName(w.status), w.draining ? 1 : 0, toMs(w.lastSeenAt),
                         toMsOrNull(w.disconnectedAt), toMs(w.updatedAt), w.id}};
    if (!onlyIfHeldBy.isEmpty()) {
        statement.sql += QStringLiteral(" AND orchestrator_id = ?");
        statement.values << onlyIfHeldBy;
    }
    return statement;
}

Result<void> Store::updateWorkerState(const WorkerRecord &w, const QString &onlyIfHeldBy)
{
    if (deferring())
        return defer(PendingRow{w.id, false, onlyIfHeldBy, w});
    return execute(workerStateStatement(w, onlyIfHeldBy));
}

Result<void> Store::setWorkerPaused(const QString &workerId, bool paused, const QDateTime &now)
{
    return execute(QStringLiteral("UPDATE workers SET paused = ?, updated_at = ? WHERE id = ?"),
                   {paused ? 1 : 0, toMs(now), workerId});
}

Result<void> Store::setWorkerOperatorLabels(const QString &workerId, const LabelOverrides &labels, const QDateTime &now)
{
    return execute(QStringLiteral("UPDATE workers SET operator_labels = ?, updated_at = ? WHERE id = ?"),
                   {overridesText(labels), toMs(now), workerId});
}

Result<QList<WorkerRecord>> Store::allWorkers()
{
    return workers(QStringLiteral("ORDER BY name, id"));
}

Result<QList<WorkerRecord>> Store::workers(const QString &whereSql, const QVariantList &bindings)
{
    auto query = exec(QString::fromLatin1(WorkerColumns) + whereSql, bindings);
    if (!query)
        return fail(query.error());
    QList<WorkerRecord> list;
    while (query->next())
        list << workerFromQuery(*query);
    return list;
}

Result<int> Store::reconcileWorkersOnBoot(const QDateTime &now)
{
    auto query = exec(QStringLiteral("UPDATE workers SET status = 'disconnected', draining = 0, "
                                     "disconnected_at = ?, updated_at = ? WHERE status NOT IN "
                                     "('disconnected', 'lost')"),
                      {toMs(now), toMs(now)});
    if (!query)
        return fail(query.error());
    return query->numRowsAffected();
}

// The events table's data column: the object's JSON text, "{}" when there is none.

} // namespace Swamp
