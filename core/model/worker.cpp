#include "model/worker.h"

#include "common/duration.h"

using namespace Qt::StringLiterals;

namespace Swamp {

QString workerStatusName(WorkerStatus status)
{
    switch (status) {
    case WorkerStatus::Idle: return QStringLiteral("idle");
    case WorkerStatus::Busy: return QStringLiteral("busy");
    case WorkerStatus::Draining: return QStringLiteral("draining");
    case WorkerStatus::Disconnected: return QStringLiteral("disconnected");
    case WorkerStatus::Lost: return QStringLiteral("lost");
    }
    return {};
}

const QStringList &workerStatusNames()
{
    static const QStringList names{QStringLiteral("idle"), QStringLiteral("busy"), QStringLiteral("draining"),
                                   QStringLiteral("disconnected"), QStringLiteral("lost")};
    return names;
}

WorkerStatus workerStatusFromName(const QString &name)
{
    if (name == u"idle")
        return WorkerStatus::Idle;
    if (name == u"busy")
        return WorkerStatus::Busy;
    if (name == u"draining")
        return WorkerStatus::Draining;
    if (name == u"lost")
        return WorkerStatus::Lost;
    return WorkerStatus::Disconnected;
}


QJsonObject WorkerRecord::toJson() const
{
    return QJsonObject{
        {QStringLiteral("id"), id},
        {QStringLiteral("name"), name},
        {QStringLiteral("status"), workerStatusName(status)},
        {QStringLiteral("machineId"), machineId},
        {QStringLiteral("instanceId"), instanceId},
        {QStringLiteral("tokenName"), tokenName},
        {QStringLiteral("labels"), labelsToJson(labels)},
        {QStringLiteral("operatorLabels"), operatorLabels.toJson()},
        {QStringLiteral("platform"), platform},
        {QStringLiteral("arch"), arch},
        {QStringLiteral("version"), version},
        {QStringLiteral("capacity"), capacity},
        {QStringLiteral("activeSteps"), activeSteps},
        {QStringLiteral("draining"), draining},
        {QStringLiteral("paused"), paused},
        {QStringLiteral("orchestrator"), orchestrator},
        {QStringLiteral("orchestratorId"), orchestratorId},
        {QStringLiteral("enrolledAt"), isoUtcOrNull(enrolledAt)},
        {QStringLiteral("lastSeenAt"), isoUtcOrNull(lastSeenAt)},
        {QStringLiteral("disconnectedAt"), isoUtcOrNull(disconnectedAt)},
        {QStringLiteral("hostname"), hostname},
        {QStringLiteral("createdAt"), isoUtcOrNull(createdAt)},
        {QStringLiteral("updatedAt"), isoUtcOrNull(updatedAt)},
    };
}

WorkerRecord WorkerRecord::fromJson(const QJsonObject &o)
{
    WorkerRecord r;
    r.id = o.value(QStringLiteral("id")).toString();
    r.name = o.value(QStringLiteral("name")).toString();
    r.status = workerStatusFromName(o.value(QStringLiteral("status")).toString());
    r.machineId = o.value(QStringLiteral("machineId")).toString();
    r.instanceId = o.value(QStringLiteral("instanceId")).toString();
    r.tokenName = o.value(QStringLiteral("tokenName")).toString();
    r.labels = labelsFromJson(o.value(QStringLiteral("labels")).toObject());
    r.operatorLabels = LabelOverrides::fromJson(o.value(QStringLiteral("operatorLabels")).toObject());
    r.platform = o.value(QStringLiteral("platform")).toString();
    r.arch = o.value(QStringLiteral("arch")).toString();
    r.version = o.value(QStringLiteral("version")).toString();
    r.capacity = o.value(QStringLiteral("capacity")).toInt();
    r.activeSteps = o.value(QStringLiteral("activeSteps")).toInt();
    r.draining = o.value(QStringLiteral("draining")).toBool();
    r.paused = o.value(QStringLiteral("paused")).toBool();
    r.orchestrator = o.value(QStringLiteral("orchestrator")).toString();
    r.orchestratorId = o.value(QStringLiteral("orchestratorId")).toString();
    r.enrolledAt = parseIsoUtc(o.value(QStringLiteral("enrolledAt")).toString());
    r.lastSeenAt = parseIsoUtc(o.value(QStringLiteral("lastSeenAt")).toString());
    r.disconnectedAt = parseIsoUtc(o.value(QStringLiteral("disconnectedAt")).toString());
    r.hostname = o.value(QStringLiteral("hostname")).toString();
    r.createdAt = parseIsoUtc(o.value(QStringLiteral("createdAt")).toString());
    r.updatedAt = parseIsoUtc(o.value(QStringLiteral("updatedAt")).toString());
    return r;
}

} // namespace Swamp
