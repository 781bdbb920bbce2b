// swamp behind PgBouncer (issue 20), a private one in front of the test's own PostgreSQL (see
// tests/support/pgbouncer.h). pool_mode = session: two orchestrators run steps as a fleet with
// the pool exactly as large as they need (two sessions each), their LISTEN works, and a restart
// of PgBouncer or of PostgreSQL behind it loses no step and runs none twice. pool_mode =
// transaction or statement: swamp serve refuses at start, with the cause and the fix, before it
// writes anything; and stops the same way when a pooler it reconnects through pools transactions.

#include "fleet/fleetfixture.h"
#include "steps/stephelpers.h"
#include "support/pgbouncer.h"

#include <QDir>
#include <QUrl>

using namespace SwampTest;

namespace {
const QString Refusal = u"does not keep its session between transactions"_s;
const QString Succeeded = u"modelType == \"swamp/step\" && attributes.state == \"succeeded\""_s;
} // namespace

// PgBouncer in pool mode `mode` with `size` sessions per pool, in front of the test's database,
// and swamp's URL pointing at it; QSKIP without pgbouncer (see SWAMP_START_PGBOUNCER).
#define START_BOUNCER(mode, size)                                                                  \
    do {                                                                                           \
        SWAMP_START_PGBOUNCER(*m_bouncer, (mode), (size));                                         \
        useBouncer();                                                                              \
    } while (false)

class tst_PgBouncer : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();
    void sessionPoolingServesAFleet();
    void restartBehindTheOrchestratorLosesNoStep_data();
    void restartBehindTheOrchestratorLosesNoStep();
    void transactionPoolingIsRefused_data();
    void transactionPoolingIsRefused();
    void transactionPoolingAtReconnectStops();
    void aPoolTooSmallIsNamed();

private:
    // After PgBouncer started in front of the test's database: swamp's URL points at it.
    void useBouncer() { m_fleet.database = m_bouncer->url(databaseName()); }
    QString databaseName() const { return QUrl(m_fleet.database).path().mid(1); }
    // Rows `sql` counts in the test's database, read directly on PostgreSQL; -1 when psql failed.
    int count(const QString &sql);

    FleetFixture m_fleet;
    std::unique_ptr<PgBouncer> m_bouncer;
};

void tst_PgBouncer::initTestCase()
{
    SWAMP_START_POSTGRES(m_fleet.server);
    QVERIFY(m_fleet.writeAdminToken());
}

void tst_PgBouncer::init()
{
    QVERIFY2(m_fleet.newDatabase(), qPrintable(m_fleet.server.errorString()));
    m_bouncer = std::make_unique<PgBouncer>(m_fleet.server);
}

void tst_PgBouncer::cleanup()
{
    m_fleet.orchestrators.clear();
    m_bouncer.reset();
}

int tst_PgBouncer::count(const QString &sql)
{
    const auto value = m_fleet.server.adminValue(sql, databaseName());
    if (!value)
        qWarning("%s", qPrintable(m_fleet.server.errorString()));
    return value ? value->toInt() : -1;
}

// default_pool_size 4 for two orchestrators: each holds two sessions (its work connection and
// its LISTEN connection) and needs no third, also not for the session check at start. A step
// submitted to the second orchestrator runs on the first one's worker.
void tst_PgBouncer::sessionPoolingServesAFleet()
{
    START_BOUNCER(u"session"_s, 4);
    const auto fleet = m_fleet.twoWithWorkerOnFirst(u"w1"_s);
    QVERIFY(fleet.worker);

    const Run run = fleet.b->cli({u"run"_s, u"--"_s, u"echo"_s, u"through the bouncer"_s});
    QCOMPARE_EXIT(run, 0);
    QVERIFY2(run.out.contains(u"through the bouncer"_s), qPrintable(run.describe()));
    QVERIFY2(run.err.contains(u"dispatched to w1"_s), qPrintable(run.describe()));
    QCOMPARE(total(*fleet.a, Succeeded), 1);

    // Both LISTEN connections reach PostgreSQL through the bouncer; four sessions in all.
    const QString ours =
        u"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND usename = 'swamp'"_s;
    QCOMPARE(count(ours + u" AND query LIKE 'LISTEN%'"_s), 2);
    QCOMPARE(count(ours), 4);
    for (const auto &harness : m_fleet.orchestrators) {
        const QString output = harness->orchestratorOutput();
        QVERIFY2(!output.contains(u"fleet notifications unavailable"_s), qPrintable(output));
        QVERIFY2(!output.contains(Refusal), qPrintable(output));
        QVERIFY2(!output.contains(m_fleet.server.password()),
                 "the password appears in the orchestrator's output");
    }
}

void tst_PgBouncer::restartBehindTheOrchestratorLosesNoStep_data()
{
    QTest::addColumn<bool>("restartPostgres");
    QTest::newRow("pgbouncer restarts") << false;
    QTest::newRow("postgresql restarts behind pgbouncer") << true;
}

// While steps run, PgBouncer (or PostgreSQL behind it) restarts: the orchestrator keeps running,
// says once that the database is gone and once that it is back, and every step ends once, on its
// first attempt, its command run once. The pool holds exactly the orchestrator's two sessions.
void tst_PgBouncer::restartBehindTheOrchestratorLosesNoStep()
{
    QFETCH(bool, restartPostgres);
    START_BOUNCER(u"session"_s, 2);
    Harness *h = m_fleet.startOrchestrator();
    QVERIFY(h);
    const qint64 pid = h->orchestrator()->pid();
    const QString token = h->createToken(u"pool"_s);
    QVERIFY(!token.isEmpty());
    QVERIFY(h->startEnrolledWorker(token, h->newCacheDir(), {}, {u"--concurrency"_s, u"4"_s}));

    const QString ran = QDir(h->dataDir()).filePath(u"../ran.txt"_s);
    const auto submit = [&](int from, int to) {
        for (int n = from; n < to; ++n)
            QVERIFY(!detach(*h, {u"--"_s, u"sh"_s, u"-c"_s,
                                 u"sleep 0.2; echo %1 >> '%2'"_s.arg(n).arg(ran)})
                         .isEmpty());
    };
    submit(0, 8);
    QTRY_VERIFY_WITH_TIMEOUT(total(*h, Succeeded) >= 2, 30000);
    if (restartPostgres)
        QVERIFY2(m_fleet.server.restart(), qPrintable(m_fleet.server.errorString()));
    else
        QVERIFY2(m_bouncer->restart(), qPrintable(m_bouncer->errorString()));
    submit(8, 12);

    QTRY_COMPARE_WITH_TIMEOUT(total(*h, Succeeded), 12, 60000);
    QCOMPARE(h->orchestrator()->pid(), pid);
    QCOMPARE(total(*h, u"modelType == \"swamp/step\" && attributes.attempt == 1"_s), 12);
    QCOMPARE(total(*h, u"modelType == \"swamp/step-lease\" && attributes.state == \"completed\""_s),
             12);
    QCOMPARE(total(*h, u"modelType == \"swamp/step-lease\""_s), 12);
    QFile file(ran);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QStringList lines = QString::fromUtf8(file.readAll()).split(u'\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 12);
    lines.removeDuplicates();
    QCOMPARE(lines.size(), 12); // each command ran once
    const QString output = h->orchestratorOutput();
    QVERIFY2(output.count(u"connection to PostgreSQL is lost"_s) == 1, qPrintable(output));
    QVERIFY2(output.count(u"connection to PostgreSQL is back"_s) == 1, qPrintable(output));
    QVERIFY2(!output.contains(Refusal), qPrintable(output));
}

void tst_PgBouncer::transactionPoolingIsRefused_data()
{
    QTest::addColumn<QString>("poolMode");
    QTest::addColumn<int>("poolSize");
    QTest::addColumn<bool>("refused");
    QTest::newRow("transaction, pool of 1") << u"transaction"_s << 1 << true;
    QTest::newRow("transaction, pool of 5") << u"transaction"_s << 5 << true;
    QTest::newRow("statement, pool of 1") << u"statement"_s << 1 << true;
    QTest::newRow("statement, pool of 5") << u"statement"_s << 5 << true;
    QTest::newRow("session, pool of 2") << u"session"_s << 2 << false;
}

// The refusal: exit 1, one line with the cause and the fix, and nothing written to the database
// (no table, no temporary table left on a pooled session for another client to find).
void tst_PgBouncer::transactionPoolingIsRefused()
{
    QFETCH(QString, poolMode);
    QFETCH(int, poolSize);
    QFETCH(bool, refused);
    START_BOUNCER(poolMode, poolSize);
    auto harness = std::make_unique<Harness>();
    harness->orchestratorEnvironment.insert(u"PGPASSWORD"_s, m_fleet.server.password());
    const bool started = harness->startOrchestrator(0, m_fleet.serveArguments());
    Child *orchestrator = harness->orchestrator();
    if (!refused) {
        QVERIFY2(started, qPrintable(orchestrator->describe()));
        QVERIFY(harness->stopOrchestrator());
        return;
    }
    QVERIFY(!started);
    QVERIFY(orchestrator->waitForExit(30000));
    QCOMPARE(orchestrator->exitCode(), 1);
    const QStringList lines = orchestrator->err().trimmed().split(u'\n');
    QCOMPARE(lines.size(), 1);
    QVERIFY2(lines.first().startsWith(u"error: the connection to PostgreSQL "_s + Refusal),
             qPrintable(lines.first()));
    QVERIFY2(lines.first().contains(u"use pool_mode=session for swamp's database"_s),
             qPrintable(lines.first()));
    QVERIFY(!lines.first().contains(m_fleet.server.password()));
    QCOMPARE(
        count(
            u"SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"_s),
        0);
}

// PgBouncer comes back in transaction mode under a running orchestrator: at its reconnect it
// finds the session is not kept and stops (exit 1) with the same cause and fix, instead of
// writing through a pool of transactions.
void tst_PgBouncer::transactionPoolingAtReconnectStops()
{
    START_BOUNCER(u"session"_s, 5);
    Harness *h = m_fleet.startOrchestrator();
    QVERIFY(h);
    QVERIFY(!h->createToken(u"pool"_s).isEmpty());
    QVERIFY2(m_bouncer->restart(u"transaction"_s), qPrintable(m_bouncer->errorString()));
    Child *orchestrator = h->orchestrator();
    QVERIFY2(orchestrator->waitForExit(30000), qPrintable(orchestrator->describe()));
    QCOMPARE(orchestrator->exitCode(), 1);
    QVERIFY2(orchestrator->err().contains(u"error: the connection to PostgreSQL "_s + Refusal),
             qPrintable(orchestrator->describe()));
    QVERIFY2(orchestrator->err().contains(u"use pool_mode=session"_s),
             qPrintable(orchestrator->describe()));
    QCOMPARE(count(u"SELECT count(*) FROM enrollment_tokens"_s), 1);
}

// default_pool_size 1 in session mode: the orchestrator's second session waits for PgBouncer's
// query_wait_timeout (10 s in the fixture) and swamp serve exits 1 saying the pool is too small
// (without the session check it would hang opening its LISTEN connection, and fail the same way).
void tst_PgBouncer::aPoolTooSmallIsNamed()
{
    START_BOUNCER(u"session"_s, 1);
    auto harness = std::make_unique<Harness>();
    harness->orchestratorEnvironment.insert(u"PGPASSWORD"_s, m_fleet.server.password());
    QVERIFY(!harness->startOrchestrator(0, m_fleet.serveArguments()));
    Child *orchestrator = harness->orchestrator();
    QVERIFY(orchestrator->waitForExit(30000));
    QCOMPARE(orchestrator->exitCode(), 1);
    // Qt's PostgreSQL driver prints its own warnings before it (its set-up queries failed).
    const QString error = orchestrator->err().trimmed().split(u'\n').last();
    QVERIFY2(error.startsWith(u"error: a connection to PostgreSQL ended while it was set up"_s),
             qPrintable(error));
    QVERIFY2(error.contains(u"pool_size of at least 2 per orchestrator"_s), qPrintable(error));
}

QTEST_GUILESS_MAIN(tst_PgBouncer)
#include "tst_pgbouncer.moc"
