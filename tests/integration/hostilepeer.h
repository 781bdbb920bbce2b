#pragma once

// A hostile network peer for the integration tests: a real WebSocket connection from the test
// process to the real orchestrator, which sends what it likes and records what comes back.

#include "protocol/enrollrequest.h"
#include "protocol/protocol.h"
#include "version/version.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkRequest>
#include <QTest>
#include <QUuid>
#include <QWebSocket>

#include <memory>

namespace SwampTest {

using namespace Qt::StringLiterals;

class HostilePeer
{
public:
    // Opens `<url><path>` with `headers` (e.g. Authorization) on the upgrade request.
    HostilePeer(const QString &url, const QString &path,
                const QList<std::pair<QByteArray, QByteArray>> &headers = {})
    {
        QObject::connect(&socket, &QWebSocket::textMessageReceived, &socket, [this](const QString &text) {
            frames << QJsonDocument::fromJson(text.toUtf8()).object();
        });
        QObject::connect(&socket, &QWebSocket::disconnected, &socket, [this] {
            closed = true;
            closeCode = int(socket.closeCode());
        });
        QNetworkRequest request(QUrl(url + path));
        for (const auto &[name, value] : headers)
            request.setRawHeader(name, value);
        socket.open(request);
    }

    bool waitOpen(int ms = 10000)
    {
        return QTest::qWaitFor([this] { return socket.state() == QAbstractSocket::ConnectedState || closed; }, ms)
               && !closed;
    }
    bool waitClosed(int ms = 10000)
    {
        return QTest::qWaitFor([this] { return closed; }, ms);
    }
    bool waitFrames(qsizetype count, int ms = 10000)
    {
        return QTest::qWaitFor([&] { return frames.size() >= count || closed; }, ms) && frames.size() >= count;
    }
    void send(const QJsonObject &frame) { socket.sendTextMessage(Swamp::Protocol::encodeFrame(frame)); }
    void sendText(const QString &text) { socket.sendTextMessage(text); }

    QWebSocket socket;
    QList<QJsonObject> frames;
    bool closed = false;
    int closeCode = 0;
};

// An enroll frame of this build's version for `token`, as a worker of a new machine sends it.
inline Swamp::Protocol::EnrollRequest enrollFrame(const QString &token)
{
    Swamp::Protocol::EnrollRequest request;
    request.id = u"1"_s;
    request.protocol = Swamp::protocolVersion();
    request.version = Swamp::version();
    request.token = token;
    request.machineId = QUuid::createUuid().toString(QUuid::WithoutBraces);
    request.machineKey = QString(64, u'a');
    request.instanceId = QUuid::createUuid().toString(QUuid::WithoutBraces);
    request.hostname = u"hostile"_s;
    request.platform = u"linux"_s;
    request.arch = u"x86_64"_s;
    request.capacity = 1;
    return request;
}

// Sends one enroll frame on a new connection; returns the error code it was refused with,
// "enrolled" when it was not, or "" when nothing came back.
inline QString enrollOnce(const QString &url, const QJsonObject &frame)
{
    HostilePeer peer(url, QString::fromUtf16(Swamp::Protocol::WorkerPath));
    if (!peer.waitOpen())
        return {};
    peer.send(frame);
    if (!peer.waitFrames(1))
        return {};
    const QJsonObject reply = peer.frames.first();
    return reply.value(u"type"_s).toString() == u"error"_s ? reply.value(u"code"_s).toString()
                                                           : reply.value(u"type"_s).toString();
}

} // namespace SwampTest
