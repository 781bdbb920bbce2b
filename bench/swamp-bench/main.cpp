// swamp-bench: simulated fleets against a real `swamp serve` (see bench/README.md).
//
//   swamp-bench [options] idle N | throughput W M | storm N | query R | quick
//
// Prints figures as it goes; --json FILE also writes them. Exit status 1 when a correctness check
// failed (a worker that never enrolled, a step lost or finished twice), never because of a time.

#include "scenarios.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSysInfo>
#include <QTextStream>

#include <sys/resource.h>

using namespace SwampBench;

namespace {

// The bench holds one socket per simulated worker: raise its own open-file limit.
void raiseOpenFileLimit(qint64 needed)
{
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    if (limit.rlim_max != RLIM_INFINITY && qint64(limit.rlim_max) < needed) {
        QTextStream(stderr) << "warning: the open-file limit is " << limit.rlim_max << " but " << needed
                            << " are needed; raise it with 'ulimit -n " << needed << "' (as root)" << Qt::endl;
    }
}

int positive(const QString &text)
{
    bool ok = false;
    const int value = text.toInt(&ok);
    return ok && value > 0 ? value : -1;
}

} // namespace

int main(int argc, char **argv)
{
    // Thousands of sockets: the glib dispatcher's O(sockets) notifier toggling would make the
    // bench, not the orchestrator, the bottleneck (swamp serve makes the same choice).
    if (!qEnvironmentVariableIsSet("QT_NO_GLIB"))
        qputenv("QT_NO_GLIB", "1");
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("swamp-bench"));
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Simulated swamp fleets against a real orchestrator.\n\n"
        "Scenarios:\n"
        "  idle N            connect N workers: enrollments/s, orchestrator RSS per worker\n"
        "  throughput W M    M no-op steps over W workers: steps/s, submit→start/finished latency\n"
        "  storm N           restart the orchestrator under N workers: time until all are back,\n"
        "                    connect rate peak vs mean, steps lost\n"
        "  query R           swamp data query over R finished steps (and their leases)\n"
        "  quick             idle 50, throughput 10 200, storm 50, query 1000 (the ctest)"));
    parser.addHelpOption();
    parser.addOptions({
        {QStringLiteral("swamp"), QStringLiteral("The swamp binary (default: the one of this build)."), QStringLiteral("path"),
         QStringLiteral(SWAMP_BINARY)},
        {QStringLiteral("json"), QStringLiteral("Also write the figures to this JSON file."), QStringLiteral("file")},
        {QStringLiteral("work-dir"), QStringLiteral("Where data dirs are made (default: the temp dir)."), QStringLiteral("dir")},
        {QStringLiteral("serve-arg"), QStringLiteral("An extra argument for swamp serve (repeatable)."), QStringLiteral("arg")},
        {QStringLiteral("window"), QStringLiteral("Enrollments in flight while a fleet connects (default 256)."), QStringLiteral("n"), QStringLiteral("256")},
        {QStringLiteral("batch"), QStringLiteral("Steps per run.submit in the throughput phase (default 1)."), QStringLiteral("n"), QStringLiteral("1")},
        {QStringLiteral("inflight"), QStringLiteral("run.submit requests in flight (default 64)."), QStringLiteral("n"), QStringLiteral("64")},
        {QStringLiteral("probe"), QStringLiteral("Steps of the idle-latency probe, one at a time (default 1000)."), QStringLiteral("n"), QStringLiteral("1000")},
        {QStringLiteral("query-runs"), QStringLiteral("Runs of each data query command (default 5)."), QStringLiteral("n"), QStringLiteral("5")},
        {QStringLiteral("crash"), QStringLiteral("storm: SIGKILL the orchestrator instead of SIGTERM.")},
        {QStringLiteral("keep"), QStringLiteral("Keep data dirs and orchestrator logs.")},
    });
    parser.addPositionalArgument(QStringLiteral("scenario"), QStringLiteral("idle | throughput | storm | query | quick"));
    parser.addPositionalArgument(QStringLiteral("args"), QStringLiteral("its numbers"));
    parser.process(app);

    BenchOptions options;
    options.swampBinary = parser.value(QStringLiteral("swamp"));
    options.workRoot = parser.isSet(QStringLiteral("work-dir")) ? parser.value(QStringLiteral("work-dir")) : QDir::tempPath();
    options.serveArguments = parser.values(QStringLiteral("serve-arg"));
    options.window = positive(parser.value(QStringLiteral("window")));
    options.batch = positive(parser.value(QStringLiteral("batch")));
    options.inflight = positive(parser.value(QStringLiteral("inflight")));
    options.probe = positive(parser.value(QStringLiteral("probe")));
    options.queryRuns = positive(parser.value(QStringLiteral("query-runs")));
    options.crash = parser.isSet(QStringLiteral("crash"));
    options.keep = parser.isSet(QStringLiteral("keep"));
    if (options.window < 0 || options.batch < 0 || options.inflight < 0 || options.probe < 0 || options.queryRuns < 0) {
        QTextStream(stderr) << "error: --window, --batch, --inflight, --probe and --query-runs take a positive number" << Qt::endl;
        return 2;
    }
    for (const char *name : {"SWAMP_SERVER", "SWAMP_ADMIN_TOKEN", "SWAMP_ADMIN_TOKEN_FILE", "SWAMP_DATA_DIR"})
        qunsetenv(name);

    const QStringList args = parser.positionalArguments();
    const QString scenario = args.value(0);
    const auto number = [&](int i) { return positive(args.value(i)); };
    const auto usage = [] {
        QTextStream(stderr) << "usage: swamp-bench [options] idle N | throughput W M | storm N | query R | quick "
                               "(see --help)" << Qt::endl;
        return 2;
    };
    QList<ScenarioResult> results;
    if (scenario == u"idle" && args.size() == 2 && number(1) > 0) {
        raiseOpenFileLimit(number(1) + 256);
        results << runIdle(options, number(1));
    } else if (scenario == u"throughput" && args.size() == 3 && number(1) > 0 && number(2) > 0) {
        raiseOpenFileLimit(number(1) + 256);
        results << runThroughput(options, number(1), number(2));
    } else if (scenario == u"storm" && args.size() == 2 && number(1) > 0) {
        raiseOpenFileLimit(number(1) + 256);
        results << runStorm(options, number(1));
    } else if (scenario == u"query" && args.size() == 2 && number(1) > 0) {
        results << runQuery(options, number(1));
    } else if (scenario == u"quick" && args.size() == 1) {
        options.probe = std::min(options.probe, 50);
        options.queryRuns = std::min(options.queryRuns, 2);
        results << runIdle(options, 50) << runThroughput(options, 10, 200) << runStorm(options, 50)
                << runQuery(options, 1000);
    } else {
        return usage();
    }

    QJsonArray scenarios;
    bool ok = true;
    for (const ScenarioResult &result : std::as_const(results)) {
        scenarios << result.toJson();
        for (const QString &failure : result.failures)
            QTextStream(stderr) << "FAILED " << result.name << ": " << failure << Qt::endl;
        ok = ok && result.ok();
    }
    if (parser.isSet(QStringLiteral("json"))) {
        QFile file(parser.value(QStringLiteral("json")));
        if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
            QTextStream(stderr) << "error: cannot write " << file.fileName() << ": " << file.errorString() << Qt::endl;
            return 1;
        }
        file.write(QJsonDocument(QJsonObject{{QStringLiteral("scenarios"), scenarios},
                                             {QStringLiteral("swamp"), options.swampBinary},
                                             {QStringLiteral("ok"), ok}})
                       .toJson());
    }
    return ok ? 0 : 1;
}
