#pragma once

#include <QDateTime>
#include <QJsonObject>
#include <QString>

namespace Swamp {

// One entry of the audit trail (docs/operations.md, "Audit"): which admin client did what to
// which enrollment token, or pruned which worker, when, from where and why. Written in the same
// transaction as the change itself; never removed by retention.
struct AuditRecord
{
    qint64 id = 0;
    QDateTime at;
    QString action; // "token.create", "token.revoke", "token.extend", "worker.prune"
    QString tokenId;
    QString tokenName;
    QString workerName; // "worker.prune" only
    QString adminKey;   // adminKeyFingerprint() of the admin token used, never the token
    QString client;     // the client's User-Agent, e.g. "swamp/0.1.0"; may be empty
    QString address;    // the client's address, e.g. "127.0.0.1"
    QString reason;     // as given by the operator; may be empty

    // The `swamp/audit-event` attributes: {action, at, tokenName, tokenId, workerName,
    // client: {name, adminKey}, address, reason}.
    QJsonObject toJson() const;
    // The entry listed under its token in `token.list`: {action, at, client: {name, adminKey},
    // address, reason}, plus workerName for "worker.prune".
    QJsonObject toTokenJson() const;
};

// "sha256:" and the first 16 hex digits of SHA-256(adminToken): tells admin tokens (and
// rotations) apart in the audit trail without revealing them.
QString adminKeyFingerprint(const QString &adminToken);

} // namespace Swamp
