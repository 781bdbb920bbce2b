#pragma once

// A raw HTTP/1.1 exchange for tests of the metrics listener: sends bytes (optionally in pieces),
// reads until the server closes, and splits the status, headers and body.

#include <QByteArray>
#include <QCoreApplication>
#include <QHash>
#include <QList>
#include <QTcpSocket>
#include <QTest>

namespace SwampTest {

struct HttpReply
{
    int status = -1;
    QByteArray statusLine;
    QHash<QByteArray, QByteArray> headers; // lower-case names
    QByteArray body;
    QByteArray raw;
    bool closedByServer = false;
};

inline HttpReply parseHttpReply(const QByteArray &raw)
{
    HttpReply reply;
    reply.raw = raw;
    const qsizetype headEnd = raw.indexOf("\r\n\r\n");
    if (headEnd < 0)
        return reply;
    const QList<QByteArray> lines = raw.left(headEnd).split('\n');
    reply.statusLine = lines.value(0).trimmed();
    const QList<QByteArray> status = reply.statusLine.split(' ');
    if (status.size() >= 2 && status.at(0) == "HTTP/1.1")
        reply.status = status.at(1).toInt();
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const qsizetype colon = lines.at(i).indexOf(':');
        if (colon > 0)
            reply.headers.insert(lines.at(i).left(colon).trimmed().toLower(),
                                 lines.at(i).mid(colon + 1).trimmed());
    }
    reply.body = raw.mid(headEnd + 4);
    return reply;
}

// Sends `pieces` one after another (each written once the previous one left), then waits for
// the server to close the connection.
inline HttpReply httpExchange(quint16 port, const QList<QByteArray> &pieces, int timeoutMs = 20000)
{
    QTcpSocket socket;
    QByteArray received;
    QObject::connect(&socket, &QTcpSocket::readyRead, &socket,
                     [&] { received += socket.readAll(); });
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!QTest::qWaitFor([&] { return socket.state() == QAbstractSocket::ConnectedState; },
                         timeoutMs))
        return {};
    for (const QByteArray &piece : pieces) {
        socket.write(piece);
        if (!QTest::qWaitFor([&] { return socket.bytesToWrite() == 0; }, timeoutMs))
            return {};
        // Give an in-process server its turn to read this piece before the next one is sent.
        QCoreApplication::processEvents();
        QCoreApplication::processEvents();
    }
    const bool closed = QTest::qWaitFor(
        [&] { return socket.state() == QAbstractSocket::UnconnectedState; }, timeoutMs);
    received += socket.readAll();
    HttpReply reply = parseHttpReply(received);
    reply.closedByServer = closed;
    return reply;
}

inline HttpReply httpGet(quint16 port, const QByteArray &path, const QByteArray &method = "GET")
{
    return httpExchange(port, {method + ' ' + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"});
}

} // namespace SwampTest
