#include "server/transport/peersocket.h"

#include "common/logging.h"

#include <QWebSocket>

namespace Swamp {

void PeerSocket::warnStalled(qint64 unsentBytes) const
{
    qCWarning(lcWs).noquote() << QStringLiteral("dropped the connection from %1: it left %2 MiB unread (a stalled or "
                                                "far too slow client); it may reconnect")
                                     .arg(peerAddress().toString())
                                     .arg(double(unsentBytes) / (1024 * 1024), 0, 'f', 1);
}

QtPeerSocket::QtPeerSocket(QWebSocket *socket, QObject *parent)
    : PeerSocket(parent), m_socket(socket)
{
    m_socket->setParent(nullptr);
    connect(m_socket.get(), &QWebSocket::textMessageReceived, this,
            &PeerSocket::textMessageReceived);
    connect(m_socket.get(), &QWebSocket::binaryMessageReceived, this,
            &PeerSocket::binaryMessageReceived);
    connect(m_socket.get(), &QWebSocket::pong, this,
            [this](quint64, const QByteArray &) { Q_EMIT pongReceived(); });
    connect(m_socket.get(), &QWebSocket::disconnected, this, &PeerSocket::disconnected);
    connect(m_socket.get(), &QWebSocket::bytesWritten, this, &PeerSocket::unsentReduced);
}

qint64 QtPeerSocket::unsentBytes() const
{
    return m_socket->bytesToWrite();
}

QtPeerSocket::~QtPeerSocket()
{
    m_socket->disconnect(this);
    m_socket->abort();
}

void QtPeerSocket::setMaxMessageBytes(qint64 bytes)
{
    m_socket->setMaxAllowedIncomingMessageSize(quint64(bytes));
    m_socket->setMaxAllowedIncomingFrameSize(quint64(bytes));
}

void QtPeerSocket::sendTexts(const QList<QByteArray> &utf8)
{
    if (!isOpen())
        return;
    for (const QByteArray &text : utf8)
        m_socket->sendTextMessage(QString::fromUtf8(text));
    if (const qint64 unsent = m_socket->bytesToWrite(); unsent > m_maxUnsentBytes) {
        warnStalled(unsent);
        m_socket->abort();
    }
}

void QtPeerSocket::close(int code, const QString &reason)
{
    m_socket->close(static_cast<QWebSocketProtocol::CloseCode>(code), reason);
}

void QtPeerSocket::abort()
{
    m_socket->abort();
}

void QtPeerSocket::ping()
{
    if (isOpen())
        m_socket->ping();
}

bool QtPeerSocket::isOpen() const
{
    return m_socket->state() == QAbstractSocket::ConnectedState;
}

int QtPeerSocket::closeCode() const
{
    return m_socket->closeCode();
}

QHostAddress QtPeerSocket::peerAddress() const
{
    return m_socket->peerAddress();
}

QString QtPeerSocket::requestPath() const
{
    return m_socket->requestUrl().path();
}

QByteArray QtPeerSocket::requestHeader(const QByteArray &name) const
{
    return m_socket->request().rawHeader(name);
}

} // namespace Swamp
