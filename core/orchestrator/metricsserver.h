#pragma once

#include "common/result.h"

#include <QByteArray>
#include <QHostAddress>
#include <QObject>
#include <QTcpServer>

#include <functional>

namespace Swamp {

// A small HTTP/1.1 responder for Prometheus and load balancers, separate from the WebSocket
// listener: GET/HEAD /metrics (text exposition 0.0.4) and /healthz (200 "ok", or 503 with the
// reason). Anything else gets 404; another method on those paths 405; a request head over 8 KiB
// 431; a malformed one 400; a client silent for 10 s 408. One request per connection
// (Connection: close), at most 64 connections at once. Plain HTTP without authentication: bind
// it to loopback or firewall it.
class MetricsServer final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MetricsServer)

public:
    using Exposition = std::function<QByteArray()>;
    using HealthCheck = std::function<Result<void>()>;

    static constexpr qsizetype MaxRequestBytes = 8 * 1024;
    static constexpr int MaxConnections = 64;
    static constexpr int DefaultRequestTimeoutMs = 10000;

    MetricsServer(Exposition exposition, HealthCheck health, QObject *parent = nullptr);
    ~MetricsServer() override;

    // Error "listen" naming the address and the reason.
    Result<void> listen(const QHostAddress &address, quint16 port);
    void close();
    // How long a client may take to send its request, and then to take the answer.
    void setRequestTimeoutMs(int ms) { m_requestTimeoutMs = ms; }
    quint16 port() const { return m_server.serverPort(); }
    // http://<host>:<port>/metrics, with the real port.
    QString url() const;

private:
    void acceptConnections();

    Exposition m_exposition;
    HealthCheck m_health;
    QTcpServer m_server;
    int m_open = 0;
    int m_requestTimeoutMs = DefaultRequestTimeoutMs;
};

} // namespace Swamp
