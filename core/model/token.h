#pragma once

#include "common/labels.h"
#include "common/result.h"
#include "model/limits.h"

#include <QDateTime>
#include <QJsonObject>
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

// A token's lifetime as given to `token create` / `token extend` --duration (and the console):
// more than 0, at most 365d. Error "invalid_duration" whose message quotes the text and says what
// is wrong with it (not a number and a unit, zero, negative, over a year); the fix names the
// accepted form. The CLI puts the flag in front.
Result<qint64> parseTokenLifetime(const QString &text);

// When the workers enrolled on a token stop (a token's expiry ends their sessions): "workers
// enrolled with it stop at 2026-12-06T07:00:00Z (in 24h)". `at` is the expiry.
QString tokenStopText(const QDateTime &at, const QDateTime &now);

// How long before a token's expiry `token list`, the console and the metric warn about the
// workers connected on it.
inline constexpr qint64 TokenExpiryWarningMs = 24LL * 3600 * 1000;

// The warning for a live token (unused or enrolled) with connected workers ("liveWorkers" > 0)
// that expires within TokenExpiryWarningMs; empty otherwise. `token` is an entry of token.list:
//   token 'ci' expires in 3h (2026-12-06T07:00:00Z): its 2 connected worker(s) stop then —
//   extend it with 'swamp worker token extend ci --duration 30d'
QString tokenExpiryWarning(const QJsonObject &token, const QDateTime &now);

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

// A worker name chosen with `swamp worker connect --name`: the rule of token names
// (`[a-z0-9][a-z0-9-]{0,62}`). Error "invalid_worker_name".
Result<void> validateWorkerName(const QString &name);

// The worker name for a machine enrolled on a token: the token name when it allows one
// enrollment, else "<token>-<first 8 hex of SHA-256(machine-id)>".
QString workerNameFor(const TokenRecord &token, const QString &machineId);

// First 8 hex characters of SHA-256(machine id): the suffix of multi-enrollment worker names.
QString machineIdSuffix(const QString &machineId);

} // namespace Swamp
