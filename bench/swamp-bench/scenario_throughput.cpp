#include "scenarios.h"
#include "scenarios_p.h"

#include "benchclock.h"

#include <QJsonArray>

using namespace Swamp;

namespace SwampBench {

using namespace Internal;

namespace {

// The latency probe with idle workers. It lives as long as the scenario: the answer to a probe's
// run.submit may still arrive after the probe stopped waiting for its step.
struct IdleProbe
{
    bool ok = true;
    QList<qint64> start;  // submit → start of each probe step, µs
    QList<qint64> finish; // submit → finished
};

// Steps 0 to `count` - 1 one at a time, each submitted when the last is done, in turn to each
// orchestrator of a fleet.
void runIdleProbe(Setup &setup, std::vector<StepTrace> &traces, int count, IdleProbe &probe)
{
    for (int i = 0; i < count && probe.ok; ++i) {
        StepTrace &trace = traces[size_t(i)];
        trace.submittedTo = i % setup.size();
        trace.submitUs = nowUs();
        setup.admins[size_t(trace.submittedTo)]->request(QStringLiteral("run.submit"),
                                                         {{QStringLiteral("steps"), QJsonArray{noOpStep(i)}}},
                                                         [&probe](const Result<QJsonObject> &r) {
                                                             probe.ok = probe.ok && r.has_value();
                                                         });
        probe.ok = waitUntil([&] { return trace.acks > 0; }, 30000) && probe.ok;
        probe.start << trace.dispatchUs - trace.submitUs;
        probe.finish << trace.ackUs - trace.submitUs;
    }
}

// Submits the steps from `first` on as fast as the admin connections take them: --batch steps per
// run.submit, round-robin over a fleet's orchestrators, --inflight requests in flight in all. Each
// answer submits more. It lives as long as the scenario, so answers that arrive after the wait
// still find it.
class LoadSubmitter final
{
    Q_DISABLE_COPY_MOVE(LoadSubmitter) // its answers call back into this object

public:
    LoadSubmitter(Setup &setup, std::vector<StepTrace> &traces, const BenchOptions &options, qsizetype first)
        : m_setup(setup)
        , m_traces(traces)
        , m_options(options)
        , m_next(first)
        , m_total(qsizetype(traces.size()))
    {
    }

    void submitMore();
    bool ok() const { return m_ok; } // every run.submit answered so far succeeded

private:
    Setup &m_setup;
    std::vector<StepTrace> &m_traces;
    const BenchOptions &m_options;
    qsizetype m_next;
    const qsizetype m_total;
    int m_inFlight = 0;
    int m_turn = 0;
    bool m_ok = true;
};

void LoadSubmitter::submitMore()
{
    while (m_next < m_total && m_inFlight < m_options.inflight) {
        QJsonArray batch;
        const qint64 at = nowUs();
        const int to = m_turn++ % m_setup.size();
        for (int b = 0; b < m_options.batch && m_next < m_total; ++b, ++m_next) {
            m_traces[size_t(m_next)].submitUs = at;
            m_traces[size_t(m_next)].submittedTo = to;
            batch << noOpStep(m_next);
        }
        ++m_inFlight;
        m_setup.admins[size_t(to)]->request(QStringLiteral("run.submit"), {{QStringLiteral("steps"), batch}},
                                            [this](const Result<QJsonObject> &r) {
                                                --m_inFlight;
                                                m_ok = m_ok && r.has_value();
                                                submitMore();
                                            });
    }
}

// Until all `total` steps finished, as long as steps keep finishing: a slow store (PostgreSQL with
// synchronous commits on a slow disk) is a figure, not a failure; 60 s without one is.
bool waitWhileStepsFinish(const SimFleet &fleet, const LoadSubmitter &submitter, qsizetype total)
{
    bool finished = false;
    for (qsizetype seen = -1; !finished && submitter.ok() && fleet.finishedSteps() > seen;) {
        seen = fleet.finishedSteps();
        finished = waitUntil([&] { return fleet.finishedSteps() >= total || !submitter.ok(); }, 60000);
    }
    return finished && fleet.finishedSteps() >= total;
}

// The orchestrators' CPU seconds so far: the sum, then each one's.
struct CpuMark
{
    double total = 0;
    QList<double> each;
    qint64 roundTrips = 0; // PostgreSQL, all orchestrators; -1: unknown
};

CpuMark cpuMark(const Setup &setup)
{
    CpuMark mark{setup.cpuSeconds(), {}, 0};
    for (const auto &orchestrator : setup.serves) {
        mark.each << orchestrator->cpuSeconds();
        const qint64 trips = orchestrator->metric("swamp_database_round_trips_total");
        mark.roundTrips = trips < 0 || mark.roundTrips < 0 ? -1 : mark.roundTrips + trips;
    }
    return mark;
}

// The load phase, from the first submit to the last ack.
struct LoadRun
{
    bool finished = false;
    double seconds = 0;
    double perSecond = 0;
    double cpuPerStepMs = 0;
    double roundTripsPerStep = -1; // PostgreSQL: statements and commits per step, all orchestrators
    QJsonArray cpuPerStepEach;   // per orchestrator
    QList<qint64> start, finish; // submit → start and → finished of the steps acked, µs
};

// Every step after the probe's, submitted as fast as the admin connections take them.
LoadRun runLoad(Setup &setup, SimFleet &fleet, LoadSubmitter &submitter, qsizetype probe, int steps)
{
    const qsizetype total = probe + steps;
    const qint64 firstSubmitUs = nowUs();
    const CpuMark cpuBefore = cpuMark(setup);
    submitter.submitMore();
    LoadRun run;
    run.finished = waitWhileStepsFinish(fleet, submitter, total);
    qint64 lastAckUs = firstSubmitUs;
    for (qsizetype i = probe; i < total; ++i) {
        const StepTrace &trace = fleet.steps()[size_t(i)];
        lastAckUs = std::max(lastAckUs, trace.ackUs);
        if (trace.acks > 0) {
            run.start << trace.dispatchUs - trace.submitUs;
            run.finish << trace.ackUs - trace.submitUs;
        }
    }
    const CpuMark cpuAfter = cpuMark(setup);
    run.cpuPerStepMs = (cpuAfter.total - cpuBefore.total) * 1000.0 / std::max(1, steps);
    if (cpuBefore.roundTrips >= 0 && cpuAfter.roundTrips >= 0)
        run.roundTripsPerStep = double(cpuAfter.roundTrips - cpuBefore.roundTrips) / std::max(1, steps);
    for (size_t o = 0; o < setup.serves.size(); ++o) {
        run.cpuPerStepEach << (setup.serves[o]->cpuSeconds() - cpuBefore.each.value(qsizetype(o))) * 1000.0
                / std::max(1, steps);
    }
    run.seconds = double(lastAckUs - firstSubmitUs) / 1e6;
    run.perSecond = run.seconds > 0 ? double(steps) / run.seconds : 0;
    return run;
}

// A fleet's store is one database: every orchestrator must tell the same.
void checkStoredSteps(Setup &setup, ScenarioResult &result, qsizetype total)
{
    for (int o = 0; o < setup.size(); ++o) {
        const QString who = setup.size() == 1 ? QString() : QStringLiteral(" (orchestrator %1)").arg(o);
        const qint64 succeeded = setup.count(Predicate::succeededSteps(), o);
        const qint64 stepRecords = setup.count(Predicate::steps(), o);
        const qint64 completedLeases = setup.count(Predicate::completedLeases(), o);
        const qint64 leaseRecords = setup.count(Predicate::leases(), o);
        check(result, QStringLiteral("stored: every step succeeded") + who, succeeded == total && stepRecords == total,
              QStringLiteral("%1 succeeded of %2 step records, %3 submitted")
                  .arg(succeeded).arg(stepRecords).arg(total));
        check(result, QStringLiteral("stored: one completed lease per step") + who,
              completedLeases == total && leaseRecords == total,
              QStringLiteral("%1 completed of %2 leases for %3 steps")
                  .arg(completedLeases).arg(leaseRecords).arg(total));
    }
}

// Exactly once, as the workers saw it and as the orchestrators recorded it.
void checkExactlyOnce(Setup &setup, ScenarioResult &result, const SimFleet &fleet,
                      const std::vector<StepTrace> &traces, bool submitted, bool finished)
{
    const qsizetype total = qsizetype(traces.size());
    qsizetype notOnce = 0;
    for (const StepTrace &trace : traces)
        notOnce += (trace.dispatches != 1 || trace.acks != 1) ? 1 : 0;
    check(result, QStringLiteral("submitted"), submitted, QStringLiteral("a run.submit failed"));
    check(result, QStringLiteral("all finished"), finished,
          QStringLiteral("%1 of %2 steps finished").arg(fleet.finishedSteps()).arg(total));
    check(result, QStringLiteral("each step dispatched and acked exactly once"), notOnce == 0,
          QStringLiteral("%1 steps were not dispatched and acked exactly once").arg(notOnce));
    checkStoredSteps(setup, result, total);
    check(result, QStringLiteral("no refusals"), fleet.refused() == 0 && fleet.unknownSteps() == 0,
          QStringLiteral("%1 refused frames, %2 unknown steps").arg(fleet.refused()).arg(fleet.unknownSteps()));
}

QJsonObject latencyFigures(const QList<qint64> &samples)
{
    return QJsonObject{{QStringLiteral("p50Ms"), ms(percentileUs(samples, 50))},
                       {QStringLiteral("p99Ms"), ms(percentileUs(samples, 99))},
                       {QStringLiteral("p999Ms"), ms(percentileUs(samples, 99.9))},
                       {QStringLiteral("samples"), samples.size()}};
}

QString latencyLine(const QList<qint64> &samples)
{
    if (samples.isEmpty())
        return QStringLiteral("none (no step took this path)");
    return QStringLiteral("p50 %1 ms, p99 %2 ms, p99.9 %3 ms")
        .arg(fixed(ms(percentileUs(samples, 50)), 2), fixed(ms(percentileUs(samples, 99)), 2),
             fixed(ms(percentileUs(samples, 99.9)), 2));
}

// The figures of both phases, and the orchestrators' RSS now.
QJsonObject throughputFigures(const Setup &setup, const BenchOptions &options, int workers, int steps,
                              const IdleProbe &probe, const LoadRun &load)
{
    return {{QStringLiteral("workers"), workers},
            {QStringLiteral("steps"), steps},
            {QStringLiteral("batch"), options.batch},
            {QStringLiteral("inflight"), options.inflight},
            {QStringLiteral("stepsPerSecond"), load.perSecond},
            {QStringLiteral("seconds"), load.seconds},
            {QStringLiteral("orchestratorCpuMsPerStep"), load.cpuPerStepMs},
            {QStringLiteral("idleSubmitToStart"), latencyFigures(probe.start)},
            {QStringLiteral("idleSubmitToFinished"), latencyFigures(probe.finish)},
            {QStringLiteral("loadedSubmitToStart"), latencyFigures(load.start)},
            {QStringLiteral("loadedSubmitToFinished"), latencyFigures(load.finish)},
            {QStringLiteral("rssKb"), setup.rssKb()},
            {QStringLiteral("orchestratorCpuMsPerStepEach"), load.cpuPerStepEach},
            {QStringLiteral("databaseRoundTripsPerStep"), load.roundTripsPerStep}};
}

void sayThroughput(const Setup &setup, const BenchOptions &options, int steps, int probeSteps,
                   const IdleProbe &probe, const LoadRun &load)
{
    say(QStringLiteral("idle workers, %1 steps one at a time: submit→start %2")
            .arg(probeSteps).arg(latencyLine(probe.start)));
    say(QStringLiteral("                                   submit→finished %1").arg(latencyLine(probe.finish)));
    QStringList cpuEach;
    for (const QJsonValue &value : std::as_const(load.cpuPerStepEach))
        cpuEach << fixed(value.toDouble(), 3);
    say(QStringLiteral("%1 steps (batch %2, %3 submits in flight): %4 steps/s, %5 s end to end; "
                       "orchestrator CPU %6 ms per step%7")
            .arg(steps).arg(options.batch).arg(options.inflight).arg(fixed(load.perSecond, 0), fixed(load.seconds, 2))
            .arg(fixed(load.cpuPerStepMs, 3))
            .arg(setup.size() > 1 ? QStringLiteral(" (%1)").arg(cpuEach.join(QStringLiteral(" + "))) : QString()));
    if (load.roundTripsPerStep >= 0)
        say(QStringLiteral("  PostgreSQL round trips per step: %1").arg(fixed(load.roundTripsPerStep, 2)));
    say(QStringLiteral("  under load: submit→start %1").arg(latencyLine(load.start)));
    say(QStringLiteral("              submit→finished %1").arg(latencyLine(load.finish)));
}

// The cross-orchestrator path of a fleet: submitted to one orchestrator, run by a worker of
// another (claimed after a LISTEN/NOTIFY wake-up).
void addCrossOrchestratorFigures(ScenarioResult &result, const std::vector<StepTrace> &traces, int probe)
{
    QList<qint64> sameStart, crossStart, sameFinish, crossFinish;
    qsizetype crossLoaded = 0, loaded = 0;
    for (qsizetype i = 0; i < qsizetype(traces.size()); ++i) {
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
    result.figures.insert(QStringLiteral("idleSameSubmitToStart"), latencyFigures(sameStart));
    result.figures.insert(QStringLiteral("idleCrossSubmitToStart"), latencyFigures(crossStart));
    result.figures.insert(QStringLiteral("idleSameSubmitToFinished"), latencyFigures(sameFinish));
    result.figures.insert(QStringLiteral("idleCrossSubmitToFinished"), latencyFigures(crossFinish));
    say(QStringLiteral("ran on a worker of another orchestrator than the one submitted to: %1% of the idle "
                       "steps, %2% under load")
            .arg(fixed(probeShare * 100), fixed(loadedShare * 100)));
    say(QStringLiteral("  idle, same orchestrator:  submit→start %1").arg(latencyLine(sameStart)));
    say(QStringLiteral("  idle, cross-orchestrator: submit→start %1").arg(latencyLine(crossStart)));
}

} // namespace

ScenarioResult runThroughput(const BenchOptions &options, int workers, int steps)
{
    Setup setup(options);
    ScenarioResult result{QStringLiteral("throughput %1 %2").arg(workers).arg(steps) + setup.suffix(), {}, {}, {}};
    say(QStringLiteral("== throughput %1 %2: %2 no-op steps over %1 workers (1 slot each)%3")
            .arg(workers).arg(steps).arg(setup.suffix()));
    std::unique_ptr<SimFleet> fleet;
    if (!startFleet(setup, result, fleet) || !enrollAll(result, *fleet, workers, options.window))
        return result;
    const int probeSteps = std::min(options.probe, steps);
    std::vector<StepTrace> &traces = fleet->steps();
    traces.assign(size_t(probeSteps + steps), StepTrace());

    // 1. Latency with idle workers: one step at a time, each submitted when the last is done.
    IdleProbe probe;
    runIdleProbe(setup, traces, probeSteps, probe);
    check(result, QStringLiteral("probe steps finished"), probe.ok,
          QStringLiteral("a probe step did not finish within 30 s"));

    // 2. Throughput: every other step submitted as fast as the admin connections take them.
    LoadSubmitter submitter(setup, traces, options, probeSteps);
    const LoadRun load = runLoad(setup, *fleet, submitter, probeSteps, steps);
    checkExactlyOnce(setup, result, *fleet, traces, submitter.ok(), load.finished);

    result.figures = throughputFigures(setup, options, workers, steps, probe, load);
    sayThroughput(setup, options, steps, probeSteps, probe, load);
    if (setup.size() > 1)
        addCrossOrchestratorFigures(result, traces, probeSteps);
    addFleetFigures(setup, result);
    fleet->closeAll();
    setup.stopAll();
    return result;
}

} // namespace SwampBench
