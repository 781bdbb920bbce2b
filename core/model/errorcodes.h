#pragma once

#include "common/error.h"

#include <QString>

// Error codes that cross the wire, their permanence, and the enrollment failures of SPEC §4
// with their operator-facing messages and fixes.
namespace Swamp::Codes {

// A permanent failure makes `swamp worker connect` print it and exit 1 (worker_removed: exit 3,
// which its systemd unit does not restart); anything else is retried with backoff. Decided by
// code, never by message text.
bool isPermanent(const QString &code);

Error protocolMismatch(const QString &workerVersion, const QString &orchestratorVersion);
Error alreadyConnected(const QString &tokenName);
Error tokenBound(const QString &tokenName, int used, int max);
// The fix of token_bound for a worker that ran without --cache-dir (a fresh machine identity on
// every start): there is no original cache dir to restore.
QString tokenBoundWithoutCacheDirFix();
Error tokenExpired(const QString &tokenName);
Error tokenRevoked(const QString &tokenName);
Error tokenMismatch(const QString &tokenName);
Error tokenNotFound(const QString &tokenName);
Error invalidToken();
// The machine id is bound to the token with another machine key (worker/machineidentity.h).
Error machineKeyMismatch(const QString &tokenName, const QString &machineSuffix);
// `worker connect --name NAME` where another machine's worker (connected or not) has that name.
Error workerNameTaken(const QString &name, const QString &otherMachineSuffix, const QString &otherStatus);
// `swamp worker remove`: the session ended, the worker's enrollment freed; `reason` may be empty.
Error workerRemoved(const QString &name, const QString &reason);
// Refused attempts from one address (never per token name: a stranger must not lock a token's
// workers out); a correct secret is never answered with it.
Error rateLimited(const QString &tokenName, int retryAfterSeconds);

// "enrollment failed: <message> — <fix>"
QString enrollmentFailureLine(const Error &error);
// A permanent error that ended an enrolled session (not a refused enrollment): for token_expired
//   token 'ci' expired at 2026-12-06T07:00:00Z and ended this worker's session — ask for a new
//   token ('swamp worker token create'), or extend this one: swamp worker token extend ci --duration 30d
// (details "tokenName", "expiresAt"); worker_removed as its text; any other error as
// enrollmentFailureLine().
QString sessionEndedLine(const Error &error);

} // namespace Swamp::Codes
