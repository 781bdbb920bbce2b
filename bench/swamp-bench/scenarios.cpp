#include "scenarios.h"

#include "benchclock.h"
#include "hostilefleet.h"
#include "seeding.h"
#include "serveprocess.h"
#include "simfleet.h"

#include "benchdatabase.h"
#include "client/adminclient.h"
#include "store/store.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTextStream>
#include <QUuid>

#include <atomic>
#include <limits>
#include <memory>
#include <optional>
#include <thread>

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

using namespace Swamp;

namespace SwampBench {

QJsonObject ScenarioResult::toJson() const
{
    return {{QStringLiteral("name"), name},
            {QStringLiteral("figures"), figures},
            {QStringLiteral("checks"), checks},
            {QStringLiteral("failures"), QJsonArray::fromStringList(failures)},
            {QStringLiteral("ok"), ok()}};
}

namespace {

void say(const QString &line)
{
    QTextStream(stdout) << line << Qt::endl;
}

double ms(qint64 us)
{
    return double(us) / 1000.0;
}

QString fixed(double value, int decimals = 1)
{
    return QString::number(value, 'f', decimals);
}

// Fresh orchestrators with their own data dirs, an admin connection to each, and one enrollment
// token for the whole fleet (unlimited enrollments, as for an autoscaled pool). On SQLite one
// orchestrator; on PostgreSQL `options.orchestrators` of them on a new database of their own,
// sharing one admin token (--admin-token-file), as operators run a fleet.
class Setup
{
public:
    explicit Setup(const BenchOptions &options)
        : m_options(options)
        , m_dir(options.workRoot + QStringLiteral("/swamp-bench-XXXXXX"))
    {
        m_dir.setAutoRemove(!options.keep);
        const int count = std::max(1, options.orchestrators);
        for (int i = 0; i < count; ++i) {
            const QString workDir = count == 1 ? m_dir.path() : QStringLiteral("%1/orchestrator-%2").arg(m_dir.path()).arg(i);
            serves.push_back(std::make_unique<ServeProcess>(options.swampBinary, workDir, options.serveArguments));
        }
        serve = serves.front().get();
    }

    ~Setup()
    {
        admins.clear();
        serves.clear(); // kills what still runs, before its database goes
        if (!m_databaseUrl.isEmpty() && !m_options.keep)
            m_options.database->dropDatabase(m_databaseUrl);
    }

    QString path() const { return m_dir.path(); }
    bool isPostgres() const { return m_options.database && m_options.database->isPostgres(); }
    int size() const { return int(serves.size()); }
    // "", or " on PostgreSQL, 2 orchestrators": what scenario names and headings add.
    QString suffix() const
    {
        if (!isPostgres())
            return {};
        return size() == 1 ? QStringLiteral(" on PostgreSQL") : QStringLiteral(" on PostgreSQL, %1 orchestrators").arg(size());
    }

    Result<void> start()
    {
        if (!m_dir.isValid())
            return fail(QStringLiteral("directory"), QStringLiteral("cannot create a directory under %1").arg(m_options.workRoot));
        if (isPostgres()) {
            auto url = m_options.database->createDatabase();
            if (!url)
                return fail(url.error());
            m_databaseUrl = *url;
            m_tokenFile = m_dir.filePath(QStringLiteral("admin-token"));
            QFile file(m_tokenFile);
            if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)
                || !file.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner)
                || file.write(QUuid::createUuid().toString(QUuid::Id128).toLatin1()
                              + QUuid::createUuid().toString(QUuid::Id128).toLatin1() + '\n') < 0) {
                return fail(QStringLiteral("directory"), QStringLiteral("cannot write %1: %2").arg(m_tokenFile, file.errorString()));
            }
            for (const auto &orchestrator : serves) {
                orchestrator->addArguments({QStringLiteral("--database"), m_databaseUrl,
                                            QStringLiteral("--admin-token-file"), m_tokenFile});
                orchestrator->setExtraEnvironment(m_options.database->environment());
            }
        }
        // One after the other: the first creates the schema, the others find it migrated.
        for (const auto &orchestrator : serves) {
            if (auto started = orchestrator->start(); !started)
                return started;
            AdminEndpointOptions endpointOptions;
            if (isPostgres()) {
                endpointOptions.server = orchestrator->url();
                endpointOptions.adminTokenFile = m_tokenFile;
            } else {
                endpointOptions.dataDir = orchestrator->dataDir();
            }
            auto endpoint = resolveAdminEndpoint(endpointOptions);
            if (!endpoint)
                return fail(endpoint.error());
            admins.push_back(std::make_unique<AdminClient>(*endpoint));
        }
        admin = admins.front().get();
        return {};
    }

    // A request to orchestrator `to` (any one of a fleet answers for the whole fleet).
    Result<QJsonObject> call(const QString &method, const QJsonObject &params = {}, qint64 timeoutMs = 120000, int to = 0)
    {
        std::optional<Result<QJsonObject>> answer;
        admins.at(size_t(to))->request(method, params, [&answer](const Result<QJsonObject> &result) { answer = result; });
        if (!waitUntil([&] { return answer.has_value(); }, timeoutMs))
            return fail(QStringLiteral("timeout"), QStringLiteral("%1: no answer within %2 s").arg(method).arg(timeoutMs / 1000));
        return *answer;
    }

    Result<QString> createToken()
    {
        auto created = call(QStringLiteral("token.create"),
                            {{QStringLiteral("name"), QStringLiteral("bench")},
                             {QStringLiteral("durationMs"), qint64(7) * 24 * 3600 * 1000},
                             {QStringLiteral("maxEnrollments"), 0}});
        if (!created)
            return fail(created.error());
        return created->value(QStringLiteral("token")).toString();
    }

    // How many records match `predicate` (data.query with limit 0), as orchestrator `to` sees them.
    qint64 count(const QString &predicate, int to = 0)
    {
        auto answer = call(QStringLiteral("data.query"),
                           {{QStringLiteral("predicate"), predicate}, {QStringLiteral("limit"), 0}}, 120000, to);
        return answer ? answer->value(QStringLiteral("total")).toInteger(-1) : -1;
    }

    QList<QUrl> urls() const
    {
        QList<QUrl> list;
        for (const auto &orchestrator : serves)
            list << QUrl(orchestrator->url());
        return list;
    }

    // Sums over the orchestrators; -1 when one is not running.
    double cpuSeconds() const
    {
        double total = 0;
        for (const auto &orchestrator : serves) {
            const double cpu = orchestrator->cpuSeconds();
            if (cpu < 0)
                return -1;
            total += cpu;
        }
        return total;
    }
    qint64 rssKb() const
    {
        qint64 total = 0;
        for (const auto &orchestrator : serves) {
            const qint64 rss = orchestrator->rssKb();
            if (rss < 0)
                return -1;
            total += rss;
        }
        return total;
    }
    qint64 openFiles() const
    {
        qint64 total = 0;
        for (const auto &orchestrator : serves)
            total += std::max<qint64>(0, orchestrator->openFiles());
        return total;
    }

    // What the orchestrators wrote on stderr (warnings, errors): a clean run writes nothing.
    QStringList stderrLines() const
    {
        QStringList lines;
        for (const auto &orchestrator : serves) {
            QFile err(orchestrator->logPath() + QStringLiteral(".err"));
            if (!err.open(QIODevice::ReadOnly))
                continue;
            while (!err.atEnd()) {
                const QString line = QString::fromUtf8(err.readLine()).trimmed();
                if (!line.isEmpty())
                    lines << line;
            }
        }
        return lines;
    }

    void stopAll()
    {
        for (const auto &orchestrator : serves)
            orchestrator->stop();
    }

    std::vector<std::unique_ptr<ServeProcess>> serves;
    std::vector<std::unique_ptr<AdminClient>> admins;
    ServeProcess *serve = nullptr;  // the first orchestrator
    AdminClient *admin = nullptr;   // its admin connection

private:
    const BenchOptions &m_options;
    QTemporaryDir m_dir;
    QString m_databaseUrl;
    QString m_tokenFile;
};

// Grows `fleet` by `count` and waits until every worker enrolled; the figures of that wave.
struct Wave
{
    bool complete = false;
    qint64 firstAttemptUs = 0;
    qint64 lastEnrollUs = 0;
    double perSecond = 0;
};

Wave enrollWave(SimFleet &fleet, int count, int window)
{
    Wave wave;
    const int target = fleet.enrolledCount() + count;
    const qsizetype before = fleet.enrollTimesUs().size();
    wave.firstAttemptUs = nowUs();
    fleet.grow(count, window);
    wave.complete = waitUntil([&] { return fleet.enrolledCount() >= target; }, 60000 + qint64(count) * 20);
    const QList<qint64> &times = fleet.enrollTimesUs();
    wave.lastEnrollUs = times.size() > before ? times.last() : wave.firstAttemptUs;
    const qint64 span = std::max<qint64>(1, wave.lastEnrollUs - wave.firstAttemptUs);
    wave.perSecond = double(times.size() - before) * 1e6 / double(span);
    return wave;
}

void check(ScenarioResult &result, const QString &name, bool passed, const QString &detail)
{
    result.checks.insert(name, passed);
    if (!passed)
        result.failures << QStringLiteral("%1: %2").arg(name, detail);
}

bool startFleet(Setup &setup, ScenarioResult &result, std::unique_ptr<SimFleet> &fleet)
{
    if (auto started = setup.start(); !started) {
        result.failures << started.error().text();
        return false;
    }
    auto token = setup.createToken();
    if (!token) {
        result.failures << token.error().text();
        return false;
    }
    fleet = std::make_unique<SimFleet>(setup.urls(), *token);
    return true;
}

QString errorCodesText(const SimFleet &fleet)
{
    QStringList parts;
    for (auto it = fleet.errorCodes().cbegin(); it != fleet.errorCodes().cend(); ++it)
        parts << QStringLiteral("%1×%2").arg(it.key()).arg(it.value());
    return parts.isEmpty() ? QStringLiteral("none") : parts.join(QStringLiteral(", "));
}

// Which store, how many orchestrators, and what they wrote on stderr (a clean run writes nothing).
void addFleetFigures(const Setup &setup, ScenarioResult &result)
{
    result.figures.insert(QStringLiteral("database"), setup.isPostgres() ? QStringLiteral("postgresql") : QStringLiteral("sqlite"));
    result.figures.insert(QStringLiteral("orchestrators"), setup.size());
    const QStringList lines = setup.stderrLines();
    result.figures.insert(QStringLiteral("orchestratorStderrLines"), lines.size());
    if (lines.isEmpty())
        return;
    say(QStringLiteral("the orchestrators wrote %1 line(s) on stderr, the first:").arg(lines.size()));
    for (const QString &text : lines.mid(0, 5))
        say(QStringLiteral("  ") + text);
}

} // namespace

ScenarioResult runIdle(const BenchOptions &options, int workers)
{
    Setup setup(options);
    ScenarioResult result{QStringLiteral("idle %1").arg(workers) + setup.suffix(), {}, {}, {}};
    say(QStringLiteral("== idle %1: connect %1 workers and keep them idle%2").arg(workers).arg(setup.suffix()));
    std::unique_ptr<SimFleet> fleet;
    if (!startFleet(setup, result, fleet))
        return result;
    const qint64 rssBefore = setup.rssKb();
    const qint64 filesBefore = setup.openFiles();
    const double cpuBefore = setup.cpuSeconds();
    const Wave wave = enrollWave(*fleet, workers, options.window);
    const double cpuPerEnrollMs = (setup.cpuSeconds() - cpuBefore) * 1000.0 / std::max(1, workers);
    check(result, QStringLiteral("all enrolled"), wave.complete,
          QStringLiteral("%1 of %2 enrolled; failed attempts %3; errors %4")
              .arg(fleet->enrolledCount()).arg(workers).arg(fleet->failedAttempts()).arg(errorCodesText(*fleet)));
    // Let every worker go through a ping/pong cycle before measuring memory.
    const qint64 settleUntil = nowUs() + 6'000'000;
    waitUntil([&] { return nowUs() >= settleUntil; }, 7000);
    const qint64 rssAfter = setup.rssKb();
    const qint64 filesAfter = setup.openFiles();
    auto listed = setup.call(QStringLiteral("worker.list"));
    const qint64 listedCount = listed ? listed->value(QStringLiteral("count")).toInteger() : -1;
    check(result, QStringLiteral("worker list counts every worker"), listedCount == workers,
          QStringLiteral("worker.list counted %1 of %2").arg(listedCount).arg(workers));
    QStringList reasons;
    for (auto it = fleet->closeReasons().cbegin(); it != fleet->closeReasons().cend(); ++it)
        reasons << QStringLiteral("%1×%2").arg(it.value()).arg(it.key());
    check(result, QStringLiteral("none dropped"), fleet->disconnects() == 0,
          QStringLiteral("%1 disconnects (%2)").arg(fleet->disconnects()).arg(reasons.join(QStringLiteral(", "))));
    const double perWorkerKb = workers > 0 ? double(rssAfter - rssBefore) / workers : 0;
    result.figures = {{QStringLiteral("workers"), workers},
                      {QStringLiteral("enrollmentsPerSecond"), wave.perSecond},
                      {QStringLiteral("enrollSeconds"), ms(wave.lastEnrollUs - wave.firstAttemptUs) / 1000.0},
                      {QStringLiteral("orchestratorCpuMsPerEnrollment"), cpuPerEnrollMs},
                      {QStringLiteral("rssBeforeKb"), rssBefore},
                      {QStringLiteral("rssAfterKb"), rssAfter},
                      {QStringLiteral("rssPerWorkerKb"), perWorkerKb},
                      {QStringLiteral("openFilesBefore"), filesBefore},
                      {QStringLiteral("openFilesAfter"), filesAfter},
                      {QStringLiteral("failedAttempts"), fleet->failedAttempts()},
                      {QStringLiteral("window"), options.window}};
    say(QStringLiteral("enrolled %1/%2 in %3 s: %4 enrollments/s (window %5, failed attempts %6); "
                       "orchestrator CPU %7 ms per enrollment")
            .arg(fleet->enrolledCount()).arg(workers)
            .arg(fixed(ms(wave.lastEnrollUs - wave.firstAttemptUs) / 1000.0, 2), fixed(wave.perSecond, 0))
            .arg(options.window).arg(fleet->failedAttempts()).arg(fixed(cpuPerEnrollMs, 3)));
    say(QStringLiteral("orchestrator RSS %1 MB → %2 MB: %3 KB per connected worker; open files %4 → %5")
            .arg(fixed(rssBefore / 1024.0), fixed(rssAfter / 1024.0), fixed(perWorkerKb, 2))
            .arg(filesBefore).arg(filesAfter));
    if (setup.size() > 1)
        say(QStringLiteral("(RSS, CPU and open files are the sums over the %1 orchestrators)").arg(setup.size()));
    addFleetFigures(setup, result);
    fleet->closeAll();
    setup.stopAll();
    return result;
}

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

ScenarioResult runQuery(const BenchOptions &options, int records)
{
    ScenarioResult result{QStringLiteral("query %1").arg(records), {}, {}, {}};
    say(QStringLiteral("== query %1: swamp data query over %1 finished steps and their %1 leases").arg(records));
    Setup setup(options);
    {
        if (auto dir = QDir().mkpath(setup.serve->dataDir()); !dir) {
            result.failures << QStringLiteral("cannot create %1").arg(setup.serve->dataDir());
            return result;
        }
        auto store = Store::open(setup.serve->dataDir() + QStringLiteral("/swamp.db"));
        if (!store) {
            result.failures << store.error().text();
            return result;
        }
        const qint64 seedStart = nowUs();
        if (auto seeded = seedFinishedSteps(**store, records); !seeded) {
            result.failures << seeded.error().text();
            return result;
        }
        result.figures.insert(QStringLiteral("seedSeconds"), ms(nowUs() - seedStart) / 1000.0);
    }
    if (auto started = setup.start(); !started) {
        result.failures << started.error().text();
        return result;
    }
    struct Case
    {
        QString key;
        QString label;
        QString predicate;
        qint64 expected;
    };
    const QList<Case> cases{
        {QStringLiteral("failedSteps"), QStringLiteral("failed steps (pushed down to SQL)"),
         QStringLiteral("modelType == \"swamp/step\" && attributes.state == \"failed\""), (records + 19) / 20},
        {QStringLiteral("failedStepsInEu"), QStringLiteral("failed steps in eu with exit code 2 (evaluated)"),
         QStringLiteral("modelType == \"swamp/step\" && attributes.labels.region == \"eu\" && attributes.exitCode == 2"), 0},
        {QStringLiteral("completedLeases"), QStringLiteral("completed leases"),
         QStringLiteral("modelType == \"swamp/step-lease\" && attributes.state == \"completed\""), -1},
        {QStringLiteral("workers"), QStringLiteral("all workers"), QStringLiteral("modelType == \"swamp/worker\""), 0},
    };
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("SWAMP_DATA_DIR"), setup.serve->dataDir());
    QJsonObject times;
    for (const Case &c : cases) {
        QList<double> runs;
        qint64 total = -1;
        for (int i = 0; i < options.queryRuns; ++i) {
            QProcess cli;
            cli.setProcessEnvironment(env);
            const qint64 start = nowUs();
            cli.start(options.swampBinary, {QStringLiteral("data"), QStringLiteral("query"), c.predicate, QStringLiteral("--json")});
            cli.waitForFinished(600000);
            runs << ms(nowUs() - start);
            const QJsonObject answer = QJsonDocument::fromJson(cli.readAllStandardOutput()).object();
            total = cli.exitCode() == 0 ? answer.value(QStringLiteral("total")).toInteger(-1) : -1;
        }
        // Every step with index % 20 == 0 failed; odd indexes are in eu; 0 is even, so none of
        // the failed ones is in eu.
        if (c.expected >= 0)
            check(result, QStringLiteral("%1 count").arg(c.key), total == c.expected,
                  QStringLiteral("%1 results, expected %2").arg(total).arg(c.expected));
        else
            check(result, QStringLiteral("%1 count").arg(c.key), total > 0, QStringLiteral("%1 results").arg(total));
        times.insert(c.key, QJsonObject{{QStringLiteral("medianMs"), median(runs)}, {QStringLiteral("results"), total},
                                        {QStringLiteral("predicate"), c.predicate}});
        say(QStringLiteral("%1: median %2 ms over %3 runs (%4 results)")
                .arg(c.label, fixed(median(runs), 0)).arg(options.queryRuns).arg(total));
    }
    result.figures.insert(QStringLiteral("records"), records);
    result.figures.insert(QStringLiteral("queries"), times);
    setup.serve->stop();
    return result;
}

namespace {

std::optional<HostileKind> hostileKind(const QString &variant)
{
    for (HostileKind kind : {HostileKind::PartialHead, HostileKind::PartialFrame, HostileKind::OversizedFrame,
                             HostileKind::Idle}) {
        if (variant == QLatin1String(HostileFleet::kindName(kind)))
            return kind;
    }
    return std::nullopt;
}

QString hostileDescription(const BenchOptions &options, const QString &variant)
{
    if (variant == u"head")
        return QStringLiteral("an upgrade request head that never ends (%1 bytes)").arg(options.hostileHeadBytes);
    if (variant == u"frame")
        return QStringLiteral("upgraded, then all but the last byte of a %1-byte text frame").arg(options.hostileFrameBytes);
    if (variant == u"oversized")
        return QStringLiteral("upgraded, then all but the last byte of a 1 MiB text frame");
    if (variant == u"idle")
        return QStringLiteral("upgraded, then silent (never enrolls)");
    return QStringLiteral("no attack");
}

QString loadAverage()
{
    QFile file(QStringLiteral("/proc/loadavg"));
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QString::fromLatin1(file.readAll()).section(u' ', 0, 2);
}

double processCpuSeconds()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

void waitMs(qint64 ms)
{
    const qint64 until = nowUs() + ms * 1000;
    waitUntil([&] { return nowUs() >= until; }, ms + 1000);
}

// What the kernel holds for the orchestrator's listener on `port` (from /proc/net/tcp): the
// connections waiting in its accept queue, and the bytes its connections received and it has not
// read yet (kernel memory, not in its RSS).
struct KernelQueues
{
    qint64 acceptQueue = 0;
    qint64 unreadBytes = 0;
};

KernelQueues kernelQueues(quint16 port)
{
    KernelQueues queues;
    QFile file(QStringLiteral("/proc/net/tcp"));
    if (!file.open(QIODevice::ReadOnly))
        return queues;
    const QByteArray local = ':' + QByteArray::number(port, 16).toUpper().rightJustified(4, '0');
    const QList<QByteArray> lines = file.readAll().split('\n');
    for (const QByteArray &line : lines) {
        // "  sl  local_address rem_address   st tx_queue:rx_queue ..."
        const QList<QByteArray> fields = line.simplified().split(' ');
        if (fields.size() < 5 || !fields.at(1).endsWith(local))
            continue;
        const qint64 received = fields.at(4).mid(fields.at(4).indexOf(':') + 1).toLongLong(nullptr, 16);
        if (fields.at(3) == "0A")
            queues.acceptQueue = received;
        else
            queues.unreadBytes += received;
    }
    return queues;
}

// The scheduler's account of a thread (/proc/<pid>/task/<tid>/schedstat): nanoseconds on a CPU and
// nanoseconds runnable but waiting for one. On a shared machine the second says how much of a
// latency is the machine's, not the orchestrator's.
std::pair<qint64, qint64> schedStat(qint64 pid, qint64 tid)
{
    QFile file(QStringLiteral("/proc/%1/task/%2/schedstat").arg(pid).arg(tid));
    if (!file.open(QIODevice::ReadOnly))
        return {0, 0};
    const QList<QByteArray> fields = file.readAll().simplified().split(' ');
    return {fields.value(0).toLongLong(), fields.value(1).toLongLong()};
}

// The machine's CPU time so far (/proc/stat, in clock ticks): user (with nice), system, softirq
// (the network's receive path), idle (with iowait), all. The hostile attacks move up to 1 GB/s
// over loopback, which the kernel pays for on the same 2 cores as everything else.
struct MachineCpu
{
    qint64 user = 0, system = 0, softirq = 0, idle = 0, total = 0;
};

MachineCpu machineCpu()
{
    MachineCpu cpu;
    QFile file(QStringLiteral("/proc/stat"));
    if (!file.open(QIODevice::ReadOnly))
        return cpu;
    // "cpu  user nice system idle iowait irq softirq steal ..."
    const QList<QByteArray> fields = file.readLine().simplified().split(' ');
    const auto field = [&](int i) { return fields.value(i).toLongLong(); };
    cpu.user = field(1) + field(2);
    cpu.system = field(3) + field(6);
    cpu.idle = field(4) + field(5);
    cpu.softirq = field(7);
    for (int i = 1; i < std::min<qsizetype>(fields.size(), 9); ++i)
        cpu.total += field(i);
    return cpu;
}

// The kernel's TCP buffers, all sockets of the machine (both ends of every loopback connection).
qint64 tcpMemoryKb()
{
    QFile file(QStringLiteral("/proc/net/sockstat"));
    if (!file.open(QIODevice::ReadOnly))
        return -1;
    static const QRegularExpression mem(QStringLiteral("^TCP:.* mem (\\d+)"), QRegularExpression::MultilineOption);
    const QRegularExpressionMatch match = mem.match(QString::fromLatin1(file.readAll()));
    return match.hasMatch() ? match.captured(1).toLongLong() * (sysconf(_SC_PAGESIZE) / 1024) : -1;
}

// The orchestrator's figures during a hostile run, sampled from a thread of their own: reading
// /proc/net/tcp with tens of thousands of sockets takes milliseconds, which must not stall the
// simulated workers' event loop (their latencies are the bench's own clock). RSS every 100 ms;
// open files, the kernel's queues and TCP memory every second.
class OrchestratorSampler final
{
    Q_DISABLE_COPY_MOVE(OrchestratorSampler)

public:
    OrchestratorSampler(qint64 pid, quint16 port)
        : m_thread([this, pid, port] { run(pid, port); })
    {
    }
    ~OrchestratorSampler() { stop(); }

    void stop()
    {
        m_stop = true;
        if (m_thread.joinable())
            m_thread.join();
    }
    // After stop():
    const QList<std::pair<qint64, qint64>> &rssSamples() const { return m_rss; } // (bench µs, kB)
    qint64 openFilesPeak() const { return m_openFilesPeak; }
    qint64 tcpMemoryPeakKb() const { return m_tcpMemoryPeakKb; }
    KernelQueues queuesPeak() const { return m_queuesPeak; }

private:
    void run(qint64 pid, quint16 port)
    {
        for (quint64 tick = 0; !m_stop; ++tick) {
            m_rss.append({nowUs(), ServeProcess::statusKb(pid, "VmRSS")});
            m_tcpMemoryPeakKb = std::max(m_tcpMemoryPeakKb, tcpMemoryKb());
            if (tick % 10 == 0) {
                m_openFilesPeak = std::max(m_openFilesPeak, qint64(QDir(QStringLiteral("/proc/%1/fd").arg(pid))
                                                                       .entryList(QDir::NoDotAndDotDot | QDir::AllEntries
                                                                                  | QDir::System)
                                                                       .size()));
                const KernelQueues queues = kernelQueues(port);
                m_queuesPeak.acceptQueue = std::max(m_queuesPeak.acceptQueue, queues.acceptQueue);
                m_queuesPeak.unreadBytes = std::max(m_queuesPeak.unreadBytes, queues.unreadBytes);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }

    std::atomic<bool> m_stop{false};
    QList<std::pair<qint64, qint64>> m_rss;
    qint64 m_openFilesPeak = 0;
    qint64 m_tcpMemoryPeakKb = 0;
    KernelQueues m_queuesPeak;
    std::thread m_thread; // last: starts once the members above are there
};

// The orchestrator's warnings about connections without a secret (at most one every 10 s, each
// counting what happened since the one before; what happened after the last is not in them).
struct BoundsLog
{
    int warnings = 0;
    qint64 refused = 0;
    qint64 dropped = 0;
    qint64 maxHeld = 0;
    qint64 maxBufferedKiB = 0;
    QStringList otherLines; // anything else on stderr
};

BoundsLog readBoundsLog(const Setup &setup)
{
    static const QRegularExpression warning(QStringLiteral(
        "connections without a secret at their bounds \\((\\d+) of \\d+ held, (\\d+) KiB buffered\\): (.*)"));
    static const QRegularExpression refused(QStringLiteral("refused (\\d+)"));
    static const QRegularExpression dropped(QStringLiteral("dropped (\\d+) to make room"));
    BoundsLog log;
    for (const QString &line : setup.stderrLines()) {
        const QRegularExpressionMatch match = warning.match(line);
        if (!match.hasMatch()) {
            log.otherLines << line;
            continue;
        }
        ++log.warnings;
        log.maxHeld = std::max(log.maxHeld, match.captured(1).toLongLong());
        log.maxBufferedKiB = std::max(log.maxBufferedKiB, match.captured(2).toLongLong());
        const QString what = match.captured(3);
        if (const QRegularExpressionMatch m = refused.match(what); m.hasMatch())
            log.refused += m.captured(1).toLongLong();
        if (const QRegularExpressionMatch m = dropped.match(what); m.hasMatch())
            log.dropped += m.captured(1).toLongLong();
    }
    return log;
}

} // namespace

QStringList hostileVariants()
{
    return {QStringLiteral("none"), QStringLiteral("head"), QStringLiteral("frame"), QStringLiteral("oversized"),
            QStringLiteral("idle")};
}

ScenarioResult runHostile(const BenchOptions &options, const QString &variant, int hostile, int workers)
{
    const std::optional<HostileKind> kind = hostileKind(variant);
    const int attackers = kind ? hostile : 0;
    const qint64 windowMs = qint64(options.hostileSeconds) * 1000;
    const qint64 settleMs = std::min<qint64>(2000, windowMs / 4); // before the window and after the attack
    Setup setup(options);
    ScenarioResult result{QStringLiteral("hostile %1 %2 %3").arg(hostile).arg(workers).arg(variant) + setup.suffix(), {}, {}, {}};
    say(QStringLiteral("== hostile %1 %2 %3: %4 connections from %5 addresses, %6; %2 real workers enroll over %7 s")
            .arg(hostile).arg(workers).arg(variant).arg(attackers).arg(options.hostileAddresses)
            .arg(hostileDescription(options, variant)).arg(options.hostileSeconds));
    std::unique_ptr<SimFleet> fleet;
    if (!startFleet(setup, result, fleet))
        return result;
    // At rest: booted, the bench's admin connection and the token made, nothing else.
    waitMs(1000);
    const qint64 rssRest = setup.rssKb();

    // The orchestrator from a thread of its own, and the attackers' open connections here.
    OrchestratorSampler orchestratorSampler(setup.serve->pid(), setup.serve->port());
    QList<std::pair<qint64, qint64>> openSamples; // open, upgraded and open
    std::unique_ptr<HostileFleet> attack;
    QTimer sampler;
    QObject::connect(&sampler, &QTimer::timeout, &sampler, [&] {
        if (attack)
            openSamples.append({attack->openCount(), attack->upgradedOpenCount()});
    });
    sampler.start(100);

    const qint64 attackStartUs = nowUs();
    if (kind) {
        HostileOptions hostileOptions;
        hostileOptions.kind = *kind;
        hostileOptions.port = setup.serve->port();
        hostileOptions.connections = attackers;
        hostileOptions.addresses = options.hostileAddresses;
        hostileOptions.threads = options.hostileThreads;
        hostileOptions.connectsPerSecond = options.hostileRate;
        hostileOptions.headBytes = options.hostileHeadBytes;
        hostileOptions.frameBytes = *kind == HostileKind::OversizedFrame ? 1024 * 1024 : options.hostileFrameBytes;
        attack = std::make_unique<HostileFleet>(hostileOptions);
        attack->start();
        // Every attacker has dialed once, and a little more: the pool is at its bounds.
        waitUntil([&] { return attack->attempts() >= attackers; }, 60000);
        waitMs(settleMs);
    }
    const double rampSeconds = ms(nowUs() - attackStartUs) / 1000.0;
    openSamples.clear();

    // The window: `workers` new workers at an even pace, and a trickle of restarts of enrolled ones.
    const double orchestratorCpuBefore = setup.cpuSeconds();
    const double benchCpuBefore = processCpuSeconds();
    const auto schedBefore = schedStat(setup.serve->pid(), setup.serve->pid()); // its event loop
    const MachineCpu machineBefore = machineCpu();
    const qint64 windowStartUs = nowUs();
    const qsizetype attemptsBefore = fleet->connectAttemptTimesUs().size();
    const qint64 hostileAttemptsBefore = attack ? attack->attempts() : 0;
    QTimer pace;
    QObject::connect(&pace, &QTimer::timeout, &pace, [&] {
        const qint64 due = std::min<qint64>(workers, (nowUs() - windowStartUs) / 1000 * workers / std::max<qint64>(1, windowMs) + 1);
        if (due > fleet->size())
            fleet->grow(int(due - fleet->size()), std::numeric_limits<int>::max());
    });
    pace.start(10);
    QTimer trickle;
    QObject::connect(&trickle, &QTimer::timeout, &trickle, [&] {
        for (int tries = 0; tries < 20 && fleet->size() > 0; ++tries) {
            if (fleet->restart(int(QRandomGenerator::global()->bounded(fleet->size()))))
                return;
        }
    });
    trickle.start(options.hostileTrickleMs);
    waitUntil([&] { return nowUs() - windowStartUs >= windowMs && fleet->size() >= workers; }, windowMs + 60000);
    pace.stop();
    trickle.stop();
    const qint64 windowEndUs = nowUs();
    const double windowSeconds = double(windowEndUs - windowStartUs) / 1e6;
    const double orchestratorCores = (setup.cpuSeconds() - orchestratorCpuBefore) / windowSeconds;
    const double benchCores = (processCpuSeconds() - benchCpuBefore) / windowSeconds;
    const auto schedAfter = schedStat(setup.serve->pid(), setup.serve->pid());
    const double loopRunning = double(schedAfter.first - schedBefore.first) / 1e9 / windowSeconds;
    const double loopWaiting = double(schedAfter.second - schedBefore.second) / 1e9 / windowSeconds;
    const MachineCpu machineAfter = machineCpu();
    const double machineTicks = std::max<double>(1, double(machineAfter.total - machineBefore.total));
    const auto machineShare = [&](qint64 MachineCpu::*part) {
        return double(machineAfter.*part - machineBefore.*part) / machineTicks;
    };
    const qint64 hostileAttemptsInWindow = attack ? attack->attempts() - hostileAttemptsBefore : 0;

    // Still under attack: every real worker must get in.
    const bool allEnrolled = waitUntil([&] { return fleet->enrolledCount() >= workers; }, 60000);
    const qint64 enrolledUs = nowUs();
    check(result, QStringLiteral("every real worker enrolled during the attack"), allEnrolled,
          QStringLiteral("%1 of %2 enrolled %3 s after the window; failed attempts %4; errors %5")
              .arg(fleet->enrolledCount()).arg(workers).arg(fixed(ms(enrolledUs - windowEndUs) / 1000.0))
              .arg(fleet->failedAttempts()).arg(errorCodesText(*fleet)));
    const qint64 rssPeak = setup.serve->peakRssKb();
    sampler.stop();
    orchestratorSampler.stop();
    const QList<std::pair<qint64, qint64>> rssSamples = orchestratorSampler.rssSamples();
    const qint64 openFilesPeak = orchestratorSampler.openFilesPeak();
    const qint64 tcpMemoryPeakKb = orchestratorSampler.tcpMemoryPeakKb();
    const KernelQueues queuesPeak = orchestratorSampler.queuesPeak();
    const double attackSeconds = double(nowUs() - attackStartUs) / 1e6;
    double hostileCores = 0;
    HostileStats stats;
    if (attack) {
        attack->stop();
        stats = attack->stats();
        hostileCores = stats.cpuSeconds / attackSeconds;
    }
    auto listed = setup.call(QStringLiteral("worker.list"));
    const qint64 listedCount = listed ? listed->value(QStringLiteral("count")).toInteger() : -1;
    check(result, QStringLiteral("worker list counts every worker"), listedCount == workers,
          QStringLiteral("worker.list counted %1 of %2").arg(listedCount).arg(workers));
    QStringList reasons;
    for (auto it = fleet->closeReasons().cbegin(); it != fleet->closeReasons().cend(); ++it)
        reasons << QStringLiteral("%1×%2").arg(it.value()).arg(it.key());
    check(result, QStringLiteral("no enrolled worker dropped"), fleet->disconnects() == 0,
          QStringLiteral("%1 disconnects (%2)").arg(fleet->disconnects()).arg(reasons.join(QStringLiteral(", "))));
    if (kind == HostileKind::OversizedFrame) {
        check(result, QStringLiteral("the 1 MiB frame is refused by its header (1009)"), stats.closeTooBig > 0,
              QStringLiteral("no close 1009 among %1 upgraded connections").arg(stats.upgraded));
    } else if (kind == HostileKind::PartialFrame && options.hostileFrameBytes <= 64 * 1024) {
        check(result, QStringLiteral("a frame under the 64 KiB bound is not refused (no 1009)"), stats.closeTooBig == 0,
              QStringLiteral("%1 closes 1009").arg(stats.closeTooBig));
    }
    // After the attack: what the orchestrator gives back.
    waitMs(settleMs);
    const qint64 rssAfter = setup.rssKb();

    // Real workers: every attempt started in the window, and how long it took to `enrolled`.
    QList<qint64> latencies, handshakes, enrollFrames;
    for (const Enrollment &enrollment : fleet->enrollments()) {
        if (enrollment.startedUs < windowStartUs || enrollment.startedUs >= windowEndUs)
            continue;
        latencies << enrollment.enrolledUs - enrollment.startedUs;
        handshakes << enrollment.upgradedUs - enrollment.startedUs;
        enrollFrames << enrollment.enrolledUs - enrollment.upgradedUs;
    }
    qsizetype attemptsInWindow = 0;
    for (qint64 t : fleet->connectAttemptTimesUs().mid(attemptsBefore))
        attemptsInWindow += (t >= windowStartUs && t < windowEndUs) ? 1 : 0;
    const double successRate = attemptsInWindow > 0 ? double(latencies.size()) / double(attemptsInWindow) : 0;

    QList<qint64> rssSteady;
    qint64 rssSampledPeak = 0;
    for (const auto &[t, rss] : std::as_const(rssSamples)) {
        rssSampledPeak = std::max(rssSampledPeak, rss);
        if (t >= windowStartUs + (windowEndUs - windowStartUs) / 2 && t <= windowEndUs)
            rssSteady << rss;
    }
    const qint64 rssSteadyKb = percentileUs(rssSteady, 50);
    QList<qint64> open, upgradedOpen;
    for (const auto &[all, upgraded] : std::as_const(openSamples)) {
        open << all;
        upgradedOpen << upgraded;
    }
    const BoundsLog bounds = readBoundsLog(setup);
    const auto mib = [](qint64 kb) { return double(kb) / 1024.0; };

    result.figures = {
        {QStringLiteral("variant"), variant},
        {QStringLiteral("hostile"), attackers},
        {QStringLiteral("workers"), workers},
        {QStringLiteral("seconds"), windowSeconds},
        {QStringLiteral("rampSeconds"), rampSeconds},
        {QStringLiteral("addresses"), options.hostileAddresses},
        {QStringLiteral("connectsPerSecondLimit"), options.hostileRate},
        {QStringLiteral("trickleMs"), options.hostileTrickleMs},
        {QStringLiteral("headBytes"), options.hostileHeadBytes},
        {QStringLiteral("frameBytes"), options.hostileFrameBytes},
        {QStringLiteral("rssRestKb"), rssRest},
        {QStringLiteral("rssPeakKb"), rssPeak},
        {QStringLiteral("rssSampledPeakKb"), rssSampledPeak},
        {QStringLiteral("rssSteadyKb"), rssSteadyKb},
        {QStringLiteral("rssAfterKb"), rssAfter},
        {QStringLiteral("rssPeakAboveRestMiB"), mib(rssPeak - rssRest)},
        {QStringLiteral("rssSteadyAboveRestMiB"), mib(rssSteadyKb - rssRest)},
        {QStringLiteral("rssAfterAboveRestMiB"), mib(rssAfter - rssRest)},
        {QStringLiteral("openFilesPeak"), openFilesPeak},
        {QStringLiteral("acceptQueuePeak"), queuesPeak.acceptQueue},
        {QStringLiteral("unreadPeakMiB"), double(queuesPeak.unreadBytes) / (1024.0 * 1024.0)},
        {QStringLiteral("kernelTcpPeakMiB"), mib(tcpMemoryPeakKb)},
        {QStringLiteral("orchestratorCpuCores"), orchestratorCores},
        {QStringLiteral("benchCpuCores"), benchCores},
        // The orchestrator's event-loop thread: share of the window on a CPU, and runnable but
        // waiting for a CPU (taken by other processes of the machine).
        {QStringLiteral("eventLoopRunning"), loopRunning},
        {QStringLiteral("eventLoopWaitingForCpu"), loopWaiting},
        // The whole machine during the window (every process, the kernel's network work included).
        {QStringLiteral("machineCpu"), QJsonObject{{QStringLiteral("user"), machineShare(&MachineCpu::user)},
                                                   {QStringLiteral("system"), machineShare(&MachineCpu::system)},
                                                   {QStringLiteral("softirq"), machineShare(&MachineCpu::softirq)},
                                                   {QStringLiteral("idle"), machineShare(&MachineCpu::idle)}}},
        {QStringLiteral("loadAverage"), loadAverage()},
        {QStringLiteral("hostileCpuCores"), hostileCores},
        {QStringLiteral("enrollAttempts"), attemptsInWindow},
        {QStringLiteral("enrolled"), latencies.size()},
        {QStringLiteral("enrollSuccessRate"), successRate},
        {QStringLiteral("enroll"), QJsonObject{{QStringLiteral("p50Ms"), ms(percentileUs(latencies, 50))},
                                               {QStringLiteral("p99Ms"), ms(percentileUs(latencies, 99))},
                                               {QStringLiteral("maxMs"), ms(percentileUs(latencies, 100))},
                                               {QStringLiteral("samples"), latencies.size()}}},
        // The same split: TCP connect + WebSocket handshake, then enroll → enrolled.
        {QStringLiteral("handshake"), QJsonObject{{QStringLiteral("p50Ms"), ms(percentileUs(handshakes, 50))},
                                                  {QStringLiteral("p99Ms"), ms(percentileUs(handshakes, 99))}}},
        {QStringLiteral("enrollFrame"), QJsonObject{{QStringLiteral("p50Ms"), ms(percentileUs(enrollFrames, 50))},
                                                    {QStringLiteral("p99Ms"), ms(percentileUs(enrollFrames, 99))}}},
        {QStringLiteral("restarts"), fleet->restarts()},
        {QStringLiteral("failedAttempts"), fleet->failedAttempts()},
        {QStringLiteral("allEnrolledSecondsAfterWindow"), ms(enrolledUs - windowEndUs) / 1000.0},
        {QStringLiteral("attack"),
         QJsonObject{{QStringLiteral("connectsPerSecond"), double(hostileAttemptsInWindow) / windowSeconds},
                     {QStringLiteral("attempts"), stats.attempts},
                     {QStringLiteral("openMedian"), percentileUs(open, 50)},
                     {QStringLiteral("upgradedOpenMedian"), percentileUs(upgradedOpen, 50)},
                     {QStringLiteral("connectFailures"), stats.connectFailures},
                     {QStringLiteral("upgraded"), stats.upgraded},
                     {QStringLiteral("httpRefusals"), stats.httpRefusals},
                     {QStringLiteral("droppedBeforeUpgrade"), stats.droppedBeforeUpgrade},
                     {QStringLiteral("droppedAfterUpgrade"), stats.droppedAfterUpgrade},
                     {QStringLiteral("closeTooBig"), stats.closeTooBig},
                     {QStringLiteral("closeNoEnroll"), stats.closeNoEnroll},
                     {QStringLiteral("closeOther"), stats.closeOther},
                     {QStringLiteral("droppedSilently"), stats.droppedSilently},
                     {QStringLiteral("lifetimeP50Ms"), stats.lifetimeP50Ms},
                     {QStringLiteral("lifetimeP90Ms"), stats.lifetimeP90Ms},
                     {QStringLiteral("sentMiB"), double(stats.bytesSent) / (1024.0 * 1024.0)}}},
        {QStringLiteral("orchestratorLog"),
         QJsonObject{{QStringLiteral("warnings"), bounds.warnings},
                     {QStringLiteral("refused"), bounds.refused},
                     {QStringLiteral("dropped"), bounds.dropped},
                     {QStringLiteral("maxHeld"), bounds.maxHeld},
                     {QStringLiteral("maxBufferedKiB"), bounds.maxBufferedKiB}}},
        {QStringLiteral("orchestratorStderrLines"), bounds.otherLines.size()},
    };
    say(QStringLiteral("orchestrator RSS at rest %1 MiB; peak %2 MiB (+%3), steady %4 MiB (+%5), after the attack %6 MiB; "
                       "open files at most %7; CPU %8 cores (bench %9, its attackers %10)")
            .arg(fixed(mib(rssRest)), fixed(mib(rssPeak)), fixed(mib(rssPeak - rssRest)), fixed(mib(rssSteadyKb)),
                 fixed(mib(rssSteadyKb - rssRest)), fixed(mib(rssAfter)))
            .arg(openFilesPeak)
            .arg(fixed(orchestratorCores, 2), fixed(benchCores, 2), fixed(hostileCores, 2)));
    say(QStringLiteral("orchestrator event loop: on a CPU %1% of the window, runnable and waiting for a CPU %2%; machine: "
                       "user %3%, system %4%, softirq %5%, idle %6%; load average %7")
            .arg(fixed(loopRunning * 100), fixed(loopWaiting * 100), fixed(machineShare(&MachineCpu::user) * 100),
                 fixed(machineShare(&MachineCpu::system) * 100), fixed(machineShare(&MachineCpu::softirq) * 100),
                 fixed(machineShare(&MachineCpu::idle) * 100), loadAverage()));
    say(QStringLiteral("kernel (sampled every second): accept queue at most %1, at most %2 MiB received and not read by "
                       "the orchestrator; all TCP buffers of the machine at most %3 MiB")
            .arg(queuesPeak.acceptQueue)
            .arg(fixed(double(queuesPeak.unreadBytes) / (1024.0 * 1024.0)), fixed(mib(tcpMemoryPeakKb))));
    say(QStringLiteral("real workers: %1 of %2 attempts enrolled (%3%), enrollment p50 %4 ms, p99 %5 ms, max %6 ms; "
                       "%7 restarts, all %8 enrolled %9 s after the window")
            .arg(latencies.size()).arg(attemptsInWindow).arg(fixed(successRate * 100, 2))
            .arg(fixed(ms(percentileUs(latencies, 50)), 2), fixed(ms(percentileUs(latencies, 99)), 2),
                 fixed(ms(percentileUs(latencies, 100)), 1))
            .arg(fleet->restarts()).arg(workers).arg(fixed(ms(enrolledUs - windowEndUs) / 1000.0, 2)));
    say(QStringLiteral("  of which connect and WebSocket handshake p50 %1 ms, p99 %2 ms; enroll → enrolled p50 %3 ms, p99 %4 ms")
            .arg(fixed(ms(percentileUs(handshakes, 50)), 2), fixed(ms(percentileUs(handshakes, 99)), 2),
                 fixed(ms(percentileUs(enrollFrames, 50)), 2), fixed(ms(percentileUs(enrollFrames, 99)), 2)));
    if (attack) {
        say(QStringLiteral("attackers: %1 connects (%2/s in the window), open median %3 (upgraded %4); connect failures %5, "
                           "HTTP refusals %6; dropped before the upgrade %7, after it %8; close frames received 1009: %9, "
                           "4000: %10, other: %11; dropped without one %12; lifetime p50 %13 ms, p90 %14 ms; %15 MiB sent")
                .arg(stats.attempts).arg(fixed(double(hostileAttemptsInWindow) / windowSeconds, 0))
                .arg(percentileUs(open, 50)).arg(percentileUs(upgradedOpen, 50))
                .arg(stats.connectFailures).arg(stats.httpRefusals).arg(stats.droppedBeforeUpgrade)
                .arg(stats.droppedAfterUpgrade).arg(stats.closeTooBig).arg(stats.closeNoEnroll).arg(stats.closeOther)
                .arg(stats.droppedSilently).arg(stats.lifetimeP50Ms).arg(stats.lifetimeP90Ms)
                .arg(fixed(double(stats.bytesSent) / (1024.0 * 1024.0), 0)));
        say(QStringLiteral("orchestrator log: %1 warnings, %2 refused, %3 dropped, at most %4 held and %5 KiB buffered")
                .arg(bounds.warnings).arg(bounds.refused).arg(bounds.dropped).arg(bounds.maxHeld).arg(bounds.maxBufferedKiB));
    }
    QJsonObject failureReasons;
    for (auto it = fleet->failureReasons().cbegin(); it != fleet->failureReasons().cend(); ++it) {
        failureReasons.insert(it.key(), it.value());
        say(QStringLiteral("  real workers' failed attempts: %1× %2").arg(it.value()).arg(it.key()));
    }
    result.figures.insert(QStringLiteral("failureReasons"), failureReasons);
    for (const QString &line : bounds.otherLines.mid(0, 5))
        say(QStringLiteral("  stderr: ") + line);
    fleet->closeAll();
    setup.stopAll();
    return result;
}

} // namespace SwampBench
