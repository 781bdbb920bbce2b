#include "scenarios.h"
#include "scenarios_p.h"

#include "benchclock.h"

#include <QJsonArray>

#include <algorithm>
#include <optional>

#include <signal.h>

using namespace Swamp;

namespace SwampBench {

using namespace Internal;

namespace {

// Submits `held` steps that their workers start and hold unfinished: running when the orchestrator
// goes away. False when the submit failed.
bool startHeldSteps(Setup &setup, ScenarioResult &result, SimFleet &fleet, int held)
{
    fleet.setHoldSteps(true);
    fleet.steps().assign(size_t(held), StepTrace());
    QJsonArray specs;
    for (int i = 0; i < held; ++i)
        specs << noOpStep(i);
    auto submitted = setup.call(QStringLiteral("run.submit"), {{QStringLiteral("steps"), specs}});
    check(result, QStringLiteral("submitted"), submitted.has_value(), submitted ? QString() : submitted.error().text());
    if (!submitted)
        return false;
    const bool running = waitUntil([&] { return fleet.heldCount() >= held; }, 60000);
    check(result, QStringLiteral("steps running before the restart"), running,
          QStringLiteral("%1 of %2 held").arg(fleet.heldCount()).arg(held));
    return true;
}

// Where the fleet's counters stood before the restart: what the storm reports counts from there.
struct FleetMark
{
    qsizetype enrolls = 0;
    qsizetype attempts = 0;
    int failed = 0;
};

FleetMark markFleet(const SimFleet &fleet)
{
    return {fleet.enrollTimesUs().size(), fleet.connectAttemptTimesUs().size(), fleet.failedAttempts()};
}

// The restart on the bench's clock: stopping began, the orchestrator was gone, it listened again.
struct Restart
{
    qint64 stopUs = 0;
    qint64 downUs = 0;
    qint64 upUs = 0;
};

// Stops the orchestrator (SIGTERM, or SIGKILL with --crash) and starts it again on the same port
// and data dir; nothing when it does not start.
std::optional<Restart> restartOrchestrator(Setup &setup, ScenarioResult &result, bool crash)
{
    Restart restart;
    restart.stopUs = nowUs();
    if (crash) {
        ::kill(pid_t(setup.serve->pid()), SIGKILL);
        waitUntil([&] { return !setup.serve->isRunning(); }, 30000);
    } else {
        setup.serve->stop();
    }
    restart.downUs = nowUs();
    auto restarted = setup.serve->start(120000);
    check(result, QStringLiteral("orchestrator restarted"), restarted.has_value(),
          restarted ? QString() : restarted.error().text());
    if (!restarted)
        return std::nullopt;
    restart.upUs = nowUs();
    return restart;
}

// The bucket of the connect rates: 100 ms.
constexpr qint64 RateBucketUs = 100 * 1000;

// How the fleet came back: when its last worker enrolled again, and the rates per 100 ms from the
// listener opening until then.
struct Comeback
{
    qint64 lastBackUs = 0;
    RateProfile connects; // enrollments
    RateProfile attempts; // TCP connects started
};

double peakToMean(const RateProfile &profile)
{
    return profile.meanPerBucket > 0 ? double(profile.peakPerBucket) / profile.meanPerBucket : 0;
}

Comeback comebackProfile(const SimFleet &fleet, const FleetMark &mark, qint64 upUs, qint64 backUs)
{
    Comeback comeback;
    const QList<qint64> reEnrolls = fleet.enrollTimesUs().mid(mark.enrolls);
    comeback.lastBackUs = reEnrolls.isEmpty() ? backUs : *std::max_element(reEnrolls.cbegin(), reEnrolls.cend());
    // The connect rate from the listener opening to the last worker back, per 100 ms.
    QList<qint64> window = reEnrolls;
    window << upUs;
    comeback.connects = rateProfile(window, RateBucketUs);
    // The attempts (TCP connects started) in the same window: what the jitter shapes, before the
    // orchestrator's accept and enrollment queue.
    QList<qint64> attempts;
    for (qint64 t : fleet.connectAttemptTimesUs().mid(mark.attempts)) {
        if (t >= upUs && t <= comeback.lastBackUs)
            attempts << t;
    }
    attempts << upUs << comeback.lastBackUs;
    comeback.attempts = rateProfile(attempts, RateBucketUs);
    return comeback;
}

// Waits until every worker is enrolled again (5 minutes at most), checks that they are, and
// profiles their return.
Comeback waitForComeback(ScenarioResult &result, const SimFleet &fleet, int workers, const FleetMark &mark,
                         const Restart &restart)
{
    const bool back = waitUntil([&] { return fleet.enrolledCount() >= workers; }, 300000);
    const qint64 backUs = nowUs();
    check(result, QStringLiteral("all workers back"), back,
          QStringLiteral("%1 of %2 back after %3 s; errors %4")
              .arg(fleet.enrolledCount()).arg(workers).arg(fixed(ms(backUs - restart.stopUs) / 1000.0))
              .arg(errorCodesText(fleet)));
    return comebackProfile(fleet, mark, restart.upUs, backUs);
}

// The held steps after the restart: how many succeeded, were lost, finished twice.
struct Rerun
{
    qint64 succeeded = 0;
    qint64 lost = 0;
    qsizetype twice = 0;
};

// Releases the held steps and checks that every one ran again and finished once.
Rerun rerunHeldSteps(Setup &setup, ScenarioResult &result, SimFleet &fleet, int held)
{
    fleet.setHoldSteps(false);
    fleet.releaseHeld();
    const std::vector<StepTrace> &traces = fleet.steps();
    const bool allDone = waitUntil([&] {
        return std::all_of(traces.cbegin(), traces.cend(), [](const StepTrace &t) { return t.acks > 0; });
    }, 120000);
    Rerun rerun;
    rerun.succeeded = setup.count(Predicate::succeededSteps());
    const qint64 stepRecords = setup.count(Predicate::steps());
    const qint64 completedLeases = setup.count(Predicate::completedLeases());
    rerun.lost = held - std::max<qint64>(0, rerun.succeeded);
    for (const StepTrace &trace : traces)
        rerun.twice += trace.acks > 1 ? 1 : 0;
    check(result, QStringLiteral("0 steps lost"), allDone && rerun.lost == 0 && stepRecords == held,
          QStringLiteral("%1 of %2 steps succeeded (%3 records)").arg(rerun.succeeded).arg(held).arg(stepRecords));
    check(result, QStringLiteral("each step completed exactly once"), rerun.twice == 0 && completedLeases == held,
          QStringLiteral("%1 steps acked twice; %2 completed leases for %3 steps")
              .arg(rerun.twice).arg(completedLeases).arg(held));
    return rerun;
}

QJsonArray numbers(const QList<qint64> &values)
{
    QJsonArray array;
    for (qint64 value : values)
        array << value;
    return array;
}

// What a storm measured, phase by phase.
struct StormRun
{
    int workers = 0;
    int held = 0; // steps running at the restart
    FleetMark mark;
    Restart restart;
    Comeback comeback;
    Rerun rerun;
};

QJsonObject stormFigures(const Setup &setup, const SimFleet &fleet, bool crash, const StormRun &storm)
{
    const Restart &restart = storm.restart;
    const Comeback &comeback = storm.comeback;
    return {{QStringLiteral("workers"), storm.workers},
            {QStringLiteral("runningSteps"), storm.held},
            {QStringLiteral("crash"), crash},
            {QStringLiteral("stopSeconds"), ms(restart.downUs - restart.stopUs) / 1000.0},
            {QStringLiteral("bootSeconds"), ms(setup.serve->bootUs()) / 1000.0},
            {QStringLiteral("allBackSeconds"), ms(comeback.lastBackUs - restart.stopUs) / 1000.0},
            {QStringLiteral("backAfterListeningSeconds"), ms(comeback.lastBackUs - restart.upUs) / 1000.0},
            {QStringLiteral("connectMeanPer100ms"), comeback.connects.meanPerBucket},
            {QStringLiteral("connectPeakPer100ms"), comeback.connects.peakPerBucket},
            {QStringLiteral("peakToMean"), peakToMean(comeback.connects)},
            {QStringLiteral("attemptPeakToMean"), peakToMean(comeback.attempts)},
            {QStringLiteral("attemptMeanPer100ms"), comeback.attempts.meanPerBucket},
            {QStringLiteral("attemptPeakPer100ms"), comeback.attempts.peakPerBucket},
            {QStringLiteral("connectsPer100ms"), numbers(comeback.connects.counts)},
            {QStringLiteral("attemptsPer100ms"), numbers(comeback.attempts.counts)},
            {QStringLiteral("connectAttempts"), fleet.connectAttemptTimesUs().size() - storm.mark.attempts},
            {QStringLiteral("failedAttempts"), fleet.failedAttempts() - storm.mark.failed},
            {QStringLiteral("stepsLost"), storm.rerun.lost},
            {QStringLiteral("stepsFinishedTwice"), storm.rerun.twice},
            {QStringLiteral("benchProcesses"), std::max(1, fleet.shardCount())},
            {QStringLiteral("dropReasons"), countsToJson(fleet.closeReasons())},
            {QStringLiteral("failureReasons"), countsToJson(fleet.failureReasons())}};
}

void sayStorm(const Setup &setup, const SimFleet &fleet, const StormRun &storm)
{
    const Restart &restart = storm.restart;
    const Comeback &comeback = storm.comeback;
    say(QStringLiteral("stop %1 s, boot %2 s; all %3 back %4 s after the stop (%5 s after listening); "
                       "%6 bench process(es)")
            .arg(fixed(ms(restart.downUs - restart.stopUs) / 1000.0, 2), fixed(ms(setup.serve->bootUs()) / 1000.0, 2))
            .arg(storm.workers)
            .arg(fixed(ms(comeback.lastBackUs - restart.stopUs) / 1000.0, 2),
                 fixed(ms(comeback.lastBackUs - restart.upUs) / 1000.0, 2))
            .arg(std::max(1, fleet.shardCount())));
    say(QStringLiteral("connects per 100 ms: mean %1, peak %2 (peak/mean %3); %4 attempts, %5 failed")
            .arg(fixed(comeback.connects.meanPerBucket)).arg(comeback.connects.peakPerBucket)
            .arg(fixed(peakToMean(comeback.connects), 2))
            .arg(fleet.connectAttemptTimesUs().size() - storm.mark.attempts)
            .arg(fleet.failedAttempts() - storm.mark.failed));
    say(QStringLiteral("connect attempts per 100 ms after listening: mean %1, peak %2 (peak/mean %3)")
            .arg(fixed(comeback.attempts.meanPerBucket)).arg(comeback.attempts.peakPerBucket)
            .arg(fixed(peakToMean(comeback.attempts), 2)));
    say(QStringLiteral("%1 running steps: %2 succeeded after the restart, %3 lost, %4 finished twice")
            .arg(storm.held).arg(storm.rerun.succeeded).arg(storm.rerun.lost).arg(storm.rerun.twice));
}

} // namespace

ScenarioResult runStorm(const BenchOptions &options, int workers)
{
    Setup setup(options);
    ScenarioResult result{QStringLiteral("storm %1").arg(workers) + setup.suffix(), {}, {}, {}};
    say(QStringLiteral("== storm %1: restart the orchestrator (%2) under %1 workers with running steps%3")
            .arg(workers).arg(options.crash ? QStringLiteral("SIGKILL") : QStringLiteral("SIGTERM"), setup.suffix()));
    std::unique_ptr<SimFleet> fleet;
    if (!startFleet(setup, result, fleet) || !enrollAll(result, *fleet, workers, options.window))
        return result;

    // Steps running when the orchestrator goes away: their leases expire at boot and they must
    // run again and finish, none lost and none finished twice.
    StormRun storm;
    storm.workers = workers;
    storm.held = std::max(1, std::min(workers / 2, 1000));
    if (!startHeldSteps(setup, result, *fleet, storm.held))
        return result;
    storm.mark = markFleet(*fleet);
    const std::optional<Restart> restart = restartOrchestrator(setup, result, options.crash);
    if (!restart)
        return result;
    storm.restart = *restart;
    storm.comeback = waitForComeback(result, *fleet, workers, storm.mark, storm.restart);
    storm.rerun = rerunHeldSteps(setup, result, *fleet, storm.held);

    result.figures = stormFigures(setup, *fleet, options.crash, storm);
    sayStorm(setup, *fleet, storm);
    fleet->closeAll();
    setup.serve->stop();
    return result;
}

} // namespace SwampBench
