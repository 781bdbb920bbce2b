// Enrollment: the SPEC §4 checks in their order (version, shape, exists, revoked, expired,
// secret, binding, live session), the ghost-session rule, and admission into the pool.
#include "orchestrator/orchestrator.h"

#include "common/logging.h"
#include "identity/machineidentity.h"
#include "orchestrator/connections.h"
#include "orchestrator/eventlog.h"
#include "orchestrator/fleet.h"
#include "protocol/errorcodes.h"
#include "protocol/protocol.h"
#include "scheduling/scheduler.h"
#include "store/store.h"
#include "version/version.h"

#include <QJsonArray>
#include <QUuid>

namespace Swamp {

namespace {
constexpr int MaxSecretFailures = 10;        // per token name and per address ...
constexpr qint64 SecretFailureWindowMs = 60000; // ... within this window
constexpr int MaxLabels = 64;
constexpr qint64 MaxCapacity = 1024;

std::unexpected<Error> badEnroll(const QString &why)
{
    return fail(QStringLiteral("bad_frame"), Tr::tr("invalid enroll frame: %1").arg(why),
                Tr::tr("run the same swamp version on the worker and the orchestrator"));
}
} // namespace

void Orchestrator::refuse(WorkerConnection *connection, const Error &error, const QString &requestId)
{
    qCInfo(lcEnroll) << "refused enrollment from" << connection->peerAddress() << error.code;
    m_metrics->countEnrollment(error.code);
    m_events->append(QStringLiteral("enrollment.refused"),
                     error.details.value(QStringLiteral("tokenName")).toString(),
                     Tr::tr("enrollment refused from %1: %2").arg(connection->peerAddress(), error.message),
                     {{QStringLiteral("code"), error.code},
                      {QStringLiteral("address"), connection->peerAddress()}});
    connection->sendError(error, requestId);
    connection->close(Protocol::CloseEnrollmentFailed, error.code);
}

bool Orchestrator::rateLimited(const QString &tokenName, const QString &address) const
{
    const qint64 horizon = QDateTime::currentMSecsSinceEpoch() - SecretFailureWindowMs;
    const QStringList keys{QStringLiteral("name:") + tokenName, QStringLiteral("addr:") + address};
    for (const QString &key : keys) {
        const QList<qint64> failures = m_secretFailures.value(key);
        if (std::count_if(failures.cbegin(), failures.cend(), [&](qint64 t) { return t > horizon; })
            >= MaxSecretFailures)
            return true;
    }
    return false;
}

void Orchestrator::recordSecretFailure(const QString &tokenName, const QString &address)
{
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const QStringList keys{QStringLiteral("name:") + tokenName, QStringLiteral("addr:") + address};
    for (const QString &key : keys) {
        QList<qint64> &failures = m_secretFailures[key];
        failures.removeIf([&](qint64 t) { return t <= now - SecretFailureWindowMs; });
        failures << now;
    }
}

Result<TokenRecord> Orchestrator::checkToken(const QJsonObject &frame, const QString &peer)
{
    // 1. version
    const QString workerVersion = frame.value(QStringLiteral("version")).toString();
    if (workerVersion != Swamp::version()
        || frame.value(QStringLiteral("protocol")).toInt(-1) != Swamp::protocolVersion())
        return fail(Codes::protocolMismatch(workerVersion.isEmpty() ? Tr::tr("unknown") : workerVersion,
                                            Swamp::version()));
    // 2. shape
    auto text = parseToken(frame.value(QStringLiteral("token")).toString());
    if (!text)
        return fail(text.error());
    Error withName;
    const auto named = [&](Error error) {
        error.details.insert(QStringLiteral("tokenName"), text->name);
        return fail(std::move(error));
    };
    // 3. exists (the live token of that name, else the newest for a precise reason)
    auto tokens = m_store->tokensNamed(text->name, false);
    if (!tokens)
        return fail(tokens.error());
    if (tokens->isEmpty())
        return named(Codes::tokenNotFound(text->name));
    const QDateTime now = QDateTime::currentDateTimeUtc();
    const auto live = std::find_if(tokens->cbegin(), tokens->cend(),
                                   [&](const TokenRecord &t) { return t.isLive(now); });
    const TokenRecord token = live != tokens->cend() ? *live : tokens->first();
    // 4. revoked, 5. expired
    if (token.effectiveState(now) == TokenState::Revoked)
        return named(Codes::tokenRevoked(token.name));
    if (token.effectiveState(now) == TokenState::Expired)
        return named(Codes::tokenExpired(token.name));
    // 6. secret (rate-limited per name and address; only the name is ever logged)
    if (rateLimited(token.name, peer))
        return named(Codes::rateLimited(token.name, int(SecretFailureWindowMs / 1000)));
    if (!verifySecret(text->secret, token.secretHash)) {
        recordSecretFailure(token.name, peer);
        qCWarning(lcEnroll) << "wrong secret for token" << token.name << "from" << peer;
        return named(Codes::tokenMismatch(token.name));
    }
    // 7. binding: one indexed lookup for this machine; the others are counted only when a new
    // machine claims a token with a limit (a token may have thousands of enrollments).
    const QString machineId = frame.value(QStringLiteral("machineId")).toString();
    auto bound = m_store->binding(token.id, machineId);
    if (!bound)
        return fail(bound.error());
    TokenRecord checked = token;
    checked.bindings.clear();
    if (*bound) {
        checked.bindings << **bound; // only this machine's binding: all that admission needs
    } else if (token.maxEnrollments > 0) {
        auto used = m_store->bindingCount(token.id);
        if (!used)
            return fail(used.error());
        if (*used >= token.maxEnrollments)
            return named(Codes::tokenBound(token.name, int(*used), token.maxEnrollments));
    }
    return checked;
}

void Orchestrator::handleEnroll(WorkerConnection *connection, const QJsonObject &frame)
{
    const QString requestId = frame.value(QStringLiteral("id")).toString();
    // Shape of the rest of the frame (the token and version are checked in SPEC order below).
    const auto validate = [&]() -> Result<void> {
        if (QUuid::fromString(frame.value(QStringLiteral("machineId")).toString()).isNull())
            return badEnroll(QStringLiteral("machineId must be a UUID"));
        const QString instance = frame.value(QStringLiteral("instanceId")).toString();
        if (instance.isEmpty() || instance.size() > 64)
            return badEnroll(QStringLiteral("instanceId is missing"));
        const qint64 capacity = frame.value(QStringLiteral("capacity")).toInteger(-1);
        if (capacity < 1 || capacity > MaxCapacity)
            return badEnroll(QStringLiteral("capacity must be 1 to 1024"));
        if (frame.value(QStringLiteral("labels")).toObject().size() > MaxLabels)
            return badEnroll(QStringLiteral("at most 64 labels"));
        for (const char *field : {"hostname", "platform", "arch", "version"}) {
            if (frame.value(QLatin1String(field)).toString().size() > 255)
                return badEnroll(QStringLiteral("%1 is too long").arg(QLatin1String(field)));
        }
        return {};
    };
    auto token = checkToken(frame, connection->peerAddress());
    if (!token) {
        refuse(connection, token.error(), requestId);
        return;
    }
    if (auto valid = validate(); !valid) {
        refuse(connection, valid.error(), requestId);
        return;
    }

    // 8. live session: the ghost-session rule.
    const QString machineId = frame.value(QStringLiteral("machineId")).toString();
    const QString instanceId = frame.value(QStringLiteral("instanceId")).toString();
    WorkerSession *existing = m_pool.findByMachine(machineId, token->name);
    if (existing && existing->isConnected() && existing->record.instanceId != instanceId) {
        // Another process claims this machine while a socket is open: ask the old one.
        QPointer<WorkerConnection> fresh = connection;
        QPointer<WorkerConnection> old = existing->connection;
        auto decided = std::make_shared<bool>(false);
        const QString tokenName = token->name;
        connect(old.data(), &PeerConnection::pongReceived, fresh.data(), [=, this] {
            if (*decided || !fresh)
                return;
            *decided = true;
            Error error = Codes::alreadyConnected(tokenName);
            error.details.insert(QStringLiteral("tokenName"), tokenName);
            refuse(fresh, error, requestId);
        });
        QTimer::singleShot(m_config.ghostProbeMs, fresh.data(), [=, this] {
            if (*decided || !fresh || !fresh->isOpen())
                return;
            *decided = true;
            // Re-check: the session may have changed during the probe.
            auto again = checkToken(frame, fresh->peerAddress());
            if (!again) {
                refuse(fresh, again.error(), requestId);
                return;
            }
            admitWorker(fresh, frame, *again);
        });
        old->ping();
        return;
    }
    admitWorker(connection, frame, *token);
}

void Orchestrator::admitWorker(WorkerConnection *connection, const QJsonObject &frame,
                               const TokenRecord &token)
{
    const QString requestId = frame.value(QStringLiteral("id")).toString();
    const QString machineId = frame.value(QStringLiteral("machineId")).toString();
    const QString instanceId = frame.value(QStringLiteral("instanceId")).toString();
    const QDateTime now = QDateTime::currentDateTimeUtc();

    bool resumed = false;
    WorkerSession *session = m_pool.findByMachine(machineId, token.name);
    if (session && session->record.instanceId == instanceId) {
        // The same process came back (within the grace, or before we noticed the drop).
        resumed = true;
        if (WorkerConnection *old = session->connection; old && old != connection) {
            old->workerId.clear();
            old->close(Protocol::CloseReplaced, QStringLiteral("replaced by a newer connection"));
        }
    } else if (session) {
        // A new process of the same machine ends the old session at once.
        if (WorkerConnection *old = session->connection) {
            old->workerId.clear();
            old->close(Protocol::CloseReplaced, QStringLiteral("replaced by a new process of this machine"));
        }
        endSession(session, WorkerStatus::Disconnected, Tr::tr("worker replaced by a new process of its machine"));
        session = nullptr;
    }

    if (!session) {
        auto stored = m_store->workerByMachine(machineId, token.name);
        if (!stored) {
            refuse(connection, stored.error(), requestId);
            return;
        }
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
        record.name = workerNameFor(token, machineId);
        record.tokenId = token.id;
        record.enrolledAt = now;
        record.disconnectedAt = QDateTime();
        session = m_pool.insert(std::move(fresh));
    }
    WorkerRecord &record = session->record;
    record.instanceId = instanceId;
    // Token labels are fixed by the token's creator: they win over the worker's own.
    record.labels = mergeLabels(labelsFromJson(frame.value(QStringLiteral("labels")).toObject()), token.labels);
    record.platform = frame.value(QStringLiteral("platform")).toString();
    record.arch = frame.value(QStringLiteral("arch")).toString();
    record.version = frame.value(QStringLiteral("version")).toString();
    record.hostname = frame.value(QStringLiteral("hostname")).toString();
    record.capacity = int(frame.value(QStringLiteral("capacity")).toInteger(1));
    if (shared() && !record.orchestratorId.isEmpty() && record.orchestratorId != m_fleet->id()
        && record.status != WorkerStatus::Disconnected && record.status != WorkerStatus::Lost) {
        // The machine was held by another orchestrator (it failed over, or its connection moved
        // behind a load balancer): that one lets go, and its leases for it expire there.
        m_fleet->notify(QStringLiteral("takeover"), {{QStringLiteral("workerId"), record.id},
                                                     {QStringLiteral("by"), m_fleet->name()}});
    }
    record.orchestrator = url();
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
    m_inGrace.remove(record.id);
    connection->workerId = record.id;
    connection->instanceId = instanceId;

    const bool newBinding = !token.isBound(machineId);
    auto saved = m_store->transaction([&]() -> Result<void> {
        if (newBinding) {
            if (auto bound = m_store->insertBinding(token.id, TokenBinding{machineId, record.name, now}); !bound)
                return bound;
        }
        record.updatedAt = now;
        record.lastSeenAt = now;
        return m_store->upsertWorker(record);
    });
    if (!saved) {
        connection->workerId.clear();
        m_pool.remove(record.id);
        refuse(connection, saved.error(), requestId);
        return;
    }
    // One entry per token and expiry, not one per enrollment: at the expiry every session of the
    // token is looked at once.
    if (!m_tokenExpiries.contains(token.expiresAt, token.name))
        m_tokenExpiries.insert(token.expiresAt, token.name);
    updateStatus(session);
    const QJsonObject leases = resumed ? m_scheduler->resumeLeases(session) : QJsonObject();

    connection->send(QJsonObject{
        {QStringLiteral("type"), Protocol::Type::Enrolled},
        {QStringLiteral("id"), requestId},
        {QStringLiteral("workerId"), record.id},
        {QStringLiteral("workerName"), record.name},
        {QStringLiteral("resumed"), resumed},
        {QStringLiteral("labels"), labelsToJson(record.labels)},
        {QStringLiteral("orchestratorVersion"), Swamp::version()},
        {QStringLiteral("heartbeatIntervalMs"), m_config.heartbeatIntervalMs},
        {QStringLiteral("heartbeatTimeoutMs"), m_config.heartbeatTimeoutMs},
        {QStringLiteral("reconnectGraceMs"), m_config.reconnectGraceMs},
        // For a drop without a `shutdown` frame (the orchestrator killed, its host gone).
        {QStringLiteral("reconnectWindowMs"), reconnectWindowMs()},
        {QStringLiteral("tokenExpiresAt"), token.expiresAt.toUTC().toString(Qt::ISODateWithMs)},
        {QStringLiteral("leases"), leases},
        {QStringLiteral("draining"), record.draining},
    });
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
    announceReconnectWindow();
    m_scheduler->requestSchedule();
}

} // namespace Swamp
