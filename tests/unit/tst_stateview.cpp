// The orchestrator's read-only view of its state (server/stateview.h), in-process: what
// worker.list, token.list, the run methods and data.query answer with is the stored record with
// what memory knows better laid over it. tst_admin_cli and tst_query_cli ask the same of a real
// orchestrator.
#include "serverfixture.h"
#include "testsupport.h"

#include "server/stateview.h"

#include <QJsonArray>
#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp;

class tst_StateView : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void aLiveSessionIsFresherThanItsRow();
    void anOpenStepIsFresherThanItsRow();
    void anUnknownStepNamesTheFix();
    void tokensAsTokenListShowsThem();

private:
    ServerParts m_parts;
    std::unique_ptr<StateView> m_view;
};

void tst_StateView::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    QVERIFY(m_parts.open());
    m_view = std::make_unique<StateView>(m_parts.store.get(), m_parts.sessions.get(), m_parts.scheduler.get(),
                                         QString());
}

void tst_StateView::cleanup()
{
    m_view.reset();
    m_parts.close();
}

void tst_StateView::aLiveSessionIsFresherThanItsRow()
{
    WorkerSession *live = m_parts.sessions->pool().insert(ServerParts::makeSession(u"worker-1"_s, u"w"_s, 2));
    m_parts.sessions->persistWorker(live);

    // Memory moves on; the row is written later (a flip waits for the sweep).
    live->record.status = WorkerStatus::Busy;
    live->leaseIds = {u"lease-1"_s, u"lease-2"_s};
    auto workers = m_view->currentWorkers();
    QVERIFY(workers);
    QCOMPARE(workers->size(), 1);
    QCOMPARE(workers->first().status, WorkerStatus::Busy);
    QCOMPARE(workers->first().activeSteps, 2);

    m_parts.sessions->pool().remove(u"worker-1"_s); // gone from memory: the row is what is known
    workers = m_view->currentWorkers();
    QVERIFY(workers);
    QCOMPARE(workers->first().status, WorkerStatus::Idle);
    QCOMPARE(workers->first().activeSteps, 0);
}

void tst_StateView::anOpenStepIsFresherThanItsRow()
{
    StepSpec spec;
    spec.name = u"s"_s;
    spec.command = QStringList{u"true"_s};
    auto submitted = m_parts.scheduler->submit(u"run"_s, {spec});
    QVERIFY(submitted);
    const QString stepId =
        QJsonDocument::fromJson(*submitted).object().value(u"stepIds"_s).toArray().first().toString();
    auto found = m_view->findStep(stepId);
    QVERIFY(found);
    QCOMPARE(found->state, StepState::Queued);
    auto stored = m_parts.store->step(stepId);
    QVERIFY(stored && *stored);
    StepRecord stale = **stored;
    stale.state = StepState::Failed; // what an old copy might say
    QCOMPARE(m_view->current(stale).state, StepState::Queued);
}

void tst_StateView::anUnknownStepNamesTheFix()
{
    auto missing = m_view->findStep(u"no-such-step"_s);
    QVERIFY(!missing);
    QCOMPARE(missing.error().code, u"not_found"_s);
    QCOMPARE(missing.error().message, u"no step with id 'no-such-step'"_s);
    QVERIFY(!missing.error().fix.isEmpty());
}

void tst_StateView::tokensAsTokenListShowsThem()
{
    const QDateTime now = QDateTime::currentDateTimeUtc();
    TokenRecord token;
    token.id = u"token-1"_s;
    token.name = u"pool"_s;
    token.secretHash = hashSecret(mintToken(u"pool"_s).secret);
    token.createdAt = token.updatedAt = now;
    token.expiresAt = now.addSecs(3600);
    token.maxEnrollments = 0;
    QVERIFY(m_parts.store->insertToken(token));
    QList<QJsonObject> listed;
    QVERIFY(m_view->forEachTokenJson(now, [&](const TokenRecord &, const QJsonObject &json) { listed << json; }));
    QCOMPARE(listed.size(), 1);
    const QJsonObject json = listed.first();
    QCOMPARE(json.value(u"name"_s).toString(), u"pool"_s);
    QCOMPARE(json.value(u"state"_s).toString(), u"unused"_s);
    QVERIFY(json.value(u"maxEnrollments"_s).isNull()); // unlimited
    QVERIFY(json.value(u"revokedAt"_s).isNull());
    QCOMPARE(json.value(u"enrollments"_s).toInt(), 0);
    QVERIFY(!QJsonDocument(json).toJson().contains(token.secretHash.toUtf8())); // never the hash
}

QTEST_GUILESS_MAIN(tst_StateView)
#include "tst_stateview.moc"
