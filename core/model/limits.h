#pragma once

// The limits of the model that more than one side enforces: the orchestrator when it accepts a
// step or a token, the worker when it runs one, the CLI when it checks an operator's input.
// Limits of the wire itself (frame sizes) live in protocol/protocol.h.

#include <QtGlobal>

namespace Swamp {

// The longest an enrollment token may live (`--ttl`): one year.
inline constexpr qint64 MaxTokenLifetimeMs = 365LL * 24 * 3600 * 1000;

// An operator's `--reason` (token create/revoke), kept in the audit trail: at most this many
// characters (code points, as every length on the wire).
inline constexpr qsizetype MaxReasonLength = 500;

// At most this many --secret-env variables per step, of at most MaxSecretValueBytes each.
inline constexpr int MaxSecretVariables = 32;
inline constexpr qsizetype MaxSecretValueBytes = 64 * 1024;

// A step runs at most this many times (`--attempts`, "attempts").
inline constexpr int MaxStepAttempts = 100;

// The most output a step keeps (bytes); beyond it one truncation marker is stored.
inline constexpr qint64 MaxStepOutputBytes = 4 * 1024 * 1024;

} // namespace Swamp
