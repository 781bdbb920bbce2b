// A worker that resumes its session gives back a lease it never received (issue 20: the fleet
// soak found steps waiting for ever on the lease of a `dispatch` lost with a dropped connection).
//
// A real orchestrator cannot be made to lose one frame in flight on demand, so the peer of the
// real `swamp worker connect` here plays that orchestrator, frame by frame as docs/protocol.md
// has them (with the codec of protocol/workerframes.h): it enrolls the worker, drops the
// connection as a network cut would, and answers the resume with a lease the worker never got.

#include "swampharness.h"

#include "model/token.h"
#include "protocol/enrollrequest.h"
#include "protocol/protocol.h"
#include "protocol/workerframes.h"

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
};

namespace {

// The frames one connection of the worker sent, decoded.
struct Connection
{
    std::unique_ptr<QWebSocket> socket; // nextPendingConnection() gives it to us
    QList<QJsonObject> frames;
};

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

} // namespace

void tst_WorkerResume::leaseNeverReceivedIsGivenBack()
{
    QWebSocketServer server(u"scripted orchestrator"_s, QWebSocketServer::NonSecureMode);
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));
    std::vector<std::unique_ptr<Connection>> connections;
    connect(&server, &QWebSocketServer::newConnection, this, [&] {
        while (QWebSocket *socket = server.nextPendingConnection()) {
            connections.push_back(std::make_unique<Connection>());
            Connection *connection = connections.back().get();
            connection->socket.reset(socket);
            connect(socket, &QWebSocket::textMessageReceived, this, [connection](const QString &text) {
                if (auto frame = Swamp::Protocol::decodeFrame(text, Swamp::Protocol::MaxWorkerFrameBytes))
                    connection->frames << *frame;
            });
        }
    });
    const auto sentFirst = [&](size_t i) {
        return connections.size() > i && !connections[i]->frames.isEmpty();
    };

    Harness harness;
    const Swamp::TokenText token = Swamp::mintToken(u"resume"_s);
    Child *worker = harness.startWorker(token.name + u'.' + token.secret, harness.newCacheDir(), {},
                                        swampBinary(), u"ws://127.0.0.1:%1"_s.arg(server.serverPort()));
    QTRY_VERIFY_WITH_TIMEOUT(sentFirst(0) || !worker->isRunning(), 30000);
    QVERIFY2(sentFirst(0), qPrintable(worker->describe()));
    const QJsonObject enroll = connections[0]->frames.first();
    QCOMPARE(enroll.value(u"type"_s).toString(), u"enroll"_s);
    connections[0]->socket->sendTextMessage(QString::fromUtf8(enrolledFor(enroll, false, {}).encode()));
    QTRY_VERIFY_WITH_TIMEOUT(worker->outContains(u"enrolled as resume-test"_s), 30000);

    // The connection drops (a `dispatch` sent on it is lost); the same process comes back.
    connections[0]->socket->abort();
    QTRY_VERIFY_WITH_TIMEOUT(sentFirst(1), 60000);
    const QJsonObject again = connections[1]->frames.first();
    QCOMPARE(again.value(u"instanceId"_s), enroll.value(u"instanceId"_s));
    const QString lost = u"0192d1a6-0000-7000-8000-0000000000aa"_s;
    connections[1]->socket->sendTextMessage(QString::fromUtf8(enrolledFor(again, true, {{lost, 0}}).encode()));

    // The worker gives the lease back instead of leaving it held by nobody.
    QTRY_VERIFY_WITH_TIMEOUT(connections[1]->frames.size() >= 2, 30000);
    const QJsonObject answer = connections[1]->frames.at(1);
    QCOMPARE(answer.value(u"type"_s).toString(), u"rejected"_s);
    QCOMPARE(answer.value(u"leaseId"_s).toString(), lost);
    QVERIFY(worker->isRunning());
}

QTEST_GUILESS_MAIN(tst_WorkerResume)
#include "tst_worker_resume.moc"
