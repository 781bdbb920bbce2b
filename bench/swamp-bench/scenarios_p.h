#pragma once

// What the scenarios of swamp-bench share: the orchestrators they start, how a fleet enrolls, and
// how results are checked and printed. Private to scenarios.cpp and the scenario_*.cpp files.

#include "scenarios.h"

#include "benchdatabase.h"
#include "serveprocess.h"
#include "simfleet.h"

#include "client/adminclient.h"
#include "common/result.h"

#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>
#include <QTemporaryDir>
#include <QTextStream>
#include <QUrl>

#include <functional>
#include <memory>
#include <vector>

namespace SwampBench::Internal {

inline void say(const QString &line)
{
    QTextStream(stdout) << line << Qt::endl;
}

inline double ms(qint64 us)
{
    return double(us) / 1000.0;
}

inline QString fixed(double value, int decimals = 1)
{
    return QString::number(value, 'f', decimals);
}

// Runs the event loop for `ms` milliseconds.
void waitMs(qint64 ms);

// Fresh orchestrators with their own data dirs, an admin connection to each, and one enrollment
// token for the whole fleet (unlimited enrollments, as for an autoscaled pool). On SQLite one
// orchestrator; on PostgreSQL `options.orchestrators` of them on a new database of their own,
// sharing one admin token (--admin-token-file), as operators run a fleet.
class Setup
{
public:
    explicit Setup(const BenchOptions &options);
    ~Setup();

    QString path() const { return m_dir.path(); }
    bool isPostgres() const { return m_options.database && m_options.database->isPostgres(); }
    int size() const { return int(serves.size()); }
    // "", or " on PostgreSQL, 2 orchestrators": what scenario names and headings add.
    QString suffix() const;

    // What a scenario puts into the store before the first orchestrator starts, given the store's
    // spec (the SQLite file in the first data dir, or the PostgreSQL URL; the bench's own server's
    // password is then in the bench's PGPASSWORD too).
    using Seed = std::function<Swamp::Result<void>(const QString &storeSpec)>;
    Swamp::Result<void> start(const Seed &seed = {});
    int startTimeoutMs = 60000; // for each orchestrator's `Listening` line
    // A request to orchestrator `to` (any one of a fleet answers for the whole fleet).
    Swamp::Result<QJsonObject> call(const QString &method, const QJsonObject &params = {}, qint64 timeoutMs = 120000,
                                    int to = 0);
    Swamp::Result<QString> createToken();
    // How many records match `predicate` (data.query with limit 0), as orchestrator `to` sees them.
    qint64 count(const QString &predicate, int to = 0);
    QList<QUrl> urls() const;

    // Sums over the orchestrators; -1 when one is not running.
    double cpuSeconds() const;
    qint64 rssKb() const;
    qint64 openFiles() const;

    // What the orchestrators wrote on stderr (warnings, errors): a clean run writes nothing.
    QStringList stderrLines() const;
    void stopAll();

    std::vector<std::unique_ptr<ServeProcess>> serves;
    std::vector<std::unique_ptr<Swamp::AdminClient>> admins;
    ServeProcess *serve = nullptr;        // the first orchestrator
    Swamp::AdminClient *admin = nullptr;  // its admin connection

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

Wave enrollWave(SimFleet &fleet, int count, int window);

// enrollWave() of `workers` workers, checked: false (and a failure in `result`) when not all enrolled.
bool enrollAll(ScenarioResult &result, SimFleet &fleet, int workers, int window);

// The step `number` of a scenario: named as SimFleet traces it, and a no-op (`true`).
QJsonObject noOpStep(qsizetype number);

// data.query predicates of the exactly-once checks: what the store recorded of the bench's steps.
namespace Predicate {
inline QString steps()
{
    return QStringLiteral("modelType == \"swamp/step\"");
}
inline QString succeededSteps()
{
    return QStringLiteral("modelType == \"swamp/step\" && attributes.state == \"succeeded\"");
}
inline QString leases()
{
    return QStringLiteral("modelType == \"swamp/step-lease\"");
}
inline QString completedLeases()
{
    return QStringLiteral("modelType == \"swamp/step-lease\" && attributes.state == \"completed\"");
}
} // namespace Predicate

void check(ScenarioResult &result, const QString &name, bool passed, const QString &detail);

bool startFleet(Setup &setup, ScenarioResult &result, std::unique_ptr<SimFleet> &fleet);

QString errorCodesText(const SimFleet &fleet);

// worker.list must count all `workers`.
void checkWorkerList(Setup &setup, ScenarioResult &result, int workers);
// The check `name`: no enrolled worker was dropped (the detail says why some were).
void checkNoneDropped(ScenarioResult &result, const SimFleet &fleet, const QString &name);

// Which store, how many orchestrators, and what they wrote on stderr (a clean run writes nothing).
void addFleetFigures(const Setup &setup, ScenarioResult &result);

} // namespace SwampBench::Internal
