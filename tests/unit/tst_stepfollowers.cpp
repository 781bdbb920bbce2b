// run.follow's followers (server/stepfollowers.h) in-process, on admin connections over a
// FakePeerSocket: the stored output after the chunk the client has, then the state, then each live
// chunk once (also when the same chunk comes again from the store, as in a fleet), and nothing
// once the step ended or the client went. tst_steps and tst_fleet follow steps of real processes.
#include "fakepeersocket.h"
#include "serverfixture.h"
#include "testsupport.h"

#include "protocol/protocol.h"
#include "server/stateview.h"
#include "server/stepfollowers.h"
#include "server/transport/connections.h"

#include <QJsonArray>
#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp;

class tst_StepFollowers : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void storedOutputThenStateThenLiveChunksOnce();
    void anEndedStepLetsItsFollowersGo();
    void aClosedClientFollowsNothing();
    void aFinishedStepIsReplayedWhole();

private:
    QString submit(); // a queued step's id
    void store(const QString &stepId, int chunk, const QString &data);
    static QJsonObject chunk(int number, const QString &data);
    // The `data` of the output frames `socket` got, in order; "<state>" for a step frame.
    static QStringList received(const FakePeerSocket &socket);

    ServerParts m_parts;
    std::unique_ptr<StateView> m_view;
    std::unique_ptr<StepFollowers> m_followers;
    FakePeerSocket *m_socket = nullptr; // owned by m_connection
    std::unique_ptr<AdminConnection> m_connection;
};

void tst_StepFollowers::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    QVERIFY(m_parts.open());
    m_view = std::make_unique<StateView>(m_parts.store.get(), m_parts.sessions.get(), m_parts.scheduler.get(),
                                         QString());
    m_followers = std::make_unique<StepFollowers>(m_parts.store.get(), m_view.get());
    m_socket = new FakePeerSocket();
    m_connection = std::make_unique<AdminConnection>(m_socket, Protocol::MaxAdminFrameBytes);
}

void tst_StepFollowers::cleanup()
{
    m_connection.reset();
    m_followers.reset();
    m_view.reset();
    m_parts.close();
}

QString tst_StepFollowers::submit()
{
    StepSpec spec;
    spec.name = u"s"_s;
    spec.command = QStringList{u"true"_s};
    auto submitted = m_parts.scheduler->submit(u"run"_s, {spec});
    return submitted ? QJsonDocument::fromJson(*submitted).object().value(u"stepIds"_s).toArray().first().toString()
                     : QString();
}

void tst_StepFollowers::store(const QString &stepId, int chunk, const QString &data)
{
    QVERIFY(m_parts.store->appendOutput(stepId, chunk, u"lease-1"_s, 1, u"stdout"_s, data,
                                        QDateTime::currentDateTimeUtc()));
}

QJsonObject tst_StepFollowers::chunk(int number, const QString &data)
{
    return {{u"chunk"_s, number}, {u"attempt"_s, 1}, {u"stream"_s, u"stdout"_s}, {u"data"_s, data}};
}

QStringList tst_StepFollowers::received(const FakePeerSocket &socket)
{
    QStringList seen;
    for (const QJsonObject &frame : socket.sent) {
        if (frame.value(u"type"_s).toString() == u"output")
            seen << frame.value(u"data"_s).toString();
        else if (frame.value(u"type"_s).toString() == u"step")
            seen << u"<%1>"_s.arg(frame.value(u"step"_s).toObject().value(u"state"_s).toString());
    }
    return seen;
}

void tst_StepFollowers::storedOutputThenStateThenLiveChunksOnce()
{
    const QString stepId = submit();
    QVERIFY(!stepId.isEmpty());
    store(stepId, 1, u"one"_s);
    store(stepId, 2, u"two"_s);
    store(stepId, 3, u"three"_s);
    m_followers->follow(m_connection.get(), stepId, 1); // the client has chunk 1
    QVERIFY(m_socket->sent.isEmpty());                  // after the response, on the next turn
    QTRY_VERIFY(m_followers->isFollowed(stepId));
    QCOMPARE(received(*m_socket), (QStringList{u"two"_s, u"three"_s, u"<queued>"_s}));
    QCOMPARE(m_socket->sent.first().value(u"stepId"_s).toString(), stepId);

    m_followers->outputAppended(stepId, chunk(3, u"three"_s)); // already sent
    m_followers->outputAppended(stepId, chunk(4, u"four"_s));
    store(stepId, 4, u"four"_s);
    store(stepId, 5, u"five"_s);
    m_followers->forwardStored(stepId); // a fleet: 4 again from the store, then 5
    QCOMPARE(received(*m_socket), (QStringList{u"two"_s, u"three"_s, u"<queued>"_s, u"four"_s, u"five"_s}));
}

void tst_StepFollowers::anEndedStepLetsItsFollowersGo()
{
    const QString stepId = submit();
    m_followers->follow(m_connection.get(), stepId, 0);
    QTRY_VERIFY(m_followers->isFollowed(stepId));
    auto step = m_view->findStep(stepId);
    QVERIFY(step);
    StepRecord done = *step;
    done.state = StepState::Succeeded;
    m_followers->stepChanged(done);
    QVERIFY(!m_followers->isFollowed(stepId));
    m_followers->outputAppended(stepId, chunk(1, u"late"_s));
    QCOMPARE(received(*m_socket), (QStringList{u"<queued>"_s, u"<succeeded>"_s}));
}

void tst_StepFollowers::aClosedClientFollowsNothing()
{
    const QString stepId = submit();
    m_followers->follow(m_connection.get(), stepId, 0);
    QTRY_VERIFY(m_followers->isFollowed(stepId));
    m_followers->forget(m_connection.get());
    QVERIFY(!m_followers->isFollowed(stepId));
    m_followers->follow(m_connection.get(), stepId, 0);
    m_connection.reset(); // gone before the next turn: nothing is sent to it, nothing kept
    QCoreApplication::processEvents(); // the turn follow() waits for
    QVERIFY(!m_followers->isFollowed(stepId));
}

void tst_StepFollowers::aFinishedStepIsReplayedWhole()
{
    const QString stepId = submit();
    QVERIFY(m_parts.scheduler->cancel(stepId)); // a queued step ends at once
    store(stepId, 1, u"all"_s);
    m_followers->follow(m_connection.get(), stepId, 0);
    QTRY_COMPARE(received(*m_socket), (QStringList{u"all"_s, u"<cancelled>"_s}));
    QVERIFY(!m_followers->isFollowed(stepId)); // nothing more will come
}

QTEST_GUILESS_MAIN(tst_StepFollowers)
#include "tst_stepfollowers.moc"
