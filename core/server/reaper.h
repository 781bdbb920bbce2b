#pragma once

#include "common/result.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QJsonObject>
#include <QObject>
#include <QTimer>

namespace Swamp {

class Store;

// What one pass of the reaper removed.
struct RetentionSummary
{
    QDateTime cutoff; // everything that ended before this went
    qint64 retentionMs = 0;
    int steps = 0;
    int leases = 0;
    int outputChunks = 0;
    int runs = 0;
    int events = 0;
    int batches = 0;
    qint64 longestBatchMs = 0;
    qint64 elapsedMs = 0; // wall time of the pass, yields to the event loop included
    QString error;        // set when a batch failed and the pass stopped early

    bool removedAnything() const { return steps + leases + outputChunks + runs + events > 0; }
    // "retention: removed 1200 step(s), ... older than 24h in 13 batch(es) (longest 9 ms)"
    QString message() const;
    QJsonObject toJson() const;
};

// The retention reaper of `swamp serve --retention`: a pass right after start and then one
// every intervalMs() deletes ended steps (succeeded, failed, cancelled, timed_out) that finished
// longer than the retention ago, with their leases and output, the runs left without steps, and
// operator events older than the retention. It works in batches of about BatchRows rows, one
// short transaction each, and yields to the event loop between batches (a zero timer), so the
// orchestrator keeps serving workers and admins during a large pass. It never touches queued or
// running steps, active leases, workers, tokens or the audit trail.
class Reaper final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(Reaper)

public:
    static constexpr int BatchRows = 500;

    Reaper(Store *store, qint64 retentionMs, QObject *parent = nullptr);

    void start();
    void stop();
    // A quarter of the retention, at least 1 s and at most 5 min.
    qint64 intervalMs() const;
    bool isRunning() const { return m_phase != Phase::Idle; }

Q_SIGNALS:
    // After every pass, also one that removed nothing.
    void passFinished(const Swamp::RetentionSummary &summary);

private:
    enum class Phase { Idle, Steps, Events };

    void beginPass();
    void runBatch();
    void endPass();

    Store *m_store;
    qint64 m_retentionMs;
    QTimer m_passTimer;
    QTimer m_batchTimer;
    Phase m_phase = Phase::Idle;
    RetentionSummary m_summary;
    QElapsedTimer m_passClock;
};

} // namespace Swamp
