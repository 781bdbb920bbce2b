#include "scenarios.h"
#include "scenarios_p.h"

#include "benchclock.h"

#include <QJsonArray>

#include <algorithm>

#include <signal.h>

using namespace Swamp;

namespace SwampBench {

using namespace Internal;

ScenarioResult runStorm(const BenchOptions &options, int workers)
{
    Setup setup(options);
    ScenarioResult result{QStringLiteral("storm %1").arg(workers) + setup.suffix(), {}, {}, {}};
    say(QStringLiteral("== storm %1: restart the orchestrator (%2) under %1 workers with running steps%3")
            .arg(workers).arg(options.crash ? QStringLiteral("SIGKILL") : QStringLiteral("SIGTERM"), setup.suffix()));
    std::unique_ptr<SimFleet> fleet;
    if (!startFleet(setup, result, fleet))
        return result;
    const Wave wave = enrollWave(*fleet, workers, options.window);
    check(result, QStringLiteral("all enrolled"), wave.complete,
          QStringLiteral("%1 of %2 enrolled").arg(fleet->enrolledCount()).arg(workers));
    if (!wave.complete)
        return result;

    // Steps running when the orchestrator goes away: their leases expire at boot and they must
    // run again and finish, none lost and none finished twice.
    const int held = std::max(1, std::min(workers / 2, 1000));
    fleet->setHoldSteps(true);
    std::vector<StepTrace> &traces = fleet->steps();
    traces.assign(size_t(held), StepTrace());
    QJsonArray specs;
    for (int i = 0; i < held; ++i) {
        specs << QJsonObject{{QStringLiteral("name"), SimFleet::stepName(i)},
                             {QStringLiteral("command"), QJsonArray{QStringLiteral("true")}}};
    }
    auto submitted = setup.call(QStringLiteral("run.submit"), {{QStringLiteral("steps"), specs}});
    check(result, QStringLiteral("submitted"), submitted.has_value(), submitted ? QString() : submitted.error().text());
    if (!submitted)
        return result;
    const bool running = waitUntil([&] { return fleet->heldCount() >= held; }, 60000);
    check(result, QStringLiteral("steps running before the restart"), running,
          QStringLiteral("%1 of %2 held").arg(fleet->heldCount()).arg(held));

    const qsizetype enrollsBefore = fleet->enrollTimesUs().size();
    const qsizetype attemptsBefore = fleet->connectAttemptTimesUs().size();
    const int failedBefore = fleet->failedAttempts();
    const qint64 stopUs = nowUs();
    if (options.crash) {
        ::kill(pid_t(setup.serve->pid()), SIGKILL);
        waitUntil([&] { return !setup.serve->isRunning(); }, 30000);
    } else {
        setup.serve->stop();
    }
    const qint64 downUs = nowUs();
    auto restarted = setup.serve->start(120000);
    check(result, QStringLiteral("orchestrator restarted"), restarted.has_value(),
          restarted ? QString() : restarted.error().text());
    if (!restarted)
        return result;
    const qint64 upUs = nowUs();
    const bool back = waitUntil([&] { return fleet->enrolledCount() >= workers; }, 300000);
    const qint64 backUs = nowUs();
    check(result, QStringLiteral("all workers back"), back,
          QStringLiteral("%1 of %2 back after %3 s; errors %4")
              .arg(fleet->enrolledCount()).arg(workers).arg(fixed(ms(backUs - stopUs) / 1000.0)).arg(errorCodesText(*fleet)));
    const QList<qint64> reEnrolls = fleet->enrollTimesUs().mid(enrollsBefore);
    const qint64 lastBackUs = reEnrolls.isEmpty() ? backUs : *std::max_element(reEnrolls.cbegin(), reEnrolls.cend());
    // The connect rate from the listener opening to the last worker back, per 100 ms.
    QList<qint64> window = reEnrolls;
    window << upUs;
    const RateProfile profile = rateProfile(window, 100'000);
    const double peakToMean = profile.meanPerBucket > 0 ? double(profile.peakPerBucket) / profile.meanPerBucket : 0;
    // The attempts (TCP connects started) in the same window: what the jitter shapes, before the
    // orchestrator's accept and enrollment queue.
    QList<qint64> attempts;
    for (qint64 t : fleet->connectAttemptTimesUs().mid(attemptsBefore)) {
        if (t >= upUs && t <= lastBackUs)
            attempts << t;
    }
    attempts << upUs << lastBackUs;
    const RateProfile attemptProfile = rateProfile(attempts, 100'000);
    const double attemptPeakToMean = attemptProfile.meanPerBucket > 0
        ? double(attemptProfile.peakPerBucket) / attemptProfile.meanPerBucket : 0;

    // Every step runs again and finishes once.
    fleet->setHoldSteps(false);
    fleet->releaseHeld();
    const bool allDone = waitUntil([&] {
        return std::all_of(traces.cbegin(), traces.cend(), [](const StepTrace &t) { return t.acks > 0; });
    }, 120000);
    const qint64 succeeded = setup.count(QStringLiteral("modelType == \"swamp/step\" && attributes.state == \"succeeded\""));
    const qint64 stepRecords = setup.count(QStringLiteral("modelType == \"swamp/step\""));
    const qint64 completedLeases = setup.count(QStringLiteral("modelType == \"swamp/step-lease\" && attributes.state == \"completed\""));
    const qint64 lost = held - std::max<qint64>(0, succeeded);
    qsizetype twice = 0;
    for (const StepTrace &trace : traces)
        twice += trace.acks > 1 ? 1 : 0;
    check(result, QStringLiteral("0 steps lost"), allDone && lost == 0 && stepRecords == held,
          QStringLiteral("%1 of %2 steps succeeded (%3 records)").arg(succeeded).arg(held).arg(stepRecords));
    check(result, QStringLiteral("each step completed exactly once"), twice == 0 && completedLeases == held,
          QStringLiteral("%1 steps acked twice; %2 completed leases for %3 steps").arg(twice).arg(completedLeases).arg(held));

    result.figures = {{QStringLiteral("workers"), workers},
                      {QStringLiteral("runningSteps"), held},
                      {QStringLiteral("crash"), options.crash},
                      {QStringLiteral("stopSeconds"), ms(downUs - stopUs) / 1000.0},
                      {QStringLiteral("bootSeconds"), ms(setup.serve->bootUs()) / 1000.0},
                      {QStringLiteral("allBackSeconds"), ms(lastBackUs - stopUs) / 1000.0},
                      {QStringLiteral("backAfterListeningSeconds"), ms(lastBackUs - upUs) / 1000.0},
                      {QStringLiteral("connectMeanPer100ms"), profile.meanPerBucket},
                      {QStringLiteral("connectPeakPer100ms"), profile.peakPerBucket},
                      {QStringLiteral("peakToMean"), peakToMean},
                      {QStringLiteral("attemptPeakToMean"), attemptPeakToMean},
                      {QStringLiteral("attemptMeanPer100ms"), attemptProfile.meanPerBucket},
                      {QStringLiteral("attemptPeakPer100ms"), attemptProfile.peakPerBucket},
                      {QStringLiteral("connectAttempts"), fleet->connectAttemptTimesUs().size() - attemptsBefore},
                      {QStringLiteral("failedAttempts"), fleet->failedAttempts() - failedBefore},
                      {QStringLiteral("stepsLost"), lost},
                      {QStringLiteral("stepsFinishedTwice"), twice}};
    say(QStringLiteral("stop %1 s, boot %2 s; all %3 back %4 s after the stop (%5 s after listening)")
            .arg(fixed(ms(downUs - stopUs) / 1000.0, 2), fixed(ms(setup.serve->bootUs()) / 1000.0, 2))
            .arg(workers)
            .arg(fixed(ms(lastBackUs - stopUs) / 1000.0, 2), fixed(ms(lastBackUs - upUs) / 1000.0, 2)));
    say(QStringLiteral("connects per 100 ms: mean %1, peak %2 (peak/mean %3); %4 attempts, %5 failed")
            .arg(fixed(profile.meanPerBucket)).arg(profile.peakPerBucket).arg(fixed(peakToMean, 2))
            .arg(fleet->connectAttemptTimesUs().size() - attemptsBefore).arg(fleet->failedAttempts() - failedBefore));
    say(QStringLiteral("connect attempts per 100 ms after listening: mean %1, peak %2 (peak/mean %3)")
            .arg(fixed(attemptProfile.meanPerBucket)).arg(attemptProfile.peakPerBucket).arg(fixed(attemptPeakToMean, 2)));
    say(QStringLiteral("%1 running steps: %2 succeeded after the restart, %3 lost, %4 finished twice")
            .arg(held).arg(succeeded).arg(lost).arg(twice));
    fleet->closeAll();
    setup.serve->stop();
    return result;
}

} // namespace SwampBench
