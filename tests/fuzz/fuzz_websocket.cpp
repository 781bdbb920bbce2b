// libFuzzer harness for RawWebSocket, the server side of RFC 6455 behind ws://
// (core/server/transport/rawwebsocket.cpp): a real RawWebSocketServer on 127.0.0.1 and, per input,
// one loopback TCP connection that carries the input's bytes. See docs/protocol.md ("Fuzzing").
//
// An input is a mode byte, then bytes. Mode bits:
//   0-1  0: frames described compactly (below) behind a valid upgrade request; 1: raw bytes
//        behind a valid upgrade request; 2, 3: raw bytes from the first on (the request too)
//   2-3  written at once, or in pieces of 1, 5 or 127 bytes with the event loop turning between
//   4-5  the largest message accepted: 1 MiB (as /v1/worker), 125 bytes, 4 KiB, 64 KiB
//   6    the connection is marked authenticated when it is handed over
// A compact frame is its first header byte as it is (FIN, RSV, opcode); a byte whose bit 7 asks
// for an unmasked frame and whose bits 0-1 pick the length field (7, 16 or 64 bits, or 64 bits
// copied from the next 8 input bytes); the payload's length (1 byte for the 7-bit field, 2
// otherwise, none when copied); the payload, masked by the harness (shorter at the end of input).
//
// The server side echoes each text message and acts on some: "close <n> <reason>" (a close code
// picked by n), "abort", "ping", "twice" (two messages in one write), "big" (1 MiB, written as
// the kernel takes it), "pause" (reading paused until the next event-loop turn). Then the
// client ends its side and the server must close the connection. Findings: sanitizer reports,
// anything the server sends that RFC 6455 forbids (checked by WebSocketClient), a message over
// the limit delivered, a valid upgrade request not answered 101, a connection not closed within
// 5 s of the client's end of stream, `disconnected` emitted twice or not at all.

#include "fuzzsupport.h"
#include "websocketclient.h"

#include "server/transport/rawwebsocket.h"
#include "server/transport/rawwebsocketserver.h"

#include <QCoreApplication>
#include <QHostAddress>
#include <QPointer>
#include <QTimer>
#include <QtEndian>

#include <cstdint>
#include <memory>

using namespace Qt::StringLiterals;
using Swamp::RawWebSocket;
using Swamp::RawWebSocketServer;
using Swamp::Fuzz::finding;
using Swamp::Fuzz::WebSocketClient;

namespace {

// The server side of one connection, as the orchestrator's PeerConnection would hold it.
struct ServerSide
{
    QPointer<RawWebSocket> socket;
    qint64 maxMessageBytes = 0;
    bool authenticate = false;
    int accepted = 0;
    int disconnects = 0;
};

struct Fixture
{
    std::unique_ptr<RawWebSocketServer> server;
    ServerSide side;
};

Fixture *fixture = nullptr;

void onText(RawWebSocket *socket, const QString &text)
{
    const QByteArray utf8 = text.toUtf8();
    if (utf8.size() > fixture->side.maxMessageBytes)
        finding("a text message over the limit was delivered");
    if (text.startsWith(u"close")) {
        static const int codes[] = {1000, 1001, 1008, 1011, 4000, 4001, 4002, 4003, 4401, 4503};
        const int pick = text.section(u' ', 1, 1).toInt();
        socket->close(codes[uint(pick) % std::size(codes)], text.section(u' ', 2));
    } else if (text == u"abort") {
        socket->abort();
    } else if (text == u"ping") {
        socket->ping();
    } else if (text == u"twice") {
        socket->sendTexts({utf8, utf8});
    } else if (text == u"big") {
        socket->sendText(QByteArray(1024 * 1024, 'x'));
    } else if (text == u"pause") {
        socket->setReadingPaused(true);
        QTimer::singleShot(0, socket, [socket] { socket->setReadingPaused(false); });
    } else {
        socket->sendText(utf8);
    }
}

void accept()
{
    while (RawWebSocket *socket = fixture->server->nextPendingConnection()) {
        ServerSide &side = fixture->side;
        if (++side.accepted > 1)
            finding("two connections upgraded from one");
        side.socket = socket;
        socket->setMaxMessageBytes(side.maxMessageBytes);
        if (side.authenticate)
            socket->setAuthenticated();
        (void)socket->requestPath();
        (void)socket->requestHeader("Sec-WebSocket-Key");
        QObject::connect(socket, &RawWebSocket::textMessageReceived, socket,
                         [socket](const QString &text) { onText(socket, text); });
        QObject::connect(socket, &RawWebSocket::binaryMessageReceived, socket,
                         [](const QByteArray &data) {
                             if (data.size() > fixture->side.maxMessageBytes)
                                 finding("a binary message over the limit was delivered");
                         });
        QObject::connect(socket, &RawWebSocket::disconnected, socket, [socket] {
            if (++fixture->side.disconnects > 1)
                finding("disconnected emitted twice");
            if (socket->isOpen())
                finding("open after disconnected");
            const int code = socket->closeCode();
            if (code < 1000 || code > 4999)
                finding("a close code out of range after disconnected");
            socket->deleteLater();
        });
    }
}

QByteArray compactFrames(QByteArrayView input)
{
    QByteArray out;
    quint32 mask = 0x9e3779b9;
    qsizetype at = 0;
    while (at + 2 <= input.size()) {
        const uchar first = uchar(input[at]);
        const uchar shape = uchar(input[at + 1]);
        at += 2;
        const bool masked = !(shape & 0x80);
        const int form = shape & 0x03;
        quint64 length = 0;
        uchar lengthField[8] = {};
        qsizetype lengthFieldSize = 0;
        uchar second = 0;
        if (form == 3) {
            for (int i = 0; i < 8; ++i)
                lengthField[i] = at < input.size() ? uchar(input[at++]) : 0;
            length = qFromBigEndian<quint64>(lengthField);
            second = 127;
            lengthFieldSize = 8;
        } else if (form == 0) {
            length = at < input.size() ? uchar(input[at++]) % 126 : 0;
            second = uchar(length);
        } else {
            length = at + 1 < input.size() ? qFromBigEndian<quint16>(input.data() + at) : 0;
            at += 2;
            if (form == 1) {
                second = 126;
                qToBigEndian<quint16>(quint16(length), lengthField);
                lengthFieldSize = 2;
            } else {
                second = 127;
                qToBigEndian<quint64>(length, lengthField);
                lengthFieldSize = 8;
            }
        }
        out.append(char(first));
        out.append(char(second | (masked ? 0x80 : 0)));
        out.append(reinterpret_cast<const char *>(lengthField), lengthFieldSize);
        uchar key[4];
        mask = mask * 1664525u + 1013904223u;
        qToBigEndian<quint32>(mask, key);
        if (masked)
            out.append(reinterpret_cast<const char *>(key), 4);
        const qsizetype available = std::max<qsizetype>(0, input.size() - at);
        const qsizetype size = qsizetype(std::min<quint64>(length, quint64(available)));
        for (qsizetype i = 0; i < size; ++i)
            out.append(char(uchar(input[at + i]) ^ (masked ? key[i & 3] : 0)));
        at += size;
    }
    return out;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    Swamp::Fuzz::initialize(argc, argv);
    fixture = new Fixture;
    fixture->server = std::make_unique<RawWebSocketServer>(u"swamp-fuzz"_s);
    QObject::connect(fixture->server.get(), &RawWebSocketServer::newConnection,
                     fixture->server.get(), &accept);
    if (!fixture->server->listen(QHostAddress::LocalHost, 0))
        finding("cannot listen on 127.0.0.1");
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uchar mode = data[0];
    const QByteArrayView input(reinterpret_cast<const char *>(data) + 1, qsizetype(size) - 1);
    static const qint64 limits[] = {1024 * 1024, 125, 4096, 64 * 1024};
    static const qsizetype pieces[] = {0, 1, 5, 127};
    fixture->side = ServerSide{};
    fixture->side.maxMessageBytes = limits[(mode >> 4) & 3];
    fixture->side.authenticate = mode & 0x40;

    const bool validRequest = (mode & 3) < 2;
    QByteArray bytes;
    if (validRequest)
        bytes = WebSocketClient::upgradeRequest("/v1/worker");
    bytes += (mode & 3) == 0 ? compactFrames(input) : input.toByteArray();

    {
        WebSocketClient client;
        client.setAutomaticAnswers(false);
        if (!client.connectTo(fixture->server->serverPort()))
            finding("cannot connect to the server");
        const qsizetype piece = pieces[(mode >> 2) & 3];
        if (piece == 0) {
            client.writeRaw(bytes);
        } else {
            for (qsizetype at = 0; at < bytes.size() && !client.ended(); at += piece) {
                client.writeRaw(
                    QByteArrayView(bytes).sliced(at, std::min(piece, bytes.size() - at)));
                QCoreApplication::processEvents();
            }
        }
        client.shutdownWrite();
        if (!client.waitForEnd(5000))
            finding("the server did not close the connection after the client's end of stream");
        if (validRequest && client.status() != 101)
            finding("a valid upgrade request was not answered 101");
        if (client.upgraded() != (fixture->side.accepted == 1))
            finding("101 sent but no connection handed over, or the other way round");
    }
    if (fixture->side.accepted == 1 &&
        !Swamp::Fuzz::pumpUntil([] { return fixture->side.disconnects == 1; }, 5000)) {
        finding("disconnected not emitted after the connection ended");
    }
    Swamp::Fuzz::deleteLaterNow();
    if (fixture->side.socket)
        finding("the socket was not deleted");
    return 0;
}
