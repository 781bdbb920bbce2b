#pragma once

#include "client/adminclient.h"
#include "common/backoff.h"
#include "model/event.h"
#include "model/worker.h"

#include <QJsonArray>
#include <QObject>
#include <QPointer>
#include <QTimer>

namespace Swamp::Console {

// The console's one connection to the admin endpoint: connects, subscribes to operator events
// (resuming from the last event id after a reconnect), reconnects with backoff, and fetches the
// worker and token lists when events say they changed (coalesced, never polled).
class AdminSession final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(AdminSession)

public:
    enum class State { Idle, Connecting, Connected, Reconnecting, Refused };
    Q_ENUM(State)

    explicit AdminSession(AdminEndpoint endpoint, QObject *parent = nullptr);
    ~AdminSession() override;

    void start();
    // Retry at once (from Reconnecting or Refused), or switch to another orchestrator.
    void reconnectNow();
    void setEndpoint(AdminEndpoint endpoint);

    State state() const { return m_state; }
    const Error &lastError() const { return m_lastError; }
    int secondsUntilRetry() const;
    qint64 lastEventId() const { return m_lastEventId; }
    const AdminEndpoint &endpoint() const { return m_client->endpoint(); }
    // The URL workers dial (scheme, host, port; no credentials), for the deploy snippets.
    QString orchestratorUrl() const;

    // A request while connected; `callback` runs exactly once, and not at all once `context`
    // is gone. While not connected it fails at once instead of forcing a connection.
    void request(const QString &method, const QJsonObject &params, QObject *context,
                 AdminClient::Callback callback);

    // Whether the last worker.list came from a fleet (several orchestrators on one database):
    // then each worker names the orchestrator holding it. Set before workersReceived.
    bool isFleet() const { return m_fleet; }

    // Ask for fresh lists soon (bursts of events collapse into one request).
    void scheduleRefresh();

    // How long bursts of events are collapsed into one refresh, in ms.
    static constexpr int RefreshDelayMs = 150;

Q_SIGNALS:
    void stateChanged();
    void retryCountdownChanged(int seconds);
    void workersReceived(const QList<Swamp::WorkerRecord> &workers);
    void tokensReceived(const QJsonArray &tokens);
    void eventReceived(const Swamp::Event &event);
    // Frames that answer no request and are not events (`output` and `step` while following).
    void frameReceived(const QJsonObject &frame);
    // Each successful connection (first and after a reconnect).
    void sessionStarted();

private:
    void handleConnected();
    void handleDisconnected(const Error &error);
    void handleEvent(const Event &event);
    void refresh();
    void setState(State state);
    void attachClient(AdminEndpoint endpoint);

    std::unique_ptr<AdminClient> m_client;
    State m_state = State::Idle;
    Error m_lastError;
    Backoff m_backoff;
    QTimer m_retryTimer;
    QTimer m_countdownTimer;
    QTimer m_refreshTimer;
    qint64 m_lastEventId = 0;
    bool m_fleet = false;
};

} // namespace Swamp::Console
