// The admin endpoint (/v1/admin): authentication, request dispatch and the event subscription.
#include "server/adminservice.h"

#include "common/duration.h"
#include "common/jsonwriter.h"
#include "common/logging.h"
#include "common/text.h"
#include "model/errorcodes.h"
#include "protocol/protocol.h"
#include "server/commitpipeline.h"
#include "server/eventlog.h"
#include "server/fleet.h"
#include "server/metrics.h"
#include "server/queryservice.h"
#include "server/sessions.h"
#include "server/stateview.h"
#include "server/stepfollowers.h"
#include "server/transport/connections.h"
#include "store/store.h"
#include "version/version.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QUuid>

using namespace Qt::StringLiterals;

namespace Swamp {

AdminService::AdminService(const Services &services, const QString &adminToken,
                             std::function<void(PeerConnection *)> release, QObject *parent)
    : QObject(parent)
    , m_store(services.store)
    , m_events(services.events)
    , m_sessions(services.sessions)
    , m_scheduler(services.scheduler)
    , m_view(services.view)
    , m_query(services.query)
    , m_followers(services.followers)
    , m_commits(services.commits)
    , m_metrics(services.metrics)
    , m_fleet(services.fleet)
    , m_workerUrls(services.workerUrls)
    , m_adminToken(adminToken)
    , m_adminKey(adminKeyFingerprint(adminToken))
    , m_release(std::move(release))
{
    m_answerBufferRelease.setSingleShot(true);
    m_answerBufferRelease.setInterval(std::chrono::minutes(1));
    connect(&m_answerBufferRelease, &QTimer::timeout, this, [this] { m_answerBuffer.clear(); });
}

void AdminService::closeAll()
{
    for (const QPointer<AdminConnection> &admin : std::as_const(m_admins)) {
        if (admin)
            admin->close(Protocol::CloseShutdown, QStringLiteral("orchestrator shutting down"));
    }
}

void AdminService::attach(AdminConnection *connection)
{
    QString header = connection->requestHeader("Authorization").trimmed();
    const QString bearer = header.startsWith(u"Bearer ", Qt::CaseInsensitive) ? header.mid(7).trimmed()
                                                                              : QString();
    Error refusal;
    QString reason; // the metric's label
    if (bearer.isEmpty()) {
        reason = QStringLiteral("missing");
        refusal = makeError(QStringLiteral("unauthorized"),
                            Tr::tr("the admin endpoint needs the admin token"),
                            Tr::tr("pass --admin-token-file (or SWAMP_ADMIN_TOKEN); on the orchestrator's "
                                   "machine it is in admin.json"));
    } else if (parseToken(bearer)) {
        reason = QStringLiteral("worker_token");
        refusal = makeError(QStringLiteral("unauthorized"),
                            Tr::tr("that is a worker enrollment token; the admin endpoint accepts only the "
                                   "admin token"),
                            Tr::tr("use the adminToken from the orchestrator's admin.json"));
    } else if (!constantTimeEquals(bearer.toLatin1(), m_adminToken.toLatin1())) {
        reason = QStringLiteral("mismatch");
        refusal = makeError(QStringLiteral("unauthorized"), Tr::tr("the admin token does not match"),
                            Tr::tr("use the adminToken from the orchestrator's current admin.json "
                                   "(it changes only with 'swamp serve --rotate-admin-token')"));
    }
    if (!refusal.code.isEmpty()) {
        // Counted always, logged as digested events (the first per address and minute, then a
        // summary), throttled per address: past ten a minute a wrong token gets no answer at all,
        // the connection is dropped at once. A correct token was accepted above, throttled or not.
        const QString address = connection->peerAddress();
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        const bool throttled = m_throttle.isThrottled(address, now);
        m_throttle.record(address, now);
        m_metrics->countAdminAuthFailure(throttled ? QStringLiteral("rate_limited") : reason);
        if (m_refusals.admit(AddressThrottle::keyOf(address), now)) {
            m_events->append(QStringLiteral("admin.refused"), QString(),
                             Tr::tr("admin connection refused from %1: %2").arg(address, refusal.message),
                             {{QStringLiteral("address"), address}, {QStringLiteral("reason"), reason}});
        }
        connect(connection, &PeerConnection::closed, this, [this, connection] { m_release(connection); });
        if (throttled) {
            connection->abort();
            return;
        }
        connection->sendError(refusal);
        connection->close(Protocol::CloseUnauthorized, QStringLiteral("unauthorized"));
        return;
    }
    connection->authenticate();
    QString clientName = connection->requestHeader("User-Agent");
    clientName.removeIf([](QChar c) { return c.unicode() < 0x20 || c.unicode() > 0x7e; });
    connection->clientName = clientName.trimmed().left(200);
    m_admins << connection;
    connect(connection, &PeerConnection::frameReceived, this,
            [this, connection](const QJsonObject &frame) {
                handleFrame(connection, frame);
                m_commits->sealEarlyIfDue();
            });
    connect(connection, &PeerConnection::closed, this, [this, connection] {
        m_admins.removeAll(connection);
        m_followers->forget(connection);
        m_release(connection);
    });
}

void AdminService::handleFrame(AdminConnection *connection, const QJsonObject &frame)
{
    const QString requestId = frame.value(QStringLiteral("id")).toString();
    const QString method = frame.value(QStringLiteral("type")).toString();
    if (requestId.isEmpty() || characterCount(requestId) > 64) {
        connection->reject(QStringLiteral("missing_id"), QStringLiteral("admin requests need an \"id\""));
        return;
    }
    const QJsonObject params = frame.value(QStringLiteral("params")).toObject();
    // The reply's frame up to its result, which follows as JSON text.
    JsonObjectWriter head(256 + requestId.size() * 6);
    head.add("type"_L1, Protocol::Type::Result).add("id"_L1, requestId);
    QByteArray reply = head.finish();
    reply.chop(1); // the closing brace: the result comes first
    reply += ",\"result\":";
    Result<QByteArray> result; // the reply with its result
    const bool query = method == u"data.query";
    if (query) {
        // Up to 100,000s of records (tens of MB): written as text, straight into the reply, in
        // the last large answer's buffer when it has been sent.
        QByteArray buffer = m_answerBuffer.take();
        buffer += reply;
        result = m_query->dataQuery(params, std::move(buffer));
    } else if (method == u"run.submit") {
        // The hot request: written as text, never built as an object.
        result = submitRun(params);
        if (result)
            result->prepend(reply);
    } else if (auto object = call(connection, method, params)) {
        result = reply + QJsonDocument(*object).toJson(QJsonDocument::Compact);
    } else {
        result = fail(object.error());
    }
    if (!result) {
        connection->sendError(result.error(), requestId);
        return;
    }
    *result += '}';
    if (query && m_answerBuffer.keep(*result)) // (shared while it is sent)
        m_answerBufferRelease.start();
    connection->sendEncoded(std::move(*result));
}

Result<QJsonObject> AdminService::call(AdminConnection *connection, const QString &method,
                                            const QJsonObject &typedParams)
{
    // A step, run or lease id as typed (a prefix, the short id) becomes the whole id first.
    const auto resolved = withResolvedId(method, typedParams);
    if (!resolved)
        return fail(resolved.error());
    const QJsonObject &params = *resolved;
    if (method == u"version") {
        return QJsonObject{{QStringLiteral("version"), Swamp::version()},
                           {QStringLiteral("protocol"), Swamp::protocolVersion()},
                           {QStringLiteral("qt"), QString::fromLatin1(qVersion())}};
    }
    if (method == u"worker.list")
        return listWorkers(params);
    if (method == u"worker.show")
        return showWorker(params);
    if (method == u"worker.pause" || method == u"worker.resume")
        return pauseWorker(connection, params, method == u"worker.pause");
    if (method == u"worker.label")
        return labelWorker(connection, params);
    if (method == u"worker.remove")
        return removeWorker(connection, params);
    if (method == u"token.create")
        return createToken(connection, params);
    if (method == u"token.list")
        return listTokens();
    if (method == u"token.revoke")
        return revokeToken(connection, params);
    if (method == u"token.extend")
        return extendToken(connection, params);
    if (method == u"events.subscribe")
        return subscribe(connection, params);
    if (method == u"run.status")
        return runStatus(params);
    if (method == u"run.logs")
        return runLogs(params);
    if (method == u"run.follow")
        return followStep(connection, params);
    if (method == u"run.cancel")
        return cancelRun(params);
    if (method == u"run.unfollow") {
        const QString stepId = params.value(QStringLiteral("id")).toString();
        m_followers->unfollow(connection, stepId);
        return QJsonObject{{QStringLiteral("id"), stepId}};
    }
    if (method == u"worker.queue")
        return workerQueue();
    if (method == u"worker.drain")
        return drainWorker(params, true);
    if (method == u"worker.undrain")
        return drainWorker(params, false);
    if (method == u"worker.prune")
        return pruneWorkers(connection, params);
    return fail(QStringLiteral("unknown_method"), Tr::tr("unknown admin request \"%1\"").arg(method),
                Tr::tr("run the same swamp version on the client and the orchestrator"));
}

Result<QJsonObject> AdminService::listWorkers(const QJsonObject &params)
{
    const bool all = params.value(QStringLiteral("all")).toBool();
    auto filter = WorkerFilter::fromParams(params);
    if (!filter)
        return fail(filter.error());
    auto workers = m_view->currentWorkers();
    if (!workers)
        return fail(workers.error());
    QJsonArray list;
    int hidden = 0;
    for (const WorkerRecord &record : std::as_const(*workers)) {
        if (!filter->matches(record))
            continue;
        const bool gone = record.status == WorkerStatus::Disconnected || record.status == WorkerStatus::Lost;
        if (gone && !all && filter->status.isEmpty()) {
            ++hidden;
            continue;
        }
        list << record.toJson();
    }
    QJsonObject result{{QStringLiteral("workers"), list},
                       {QStringLiteral("count"), list.size()},
                       {QStringLiteral("hidden"), hidden}};
    if (shared()) {
        // The fleet: every orchestrator that shares this database, alive or not.
        result.insert(QStringLiteral("fleet"), true);
        // Not read, it is not said: an empty list would tell the operator (or a script waiting
        // for a verdict) that none is alive.
        auto known = m_store->orchestrators();
        if (!known)
            return fail(known.error());
        QJsonArray orchestrators;
        for (const auto &o : std::as_const(*known)) {
            if (o.state == u"alive")
                orchestrators << o.toJson();
        }
        result.insert(QStringLiteral("orchestrators"), orchestrators);
    }
    return result;
}

Result<QJsonObject> AdminService::createToken(AdminConnection *connection, const QJsonObject &params)
{
    auto request = tokenRequest(params, 24LL * 3600 * 1000);
    if (!request)
        return fail(request.error());
    const auto &[name, reason, durationMs] = *request;
    const qint64 maxEnrollments = params.value(QStringLiteral("maxEnrollments")).toInteger(1);
    if (maxEnrollments < 0 || maxEnrollments > 1000000) {
        return fail(QStringLiteral("invalid_max_enrollments"),
                    Tr::tr("--max-enrollments must be a whole number from 1 to 1000000, or unlimited"),
                    Tr::tr("for example --max-enrollments 10"));
    }
    Labels labels;
    const QJsonObject labelObject = params.value(QStringLiteral("labels")).toObject();
    for (auto it = labelObject.begin(); it != labelObject.end(); ++it) {
        auto label = parseLabel(it.key() + u'=' + it.value().toString());
        if (!label)
            return fail(label.error());
        labels.insert(label->first, label->second);
    }
    const QDateTime now = QDateTime::currentDateTimeUtc();
    auto existing = m_store->tokensNamed(name);
    if (!existing)
        return fail(existing.error());
    for (const TokenRecord &token : std::as_const(*existing)) {
        if (token.isLive(now)) {
            return fail(QStringLiteral("token_exists"),
                        Tr::tr("enrollment token '%1' already exists").arg(name),
                        Tr::tr("revoke it or pick another name"));
        }
    }
    const TokenText text = mintToken(name);
    TokenRecord token;
    token.id = QUuid::createUuid().toString(QUuid::WithoutBraces);
    token.name = name;
    token.secretHash = hashSecret(text.secret);
    token.createdAt = now;
    token.updatedAt = now;
    token.expiresAt = now.addMSecs(durationMs);
    token.maxEnrollments = int(maxEnrollments);
    token.labels = labels;
    AuditRecord audit = auditRecord(connection, QStringLiteral("token.create"), now);
    audit.tokenId = token.id;
    audit.tokenName = token.name;
    audit.reason = reason;
    auto inserted = audited(audit, [&] { return m_store->insertToken(token); });
    if (!inserted)
        return fail(inserted.error());
    m_events->append(QStringLiteral("token.created"), name,
                     Tr::tr("enrollment token '%1' created (expires %2, %3 enrollment(s))")
                         .arg(name, isoUtc(token.expiresAt),
                              maxEnrollments == 0 ? QStringLiteral("unlimited") : QString::number(maxEnrollments)),
                     {{QStringLiteral("tokenId"), token.id}});
    QJsonObject result = StateView::tokenJson(token, now, {audit});
    result.insert(QStringLiteral("token"), QString(text.name + u'.' + text.secret));
    // What the deploy snippets and `token create` put in `swamp worker connect`.
    result.insert(QStringLiteral("workerUrl"), m_workerUrls.value(0));
    result.insert(QStringLiteral("workerUrls"), QJsonArray::fromStringList(m_workerUrls));
    return result;
}

Result<QJsonObject> AdminService::listTokens()
{
    auto live = liveWorkersByToken();
    if (!live)
        return fail(live.error());
    QJsonArray list;
    auto listed = m_view->forEachTokenJson(QDateTime::currentDateTimeUtc(),
                                   [&](const TokenRecord &token, QJsonObject json) {
                                       // Workers count by token name: a revoked record of that
                                       // name cut its own off, those connected belong to another.
                                       const bool revoked = token.revokedAt.isValid();
                                       json.insert(QStringLiteral("liveWorkers"), revoked ? 0 : live->value(token.name));
                                       list << json;
                                   });
    if (!listed)
        return fail(listed.error());
    return QJsonObject{{QStringLiteral("tokens"), list}, {QStringLiteral("count"), list.size()}};
}

Result<QJsonObject> AdminService::revokeToken(AdminConnection *connection, const QJsonObject &params)
{
    const QString name = params.value(QStringLiteral("name")).toString();
    const QString reason = params.value(QStringLiteral("reason")).toString();
    if (auto valid = validateReason(reason); !valid)
        return fail(valid.error());
    auto tokens = m_store->tokensNamed(name);
    if (!tokens)
        return fail(tokens.error());
    if (tokens->isEmpty()) {
        return fail(QStringLiteral("token_not_found"),
                    Tr::tr("enrollment token '%1' not found").arg(name),
                    Tr::tr("see 'swamp worker token list'"));
    }
    const QDateTime now = QDateTime::currentDateTimeUtc();
    bool revokedNow = false;
    for (const TokenRecord &token : std::as_const(*tokens)) {
        if (!token.revokedAt.isValid() && token.effectiveState(now) != TokenState::Expired) {
            AuditRecord audit = auditRecord(connection, QStringLiteral("token.revoke"), now);
            audit.tokenId = token.id;
            audit.tokenName = token.name;
            audit.reason = reason;
            auto revoked = audited(audit, [&] { return m_store->revokeToken(token.id, now, reason); });
            if (!revoked)
                return fail(revoked.error());
            revokedNow = true;
        }
    }
    // Cut off every live worker on the token at once, here and on every other orchestrator.
    QJsonArray disconnected = m_sessions->cutOffToken(name);
    if (shared()) {
        if (auto elsewhere = m_store->liveWorkersOnTokenElsewhere(name, m_fleet->id())) {
            for (const QString &worker : std::as_const(*elsewhere))
                disconnected << worker;
        }
        m_fleet->notify(QStringLiteral("revoke"), {{QStringLiteral("name"), name}});
    }
    if (revokedNow) {
        m_events->append(QStringLiteral("token.revoked"), name,
                         reason.isEmpty() ? Tr::tr("enrollment token '%1' revoked").arg(name)
                                          : Tr::tr("enrollment token '%1' revoked: %2").arg(name, reason),
                         {{QStringLiteral("disconnected"), disconnected},
                          {QStringLiteral("reason"), reason}});
    }
    return QJsonObject{{QStringLiteral("name"), name},
                       {QStringLiteral("alreadyRevoked"), !revokedNow},
                       {QStringLiteral("disconnected"), disconnected}};
}

// The `event` frame, written as text: the event's data is already JSON text (Event::dataJson).
static QByteArray eventFrame(const Event &event)
{
    return JsonObjectWriter().add("type"_L1, Protocol::Type::Event).addRaw("event"_L1, event.toJsonText()).finish();
}

Result<QJsonObject> AdminService::subscribe(AdminConnection *connection, const QJsonObject &params)
{
    const qint64 after = params.value(QStringLiteral("after")).toInteger(-1);
    // After the response: replay what the client missed, then stream live events
    // (broadcastEvent). One thread, so nothing can slip in between the two.
    QTimer::singleShot(0, connection, [this, connection, after] {
        if (after >= 0) {
            for (const Event &event : m_events->since(after))
                connection->sendEncoded(eventFrame(event));
        }
        connection->subscribed = true;
    });
    return QJsonObject{{QStringLiteral("lastId"), m_events->lastId()}};
}

void AdminService::reportRefusals(qint64 nowMs)
{
    const QString window = formatDurationMs(m_refusals.windowMs());
    for (const RefusalDigest::Summary &summary : m_refusals.takeSummaries(nowMs)) {
        const QString message =
            summary.key.isEmpty()
                ? Tr::tr("%n more admin connection(s) refused in the last %1 from %2 other address(es)", nullptr,
                         summary.count)
                      .arg(window)
                      .arg(summary.keys)
                : Tr::tr("%n more admin connection(s) refused from %1 in the last %2", nullptr, summary.count)
                      .arg(summary.key, window);
        m_events->append(QStringLiteral("admin.refused"), QString(), message,
                         {{QStringLiteral("address"), summary.key.isEmpty() ? QJsonValue() : QJsonValue(summary.key)},
                          {QStringLiteral("count"), summary.count},
                          {QStringLiteral("addresses"), summary.keys}});
    }
    m_throttle.prune(nowMs);
}

void AdminService::broadcast(const Event &event)
{
    QByteArray frame; // built for the first subscriber (several events per step)
    for (const QPointer<AdminConnection> &admin : std::as_const(m_admins)) {
        if (!admin || !admin->subscribed)
            continue;
        if (frame.isEmpty())
            frame = eventFrame(event);
        admin->sendEncoded(frame);
    }
}

} // namespace Swamp
