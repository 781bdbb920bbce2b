#include "model/audit.h"

#include "common/duration.h"

#include <QCryptographicHash>

namespace Swamp {

namespace {
QJsonValue textOrNull(const QString &text)
{
    return text.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(text);
}
} // namespace

QJsonObject AuditRecord::toJson() const
{
    return QJsonObject{
        {QStringLiteral("action"), action},
        {QStringLiteral("at"), isoUtc(at)},
        {QStringLiteral("tokenName"), textOrNull(tokenName)},
        {QStringLiteral("tokenId"), textOrNull(tokenId)},
        {QStringLiteral("workerName"), textOrNull(workerName)},
        {QStringLiteral("client"),
         QJsonObject{{QStringLiteral("name"), client}, {QStringLiteral("adminKey"), adminKey}}},
        {QStringLiteral("address"), address},
        {QStringLiteral("reason"), reason},
    };
}

QJsonObject AuditRecord::toTokenJson() const
{
    QJsonObject json{
        {QStringLiteral("action"), action},
        {QStringLiteral("at"), isoUtc(at)},
        {QStringLiteral("client"),
         QJsonObject{{QStringLiteral("name"), client}, {QStringLiteral("adminKey"), adminKey}}},
        {QStringLiteral("address"), address},
        {QStringLiteral("reason"), reason},
    };
    if (!workerName.isEmpty())
        json.insert(QStringLiteral("workerName"), workerName);
    return json;
}

QString adminKeyFingerprint(const QString &adminToken)
{
    const QByteArray digest =
        QCryptographicHash::hash(adminToken.toUtf8(), QCryptographicHash::Sha256);
    return QStringLiteral("sha256:") + QString::fromLatin1(digest.toHex().left(16));
}

} // namespace Swamp
