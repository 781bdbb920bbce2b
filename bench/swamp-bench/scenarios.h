#pragma once

#include <QJsonObject>
#include <QString>
#include <QStringList>

namespace SwampBench {

class BenchDatabase;

struct BenchOptions
{
    QString swampBinary;
    QString workRoot;           // fresh temporary directories are made under it
    QStringList serveArguments; // passed on to every `swamp serve`
    int window = 256;           // handshakes + enrollments in flight while a fleet grows
    int batch = 1;              // steps per run.submit in the throughput phase
    int inflight = 64;          // run.submit requests in flight in the throughput phase
    int probe = 1000;           // sequential steps of the idle-latency probe
    int queryRuns = 5;          // runs of each `swamp data query` command
    bool crash = false;         // storm: SIGKILL the orchestrator instead of SIGTERM
    bool keep = false;          // keep the data dirs and logs
    BenchDatabase *database = nullptr; // SQLite when null or not PostgreSQL
    int orchestrators = 1;      // swamp serve processes on one PostgreSQL database (a fleet)
    // hostile: how long real workers enroll under the attack, and the attack's shape
    int hostileSeconds = 30;    // the measurement window
    int hostileAddresses = 100; // source addresses of the attackers (127.0.0.2 onwards)
    int hostileThreads = 2;     // epoll threads of the attackers
    int hostileRate = 2000;     // attacker connects per second at most, reconnects included
    int hostileTrickleMs = 100; // an enrolled real worker restarts every this many ms
    int hostileHeadBytes = 15 * 1024;  // head: the request head sent (the orchestrator's bound is 16 KiB)
    int hostileFrameBytes = 60 * 1024; // frame: the frame announced (the bound before enrollment is 64 KiB)
};

// One scenario's outcome: figures (times, rates, memory) and checks (correctness). `ok` is false
// when a check failed; figures never decide it.
struct ScenarioResult
{
    QString name;
    QJsonObject figures;
    QJsonObject checks;
    QStringList failures;
    bool ok() const { return failures.isEmpty(); }
    QJsonObject toJson() const;
};

ScenarioResult runIdle(const BenchOptions &options, int workers);
ScenarioResult runThroughput(const BenchOptions &options, int workers, int steps);
ScenarioResult runStorm(const BenchOptions &options, int workers);
ScenarioResult runQuery(const BenchOptions &options, int records);
// `swamp serve` on a store seeded with `queued` queued steps and `active` active leases (issue 20):
// the time to `Listening`, RSS, then the same for a restart with nothing left to expire.
ScenarioResult runBoot(const BenchOptions &options, int queued, int active);
// `hostile` attacking connections of one kind ("head", "frame", "oversized", "idle"; "none" for
// the same run without them) while `workers` real workers enroll (issue 18, item 3).
ScenarioResult runHostile(const BenchOptions &options, const QString &variant, int hostile, int workers);
// The variants of runHostile(), "none" first.
QStringList hostileVariants();

} // namespace SwampBench
