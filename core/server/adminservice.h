#pragma once

#include "common/largebuffer.h"
#include "common/refusaldigest.h"
#include "common/result.h"
#include "model/audit.h"
#include "model/worker.h"
#include "server/addressthrottle.h"

#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QTimer>

#include <functional>

namespace Swamp {

class AdminConnection;
class CommitPipeline;
class EventLog;
class Fleet;
class Metrics;
class PeerConnection;
class QueryService;
class Scheduler;
class StateView;
class StepFollowers;
class Store;
class WorkerSessions;
struct Event;

// The admin endpoint, /v1/admin: the admin token checked on the upgrade request (a wrong one counted, digested and
// throttled per address), then each request decoded, handed to the service it is about, and its
// result or error encoded (docs/protocol.md, "Admin methods"). The methods are in three files:
// adminservice.cpp (version, workers, tokens, events, data.query), runservice.cpp (run.*,
// worker.queue, worker.drain/undrain) and retentionservice.cpp (worker.prune, the audit trail).
// `worker.list`'s filters: every label given (AND) and, when given, the status.
struct WorkerFilter
{
    Labels labels;
    QString status;

    bool matches(const WorkerRecord &record) const;
    // {"labels": {k: v}, "status": "idle"}; errors "invalid_label", "invalid_status".
    static Result<WorkerFilter> fromParams(const QJsonObject &params);
};

class AdminService final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(AdminService)

public:
    struct Services
    {
        Store *store = nullptr;
        EventLog *events = nullptr;
        WorkerSessions *sessions = nullptr;
        Scheduler *scheduler = nullptr;
        const StateView *view = nullptr;
        const QueryService *query = nullptr;
        StepFollowers *followers = nullptr;
        CommitPipeline *commits = nullptr;
        Metrics *metrics = nullptr;
        Fleet *fleet = nullptr; // in a fleet (a shared database); null when alone
        QStringList workerUrls; // what workers dial, best first (token.create's "workerUrl")
    };
    // `release`: hands a closed connection back to its owner, which deletes it.
    AdminService(const Services &services, const QString &adminToken,
                  std::function<void(PeerConnection *)> release, QObject *parent = nullptr);

    // A connection upgraded on /v1/admin: authenticated by its Authorization header, or refused.
    void attach(AdminConnection *connection);
    // An event for every subscribed client.
    void broadcast(const Event &event);
    // The orchestrator is going away: every admin client is told (close 4503).
    void closeAll();
    // Once a window of the refusal digest is over: one summary event per address for what was
    // only counted.
    void reportRefusals(qint64 nowMs);
    // worker.drain / worker.undrain, also as another orchestrator of the fleet asks it.
    Result<QJsonObject> drainWorker(const QJsonObject &params, bool drain);
    // What worker.pause/resume and worker.label changed in the database, applied to the session
    // here (if it holds the worker): through the fleet notification "worker" on the other
    // orchestrators.
    void applyWorkerChange(const QString &workerId);
    // worker.remove on another orchestrator of the fleet (notification "remove"): the session
    // here, if it holds the worker, ends, and the row its end wrote is removed again.
    void applyWorkerRemoval(const QJsonObject &payload);

private:
    bool shared() const { return m_fleet != nullptr; }
    void handleFrame(AdminConnection *connection, const QJsonObject &frame);
    Result<QJsonObject> call(AdminConnection *connection, const QString &method, const QJsonObject &params);
    // adminservice.cpp
    Result<QJsonObject> listWorkers(const QJsonObject &params);
    Result<QJsonObject> createToken(AdminConnection *connection, const QJsonObject &params);
    Result<QJsonObject> listTokens();
    Result<QJsonObject> revokeToken(AdminConnection *connection, const QJsonObject &params);
    Result<QJsonObject> subscribe(AdminConnection *connection, const QJsonObject &params);
    // tokenservice.cpp
    Result<QJsonObject> extendToken(AdminConnection *connection, const QJsonObject &params);
    // Connected workers (idle, busy, draining) by token name, fleet-wide.
    Result<QHash<QString, qint64>> liveWorkersByToken() const;
    static Result<void> checkTokenLifetime(qint64 durationMs);
    // token.create and token.extend: the name, the reason and the lifetime asked for (`durationMs`,
    // or `defaultMs` without one), each checked.
    struct TokenRequest
    {
        QString name;
        QString reason;
        qint64 durationMs = 0;
    };
    static Result<TokenRequest> tokenRequest(const QJsonObject &params, qint64 defaultMs);
    // runservice.cpp
    // `params` with its "id" resolved to a whole id (server/idresolver.h) for the methods that
    // take a step, run or lease id; unchanged for the others.
    Result<QJsonObject> withResolvedId(const QString &method, const QJsonObject &params) const;
    Result<QByteArray> submitRun(const QJsonObject &params); // the result as JSON text
    Result<QJsonObject> runStatus(const QJsonObject &params);
    Result<QJsonObject> runLogs(const QJsonObject &params);
    // run.logs of a run: each step with its output.
    Result<QJsonObject> runLogsOfRun(const QString &runId);
    // The workers as StateView shows them, read when called (none when the store fails).
    std::function<QList<WorkerRecord>()> currentWorkersOrNone() const;
    Result<QJsonObject> followStep(AdminConnection *connection, const QJsonObject &params);
    Result<QJsonObject> cancelRun(const QJsonObject &params);
    Result<QJsonObject> workerQueue();
    // retentionservice.cpp
    Result<QJsonObject> pruneWorkers(AdminConnection *connection, const QJsonObject &params);
    // workeradminservice.cpp: one worker by its name (or id).
    Result<WorkerRecord> workerNamed(const QString &name) const;
    Result<QJsonObject> showWorker(const QJsonObject &params);
    Result<QJsonObject> pauseWorker(AdminConnection *connection, const QJsonObject &params, bool pause);
    Result<QJsonObject> labelWorker(AdminConnection *connection, const QJsonObject &params);
    Result<QJsonObject> removeWorker(AdminConnection *connection, const QJsonObject &params);
    // An audit record of `action` on `worker` with `reason`.
    AuditRecord workerAudit(AdminConnection *connection, const QString &action, const WorkerRecord &worker,
                            const QString &reason, const QDateTime &now) const;
    // An audit record of `action` by the admin client on `connection`, at `now`.
    AuditRecord auditRecord(AdminConnection *connection, const QString &action, const QDateTime &now) const;
    // `change` and the audit record of it in one transaction: both written or neither; audit.id
    // is set once it is.
    Result<void> audited(AuditRecord &audit, const std::function<Result<void>()> &change);

    Store *m_store;
    EventLog *m_events;
    WorkerSessions *m_sessions;
    Scheduler *m_scheduler;
    const StateView *m_view;
    const QueryService *m_query;
    StepFollowers *m_followers;
    CommitPipeline *m_commits;
    Metrics *m_metrics;
    Fleet *m_fleet;
    QStringList m_workerUrls;
    QString m_adminToken;
    QString m_adminKey; // adminKeyFingerprint(m_adminToken), for the audit trail
    std::function<void(PeerConnection *)> m_release;
    QList<QPointer<AdminConnection>> m_admins;
    // The last large data.query answer's buffer, written into again by the next (issue 20);
    // dropped a minute after the last large answer.
    ReusedBuffer m_answerBuffer;
    QTimer m_answerBufferRelease;
    AddressThrottle m_throttle{10, 60000}; // refused admin connections per source address
    RefusalDigest m_refusals{60000, 20};   // which of them become events
};

} // namespace Swamp
