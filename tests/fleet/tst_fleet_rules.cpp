// The rules one orchestrator keeps, kept by a fleet (several orchestrators on one PostgreSQL
// database): real `swamp serve` processes on 127.0.0.1 sharing a PostgreSQL server the test
// starts, real workers and the CLI. The ghost-session rule whichever orchestrator holds the
// machine (a live duplicate is refused, a ghost is replaced), `swamp worker prune` sparing a
// worker within any orchestrator's reconnect grace, and /metrics whose sum over the fleet counts
// each record once.

#include "integration/swampharness.h"
#include "protocol/enrollrequest.h"
#include "protocol/protocol.h"
#include "steps/stephelpers.h"
#include "fleetfixture.h"
#include "support/pgserver.h"
#include "support/scriptedpeer.h"
#include "unit/httptest.h"
#include "unit/prometheustext.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QRegularExpression>
#include <QTest>
#include <QUrl>
#include <QWebSocket>

#include <csignal>
#include <memory>

using namespace SwampTest;
using namespace Qt::StringLiterals;

class tst_FleetRules : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();
    void aLiveDuplicateIsRefusedWhicheverOrchestratorHoldsIt();
    void aGhostIsReplacedThroughAnotherOrchestrator();
    void pruneSparesAWorkerWithinAnotherOrchestratorsGrace();
    void metricsSumOverTheFleetCountsEachRecordOnce();
    void anIdleFleetDoesNotReadItsQueueAgain();
    void aResumeTheDatabaseRefusesKeepsTheSessionsLeases();
    void aTakeoverTheDatabaseRefusesIsTriedAgain();

private:
    // Another session (psql) that holds the rows `select` locks (`SELECT ... FOR UPDATE`) in an
    // open transaction, until release(); false when it does not get the locks.
    bool lockRows(QProcess &psql, const QByteArray &select);
    static bool release(QProcess &psql);
    // What PostgreSQL's statistics say about the test's database: one column of
    // pg_stat_user_tables for `table`, or -1.
    qint64 tableStatistic(const QString &table, const QString &column);

    FleetFixture m_fleet;
};

namespace {

QStringList namesOf(const QJsonArray &workers)
{
    QStringList names;
    for (const QJsonValue &value : workers)
        names << value.toObject().value(u"name"_s).toString();
    return names;
}

// A worker that must be refused: exit 1 with `enrollment failed: <message> — <fix>`.
bool refusedWith(Child *worker, const QString &substring, const QString &fix)
{
    if (!worker->waitForExit(30000) || worker->exitCode() != 1 ||
        worker->outContains(u"enrolled as"_s))
        return false;
    static const QRegularExpression line(u"^enrollment failed: (.+) — (.+)$"_s,
                                         QRegularExpression::MultilineOption);
    const auto match = line.match(worker->err());
    return match.hasMatch() && match.captured(1).contains(substring) &&
           match.captured(2).startsWith(fix);
}

// The metrics port an orchestrator printed on its second line.
quint16 metricsPortOf(Harness *h)
{
    static const QRegularExpression line(u"^Metrics on http://127\\.0\\.0\\.1:(\\d+)/metrics$"_s,
                                         QRegularExpression::MultilineOption);
    quint16 port = 0;
    const bool printed = QTest::qWaitFor(
        [&] {
            const auto match = line.match(h->orchestrator()->out());
            port = match.hasMatch() ? quint16(match.captured(1).toUInt()) : 0;
            return port != 0;
        },
        20000);
    return printed ? port : 0;
}

PromDocument scrape(quint16 port)
{
    const HttpReply reply = httpGet(port, "/metrics");
    PromDocument document = parsePrometheusText(reply.body);
    if (reply.status != 200)
        document.errors.prepend(u"HTTP status %1"_s.arg(reply.status));
    return document;
}

// What `sum(name{labels})` over these orchestrators gives Prometheus: absent series add nothing.
double sumOver(const QList<quint16> &ports, const QString &name,
               const QMap<QString, QString> &labels = {})
{
    double sum = 0;
    for (quint16 port : ports)
        sum += scrape(port).value(name, labels).value_or(0);
    return sum;
}

} // namespace

void tst_FleetRules::initTestCase()
{
    SWAMP_START_POSTGRES(m_fleet.server);
    QVERIFY(m_fleet.writeAdminToken());
}

void tst_FleetRules::init()
{
    QVERIFY2(m_fleet.newDatabase(), qPrintable(m_fleet.server.errorString()));
}

void tst_FleetRules::cleanup()
{
    m_fleet.orchestrators.clear(); // kills every child of every harness
}

void tst_FleetRules::aLiveDuplicateIsRefusedWhicheverOrchestratorHoldsIt()
{
    Harness *a = m_fleet.startOrchestrator();
    QVERIFY(a);
    Harness *b = m_fleet.startOrchestrator();
    QVERIFY(b);
    const QString token = a->createToken(u"dup"_s);
    QVERIFY(!token.isEmpty());
    const QString cacheA = a->newCacheDir();
    Child *first = a->startEnrolledWorker(token, cacheA);
    QVERIFY(first);
    const QString name = Harness::enrolledName(first);

    // A second process of the same machine (its identity copied: the cache dir lock forbids
    // sharing the dir) through B, then through A: the first answers A's pings, so it is live.
    for (Harness *h : {b, a}) {
        const QString cache = h->newCacheDir();
        QVERIFY(copyMachineId(cacheA, cache));
        Child *duplicate = h->startWorker(token, cache);
        QVERIFY2(
            refusedWith(duplicate, u"already_connected"_s,
                        u"check for duplicate worker processes; revoke and re-create the token"_s),
            qPrintable(duplicate->describe()));
    }
    // The live one is untouched: still A's, idle, enrolled once.
    QVERIFY2(first->isRunning(), qPrintable(first->describe()));
    QCOMPARE(first->count(u"enrolled as"_s), 1);
    const QJsonObject held = FleetFixture::workerIn(b->workerList(false), name);
    QCOMPARE(held.value(u"orchestrator"_s).toString(), a->url());
    QCOMPARE(held.value(u"status"_s).toString(), u"idle"_s);
    QVERIFY2(!a->orchestratorOutput().contains(u"moved to orchestrator"_s),
             qPrintable(a->orchestratorOutput()));
    QVERIFY2(b->orchestratorOutput().contains(u"already_connected"_s),
             qPrintable(b->orchestratorOutput()));
}

void tst_FleetRules::aGhostIsReplacedThroughAnotherOrchestrator()
{
    // A frozen worker keeps looking connected (no heartbeat timeout during the test), and a
    // dropped one stays within its grace until the next one comes.
    const QStringList slow{u"--heartbeat-timeout"_s, u"60s"_s, u"--reconnect-grace"_s, u"60s"_s};
    Harness *a = m_fleet.startOrchestrator(slow);
    QVERIFY(a);
    Harness *b = m_fleet.startOrchestrator(slow);
    QVERIFY(b);
    const QString token = a->createToken(u"ghost"_s);
    QVERIFY(!token.isEmpty());
    const QString cacheA = a->newCacheDir();
    Child *first = a->startEnrolledWorker(token, cacheA);
    QVERIFY(first);
    const QString name = Harness::enrolledName(first);

    // Frozen: its socket is open on A but nothing answers A's ping. B asks A, A's probe goes
    // unanswered, and the new process through B takes the worker over.
    first->signal(SIGSTOP);
    const QString cacheB = b->newCacheDir();
    QVERIFY(copyMachineId(cacheA, cacheB));
    Child *second = b->startEnrolledWorker(token, cacheB);
    QVERIFY(second);
    QVERIFY(!second->outputContains(u"already_connected"_s));
    QTRY_COMPARE_WITH_TIMEOUT(
        FleetFixture::workerIn(a->workerList(false), name).value(u"orchestrator"_s).toString(), b->url(), 10000);
    QTRY_VERIFY_WITH_TIMEOUT(
        a->orchestratorOutput().contains(u"worker %1 moved to orchestrator"_s.arg(name)), 10000);
    first->process.kill();
    QVERIFY(first->waitForExit(10000));

    // Killed -9: B sees the socket close and keeps the session within its grace. A new process
    // through A takes the worker over at once, and B lets its session go instead of losing it.
    second->process.kill();
    QVERIFY(second->waitForExit(10000));
    QTRY_COMPARE_WITH_TIMEOUT(b->workerStatus(name), u"disconnected"_s, 10000);
    const QString cacheC = a->newCacheDir();
    QVERIFY(copyMachineId(cacheA, cacheC));
    Child *third = a->startEnrolledWorker(token, cacheC);
    QVERIFY(third);
    QTRY_COMPARE_WITH_TIMEOUT(
        FleetFixture::workerIn(b->workerList(false), name).value(u"orchestrator"_s).toString(), a->url(), 10000);
    QCOMPARE(FleetFixture::workerIn(b->workerList(false), name).value(u"status"_s).toString(), u"idle"_s);
    QTRY_VERIFY_WITH_TIMEOUT(
        b->orchestratorOutput().contains(u"worker %1 moved to orchestrator"_s.arg(name)), 10000);
    QVERIFY2(!b->orchestratorOutput().contains(u"worker %1 lost"_s.arg(name)),
             qPrintable(b->orchestratorOutput()));
    QVERIFY2(third->isRunning(), qPrintable(third->describe()));
}

void tst_FleetRules::pruneSparesAWorkerWithinAnotherOrchestratorsGrace()
{
    const QStringList longGrace{u"--reconnect-grace"_s, u"5m"_s};
    Harness *a = m_fleet.startOrchestrator(longGrace);
    QVERIFY(a);
    Harness *b = m_fleet.startOrchestrator(longGrace);
    QVERIFY(b);
    const QString resumable = a->createToken(u"resumable"_s);
    const QString revoked = a->createToken(u"revoked"_s);
    QVERIFY(!resumable.isEmpty() && !revoked.isEmpty());
    Child *dropped = b->startEnrolledWorker(resumable, b->newCacheDir());
    Child *cutOff = b->startEnrolledWorker(revoked, b->newCacheDir());
    QVERIFY(dropped && cutOff);
    const QString droppedName = Harness::enrolledName(dropped);
    const QString cutOffName = Harness::enrolledName(cutOff);

    // One is killed: B keeps its session within the grace, it may resume there. The other's
    // token is revoked: B ends its session, nothing resumes it.
    dropped->process.kill();
    QVERIFY(dropped->waitForExit(10000));
    QCOMPARE(a->cli({u"worker"_s, u"token"_s, u"revoke"_s, u"revoked"_s}).exitCode, 0);
    QVERIFY(cutOff->waitForExit(20000));
    QTRY_COMPARE_WITH_TIMEOUT(a->workerStatus(droppedName), u"disconnected"_s, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(a->workerStatus(cutOffName), u"disconnected"_s, 10000);

    // Pruned through A, which holds neither: only the revoked one goes.
    const Run pruned = a->cli({u"worker"_s, u"prune"_s, u"--grace-period"_s, u"0s"_s, u"--json"_s});
    QCOMPARE(pruned.exitCode, 0);
    QCOMPARE(namesOf(pruned.json().value(u"workers"_s).toArray()), QStringList{cutOffName});
    QCOMPARE(pruned.json().value(u"inReconnectGrace"_s).toInt(), 1);
    QCOMPARE(a->workerStatus(droppedName), u"disconnected"_s);
    // Through B, which holds it, the same.
    const Run again = b->cli({u"worker"_s, u"prune"_s, u"--grace-period"_s, u"0s"_s, u"--json"_s});
    QCOMPARE(again.exitCode, 0);
    QCOMPARE(again.json().value(u"count"_s).toInt(), 0);
    QCOMPARE(again.json().value(u"inReconnectGrace"_s).toInt(), 1);

    // Once B is gone nothing can resume the session: A prunes it.
    QVERIFY(b->stopOrchestrator());
    const Run last = a->cli({u"worker"_s, u"prune"_s, u"--grace-period"_s, u"0s"_s, u"--json"_s});
    QCOMPARE(last.exitCode, 0);
    QCOMPARE(namesOf(last.json().value(u"workers"_s).toArray()), QStringList{droppedName});
    QCOMPARE(last.json().value(u"inReconnectGrace"_s).toInt(), 0);
}

void tst_FleetRules::metricsSumOverTheFleetCountsEachRecordOnce()
{
    const QStringList metrics{u"--metrics-listen"_s, u"127.0.0.1:0"_s};
    Harness *a = m_fleet.startOrchestrator(metrics);
    QVERIFY(a);
    Harness *b = m_fleet.startOrchestrator(metrics);
    QVERIFY(b);
    const quint16 portA = metricsPortOf(a);
    const quint16 portB = metricsPortOf(b);
    QVERIFY(portA != 0 && portB != 0);
    const QList<quint16> fleet{portA, portB};
    const QString token = a->createToken(u"measured"_s, {u"--max-enrollments"_s, u"5"_s});
    QVERIFY(!token.isEmpty());
    QVERIFY(a->startEnrolledWorker(token, a->newCacheDir(), {}, {u"--label"_s, u"home=a"_s}));
    QVERIFY(b->startEnrolledWorker(token, b->newCacheDir(), {}, {u"--label"_s, u"home=b"_s}));
    // One step waits for a worker nobody has, one runs on B's worker.
    QVERIFY(!detach(*a, {u"--label"_s, u"home=nowhere"_s, u"--queue-timeout"_s, u"10m"_s, u"--"_s,
                         u"true"_s})
                 .isEmpty());
    const QString running = detach(*a, {u"--label"_s, u"home=b"_s, u"--"_s, u"sleep"_s, u"60"_s});
    QVERIFY(!running.isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(stepState(*a, running), u"running"_s, 20000);

    // Database-wide series: summed over the fleet, the true counts.
    const QMap<QString, QString> idle{{u"status"_s, u"idle"_s}};
    QTRY_COMPARE_WITH_TIMEOUT(sumOver(fleet, u"swamp_workers"_s, idle), 1.0, 10000);
    QCOMPARE(sumOver(fleet, u"swamp_workers"_s, {{u"status"_s, u"busy"_s}}), 1.0);
    QCOMPARE(sumOver(fleet, u"swamp_steps"_s, {{u"state"_s, u"queued"_s}}), 1.0);
    QCOMPARE(sumOver(fleet, u"swamp_steps"_s, {{u"state"_s, u"running"_s}}), 1.0);
    QCOMPARE(sumOver(fleet, u"swamp_active_leases"_s), 1.0);
    // Reported by the leader, the oldest orchestrator: A.
    const PromDocument docA = scrape(portA);
    const PromDocument docB = scrape(portB);
    QVERIFY2(docA.errors.isEmpty(), qPrintable(docA.errors.join(u'\n')));
    QVERIFY2(docB.errors.isEmpty(), qPrintable(docB.errors.join(u'\n')));
    QCOMPARE(docA.valueOr(u"swamp_fleet_leader"_s), 1.0);
    QCOMPARE(docB.valueOr(u"swamp_fleet_leader"_s), 0.0);
    QVERIFY(docB.family(u"swamp_workers"_s).isEmpty());
    QCOMPARE(docB.valueOr(u"swamp_database_up"_s), 1.0);
    // Per-orchestrator series: each its own, and their sum the fleet's.
    const QMap<QString, QString> connected{{u"state"_s, u"connected"_s}};
    QCOMPARE(docA.valueOr(u"swamp_worker_sessions"_s, connected), 1.0);
    QCOMPARE(docB.valueOr(u"swamp_worker_sessions"_s, connected), 1.0);
    QCOMPARE(docA.valueOr(u"swamp_held_leases"_s), 0.0);
    QCOMPARE(docB.valueOr(u"swamp_held_leases"_s), 1.0);
    QCOMPARE(docB.valueOr(u"swamp_connected_sockets"_s, {{u"endpoint"_s, u"worker"_s}}), 1.0);

    // The leader stops: B leads, and the sum is still the true count (A's worker is
    // disconnected: it knows no other orchestrator).
    QVERIFY(a->stopOrchestrator());
    QTRY_COMPARE_WITH_TIMEOUT(scrape(portB).valueOr(u"swamp_fleet_leader"_s), 1.0, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(
        sumOver({portB}, u"swamp_workers"_s, {{u"status"_s, u"disconnected"_s}}), 1.0, 10000);
    QCOMPARE(sumOver({portB}, u"swamp_workers"_s, {{u"status"_s, u"busy"_s}}), 1.0);
    QCOMPARE(sumOver({portB}, u"swamp_steps"_s, {{u"state"_s, u"queued"_s}}), 1.0);
}


qint64 tst_FleetRules::tableStatistic(const QString &table, const QString &column)
{
    const QString database = QUrl(m_fleet.database).path().mid(1);
    const auto value = m_fleet.server.adminValue(
        u"SELECT coalesce(%1, 0) FROM pg_stat_user_tables WHERE relname = '%2'"_s
            .arg(column, table),
        database);
    bool ok = false;
    const qint64 number = value ? value->toLongLong(&ok) : -1; // a fresh session: no cached snapshot
    return ok ? number : -1;
}

// A deep queue nobody can take: an idle fleet must not read it again at every beat (it did, each
// orchestrator every second: the whole queue), only the steps other orchestrators changed, named
// by the events committed with them.
void tst_FleetRules::anIdleFleetDoesNotReadItsQueueAgain()
{
    Harness *a = m_fleet.startOrchestrator();
    QVERIFY(a);
    Harness *b = m_fleet.startOrchestrator();
    QVERIFY(b);
    constexpr int Queued = 400;
    QJsonArray steps;
    for (int n = 0; n < Queued; ++n) {
        steps << QJsonObject{{u"name"_s, u"mars-%1"_s.arg(n)},
                             {u"command"_s, QJsonArray{u"true"_s}},
                             {u"labels"_s, QJsonObject{{u"region"_s, u"mars"_s}}}};
    }
    const QString path = m_fleet.dir.filePath(u"mars.json"_s);
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QJsonDocument(QJsonObject{{u"name"_s, u"mars"_s}, {u"steps"_s, steps}}).toJson());
    file.close();
    const Run submitted = a->cli({u"run"_s, u"--file"_s, path, u"--detach"_s});
    QVERIFY2(submitted.exitCode == 0, qPrintable(submitted.describe()));
    // B reads the new steps once (their events name them), A its run's; then the fleet idles.
    // Each orchestrator beats every second (a 3 s fleet timeout); its heartbeats and whatever it
    // read meanwhile reach the statistics together when its session flushes them.
    const QString database = QUrl(m_fleet.database).path().mid(1);
    QVERIFY2(m_fleet.server.adminSql(u"SELECT pg_stat_reset()"_s, database), qPrintable(m_fleet.server.errorString()));
    const auto stepRowsRead = [this] {
        return tableStatistic(u"steps"_s, u"seq_tup_read"_s) + tableStatistic(u"steps"_s, u"idx_tup_fetch"_s);
    };
    // The fleet's own clock: the oldest of the two heartbeats (every batch also writes the
    // orchestrators' rows, so their update count is no beat counter).
    const auto beatMs = [&] {
        return m_fleet.server.adminValue(u"SELECT min(heartbeat_at) FROM orchestrators"_s, database)
            .value_or(u"0"_s).toLongLong();
    };
    const qint64 reset = beatMs();
    QTRY_VERIFY_WITH_TIMEOUT(beatMs() >= reset + 3000, 30000);
    const qint64 settled = stepRowsRead();
    const qint64 from = beatMs();
    QTRY_VERIFY_WITH_TIMEOUT(beatMs() >= from + 6000, 30000);
    const qint64 read = stepRowsRead() - settled;
    QVERIFY2(settled >= 0, qPrintable(m_fleet.server.errorString()));
    QVERIFY2(read < Queued, qPrintable(u"an idle fleet read %1 step rows in about 6 beats"_s.arg(read)));
}

// A worker resumes its session while the database refuses the enrollment's write (here a row
// lock held past the lock timeout; a PostgreSQL restart or a deadlock does the same): it is
// refused, and the session keeps its leases, so that its next resume gives back what it never
// got. (Dropping the session left its leases active with nobody to expire them: steps
// `dispatched` for ever on a connected worker, issue 20.)
void tst_FleetRules::aResumeTheDatabaseRefusesKeepsTheSessionsLeases()
{
    Harness *a = m_fleet.startOrchestrator({u"--reconnect-grace"_s, u"60s"_s});
    QVERIFY(a);
    const QString token = a->createToken(u"resume"_s);
    QVERIFY(!token.isEmpty());
    // One machine and process: the three connections below enroll the same instance.
    Swamp::Protocol::EnrollRequest request = enrollFrame(token, u"scripted"_s);
    const auto enroll = [&](ScriptedPeer &worker, const QString &id) {
        request.id = id;
        worker.send(request.toJson());
    };
    const QString workerPath = QString::fromUtf16(Swamp::Protocol::WorkerPath);

    ScriptedPeer first(a->url(), workerPath);
    QVERIFY(first.waitOpen());
    enroll(first, u"1"_s);
    QTRY_VERIFY_WITH_TIMEOUT(!first.first(u"enrolled"_s).isEmpty(), 10000);
    QVERIFY(!detach(*a, {u"--"_s, u"sleep"_s, u"60"_s}).isEmpty());
    QTRY_VERIFY_WITH_TIMEOUT(!first.first(u"dispatch"_s).isEmpty(), 10000);
    const QString leaseId = first.first(u"dispatch"_s).value(u"leaseId"_s).toString();
    first.socket->abort(); // the connection drops; the process lives on

    // Another session holds the worker's row locked (psql, in an open transaction).
    QProcess psql;
    QVERIFY(lockRows(psql, "SELECT id FROM workers FOR UPDATE;"));
    ScriptedPeer refused(a->url(), workerPath);
    QVERIFY(refused.waitOpen());
    enroll(refused, u"2"_s);
    QTRY_VERIFY_WITH_TIMEOUT(!refused.frames.isEmpty(), 20000);
    QCOMPARE(refused.frames.first().value(u"type"_s).toString(), u"error"_s);
    QVERIFY(release(psql));

    // The same process again: its session is resumed with the lease it never ran.
    ScriptedPeer back(a->url(), workerPath);
    QVERIFY(back.waitOpen());
    enroll(back, u"3"_s);
    QTRY_VERIFY_WITH_TIMEOUT(!back.frames.isEmpty(), 20000);
    const QJsonObject enrolled = back.frames.first();
    QCOMPARE(enrolled.value(u"type"_s).toString(), u"enrolled"_s);
    QVERIFY(enrolled.value(u"resumed"_s).toBool());
    QVERIFY2(enrolled.value(u"leases"_s).toObject().contains(leaseId),
             qPrintable(QString::fromUtf8(QJsonDocument(enrolled).toJson())));
}

// An orchestrator dies holding a running step's lease; the survivor's takeover finds the lease's
// row locked past the lock timeout, so the database refuses to expire it. It tries again until it
// can: the step is requeued. (The refused expiry was dropped, leaving the lease active with no
// live orchestrator, its step `running` for ever, issue 20.)
void tst_FleetRules::aTakeoverTheDatabaseRefusesIsTriedAgain()
{
    const auto fleet = m_fleet.twoWithWorkerOnFirst(u"takeover"_s);
    QVERIFY(fleet.worker);
    Harness *a = fleet.a;
    Harness *b = fleet.b;
    const QString stepId = detach(*a, {u"--"_s, u"sleep"_s, u"120"_s});
    QVERIFY(!stepId.isEmpty());
    const QString leases = u"modelType == \"swamp/step-lease\" && attributes.state == \"%1\""_s;
    QTRY_COMPARE_WITH_TIMEOUT(total(*b, leases.arg(u"active"_s)), 1, 30000);

    QProcess psql;
    QVERIFY(lockRows(psql, "SELECT id FROM step_leases FOR UPDATE;"));
    a->orchestrator()->signal(SIGKILL);
    QTRY_VERIFY_WITH_TIMEOUT(b->orchestratorOutput().contains(u"could not be expired"_s), 30000);
    QCOMPARE(total(*b, leases.arg(u"active"_s)), 1);
    QVERIFY(release(psql));

    QTRY_COMPARE_WITH_TIMEOUT(total(*b, leases.arg(u"expired"_s)), 1, 30000);
    QCOMPARE(total(*b, leases.arg(u"active"_s)), 0);
    QCOMPARE(total(*b, u"modelType == \"swamp/step\" && attributes.state == \"queued\""_s), 1);
}

bool tst_FleetRules::lockRows(QProcess &psql, const QByteArray &select)
{
    const QString database = QUrl(m_fleet.database).path().mid(1);
    psql.setProcessEnvironment(m_fleet.server.environment());
    psql.start(PostgresServer::binDir() + u"/psql"_s,
               {u"--no-psqlrc"_s, u"--quiet"_s, u"--host=127.0.0.1"_s,
                u"--port=%1"_s.arg(m_fleet.server.port()), u"--username=swamp"_s,
                u"--dbname=%1"_s.arg(database)});
    if (!psql.waitForStarted(10000))
        return false;
    psql.write("BEGIN;\n" + select + "\n");
    return QTest::qWaitFor(
        [&] {
            return m_fleet.server.adminValue(u"SELECT count(*) FROM pg_stat_activity WHERE "
                                             "application_name = 'psql' AND state = 'idle in transaction'"_s,
                                             database) == u"1"_s;
        },
        10000);
}

bool tst_FleetRules::release(QProcess &psql)
{
    psql.write("ROLLBACK;\n");
    psql.closeWriteChannel();
    return psql.waitForFinished(10000);
}

QTEST_GUILESS_MAIN(tst_FleetRules)
#include "tst_fleet_rules.moc"
