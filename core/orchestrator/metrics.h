#pragma once

#include "common/result.h"

#include <QByteArray>
#include <QElapsedTimer>
#include <QHash>
#include <QList>
#include <QMap>
#include <QString>

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

    // The state gauges, read with one grouped COUNT per table over its state index (never a
    // scan of the rows). They are database-wide: orchestrators sharing one PostgreSQL database
    // report the same values.
    struct DatabaseState
    {
        QMap<QString, qint64> workers; // by status
        QMap<QString, qint64> steps;   // by state
        qint64 activeLeases = 0;
    };
    static Result<DatabaseState> readDatabaseState(Store &store);

    // The dispatch latency histogram's upper bounds, in seconds (0.5 ms to 10 s).
    static const QList<double> &dispatchLatencyBuckets();

    Metrics();

    // `result`: "ok" or the error code the enrollment was refused with ("token_mismatch", ...).
    void countEnrollment(const QString &result);
    // `reason`: a stable code ("invalid_json", "too_large", "unknown_type", ...).
    void countRejectedFrame(const QString &reason);
    // Time from a step entering the queue (submitted or requeued) to its dispatch.
    void observeDispatchLatency(double seconds);
    void socketOpened(Endpoint endpoint);
    void socketClosed(Endpoint endpoint);

    qint64 enrollments(const QString &result) const { return m_enrollments.value(result); }
    qint64 rejectedFrames(const QString &reason) const { return m_rejectedFrames.value(reason); }
    qint64 dispatches() const { return m_dispatchCount; }
    qint64 sockets(Endpoint endpoint) const;

    // The exposition: `state` is the database's answer, or the reason it gave none (then the
    // state gauges are left out and swamp_database_up is 0).
    QByteArray render(const Result<DatabaseState> &state) const;

private:
    QElapsedTimer m_uptime;
    qint64 m_startedAtMs = 0;
    QMap<QString, qint64> m_enrollments;
    QMap<QString, qint64> m_rejectedFrames;
    QList<qint64> m_dispatchBuckets; // per bucket, not cumulative; last one is +Inf
    double m_dispatchSum = 0;
    qint64 m_dispatchCount = 0;
    qint64 m_workerSockets = 0;
    qint64 m_adminSockets = 0;
};

} // namespace Swamp
