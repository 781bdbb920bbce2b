#pragma once

// What the hostile-peer tests do with a ScriptedPeer (a real WebSocket connection from the test
// process to the real orchestrator, which sends what it likes and records what comes back), and
// with a raw TCP connection.

#include "support/scriptedpeer.h"

#include "protocol/protocol.h"

#include <QHostAddress>
#include <QJsonObject>
#include <QTcpSocket>
#include <QTest>

namespace SwampTest {

using namespace Qt::StringLiterals;

// Sends one enroll frame on a new connection; returns the error code it was refused with,
// "enrolled" when it was not, or "" when nothing came back.
inline QString enrollOnce(const QString &url, const QJsonObject &frame)
{
    ScriptedPeer peer(url, QString::fromUtf16(Swamp::Protocol::WorkerPath));
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
