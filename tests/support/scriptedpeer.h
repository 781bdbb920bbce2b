#pragma once

// One WebSocket connection that a test scripts frame by frame against a real swamp process,
// speaking the protocol by hand (docs/protocol.md): as a client it opens an endpoint of the real
// orchestrator (a hostile or scripted worker, an admin client); as the orchestrator's side it
// adopts a socket its own QWebSocketServer accepted from a real `swamp worker connect`.
// Every text message that comes is kept, parsed: one that is not a JSON object is kept as an
// empty object, so that a count or a type check sees it. So is how the connection closed.
//
//     ScriptedPeer worker(h->url(), QString::fromUtf16(Swamp::Protocol::WorkerPath));
//     QVERIFY(worker.waitOpen());
//     worker.send(enrollFrame(token).toJson());
//     QVERIFY(worker.waitFrames(1));

#include "protocol/enrollrequest.h"

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QString>

#include <memory>
#include <utility>

class QWebSocket;

namespace SwampTest {

class ScriptedPeer final
{
    Q_DISABLE_COPY_MOVE(ScriptedPeer)

public:
    // Opens `<url><path>` with `headers` (e.g. Authorization) on the upgrade request.
    ScriptedPeer(const QString &url, const QString &path,
                 const QList<std::pair<QByteArray, QByteArray>> &headers = {});
    // The peer of a connection a QWebSocketServer accepted; takes `accepted` over.
    explicit ScriptedPeer(QWebSocket *accepted);
    ~ScriptedPeer();

    // Whether the connection opened (false as soon as it closed instead).
    bool waitOpen(int ms = 10000);
    bool waitClosed(int ms = 10000);
    // Whether `count` frames came (false as soon as the connection closed with fewer).
    bool waitFrames(qsizetype count, int ms = 10000);
    void send(const QJsonObject &frame);
    void sendText(const QString &text);
    // The first frame of `type` that came; empty if none did.
    QJsonObject first(const QString &type) const;

    const std::unique_ptr<QWebSocket> socket;
    QList<QJsonObject> frames;
    bool closed = false;
    int closeCode = 0;

private:
    void record();
};

// An enroll frame of this build's version for `token` from a new machine (a new machine id and
// instance id each call), as a worker sends it; capacity 1, id "1".
Swamp::Protocol::EnrollRequest enrollFrame(const QString &token,
                                           const QString &hostname = QStringLiteral("hostile"));

} // namespace SwampTest
