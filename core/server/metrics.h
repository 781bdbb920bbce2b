#pragma once

#include "common/result.h"

#include <QByteArray>
#include <QElapsedTimer>
#include <QHash>
#include <QList>
#include <QMap>
#include <QString>

#include <optional>

namespace Swamp {

class Store;

// The orchestrator's metrics registry: counters, one histogram and socket gauges incremented
// where things happen (enrollment, dispatch, frame validation), rendered in the Prometheus text
// exposition format 0.0.4 together with the state gauges read from the database at scrape time.
// Per process; the orchestrator's one thread owns it (not thread-safe).
class Metrics final
{
    Q_DISABLE_COPY_MOVE(Metrics)

public:
    enum class Endpoint { Worker, Admin };

    // The state gauges, database-wide. In a fleet (orchestrators sharing one PostgreSQL
    // database) only its leader reports them, so that a sum over the fleet counts each record
    // once; the others answer `reported` false and leave them out.
    struct DatabaseState
    {
        bool reported = true;
        QMap<QString, qint64> workers; // by status
        QMap<QString, qint64> steps;   // by state
        qint64 activeLeases = 0;
        std::optional<qint64> roundTrips; // PostgreSQL: Store::roundTrips()
    };
    // What this orchestrator holds itself: summed over a fleet, the fleet's.
    struct OwnState
    {
        qint64 connectedSessions = 0; // workers connected to it
        qint64 graceSessions = 0;     // workers disconnected within its reconnect grace
        qint64 heldLeases = 0;        // active leases of its sessions
        // Tokens whose expiry (within TokenExpiryWarningMs, or already past) will stop workers
        // connected to it: their sessions end with the token.
        qint64 expiringTokensWithWorkers = 0;
    };
    // How often the finished-step counts are read again from the database in full.
    static constexpr qint64 FinishedStepsResyncMs = 5 * 60 * 1000;
    // Reads the state gauges for a scrape, each a COUNT over its table's state index. A scrape
    // costs O(workers + open steps + active leases), not O(all steps): the finished states
    // (succeeded, failed, ...), which grow with every step, are counted in full at the first
    // scrape and every FinishedStepsResyncMs, and advanced by countFinishedStep() in between.
    // `fleetId`: this orchestrator's id in a fleet; unless it is the leader (Store::fleetLeader)
    // nothing more is read and the state is not `reported`. Empty: alone, always reported.
    Result<DatabaseState> readDatabaseState(Store &store, const QString &fleetId = {});
    // This orchestrator just finished a step in `state` (written to the database already).
    void countFinishedStep(const QString &state);

    // The dispatch latency histogram's upper bounds, in seconds (0.5 ms to 10 s).
    static const QList<double> &dispatchLatencyBuckets();

    Metrics();

    // `result`: "ok" or the error code the enrollment was refused with ("token_mismatch", ...).
    void countEnrollment(const QString &result);
    // `reason`: a stable code ("invalid_json", "too_large", "unknown_type", ...).
    void countRejectedFrame(const QString &reason);
    // An admin connection refused: "missing" (no token), "worker_token", "mismatch",
    // "rate_limited" (too many failures from its address).
    void countAdminAuthFailure(const QString &reason);
    // Time from a step entering the queue (submitted or requeued) to its dispatch.
    void observeDispatchLatency(double seconds);
    void socketOpened(Endpoint endpoint);
    void socketClosed(Endpoint endpoint);

    qint64 enrollments(const QString &result) const { return m_enrollments.value(result); }
    qint64 rejectedFrames(const QString &reason) const { return m_rejectedFrames.value(reason); }
    qint64 adminAuthFailures(const QString &reason) const { return m_adminAuthFailures.value(reason); }
    qint64 dispatches() const { return m_dispatchCount; }
    qint64 sockets(Endpoint endpoint) const;

    // The exposition: `state` is the database's answer, or the reason it gave none (then the
    // state gauges are left out and swamp_database_up is 0); `own` what this process holds.
    QByteArray render(const Result<DatabaseState> &state, const OwnState &own) const;
    QByteArray render(const Result<DatabaseState> &state) const
    {
        return render(state, OwnState());
    }

private:
    QElapsedTimer m_uptime;
    QMap<QString, qint64> m_finishedSteps; // by terminal state, as of the last full count ...
    QElapsedTimer m_finishedSynced;        // ... taken then (invalid: not yet)
    qint64 m_startedAtMs = 0;
    QMap<QString, qint64> m_enrollments;
    QMap<QString, qint64> m_rejectedFrames;
    QMap<QString, qint64> m_adminAuthFailures;
    QList<qint64> m_dispatchBuckets; // per bucket, not cumulative; last one is +Inf
    double m_dispatchSum = 0;
    qint64 m_dispatchCount = 0;
    qint64 m_workerSockets = 0;
    qint64 m_adminSockets = 0;
};

} // namespace Swamp
