#include "scenarios.h"
#include "scenarios_p.h"

#include "benchclock.h"

#include <QJsonArray>

using namespace Swamp;

namespace SwampBench {

using namespace Internal;

ScenarioResult runThroughput(const BenchOptions &options, int workers, int steps)
{
    Setup setup(options);
    ScenarioResult result{QStringLiteral("throughput %1 %2").arg(workers).arg(steps) + setup.suffix(), {}, {}, {}};
    say(QStringLiteral("== throughput %1 %2: %2 no-op steps over %1 workers (1 slot each)%3")
            .arg(workers).arg(steps).arg(setup.suffix()));
    std::unique_ptr<SimFleet> fleet;
    if (!startFleet(setup, result, fleet))
        return result;
    const Wave wave = enrollWave(*fleet, workers, options.window);
    check(result, QStringLiteral("all enrolled"), wave.complete,
          QStringLiteral("%1 of %2 enrolled").arg(fleet->enrolledCount()).arg(workers));
    if (!wave.complete)
        return result;
    const int probe = std::min(options.probe, steps);
    std::vector<StepTrace> &traces = fleet->steps();
    traces.assign(size_t(probe + steps), StepTrace());
    const auto stepJson = [](qsizetype number) {
        return QJsonObject{{QStringLiteral("name"), SimFleet::stepName(number)},
                           {QStringLiteral("command"), QJsonArray{QStringLiteral("true")}}};
    };

    // 1. Latency with idle workers: one step at a time, each submitted when the last is done.
    QList<qint64> probeStart, probeFinish;
    bool probeOk = true;
    for (int i = 0; i < probe && probeOk; ++i) {
        StepTrace &trace = traces[size_t(i)];
        trace.submittedTo = i % setup.size();
        trace.submitUs = nowUs();
        setup.admins[size_t(trace.submittedTo)]->request(QStringLiteral("run.submit"), {{QStringLiteral("steps"), QJsonArray{stepJson(i)}}},
                             [&probeOk](const Result<QJsonObject> &r) { probeOk = probeOk && r.has_value(); });
        probeOk = waitUntil([&] { return trace.acks > 0; }, 30000) && probeOk;
        probeStart << trace.dispatchUs - trace.submitUs;
        probeFinish << trace.ackUs - trace.submitUs;
    }
    check(result, QStringLiteral("probe steps finished"), probeOk, QStringLiteral("a probe step did not finish within 30 s"));

    // 2. Throughput: every step submitted as fast as the admin connections take them (round-robin
    // over a fleet's orchestrators, --inflight requests in flight in all).
    const qsizetype total = probe + steps;
    qsizetype next = probe;
    int inFlight = 0;
    int turn = 0;
    bool submitOk = true;
    const qint64 firstSubmitUs = nowUs();
    const double cpuBefore = setup.cpuSeconds();
    QList<double> cpuBeforeEach;
    for (const auto &orchestrator : setup.serves)
        cpuBeforeEach << orchestrator->cpuSeconds();
    const auto submitMore = [&](auto &self) -> void {
        while (next < total && inFlight < options.inflight) {
            QJsonArray batch;
            const qint64 at = nowUs();
            const int to = turn++ % setup.size();
            for (int b = 0; b < options.batch && next < total; ++b, ++next) {
                traces[size_t(next)].submitUs = at;
                traces[size_t(next)].submittedTo = to;
                batch << stepJson(next);
            }
            ++inFlight;
            setup.admins[size_t(to)]->request(QStringLiteral("run.submit"), {{QStringLiteral("steps"), batch}},
                                 [&, self](const Result<QJsonObject> &r) {
                                     --inFlight;
                                     submitOk = submitOk && r.has_value();
                                     self(self);
                                 });
        }
    };
    submitMore(submitMore);
    // Until every step finished, as long as steps keep finishing: a slow store (PostgreSQL with
    // synchronous commits on a slow disk) is a figure, not a failure; 60 s without one is.
    const qint64 target = total;
    bool finished = false;
    for (qsizetype seen = -1; !finished && submitOk && fleet->finishedSteps() > seen;) {
        seen = fleet->finishedSteps();
        finished = waitUntil([&] { return fleet->finishedSteps() >= target || !submitOk; }, 60000);
    }
    finished = finished && fleet->finishedSteps() >= target;
    qint64 lastAckUs = firstSubmitUs;
    QList<qint64> loadStart, loadFinish;
    for (qsizetype i = probe; i < total; ++i) {
        const StepTrace &trace = traces[size_t(i)];
        lastAckUs = std::max(lastAckUs, trace.ackUs);
        if (trace.acks > 0) {
            loadStart << trace.dispatchUs - trace.submitUs;
            loadFinish << trace.ackUs - trace.submitUs;
        }
    }
    const double cpuPerStepMs = (setup.cpuSeconds() - cpuBefore) * 1000.0 / std::max(1, steps);
    QJsonArray cpuPerStepEach;
    for (size_t o = 0; o < setup.serves.size(); ++o)
        cpuPerStepEach << (setup.serves[o]->cpuSeconds() - cpuBeforeEach.value(qsizetype(o))) * 1000.0 / std::max(1, steps);
    const double seconds = double(lastAckUs - firstSubmitUs) / 1e6;
    const double perSecond = seconds > 0 ? double(steps) / seconds : 0;

    // Exactly once, as the workers saw it and as the orchestrator recorded it.
    qsizetype notOnce = 0;
    for (const StepTrace &trace : traces)
        notOnce += (trace.dispatches != 1 || trace.acks != 1) ? 1 : 0;
    check(result, QStringLiteral("submitted"), submitOk, QStringLiteral("a run.submit failed"));
    check(result, QStringLiteral("all finished"), finished,
          QStringLiteral("%1 of %2 steps finished").arg(fleet->finishedSteps()).arg(total));
    check(result, QStringLiteral("each step dispatched and acked exactly once"), notOnce == 0,
          QStringLiteral("%1 steps were not dispatched and acked exactly once").arg(notOnce));
    // A fleet's store is one database: every orchestrator must tell the same.
    for (int o = 0; o < setup.size(); ++o) {
        const QString who = setup.size() == 1 ? QString() : QStringLiteral(" (orchestrator %1)").arg(o);
        const qint64 succeeded = setup.count(QStringLiteral("modelType == \"swamp/step\" && attributes.state == \"succeeded\""), o);
        const qint64 stepRecords = setup.count(QStringLiteral("modelType == \"swamp/step\""), o);
        const qint64 completedLeases = setup.count(QStringLiteral("modelType == \"swamp/step-lease\" && attributes.state == \"completed\""), o);
        const qint64 leaseRecords = setup.count(QStringLiteral("modelType == \"swamp/step-lease\""), o);
        check(result, QStringLiteral("stored: every step succeeded") + who, succeeded == total && stepRecords == total,
              QStringLiteral("%1 succeeded of %2 step records, %3 submitted").arg(succeeded).arg(stepRecords).arg(total));
        check(result, QStringLiteral("stored: one completed lease per step") + who, completedLeases == total && leaseRecords == total,
              QStringLiteral("%1 completed of %2 leases for %3 steps").arg(completedLeases).arg(leaseRecords).arg(total));
    }
    check(result, QStringLiteral("no refusals"), fleet->refused() == 0 && fleet->unknownSteps() == 0,
          QStringLiteral("%1 refused frames, %2 unknown steps").arg(fleet->refused()).arg(fleet->unknownSteps()));

    const auto pct = [](const QList<qint64> &samples) {
        return QJsonObject{{QStringLiteral("p50Ms"), ms(percentileUs(samples, 50))},
                           {QStringLiteral("p99Ms"), ms(percentileUs(samples, 99))},
                           {QStringLiteral("p999Ms"), ms(percentileUs(samples, 99.9))},
                           {QStringLiteral("samples"), samples.size()}};
    };
    result.figures = {{QStringLiteral("workers"), workers},
                      {QStringLiteral("steps"), steps},
                      {QStringLiteral("batch"), options.batch},
                      {QStringLiteral("inflight"), options.inflight},
                      {QStringLiteral("stepsPerSecond"), perSecond},
                      {QStringLiteral("seconds"), seconds},
                      {QStringLiteral("orchestratorCpuMsPerStep"), cpuPerStepMs},
                      {QStringLiteral("idleSubmitToStart"), pct(probeStart)},
                      {QStringLiteral("idleSubmitToFinished"), pct(probeFinish)},
                      {QStringLiteral("loadedSubmitToStart"), pct(loadStart)},
                      {QStringLiteral("loadedSubmitToFinished"), pct(loadFinish)},
                      {QStringLiteral("rssKb"), setup.rssKb()},
                      {QStringLiteral("orchestratorCpuMsPerStepEach"), cpuPerStepEach}};
    const auto line = [](const QList<qint64> &samples) {
        return QStringLiteral("p50 %1 ms, p99 %2 ms, p99.9 %3 ms")
            .arg(fixed(ms(percentileUs(samples, 50)), 2), fixed(ms(percentileUs(samples, 99)), 2),
                 fixed(ms(percentileUs(samples, 99.9)), 2));
    };
    say(QStringLiteral("idle workers, %1 steps one at a time: submit→start %2").arg(probe).arg(line(probeStart)));
    say(QStringLiteral("                                   submit→finished %1").arg(line(probeFinish)));
    QStringList cpuEach;
    for (const QJsonValue &value : std::as_const(cpuPerStepEach))
        cpuEach << fixed(value.toDouble(), 3);
    say(QStringLiteral("%1 steps (batch %2, %3 submits in flight): %4 steps/s, %5 s end to end; "
                       "orchestrator CPU %6 ms per step%7")
            .arg(steps).arg(options.batch).arg(options.inflight).arg(fixed(perSecond, 0), fixed(seconds, 2))
            .arg(fixed(cpuPerStepMs, 3))
            .arg(setup.size() > 1 ? QStringLiteral(" (%1)").arg(cpuEach.join(QStringLiteral(" + "))) : QString()));
    say(QStringLiteral("  under load: submit→start %1").arg(line(loadStart)));
    say(QStringLiteral("              submit→finished %1").arg(line(loadFinish)));
    if (setup.size() > 1) {
        // The cross-orchestrator path: submitted to one orchestrator, run by a worker of another
        // (claimed after a LISTEN/NOTIFY wake-up).
        QList<qint64> sameStart, crossStart, sameFinish, crossFinish;
        qsizetype crossLoaded = 0, loaded = 0;
        for (qsizetype i = 0; i < total; ++i) {
            const StepTrace &trace = traces[size_t(i)];
            if (trace.acks == 0)
                continue;
            const bool cross = trace.ranOn != trace.submittedTo;
            if (i < probe) {
                (cross ? crossStart : sameStart) << trace.dispatchUs - trace.submitUs;
                (cross ? crossFinish : sameFinish) << trace.ackUs - trace.submitUs;
            } else {
                ++loaded;
                crossLoaded += cross ? 1 : 0;
            }
        }
        const double probeShare = probe > 0 ? double(crossStart.size()) / double(probe) : 0;
        const double loadedShare = loaded > 0 ? double(crossLoaded) / double(loaded) : 0;
        result.figures.insert(QStringLiteral("idleCrossShare"), probeShare);
        result.figures.insert(QStringLiteral("loadedCrossShare"), loadedShare);
        result.figures.insert(QStringLiteral("idleSameSubmitToStart"), pct(sameStart));
        result.figures.insert(QStringLiteral("idleCrossSubmitToStart"), pct(crossStart));
        result.figures.insert(QStringLiteral("idleSameSubmitToFinished"), pct(sameFinish));
        result.figures.insert(QStringLiteral("idleCrossSubmitToFinished"), pct(crossFinish));
        say(QStringLiteral("ran on a worker of another orchestrator than the one submitted to: %1% of the idle "
                           "steps, %2% under load")
                .arg(fixed(probeShare * 100), fixed(loadedShare * 100)));
        say(QStringLiteral("  idle, same orchestrator:  submit→start %1").arg(line(sameStart)));
        say(QStringLiteral("  idle, cross-orchestrator: submit→start %1").arg(line(crossStart)));
    }
    addFleetFigures(setup, result);
    fleet->closeAll();
    setup.stopAll();
    return result;
}

} // namespace SwampBench
