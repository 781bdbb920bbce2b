#pragma once

#include "server/transport/unauthenticatedpool.h"

#include <QHostAddress>
#include <QObject>
#include <QSet>
#include <QSslConfiguration>

#include <memory>

class QSslSocket;
class QWebSocket;
class QWebSocketServer;

namespace Swamp {

class TcpListener;

// The TLS (wss://) WebSocket listener of the orchestrator: a TcpListener (which pauses when out
// of file descriptors instead of spinning, see tcplistener.h) whose connections are encrypted
// here and then upgraded by a QWebSocketServer (handleConnection()). Until a connection has
// proven a secret it counts in unauthenticated(), from accept() on: its TLS handshake, then (by
// PeerConnection::setUnauthenticatedPool) until the worker enrolled or the admin token matched.
// A TLS handshake not done within handshakeTimeoutMs is dropped, and so is the WebSocket
// handshake after it (QWebSocketServer's own timeout). Every socket gets TCP_NODELAY.
class TlsWebSocketServer final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(TlsWebSocketServer)

public:
    TlsWebSocketServer(const QString &serverName, const QSslConfiguration &configuration,
                       int handshakeTimeoutMs, QObject *parent = nullptr);
    ~TlsWebSocketServer() override;

    bool listen(const QHostAddress &address, quint16 port, int backlog = 4096);
    void close();
    quint16 serverPort() const;
    QString errorString() const;

    UnauthenticatedPool &unauthenticated() { return m_unauthenticated; }

    // The next upgraded connection, or null; the caller owns it.
    QWebSocket *nextPendingConnection();

Q_SIGNALS:
    void newConnection();

private:
    void accept(int descriptor);
    void encrypted(QSslSocket *socket);

    std::unique_ptr<TcpListener> m_listener;
    std::unique_ptr<QWebSocketServer> m_server;
    QSslConfiguration m_configuration;
    int m_handshakeTimeoutMs;
    QSet<QSslSocket *> m_handshaking; // owned until encrypted
    UnauthenticatedPool m_unauthenticated;
};

} // namespace Swamp
