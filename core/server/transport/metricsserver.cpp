#include "server/transport/metricsserver.h"

#include "common/logging.h"

#include <QPointer>
#include <QTcpSocket>
#include <QTimer>
#include <QUrl>

#include <unistd.h>

namespace Swamp {

namespace {

struct HttpResponse
{
    int status = 200;
    QByteArray body;
    QByteArray contentType = "text/plain; charset=utf-8";
    QByteArray extraHeaders; // complete "Name: value\r\n" lines
};

QByteArray reasonPhrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 431:
        return "Request Header Fields Too Large";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Error";
    }
}

HttpResponse plain(int status, const QByteArray &body)
{
    return HttpResponse{status, body + '\n', "text/plain; charset=utf-8", {}};
}

using Handler = std::function<HttpResponse(const QByteArray &method, const QByteArray &path)>;

} // namespace

namespace Internal {

// One connection: reads one request head (in as many pieces as it arrives), answers it, closes.
// Owns its socket; deletes itself (deleteLater) once the socket is closed.
class HttpExchange final : public QObject
{
public:
    HttpExchange(QTcpSocket *socket, Handler handler, int headTimeoutMs, QObject *parent)
        : QObject(parent), m_socket(socket), m_handler(std::move(handler))
    {
        m_socket->setParent(this);
        connect(m_socket, &QTcpSocket::readyRead, this, &HttpExchange::read);
        connect(m_socket, &QTcpSocket::disconnected, this, &QObject::deleteLater);
        m_timer.setSingleShot(true);
        connect(&m_timer, &QTimer::timeout, this, [this] {
            if (m_answered)
                m_socket->abort(); // the client does not take the answer: give up on it
            else
                answer(plain(408, "request timeout"), false);
        });
        m_timer.start(headTimeoutMs);
        read(); // bytes may have arrived before we connected
    }

    // Still waiting for a complete request head (nothing answered yet).
    bool isWaiting() const { return !m_answered; }
    QHostAddress peerAddress() const { return m_socket->peerAddress(); }

    // Drops the connection without an answer, to make room for a new one.
    void evict()
    {
        m_answered = true;
        m_timer.stop();
        m_socket->abort();
        deleteLater();
    }

private:
    void read()
    {
        if (m_answered)
            return;
        m_buffer += m_socket->read(MetricsServer::MaxRequestBytes + 1 - m_buffer.size());
        qsizetype headEnd = m_buffer.indexOf("\r\n\r\n");
        if (headEnd < 0)
            headEnd = m_buffer.indexOf("\n\n");
        if (headEnd < 0) {
            if (m_buffer.size() > MetricsServer::MaxRequestBytes)
                answer(plain(431, "request head larger than 8 KiB"), false);
            return;
        }
        qsizetype lineEnd = m_buffer.indexOf('\n');
        const QByteArray requestLine = m_buffer.left(lineEnd).trimmed();
        const QList<QByteArray> parts = requestLine.split(' ');
        if (parts.size() != 3 || parts.at(0).isEmpty() || parts.at(1).isEmpty()) {
            answer(plain(400, "malformed request line"), false);
            return;
        }
        const QByteArray &method = parts.at(0);
        const QByteArray &version = parts.at(2);
        const bool head = method == "HEAD";
        if (!version.startsWith("HTTP/")) {
            answer(plain(400, "malformed request line"), head);
            return;
        }
        if (version != "HTTP/1.1" && version != "HTTP/1.0") {
            answer(plain(505, "only HTTP/1.0 and HTTP/1.1 are served"), head);
            return;
        }
        QByteArray target = parts.at(1);
        if (target.startsWith("http://") || target.startsWith("https://"))
            target = QUrl::fromEncoded(target).path(QUrl::FullyEncoded).toLatin1();
        if (!target.startsWith('/')) {
            answer(plain(400, "request target must be a path"), head);
            return;
        }
        const qsizetype query = target.indexOf('?');
        answer(m_handler(method, query < 0 ? target : target.left(query)), head);
    }

    void answer(const HttpResponse &response, bool headOnly)
    {
        m_answered = true;
        QByteArray bytes = "HTTP/1.1 " + QByteArray::number(response.status) + ' ' +
                           reasonPhrase(response.status) + "\r\n" +
                           "Content-Type: " + response.contentType + "\r\n" +
                           "Content-Length: " + QByteArray::number(response.body.size()) + "\r\n" +
                           "Cache-Control: no-store\r\n" + "Connection: close\r\n" +
                           response.extraHeaders + "\r\n";
        if (!headOnly)
            bytes += response.body;
        m_socket->write(bytes);
        m_socket->disconnectFromHost(); // after the bytes are written
        m_timer.start(MetricsServer::AnswerTimeoutMs);
    }

    QTcpSocket *m_socket;
    Handler m_handler;
    QByteArray m_buffer;
    QTimer m_timer;
    bool m_answered = false;
};

} // namespace Internal

MetricsServer::MetricsServer(Exposition exposition, HealthCheck health, QObject *parent)
    : QObject(parent), m_exposition(std::move(exposition)), m_health(std::move(health))
{
    connect(&m_listener, &TcpListener::accepted, this, &MetricsServer::acceptConnection);
}

MetricsServer::~MetricsServer() = default;

Result<void> MetricsServer::listen(const QHostAddress &address, quint16 port)
{
    if (!m_listener.listen(address, port, MaxConnections)) {
        return fail(
            QStringLiteral("listen"),
            Tr::tr("cannot serve metrics on %1:%2: %3")
                .arg(address.toString())
                .arg(port)
                .arg(m_listener.errorString()),
            Tr::tr("pick a free port with --metrics-listen host:port, or stop what uses it"));
    }
    return {};
}

void MetricsServer::close()
{
    m_listener.close();
}

QString MetricsServer::url() const
{
    QHostAddress address = m_listener.serverAddress();
    if (address == QHostAddress::AnyIPv4)
        address = QHostAddress(QHostAddress::LocalHost);
    else if (address == QHostAddress::AnyIPv6 || address == QHostAddress::Any)
        address = QHostAddress(QHostAddress::LocalHostIPv6);
    QString host = address.toString();
    if (address.protocol() == QAbstractSocket::IPv6Protocol)
        host = u'[' + host + u']';
    return QStringLiteral("http://%1:%2/metrics").arg(host).arg(m_listener.serverPort());
}

bool MetricsServer::evictOneWaiting()
{
    for (Internal::HttpExchange *exchange : std::as_const(m_exchanges)) {
        if (exchange->isWaiting()) {
            qCInfo(lcWs) << "metrics: at" << MaxConnections
                         << "connections, dropping the oldest idle one, from"
                         << exchange->peerAddress();
            m_exchanges.removeOne(exchange);
            exchange->evict();
            return true;
        }
    }
    return false;
}

void MetricsServer::acceptConnection(int descriptor)
{
    auto *socket = new QTcpSocket;
    if (!socket->setSocketDescriptor(descriptor)) {
        ::close(descriptor);
        delete socket;
        return;
    }
    if (m_exchanges.size() >= MaxConnections && !evictOneWaiting()) {
        qCInfo(lcWs) << "metrics: too many connections being answered, dropping one from"
                     << socket->peerAddress();
        socket->abort();
        socket->deleteLater();
        return;
    }
    auto *exchange = new Internal::HttpExchange(
        socket,
        [this](const QByteArray &method, const QByteArray &path) {
            const bool known = path == "/metrics" || path == "/healthz";
            if (!known)
                return plain(404, "not found; try /metrics or /healthz");
            if (method != "GET" && method != "HEAD") {
                HttpResponse response = plain(405, "method not allowed; use GET or HEAD");
                response.extraHeaders = "Allow: GET, HEAD\r\n";
                return response;
            }
            if (path == "/metrics")
                return HttpResponse{
                    200, m_exposition(), "text/plain; version=0.0.4; charset=utf-8", {}};
            const Result<void> health = m_health();
            if (!health)
                return plain(503, health.error().message.toUtf8());
            return plain(200, "ok");
        },
        m_requestHeadTimeoutMs, this);
    m_exchanges.append(exchange);
    connect(exchange, &QObject::destroyed, this,
            [this, exchange] { m_exchanges.removeOne(exchange); });
}

} // namespace Swamp
