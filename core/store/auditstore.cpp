// The audit trail: records of admin actions on tokens and pruned workers (table audit_events).
#include "store/store.h"

namespace Swamp {

namespace {
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
