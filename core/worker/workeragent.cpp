#include "worker/workeragent.h"

#include "common/duration.h"
#include "common/logging.h"
#include "common/urls.h"
#include "identity/machineidentity.h"
#include "protocol/errorcodes.h"
#include "protocol/protocol.h"
#include "version/version.h"

#include <QDateTime>
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
}

WorkerAgent::~WorkerAgent()
{
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
    auto lock = lockCacheDir(m_options.cacheDir);
    if (!lock)
        return fail(lock.error());
    m_lock = std::move(*lock);
    auto machineId = loadOrCreateMachineId(m_options.cacheDir);
    if (!machineId)
        return fail(machineId.error());
    m_machineId = *machineId;
    connectNow();
    return {};
}

void WorkerAgent::connectNow()
{
    if (m_finished)
        return;
    ++m_attempt;
    m_enrolled = false;
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
    connect(m_socket.get(), qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
            [this](QAbstractSocket::SocketError) { m_lastError = m_socket->errorString(); });
    connect(m_socket.get(), &QWebSocket::sslErrors, this, [this](const QList<QSslError> &errors) {
        QStringList texts;
        for (const QSslError &error : errors)
            texts << error.errorString();
        m_lastError = Tr::tr("TLS: %1 (pass --ca-cert with the CA that signed the orchestrator's "
                             "certificate, and use the host name in the certificate)")
                          .arg(texts.join(QStringLiteral("; ")));
    });
    if (!m_options.caCertPath.isEmpty()) {
        QSslConfiguration ssl = QSslConfiguration::defaultConfiguration();
        auto certs = QSslCertificate::fromPath(m_options.caCertPath, QSsl::Pem);
        ssl.addCaCertificates(certs);
        m_socket->setSslConfiguration(ssl);
    }
    m_lastPongMs = QDateTime::currentMSecsSinceEpoch();
    // Until enrolled, the same watchdog bounds the handshake and the enroll reply.
    m_heartbeatTimeoutMs = 15000;
    m_pingTimer.start(1000);
    m_socket->open(QNetworkRequest(endpoint));
}

void WorkerAgent::handleConnected()
{
    QString arch = QSysInfo::currentCpuArchitecture();
    m_socket->sendTextMessage(Protocol::encodeFrame(QJsonObject{
        {QStringLiteral("type"), Protocol::Type::Enroll},
        {QStringLiteral("id"), QString::number(m_attempt)},
        {QStringLiteral("protocol"), Swamp::protocolVersion()},
        {QStringLiteral("version"), Swamp::version()},
        {QStringLiteral("token"), m_options.token},
        {QStringLiteral("machineId"), m_machineId},
        {QStringLiteral("instanceId"), m_instanceId},
        {QStringLiteral("hostname"), QSysInfo::machineHostName()},
        {QStringLiteral("platform"), QSysInfo::kernelType()},
        {QStringLiteral("arch"), arch},
        {QStringLiteral("labels"), labelsToJson(m_options.labels)},
        {QStringLiteral("capacity"), m_options.capacity},
    }));
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
    if (type == Protocol::Type::Enrolled)
        handleEnrolled(*frame);
    else if (type == Protocol::Type::Error)
        handleError(*frame);
    else if (type == Protocol::Type::Shutdown)
        m_lastError = frame->value(QStringLiteral("reason")).toString();
    else
        qCInfo(lcWorker) << "ignoring frame" << type;
}

void WorkerAgent::handleEnrolled(const QJsonObject &frame)
{
    m_enrolled = true;
    m_backoff.reset();
    m_attempt = 0;
    m_lastError.clear();
    m_workerName = frame.value(QStringLiteral("workerName")).toString();
    m_heartbeatIntervalMs = std::max<qint64>(100, frame.value(QStringLiteral("heartbeatIntervalMs")).toInteger(5000));
    m_heartbeatTimeoutMs = std::max<qint64>(m_heartbeatIntervalMs, frame.value(QStringLiteral("heartbeatTimeoutMs")).toInteger(15000));
    m_pingTimer.start(int(m_heartbeatIntervalMs));
    const bool resumed = frame.value(QStringLiteral("resumed")).toBool();
    emitEvent(QStringLiteral("enrolled"),
              resumed ? Tr::tr("reconnected as %1 (session resumed)").arg(m_workerName)
                      : Tr::tr("enrolled as %1 (machine %2, orchestrator swamp %3)")
                            .arg(m_workerName, machineIdSuffix(m_machineId),
                                 frame.value(QStringLiteral("orchestratorVersion")).toString()),
              {{QStringLiteral("workerName"), m_workerName},
               {QStringLiteral("workerId"), frame.value(QStringLiteral("workerId"))},
               {QStringLiteral("machineId"), m_machineId},
               {QStringLiteral("resumed"), resumed}});
}

void WorkerAgent::handleError(const QJsonObject &frame)
{
    const Error error = Error::fromJson(frame);
    if (Codes::isPermanent(error.code)) {
        m_permanentFailure = true;
        emitEvent(QStringLiteral("error"), Codes::enrollmentFailureLine(error),
                  {{QStringLiteral("code"), error.code}, {QStringLiteral("message"), error.message},
                   {QStringLiteral("fix"), error.fix}});
        finish(1, error.code);
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
    if (m_enrolled)
        emitEvent(QStringLiteral("disconnected"), Tr::tr("disconnected: %1").arg(reason),
                  {{QStringLiteral("reason"), reason}});
    m_enrolled = false;
    if (m_stopping) {
        finish(0, Tr::tr("stopped on request"));
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
    const qint64 delay = m_backoff.nextDelayMs();
    emitEvent(QStringLiteral("reconnecting"),
              Tr::tr("cannot reach the orchestrator at %1: %2; reconnecting in %3s")
                  .arg(redactedUrl(m_options.url), reason)
                  .arg(QString::number(double(delay) / 1000.0, 'f', 1)),
              {{QStringLiteral("delayMs"), delay}, {QStringLiteral("reason"), reason}});
    m_reconnectTimer.start(int(delay));
}

void WorkerAgent::requestStop(int count)
{
    if (count >= 2) {
        finish(130, Tr::tr("stopped at once on a second signal"));
        return;
    }
    m_stopping = true;
    emitEvent(QStringLiteral("draining"), Tr::tr("draining: finishing running steps, then exiting"));
    if (m_socket && m_enrolled) {
        m_socket->sendTextMessage(Protocol::encodeFrame(
            {{QStringLiteral("type"), Protocol::Type::Goodbye},
             {QStringLiteral("reason"), Tr::tr("worker stopped by signal")}}));
        m_socket->close(QWebSocketProtocol::CloseCodeNormal, QStringLiteral("goodbye"));
        // If the close handshake stalls, go anyway.
        QTimer::singleShot(3000, this, [this] { finish(0, Tr::tr("stopped on request")); });
        return;
    }
    finish(0, Tr::tr("stopped on request"));
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
    m_lock.reset();
    m_temporaryDir.reset();
    Q_EMIT finished(exitCode);
}

} // namespace Swamp
