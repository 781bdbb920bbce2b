// The scheduler after a restart, in-process (issue 20): a real store that a first scheduler
// filled, and a second one that recovers from it, every test on SQLite (one orchestrator) and on
// PostgreSQL (one of a fleet; the first scheduler's Fleet never joined, so it counts as gone).
// Recovery holds a queued step by what scheduling needs and reads its full record when it
// dispatches, cancels or times it out; it expires the leases left active in one transaction.
#include "serverfixture.h"
#include "testsupport.h"

#include "server/eventlog.h"
#include "server/scheduler.h"
#include "store/store.h"
#include "support/pgserver.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp;

namespace {

StepSpec spec(const QString &name, const QStringList &command = {u"true"_s})
{
    StepSpec s;
    s.name = name;
    s.command = command;
    return s;
}

} // namespace

class tst_SchedulerRecovery : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase_data();
    void init();
    void cleanup();

    void aRecoveredStepIsReadInFullWhenItIsDispatched();
    void aRecoveredQueueKeepsItsOrder();
    void recoveredStepsAreListedCancelledAndTimedOut();
    void aRecoveryThatFailsLeavesTheDatabaseAsItWas();
    void recoveryRoundTripsDoNotGrowWithItsLeases();

private:
    WorkerSession *addWorker(const QString &name);
    QStringList submit(const QString &runName, const QList<StepSpec> &specs);
    // A new scheduler on the same database, as after `swamp serve` starts again: no session.
    Result<int> restart();
    static void settle() { QCoreApplication::processEvents(); QCoreApplication::processEvents(); }
    // Until the clock moved on: the next submit is queued later (the queue orders by the ms).
    static void nextMillisecond()
    {
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        QVERIFY(QTest::qWaitFor([now] { return QDateTime::currentMSecsSinceEpoch() > now; }));
    }
    StepState storedState(const QString &stepId);
    LeaseState storedLeaseState(const QString &leaseId);

    bool postgres() const { return m_parts.store->dialect() == Store::Dialect::Postgres; }

    SwampTest::PostgresServer m_postgres;
    ServerParts m_parts;
    int m_workers = 0;
};

void tst_SchedulerRecovery::initTestCase_data()
{
    QTest::addColumn<QString>("dialect");
    QTest::addRow("sqlite") << u"sqlite"_s;
    QTest::addRow("postgresql") << u"postgresql"_s;
}

void tst_SchedulerRecovery::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    QFETCH_GLOBAL(QString, dialect);
    QString url;
    if (dialect == u"postgresql") {
        SWAMP_START_POSTGRES(m_postgres);
        qputenv("PGPASSWORD", m_postgres.password().toUtf8());
        url = m_postgres.createDatabase();
        QVERIFY2(!url.isEmpty(), qPrintable(m_postgres.errorString()));
    }
    QVERIFY(m_parts.open({}, url));
}

void tst_SchedulerRecovery::cleanup()
{
    m_parts.close();
}

WorkerSession *tst_SchedulerRecovery::addWorker(const QString &name)
{
    return m_parts.sessions->pool().insert(ServerParts::makeSession(u"worker-%1"_s.arg(++m_workers), name));
}

QStringList tst_SchedulerRecovery::submit(const QString &runName, const QList<StepSpec> &specs)
{
    auto submitted = m_parts.scheduler->submit(runName, specs);
    if (!submitted)
        qWarning() << submitted.error().message;
    QStringList ids;
    const QJsonArray stepIds =
        QJsonDocument::fromJson(submitted.value_or(QByteArray())).object().value(u"stepIds"_s).toArray();
    for (const QJsonValue &id : stepIds)
        ids << id.toString();
    return ids;
}

Result<int> tst_SchedulerRecovery::restart()
{
    for (WorkerSession *session : m_parts.sessions->pool().all())
        m_parts.sessions->pool().remove(session->record.id);
    m_parts.link = FakeLink();
    return m_parts.startScheduler();
}

StepState tst_SchedulerRecovery::storedState(const QString &stepId)
{
    auto stored = m_parts.store->step(stepId);
    return stored && *stored ? (*stored)->state : StepState::Queued;
}

LeaseState tst_SchedulerRecovery::storedLeaseState(const QString &leaseId)
{
    auto stored = m_parts.store->lease(leaseId);
    return stored && *stored ? (*stored)->state : LeaseState::Cancelled;
}

// Recovery reads no command: the dispatch carries what the store holds when it is sent (changed
// here behind the scheduler's back, which only proves when it was read).
void tst_SchedulerRecovery::aRecoveredStepIsReadInFullWhenItIsDispatched()
{
    const QStringList ids = submit(u"run"_s, {spec(u"build"_s, {u"make"_s, u"all"_s})});
    QCOMPARE(ids.size(), 1);
    QVERIFY_RESULT(restart());
    QVERIFY(!m_parts.scheduler->openStep(ids.first())); // not held in full
    QVERIFY(m_parts.store->execute(u"UPDATE steps SET command = ? WHERE id = ?"_s,
                                   {u"[\"make\",\"check\"]"_s, ids.first()}));

    WorkerSession *worker = addWorker(u"w"_s);
    m_parts.scheduler->requestSchedule();
    settle();
    const QList<QJsonObject> dispatches = m_parts.link.sent(worker->record.id, u"dispatch"_s);
    QCOMPARE(dispatches.size(), 1);
    QCOMPARE(dispatches.first().value(u"stepId"_s).toString(), ids.first());
    QCOMPARE(dispatches.first().value(u"name"_s).toString(), u"build"_s);
    QCOMPARE(dispatches.first().value(u"command"_s).toArray(), QJsonArray({u"make"_s, u"check"_s}));
    QCOMPARE(m_parts.scheduler->openStep(ids.first())->state, StepState::Dispatched);
}

// Oldest first, then in run order; where a step that was out on a worker goes is as before.
void tst_SchedulerRecovery::aRecoveredQueueKeepsItsOrder()
{
    WorkerSession *early = addWorker(u"early"_s);
    const QStringList running = submit(u"first"_s, {spec(u"running"_s)});
    settle();
    QCOMPARE(m_parts.link.sent(early->record.id, u"dispatch"_s).size(), 1);
    nextMillisecond();
    const QStringList a = submit(u"second"_s, {spec(u"a1"_s), spec(u"a2"_s), spec(u"a3"_s)});
    nextMillisecond();
    const QStringList b = submit(u"third"_s, {spec(u"b1"_s), spec(u"b2"_s)});
    nextMillisecond();
    const int expired = restart().value_or(-1);
    QCOMPARE(expired, 1);
    QCOMPARE(storedState(running.first()), StepState::Queued);

    WorkerSession *worker = addWorker(u"one-slot"_s);
    QStringList order;
    for (int i = 0; i < 6; ++i) {
        m_parts.scheduler->requestSchedule();
        settle();
        const QList<QJsonObject> dispatches = m_parts.link.sent(worker->record.id, u"dispatch"_s);
        QCOMPARE(dispatches.size(), i + 1);
        const QString leaseId = dispatches.last().value(u"leaseId"_s).toString();
        order << dispatches.last().value(u"stepId"_s).toString();
        m_parts.scheduler->handleFinished(worker, Protocol::Finished::decode({{u"type"_s, u"finished"_s}, {u"leaseId"_s, leaseId},
                                                                              {u"outcome"_s, u"exited"_s}, {u"exitCode"_s, 0}}));
    }
    // Alone, recovery sorts the whole queue, and the requeued step's clock restarted; in a fleet
    // it goes to the front, as any requeue does there (the queue was loaded before it).
    QCOMPARE(order, postgres() ? running + a + b : a + b + running);
}

// worker.queue lists them in full; a cancel of a step or of a run, and the queue timeout, end
// them as they ended steps held in full.
void tst_SchedulerRecovery::recoveredStepsAreListedCancelledAndTimedOut()
{
    StepSpec soon = spec(u"soon"_s);
    soon.queueTimeoutMs = 1;
    const QStringList one = submit(u"one"_s, {spec(u"alone"_s, {u"echo"_s, u"1"_s})});
    nextMillisecond();
    const QStringList run = submit(u"two"_s, {spec(u"x"_s), spec(u"y"_s)});
    const QStringList late = submit(u"three"_s, {soon});
    QVERIFY_RESULT(restart());

    const QList<StepRecord> queued = m_parts.scheduler->queuedSteps();
    QCOMPARE(queued.size(), 4);
    QCOMPARE(queued.first().id, one.first());
    QCOMPARE(queued.first().spec.command, QStringList({u"echo"_s, u"1"_s}));

    auto cancelled = m_parts.scheduler->cancel(one.first());
    QVERIFY_RESULT(cancelled);
    QCOMPARE(cancelled->value(u"cancelled"_s).toArray().size(), 1);
    QCOMPARE(storedState(one.first()), StepState::Cancelled);
    auto runId = m_parts.store->step(run.first());
    QVERIFY(runId && *runId);
    cancelled = m_parts.scheduler->cancel((*runId)->runId);
    QVERIFY_RESULT(cancelled);
    QCOMPARE(cancelled->value(u"cancelled"_s).toArray().size(), 2);
    QCOMPARE(storedState(run.at(0)), StepState::Cancelled);
    QCOMPARE(storedState(run.at(1)), StepState::Cancelled);

    QTRY_COMPARE((m_parts.scheduler->sweep(), storedState(late.first())), StepState::TimedOut);
    QVERIFY(m_parts.scheduler->queuedSteps().isEmpty());
}

// The leases left active expire in one transaction: when the database refuses one of them, none
// of them is expired and the restart fails (the next one tries again).
void tst_SchedulerRecovery::aRecoveryThatFailsLeavesTheDatabaseAsItWas()
{
    QStringList leases;
    for (const QString &name : {u"a"_s, u"b"_s, u"c"_s}) {
        WorkerSession *worker = addWorker(name);
        submit(name, {spec(name)});
        settle();
        const QList<QJsonObject> dispatches = m_parts.link.sent(worker->record.id, u"dispatch"_s);
        QCOMPARE(dispatches.size(), 1);
        leases << dispatches.first().value(u"leaseId"_s).toString();
    }
    // The middle one: whichever end recovery starts from, one lease is expired before it.
    if (postgres()) {
        QVERIFY(m_parts.store->execute(u"CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                                       "RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql"_s));
        QVERIFY(m_parts.store->execute(u"CREATE TRIGGER refuse_b BEFORE UPDATE ON step_leases FOR EACH ROW "
                                       "WHEN (OLD.id = '%1') EXECUTE FUNCTION refuse()"_s.arg(leases.at(1))));
    } else {
        QVERIFY(m_parts.store->execute(u"CREATE TRIGGER refuse_b BEFORE UPDATE ON step_leases WHEN old.id = '%1' "
                                       "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"_s.arg(leases.at(1))));
    }
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"statement failed: .*refused by the test"_s));
    QVERIFY(!restart());
    for (const QString &lease : std::as_const(leases))
        QCOMPARE(storedLeaseState(lease), LeaseState::Active);

    QVERIFY(m_parts.store->execute(postgres() ? u"DROP TRIGGER refuse_b ON step_leases"_s : u"DROP TRIGGER refuse_b"_s));
    QCOMPARE(restart().value_or(-1), 3);
    for (const QString &lease : std::as_const(leases))
        QCOMPARE(storedLeaseState(lease), LeaseState::Expired);
}

// PostgreSQL: the expired leases' steps and events are rows of one batch, written as multi-row
// statements at its commit; three statements a lease made 10,000 leases a 12 s boot.
void tst_SchedulerRecovery::recoveryRoundTripsDoNotGrowWithItsLeases()
{
    if (!postgres())
        QSKIP("SQLite counts no round trips: its statements run in this process");
    const auto leaseSteps = [this](int count) {
        for (int i = 0; i < count; ++i) {
            addWorker(u"w"_s);
            submit(u"run"_s, {spec(u"step"_s)});
            settle();
        }
    };
    const auto recoveryTrips = [this]() -> qint64 {
        const qint64 before = m_parts.store->roundTrips();
        const auto expired = restart();
        return expired ? m_parts.store->roundTrips() - before : -1;
    };
    leaseSteps(2);
    const qint64 few = recoveryTrips();
    QVERIFY(few > 0);
    leaseSteps(40);
    const qint64 many = recoveryTrips();
    QVERIFY2(many > 0 && many - few < 10,
             qPrintable(u"%1 round trips to expire 2 leases, %2 for 40"_s.arg(few).arg(many)));
}

QTEST_GUILESS_MAIN(tst_SchedulerRecovery)
#include "tst_schedulerrecovery.moc"
