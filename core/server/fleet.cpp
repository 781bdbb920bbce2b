#include "server/fleet.h"

#include "common/duration.h"
#include "common/logging.h"
#include "server/commitpipeline.h"
#include "store/store.h"
#include "version/version.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QUuid>

namespace Swamp {

Fleet::Fleet(Store *store, qint64 heartbeatMs, qint64 timeoutMs, QObject *parent)
    : QObject(parent)
    , m_store(store)
    , m_heartbeatMs(heartbeatMs)
    , m_timeoutMs(timeoutMs)
    , m_id(QUuid::createUuid().toString(QUuid::WithoutBraces))
{
    // Beat a few times per timeout so one slow beat never looks like death.
    m_timer.setInterval(int(std::clamp<qint64>(std::min(heartbeatMs, timeoutMs / 3), 100, 10000)));
    connect(&m_timer, &QTimer::timeout, this, &Fleet::heartbeat);
}

Fleet::~Fleet() = default;

Result<void> Fleet::join(const QString &name, const QString &url)
{
    m_name = name;
    const QDateTime now = QDateTime::currentDateTimeUtc();
    Store::OrchestratorRecord self{m_id, name, url, Swamp::version(), QStringLiteral("alive"), now, now, {}, {}};
    if (auto r = m_store->registerOrchestrator(self); !r)
        return r;
    if (m_store->dialect() == Store::Dialect::Postgres)
        listen();
    m_timer.start();
    return {};
}

void Fleet::leave()
{
    if (m_left)
        return;
    m_left = true;
    m_timer.stop();
    if (auto r = m_store->endOrchestrator(m_id, QStringLiteral("stopped"), Tr::tr("stopped"),
                                          QDateTime::currentDateTimeUtc());
        !r)
        qCWarning(lcDb) << "could not record this orchestrator as stopped:" << r.error().message;
}

void Fleet::listen()
{
    auto driver = m_store->openFleetListener();
    if (!driver) {
        qCWarning(lcDb) << "fleet notifications unavailable, falling back to the heartbeat:" << driver.error().message;
        return;
    }
    if (m_listener == *driver)
        return;
    m_listener = *driver;
    connect(m_listener.data(), &QSqlDriver::notification, this, &Fleet::handleNotification,
            Qt::UniqueConnection);
}

void Fleet::notify(const QString &kind, QJsonObject fields)
{
    if (m_store->dialect() != Store::Dialect::Postgres)
        return;
    fields.insert(QStringLiteral("o"), m_id);
    fields.insert(QStringLiteral("k"), kind);
    if (auto r = m_store->notifyFleet(fields); !r && !Store::isAwayError(r.error()))
        qCWarning(lcDb) << "could not notify the fleet:" << kind << r.error().message;
}

void Fleet::handleNotification(const QString &name, QSqlDriver::NotificationSource,
                               const QVariant &payload)
{
    if (name != Store::fleetChannel())
        return;
    // A batch's notifications arrive as one JSON array (Store::notifyFleet()); one object each
    // from an orchestrator of an older version.
    const QJsonDocument document = QJsonDocument::fromJson(payload.toString().toUtf8());
    const QJsonArray notifications = document.isArray() ? document.array() : QJsonArray{document.object()};
    for (const QJsonValue &value : notifications) {
        const QJsonObject object = value.toObject();
        if (object.value(QStringLiteral("o")).toString() == m_id)
            continue; // our own
        const QString kind = object.value(QStringLiteral("k")).toString();
        if (!kind.isEmpty())
            Q_EMIT notified(kind, object);
    }
}

QString Fleet::evictedMessage() const
{
    return Tr::tr("another orchestrator declared this one dead: its database heartbeat was more than %1 late")
        .arg(formatDurationMs(m_timeoutMs));
}

QString Fleet::evictionReason()
{
    if (m_store->dialect() != Store::Dialect::Postgres || m_id.isEmpty())
        return {};
    auto state = m_store->orchestratorStateOnListener(m_id);
    if (state && state->isEmpty())
        return lostMessage();
    return state && *state == u"dead" ? evictedMessage() : QString();
}

QString Fleet::lostMessage() const
{
    return Store::lostChangesText(Tr::tr("this orchestrator's own row (%1)").arg(m_id)) + QStringLiteral("; ")
           + Store::lostChangesFix();
}

void Fleet::heartbeat()
{
    if (m_store->isAway())
        return; // the store said so once; nobody can write a verdict meanwhile
    const QDateTime now = QDateTime::currentDateTimeUtc();
    auto alive = m_store->heartbeatOrchestrator(m_id, now);
    if (!alive) {
        // The database is away: nothing to decide until it answers again.
        if (!Store::isAwayError(alive.error()))
            qCWarning(lcDb) << "fleet heartbeat failed:" << alive.error().message;
        return;
    }
    if (!*alive) {
        m_timer.stop();
        const QString reason = evictionReason();
        Q_EMIT evicted(reason.isEmpty() ? evictedMessage() : reason);
        return;
    }
    if (m_store->dialect() == Store::Dialect::Postgres) {
        if (!m_listener || !m_listener->isOpen())
            listen();
        reap();
    }
    Q_EMIT beat();
}

void Fleet::reap()
{
    // Back from losing the database (a restart, a failover), this orchestrator cannot tell who
    // else lost it: every heartbeat stopped while it was gone, and the others find it again on
    // their own reconnect schedule. Their silence counts only once they had the time to.
    if (const qint64 back = m_store->backMs();
        back >= 0 && back < m_timeoutMs + CommitPipeline::MaxReconnectDelayMs)
        return;
    const QDateTime now = QDateTime::currentDateTimeUtc();
    auto stale = m_store->staleOrchestrators(m_id, m_timeoutMs);
    if (!stale) {
        if (!Store::isAwayError(stale.error()))
            qCWarning(lcDb) << "could not look for stopped orchestrators:" << stale.error().message;
        return;
    }
    if (stale->isEmpty())
        return;
    auto all = m_store->orchestrators();
    for (const QString &id : std::as_const(*stale)) {
        auto won = m_store->endOrchestrator(id, QStringLiteral("dead"),
                                            Tr::tr("no heartbeat for %1; taken over by %2")
                                                .arg(formatDurationMs(m_timeoutMs), m_name),
                                            now, m_timeoutMs);
        if (!won || !*won)
            continue; // another survivor took it, or it came back
        QString name = id.left(8);
        if (all) {
            for (const auto &o : std::as_const(*all)) {
                if (o.id == id)
                    name = o.name;
            }
        }
        qCWarning(lcDb) << "orchestrator" << name << "stopped heartbeating; taking over what it held";
        Q_EMIT orchestratorDied(id, name);
    }
}

} // namespace Swamp
