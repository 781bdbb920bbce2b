#include "server/stateview.h"

#include "common/duration.h"
#include "common/labels.h"
#include "server/scheduler.h"
#include "server/sessions.h"
#include "store/store.h"

#include <QJsonArray>

namespace Swamp {

StateView::StateView(Store *store, const WorkerSessions *sessions, const Scheduler *scheduler, const QString &fleetId)
    : m_store(store)
    , m_sessions(sessions)
    , m_scheduler(scheduler)
    , m_fleetId(fleetId)
{
}

Result<QList<WorkerRecord>> StateView::currentWorkers() const
{
    auto stored = m_store->allWorkers();
    if (!stored)
        return fail(stored.error());
    // Workers held by other orchestrators of a fleet: their active steps are their active leases.
    QHash<QString, int> remoteActive;
    if (shared()) {
        if (auto counts = m_store->activeLeasesPerWorkerElsewhere(m_fleetId))
            remoteActive = *counts;
    }
    // Live sessions hold fresher values than the database (last seen, active steps).
    for (WorkerRecord &record : *stored) {
        record.activeSteps = remoteActive.value(record.id);
        if (const WorkerSession *session = m_sessions->pool().find(record.id)) {
            // The database's: written by worker.pause and worker.label alone (in a fleet perhaps
            // by another orchestrator, whose notification may not have come yet).
            const bool paused = record.paused;
            const LabelOverrides operatorLabels = record.operatorLabels;
            record = session->record;
            record.paused = paused;
            if (!(operatorLabels == record.operatorLabels)) {
                record.operatorLabels = operatorLabels;
                record.labels = operatorLabels.appliedTo(record.ownLabels);
            }
            record.activeSteps = int(session->leaseIds.size());
            if (session->isConnected())
                record.lastSeenAt = QDateTime::fromMSecsSinceEpoch(session->lastHeardMs, Qt::UTC);
        }
    }
    return stored;
}

StepRecord StateView::current(const StepRecord &stored) const
{
    // In a fleet another orchestrator may have dispatched or finished a step that is still
    // queued in this one's copy: the database is the truth.
    return openStep(stored.id).value_or(stored);
}

std::optional<StepRecord> StateView::openStep(const QString &id) const
{
    return shared() ? std::nullopt : m_scheduler->openStep(id);
}

Result<StepRecord> StateView::findStep(const QString &id) const
{
    if (!shared()) {
        if (auto open = m_scheduler->openStep(id))
            return *open;
    }
    auto stored = m_store->step(id);
    if (!stored)
        return fail(stored.error());
    if (!*stored) {
        return fail(QStringLiteral("not_found"), Tr::tr("no step with id '%1'").arg(id),
                    Tr::tr("'swamp run --detach' prints step ids; 'swamp data query' lists them"));
    }
    return **stored;
}

Result<QHash<QString, QList<AuditRecord>>> StateView::auditByToken() const
{
    auto records = m_store->tokenAuditRecords();
    if (!records)
        return fail(records.error());
    QHash<QString, QList<AuditRecord>> byToken;
    for (const AuditRecord &record : std::as_const(*records))
        byToken[record.tokenId] << record;
    return byToken;
}

Result<void> StateView::forEachTokenJson(const QDateTime &now,
                                         const std::function<void(const TokenRecord &, const QJsonObject &)> &visit) const
{
    auto tokens = m_store->allTokens();
    if (!tokens)
        return fail(tokens.error());
    auto audit = auditByToken();
    if (!audit)
        return fail(audit.error());
    for (const TokenRecord &token : std::as_const(*tokens))
        visit(token, tokenJson(token, now, audit->value(token.id)));
    return {};
}

QJsonObject StateView::tokenJson(const TokenRecord &token, const QDateTime &now, const QList<AuditRecord> &audit)
{
    QJsonArray auditJson;
    for (const AuditRecord &record : audit)
        auditJson << record.toTokenJson();
    QJsonArray bindings;
    for (const TokenBinding &binding : token.bindings) {
        bindings << QJsonObject{{QStringLiteral("machineId"), binding.machineId},
                                {QStringLiteral("workerName"), binding.workerName},
                                {QStringLiteral("enrolledAt"), isoUtc(binding.enrolledAt)}};
    }
    return QJsonObject{
        {QStringLiteral("id"), token.id},
        {QStringLiteral("name"), token.name},
        {QStringLiteral("state"), tokenStateName(token.effectiveState(now))},
        {QStringLiteral("createdAt"), isoUtc(token.createdAt)},
        {QStringLiteral("updatedAt"), isoUtc(token.updatedAt)},
        {QStringLiteral("expiresAt"), isoUtc(token.expiresAt)},
        {QStringLiteral("revokedAt"), isoUtcOrNull(token.revokedAt)},
        {QStringLiteral("revokeReason"), token.revokeReason.isEmpty() ? QJsonValue(QJsonValue::Null)
                                                                      : QJsonValue(token.revokeReason)},
        {QStringLiteral("maxEnrollments"), token.maxEnrollments == 0 ? QJsonValue(QJsonValue::Null)
                                                                     : QJsonValue(token.maxEnrollments)},
        {QStringLiteral("enrollments"), token.bindings.size()},
        {QStringLiteral("bindings"), bindings},
        {QStringLiteral("labels"), labelsToJson(token.labels)},
        {QStringLiteral("audit"), auditJson},
    };
}

} // namespace Swamp
