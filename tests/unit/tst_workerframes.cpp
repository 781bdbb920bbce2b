// The worker frames' codec (protocol/workerframes.h), shared by the orchestrator, the worker agent
// and the bench's simulated worker: every frame comes back from its own encoding, and decoding
// applies the field rules docs/protocol.md states, whatever a peer sends (hostile values included).
#include "testsupport.h"

#include "protocol/protocol.h"
#include "protocol/workerframes.h"

#include <QJsonArray>
#include <QRegularExpression>
#include <QTest>

#include <limits>

using namespace Qt::StringLiterals;
using namespace Swamp;

class tst_WorkerFrames : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init() { QTest::failOnWarning(QRegularExpression(u".*"_s)); }
    void everyFrameDecodesToItself();
    void encodedFramesAreOneJsonObjectOfTheirType();
    void exitCodeOnlyWithExited_data();
    void exitCodeOnlyWithExited();
    void unknownOutcomeAndStreamAreKeptApart();
    void errorKeepsItsFirstThousandCharacters();
    void reconnectWindowBounded_data();
    void reconnectWindowBounded();
    void wrongTypesReadAsDefaults();

private:
    static QJsonObject parsed(const QByteArray &encoded)
    {
        auto frame = Protocol::decodeFrame(QString::fromUtf8(encoded), Protocol::MaxWorkerFrameBytes);
        return frame ? *frame : QJsonObject();
    }
};

void tst_WorkerFrames::everyFrameDecodesToItself()
{
    const Protocol::Started started{u"lease-1"_s, 4242};
    const auto startedBack = Protocol::Started::decode(parsed(started.encode()));
    QCOMPARE(startedBack.leaseId, started.leaseId);
    QCOMPARE(startedBack.pid, started.pid);

    const Protocol::Output output{u"lease-1"_s, 7, Protocol::OutputStream::Stderr, u"h\u00e9 \U0001F600\n\"x\""_s};
    const auto outputBack = Protocol::Output::decode(parsed(output.encode()));
    QCOMPARE(outputBack.leaseId, output.leaseId);
    QCOMPARE(outputBack.seq, 7);
    QCOMPARE(outputBack.stream, Protocol::OutputStream::Stderr);
    QCOMPARE(outputBack.data, output.data);

    Protocol::Finished finished;
    finished.leaseId = u"lease-1"_s;
    finished.outcome = Protocol::Outcome::Exited;
    finished.exitCode = -3;
    finished.error = u"boom"_s;
    finished.lastSeq = 9;
    const auto finishedBack = Protocol::Finished::decode(parsed(finished.encode()));
    QCOMPARE(finishedBack.outcome, Protocol::Outcome::Exited);
    QCOMPARE(finishedBack.outcomeText, u"exited"_s);
    QCOMPARE(finishedBack.exitCode, std::optional<int>(-3));
    QCOMPARE(finishedBack.error, u"boom"_s);
    QCOMPARE(finishedBack.lastSeq, 9);

    Protocol::Enrolled enrolled;
    enrolled.id = u"3"_s;
    enrolled.workerId = u"w"_s;
    enrolled.workerName = u"pool-1"_s;
    enrolled.resumed = true;
    enrolled.labels = {{u"lang"_s, u"py"_s}};
    enrolled.orchestratorVersion = u"0.1.0"_s;
    enrolled.heartbeatIntervalMs = 100;
    enrolled.heartbeatTimeoutMs = 300;
    enrolled.reconnectGraceMs = 30000;
    enrolled.reconnectWindowMs = 4000;
    enrolled.tokenExpiresAt = u"2026-12-05T10:00:00.000Z"_s;
    enrolled.leases = {{u"lease-1"_s, 5}};
    enrolled.draining = true;
    const auto enrolledBack = Protocol::Enrolled::decode(parsed(enrolled.encode()));
    QCOMPARE(enrolledBack.id, enrolled.id);
    QCOMPARE(enrolledBack.workerName, enrolled.workerName);
    QCOMPARE(enrolledBack.resumed, true);
    QCOMPARE(enrolledBack.labels, enrolled.labels);
    QCOMPARE(enrolledBack.heartbeatIntervalMs, 100);
    QCOMPARE(enrolledBack.heartbeatTimeoutMs, 300);
    QCOMPARE(enrolledBack.reconnectGraceMs, 30000);
    QCOMPARE(enrolledBack.reconnectWindowMs, 4000);
    QCOMPARE(enrolledBack.tokenExpiresAt, enrolled.tokenExpiresAt);
    QCOMPARE(enrolledBack.leases, enrolled.leases);
    QCOMPARE(enrolledBack.draining, true);

    const Protocol::Dispatch dispatch{u"step"_s, u"lease"_s, 2, u"echo"_s, {u"echo"_s, u"a b"_s}, false,
                                      QJsonObject{{u"A"_s, u"1"_s}}, QJsonObject{{u"S"_s, u"secret"_s}}, 30000};
    const auto dispatchBack = Protocol::Dispatch::decode(parsed(dispatch.encode()));
    QCOMPARE(dispatchBack.stepId, dispatch.stepId);
    QCOMPARE(dispatchBack.leaseId, dispatch.leaseId);
    QCOMPARE(dispatchBack.attempt, 2);
    QCOMPARE(dispatchBack.command, dispatch.command);
    QCOMPARE(dispatchBack.env, dispatch.env);
    QCOMPARE(dispatchBack.secretEnv, dispatch.secretEnv);
    QCOMPARE(dispatchBack.timeoutMs, 30000);

    const auto drainBack = Protocol::Drain::decode(parsed(Protocol::Drain{u"r"_s, u"operator"_s, 500}.encode()));
    QCOMPARE(drainBack.reason, u"r"_s);
    QCOMPARE(drainBack.code, u"operator"_s);
    QCOMPARE(drainBack.deadlineMs, 500);
    QCOMPARE(Protocol::Cancel::decode(parsed(Protocol::Cancel{u"l"_s, u"why"_s}.encode())).reason, u"why"_s);
    QCOMPARE(Protocol::Refused::decode(parsed(Protocol::Refused{u"l"_s, u"no"_s}.encode())).leaseId, u"l"_s);
    QCOMPARE(Protocol::Rejected::decode(parsed(Protocol::Rejected{u"l"_s, u"busy"_s}.encode())).reason, u"busy"_s);
    QCOMPARE(Protocol::Ack::decode(parsed(Protocol::Ack{u"l"_s}.encode())).leaseId, u"l"_s);
    QCOMPARE(Protocol::Stop::decode(parsed(Protocol::Stop{u"done"_s}.encode())).reason, u"done"_s);
    QCOMPARE(Protocol::Goodbye::decode(parsed(Protocol::Goodbye{u"bye"_s}.encode())).reason, u"bye"_s);
    QCOMPARE(Protocol::SelfDrain::decode(parsed(Protocol::SelfDrain{u"sig"_s}.encode())).reason, u"sig"_s);
    QCOMPARE(Protocol::Shutdown::decode(parsed(Protocol::Shutdown{u"s"_s, 10000}.encode())).reconnectWindowMs, 10000);
    QCOMPARE(Protocol::Window::decode(parsed(Protocol::Window{8000}.encode())).reconnectWindowMs, 8000);
}

void tst_WorkerFrames::encodedFramesAreOneJsonObjectOfTheirType()
{
    const QList<std::pair<QByteArray, QString>> frames{
        {Protocol::Started{u"l"_s, 1}.encode(), Protocol::Type::Started},
        {Protocol::Output{u"l"_s, 1, Protocol::OutputStream::Stdout, u"x"_s}.encode(), Protocol::Type::Output},
        {Protocol::Finished{}.encode(), Protocol::Type::Finished},
        {Protocol::Rejected{}.encode(), Protocol::Type::Rejected},
        {Protocol::SelfDrain{}.encode(), Protocol::Type::Drain},
        {Protocol::Goodbye{}.encode(), Protocol::Type::Goodbye},
        {Protocol::Enrolled{}.encode(), Protocol::Type::Enrolled},
        {Protocol::Dispatch{}.encode(), Protocol::Type::Dispatch},
        {Protocol::Cancel{}.encode(), Protocol::Type::Cancel},
        {Protocol::Drain{}.encode(), Protocol::Type::Drain},
        {Protocol::Undrain{}.encode(), Protocol::Type::Undrain},
        {Protocol::Stop{}.encode(), Protocol::Type::Stop},
        {Protocol::Shutdown{}.encode(), Protocol::Type::Shutdown},
        {Protocol::Window{}.encode(), Protocol::Type::Window},
        {Protocol::Ack{}.encode(), Protocol::Type::Ack},
        {Protocol::Refused{}.encode(), Protocol::Type::Refused},
    };
    for (const auto &[encoded, type] : frames) {
        const QJsonObject frame = parsed(encoded);
        QVERIFY2(!frame.isEmpty(), encoded.constData());
        QCOMPARE(frame.value(u"type"_s).toString(), type);
    }
    // A finished frame without an exit code says so with null, as the doc's table has it.
    QVERIFY(parsed(Protocol::Finished{}.encode()).value(u"exitCode"_s).isNull());
}

void tst_WorkerFrames::exitCodeOnlyWithExited_data()
{
    QTest::addColumn<QString>("outcome");
    QTest::addColumn<QJsonValue>("exitCode");
    QTest::addColumn<std::optional<int>>("expected");
    QTest::newRow("exited-0") << u"exited"_s << QJsonValue(0) << std::optional<int>(0);
    QTest::newRow("exited-negative") << u"exited"_s << QJsonValue(-1) << std::optional<int>(-1);
    QTest::newRow("exited-int-max") << u"exited"_s << QJsonValue(double(std::numeric_limits<int>::max()))
                                    << std::optional<int>(std::numeric_limits<int>::max());
    QTest::newRow("exited-over-int") << u"exited"_s << QJsonValue(4294967296.0) << std::optional<int>();
    QTest::newRow("exited-fraction") << u"exited"_s << QJsonValue(1.5) << std::optional<int>();
    QTest::newRow("exited-string") << u"exited"_s << QJsonValue(u"0"_s) << std::optional<int>();
    QTest::newRow("exited-null") << u"exited"_s << QJsonValue(QJsonValue::Null) << std::optional<int>();
    QTest::newRow("exited-missing") << u"exited"_s << QJsonValue(QJsonValue::Undefined) << std::optional<int>();
    QTest::newRow("timed-out-with-code") << u"timed_out"_s << QJsonValue(3) << std::optional<int>();
    QTest::newRow("crashed-with-code") << u"crashed"_s << QJsonValue(9) << std::optional<int>();
    QTest::newRow("unknown-with-code") << u"exploded"_s << QJsonValue(0) << std::optional<int>();
}

void tst_WorkerFrames::exitCodeOnlyWithExited()
{
    QFETCH(QString, outcome);
    QFETCH(QJsonValue, exitCode);
    QFETCH(std::optional<int>, expected);
    QJsonObject frame{{u"type"_s, u"finished"_s}, {u"leaseId"_s, u"l"_s}, {u"outcome"_s, outcome}};
    if (!exitCode.isUndefined())
        frame.insert(u"exitCode"_s, exitCode);
    QCOMPARE(Protocol::Finished::decode(frame).exitCode, expected);
}

void tst_WorkerFrames::unknownOutcomeAndStreamAreKeptApart()
{
    const auto finished = Protocol::Finished::decode({{u"type"_s, u"finished"_s}, {u"outcome"_s, u"exploded"_s}});
    QCOMPARE(finished.outcome, Protocol::Outcome::Unknown);
    QCOMPARE(finished.outcomeText, u"exploded"_s); // for the log line that names it
    for (const QJsonValue &stream : {QJsonValue(u"stdin"_s), QJsonValue(u"STDOUT"_s), QJsonValue(1), QJsonValue()}) {
        const auto output = Protocol::Output::decode({{u"type"_s, u"output"_s}, {u"seq"_s, 1}, {u"stream"_s, stream}});
        QCOMPARE(output.stream, Protocol::OutputStream::Unknown);
    }
    QCOMPARE(Protocol::outcomeFromName(u"failed_to_start"_s), Protocol::Outcome::FailedToStart);
    QCOMPARE(Protocol::outcomeName(Protocol::Outcome::Crashed), u"crashed"_s);
    QVERIFY(Protocol::outcomeName(Protocol::Outcome::Unknown).isEmpty());
}

void tst_WorkerFrames::errorKeepsItsFirstThousandCharacters()
{
    // Characters are code points: 1001 emoji are 2002 UTF-16 units, and none is cut in half.
    const QString emoji = u"\U0001F600"_s;
    const auto finished = Protocol::Finished::decode(
        {{u"type"_s, u"finished"_s}, {u"outcome"_s, u"crashed"_s}, {u"error"_s, emoji.repeated(1001)}});
    QCOMPARE(finished.error, emoji.repeated(int(Protocol::MaxFinishedErrorLength)));
}

void tst_WorkerFrames::reconnectWindowBounded_data()
{
    QTest::addColumn<QJsonValue>("sent");
    QTest::addColumn<qint64>("expected");
    QTest::newRow("in-bounds") << QJsonValue(4000) << qint64(4000);
    QTest::newRow("negative") << QJsonValue(-5) << qint64(0);
    QTest::newRow("huge") << QJsonValue(1e12) << Protocol::MaxReconnectWindowMs;
    QTest::newRow("string") << QJsonValue(u"4000"_s) << qint64(0);
    QTest::newRow("missing") << QJsonValue(QJsonValue::Undefined) << qint64(0);
}

void tst_WorkerFrames::reconnectWindowBounded()
{
    QFETCH(QJsonValue, sent);
    QFETCH(qint64, expected);
    QJsonObject frame{{u"type"_s, u"window"_s}};
    if (!sent.isUndefined())
        frame.insert(u"reconnectWindowMs"_s, sent);
    QCOMPARE(Protocol::Window::decode(frame).reconnectWindowMs, expected);
    frame.insert(u"type"_s, u"shutdown"_s);
    QCOMPARE(Protocol::Shutdown::decode(frame).reconnectWindowMs, expected);
    frame.insert(u"type"_s, u"enrolled"_s);
    QCOMPARE(Protocol::Enrolled::decode(frame).reconnectWindowMs, expected);
}

void tst_WorkerFrames::wrongTypesReadAsDefaults()
{
    // What a field of the wrong type means is the receiver's rule: here it only reads as absent.
    const QJsonObject hostile{{u"type"_s, u"x"_s},           {u"leaseId"_s, 42},
                              {u"seq"_s, u"1"_s},            {u"data"_s, QJsonArray{1}},
                              {u"reason"_s, QJsonValue()},   {u"pid"_s, u"1"_s},
                              {u"command"_s, u"rm -rf /"_s}, {u"env"_s, QJsonArray{u"A=1"_s}},
                              {u"timeoutMs"_s, 1.5},         {u"attempt"_s, u"2"_s}};
    const auto output = Protocol::Output::decode(hostile);
    QVERIFY(output.leaseId.isEmpty());
    QCOMPARE(output.seq, -1);
    QVERIFY(output.data.isEmpty());
    QCOMPARE(Protocol::Started::decode(hostile).pid, 0);
    QCOMPARE(Protocol::Rejected::decode(hostile).reason, u"worker declined the step"_s);
    QCOMPARE(Protocol::Goodbye::decode(hostile).reason, u"worker stopped"_s);
    QCOMPARE(Protocol::SelfDrain::decode(hostile).reason, u"the worker is draining"_s);
    QCOMPARE(Protocol::Stop::decode(hostile).reason, u"told to stop"_s);
    const auto dispatch = Protocol::Dispatch::decode(hostile);
    QVERIFY(dispatch.command.isEmpty()); // a string is not argv: nothing to run
    QVERIFY(dispatch.env.isEmpty());
    QCOMPARE(dispatch.attempt, 0);
    QCOMPARE(dispatch.timeoutMs, 0);
}

QTEST_GUILESS_MAIN(tst_WorkerFrames)
#include "tst_workerframes.moc"
