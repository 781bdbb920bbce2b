// The worker sessions (server/sessions.h) in-process: a real store (SQLite in a temporary dir),
// event log and scheduler, a fake WorkerLink, and sessions without sockets (a worker within its
// reconnect grace has none). What the process tests check through dropped and killed workers is
// checked here on the clock the sweep is given: the grace ends in `lost` and requeues the
// worker's steps, a drain deadline gives running steps back without spending an attempt, a token
// that expired ends its sessions, a row the database refused is written again, and the reconnect
// window follows the fleet's size.
#include "fakepeersocket.h"
#include "serverfixture.h"
#include "testsupport.h"

#include "model/errorcodes.h"
#include "server/eventlog.h"
#include "server/scheduler.h"
#include "protocol/protocol.h"
#include "server/sessions.h"
#include "server/transport/connections.h"
#include "store/store.h"

#include <QJsonArray>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp;

class tst_Sessions : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void graceOverMakesTheWorkerLostAndRequeuesItsSteps();
    void aReconnectWithinTheGraceKeepsTheSession();
    void aDrainDeadlineGivesTheStepBackWithoutAnAttempt();
    void anExpiredTokenEndsItsDisconnectedSessions();
    void aRowTheDatabaseRefusedIsWrittenAgain();
    void theReconnectWindowFollowsTheFleet();
    void theFleetIsToldWhenTheWindowDoubles();

private:
    WorkerSession *addWorker(const QString &name);
    QString submitAndDispatch(WorkerSession *worker); // the step id
    StepState stateOf(const QString &stepId);
    WorkerStatus storedStatus(const QString &id); // warns (and fails) when there is no row
    bool hasEvent(const QString &kind);
    static void settle() { QCoreApplication::processEvents(); QCoreApplication::processEvents(); }

    static constexpr qint64 GraceMs = 30000;
    ServerParts m_parts;
    int m_workers = 0;
};

void tst_Sessions::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    QVERIFY(m_parts.open({5000, 15000, GraceMs}));
}

void tst_Sessions::cleanup()
{
    m_parts.close();
}

WorkerSession *tst_Sessions::addWorker(const QString &name)
{
    ++m_workers;
    WorkerSession *added =
        m_parts.sessions->pool().insert(ServerParts::makeSession(u"worker-%1"_s.arg(m_workers), name));
    m_parts.sessions->persistWorker(added);
    return added;
}

QString tst_Sessions::submitAndDispatch(WorkerSession *worker)
{
    StepSpec spec;
    spec.name = u"s"_s;
    spec.command = QStringList{u"true"_s};
    auto submitted = m_parts.scheduler->submit(u"run"_s, {spec});
    if (!submitted)
        return {};
    settle();
    if (m_parts.link.sent(worker->record.id, u"dispatch"_s).size() != 1)
        return {};
    return QJsonDocument::fromJson(*submitted).object().value(u"stepIds"_s).toArray().first().toString();
}

StepState tst_Sessions::stateOf(const QString &stepId)
{
    if (auto open = m_parts.scheduler->openStep(stepId))
        return open->state;
    auto stored = m_parts.store->step(stepId);
    return stored && *stored ? (*stored)->state : StepState::Queued;
}

WorkerStatus tst_Sessions::storedStatus(const QString &id)
{
    auto all = m_parts.store->allWorkers();
    if (all) {
        for (const WorkerRecord &worker : *all) {
            if (worker.id == id)
                return worker.status;
        }
    }
    qWarning() << "no stored worker" << id;
    return WorkerStatus::Idle;
}

bool tst_Sessions::hasEvent(const QString &kind)
{
    for (const Event &event : m_parts.events->since(0, 1000)) {
        if (event.kind == kind)
            return true;
    }
    return false;
}

void tst_Sessions::graceOverMakesTheWorkerLostAndRequeuesItsSteps()
{
    WorkerSession *worker = addWorker(u"w"_s);
    const QString stepId = submitAndDispatch(worker);
    QVERIFY(!stepId.isEmpty());
    const QString workerId = worker->record.id;
    m_parts.link.disconnected.insert(workerId);
    m_parts.sessions->markDisconnected(worker, u"connection closed"_s, true);
    QCOMPARE(storedStatus(workerId), WorkerStatus::Disconnected);

    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    m_parts.sessions->sweepLiveness(now + GraceMs - 1000);
    QVERIFY(m_parts.sessions->pool().find(workerId)); // still resumable
    QCOMPARE(stateOf(stepId), StepState::Dispatched);

    m_parts.sessions->sweepLiveness(now + GraceMs + 1000);
    QVERIFY(!m_parts.sessions->pool().find(workerId));
    QCOMPARE(storedStatus(workerId), WorkerStatus::Lost);
    QVERIFY(hasEvent(u"worker.lost"_s));
    QCOMPARE(stateOf(stepId), StepState::Queued); // a worker lost gives its steps back
}

void tst_Sessions::aReconnectWithinTheGraceKeepsTheSession()
{
    WorkerSession *worker = addWorker(u"w"_s);
    m_parts.sessions->markDisconnected(worker, u"connection closed"_s, true);
    m_parts.sessions->attached(worker); // enrollment attached a connection again
    m_parts.sessions->sweepLiveness(QDateTime::currentMSecsSinceEpoch() + 10 * GraceMs);
    QVERIFY(m_parts.sessions->pool().find(worker->record.id));
    QVERIFY(!hasEvent(u"worker.lost"_s));
}

void tst_Sessions::aDrainDeadlineGivesTheStepBackWithoutAnAttempt()
{
    WorkerSession *worker = addWorker(u"w"_s);
    const QString stepId = submitAndDispatch(worker);
    QVERIFY(!stepId.isEmpty());
    m_parts.sessions->startDrain(worker, u"operator"_s, u"drained by an operator"_s, 1000);
    QVERIFY(worker->record.draining);

    m_parts.sessions->sweepDeadlines(QDateTime::currentMSecsSinceEpoch());
    QCOMPARE(stateOf(stepId), StepState::Dispatched); // before the deadline: left to finish
    m_parts.sessions->sweepDeadlines(QDateTime::currentMSecsSinceEpoch() + 2000);
    QCOMPARE(stateOf(stepId), StepState::Queued);
    const QList<QJsonObject> cancels = m_parts.link.sent(worker->record.id, u"cancel"_s);
    QCOMPARE(cancels.size(), 1);
    QCOMPARE(cancels.first().value(u"reason"_s).toString(), u"drain deadline passed"_s);
    // The next worker gets it as attempt 2 of 3: the given-back dispatch used up none.
    WorkerSession *next = addWorker(u"next"_s);
    m_parts.scheduler->requestSchedule();
    settle();
    const QList<QJsonObject> dispatches = m_parts.link.sent(next->record.id, u"dispatch"_s);
    QCOMPARE(dispatches.size(), 1);
    QCOMPARE(dispatches.first().value(u"attempt"_s).toInt(), 2);
    auto step = m_parts.store->step(stepId);
    QVERIFY(step && *step);
}

void tst_Sessions::anExpiredTokenEndsItsDisconnectedSessions()
{
    WorkerSession *worker = addWorker(u"w"_s);
    const QDateTime expiry = QDateTime::currentDateTimeUtc().addSecs(60);
    worker->tokenExpiresAt = expiry;
    m_parts.sessions->watchTokenExpiry(expiry, u"pool"_s);
    m_parts.sessions->watchTokenExpiry(expiry, u"pool"_s); // one entry per token and expiry
    m_parts.sessions->markDisconnected(worker, u"connection closed"_s, true);

    m_parts.sessions->sweepDeadlines(QDateTime::currentMSecsSinceEpoch());
    QVERIFY(m_parts.sessions->pool().find(worker->record.id));
    const QString workerId = worker->record.id;
    m_parts.sessions->sweepDeadlines(expiry.toMSecsSinceEpoch() + 1000);
    QVERIFY(!m_parts.sessions->pool().find(workerId));
    QCOMPARE(storedStatus(workerId), WorkerStatus::Disconnected);
}

void tst_Sessions::aRowTheDatabaseRefusedIsWrittenAgain()
{
    WorkerSession *worker = addWorker(u"w"_s);
    QVERIFY(m_parts.store->execute(u"PRAGMA query_only = ON"_s));
    // Said once for the row, however often it is refused again (the store logs each statement).
    const QRegularExpression statement(u"statement failed: .*INSERT INTO workers.*readonly"_s);
    QTest::ignoreMessage(QtWarningMsg, statement);
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"could not save worker.*retrying at every sweep"_s));
    QTest::ignoreMessage(QtWarningMsg, statement);
    worker->record.status = WorkerStatus::Disconnected;
    m_parts.sessions->persistWorker(worker);
    QCOMPARE(storedStatus(worker->record.id), WorkerStatus::Idle);
    m_parts.sessions->sweepLiveness(QDateTime::currentMSecsSinceEpoch()); // refused again: not said again
    QVERIFY(m_parts.store->execute(u"PRAGMA query_only = OFF"_s));
    m_parts.sessions->sweepLiveness(QDateTime::currentMSecsSinceEpoch());
    QCOMPARE(storedStatus(worker->record.id), WorkerStatus::Disconnected);
    m_parts.sessions->sweepLiveness(QDateTime::currentMSecsSinceEpoch()); // written: nothing more to retry
}

void tst_Sessions::theReconnectWindowFollowsTheFleet()
{
    QCOMPARE(m_parts.sessions->reconnectWindowMs(), qint64(1000)); // at least a second
    for (int i = 0; i < 2500; ++i) {
        auto session = std::make_unique<WorkerSession>();
        session->record.id = u"bulk-%1"_s.arg(i);
        session->record.tokenName = u"bulk"_s;
        session->record.machineId = session->record.id;
        m_parts.sessions->pool().insert(std::move(session));
    }
    QCOMPARE(m_parts.sessions->reconnectWindowMs(), qint64(2500)); // reconnects at 1,000 a second
    for (int i = 2500; i < 70000; ++i) {
        auto session = std::make_unique<WorkerSession>();
        session->record.id = u"bulk-%1"_s.arg(i);
        session->record.tokenName = u"bulk"_s;
        session->record.machineId = session->record.id;
        m_parts.sessions->pool().insert(std::move(session));
    }
    QCOMPARE(m_parts.sessions->reconnectWindowMs(), qint64(60000)); // a minute at most
}

void tst_Sessions::theFleetIsToldWhenTheWindowDoubles()
{
    // Pings every 100 ms, so that a round of heartbeats passes quickly.
    QVERIFY(m_parts.open({100, 15000, GraceMs}));
    // Two connected workers among 2,000 sessions: one enrolled when the fleet was one (told 1 s),
    // one enrolled last (told the 2 s window in its `enrolled`).
    auto *oldSocket = new FakePeerSocket();
    WorkerConnection oldConnection(oldSocket, Protocol::MaxWorkerFrameBytes);
    WorkerSession *old = addWorker(u"old"_s);
    old->connection = &oldConnection;
    m_parts.sessions->windowTold(old, m_parts.sessions->reconnectWindowMs());
    m_parts.sessions->announceReconnectWindow();
    for (int i = 1; i < 1999; ++i)
        m_parts.sessions->pool().insert(ServerParts::makeSession(u"bulk-%1"_s.arg(i), u"bulk-%1"_s.arg(i)));
    auto *newSocket = new FakePeerSocket();
    WorkerConnection newConnection(newSocket, Protocol::MaxWorkerFrameBytes);
    WorkerSession *last = addWorker(u"last"_s);
    last->connection = &newConnection;
    QCOMPARE(m_parts.sessions->reconnectWindowMs(), qint64(2000));
    m_parts.sessions->windowTold(last, m_parts.sessions->reconnectWindowMs());
    m_parts.sessions->announceReconnectWindow();
    // Not the whole fleet in the enrollment's turn: a share at each heartbeat tick, all within a
    // second.
    QVERIFY(oldSocket->sentOfType(u"window"_s).isEmpty());
    m_parts.sessions->startHeartbeats();
    QTRY_COMPARE(oldSocket->sentOfType(u"window"_s),
                 (QList<QJsonObject>{{{u"type"_s, u"window"_s}, {u"reconnectWindowMs"_s, 2000}}}));
    // Told once per doubling, and never a window the worker already holds: 2 s of heartbeats on.
    QTRY_VERIFY(newSocket->pings >= 20 && oldSocket->pings >= 20);
    QCOMPARE(oldSocket->sentOfType(u"window"_s).size(), 1);
    QVERIFY(newSocket->sentOfType(u"window"_s).isEmpty());
    m_parts.sessions->stopHeartbeats();
    old->connection = nullptr;
    last->connection = nullptr;
}

QTEST_GUILESS_MAIN(tst_Sessions)
#include "tst_sessions.moc"
