#include "model/token.h"

#include "common/duration.h"
#include "common/text.h"
#include "model/errorcodes.h"

#include <QCryptographicHash>
#include <QRandomGenerator>
#include <QRegularExpression>

namespace Swamp {

static bool isName(const QString &name)
{
    static const QRegularExpression pattern(QStringLiteral("^[a-z0-9][a-z0-9-]{0,62}$"));
    return pattern.match(name).hasMatch();
}

static QString nameRule()
{
    return Tr::tr("use 1 to 63 lowercase letters, digits and '-', starting with a letter or digit");
}

Result<void> validateTokenName(const QString &name)
{
    if (!isName(name))
        return fail(QStringLiteral("invalid_token_name"), Tr::tr("invalid token name \"%1\"").arg(name), nameRule());
    return {};
}

Result<void> validateWorkerName(const QString &name)
{
    // Quoted shortened and printable: the text may be a stranger's (an enroll frame).
    if (!isName(name)) {
        return fail(QStringLiteral("invalid_worker_name"),
                    Tr::tr("invalid worker name \"%1\"").arg(printable(name.left(64))), nameRule());
    }
    return {};
}

Result<qint64> parseTokenLifetime(const QString &text)
{
    const auto invalid = [&](const QString &why) {
        const QString quoted = Tr::tr("invalid duration \"%1\"").arg(printable(text.left(40)));
        return fail(QStringLiteral("invalid_duration"), why.isEmpty() ? quoted : quoted + u": " + why,
                    Tr::tr("use a number and a unit: 45s, 30m, 24h, 7d, 2w (from 1s to 365d)"));
    };
    const QString trimmed = text.trimmed();
    if (auto zero = parseDurationOrZeroMs(trimmed); zero && *zero == 0)
        return invalid(Tr::tr("a token must live longer than 0"));
    if (trimmed.startsWith(u'-'))
        return invalid(Tr::tr("a token's lifetime cannot be negative"));
    auto ms = parseDurationMs(trimmed);
    if (!ms)
        return invalid(QString());
    if (*ms > MaxTokenLifetimeMs)
        return invalid(Tr::tr("a token lives at most 365d"));
    return *ms;
}

QString tokenStopText(const QDateTime &at, const QDateTime &now)
{
    return Tr::tr("workers enrolled with it stop at %1 (%2)").arg(isoUtc(at), formatRelative(at, now));
}

QString tokenExpiryWarning(const QJsonObject &token, const QDateTime &now)
{
    const QString name = token.value(QStringLiteral("name")).toString();
    const qint64 workers = token.value(QStringLiteral("liveWorkers")).toInteger();
    const QDateTime expires = parseIsoUtc(token.value(QStringLiteral("expiresAt")).toString());
    const QString state = tokenStateNameAt(token.value(QStringLiteral("state")).toString(), expires, now);
    if (workers <= 0 || (state != u"unused" && state != u"enrolled") || !expires.isValid()
        || now.msecsTo(expires) > TokenExpiryWarningMs)
        return {};
    return Tr::tr("token '%1' expires %2 (%3): its %n connected worker(s) stop then — extend it with "
                  "'swamp worker token extend %1 --duration 30d'", nullptr, int(workers))
        .arg(name, formatRelative(expires, now), isoUtc(expires));
}

Result<void> validateReason(const QString &reason)
{
    if (characterCount(reason) <= MaxReasonLength)
        return {};
    return fail(QStringLiteral("invalid_reason"), Tr::tr("--reason: at most %1 characters").arg(MaxReasonLength),
                Tr::tr("shorten it: the reason is kept in the audit trail, details belong in a ticket"));
}

Result<TokenText> parseToken(const QString &text)
{
    static const QRegularExpression secretPattern(QStringLiteral("^[0-9a-f]{64}$"));
    const QString trimmed = text.trimmed();
    const qsizetype dot = trimmed.lastIndexOf(u'.');
    if (dot <= 0)
        return fail(Codes::invalidToken());
    TokenText token{trimmed.left(dot), trimmed.mid(dot + 1)};
    if (!validateTokenName(token.name) || !secretPattern.match(token.secret).hasMatch())
        return fail(Codes::invalidToken());
    return token;
}

TokenText mintToken(const QString &name)
{
    QByteArray bytes(32, Qt::Uninitialized);
    QRandomGenerator::system()->fillRange(reinterpret_cast<quint32 *>(bytes.data()), 8);
    return TokenText{name, QString::fromLatin1(bytes.toHex())};
}

QString hashSecret(const QString &secret)
{
    return QString::fromLatin1(
        QCryptographicHash::hash(secret.toLatin1(), QCryptographicHash::Sha256).toHex());
}

bool constantTimeEquals(const QByteArray &a, const QByteArray &b)
{
    if (a.size() != b.size())
        return false;
    unsigned char difference = 0;
    for (qsizetype i = 0; i < a.size(); ++i)
        difference |= static_cast<unsigned char>(a[i] ^ b[i]);
    return difference == 0;
}

bool verifySecret(const QString &secret, const QString &storedHash)
{
    return constantTimeEquals(hashSecret(secret).toLatin1(), storedHash.toLatin1());
}

QString tokenStateName(TokenState state)
{
    switch (state) {
    case TokenState::Unused: return QStringLiteral("unused");
    case TokenState::Enrolled: return QStringLiteral("enrolled");
    case TokenState::Expired: return QStringLiteral("expired");
    case TokenState::Revoked: return QStringLiteral("revoked");
    }
    return {};
}

QString tokenStateNameAt(const QString &reported, const QDateTime &expiresAt, const QDateTime &now)
{
    const bool live = reported == tokenStateName(TokenState::Unused) || reported == tokenStateName(TokenState::Enrolled);
    if (live && expiresAt.isValid() && now >= expiresAt)
        return tokenStateName(TokenState::Expired);
    return reported;
}

TokenState TokenRecord::effectiveState(const QDateTime &now) const
{
    if (revokedAt.isValid())
        return TokenState::Revoked;
    if (now >= expiresAt)
        return TokenState::Expired;
    if (!bindings.isEmpty())
        return TokenState::Enrolled;
    return TokenState::Unused;
}

bool TokenRecord::isLive(const QDateTime &now) const
{
    const TokenState state = effectiveState(now);
    return state == TokenState::Unused || state == TokenState::Enrolled;
}

bool TokenRecord::isBound(const QString &machineId) const
{
    return std::any_of(bindings.cbegin(), bindings.cend(),
                       [&](const TokenBinding &b) { return b.machineId == machineId; });
}

QString TokenRecord::enrollmentsText() const
{
    return QString::number(bindings.size()) + u'/'
           + (maxEnrollments == 0 ? QStringLiteral("unlimited") : QString::number(maxEnrollments));
}

QString machineIdSuffix(const QString &machineId)
{
    return QString::fromLatin1(
        QCryptographicHash::hash(machineId.toUtf8(), QCryptographicHash::Sha256).toHex().left(8));
}

QString workerNameFor(const TokenRecord &token, const QString &machineId)
{
    if (token.maxEnrollments == 1)
        return token.name;
    return token.name + u'-' + machineIdSuffix(machineId);
}

} // namespace Swamp
