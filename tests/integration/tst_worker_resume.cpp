// What a worker sends again, and when (issue 20).
// - A worker that resumes its session gives back a lease it never received (the fleet soak found
//   steps waiting for ever on the lease of a `dispatch` lost with a dropped connection).
// - Asked with `resend` (the orchestrator's database refused what it sent), a connected worker
//   sends `started`, the output after the given chunk and `finished` again; a `resend` for a
//   lease it does not run, or a malformed one, changes nothing.
//
// A real orchestrator cannot be made to lose one frame in flight on demand, so the peer of the
// real `swamp worker connect` here plays that orchestrator, frame by frame as docs/protocol.md
// has them (with the codec of protocol/workerframes.h).

#include "swampharness.h"

#include "model/token.h"
#include "protocol/enrollrequest.h"
#include "protocol/workerframes.h"
#include "support/scriptedpeer.h"

#include <QRegularExpression>
#include <QTest>
#include <QWebSocket>
#include <QWebSocketServer>

#include <memory>

using namespace Qt::StringLiterals;
using namespace SwampTest;

class tst_WorkerResume : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void leaseNeverReceivedIsGivenBack();
    void resendSendsWhatFollowsTheStoredChunk();
};

namespace {

Swamp::Protocol::Enrolled enrolledFor(const QJsonObject &enroll, bool resumed, const QJsonObject &leases)
{
    Swamp::Protocol::Enrolled enrolled;
    enrolled.id = enroll.value(u"id"_s).toString();
    enrolled.workerId = u"0192d1a6-0000-7000-8000-000000000001"_s;
    enrolled.workerName = u"resume-test"_s;
    enrolled.resumed = resumed;
    enrolled.orchestratorVersion = enroll.value(u"version"_s).toString();
    enrolled.heartbeatIntervalMs = 5000;
    enrolled.heartbeatTimeoutMs = 15000;
    enrolled.reconnectGraceMs = 30000;
    enrolled.tokenExpiresAt = u"2099-01-01T00:00:00.000Z"_s;
    enrolled.leases = leases;
    return enrolled;
}

// The orchestrator's side of the wire, frame by frame: every connection the worker opens, with
// the frames it sent on it.
class ScriptedOrchestrator : public QObject
{
public:
    std::vector<std::unique_ptr<ScriptedPeer>> connections;

    bool listen()
    {
        if (!m_server.listen(QHostAddress::LocalHost, 0))
            return false;
        connect(&m_server, &QWebSocketServer::newConnection, this, [this] {
            while (QWebSocket *socket = m_server.nextPendingConnection())
                connections.push_back(std::make_unique<ScriptedPeer>(socket));
        });
        return true;
    }

    // A real `swamp worker connect` to this peer, enrolled on its first connection; null (with
    // the reason logged) when it does not get that far.
    Child *startWorker(Harness &harness)
    {
        const Swamp::TokenText token = Swamp::mintToken(u"resume"_s);
        Child *worker = harness.startWorker(token.name + u'.' + token.secret, harness.newCacheDir(), {},
                                            swampBinary(), u"ws://127.0.0.1:%1"_s.arg(m_server.serverPort()));
        const auto sentEnroll = [this] { return !connections.empty() && !connections[0]->frames.isEmpty(); };
        if (!QTest::qWaitFor([&] { return sentEnroll() || !worker->isRunning(); }, 30000) || !sentEnroll()) {
            qWarning("%s", qPrintable(worker->describe()));
            return nullptr;
        }
        const QJsonObject enroll = connections[0]->frames.first();
        if (enroll.value(u"type"_s).toString() != u"enroll"_s)
            return nullptr;
        send(0, enrolledFor(enroll, false, {}).encode());
        if (!QTest::qWaitFor([worker] { return worker->outContains(u"enrolled as resume-test"_s); }, 30000))
            return nullptr;
        return worker;
    }

    void send(size_t connection, const QByteArray &frame)
    {
        connections[connection]->sendText(QString::fromUtf8(frame));
    }

    // The frames of `type` for `leaseId` sent on the first connection from `from` on.
    QList<QJsonObject> framesOf(const QString &leaseId, const QString &type, qsizetype from = 0) const
    {
        QList<QJsonObject> found;
        const QList<QJsonObject> &frames = connections[0]->frames;
        for (qsizetype i = from; i < frames.size(); ++i) {
            if (frames[i].value(u"leaseId"_s).toString() == leaseId && frames[i].value(u"type"_s).toString() == type)
                found << frames[i];
        }
        return found;
    }

private:
    QWebSocketServer m_server{u"scripted orchestrator"_s, QWebSocketServer::NonSecureMode};
};

} // namespace

void tst_WorkerResume::leaseNeverReceivedIsGivenBack()
{
    ScriptedOrchestrator peer;
    QVERIFY(peer.listen());
    Harness harness;
    Child *worker = peer.startWorker(harness);
    QVERIFY(worker);
    auto &connections = peer.connections;
    const auto sentFirst = [&](size_t i) {
        return connections.size() > i && !connections[i]->frames.isEmpty();
    };
    const QJsonObject enroll = connections[0]->frames.first();

    // The connection drops (a `dispatch` sent on it is lost); the same process comes back.
    connections[0]->socket->abort();
    QTRY_VERIFY_WITH_TIMEOUT(sentFirst(1), 60000);
    const QJsonObject again = connections[1]->frames.first();
    QCOMPARE(again.value(u"instanceId"_s), enroll.value(u"instanceId"_s));
    const QString lost = u"0192d1a6-0000-7000-8000-0000000000aa"_s;
    peer.send(1, enrolledFor(again, true, {{lost, 0}}).encode());

    // The worker gives the lease back instead of leaving it held by nobody.
    QTRY_VERIFY_WITH_TIMEOUT(connections[1]->frames.size() >= 2, 30000);
    const QJsonObject answer = connections[1]->frames.at(1);
    QCOMPARE(answer.value(u"type"_s).toString(), u"rejected"_s);
    QCOMPARE(answer.value(u"leaseId"_s).toString(), lost);
    QVERIFY(worker->isRunning());
}

void tst_WorkerResume::resendSendsWhatFollowsTheStoredChunk()
{
    ScriptedOrchestrator peer;
    QVERIFY(peer.listen());
    Harness harness;
    Child *worker = peer.startWorker(harness);
    QVERIFY(worker);
    const QString leaseId = u"0192d1a6-0000-7000-8000-0000000000bb"_s;
    Swamp::Protocol::Dispatch dispatch;
    dispatch.stepId = u"0192d1a6-0000-7000-8000-0000000000cc"_s;
    dispatch.leaseId = leaseId;
    dispatch.attempt = 1;
    dispatch.name = u"chunks"_s;
    dispatch.command = {u"sh"_s, u"-c"_s, u"echo one; sleep 0.3; echo two; sleep 0.3; echo three"_s};
    peer.send(0, dispatch.encode());
    // No ack: the worker keeps everything it sent.
    QTRY_COMPARE_WITH_TIMEOUT(peer.framesOf(leaseId, u"finished"_s).size(), 1, 30000);
    const QList<QJsonObject> outputs = peer.framesOf(leaseId, u"output"_s);
    QVERIFY2(outputs.size() >= 2, "the step's three lines came in one chunk");
    const int lastSeq = outputs.last().value(u"seq"_s).toInt();

    // Hostile or stale: a lease it does not run, no lease, a negative position: nothing is sent.
    qsizetype seen = peer.connections[0]->frames.size();
    peer.send(0, R"({"type":"resend","leaseId":"0192d1a6-0000-7000-8000-0000000000ee","afterSeq":0})");
    peer.send(0, R"({"type":"resend","afterSeq":0})");
    peer.send(0, R"({"type":"resend","leaseId":7,"afterSeq":"x"})");
    // Then a real one, after every chunk but the last: started, the last chunk, finished.
    peer.send(0, Swamp::Protocol::Resend{leaseId, lastSeq - 1}.encode());
    QTRY_COMPARE_WITH_TIMEOUT(peer.framesOf(leaseId, u"finished"_s, seen).size(), 1, 30000);
    QCOMPARE(peer.connections[0]->frames.size(), seen + 3);
    QCOMPARE(peer.framesOf(leaseId, u"started"_s, seen).size(), 1);
    const QList<QJsonObject> again = peer.framesOf(leaseId, u"output"_s, seen);
    QCOMPARE(again.size(), 1);
    QCOMPARE(again.first(), outputs.last());

    // From before the first chunk (a negative position is the start): everything again.
    seen = peer.connections[0]->frames.size();
    peer.send(0, R"({"type":"resend","leaseId":"0192d1a6-0000-7000-8000-0000000000bb","afterSeq":-3})");
    QTRY_COMPARE_WITH_TIMEOUT(peer.framesOf(leaseId, u"finished"_s, seen).size(), 1, 30000);
    QCOMPARE(peer.framesOf(leaseId, u"output"_s, seen), outputs);
    QVERIFY(worker->isRunning());
    QCOMPARE(peer.connections.size(), size_t(1)); // never dropped the connection
}

QTEST_GUILESS_MAIN(tst_WorkerResume)
#include "tst_worker_resume.moc"
