#include "cli.h"

#include "common/datadir.h"
#include "common/duration.h"
#include "common/openfiles.h"
#include "common/signalwatcher.h"
#include "common/urls.h"
#include "orchestrator/eventlog.h"
#include "orchestrator/orchestrator.h"
#include "version/version.h"

#include <QCoreApplication>
#include <QDir>
#include <QHostAddress>
#include <QJsonDocument>

namespace Swamp::Cli {

int runServe(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.addOptions({
        {QStringLiteral("listen"), QStringLiteral("Address to listen on (default 127.0.0.1:9090; port 0 picks one)."), QStringLiteral("host:port"), QStringLiteral("127.0.0.1:9090")},
        {QStringLiteral("data-dir"), QStringLiteral("Data directory (default $SWAMP_DATA_DIR, $XDG_DATA_HOME/swamp, ~/.local/share/swamp)."), QStringLiteral("dir")},
        {QStringLiteral("database"), QStringLiteral("postgresql://user@host/db instead of the embedded SQLite (env SWAMP_DATABASE_URL)."), QStringLiteral("url")},
        {QStringLiteral("tls-cert"), QStringLiteral("Certificate chain (PEM): serve wss://."), QStringLiteral("pem")},
        {QStringLiteral("tls-key"), QStringLiteral("Private key (PEM) of --tls-cert."), QStringLiteral("pem")},
        {QStringLiteral("heartbeat-interval"), QStringLiteral("How often workers are pinged (default 5s)."), QStringLiteral("dur"), QStringLiteral("5s")},
        {QStringLiteral("heartbeat-timeout"), QStringLiteral("Silence after which a worker's socket is closed (default 15s)."), QStringLiteral("dur"), QStringLiteral("15s")},
        {QStringLiteral("reconnect-grace"), QStringLiteral("How long a dropped worker may resume its session (default 30s)."), QStringLiteral("dur"), QStringLiteral("30s")},
        {QStringLiteral("queue-timeout"), QStringLiteral("Default time a step waits for a worker (default 10m)."), QStringLiteral("dur"), QStringLiteral("10m")},
        {QStringLiteral("retention"), QStringLiteral("How long ended steps and leases are kept (default 24h)."), QStringLiteral("dur"), QStringLiteral("24h")},
        {QStringLiteral("rotate-admin-token"), QStringLiteral("Write a new admin token to admin.json.")},
        {QStringLiteral("json"), QStringLiteral("Print operator events as NDJSON.")},
    });
    int exitCode = 0;
    if (!parse(parser, arguments, QStringLiteral("serve"), QStringLiteral("Run the orchestrator."),
               QStringLiteral("  swamp serve\n  swamp serve --listen 0.0.0.0:9090 --tls-cert cert.pem --tls-key key.pem\n"),
               &exitCode))
        return exitCode;
    if (!parser.positionalArguments().isEmpty())
        return usageError(QStringLiteral("unexpected argument \"%1\"").arg(parser.positionalArguments().first()), QStringLiteral("serve"));

    OrchestratorConfig config;
    auto listen = parseListenAddress(parser.value(QStringLiteral("listen")));
    if (!listen)
        return usageError(listen.error().text(), QStringLiteral("serve"));
    config.listenHost = listen->first;
    config.listenPort = listen->second;
    config.dataDir = parser.isSet(QStringLiteral("data-dir")) ? parser.value(QStringLiteral("data-dir")) : defaultDataDir();
    config.dataDir = QDir(config.dataDir).absolutePath();
    config.database = parser.isSet(QStringLiteral("database")) ? parser.value(QStringLiteral("database"))
                                                               : qEnvironmentVariable("SWAMP_DATABASE_URL");
    config.tlsCertPath = parser.value(QStringLiteral("tls-cert"));
    config.tlsKeyPath = parser.value(QStringLiteral("tls-key"));
    config.rotateAdminToken = parser.isSet(QStringLiteral("rotate-admin-token"));
    const std::pair<const char *, qint64 *> durations[] = {
        {"heartbeat-interval", &config.heartbeatIntervalMs},
        {"heartbeat-timeout", &config.heartbeatTimeoutMs},
        {"reconnect-grace", &config.reconnectGraceMs},
        {"queue-timeout", &config.queueTimeoutMs},
        {"retention", &config.retentionMs},
    };
    for (const auto &[name, target] : durations) {
        auto value = parseDurationMs(parser.value(QLatin1String(name)));
        if (!value)
            return usageError(QStringLiteral("--%1: %2").arg(QLatin1String(name), value.error().text()), QStringLiteral("serve"));
        *target = *value;
    }
    if (config.heartbeatTimeoutMs <= config.heartbeatIntervalMs)
        return usageError(QStringLiteral("--heartbeat-timeout must be longer than --heartbeat-interval"), QStringLiteral("serve"));
    const bool json = parser.isSet(QStringLiteral("json"));

    // One file per connected worker: take the whole hard limit, and say so when it is low.
    const OpenFileLimit files = raiseOpenFileLimit();
    SignalWatcher signals;
    Orchestrator orchestrator(config);
    if (auto started = orchestrator.start(); !started)
        return failure(started.error(), json);

    const QHostAddress address(config.listenHost);
    if (config.tlsCertPath.isEmpty() && !address.isLoopback()) {
        err(QStringLiteral("warning: serving without TLS on a non-loopback address — tokens cross the "
                           "network in clear; pass --tls-cert and --tls-key"));
    }
    if (json) {
        out(QString::fromUtf8(QJsonDocument(QJsonObject{
            {QStringLiteral("kind"), QStringLiteral("orchestrator.listening")},
            {QStringLiteral("url"), orchestrator.url()},
            {QStringLiteral("version"), Swamp::version()},
            {QStringLiteral("dataDir"), config.dataDir},
            {QStringLiteral("message"), QStringLiteral("Listening on %1").arg(orchestrator.url())},
        }).toJson(QJsonDocument::Compact)));
    } else {
        out(QStringLiteral("Listening on %1 (swamp %2, data %3)")
                .arg(orchestrator.url(), Swamp::version(), config.dataDir));
    }
    constexpr qint64 WantedOpenFiles = 16384;
    if (files.limit >= 0 && files.limit < WantedOpenFiles) {
        err(QStringLiteral("warning: the open-file limit is %1 (hard limit %2), enough for about %3 "
                           "connected workers; raise it with 'ulimit -n 65536' before 'swamp serve', or "
                           "LimitNOFILE=65536 in its systemd unit")
                .arg(files.limit).arg(files.hard).arg(std::max<qint64>(0, files.limit - 64)));
    }
    const auto print = [json](const Event &event) {
        if (json)
            out(QString::fromUtf8(QJsonDocument(event.toJson()).toJson(QJsonDocument::Compact)));
        else
            out(QStringLiteral("%1 %2").arg(isoUtc(event.at), event.message));
    };
    for (const Event &event : orchestrator.bootEvents())
        print(event);
    QObject::connect(orchestrator.eventLog(), &EventLog::appended, &orchestrator, print);
    QObject::connect(&signals, &SignalWatcher::terminationRequested, &orchestrator,
                     [&orchestrator](int, int count) {
                         if (count > 1)
                             QCoreApplication::exit(130);
                         orchestrator.stop();
                     });
    QObject::connect(&orchestrator, &Orchestrator::stopped, qApp, [] { QCoreApplication::exit(0); });
    QObject::connect(&orchestrator, &Orchestrator::failed, qApp, [json](const Error &error) {
        failure(error, json);
        QCoreApplication::exit(1);
    });
    return QCoreApplication::exec();
}

} // namespace Swamp::Cli
