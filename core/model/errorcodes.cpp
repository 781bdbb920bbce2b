#include "model/errorcodes.h"

#include "common/text.h"

#include <QSet>

namespace Swamp::Codes {

bool isPermanent(const QString &code)
{
    static const QSet<QString> permanent = {
        QStringLiteral("protocol_mismatch"), QStringLiteral("already_connected"),
        QStringLiteral("token_bound"),       QStringLiteral("token_expired"),
        QStringLiteral("token_revoked"),     QStringLiteral("token_mismatch"),
        QStringLiteral("token_not_found"),   QStringLiteral("invalid_token"),
        QStringLiteral("machine_key_mismatch"), QStringLiteral("invalid_enroll"),
        QStringLiteral("worker_name_taken"), QStringLiteral("worker_removed"),
    };
    return permanent.contains(code);
}

Error protocolMismatch(const QString &workerVersion, const QString &orchestratorVersion)
{
    return makeError(QStringLiteral("protocol_mismatch"),
                     Tr::tr("protocol_mismatch: this worker runs swamp %1 but the orchestrator "
                            "runs swamp %2")
                         .arg(workerVersion, orchestratorVersion),
                     Tr::tr("upgrade both to the same version"));
}

Error alreadyConnected(const QString &tokenName)
{
    return makeError(QStringLiteral("already_connected"),
                     Tr::tr("already_connected: a live worker with this machine identity is "
                            "already connected with enrollment token '%1'")
                         .arg(tokenName),
                     Tr::tr("check for duplicate worker processes; revoke and re-create the token"));
}

Error tokenBound(const QString &tokenName, int used, int max)
{
    return makeError(QStringLiteral("token_bound"),
                     Tr::tr("enrollment token '%1' is already bound to another machine (%2/%3 "
                            "enrollments used)")
                         .arg(tokenName)
                         .arg(used)
                         .arg(max),
                     Tr::tr("use a new token, or restore the original --cache-dir"));
}

QString tokenBoundWithoutCacheDirFix()
{
    return Tr::tr("this worker runs without --cache-dir, so each start is a new machine: free the old "
                  "enrollment with 'swamp worker prune' (once that worker is gone) or use a new token "
                  "('swamp worker token create'), and give the worker a --cache-dir so that it keeps "
                  "its identity");
}

Error tokenExpired(const QString &tokenName)
{
    return makeError(QStringLiteral("token_expired"),
                     Tr::tr("enrollment token '%1' has expired").arg(tokenName),
                     Tr::tr("create a new token with 'swamp worker token create'"));
}

Error tokenRevoked(const QString &tokenName)
{
    return makeError(QStringLiteral("token_revoked"),
                     Tr::tr("enrollment token '%1' has been revoked").arg(tokenName),
                     Tr::tr("create a new token with 'swamp worker token create'"));
}

Error tokenMismatch(const QString &tokenName)
{
    return makeError(QStringLiteral("token_mismatch"),
                     Tr::tr("the secret of enrollment token '%1' does not match").arg(tokenName),
                     Tr::tr("check the token for typos; create a new token if needed"));
}

Error tokenNotFound(const QString &tokenName)
{
    return makeError(QStringLiteral("token_not_found"),
                     Tr::tr("enrollment token '%1' does not exist").arg(tokenName),
                     Tr::tr("create it with 'swamp worker token create'"));
}

Error invalidToken()
{
    return makeError(QStringLiteral("invalid_token"),
                     Tr::tr("the token must have the form <name>.<secret>"),
                     Tr::tr("copy the whole token printed by 'swamp worker token create'"));
}

Error machineKeyMismatch(const QString &tokenName, const QString &machineSuffix)
{
    return makeError(QStringLiteral("machine_key_mismatch"),
                     Tr::tr("machine %1 is enrolled with enrollment token '%2' under another machine "
                            "key: this cache dir's machine-key does not belong to that machine")
                         .arg(machineSuffix, tokenName),
                     Tr::tr("restore the machine's original --cache-dir; if the machine is gone for good, "
                            "free its enrollment with 'swamp worker prune' and enroll again"));
}

Error workerNameTaken(const QString &name, const QString &otherMachineSuffix, const QString &otherStatus)
{
    return makeError(QStringLiteral("worker_name_taken"),
                     Tr::tr("worker name '%1' is taken by another machine's worker (machine %2, %3)")
                         .arg(name, otherMachineSuffix, otherStatus),
                     Tr::tr("give this worker another --name; if that worker is gone for good, free "
                            "its name with 'swamp worker remove %1' and connect again")
                         .arg(name));
}

Error workerRemoved(const QString &name, const QString &reason)
{
    return makeError(QStringLiteral("worker_removed"),
                     reason.isEmpty() ? Tr::tr("worker %1 was removed by an operator").arg(name)
                                      : Tr::tr("worker %1 was removed by an operator: %2").arg(name, reason),
                     Tr::tr("it does not reconnect; to bring it back, connect it again with an enrollment token"));
}

Error rateLimited(const QString &tokenName, int retryAfterSeconds)
{
    return makeError(QStringLiteral("rate_limited"),
                     Tr::tr("too many failed enrollment attempts from this address (the last one for "
                            "enrollment token '%1')")
                         .arg(tokenName),
                     Tr::tr("wait %1s; check the token for typos").arg(retryAfterSeconds));
}

QString enrollmentFailureLine(const Error &error)
{
    return Tr::tr("enrollment failed: %1").arg(error.text());
}

QString sessionEndedLine(const Error &error)
{
    if (error.code == u"worker_removed")
        return error.text();
    const QString name = error.details.value(QStringLiteral("tokenName")).toString();
    if (error.code != u"token_expired" || name.isEmpty())
        return enrollmentFailureLine(error);
    const QString at = error.details.value(QStringLiteral("expiresAt")).toString();
    return Tr::tr("token '%1' expired at %2 and ended this worker's session — ask for a new token "
                  "('swamp worker token create'), or extend this one: swamp worker token extend %1 "
                  "--duration 30d")
        .arg(printable(name.left(63)), printable(at.left(40)));
}

} // namespace Swamp::Codes
