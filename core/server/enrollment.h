#pragma once

#include "common/refusaldigest.h"
#include "common/result.h"
#include "model/token.h"
#include "model/worker.h"
#include "protocol/enrollrequest.h"
#include "server/addressthrottle.h"

#include <QDateTime>
#include <QHash>
#include <QJsonObject>
#include <QObject>
#include <QPointer>

#include <deque>
#include <functional>
#include <optional>
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

// Enrollment on /v1/worker: a new connection's first frame, checked in the order of SPEC §4
// (version, the frame's shape, the token exists, is not revoked or expired, the secret, the
// machine's binding and key, a live session of the machine: the ghost-session rule), then the
// worker admitted into the sessions and told `enrolled`; or refused with an `error` and close
// 4001. Refusals only a stranger causes count against its address (AddressThrottle); one event
// per address and token per minute is written (RefusalDigest), the rest summed up.
//
// In a fleet the ghost-session rule holds across orchestrators: when another live orchestrator
// holds the machine's session as connected, it is asked (a `probe` notification) to ping that
// session's socket, and answers `probed` with whether it did within ghostProbeMs; a live one
// means `already_connected`, no answer within twice ghostProbeMs (the holder is gone) or a dead
// socket means the worker moves here.
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
    // How many ghostProbeMs an enrollment waits for another orchestrator's answer about the
    // machine's session there: its ping, and the notifications' round trip.
    static constexpr qint64 RemoteProbeFactor = 2;

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

    // Fleet notifications for the ghost-session rule across orchestrators (enrollmentghost.cpp):
    // another orchestrator asks whether a session held here is live (`probe`: it is pinged, and
    // `probed` answers) ...
    void answerProbe(const QJsonObject &payload);
    // ... and the answer to a probe this orchestrator sent.
    void probeAnswered(const QJsonObject &payload);

private:
    // An enrollment waiting for another orchestrator's answer about the machine's session there.
    struct RemoteProbe
    {
        QPointer<WorkerConnection> connection;
        Protocol::EnrollRequest request;
        QString tokenName;
        QString requestId;
    };

    Result<TokenRecord> checkToken(const Protocol::EnrollRequest &request, const QString &peer);
    void admitWorker(WorkerConnection *connection, const Protocol::EnrollRequest &request, const TokenRecord &token);
    void refuse(WorkerConnection *connection, const Error &error, const QString &requestId);
    // Another process claims a machine whose socket is open: the old one is pinged, and the
    // new one is refused only if it answers.
    void probeGhost(WorkerConnection *connection, WorkerConnection *old, const Protocol::EnrollRequest &request,
                    const QString &tokenName, const QString &requestId);
    // Pings `old` and calls `done` once (unless `context` is gone first): true when a pong
    // arrives within ghostProbeMs, false when none does (also when the socket closes meanwhile).
    void pingForLiveness(WorkerConnection *old, QObject *context,
                         const std::function<void(bool)> &done);
    // The probe's verdict for the newcomer: a live session refuses it, a ghost lets it in.
    void decideGhost(const QPointer<WorkerConnection> &fresh,
                     const Protocol::EnrollRequest &request, const QString &tokenName,
                     const QString &requestId, bool live);
    // In a fleet: the stored worker of this machine when another live orchestrator holds it as
    // connected by another process (then its session there must be probed); nullopt otherwise.
    Result<std::optional<WorkerRecord>> heldLiveElsewhere(const Protocol::EnrollRequest &request,
                                                          const QString &tokenName);
    void probeRemote(WorkerConnection *connection, const WorkerRecord &held,
                     const Protocol::EnrollRequest &request, const QString &tokenName,
                     const QString &requestId);
    // The answer to the probe `probeId` (or its timeout): decideGhost() for its enrollment.
    void decideProbe(const QString &probeId, bool live);
    // admitWorker(), in its order
    // A name asked for (--name) that another machine's worker row holds: Codes::workerNameTaken.
    Result<void> checkNameFree(const Protocol::EnrollRequest &request, const TokenRecord &token);
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
    QHash<QString, RemoteProbe> m_remoteProbes; // by probe id, until answered or timed out
};

} // namespace Swamp
