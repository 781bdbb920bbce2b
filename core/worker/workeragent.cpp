#include "worker/workeragent.h"

#include "common/duration.h"
#include "common/files.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/text.h"
#include "common/urls.h"
#include "model/errorcodes.h"
#include "model/token.h"
#include "protocol/enrollrequest.h"
#include "protocol/protocol.h"
#include "protocol/workerframes.h"
#include "tls/tlscredentials.h"
#include "tls/tlsdiagnosis.h"
#include "version/version.h"
#include "worker/machineidentity.h"
#include "worker/steprunner.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QNetworkRequest>
#include <QSslConfiguration>
#include <QSysInfo>
#include <QUuid>
#include <QWebSocket>

namespace Swamp {

WorkerAgent::WorkerAgent(WorkerOptions options, QObject *parent)
    : QObject(parent)
    , m_options(std::move(options))
    , m_instanceId(QUuid::createUuid().toString(QUuid::WithoutBraces))
{
    m_reconnectTimer.setSingleShot(true);
    connect(&m_reconnectTimer, &QTimer::timeout, this, &WorkerAgent::connectNow);
    connect(&m_pingTimer, &QTimer::timeout, this, &WorkerAgent::checkLiveness);
    m_idleTimer.setSingleShot(true);
    connect(&m_idleTimer, &QTimer::timeout, this, [this] {
        drainSelf(Tr::tr("idle for %1 (--idle-timeout)").arg(formatDurationMs(m_options.idleTimeoutMs)));
    });
}

WorkerAgent::~WorkerAgent()
{
    qDeleteAll(m_runners);
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
    }
}

void WorkerAgent::emitEvent(const QString &kind, const QString &text, QJsonObject data)
{
    Q_EMIT event(kind, text, data);
}

Result<void> WorkerAgent::start()
{
    if (m_options.cacheDir.isEmpty()) {
        m_temporaryDir = std::make_unique<QTemporaryDir>();
        if (!m_temporaryDir->isValid()) {
            return fail(QStringLiteral("directory"), Tr::tr("cannot create a temporary cache dir"),
                        Tr::tr("pass --cache-dir with a writable path"));
        }
        m_options.cacheDir = m_temporaryDir->path();
        emitEvent(QStringLiteral("warning"),
                  Tr::tr("no --cache-dir given: using the temporary %1, so this worker enrolls as a new "
                         "machine on every start; pass --cache-dir with a stable path to keep its identity")
                      .arg(m_options.cacheDir));
    }
    auto tls = clientTlsConfiguration(m_options.caCertPath);
    if (!tls)
        return fail(tls.error());
    m_tlsConfiguration = *tls;
    auto lock = lockCacheDir(m_options.cacheDir);
    if (!lock)
        return fail(lock.error());
    m_lock = std::move(*lock);
    auto machineId = loadOrCreateMachineId(m_options.cacheDir);
    if (!machineId)
        return fail(machineId.error());
    m_machineId = *machineId;
    auto machineKey = loadOrCreateMachineKey(m_options.cacheDir);
    if (!machineKey)
        return fail(machineKey.error());
    m_machineKey = *machineKey;
    if (auto prepared = prepareSteps(); !prepared)
        return prepared;
    connectNow();
    return {};
}

Result<void> WorkerAgent::prepareSteps()
{
    m_launch.workRoot = m_options.cacheDir + QStringLiteral("/work");
    if (auto dir = ensurePrivateDirectory(m_launch.workRoot); !dir)
        return fail(dir.error());
    if (m_options.stepUser) {
        // The step user may pass through the cache dir to its work directories (0711), never
        // list it or read what the worker keeps there (0600 files).
        const QFileDevice::Permissions passThrough = QFileDevice::ReadOwner | QFileDevice::WriteOwner
                                                     | QFileDevice::ExeOwner | QFileDevice::ExeGroup
                                                     | QFileDevice::ExeOther;
        QFile::setPermissions(m_options.cacheDir, passThrough);
        QFile::setPermissions(m_launch.workRoot, passThrough);
        const QString dir = m_options.cacheDir + u'/';
        const QStringList secrets{m_options.cacheDir, dir + QStringLiteral("machine-id"),
                                  dir + QStringLiteral("machine-key"), dir + QStringLiteral("worker.lock"),
                                  m_options.tokenFile};
        if (auto isolated = checkStepUserIsolation(*m_options.stepUser, secrets, m_launch.workRoot); !isolated)
            return isolated;
        m_launch.user = &*m_options.stepUser;
    }
    QString why;
    m_cgroups = StepCgroups::detect(&why);
    if (m_cgroups) {
        m_launch.cgroups = &*m_cgroups;
        emitEvent(QStringLiteral("info"),
                  Tr::tr("steps run in cgroups under %1%2: nothing they start outlives them")
                      .arg(m_cgroups->root(),
                           m_options.stepUser ? Tr::tr(", as user %1").arg(m_options.stepUser->name) : QString()));
    } else {
        emitEvent(QStringLiteral("info"),
                  Tr::tr("steps run in process groups%1 (no cgroups: %2): a step's setsid daemon can outlive it")
                      .arg(m_options.stepUser ? Tr::tr(" as user %1").arg(m_options.stepUser->name) : QString(), why));
    }
    return {};
}

void WorkerAgent::connectNow()
{
    if (m_finished)
        return;
    ++m_attempt;
    m_enrolled = false;
    m_opened = false;
    m_lastUrl = m_options.url;
    const QUrl endpoint = endpointUrl(m_options.url, QString::fromUtf16(Protocol::WorkerPath));
    emitEvent(QStringLiteral("connecting"),
              Tr::tr("connecting to %1 (attempt %2)").arg(redactedUrl(endpoint)).arg(m_attempt),
              {{QStringLiteral("url"), redactedUrl(endpoint)}, {QStringLiteral("attempt"), m_attempt}});
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
        m_socket.release()->deleteLater();
    }
    m_socket = std::make_unique<QWebSocket>(QString(), QWebSocketProtocol::VersionLatest);
    m_socket->setMaxAllowedIncomingMessageSize(quint64(Protocol::MaxWorkerFrameBytes));
    connect(m_socket.get(), &QWebSocket::connected, this, &WorkerAgent::handleConnected);
    connect(m_socket.get(), &QWebSocket::textMessageReceived, this, &WorkerAgent::handleText);
    connect(m_socket.get(), &QWebSocket::disconnected, this, &WorkerAgent::handleDisconnected);
    connect(m_socket.get(), &QWebSocket::pong, this,
            [this](quint64, const QByteArray &) { m_lastPongMs = QDateTime::currentMSecsSinceEpoch(); });
    // The first reason wins: a certificate problem (sslErrors) comes before the socket error
    // it causes, and a shutdown or close reason before the socket drops.
    connect(m_socket.get(), qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
            [this](QAbstractSocket::SocketError error) {
                if (!m_lastError.isEmpty())
                    return;
                if (error == QAbstractSocket::SslHandshakeFailedError)
                    m_lastError = describeTlsHandshakeFailure(m_socket->errorString()).text();
                else if (error == QAbstractSocket::RemoteHostClosedError && !m_opened)
                    m_lastError = describeClosedDuringHandshake(m_lastUrl, m_socket->errorString()).text();
                else
                    m_lastError = m_socket->errorString();
            });
    connect(m_socket.get(), &QWebSocket::sslErrors, this, [this](const QList<QSslError> &errors) {
        // Transient (SPEC §4): retried with backoff, and every attempt says what is wrong.
        m_lastError = describeTlsErrors(errors, m_lastUrl.host()).text();
    });
    m_socket->setSslConfiguration(m_tlsConfiguration);
    m_lastPongMs = QDateTime::currentMSecsSinceEpoch();
    // Until enrolled, the same watchdog bounds the handshake and the enroll reply.
    m_heartbeatTimeoutMs = 15000;
    m_pingTimer.start(1000);
    m_socket->open(QNetworkRequest(endpoint));
}

void WorkerAgent::handleConnected()
{
    m_opened = true;
    Protocol::EnrollRequest request;
    request.id = QString::number(m_attempt);
    request.protocol = Swamp::protocolVersion();
    request.version = Swamp::version();
    request.token = m_options.token;
    request.machineId = m_machineId;
    request.machineKey = m_machineKey;
    request.instanceId = m_instanceId;
    request.hostname = QSysInfo::machineHostName();
    request.platform = QSysInfo::kernelType();
    request.arch = QSysInfo::currentCpuArchitecture();
    request.labels = m_options.labels;
    request.capacity = m_options.capacity;
    request.name = m_options.name;
    m_socket->sendTextMessage(Protocol::encodeFrame(request.toJson()));
}

void WorkerAgent::handleText(const QString &text)
{
    m_lastPongMs = QDateTime::currentMSecsSinceEpoch();
    auto frame = Protocol::decodeFrame(text, Protocol::MaxWorkerFrameBytes);
    if (!frame) {
        m_lastError = frame.error().message;
        m_socket->close(static_cast<QWebSocketProtocol::CloseCode>(Protocol::CloseBadFrame),
                        frame.error().message);
        return;
    }
    const QString type = frame->value(QStringLiteral("type")).toString();
    qCDebug(lcWorker).noquote() << "received frame" << printable(leftCharacters(type, 40));
    if (type == Protocol::Type::Enrolled)
        handleEnrolled(Protocol::Enrolled::decode(*frame));
    else if (type == Protocol::Type::Error)
        handleError(*frame);
    else if (type == Protocol::Type::Shutdown) {
        const auto shutdown = Protocol::Shutdown::decode(*frame);
        m_lastError = shutdown.reason;
        // The whole fleet reconnects at once otherwise: spread over the window the orchestrator
        // asks for (bounded by the codec, whatever it sends).
        m_backoff.spreadOver(shutdown.reconnectWindowMs);
    }
    else if (type == Protocol::Type::Window)
        m_dropWindow.update(Protocol::Window::decode(*frame).reconnectWindowMs); // the fleet grew
    else if (type == Protocol::Type::Dispatch)
        handleDispatch(Protocol::Dispatch::decode(*frame));
    else if (type == Protocol::Type::Cancel) {
        const auto cancel = Protocol::Cancel::decode(*frame);
        if (StepRunner *runner = m_runners.value(cancel.leaseId))
            runner->cancel(cancel.reason);
    } else if (type == Protocol::Type::Ack)
        handleAck(Protocol::Ack::decode(*frame).leaseId);
    else if (type == Protocol::Type::Resend)
        handleResend(Protocol::Resend::decode(*frame));
    else if (type == Protocol::Type::Refused)
        handleRefused(Protocol::Refused::decode(*frame));
    else if (type == Protocol::Type::Drain) {
        handleDrain(Protocol::Drain::decode(*frame));
    } else if (type == Protocol::Type::Undrain) {
        m_draining = false;
        emitEvent(QStringLiteral("draining"), Tr::tr("undrained: taking steps again"));
    } else if (type == Protocol::Type::Stop) {
        drainSelf(Protocol::Stop::decode(*frame).reason);
    } else
        qCInfo(lcWorker) << "ignoring frame" << type;
}

void WorkerAgent::handleEnrolled(const Protocol::Enrolled &enrolled)
{
    m_enrolled = true;
    m_backoff.reset();
    m_attempt = 0;
    m_lastError.clear();
    m_workerName = enrolled.workerName;
    m_heartbeatIntervalMs = std::max<qint64>(100, enrolled.heartbeatIntervalMs);
    m_heartbeatTimeoutMs = std::max<qint64>(m_heartbeatIntervalMs, enrolled.heartbeatTimeoutMs);
    m_dropWindow.enrolled(enrolled.reconnectGraceMs, enrolled.reconnectWindowMs);
    m_pingTimer.start(int(m_heartbeatIntervalMs));
    const bool resumed = enrolled.resumed;
    m_draining = enrolled.draining;
    emitEvent(QStringLiteral("enrolled"),
              resumed ? Tr::tr("reconnected as %1 (session resumed)").arg(m_workerName)
                      : Tr::tr("enrolled as %1 (machine %2, orchestrator swamp %3)")
                            .arg(m_workerName, machineIdSuffix(m_machineId), enrolled.orchestratorVersion),
              {{QStringLiteral("workerName"), m_workerName},
               {QStringLiteral("workerId"), enrolled.workerId},
               {QStringLiteral("machineId"), m_machineId},
               {QStringLiteral("resumed"), resumed}});
    resumeLeases(enrolled.leases);
    if (m_stopping)
        send(Protocol::SelfDrain{Tr::tr("the worker is stopping")}.encode());
    restartIdleTimer();
    checkStop();
}

void WorkerAgent::send(const QByteArray &frame)
{
    if (m_socket && m_enrolled && m_socket->state() == QAbstractSocket::ConnectedState)
        m_socket->sendTextMessage(QString::fromUtf8(frame));
}

void WorkerAgent::handleResend(const Protocol::Resend &resend)
{
    // Only a lease this machine runs or still offers; a stale one was refused already.
    StepRunner *runner = m_runners.value(resend.leaseId);
    if (!runner || m_stale.contains(resend.leaseId))
        return;
    qCInfo(lcWorker) << "the orchestrator asks again for what lease" << resend.leaseId << "sent after output"
                     << resend.afterSeq;
    for (const QByteArray &frame : runner->framesAfter(resend.afterSeq))
        send(frame);
}

void WorkerAgent::resumeLeases(const QJsonObject &leases)
{
    // Leases the orchestrator still holds get what it missed; the others are stale: the step was
    // requeued elsewhere, so it stops here, and its result is offered once (and refused: fencing).
    const auto runners = m_runners;
    for (auto it = runners.cbegin(); it != runners.cend(); ++it) {
        StepRunner *runner = it.value();
        if (leases.contains(it.key()) && !m_stale.contains(it.key())) {
            for (const QByteArray &frame : runner->framesAfter(leases.value(it.key()).toInt()))
                send(frame);
            continue;
        }
        m_stale.insert(it.key());
        if (runner->isDone())
            send(runner->finished().encode());
        else
            runner->cancel(Tr::tr("the orchestrator no longer holds this lease"));
    }
    // A lease held for this worker that it never got: its `dispatch` was lost with the old
    // connection. Given back, the step is queued again; kept, it would wait as long as this
    // session lasts.
    for (auto it = leases.constBegin(); it != leases.constEnd(); ++it) {
        if (!runners.contains(it.key()))
            send(Protocol::Rejected{it.key(), Tr::tr("the dispatch was lost with the connection")}.encode());
    }
}

void WorkerAgent::handleDispatch(const Protocol::Dispatch &dispatch)
{
    const QString &leaseId = dispatch.leaseId;
    if (leaseId.isEmpty() || m_runners.contains(leaseId))
        return;
    const auto reject = [&](const QString &reason) { send(Protocol::Rejected{leaseId, reason}.encode()); };
    if (m_stopping || m_draining)
        return reject(Tr::tr("the worker is draining"));
    if (m_runners.size() >= m_options.capacity)
        return reject(Tr::tr("all %1 slots are busy").arg(m_options.capacity));
    m_idleTimer.stop();
    auto *runner = new StepRunner(dispatch, m_launch); // owned by m_runners alone
    m_runners.insert(leaseId, runner);
    watch(runner);
    runner->start();
}

// Sends what the runner reports (but a stale lease's output: only its result is offered, to be
// refused), and tells the worker's log of its start and end.
void WorkerAgent::watch(StepRunner *runner)
{
    const QString leaseId = runner->leaseId();
    connect(runner, &StepRunner::frameReady, this, [this, runner, leaseId](const QByteArray &frame) {
        if (m_stale.contains(leaseId) && !runner->isDone())
            return;
        send(frame);
    });
    const QJsonObject ids{{QStringLiteral("stepId"), runner->stepId()}, {QStringLiteral("leaseId"), leaseId}};
    connect(runner, &StepRunner::started, this, [this, runner, leaseId, ids] {
        if (m_stale.contains(leaseId))
            return;
        m_startedAt.insert(leaseId, QDateTime::currentMSecsSinceEpoch());
        QJsonObject data = ids;
        data.insert(QStringLiteral("state"), QStringLiteral("started"));
        emitEvent(QStringLiteral("step"),
                  Tr::tr("step started: %1 (step %2, attempt %3)")
                      .arg(runner->name(), shortId(runner->stepId()))
                      .arg(runner->attempt()),
                  data);
    });
    connect(runner, &StepRunner::done, this, [this, runner, leaseId, ids] {
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        const qint64 ms = now - m_startedAt.value(leaseId, now);
        const Protocol::Finished &finished = runner->finished();
        const QJsonValue exitCode = finished.exitCode ? QJsonValue(*finished.exitCode) : QJsonValue(QJsonValue::Null);
        QJsonObject data = ids;
        data.insert(QStringLiteral("state"), QStringLiteral("finished"));
        data.insert(QStringLiteral("outcome"), finished.outcomeText);
        data.insert(QStringLiteral("exitCode"), exitCode);
        data.insert(QStringLiteral("durationMs"), ms);
        emitEvent(QStringLiteral("step"),
                  Tr::tr("step finished: %1 (step %2) %3 in %4s")
                      .arg(runner->name(), shortId(runner->stepId()),
                           finished.exitCode ? Tr::tr("exit code %1").arg(*finished.exitCode) : finished.outcomeText,
                           QString::number(double(ms) / 1000.0, 'f', 1)),
                  data);
    });
}

void WorkerAgent::handleAck(const QString &leaseId)
{
    StepRunner *runner = m_runners.take(leaseId);
    if (!runner)
        return;
    const bool counted = !m_stale.remove(leaseId);
    m_startedAt.remove(leaseId);
    runner->deleteLater();
    if (counted) {
        ++m_stepsFinished;
        if (m_options.maxSteps > 0 && m_stepsFinished >= m_options.maxSteps)
            drainSelf(Tr::tr("ran %1 step(s) (--max-steps)").arg(m_stepsFinished));
    }
    restartIdleTimer();
    checkStop();
}

void WorkerAgent::handleDrain(const Protocol::Drain &drain)
{
    // The echo of this worker's own drain (code "worker") says nothing drainSelf() did not.
    const bool echo = drain.code == u"worker" && m_stopping;
    if (!m_draining && !echo)
        emitEvent(QStringLiteral("draining"), Tr::tr("draining: %1").arg(drain.reason), {{QStringLiteral("code"), drain.code}});
    m_draining = true;
}

void WorkerAgent::handleRefused(const Protocol::Refused &refused)
{
    const QString &leaseId = refused.leaseId;
    StepRunner *runner = m_runners.value(leaseId);
    if (!runner)
        return;
    emitEvent(QStringLiteral("warning"),
              Tr::tr("the orchestrator refused a frame for lease %1: %2").arg(shortId(leaseId), refused.reason));
    m_stale.insert(leaseId);
    if (!runner->isDone())
        runner->cancel(Tr::tr("lease no longer active"));
}

void WorkerAgent::restartIdleTimer()
{
    if (m_options.idleTimeoutMs > 0 && m_runners.isEmpty() && !m_stopping)
        m_idleTimer.start(int(std::min<qint64>(m_options.idleTimeoutMs, std::numeric_limits<int>::max())));
}

void WorkerAgent::drainSelf(const QString &reason)
{
    if (m_stopping)
        return;
    m_stopping = true;
    m_idleTimer.stop();
    emitEvent(QStringLiteral("draining"), Tr::tr("draining: %1; finishing %n running step(s), then exiting", nullptr,
                                                 int(m_runners.size())).arg(reason));
    send(Protocol::SelfDrain{reason}.encode());
    checkStop();
}

void WorkerAgent::checkStop()
{
    if (!m_stopping || !m_runners.isEmpty() || m_finished)
        return;
    if (m_socket && m_enrolled) {
        send(Protocol::Goodbye{Tr::tr("worker stopped")}.encode());
        m_socket->close(QWebSocketProtocol::CloseCodeNormal, QStringLiteral("goodbye"));
        // If the close handshake stalls, go anyway.
        QTimer::singleShot(3000, this, [this] { finish(0, Tr::tr("drained")); });
        return;
    }
    finish(0, Tr::tr("drained"));
}

void WorkerAgent::handleError(const QJsonObject &frame)
{
    Error error = Error::fromJson(frame);
    // Without --cache-dir there is no original cache dir to restore.
    if (error.code == u"token_bound" && m_temporaryDir)
        error.fix = Codes::tokenBoundWithoutCacheDirFix();
    if (Codes::isPermanent(error.code)) {
        m_permanentFailure = true;
        // While enrolled, the error ends a session that was running (its token expired).
        emitEvent(QStringLiteral("error"),
                  m_enrolled ? Codes::sessionEndedLine(error) : Codes::enrollmentFailureLine(error),
                  {{QStringLiteral("code"), error.code}, {QStringLiteral("reason"), error.message},
                   {QStringLiteral("fix"), error.fix}});
        // Removed by an operator: an exit code its service does not restart it on
        // (RestartPreventExitStatus), or it would enroll again.
        finish(error.code == u"worker_removed" ? ExitRemoved : 1, error.code);
        return;
    }
    m_lastError = error.text();
}

void WorkerAgent::checkLiveness()
{
    if (!m_socket)
        return;
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    if (now - m_lastPongMs > m_heartbeatTimeoutMs) {
        m_lastError = m_enrolled ? Tr::tr("no answer from the orchestrator for %1").arg(formatDurationMs(m_heartbeatTimeoutMs))
                                 : Tr::tr("no enrollment reply within %1").arg(formatDurationMs(m_heartbeatTimeoutMs));
        m_socket->abort();
        return;
    }
    if (m_enrolled)
        m_socket->ping();
}

void WorkerAgent::handleDisconnected()
{
    m_pingTimer.stop();
    if (m_finished)
        return;
    QString reason = m_lastError;
    if (reason.isEmpty() && m_socket && !m_socket->closeReason().isEmpty())
        reason = m_socket->closeReason();
    if (reason.isEmpty() && m_socket)
        reason = m_socket->errorString();
    if (reason.isEmpty())
        reason = Tr::tr("connection closed");
    m_lastError.clear();
    if (m_enrolled) {
        emitEvent(QStringLiteral("disconnected"), Tr::tr("disconnected: %1").arg(reason),
                  {{QStringLiteral("reason"), reason}});
        // Without a `shutdown` frame (the orchestrator was killed) the whole fleet lost it at
        // once too: spread the reconnects over the window it gave at enrollment.
        m_backoff.spreadAtLeast(m_dropWindow.ms());
    }
    m_enrolled = false;
    if (m_stopping && m_runners.isEmpty()) {
        finish(0, Tr::tr("drained"));
        return;
    }
    scheduleReconnect(reason);
}

void WorkerAgent::scheduleReconnect(const QString &reason)
{
    if (!m_options.reconnect) {
        emitEvent(QStringLiteral("error"), Tr::tr("cannot reach the orchestrator at %1: %2")
                                               .arg(redactedUrl(m_options.url), reason));
        finish(1, reason);
        return;
    }
    if (!m_options.fallbackUrls.isEmpty()) {
        // Fail over: the next orchestrator of the fleet, round-robin, with the usual backoff.
        m_options.fallbackUrls.append(m_options.url);
        m_options.url = m_options.fallbackUrls.takeFirst();
    }
    const qint64 delay = m_backoff.nextDelayMs();
    emitEvent(QStringLiteral("reconnecting"),
              Tr::tr("cannot reach the orchestrator at %1: %2; reconnecting in %3s")
                  .arg(redactedUrl(m_lastUrl.isEmpty() ? m_options.url : m_lastUrl), reason)
                  .arg(QString::number(double(delay) / 1000.0, 'f', 1)),
              {{QStringLiteral("delayMs"), delay}, {QStringLiteral("reason"), reason}});
    m_reconnectTimer.start(int(delay));
}

void WorkerAgent::requestStop(int count)
{
    if (count >= 2) {
        // Second signal: running steps are killed at once; the goodbye makes the orchestrator
        // requeue them now instead of after the reconnect grace.
        qDeleteAll(m_runners);
        m_runners.clear();
        if (m_socket && m_enrolled) {
            m_socket->sendTextMessage(
                QString::fromUtf8(Protocol::Goodbye{Tr::tr("stopped at once on a second signal")}.encode()));
            m_socket->flush();
        }
        finish(130, Tr::tr("stopped at once on a second signal"));
        return;
    }
    drainSelf(Tr::tr("signal received"));
}

void WorkerAgent::finish(int exitCode, const QString &reason)
{
    if (m_finished)
        return;
    m_finished = true;
    m_reconnectTimer.stop();
    m_pingTimer.stop();
    if (m_socket && m_socket->state() != QAbstractSocket::UnconnectedState)
        m_socket->abort();
    if (!m_permanentFailure)
        emitEvent(QStringLiteral("stopped"), Tr::tr("stopped: %1").arg(reason),
                  {{QStringLiteral("exitCode"), exitCode}});
    qDeleteAll(std::exchange(m_runners, {}));
    if (m_cgroups)
        m_cgroups->removeRoot();
    m_lock.reset();
    m_temporaryDir.reset();
    Q_EMIT finished(exitCode);
}

} // namespace Swamp
