// `worker.prune` and the audit trail of admin actions (who, from where, why).
#include "server/adminservice.h"

#include "common/duration.h"
#include "server/eventlog.h"
#include "server/sessions.h"
#include "server/transport/connections.h"
#include "store/store.h"

#include <QJsonArray>

namespace Swamp {

AuditRecord AdminService::auditRecord(AdminConnection *connection, const QString &action,
                                      const QDateTime &now) const
{
    AuditRecord record;
    record.at = now;
    record.action = action;
    record.adminKey = m_adminKey;
    if (connection) {
        record.client = connection->clientName;
        record.address = connection->peerAddress();
    }
    return record;
}

Result<void> AdminService::audited(AuditRecord &audit, const std::function<Result<void>()> &change)
{
    return m_store->transaction([&]() -> Result<void> {
        if (auto r = change(); !r)
            return r;
        auto id = m_store->insertAudit(audit);
        if (!id)
            return fail(id.error());
        audit.id = *id;
        return {};
    });
}

Result<QJsonObject> AdminService::pruneWorkers(AdminConnection *connection,
                                               const QJsonObject &params)
{
    constexpr qint64 DefaultGraceMs = 24LL * 3600 * 1000;
    const qint64 graceMs = params.value(QStringLiteral("gracePeriodMs")).toInteger(DefaultGraceMs);
    if (graceMs < 0) {
        return fail(QStringLiteral("invalid_duration"),
                    Tr::tr("the grace period must not be negative"),
                    Tr::tr("pass --grace-period with a number and a unit: 0s, 30m, 24h, 7d"));
    }
    const bool dryRun = params.value(QStringLiteral("dryRun")).toBool();
    const QDateTime now = QDateTime::currentDateTimeUtc();
    auto gone = m_store->workersGoneBefore(now.addMSecs(-graceMs));
    if (!gone)
        return fail(gone.error());
    // In a fleet another orchestrator may keep a worker within its grace: the rows say which.
    auto resumable = m_store->workersWithinReconnectGrace();
    if (!resumable)
        return fail(resumable.error());

    QJsonArray pruned;
    int inGrace = 0;
    for (const WorkerRecord &worker : std::as_const(*gone)) {
        // Disconnected within its reconnect grace: it may still resume its session and steps.
        if (m_sessions->pool().find(worker.id) || resumable->contains(worker.id)) {
            ++inGrace;
            continue;
        }
        QJsonObject json = worker.toJson();
        if (dryRun) {
            pruned << json;
            continue;
        }
        AuditRecord audit = auditRecord(connection, QStringLiteral("worker.prune"), now);
        audit.tokenId = worker.tokenId;
        audit.tokenName = worker.tokenName;
        audit.workerName = worker.name;
        int freed = 0;
        auto removed = audited(audit, [&]() -> Result<void> {
            auto bindings = m_store->deleteWorker(worker);
            if (!bindings)
                return fail(bindings.error());
            freed = *bindings;
            return {};
        });
        if (!removed) {
            if (removed.error().code == u"worker_connected")
                continue;
            return fail(removed.error());
        }
        const QDateTime goneAt =
            worker.disconnectedAt.isValid() ? worker.disconnectedAt : worker.lastSeenAt;
        m_events->append(
            QStringLiteral("worker.pruned"), worker.name,
            freed > 0
                ? Tr::tr(
                      "worker %1 pruned (%2 since %3); its enrollment on token '%4' is free again")
                      .arg(worker.name, workerStatusName(worker.status), isoUtc(goneAt),
                           worker.tokenName)
                : Tr::tr("worker %1 pruned (%2 since %3)")
                      .arg(worker.name, workerStatusName(worker.status), isoUtc(goneAt)),
            {{QStringLiteral("workerId"), worker.id},
             {QStringLiteral("tokenName"), worker.tokenName},
             {QStringLiteral("bindingsFreed"), freed}});
        json.insert(QStringLiteral("bindingsFreed"), freed);
        pruned << json;
    }
    return QJsonObject{{QStringLiteral("workers"), pruned},
                       {QStringLiteral("count"), pruned.size()},
                       {QStringLiteral("dryRun"), dryRun},
                       {QStringLiteral("gracePeriodMs"), graceMs},
                       {QStringLiteral("inReconnectGrace"), inGrace}};
}

} // namespace Swamp
