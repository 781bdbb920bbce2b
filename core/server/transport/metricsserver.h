#pragma once

#include "common/result.h"
#include "server/transport/tcplistener.h"

#include <QByteArray>
#include <QHostAddress>
#include <QObject>

#include <functional>

namespace Swamp {

namespace Internal {
class HttpExchange;
}

// A small HTTP/1.1 responder for Prometheus and load balancers, separate from the WebSocket
// listener: GET/HEAD /metrics (text exposition 0.0.4) and /healthz (200 "ok", or 503 with the
// reason). Anything else gets 404; another method on those paths 405; a request head over 8 KiB
// 431; a malformed one 400; a client that has not sent its whole request head within 2 s 408. One
// request per connection (Connection: close), at most 64 connections at once: beyond that a new
// connection takes the place of the oldest one still waiting for its request head, so that idle
// connections (a port scan, a stuck client, a deliberate flood) never starve a health probe. Plain
// HTTP without authentication: bind it to loopback or firewall it.
class MetricsServer final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(MetricsServer)

public:
    using Exposition = std::function<QByteArray()>;
    using HealthCheck = std::function<Result<void>()>;

    static constexpr qsizetype MaxRequestBytes = 8 * 1024;
    static constexpr int MaxConnections = 64;
    // Prometheus, curl and load-balancer probes send their request head in one packet right after
    // connecting; 2 s leaves a slow link several round trips for it, and an idle connection holds
    // its slot no longer than that (with 10 s, 64 idle connections a minute kept /healthz from
    // answering most probes).
    static constexpr int RequestHeadTimeoutMs = 2000;
    // How long a client may take to read its answer (a /metrics body is a few hundred KiB at most).
    static constexpr int AnswerTimeoutMs = 10000;

    MetricsServer(Exposition exposition, HealthCheck health, QObject *parent = nullptr);
    ~MetricsServer() override;

    // Error "listen" naming the address and the reason.
    Result<void> listen(const QHostAddress &address, quint16 port);
    void close();
    // How long a client may take to send its request head (tests shorten or lengthen it).
    void setRequestHeadTimeoutMs(int ms) { m_requestHeadTimeoutMs = ms; }
    quint16 port() const { return m_listener.serverPort(); }
    // http://<host>:<port>/metrics, with the real port.
    QString url() const;

private:
    void acceptConnection(int descriptor);
    // At the cap: drops the oldest connection that has not sent its request head yet; false when
    // every connection has (each is being answered and goes away by itself).
    bool evictOneWaiting();

    Exposition m_exposition;
    HealthCheck m_health;
    TcpListener m_listener{QStringLiteral("the metrics listener")}; // pauses when out of files
    QList<Internal::HttpExchange *> m_exchanges; // open connections, oldest first
    int m_requestHeadTimeoutMs = RequestHeadTimeoutMs;
};

} // namespace Swamp
