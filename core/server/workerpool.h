#pragma once

#include "model/worker.h"

#include <QHash>
#include <QPointer>
#include <QSet>

#include <memory>

namespace Swamp {

class WorkerConnection;

// The live state of one enrolled worker: connected, or disconnected within its reconnect grace.
// Owned by the WorkerPool; the connection (socket) is owned by the orchestrator.
struct WorkerSession
{
    WorkerRecord record;
    QPointer<WorkerConnection> connection;
    qint64 lastHeardMs = 0;     // last frame or pong; never written to the database per beat
    qint64 graceDeadlineMs = 0; // while disconnected: when it becomes `lost`
    QDateTime tokenExpiresAt;
    QSet<QString> leaseIds;     // active step leases on this worker
    qint64 drainDeadlineMs = 0; // draining with a deadline: then running steps are requeued
    QString drainCode;          // why it drains: "operator", "worker", "token_expired"
    qint64 holdUntilMs = 0;     // declined a step: no dispatch to it before then
    qint64 windowToldMs = 0;    // the reconnect window this worker was last told (`enrolled`, `window`)

    bool isConnected() const { return !connection.isNull(); }
    int freeSlots() const { return std::max(0, record.capacity - int(leaseIds.size())); }
};

// Index of live sessions by worker id, by machine (machine id + token name) and by token.
// Lookups are O(1); nothing here scans the pool per frame.
class WorkerPool final
{
    Q_DISABLE_COPY_MOVE(WorkerPool)

public:
    WorkerPool() = default;
    ~WorkerPool();

    WorkerSession *find(const QString &workerId) const;
    WorkerSession *findByMachine(const QString &machineId, const QString &tokenName) const;
    QList<WorkerSession *> onToken(const QString &tokenName) const;
    QList<WorkerSession *> all() const;
    QList<QString> ids() const { return m_sessions.keys(); }
    qsizetype size() const { return m_sessions.size(); }

    WorkerSession *insert(std::unique_ptr<WorkerSession> session);
    // Forgets the session (the record stays in the database).
    void remove(const QString &workerId);

private:
    static QString machineKey(const QString &machineId, const QString &tokenName);

    QHash<QString, WorkerSession *> m_sessions;
    QHash<QString, QString> m_byMachine;
    QMultiHash<QString, QString> m_byToken;
};

} // namespace Swamp
