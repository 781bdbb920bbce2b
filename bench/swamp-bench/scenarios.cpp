#include "scenarios.h"
#include "scenarios_p.h"

#include "benchclock.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QUuid>

#include <optional>

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

namespace Internal {

Setup::Setup(const BenchOptions &options)
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

Setup::~Setup()
{
    admins.clear();
    serves.clear(); // kills what still runs, before its database goes
    if (!m_databaseUrl.isEmpty() && !m_options.keep)
        m_options.database->dropDatabase(m_databaseUrl);
}

QString Setup::suffix() const
{
    if (!isPostgres())
        return {};
    return size() == 1 ? QStringLiteral(" on PostgreSQL") : QStringLiteral(" on PostgreSQL, %1 orchestrators").arg(size());
}

Result<void> Setup::start(const Seed &seed)
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
            // Metrics for swamp_database_round_trips_total (PostgreSQL round trips per step).
            orchestrator->addArguments({QStringLiteral("--database"), m_databaseUrl,
                                        QStringLiteral("--admin-token-file"), m_tokenFile,
                                        QStringLiteral("--metrics-listen"), QStringLiteral("127.0.0.1:0")});
            orchestrator->setExtraEnvironment(m_options.database->environment());
        }
    }
    if (seed) {
        QString spec = m_databaseUrl;
        if (isPostgres()) {
            const QProcessEnvironment env = m_options.database->environment();
            if (env.contains(QStringLiteral("PGPASSWORD")))
                qputenv("PGPASSWORD", env.value(QStringLiteral("PGPASSWORD")).toUtf8());
        } else {
            if (!QDir().mkpath(serve->dataDir()))
                return fail(QStringLiteral("directory"), QStringLiteral("cannot create %1").arg(serve->dataDir()));
            spec = serve->dataDir() + QStringLiteral("/swamp.db");
        }
        if (auto seeded = seed(spec); !seeded)
            return seeded;
    }
    // One after the other: the first creates the schema, the others find it migrated.
    for (const auto &orchestrator : serves) {
        if (auto started = orchestrator->start(startTimeoutMs); !started)
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

Result<QJsonObject> Setup::call(const QString &method, const QJsonObject &params, qint64 timeoutMs, int to)
{
    std::optional<Result<QJsonObject>> answer;
    admins.at(size_t(to))->request(method, params, [&answer](const Result<QJsonObject> &result) { answer = result; });
    if (!waitUntil([&] { return answer.has_value(); }, timeoutMs))
        return fail(QStringLiteral("timeout"), QStringLiteral("%1: no answer within %2 s").arg(method).arg(timeoutMs / 1000));
    return *answer;
}

Result<QString> Setup::createToken()
{
    auto created = call(QStringLiteral("token.create"),
                        {{QStringLiteral("name"), QStringLiteral("bench")},
                         {QStringLiteral("durationMs"), qint64(7) * 24 * 3600 * 1000},
                         {QStringLiteral("maxEnrollments"), 0}});
    if (!created)
        return fail(created.error());
    return created->value(QStringLiteral("token")).toString();
}

qint64 Setup::count(const QString &predicate, int to)
{
    auto answer = call(QStringLiteral("data.query"),
                       {{QStringLiteral("predicate"), predicate}, {QStringLiteral("limit"), 0}}, 120000, to);
    return answer ? answer->value(QStringLiteral("total")).toInteger(-1) : -1;
}

QList<QUrl> Setup::urls() const
{
    QList<QUrl> list;
    for (const auto &orchestrator : serves)
        list << QUrl(orchestrator->url());
    return list;
}

namespace {

// A figure summed over the orchestrators; -1 when one of them has none (it is not running).
template<typename T>
T sumOrNone(const std::vector<std::unique_ptr<ServeProcess>> &serves, T (ServeProcess::*figure)() const)
{
    T total = 0;
    for (const auto &orchestrator : serves) {
        const T value = (orchestrator.get()->*figure)();
        if (value < 0)
            return -1;
        total += value;
    }
    return total;
}

} // namespace

double Setup::cpuSeconds() const
{
    return sumOrNone(serves, &ServeProcess::cpuSeconds);
}

qint64 Setup::rssKb() const
{
    return sumOrNone(serves, &ServeProcess::rssKb);
}

qint64 Setup::openFiles() const
{
    qint64 total = 0;
    for (const auto &orchestrator : serves)
        total += std::max<qint64>(0, orchestrator->openFiles());
    return total;
}

QStringList Setup::stderrLines() const
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

void Setup::stopAll()
{
    for (const auto &orchestrator : serves)
        orchestrator->stop();
}

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

void waitMs(qint64 ms)
{
    const qint64 until = nowUs() + ms * 1000;
    waitUntil([&] { return nowUs() >= until; }, ms + 1000);
}

bool enrollAll(ScenarioResult &result, SimFleet &fleet, int workers, int window)
{
    const Wave wave = enrollWave(fleet, workers, window);
    check(result, QStringLiteral("all enrolled"), wave.complete,
          QStringLiteral("%1 of %2 enrolled").arg(fleet.enrolledCount()).arg(workers));
    return wave.complete;
}

QJsonObject noOpStep(qsizetype number)
{
    return QJsonObject{{QStringLiteral("name"), SimFleet::stepName(number)},
                       {QStringLiteral("command"), QJsonArray{QStringLiteral("true")}}};
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

void checkWorkerList(Setup &setup, ScenarioResult &result, int workers)
{
    auto listed = setup.call(QStringLiteral("worker.list"));
    const qint64 listedCount = listed ? listed->value(QStringLiteral("count")).toInteger() : -1;
    check(result, QStringLiteral("worker list counts every worker"), listedCount == workers,
          QStringLiteral("worker.list counted %1 of %2").arg(listedCount).arg(workers));
}

void checkNoneDropped(ScenarioResult &result, const SimFleet &fleet, const QString &name)
{
    QStringList reasons;
    for (auto it = fleet.closeReasons().cbegin(); it != fleet.closeReasons().cend(); ++it)
        reasons << QStringLiteral("%1×%2").arg(it.value()).arg(it.key());
    check(result, name, fleet.disconnects() == 0,
          QStringLiteral("%1 disconnects (%2)").arg(fleet.disconnects()).arg(reasons.join(QStringLiteral(", "))));
}

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

} // namespace Internal

using namespace Internal;

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
    waitMs(6000);
    const qint64 rssAfter = setup.rssKb();
    const qint64 filesAfter = setup.openFiles();
    checkWorkerList(setup, result, workers);
    checkNoneDropped(result, *fleet, QStringLiteral("none dropped"));
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

} // namespace SwampBench
