#pragma once

#include "common/refusaldigest.h"
#include "common/result.h"
#include "model/token.h"
#include "server/addressthrottle.h"

#include <QDateTime>
#include <QJsonObject>
#include <QObject>
#include <QPointer>

#include <deque>
#include <utility>

namespace Swamp {

class EventLog;
class Fleet;
class Metrics;
class Scheduler;
class Store;
class WorkerConnection;
class WorkerSessions;
struct WorkerSession;
namespace Protocol {
struct EnrollRequest;
}

// Enrollment on /v1/worker: a new connection's first frame, checked in the order of SPEC §4
// (version, the frame's shape, the token exists, is not revoked or expired, the secret, the
// machine's binding and key, a live session of the machine: the ghost-session rule), then the
// worker admitted into the sessions and told `enrolled`; or refused with an `error` and close
// 4001. Refusals only a stranger causes count against its address (AddressThrottle); one event
// per address and token per minute is written (RefusalDigest), the rest summed up.
class Enrollment final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(Enrollment)

public:
    struct Settings
    {
        qint64 heartbeatIntervalMs = 5000; // told to the worker in `enrolled`, with the two below
        qint64 heartbeatTimeoutMs = 15000;
        qint64 reconnectGraceMs = 30000;
        qint64 ghostProbeMs = 2000; // how long the old socket of a machine has to answer a ping
    };
    // A connection has this long to send `enroll`.
    static constexpr qint64 DeadlineMs = 15000;

    Enrollment(const Settings &settings, Store *store, EventLog *events, WorkerSessions *sessions,
               Scheduler *scheduler, Metrics *metrics, Fleet *fleet, QObject *parent = nullptr);

    // The URL workers reach this orchestrator at, recorded on their rows (once it listens).
    void setOrchestratorUrl(const QString &url) { m_url = url; }
    // A new connection on /v1/worker: it must enroll within DeadlineMs.
    void expect(WorkerConnection *connection);
    void handleEnroll(WorkerConnection *connection, const QJsonObject &frame);
    // The sweep: connections past their deadline are closed ...
    void closeOverdue(qint64 nowMs);
    // ... and summaries of the refusals the digest only counted are written once its window is
    // over.
    void reportRefusals(qint64 nowMs);

private:
    Result<TokenRecord> checkToken(const Protocol::EnrollRequest &request, const QString &peer);
    void admitWorker(WorkerConnection *connection, const Protocol::EnrollRequest &request, const TokenRecord &token);
    void refuse(WorkerConnection *connection, const Error &error, const QString &requestId);
    // Another process claims a machine whose socket is open: the old one is pinged, and the
    // new one is refused only if it answers.
    void probeGhost(WorkerConnection *connection, WorkerConnection *old, const Protocol::EnrollRequest &request,
                    const QString &tokenName, const QString &requestId);
    // admitWorker(), in its order
    Result<WorkerSession *> sessionFor(const Protocol::EnrollRequest &request, const TokenRecord &token,
                                       const QDateTime &now, bool *resumed);
    void attachSession(WorkerSession *session, WorkerConnection *connection,
                       const Protocol::EnrollRequest &request, const TokenRecord &token, bool resumed);
    Result<void> saveEnrollment(WorkerSession *session, const Protocol::EnrollRequest &request,
                                const TokenRecord &token, const QDateTime &now);
    void welcome(WorkerSession *session, WorkerConnection *connection, const Protocol::EnrollRequest &request,
                 const TokenRecord &token, bool resumed);
    bool shared() const;

    Settings m_settings;
    Store *m_store;
    EventLog *m_events;
    WorkerSessions *m_sessions;
    Scheduler *m_scheduler;
    Metrics *m_metrics;
    Fleet *m_fleet;
    QString m_url;
    std::deque<std::pair<qint64, QPointer<WorkerConnection>>> m_deadlines; // by deadline ms
    AddressThrottle m_throttle{10, 60000}; // refused enrollments per source address
    RefusalDigest m_refusals{60000, 20};   // which of them become events
};

} // namespace Swamp
