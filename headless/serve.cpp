#include "cli.h"

#include "common/text.h"

#include "common/datadir.h"
#include "common/duration.h"
#include "common/files.h"
#include "common/loglevel.h"
#include "common/openfiles.h"
#include "common/signalwatcher.h"
#include "common/urls.h"
#include "server/eventlog.h"
#include "server/orchestrator.h"
#include "server/reaper.h"
#include "tls/listensafety.h"
#include "version/version.h"

#include <QCoreApplication>
#include <QDir>
#include <QJsonArray>
#include <QMetaObject>
#include <QRegularExpression>

#include <cstdio>
#include <utility>

namespace Swamp::Cli {

namespace {

void addServeOptions(QCommandLineParser &parser)
{
    parser.addOptions({
        {QStringLiteral("listen"), QStringLiteral("Address to listen on (env SWAMP_LISTEN; default 127.0.0.1:9090; port 0 picks one)."), QStringLiteral("host:port"), QStringLiteral("127.0.0.1:9090")},
        {QStringLiteral("advertise-url"), QStringLiteral("The URL workers on other machines dial (a DNS name, a load balancer, a proxy); printed, written to admin.json and used by the console's deploy snippets. Default: with --listen 0.0.0.0 or [::], this machine's host name and addresses."), QStringLiteral("url")},
        {QStringLiteral("data-dir"), QStringLiteral("Data directory (default $SWAMP_DATA_DIR, $XDG_DATA_HOME/swamp, ~/.local/share/swamp)."), QStringLiteral("dir")},
        {QStringLiteral("database"), QStringLiteral("postgresql://user@host/db instead of the embedded SQLite (env SWAMP_DATABASE_URL)."), QStringLiteral("url")},
        {QStringLiteral("tls-cert"), QStringLiteral("Certificate chain (PEM): serve wss://."), QStringLiteral("pem")},
        {QStringLiteral("tls-key"), QStringLiteral("Private key (PEM) of --tls-cert."), QStringLiteral("pem")},
        {QStringLiteral("metrics-listen"), QStringLiteral("Serve Prometheus /metrics and /healthz over plain HTTP on this address (e.g. 127.0.0.1:9091)."), QStringLiteral("host:port")},
        {QStringLiteral("heartbeat-interval"), QStringLiteral("How often workers are pinged (default 5s)."), QStringLiteral("dur"), QStringLiteral("5s")},
        {QStringLiteral("heartbeat-timeout"), QStringLiteral("Silence after which a worker's socket is closed (default 15s)."), QStringLiteral("dur"), QStringLiteral("15s")},
        {QStringLiteral("reconnect-grace"), QStringLiteral("How long a dropped worker may resume its session (default 30s)."), QStringLiteral("dur"), QStringLiteral("30s")},
        {QStringLiteral("queue-timeout"), QStringLiteral("Default time a step waits for a worker (default 10m)."), QStringLiteral("dur"), QStringLiteral("10m")},
        {QStringLiteral("retention"), QStringLiteral("How long ended steps (with leases and output) and operator events are kept (default 24h, at least 1s)."), QStringLiteral("dur"), QStringLiteral("24h")},
        {QStringLiteral("orchestrator-timeout"), QStringLiteral("Fleet on PostgreSQL: silence after which another orchestrator is taken over (default 15s)."), QStringLiteral("dur"), QStringLiteral("15s")},
        {QStringLiteral("admin-token-file"), QStringLiteral("Use the admin token in this file (one for every orchestrator of a fleet) instead of a generated one (env SWAMP_ADMIN_TOKEN_FILE)."), QStringLiteral("path")},
        {QStringLiteral("rotate-admin-token"), QStringLiteral("Write a new admin token to admin.json.")},
        {QStringLiteral("json"), QStringLiteral("Print operator events as NDJSON.")},
    });
    addConfigOptions(parser);
}

// The settings a config file gives unless the command line or these variables do (cli.h).
QList<ConfigSetting> serveConfigSettings()
{
    return {
        {{QStringLiteral("listen")}, {QStringLiteral("SWAMP_LISTEN")}},
        {{QStringLiteral("data-dir")}, {QStringLiteral("SWAMP_DATA_DIR")}},
        {{QStringLiteral("database")}, {QStringLiteral("SWAMP_DATABASE_URL")}},
        {{QStringLiteral("admin-token-file")}, {QStringLiteral("SWAMP_ADMIN_TOKEN_FILE")}},
    };
}

// The read* functions below each fill part of `config` from the parser; on a mistake they print
// it, set `exitCode` and return false.

bool readAddresses(const QCommandLineParser &parser, OrchestratorConfig *config, int *exitCode)
{
    const bool listenFromEnvironment = !parser.isSet(QStringLiteral("listen")) && !qEnvironmentVariableIsEmpty("SWAMP_LISTEN");
    auto listen = parseListenAddress(listenFromEnvironment ? qEnvironmentVariable("SWAMP_LISTEN")
                                                           : parser.value(QStringLiteral("listen")));
    if (!listen) {
        *exitCode = usageError(listen.error().text(), QStringLiteral("serve"));
        return false;
    }
    config->listenHost = listen->first;
    config->listenPort = listen->second;
    if (parser.isSet(QStringLiteral("advertise-url"))) {
        auto advertised = parseAdvertiseUrl(parser.value(QStringLiteral("advertise-url")));
        if (!advertised) {
            *exitCode = usageError(advertised.error().text(), QStringLiteral("serve"));
            return false;
        }
        config->advertiseUrl = *advertised;
    }
    config->dataDir = parser.isSet(QStringLiteral("data-dir")) ? parser.value(QStringLiteral("data-dir")) : defaultDataDir();
    config->dataDir = QDir(config->dataDir).absolutePath();
    config->database = parser.isSet(QStringLiteral("database")) ? parser.value(QStringLiteral("database"))
                                                                : qEnvironmentVariable("SWAMP_DATABASE_URL");
    if (parser.isSet(QStringLiteral("metrics-listen"))) {
        auto metrics = parseListenAddress(parser.value(QStringLiteral("metrics-listen")));
        if (!metrics) {
            *exitCode = usageError(QStringLiteral("--metrics-listen: ") + metrics.error().text(), QStringLiteral("serve"));
            return false;
        }
        config->metricsHost = metrics->first;
        config->metricsPort = metrics->second;
    }
    return true;
}

bool readDurations(const QCommandLineParser &parser, OrchestratorConfig *config, int *exitCode)
{
    const std::pair<const char *, qint64 *> durations[] = {
        {"heartbeat-interval", &config->heartbeatIntervalMs},
        {"heartbeat-timeout", &config->heartbeatTimeoutMs},
        {"reconnect-grace", &config->reconnectGraceMs},
        {"queue-timeout", &config->queueTimeoutMs},
        {"retention", &config->retentionMs},
        {"orchestrator-timeout", &config->orchestratorTimeoutMs},
    };
    for (const auto &[name, target] : durations) {
        auto value = parseDurationMs(parser.value(QLatin1String(name)));
        if (!value) {
            *exitCode = usageError(QStringLiteral("--%1: %2").arg(QLatin1String(name), value.error().text()), QStringLiteral("serve"));
            return false;
        }
        *target = *value;
    }
    if (config->retentionMs < 1000) {
        *exitCode = usageError(QStringLiteral("--retention must be at least 1s"), QStringLiteral("serve"));
        return false;
    }
    if (config->heartbeatTimeoutMs <= config->heartbeatIntervalMs) {
        *exitCode = usageError(QStringLiteral("--heartbeat-timeout must be longer than --heartbeat-interval"), QStringLiteral("serve"));
        return false;
    }
    return true;
}

// --admin-token-file (or SWAMP_ADMIN_TOKEN_FILE); reads config->rotateAdminToken, which excludes it.
bool readAdminToken(const QCommandLineParser &parser, OrchestratorConfig *config, int *exitCode)
{
    const QString adminTokenFile = parser.isSet(QStringLiteral("admin-token-file"))
                                       ? parser.value(QStringLiteral("admin-token-file"))
                                       : qEnvironmentVariable("SWAMP_ADMIN_TOKEN_FILE");
    if (adminTokenFile.isEmpty())
        return true;
    if (config->rotateAdminToken) {
        *exitCode = usageError(QStringLiteral("--admin-token-file and --rotate-admin-token exclude each other"), QStringLiteral("serve"));
        return false;
    }
    auto bytes = readFile(adminTokenFile);
    if (!bytes) {
        *exitCode = usageError(QStringLiteral("--admin-token-file: %1").arg(bytes.error().text()), QStringLiteral("serve"));
        return false;
    }
    config->adminToken = QString::fromUtf8(bytes->trimmed());
    static const QRegularExpression shape(QStringLiteral("^[A-Za-z0-9._~+/=-]{32,256}$"));
    if (!shape.match(config->adminToken).hasMatch()) {
        *exitCode = usageError(QStringLiteral("--admin-token-file: %1 must hold one token of 32 to 256 letters, digits or "
                                              "._~+/=- (make one with 'openssl rand -hex 32')")
                                   .arg(adminTokenFile),
                               QStringLiteral("serve"));
        return false;
    }
    return true;
}

bool readServeConfig(const QCommandLineParser &parser, OrchestratorConfig *config, int *exitCode)
{
    if (!readAddresses(parser, config, exitCode))
        return false;
    config->tlsCertPath = parser.value(QStringLiteral("tls-cert"));
    config->tlsKeyPath = parser.value(QStringLiteral("tls-key"));
    config->rotateAdminToken = parser.isSet(QStringLiteral("rotate-admin-token"));
    return readDurations(parser, config, exitCode) && readAdminToken(parser, config, exitCode);
}

// The URLs workers on other machines dial, when they are not the one `Listening on` printed
// (a wildcard listener, --advertise-url): the host name and addresses, best first.
void announceWorkerUrls(const Orchestrator &orchestrator, bool json)
{
    const QStringList urls = orchestrator.workerUrls();
    if (urls.isEmpty() || urls == QStringList{orchestrator.url()})
        return;
    const QString message =
        urls.size() == 1 ? QStringLiteral("Workers connect to %1").arg(urls.first())
                         : QStringLiteral("Workers connect to %1 (or %2)")
                               .arg(urls.first(), urls.mid(1).join(QStringLiteral(", ")));
    if (json) {
        printJsonLine({
            {QStringLiteral("kind"), QStringLiteral("orchestrator.workerUrls")},
            {QStringLiteral("urls"), QJsonArray::fromStringList(urls)},
            {QStringLiteral("message"), message},
        });
    } else {
        out(message);
    }
}

// Where it listens (and serves metrics), the first lines a supervisor or a test reads.
void announceListening(const Orchestrator &orchestrator, const QString &dataDir, bool json)
{
    if (json) {
        printJsonLine({
            {QStringLiteral("kind"), QStringLiteral("orchestrator.listening")},
            {QStringLiteral("url"), orchestrator.url()},
            {QStringLiteral("version"), Swamp::version()},
            {QStringLiteral("dataDir"), dataDir},
            {QStringLiteral("message"), QStringLiteral("Listening on %1").arg(orchestrator.url())},
        });
    } else {
        out(QStringLiteral("Listening on %1 (swamp %2, data %3)")
                .arg(orchestrator.url(), Swamp::version(), dataDir));
    }
    announceWorkerUrls(orchestrator, json);
    if (const QString metricsUrl = orchestrator.metricsUrl(); !metricsUrl.isEmpty()) {
        const QString message = QStringLiteral("Metrics on %1").arg(metricsUrl);
        if (json) {
            printJsonLine({
                {QStringLiteral("kind"), QStringLiteral("orchestrator.metrics")},
                {QStringLiteral("url"), metricsUrl},
                {QStringLiteral("message"), message},
            });
        } else {
            out(message);
        }
    }
}

void warnIfFewOpenFiles(const OpenFileLimit &files)
{
    constexpr qint64 WantedOpenFiles = 16384;
    if (files.limit >= 0 && files.limit < WantedOpenFiles) {
        err(QStringLiteral("warning: the open-file limit is %1 (hard limit %2), enough for about %3 "
                           "connected workers; raise it with 'ulimit -n 65536' before 'swamp serve', or "
                           "LimitNOFILE=65536 in its systemd unit")
                .arg(files.limit).arg(files.hard).arg(std::max<qint64>(0, files.limit - 64)));
    }
}

// Event lines leave in one write per event-loop turn (a busy orchestrator logs several
// events per step; a write(2) each was a measurable share of its time). out() and err()
// still flush at once, so the order of lines is kept. `flushQueued` must outlive the loop.
void printEvents(Orchestrator &orchestrator, bool json, bool *flushQueued)
{
    const auto print = [json, flushQueued, &orchestrator](const Event &event) {
        // A message may quote what a worker or client sent: one event, one line, whatever it holds.
        QByteArray line = json ? event.toJsonText()
                               : QStringLiteral("%1 %2").arg(isoUtc(event.at), printable(event.message)).toUtf8();
        line += '\n';
        std::fwrite(line.constData(), 1, size_t(line.size()), stdout);
        if (!std::exchange(*flushQueued, true)) {
            QMetaObject::invokeMethod(
                &orchestrator,
                [flushQueued] {
                    *flushQueued = false;
                    std::fflush(stdout);
                },
                Qt::QueuedConnection);
        }
    };
    for (const Event &event : orchestrator.bootEvents())
        print(event);
    QObject::connect(orchestrator.eventLog(), &EventLog::appended, &orchestrator, print);
}

// One line per retention pass that removed something (not stored as an event: it would be
// removed by the next pass and logged again, forever).
void printRetentionPass(const RetentionSummary &summary, bool json)
{
    if (!summary.removedAnything() && summary.error.isEmpty())
        return;
    const QDateTime now = QDateTime::currentDateTimeUtc();
    if (json) {
        printJsonLine({
            {QStringLiteral("kind"), QStringLiteral("retention.pass")},
            {QStringLiteral("at"), isoUtc(now)},
            {QStringLiteral("message"), summary.message()},
            {QStringLiteral("data"), summary.toJson()},
        });
    } else {
        out(QStringLiteral("%1 %2").arg(isoUtc(now), summary.message()));
    }
}

int runOrchestrator(const OrchestratorConfig &config, bool json)
{
    // One file per connected worker: take the whole hard limit, and say so when it is low.
    const OpenFileLimit files = raiseOpenFileLimit();
    SignalWatcher signals;
    Orchestrator orchestrator(config);
    if (auto started = orchestrator.start(); !started)
        return failure(started.error(), json);

    if (logs(LogLevel::Warning)) {
        for (const QString &warning : orchestrator.warnings())
            err(QStringLiteral("warning: ") + warning);
    }
    if (const QString note = loopbackOnlyNote(config.listenHost, config.advertiseUrl, quint16(QUrl(orchestrator.url()).port()));
        !note.isEmpty() && logs(LogLevel::Warning))
        err(QStringLiteral("note: ") + note);
    announceListening(orchestrator, config.dataDir, json); // at every level: scripts read it
    if (logs(LogLevel::Warning))
        warnIfFewOpenFiles(files);
    bool flushQueued = false;
    if (logs(LogLevel::Info)) {
        printEvents(orchestrator, json, &flushQueued);
        QObject::connect(orchestrator.reaper(), &Reaper::passFinished, &orchestrator,
                         [json](const RetentionSummary &summary) { printRetentionPass(summary, json); });
    }
    QObject::connect(&signals, &SignalWatcher::terminationRequested, &orchestrator,
                     [&orchestrator](int, int count) {
                         if (count > 1)
                             QCoreApplication::exit(130);
                         orchestrator.stop();
                     });
    QObject::connect(&orchestrator, &Orchestrator::stopped, qApp,
                     [&orchestrator] { QCoreApplication::exit(orchestrator.exitCode()); });
    QObject::connect(&orchestrator, &Orchestrator::failed, qApp, [json](const Error &error) {
        failure(error, json);
        QCoreApplication::exit(1);
    });
    return QCoreApplication::exec();
}

} // namespace

int runServe(const QStringList &arguments)
{
    QCommandLineParser parser;
    addServeOptions(parser);
    int exitCode = 0;
    if (!parse(parser, arguments, QStringLiteral("serve"), QStringLiteral("Run the orchestrator."),
               QStringLiteral("  swamp serve\n  swamp serve --listen 0.0.0.0:9090 --tls-cert cert.pem --tls-key key.pem\n"
                              "  swamp serve --listen 0.0.0.0:9090 --advertise-url wss://swamp.example.com:9090 --tls-cert cert.pem --tls-key key.pem\n"
                              "  PGPASSWORD=... swamp serve --listen 0.0.0.0:9090 --database postgresql://swamp@db:5432/swamp --admin-token-file /etc/swamp/admin-token\n"
                              "  swamp serve --config /etc/swamp/swamp.ini -q\n"),
               &exitCode))
        return exitCode;
    if (!applyConfigFile(parser, arguments, QStringLiteral("serve"), serveConfigSettings(), &exitCode))
        return exitCode;
    if (!parser.positionalArguments().isEmpty())
        return usageError(QStringLiteral("unexpected argument \"%1\"").arg(parser.positionalArguments().first()), QStringLiteral("serve"));

    OrchestratorConfig config;
    if (!readServeConfig(parser, &config, &exitCode))
        return exitCode;
    return runOrchestrator(config, parser.isSet(QStringLiteral("json")));
}

} // namespace Swamp::Cli
