#include "protocol/workerframes.h"

#include "common/jsonwriter.h"
#include "common/result.h"
#include "common/text.h"
#include "protocol/protocol.h"

#include <QJsonArray>

#include <algorithm>
#include <cmath>
#include <limits>

using namespace Qt::StringLiterals;

namespace Swamp::Protocol {

namespace {

QString text(const QJsonObject &frame, QLatin1StringView key, const QString &fallback = {})
{
    return frame.value(key).toString(fallback);
}

qint64 windowMs(const QJsonObject &frame)
{
    return std::clamp<qint64>(frame.value("reconnectWindowMs"_L1).toInteger(0), 0, MaxReconnectWindowMs);
}

JsonObjectWriter frame(const QString &type)
{
    JsonObjectWriter writer;
    writer.add("type"_L1, type);
    return writer;
}

// A lease frame: {"type":..,"leaseId":..,"reason":..}.
QByteArray leaseFrame(const QString &type, const QString &leaseId, const QString &reason)
{
    return frame(type).add("leaseId"_L1, leaseId).add("reason"_L1, reason).finish();
}

QByteArray reasonFrame(const QString &type, const QString &reason)
{
    return frame(type).add("reason"_L1, reason).finish();
}

} // namespace

QString outputStreamName(OutputStream stream)
{
    switch (stream) {
    case OutputStream::Stdout:
        return u"stdout"_s;
    case OutputStream::Stderr:
        return u"stderr"_s;
    case OutputStream::Unknown:
        break;
    }
    return {};
}

QByteArray Started::encode() const
{
    return frame(Type::Started).add("leaseId"_L1, leaseId).add("pid"_L1, pid).finish();
}

Started Started::decode(const QJsonObject &frame)
{
    return {text(frame, "leaseId"_L1), frame.value("pid"_L1).toInteger(0)};
}

QByteArray Output::encode() const
{
    return frame(Type::Output)
        .add("leaseId"_L1, leaseId)
        .add("seq"_L1, seq)
        .add("stream"_L1, outputStreamName(stream))
        .add("data"_L1, data)
        .finish();
}

Output Output::decode(const QJsonObject &frame)
{
    const QString stream = text(frame, "stream"_L1);
    return {text(frame, "leaseId"_L1), frame.value("seq"_L1).toInt(-1),
            stream == u"stdout"   ? OutputStream::Stdout
            : stream == u"stderr" ? OutputStream::Stderr
                                  : OutputStream::Unknown,
            text(frame, "data"_L1)};
}

QByteArray Finished::encode() const
{
    JsonObjectWriter writer = frame(Type::Finished);
    writer.add("leaseId"_L1, leaseId).add("outcome"_L1, outcomeName(outcome)).add("lastSeq"_L1, lastSeq);
    if (exitCode)
        writer.add("exitCode"_L1, *exitCode);
    else
        writer.addNull("exitCode"_L1);
    if (!error.isEmpty())
        writer.add("error"_L1, error);
    return writer.finish();
}

Finished Finished::decode(const QJsonObject &frame)
{
    Finished finished;
    finished.leaseId = text(frame, "leaseId"_L1);
    finished.outcomeText = text(frame, "outcome"_L1);
    finished.outcome = outcomeFromName(finished.outcomeText);
    const QJsonValue exitValue = frame.value("exitCode"_L1);
    const double exitNumber = exitValue.toDouble(0.5);
    if (finished.outcome == Outcome::Exited && exitValue.isDouble() && exitNumber == std::trunc(exitNumber)
        && exitNumber >= std::numeric_limits<int>::min() && exitNumber <= std::numeric_limits<int>::max()) {
        finished.exitCode = int(exitNumber);
    }
    finished.error = leftCharacters(text(frame, "error"_L1), MaxFinishedErrorLength);
    finished.lastSeq = frame.value("lastSeq"_L1).toInt(0);
    return finished;
}

QByteArray Rejected::encode() const
{
    return leaseFrame(Type::Rejected, leaseId, reason);
}

Rejected Rejected::decode(const QJsonObject &frame)
{
    return {text(frame, "leaseId"_L1), text(frame, "reason"_L1, Tr::tr("worker declined the step"))};
}

QByteArray SelfDrain::encode() const
{
    return reasonFrame(Type::Drain, reason);
}

SelfDrain SelfDrain::decode(const QJsonObject &frame)
{
    return {text(frame, "reason"_L1, Tr::tr("the worker is draining"))};
}

QByteArray Goodbye::encode() const
{
    return reasonFrame(Type::Goodbye, reason);
}

Goodbye Goodbye::decode(const QJsonObject &frame)
{
    return {text(frame, "reason"_L1, Tr::tr("worker stopped"))};
}

QByteArray Enrolled::encode() const
{
    return frame(Type::Enrolled)
        .add("id"_L1, id)
        .add("workerId"_L1, workerId)
        .add("workerName"_L1, workerName)
        .add("resumed"_L1, resumed)
        .add("labels"_L1, labels)
        .add("orchestratorVersion"_L1, orchestratorVersion)
        .add("heartbeatIntervalMs"_L1, heartbeatIntervalMs)
        .add("heartbeatTimeoutMs"_L1, heartbeatTimeoutMs)
        .add("reconnectGraceMs"_L1, reconnectGraceMs)
        .add("reconnectWindowMs"_L1, reconnectWindowMs)
        .add("tokenExpiresAt"_L1, tokenExpiresAt)
        .add("leases"_L1, leases)
        .add("draining"_L1, draining)
        .finish();
}

Enrolled Enrolled::decode(const QJsonObject &frame)
{
    Enrolled enrolled;
    enrolled.id = text(frame, "id"_L1);
    enrolled.workerId = text(frame, "workerId"_L1);
    enrolled.workerName = text(frame, "workerName"_L1);
    enrolled.resumed = frame.value("resumed"_L1).toBool();
    enrolled.labels = frame.value("labels"_L1).toObject();
    enrolled.orchestratorVersion = text(frame, "orchestratorVersion"_L1);
    enrolled.heartbeatIntervalMs = frame.value("heartbeatIntervalMs"_L1).toInteger(5000);
    enrolled.heartbeatTimeoutMs = frame.value("heartbeatTimeoutMs"_L1).toInteger(15000);
    enrolled.reconnectGraceMs = frame.value("reconnectGraceMs"_L1).toInteger(0);
    enrolled.reconnectWindowMs = windowMs(frame);
    enrolled.tokenExpiresAt = text(frame, "tokenExpiresAt"_L1);
    enrolled.leases = frame.value("leases"_L1).toObject();
    enrolled.draining = frame.value("draining"_L1).toBool();
    return enrolled;
}

QByteArray Dispatch::encode() const
{
    return frame(Type::Dispatch)
        .add("stepId"_L1, stepId)
        .add("leaseId"_L1, leaseId)
        .add("attempt"_L1, attempt)
        .add("name"_L1, name)
        .add("command"_L1, command)
        .add("shell"_L1, shell)
        .add("env"_L1, env)
        .add("secretEnv"_L1, secretEnv)
        .add("timeoutMs"_L1, timeoutMs)
        .finish();
}

Dispatch Dispatch::decode(const QJsonObject &frame)
{
    Dispatch dispatch;
    dispatch.stepId = text(frame, "stepId"_L1);
    dispatch.leaseId = text(frame, "leaseId"_L1);
    dispatch.attempt = frame.value("attempt"_L1).toInt();
    dispatch.name = text(frame, "name"_L1);
    for (const QJsonValue &argument : frame.value("command"_L1).toArray())
        dispatch.command << argument.toString();
    dispatch.shell = frame.value("shell"_L1).toBool();
    dispatch.env = frame.value("env"_L1).toObject();
    dispatch.secretEnv = frame.value("secretEnv"_L1).toObject();
    dispatch.timeoutMs = frame.value("timeoutMs"_L1).toInteger(0);
    return dispatch;
}

QByteArray Cancel::encode() const
{
    return leaseFrame(Type::Cancel, leaseId, reason);
}

Cancel Cancel::decode(const QJsonObject &frame)
{
    return {text(frame, "leaseId"_L1), text(frame, "reason"_L1)};
}

QByteArray Drain::encode() const
{
    return frame(Type::Drain).add("reason"_L1, reason).add("code"_L1, code).add("deadlineMs"_L1, deadlineMs).finish();
}

Drain Drain::decode(const QJsonObject &frame)
{
    return {text(frame, "reason"_L1), text(frame, "code"_L1), frame.value("deadlineMs"_L1).toInteger(0)};
}

QByteArray Undrain::encode() const
{
    return frame(Type::Undrain).finish();
}

QByteArray Stop::encode() const
{
    return reasonFrame(Type::Stop, reason);
}

Stop Stop::decode(const QJsonObject &frame)
{
    return {text(frame, "reason"_L1, Tr::tr("told to stop"))};
}

QByteArray Shutdown::encode() const
{
    return frame(Type::Shutdown).add("reason"_L1, reason).add("reconnectWindowMs"_L1, reconnectWindowMs).finish();
}

Shutdown Shutdown::decode(const QJsonObject &frame)
{
    return {text(frame, "reason"_L1), windowMs(frame)};
}

QByteArray Window::encode() const
{
    return frame(Type::Window).add("reconnectWindowMs"_L1, reconnectWindowMs).finish();
}

Window Window::decode(const QJsonObject &frame)
{
    return {windowMs(frame)};
}

QByteArray Ack::encode() const
{
    return frame(Type::Ack).add("leaseId"_L1, leaseId).finish();
}

Ack Ack::decode(const QJsonObject &frame)
{
    return {text(frame, "leaseId"_L1)};
}

QByteArray Resend::encode() const
{
    return frame(Type::Resend).add("leaseId"_L1, leaseId).add("afterSeq"_L1, afterSeq).finish();
}

Resend Resend::decode(const QJsonObject &frame)
{
    // A negative or absent position is the start: the worker sends everything it kept.
    return {text(frame, "leaseId"_L1), std::max(0, frame.value("afterSeq"_L1).toInt(0))};
}

QByteArray Refused::encode() const
{
    return leaseFrame(Type::Refused, leaseId, reason);
}

Refused Refused::decode(const QJsonObject &frame)
{
    return {text(frame, "leaseId"_L1), text(frame, "reason"_L1)};
}

} // namespace Swamp::Protocol
