// query R: `swamp data query` over R finished steps and their R leases, seeded directly into the
// orchestrator's SQLite store. Each predicate is timed three ways: the orchestrator's answer over
// the bench's own admin connection (wall clock, and the orchestrator's CPU per query) in the rows
// form the CLI asks for and in the records form, and whole `swamp data query --json` processes,
// which add the CLI's start, decoding and printing.
#include "scenarios.h"
#include "scenarios_p.h"

#include "benchclock.h"
#include "seeding.h"

#include "store/store.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>

using namespace Swamp;

namespace SwampBench {

using namespace Internal;

namespace {

struct Case
{
    QString key;
    QString label;
    QString predicate;
    qint64 expected; // -1: any number above 0
};

// Every step with index % 20 == 0 failed (exit code 2), % 20 == 1 timed out, the rest succeeded;
// odd indexes are in eu, workers are ci-0..49 by index % 50.
QList<Case> cases(int records)
{
    const auto step = [](const QString &rest) -> QString { return QStringLiteral("modelType == \"swamp/step\" && ") + rest; };
    return {
        {QStringLiteral("failedSteps"), QStringLiteral("failed steps (state pushed down to SQL)"),
         step(QStringLiteral("attributes.state == \"failed\"")), (records + 19) / 20},
        {QStringLiteral("failedStepsInEu"), QStringLiteral("failed steps in eu with exit code 2 (exit code pushed down)"),
         step(QStringLiteral("attributes.labels.region == \"eu\" && attributes.exitCode == 2")), 0},
        {QStringLiteral("euSteps"), QStringLiteral("steps in eu (nothing pushed down)"),
         step(QStringLiteral("attributes.labels.region == \"eu\"")), records / 2},
        {QStringLiteral("euStepsRetried"), QStringLiteral("steps in eu past their first attempt (nothing pushed down)"),
         step(QStringLiteral("attributes.labels.region == \"eu\" && attributes.attempt > 1")), 0},
        {QStringLiteral("stepsAndLeasesScan"),
         QStringLiteral("steps and leases of workers ending in -7 past attempt 1 (nothing pushed down)"),
         QStringLiteral("modelType in [\"swamp/step\", \"swamp/step-lease\"] && attributes.workerName.endsWith(\"-7\") "
                        "&& attributes.attempt > 1"),
         0},
        {QStringLiteral("completedLeases"), QStringLiteral("completed leases (state pushed down)"),
         QStringLiteral("modelType == \"swamp/step-lease\" && attributes.state == \"completed\""), -1},
        {QStringLiteral("workers"), QStringLiteral("all workers"), QStringLiteral("modelType == \"swamp/worker\""), 0},
    };
}

// The answer over the bench's admin connection, `runs` times: median wall clock, the
// orchestrator's CPU per query, and the results' count of the last.
struct Answered
{
    double medianMs = 0;
    double cpuMs = 0;
    qint64 total = -1;
};

Answered askOrchestrator(Setup &setup, const QString &predicate, int runs, bool rows)
{
    QList<double> times;
    Answered answered;
    const double cpuBefore = setup.serve->cpuSeconds();
    for (int i = 0; i < runs; ++i) {
        const qint64 start = nowUs();
        auto answer = setup.call(QStringLiteral("data.query"),
                                 {{QStringLiteral("predicate"), predicate}, {QStringLiteral("rows"), rows}}, 600000);
        times << ms(nowUs() - start);
        answered.total = answer ? answer->value(QStringLiteral("total")).toInteger(-1) : -1;
    }
    answered.cpuMs = (setup.serve->cpuSeconds() - cpuBefore) * 1000.0 / runs;
    answered.medianMs = median(times);
    return answered;
}

// Whole CLI processes, `runs` times: the median wall clock and the results' count of the last.
std::pair<double, qint64> runCli(const BenchOptions &options, const QProcessEnvironment &env, const QString &predicate)
{
    QList<double> times;
    qint64 total = -1;
    for (int i = 0; i < options.queryRuns; ++i) {
        QProcess cli;
        cli.setProcessEnvironment(env);
        const qint64 start = nowUs();
        cli.start(options.swampBinary, {QStringLiteral("data"), QStringLiteral("query"), predicate, QStringLiteral("--json")});
        cli.waitForFinished(600000);
        times << ms(nowUs() - start);
        const QJsonObject answer = QJsonDocument::fromJson(cli.readAllStandardOutput()).object();
        total = cli.exitCode() == 0 ? answer.value(QStringLiteral("total")).toInteger(-1) : -1;
    }
    return {median(times), total};
}

} // namespace

ScenarioResult runQuery(const BenchOptions &options, int records)
{
    ScenarioResult result{QStringLiteral("query %1").arg(records), {}, {}, {}};
    say(QStringLiteral("== query %1: swamp data query over %1 finished steps and their %1 leases").arg(records));
    Setup setup(options);
    qint64 seedUs = 0;
    auto started = setup.start([&](const QString &spec) -> Result<void> {
        auto store = Store::open(spec);
        if (!store)
            return fail(store.error());
        const qint64 start = nowUs();
        auto seeded = seedFinishedSteps(**store, records);
        seedUs = nowUs() - start;
        return seeded;
    });
    if (!started) {
        result.failures << started.error().text();
        return result;
    }
    result.figures.insert(QStringLiteral("seedSeconds"), ms(seedUs) / 1000.0);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("SWAMP_DATA_DIR"), setup.serve->dataDir());
    QJsonObject times;
    for (const Case &c : cases(records)) {
        const Answered answered = askOrchestrator(setup, c.predicate, options.queryRuns, true);
        const Answered records = askOrchestrator(setup, c.predicate, options.queryRuns, false);
        const auto [cliMs, total] = runCli(options, env, c.predicate);
        for (const auto &[how, count] : {std::pair{QStringLiteral("answer"), answered.total},
                                         std::pair{QStringLiteral("records answer"), records.total},
                                         std::pair{QStringLiteral("CLI"), total}}) {
            if (c.expected >= 0)
                check(result, QStringLiteral("%1 count (%2)").arg(c.key, how), count == c.expected,
                      QStringLiteral("%1 results, expected %2").arg(count).arg(c.expected));
            else
                check(result, QStringLiteral("%1 count (%2)").arg(c.key, how), count > 0, QStringLiteral("%1 results").arg(count));
        }
        times.insert(c.key, QJsonObject{{QStringLiteral("answerMs"), answered.medianMs},
                                        {QStringLiteral("orchestratorCpuMs"), answered.cpuMs},
                                        {QStringLiteral("recordsAnswerMs"), records.medianMs},
                                        {QStringLiteral("recordsOrchestratorCpuMs"), records.cpuMs},
                                        {QStringLiteral("cliMs"), cliMs},
                                        {QStringLiteral("medianMs"), cliMs}, // the CLI's, as before issue 20
                                        {QStringLiteral("results"), total},
                                        {QStringLiteral("predicate"), c.predicate}});
        say(QStringLiteral("%1 (%2 results): answered in %3 ms (orchestrator CPU %4 ms; as records %5 ms, CPU %6 ms), "
                           "CLI with printing %7 ms; medians of %8")
                .arg(c.label)
                .arg(total)
                .arg(fixed(answered.medianMs, 1), fixed(answered.cpuMs, 1), fixed(records.medianMs, 1),
                     fixed(records.cpuMs, 1), fixed(cliMs, 0))
                .arg(options.queryRuns));
    }
    result.figures.insert(QStringLiteral("records"), records);
    result.figures.insert(QStringLiteral("queries"), times);
    setup.serve->stop();
    return result;
}

} // namespace SwampBench
