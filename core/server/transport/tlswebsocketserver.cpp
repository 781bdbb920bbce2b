#include "server/transport/tlswebsocketserver.h"

#include "common/logging.h"
#include "server/transport/connections.h"
#include "server/transport/tcplistener.h"

#include <QSslSocket>
#include <QTimer>
#include <QWebSocket>
#include <QWebSocketServer>

#include <unistd.h>

namespace Swamp {

TlsWebSocketServer::TlsWebSocketServer(const QString &serverName, const QSslConfiguration &configuration,
                                       int handshakeTimeoutMs, QObject *parent)
    : QObject(parent)
    , m_listener(std::make_unique<TcpListener>(QStringLiteral("the WebSocket listener")))
    , m_server(std::make_unique<QWebSocketServer>(serverName, QWebSocketServer::SecureMode))
    , m_configuration(configuration)
    , m_handshakeTimeoutMs(handshakeTimeoutMs)
    , m_unauthenticated({}, [this](QObject *connection) {
        // A TLS handshake of ours, or an upgraded connection that has not proven a secret.
        if (auto *socket = qobject_cast<QSslSocket *>(connection); socket && m_handshaking.contains(socket))
            socket->abort();
        else if (auto *peer = qobject_cast<PeerConnection *>(connection))
            peer->abort();
    })
{
    m_server->setSslConfiguration(configuration);
    m_server->setMaxPendingConnections(4096);
    m_server->setHandshakeTimeout(handshakeTimeoutMs);
    connect(m_listener.get(), &TcpListener::accepted, this, &TlsWebSocketServer::accept);
    connect(m_server.get(), &QWebSocketServer::newConnection, this, &TlsWebSocketServer::newConnection);
}

TlsWebSocketServer::~TlsWebSocketServer()
{
    for (QSslSocket *socket : std::exchange(m_handshaking, {})) {
        socket->disconnect(this);
        delete socket;
    }
}

bool TlsWebSocketServer::listen(const QHostAddress &address, quint16 port, int backlog)
{
    return m_listener->listen(address, port, backlog);
}

void TlsWebSocketServer::close()
{
    m_listener->close();
    for (QSslSocket *socket : std::as_const(m_handshaking))
        socket->abort();
}

quint16 TlsWebSocketServer::serverPort() const
{
    return m_listener->serverPort();
}

QString TlsWebSocketServer::errorString() const
{
    return m_listener->errorString();
}

QWebSocket *TlsWebSocketServer::nextPendingConnection()
{
    return m_server->nextPendingConnection();
}

void TlsWebSocketServer::accept(int descriptor)
{
    auto *socket = new QSslSocket;
    if (!socket->setSocketDescriptor(descriptor)) {
        ::close(descriptor);
        delete socket;
        return;
    }
    if (!m_unauthenticated.admit(socket, socket->peerAddress().toString())) {
        qCInfo(lcWs) << "refused a connection from" << socket->peerAddress()
                     << ": too many connections without a secret from that address";
        socket->abort();
        socket->deleteLater();
        return;
    }
    m_handshaking.insert(socket);
    const auto forget = [this, socket] {
        if (!m_handshaking.remove(socket))
            return;
        m_unauthenticated.remove(socket);
        socket->disconnect(this);
        socket->deleteLater();
    };
    connect(socket, &QSslSocket::encrypted, this, [this, socket] { encrypted(socket); });
    connect(socket, &QAbstractSocket::disconnected, this, forget);
    connect(socket, &QAbstractSocket::errorOccurred, this, [socket](QAbstractSocket::SocketError) {
        socket->abort(); // a failed TLS handshake: disconnected follows
    });
    QTimer::singleShot(m_handshakeTimeoutMs, socket, [socket] {
        if (!socket->isEncrypted())
            socket->abort();
    });
    socket->setSslConfiguration(m_configuration);
    socket->startServerEncryption();
}

void TlsWebSocketServer::encrypted(QSslSocket *socket)
{
    m_handshaking.remove(socket);
    m_unauthenticated.remove(socket);
    socket->disconnect(this);
    m_server->handleConnection(socket); // its WebSocket handshake; QWebSocketServer owns it now
    // QWebSocketServer (Qt 6.4) cleans up a closed socket in a slot that finds it with sender(),
    // a walk over all its connections: closing N sockets cost about N²/2 steps (2.3 s of CPU for
    // 10,000). The socket deletes itself instead, which is all that slot does.
    if (QObject::disconnect(socket, &QAbstractSocket::disconnected, m_server.get(), nullptr))
        connect(socket, &QAbstractSocket::disconnected, socket, &QObject::deleteLater);
}

} // namespace Swamp
