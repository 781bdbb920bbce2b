#include "model/step.h"

#include "common/duration.h"
#include "common/jsonwriter.h"
#include "common/text.h"

#include <QJsonArray>
#include <QJsonDocument>

using namespace Qt::StringLiterals;

namespace Swamp {

QString stepStateName(StepState state)
{
    switch (state) {
    case StepState::Queued: return QStringLiteral("queued");
    case StepState::Dispatched: return QStringLiteral("dispatched");
    case StepState::Running: return QStringLiteral("running");
    case StepState::Succeeded: return QStringLiteral("succeeded");
    case StepState::Failed: return QStringLiteral("failed");
    case StepState::Cancelled: return QStringLiteral("cancelled");
    case StepState::TimedOut: return QStringLiteral("timed_out");
    }
    return {};
}

namespace {
const QHash<QString, StepState> &stepStatesByName()
{
    static const QHash<QString, StepState> states = {
        {QStringLiteral("queued"), StepState::Queued},       {QStringLiteral("dispatched"), StepState::Dispatched},
        {QStringLiteral("running"), StepState::Running},     {QStringLiteral("succeeded"), StepState::Succeeded},
        {QStringLiteral("failed"), StepState::Failed},       {QStringLiteral("cancelled"), StepState::Cancelled},
        {QStringLiteral("timed_out"), StepState::TimedOut},
    };
    return states;
}
} // namespace

StepState stepStateFromName(const QString &name)
{
    return stepStatesByName().value(name, StepState::Failed);
}

bool isTerminalStateName(const QString &name)
{
    const auto state = stepStatesByName().constFind(name);
    return state != stepStatesByName().cend() && isTerminal(*state);
}

bool isTerminal(StepState state)
{
    return state == StepState::Succeeded || state == StepState::Failed
           || state == StepState::Cancelled || state == StepState::TimedOut;
}

QString leaseStateName(LeaseState state)
{
    switch (state) {
    case LeaseState::Active: return QStringLiteral("active");
    case LeaseState::Completed: return QStringLiteral("completed");
    case LeaseState::Failed: return QStringLiteral("failed");
    case LeaseState::Expired: return QStringLiteral("expired");
    case LeaseState::Cancelled: return QStringLiteral("cancelled");
    }
    return {};
}

LeaseState leaseStateFromName(const QString &name)
{
    if (name == u"active")
        return LeaseState::Active;
    if (name == u"completed")
        return LeaseState::Completed;
    if (name == u"expired")
        return LeaseState::Expired;
    if (name == u"cancelled")
        return LeaseState::Cancelled;
    return LeaseState::Failed;
}

QString Requirement::text() const
{
    if (!target.isEmpty())
        return QStringLiteral("target=") + target;
    QStringList parts;
    for (auto it = labels.cbegin(); it != labels.cend(); ++it)
        parts << it.key() + u'=' + it.value();
    if (!platform.isEmpty())
        parts << QStringLiteral("platform=") + platform;
    return parts.isEmpty() ? QStringLiteral("any worker") : parts.join(QStringLiteral(", "));
}

bool Requirement::matches(const QString &workerName, const QString &instanceId,
                          const Labels &workerLabels, const QString &os, const QString &arch) const
{
    if (!target.isEmpty())
        return target == workerName || target == instanceId;
    for (auto it = labels.cbegin(); it != labels.cend(); ++it) {
        const auto found = workerLabels.constFind(it.key());
        if (found == workerLabels.cend() || *found != it.value())
            return false;
    }
    if (!platform.isEmpty()) {
        const qsizetype slash = platform.indexOf(u'/');
        const QString wantOs = slash < 0 ? platform : platform.left(slash);
        if (wantOs != os)
            return false;
        if (slash >= 0 && platform.mid(slash + 1) != arch)
            return false;
    }
    return true;
}

static QJsonValue orNull(const QString &text)
{
    return text.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(text);
}


QJsonObject StepSpec::toJson() const
{
    return QJsonObject{
        {QStringLiteral("name"), name},
        {QStringLiteral("command"), QJsonArray::fromStringList(command)},
        {QStringLiteral("shell"), shell},
        {QStringLiteral("env"), env},
        {QStringLiteral("target"), orNull(requirement.target)},
        {QStringLiteral("labels"), labelsToJson(requirement.labels)},
        {QStringLiteral("platform"), orNull(requirement.platform)},
        {QStringLiteral("timeoutMs"), timeoutMs},
        {QStringLiteral("queueTimeoutMs"), queueTimeoutMs},
        {QStringLiteral("attempts"), maxAttempts},
        {QStringLiteral("atMostOnce"), atMostOnce},
        {QStringLiteral("maskedEnv"), QJsonArray::fromStringList(secretNames)}, // names, never values
    };
}

QJsonObject StepSpec::toSubmission() const
{
    QJsonObject o{
        {QStringLiteral("command"), shell ? QJsonValue(command.value(0)) : QJsonValue(QJsonArray::fromStringList(command))},
        {QStringLiteral("labels"), labelsToJson(requirement.labels)},
        {QStringLiteral("attempts"), maxAttempts},
        {QStringLiteral("atMostOnce"), atMostOnce},
        {QStringLiteral("env"), env},
    };
    if (!name.isEmpty())
        o.insert(QStringLiteral("name"), name);
    if (!requirement.target.isEmpty())
        o.insert(QStringLiteral("target"), requirement.target);
    if (!requirement.platform.isEmpty())
        o.insert(QStringLiteral("platform"), requirement.platform);
    if (timeoutMs > 0)
        o.insert(QStringLiteral("timeoutMs"), timeoutMs);
    if (queueTimeoutMs > 0)
        o.insert(QStringLiteral("queueTimeoutMs"), queueTimeoutMs);
    if (!secretEnv.isEmpty())
        o.insert(QStringLiteral("secretEnv"), secretEnv);
    return o;
}

namespace {

using StepFieldReader = Result<void> (*)(const QJsonObject &, StepSpec &);

std::unexpected<Error> invalidStep(const QString &why)
{
    return fail(QStringLiteral("invalid_step"), Tr::tr("invalid step: %1").arg(why),
                Tr::tr("see 'swamp run --help' and the run file format in docs/operations.md"));
}

// Every field is either absent (or null: the default) or of its type; a wrong type is never
// read as a default, so a step never runs with a setting it was not given.
bool isPresent(const QJsonObject &o, const char *field)
{
    const QJsonValue value = o.value(QLatin1String(field));
    return !value.isUndefined() && !value.isNull();
}

std::unexpected<Error> typeError(const char *field, const QString &type)
{
    return invalidStep(Tr::tr("\"%1\" must be %2").arg(QLatin1String(field), type));
}

// A field this version does not know is a mistake (a typo such as "timout" would otherwise run
// the step without its timeout): refused, naming it and the field it most likely meant.
Result<void> readKnownFields(const QJsonObject &o, StepSpec &)
{
    if (const QString unknown = unknownField(o, StepSpec::fieldNames(), Tr::tr("a step")); !unknown.isEmpty())
        return invalidStep(unknown);
    return {};
}

Result<void> readCommand(const QJsonObject &o, StepSpec &spec)
{
    const QJsonValue command = o.value(QStringLiteral("command"));
    if (command.isString()) {
        spec.command = {command.toString()};
        spec.shell = true;
    } else if (command.isArray()) {
        for (const QJsonValue &arg : command.toArray()) {
            if (!arg.isString())
                return invalidStep(Tr::tr("every command argument must be a string"));
            spec.command << arg.toString();
        }
        if (isPresent(o, "shell") && !o.value(QStringLiteral("shell")).isBool())
            return typeError("shell", Tr::tr("true or false"));
        spec.shell = o.value(QStringLiteral("shell")).toBool(false);
    }
    if (spec.command.isEmpty() || spec.command.first().isEmpty())
        return invalidStep(
            Tr::tr("\"command\" must be a non-empty list of strings (or one shell string)"));
    if (spec.shell && spec.command.size() != 1)
        return invalidStep(Tr::tr("a shell command is one string"));
    if (spec.command.join(u' ').toUtf8().size() > 128 * 1024)
        return invalidStep(Tr::tr("the command is longer than 128 KiB"));
    return {};
}

// Without a name the step is named after its program.
Result<void> readName(const QJsonObject &o, StepSpec &spec)
{
    if (isPresent(o, "name") && !o.value(QStringLiteral("name")).isString())
        return typeError("name", Tr::tr("a string"));
    spec.name = isPresent(o, "name") ? o.value(QStringLiteral("name")).toString()
                                     : leftCharacters(spec.command.first().section(u'/', -1), 64);
    if (characterCount(spec.name) > 128)
        return invalidStep(Tr::tr("\"name\" is longer than 128 characters"));
    if (hasUnsafeCharacters(spec.name))
        return invalidStep(Tr::tr("\"name\" must not contain control characters"));
    return {};
}

Result<void> readEnv(const QJsonObject &o, StepSpec &spec)
{
    if (isPresent(o, "env") && !o.value(QStringLiteral("env")).isObject())
        return typeError("env", Tr::tr("an object of string values"));
    const QJsonObject env = o.value(QStringLiteral("env")).toObject();
    for (auto it = env.begin(); it != env.end(); ++it) {
        if (!it.value().isString() || it.key().isEmpty() || it.key().contains(u'='))
            return invalidStep(
                Tr::tr("environment variable \"%1\" must have a name and a string value")
                    .arg(printable(it.key())));
        if (it.key().startsWith(u"SWAMP_"))
            return invalidStep(Tr::tr("environment variables starting with SWAMP_ are reserved"));
    }
    spec.env = env;
    return {};
}

// After readEnv(): a name may not be both in env and in secretEnv.
Result<void> readSecretEnv(const QJsonObject &o, StepSpec &spec)
{
    if (isPresent(o, "secretEnv") && !o.value(QStringLiteral("secretEnv")).isObject())
        return typeError("secretEnv",
                         Tr::tr("an object of string values (swamp run --secret-env reads them)"));
    const QJsonObject secrets = o.value(QStringLiteral("secretEnv")).toObject();
    if (secrets.size() > MaxSecretVariables)
        return invalidStep(
            Tr::tr("at most %1 secret environment variables").arg(MaxSecretVariables));
    for (auto it = secrets.begin(); it != secrets.end(); ++it) {
        // The value is never part of an error: only its name.
        if (!it.value().isString() || it.key().isEmpty() || it.key().contains(u'=') ||
            hasUnsafeCharacters(it.key()))
            return invalidStep(
                Tr::tr("secret environment variable \"%1\" must have a name and a string value")
                    .arg(printable(it.key())));
        if (it.key().startsWith(u"SWAMP_"))
            return invalidStep(Tr::tr("environment variables starting with SWAMP_ are reserved"));
        if (spec.env.contains(it.key()))
            return invalidStep(Tr::tr("\"%1\" is both in env and in secretEnv").arg(it.key()));
        if (it.value().toString().toUtf8().size() > MaxSecretValueBytes)
            return invalidStep(
                Tr::tr("the value of secret environment variable \"%1\" is larger than 64 KiB")
                    .arg(it.key()));
    }
    spec.secretEnv = secrets;
    spec.secretNames = secrets.keys();
    return {};
}

Result<void> readRequirement(const QJsonObject &o, StepSpec &spec)
{
    for (const char *field : {"target", "platform"}) {
        if (isPresent(o, field) && !o.value(QLatin1String(field)).isString())
            return typeError(field, qstrcmp(field, "target") == 0
                                        ? Tr::tr("a string (a worker's name)")
                                        : Tr::tr("a string such as linux or linux/x86_64"));
    }
    spec.requirement.target = o.value(QStringLiteral("target")).toString();
    auto labels = labelsFromWire(o.value(QStringLiteral("labels")), 64);
    if (!labels)
        return invalidStep(labels.error().message);
    spec.requirement.labels = *labels;
    spec.requirement.platform = o.value(QStringLiteral("platform")).toString();
    if (!spec.requirement.target.isEmpty() &&
        (!labels->isEmpty() || !spec.requirement.platform.isEmpty()))
        return invalidStep(
            Tr::tr("--target names one worker; it does not combine with --label or --platform"));
    return {};
}

// A duration is a string ("45s", "30m") or a positive whole number of milliseconds; absent or
// null leaves `out` as it is.
Result<void> readDuration(const QJsonObject &o, const char *field, qint64 *out)
{
    const QJsonValue value = o.value(QLatin1String(field));
    if (value.isUndefined() || value.isNull())
        return {};
    if (value.isString()) {
        auto parsed = parseDurationMs(value.toString());
        if (!parsed)
            return invalidStep(
                QStringLiteral("%1: %2").arg(QLatin1String(field), parsed.error().text()));
        *out = *parsed;
        return {};
    }
    if (!value.isDouble() || value.toDouble() != double(value.toInteger()) ||
        value.toInteger() <= 0)
        return invalidStep(Tr::tr("%1 must be a positive duration").arg(QLatin1String(field)));
    *out = value.toInteger();
    return {};
}

// Each timeout has two spellings; where both are given, the later one here wins.
Result<void> readTimeouts(const QJsonObject &o, StepSpec &spec)
{
    for (const auto &[field, out] :
         {std::pair{"timeoutMs", &spec.timeoutMs}, std::pair{"timeout", &spec.timeoutMs},
          std::pair{"queueTimeoutMs", &spec.queueTimeoutMs},
          std::pair{"queueTimeout", &spec.queueTimeoutMs}}) {
        if (auto r = readDuration(o, field, out); !r)
            return fail(r.error());
    }
    return {};
}

Result<void> readAttempts(const QJsonObject &o, StepSpec &spec)
{
    const QJsonValue attempts = o.value(QStringLiteral("attempts"));
    if (isPresent(o, "attempts") &&
        (!attempts.isDouble() || attempts.toDouble() != double(attempts.toInteger()) ||
         attempts.toInteger() < 1 || attempts.toInteger() > MaxStepAttempts))
        return invalidStep(
            Tr::tr("attempts must be a whole number from 1 to %1").arg(MaxStepAttempts));
    spec.maxAttempts = int(attempts.toInteger(3));
    if (isPresent(o, "atMostOnce") && !o.value(QStringLiteral("atMostOnce")).isBool())
        return typeError("atMostOnce", Tr::tr("true or false"));
    spec.atMostOnce = o.value(QStringLiteral("atMostOnce")).toBool(false);
    return {};
}

} // namespace

QString unknownField(const QJsonObject &object, const QStringList &known, const QString &holder)
{
    for (auto it = object.begin(); it != object.end(); ++it) {
        if (known.contains(it.key()))
            continue;
        const QString field = printable(leftCharacters(it.key(), 64));
        const QString meant = closestMatch(it.key(), known);
        return meant.isEmpty() ? Tr::tr("unknown field \"%1\" (%2 has: %3)").arg(field, holder, known.join(u", "))
                               : Tr::tr("unknown field \"%1\"; did you mean \"%2\"?").arg(field, meant);
    }
    return {};
}

QStringList StepSpec::fieldNames()
{
    static const QStringList names{
        QStringLiteral("name"),      QStringLiteral("command"),        QStringLiteral("shell"),
        QStringLiteral("env"),       QStringLiteral("secretEnv"),      QStringLiteral("target"),
        QStringLiteral("labels"),    QStringLiteral("platform"),       QStringLiteral("timeout"),
        QStringLiteral("timeoutMs"), QStringLiteral("queueTimeout"),   QStringLiteral("queueTimeoutMs"),
        QStringLiteral("attempts"),  QStringLiteral("atMostOnce"),
    };
    return names;
}

Result<StepSpec> StepSpec::fromJson(const QJsonObject &o)
{
    StepSpec spec;
    // In this order: a step with several mistakes is refused for the first, and readSecretEnv()
    // and readName() look at what the readers before them accepted.
    for (const StepFieldReader read : {readKnownFields, readCommand, readName, readEnv, readSecretEnv,
                                       readRequirement, readTimeouts, readAttempts}) {
        if (auto r = read(o, spec); !r)
            return fail(r.error());
    }
    return spec;
}

QJsonObject StepRecord::toJson() const
{
    return QJsonObject{
        {QStringLiteral("id"), id},
        {QStringLiteral("runId"), runId},
        {QStringLiteral("name"), spec.name},
        {QStringLiteral("seq"), seq},
        {QStringLiteral("state"), stepStateName(state)},
        {QStringLiteral("command"), QJsonArray::fromStringList(spec.command)},
        {QStringLiteral("shell"), spec.shell},
        {QStringLiteral("requirement"), spec.requirement.text()},
        {QStringLiteral("target"), orNull(spec.requirement.target)},
        {QStringLiteral("labels"), labelsToJson(spec.requirement.labels)},
        {QStringLiteral("platform"), orNull(spec.requirement.platform)},
        {QStringLiteral("timeoutSeconds"), spec.timeoutMs > 0 ? QJsonValue(spec.timeoutMs / 1000) : QJsonValue(QJsonValue::Null)},
        {QStringLiteral("attempt"), attempt},
        {QStringLiteral("maxAttempts"), spec.maxAttempts},
        {QStringLiteral("atMostOnce"), spec.atMostOnce},
        {QStringLiteral("maskedEnv"), QJsonArray::fromStringList(spec.secretNames)}, // names, never values
        {QStringLiteral("exitCode"), exitCode ? QJsonValue(*exitCode) : QJsonValue(QJsonValue::Null)},
        {QStringLiteral("error"), orNull(error)},
        {QStringLiteral("workerName"), orNull(workerName)},
        {QStringLiteral("outputBytes"), outputBytes},
        {QStringLiteral("outputTruncated"), outputTruncated},
        {QStringLiteral("queuedAt"), isoUtcOrNull(queuedAt)},
        {QStringLiteral("startedAt"), isoUtcOrNull(startedAt)},
        {QStringLiteral("finishedAt"), isoUtcOrNull(finishedAt)},
        {QStringLiteral("createdAt"), isoUtcOrNull(createdAt)},
        {QStringLiteral("updatedAt"), isoUtcOrNull(updatedAt)},
    };
}

namespace {

void addTextOrNull(JsonObjectWriter &writer, QLatin1StringView key, const QString &text)
{
    if (text.isEmpty())
        writer.addNull(key);
    else
        writer.add(key, text);
}

void addIntOrNull(JsonObjectWriter &writer, QLatin1StringView key, std::optional<int> value)
{
    if (value)
        writer.add(key, *value);
    else
        writer.addNull(key);
}

} // namespace

QByteArray StepRecord::toJsonText() const
{
    // toJson()'s keys in the order QJsonDocument writes them (sorted).
    JsonObjectWriter writer(1024);
    writer.add("atMostOnce"_L1, spec.atMostOnce).add("attempt"_L1, attempt).add("command"_L1, spec.command);
    writer.addTime("createdAt"_L1, createdAt);
    addTextOrNull(writer, "error"_L1, error);
    addIntOrNull(writer, "exitCode"_L1, exitCode);
    writer.addTime("finishedAt"_L1, finishedAt);
    writer.add("id"_L1, id).add("labels"_L1, spec.requirement.labels).add("maskedEnv"_L1, spec.secretNames);
    writer.add("maxAttempts"_L1, spec.maxAttempts).add("name"_L1, spec.name).add("outputBytes"_L1, outputBytes);
    writer.add("outputTruncated"_L1, outputTruncated);
    addTextOrNull(writer, "platform"_L1, spec.requirement.platform);
    writer.addTime("queuedAt"_L1, queuedAt);
    writer.add("requirement"_L1, spec.requirement.text()).add("runId"_L1, runId).add("seq"_L1, seq);
    writer.add("shell"_L1, spec.shell);
    writer.addTime("startedAt"_L1, startedAt);
    writer.add("state"_L1, stepStateName(state));
    addTextOrNull(writer, "target"_L1, spec.requirement.target);
    if (spec.timeoutMs > 0)
        writer.add("timeoutSeconds"_L1, spec.timeoutMs / 1000);
    else
        writer.addNull("timeoutSeconds"_L1);
    writer.addTime("updatedAt"_L1, updatedAt);
    addTextOrNull(writer, "workerName"_L1, workerName);
    return writer.finish();
}

QByteArray LeaseRecord::toJsonText() const
{
    JsonObjectWriter writer(512);
    writer.add("attempt"_L1, attempt);
    writer.addTime("createdAt"_L1, createdAt);
    writer.addTime("endedAt"_L1, endedAt);
    addTextOrNull(writer, "error"_L1, error);
    addIntOrNull(writer, "exitCode"_L1, exitCode);
    writer.add("id"_L1, id).add("runId"_L1, runId);
    writer.addTime("startedAt"_L1, startedAt);
    writer.add("state"_L1, leaseStateName(state)).add("stepId"_L1, stepId);
    writer.addTime("updatedAt"_L1, updatedAt);
    writer.add("workerId"_L1, workerId).add("workerName"_L1, workerName);
    return writer.finish();
}

QJsonObject LeaseRecord::toJson() const
{
    return QJsonObject{
        {QStringLiteral("id"), id},
        {QStringLiteral("stepId"), stepId},
        {QStringLiteral("runId"), runId},
        {QStringLiteral("workerId"), workerId},
        {QStringLiteral("workerName"), workerName},
        {QStringLiteral("attempt"), attempt},
        {QStringLiteral("state"), leaseStateName(state)},
        {QStringLiteral("error"), orNull(error)},
        {QStringLiteral("exitCode"), exitCode ? QJsonValue(*exitCode) : QJsonValue(QJsonValue::Null)},
        {QStringLiteral("createdAt"), isoUtcOrNull(createdAt)},
        {QStringLiteral("startedAt"), isoUtcOrNull(startedAt)},
        {QStringLiteral("endedAt"), isoUtcOrNull(endedAt)},
        {QStringLiteral("updatedAt"), isoUtcOrNull(updatedAt)},
    };
}

QJsonObject RunRecord::toJson() const
{
    return QJsonDocument::fromJson(toJsonText()).object();
}

QByteArray RunRecord::toJsonText() const
{
    JsonObjectWriter writer;
    writer.add("id"_L1, id).add("name"_L1, name).add("state"_L1, stepStateName(state));
    for (const auto &[key, when] : {std::pair{"createdAt"_L1, &createdAt}, std::pair{"updatedAt"_L1, &updatedAt},
                                    std::pair{"finishedAt"_L1, &finishedAt}}) {
        if (when->isValid())
            writer.add(key, isoUtc(*when));
        else
            writer.addNull(key);
    }
    return writer.finish();
}

StepState runStateFrom(const QList<StepState> &steps)
{
    bool anyStarted = false;
    bool anyOpen = false;
    bool failed = false, timedOut = false, cancelled = false;
    for (StepState state : steps) {
        if (!isTerminal(state)) {
            anyOpen = true;
            if (state != StepState::Queued)
                anyStarted = true;
        } else {
            anyStarted = true;
        }
        failed |= state == StepState::Failed;
        timedOut |= state == StepState::TimedOut;
        cancelled |= state == StepState::Cancelled;
    }
    if (anyOpen)
        return anyStarted ? StepState::Running : StepState::Queued;
    if (failed)
        return StepState::Failed;
    if (timedOut)
        return StepState::TimedOut;
    if (cancelled)
        return StepState::Cancelled;
    return StepState::Succeeded;
}

} // namespace Swamp
