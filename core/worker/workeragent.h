#pragma once

#include "common/backoff.h"
#include "common/labels.h"
#include "common/result.h"
#include "worker/stepcgroups.h"
#include "worker/steprunner.h"
#include "worker/stepuser.h"

#include <QJsonObject>
#include <QLockFile>
#include <QHash>
#include <QObject>
#include <QSet>
#include <QSslConfiguration>
#include <QTemporaryDir>
#include <QTimer>
#include <QUrl>

#include <memory>

class QWebSocket;

namespace Swamp {

class StepRunner;

struct WorkerOptions
{
    QUrl url;              // the orchestrator tried first
    QList<QUrl> fallbackUrls; // more orchestrators of the same fleet, tried in turn on failures
    QString token;         // "<name>.<secret>"; never printed
    QString cacheDir;      // empty: a temporary directory, a new machine on every start
    QString tokenFile;     // where the token was read from (kept from the step user); may be empty
    std::optional<StepUser> stepUser; // --step-user: steps run as this account
    Labels labels;
    QString name;          // --name: the worker name asked for; empty: the token's (workerNameFor())
    int capacity = 1;
    QString caCertPath;    // PEM CA certificates to trust besides the system's; error "invalid_ca_cert"
    int maxSteps = 0;      // 0: unlimited
    qint64 idleTimeoutMs = 0;
    bool reconnect = true;
};

// The worker agent (`swamp worker connect`): holds the cache dir, enrolls, keeps the connection
// alive, reconnects with full-jitter backoff on transient failures, and stops on permanent ones.
// Reports what happens through `event` (one per operator-visible event) and ends with `finished`
// exactly once.
class WorkerAgent final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(WorkerAgent)

public:
    // The exit code after `swamp worker remove` ended this worker (error worker_removed): not 1,
    // so that a service manager that restarts on failure can be told not to (systemd
    // RestartPreventExitStatus=2 3), which would enroll it again.
    static constexpr int ExitRemoved = 3;

    explicit WorkerAgent(WorkerOptions options, QObject *parent = nullptr);
    ~WorkerAgent() override;

    // Takes the cache dir lock and the machine identity, sets up what steps run as and in (the
    // step user's checks, cgroups; see StepLaunch), then starts connecting. Errors name the cause
    // and the fix ("step_user", "cache_dir_in_use", "identity_corrupt", ...).
    Result<void> start();
    // First call: drain and exit 0; second: stop at once with 130.
    void requestStop(int count);

    QString machineId() const { return m_machineId; }
    QString instanceId() const { return m_instanceId; }

Q_SIGNALS:
    // kind: connecting, enrolled, disconnected, reconnecting, draining, step, stopped, warning,
    // error
    void event(const QString &kind, const QString &text, const QJsonObject &data);
    void finished(int exitCode);

private:
    Result<void> prepareSteps();
    void connectNow();
    void handleConnected();
    void handleText(const QString &text);
    void handleDisconnected();
    void handleEnrolled(const Protocol::Enrolled &enrolled);
    void handleError(const QJsonObject &frame);
    void scheduleReconnect(const QString &reason);
    void checkLiveness();
    void finish(int exitCode, const QString &reason);
    void send(const QByteArray &frame); // encoded (protocol/workerframes.h)
    void handleDispatch(const Protocol::Dispatch &dispatch);
    void handleAck(const QString &leaseId);
    void handleRefused(const Protocol::Refused &refused);
    void handleResend(const Protocol::Resend &resend);
    void handleDrain(const Protocol::Drain &drain);
    void watch(StepRunner *runner);
    void resumeLeases(const QJsonObject &leases);
    void drainSelf(const QString &reason);
    void checkStop();
    void restartIdleTimer();
    void emitEvent(const QString &kind, const QString &text, QJsonObject data = {});

    WorkerOptions m_options;
    std::unique_ptr<QTemporaryDir> m_temporaryDir;
    std::unique_ptr<QLockFile> m_lock;
    std::unique_ptr<QWebSocket> m_socket;
    QSslConfiguration m_tlsConfiguration; // the system CAs plus --ca-cert
    QString m_machineId;
    QString m_machineKey; // never printed or logged
    QString m_instanceId;
    QString m_workerName;
    std::optional<StepCgroups> m_cgroups;
    StepLaunch m_launch;
    Backoff m_backoff;
    QTimer m_reconnectTimer;
    QTimer m_pingTimer;
    int m_attempt = 0;
    bool m_enrolled = false;
    bool m_opened = false;      // the WebSocket handshake of the current connection completed
    bool m_stopping = false;
    bool m_finished = false;
    bool m_permanentFailure = false;
    qint64 m_lastPongMs = 0;
    qint64 m_heartbeatIntervalMs = 5000;
    qint64 m_heartbeatTimeoutMs = 15000;
    DropWindow m_dropWindow;
    QString m_lastError;
    QUrl m_lastUrl; // the orchestrator of the current or last attempt
    // By lease id, until the orchestrator acks the result; their only owner (they have no parent):
    // deleted once acked, or all of them when the worker stops.
    QHash<QString, StepRunner *> m_runners;
    QSet<QString> m_stale;                  // leases the orchestrator no longer holds
    QHash<QString, qint64> m_startedAt;
    bool m_draining = false;                // told by the orchestrator: take no new steps
    int m_stepsFinished = 0;
    QTimer m_idleTimer;
};

} // namespace Swamp
