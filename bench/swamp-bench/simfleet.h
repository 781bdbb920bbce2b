#pragma once

#include "common/backoff.h"
#include "protocol/workerframes.h"

#include <QHash>
#include <QJsonObject>
#include <QList>
#include <QMap>
#include <QObject>
#include <QSet>
#include <QTimer>
#include <QUrl>

#include <memory>
#include <vector>

class QWebSocket;

namespace SwampBench {

class FleetShards;
class SimFleet;

// What the bench saw of one step, keyed by the number in its name ("bench-<n>").
struct StepTrace
{
    qint64 submitUs = 0;   // the run.submit frame carrying it was sent
    qint64 dispatchUs = 0; // first `dispatch` reached a simulated worker (= start)
    qint64 ackUs = 0;      // the `ack` of its `finished` reached the worker (= durably finished)
    int dispatches = 0;
    int acks = 0;
    int submittedTo = 0; // the orchestrator (index) whose admin connection submitted it
    int ranOn = -1;      // the orchestrator (index) of the worker that got its first dispatch
};

// One enrollment of a simulated worker, bench clock: the attempt's TCP connect started, its
// WebSocket handshake was done, `enrolled` arrived.
struct Enrollment
{
    qint64 startedUs = 0;
    qint64 upgradedUs = 0;
    qint64 enrolledUs = 0;
};

// One simulated `swamp worker connect`: its own machine id and instance id (one process, no
// cache dir), the real enroll/started/finished/ack frames, client pings, and reconnects with the
// worker's own Backoff (full jitter). It runs no process: a dispatched step completes at once
// (or is held, see SimFleet::setHoldSteps).
class SimWorker final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(SimWorker)

public:
    // Worker `index` dials orchestrator index % (number of URLs).
    SimWorker(SimFleet *fleet, int index);
    ~SimWorker() override;

    void connectNow();
    void ping();
    bool isEnrolled() const { return m_enrolled; }
    bool isConnecting() const { return m_connecting; }
    qint64 connectStartedUs() const { return m_connectStartedUs; }
    qint64 upgradedUs() const { return m_upgradedUs; }
    qint64 lastHeardUs() const { return m_lastHeardUs; }
    void abort();
    // A worker process that restarts: drops its session (if enrolled) and dials again at once.
    // False when it is not enrolled.
    bool restart();
    // A worker process killed (SIGKILL) and started again by its service manager after `downMs`:
    // the socket is gone at once, the new process has a new instance id and knows no lease.
    // False when it is not enrolled.
    bool crash(int downMs);
    // No more reconnects (a permanent enrollment error, or the bench is done), and abort.
    void stop();
    void releaseHeld();
    qsizetype heldCount() const { return m_held.size(); }

private:
    void handleConnected();
    void handleText(const QString &text);
    void handleDisconnected();
    void handleDispatch(const Swamp::Protocol::Dispatch &dispatch);
    void sendFinished(const QString &leaseId, Swamp::Protocol::Outcome outcome);
    // A step that takes time (SimFleet::setStepMs): finished when its time is up, if still held.
    void finishLater(const QString &leaseId);
    void dropSession();
    void send(const QByteArray &frame);

    SimFleet *m_fleet;
    int m_index;
    int m_orchestrator;
    QString m_machineId;
    QString m_machineKey;
    QString m_instanceId;
    std::unique_ptr<QWebSocket> m_socket;
    Swamp::Backoff m_backoff;
    Swamp::DropWindow m_dropWindow; // as the real worker keeps it
    QTimer m_reconnectTimer;
    bool m_enrolled = false;
    bool m_connecting = false;
    bool m_upgraded = false; // the WebSocket handshake of this attempt is done
    bool m_everEnrolled = false;
    bool m_stopped = false;
    qint64 m_connectStartedUs = 0;
    qint64 m_upgradedUs = 0;
    qint64 m_lastHeardUs = 0;
    int m_attempt = 0;
    QHash<QString, int> m_stepOfLease; // active leases → step number
    QSet<QString> m_held;              // started, not finished (hold mode)
    QSet<QString> m_unacked;           // finished sent, no ack yet
};

// {"reason": count, ...} of closeReasons(), failureReasons(), errorCodes().
QJsonObject countsToJson(const QMap<QString, int> &counts);

// N simulated workers on one event loop against one orchestrator, or spread evenly over the
// orchestrators of a fleet (worker i dials urls[i % urls.size()]).
class SimFleet final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(SimFleet)

public:
    SimFleet(QList<QUrl> urls, QString token, QObject *parent = nullptr);
    ~SimFleet() override;

    void setCapacity(int capacity) { m_capacity = capacity; }
    int capacity() const { return m_capacity; }
    // Held steps are started but not finished until releaseHeld().
    void setHoldSteps(bool hold);
    // Steps take 0 to `maxMs` (uniform) before they finish, so that a fault can land while they
    // run; 0 (the default): they finish at once.
    void setStepMs(int maxMs) { m_stepMs = maxMs; }
    // A worker whose attempt failed dials the next orchestrator's URL (as `swamp worker connect`
    // does with several URLs: round-robin, one URL per attempt); off by default.
    void setFailover(bool failover) { m_failover = failover; }
    void setHeartbeat(qint64 intervalMs, qint64 timeoutMs);
    // A grow() of more than `shardSize` workers runs them in child processes of `program` (this
    // swamp-bench, see FleetShards), at most `shardSize` each; 0 (the default) runs every worker
    // here. restart() works only on workers that run here.
    void setShards(int shardSize, const QString &program);
    int shardCount() const;
    // In a shard: this fleet's workers are numbered from `index` (worker i dials
    // urls[i % urls.size()] and is called bench-<i>), and every "bench-<n>" step a worker is
    // dispatched is traced (the parent knows how many the scenario submitted).
    void setFirstIndex(int index) { m_firstIndex = index; }
    void traceEveryStep() { m_traceEveryStep = true; }
    // The numbers of the steps whose traces changed since the last call (traceEveryStep()).
    QList<qsizetype> takeChangedSteps();

    // Creates `count` more workers and connects them, at most `window` handshakes+enrollments
    // at a time (the next starts when one enrolls or fails).
    void grow(int count, int window);
    void releaseHeld();
    void closeAll();

    int size() const;
    int enrolledCount() const { return m_enrolled; }
    const QList<qint64> &enrollTimesUs() const { return m_enrollTimesUs; }
    const QList<qint64> &connectAttemptTimesUs() const { return m_attemptTimesUs; }
    const QList<Enrollment> &enrollments() const { return m_enrollments; }
    // Restarts the worker `index` (SimWorker::restart()); false when it is not enrolled.
    bool restart(int index);
    // Crashes the worker `index` (SimWorker::crash()); false when it is not enrolled.
    bool crash(int index, int downMs);
    int restarts() const { return m_restarts; }
    int crashes() const { return m_crashes; }
    int failedAttempts() const { return m_failedAttempts; }
    int disconnects() const { return m_disconnects; }
    const QMap<QString, int> &errorCodes() const { return m_errorCodes; }
    // Why enrolled workers were dropped: "<close code> <reason>", or the bench's own watchdogs.
    const QMap<QString, int> &closeReasons() const { return m_closeReasons; }
    // Why attempts failed before `enrolled`: before or after the WebSocket upgrade, and how.
    const QMap<QString, int> &failureReasons() const { return m_failureReasons; }
    qint64 refused() const { return m_refused; }
    qint64 unknownSteps() const { return m_unknownSteps; }

    // Step traces, indexed by the number in the step's name.
    std::vector<StepTrace> &steps() { return m_steps; }
    static QString stepName(qsizetype number);
    qsizetype heldCount() const;
    qsizetype finishedSteps() const { return m_acks; }

private:
    friend class SimWorker;
    friend class FleetShards; // adds up what the shards report into the figures below
    // The trace of step `number` to update, null when it is none of the scenario's steps.
    StepTrace *trace(qsizetype number);
    void workerEnrolled(SimWorker *worker);
    void workerFailed(SimWorker *worker);
    void pump();
    void tick();

    QList<QUrl> m_urls;
    QString m_token;
    int m_capacity = 1;
    bool m_holdSteps = false;
    int m_stepMs = 0;
    bool m_failover = false;
    qint64 m_heartbeatIntervalMs = 5000;
    qint64 m_heartbeatTimeoutMs = 15000;
    std::vector<std::unique_ptr<SimWorker>> m_workers;
    QList<SimWorker *> m_toConnect;
    QSet<SimWorker *> m_windowed; // connecting as part of a grow() window
    int m_window = 1;
    int m_enrolled = 0;
    QList<qint64> m_enrollTimesUs;
    QList<qint64> m_attemptTimesUs;
    QList<Enrollment> m_enrollments;
    int m_restarts = 0;
    int m_crashes = 0;
    int m_failedAttempts = 0;
    int m_disconnects = 0;
    QMap<QString, int> m_errorCodes;
    QMap<QString, int> m_closeReasons;
    QMap<QString, int> m_failureReasons;
    qint64 m_refused = 0;
    qint64 m_unknownSteps = 0;
    qint64 m_acks = 0;
    std::vector<StepTrace> m_steps;
    QTimer m_tick;
    quint64 m_ticks = 0;
    int m_firstIndex = 0;
    bool m_traceEveryStep = false;
    QSet<qsizetype> m_changedSteps;
    int m_shardSize = 0;
    QString m_shardProgram;
    std::unique_ptr<FleetShards> m_shards;
};

} // namespace SwampBench
