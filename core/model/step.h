#pragma once

#include "common/labels.h"
#include "common/result.h"
#include "model/limits.h"

#include <QDateTime>
#include <QJsonObject>
#include <QStringList>

namespace Swamp {

// SPEC §5. A step: queued → dispatched → running → succeeded | failed | cancelled | timed_out;
// queued → timed_out when no worker matched within the queue timeout.
enum class StepState { Queued, Dispatched, Running, Succeeded, Failed, Cancelled, TimedOut };
QString stepStateName(StepState state);
StepState stepStateFromName(const QString &name);
bool isTerminal(StepState state);
// Whether `name` is the name of a terminal state; an unknown or empty name is not.
bool isTerminalStateName(const QString &name);

// One lease per dispatch attempt: active → completed | failed | expired | cancelled.
enum class LeaseState { Active, Completed, Failed, Expired, Cancelled };
QString leaseStateName(LeaseState state);
LeaseState leaseStateFromName(const QString &name);

// Where a step may run: a named worker, or every label matching and the platform matching.
struct Requirement
{
    QString target;   // worker name or instance id; empty: any
    Labels labels;    // exact match, all must match
    QString platform; // "linux" or "linux/x86_64"; empty: any

    // "target=<t>", "k=v, platform=linux/x86_64", or "any worker"
    QString text() const;
    bool matches(const QString &workerName, const QString &instanceId, const Labels &workerLabels,
                 const QString &os, const QString &arch) const;
};

// What an operator submits (`swamp run` or one entry of `swamp run --file`).
struct StepSpec
{
    QString name;
    QStringList command; // argv; with `shell` the single string is run by /bin/sh -c
    bool shell = false;
    QJsonObject env;
    Requirement requirement;
    qint64 timeoutMs = 0; // 0: none
    qint64 queueTimeoutMs = 0; // 0: the orchestrator's default
    int maxAttempts = 3;
    bool atMostOnce = false;
    // `--secret-env`: values for the step's environment that are never stored, logged or put in
    // an event: the orchestrator that received them keeps them in memory for the dispatch, and
    // the worker masks them in the output. Only the names are stored (secretNames), with the
    // orchestrator holding the values (secretHolder); a step whose values are gone fails.
    QJsonObject secretEnv; // name → value; empty once taken in by the scheduler
    QStringList secretNames;
    QString secretHolder;

    // The names of secretEnv as "maskedEnv", never its values.
    QJsonObject toJson() const;
    // The step as run.submit takes it (the run file format), secretEnv values included: only for
    // sending to an orchestrator. Fields left at their defaults are left out (an empty name
    // lets the orchestrator name the step after its command). fromJson() reads it back.
    QJsonObject toSubmission() const;
    // Validates a submitted step; errors have code "invalid_step" and name the field. A field not
    // in fieldNames() is refused, with the one it most likely meant.
    static Result<StepSpec> fromJson(const QJsonObject &object);
    // The fields of a step in run.submit and a run file.
    static QStringList fieldNames();
};

// The first key of `object` not in `known`, as an error message that names the field it most
// likely meant ("unknown field \"timout\"; did you mean \"timeout\"?"), or lists `known` for
// `holder` ("a step"); empty when every key is known.
QString unknownField(const QJsonObject &object, const QStringList &known, const QString &holder);

struct StepRecord
{
    QString id;
    QString runId;
    int seq = 0;
    StepSpec spec;
    StepState state = StepState::Queued;
    int attempt = 0;
    std::optional<int> exitCode;
    QString error;
    QString workerId;
    QString workerName;
    bool cancelRequested = false;
    qint64 outputBytes = 0;
    int outputChunks = 0;
    bool outputTruncated = false;
    QDateTime queuedAt;
    QDateTime startedAt;
    QDateTime finishedAt;
    QDateTime createdAt;
    QDateTime updatedAt;

    QJsonObject toJson() const; // the `run status` / swamp/step attribute shape
    // The same, as compact JSON text written without building an object (data.query's results).
    QByteArray toJsonText() const;
};

// What scheduling needs of a queued step, read from its columns without its command, environment
// or output (Store::forEachQueuedStepSummary()): its place in the queue, its deadline and where
// it may run. The scheduler holds no more than this of the steps it recovers at boot (or reloads
// in a fleet), and reads a step's full record when it dispatches, cancels or ends it.
struct QueuedStep
{
    QString id;
    QString runId;
    int seq = 0;
    int attempt = 0;
    Requirement requirement;
    QDateTime queuedAt;
    qint64 queueTimeoutMs = 0;
    bool hasSecrets = false; // it has --secret-env names (their values are in no database)

    // When it times out waiting for a worker.
    qint64 queueDeadlineMs() const { return queuedAt.toMSecsSinceEpoch() + queueTimeoutMs; }
};

struct LeaseRecord
{
    QString id;
    QString stepId;
    QString runId;
    QString workerId;
    QString workerName;
    QString orchestratorId; // the orchestrator that dispatched it and talks to its worker
    int attempt = 0;
    LeaseState state = LeaseState::Active;
    QString error;
    std::optional<int> exitCode;
    QDateTime createdAt;
    QDateTime startedAt;
    QDateTime endedAt;
    QDateTime updatedAt;

    QJsonObject toJson() const;
    QByteArray toJsonText() const; // the same, as compact JSON text
};

struct RunRecord
{
    QString id;
    QString name;
    StepState state = StepState::Queued; // derived from its steps
    QDateTime createdAt;
    QDateTime updatedAt;
    QDateTime finishedAt;

    QJsonObject toJson() const;
    // The same, as compact JSON text written without building an object (run.submit replies).
    QByteArray toJsonText() const;
};

// A run's state from its steps: running while any is not terminal (queued if none started),
// else failed/timed_out/cancelled if any is, else succeeded.
StepState runStateFrom(const QList<StepState> &steps);

} // namespace Swamp
