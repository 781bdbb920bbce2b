// Enrollment's ghost-session rule (SPEC §4): a new process claims a machine whose session is
// still open. On one orchestrator the old socket is pinged; in a fleet the orchestrator holding
// the session is asked to ping it (fleet notifications `probe` and `probed`). A live session
// refuses the newcomer with already_connected; a ghost (no answer) is replaced.
#include "server/enrollment.h"

#include "model/errorcodes.h"
#include "server/fleet.h"
#include "server/sessions.h"
#include "server/transport/connections.h"
#include "store/store.h"

#include <QTimer>
#include <QUuid>

#include <memory>

namespace Swamp {

using Protocol::EnrollRequest;

void Enrollment::pingForLiveness(WorkerConnection *old, QObject *context,
                                 const std::function<void(bool)> &done)
{
    auto decided = std::make_shared<bool>(false);
    auto pong = std::make_shared<QMetaObject::Connection>();
    const auto decide = [decided, pong, done](bool live) {
        if (*decided)
            return;
        *decided = true;
        QObject::disconnect(*pong); // one probe, one handler: repeated probes do not pile up
        done(live);
    };
    *pong = connect(old, &PeerConnection::pongReceived, context, [decide] { decide(true); });
    QTimer::singleShot(m_settings.ghostProbeMs, context, [decide] { decide(false); });
    old->ping();
}

void Enrollment::decideGhost(const QPointer<WorkerConnection> &fresh, const EnrollRequest &request,
                             const QString &tokenName, const QString &requestId, bool live)
{
    if (!fresh || !fresh->isOpen())
        return; // the newcomer gave up meanwhile
    if (live) {
        Error error = Codes::alreadyConnected(tokenName);
        error.details.insert(QStringLiteral("tokenName"), tokenName);
        refuse(fresh, error, requestId);
        return;
    }
    // Re-check: the token or the session may have changed during the probe.
    auto again = checkToken(request, fresh->peerAddress());
    if (!again) {
        refuse(fresh, again.error(), requestId);
        return;
    }
    admitWorker(fresh, request, *again);
}

void Enrollment::probeGhost(WorkerConnection *connection, WorkerConnection *old,
                            const EnrollRequest &request, const QString &tokenName,
                            const QString &requestId)
{
    const QPointer<WorkerConnection> fresh = connection;
    pingForLiveness(old, connection, [=, this](bool live) {
        decideGhost(fresh, request, tokenName, requestId, live);
    });
}

Result<std::optional<WorkerRecord>> Enrollment::heldLiveElsewhere(const EnrollRequest &request,
                                                                  const QString &tokenName)
{
    auto stored = m_store->workerByMachine(request.machineId, tokenName);
    if (!stored)
        return fail(stored.error());
    if (!*stored)
        return std::nullopt;
    const WorkerRecord &record = **stored;
    const bool elsewhere =
        !record.orchestratorId.isEmpty() && record.orchestratorId != m_fleet->id();
    const bool connected =
        record.status != WorkerStatus::Disconnected && record.status != WorkerStatus::Lost;
    // The same process back: it has one connection at a time, so the old one is dead.
    if (!elsewhere || !connected || record.instanceId == request.instanceId)
        return std::nullopt;
    auto alive = m_store->orchestratorAlive(record.orchestratorId);
    if (!alive)
        return fail(alive.error());
    if (!*alive)
        return std::nullopt; // its holder stopped or was declared dead: no session to ask about
    return record;
}

void Enrollment::probeRemote(WorkerConnection *connection, const WorkerRecord &held,
                             const EnrollRequest &request, const QString &tokenName,
                             const QString &requestId)
{
    const QString probeId = QUuid::createUuid().toString(QUuid::WithoutBraces);
    m_remoteProbes.insert(probeId, RemoteProbe{connection, request, tokenName, requestId});
    m_fleet->notify(QStringLiteral("probe"), {{QStringLiteral("to"), held.orchestratorId},
                                              {QStringLiteral("probe"), probeId},
                                              {QStringLiteral("workerId"), held.id}});
    // The holder pings for ghostProbeMs and answers; as long again for the notifications' round
    // trip. A holder that never answers (killed, and not declared dead yet) holds no live socket.
    QTimer::singleShot(RemoteProbeFactor * m_settings.ghostProbeMs, this,
                       [this, probeId] { decideProbe(probeId, false); });
}

void Enrollment::answerProbe(const QJsonObject &payload)
{
    if (payload.value(QStringLiteral("to")).toString() != m_fleet->id())
        return;
    const QString asker = payload.value(QStringLiteral("o")).toString();
    const QString probeId = payload.value(QStringLiteral("probe")).toString();
    const auto answer = [this, asker, probeId](bool live) {
        m_fleet->notify(QStringLiteral("probed"), {{QStringLiteral("to"), asker},
                                                   {QStringLiteral("probe"), probeId},
                                                   {QStringLiteral("live"), live}});
    };
    WorkerSession *session =
        m_sessions->pool().find(payload.value(QStringLiteral("workerId")).toString());
    if (!session || !session->isConnected()) {
        answer(false);
        return;
    }
    pingForLiveness(session->connection, this, answer);
}

void Enrollment::probeAnswered(const QJsonObject &payload)
{
    if (payload.value(QStringLiteral("to")).toString() != m_fleet->id())
        return;
    decideProbe(payload.value(QStringLiteral("probe")).toString(),
                payload.value(QStringLiteral("live")).toBool());
}

void Enrollment::decideProbe(const QString &probeId, bool live)
{
    const auto found = m_remoteProbes.constFind(probeId);
    if (found == m_remoteProbes.cend())
        return; // decided already: answered, or timed out
    const RemoteProbe probe = *found;
    m_remoteProbes.erase(found);
    decideGhost(probe.connection, probe.request, probe.tokenName, probe.requestId, live);
}

} // namespace Swamp
