#pragma once

#include "common/result.h"
#include "model/event.h"

#include <QHash>
#include <QJsonObject>
#include <QObject>
#include <QUrl>

#include <functional>
#include <memory>

class QWebSocket;

namespace Swamp {

// Where the admin API is and how to authenticate: from --server/--admin-token/--admin-token-file/
// --ca-cert, their SWAMP_* environment fallbacks, or the local admin.json.
struct AdminEndpoint
{
    QUrl url;
    QString adminToken;
    QString caCertPath;
    // From admin.json, for its URL only: the orchestrator's own certificate (PEM). A peer that
    // presents exactly this certificate is accepted even when no trusted CA signed it or the
    // URL's host is not among its names; an expired one is still refused.
    QByteArray pinnedCertificate;
};

struct AdminEndpointOptions
{
    QString server;
    QString adminToken;
    QString adminTokenFile;
    QString caCertPath;
    QString dataDir; // where to look for admin.json; empty: the default data dir
};

// Error "no_orchestrator": no orchestrator configured — run 'swamp serve' on this machine or pass
// --server and --admin-token.
Result<AdminEndpoint> resolveAdminEndpoint(const AdminEndpointOptions &options);

// A client of /v1/admin: request/response by id, plus the event subscription.
class AdminClient final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(AdminClient)

public:
    using Callback = std::function<void(const Result<QJsonObject> &)>;

    explicit AdminClient(AdminEndpoint endpoint, QObject *parent = nullptr);
    ~AdminClient() override;

    void open();
    void close();
    bool isConnected() const { return m_connected; }
    const AdminEndpoint &endpoint() const { return m_endpoint; }

    // Sends a request once connected; `callback` runs exactly once (also when the connection
    // fails or closes first).
    void request(const QString &method, const QJsonObject &params, Callback callback);

    // Blocking convenience for the CLI: connects if needed, waits for the answer.
    Result<QJsonObject> call(const QString &method, const QJsonObject &params = {},
                             int timeoutMs = 30000);

Q_SIGNALS:
    void connected();
    // The connection failed or closed; `error` says why (unreachable, unauthorized, ...).
    void disconnected(const Swamp::Error &error);
    void eventReceived(const Swamp::Event &event);
    // Frames that answer no request and are not events: `output` and `step` while following.
    void frameReceived(const QJsonObject &frame);

private:
    void handleText(const QString &text);
    void handleClosed();
    void flushPending();
    void failAll(const Error &error);

    AdminEndpoint m_endpoint;
    std::unique_ptr<QWebSocket> m_socket;
    bool m_connected = false;
    quint64 m_nextId = 1;
    QHash<QString, Callback> m_inFlight;
    QList<std::pair<QJsonObject, Callback>> m_pending; // waiting for the connection
    Error m_closeError;
};

} // namespace Swamp
