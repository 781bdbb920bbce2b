// soak W M (issue 20): a fleet on a bad day at scale. M no-op steps over W simulated workers and
// the orchestrators of a PostgreSQL fleet, while orchestrators are killed -9 and started again,
// simulated workers drop (a reconnect of the same process, or a crash and a new process) and
// PostgreSQL restarts once. Reported: steps/s over the whole run, steps lost, steps completed
// twice, the retries the faults caused, and the time the fleet took to recover from each fault.

#include "scenarios.h"
#include "scenarios_p.h"

#include "benchclock.h"

#include <QFile>
#include <QJsonArray>
#include <QRandomGenerator>

#include <algorithm>
#include <optional>

#include <signal.h>

using namespace Swamp;

namespace SwampBench {

using namespace Internal;

namespace {

constexpr int RunSize = 500;   // steps per run.submit
constexpr int StepMaxMs = 100; // a simulated step takes 0 to this long, so faults land mid-step
constexpr int RecoveryTimeoutMs = 120000;
const QString OrchestratorTimeout = QStringLiteral("5s");

QString terminalSteps()
{
    return QStringLiteral("modelType == \"swamp/step\" && attributes.state in "
                          "[\"succeeded\", \"failed\", \"cancelled\", \"timed_out\"]");
}

QString leasesIn(const QString &state)
{
    return QStringLiteral("modelType == \"swamp/step-lease\" && attributes.state == \"%1\"")
        .arg(state);
}

enum class FaultKind { KillOrchestrator, DropWorkers, RestartDatabase };

// One fault: what was done, how far the run was, and how long until the fleet was whole again.
struct FaultRecord
{
    QString what;
    qsizetype atFinished = 0;
    double recoverySeconds = -1;
    bool recovered = false;
    QJsonObject toJson() const
    {
        return {{QStringLiteral("fault"), what},
                {QStringLiteral("atStepsFinished"), atFinished},
                {QStringLiteral("recoverySeconds"), recoverySeconds},
                {QStringLiteral("recovered"), recovered}};
    }
};

// The run, its faults and the fleet's bookkeeping between them.
class Soak
{
public:
    Soak(Setup &setup, SimFleet &fleet, int workers, int steps, quint32 seed)
        : m_setup(setup), m_fleet(fleet), m_workers(workers), m_steps(steps), m_random(seed)
    {
    }

    // Submits steps [first, last) through the orchestrator `turn` picks among the running ones.
    bool submit(int first, int last, int turn);
    // The steps in waves, one fault in each wave once half of it finished; false when a submit
    // failed.
    bool runWaves(bool withDatabaseRestart);
    // The leases still active, "<lease> (step <step>, worker <name>, since <time>)", for a failure.
    QStringList activeLeases();
    // Until every step is terminal in the store, as long as steps keep ending.
    bool waitAllTerminal();
    qint64 count(const QString &predicate);

    QList<FaultRecord> faults;
    qint64 startUs = 0;
    qint64 endUs = 0;
    int unexpectedExits = 0; // orchestrators that exited by themselves and were started again

private:
    int liveOrchestrator() const;
    // Waits (at most `timeoutMs`) until `done`, asking every 250 ms, starting again meanwhile any
    // orchestrator that exited by itself (as a service manager would).
    bool pollUntil(const std::function<bool()> &done, qint64 timeoutMs);
    void restartExited();
    bool allEnrolled() const { return m_fleet.enrolledCount() >= m_workers; }
    // The fleet lists exactly its running orchestrators, each once: a killed one was declared dead.
    bool fleetIsWhole();
    std::optional<QStringList> aliveUrls();
    // Waits until the fleet is `whole` again; the time since `faultUs`.
    void recover(FaultRecord &fault, qint64 faultUs, const std::function<bool()> &whole);
    FaultRecord killOrchestrator();
    FaultRecord dropWorkers();
    FaultRecord restartDatabase();

    Setup &m_setup;
    SimFleet &m_fleet;
    const int m_workers;
    const int m_steps;
    QRandomGenerator m_random;
    int m_down = -1; // the orchestrator the bench killed and has not started again
};

bool Soak::submit(int first, int last, int turn)
{
    for (int from = first; from < last; from += RunSize, ++turn) {
        QJsonArray specs;
        for (int n = from; n < std::min(last, from + RunSize); ++n)
            specs << noOpStep(n);
        int to = turn % m_setup.size();
        if (!m_setup.serves[size_t(to)]->isRunning())
            to = liveOrchestrator();
        auto submitted = m_setup.call(QStringLiteral("run.submit"),
                                      {{QStringLiteral("steps"), specs}}, 120000, to);
        if (!submitted) {
            say(QStringLiteral("  run.submit of steps %1 to %2 failed: %3")
                    .arg(from)
                    .arg(last - 1)
                    .arg(submitted.error().text()));
            return false;
        }
    }
    return true;
}

int Soak::liveOrchestrator() const
{
    for (int i = 0; i < m_setup.size(); ++i) {
        if (i != m_down && m_setup.serves[size_t(i)]->isRunning())
            return i;
    }
    return 0;
}

qint64 Soak::count(const QString &predicate)
{
    return m_setup.count(predicate, liveOrchestrator());
}

bool Soak::pollUntil(const std::function<bool()> &done, qint64 timeoutMs)
{
    const qint64 until = nowUs() + timeoutMs * 1000;
    while (nowUs() < until) {
        restartExited();
        if (done())
            return true;
        waitMs(250);
    }
    return false;
}

// The last line an orchestrator wrote on stderr before it exited, for the report.
QString lastWords(const ServeProcess &serve)
{
    QFile err(serve.logPath() + QStringLiteral(".err"));
    if (!err.open(QIODevice::ReadOnly))
        return QStringLiteral("no stderr");
    const QList<QByteArray> lines = err.readAll().trimmed().split('\n');
    return lines.isEmpty() || lines.last().isEmpty() ? QStringLiteral("nothing on stderr")
                                                     : QString::fromUtf8(lines.last()).left(300);
}

void Soak::restartExited()
{
    for (int i = 0; i < m_setup.size(); ++i) {
        ServeProcess &serve = *m_setup.serves[size_t(i)];
        if (i == m_down || serve.isRunning())
            continue;
        ++unexpectedExits;
        say(QStringLiteral("  orchestrator %1 exited by itself (%2): started again").arg(i).arg(lastWords(serve)));
        if (auto started = serve.start(120000); !started)
            say(QStringLiteral("  orchestrator %1 did not start again: %2")
                    .arg(i)
                    .arg(started.error().text()));
    }
}

std::optional<QStringList> Soak::aliveUrls()
{
    auto listed = m_setup.call(QStringLiteral("worker.list"), {}, 30000, liveOrchestrator());
    if (!listed)
        return std::nullopt;
    QStringList urls;
    for (const QJsonValue &o : listed->value(QStringLiteral("orchestrators")).toArray())
        urls << o.toObject().value(QStringLiteral("url")).toString();
    return urls;
}

QStringList Soak::activeLeases()
{
    auto answer = m_setup.call(QStringLiteral("data.query"),
                               {{QStringLiteral("predicate"), leasesIn(QStringLiteral("active"))},
                                {QStringLiteral("limit"), 10}},
                               120000, liveOrchestrator());
    QStringList leases;
    for (const QJsonValue &value :
         answer ? answer->value(QStringLiteral("results")).toArray() : QJsonArray()) {
        const QJsonObject lease = value.toObject();
        const QJsonObject attributes = lease.value(QStringLiteral("attributes")).toObject();
        leases << QStringLiteral("%1 (step %2, worker %3, since %4)")
                      .arg(lease.value(QStringLiteral("id")).toString(),
                           attributes.value(QStringLiteral("stepId")).toString(),
                           attributes.value(QStringLiteral("workerName")).toString(),
                           attributes.value(QStringLiteral("startedAt")).toString());
    }
    return leases;
}

bool Soak::fleetIsWhole()
{
    const std::optional<QStringList> urls = aliveUrls();
    return urls && urls->size() == m_setup.size() &&
           QSet<QString>(urls->cbegin(), urls->cend()).size() == m_setup.size();
}

void Soak::recover(FaultRecord &fault, qint64 faultUs, const std::function<bool()> &whole)
{
    fault.recovered = pollUntil(whole, RecoveryTimeoutMs);
    fault.recoverySeconds = double(nowUs() - faultUs) / 1e6;
    say(QStringLiteral("  %1 at %2 steps finished: %3 after %4 s")
            .arg(fault.what)
            .arg(fault.atFinished)
            .arg(fault.recovered ? QStringLiteral("recovered") : QStringLiteral("NOT recovered"))
            .arg(fixed(fault.recoverySeconds, 2)));
}

FaultRecord Soak::killOrchestrator()
{
    const int i = int(m_random.bounded(m_setup.size()));
    const bool atOnce = m_random.bounded(2) == 0;
    FaultRecord fault{
        QStringLiteral("kill -9 orchestrator %1, restarted %2")
            .arg(i)
            .arg(atOnce ? QStringLiteral("at once") : QStringLiteral("after its takeover")),
        m_fleet.finishedSteps()};
    const qint64 faultUs = nowUs();
    ServeProcess &serve = *m_setup.serves[size_t(i)];
    m_down = i;
    ::kill(pid_t(serve.pid()), SIGKILL);
    waitUntil([&] { return !serve.isRunning(); }, 30000);
    if (!atOnce) {
        pollUntil(
            [&] {
                const std::optional<QStringList> urls = aliveUrls();
                return urls && !urls->contains(serve.url());
            },
            RecoveryTimeoutMs);
    }
    const bool started = serve.start(120000).has_value();
    m_down = -1;
    // Recovered: the old member declared dead (its leases requeued), the new one listed, every
    // worker enrolled again.
    recover(fault, faultUs, [&] { return started && allEnrolled() && fleetIsWhole(); });
    return fault;
}

FaultRecord Soak::dropWorkers()
{
    const int drops = std::max(1, m_workers / 20);
    int restarted = 0, crashed = 0;
    for (int d = 0; d < drops; ++d) {
        const int index = int(m_random.bounded(m_workers));
        if (d % 2 == 0)
            restarted += m_fleet.restart(index) ? 1 : 0;
        else
            crashed += m_fleet.crash(index, 200 + int(m_random.bounded(1800))) ? 1 : 0;
    }
    FaultRecord fault{
        QStringLiteral("%1 workers reconnect, %2 crash and restart").arg(restarted).arg(crashed),
        m_fleet.finishedSteps()};
    recover(fault, nowUs(), [&] { return allEnrolled(); });
    return fault;
}

FaultRecord Soak::restartDatabase()
{
    FaultRecord fault{QStringLiteral("pg_ctl restart -m fast"), m_fleet.finishedSteps()};
    const qint64 faultUs = nowUs();
    if (auto restarted = m_setup.options().database->restartOwnServer(); !restarted) {
        fault.what += QStringLiteral(" failed: ") + restarted.error().text();
        return fault;
    }
    // Recovered: every orchestrator running and answering queries from the database again, every
    // worker enrolled.
    recover(fault, faultUs, [&] {
        for (int i = 0; i < m_setup.size(); ++i) {
            if (!m_setup.serves[size_t(i)]->isRunning() || m_setup.count(Predicate::steps(), i) < 0)
                return false;
        }
        return allEnrolled();
    });
    return fault;
}

bool Soak::runWaves(bool withDatabaseRestart)
{
    QList<FaultKind> kinds;
    if (withDatabaseRestart)
        kinds << FaultKind::RestartDatabase;
    for (int i = 0; i < 3; ++i)
        kinds << FaultKind::KillOrchestrator << FaultKind::DropWorkers;
    for (qsizetype i = kinds.size() - 1; i > 0; --i)
        kinds.swapItemsAt(i, qsizetype(m_random.bounded(quint32(i + 1))));
    // A wave of steps per fault and one after the last: each fault lands while its wave runs.
    startUs = nowUs();
    const qsizetype waves = kinds.size() + 1;
    for (qsizetype f = 0; f < waves; ++f) {
        const int first = int(m_steps * f / waves);
        const int last = int(m_steps * (f + 1) / waves);
        if (!submit(first, last, int(f)))
            return false;
        if (f == kinds.size())
            break;
        const qsizetype half = (first + last) / 2;
        if (!pollUntil([&] { return m_fleet.finishedSteps() >= half; }, RecoveryTimeoutMs))
            say(QStringLiteral("  %1 of %2 steps finished: the fault comes anyway")
                    .arg(m_fleet.finishedSteps())
                    .arg(half));
        switch (kinds[f]) {
        case FaultKind::KillOrchestrator:
            faults << killOrchestrator();
            break;
        case FaultKind::DropWorkers:
            faults << dropWorkers();
            break;
        case FaultKind::RestartDatabase:
            faults << restartDatabase();
            break;
        }
    }
    return true;
}

bool Soak::waitAllTerminal()
{
    qint64 most = -1;
    qint64 progressUs = nowUs();
    const bool all = pollUntil(
        [&] {
            const qint64 terminal = count(terminalSteps());
            if (terminal > most) {
                most = terminal;
                progressUs = nowUs();
            }
            return terminal >= m_steps || nowUs() - progressUs > 60'000'000;
        },
        24 * 3600 * 1000);
    endUs = nowUs();
    return all && most >= m_steps;
}

// What the store and the workers say at the end.
struct Books
{
    qint64 succeeded = 0, failed = 0, lost = 0, records = 0;
    qint64 leases = 0, completed = 0, active = 0, expired = 0;
    qsizetype completedTwice = 0, dispatchedAgain = 0;
    QStringList activeLeases; // when some are left: which
};

Books readBooks(Soak &soak, const std::vector<StepTrace> &traces, int steps)
{
    Books books;
    books.records = soak.count(Predicate::steps());
    books.succeeded = soak.count(Predicate::succeededSteps());
    books.failed =
        soak.count(QStringLiteral("modelType == \"swamp/step\" && attributes.state == \"failed\""));
    books.lost = steps - std::max<qint64>(0, soak.count(terminalSteps()));
    books.leases = soak.count(Predicate::leases());
    books.completed = soak.count(Predicate::completedLeases());
    books.active = soak.count(leasesIn(QStringLiteral("active")));
    books.expired = soak.count(leasesIn(QStringLiteral("expired")));
    if (books.active != 0)
        books.activeLeases = soak.activeLeases();
    for (const StepTrace &trace : traces) {
        books.completedTwice += trace.acks > 1 ? 1 : 0;
        books.dispatchedAgain += trace.dispatches > 1 ? 1 : 0;
    }
    return books;
}

void checkBooks(ScenarioResult &result, const Books &books, int steps)
{
    check(result, QStringLiteral("0 steps lost"), books.lost == 0 && books.records == steps,
          QStringLiteral("%1 of %2 steps not ended (%3 records)")
              .arg(books.lost)
              .arg(steps)
              .arg(books.records));
    check(result, QStringLiteral("no step completed twice"),
          books.completedTwice == 0 && books.completed == books.succeeded,
          QStringLiteral("%1 steps acked twice; %2 completed leases for %3 succeeded steps")
              .arg(books.completedTwice)
              .arg(books.completed)
              .arg(books.succeeded));
    check(result, QStringLiteral("no lease left active"), books.active == 0,
          QStringLiteral("%1 leases still active: %2")
              .arg(books.active)
              .arg(books.activeLeases.join(QStringLiteral(", "))));
    check(result, QStringLiteral("every step ended by its retry policy"),
          books.succeeded + books.failed == steps,
          QStringLiteral("%1 succeeded + %2 failed of %3")
              .arg(books.succeeded)
              .arg(books.failed)
              .arg(steps));
}

QJsonObject soakFigures(const Soak &soak, const Books &books, int workers, int steps, quint32 seed)
{
    QJsonArray faults;
    QList<double> recoveries;
    for (const FaultRecord &fault : soak.faults) {
        faults << fault.toJson();
        recoveries << fault.recoverySeconds;
    }
    const double seconds = double(soak.endUs - soak.startUs) / 1e6;
    return {{QStringLiteral("workers"), workers},
            {QStringLiteral("steps"), steps},
            {QStringLiteral("seed"), qint64(seed)},
            {QStringLiteral("seconds"), seconds},
            {QStringLiteral("stepsPerSecond"), seconds > 0 ? steps / seconds : 0},
            {QStringLiteral("stepsLost"), books.lost},
            {QStringLiteral("stepsCompletedTwice"), qint64(books.completedTwice)},
            {QStringLiteral("stepsSucceeded"), books.succeeded},
            {QStringLiteral("stepsFailed"), books.failed},
            {QStringLiteral("retries"), books.leases - books.records},
            {QStringLiteral("stepsDispatchedAgain"), qint64(books.dispatchedAgain)},
            {QStringLiteral("expiredLeases"), books.expired},
            {QStringLiteral("unexpectedOrchestratorExits"), soak.unexpectedExits},
            {QStringLiteral("recoverySecondsMedian"), median(recoveries)},
            {QStringLiteral("recoverySecondsMax"),
             recoveries.isEmpty() ? 0 : *std::max_element(recoveries.cbegin(), recoveries.cend())},
            {QStringLiteral("faults"), faults}};
}

void saySoak(const QJsonObject &f)
{
    say(QStringLiteral("%1 steps over %2 workers in %3 s: %4 steps/s overall, faults included")
            .arg(f[u"steps"].toInt())
            .arg(f[u"workers"].toInt())
            .arg(fixed(f[u"seconds"].toDouble(), 1), fixed(f[u"stepsPerSecond"].toDouble(), 0)));
    say(QStringLiteral(
            "lost %1, completed twice %2; succeeded %3, failed by their retry policy %4; "
            "retries (leases beyond the first) %5, %6 expired leases; orchestrators that exited by "
            "themselves %7")
            .arg(f[u"stepsLost"].toInteger())
            .arg(f[u"stepsCompletedTwice"].toInteger())
            .arg(f[u"stepsSucceeded"].toInteger())
            .arg(f[u"stepsFailed"].toInteger())
            .arg(f[u"retries"].toInteger())
            .arg(f[u"expiredLeases"].toInteger())
            .arg(f[u"unexpectedOrchestratorExits"].toInt()));
    say(QStringLiteral("recovery per fault: median %1 s, max %2 s (seed %3)")
            .arg(fixed(f[u"recoverySecondsMedian"].toDouble(), 2),
                 fixed(f[u"recoverySecondsMax"].toDouble(), 2))
            .arg(f[u"seed"].toInteger()));
}

} // namespace

ScenarioResult runSoak(const BenchOptions &options, int workers, int steps)
{
    BenchOptions soakOptions = options;
    soakOptions.serveArguments << QStringLiteral("--orchestrator-timeout") << OrchestratorTimeout;
    Setup setup(soakOptions);
    ScenarioResult result{
        QStringLiteral("soak %1 %2").arg(workers).arg(steps) + setup.suffix(), {}, {}, {}};
    const quint32 seed = qEnvironmentVariableIsSet("SWAMP_SOAK_SEED")
                             ? qEnvironmentVariable("SWAMP_SOAK_SEED").toUInt()
                             : QRandomGenerator::global()->generate();
    say(QStringLiteral("== soak %1 %2: %2 steps over %1 workers through orchestrator kills, worker "
                       "drops and a "
                       "PostgreSQL restart%3 (seed %4; SWAMP_SOAK_SEED replays the faults)")
            .arg(workers)
            .arg(steps)
            .arg(setup.suffix())
            .arg(seed));
    std::unique_ptr<SimFleet> fleet;
    if (!startFleet(setup, result, fleet))
        return result;
    fleet->setFailover(true);
    fleet->setStepMs(StepMaxMs);
    if (!enrollAll(result, *fleet, workers, options.window))
        return result;
    fleet->steps().assign(size_t(steps), StepTrace());
    Soak soak(setup, *fleet, workers, steps, seed);
    const bool submitted = soak.runWaves(options.database->ownsServer());
    check(result, QStringLiteral("submitted"), submitted, QStringLiteral("a run.submit failed"));
    if (!submitted)
        return result;
    const bool ended = soak.waitAllTerminal();
    check(result, QStringLiteral("every step ended"), ended,
          QStringLiteral("steps stopped ending"));
    const auto unrecovered = std::count_if(soak.faults.cbegin(), soak.faults.cend(),
                                           [](const FaultRecord &f) { return !f.recovered; });
    check(result, QStringLiteral("recovered from every fault"), unrecovered == 0,
          QStringLiteral("%1 faults not recovered within %2 s")
              .arg(unrecovered)
              .arg(RecoveryTimeoutMs / 1000));
    const Books books = readBooks(soak, fleet->steps(), steps);
    checkBooks(result, books, steps);
    result.figures = soakFigures(soak, books, workers, steps, seed);
    saySoak(result.figures);
    addFleetFigures(setup, result);
    fleet->closeAll();
    setup.stopAll();
    return result;
}

} // namespace SwampBench
