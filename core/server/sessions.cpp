// The orchestrator's worker sessions (WorkerSessions): heartbeats and the sweep (reconnect grace,
// drain deadlines, token lifetimes), disconnecting, ending and draining sessions, their status
// and its rows in the database, and the reconnect window announced to the fleet.
#include "server/sessions.h"

#include <algorithm>

#include "common/backoff.h"
#include "common/duration.h"
#include "common/logging.h"
#include "model/errorcodes.h"
#include "protocol/protocol.h"
#include "protocol/workerframes.h"
#include "server/eventlog.h"
#include "server/scheduler.h"
#include "server/transport/connections.h"
#include "store/store.h"

namespace Swamp {

namespace {
// The heartbeat pass is spread over the interval in slices (one every 100 ms by default), so
// thousands of pings and pongs do not arrive in one burst that delays everything else.
constexpr qint64 HeartbeatSlices = 50;
// A grown reconnect window reaches every connected worker within this.
constexpr qint64 WindowRoundMs = 1000;
} // namespace

WorkerSessions::WorkerSessions(const Settings &settings, Store *store, EventLog *events, QObject *parent)
    : QObject(parent)
    , m_settings(settings)
    , m_store(store)
    , m_events(events)
{
    m_heartbeatTimer.setInterval(int(std::max<qint64>(20, m_settings.heartbeatIntervalMs / HeartbeatSlices)));
    connect(&m_heartbeatTimer, &QTimer::timeout, this, &WorkerSessions::heartbeat);
}

WorkerSessions::~WorkerSessions() = default;

qint64 WorkerSessions::reconnectWindowMs() const
{
    // Reconnects arriving at about ReconnectsPerSecond: 1 s at least, a minute at most.
    constexpr qint64 ReconnectsPerSecond = 1000;
    return std::clamp<qint64>(qint64(m_pool.size()) * 1000 / ReconnectsPerSecond, 1000, 60000);
}

void WorkerSessions::announceReconnectWindow()
{
    // Told once per doubling, to the connected workers over the next WindowRoundMs (see
    // tellWindowRound()): not the whole fleet in one turn, which at 16,000 workers held the event
    // loop for a third of a second while the fleet was coming back, and not as late as each
    // worker's next ping, after which a crash would find many with a window too small.
    const qint64 window = reconnectWindowMs();
    if (window < 2 * m_announcedWindowMs)
        return;
    m_announcedWindowMs = window;
    m_windowRound = m_pool.ids();
    m_windowNext = 0;
    m_windowRoundStartMs = QDateTime::currentMSecsSinceEpoch();
}

void WorkerSessions::tellWindowRound(qint64 nowMs)
{
    if (m_windowNext >= m_windowRound.size())
        return;
    const double due = double(nowMs - m_windowRoundStartMs + m_heartbeatTimer.interval()) / double(WindowRoundMs);
    const qsizetype end = std::min(m_windowRound.size(), std::max(m_windowNext + 1, qsizetype(due * double(m_windowRound.size()))));
    const QByteArray frame = Protocol::Window{m_announcedWindowMs}.encode();
    for (; m_windowNext < end; ++m_windowNext) {
        WorkerSession *session = m_pool.find(m_windowRound.at(m_windowNext));
        if (!session || !session->connection || session->windowToldMs >= m_announcedWindowMs)
            continue; // gone, or enrolled since with this window in its `enrolled`
        session->windowToldMs = m_announcedWindowMs;
        session->connection->sendEncoded(frame);
    }
    if (m_windowNext >= m_windowRound.size())
        m_windowRound.clear();
}

void WorkerSessions::heartbeat()
{
    // One pass per heartbeat interval, spread over it: each tick pings the share of the round that
    // is due by the clock (not a fixed slice per tick), so a busy loop whose ticks come late still
    // pings everyone once per interval.
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    tellWindowRound(now);
    if (m_heartbeatNext >= m_heartbeatRound.size()) {
        if (now - m_heartbeatRoundStartMs < m_settings.heartbeatIntervalMs && !m_heartbeatRound.isEmpty())
            return;
        m_heartbeatRound = m_pool.ids();
        m_heartbeatNext = 0;
        m_heartbeatRoundStartMs = now;
    }
    const double due = double(now - m_heartbeatRoundStartMs + m_heartbeatTimer.interval())
                       / double(m_settings.heartbeatIntervalMs);
    const qsizetype end = std::min(m_heartbeatRound.size(),
                                   std::max(m_heartbeatNext + 1, qsizetype(due * double(m_heartbeatRound.size()))));
    for (; m_heartbeatNext < end; ++m_heartbeatNext) {
        WorkerSession *session = m_pool.find(m_heartbeatRound.at(m_heartbeatNext));
        if (!session)
            continue;
        WorkerConnection *connection = session->connection;
        if (!connection)
            continue;
        if (now - session->lastHeardMs > m_settings.heartbeatTimeoutMs) {
            qCInfo(lcWs) << "no pong from" << session->record.name << "closing";
            connection->abort();
            continue;
        }
        connection->ping();
    }
}

void WorkerSessions::sweepLiveness(qint64 nowMs)
{
    for (const QString &id : std::exchange(m_statusToWrite, {})) {
        if (WorkerSession *session = m_pool.find(id); session && session->isConnected())
            persistWorker(session, PersistWhat::State);
    }
    // Grace over → lost (only the disconnected are looked at). While the database is away no
    // worker can get back in (its enrollment is refused `database_away`): the grace runs from
    // the database's return plus the longest wait between its attempts (its backoff grew
    // meanwhile), or a step still running there is run again (issue 20).
    const bool away = m_store->isAway();
    const qint64 awayGraceMs = m_settings.reconnectGraceMs + Backoff::DefaultCapMs;
    const QSet<QString> inGrace = m_inGrace;
    for (const QString &id : inGrace) {
        WorkerSession *session = m_pool.find(id);
        if (!session || session->isConnected()) {
            m_inGrace.remove(id);
            continue;
        }
        if (away) {
            session->graceDeadlineMs = std::max(session->graceDeadlineMs, nowMs + awayGraceMs);
            session->record.graceUntil = QDateTime::fromMSecsSinceEpoch(session->graceDeadlineMs, Qt::UTC);
        } else if (nowMs >= session->graceDeadlineMs) {
            m_inGrace.remove(id);
            endSession(session, WorkerStatus::Lost,
                       Tr::tr("no reconnect within the %1 grace").arg(formatDurationMs(m_settings.reconnectGraceMs)));
        }
    }
    retryUnsavedWorkers();
}

void WorkerSessions::sweepDeadlines(qint64 nowMs)
{
    // Drain deadlines: only sessions draining with a deadline are looked at.
    const QSet<QString> withDeadline = m_drainDeadlines;
    for (const QString &id : withDeadline) {
        WorkerSession *session = m_pool.find(id);
        if (!session || session->drainDeadlineMs == 0) {
            m_drainDeadlines.remove(id); // gone, undrained or drain restarted without a deadline
            continue;
        }
        if (nowMs >= session->drainDeadlineMs) {
            m_drainDeadlines.remove(id);
            session->drainDeadlineMs = 0;
            m_scheduler->requeueLeases(session, Tr::tr("drain deadline passed"));
        }
    }
    // Token lifetimes: only the nearest expiries are looked at.
    const QDateTime now = QDateTime::fromMSecsSinceEpoch(nowMs, Qt::UTC);
    while (!m_tokenExpiries.isEmpty() && m_tokenExpiries.firstKey() <= now) {
        const QString tokenName = m_tokenExpiries.first();
        m_tokenExpiries.erase(m_tokenExpiries.begin());
        expireTokenSessions(tokenName, now);
    }
}

void WorkerSessions::attached(WorkerSession *session)
{
    m_inGrace.remove(session->record.id);
    session->record.graceUntil = QDateTime();
}

void WorkerSessions::detached(WorkerSession *session)
{
    session->connection = nullptr;
    session->record.status = WorkerStatus::Disconnected;
    session->graceDeadlineMs = QDateTime::currentMSecsSinceEpoch() + m_settings.reconnectGraceMs;
    session->record.graceUntil = QDateTime::fromMSecsSinceEpoch(session->graceDeadlineMs, Qt::UTC);
    m_inGrace.insert(session->record.id);
}

void WorkerSessions::watchTokenExpiry(const QDateTime &expiresAt, const QString &tokenName)
{
    // One entry per token and expiry, not one per enrollment: at the expiry every session of the
    // token is looked at once.
    if (!m_tokenExpiries.contains(expiresAt, tokenName))
        m_tokenExpiries.insert(expiresAt, tokenName);
}

void WorkerSessions::forget(const QString &workerId)
{
    m_inGrace.remove(workerId);
    m_drainDeadlines.remove(workerId);
    m_unsavedWorkers.remove(workerId);
    m_statusToWrite.remove(workerId);
    m_pool.remove(workerId); // the record now belongs to the new holder: not written here
}

void WorkerSessions::expireTokenSessions(const QString &tokenName, const QDateTime &now)
{
    for (WorkerSession *session : m_pool.onToken(tokenName)) {
        if (!session->tokenExpiresAt.isValid() || session->tokenExpiresAt > now)
            continue;
        // The token's lifetime bounds the session: finish running steps, take no new ones, go.
        if (session->isConnected())
            startDrain(session, QStringLiteral("token_expired"), Codes::tokenExpired(tokenName).message, 0);
        else
            endSession(session, WorkerStatus::Disconnected, Codes::tokenExpired(tokenName).message);
    }
}

void WorkerSessions::startDrain(WorkerSession *session, const QString &code, const QString &reason,
                              qint64 deadlineMs)
{
    // A token expiry overrides an operator's drain; nothing overrides a token expiry.
    if (session->record.draining && session->drainCode == u"token_expired")
        return;
    const bool already = session->record.draining;
    session->record.draining = true;
    session->drainCode = code;
    session->drainDeadlineMs = deadlineMs > 0 ? QDateTime::currentMSecsSinceEpoch() + deadlineMs : 0;
    if (session->drainDeadlineMs > 0)
        m_drainDeadlines.insert(session->record.id);
    updateStatus(session);
    // Also the worker's own drain is echoed (code "worker"): its acknowledgement that nothing more
    // will be dispatched.
    if (WorkerConnection *connection = session->connection) {
        connection->sendEncoded(Protocol::Drain{reason, code, deadlineMs}.encode());
    }
    if (!already) {
        m_events->append(QStringLiteral("worker.draining"), session->record.name,
                         Tr::tr("worker %1 draining: %2").arg(session->record.name, reason),
                         {{QStringLiteral("workerId"), session->record.id}, {QStringLiteral("code"), code}});
    }
    checkDrained(session);
}

Result<void> WorkerSessions::undrain(WorkerSession *session)
{
    if (!session->record.draining)
        return {};
    if (session->drainCode == u"token_expired") {
        return fail(QStringLiteral("token_expired"), Tr::tr("drains because its enrollment token expired"),
                    Tr::tr("enroll it with a new token"));
    }
    session->record.draining = false;
    session->drainCode.clear();
    session->drainDeadlineMs = 0;
    updateStatus(session);
    if (WorkerConnection *connection = session->connection)
        connection->sendEncoded(Protocol::Undrain{}.encode());
    m_events->append(QStringLiteral("worker.undrained"), session->record.name,
                     Tr::tr("worker %1 takes steps again").arg(session->record.name),
                     {{QStringLiteral("workerId"), session->record.id}});
    m_scheduler->requestSchedule();
    return {};
}

QJsonArray WorkerSessions::cutOffToken(const QString &tokenName)
{
    QJsonArray disconnected;
    const Error error = Codes::tokenRevoked(tokenName);
    for (WorkerSession *session : m_pool.onToken(tokenName)) {
        disconnected << session->record.name;
        cutOff(session, Tr::tr("enrollment token '%1' was revoked").arg(tokenName), error, Protocol::CloseRevoked);
    }
    return disconnected;
}

bool WorkerSessions::cutOffWorker(const QString &workerId, const QString &reason)
{
    WorkerSession *session = m_pool.find(workerId);
    if (!session)
        return false;
    const bool connected = session->isConnected();
    cutOff(session, reason.isEmpty() ? Tr::tr("removed by an operator") : Tr::tr("removed by an operator: %1").arg(reason),
           Codes::workerRemoved(session->record.name, reason), Protocol::CloseRemoved);
    return connected;
}

void WorkerSessions::cutOff(WorkerSession *session, const QString &why, const Error &error, int closeCode)
{
    // Its running steps go back to the queue first, each with a `cancel` frame while the
    // connection is still the session's; then the `error` and the close (the last frames the
    // worker gets, in this order).
    const QPointer<WorkerConnection> connection = session->connection;
    if (connection)
        connection->workerId.clear();
    endSession(session, WorkerStatus::Disconnected, why, true);
    if (connection) {
        connection->sendError(error);
        connection->close(closeCode, error.code);
    }
}

QJsonArray WorkerSessions::extendToken(const QString &tokenName, const QDateTime &expiresAt)
{
    QJsonArray moved;
    for (WorkerSession *session : m_pool.onToken(tokenName)) {
        session->tokenExpiresAt = expiresAt;
        if (session->record.draining && session->drainCode == u"token_expired") {
            session->drainCode.clear(); // the expiry that drained it has moved: undrain() may lift it
            if (auto undrained = undrain(session); !undrained)
                qCWarning(lcEnroll) << "could not undrain" << session->record.name << undrained.error().message;
        }
        if (session->isConnected())
            moved << session->record.name;
    }
    watchTokenExpiry(expiresAt, tokenName);
    return moved;
}

void WorkerSessions::checkDrained(WorkerSession *session)
{
    if (!session->record.draining || !session->leaseIds.isEmpty() || !session->isConnected())
        return;
    WorkerConnection *connection = session->connection;
    if (session->drainCode == u"token_expired") {
        Error error = Codes::tokenExpired(session->record.tokenName);
        // The worker tells its operator that its session ended with the token, and when.
        error.details.insert(QStringLiteral("tokenName"), session->record.tokenName);
        error.details.insert(QStringLiteral("expiresAt"), isoUtc(session->tokenExpiresAt));
        connection->sendError(error);
        connection->workerId.clear();
        connection->close(Protocol::CloseEnrollmentFailed, QStringLiteral("token_expired"));
        endSession(session, WorkerStatus::Disconnected, error.message);
        return;
    }
    if (session->drainCode == u"operator") {
        // Drained: the worker is told to exit 0; its goodbye ends the session.
        connection->sendEncoded(Protocol::Stop{Tr::tr("drained by an operator")}.encode());
    }
}

void WorkerSessions::slotsChanged(WorkerSession *session)
{
    updateStatus(session);
    checkDrained(session);
}

void WorkerSessions::markDisconnected(WorkerSession *session, const QString &reason, bool withGrace)
{
    session->connection = nullptr;
    const QDateTime now = QDateTime::currentDateTimeUtc();
    session->record.status = WorkerStatus::Disconnected;
    session->record.disconnectedAt = now;
    session->record.lastSeenAt = QDateTime::fromMSecsSinceEpoch(session->lastHeardMs, Qt::UTC);
    if (withGrace) {
        session->graceDeadlineMs = now.toMSecsSinceEpoch() + m_settings.reconnectGraceMs;
        m_inGrace.insert(session->record.id);
    }
    // On the row too: another orchestrator of a fleet asked to prune it must leave it alone.
    session->record.graceUntil =
        withGrace ? QDateTime::fromMSecsSinceEpoch(session->graceDeadlineMs, Qt::UTC) : QDateTime();
    persistWorker(session);
    m_events->append(QStringLiteral("worker.disconnected"), session->record.name,
                     Tr::tr("worker %1 disconnected: %2").arg(session->record.name, reason),
                     {{QStringLiteral("workerId"), session->record.id},
                      {QStringLiteral("reason"), reason},
                      {QStringLiteral("graceMs"), withGrace ? m_settings.reconnectGraceMs : 0}});
}

void WorkerSessions::endSession(WorkerSession *session, WorkerStatus finalStatus, const QString &reason,
                              bool requeue)
{
    const QDateTime now = QDateTime::currentDateTimeUtc();
    const bool wasConnected = session->isConnected();
    if (!session->leaseIds.isEmpty()) {
        const QString leaseReason = finalStatus == WorkerStatus::Lost ? Tr::tr("worker lost") : reason;
        if (requeue)
            m_scheduler->requeueLeases(session, leaseReason);
        else
            m_scheduler->expireLeases(session, leaseReason);
    }
    session->connection = nullptr;
    session->record.status = finalStatus;
    session->record.draining = false;
    session->record.graceUntil = QDateTime();
    if (wasConnected || !session->record.disconnectedAt.isValid())
        session->record.disconnectedAt = now;
    if (wasConnected)
        session->record.lastSeenAt = now;
    persistWorker(session);
    const QString name = session->record.name;
    const QString id = session->record.id;
    m_inGrace.remove(id);
    if (finalStatus == WorkerStatus::Lost) {
        m_events->append(QStringLiteral("worker.lost"), name,
                         Tr::tr("worker %1 lost: %2").arg(name, reason),
                         {{QStringLiteral("workerId"), id}, {QStringLiteral("reason"), reason}});
    } else if (wasConnected) {
        m_events->append(QStringLiteral("worker.disconnected"), name,
                         Tr::tr("worker %1 disconnected: %2").arg(name, reason),
                         {{QStringLiteral("workerId"), id}, {QStringLiteral("reason"), reason},
                          {QStringLiteral("graceMs"), 0}});
    }
    m_pool.remove(id);
    m_scheduler->requestSchedule();
}

void WorkerSessions::updateStatus(WorkerSession *session)
{
    if (!session->isConnected())
        return;
    WorkerStatus status = WorkerStatus::Idle;
    if (session->record.draining)
        status = WorkerStatus::Draining;
    else if (session->freeSlots() == 0)
        status = WorkerStatus::Busy;
    if (status != session->record.status) {
        const bool flip = (status == WorkerStatus::Idle || status == WorkerStatus::Busy)
                          && (session->record.status == WorkerStatus::Idle || session->record.status == WorkerStatus::Busy);
        session->record.status = status;
        // A worker with one slot flips between idle and busy twice per step. One orchestrator
        // answers every question about a connected worker from its session (worker.list, data
        // query), and a restart marks them all disconnected, so the flips are written at the
        // next sweep (250 ms), once. A fleet shares them at once.
        if (flip && !shared()) {
            m_statusToWrite.insert(session->record.id);
            return;
        }
        // Only the state moves here: the whole row was written when the session began.
        persistWorker(session, PersistWhat::State);
    }
}

void WorkerSessions::persistWorker(WorkerSession *session, PersistWhat what)
{
    session->record.updatedAt = QDateTime::currentDateTimeUtc();
    if (session->record.status != WorkerStatus::Disconnected && session->record.status != WorkerStatus::Lost)
        session->record.lastSeenAt = QDateTime::fromMSecsSinceEpoch(session->lastHeardMs, Qt::UTC);
    const QString &heldBy = m_holder;
    auto saved = what == PersistWhat::State ? m_store->updateWorkerState(session->record, heldBy)
                                            : m_store->upsertWorker(session->record, heldBy);
    if (saved) {
        m_unsavedWorkers.remove(session->record.id);
        return;
    }
    // The database refused the write (its batch then fails, or the statement alone did): the
    // stored row would keep an old status. The whole row is written again at the next sweep,
    // from the session if it is still here, else from this copy (a lost worker's last status).
    // Said once per worker, not at every retry.
    if (!m_unsavedWorkers.contains(session->record.id)) {
        if (!Store::isAwayError(saved.error()))
            qCWarning(lcDb) << "could not save worker" << session->record.name << saved.error().message
                        << "- retrying at every sweep";
    }
    m_unsavedWorkers.insert(session->record.id, session->record);
}

void WorkerSessions::retryUnsavedWorkers()
{
    const QString &heldBy = m_holder;
    // A copy: persistWorker() takes out what it writes, and keeps (without a second warning)
    // what is refused again.
    const QHash<QString, WorkerRecord> unsaved = m_unsavedWorkers;
    for (auto it = unsaved.cbegin(); it != unsaved.cend(); ++it) {
        if (WorkerSession *session = m_pool.find(it.key()))
            persistWorker(session, PersistWhat::Row);
        else if (m_store->upsertWorker(*it, heldBy))
            m_unsavedWorkers.remove(it.key()); // else warned about when it was first refused
    }
}

} // namespace Swamp
