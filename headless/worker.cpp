#include "cli.h"

#include "common/duration.h"
#include "common/files.h"
#include "common/loglevel.h"
#include "common/signalwatcher.h"
#include "common/table.h"
#include "common/text.h"
#include "common/urls.h"
#include "model/token.h"
#include "model/worker.h"
#include "protocol/enrollrequest.h"
#include "tls/tlscredentials.h"
#include "worker/processsecrets.h"
#include "worker/workeragent.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QJsonArray>
#include <QThread>

namespace Swamp::Cli {

namespace {

void addConnectOptions(QCommandLineParser &parser)
{
    parser.addPositionalArgument(QStringLiteral("url"), QStringLiteral("Orchestrator URL, ws:// or wss:// (env SWAMP_ORCHESTRATOR_URL); several "
                                                                "orchestrators of a fleet: repeat it or separate with commas."),
                                 QStringLiteral("url..."));
    parser.addOptions({
        {QStringLiteral("token"), QStringLiteral("Enrollment token <name>.<secret> (env SWAMP_WORKER_TOKEN)."), QStringLiteral("token")},
        {QStringLiteral("token-file"), QStringLiteral("File holding the token (env SWAMP_WORKER_TOKEN_FILE)."), QStringLiteral("path")},
        {QStringLiteral("cache-dir"), QStringLiteral("Stable directory for the machine identity (env SWAMP_WORKER_CACHE_DIR)."), QStringLiteral("dir")},
        {QStringLiteral("step-user"), QStringLiteral("Run steps as this unprivileged user, which cannot read the token, the cache dir "
                                                     "or the worker's memory (env SWAMP_WORKER_STEP_USER; the worker runs as root)."),
         QStringLiteral("user")},
        {QStringLiteral("label"), QStringLiteral("Label k=v, repeatable (env SWAMP_WORKER_LABELS=k=v,k=v). For a key an operator "
                                                 "set or removed with 'swamp worker label', the operator's record wins."),
         QStringLiteral("k=v")},
        {QStringLiteral("name"), QStringLiteral("Worker name, unique in the orchestrator: 1-63 of a-z, 0-9, '-' (env SWAMP_WORKER_NAME; "
                                                "default: the token's name, with a machine suffix when it enrolls several). "
                                                "Kept across restarts with the same --cache-dir."),
         QStringLiteral("name")},
        {QStringLiteral("concurrency"), QStringLiteral("Steps run at once: N or auto (default 1)."), QStringLiteral("N|auto"), QStringLiteral("1")},
        {QStringLiteral("ca-cert"), QStringLiteral("CA certificate (PEM) to trust for wss:// (env SWAMP_CA_CERT)."), QStringLiteral("pem")},
        {QStringLiteral("max-steps"), QStringLiteral("Drain and exit 0 after N steps."), QStringLiteral("N")},
        {QStringLiteral("idle-timeout"), QStringLiteral("Drain and exit 0 after being idle this long."), QStringLiteral("dur")},
        {QStringLiteral("no-reconnect"), QStringLiteral("Exit 1 instead of reconnecting when the connection fails.")},
        {QStringLiteral("json"), QStringLiteral("Print events as NDJSON.")},
    });
    addConfigOptions(parser);
}

// The settings a config file gives unless the command line or these variables do (cli.h).
QList<ConfigSetting> connectConfigSettings()
{
    const auto variable = [](const char *name) { return QStringList{QLatin1String(name)}; };
    return {
        {.keys = {QStringLiteral("token"), QStringLiteral("token-file")},
         .environment = {QStringLiteral("SWAMP_WORKER_TOKEN"), QStringLiteral("SWAMP_WORKER_TOKEN_FILE")}},
        {.keys = {QStringLiteral("cache-dir")}, .environment = variable("SWAMP_WORKER_CACHE_DIR")},
        {.keys = {QStringLiteral("step-user")}, .environment = variable("SWAMP_WORKER_STEP_USER")},
        {.keys = {QStringLiteral("name")}, .environment = variable("SWAMP_WORKER_NAME")},
        {.keys = {QStringLiteral("ca-cert")}, .environment = variable("SWAMP_CA_CERT")},
        {.keys = {QStringLiteral("label")}, .environment = variable("SWAMP_WORKER_LABELS"), .repeatable = true},
        {.keys = {QStringLiteral("url")}, .environment = variable("SWAMP_ORCHESTRATOR_URL"), .repeatable = true,
         .positional = true},
    };
}

// The read* functions below each fill part of `options` from the parser or, where an option is
// not given, its environment variable. On a mistake they print it, set `exitCode` and return false.

bool readOrchestratorUrls(const QCommandLineParser &parser, const QString &command, WorkerOptions *options, int *exitCode)
{
    // Several orchestrators of one fleet: repeat the argument or separate the URLs with commas.
    QStringList urlTexts;
    // An empty argument is none: a systemd unit's "${SWAMP_ORCHESTRATOR_URL}" when it is unset.
    QStringList given = parser.positionalArguments();
    given.removeAll(QString());
    if (given.isEmpty() && !qEnvironmentVariableIsEmpty("SWAMP_ORCHESTRATOR_URL"))
        given << qEnvironmentVariable("SWAMP_ORCHESTRATOR_URL");
    for (const QString &argument : std::as_const(given)) {
        for (const QString &part : argument.split(u',', Qt::SkipEmptyParts))
            urlTexts << part.trimmed();
    }
    if (urlTexts.isEmpty()) {
        *exitCode = usageError(QStringLiteral("missing orchestrator URL — pass it as the first argument or set SWAMP_ORCHESTRATOR_URL"), command);
        return false;
    }
    for (const QString &urlText : std::as_const(urlTexts)) {
        auto url = parseOrchestratorUrl(urlText);
        if (!url) {
            *exitCode = usageError(url.error().text(), command);
            return false;
        }
        if (options->url.isEmpty())
            options->url = *url;
        else
            options->fallbackUrls << *url;
    }
    return true;
}

bool readToken(const QCommandLineParser &parser, const QString &command, bool json, WorkerOptions *options, int *exitCode)
{
    QString token = parser.value(QStringLiteral("token"));
    QString tokenFile = parser.value(QStringLiteral("token-file"));
    if (token.isEmpty() && tokenFile.isEmpty()) {
        token = qEnvironmentVariable("SWAMP_WORKER_TOKEN");
        tokenFile = qEnvironmentVariable("SWAMP_WORKER_TOKEN_FILE");
    }
    if (token.isEmpty() && !tokenFile.isEmpty()) {
        auto bytes = readFile(tokenFile);
        if (!bytes) {
            *exitCode = failure(bytes.error(), json);
            return false;
        }
        token = QString::fromUtf8(bytes->trimmed());
        options->tokenFile = tokenFile;
    }
    if (token.isEmpty()) {
        *exitCode = usageError(QStringLiteral("missing enrollment token — pass --token, --token-file, or set SWAMP_WORKER_TOKEN"), command);
        return false;
    }
    options->token = token.trimmed();
    return true;
}

// The secret leaves /proc/<pid>/cmdline and environ, and this process's /proc files become
// root's (processsecrets.h): other processes of this user cannot read them.
void hideTokenFromProcess(const QString &token)
{
    if (auto parsed = parseToken(token); parsed)
        eraseFromProcess(parsed->secret.toLatin1());
    if (auto undumpable = makeUndumpable(); !undumpable && logs(LogLevel::Warning))
        err(QStringLiteral("warning: ") + undumpable.error().text());
}

bool readStepUser(const QCommandLineParser &parser, const QString &command, WorkerOptions *options, int *exitCode)
{
    // Given but empty is a mistake, never "no step user": that would run steps as the worker's
    // own user (root, where a step user is meant) without a word.
    const bool stepUserGiven = parser.isSet(QStringLiteral("step-user")) || qEnvironmentVariableIsSet("SWAMP_WORKER_STEP_USER");
    const QString stepUser = parser.isSet(QStringLiteral("step-user")) ? parser.value(QStringLiteral("step-user"))
                                                                       : qEnvironmentVariable("SWAMP_WORKER_STEP_USER");
    if (stepUserGiven) {
        auto user = StepUser::resolve(stepUser);
        if (!user) {
            *exitCode = usageError(user.error().text(), command);
            return false;
        }
        options->stepUser = *user;
    }
    return true;
}

bool readLabels(const QCommandLineParser &parser, const QString &command, WorkerOptions *options, int *exitCode)
{
    QStringList labelItems = parser.values(QStringLiteral("label"));
    if (labelItems.isEmpty() && !qEnvironmentVariableIsEmpty("SWAMP_WORKER_LABELS"))
        labelItems << qEnvironmentVariable("SWAMP_WORKER_LABELS");
    auto labels = parseLabels(labelItems);
    if (!labels) {
        *exitCode = usageError(labels.error().text(), command);
        return false;
    }
    options->labels = *labels;
    return true;
}

// --concurrency, --max-steps and --idle-timeout.
bool readLimits(const QCommandLineParser &parser, const QString &command, WorkerOptions *options, int *exitCode)
{
    const QString concurrency = parser.value(QStringLiteral("concurrency"));
    if (concurrency == u"auto") {
        options->capacity = std::max(1, QThread::idealThreadCount());
    } else {
        bool ok = false;
        options->capacity = concurrency.toInt(&ok);
        if (!ok || options->capacity < 1 || options->capacity > Protocol::MaxCapacity) {
            *exitCode = usageError(QStringLiteral("--concurrency must be a whole number from 1 to %1, or auto")
                                       .arg(Protocol::MaxCapacity),
                                   command);
            return false;
        }
    }
    if (parser.isSet(QStringLiteral("max-steps"))) {
        bool ok = false;
        options->maxSteps = parser.value(QStringLiteral("max-steps")).toInt(&ok);
        if (!ok || options->maxSteps < 1) {
            *exitCode = usageError(QStringLiteral("--max-steps must be a whole number of at least 1"), command);
            return false;
        }
    }
    if (parser.isSet(QStringLiteral("idle-timeout"))) {
        auto idle = parseDurationMs(parser.value(QStringLiteral("idle-timeout")));
        if (!idle) {
            *exitCode = usageError(QStringLiteral("--idle-timeout: ") + idle.error().text(), command);
            return false;
        }
        options->idleTimeoutMs = *idle;
    }
    return true;
}

// --name (or SWAMP_WORKER_NAME): given but empty or malformed is a mistake, never "the default".
bool readName(const QCommandLineParser &parser, const QString &command, WorkerOptions *options, int *exitCode)
{
    const bool given = parser.isSet(QStringLiteral("name")) || qEnvironmentVariableIsSet("SWAMP_WORKER_NAME");
    if (!given)
        return true;
    const QString name = parser.isSet(QStringLiteral("name")) ? parser.value(QStringLiteral("name"))
                                                               : qEnvironmentVariable("SWAMP_WORKER_NAME");
    if (auto valid = validateWorkerName(name); !valid) {
        *exitCode = usageError(QStringLiteral("--name: ") + valid.error().text(), command);
        return false;
    }
    options->name = name;
    return true;
}

bool readCaCert(const QCommandLineParser &parser, const QString &command, WorkerOptions *options, int *exitCode)
{
    options->caCertPath = parser.isSet(QStringLiteral("ca-cert")) ? parser.value(QStringLiteral("ca-cert"))
                                                                  : qEnvironmentVariable("SWAMP_CA_CERT");
    if (!options->caCertPath.isEmpty()) {
        if (auto certificates = loadCaCertificates(options->caCertPath); !certificates) {
            *exitCode = usageError(certificates.error().text(), command);
            return false;
        }
    }
    return true;
}

// In this order, so that the first mistake on the command line is the one reported, and the token
// is hidden from the process as soon as it is read.
bool readWorkerOptions(const QCommandLineParser &parser, const QString &command, bool json, WorkerOptions *options,
                       int *exitCode)
{
    if (!readOrchestratorUrls(parser, command, options, exitCode) || !readToken(parser, command, json, options, exitCode))
        return false;
    hideTokenFromProcess(options->token);
    if (!readStepUser(parser, command, options, exitCode))
        return false;
    options->cacheDir = parser.isSet(QStringLiteral("cache-dir")) ? parser.value(QStringLiteral("cache-dir"))
                                                                  : qEnvironmentVariable("SWAMP_WORKER_CACHE_DIR");
    if (!readLabels(parser, command, options, exitCode) || !readName(parser, command, options, exitCode)
        || !readLimits(parser, command, options, exitCode)
        || !readCaCert(parser, command, options, exitCode))
        return false;
    options->reconnect = !parser.isSet(QStringLiteral("no-reconnect"));
    return true;
}

void printAgentEvent(bool json, const QString &kind, const QString &text, const QJsonObject &data)
{
    const LogLevel level = kind == u"error" ? LogLevel::Error : kind == u"warning" ? LogLevel::Warning : LogLevel::Info;
    if (!logs(level))
        return;
    if (json) {
        QJsonObject line = data;
        line.insert(QStringLiteral("event"), kind);
        line.insert(QStringLiteral("message"), text);
        line.insert(QStringLiteral("at"), isoUtc(QDateTime::currentDateTimeUtc()));
        printJsonLine(line);
    } else if (kind == u"error" || kind == u"warning") {
        // Texts may quote the orchestrator (reasons, errors): one line each.
        err((kind == u"warning" ? QStringLiteral("warning: ") : QString()) + printable(text));
    } else {
        out(printable(text));
    }
}

// Runs the agent until it finishes; the first termination signal drains it, the second stops it.
int runAgent(const WorkerOptions &options, bool json)
{
    SignalWatcher signals;
    WorkerAgent agent(options);
    QObject::connect(&agent, &WorkerAgent::event, &agent,
                     [json](const QString &kind, const QString &text, const QJsonObject &data) {
                         printAgentEvent(json, kind, text, data);
                     });
    QObject::connect(&agent, &WorkerAgent::finished, qApp, [](int code) { QCoreApplication::exit(code); });
    QObject::connect(&signals, &SignalWatcher::terminationRequested, &agent,
                     [&agent](int, int count) { agent.requestStop(count); });
    if (auto started = agent.start(); !started) {
        if (json)
            return failure(started.error(), true);
        err(QStringLiteral("error: ") + started.error().text());
        return ExitFailed;
    }
    return QCoreApplication::exec();
}

} // namespace

int runWorkerConnect(const QStringList &arguments)
{
    const QString command = QStringLiteral("worker connect");
    QCommandLineParser parser;
    addConnectOptions(parser);
    int exitCode = 0;
    if (!parse(parser, arguments, command, QStringLiteral("Connect this machine to an orchestrator as a worker."),
               QStringLiteral("  swamp worker connect wss://orchestrator:9090 --token \"$TOKEN\" --cache-dir /var/lib/swamp-worker\n"
                              "  swamp worker connect wss://orch-a:9090,wss://orch-b:9090 --token \"$TOKEN\" --cache-dir /var/lib/swamp-worker\n"
                              "  swamp worker connect --config /etc/swamp/worker.ini -v\n"),
               &exitCode))
        return exitCode;
    if (!applyConfigFile(parser, arguments, command, connectConfigSettings(), &exitCode))
        return exitCode;
    const bool json = parser.isSet(QStringLiteral("json"));
    WorkerOptions options;
    if (!readWorkerOptions(parser, command, json, &options, &exitCode))
        return exitCode;
    return runAgent(options, json);
}

int runWorkerList(const QStringList &arguments)
{
    QCommandLineParser parser;
    addAdminOptions(parser);
    parser.addOption({QStringLiteral("all"), QStringLiteral("Include disconnected and lost workers.")});
    parser.addOption({QStringLiteral("label"), QStringLiteral("Only workers with this label, repeatable (all must match)."), QStringLiteral("k=v")});
    parser.addOption({QStringLiteral("status"), QStringLiteral("Only workers in this status: %1.").arg(workerStatusNames().join(QStringLiteral(", "))),
                      QStringLiteral("status")});
    int exitCode = 0;
    const QString command = QStringLiteral("worker list");
    if (!parse(parser, arguments, command, QStringLiteral("List workers."),
               QStringLiteral("  swamp worker list\n  swamp worker list --all --json\n"
                              "  swamp worker list --label region=eu --label gpu=a100 --status idle\n"),
               &exitCode))
        return exitCode;
    const bool json = parser.isSet(QStringLiteral("json"));
    auto labels = parseLabelArguments(parser.values(QStringLiteral("label")), true);
    if (!labels)
        return usageError(QStringLiteral("--label: ") + labels.error().text(), command);
    const QString status = parser.value(QStringLiteral("status"));
    if (parser.isSet(QStringLiteral("status")) && !workerStatusNames().contains(status)) {
        return usageError(QStringLiteral("--status: unknown worker status \"%1\" — use one of %2")
                              .arg(printable(leftCharacters(status, 40)), workerStatusNames().join(QStringLiteral(", "))),
                          command);
    }
    QJsonObject params{{QStringLiteral("all"), parser.isSet(QStringLiteral("all"))}};
    if (!labels->isEmpty())
        params.insert(QStringLiteral("labels"), labelsToJson(*labels));
    if (!status.isEmpty())
        params.insert(QStringLiteral("status"), status);
    auto result = adminCall(parser, QStringLiteral("worker.list"), params);
    if (!result)
        return failure(result.error(), json);
    if (json) {
        printJson(*result);
        return ExitOk;
    }
    const QJsonArray workers = result->value(QStringLiteral("workers")).toArray();
    const int hidden = result->value(QStringLiteral("hidden")).toInt();
    if (workers.isEmpty() && (!labels->isEmpty() || !status.isEmpty())) {
        out(QStringLiteral("No workers match the filters%1.")
                .arg(hidden > 0 ? QStringLiteral(" (%1 disconnected or lost hidden; see them with --all)").arg(hidden) : QString()));
        return ExitOk;
    }
    if (workers.isEmpty()) {
        out(hidden > 0 ? QStringLiteral("No connected workers (%1 disconnected or lost hidden; see them with --all).").arg(hidden)
                       : QStringLiteral("No workers yet. Create a token with 'swamp worker token create <name>' and run "
                                        "'swamp worker connect <url> --token <token> --cache-dir <dir>' on a machine."));
        return ExitOk;
    }
    // In a fleet (several orchestrators on one database) each worker names the one holding it.
    const bool fleet = result->value(QStringLiteral("fleet")).toBool();
    QStringList headers{QStringLiteral("NAME"), QStringLiteral("STATUS"), QStringLiteral("SLOTS"), QStringLiteral("LABELS"),
                        QStringLiteral("PLATFORM"), QStringLiteral("VERSION"), QStringLiteral("LAST SEEN")};
    if (fleet)
        headers << QStringLiteral("ORCHESTRATOR");
    TextTable table(headers);
    colourStatusColumn(table, 1);
    const QDateTime now = QDateTime::currentDateTimeUtc();
    for (const QJsonValue &value : workers) {
        const WorkerRecord w = WorkerRecord::fromJson(value.toObject());
        // Paused is a flag beside the status: a connected paused worker shows it instead.
        const bool live = w.status == WorkerStatus::Idle || w.status == WorkerStatus::Busy;
        QStringList row{w.name, w.paused && live ? QStringLiteral("paused") : workerStatusName(w.status),
                        QStringLiteral("%1/%2").arg(w.activeSteps).arg(w.capacity), formatLabels(w.labels),
                        w.platform + u'/' + w.arch, w.version, formatRelative(w.lastSeenAt, now)};
        if (fleet) {
            const QUrl holder(w.orchestrator);
            row << (holder.host().isEmpty() ? QStringLiteral("-")
                                            : holder.host() + u':' + QString::number(holder.port()));
        }
        table.addRow(row);
    }
    QString text = table.render();
    if (hidden > 0)
        text += QStringLiteral("(%1 disconnected or lost worker(s) hidden; --all shows them)\n").arg(hidden);
    out(text);
    return ExitOk;
}

int runWorkerQueue(const QStringList &arguments)
{
    QCommandLineParser parser;
    addAdminOptions(parser);
    int exitCode = 0;
    if (!parse(parser, arguments, QStringLiteral("worker queue"), QStringLiteral("Steps waiting for a worker."),
               QStringLiteral("  swamp worker queue --json\n"), &exitCode))
        return exitCode;
    const bool json = parser.isSet(QStringLiteral("json"));
    auto result = adminCall(parser, QStringLiteral("worker.queue"));
    if (!result)
        return failure(result.error(), json);
    if (json) {
        printJson(*result);
        return ExitOk;
    }
    const QJsonArray steps = result->value(QStringLiteral("steps")).toArray();
    if (steps.isEmpty()) {
        out(QStringLiteral("No steps are waiting for a worker."));
        return ExitOk;
    }
    TextTable table({QStringLiteral("STEP"), QStringLiteral("REQUIREMENT"), QStringLiteral("QUEUED"), QStringLiteral("AGE"),
                     QStringLiteral("WHY IT WAITS")});
    const QDateTime now = QDateTime::currentDateTimeUtc();
    for (const QJsonValue &value : steps) {
        const QJsonObject s = value.toObject();
        const QDateTime queued = parseIsoUtc(s.value(QStringLiteral("queuedAt")).toString());
        table.addRow({s.value(QStringLiteral("id")).toString(), s.value(QStringLiteral("requirement")).toString(),
                      isoUtc(queued), formatRelative(queued, now),
                      s.value(QStringLiteral("waitReason")).toObject().value(QStringLiteral("message")).toString(QStringLiteral("a free slot (starting)"))});
    }
    out(table.render());
    return ExitOk;
}

int runWorkerDrain(const QStringList &arguments, bool drain)
{
    const QString command = drain ? QStringLiteral("worker drain") : QStringLiteral("worker undrain");
    QCommandLineParser parser;
    addAdminOptions(parser);
    parser.addPositionalArgument(QStringLiteral("name"), QStringLiteral("Worker name."));
    if (drain)
        parser.addOption({QStringLiteral("deadline"), QStringLiteral("Cancel and requeue what still runs after this long."), QStringLiteral("dur")});
    int exitCode = 0;
    if (!parse(parser, arguments, command,
               drain ? QStringLiteral("Stop giving a worker steps; it finishes what it runs, then exits 0.")
                     : QStringLiteral("Let a draining worker take steps again."),
               drain ? QStringLiteral("  swamp worker drain ci-7f3a9b2c --deadline 10m\n") : QStringLiteral("  swamp worker undrain ci-7f3a9b2c\n"),
               &exitCode))
        return exitCode;
    const bool json = parser.isSet(QStringLiteral("json"));
    if (parser.positionalArguments().size() != 1)
        return usageError(QStringLiteral("name one worker"), command);
    QJsonObject params{{QStringLiteral("name"), parser.positionalArguments().first()}};
    if (drain && parser.isSet(QStringLiteral("deadline"))) {
        auto ms = parseDurationMs(parser.value(QStringLiteral("deadline")));
        if (!ms)
            return usageError(QStringLiteral("--deadline: ") + ms.error().text(), command);
        params.insert(QStringLiteral("deadlineMs"), *ms);
    }
    auto result = adminCall(parser, drain ? QStringLiteral("worker.drain") : QStringLiteral("worker.undrain"), params);
    if (!result)
        return failure(result.error(), json);
    if (json) {
        printJson(*result);
        return ExitOk;
    }
    const QJsonObject worker = result->value(QStringLiteral("worker")).toObject();
    const int active = worker.value(QStringLiteral("activeSteps")).toInt();
    if (drain) {
        out(QStringLiteral("Draining %1: no new steps; %2 running step(s) finish, then it exits.")
                .arg(worker.value(QStringLiteral("name")).toString())
                .arg(active));
    } else {
        out(QStringLiteral("%1 takes steps again.").arg(worker.value(QStringLiteral("name")).toString()));
    }
    return ExitOk;
}

} // namespace Swamp::Cli
