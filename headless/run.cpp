#include "cli.h"

#include "client/stepfollower.h"
#include "common/duration.h"
#include "common/files.h"
#include "common/ids.h"
#include "common/secretmasker.h"
#include "common/signalwatcher.h"
#include "common/table.h"
#include "common/text.h"
#include "model/step.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QEventLoop>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTimer>

#include <cstdio>
#include <csignal>

namespace Swamp::Cli {

namespace {

void writeRaw(FILE *stream, const QString &text)
{
    const QByteArray bytes = text.toUtf8();
    std::fwrite(bytes.constData(), 1, size_t(bytes.size()), stream);
    std::fflush(stream);
}

// Follows steps until each is terminal, printing output as it arrives. With several steps each
// line is prefixed with the step's name. Survives an orchestrator restart: it reconnects and
// resumes after the last chunk it printed. What it follows, and from where, is a StepFollower's
// (core/client, shared with the console); this prints.
class Follower
{
public:
    // How `swamp run` follows; `run logs --follow` is quiet and ignores Ctrl-C (nothing to cancel).
    struct Options
    {
        bool prefix = false;
        bool quiet = false;
        bool json = false;              // NDJSON: one object a line (docs/operations.md)
        bool interruptible = false;     // Ctrl-C detaches, twice cancels
        bool cancelOnInterrupt = false; // Ctrl-C cancels at once
    };

    Follower(AdminEndpoint endpoint, QStringList stepIds, Options options)
        : m_endpoint(std::move(endpoint)), m_stepIds(stepIds), m_json(options.json), m_options(options),
          m_prefix(options.prefix), m_quiet(options.quiet)
    {
        for (const QString &id : stepIds)
            m_follower.follow(id);
        QObject::connect(&m_follower, &StepFollower::output, &m_follower,
                         [this](const QString &stepId, const QJsonObject &chunk, bool) {
                             if (m_detached)
                                 return;
                             if (m_json) {
                                 QJsonObject line = chunk;
                                 line.insert(QStringLiteral("type"), QStringLiteral("output"));
                                 line.insert(QStringLiteral("stepId"), stepId);
                                 printJsonLine(line);
                                 return;
                             }
                             print(m_view[stepId], chunk.value(QStringLiteral("stream")).toString() == u"stderr",
                                   chunk.value(QStringLiteral("data")).toString());
                         });
        QObject::connect(&m_follower, &StepFollower::stepUpdated, &m_follower,
                         [this](const QString &stepId, const QJsonObject &step, const QString &previous) {
                             stepUpdated(stepId, step, previous);
                         });
        QObject::connect(&m_follower, &StepFollower::ended, &m_follower,
                         [this](const QString &stepId, const QJsonObject &step) { ended(stepId, step); });
    }

    // Returns the exit code: the step's, or 1 with a reason.
    int run()
    {
        QEventLoop loop;
        m_loop = &loop;
        std::unique_ptr<SignalWatcher> signals;
        if (m_options.interruptible) {
            signals = std::make_unique<SignalWatcher>();
            QObject::connect(signals.get(), &SignalWatcher::terminationRequested, &loop,
                             [this](int signalNumber, int) { interrupted(signalNumber); });
        }
        connectAndFollow();
        loop.exec();
        if (m_json)
            printJsonLine(resultLine());
        return m_exitCode;
    }

private:
    // How a step is shown: its name, and what of its output lines is not printed yet (--prefix).
    struct View
    {
        int announcedAttempt = 0;
        QString name;
        bool named = false; // a step frame came: lines are prefixed with `name` from then on
        QString partial[2];
    };

    void connectAndFollow()
    {
        m_client = std::make_unique<AdminClient>(m_endpoint);
        QObject::connect(m_client.get(), &AdminClient::frameReceived, m_client.get(), [this](const QJsonObject &frame) {
            m_lastContactMs = QDateTime::currentMSecsSinceEpoch();
            m_follower.handleFrame(frame);
        });
        QObject::connect(m_client.get(), &AdminClient::disconnected, m_client.get(), [this](const Error &error) {
            if (m_follower.allEnded())
                return;
            if (QDateTime::currentMSecsSinceEpoch() - m_lastContactMs > 120000) {
                err(QStringLiteral("error: ") + error.text());
                finish(1);
                return;
            }
            if (!m_quiet)
                err(QStringLiteral("swamp: lost the orchestrator (%1); reconnecting").arg(error.message));
            QTimer::singleShot(1000, m_loop, [this] {
                m_client.release()->deleteLater();
                connectAndFollow();
            });
        });
        m_lastContactMs = QDateTime::currentMSecsSinceEpoch();
        for (const QJsonObject &params : m_follower.followRequests()) {
            const QString id = params.value(QStringLiteral("id")).toString();
            m_client->request(QStringLiteral("run.follow"), params, [this, id](const Result<QJsonObject> &result) {
                if (result) {
                    m_lastContactMs = QDateTime::currentMSecsSinceEpoch();
                } else if (result.error().code != u"unreachable") {
                    err(QStringLiteral("error: ") + result.error().text());
                    m_follower.abandon(id);
                    m_exitCode = std::max(m_exitCode, 1);
                    if (m_follower.allEnded())
                        finish(m_exitCode);
                }
            });
        }
    }

    void stepUpdated(const QString &stepId, const QJsonObject &step, const QString &previous)
    {
        View &view = m_view[stepId];
        view.name = printable(step.value(QStringLiteral("name")).toString());
        if (!std::exchange(view.named, true)) {
            // A follow sends the stored output before the step: its lines waited for the name.
            print(view, false, QString());
            print(view, true, QString());
        }
        const QString state = step.value(QStringLiteral("state")).toString();
        m_states.insert(stepId, step);
        if (m_json) {
            if (!m_detached)
                printJsonLine({{QStringLiteral("type"), QStringLiteral("step")}, {QStringLiteral("step"), step}});
            return;
        }
        const int attempt = step.value(QStringLiteral("attempt")).toInt();
        const QString workerName = step.value(QStringLiteral("workerName")).toString();
        // Each attempt's worker is named once, also when the step was already past `dispatched`
        // (or finished) by the time this client subscribed.
        if (!m_quiet && attempt > view.announcedAttempt && !workerName.isEmpty()) {
            view.announcedAttempt = attempt;
            err(QStringLiteral("swamp: step %1 (%2) dispatched to %3 (attempt %4/%5)")
                    .arg(shortId(stepId), view.name, printable(workerName))
                    .arg(attempt)
                    .arg(step.value(QStringLiteral("maxAttempts")).toInt()));
        }
        if (state == previous || m_quiet)
            return;
        const QString id8 = shortId(stepId);
        if (state == u"queued" && !previous.isEmpty() && previous != u"queued") {
            err(QStringLiteral("swamp: step %1 (%2) requeued").arg(id8, view.name));
        } else if (state == u"queued") {
            err(QStringLiteral("swamp: step %1 (%2) queued for %3")
                    .arg(id8, view.name, printable(step.value(QStringLiteral("requirement")).toString())));
        }
    }

    void ended(const QString &stepId, const QJsonObject &step)
    {
        View &view = m_view[stepId];
        for (int i = 0; i < 2; ++i) {
            if (!view.partial[i].isEmpty())
                print(view, i == 1, QStringLiteral("\n"));
        }
        const QString state = step.value(QStringLiteral("state")).toString();
        m_states.insert(stepId, step);
        const QJsonValue exitCode = step.value(QStringLiteral("exitCode"));
        int code = 1;
        if (state == u"succeeded")
            code = 0;
        else if (state == u"failed" && exitCode.isDouble())
            code = exitCode.toInt();
        if (m_json && !m_detached)
            printJsonLine({{QStringLiteral("type"), QStringLiteral("ended")}, {QStringLiteral("step"), step}});
        if (state != u"succeeded" && !m_json) {
            err(QStringLiteral("swamp: step %1 (%2) %3: %4")
                    .arg(shortId(stepId), view.name, state, printable(step.value(QStringLiteral("error")).toString())));
        }
        if (m_firstFailure == 0 && code != 0)
            m_firstFailure = code;
        if (m_follower.allEnded() && !m_cancelling)
            finish(m_firstFailure);
    }

    // The last NDJSON line: how it ended, with each step's state and exit code.
    QJsonObject resultLine() const
    {
        QJsonArray steps;
        for (const QString &id : m_stepIds) {
            const QJsonObject step = m_states.value(id);
            steps << QJsonObject{{QStringLiteral("id"), id}, {QStringLiteral("state"), step.value(QStringLiteral("state"))},
                                 {QStringLiteral("exitCode"), step.value(QStringLiteral("exitCode"))}};
        }
        QJsonObject line{{QStringLiteral("type"), QStringLiteral("result")},
                         {QStringLiteral("exitCode"), m_exitCode},
                         {QStringLiteral("steps"), steps}};
        if (m_detached)
            line.insert(QStringLiteral("detached"), true);
        return line;
    }

    // The steps not ended yet.
    QStringList openSteps() const
    {
        QStringList open;
        for (const QString &id : m_stepIds) {
            if (!m_follower.isEnded(id))
                open << id;
        }
        return open;
    }

    // Ctrl-C (or SIGTERM): the first detaches and leaves the steps running; a second within
    // InterruptWindowMs, or the first with --cancel-on-interrupt, cancels them.
    void interrupted(int signalNumber)
    {
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        if (m_cancelling) {
            finish(ExitInterrupted); // a third: stop waiting for the acknowledgement
            return;
        }
        const bool second = m_detached && now - m_detachedAtMs <= InterruptWindowMs;
        if (signalNumber == SIGINT && (second || m_options.cancelOnInterrupt)) {
            cancelOpenSteps();
            return;
        }
        if (m_detached)
            return;
        m_detached = true;
        m_detachedAtMs = now;
        for (const QString &id : openSteps()) {
            err(QStringLiteral("detached; step %1 keeps running — swamp run cancel %1 to stop it").arg(shortId(id)));
        }
        if (signalNumber == SIGINT)
            err(QStringLiteral("swamp: press Ctrl-C again within %1 s to cancel it").arg(InterruptWindowMs / 1000));
        m_exitCode = ExitInterrupted;
        QTimer::singleShot(signalNumber == SIGINT ? InterruptWindowMs : 0, m_loop, [this] {
            if (!m_cancelling)
                finish(ExitInterrupted);
        });
    }

    // run.cancel of every open step, on a connection of its own (the following one may be
    // reconnecting); exits once the orchestrator acknowledged it.
    void cancelOpenSteps()
    {
        m_cancelling = true;
        m_detached = true;
        const QStringList open = openSteps();
        int code = ExitFailed;
        for (const QString &id : open) {
            err(QStringLiteral("swamp: cancelling step %1").arg(shortId(id)));
            auto cancelled = AdminClient(m_endpoint).call(QStringLiteral("run.cancel"), {{QStringLiteral("id"), id}});
            if (!cancelled) {
                err(QStringLiteral("error: step %1 was not cancelled: %2 — swamp run cancel %1 to stop it")
                        .arg(shortId(id), cancelled.error().text()));
                code = ExitInterrupted;
                continue;
            }
            err(QStringLiteral("swamp: step %1 cancelled (acknowledged by the orchestrator)").arg(shortId(id)));
        }
        finish(code);
    }

    void print(View &view, bool isErr, const QString &data)
    {
        FILE *stream = isErr ? stderr : stdout;
        if (!m_prefix) {
            writeRaw(stream, data);
            return;
        }
        QString &partial = view.partial[isErr ? 1 : 0];
        partial += data;
        if (!view.named)
            return; // printed once the step's name is known (stepUpdated())
        qsizetype newline;
        while ((newline = partial.indexOf(u'\n')) >= 0) {
            writeRaw(stream, QStringLiteral("[%1] ").arg(view.name) + partial.left(newline + 1));
            partial.remove(0, newline + 1);
        }
    }

    void finish(int code)
    {
        m_exitCode = code;
        if (m_loop)
            m_loop->quit();
    }

    static constexpr int InterruptWindowMs = 2000;
    static constexpr int ExitInterrupted = 130;

    AdminEndpoint m_endpoint;
    QStringList m_stepIds;
    QHash<QString, QJsonObject> m_states; // the last record of each step
    bool m_json = false;
    Options m_options;
    bool m_detached = false;
    bool m_cancelling = false;
    qint64 m_detachedAtMs = 0;
    std::unique_ptr<AdminClient> m_client;
    StepFollower m_follower;
    QHash<QString, View> m_view;
    QEventLoop *m_loop = nullptr;
    bool m_prefix = false;
    bool m_quiet = false;
    int m_exitCode = 0;
    int m_firstFailure = 0;
    qint64 m_lastContactMs = 0;
};

// `--secret-env` items and a run file's "secretEnv" entries: NAME (the value of NAME in this
// environment) or NAME=@FILE (the content of FILE, without one trailing newline). A value is never
// taken from the command line itself: it would be in ps and the shell's history.
Result<QJsonObject> resolveSecretEnv(const QStringList &items, const QString &origin)
{
    const auto invalid = [&](const QString &why, const QString &fix) {
        return fail(QStringLiteral("invalid_step"), QStringLiteral("%1 %2").arg(origin, why), fix);
    };
    QJsonObject values;
    for (const QString &item : items) {
        const qsizetype eq = item.indexOf(u'=');
        const QString name = eq < 0 ? item : item.left(eq);
        if (name.isEmpty() || name.startsWith(u"SWAMP_") || hasUnsafeCharacters(name))
            return invalid(QStringLiteral("\"%1\": not a variable name").arg(printable(name)),
                           QStringLiteral("name a variable, as in --secret-env API_TOKEN"));
        QString value;
        if (eq < 0) {
            if (!qEnvironmentVariableIsSet(name.toLocal8Bit().constData()))
                return invalid(QStringLiteral("%1: %1 is not set in this environment").arg(name),
                               QStringLiteral("export %1 first, or pass %1=@FILE to read it from a file").arg(name));
            value = qEnvironmentVariable(name.toLocal8Bit().constData());
        } else if (item.mid(eq + 1).startsWith(u'@')) {
            auto bytes = readFile(item.mid(eq + 2));
            if (!bytes)
                return fail(bytes.error());
            if (bytes->endsWith('\n'))
                bytes->chop(bytes->endsWith("\r\n") ? 2 : 1);
            value = QString::fromUtf8(*bytes);
        } else {
            return invalid(QStringLiteral("%1: a value on the command line would be visible in ps and the shell's history").arg(name),
                           QStringLiteral("pass --secret-env %1 with %1 exported, or %1=@FILE").arg(name));
        }
        if (value.size() < SecretMasker::MinimumLength)
            err(QStringLiteral("warning: the value of %1 is shorter than %2 characters: it is not masked in the output")
                    .arg(name)
                    .arg(SecretMasker::MinimumLength));
        values.insert(name, value);
    }
    return values;
}

Result<QJsonObject> readRunFile(const QString &path)
{
    auto bytes = readFile(path);
    if (!bytes)
        return fail(bytes.error());
    QJsonParseError error;
    const QJsonDocument document = QJsonDocument::fromJson(*bytes, &error);
    const auto invalid = [&](const QString &why) {
        return fail(QStringLiteral("invalid_step"), QStringLiteral("%1: %2").arg(path, why),
                    QStringLiteral("see the run file format in docs/operations.md"));
    };
    if (error.error != QJsonParseError::NoError)
        return invalid(QStringLiteral("not valid JSON at offset %1: %2").arg(error.offset).arg(error.errorString()));
    QJsonObject run = document.isArray() ? QJsonObject{{QStringLiteral("steps"), document.array()}} : document.object();
    if (!run.value(QStringLiteral("steps")).isArray())
        return invalid(QStringLiteral("expected {\"name\": ..., \"steps\": [...]} or a list of steps"));
    const QString unknown =
        unknownField(run, {QStringLiteral("name"), QStringLiteral("steps")}, QStringLiteral("a run"));
    if (!unknown.isEmpty())
        return invalid(unknown);
    // A run file names its secret variables; their values come from this environment or files.
    QJsonArray steps = run.value(QStringLiteral("steps")).toArray();
    for (qsizetype i = 0; i < steps.size(); ++i) {
        QJsonObject step = steps.at(i).toObject();
        const QJsonValue secrets = step.value(QStringLiteral("secretEnv"));
        if (secrets.isUndefined() || secrets.isNull())
            continue;
        const auto notNames = [&] {
            return invalid(QStringLiteral("step %1: \"secretEnv\" lists variable names (NAME or NAME=@FILE); a run file "
                                          "never holds secret values").arg(i + 1));
        };
        if (!secrets.isArray())
            return notNames();
        QStringList items;
        for (const QJsonValue &item : secrets.toArray()) {
            if (!item.isString())
                return notNames();
            items << item.toString();
        }
        auto values = resolveSecretEnv(items, QStringLiteral("%1: step %2: secretEnv").arg(path).arg(i + 1));
        if (!values)
            return fail(values.error());
        step.insert(QStringLiteral("secretEnv"), *values);
        steps.replace(i, step);
    }
    // Checked here as the orchestrator will check them, so a mistake is reported before anything
    // is submitted (exit 2), with the step it is in.
    for (qsizetype i = 0; i < steps.size(); ++i) {
        if (auto spec = StepSpec::fromJson(steps.at(i).toObject()); !spec) {
            Error error = spec.error();
            error.message = QStringLiteral("%1: step %2: %3").arg(path).arg(i + 1).arg(error.message);
            return fail(error);
        }
    }
    run.insert(QStringLiteral("steps"), steps);
    return run;
}

void addRunOptions(QCommandLineParser &parser)
{
    addAdminOptions(parser);
    parser.addPositionalArgument(QStringLiteral("--"), QStringLiteral("The command and its arguments."), QStringLiteral("-- CMD [ARGS...]"));
    parser.addOptions({
        {QStringLiteral("target"), QStringLiteral("Run on this worker (name or instance id)."), QStringLiteral("worker")},
        {QStringLiteral("label"), QStringLiteral("Run on a worker with this label (exact, repeatable, all must match)."), QStringLiteral("k=v")},
        {QStringLiteral("platform"), QStringLiteral("Run on this platform: linux or linux/x86_64."), QStringLiteral("os[/arch]")},
        {QStringLiteral("queue-timeout"), QStringLiteral("How long to wait for a matching worker (default: the orchestrator's, 10m)."), QStringLiteral("dur")},
        {QStringLiteral("timeout"), QStringLiteral("Kill the step after this long; it ends timed_out."), QStringLiteral("dur")},
        {QStringLiteral("attempts"), QStringLiteral("Dispatch attempts when workers die (default 3)."), QStringLiteral("N"), QStringLiteral("3")},
        {QStringLiteral("at-most-once"), QStringLiteral("Never run again once started, even if its worker dies.")},
        {QStringLiteral("shell"), QStringLiteral("Run the command with /bin/sh -c (one string).")},
        {QStringLiteral("env"), QStringLiteral("Environment variable for the step, repeatable."), QStringLiteral("K=V")},
        {QStringLiteral("secret-env"), QStringLiteral("Secret variable for the step, repeatable: NAME takes its value from this "
                                                      "environment, NAME=@FILE from a file. Never stored or logged; masked in "
                                                      "the output."),
         QStringLiteral("NAME[=@FILE]")},
        {QStringLiteral("name"), QStringLiteral("Name of the step (default: the command)."), QStringLiteral("name")},
        {QStringLiteral("file"), QStringLiteral("Submit the steps of a run file (JSON; see docs/operations.md)."), QStringLiteral("path")},
        {QStringLiteral("detach"), QStringLiteral("Print the step id(s) and return at once.")},
        {QStringLiteral("cancel-on-interrupt"), QStringLiteral("Ctrl-C cancels the step(s) instead of detaching.")},
    });
}

// The read* functions below each fill part of a step or submission from the parser; on a mistake
// they print it, set `exitCode` and return false.

// --timeout, --queue-timeout and --attempts.
bool readStepLimits(const QCommandLineParser &parser, const QString &command, StepSpec *step, int *exitCode)
{
    for (const auto &[name, out] : {std::pair{"timeout", &step->timeoutMs}, std::pair{"queue-timeout", &step->queueTimeoutMs}}) {
        if (!parser.isSet(QLatin1String(name)))
            continue;
        auto ms = parseDurationMs(parser.value(QLatin1String(name)));
        if (!ms) {
            *exitCode = usageError(QStringLiteral("--%1: %2").arg(QLatin1String(name), ms.error().text()), command);
            return false;
        }
        *out = *ms;
    }
    bool ok = false;
    step->maxAttempts = parser.value(QStringLiteral("attempts")).toInt(&ok);
    if (!ok || step->maxAttempts < 1 || step->maxAttempts > MaxStepAttempts) {
        *exitCode = usageError(QStringLiteral("--attempts must be a whole number from 1 to %1").arg(MaxStepAttempts), command);
        return false;
    }
    return true;
}

// --env and --secret-env.
bool readStepEnvironment(const QCommandLineParser &parser, const QString &command, StepSpec *step, int *exitCode)
{
    for (const QString &item : parser.values(QStringLiteral("env"))) {
        const qsizetype eq = item.indexOf(u'=');
        if (eq <= 0) {
            *exitCode = usageError(QStringLiteral("--env takes K=V, got \"%1\"").arg(item), command);
            return false;
        }
        step->env.insert(item.left(eq), item.mid(eq + 1));
    }
    if (parser.isSet(QStringLiteral("secret-env"))) {
        auto secrets = resolveSecretEnv(parser.values(QStringLiteral("secret-env")), QStringLiteral("--secret-env"));
        if (!secrets) {
            *exitCode = usageError(secrets.error().text(), command);
            return false;
        }
        step->secretEnv = *secrets;
    }
    return true;
}

// The one step of `swamp run [options] -- CMD [ARGS...]`.
bool readCommandStep(const QCommandLineParser &parser, const QString &command, StepSpec *step, int *exitCode)
{
    const QStringList argv = parser.positionalArguments();
    if (argv.isEmpty()) {
        *exitCode = usageError(QStringLiteral("missing command — put it after --, e.g. swamp run -- uname -a"), command);
        return false;
    }
    step->shell = parser.isSet(QStringLiteral("shell"));
    step->command = step->shell ? QStringList{argv.join(u' ')} : argv;
    step->name = parser.value(QStringLiteral("name"));
    step->requirement.target = parser.value(QStringLiteral("target"));
    auto labels = parseLabels(parser.values(QStringLiteral("label")));
    if (!labels) {
        *exitCode = usageError(labels.error().text(), command);
        return false;
    }
    step->requirement.labels = *labels;
    step->requirement.platform = parser.value(QStringLiteral("platform"));
    if (!readStepLimits(parser, command, step, exitCode))
        return false;
    step->atMostOnce = parser.isSet(QStringLiteral("at-most-once"));
    return readStepEnvironment(parser, command, step, exitCode);
}

// What run.submit is sent: the steps of --file, or the one step of the command line.
bool readSubmission(const QCommandLineParser &parser, const QString &command, QJsonObject *params, int *exitCode)
{
    if (parser.isSet(QStringLiteral("file"))) {
        if (!parser.positionalArguments().isEmpty()) {
            *exitCode = usageError(QStringLiteral("--file and a command do not go together"), command);
            return false;
        }
        auto file = readRunFile(parser.value(QStringLiteral("file")));
        if (!file) {
            *exitCode = usageError(file.error().text(), command);
            return false;
        }
        *params = *file;
        return true;
    }
    StepSpec step;
    if (!readCommandStep(parser, command, &step, exitCode))
        return false;
    params->insert(QStringLiteral("steps"), QJsonArray{step.toSubmission()});
    return true;
}

// Once submitted: says why each step that cannot start now waits (run.status's waitReason),
// once; a step that starts is not mentioned.
void printWaitReasons(AdminClient &client, const QString &runId, bool json)
{
    auto status = client.call(QStringLiteral("run.status"), {{QStringLiteral("id"), runId}});
    if (!status)
        return; // following reports what matters
    for (const QJsonValue &value : status->value(QStringLiteral("steps")).toArray()) {
        const QJsonObject step = value.toObject();
        const QJsonObject reason = step.value(QStringLiteral("waitReason")).toObject();
        if (reason.isEmpty())
            continue;
        const QString id = step.value(QStringLiteral("id")).toString();
        if (json) {
            printJsonLine({{QStringLiteral("type"), QStringLiteral("waiting")}, {QStringLiteral("stepId"), id},
                           {QStringLiteral("waitReason"), reason}});
        } else {
            err(QStringLiteral("swamp: step %1 (%2) waits: %3")
                    .arg(shortId(id), printable(step.value(QStringLiteral("name")).toString()),
                         printable(reason.value(QStringLiteral("message")).toString())));
        }
    }
}

// Submits the steps; with --detach prints their ids, else follows them to their end (with --json
// as NDJSON lines).
int submitAndFollow(const QCommandLineParser &parser, const QJsonObject &params, bool json)
{
    auto endpoint = adminEndpoint(parser);
    if (!endpoint)
        return failure(endpoint.error(), json);
    AdminClient client(*endpoint);
    auto submitted = client.call(QStringLiteral("run.submit"), params);
    const bool detach = parser.isSet(QStringLiteral("detach"));
    if (!submitted) {
        if (json && !detach) {
            printJsonLine({{QStringLiteral("type"), QStringLiteral("error")}, {QStringLiteral("error"), submitted.error().toJson()}});
            return failure(submitted.error(), false);
        }
        return failure(submitted.error(), json);
    }
    QStringList stepIds;
    for (const QJsonValue &id : submitted->value(QStringLiteral("stepIds")).toArray())
        stepIds << id.toString();
    if (detach) {
        if (json)
            printJson(*submitted);
        else
            out(stepIds.join(u'\n'));
        return ExitOk;
    }
    if (json) {
        QJsonObject line = *submitted;
        line.insert(QStringLiteral("type"), QStringLiteral("submitted"));
        printJsonLine(line);
    }
    printWaitReasons(client, submitted->value(QStringLiteral("runId")).toString(), json);
    client.close();
    Follower::Options options;
    options.prefix = stepIds.size() > 1;
    options.json = json;
    options.interruptible = true;
    options.cancelOnInterrupt = parser.isSet(QStringLiteral("cancel-on-interrupt"));
    Follower follower(*endpoint, stepIds, options);
    return follower.run();
}

} // namespace

int runRun(const QStringList &arguments)
{
    const QString command = QStringLiteral("run");
    QCommandLineParser parser;
    addRunOptions(parser);
    int exitCode = 0;
    if (!parse(parser, arguments, command, QStringLiteral("Run a command as a step on a worker."),
               QStringLiteral("  swamp run -- uname -a\n  swamp run --label region=eu --timeout 10m -- make test\n"
                              "  swamp run --shell -- 'echo $HOME; ls'\n  swamp run --file run.json --detach\n"),
               &exitCode))
        return exitCode;
    const bool json = parser.isSet(QStringLiteral("json"));
    QJsonObject params;
    if (!readSubmission(parser, command, &params, &exitCode))
        return exitCode;
    return submitAndFollow(parser, params, json);
}

int runRunStatus(const QStringList &arguments)
{
    const QString command = QStringLiteral("run status");
    QCommandLineParser parser;
    addAdminOptions(parser);
    parser.addPositionalArgument(QStringLiteral("id"), QStringLiteral("A step id or a run id, or a unique part of one: its first or last 4+ characters."));
    int exitCode = 0;
    if (!parse(parser, arguments, command, QStringLiteral("Show a run's steps and their leases."),
               QStringLiteral("  swamp run status 3f2a9c1e-...\n"), &exitCode))
        return exitCode;
    const bool json = parser.isSet(QStringLiteral("json"));
    if (parser.positionalArguments().size() != 1)
        return usageError(QStringLiteral("name one step or run id"), command);
    auto result = adminCall(parser, QStringLiteral("run.status"), {{QStringLiteral("id"), parser.positionalArguments().first()}});
    if (!result)
        return failure(result.error(), json);
    if (json) {
        printJson(*result);
        return ExitOk;
    }
    const QJsonObject run = result->value(QStringLiteral("run")).toObject();
    out(QStringLiteral("Run %1 (%2): %3").arg(printable(run.value(QStringLiteral("id")).toString()),
                                               printable(run.value(QStringLiteral("name")).toString()),
                                               colourStatus(run.value(QStringLiteral("state")).toString())));
    TextTable table({QStringLiteral("STEP"), QStringLiteral("NAME"), QStringLiteral("STATE"), QStringLiteral("WORKER"),
                     QStringLiteral("ATTEMPT"), QStringLiteral("EXIT"), QStringLiteral("ERROR")});
    colourStatusColumn(table, 2);
    QStringList waiting; // why each queued step waits, under the table
    for (const QJsonValue &value : result->value(QStringLiteral("steps")).toArray()) {
        const QJsonObject s = value.toObject();
        const QJsonValue exit = s.value(QStringLiteral("exitCode"));
        table.addRow({s.value(QStringLiteral("id")).toString(), s.value(QStringLiteral("name")).toString(),
                      s.value(QStringLiteral("state")).toString(),
                      s.value(QStringLiteral("workerName")).toString(QStringLiteral("-")),
                      QStringLiteral("%1/%2").arg(s.value(QStringLiteral("attempt")).toInt()).arg(s.value(QStringLiteral("maxAttempts")).toInt()),
                      exit.isDouble() ? QString::number(exit.toInt()) : QStringLiteral("-"),
                      s.value(QStringLiteral("error")).toString(QStringLiteral("-"))});
        const QString waits = s.value(QStringLiteral("waitReason")).toObject().value(QStringLiteral("message")).toString();
        if (!waits.isEmpty())
            waiting << QStringLiteral("step %1 waits: %2").arg(shortId(s.value(QStringLiteral("id")).toString()), printable(waits));
    }
    out(table.render());
    if (!waiting.isEmpty())
        out(waiting.join(u'\n'));
    return ExitOk;
}

namespace {

// The step ids of a run.logs result: its step's, or (a run) each of its steps'.
QStringList stepIdsOf(const QJsonObject &logs)
{
    if (logs.contains(QStringLiteral("step")))
        return {logs.value(QStringLiteral("step")).toObject().value(QStringLiteral("id")).toString()};
    QStringList ids;
    for (const QJsonValue &entry : logs.value(QStringLiteral("steps")).toArray())
        ids << entry.toObject().value(QStringLiteral("step")).toObject().value(QStringLiteral("id")).toString();
    return ids;
}

void printChunks(const QJsonArray &chunks)
{
    for (const QJsonValue &chunk : chunks) {
        const QJsonObject c = chunk.toObject();
        writeRaw(c.value(QStringLiteral("stream")).toString() == u"stderr" ? stderr : stdout, c.value(QStringLiteral("data")).toString());
    }
}

// run.logs of a run: each step's output under a header line naming it.
void printRunLogs(const QJsonObject &logs)
{
    for (const QJsonValue &entry : logs.value(QStringLiteral("steps")).toArray()) {
        const QJsonObject step = entry.toObject().value(QStringLiteral("step")).toObject();
        const QJsonValue exit = step.value(QStringLiteral("exitCode"));
        out(QStringLiteral("==> step %1 (%2): %3%4 <==")
                .arg(shortId(step.value(QStringLiteral("id")).toString()), printable(step.value(QStringLiteral("name")).toString()),
                     printable(step.value(QStringLiteral("state")).toString()),
                     exit.isDouble() ? QStringLiteral(", exit %1").arg(exit.toInt()) : QString()));
        const QJsonArray chunks = entry.toObject().value(QStringLiteral("chunks")).toArray();
        printChunks(chunks);
        const QString last = chunks.isEmpty() ? QString() : chunks.last().toObject().value(QStringLiteral("data")).toString();
        if (!last.isEmpty() && !last.endsWith(u'\n'))
            writeRaw(stdout, QStringLiteral("\n"));
    }
}

} // namespace

int runRunLogs(const QStringList &arguments)
{
    const QString command = QStringLiteral("run logs");
    QCommandLineParser parser;
    addAdminOptions(parser);
    parser.addPositionalArgument(QStringLiteral("id"), QStringLiteral("A step id or a run id (or a unique part of one)."));
    parser.addOption({QStringLiteral("follow"), QStringLiteral("Keep printing output until the step(s) end.")});
    int exitCode = 0;
    if (!parse(parser, arguments, command, QStringLiteral("Print a step's output, or each step's of a run."),
               QStringLiteral("  swamp run logs 3f2a9c1e-... --follow\n  swamp run logs 9c1e04b2\n"), &exitCode))
        return exitCode;
    const bool json = parser.isSet(QStringLiteral("json"));
    if (parser.positionalArguments().size() != 1)
        return usageError(QStringLiteral("name one step or run id"), command);
    const QString id = parser.positionalArguments().first();
    if (parser.isSet(QStringLiteral("follow")) && !json) {
        auto endpoint = adminEndpoint(parser);
        if (!endpoint)
            return failure(endpoint.error(), json);
        auto step = AdminClient(*endpoint).call(QStringLiteral("run.logs"), {{QStringLiteral("id"), id}, {QStringLiteral("after"), 1 << 30}});
        if (!step)
            return failure(step.error(), json);
        const QStringList ids = stepIdsOf(*step);
        Follower::Options options;
        options.quiet = true;
        options.prefix = ids.size() > 1;
        Follower follower(*endpoint, ids, options);
        follower.run();
        return ExitOk;
    }
    auto result = adminCall(parser, QStringLiteral("run.logs"), {{QStringLiteral("id"), id}});
    if (!result)
        return failure(result.error(), json);
    if (json)
        printJson(*result);
    else if (result->contains(QStringLiteral("steps")))
        printRunLogs(*result);
    else
        printChunks(result->value(QStringLiteral("chunks")).toArray());
    return ExitOk;
}

int runRunCancel(const QStringList &arguments)
{
    const QString command = QStringLiteral("run cancel");
    QCommandLineParser parser;
    addAdminOptions(parser);
    parser.addPositionalArgument(QStringLiteral("id"), QStringLiteral("A step id or a run id, or a unique part of one: its first or last 4+ characters."));
    int exitCode = 0;
    if (!parse(parser, arguments, command, QStringLiteral("Cancel a step or every open step of a run."),
               QStringLiteral("  swamp run cancel 3f2a9c1e-...\n"), &exitCode))
        return exitCode;
    const bool json = parser.isSet(QStringLiteral("json"));
    if (parser.positionalArguments().size() != 1)
        return usageError(QStringLiteral("name one step or run id"), command);
    auto result = adminCall(parser, QStringLiteral("run.cancel"), {{QStringLiteral("id"), parser.positionalArguments().first()}});
    if (!result)
        return failure(result.error(), json);
    if (json) {
        printJson(*result);
        return ExitOk;
    }
    const QJsonArray cancelled = result->value(QStringLiteral("cancelled")).toArray();
    out(cancelled.isEmpty() ? QStringLiteral("Nothing to cancel: it has already finished.")
                            : QStringLiteral("Cancelling %1 step(s).").arg(cancelled.size()));
    return ExitOk;
}

} // namespace Swamp::Cli
