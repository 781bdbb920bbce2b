#pragma once

#include "common/labels.h"

#include <QDateTime>
#include <QJsonObject>
#include <QString>
#include <QStringList>

namespace Swamp {

// Worker status as operators see it (SPEC §5).
enum class WorkerStatus { Idle, Busy, Draining, Disconnected, Lost };
QString workerStatusName(WorkerStatus status);
WorkerStatus workerStatusFromName(const QString &name);
// Every status name, in the order of the enum: "idle", "busy", "draining", "disconnected", "lost".
const QStringList &workerStatusNames();

// The persistent record of one machine enrolled on one token. `lastSeenAt` is written on state
// changes only; the live pool holds the fresher value for connected workers.
struct WorkerRecord
{
    QString id;
    QString name;
    bool nameChosen = false; // by `worker connect --name` (then unique in the database: schema 12)
    QString machineId;
    QString tokenId;
    QString tokenName;
    QString instanceId;
    Labels labels;     // what the scheduler matches: ownLabels with operatorLabels applied
    Labels ownLabels;  // the worker's --label and its token's, as it last enrolled (stored)
    LabelOverrides operatorLabels; // `swamp worker label` (stored; only worker.label writes it)
    QString platform;
    QString arch;
    QString version;
    QString hostname;
    int capacity = 1;
    int activeSteps = 0; // live only, not stored
    WorkerStatus status = WorkerStatus::Disconnected;
    bool draining = false;
    bool paused = false;    // by an operator (`swamp worker pause`): no new steps, stays connected
    QString orchestrator;   // the URL of the orchestrator holding it (display)
    QString orchestratorId; // that orchestrator's id in the fleet table
    QDateTime enrolledAt;
    QDateTime lastSeenAt;
    QDateTime disconnectedAt;
    // Disconnected within its reconnect grace: until when its holder keeps the session for a
    // resume (invalid otherwise). Stored so that every orchestrator of a fleet knows; not part
    // of the JSON.
    QDateTime graceUntil;
    QDateTime createdAt;
    QDateTime updatedAt;

    // The `swamp worker list --json` shape (SPEC §3).
    QJsonObject toJson() const;
    static WorkerRecord fromJson(const QJsonObject &object);
};

} // namespace Swamp
