#pragma once

#include "common/result.h"
#include "model/audit.h"
#include "model/step.h"
#include "model/token.h"
#include "model/worker.h"

#include <QHash>
#include <QJsonObject>
#include <QList>

#include <functional>
#include <optional>

namespace Swamp {

class Scheduler;
class Store;
class WorkerSessions;

// What the orchestrator knows, read and never written: the store's records with what is fresher
// in memory laid over them (a live session's status, last seen and active steps; the scheduler's
// open steps, but in a fleet, where the database is the truth). worker.list, token.list, the run
// methods and data.query read through it, so they all answer alike.
class StateView final
{
    Q_DISABLE_COPY_MOVE(StateView)

public:
    // `fleetId`: this orchestrator's id in a fleet (shared database); empty when it is alone.
    StateView(Store *store, const WorkerSessions *sessions, const Scheduler *scheduler, const QString &fleetId);

    // Every stored worker, with its live session's values where it has one, and in a fleet the
    // active steps of those held by the others.
    Result<QList<WorkerRecord>> currentWorkers() const;
    // The step as it is now: the open one in memory, else the stored one; error not_found.
    Result<StepRecord> findStep(const QString &id) const;
    // `stored` as it is now (the open step in memory, if alone and it is open).
    StepRecord current(const StepRecord &stored) const;
    // The step as memory holds it, when that is what it is (alone, and open); else nothing.
    std::optional<StepRecord> openStep(const QString &id) const;
    // Every token, oldest first, with its token.list object (audit entries included).
    Result<void> forEachTokenJson(const QDateTime &now,
                                  const std::function<void(const TokenRecord &, const QJsonObject &)> &visit) const;
    // Audit records by token id.
    Result<QHash<QString, QList<AuditRecord>>> auditByToken() const;
    // A token as token.list and token.create show it.
    static QJsonObject tokenJson(const TokenRecord &token, const QDateTime &now, const QList<AuditRecord> &audit);

private:
    bool shared() const { return !m_fleetId.isEmpty(); }

    Store *m_store;
    const WorkerSessions *m_sessions;
    const Scheduler *m_scheduler;
    QString m_fleetId;
};

} // namespace Swamp
