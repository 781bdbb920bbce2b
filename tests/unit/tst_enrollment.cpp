// Enrollment (server/enrollment.h) in-process: a real store (SQLite in a temporary dir) with real
// tokens, the event log, the sessions and the scheduler, and connections on a FakePeerSocket that
// keeps what they are sent. The SPEC §4 checks in their order, each refusal's code and close, the
// throttle a stranger meets and a correct secret never does, the request id echoed only when it is
// one, a process resuming its session, the ghost-session rule both ways, and the deadline for the
// first frame. tst_enrollment_failures and tst_hostile_peers drive the same through real processes.
#include "fakepeersocket.h"
#include "serverfixture.h"
#include "testsupport.h"

#include "model/errorcodes.h"
#include "protocol/enrollrequest.h"
#include "protocol/protocol.h"
#include "server/enrollment.h"
#include "server/eventlog.h"
#include "server/fleet.h"
#include "server/metrics.h"
#include "server/scheduler.h"
#include "server/sessions.h"
#include "server/transport/connections.h"
#include "store/store.h"
#include "version/version.h"

#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>
#include <QUuid>

using namespace Qt::StringLiterals;
using namespace Swamp;

namespace {

struct Peer
{
    FakePeerSocket *socket = nullptr; // owned by the connection
    WorkerConnection *connection = nullptr;
};

} // namespace

class tst_Enrollment : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void aValidEnrollIsAdmittedAndTold();
    void refusalsInTheirOrder_data();
    void refusalsInTheirOrder();
    void theRequestIdIsEchoedOnlyWhenItIsOne();
    void aStrangerIsThrottledButACorrectSecretIsNot();
    void theSameProcessResumesItsSession();
    void aLiveMachineThatAnswersKeepsItsSession();
    void aSilentMachineIsReplacedByItsNewProcess();
    void anotherKeyForABoundMachineIsRefused();
    void aTokenForOneMachineRefusesASecond();
    void aConnectionThatDoesNotEnrollIsClosed();

private:
    // A token in the store; its text ("<name>.<secret>").
    QString addToken(const QString &name, int maxEnrollments = 0, qint64 lifetimeMs = 3600000);
    Peer connect(const QString &address = u"127.0.0.1"_s);
    Protocol::EnrollRequest request(const QString &token, const QString &machineId = {},
                                    const QString &instanceId = {});
    void enroll(const Peer &peer, const Protocol::EnrollRequest &request);
    // The one error frame `peer` got, checked to be followed by close 4001 with its code.
    QJsonObject refusal(const Peer &peer);

    static constexpr qint64 GhostProbeMs = 100;
    ServerParts m_parts;
    std::unique_ptr<Metrics> m_metrics;
    std::unique_ptr<Fleet> m_fleet;
    std::unique_ptr<Enrollment> m_enrollment;
    std::vector<std::unique_ptr<WorkerConnection>> m_connections;
    QString m_machineId = QUuid::createUuid().toString(QUuid::WithoutBraces);
    QString m_machineKey = QString(64, u'a');
};

void tst_Enrollment::init()
{
    QVERIFY(m_parts.open());
    m_metrics = std::make_unique<Metrics>();
    m_fleet = std::make_unique<Fleet>(m_parts.store.get(), 5000, 15000);
    m_enrollment = std::make_unique<Enrollment>(Enrollment::Settings{5000, 15000, 30000, GhostProbeMs},
                                                m_parts.store.get(), m_parts.events.get(), m_parts.sessions.get(),
                                                m_parts.scheduler.get(), m_metrics.get(), m_fleet.get());
    m_enrollment->setOrchestratorUrl(u"ws://127.0.0.1:9090"_s);
}

void tst_Enrollment::cleanup()
{
    m_connections.clear();
    m_enrollment.reset();
    m_fleet.reset();
    m_metrics.reset();
    m_parts.close();
}

QString tst_Enrollment::addToken(const QString &name, int maxEnrollments, qint64 lifetimeMs)
{
    const TokenText text = mintToken(name);
    const QDateTime now = QDateTime::currentDateTimeUtc();
    TokenRecord token;
    token.id = QUuid::createUuid().toString(QUuid::WithoutBraces);
    token.name = name;
    token.secretHash = hashSecret(text.secret);
    token.createdAt = token.updatedAt = now.addMSecs(std::min<qint64>(0, lifetimeMs) - 1000);
    token.expiresAt = now.addMSecs(lifetimeMs);
    token.maxEnrollments = maxEnrollments;
    if (!m_parts.store->insertToken(token))
        qWarning() << "could not insert token" << name;
    return text.name + u'.' + text.secret;
}

Peer tst_Enrollment::connect(const QString &address)
{
    Peer peer;
    peer.socket = new FakePeerSocket(address);
    m_connections.push_back(
        std::make_unique<WorkerConnection>(peer.socket, Protocol::MaxUnauthenticatedFrameBytes));
    peer.connection = m_connections.back().get();
    return peer;
}

Protocol::EnrollRequest tst_Enrollment::request(const QString &token, const QString &machineId,
                                                const QString &instanceId)
{
    Protocol::EnrollRequest request;
    request.id = u"1"_s;
    request.protocol = Swamp::protocolVersion();
    request.version = Swamp::version();
    request.token = token;
    request.machineId = machineId.isEmpty() ? m_machineId : machineId;
    request.machineKey = m_machineKey;
    request.instanceId = instanceId.isEmpty() ? QUuid::createUuid().toString(QUuid::WithoutBraces) : instanceId;
    request.hostname = u"host"_s;
    request.platform = u"linux"_s;
    request.arch = u"x86_64"_s;
    request.capacity = 2;
    return request;
}

void tst_Enrollment::enroll(const Peer &peer, const Protocol::EnrollRequest &request)
{
    m_enrollment->handleEnroll(peer.connection, request.toJson());
}

QJsonObject tst_Enrollment::refusal(const Peer &peer)
{
    const QList<QJsonObject> errors = peer.socket->sentOfType(u"error"_s);
    if (errors.size() != 1 || !peer.socket->sentOfType(u"enrolled"_s).isEmpty())
        return {};
    if (peer.socket->isOpen() || peer.socket->closeCode() != Protocol::CloseEnrollmentFailed
        || peer.socket->closeReason != errors.first().value(u"code"_s).toString()) {
        return {};
    }
    return errors.first();
}

void tst_Enrollment::aValidEnrollIsAdmittedAndTold()
{
    const QString token = addToken(u"pool"_s);
    const Peer peer = connect();
    auto sent = request(token);
    sent.labels = {{u"lang"_s, u"py"_s}};
    enroll(peer, sent);
    const QList<QJsonObject> enrolled = peer.socket->sentOfType(u"enrolled"_s);
    QCOMPARE(enrolled.size(), 1);
    QCOMPARE(enrolled.first().value(u"id"_s).toString(), u"1"_s);
    QCOMPARE(enrolled.first().value(u"resumed"_s).toBool(), false);
    QCOMPARE(enrolled.first().value(u"labels"_s).toObject().value(u"lang"_s).toString(), u"py"_s);
    QCOMPARE(enrolled.first().value(u"heartbeatIntervalMs"_s).toInteger(), 5000);
    QVERIFY(peer.socket->isOpen());
    QVERIFY(peer.connection->isAuthenticated());
    WorkerSession *session = m_parts.sessions->pool().find(peer.connection->workerId);
    QVERIFY(session);
    QCOMPARE(session->connection.data(), peer.connection);
    QCOMPARE(session->record.orchestrator, u"ws://127.0.0.1:9090"_s);
    auto stored = m_parts.store->workerByMachine(m_machineId, u"pool"_s);
    QVERIFY(stored && *stored);
    QCOMPARE((*stored)->name, enrolled.first().value(u"workerName"_s).toString());
}

void tst_Enrollment::refusalsInTheirOrder_data()
{
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("code");
    QTest::newRow("another-version") << u"version"_s << u"protocol_mismatch"_s;
    QTest::newRow("a-field-missing") << u"shape"_s << u"invalid_enroll"_s;
    QTest::newRow("no-such-token") << u"unknown"_s << u"token_not_found"_s;
    QTest::newRow("a-wrong-secret") << u"secret"_s << u"token_mismatch"_s;
    QTest::newRow("revoked-before-the-secret") << u"revoked"_s << u"token_revoked"_s;
    QTest::newRow("expired-before-the-secret") << u"expired"_s << u"token_expired"_s;
}

void tst_Enrollment::refusalsInTheirOrder()
{
    QFETCH(QString, kind);
    QFETCH(QString, code);
    const QString token = addToken(u"pool"_s, 0, kind == u"expired" ? -1000 : 3600000);
    const QString wrongSecret = u"pool."_s + QString(64, u'0');
    if (kind == u"revoked") {
        auto tokens = m_parts.store->tokensNamed(u"pool"_s);
        QVERIFY(tokens && tokens->size() == 1);
        QVERIFY(m_parts.store->revokeToken(tokens->first().id, QDateTime::currentDateTimeUtc(), u"test"_s));
    }
    const Peer peer = connect();
    Protocol::EnrollRequest sent = request(kind == u"secret" || kind == u"revoked" || kind == u"expired"
                                               ? wrongSecret
                                               : kind == u"unknown" ? u"nobody."_s + QString(64, u'0') : token);
    QJsonObject frame = sent.toJson();
    if (kind == u"version")
        frame.insert(u"version"_s, u"0.0.1"_s);
    if (kind == u"shape")
        frame.remove(u"hostname"_s);
    m_enrollment->handleEnroll(peer.connection, frame);
    const QJsonObject error = refusal(peer);
    QCOMPARE(error.value(u"code"_s).toString(), code);
    QCOMPARE(error.value(u"id"_s).toString(), u"1"_s);
    QVERIFY(m_parts.sessions->pool().size() == 0);
    if (kind == u"version") {
        QCOMPARE(error.value(u"details"_s).toObject().value(u"orchestratorVersion"_s).toString(), Swamp::version());
        QCOMPARE(error.value(u"details"_s).toObject().value(u"protocol"_s).toInt(), Swamp::protocolVersion());
    }
    // Never the secret, in the error or the event it leaves.
    QVERIFY(!QJsonDocument(error).toJson().contains(token.section(u'.', 1).toUtf8()));
    for (const Event &event : m_parts.events->since(0, 100))
        QVERIFY(!event.message.contains(token.section(u'.', 1)));
}

void tst_Enrollment::theRequestIdIsEchoedOnlyWhenItIsOne()
{
    const QString token = addToken(u"pool"_s);
    for (const QJsonValue &id : {QJsonValue(7), QJsonValue(u""_s), QJsonValue(QString(80, u'x')),
                                 QJsonValue(u"a\nb"_s)}) {
        const Peer peer = connect();
        QJsonObject frame = request(token).toJson();
        frame.insert(u"id"_s, id);
        m_enrollment->handleEnroll(peer.connection, frame);
        const QJsonObject error = refusal(peer);
        QCOMPARE(error.value(u"code"_s).toString(), u"invalid_enroll"_s);
        QVERIFY2(!error.contains(u"id"_s), QJsonDocument(error).toJson().constData());
    }
}

void tst_Enrollment::aStrangerIsThrottledButACorrectSecretIsNot()
{
    const QString token = addToken(u"pool"_s);
    const QString wrong = u"pool."_s + QString(64, u'0');
    const QString stranger = u"127.0.0.9"_s;
    for (int i = 0; i < 10; ++i) {
        const Peer peer = connect(stranger);
        enroll(peer, request(wrong));
        QCOMPARE(refusal(peer).value(u"code"_s).toString(), u"token_mismatch"_s);
    }
    const Peer limited = connect(stranger);
    enroll(limited, request(wrong));
    QCOMPARE(refusal(limited).value(u"code"_s).toString(), u"rate_limited"_s);
    const Peer other = connect(u"127.0.0.10"_s); // another address is not held back
    enroll(other, request(wrong));
    QCOMPARE(refusal(other).value(u"code"_s).toString(), u"token_mismatch"_s);
    const Peer correct = connect(stranger); // the right secret from the throttled address
    enroll(correct, request(token));
    QCOMPARE(correct.socket->sentOfType(u"enrolled"_s).size(), 1);
}

void tst_Enrollment::theSameProcessResumesItsSession()
{
    const QString token = addToken(u"pool"_s);
    const Peer first = connect();
    const auto sent = request(token, {}, u"instance-1"_s);
    enroll(first, sent);
    QCOMPARE(first.socket->sentOfType(u"enrolled"_s).size(), 1);
    const QString workerId = first.connection->workerId;
    const Peer again = connect();
    enroll(again, sent);
    const QList<QJsonObject> enrolled = again.socket->sentOfType(u"enrolled"_s);
    QCOMPARE(enrolled.size(), 1);
    QCOMPARE(enrolled.first().value(u"resumed"_s).toBool(), true);
    QCOMPARE(enrolled.first().value(u"workerId"_s).toString(), workerId);
    QCOMPARE(first.socket->closeCode(), int(Protocol::CloseReplaced)); // the older connection goes
    QCOMPARE(m_parts.sessions->pool().size(), 1);
}

void tst_Enrollment::aLiveMachineThatAnswersKeepsItsSession()
{
    const QString token = addToken(u"pool"_s);
    const Peer first = connect();
    enroll(first, request(token));
    QCOMPARE(first.socket->sentOfType(u"enrolled"_s).size(), 1);
    const Peer second = connect();
    enroll(second, request(token)); // the same machine, another process
    QCOMPARE(first.socket->pings, 1);
    QVERIFY(second.socket->sent.isEmpty()); // undecided until the old one answers or not
    first.socket->pong();
    QCOMPARE(refusal(second).value(u"code"_s).toString(), u"already_connected"_s);
    QVERIFY(first.socket->isOpen());
}

void tst_Enrollment::aSilentMachineIsReplacedByItsNewProcess()
{
    const QString token = addToken(u"pool"_s);
    const Peer first = connect();
    enroll(first, request(token));
    const Peer second = connect();
    enroll(second, request(token));
    QTRY_COMPARE(second.socket->sentOfType(u"enrolled"_s).size(), 1); // after the probe, unanswered
    QCOMPARE(first.socket->closeCode(), int(Protocol::CloseReplaced));
    QCOMPARE(m_parts.sessions->pool().size(), 1);
}

void tst_Enrollment::anotherKeyForABoundMachineIsRefused()
{
    const QString token = addToken(u"pool"_s);
    const Peer first = connect();
    enroll(first, request(token));
    QCOMPARE(first.socket->sentOfType(u"enrolled"_s).size(), 1);
    m_parts.sessions->endSession(m_parts.sessions->pool().find(first.connection->workerId), WorkerStatus::Disconnected,
                           u"gone"_s);
    const Peer impostor = connect();
    auto sent = request(token);
    sent.machineKey = QString(64, u'b'); // the machine's id without its key
    enroll(impostor, sent);
    QCOMPARE(refusal(impostor).value(u"code"_s).toString(), u"machine_key_mismatch"_s);
}

void tst_Enrollment::aTokenForOneMachineRefusesASecond()
{
    const QString token = addToken(u"single"_s, 1);
    const Peer first = connect();
    enroll(first, request(token));
    QCOMPARE(first.socket->sentOfType(u"enrolled"_s).size(), 1);
    QCOMPARE(first.socket->sentOfType(u"enrolled"_s).first().value(u"workerName"_s).toString(), u"single"_s);
    const Peer other = connect();
    enroll(other, request(token, QUuid::createUuid().toString(QUuid::WithoutBraces)));
    QCOMPARE(refusal(other).value(u"code"_s).toString(), u"token_bound"_s);
}

void tst_Enrollment::aConnectionThatDoesNotEnrollIsClosed()
{
    const Peer silent = connect();
    m_enrollment->expect(silent.connection);
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    m_enrollment->closeOverdue(now + Enrollment::DeadlineMs - 1000);
    QVERIFY(silent.socket->isOpen());
    m_enrollment->closeOverdue(now + Enrollment::DeadlineMs + 1000);
    QCOMPARE(silent.socket->closeCode(), int(Protocol::CloseBadFrame));
    QCOMPARE(silent.socket->closeReason, u"no enroll frame within 15s"_s);

    const QString token = addToken(u"pool"_s);
    const Peer enrolled = connect();
    m_enrollment->expect(enrolled.connection);
    enroll(enrolled, request(token));
    m_enrollment->closeOverdue(now + 2 * Enrollment::DeadlineMs);
    QVERIFY(enrolled.socket->isOpen()); // enrolled in time: left alone
}

QTEST_GUILESS_MAIN(tst_Enrollment)
#include "tst_enrollment.moc"
