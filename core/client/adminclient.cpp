#include "client/adminclient.h"

#include "common/datadir.h"
#include "common/files.h"
#include "common/urls.h"
#include "protocol/protocol.h"
#include "tls/tlscredentials.h"
#include "tls/tlsdiagnosis.h"
#include "version/version.h"

#include <QCoreApplication>
#include <QEventLoop>
#include <QNetworkRequest>
#include <QSslConfiguration>
#include <QTimer>
#include <QWebSocket>

namespace Swamp {

Result<AdminEndpoint> resolveAdminEndpoint(const AdminEndpointOptions &options)
{
    AdminEndpoint endpoint;
    endpoint.caCertPath = options.caCertPath.isEmpty() ? qEnvironmentVariable("SWAMP_CA_CERT")
                                                       : options.caCertPath;
    // A CA file that cannot be used is a usage error, found before any connection is tried.
    if (!endpoint.caCertPath.isEmpty()) {
        if (auto certificates = loadCaCertificates(endpoint.caCertPath); !certificates)
            return fail(certificates.error());
    }
    QString server = options.server.isEmpty() ? qEnvironmentVariable("SWAMP_SERVER") : options.server;
    QString token = options.adminToken.isEmpty() ? qEnvironmentVariable("SWAMP_ADMIN_TOKEN")
                                                 : options.adminToken;
    QString tokenFile = options.adminTokenFile.isEmpty() ? qEnvironmentVariable("SWAMP_ADMIN_TOKEN_FILE")
                                                         : options.adminTokenFile;
    if (token.isEmpty() && !tokenFile.isEmpty()) {
        auto bytes = readFile(tokenFile);
        if (!bytes)
            return fail(bytes.error());
        token = QString::fromUtf8(bytes->trimmed());
    }
    if (server.isEmpty() || token.isEmpty()) {
        const QString dataDir = options.dataDir.isEmpty() ? defaultDataDir() : options.dataDir;
        auto config = readAdminConfig(dataDir);
        if (!config) {
            if (config.error().code == u"admin_config")
                return fail(config.error());
            return fail(QStringLiteral("no_orchestrator"), Tr::tr("no orchestrator configured"),
                        Tr::tr("run 'swamp serve' on this machine or pass --server and --admin-token"));
        }
        if (server.isEmpty()) {
            server = config->url;
            endpoint.pinnedCertificate = config->certificate.toLatin1();
        }
        if (token.isEmpty())
            token = config->adminToken;
    }
    auto url = parseOrchestratorUrl(server);
    if (!url)
        return fail(url.error());
    endpoint.url = *url;
    endpoint.adminToken = token;
    return endpoint;
}

AdminClient::AdminClient(AdminEndpoint endpoint, QObject *parent)
    : QObject(parent)
    , m_endpoint(std::move(endpoint))
{
}

AdminClient::~AdminClient()
{
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
    }
}

void AdminClient::open()
{
    if (m_socket)
        return;
    m_closeError = Error();
    m_socket = std::make_unique<QWebSocket>();
    m_socket->setMaxAllowedIncomingMessageSize(quint64(Protocol::MaxAdminFrameBytes) * 16);
    auto tls = clientTlsConfiguration(m_endpoint.caCertPath);
    if (tls) {
        m_socket->setSslConfiguration(*tls);
    } else {
        // The CA file went away since the endpoint was resolved: fail like a refused connection.
        const Error error = tls.error();
        m_socket.reset();
        QTimer::singleShot(0, this, [this, error] {
            failAll(error);
            Q_EMIT disconnected(error);
        });
        return;
    }
    connect(m_socket.get(), &QWebSocket::connected, this, [this] {
        m_connected = true;
        Q_EMIT connected();
        flushPending();
    });
    connect(m_socket.get(), &QWebSocket::textMessageReceived, this, &AdminClient::handleText);
    connect(m_socket.get(), &QWebSocket::disconnected, this, &AdminClient::handleClosed);
    connect(m_socket.get(), &QWebSocket::sslErrors, this, [this](const QList<QSslError> &errors) {
        if (!m_endpoint.pinnedCertificate.isEmpty()
            && isPinnedPeer(errors, m_socket->sslConfiguration().peerCertificate(),
                            m_endpoint.pinnedCertificate)) {
            m_socket->ignoreSslErrors();
            return;
        }
        m_closeError = describeTlsErrors(errors, m_endpoint.url.host());
        m_closeError.message = Tr::tr("cannot reach the orchestrator at %1: %2")
                                   .arg(redactedUrl(m_endpoint.url), m_closeError.message);
    });
    connect(m_socket.get(), qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this,
            [this](QAbstractSocket::SocketError error) {
                if (error != QAbstractSocket::SslHandshakeFailedError || !m_closeError.code.isEmpty())
                    return;
                m_closeError = describeTlsHandshakeFailure(m_socket->errorString());
                m_closeError.message = Tr::tr("cannot reach the orchestrator at %1: %2")
                                           .arg(redactedUrl(m_endpoint.url), m_closeError.message);
            });
    QNetworkRequest request(endpointUrl(m_endpoint.url, QString::fromUtf16(Protocol::AdminPath)));
    request.setRawHeader("Authorization", "Bearer " + m_endpoint.adminToken.toUtf8());
    // Names the client in the orchestrator's audit trail: "swamp/0.1.0", "swamp-console/0.1.0".
    request.setRawHeader("User-Agent", (QCoreApplication::applicationName() + u'/' + Swamp::version()).toUtf8());
    m_socket->open(request);
}

void AdminClient::close()
{
    if (m_socket)
        m_socket->close();
}

void AdminClient::request(const QString &method, const QJsonObject &params, Callback callback)
{
    const QString id = QString::number(m_nextId++);
    QJsonObject frame{{QStringLiteral("type"), method},
                      {QStringLiteral("id"), id},
                      {QStringLiteral("params"), params}};
    if (!m_connected) {
        m_pending << std::pair{frame, std::move(callback)};
        open();
        return;
    }
    m_inFlight.insert(id, std::move(callback));
    m_socket->sendTextMessage(Protocol::encodeFrame(frame));
}

void AdminClient::flushPending()
{
    const auto pending = std::exchange(m_pending, {});
    for (const auto &[frame, callback] : pending) {
        m_inFlight.insert(frame.value(QStringLiteral("id")).toString(), callback);
        m_socket->sendTextMessage(Protocol::encodeFrame(frame));
    }
}

void AdminClient::handleText(const QString &text)
{
    auto frame = Protocol::decodeFrame(text, Protocol::MaxAdminFrameBytes * 16);
    if (!frame)
        return;
    const QString type = frame->value(QStringLiteral("type")).toString();
    const QString id = frame->value(QStringLiteral("id")).toString();
    if (type == Protocol::Type::Event) {
        Q_EMIT eventReceived(Event::fromJson(frame->value(QStringLiteral("event")).toObject()));
        return;
    }
    if (type == Protocol::Type::Error && id.isEmpty()) {
        m_closeError = Error::fromJson(*frame); // e.g. unauthorized; the close follows
        return;
    }
    if (id.isEmpty()) {
        Q_EMIT frameReceived(*frame);
        return;
    }
    Callback callback = m_inFlight.take(id);
    if (!callback)
        return;
    if (type == Protocol::Type::Result)
        callback(frame->value(QStringLiteral("result")).toObject());
    else
        callback(std::unexpected<Error>(Error::fromJson(*frame)));
}

void AdminClient::handleClosed()
{
    Error error = m_closeError;
    if (error.code.isEmpty() && !m_connected
        && m_socket->error() == QAbstractSocket::RemoteHostClosedError) {
        error = describeClosedDuringHandshake(m_endpoint.url, m_socket->errorString());
        error.message = Tr::tr("cannot reach the orchestrator at %1: %2")
                            .arg(redactedUrl(m_endpoint.url), error.message);
    }
    if (error.code.isEmpty()) {
        const QString reason = m_socket->closeReason().isEmpty() ? m_socket->errorString()
                                                                 : m_socket->closeReason();
        error = makeError(QStringLiteral("unreachable"),
                          Tr::tr("cannot reach the orchestrator at %1: %2")
                              .arg(redactedUrl(m_endpoint.url), reason),
                          Tr::tr("check that 'swamp serve' runs and the URL is right"));
    }
    m_connected = false;
    m_socket->disconnect(this);
    m_socket.release()->deleteLater();
    failAll(error);
    Q_EMIT disconnected(error);
}

void AdminClient::failAll(const Error &error)
{
    const auto inFlight = std::exchange(m_inFlight, {});
    for (const Callback &callback : inFlight)
        callback(std::unexpected<Error>(error));
    const auto pending = std::exchange(m_pending, {});
    for (const auto &entry : pending)
        entry.second(std::unexpected<Error>(error));
}

Result<QJsonObject> AdminClient::call(const QString &method, const QJsonObject &params, int timeoutMs)
{
    QEventLoop loop;
    std::optional<Result<QJsonObject>> answer;
    request(method, params, [&](const Result<QJsonObject> &result) {
        answer = result;
        loop.quit();
    });
    QTimer timer;
    timer.setSingleShot(true);
    connect(&timer, &QTimer::timeout, &loop, &QEventLoop::quit);
    timer.start(timeoutMs);
    if (!answer)
        loop.exec();
    if (!answer) {
        return fail(QStringLiteral("timeout"),
                    Tr::tr("the orchestrator at %1 did not answer within %2s")
                        .arg(redactedUrl(m_endpoint.url))
                        .arg(timeoutMs / 1000),
                    Tr::tr("check the orchestrator's log; retry"));
    }
    return *answer;
}

} // namespace Swamp
