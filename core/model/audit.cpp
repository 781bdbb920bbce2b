// The audit trail: records of admin actions on tokens and pruned workers (table audit_events).
#include "store/audit.h"

#include "common/duration.h"
#include "store/store.h"

#include <QCryptographicHash>

namespace Swamp {

namespace {
QJsonValue textOrNull(const QString &text)
{
    return text.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(text);
}

QVariant nullable(const QString &text)
{
    return text.isEmpty() ? QVariant(QMetaType::fromType<QString>()) : QVariant(text);
}

// For NOT NULL text columns: a null QString would bind as NULL.
QString notNull(const QString &text)
{
    return text.isNull() ? QStringLiteral("") : text;
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

Result<qint64> Store::insertAudit(const AuditRecord &r)
{
    const QString columns =
        QStringLiteral("INSERT INTO audit_events (at, action, token_id, token_name, "
                       "worker_name, admin_key, client, address, reason) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    const QString sql =
        m_dialect == Dialect::Postgres ? columns + QStringLiteral(" RETURNING id") : columns;
    auto query = exec(sql, {toMs(r.at), r.action, nullable(r.tokenId), nullable(r.tokenName),
                            nullable(r.workerName), notNull(r.adminKey), notNull(r.client),
                            notNull(r.address), notNull(r.reason)});
    if (!query)
        return fail(query.error());
    if (m_dialect == Dialect::Postgres && query->next())
        return query->value(0).toLongLong();
    return query->lastInsertId().toLongLong();
}

Result<QList<AuditRecord>> Store::auditRecords(const QString &whereSql,
                                               const QVariantList &bindings)
{
    auto query =
        exec(QStringLiteral("SELECT id, at, action, token_id, token_name, worker_name, admin_key, "
                            "client, address, reason FROM audit_events ") +
                 whereSql + QStringLiteral(" ORDER BY id"),
             bindings);
    if (!query)
        return fail(query.error());
    QList<AuditRecord> records;
    while (query->next()) {
        records << AuditRecord{query->value(0).toLongLong(), fromMs(query->value(1)),
                               query->value(2).toString(),   query->value(3).toString(),
                               query->value(4).toString(),   query->value(5).toString(),
                               query->value(6).toString(),   query->value(7).toString(),
                               query->value(8).toString(),   query->value(9).toString()};
    }
    return records;
}

} // namespace Swamp
