// StepFollower, the bookkeeping of `run.follow` the CLI and the console share: each chunk once and
// in order (a replay after a reconnect or a second follow is dropped), a new attempt noticed, a
// step's end reported once, and the follows to send again after a reconnect start after the last
// chunk handed on.
#include "client/stepfollower.h"

#include <QSignalSpy>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp;

namespace {
QJsonObject chunk(const QString &stepId, int number, int attempt, const QString &data)
{
    return {{u"type"_s, u"output"_s}, {u"stepId"_s, stepId}, {u"chunk"_s, number},
            {u"attempt"_s, attempt},  {u"stream"_s, u"stdout"_s}, {u"data"_s, data}};
}

QJsonObject stepFrame(const QString &stepId, const QString &state)
{
    return {{u"type"_s, u"step"_s}, {u"step"_s, QJsonObject{{u"id"_s, stepId}, {u"state"_s, state}}}};
}
} // namespace

class tst_StepFollower : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void chunksOnceInOrderFromTheLastOne();
    void aNewAttemptIsNoticed();
    void anEndIsReportedOnce();
    void aStepThatCannotBeFollowedCountsAsEnded();
};

void tst_StepFollower::chunksOnceInOrderFromTheLastOne()
{
    StepFollower follower;
    follower.follow(u"a"_s);
    follower.follow(u"b"_s);
    QSignalSpy output(&follower, &StepFollower::output);
    follower.handleFrame(chunk(u"a"_s, 1, 1, u"one"_s));
    follower.handleFrame(chunk(u"a"_s, 2, 1, u"two"_s));
    follower.handleFrame(chunk(u"a"_s, 1, 1, u"one"_s)); // replayed after a reconnect
    follower.handleFrame(chunk(u"x"_s, 1, 1, u"not followed"_s));
    follower.handleFrame(chunk(u"b"_s, 1, 1, u"b-one"_s));
    QCOMPARE(output.size(), 3);
    QCOMPARE(output.at(0).at(1).toJsonObject().value(u"data"_s).toString(), u"one"_s);
    QCOMPARE(output.at(1).at(1).toJsonObject().value(u"data"_s).toString(), u"two"_s);
    QCOMPARE(output.at(2).at(0).toString(), u"b"_s);
    const QList<QJsonObject> again = follower.followRequests();
    QCOMPARE(again.size(), 2);
    QCOMPARE(again.at(0), (QJsonObject{{u"id"_s, u"a"_s}, {u"after"_s, 2}}));
    QCOMPARE(again.at(1), (QJsonObject{{u"id"_s, u"b"_s}, {u"after"_s, 1}}));
}

void tst_StepFollower::aNewAttemptIsNoticed()
{
    StepFollower follower;
    follower.follow(u"a"_s);
    QSignalSpy output(&follower, &StepFollower::output);
    follower.handleFrame(chunk(u"a"_s, 1, 1, u"first try"_s));
    follower.handleFrame(chunk(u"a"_s, 2, 1, u"still"_s));
    follower.handleFrame(chunk(u"a"_s, 3, 2, u"second try"_s));
    QCOMPARE(output.size(), 3);
    QCOMPARE(output.at(0).at(2).toBool(), false);
    QCOMPARE(output.at(1).at(2).toBool(), false);
    QCOMPARE(output.at(2).at(2).toBool(), true);
}

void tst_StepFollower::anEndIsReportedOnce()
{
    StepFollower follower;
    follower.follow(u"a"_s);
    QSignalSpy updated(&follower, &StepFollower::stepUpdated);
    QSignalSpy ended(&follower, &StepFollower::ended);
    follower.handleFrame(stepFrame(u"a"_s, u"queued"_s));
    follower.handleFrame(stepFrame(u"a"_s, u"running"_s));
    QCOMPARE(updated.last().at(2).toString(), u"queued"_s); // the state before
    QVERIFY(ended.isEmpty());
    follower.handleFrame(stepFrame(u"a"_s, u"failed"_s));
    follower.handleStep(QJsonObject{{u"id"_s, u"a"_s}, {u"state"_s, u"failed"_s}}); // the follow's result, late
    QCOMPARE(ended.size(), 1);
    QCOMPARE(updated.size(), 4);
    QVERIFY(follower.allEnded());
    QVERIFY(follower.followRequests().isEmpty());
    QCOMPARE(follower.state(u"a"_s), u"failed"_s);
}

void tst_StepFollower::aStepThatCannotBeFollowedCountsAsEnded()
{
    StepFollower follower;
    follower.follow(u"a"_s);
    follower.follow(u"gone"_s);
    follower.abandon(u"gone"_s);
    QVERIFY(!follower.allEnded());
    QCOMPARE(follower.followRequests().size(), 1);
    follower.handleFrame(stepFrame(u"a"_s, u"succeeded"_s));
    QVERIFY(follower.allEnded());
    // An empty or unknown state is not an end.
    StepFollower other;
    other.follow(u"c"_s);
    other.handleFrame(stepFrame(u"c"_s, QString()));
    other.handleFrame(stepFrame(u"c"_s, u"exploded"_s));
    QVERIFY(!other.isEnded(u"c"_s));
}

QTEST_GUILESS_MAIN(tst_StepFollower)
#include "tst_stepfollower.moc"
