#include "client/adminsession.h"

#include "common/urls.h"

#include <QDateTime>
#include <QJsonArray>

namespace Swamp::Console {

namespace {
// Failures that retrying cannot fix: the operator has to change the token or the certificate.
bool isRefusal(const Error &error)
{
    return error.code == u"unauthorized" || error.code == u"tls" || error.code == u"admin_config";
}
} // namespace

AdminSession::AdminSession(AdminEndpoint endpoint, QObject *parent)
    : QObject(parent)
{
    attachClient(std::move(endpoint));
    m_retryTimer.setSingleShot(true);
    connect(&m_retryTimer, &QTimer::timeout, this, [this] {
        m_countdownTimer.stop();
        setState(State::Connecting);
        m_client->open();
    });
    m_countdownTimer.setInterval(1000);
    connect(&m_countdownTimer, &QTimer::timeout, this,
            [this] { Q_EMIT retryCountdownChanged(secondsUntilRetry()); });
    m_refreshTimer.setSingleShot(true);
    m_refreshTimer.setInterval(RefreshDelayMs);
    connect(&m_refreshTimer, &QTimer::timeout, this, &AdminSession::refresh);
}

AdminSession::~AdminSession() = default;

void AdminSession::attachClient(AdminEndpoint endpoint)
{
    if (m_client)
        m_client->disconnect(this);
    m_client = std::make_unique<AdminClient>(std::move(endpoint));
    connect(m_client.get(), &AdminClient::connected, this, &AdminSession::handleConnected);
    connect(m_client.get(), &AdminClient::disconnected, this, &AdminSession::handleDisconnected);
    connect(m_client.get(), &AdminClient::eventReceived, this, &AdminSession::handleEvent);
    connect(m_client.get(), &AdminClient::frameReceived, this, &AdminSession::frameReceived);
}

void AdminSession::start()
{
    if (m_state == State::Connecting || m_state == State::Connected)
        return;
    m_retryTimer.stop();
    m_countdownTimer.stop();
    setState(State::Connecting);
    m_client->open();
}

void AdminSession::reconnectNow()
{
    if (m_state == State::Reconnecting || m_state == State::Refused || m_state == State::Idle) {
        m_backoff.reset();
        start();
    }
}

void AdminSession::setEndpoint(AdminEndpoint endpoint)
{
    m_retryTimer.stop();
    m_countdownTimer.stop();
    m_refreshTimer.stop();
    attachClient(std::move(endpoint)); // the old client closes its socket on destruction
    m_lastEventId = 0;
    m_backoff.reset();
    m_state = State::Idle;
    start();
}

int AdminSession::secondsUntilRetry() const
{
    if (!m_retryTimer.isActive())
        return 0;
    return (m_retryTimer.remainingTime() + 999) / 1000;
}

QString AdminSession::orchestratorUrl() const
{
    QUrl url = m_client->endpoint().url;
    url.setPath(QString());
    return redactedUrl(url);
}

void AdminSession::request(const QString &method, const QJsonObject &params, QObject *context,
                           AdminClient::Callback callback)
{
    QPointer<QObject> guard(context);
    if (m_state != State::Connected) {
        const Error error = makeError(QStringLiteral("not_connected"),
                                      tr("not connected to the orchestrator"),
                                      tr("wait for the connection to come back, or use Connection ▸ Reconnect now"));
        QTimer::singleShot(0, context, [callback = std::move(callback), error] {
            callback(std::unexpected<Error>(error));
        });
        return;
    }
    m_client->request(method, params,
                      [guard, callback = std::move(callback)](const Result<QJsonObject> &result) {
                          if (guard)
                              callback(result);
                      });
}

void AdminSession::scheduleRefresh()
{
    if (m_state == State::Connected && !m_refreshTimer.isActive())
        m_refreshTimer.start();
}

void AdminSession::handleConnected()
{
    m_backoff.reset();
    m_lastError = Error();
    setState(State::Connected);
    // Subscribe first, then take the snapshot: a change between the two arrives as an event and
    // triggers one more (coalesced) refresh, so nothing falls between them. The first time we
    // ask for the stored history (after 0) so the event log is not empty.
    m_client->request(QStringLiteral("events.subscribe"),
                      {{QStringLiteral("after"), m_lastEventId}},
                      [](const Result<QJsonObject> &) {});
    refresh();
    Q_EMIT sessionStarted();
}

void AdminSession::handleDisconnected(const Error &error)
{
    m_lastError = error;
    m_refreshTimer.stop();
    if (isRefusal(error)) {
        m_countdownTimer.stop();
        setState(State::Refused);
        return;
    }
    // At least a quarter second, so a flapping orchestrator does not make us spin.
    const qint64 delay = std::max<qint64>(250, m_backoff.nextDelayMs());
    m_retryTimer.start(int(delay));
    m_countdownTimer.start();
    setState(State::Reconnecting);
    Q_EMIT retryCountdownChanged(secondsUntilRetry());
}

void AdminSession::handleEvent(const Event &event)
{
    if (event.id <= m_lastEventId)
        return; // a replay overlapping what we already have
    m_lastEventId = event.id;
    Q_EMIT eventReceived(event);
    if (event.kind.startsWith(u"worker.") || event.kind.startsWith(u"token.")
        || event.kind.startsWith(u"orchestrator.") || event.kind.startsWith(u"step.")
        || event.kind.startsWith(u"lease."))
        scheduleRefresh();
}

void AdminSession::refresh()
{
    if (m_state != State::Connected)
        return;
    m_client->request(QStringLiteral("worker.list"), {{QStringLiteral("all"), true}},
                      [this](const Result<QJsonObject> &result) {
                          if (!result)
                              return;
                          QList<WorkerRecord> workers;
                          const QJsonArray list = result->value(QStringLiteral("workers")).toArray();
                          for (const QJsonValue &value : list)
                              workers << WorkerRecord::fromJson(value.toObject());
                          m_fleet = result->value(QStringLiteral("fleet")).toBool();
                          Q_EMIT workersReceived(workers);
                      });
    m_client->request(QStringLiteral("token.list"), {}, [this](const Result<QJsonObject> &result) {
        if (result)
            Q_EMIT tokensReceived(result->value(QStringLiteral("tokens")).toArray());
    });
}

void AdminSession::setState(State state)
{
    if (m_state == state)
        return;
    m_state = state;
    Q_EMIT stateChanged();
}

} // namespace Swamp::Console
