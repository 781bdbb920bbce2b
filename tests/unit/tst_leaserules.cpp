// The lease rules of SPEC §5 (model/leaserules.h), pure functions the scheduler applies: what a
// `finished` result makes of a lease and its step, and what a step becomes when its lease ends
// without one. tst_scheduler checks that the scheduler applies them; the process tests
// (tst_steps, tst_soak) that the whole system does.
#include "testsupport.h"

#include "model/leaserules.h"

#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp;

class tst_LeaseRules : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init() { QTest::failOnWarning(QRegularExpression(u".*"_s)); }
    void resultOfFinished_data();
    void resultOfFinished();
    void outcomeNamesRoundTrip();
    void stepAfterLeaseEnded_data();
    void stepAfterLeaseEnded();
    void requeueForgetsTheWorker();
    void terminalStepUntouched();
    void attemptsGivenBackNeededOnlyAtTheLimit();

private:
    static StepRecord dispatchedStep(int attempt, int maxAttempts)
    {
        StepRecord step;
        step.id = u"step-1"_s;
        step.state = StepState::Running;
        step.attempt = attempt;
        step.spec.maxAttempts = maxAttempts;
        step.workerId = u"worker-1"_s;
        step.workerName = u"pool-1"_s;
        return step;
    }
};

void tst_LeaseRules::resultOfFinished_data()
{
    QTest::addColumn<StepOutcome>("outcome");
    QTest::addColumn<std::optional<int>>("exitCode");
    QTest::addColumn<QString>("workerError");
    QTest::addColumn<LeaseState>("lease");
    QTest::addColumn<StepState>("step");
    QTest::addColumn<QString>("error");
    const std::optional<int> none;
    QTest::newRow("exited-0") << StepOutcome::Exited << std::optional<int>(0) << QString()
                              << LeaseState::Completed << StepState::Succeeded << QString();
    QTest::newRow("exited-3") << StepOutcome::Exited << std::optional<int>(3) << u"ignored"_s
                              << LeaseState::Completed << StepState::Failed << u"exited with code 3"_s;
    QTest::newRow("exited-without-code") << StepOutcome::Exited << none << QString() << LeaseState::Failed
                                         << StepState::Failed
                                         << u"the worker reported an exit without an exit code"_s;
    QTest::newRow("exited-without-code-with-error") << StepOutcome::Exited << none << u"lost it"_s
                                                    << LeaseState::Failed << StepState::Failed << u"lost it"_s;
    QTest::newRow("timed-out") << StepOutcome::TimedOut << none << QString() << LeaseState::Failed
                               << StepState::TimedOut << u"timed out after 90s"_s;
    QTest::newRow("cancelled") << StepOutcome::Cancelled << none << u"killed"_s << LeaseState::Cancelled
                               << StepState::Cancelled << u"cancelled"_s;
    QTest::newRow("failed-to-start") << StepOutcome::FailedToStart << none
                                     << u"cannot start '/nonexistent': execve: No such file or directory"_s
                                     << LeaseState::Failed << StepState::Failed
                                     << u"cannot start '/nonexistent': execve: No such file or directory"_s;
    QTest::newRow("crashed-without-error") << StepOutcome::Crashed << none << QString() << LeaseState::Failed
                                           << StepState::Failed << u"the step failed without an exit code"_s;
    QTest::newRow("unknown-like-failed-to-start") << StepOutcome::Unknown << none << u"?"_s
                                                  << LeaseState::Failed << StepState::Failed << u"?"_s;
}

void tst_LeaseRules::resultOfFinished()
{
    QFETCH(StepOutcome, outcome);
    QFETCH(std::optional<int>, exitCode);
    QFETCH(QString, workerError);
    QFETCH(LeaseState, lease);
    QFETCH(StepState, step);
    QFETCH(QString, error);
    const LeaseResult result = leaseResultOf(outcome, exitCode, workerError, 90000);
    QCOMPARE(leaseStateName(result.lease), leaseStateName(lease));
    QCOMPARE(stepStateName(result.step), stepStateName(step));
    QCOMPARE(result.error, error);
}

void tst_LeaseRules::outcomeNamesRoundTrip()
{
    for (const StepOutcome outcome : {StepOutcome::Exited, StepOutcome::TimedOut, StepOutcome::Cancelled,
                                      StepOutcome::FailedToStart, StepOutcome::Crashed})
        QCOMPARE(stepOutcomeFromName(stepOutcomeName(outcome)), outcome);
    QCOMPARE(stepOutcomeName(StepOutcome::FailedToStart), u"failed_to_start"_s);
    QCOMPARE(stepOutcomeFromName(u"EXITED"_s), StepOutcome::Unknown);
    QCOMPARE(stepOutcomeFromName(QString()), StepOutcome::Unknown);
}

void tst_LeaseRules::stepAfterLeaseEnded_data()
{
    QTest::addColumn<int>("attempt");
    QTest::addColumn<int>("maxAttempts");
    QTest::addColumn<bool>("cancelRequested");
    QTest::addColumn<bool>("atMostOnce");
    QTest::addColumn<bool>("leaseStarted");
    QTest::addColumn<bool>("countAttempt");
    QTest::addColumn<int>("givenBack");
    QTest::addColumn<StepState>("state");
    QTest::addColumn<QString>("error");
    QTest::newRow("lost-with-attempts-left") << 1 << 3 << false << false << true << true << 0
                                             << StepState::Queued << QString();
    QTest::newRow("lost-on-the-last-attempt") << 3 << 3 << false << false << true << true << 0 << StepState::Failed
                                              << u"worker lost; attempts exhausted (3/3)"_s;
    QTest::newRow("last-attempt-but-one-given-back") << 3 << 3 << false << false << true << true << 1
                                                     << StepState::Queued << QString();
    QTest::newRow("given-back-lease-uses-none-up") << 3 << 3 << false << false << true << false << 0
                                                   << StepState::Queued << QString();
    QTest::newRow("cancel-requested-wins") << 1 << 3 << true << true << true << true << 0
                                           << StepState::Cancelled << u"cancelled"_s;
    QTest::newRow("at-most-once-after-start") << 1 << 3 << false << true << true << false << 0
                                              << StepState::Failed << u"worker lost after the step started"_s;
    QTest::newRow("at-most-once-before-start") << 1 << 3 << false << true << false << true << 0
                                               << StepState::Queued << QString();
}

void tst_LeaseRules::stepAfterLeaseEnded()
{
    QFETCH(int, attempt);
    QFETCH(int, maxAttempts);
    QFETCH(bool, cancelRequested);
    QFETCH(bool, atMostOnce);
    QFETCH(bool, leaseStarted);
    QFETCH(bool, countAttempt);
    QFETCH(int, givenBack);
    QFETCH(StepState, state);
    QFETCH(QString, error);
    StepRecord step = dispatchedStep(attempt, maxAttempts);
    step.cancelRequested = cancelRequested;
    step.spec.atMostOnce = atMostOnce;
    const QDateTime now = QDateTime::fromMSecsSinceEpoch(1764900000000, Qt::UTC);
    const StepRecord after = Swamp::stepAfterLeaseEnded(step, leaseStarted, u"worker lost"_s, countAttempt,
                                                        givenBack, now);
    QCOMPARE(stepStateName(after.state), stepStateName(state));
    QCOMPARE(after.error, error);
    QCOMPARE(after.updatedAt, now);
    QCOMPARE(after.finishedAt.isValid(), isTerminal(state));
    QCOMPARE(after.attempt, attempt); // an attempt is counted at dispatch, never here
}

void tst_LeaseRules::requeueForgetsTheWorker()
{
    const QDateTime now = QDateTime::currentDateTimeUtc();
    const StepRecord after = Swamp::stepAfterLeaseEnded(dispatchedStep(1, 3), true, u"worker lost"_s, true, 0, now);
    QCOMPARE(after.state, StepState::Queued);
    QVERIFY(after.workerId.isEmpty());
    QVERIFY(after.workerName.isEmpty());
    QCOMPARE(after.queuedAt, now);
}

void tst_LeaseRules::terminalStepUntouched()
{
    StepRecord step = dispatchedStep(1, 3);
    step.state = StepState::Succeeded;
    step.error = u"kept"_s;
    const StepRecord after =
        Swamp::stepAfterLeaseEnded(step, true, u"worker lost"_s, true, 0, QDateTime::currentDateTimeUtc());
    QCOMPARE(after.state, StepState::Succeeded);
    QCOMPARE(after.error, u"kept"_s);
    QVERIFY(!after.updatedAt.isValid());
}

void tst_LeaseRules::attemptsGivenBackNeededOnlyAtTheLimit()
{
    QVERIFY(!needsAttemptsGivenBack(dispatchedStep(2, 3), true));
    QVERIFY(needsAttemptsGivenBack(dispatchedStep(3, 3), true));
    QVERIFY(needsAttemptsGivenBack(dispatchedStep(5, 3), true));
    QVERIFY(!needsAttemptsGivenBack(dispatchedStep(3, 3), false));
}

QTEST_GUILESS_MAIN(tst_LeaseRules)
#include "tst_leaserules.moc"
