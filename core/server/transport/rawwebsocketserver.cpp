#include "server/transport/rawwebsocketserver.h"

#include "common/logging.h"
#include "server/transport/rawwebsocket.h"
#include "server/transport/tcplistener.h"

#include <QDeadlineTimer>

#include <unistd.h>

namespace Swamp {


namespace {

qint64 nowMs()
{
    return QDeadlineTimer::current().deadline();
}

} // namespace

RawWebSocketServer::RawWebSocketServer(const QString &serverName, QObject *parent)
    : QObject(parent), m_listener(std::make_unique<TcpListener>(QStringLiteral("the WebSocket listener"))),
      m_serverName(serverName.toUtf8()),
      m_unauthenticated({}, [](QObject *socket) { static_cast<RawWebSocket *>(socket)->abort(); })
{
    connect(m_listener.get(), &TcpListener::accepted, this, &RawWebSocketServer::accept);
    connect(&m_sweepTimer, &QTimer::timeout, this, &RawWebSocketServer::sweep);
    m_warnLater.setSingleShot(true);
    connect(&m_warnLater, &QTimer::timeout, this, [this] { warnRefused(QString()); });
}

RawWebSocketServer::~RawWebSocketServer()
{
    m_listener->close();
    QList<RawWebSocket *> owned = m_handshaking.keys();
    owned += std::exchange(m_pending, {});
    m_handshaking.clear();
    for (RawWebSocket *socket : std::as_const(owned)) {
        m_closing.remove(socket);
        socket->m_server = nullptr;
        delete socket;
    }
    // Taken connections still in their close handshake have nobody to time them out.
    const QList<RawWebSocket *> closing = std::exchange(m_closing, {}).keys();
    for (RawWebSocket *socket : closing)
        socket->abort();
}

bool RawWebSocketServer::listen(const QHostAddress &address, quint16 port, int backlog)
{
    return m_listener->listen(address, port, backlog);
}

void RawWebSocketServer::close()
{
    m_listener->close();
    const QList<RawWebSocket *> handshaking = m_handshaking.keys();
    for (RawWebSocket *socket : handshaking)
        socket->abort();
    const QList<RawWebSocket *> pending = m_pending;
    for (RawWebSocket *socket : pending) {
        socket->close(1001, QStringLiteral("server closed"));
        socket->abort();
    }
}

bool RawWebSocketServer::isListening() const
{
    return m_listener->isListening();
}

quint16 RawWebSocketServer::serverPort() const
{
    return m_listener->serverPort();
}

QString RawWebSocketServer::errorString() const
{
    return m_listener->errorString();
}

void RawWebSocketServer::setHandshakeTimeout(int ms)
{
    m_handshakeTimeoutMs = std::max(1, ms);
}

void RawWebSocketServer::setCloseTimeout(int ms)
{
    m_closeTimeoutMs = std::max(1, ms);
}

void RawWebSocketServer::setUnauthenticatedLimits(const UnauthenticatedPool::Limits &limits)
{
    m_unauthenticated.setLimits(limits);
}

RawWebSocket *RawWebSocketServer::nextPendingConnection()
{
    if (m_pending.isEmpty())
        return nullptr;
    RawWebSocket *socket = m_pending.takeFirst();
    socket->start();
    return socket;
}

void RawWebSocketServer::accept(int descriptor)
{
    // Non-blocking, with TCP_NODELAY (TcpListener): our frames are small request/answer
    // exchanges, and Nagle's algorithm would hold one until the peer's delayed ACK of the
    // previous one (up to 40 ms on Linux).
    auto *socket = new RawWebSocket(descriptor, this);
    const QString address = socket->peerAddress().toString();
    if (!m_unauthenticated.admit(socket, address)) {
        socket->m_server = nullptr;
        delete socket; // closes the descriptor: the peer sees the connection reset
        warnRefused(address);
        return;
    }
    m_handshaking.insert(socket, nowMs() + m_handshakeTimeoutMs);
    armSweep();
    if (m_unauthenticated.evicted() != m_droppedAtWarning)
        warnRefused(QString());
}

void RawWebSocketServer::warnRefused(const QString &address)
{
    if (!address.isEmpty()) {
        ++m_refusedSinceWarning;
        m_lastRefusedAddress = address;
    }
    const qint64 now = nowMs();
    if (now - m_lastWarningMs < 10000) {
        // At most one warning in 10 s, and none lost: the rest is told when they are up.
        if (!m_warnLater.isActive())
            m_warnLater.start(int(10000 - (now - m_lastWarningMs)));
        return;
    }
    m_warnLater.stop();
    QStringList what;
    if (m_refusedSinceWarning > 0) {
        what << QStringLiteral("refused %1 (at most %2 from one address, or as many as it holds connections with a "
                               "secret; the last from %3, which holds %4)")
                    .arg(m_refusedSinceWarning)
                    .arg(m_unauthenticated.limits().perAddress)
                    .arg(m_lastRefusedAddress)
                    .arg(m_unauthenticated.provenFrom(m_lastRefusedAddress));
    }
    if (const qint64 dropped = m_unauthenticated.evicted() - m_droppedAtWarning; dropped > 0)
        what << QStringLiteral("dropped %1 to make room").arg(dropped);
    qCWarning(lcWs).noquote() << QStringLiteral("connections without a secret at their bounds (%1 of %2 held, %3 KiB "
                                                "buffered): %4 since the last warning")
                                     .arg(m_unauthenticated.size())
                                     .arg(m_unauthenticated.limits().total)
                                     .arg(m_unauthenticated.bytes() / 1024)
                                     .arg(what.join(QStringLiteral(", ")));
    m_lastWarningMs = now;
    m_refusedSinceWarning = 0;
    m_droppedAtWarning = m_unauthenticated.evicted();
}

void RawWebSocketServer::authenticated(RawWebSocket *socket)
{
    m_unauthenticated.prove(socket);
}

void RawWebSocketServer::buffered(RawWebSocket *socket, qint64 bytes)
{
    const qint64 before = m_unauthenticated.evicted();
    m_unauthenticated.setBytes(socket, bytes);
    if (m_unauthenticated.evicted() != before)
        warnRefused(QString());
}

void RawWebSocketServer::upgraded(RawWebSocket *socket)
{
    m_handshaking.remove(socket);
    m_pending.append(socket);
    Q_EMIT newConnection();
}

void RawWebSocketServer::closing(RawWebSocket *socket, int timeoutMs)
{
    if (!m_closing.contains(socket))
        m_closing.insert(socket, nowMs() + (timeoutMs > 0 ? timeoutMs : m_closeTimeoutMs));
    armSweep();
}

void RawWebSocketServer::finished(RawWebSocket *socket)
{
    m_unauthenticated.remove(socket);
    m_closing.remove(socket);
    if (m_handshaking.remove(socket) || m_pending.removeOne(socket))
        socket->deleteLater();
}

void RawWebSocketServer::detach(RawWebSocket *socket)
{
    m_unauthenticated.remove(socket);
    m_closing.remove(socket);
    m_handshaking.remove(socket);
    m_pending.removeOne(socket);
}

void RawWebSocketServer::armSweep()
{
    if (m_sweepTimer.isActive())
        return;
    // A quarter of the shorter timeout: a connection is dropped at most 25% late.
    m_sweepTimer.start(std::clamp(std::min(m_handshakeTimeoutMs, m_closeTimeoutMs) / 4, 10, 1000));
}

void RawWebSocketServer::sweep()
{
    // Only the connections in a handshake are looked at, never every connection.
    const qint64 now = nowMs();
    QList<RawWebSocket *> expired;
    for (auto it = m_handshaking.cbegin(); it != m_handshaking.cend(); ++it) {
        if (it.value() <= now && !m_closing.contains(it.key()))
            expired << it.key();
    }
    for (auto it = m_closing.cbegin(); it != m_closing.cend(); ++it) {
        if (it.value() <= now)
            expired << it.key();
    }
    for (RawWebSocket *socket : std::as_const(expired))
        socket->abort();
    if (m_handshaking.isEmpty() && m_closing.isEmpty())
        m_sweepTimer.stop();
}

} // namespace Swamp
