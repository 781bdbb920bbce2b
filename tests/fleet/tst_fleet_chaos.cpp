// A fleet on a bad day (issue 20): three orchestrators on one PostgreSQL server, real workers that
// know every orchestrator, a few hundred steps submitted through all of them, and meanwhile one
// orchestrator killed -9, another frozen past the fleet's timeout and thawed, and PostgreSQL
// restarted. Every step must end exactly once: succeeded, with exactly one completed lease, its
// command run at least once (a step whose lease was taken over may run again; none is lost).

#include "integration/swampharness.h"
#include "steps/stephelpers.h"
#include "fleetfixture.h"
#include "support/pgserver.h"

#include <QDeadlineTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTest>

#include <algorithm>
#include <csignal>
#include <functional>
#include <memory>

using namespace SwampTest;
using namespace Qt::StringLiterals;

class TestFleetChaos : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanup();
    void everyStepEndsOnceThroughKillsFreezesAndADatabaseRestart();

private:
    // Submits a run of `count` steps through `via`; each appends its number to `ran`.
    QStringList submitRun(Harness &via, int first, int count, const QString &ran);
    int succeeded(Harness &via);
    // Prints where the fleet is, for a wait that ran out: steps succeeded, and the last words of each
    // orchestrator and of PostgreSQL.
    void whereItIs();
    // What a wait may take: `ms`, but no more than is left before QtTest's own function timeout
    // (QTEST_FUNCTION_TIMEOUT, tests/CMakeLists.txt) less 20 s, so that a wait that runs out
    // says where the fleet is instead of QtTest's bare "timed out" (the sanitizer run of stop 33
    // stopped here so, with nothing said). The waits count real time (qWaitFor()): a QTRY
    // counts its 50 ms steps, not the seconds each look (a CLI query) takes under a sanitizer.
    int within(int ms) const;
    // Waits (real time, within()) until `condition` holds; if it never does, prints whereItIs().
    bool waitFor(const std::function<bool()> &condition, int ms);

    FleetFixture m_fleet;
    QDeadlineTimer m_deadline;
};

void TestFleetChaos::initTestCase()
{
    SWAMP_START_POSTGRES(m_fleet.server);
    QVERIFY2(m_fleet.newDatabase(), qPrintable(m_fleet.server.errorString()));
    QVERIFY(m_fleet.writeAdminToken());
}

void TestFleetChaos::cleanup()
{
    m_fleet.orchestrators.clear();
}

QStringList TestFleetChaos::submitRun(Harness &via, int first, int count, const QString &ran)
{
    QJsonArray steps;
    for (int n = first; n < first + count; ++n) {
        steps << QJsonObject{{u"name"_s, u"s%1"_s.arg(n)},
                             {u"command"_s, QJsonArray{u"sh"_s, u"-c"_s, u"sleep 0.3; echo %1 >> '%2'"_s.arg(n).arg(ran)}},
                             {u"attempts"_s, 5}};
    }
    const QString path = m_fleet.dir.filePath(u"run-%1.json"_s.arg(first));
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return {};
    file.write(QJsonDocument(QJsonObject{{u"name"_s, u"chaos-%1"_s.arg(first)}, {u"steps"_s, steps}}).toJson());
    file.close();
    const Run submitted = via.cli({u"run"_s, u"--file"_s, path, u"--detach"_s});
    if (submitted.exitCode != 0)
        qWarning("submitting failed: %s", qPrintable(submitted.describe()));
    return submitted.outLines();
}

int TestFleetChaos::succeeded(Harness &via)
{
    return total(via, u"modelType == \"swamp/step\" && attributes.state == \"succeeded\""_s);
}

int TestFleetChaos::within(int ms) const
{
    if (m_deadline.isForever())
        return ms;
    return int(std::clamp<qint64>(m_deadline.remainingTime(), 1000, ms));
}

bool TestFleetChaos::waitFor(const std::function<bool()> &condition, int ms)
{
    if (QTest::qWaitFor(condition, within(ms)))
        return true;
    whereItIs();
    return false;
}

void TestFleetChaos::whereItIs()
{
    // Printed whole as a warning: QtTest cuts a failure's message short (it kept A's only).
    QString text = u"succeeded %1 (by A)"_s.arg(succeeded(*m_fleet.orchestrators[0]));
    for (size_t i = 0; i < m_fleet.orchestrators.size(); ++i) {
        text += u"\n--- orchestrator %1:\n%2"_s.arg(QChar(u'A' + int(i)))
                    .arg(m_fleet.orchestrators[i]->orchestratorOutput().right(3000));
    }
    text += u"\n--- PostgreSQL:\n"_s + m_fleet.server.log().right(3000);
    qWarning().noquote() << text;
}

void TestFleetChaos::everyStepEndsOnceThroughKillsFreezesAndADatabaseRestart()
{
    constexpr int Runs = 6;
    constexpr int StepsPerRun = 40;
    constexpr int Steps = Runs * StepsPerRun;
    const int functionTimeoutMs = qEnvironmentVariableIntValue("QTEST_FUNCTION_TIMEOUT");
    m_deadline = functionTimeoutMs > 20000 ? QDeadlineTimer(functionTimeoutMs - 20000) : QDeadlineTimer(QDeadlineTimer::Forever);
    for (int i = 0; i < 3; ++i)
        QVERIFY(m_fleet.startOrchestrator());
    Harness &a = *m_fleet.orchestrators[0];
    Harness &b = *m_fleet.orchestrators[1];
    Harness &c = *m_fleet.orchestrators[2];
    const QString token = a.createToken(u"chaos"_s, {u"--max-enrollments"_s, u"unlimited"_s});
    QVERIFY(!token.isEmpty());
    for (int i = 0; i < 3; ++i) {
        Child *worker = m_fleet.orchestrators[size_t(i)]->startWorker(token, a.newCacheDir(), {u"--concurrency"_s, u"4"_s},
                                                                 swampBinary(), m_fleet.fleetUrls(i));
        QVERIFY(QTest::qWaitFor([&] { return worker->outContains(u"enrolled as "_s) || !worker->isRunning(); }, within(30000)));
        QVERIFY2(worker->isRunning(), qPrintable(worker->describe()));
    }

    const QString ran = m_fleet.dir.filePath(u"ran.txt"_s);
    QStringList stepIds;
    for (int r = 0; r < Runs; ++r)
        stepIds << submitRun(*m_fleet.orchestrators[size_t(r % 3)], r * StepsPerRun, StepsPerRun, ran);
    QCOMPARE(stepIds.size(), Steps);

    // C dies while its workers run steps; B freezes past the timeout; the database restarts.
    QVERIFY2(waitFor([&] { return succeeded(a) >= 20; }, 60000), "where the fleet is: the warning above");
    c.orchestrator()->signal(SIGKILL);
    QVERIFY2(waitFor([&] { return succeeded(a) >= 50; }, 60000), "where the fleet is: the warning above");
    b.orchestrator()->signal(SIGSTOP);
    QVERIFY2(waitFor([&] { return FleetFixture::declaredDead(a, b.url()); }, 30000), "where the fleet is: the warning above");
    QVERIFY2(m_fleet.server.restart(), qPrintable(m_fleet.server.errorString()));
    b.orchestrator()->signal(SIGCONT);
    // B finds it was declared dead (at its heartbeat, or its commit refused) and exits 1.
    QVERIFY2(waitFor([&] { return !b.orchestrator()->isRunning(); }, 30000), "where the fleet is: the warning above");
    QCOMPARE(b.orchestrator()->exitCode(), 1);

    QVERIFY2(waitFor([&] { return succeeded(a) == Steps; }, 180000), "where the fleet is: the warning above");
    QVERIFY(a.orchestrator()->isRunning());
    QCOMPARE(total(a, u"modelType == \"swamp/step-lease\" && attributes.state == \"completed\""_s), Steps);
    QCOMPARE(total(a, u"modelType == \"swamp/step-lease\" && attributes.state == \"active\""_s), 0);
    const QJsonArray runs = query(a, u"modelType == \"swamp/run\""_s);
    QCOMPARE(runs.size(), Runs);
    for (const QJsonValue &run : runs)
        QCOMPARE(run.toObject().value(u"attributes"_s).toObject().value(u"state"_s).toString(), u"succeeded"_s);
    // Every command ran at least once; each step's completed lease is its only one that counted.
    QFile file(ran);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QSet<QString> numbers;
    for (const QString &line : QString::fromUtf8(file.readAll()).split(u'\n', Qt::SkipEmptyParts))
        numbers.insert(line.trimmed());
    QCOMPARE(numbers.size(), Steps);
    QVERIFY2(a.orchestratorOutput().count(u"connection to PostgreSQL is lost"_s) == 1, qPrintable(a.orchestratorOutput()));
}

QTEST_GUILESS_MAIN(TestFleetChaos)
#include "tst_fleet_chaos.moc"
