#pragma once

// A hostile network peer for the integration tests: a real WebSocket connection from the test
// process to the real orchestrator, which sends what it likes and records what comes back.

#include "protocol/enrollrequest.h"
#include "protocol/protocol.h"
#include "version/version.h"

#include <QHostAddress>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkRequest>
#include <QTcpSocket>
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

// The head of the orchestrator's answer to a WebSocket upgrade request for `path` (status line
// and headers, up to the blank line), read from a raw TCP connection; empty when none came.
inline QByteArray upgradeResponseHead(quint16 port, const QByteArray &path)
{
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!socket.waitForConnected(10000))
        return {};
    socket.write("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 "Sec-WebSocket-Version: 13\r\n\r\n");
    QByteArray head;
    const bool ended = QTest::qWaitFor([&] {
        head += socket.readAll();
        return head.contains("\r\n\r\n") || socket.state() != QAbstractSocket::ConnectedState;
    }, 10000);
    if (!ended || !head.contains("\r\n\r\n"))
        return {};
    return head.left(head.indexOf("\r\n\r\n"));
}

// The value of header `name` (case-insensitive) in a response head, trimmed.
inline QByteArray headerValue(const QByteArray &head, const QByteArray &name)
{
    const QList<QByteArray> lines = head.split('\n');
    for (const QByteArray &line : lines) {
        const qsizetype colon = line.indexOf(':');
        if (colon > 0 && line.left(colon).trimmed().toLower() == name.toLower())
            return line.mid(colon + 1).trimmed();
    }
    return {};
}

} // namespace SwampTest
