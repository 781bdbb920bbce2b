#pragma once

#include "model/leaserules.h"

#include <QByteArray>
#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <optional>

// The frames of /v1/worker after `enroll` (enrollrequest.h), as docs/protocol.md ("Worker frames",
// "Steps: dispatch to finished") states them: one struct per frame, with the one encoder and the
// one decoder that the orchestrator, the worker agent and the bench's simulated worker share.
//
// encode(): the compact JSON text that goes on the wire (written straight to UTF-8: dispatch, ack
// and finished are on the hot path). decode(): the fields as the doc reads them, from a frame
// decodeFrame() has accepted and whose `type` the caller has matched. A field that is missing or
// of the wrong type reads as its stated default (an empty string, -1 for a missing `seq`), and what
// that means is the receiver's rule, written where it acts: a lease id that names no active lease
// is refused, an output chunk of an unknown stream is refused, an unknown outcome fails the step.
// Rules the doc states of a field itself (an exit code only with `exited`, the first 1000
// characters of an error, the bounds of a reconnect window) are applied here, once.
namespace Swamp::Protocol {

// The upper bound a worker puts on any `reconnectWindowMs` it is sent, whatever it is sent.
inline constexpr qint64 MaxReconnectWindowMs = 5 * 60 * 1000;
// The characters of a `finished` frame's `error` the orchestrator keeps.
inline constexpr qsizetype MaxFinishedErrorLength = 1000;

// ---- worker → orchestrator

struct Started
{
    QString leaseId;
    qint64 pid = 0;

    QByteArray encode() const;
    static Started decode(const QJsonObject &frame);
};

enum class OutputStream { Stdout, Stderr, Unknown };
QString outputStreamName(OutputStream stream); // "stdout", "stderr"; empty for Unknown

struct Output
{
    QString leaseId;
    int seq = -1; // from 1 per lease; -1: missing or not a whole number
    OutputStream stream = OutputStream::Unknown;
    QString data;

    QByteArray encode() const;
    static Output decode(const QJsonObject &frame);
};

// The `outcome` of `finished`: the model's (model/leaserules.h, with the rules of what it means).
using Outcome = StepOutcome;
inline QString outcomeName(Outcome outcome) { return stepOutcomeName(outcome); }
inline Outcome outcomeFromName(const QString &name) { return stepOutcomeFromName(name); }

struct Finished
{
    QString leaseId;
    Outcome outcome = Outcome::Unknown;
    QString outcomeText; // as sent (for a log line about an unknown one)
    // Only with `exited`, and only a whole number in the range of an int (not 1.5 or "0"): every
    // other outcome has none, whatever the frame says.
    std::optional<int> exitCode;
    QString error; // at most MaxFinishedErrorLength characters once decoded
    int lastSeq = 0;

    QByteArray encode() const;
    static Finished decode(const QJsonObject &frame);
};

struct Rejected
{
    QString leaseId;
    QString reason;

    QByteArray encode() const;
    static Rejected decode(const QJsonObject &frame); // reason: "worker declined the step" if none
};

// The worker drains itself (signal, --max-steps, --idle-timeout).
struct SelfDrain
{
    QString reason;

    QByteArray encode() const;
    static SelfDrain decode(const QJsonObject &frame); // reason: "the worker is draining" if none
};

struct Goodbye
{
    QString reason;

    QByteArray encode() const;
    static Goodbye decode(const QJsonObject &frame); // reason: "worker stopped" if none
};

// ---- orchestrator → worker

struct Enrolled
{
    QString id; // the enroll request's
    QString workerId;
    QString workerName;
    bool resumed = false;
    QJsonObject labels; // effective labels, name → value
    QString orchestratorVersion;
    qint64 heartbeatIntervalMs = 5000;
    qint64 heartbeatTimeoutMs = 15000;
    qint64 reconnectGraceMs = 0;
    qint64 reconnectWindowMs = 0; // 0 to MaxReconnectWindowMs once decoded
    QString tokenExpiresAt;       // ISO 8601, UTC
    QJsonObject leases;           // on resume: lease id → the last output seq stored
    bool draining = false;

    QByteArray encode() const;
    static Enrolled decode(const QJsonObject &frame);
};

struct Dispatch
{
    QString stepId;
    QString leaseId;
    int attempt = 0;
    QString name;
    QStringList command; // argv; with `shell` one string for /bin/sh -c
    bool shell = false;
    QJsonObject env;       // name → value
    QJsonObject secretEnv; // name → value, masked in the output
    qint64 timeoutMs = 0;  // 0: none

    QByteArray encode() const;
    static Dispatch decode(const QJsonObject &frame);
};

struct Cancel
{
    QString leaseId;
    QString reason;

    QByteArray encode() const;
    static Cancel decode(const QJsonObject &frame);
};

struct Drain
{
    QString reason;
    QString code; // "operator", "token_expired" or "worker" (the echo of the worker's own)
    qint64 deadlineMs = 0;

    QByteArray encode() const;
    static Drain decode(const QJsonObject &frame);
};

struct Undrain
{
    QByteArray encode() const;
};

struct Stop
{
    QString reason;

    QByteArray encode() const;
    static Stop decode(const QJsonObject &frame); // reason: "told to stop" if none
};

struct Shutdown
{
    QString reason;
    qint64 reconnectWindowMs = 0; // 0 to MaxReconnectWindowMs once decoded

    QByteArray encode() const;
    static Shutdown decode(const QJsonObject &frame);
};

struct Window
{
    qint64 reconnectWindowMs = 0; // 0 to MaxReconnectWindowMs once decoded

    QByteArray encode() const;
    static Window decode(const QJsonObject &frame);
};

struct Ack
{
    QString leaseId;

    QByteArray encode() const;
    static Ack decode(const QJsonObject &frame);
};

// The orchestrator could not store what the worker sent for a lease (its database refused or
// was away): the worker sends it again, `started` first, then every output chunk after
// `afterSeq`, then `finished` if the step ended. A worker that does not know the lease ignores it.
struct Resend
{
    QString leaseId;
    int afterSeq = 0;

    QByteArray encode() const;
    static Resend decode(const QJsonObject &frame);
};

struct Refused
{
    QString leaseId;
    QString reason;

    QByteArray encode() const;
    static Refused decode(const QJsonObject &frame);
};

} // namespace Swamp::Protocol
