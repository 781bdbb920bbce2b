// Enrollment: the SPEC §4 checks in their order (version, shape, exists, revoked, expired,
// secret, binding, live session), the ghost-session rule, and admission into the sessions.
#include "server/enrollment.h"

#include "common/duration.h"
#include "common/logging.h"
#include "common/text.h"
#include "model/errorcodes.h"
#include "model/token.h"
#include "protocol/enrollrequest.h"
#include "protocol/protocol.h"
#include "protocol/workerframes.h"
#include "server/eventlog.h"
#include "server/fleet.h"
#include "server/metrics.h"
#include "server/scheduler.h"
#include "server/sessions.h"
#include "server/transport/connections.h"
#include "store/store.h"
#include "version/version.h"

#include <QJsonArray>
#include <QUuid>

namespace Swamp {

using Protocol::EnrollRequest;

Enrollment::Enrollment(const Settings &settings, Store *store, EventLog *events, WorkerSessions *sessions,
                       Scheduler *scheduler, Metrics *metrics, Fleet *fleet, QObject *parent)
    : QObject(parent)
    , m_settings(settings)
    , m_store(store)
    , m_events(events)
    , m_sessions(sessions)
    , m_scheduler(scheduler)
    , m_metrics(metrics)
    , m_fleet(fleet)
{
}

bool Enrollment::shared() const
{
    return m_store->dialect() == Store::Dialect::Postgres;
}

void Enrollment::expect(WorkerConnection *connection)
{
    // One deque for all, swept in order (every deadline has the same length), not a timer per
    // connection, whose start and stop would each walk every pending timer of the loop.
    m_deadlines.emplace_back(QDateTime::currentMSecsSinceEpoch() + DeadlineMs, connection);
}

void Enrollment::closeOverdue(qint64 nowMs)
{
    while (!m_deadlines.empty() && m_deadlines.front().first <= nowMs) {
        const QPointer<WorkerConnection> connection = m_deadlines.front().second;
        m_deadlines.pop_front();
        if (connection && connection->workerId.isEmpty())
            connection->close(Protocol::CloseBadFrame, QStringLiteral("no enroll frame within 15s"));
    }
}

void Enrollment::refuse(WorkerConnection *connection, const Error &error, const QString &requestId)
{
    m_metrics->countEnrollment(error.code);
    const QString address = connection->peerAddress();
    // A token name that does not exist is the stranger's own text: it does not make a key of its
    // own, or anyone could write one event per name they make up.
    const QString tokenName = error.details.value(QStringLiteral("unknownToken")).toBool()
                                  ? QString()
                                  : error.details.value(QStringLiteral("tokenName")).toString();
    if (m_refusals.admit(AddressThrottle::keyOf(address) + u'|' + tokenName, QDateTime::currentMSecsSinceEpoch())) {
        m_events->append(QStringLiteral("enrollment.refused"), tokenName,
                         Tr::tr("enrollment refused from %1: %2").arg(address, error.message),
                         {{QStringLiteral("code"), error.code}, {QStringLiteral("address"), address}});
    }
    connection->sendError(error, requestId);
    connection->close(Protocol::CloseEnrollmentFailed, error.code);
}

void Enrollment::reportRefusals(qint64 nowMs)
{
    const QString window = formatDurationMs(m_refusals.windowMs());
    for (const RefusalDigest::Summary &summary : m_refusals.takeSummaries(nowMs)) {
        const QString address = summary.key.section(u'|', 0, 0);
        const QString tokenName = summary.key.section(u'|', 1);
        QString message;
        if (summary.key.isEmpty())
            message = Tr::tr("%n more enrollment(s) refused in the last %1 from %2 other address(es)", nullptr, summary.count)
                          .arg(window).arg(summary.keys);
        else if (tokenName.isEmpty())
            message = Tr::tr("%n more enrollment(s) refused from %1 in the last %2", nullptr, summary.count)
                          .arg(address, window);
        else
            message = Tr::tr("%n more enrollment(s) refused from %1 for token '%2' in the last %3", nullptr, summary.count)
                          .arg(address, tokenName, window);
        m_events->append(QStringLiteral("enrollment.refused"), tokenName, message,
                         {{QStringLiteral("address"), address.isEmpty() ? QJsonValue() : QJsonValue(address)},
                          {QStringLiteral("count"), summary.count},
                          {QStringLiteral("addresses"), summary.keys}});
    }
    m_throttle.prune(nowMs);
}

Result<TokenRecord> Enrollment::checkToken(const EnrollRequest &request, const QString &peer)
{
    const qint64 nowMs = QDateTime::currentMSecsSinceEpoch();
    // Refusals only a stranger causes (no such token, a wrong secret or machine key, a malformed
    // frame) count against its address; past the limit they are answered `rate_limited`
    // (transient) instead. Those a legitimate worker meets (an expired or revoked token, another
    // version) do not count, and what a correct secret reaches is never throttled.
    const auto stranger = [&](Error error) -> std::unexpected<Error> {
        const bool throttled = m_throttle.isThrottled(peer, nowMs);
        m_throttle.record(peer, nowMs);
        if (throttled) {
            Error limited = Codes::rateLimited(error.details.value(QStringLiteral("tokenName")).toString(),
                                               int(m_throttle.windowMs() / 1000));
            limited.details = error.details;
            return fail(std::move(limited));
        }
        return fail(std::move(error));
    };
    // 2. shape
    auto text = parseToken(request.token);
    if (!text)
        return stranger(text.error());
    const auto named = [&](Error error) {
        error.details.insert(QStringLiteral("tokenName"), text->name);
        return error;
    };
    // 3. exists (the live token of that name, else the newest for a precise reason)
    auto tokens = m_store->tokensNamed(text->name, false);
    if (!tokens)
        return fail(tokens.error());
    if (tokens->isEmpty()) {
        Error unknown = named(Codes::tokenNotFound(text->name));
        unknown.details.insert(QStringLiteral("unknownToken"), true); // the name is the stranger's text
        return stranger(std::move(unknown));
    }
    const QDateTime now = QDateTime::currentDateTimeUtc();
    const auto live = std::find_if(tokens->cbegin(), tokens->cend(),
                                   [&](const TokenRecord &t) { return t.isLive(now); });
    const TokenRecord token = live != tokens->cend() ? *live : tokens->first();
    // 4. revoked, 5. expired
    if (token.effectiveState(now) == TokenState::Revoked)
        return fail(named(Codes::tokenRevoked(token.name)));
    if (token.effectiveState(now) == TokenState::Expired)
        return fail(named(Codes::tokenExpired(token.name)));
    // 6. secret (only the token's name is ever logged, never the secret)
    if (!verifySecret(text->secret, token.secretHash))
        return stranger(named(Codes::tokenMismatch(token.name)));
    // 7. binding: one indexed lookup for this machine; the others are counted only when a new
    // machine claims a token with a limit (a token may have thousands of enrollments). A bound
    // machine proves itself with its key: its token and machine id alone are not enough.
    auto bound = m_store->binding(token.id, request.machineId);
    if (!bound)
        return fail(bound.error());
    TokenRecord checked = token;
    checked.bindings.clear();
    if (*bound) {
        if (!(*bound)->keyHash.isEmpty() && !verifySecret(request.machineKey, (*bound)->keyHash))
            return stranger(named(Codes::machineKeyMismatch(token.name, machineIdSuffix(request.machineId))));
        checked.bindings << **bound; // only this machine's binding: all that admission needs
    } else if (token.maxEnrollments > 0) {
        auto used = m_store->bindingCount(token.id);
        if (!used)
            return fail(used.error());
        if (*used >= token.maxEnrollments)
            return fail(named(Codes::tokenBound(token.name, int(*used), token.maxEnrollments)));
    }
    return checked;
}

void Enrollment::handleEnroll(WorkerConnection *connection, const QJsonObject &frame)
{
    // The request id is echoed only when it is one (a string of 1 to 64 characters without
    // control characters): a refusal for a malformed id must not echo a mangled one.
    const QString sentId = frame.value(QStringLiteral("id")).toString();
    const QString requestId = !sentId.isEmpty() && characterCount(sentId) <= 64 && !hasUnsafeCharacters(sentId)
                                  ? sentId
                                  : QString();
    // 1. version, whatever the rest of the frame looks like; then the frame's shape.
    const QString workerVersion = EnrollRequest::versionOf(frame);
    if (workerVersion != Swamp::version() || EnrollRequest::protocolOf(frame) != Swamp::protocolVersion()) {
        Error mismatch = Codes::protocolMismatch(
            workerVersion.isEmpty() ? Tr::tr("unknown") : printable(leftCharacters(workerVersion, 64)), Swamp::version());
        // What to send instead, for a worker of another make (also in the Server header).
        mismatch.details.insert(QStringLiteral("orchestratorVersion"), Swamp::version());
        mismatch.details.insert(QStringLiteral("protocol"), Swamp::protocolVersion());
        refuse(connection, mismatch, requestId);
        return;
    }
    auto request = EnrollRequest::fromJson(frame);
    if (!request) {
        m_throttle.record(connection->peerAddress(), QDateTime::currentMSecsSinceEpoch());
        refuse(connection, request.error(), requestId);
        return;
    }
    auto token = checkToken(*request, connection->peerAddress());
    if (!token) {
        refuse(connection, token.error(), requestId);
        return;
    }

    // 8. live session: the ghost-session rule, for a session here ...
    WorkerSession *existing = m_sessions->pool().findByMachine(request->machineId, token->name);
    if (existing && existing->isConnected()) {
        if (existing->record.instanceId != request->instanceId) {
            probeGhost(connection, existing->connection, *request, token->name, requestId);
            return;
        }
    } else if (shared()) {
        // ... and for one another orchestrator of the fleet holds.
        auto held = heldLiveElsewhere(*request, token->name);
        if (!held) {
            refuse(connection, held.error(), requestId);
            return;
        }
        if (*held) {
            probeRemote(connection, **held, *request, token->name, requestId);
            return;
        }
    }
    admitWorker(connection, *request, *token);
}

void Enrollment::admitWorker(WorkerConnection *connection, const EnrollRequest &request,
                               const TokenRecord &token)
{
    const QDateTime now = QDateTime::currentDateTimeUtc();
    bool resumed = false;
    if (auto free = checkNameFree(request, token); !free) {
        refuse(connection, free.error(), request.id);
        return;
    }
    auto found = sessionFor(request, token, now, &resumed);
    if (!found) {
        refuse(connection, found.error(), request.id);
        return;
    }
    WorkerSession *session = *found;
    attachSession(session, connection, request, token, resumed);
    if (auto saved = saveEnrollment(session, request, token, now); !saved) {
        connection->workerId.clear();
        // A resumed session holds leases: dropped, they would stay active with nobody to expire
        // them (its step `dispatched` for ever). A new one holds none yet.
        if (resumed)
            m_sessions->detached(session);
        else
            m_sessions->pool().remove(session->record.id);
        // In a fleet another orchestrator may have given the name to another machine since the
        // check above: the unique index on names refused the row (migration 012).
        auto free = checkNameFree(request, token);
        refuse(connection, free ? saved.error() : free.error(), request.id);
        return;
    }
    welcome(session, connection, request, token, resumed);
}

Result<void> Enrollment::checkNameFree(const EnrollRequest &request, const TokenRecord &token)
{
    if (request.name.isEmpty())
        return {};
    const auto taken = [&](const WorkerRecord &other) {
        return fail(Codes::workerNameTaken(request.name, machineIdSuffix(other.machineId),
                                           workerStatusName(other.status)));
    };
    const auto another = [&](const WorkerRecord &record) {
        return record.name == request.name && (record.machineId != request.machineId || record.tokenName != token.name);
    };
    // The sessions here first: an enrollment just admitted may still wait in the write-behind
    // batch. Then the database: in a fleet another orchestrator may hold the other worker.
    for (const WorkerSession *session : m_sessions->pool().all()) {
        if (another(session->record))
            return taken(session->record);
    }
    auto holders = m_store->workersNamedElsewhere(request.name, request.machineId, token.name);
    if (!holders)
        return fail(holders.error());
    return holders->isEmpty() ? Result<void>() : taken(holders->first());
}

// The session of this machine on this token: the same process back (`resumed`), or a new one
// (a new process of the machine ends the old session at once). Fails only on a database error.
Result<WorkerSession *> Enrollment::sessionFor(const EnrollRequest &request, const TokenRecord &token,
                                                const QDateTime &now, bool *resumed)
{
    const QString &machineId = request.machineId;
    WorkerSession *session = m_sessions->pool().findByMachine(machineId, token.name);
    if (session && session->record.instanceId == request.instanceId) {
        // The same process came back (within the grace, or before we noticed the drop).
        *resumed = true;
        return session;
    }
    if (session) {
        // A new process of the same machine ends the old session at once.
        if (WorkerConnection *old = session->connection) {
            old->workerId.clear();
            old->close(Protocol::CloseReplaced, QStringLiteral("replaced by a new process of this machine"));
        }
        m_sessions->endSession(session, WorkerStatus::Disconnected, Tr::tr("worker replaced by a new process of its machine"));
    }
    auto stored = m_store->workerByMachine(machineId, token.name);
    if (!stored)
        return fail(stored.error());
    auto fresh = std::make_unique<WorkerSession>();
    WorkerRecord &record = fresh->record;
    if (*stored) {
        record = **stored;
    } else {
        record.id = QUuid::createUuid().toString(QUuid::WithoutBraces);
        record.machineId = machineId;
        record.tokenName = token.name;
        record.createdAt = now;
    }
    // The name asked for; else the one it had (a name given once survives restarts with the same
    // --cache-dir, which keeps the machine id); else the token's.
    if (!request.name.isEmpty()) {
        record.name = request.name;
        record.nameChosen = true;
    } else if (!*stored)
        record.name = workerNameFor(token, machineId);
    record.tokenId = token.id;
    record.enrolledAt = now;
    record.disconnectedAt = QDateTime();
    return m_sessions->pool().insert(std::move(fresh));
}

// The session takes what the worker says of itself and its new connection.
void Enrollment::attachSession(WorkerSession *session, WorkerConnection *connection,
                                 const EnrollRequest &request, const TokenRecord &token, bool resumed)
{
    if (WorkerConnection *old = session->connection; resumed && old && old != connection) {
        old->workerId.clear();
        old->close(Protocol::CloseReplaced, QStringLiteral("replaced by a newer connection"));
    }
    const QString &instanceId = request.instanceId;
    WorkerRecord &record = session->record;
    record.instanceId = instanceId;
    // Token labels are fixed by the token's creator: they win over the worker's own. What an
    // operator set or removed since (`swamp worker label`, kept in the record) wins over both.
    record.ownLabels = mergeLabels(request.labels, token.labels);
    record.labels = record.operatorLabels.appliedTo(record.ownLabels);
    record.platform = request.platform;
    record.arch = request.arch;
    record.version = request.version;
    record.hostname = request.hostname;
    record.capacity = request.capacity;
    if (shared() && !record.orchestratorId.isEmpty() && record.orchestratorId != m_fleet->id()
        && record.status != WorkerStatus::Lost) {
        // The machine was held by another orchestrator (it failed over, its connection moved
        // behind a load balancer, or its old process died there and the session waits out its
        // reconnect grace): that one lets go, and its leases for it expire there.
        m_fleet->notify(QStringLiteral("takeover"), {{QStringLiteral("workerId"), record.id},
                                                     {QStringLiteral("by"), m_fleet->name()}});
    }
    record.orchestrator = m_url;
    record.orchestratorId = m_fleet->id();
    if (!resumed) {
        record.status = WorkerStatus::Idle;
        record.draining = false;
        session->drainCode.clear();
        session->drainDeadlineMs = 0;
    }
    session->connection = connection;
    session->lastHeardMs = QDateTime::currentMSecsSinceEpoch();
    session->graceDeadlineMs = 0;
    session->tokenExpiresAt = token.expiresAt;
    m_sessions->attached(session);
    connection->workerId = record.id;
    connection->instanceId = instanceId;
}

// The binding (or its key, for a machine bound before machine keys) and the worker row, in one
// transaction.
Result<void> Enrollment::saveEnrollment(WorkerSession *session, const EnrollRequest &request,
                                          const TokenRecord &token, const QDateTime &now)
{
    const QString &machineId = request.machineId;
    WorkerRecord &record = session->record;
    const bool newBinding = !token.isBound(machineId);
    // Bound before machine keys existed: this enrollment's key is the machine's from now on.
    const bool adoptKey = !newBinding && token.bindings.value(0).keyHash.isEmpty();
    return m_store->transaction([&]() -> Result<void> {
        if (newBinding) {
            const TokenBinding binding{machineId, record.name, now, hashSecret(request.machineKey)};
            if (auto bound = m_store->insertBinding(token.id, binding); !bound)
                return bound;
        } else if (adoptKey) {
            if (auto keyed = m_store->setBindingKey(token.id, machineId, hashSecret(request.machineKey)); !keyed)
                return keyed;
        }
        record.updatedAt = now;
        record.lastSeenAt = now;
        return m_store->upsertWorker(record);
    });
}

// `enrolled` (with the leases a resumed worker still holds), the event, and a scheduling pass.
void Enrollment::welcome(WorkerSession *session, WorkerConnection *connection, const EnrollRequest &request,
                           const TokenRecord &token, bool resumed)
{
    const QString &requestId = request.id;
    const QString &machineId = request.machineId;
    const WorkerRecord &record = session->record;
    connection->authenticate(); // its frames may be full size from now on
    m_sessions->watchTokenExpiry(token.expiresAt, token.name);
    m_sessions->updateStatus(session);
    const QJsonObject leases = resumed ? m_scheduler->resumeLeases(session) : QJsonObject();

    Protocol::Enrolled enrolled;
    enrolled.id = requestId;
    enrolled.workerId = record.id;
    enrolled.workerName = record.name;
    enrolled.resumed = resumed;
    enrolled.labels = labelsToJson(record.labels);
    enrolled.orchestratorVersion = Swamp::version();
    enrolled.heartbeatIntervalMs = m_settings.heartbeatIntervalMs;
    enrolled.heartbeatTimeoutMs = m_settings.heartbeatTimeoutMs;
    enrolled.reconnectGraceMs = m_settings.reconnectGraceMs;
    // For a drop without a `shutdown` frame (the orchestrator killed, its host gone).
    enrolled.reconnectWindowMs = m_sessions->reconnectWindowMs();
    m_sessions->windowTold(session, enrolled.reconnectWindowMs);
    enrolled.tokenExpiresAt = token.expiresAt.toUTC().toString(Qt::ISODateWithMs);
    enrolled.leases = leases;
    enrolled.draining = record.draining;
    connection->sendEncoded(enrolled.encode());
    m_metrics->countEnrollment(QStringLiteral("ok"));
    const QString kind = resumed ? QStringLiteral("worker.resumed") : QStringLiteral("worker.enrolled");
    const QString message = resumed
        ? Tr::tr("worker %1 reconnected (same process, session resumed)").arg(record.name)
        : Tr::tr("worker %1 enrolled (machine %2, %3/%4, swamp %5, token '%6')")
              .arg(record.name, machineIdSuffix(machineId), record.platform, record.arch,
                   record.version, token.name);
    m_events->append(kind, record.name, message,
                     {{QStringLiteral("workerId"), record.id},
                      {QStringLiteral("tokenName"), token.name},
                      {QStringLiteral("address"), connection->peerAddress()}});
    m_sessions->announceReconnectWindow();
    m_scheduler->requestSchedule();
}

} // namespace Swamp
