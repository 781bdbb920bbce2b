// Enrollment tokens and their bindings (tables enrollment_tokens, token_bindings).
#include "store/store.h"
#include "store/columns_p.h"

#include <QSqlError>

namespace Swamp {

Result<void> Store::insertToken(const TokenRecord &t)
{
    return execute(QStringLiteral("INSERT INTO enrollment_tokens (id, name, secret_hash, created_at, "
                               "expires_at, max_enrollments, labels, revoked_at, revoke_reason, "
                               "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                {t.id, t.name, t.secretHash, toMs(t.createdAt), toMs(t.expiresAt), t.maxEnrollments,
                 labelsText(t.labels), toMsOrNull(t.revokedAt),
                 t.revokeReason.isEmpty() ? QVariant(QMetaType::fromType<QString>()) : QVariant(t.revokeReason),
                 toMs(t.updatedAt)})
        ;
}

Result<QList<TokenRecord>> Store::loadTokens(const QString &sql, const QVariantList &values, bool withBindings)
{
    QList<TokenRecord> tokens;
    QHash<QString, qsizetype> indexById;
    auto read = select(sql, values, [&](const QSqlQuery &query) {
        TokenRecord t;
        t.id = query.value(0).toString();
        t.name = query.value(1).toString();
        t.secretHash = query.value(2).toString();
        t.createdAt = fromMs(query.value(3));
        t.expiresAt = fromMs(query.value(4));
        t.maxEnrollments = query.value(5).toInt();
        t.labels = labelsFromText(query.value(6).toString());
        t.revokedAt = fromMs(query.value(7));
        t.revokeReason = query.value(8).toString();
        t.updatedAt = fromMs(query.value(9));
        indexById.insert(t.id, tokens.size());
        tokens << t;
    });
    if (!read)
        return fail(read.error());
    if (tokens.isEmpty() || !withBindings)
        return tokens;
    // Bindings of the loaded tokens, in one query.
    QStringList placeholders;
    QVariantList ids;
    for (const TokenRecord &t : std::as_const(tokens)) {
        placeholders << QStringLiteral("?");
        ids << t.id;
    }
    auto bindings = exec(QStringLiteral("SELECT token_id, machine_id, worker_name, enrolled_at FROM "
                                        "token_bindings WHERE token_id IN (%1) ORDER BY enrolled_at")
                             .arg(placeholders.join(u',')),
                         ids);
    if (!bindings)
        return fail(bindings.error());
    while (bindings->next()) {
        const qsizetype index = indexById.value(bindings->value(0).toString(), -1);
        if (index >= 0) {
            tokens[index].bindings << TokenBinding{bindings->value(1).toString(),
                                                   bindings->value(2).toString(),
                                                   fromMs(bindings->value(3))};
        }
    }
    return tokens;
}

static const char TokenColumns[] = "SELECT id, name, secret_hash, created_at, expires_at, "
                                   "max_enrollments, labels, revoked_at, revoke_reason, updated_at "
                                   "FROM enrollment_tokens ";

Result<QList<TokenRecord>> Store::tokensNamed(const QString &name, bool withBindings)
{
    return loadTokens(QString::fromLatin1(TokenColumns) + QStringLiteral("WHERE name = ? ORDER BY created_at DESC, id DESC"),
                      {name}, withBindings);
}

Result<std::optional<TokenBinding>> Store::binding(const QString &tokenId, const QString &machineId)
{
    std::optional<TokenBinding> found;
    auto read = select(QStringLiteral("SELECT machine_id, worker_name, enrolled_at, key_hash FROM "
                                      "token_bindings WHERE token_id = ? AND machine_id = ?"),
                       {tokenId, machineId}, [&](const QSqlQuery &query) {
                           found = TokenBinding{query.value(0).toString(), query.value(1).toString(),
                                                fromMs(query.value(2)), query.value(3).toString()};
                       });
    if (!read)
        return fail(read.error());
    return found;
}

Result<qint64> Store::bindingCount(const QString &tokenId)
{
    auto query = exec(QStringLiteral("SELECT COUNT(*) FROM token_bindings WHERE token_id = ?"), {tokenId});
    if (!query)
        return fail(query.error());
    return query->next() ? query->value(0).toLongLong() : 0;
}

Result<QList<TokenRecord>> Store::allTokens()
{
    return loadTokens(QString::fromLatin1(TokenColumns) + QStringLiteral("ORDER BY created_at, id"), {});
}

Result<void> Store::revokeToken(const QString &tokenId, const QDateTime &at, const QString &reason)
{
    return execute(QStringLiteral("UPDATE enrollment_tokens SET revoked_at = ?, revoke_reason = ?, "
                               "updated_at = ? WHERE id = ? AND revoked_at IS NULL"),
                {toMs(at), reason, toMs(at), tokenId})
        ;
}

Result<void> Store::extendToken(const QString &tokenId, const QDateTime &expiresAt, const QDateTime &at)
{
    return execute(QStringLiteral("UPDATE enrollment_tokens SET expires_at = ?, updated_at = ? WHERE id = ? "
                                  "AND revoked_at IS NULL"),
                   {toMs(expiresAt), toMs(at), tokenId});
}

Result<void> Store::insertBinding(const QString &tokenId, const TokenBinding &b)
{
    return execute(QStringLiteral("INSERT INTO token_bindings (token_id, machine_id, worker_name, "
                                  "enrolled_at, key_hash) VALUES (?, ?, ?, ?, ?)"),
                   {tokenId, b.machineId, b.workerName, toMs(b.enrolledAt),
                    b.keyHash.isEmpty() ? QStringLiteral("") : b.keyHash}); // never NULL
}

Result<void> Store::setBindingKey(const QString &tokenId, const QString &machineId, const QString &keyHash)
{
    return execute(QStringLiteral("UPDATE token_bindings SET key_hash = ? WHERE token_id = ? AND machine_id = ? "
                                  "AND key_hash = ''"),
                   {keyHash, tokenId, machineId});
}

} // namespace Swamp
