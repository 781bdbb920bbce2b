#pragma once

#include "common/labels.h"
#include "common/result.h"
#include "model/limits.h"

#include <QDateTime>
#include <QList>
#include <QString>

namespace Swamp {

// An enrollment token as given to a worker: "<name>.<secret>", the secret 64 lowercase hex
// characters (32 random bytes). Only SHA-256(secret) is ever stored.
struct TokenText
{
    QString name;
    QString secret;
};

// `[a-z0-9][a-z0-9-]{0,62}`. Error "invalid_token_name".
Result<void> validateTokenName(const QString &name);

// An operator's reason for a token change: at most MaxReasonLength characters. Error
// "invalid_reason" ("--reason: at most 500 characters"); checked by the CLI before it sends and by
// the orchestrator, which used to cut a longer one short without a word.
Result<void> validateReason(const QString &reason);

// Splits "<name>.<secret>"; anything else is Codes::invalidToken().
Result<TokenText> parseToken(const QString &text);

// A fresh secret (64 hex) for a token of that name.
TokenText mintToken(const QString &name);

// Lowercase hex SHA-256 of the secret.
QString hashSecret(const QString &secret);

// Constant-time comparison of hex digests (time depends only on the length).
bool constantTimeEquals(const QByteArray &a, const QByteArray &b);
bool verifySecret(const QString &secret, const QString &storedHash);

enum class TokenState { Unused, Enrolled, Expired, Revoked };
QString tokenStateName(TokenState state);
// The state a token was reported in earlier (token.list's "state"), as it stands at `now`: an
// unused or enrolled token whose expiry has passed is expired by now. A name that is not a token
// state is returned as it is.
QString tokenStateNameAt(const QString &reported, const QDateTime &expiresAt, const QDateTime &now);

struct TokenBinding
{
    QString machineId;
    QString workerName;
    QDateTime enrolledAt;
    QString keyHash; // SHA-256 (hex) of the machine's key; empty: bound before machine keys
};

struct TokenRecord
{
    QString id;
    QString name;
    QString secretHash;
    QDateTime createdAt;
    QDateTime expiresAt;
    int maxEnrollments = 1; // 0 = unlimited
    Labels labels;
    QDateTime revokedAt;
    QString revokeReason;
    QDateTime updatedAt;
    QList<TokenBinding> bindings;

    // revoked > expired (now ≥ expiresAt) > enrolled (≥ 1 binding) > unused.
    TokenState effectiveState(const QDateTime &now) const;
    bool isLive(const QDateTime &now) const;
    bool isBound(const QString &machineId) const;
    // "1/1", "2/unlimited"
    QString enrollmentsText() const;
};

// The worker name for a machine enrolled on a token: the token name when it allows one
// enrollment, else "<token>-<first 8 hex of SHA-256(machine-id)>".
QString workerNameFor(const TokenRecord &token, const QString &machineId);

// First 8 hex characters of SHA-256(machine id): the suffix of multi-enrollment worker names.
QString machineIdSuffix(const QString &machineId);

} // namespace Swamp
