// token.extend and what the token requests share: a token's lifetime and its connected workers.
#include "server/adminservice.h"

#include "common/duration.h"
#include "model/audit.h"
#include "model/worker.h"
#include "server/eventlog.h"
#include "server/fleet.h"
#include "server/sessions.h"
#include "server/stateview.h"
#include "store/store.h"

#include <QJsonArray>

namespace Swamp {

Result<void> AdminService::checkTokenLifetime(qint64 durationMs)
{
    if (durationMs > 0 && durationMs <= MaxTokenLifetimeMs)
        return {};
    return fail(QStringLiteral("invalid_duration"),
                Tr::tr("a token's duration must be more than 0 and at most 365d"),
                Tr::tr("pass --duration with a number and a unit: 45s, 30m, 24h, 7d, 2w"));
}

Result<QHash<QString, qint64>> AdminService::liveWorkersByToken() const
{
    auto workers = m_view->currentWorkers();
    if (!workers)
        return fail(workers.error());
    QHash<QString, qint64> live;
    for (const WorkerRecord &worker : std::as_const(*workers)) {
        if (worker.status != WorkerStatus::Disconnected && worker.status != WorkerStatus::Lost)
            ++live[worker.tokenName];
    }
    return live;
}

Result<AdminService::TokenRequest> AdminService::tokenRequest(const QJsonObject &params, qint64 defaultMs)
{
    TokenRequest request{params.value(QStringLiteral("name")).toString(),
                         params.value(QStringLiteral("reason")).toString(),
                         params.value(QStringLiteral("durationMs")).toInteger(defaultMs)};
    if (auto valid = validateTokenName(request.name); !valid)
        return fail(valid.error());
    if (auto valid = validateReason(request.reason); !valid)
        return fail(valid.error());
    if (auto valid = checkTokenLifetime(request.durationMs); !valid)
        return fail(valid.error());
    return request;
}

// The newest record of that name is the one extended: the live token, or (none live) the one
// that expired last, so that a fleet stopped by its token's expiry can be brought back. A revoked
// token stays revoked: a leaked secret must not come back to life.
Result<QJsonObject> AdminService::extendToken(AdminConnection *connection, const QJsonObject &params)
{
    auto request = tokenRequest(params, 0);
    if (!request)
        return fail(request.error());
    const auto &[name, reason, durationMs] = *request;
    auto tokens = m_store->tokensNamed(name);
    if (!tokens)
        return fail(tokens.error());
    if (tokens->isEmpty()) {
        return fail(QStringLiteral("token_not_found"), Tr::tr("enrollment token '%1' not found").arg(name),
                    Tr::tr("see 'swamp worker token list'"));
    }
    TokenRecord token = tokens->first(); // newest first
    if (token.revokedAt.isValid()) {
        return fail(QStringLiteral("token_revoked"),
                    Tr::tr("enrollment token '%1' was revoked at %2 and cannot be extended").arg(name, isoUtc(token.revokedAt)),
                    Tr::tr("create a new token with 'swamp worker token create %1'").arg(name));
    }
    const QDateTime now = QDateTime::currentDateTimeUtc();
    const QDateTime previous = token.expiresAt;
    token.expiresAt = now.addMSecs(durationMs);
    token.updatedAt = now;
    AuditRecord audit = auditRecord(connection, QStringLiteral("token.extend"), now);
    audit.tokenId = token.id;
    audit.tokenName = token.name;
    audit.reason = reason;
    auto extended = audited(audit, [&] { return m_store->extendToken(token.id, token.expiresAt, now); });
    if (!extended)
        return fail(extended.error());
    // Every live session on the token lasts until the new expiry, here and on every orchestrator.
    QJsonArray workers = m_sessions->extendToken(name, token.expiresAt);
    if (shared()) {
        if (auto elsewhere = m_store->liveWorkersOnTokenElsewhere(name, m_fleet->id())) {
            for (const QString &worker : std::as_const(*elsewhere))
                workers << worker;
        }
        m_fleet->notify(QStringLiteral("extend"),
                        {{QStringLiteral("name"), name}, {QStringLiteral("expiresAt"), isoUtc(token.expiresAt)}});
    }
    m_events->append(QStringLiteral("token.extended"), name,
                     Tr::tr("enrollment token '%1' extended: expires %2 (was %3)")
                         .arg(name, isoUtc(token.expiresAt), isoUtc(previous)),
                     {{QStringLiteral("tokenId"), token.id},
                      {QStringLiteral("expiresAt"), isoUtc(token.expiresAt)},
                      {QStringLiteral("previousExpiresAt"), isoUtc(previous)},
                      {QStringLiteral("workers"), workers},
                      {QStringLiteral("reason"), reason}});
    QJsonObject result = StateView::tokenJson(token, now, {audit});
    result.insert(QStringLiteral("previousExpiresAt"), isoUtc(previous));
    result.insert(QStringLiteral("workers"), workers);
    return result;
}

} // namespace Swamp
