#pragma once

#include "common/labels.h"

#include <QDateTime>
#include <QJsonObject>
#include <QString>

namespace Swamp {

// Worker status as operators see it (SPEC §5).
enum class WorkerStatus { Idle, Busy, Draining, Disconnected, Lost };
QString workerStatusName(WorkerStatus status);
WorkerStatus workerStatusFromName(const QString &name);

// The persistent record of one machine enrolled on one token. `lastSeenAt` is written on state
// changes only; the live pool holds the fresher value for connected workers.
struct WorkerRecord
{
    QString id;
    QString name;
    QString machineId;
    QString tokenId;
    QString tokenName;
    QString instanceId;
    Labels labels;
    QString platform;
    QString arch;
    QString version;
    QString hostname;
    int capacity = 1;
    int activeSteps = 0; // live only, not stored
    WorkerStatus status = WorkerStatus::Disconnected;
    bool draining = false;
    QString orchestrator;   // the URL of the orchestrator holding it (display)
    QString orchestratorId; // that orchestrator's id in the fleet table
    QDateTime enrolledAt;
    QDateTime lastSeenAt;
    QDateTime disconnectedAt;
    QDateTime createdAt;
    QDateTime updatedAt;

    // The `swamp worker list --json` shape (SPEC §3).
    QJsonObject toJson() const;
    static WorkerRecord fromJson(const QJsonObject &object);
};

// An operator event (SPEC / STYLE 22): increasing ids, a kind like "worker.enrolled",
// the subject (worker or token name), a human message, and structured data.
struct Event
{
    qint64 id = 0;
    QDateTime at;
    QString kind;
    QString subject;
    QString message;
    // The structured data: one JSON object as compact UTF-8 text, the form the events table and
    // the event frames carry. An event the orchestrator only stores and forwards is never built
    // as a QJsonObject (issue 8: that was a fifth of its time per step). Empty means {}.
    QByteArray dataJson;
    // The same as an object where one was at hand (setData(), an event read from a frame), so
    // that data() need not parse it again; empty on the orchestrator's hot path.
    QJsonObject dataObject;

    QJsonObject data() const;
    void setData(const QJsonObject &data);
    QJsonObject toJson() const;
    // toJson() as compact text, written without building an object.
    QByteArray toJsonText() const;
    static Event fromJson(const QJsonObject &object);
};

} // namespace Swamp
