// A fleet soak (issue 20): three orchestrators on one PostgreSQL server, real `swamp worker
// connect` processes that know every orchestrator, 2,000 short steps, and meanwhile random faults:
// orchestrators and workers killed -9 (and started again as a service manager would: a worker with
// its own cache dir, an orchestrator on its own port), frozen with SIGSTOP and thawed with SIGCONT
// (some past the fleet's timeouts), and PostgreSQL restarted once. The faults are drawn from a
// seed printed at the start (SWAMP_SOAK_SEED=<seed> replays the same sequence) and land as the
// steps progress, so they hit steps mid-run.
//
// At the end, read back through `swamp data query`: every step is terminal; one that succeeded has
// exactly one completed lease and its command ran; one that failed has none and failed for the
// reason its retry policy gives (attempts exhausted, or at-most-once after it started); no step is
// queued or running and no lease active; every step has one lease per attempt it took.

#include "integration/swampharness.h"
#include "steps/stephelpers.h"
#include "fleetfixture.h"
#include "support/pgserver.h"

#include <QElapsedTimer>
#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QTest>

#include <csignal>
#include <functional>

using namespace SwampTest;
using namespace Qt::StringLiterals;

namespace {

constexpr int Orchestrators = 3;
constexpr int Workers = 6;
constexpr int Runs = 20;
constexpr int StepsPerRun = 100;
constexpr int Steps = Runs * StepsPerRun;

// The retry policy of step `n`: most may take 5 attempts, some only 1, some are at most once.
int attemptsOf(int n)
{
    return n % 20 == 7 ? 1 : 5;
}
bool atMostOnce(int n)
{
    return n % 20 == 13;
}

// One worker machine: its cache dir outlives its processes.
struct WorkerMachine
{
    QString cacheDir;
    Child *process = nullptr;
};

enum class Fault {
    KillOrchestrator,
    FreezeOrchestrator,
    PauseOrchestrator,
    KillWorker,
    FreezeWorker,
    RestartDatabase
};

} // namespace

class TestFleetSoak : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanup();
    void everyStepEndsExactlyOnceThroughRandomFaults();

private:
    bool submitRun(Harness &via, int run);
    bool startWorker(WorkerMachine &machine, int index);
    // An orchestrator that is running and not frozen, for the CLI.
    Harness &live();
    // Terminal steps as a live orchestrator counts them; -1 when the query failed.
    int terminalSteps();
    // Waits until `done` holds, asking at most every 300 ms (each ask starts a CLI process), and
    // meanwhile restarts what ended by itself; false after `timeoutMs`.
    bool pollUntil(const std::function<bool()> &done, int timeoutMs);
    // Starts again every orchestrator that exited (evicted, or refused after the database came
    // back) and every worker that exited, as their service manager would.
    void restartExited();
    void inject(Fault fault);
    void killOrchestrator();
    void restartOrchestrator(int i);
    void freezeOrchestrator(bool pastTimeout);
    void killWorker();
    void freezeWorker();
    void restartDatabase();
    void checkEveryStepEndedOnce();
    // The steps not ended and the leases still active, for a failure.
    QString unfinished();

    FleetFixture m_fleet;
    QRandomGenerator m_random;
    QString m_token;
    QString m_ran;
    std::vector<WorkerMachine> m_workers;
    std::vector<bool> m_frozen = std::vector<bool>(Orchestrators, false);
    int m_down = -1;       // the orchestrator a fault killed and has not started again yet
    int m_workerExits = 0; // workers that exited by themselves (none should)
    int m_badStarts = 0;   // orchestrators that crashed or did not start again (none should)
    QStringList m_log;     // what was done, in order: printed when a check fails
};

void TestFleetSoak::initTestCase()
{
    SWAMP_START_POSTGRES(m_fleet.server);
    QVERIFY2(m_fleet.newDatabase(), qPrintable(m_fleet.server.errorString()));
    QVERIFY(m_fleet.writeAdminToken());
    const quint32 seed = qEnvironmentVariableIsSet("SWAMP_SOAK_SEED")
                             ? qEnvironmentVariable("SWAMP_SOAK_SEED").toUInt()
                             : QRandomGenerator::global()->generate();
    qInfo("soak seed %u (replay the same faults with SWAMP_SOAK_SEED=%u)", seed, seed);
    m_random.seed(seed);
}

void TestFleetSoak::cleanup()
{
    m_fleet.orchestrators.clear();
}

bool TestFleetSoak::submitRun(Harness &via, int run)
{
    QJsonArray steps;
    for (int n = run * StepsPerRun; n < (run + 1) * StepsPerRun; ++n) {
        // Short real commands, some long enough for a kill to land while they run.
        const QString sleep = n % 4 == 0 ? u"sleep 0.2; "_s : QString();
        steps << QJsonObject{{u"name"_s, u"s%1"_s.arg(n)},
                             {u"command"_s, u"%1echo %2 >> '%3'"_s.arg(sleep).arg(n).arg(m_ran)},
                             {u"attempts"_s, attemptsOf(n)},
                             {u"atMostOnce"_s, atMostOnce(n)}};
    }
    const QString path = m_fleet.dir.filePath(u"soak-%1.json"_s.arg(run));
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return false;
    file.write(QJsonDocument(QJsonObject{{u"name"_s, u"soak-%1"_s.arg(run)}, {u"steps"_s, steps}})
                   .toJson());
    file.close();
    const Run submitted = via.cli({u"run"_s, u"--file"_s, path, u"--detach"_s});
    if (submitted.exitCode != 0 || submitted.outLines().size() != StepsPerRun) {
        qWarning("submitting run %d failed: %s", run, qPrintable(submitted.describe()));
        return false;
    }
    return true;
}

bool TestFleetSoak::startWorker(WorkerMachine &machine, int index)
{
    Harness &first = *m_fleet.orchestrators[0];
    machine.process = first.startWorker(m_token, machine.cacheDir, {u"--concurrency"_s, u"6"_s},
                                        swampBinary(), m_fleet.fleetUrls(index % Orchestrators));
    return machine.process->process.waitForStarted(20000);
}

Harness &TestFleetSoak::live()
{
    for (int i = 0; i < Orchestrators; ++i) {
        Harness &harness = *m_fleet.orchestrators[size_t(i)];
        if (!m_frozen[size_t(i)] && harness.orchestrator()->isRunning())
            return harness;
    }
    return *m_fleet.orchestrators[0];
}

int TestFleetSoak::terminalSteps()
{
    return total(
        live(),
        u"modelType == \"swamp/step\" && attributes.state in [\"succeeded\", \"failed\"]"_s);
}

bool TestFleetSoak::pollUntil(const std::function<bool()> &done, int timeoutMs)
{
    QElapsedTimer asked;
    return QTest::qWaitFor(
        [&] {
            if (asked.isValid() && asked.elapsed() < 300)
                return false;
            asked.start();
            restartExited();
            return done();
        },
        timeoutMs);
}

void TestFleetSoak::restartExited()
{
    for (int i = 0; i < Orchestrators; ++i) {
        Harness &harness = *m_fleet.orchestrators[size_t(i)];
        if (i == m_down || harness.orchestrator()->isRunning())
            continue;
        // Evicted or refused after the database came back: exit 1. Anything else is a crash.
        const int exitCode = harness.orchestrator()->exitCode();
        m_badStarts += exitCode == 1 ? 0 : 1;
        m_log << u"orchestrator %1 had exited (%2): restarted"_s.arg(i).arg(exitCode);
        m_frozen[size_t(i)] = false;
        restartOrchestrator(i);
    }
    for (size_t i = 0; i < m_workers.size(); ++i) {
        if (m_workers[i].process->isRunning())
            continue;
        ++m_workerExits;
        m_log << u"worker %1 had exited by itself (%2): restarted; %3"_s.arg(i)
                     .arg(m_workers[i].process->exitCode())
                     .arg(m_workers[i].process->err().right(300));
        startWorker(m_workers[i], int(i));
    }
}

void TestFleetSoak::killOrchestrator()
{
    const int i = int(m_random.bounded(Orchestrators));
    Harness &harness = *m_fleet.orchestrators[size_t(i)];
    m_down = i;
    harness.orchestrator()->signal(SIGKILL);
    harness.orchestrator()->waitForExit(10000);
    // Half of the time it is back at once (before the fleet noticed), half after its takeover.
    const bool afterTakeover = m_random.bounded(2) == 1;
    m_log << u"kill -9 orchestrator %1, restarted %2"_s.arg(i).arg(
        afterTakeover ? u"after the takeover"_s : u"at once"_s);
    if (afterTakeover)
        pollUntil([&] { return FleetFixture::declaredDead(live(), harness.url()); }, 30000);
    m_down = -1;
    restartOrchestrator(i);
}

void TestFleetSoak::restartOrchestrator(int i)
{
    if (m_fleet.restartOrchestrator(*m_fleet.orchestrators[size_t(i)]))
        return;
    ++m_badStarts;
    m_log << u"orchestrator %1 did not start again: %2"_s.arg(i).arg(
        m_fleet.orchestrators[size_t(i)]->orchestrator()->describe().right(1000));
}

void TestFleetSoak::freezeOrchestrator(bool pastTimeout)
{
    const int i = int(m_random.bounded(Orchestrators));
    Harness &harness = *m_fleet.orchestrators[size_t(i)];
    m_frozen[size_t(i)] = true;
    harness.orchestrator()->signal(SIGSTOP);
    if (pastTimeout) {
        // Declared dead by the others; thawed, it finds out and exits 1 (restarted by
        // restartExited).
        m_log << u"SIGSTOP orchestrator %1 until the fleet declared it dead, then SIGCONT"_s.arg(i);
        pollUntil([&] { return FleetFixture::declaredDead(live(), harness.url()); }, 30000);
    } else {
        // A stall shorter than --orchestrator-timeout (3s): the fault is the pause itself.
        const int ms = 300 + int(m_random.bounded(1500));
        m_log << u"SIGSTOP orchestrator %1 for %2 ms, then SIGCONT"_s.arg(i).arg(ms);
        QTest::qWait(ms);
    }
    harness.orchestrator()->signal(SIGCONT);
    m_frozen[size_t(i)] = false;
}

void TestFleetSoak::killWorker()
{
    const int i = int(m_random.bounded(Workers));
    WorkerMachine &machine = m_workers[size_t(i)];
    machine.process->signal(SIGKILL);
    machine.process->waitForExit(10000);
    m_log << u"kill -9 worker %1, restarted with its cache dir"_s.arg(i);
    startWorker(machine, i);
}

void TestFleetSoak::freezeWorker()
{
    const int i = int(m_random.bounded(Workers));
    // Around the heartbeat timeout (1 s) and the reconnect grace (2 s): the fault is the pause.
    const int ms = 300 + int(m_random.bounded(3500));
    m_log << u"SIGSTOP worker %1 for %2 ms, then SIGCONT"_s.arg(i).arg(ms);
    m_workers[size_t(i)].process->signal(SIGSTOP);
    QTest::qWait(ms);
    m_workers[size_t(i)].process->signal(SIGCONT);
}

void TestFleetSoak::restartDatabase()
{
    m_log << u"pg_ctl restart -m fast"_s;
    if (!m_fleet.server.restart())
        m_log << u"the PostgreSQL restart failed: %1"_s.arg(m_fleet.server.errorString());
}

void TestFleetSoak::inject(Fault fault)
{
    switch (fault) {
    case Fault::KillOrchestrator:
        return killOrchestrator();
    case Fault::FreezeOrchestrator:
        return freezeOrchestrator(true);
    case Fault::PauseOrchestrator:
        return freezeOrchestrator(false);
    case Fault::KillWorker:
        return killWorker();
    case Fault::FreezeWorker:
        return freezeWorker();
    case Fault::RestartDatabase:
        return restartDatabase();
    }
}

void TestFleetSoak::everyStepEndsExactlyOnceThroughRandomFaults()
{
    for (int i = 0; i < Orchestrators; ++i)
        QVERIFY(m_fleet.startOrchestrator());
    m_token =
        m_fleet.orchestrators[0]->createToken(u"soak"_s, {u"--max-enrollments"_s, u"unlimited"_s});
    QVERIFY(!m_token.isEmpty());
    m_ran = m_fleet.dir.filePath(u"ran.txt"_s);
    for (int i = 0; i < Workers; ++i) {
        m_workers.push_back({m_fleet.orchestrators[0]->newCacheDir(), nullptr});
        QVERIFY(startWorker(m_workers.back(), i));
        QTRY_VERIFY_WITH_TIMEOUT(m_workers.back().process->outContains(u"enrolled as "_s), 30000);
    }
    for (int r = 0; r < Runs; ++r)
        QVERIFY(submitRun(*m_fleet.orchestrators[size_t(r % Orchestrators)], r));

    // The faults in a random order, spread evenly over the run: one each time another 1/25 of the
    // steps ended.
    QList<Fault> faults{Fault::RestartDatabase};
    for (int i = 0; i < 4; ++i)
        faults << Fault::KillOrchestrator << Fault::KillWorker << Fault::FreezeWorker
               << Fault::KillWorker;
    for (int i = 0; i < 3; ++i)
        faults << Fault::FreezeOrchestrator << Fault::PauseOrchestrator;
    for (qsizetype i = faults.size() - 1; i > 0; --i)
        faults.swapItemsAt(i, qsizetype(m_random.bounded(quint32(i + 1))));
    const auto logged = [&] { return m_log.join(u'\n').toUtf8(); };
    for (qsizetype f = 0; f < faults.size(); ++f) {
        const int mark = int(Steps * (f + 1) / (faults.size() + 2));
        QVERIFY2(pollUntil([&] { return terminalSteps() >= mark; }, 120000), logged().constData());
        inject(faults[f]);
    }
    if (!pollUntil([&] { return terminalSteps() == Steps; }, 180000))
        QFAIL(qPrintable(u"steps did not all end:\n%1\nfaults:\n%2"_s.arg(unfinished(), m_log.join(u'\n'))));
    // Everything up again and settled before the books are checked.
    QVERIFY2(pollUntil([&] { return true; }, 1000), logged().constData());
    qInfo("faults:\n%s", logged().constData());
    // A worker ends only when it is killed: one that exited by itself was refused for good.
    QVERIFY2(m_workerExits == 0, logged().constData());
    QVERIFY2(m_badStarts == 0, logged().constData());
    checkEveryStepEndedOnce();
}

QString TestFleetSoak::unfinished()
{
    Harness &via = live();
    const Run steps = via.cli({u"data"_s, u"query"_s,
                               u"modelType == \"swamp/step\" && !(attributes.state in [\"succeeded\", \"failed\"])"_s,
                               u"--limit"_s, u"20"_s});
    const Run leases = via.cli({u"data"_s, u"query"_s,
                                u"modelType == \"swamp/step-lease\" && attributes.state == \"active\""_s,
                                u"--limit"_s, u"20"_s});
    const Run workers = via.cli({u"worker"_s, u"list"_s, u"--all"_s});
    QString text = steps.out + steps.err + leases.out + leases.err + workers.out + workers.err;
    // What the orchestrators and the workers said last about steps and sessions.
    static const QRegularExpression about(u"dispatched|started on|reconnected|disconnected|moved|lost|expired|"
                                          "replaced|refused|rejected|enrolled|evicted|database"_s);
    for (size_t i = 0; i < m_fleet.orchestrators.size(); ++i) {
        const QStringList lines = m_fleet.orchestrators[i]->orchestratorOutput().split(u'\n').filter(about);
        text += u"--- orchestrator %1 (%2)\n"_s.arg(i).arg(m_fleet.orchestrators[i]->url())
            + lines.mid(std::max<qsizetype>(0, lines.size() - 60)).join(u'\n') + u'\n';
    }
    for (size_t i = 0; i < m_workers.size(); ++i)
        text += u"--- worker %1\n"_s.arg(i) + m_workers[i].process->output().right(1500) + u'\n';
    return text;
}

void TestFleetSoak::checkEveryStepEndedOnce()
{
    Harness &via = live();
    const QJsonArray steps = query(via, u"modelType == \"swamp/step\""_s);
    const QJsonArray leases = query(via, u"modelType == \"swamp/step-lease\""_s);
    QCOMPARE(steps.size(), Steps);
    QHash<QString, QHash<QString, int>> leaseStates; // step id → lease state → count
    for (const QJsonValue &lease : leases) {
        const QJsonObject attributes = lease.toObject().value(u"attributes"_s).toObject();
        ++leaseStates[attributes.value(u"stepId"_s).toString()]
                     [attributes.value(u"state"_s).toString()];
    }
    QSet<QString> ran;
    QFile file(m_ran);
    QVERIFY(file.open(QIODevice::ReadOnly));
    for (const QString &line : QString::fromUtf8(file.readAll()).split(u'\n', Qt::SkipEmptyParts))
        ran.insert(line.trimmed());

    static const QRegularExpression exhausted(u"; attempts exhausted \\((\\d+)/(\\d+)\\)$"_s);
    int succeeded = 0;
    int retried = 0;
    for (const QJsonValue &value : steps) {
        const QJsonObject step = value.toObject();
        const QJsonObject attributes = step.value(u"attributes"_s).toObject();
        const int n = step.value(u"name"_s).toString().mid(1).toInt();
        const QHash<QString, int> states = leaseStates.value(step.value(u"id"_s).toString());
        const QString state = attributes.value(u"state"_s).toString();
        const QString error = attributes.value(u"error"_s).toString();
        QStringList leaseText;
        int leaseCount = 0;
        for (auto it = states.cbegin(); it != states.cend(); ++it) {
            leaseText << u"%1 %2"_s.arg(it.value()).arg(it.key());
            leaseCount += it.value();
        }
        const QString what = u"step s%1: %2 (%3), attempt %4, leases: %5\nfaults:\n%6"_s.arg(n)
                                 .arg(state, error)
                                 .arg(attributes.value(u"attempt"_s).toInt())
                                 .arg(leaseText.join(u", "_s), m_log.join(u'\n'));
        QVERIFY2(states.value(u"active"_s) == 0, qPrintable(what));
        QVERIFY2(leaseCount == attributes.value(u"attempt"_s).toInt(), qPrintable(what));
        retried += leaseCount > 1 ? 1 : 0;
        if (state == u"succeeded") {
            ++succeeded;
            QVERIFY2(states.value(u"completed"_s) == 1, qPrintable(what));
            QVERIFY2(ran.contains(QString::number(n)), qPrintable(what));
            continue;
        }
        // Failed only by its retry policy, never with a completed lease.
        QVERIFY2(state == u"failed" && states.value(u"completed"_s) == 0, qPrintable(what));
        const QRegularExpressionMatch match = exhausted.match(error);
        const bool spent = match.hasMatch() && match.captured(1) == match.captured(2) &&
                           match.captured(2).toInt() == attemptsOf(n);
        QVERIFY2(spent || (atMostOnce(n) && error.endsWith(u" after the step started"_s)),
                 qPrintable(what));
    }
    QCOMPARE(
        total(via, u"modelType == \"swamp/step-lease\" && attributes.state == \"completed\""_s),
        succeeded);
    QCOMPARE(
        total(
            via,
            u"modelType == \"swamp/step\" && attributes.state in [\"queued\", \"dispatched\", \"running\"]"_s),
        0);
    QCOMPARE(
        total(via,
              u"modelType == \"swamp/run\" && attributes.state in [\"queued\", \"running\"]"_s),
        0);
    qInfo("%d steps: %d succeeded, %d failed by their retry policy, %d took more than one attempt; "
          "%d leases",
          Steps, succeeded, Steps - succeeded, retried, int(leases.size()));
}

QTEST_GUILESS_MAIN(TestFleetSoak)
#include "tst_fleet_soak.moc"
