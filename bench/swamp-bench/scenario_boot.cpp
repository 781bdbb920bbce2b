// boot Q A (issue 20): how long `swamp serve` takes to listen, and how much memory it holds, on a
// store that a busy orchestrator left behind: Q queued steps and A steps out on workers with
// active leases, seeded directly into the store (SQLite, or PostgreSQL with --postgres).
#include "scenarios.h"
#include "scenarios_p.h"

#include "benchclock.h"
#include "seeding.h"

#include "store/store.h"

using namespace Swamp;

namespace SwampBench {

using namespace Internal;

namespace {

// One start of the orchestrator on the seeded store: from the process start to `Listening`, its
// CPU until then, and its memory then.
struct Boot
{
    double listeningMs = 0;
    double cpuSeconds = 0;
    qint64 rssKb = 0;
    qint64 peakRssKb = 0;
};

Boot measureBoot(const ServeProcess &serve)
{
    return {ms(serve.bootUs()), serve.cpuSeconds(), serve.rssKb(), serve.peakRssKb()};
}

QJsonObject bootJson(const Boot &boot)
{
    return {{QStringLiteral("listeningMs"), boot.listeningMs},
            {QStringLiteral("cpuSeconds"), boot.cpuSeconds},
            {QStringLiteral("rssKb"), boot.rssKb},
            {QStringLiteral("peakRssKb"), boot.peakRssKb}};
}

void sayBoot(const QString &which, const Boot &boot)
{
    say(QStringLiteral("%1: Listening %2 ms after the process started (orchestrator CPU %3 s); RSS %4 MB, "
                       "peak %5 MB")
            .arg(which, fixed(boot.listeningMs, 0), fixed(boot.cpuSeconds, 2), fixed(boot.rssKb / 1024.0),
                 fixed(boot.peakRssKb / 1024.0)));
}

// What boot reconciliation must have left: every step queued again, no lease active.
void checkRecovered(Setup &setup, ScenarioResult &result, int queued, int active)
{
    const qint64 queuedNow =
        setup.count(QStringLiteral("modelType == \"swamp/step\" && attributes.state == \"queued\""));
    check(result, QStringLiteral("every step queued"), queuedNow == queued + active,
          QStringLiteral("%1 queued, expected %2").arg(queuedNow).arg(queued + active));
    const qint64 activeNow =
        setup.count(QStringLiteral("modelType == \"swamp/step-lease\" && attributes.state == \"active\""));
    check(result, QStringLiteral("no lease active"), activeNow == 0, QStringLiteral("%1 active").arg(activeNow));
    const qint64 expired =
        setup.count(QStringLiteral("modelType == \"swamp/step-lease\" && attributes.state == \"expired\""));
    check(result, QStringLiteral("every lease expired"), expired == active,
          QStringLiteral("%1 expired, expected %2").arg(expired).arg(active));
}

} // namespace

ScenarioResult runBoot(const BenchOptions &options, int queued, int active)
{
    Setup setup(options);
    ScenarioResult result{QStringLiteral("boot %1 %2").arg(queued).arg(active) + setup.suffix(), {}, {}, {}};
    say(QStringLiteral("== boot %1 %2: swamp serve on a store with %1 queued steps and %2 active leases%3")
            .arg(queued)
            .arg(active)
            .arg(setup.suffix()));
    setup.startTimeoutMs = 600000; // the figure measured: it may be long before the fix
    qint64 seedUs = 0;
    auto started = setup.start([&](const QString &spec) -> Result<void> {
        auto store = Store::open(spec);
        if (!store)
            return fail(store.error());
        const qint64 start = nowUs();
        auto seeded = seedOpenSteps(**store, queued, active);
        seedUs = nowUs() - start;
        return seeded;
    });
    check(result, QStringLiteral("orchestrator started"), started.has_value(), started ? QString() : started.error().text());
    if (!started)
        return result;
    result.figures.insert(QStringLiteral("seedSeconds"), ms(seedUs) / 1000.0);
    const Boot first = measureBoot(*setup.serve);
    sayBoot(QStringLiteral("first boot (%1 leases to expire)").arg(active), first);
    checkRecovered(setup, result, queued, active);
    const qint64 settledKb = setup.serve->rssKb();
    say(QStringLiteral("RSS after the checks' queries: %1 MB").arg(fixed(settledKb / 1024.0)));

    // Again, with nothing left to expire: what a queue of this depth alone costs a restart.
    setup.serve->stop();
    auto restarted = setup.serve->start(setup.startTimeoutMs);
    check(result, QStringLiteral("orchestrator restarted"), restarted.has_value(),
          restarted ? QString() : restarted.error().text());
    if (!restarted)
        return result;
    const Boot second = measureBoot(*setup.serve);
    sayBoot(QStringLiteral("restart (%1 queued, nothing to expire)").arg(queued + active), second);
    result.figures.insert(QStringLiteral("firstBoot"), bootJson(first));
    result.figures.insert(QStringLiteral("settledRssKb"), settledKb);
    result.figures.insert(QStringLiteral("restart"), bootJson(second));
    result.figures.insert(QStringLiteral("queued"), queued);
    result.figures.insert(QStringLiteral("active"), active);
    addFleetFigures(setup, result);
    setup.stopAll();
    return result;
}

} // namespace SwampBench
