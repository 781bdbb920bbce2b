#pragma once

#include "server/transport/unauthenticatedpool.h"

#include <QByteArray>
#include <QHash>
#include <QHostAddress>
#include <QList>
#include <QObject>
#include <QTimer>

#include <memory>

namespace Swamp {

class RawWebSocket;
class TcpListener;

// The plain (ws://) WebSocket listener of the orchestrator, in place of QWebSocketServer: a
// TcpListener that hands over accepted file descriptors (no QTcpSocket is ever made) to
// RawWebSocket, which does the upgrade handshake and the framing. Out of file descriptors it
// pauses accepting and says so (TcpListener). What an idle connection costs
// is what `swamp serve` spends per worker (issue 8), see RawWebSocket.
//
// One sweep timer, running only while there is something to time out, drops connections whose
// handshake is not done within handshakeTimeout() and those whose close handshake is not done
// within closeTimeout(). Every accepted socket gets TCP_NODELAY.
//
// A connection counts as unauthenticated from accept() until its owner calls setAuthenticated()
// on it (the worker enrolled, the admin token matched): those are bounded per address, in number
// and in the bytes they buffer (UnauthenticatedPool), and a connection over a bound is refused at
// accept() or dropped, with a warning at most every ten seconds.
class RawWebSocketServer final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(RawWebSocketServer)

public:
    static constexpr int DefaultHandshakeTimeoutMs = 10000;
    static constexpr int DefaultCloseTimeoutMs = 5000;
    // How long a peer without a secret that was refused unread (RawWebSocket) keeps its socket.
    static constexpr int UnreadCloseTimeoutMs = 1000;
    // The largest upgrade request head accepted (a larger one is answered 431).
    static constexpr qsizetype MaxRequestHeadBytes = 16 * 1024;

    // `serverName` is sent in the Server header of the handshake response.
    explicit RawWebSocketServer(const QString &serverName, QObject *parent = nullptr);
    ~RawWebSocketServer() override;

    // `backlog`: connections the kernel holds before they are accepted (a reconnect storm).
    bool listen(const QHostAddress &address, quint16 port, int backlog = 4096);
    // Stops listening. Connections still in their handshake are dropped; upgraded ones not taken
    // yet are closed (1001). Connections already taken are not affected.
    void close();
    bool isListening() const;
    quint16 serverPort() const;
    QString errorString() const;

    void setHandshakeTimeout(int ms);
    int handshakeTimeout() const { return m_handshakeTimeoutMs; }
    void setCloseTimeout(int ms);
    int closeTimeout() const { return m_closeTimeoutMs; }

    void setUnauthenticatedLimits(const UnauthenticatedPool::Limits &limits);
    const UnauthenticatedPool &unauthenticated() const { return m_unauthenticated; }

    bool hasPendingConnections() const { return !m_pending.isEmpty(); }
    // The next upgraded connection, or null. The caller owns it (delete it with deleteLater());
    // its frames are read from the next event-loop turn on.
    RawWebSocket *nextPendingConnection();

Q_SIGNALS:
    // One or more upgraded connections wait in nextPendingConnection().
    void newConnection();

private:
    friend class RawWebSocket;

    void accept(int descriptor);
    QByteArray serverName() const { return m_serverName; }
    // From RawWebSocket:
    void upgraded(RawWebSocket *socket);
    // The socket is in a close handshake: dropped after `timeoutMs` (0: closeTimeout()).
    void closing(RawWebSocket *socket, int timeoutMs = 0);
    void finished(RawWebSocket *socket); // its descriptor is closed
    void detach(RawWebSocket *socket);   // it is being destroyed
    void authenticated(RawWebSocket *socket);
    void buffered(RawWebSocket *socket, qint64 bytes);
    void warnRefused(const QString &address);
    void armSweep();
    void sweep();

    std::unique_ptr<TcpListener> m_listener;
    QByteArray m_serverName;
    QHash<RawWebSocket *, qint64> m_handshaking; // owned; handshake deadline (ms since epoch)
    QList<RawWebSocket *> m_pending;             // owned; upgraded, not taken yet
    QHash<RawWebSocket *, qint64> m_closing;     // in a close handshake; its deadline
    QTimer m_sweepTimer;
    int m_handshakeTimeoutMs = DefaultHandshakeTimeoutMs;
    int m_closeTimeoutMs = DefaultCloseTimeoutMs;
    UnauthenticatedPool m_unauthenticated;
    qint64 m_lastWarningMs = 0;
    QTimer m_warnLater; // what was refused or dropped after a warning is told 10 s after it
    qint64 m_refusedSinceWarning = 0;
    QString m_lastRefusedAddress;
    qint64 m_droppedAtWarning = 0;
};

} // namespace Swamp
