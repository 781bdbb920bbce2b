// swamp-bench: simulated fleets against a real `swamp serve` (see bench/README.md).
//
//   swamp-bench [options] idle N | throughput W M | storm N | soak W M | query R | boot Q A | hostile N W |
//               quick | quick-fleet
//
// Prints figures as it goes; --json FILE also writes them. Exit status 1 when a correctness check
// failed (a worker that never enrolled, a step lost or finished twice), never because of a time.

#include "benchdatabase.h"
#include "common/epolleventdispatcher.h"
#include "fleetshards.h"
#include "scenarios.h"
#include "serveprocess.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSysInfo>
#include <QTextStream>

#include <memory>
#include <optional>

#include <signal.h>
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

// The kernel's range of local ports for connect() (net.ipv4.ip_local_port_range): "low high",
// or empty when it cannot be read.
QString localPortRange()
{
    QFile file(QStringLiteral("/proc/sys/net/ipv4/ip_local_port_range"));
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QString::fromLatin1(file.readAll()).simplified();
}

// Every simulated worker connects from 127.0.0.1 to one port, so the kernel finds each a local
// port in that range, trying ports of one parity first: once they are taken (past half the range,
// 14,116 connections with Debian's 32768-60999), every further connect() scans them all inside
// the kernel (__inet_hash_connect). A storm of 19,000 then spends most of the bench's CPU there,
// and on a small machine takes it from the orchestrator under test: the comeback's last seconds
// were a lull and a burst of the bench's making (2026-12-06). A fleet on many machines has no such
// cost, so warn where the range would shape the figures.
void checkLocalPorts(qint64 workers)
{
    const QStringList range = localPortRange().split(u' ');
    if (range.size() != 2)
        return;
    const qint64 ports = range.at(1).toLongLong() - range.at(0).toLongLong() + 1;
    if (workers <= ports / 2)
        return;
    QTextStream(stderr) << "warning: " << workers << " workers from one address need more than half of the local "
                        << "port range (" << range.join(u'-') << ", net.ipv4.ip_local_port_range): the kernel's "
                        << "connect() then scans taken ports and the bench takes CPU from the orchestrator under "
                        << "test; widen it for the run (as root): sysctl -w net.ipv4.ip_local_port_range='1024 65535'"
                        << Qt::endl;
}

// Exit status of quick-fleet when PostgreSQL is not installed (ctest's SKIP_RETURN_CODE).
constexpr int SkippedStatus = 77;

// Ctrl-C or a kill: the orchestrators go with the bench (their destructors will not run); a
// PostgreSQL server of the bench's own is stopped by its watchdog when this process is gone.
void onTerminate(int signal)
{
    killRunningServeProcesses();
    ::signal(signal, SIG_DFL);
    ::raise(signal);
}

// A number that must be positive; -1 when it is not one.
int positive(const QString &text)
{
    bool ok = false;
    const int value = text.toInt(&ok);
    return ok && value > 0 ? value : -1;
}

// Exit status of a usage error: options that are wrong or do not go together.
constexpr int UsageStatus = 2;

void sayError(const QString &text)
{
    QTextStream(stderr) << "error: " << text << Qt::endl;
}

int usageError(const QString &text)
{
    sayError(text);
    return UsageStatus;
}

QString description()
{
    return QStringLiteral(
        "Simulated swamp fleets against a real orchestrator.\n\n"
        "Scenarios:\n"
        "  idle N            connect N workers: enrollments/s, orchestrator RSS per worker\n"
        "  throughput W M    M no-op steps over W workers: steps/s, submit→start/finished latency\n"
        "  storm N           restart the orchestrator under N workers: time until all are back,\n"
        "                    connect rate peak vs mean, steps lost\n"
        "  query R           swamp data query over R finished steps (and their leases)\n"
        "  boot Q A          swamp serve on a store with Q queued steps and A active leases: time to\n"
        "                    Listening and RSS, first boot and a restart\n"
        "  hostile N W       N connections without a secret (per --hostile-variant, each against its\n"
        "                    own orchestrator) while W real workers enroll: orchestrator RSS, enrollment\n"
        "                    success and latency against the same run without an attack\n"
        "  soak W M          M steps over W workers of a PostgreSQL fleet while orchestrators are\n"
        "                    killed -9, workers drop and PostgreSQL restarts: lost, twice, recovery\n"
        "  quick             idle 50, throughput 10 200, storm 50, query 1000, hostile 200 20 (the ctest)\n"
        "  quick-fleet       idle 50 and throughput 10 200 on PostgreSQL with 2 orchestrators\n"
        "                    (ctest bench_quick_fleet; exit status 77 without PostgreSQL)\n\n"
        "PostgreSQL: --postgres starts a server for the run (PostgreSQL's binaries from Debian's\n"
        "postgresql package; run as 'nobody' when the bench runs as root), --database uses an\n"
        "existing one. Each scenario gets a new database; --orchestrators N runs N swamp serve on it.");
}

// How a run goes: the binary, where its files go, the sizes of its phases.
QList<QCommandLineOption> runOptions()
{
    return {
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
        {QStringLiteral("keep"), QStringLiteral("Keep data dirs and orchestrator logs (and PostgreSQL databases on --database).")},
        {QStringLiteral("shard-size"), QStringLiteral("A fleet that grows by more workers at once runs in child processes "
                                                      "of this many workers each (default 5000)."),
         QStringLiteral("n"), QStringLiteral("5000")},
    };
}

// Where the orchestrators keep their store, and how many share it.
QList<QCommandLineOption> storeOptions()
{
    return {
        {QStringLiteral("postgres"), QStringLiteral("Run the orchestrators on a PostgreSQL server the bench starts for the run.")},
        {QStringLiteral("database"), QStringLiteral("Run the orchestrators on this existing PostgreSQL server (a role with CREATEDB; "
                                                    "password in PGPASSWORD or ~/.pgpass)."), QStringLiteral("postgresql-url")},
        {QStringLiteral("pg-setting"), QStringLiteral("--postgres: a server setting applied on reload (repeatable; default PostgreSQL's "
                                                      "durable fsync=on, synchronous_commit=on)."), QStringLiteral("name=value")},
        {QStringLiteral("orchestrators"), QStringLiteral("swamp serve processes on one PostgreSQL database (default 1; "
                                                         "idle and throughput)."), QStringLiteral("n"), QStringLiteral("1")},
    };
}

QList<QCommandLineOption> hostileOptions()
{
    return {
        {QStringLiteral("hostile-variant"), QStringLiteral("hostile: none | head | frame | oversized | idle (repeatable; "
                                                           "default all, in that order)."), QStringLiteral("variant")},
        {QStringLiteral("hostile-seconds"), QStringLiteral("hostile: the window in which the real workers enroll under "
                                                           "attack (default 30)."), QStringLiteral("s"), QStringLiteral("30")},
        {QStringLiteral("hostile-addresses"), QStringLiteral("hostile: source addresses the attackers spread over, "
                                                             "127.0.0.2 onwards (default 100)."), QStringLiteral("n"), QStringLiteral("100")},
        {QStringLiteral("hostile-threads"), QStringLiteral("hostile: threads the attackers run on (default 2)."),
         QStringLiteral("n"), QStringLiteral("2")},
        {QStringLiteral("hostile-rate"), QStringLiteral("hostile: attacker connects per second at most, reconnects "
                                                        "included (default 2000)."), QStringLiteral("n"), QStringLiteral("2000")},
        {QStringLiteral("hostile-trickle"), QStringLiteral("hostile: an enrolled real worker restarts every this many ms "
                                                           "(default 100)."), QStringLiteral("ms"), QStringLiteral("100")},
        {QStringLiteral("hostile-head-bytes"), QStringLiteral("hostile head: bytes of the request head that never ends "
                                                              "(default 15360; the orchestrator answers 431 past 16 KiB)."),
         QStringLiteral("n"), QStringLiteral("15360")},
        {QStringLiteral("hostile-frame-bytes"), QStringLiteral("hostile frame: the length of the frame sent but its last byte "
                                                               "(default 61440; the bound before enrollment is 65536)."),
         QStringLiteral("n"), QStringLiteral("61440")},
    };
}

void setUpParser(QCommandLineParser &parser)
{
    parser.setApplicationDescription(description());
    parser.addHelpOption();
    parser.addOptions(runOptions());
    parser.addOptions(storeOptions());
    parser.addOptions(hostileOptions());
    QCommandLineOption shard(QStringLiteral("shard"), QStringLiteral("Run one shard of a fleet (the bench's own child)."));
    shard.setFlags(QCommandLineOption::HiddenFromHelp);
    parser.addOption(shard);
    parser.addPositionalArgument(QStringLiteral("scenario"),
                                 QStringLiteral("idle | throughput | storm | soak | query | boot | hostile | quick | quick-fleet"));
    parser.addPositionalArgument(QStringLiteral("args"), QStringLiteral("its numbers"));
}

BenchOptions readOptions(const QCommandLineParser &parser)
{
    BenchOptions options;
    options.swampBinary = parser.value(QStringLiteral("swamp"));
    options.workRoot =
        parser.isSet(QStringLiteral("work-dir")) ? parser.value(QStringLiteral("work-dir")) : QDir::tempPath();
    options.serveArguments = parser.values(QStringLiteral("serve-arg"));
    options.window = positive(parser.value(QStringLiteral("window")));
    options.batch = positive(parser.value(QStringLiteral("batch")));
    options.inflight = positive(parser.value(QStringLiteral("inflight")));
    options.probe = positive(parser.value(QStringLiteral("probe")));
    options.queryRuns = positive(parser.value(QStringLiteral("query-runs")));
    options.crash = parser.isSet(QStringLiteral("crash"));
    options.keep = parser.isSet(QStringLiteral("keep"));
    options.orchestrators = positive(parser.value(QStringLiteral("orchestrators")));
    options.shardSize = positive(parser.value(QStringLiteral("shard-size")));
    options.hostileSeconds = positive(parser.value(QStringLiteral("hostile-seconds")));
    options.hostileAddresses = positive(parser.value(QStringLiteral("hostile-addresses")));
    options.hostileThreads = positive(parser.value(QStringLiteral("hostile-threads")));
    options.hostileRate = positive(parser.value(QStringLiteral("hostile-rate")));
    options.hostileTrickleMs = positive(parser.value(QStringLiteral("hostile-trickle")));
    options.hostileHeadBytes = positive(parser.value(QStringLiteral("hostile-head-bytes")));
    options.hostileFrameBytes = positive(parser.value(QStringLiteral("hostile-frame-bytes")));
    return options;
}

// False, with the error on stderr, when a number of the options is out of its range.
bool checkNumbers(const BenchOptions &options)
{
    if (options.window < 0 || options.batch < 0 || options.inflight < 0 || options.probe < 0 || options.queryRuns < 0
        || options.orchestrators < 0 || options.shardSize < 0 || options.hostileSeconds < 0 || options.hostileAddresses < 0
        || options.hostileThreads < 0 || options.hostileRate < 0 || options.hostileTrickleMs < 0
        || options.hostileHeadBytes < 0 || options.hostileFrameBytes < 0) {
        sayError(QStringLiteral("--window, --batch, --inflight, --probe, --query-runs, --orchestrators, --shard-size and the "
                                "--hostile-* numbers take a positive number"));
        return false;
    }
    // 127.0.0.2 up to 127.0.255.254 (never 127.0.0.1, the real workers' address).
    if (options.hostileAddresses > 65533) {
        sayError(QStringLiteral("--hostile-addresses is at most 65533"));
        return false;
    }
    return true;
}

// The variants --hostile-variant names, all of them without it; nothing, with the error on
// stderr, when it names an unknown one.
std::optional<QStringList> chosenHostileVariants(const QCommandLineParser &parser)
{
    QStringList variants = parser.values(QStringLiteral("hostile-variant"));
    if (variants.isEmpty())
        variants = hostileVariants();
    for (const QString &variant : std::as_const(variants)) {
        if (!hostileVariants().contains(variant)) {
            sayError(QStringLiteral("--hostile-variant is one of %1, not %2").arg(hostileVariants().join(u", "), variant));
            return std::nullopt;
        }
    }
    return variants;
}

// Whether `args` are a scenario and the numbers it takes.
bool isKnownScenario(const QStringList &args)
{
    const QString scenario = args.value(0);
    const auto number = [&](int i) { return positive(args.value(i)); };
    return ((scenario == u"idle" || scenario == u"storm" || scenario == u"query") && args.size() == 2 && number(1) > 0)
        || ((scenario == u"throughput" || scenario == u"hostile" || scenario == u"boot" || scenario == u"soak")
            && args.size() == 3 && number(1) > 0 && number(2) > 0)
        || ((scenario == u"quick" || scenario == u"quick-fleet") && args.size() == 1);
}

// The store the orchestrators run on: SQLite, or PostgreSQL (the bench's own server or an
// existing one).
struct Store
{
    bool ownPostgres = false;
    bool existingPostgres = false;
};

// The store of `scenario`, and quick-fleet's orchestrators: a PostgreSQL server of the bench's own
// (unless --database) and 2 of them (unless --orchestrators). An error text when the options do not
// go together or with the scenario.
QString chooseStore(const QCommandLineParser &parser, const QString &scenario, BenchOptions &options, Store &store)
{
    store.ownPostgres = parser.isSet(QStringLiteral("postgres"));
    store.existingPostgres = parser.isSet(QStringLiteral("database"));
    if (store.ownPostgres && store.existingPostgres)
        return QStringLiteral("--postgres starts a server, --database uses one: pass one of them");
    if (scenario == u"quick-fleet") {
        store.ownPostgres = !store.existingPostgres;
        if (!parser.isSet(QStringLiteral("orchestrators")))
            options.orchestrators = 2;
    }
    if (parser.isSet(QStringLiteral("pg-setting")) && !store.ownPostgres)
        return QStringLiteral("--pg-setting applies to the server of --postgres; set an existing server's "
                              "settings there");
    if (options.orchestrators > 1 && !store.ownPostgres && !store.existingPostgres)
        return QStringLiteral("--orchestrators %1 needs PostgreSQL (orchestrators share one database): add "
                              "--postgres or --database URL").arg(options.orchestrators);
    if (scenario == u"soak" && ((!store.ownPostgres && !store.existingPostgres) || options.orchestrators < 2))
        return QStringLiteral("soak kills orchestrators of a fleet: add --postgres (or --database URL) and "
                              "--orchestrators 2 or more");
    if (options.orchestrators > 1
        && (scenario == u"storm" || scenario == u"query" || scenario == u"boot" || scenario == u"quick"))
        return QStringLiteral("%1 runs one orchestrator: --orchestrators is for idle and throughput").arg(scenario);
    if (options.orchestrators > 1 && scenario == u"hostile")
        return QStringLiteral("hostile runs one orchestrator: --orchestrators is for idle and throughput");
    if ((store.ownPostgres || store.existingPostgres) && (scenario == u"query" || scenario == u"quick"))
        return QStringLiteral("%1 seeds an SQLite store: run it without --postgres and --database "
                              "(quick-fleet is the PostgreSQL quick run)").arg(scenario);
    return {};
}

// Starts the bench's own PostgreSQL server, or connects to the existing one. The exit status when
// the bench cannot go on: skipped (quick-fleet without PostgreSQL, unless it is required) or failed.
std::optional<int> openStore(BenchDatabase &database, const Store &store, bool quickFleet,
                             const QCommandLineParser &parser)
{
    if (store.ownPostgres) {
        if (!BenchDatabase::isAvailable()) {
            if (quickFleet && !BenchDatabase::isRequired()) {
                QTextStream(stdout) << "SKIPPED quick-fleet: " << BenchDatabase::unavailableReason() << Qt::endl;
                return SkippedStatus;
            }
            sayError(BenchDatabase::unavailableReason()
                     + (BenchDatabase::isRequired() ? QStringLiteral(" (SWAMP_REQUIRE_POSTGRES=1 is set)") : QString()));
            return 1;
        }
        if (auto started = database.startOwnServer(parser.values(QStringLiteral("pg-setting"))); !started) {
            sayError(started.error().text());
            return 1;
        }
    } else if (store.existingPostgres) {
        if (auto used = database.useExisting(parser.value(QStringLiteral("database"))); !used) {
            sayError(used.error().text());
            return 1;
        }
    }
    return std::nullopt;
}

// quick: small versions of every scenario (ctest bench_quick).
QList<ScenarioResult> runQuick(BenchOptions options)
{
    options.probe = std::min(options.probe, 50);
    options.queryRuns = std::min(options.queryRuns, 2);
    QList<ScenarioResult> results;
    results << runIdle(options, 50) << runThroughput(options, 10, 200) << runStorm(options, 50)
            << runQuery(options, 1000);
    // Every hostile variant, small and short: correctness only (the real workers get in).
    options.hostileSeconds = 2;
    options.hostileRate = std::min(options.hostileRate, 400);
    for (const QString &variant : hostileVariants())
        results << runHostile(options, variant, 200, 20);
    return results;
}

// Runs the scenario of `args` (isKnownScenario()).
QList<ScenarioResult> runScenarios(const QStringList &args, BenchOptions options, const QStringList &variants)
{
    const QString scenario = args.value(0);
    const auto number = [&](int i) { return positive(args.value(i)); };
    QList<ScenarioResult> results;
    // A fleet over --shard-size runs in child processes: this one holds at most a shard's sockets.
    const int ownWorkers = std::min(number(1), options.shardSize);
    if (scenario == u"idle") {
        raiseOpenFileLimit(ownWorkers + 256);
        checkLocalPorts(number(1));
        results << runIdle(options, number(1));
    } else if (scenario == u"throughput") {
        raiseOpenFileLimit(number(1) + 256);
        results << runThroughput(options, number(1), number(2));
    } else if (scenario == u"storm") {
        raiseOpenFileLimit(ownWorkers + 256);
        checkLocalPorts(number(1));
        results << runStorm(options, number(1));
    } else if (scenario == u"soak") {
        raiseOpenFileLimit(number(1) + 256);
        results << runSoak(options, number(1), number(2));
    } else if (scenario == u"query") {
        results << runQuery(options, number(1));
    } else if (scenario == u"boot") {
        results << runBoot(options, number(1), number(2));
    } else if (scenario == u"hostile") {
        raiseOpenFileLimit(number(1) + number(2) + 256);
        for (const QString &variant : variants)
            results << runHostile(options, variant, number(1), number(2));
    } else if (scenario == u"quick") {
        results = runQuick(options);
    } else if (scenario == u"quick-fleet") {
        options.probe = std::min(options.probe, 50);
        results << runIdle(options, 50) << runThroughput(options, 10, 200);
    }
    return results;
}

// Prints every failed check on stderr; true when none failed.
bool reportFailures(const QList<ScenarioResult> &results)
{
    bool ok = true;
    for (const ScenarioResult &result : results) {
        for (const QString &failure : result.failures)
            QTextStream(stderr) << "FAILED " << result.name << ": " << failure << Qt::endl;
        ok = ok && result.ok();
    }
    return ok;
}

// --json: every scenario's figures and checks, and what they ran on. False, with the error on
// stderr, when the file cannot be written.
bool writeJson(const QString &path, const QList<ScenarioResult> &results, const BenchOptions &options,
               const BenchDatabase &database, bool ok)
{
    QJsonArray scenarios;
    for (const ScenarioResult &result : results)
        scenarios << result.toJson();
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
        sayError(QStringLiteral("cannot write %1: %2").arg(file.fileName(), file.errorString()));
        return false;
    }
    file.write(QJsonDocument(QJsonObject{{QStringLiteral("scenarios"), scenarios},
                                         {QStringLiteral("swamp"), options.swampBinary},
                                         {QStringLiteral("localPortRange"), localPortRange()},
                                         {QStringLiteral("database"), database.description()},
                                         {QStringLiteral("orchestrators"), options.orchestrators},
                                         {QStringLiteral("ok"), ok}})
                   .toJson());
    return true;
}

} // namespace

int main(int argc, char **argv)
{
    // Thousands of sockets: the glib dispatcher's O(sockets) notifier toggling would make the
    // bench, not the orchestrator, the bottleneck (swamp serve makes the same choice).
    if (!qEnvironmentVariableIsSet("QT_NO_GLIB"))
        qputenv("QT_NO_GLIB", "1");
    // Nor Qt's poll() dispatcher, which hands every socket to the kernel on every pass: the shards
    // of 19,000 simulated workers with 1,000 steps out took about 1.6 of a 2-core machine's cores
    // that way (0.5 with swamp's epoll dispatcher), CPU the orchestrator under test lacked.
    // SWAMP_BENCH_DISPATCHER=poll keeps Qt's, to compare.
    if (qgetenv("SWAMP_BENCH_DISPATCHER") != "poll")
        Swamp::EpollEventDispatcher::installBeforeApplication();
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("swamp-bench"));
    QCommandLineParser parser;
    setUpParser(parser);
    parser.process(app);
    if (parser.isSet(QStringLiteral("shard")))
        return runFleetShard();

    BenchOptions options = readOptions(parser);
    if (!checkNumbers(options))
        return UsageStatus;
    const std::optional<QStringList> variants = chosenHostileVariants(parser);
    if (!variants)
        return UsageStatus;
    for (const char *name : {"SWAMP_SERVER", "SWAMP_ADMIN_TOKEN", "SWAMP_ADMIN_TOKEN_FILE", "SWAMP_DATA_DIR"})
        qunsetenv(name);
    const QStringList args = parser.positionalArguments();
    if (!isKnownScenario(args)) {
        QTextStream(stderr) << "usage: swamp-bench [options] idle N | throughput W M | storm N | soak W M | query R | "
                               "boot Q A | hostile N W | quick | quick-fleet "
                               "(see --help)" << Qt::endl;
        return UsageStatus;
    }
    Store store;
    if (const QString error = chooseStore(parser, args.value(0), options, store); !error.isEmpty())
        return usageError(error);

    ::signal(SIGINT, onTerminate);
    ::signal(SIGTERM, onTerminate);
    ::signal(SIGHUP, onTerminate);
    BenchDatabase database;
    if (const std::optional<int> status = openStore(database, store, args.value(0) == u"quick-fleet", parser))
        return *status;
    options.database = &database;
    const QList<ScenarioResult> results = runScenarios(args, options, *variants);
    const bool ok = reportFailures(results);
    if (parser.isSet(QStringLiteral("json"))
        && !writeJson(parser.value(QStringLiteral("json")), results, options, database, ok)) {
        return 1;
    }
    return ok ? 0 : 1;
}
