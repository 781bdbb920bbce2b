// The plain WebSocket listener (RawWebSocketServer and RawWebSocket) on 127.0.0.1:0, spoken to by
// real clients: Qt's QWebSocket for what a well-behaved client does, and a raw QTcpSocket that
// writes the bytes of the handshake and of masked frames itself for what a broken one does.
#include "testsupport.h"

#include "server/transport/connections.h"
#include "server/transport/peersocket.h"
#include "server/transport/rawwebsocket.h"
#include "server/transport/rawwebsocketserver.h"
#include "server/transport/unauthenticatedpool.h"

#include <QElapsedTimer>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkRequest>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTcpSocket>
#include <QTest>
#include <QWebSocket>
#include <QWebSocketServer>
#include <QtEndian>

#include <memory>
#include <vector>

using namespace Qt::StringLiterals;
using namespace Swamp;

namespace {

constexpr int OpContinuation = 0x0;
constexpr int OpText = 0x1;
constexpr int OpBinary = 0x2;
constexpr int OpClose = 0x8;
constexpr int OpPing = 0x9;
constexpr int OpPong = 0xA;

// A client frame as a client must send it: masked (unless told otherwise).
QByteArray clientFrame(int opcode, const QByteArray &payload, bool final = true, bool masked = true,
                       int reserved = 0)
{
    QByteArray frame;
    frame.append(char((final ? 0x80 : 0) | (reserved << 4) | opcode));
    const int maskBit = masked ? 0x80 : 0;
    if (payload.size() <= 125) {
        frame.append(char(maskBit | int(payload.size())));
    } else if (payload.size() <= 0xffff) {
        frame.append(char(maskBit | 126));
        uchar length[2];
        qToBigEndian<quint16>(quint16(payload.size()), length);
        frame.append(reinterpret_cast<const char *>(length), 2);
    } else {
        frame.append(char(maskBit | 127));
        uchar length[8];
        qToBigEndian<quint64>(quint64(payload.size()), length);
        frame.append(reinterpret_cast<const char *>(length), 8);
    }
    if (!masked)
        return frame + payload;
    const char key[4] = {0x37, char(0xfa), 0x21, 0x3d};
    frame.append(key, 4);
    for (qsizetype i = 0; i < payload.size(); ++i)
        frame.append(char(payload.at(i) ^ key[i % 4]));
    return frame;
}

QByteArray closePayload(quint16 code, const QByteArray &reason = {})
{
    uchar bytes[2];
    qToBigEndian<quint16>(code, bytes);
    return QByteArray(reinterpret_cast<const char *>(bytes), 2) + reason;
}

QByteArray upgradeRequest(const QByteArray &path = "/v1/worker",
                          const QByteArray &extraHeaders = {})
{
    return "GET " + path +
           " HTTP/1.1\r\n"
           "Host: 127.0.0.1\r\n"
           "Upgrade: websocket\r\n"
           "Connection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\n" +
           extraHeaders + "\r\n";
}

struct ServerFrame
{
    bool final = false;
    bool masked = false;
    int opcode = -1;
    QByteArray payload;
    quint16 closeCode() const
    {
        return payload.size() >= 2 ? qFromBigEndian<quint16>(payload.constData()) : 0;
    }
    QByteArray closeReason() const { return payload.mid(2); }
};

// A client that writes and reads raw bytes.
class RawClient
{
public:
    // From `from` (another loopback address, say) when given.
    bool connectTo(quint16 port, const QHostAddress &from = {})
    {
        if (!from.isNull() && !m_socket.bind(from))
            return false;
        m_socket.connectToHost(QHostAddress::LocalHost, port);
        return m_socket.waitForConnected(5000);
    }

    void send(const QByteArray &bytes)
    {
        if (m_socket.state() != QAbstractSocket::ConnectedState)
            return; // the server has closed already
        m_socket.write(bytes);
        m_socket.flush();
    }

    // Sends the upgrade request and returns the status of the answer; its head is in head().
    int handshake(const QByteArray &request = upgradeRequest())
    {
        send(request);
        return readResponseHead();
    }

    int readResponseHead(int timeoutMs = 5000)
    {
        qsizetype end = -1;
        (void)QTest::qWaitFor(
            [&] {
                pull();
                end = m_received.indexOf("\r\n\r\n");
                return end >= 0 || m_socket.state() == QAbstractSocket::UnconnectedState;
            },
            timeoutMs);
        pull();
        end = m_received.indexOf("\r\n\r\n");
        if (end < 0)
            return -1;
        m_head = m_received.left(end + 4);
        m_received.remove(0, end + 4);
        const QList<QByteArray> status = m_head.left(m_head.indexOf("\r\n")).split(' ');
        return status.size() >= 2 && status.at(0) == "HTTP/1.1" ? status.at(1).toInt() : -1;
    }

    QByteArray head() const { return m_head; }
    QByteArray rest()
    {
        pull();
        return m_received;
    }

    // The value of a header of the response head (case-insensitive).
    QByteArray header(const QByteArray &name) const
    {
        for (const QByteArray &line : m_head.split('\n')) {
            const qsizetype colon = line.indexOf(':');
            if (colon > 0 && line.left(colon).trimmed().toLower() == name.toLower())
                return line.mid(colon + 1).trimmed();
        }
        return {};
    }

    // The next frame from the server, or false if none came within the timeout.
    bool readFrame(ServerFrame *frame, int timeoutMs = 5000)
    {
        bool parsed = false;
        (void)QTest::qWaitFor(
            [&] {
                pull();
                parsed = parseFrame(frame);
                return parsed || m_socket.state() == QAbstractSocket::UnconnectedState;
            },
            timeoutMs);
        if (!parsed) {
            pull();
            parsed = parseFrame(frame);
        }
        return parsed;
    }

    // Waits for the server to close the TCP connection.
    bool waitClosed(int timeoutMs = 5000)
    {
        return QTest::qWaitFor(
            [&] {
                pull();
                return m_socket.state() == QAbstractSocket::UnconnectedState;
            },
            timeoutMs);
    }

    QTcpSocket &socket() { return m_socket; }

private:
    void pull() { m_received += m_socket.readAll(); }

    bool parseFrame(ServerFrame *frame)
    {
        if (m_received.size() < 2)
            return false;
        const auto *bytes = reinterpret_cast<const uchar *>(m_received.constData());
        quint64 length = bytes[1] & 0x7f;
        qsizetype headerSize = 2;
        if (length == 126) {
            if (m_received.size() < 4)
                return false;
            length = qFromBigEndian<quint16>(bytes + 2);
            headerSize = 4;
        } else if (length == 127) {
            if (m_received.size() < 10)
                return false;
            length = qFromBigEndian<quint64>(bytes + 2);
            headerSize = 10;
        }
        const bool masked = bytes[1] & 0x80;
        if (masked)
            headerSize += 4;
        if (quint64(m_received.size()) < quint64(headerSize) + length)
            return false;
        frame->final = bytes[0] & 0x80;
        frame->opcode = bytes[0] & 0x0f;
        frame->masked = masked;
        frame->payload = m_received.mid(headerSize, qsizetype(length));
        m_received.remove(0, headerSize + qsizetype(length));
        return true;
    }

    QTcpSocket m_socket;
    QByteArray m_received;
    QByteArray m_head;
};

} // namespace

class tst_WsServer : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void textRoundTrip();
    void request();
    void acceptedHandshakes_data();
    void acceptedHandshakes();
    void pingPong();
    void fragmentedMessage();
    void binaryMessage();
    void messageSizeLimit_data();
    void messageSizeLimit();
    void oversizedFrameIsSkipped();
    void closeFromServer();
    void closeFromServerUnanswered();
    void closeReasonTruncated();
    void closeFromClient();
    void closeFromClientWithoutCode();
    void peerVanishes();
    void abortFromServer();
    void badHandshakes_data();
    void badHandshakes();
    void protocolErrors_data();
    void protocolErrors();
    void validUtf8();
    void handshakeInPieces();
    void framesInPieces();
    void pipelinedFirstFrame();
    void handshakeTimeout();
    void notHttp();
    void slowReader();
    void aLargeMessageLeavesWhole();
    void stalledReaderIsDropped();
    void stalledReaderIsDroppedByQtPeerSocket();
    void serverClose();
    void manyConnections();
    void gateReleasesFramesByCommit();
    void unauthenticatedPerAddressLimit();
    void aProvenAddressMayHoldAsManyWithoutASecret();
    void aPeerConnectionCountsAsProvenUntilItGoes();
    void unauthenticatedTotalEvictsTheOldest();
    void unauthenticatedOversizedFrameIsNotRead();
    void unauthenticatedBytesBudget();
    void unauthenticatedFramesAreSmall();
    void backlogPausesReadingAndResumes();
    void firstCloseDecidedWins();

private:
    struct Accepted
    {
        std::unique_ptr<RawWebSocket> socket;
        QStringList texts;
        QList<QByteArray> binaries;
        int pongs = 0;
        int disconnects = 0;
        QElapsedTimer sinceDisconnect;
    };

    void startServer();
    void accept();
    // The connection a raw client opened with the default upgrade request.
    Accepted *openRaw(RawClient &client);
    // Opens `client` on /v1/worker and waits until the server has taken its connection (latest()).
    bool openClient(QWebSocket &client);
    Accepted *latest() { return m_accepted.empty() ? nullptr : m_accepted.back().get(); }

    std::unique_ptr<RawWebSocketServer> m_server;
    std::vector<std::unique_ptr<Accepted>> m_accepted;
    bool m_echo = false;
    qint64 m_maxMessageBytes = 1024 * 1024;
    // Accepted sockets are marked authenticated, as the orchestrator's are once their peer
    // proved a secret; the tests of connections without one turn it off.
    bool m_authenticate = true;
};

void tst_WsServer::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    m_echo = false;
    m_maxMessageBytes = 1024 * 1024;
    m_authenticate = true;
    startServer();
}

void tst_WsServer::cleanup()
{
    m_accepted.clear();
    m_server.reset();
}

void tst_WsServer::startServer()
{
    m_server = std::make_unique<RawWebSocketServer>(u"swamp-test/1.2"_s);
    connect(m_server.get(), &RawWebSocketServer::newConnection, this, &tst_WsServer::accept);
    QVERIFY(m_server->listen(QHostAddress::LocalHost, 0));
    QVERIFY(m_server->serverPort() != 0);
}

void tst_WsServer::accept()
{
    // As the orchestrator does: take each one and connect to it at once.
    while (RawWebSocket *socket = m_server->nextPendingConnection()) {
        auto accepted = std::make_unique<Accepted>();
        Accepted *record = accepted.get();
        record->socket.reset(socket);
        socket->setMaxMessageBytes(m_maxMessageBytes);
        if (m_authenticate)
            socket->setAuthenticated();
        connect(socket, &PeerSocket::textMessageReceived, this,
                [this, record](const QString &text) {
                    record->texts << text;
                    if (m_echo)
                        record->socket->sendTextMessage(text);
                });
        connect(socket, &PeerSocket::binaryMessageReceived, this,
                [record](const QByteArray &data) { record->binaries << data; });
        connect(socket, &PeerSocket::pongReceived, this, [record] { ++record->pongs; });
        connect(socket, &PeerSocket::disconnected, this, [record] {
            ++record->disconnects;
            record->sinceDisconnect.start();
        });
        m_accepted.push_back(std::move(accepted));
    }
}

tst_WsServer::Accepted *tst_WsServer::openRaw(RawClient &client)
{
    const size_t before = m_accepted.size();
    if (!client.connectTo(m_server->serverPort()) || client.handshake() != 101)
        return nullptr;
    if (!QTest::qWaitFor([&] { return m_accepted.size() > before; }, 5000))
        return nullptr;
    return latest();
}

bool tst_WsServer::openClient(QWebSocket &client)
{
    const size_t before = m_accepted.size();
    QSignalSpy connected(&client, &QWebSocket::connected);
    client.open(QUrl(u"ws://127.0.0.1:%1/v1/worker"_s.arg(m_server->serverPort())));
    return connected.wait(5000) && QTest::qWaitFor([&] { return m_accepted.size() > before; }, 5000);
}

void tst_WsServer::textRoundTrip()
{
    m_echo = true;
    QWebSocket client;
    QSignalSpy connected(&client, &QWebSocket::connected);
    QSignalSpy received(&client, &QWebSocket::textMessageReceived);
    client.open(QUrl(u"ws://127.0.0.1:%1/v1/worker"_s.arg(m_server->serverPort())));
    QVERIFY(connected.wait(5000));
    QCOMPARE(m_accepted.size(), size_t(1));
    QVERIFY(latest()->socket->isOpen());

    const QStringList messages{u"{\"type\":\"enroll\"}"_s, u"grüße, 世界 🌍"_s, QString(),
                               QString(300, u'x'), QString(70000, u'y')};
    for (const QString &message : messages)
        client.sendTextMessage(message);
    QTRY_COMPARE_WITH_TIMEOUT(received.size(), messages.size(), 5000);
    for (qsizetype i = 0; i < messages.size(); ++i)
        QCOMPARE(received.at(i).at(0).toString(), messages.at(i));
    QCOMPARE(latest()->texts, messages);
    QCOMPARE(latest()->disconnects, 0);
}

void tst_WsServer::request()
{
    QWebSocket client;
    QSignalSpy connected(&client, &QWebSocket::connected);
    QNetworkRequest request(QUrl(u"ws://127.0.0.1:%1/v1/admin?x=1"_s.arg(m_server->serverPort())));
    request.setRawHeader("User-Agent", "swamp-console/0.1.0");
    request.setRawHeader("Authorization", "Bearer abc");
    client.open(request);
    QVERIFY(connected.wait(5000));
    RawWebSocket *socket = latest()->socket.get();
    QCOMPARE(socket->requestPath(), u"/v1/admin"_s);
    QCOMPARE(socket->requestHeader("user-agent"), QByteArray("swamp-console/0.1.0"));
    QCOMPARE(socket->requestHeader("AUTHORIZATION"), QByteArray("Bearer abc"));
    QCOMPARE(socket->requestHeader("X-Missing"), QByteArray());
    QCOMPARE(socket->peerAddress(), QHostAddress(QHostAddress::LocalHost));

    // The answer names the server, and the accept key is RFC 6455's example.
    RawClient raw;
    QVERIFY(raw.connectTo(m_server->serverPort()));
    QCOMPARE(raw.handshake(), 101);
    QCOMPARE(raw.header("Server"), QByteArray("swamp-test/1.2"));
    QCOMPARE(raw.header("Sec-WebSocket-Accept"), QByteArray("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    QCOMPARE(raw.header("Upgrade").toLower(), QByteArray("websocket"));
}

void tst_WsServer::acceptedHandshakes_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::addRow("lower-case-names")
        << QByteArray("GET /v1/worker HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\n"
                      "connection: upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "sec-websocket-version: 13\r\n\r\n");
    QTest::addRow("token-lists") << QByteArray(
        "GET /v1/worker HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket, foo/1\r\n"
        "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 8, 13\r\n\r\n");
    QTest::addRow("two-connection-headers")
        << QByteArray("GET /v1/worker HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                      "Connection: keep-alive\r\nConnection: upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n");
    QTest::addRow("absolute-target") << upgradeRequest("ws://127.0.0.1/v1/worker");
    QTest::addRow("extensions-ignored")
        << upgradeRequest("/v1/worker", "Sec-WebSocket-Extensions: permessage-deflate\r\n");
}

void tst_WsServer::acceptedHandshakes()
{
    QFETCH(QByteArray, request);
    RawClient client;
    QVERIFY(client.connectTo(m_server->serverPort()));
    QCOMPARE(client.handshake(request), 101);
    QCOMPARE(client.header("Sec-WebSocket-Accept"), QByteArray("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    QTRY_COMPARE(m_accepted.size(), size_t(1));
    QCOMPARE(latest()->socket->requestPath(), u"/v1/worker"_s);
    // No extension was negotiated: frames are plain.
    QVERIFY(client.header("Sec-WebSocket-Extensions").isEmpty());
}

void tst_WsServer::pingPong()
{
    QWebSocket client;
    QSignalSpy connected(&client, &QWebSocket::connected);
    QSignalSpy pongs(&client, &QWebSocket::pong);
    client.open(QUrl(u"ws://127.0.0.1:%1/v1/worker"_s.arg(m_server->serverPort())));
    QVERIFY(connected.wait(5000));
    // The client's ping is answered with its payload.
    client.ping("are you there");
    QVERIFY(pongs.wait(5000));
    QCOMPARE(pongs.at(0).at(1).toByteArray(), QByteArray("are you there"));
    // The server's ping is answered by the client.
    latest()->socket->ping();
    QTRY_COMPARE(latest()->pongs, 1);

    // A raw client's unsolicited pong is reported too.
    RawClient raw;
    Accepted *accepted = openRaw(raw);
    QVERIFY(accepted);
    raw.send(clientFrame(OpPong, "x"));
    QTRY_COMPARE(accepted->pongs, 1);
    raw.send(clientFrame(OpPing, QByteArray(125, 'p')));
    ServerFrame pong;
    QVERIFY(raw.readFrame(&pong));
    QCOMPARE(pong.opcode, OpPong);
    QVERIFY(!pong.masked);
    QCOMPARE(pong.payload, QByteArray(125, 'p'));
}

void tst_WsServer::fragmentedMessage()
{
    RawClient client;
    Accepted *accepted = openRaw(client);
    QVERIFY(accepted);
    // Three fragments with a ping between them, all in one write.
    client.send(clientFrame(OpText, "Hel", false) + clientFrame(OpPing, "mid") +
                clientFrame(OpContinuation, "lo, ", false) +
                clientFrame(OpContinuation, "w\xc3", false) +
                clientFrame(OpContinuation, "\xb6rld"));
    ServerFrame pong;
    QVERIFY(client.readFrame(&pong));
    QCOMPARE(pong.opcode, OpPong);
    QCOMPARE(pong.payload, QByteArray("mid"));
    QTRY_COMPARE(accepted->texts.size(), 1);
    QCOMPARE(accepted->texts.at(0), u"Hello, wörld"_s);
    // Empty fragments make an empty message; the next message starts afresh.
    client.send(clientFrame(OpText, {}, false) + clientFrame(OpContinuation, {}) +
                clientFrame(OpText, "next"));
    QTRY_COMPARE(accepted->texts.size(), 3);
    QCOMPARE(accepted->texts.at(1), QString());
    QCOMPARE(accepted->texts.at(2), u"next"_s);
    QVERIFY(accepted->socket->isOpen());
}

void tst_WsServer::binaryMessage()
{
    QWebSocket client;
    QSignalSpy connected(&client, &QWebSocket::connected);
    client.open(QUrl(u"ws://127.0.0.1:%1/v1/worker"_s.arg(m_server->serverPort())));
    QVERIFY(connected.wait(5000));
    const QByteArray data("\x00\x01\xff binary", 10);
    client.sendBinaryMessage(data);
    QTRY_COMPARE(latest()->binaries.size(), 1);
    QCOMPARE(latest()->binaries.at(0), data);
    QVERIFY(latest()->texts.isEmpty());
}

void tst_WsServer::messageSizeLimit_data()
{
    QTest::addColumn<qsizetype>("size");
    QTest::addColumn<bool>("accepted");
    // QWebSocket sends a message this large in several frames.
    QTest::addRow("at-the-limit") << qsizetype(1024 * 1024) << true;
    QTest::addRow("one-byte-over") << qsizetype(1024 * 1024 + 1) << false;
    QTest::addRow("far-over") << qsizetype(3 * 1024 * 1024) << false;
}

void tst_WsServer::messageSizeLimit()
{
    QFETCH(qsizetype, size);
    QFETCH(bool, accepted);
    QWebSocket client;
    QSignalSpy connected(&client, &QWebSocket::connected);
    QSignalSpy disconnected(&client, &QWebSocket::disconnected);
    client.setMaxAllowedIncomingMessageSize(16 * 1024 * 1024);
    client.open(QUrl(u"ws://127.0.0.1:%1/v1/worker"_s.arg(m_server->serverPort())));
    QVERIFY(connected.wait(5000));
    client.sendTextMessage(QString(size, u'a'));
    if (accepted) {
        QTRY_COMPARE_WITH_TIMEOUT(latest()->texts.size(), 1, 10000);
        QCOMPARE(latest()->texts.at(0).size(), size);
        QVERIFY(latest()->socket->isOpen());
        return;
    }
    QVERIFY(disconnected.wait(10000));
    QCOMPARE(int(client.closeCode()), 1009);
    QTRY_COMPARE(latest()->disconnects, 1);
    QCOMPARE(latest()->socket->closeCode(), 1009);
    QVERIFY(latest()->texts.isEmpty());
}

void tst_WsServer::oversizedFrameIsSkipped()
{
    // A refused frame's payload is skipped as it arrives (it is not buffered), and the peer's
    // close frame behind it still ends the close handshake.
    m_maxMessageBytes = 1000;
    RawClient client;
    Accepted *accepted = openRaw(client);
    QVERIFY(accepted);
    client.send(clientFrame(OpBinary, QByteArray(200 * 1024, 'b')) +
                clientFrame(OpText, "dropped"));
    ServerFrame close;
    QVERIFY(client.readFrame(&close));
    QCOMPARE(close.opcode, OpClose);
    QCOMPARE(close.closeCode(), quint16(1009));
    QVERIFY(!accepted->socket->isOpen());
    QCOMPARE(accepted->disconnects, 0); // waiting for the client's close frame
    client.send(clientFrame(OpClose, closePayload(1009)));
    QVERIFY(client.waitClosed());
    QTRY_COMPARE(accepted->disconnects, 1);
    QVERIFY(accepted->texts.isEmpty());
    QVERIFY(accepted->binaries.isEmpty());
}

void tst_WsServer::closeFromServer()
{
    m_server->setCloseTimeout(30000);
    QWebSocket client;
    QSignalSpy connected(&client, &QWebSocket::connected);
    QSignalSpy disconnected(&client, &QWebSocket::disconnected);
    client.open(QUrl(u"ws://127.0.0.1:%1/v1/worker"_s.arg(m_server->serverPort())));
    QVERIFY(connected.wait(5000));
    Accepted *accepted = latest();
    QElapsedTimer clock;
    clock.start();
    accepted->socket->close(4002, u"replaced by a newer connection"_s);
    QVERIFY(!accepted->socket->isOpen());
    QCOMPARE(accepted->disconnects, 0);               // never from inside close()
    accepted->socket->sendTextMessage(u"too late"_s); // dropped
    QVERIFY(disconnected.wait(5000));
    QCOMPARE(int(client.closeCode()), 4002);
    QCOMPARE(client.closeReason(), u"replaced by a newer connection"_s);
    // The client answered: no waiting for the close timeout.
    QTRY_COMPARE(accepted->disconnects, 1);
    QVERIFY2(clock.elapsed() < 10000, qPrintable(QString::number(clock.elapsed())));
    QCOMPARE(accepted->socket->closeCode(), 4002);
    QTest::qWait(50);
    QCOMPARE(accepted->disconnects, 1);
}

void tst_WsServer::closeFromServerUnanswered()
{
    m_server->setCloseTimeout(300);
    RawClient client;
    Accepted *accepted = openRaw(client);
    QVERIFY(accepted);
    QElapsedTimer clock;
    clock.start();
    accepted->socket->close(4000, u"bye"_s);
    ServerFrame close;
    QVERIFY(client.readFrame(&close));
    QCOMPARE(close.opcode, OpClose);
    QVERIFY(close.final);
    QCOMPARE(close.closeCode(), quint16(4000));
    QCOMPARE(close.closeReason(), QByteArray("bye"));
    // Frames after our close frame are not delivered.
    client.send(clientFrame(OpText, "ignored"));
    // The client never answers: dropped after the close timeout.
    QVERIFY(client.waitClosed(5000));
    QTRY_COMPARE(accepted->disconnects, 1);
    QVERIFY2(clock.elapsed() >= 250, qPrintable(QString::number(clock.elapsed())));
    QVERIFY(accepted->texts.isEmpty());
}

void tst_WsServer::closeReasonTruncated()
{
    RawClient client;
    Accepted *accepted = openRaw(client);
    QVERIFY(accepted);
    // 62 two-byte characters are 124 bytes: 61 of them (122 bytes) fit in 123, half of the 62nd
    // would not be UTF-8.
    const QString reason = QString(62, u'ä');
    accepted->socket->close(4000, reason);
    ServerFrame close;
    QVERIFY(client.readFrame(&close));
    QCOMPARE(close.opcode, OpClose);
    QCOMPARE(close.closeReason().size(), 122);
    QCOMPARE(QString::fromUtf8(close.closeReason()), QString(61, u'ä'));
}

void tst_WsServer::closeFromClient()
{
    RawClient client;
    Accepted *accepted = openRaw(client);
    QVERIFY(accepted);
    client.send(clientFrame(OpText, "last") + clientFrame(OpClose, closePayload(4321, "done")));
    ServerFrame close;
    QVERIFY(client.readFrame(&close));
    QCOMPARE(close.opcode, OpClose);
    QCOMPARE(close.closeCode(), quint16(4321)); // echoed
    QVERIFY(client.waitClosed());
    QTRY_COMPARE(accepted->disconnects, 1);
    QCOMPARE(accepted->texts, QStringList{u"last"_s});
    QCOMPARE(accepted->socket->closeCode(), 4321);

    // And from QWebSocket.
    QWebSocket qtClient;
    QSignalSpy connected(&qtClient, &QWebSocket::connected);
    QSignalSpy disconnected(&qtClient, &QWebSocket::disconnected);
    qtClient.open(QUrl(u"ws://127.0.0.1:%1/v1/worker"_s.arg(m_server->serverPort())));
    QVERIFY(connected.wait(5000));
    qtClient.close(QWebSocketProtocol::CloseCodeNormal, u"goodbye"_s);
    QTRY_COMPARE(latest()->disconnects, 1);
    QCOMPARE(latest()->socket->closeCode(), 1000);
    QVERIFY(disconnected.size() == 1 || disconnected.wait(5000));
}

void tst_WsServer::closeFromClientWithoutCode()
{
    RawClient client;
    Accepted *accepted = openRaw(client);
    QVERIFY(accepted);
    client.send(clientFrame(OpClose, {}));
    ServerFrame close;
    QVERIFY(client.readFrame(&close));
    QCOMPARE(close.opcode, OpClose);
    QCOMPARE(close.payload, QByteArray());
    QVERIFY(client.waitClosed());
    QTRY_COMPARE(accepted->disconnects, 1);
    QCOMPARE(accepted->socket->closeCode(), 1005);
}

void tst_WsServer::peerVanishes()
{
    RawClient client;
    Accepted *accepted = openRaw(client);
    QVERIFY(accepted);
    client.send(clientFrame(OpText, "half a fr").left(6)); // an unfinished frame, then gone
    QTest::qWait(20);
    client.socket().abort();
    QTRY_COMPARE(accepted->disconnects, 1);
    QCOMPARE(accepted->socket->closeCode(), 1006);
    QVERIFY(!accepted->socket->isOpen());
    QVERIFY(accepted->texts.isEmpty());
    // Sending to a connection that is gone does nothing.
    accepted->socket->sendTextMessage(u"nobody"_s);
    accepted->socket->close(1000, {});
    accepted->socket->abort();
    QTest::qWait(50);
    QCOMPARE(accepted->disconnects, 1);

    // The same with QWebSocket.
    QWebSocket qtClient;
    QSignalSpy connected(&qtClient, &QWebSocket::connected);
    qtClient.open(QUrl(u"ws://127.0.0.1:%1/v1/worker"_s.arg(m_server->serverPort())));
    QVERIFY(connected.wait(5000));
    qtClient.abort();
    QTRY_COMPARE(latest()->disconnects, 1);
}

void tst_WsServer::abortFromServer()
{
    RawClient client;
    Accepted *accepted = openRaw(client);
    QVERIFY(accepted);
    accepted->socket->abort();
    QVERIFY(!accepted->socket->isOpen());
    QCOMPARE(accepted->disconnects, 0); // from the event loop
    QTRY_COMPARE(accepted->disconnects, 1);
    QVERIFY(client.waitClosed());
    QCOMPARE(accepted->socket->peerAddress(), QHostAddress());
    QTest::qWait(50);
    QCOMPARE(accepted->disconnects, 1);
}

void tst_WsServer::badHandshakes_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<int>("status");
    QTest::addColumn<QByteArray>("reason");
    const QByteArray key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    QTest::addRow("not-http") << QByteArray("hello there\r\n\r\n") << 400
                              << QByteArray("malformed request line");
    QTest::addRow("post") << QByteArray(upgradeRequest()).replace("GET ", "POST ") << 400
                          << QByteArray("a WebSocket upgrade is a GET request");
    QTest::addRow("http-1.0") << QByteArray(upgradeRequest()).replace("HTTP/1.1", "HTTP/1.0") << 400
                              << QByteArray("a WebSocket upgrade needs HTTP/1.1");
    QTest::addRow("target-not-a-path")
        << upgradeRequest("*") << 400 << QByteArray("the request target is not a path");
    QTest::addRow("malformed-header") << upgradeRequest("/v1/worker", "no colon here\r\n") << 400
                                      << QByteArray("malformed header line");
    QTest::addRow("no-host") << QByteArray(upgradeRequest()).replace("Host: 127.0.0.1\r\n", "")
                             << 400 << QByteArray("the Host header is missing");
    QTest::addRow("no-upgrade")
        << QByteArray(upgradeRequest()).replace("Upgrade: websocket\r\n", "") << 400
        << QByteArray("not a WebSocket upgrade: Upgrade: websocket is missing");
    QTest::addRow("upgrade-to-h2c")
        << QByteArray(upgradeRequest()).replace("Upgrade: websocket", "Upgrade: h2c") << 400
        << QByteArray("not a WebSocket upgrade: Upgrade: websocket is missing");
    QTest::addRow("connection-keep-alive")
        << QByteArray(upgradeRequest()).replace("Connection: Upgrade", "Connection: keep-alive")
        << 400 << QByteArray("not a WebSocket upgrade: Connection: Upgrade is missing");
    QTest::addRow("missing-key") << QByteArray(upgradeRequest()).replace(key, "") << 400
                                 << QByteArray("Sec-WebSocket-Key must be 16 bytes in base64");
    QTest::addRow("short-key")
        << QByteArray(upgradeRequest()).replace("dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ=") << 400
        << QByteArray("Sec-WebSocket-Key must be 16 bytes in base64");
    QTest::addRow("key-not-base64")
        << QByteArray(upgradeRequest())
               .replace("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ!!")
        << 400 << QByteArray("Sec-WebSocket-Key must be 16 bytes in base64");
    QTest::addRow("wrong-version")
        << QByteArray(upgradeRequest()).replace("Version: 13", "Version: 8") << 426
        << QByteArray("only WebSocket version 13 is supported");
    QTest::addRow("no-version")
        << QByteArray(upgradeRequest()).replace("Sec-WebSocket-Version: 13\r\n", "") << 426
        << QByteArray("only WebSocket version 13 is supported");
    QTest::addRow("head-too-large")
        << upgradeRequest("/v1/worker", "X-Filler: " + QByteArray(17 * 1024, 'f') + "\r\n") << 431
        << QByteArray("request head larger than 16 KiB");
    QTest::addRow("head-never-ends")
        << QByteArray(20 * 1024, 'g') << 431 << QByteArray("request head larger than 16 KiB");
}

void tst_WsServer::badHandshakes()
{
    QFETCH(QByteArray, request);
    QFETCH(int, status);
    QFETCH(QByteArray, reason);
    RawClient client;
    QVERIFY(client.connectTo(m_server->serverPort()));
    QCOMPARE(client.handshake(request), status);
    QVERIFY(client.waitClosed());
    QCOMPARE(client.rest(), reason + '\n');
    QCOMPARE(client.header("Content-Length").toInt(), int(reason.size() + 1));
    QCOMPARE(client.header("Connection"), QByteArray("close"));
    QCOMPARE(client.header("Sec-WebSocket-Version"),
             status == 426 ? QByteArray("13") : QByteArray());
    QCOMPARE(client.header("Server"), QByteArray("swamp-test/1.2"));
    QVERIFY(client.header("Sec-WebSocket-Accept").isEmpty());
    QVERIFY(!m_server->hasPendingConnections());
    QCOMPARE(m_accepted.size(), size_t(0));
}

void tst_WsServer::protocolErrors_data()
{
    QTest::addColumn<QByteArray>("frames");
    QTest::addColumn<int>("code");
    QTest::addRow("unmasked") << clientFrame(OpText, "hi", true, false) << 1002;
    QTest::addRow("reserved-bit") << clientFrame(OpText, "hi", true, true, 4) << 1002;
    QTest::addRow("reserved-data-opcode") << clientFrame(0x3, "hi") << 1002;
    QTest::addRow("reserved-control-opcode") << clientFrame(0xB, "hi") << 1002;
    QTest::addRow("fragmented-ping") << clientFrame(OpPing, "hi", false) << 1002;
    QTest::addRow("ping-126-bytes") << clientFrame(OpPing, QByteArray(126, 'p')) << 1002;
    QTest::addRow("close-126-bytes")
        << clientFrame(OpClose, closePayload(1000, QByteArray(124, 'r'))) << 1002;
    QTest::addRow("continuation-first") << clientFrame(OpContinuation, "hi") << 1002;
    QTest::addRow("text-inside-fragmented")
        << clientFrame(OpText, "a", false) + clientFrame(OpText, "b") << 1002;
    QTest::addRow("close-one-byte") << clientFrame(OpClose, "x") << 1002;
    QTest::addRow("close-code-1005") << clientFrame(OpClose, closePayload(1005)) << 1002;
    QTest::addRow("close-code-999") << clientFrame(OpClose, closePayload(999)) << 1002;
    QTest::addRow("close-code-5000") << clientFrame(OpClose, closePayload(5000)) << 1002;
    QTest::addRow("invalid-utf8") << clientFrame(OpText, "\xff\xfe") << 1007;
    QTest::addRow("truncated-utf8") << clientFrame(OpText, "caf\xc3") << 1007;
    QTest::addRow("overlong-utf8") << clientFrame(OpText, "\xc0\xaf") << 1007;
    QTest::addRow("surrogate-utf8") << clientFrame(OpText, "\xed\xa0\x80") << 1007;
    QTest::addRow("invalid-utf8-across-fragments")
        << clientFrame(OpText, "\xe2\x82", false) + clientFrame(OpContinuation, "(") << 1007;
    QTest::addRow("close-reason-not-utf8")
        << clientFrame(OpClose, closePayload(1000, "\xff")) << 1007;
    QTest::addRow("text-over-limit") << clientFrame(OpText, QByteArray(1001, 't')) << 1009;
    QTest::addRow("fragments-over-limit") << clientFrame(OpText, QByteArray(600, 't'), false) +
                                                 clientFrame(OpContinuation, QByteArray(401, 't'))
                                          << 1009;
}

void tst_WsServer::protocolErrors()
{
    QFETCH(QByteArray, frames);
    QFETCH(int, code);
    m_maxMessageBytes = 1000;
    RawClient client;
    Accepted *accepted = openRaw(client);
    QVERIFY(accepted);
    // A good message first: the bad frame only ends what comes after it.
    client.send(clientFrame(OpText, "fine") + frames + clientFrame(OpText, "after"));
    ServerFrame close;
    QVERIFY(client.readFrame(&close));
    QCOMPARE(close.opcode, OpClose);
    QVERIFY(!close.masked);
    QCOMPARE(int(close.closeCode()), code);
    QVERIFY(!close.closeReason().isEmpty());
    client.send(clientFrame(OpClose, closePayload(quint16(code))));
    QVERIFY(client.waitClosed());
    QTRY_COMPARE(accepted->disconnects, 1);
    QCOMPARE(accepted->socket->closeCode(), code);
    QCOMPARE(accepted->texts, QStringList{u"fine"_s});
}

void tst_WsServer::validUtf8()
{
    RawClient client;
    Accepted *accepted = openRaw(client);
    QVERIFY(accepted);
    // A 4-byte character split over three fragments, a BOM kept as a character, U+FFFF.
    client.send(clientFrame(OpText, "\xf0\x9f", false) +
                clientFrame(OpContinuation, "\x8c", false) + clientFrame(OpContinuation, "\x8d!") +
                clientFrame(OpText, "\xef\xbb\xbfx") + clientFrame(OpText, "\xef\xbf\xbf"));
    QTRY_COMPARE(accepted->texts.size(), 3);
    QCOMPARE(accepted->texts.at(0), u"🌍!"_s);
    QCOMPARE(accepted->texts.at(1), QString(QChar(0xfeff)) + u'x');
    QCOMPARE(accepted->texts.at(2), QString(QChar(0xffff)));
    QVERIFY(accepted->socket->isOpen());
}

void tst_WsServer::handshakeInPieces()
{
    RawClient client;
    QVERIFY(client.connectTo(m_server->serverPort()));
    const QByteArray request = upgradeRequest();
    for (qsizetype i = 0; i < request.size(); i += 7) {
        client.send(request.mid(i, 7));
        QTest::qWait(2); // each piece is its own read on the server
    }
    QCOMPARE(client.readResponseHead(), 101);
    QTRY_COMPARE(m_accepted.size(), size_t(1));
    client.send(clientFrame(OpText, "after pieces"));
    QTRY_COMPARE(latest()->texts, QStringList{u"after pieces"_s});
}

void tst_WsServer::framesInPieces()
{
    RawClient client;
    Accepted *accepted = openRaw(client);
    QVERIFY(accepted);
    // Headers of every length form, split at every byte.
    const QByteArray frames = clientFrame(OpText, "short") +
                              clientFrame(OpText, QByteArray(300, 'm')) +
                              clientFrame(OpText, QByteArray(70000, 'l'));
    for (qsizetype i = 0; i < 40; ++i) {
        client.send(frames.mid(i, 1));
        QTest::qWait(1);
    }
    client.send(frames.mid(40));
    QTRY_COMPARE(accepted->texts.size(), 3);
    QCOMPARE(accepted->texts.at(0), u"short"_s);
    QCOMPARE(accepted->texts.at(1), QString(300, u'm'));
    QCOMPARE(accepted->texts.at(2), QString(70000, u'l'));
}

void tst_WsServer::pipelinedFirstFrame()
{
    RawClient client;
    QVERIFY(client.connectTo(m_server->serverPort()));
    client.send(upgradeRequest() + clientFrame(OpText, "{\"type\":\"enroll\"}") +
                clientFrame(OpPing, "p") + clientFrame(OpText, "second"));
    QCOMPARE(client.readResponseHead(), 101);
    QTRY_COMPARE(m_accepted.size(), size_t(1));
    QTRY_COMPARE(latest()->texts, (QStringList{u"{\"type\":\"enroll\"}"_s, u"second"_s}));
    ServerFrame pong;
    QVERIFY(client.readFrame(&pong));
    QCOMPARE(pong.opcode, OpPong);
    QCOMPARE(pong.payload, QByteArray("p"));
}

void tst_WsServer::handshakeTimeout()
{
    m_server->setHandshakeTimeout(300);
    RawClient slow;
    QVERIFY(slow.connectTo(m_server->serverPort()));
    slow.send("GET /v1/worker HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    RawClient silent;
    QVERIFY(silent.connectTo(m_server->serverPort()));
    QElapsedTimer clock;
    clock.start();
    QVERIFY(slow.waitClosed(5000));
    QVERIFY(silent.waitClosed(5000));
    QVERIFY2(clock.elapsed() >= 250, qPrintable(QString::number(clock.elapsed())));
    QCOMPARE(m_accepted.size(), size_t(0));
    // A prompt client is not affected.
    RawClient prompt;
    QVERIFY(openRaw(prompt));
    QTest::qWait(600);
    QVERIFY(latest()->socket->isOpen());
    QCOMPARE(prompt.socket().state(), QAbstractSocket::ConnectedState);
}

void tst_WsServer::notHttp()
{
    // A TLS ClientHello (a wss:// client at this ws:// listener) is dropped at once, without an
    // HTTP answer its TLS layer could not read, not after the handshake timeout.
    m_server->setHandshakeTimeout(60000);
    RawClient client;
    QVERIFY(client.connectTo(m_server->serverPort()));
    QElapsedTimer clock;
    clock.start();
    client.send(QByteArray::fromHex("16030100c4010000c00303"));
    QVERIFY(client.waitClosed(5000));
    QVERIFY2(clock.elapsed() < 5000, qPrintable(QString::number(clock.elapsed())));
    QCOMPARE(client.rest(), QByteArray());
    QCOMPARE(m_accepted.size(), size_t(0));
}

void tst_WsServer::slowReader()
{
    // More than the kernel takes at once: the rest waits in the socket and leaves, in order, as
    // the client reads.
    m_server->setCloseTimeout(30000);
    RawClient client;
    Accepted *accepted = openRaw(client);
    QVERIFY(accepted);
    client.socket().setReadBufferSize(16 * 1024);
    constexpr int Messages = 160;
    for (int i = 0; i < Messages; ++i)
        accepted->socket->sendTextMessage(QString::number(i) + u':' +
                                          QString(64 * 1024, QChar(u'a' + i % 26)));
    accepted->socket->close(1000, u"all sent"_s);
    for (int i = 0; i < Messages; ++i) {
        ServerFrame frame;
        QVERIFY2(client.readFrame(&frame, 10000), qPrintable(QString::number(i)));
        QCOMPARE(frame.opcode, OpText);
        QVERIFY(frame.final);
        const QByteArray expected =
            QByteArray::number(i) + ':' + QByteArray(64 * 1024, char('a' + i % 26));
        QVERIFY2(frame.payload == expected, qPrintable(QString::number(i)));
    }
    ServerFrame close;
    QVERIFY(client.readFrame(&close));
    QCOMPARE(close.opcode, OpClose);
    QCOMPARE(close.closeReason(), QByteArray("all sent"));
    QCOMPARE(accepted->disconnects, 0);
    client.send(clientFrame(OpClose, closePayload(1000)));
    QVERIFY(client.waitClosed());
    QTRY_COMPARE(accepted->disconnects, 1);
}

void tst_WsServer::aLargeMessageLeavesWhole()
{
    // A message far larger than the kernel takes at once (a data.query answer): what waits is
    // the message's own bytes, shared; changing the sender's copy afterwards changes nothing
    // sent, and what is sent after it follows it.
    m_server->setCloseTimeout(30000);
    RawClient client;
    Accepted *accepted = openRaw(client);
    QVERIFY(accepted);
    client.socket().setReadBufferSize(64 * 1024);
    QByteArray large(12 * 1024 * 1024, 'x');
    for (qsizetype i = 0; i < large.size(); i += 4096)
        large[i] = char('a' + (i / 4096) % 26);
    const QByteArray sent = large;
    accepted->socket->sendText(large);
    QVERIFY(accepted->socket->unsentBytes() > 0); // the kernel took part of it
    large.fill('!');                               // the sender's copy changes: not what was sent
    accepted->socket->sendText("after"_ba);
    ServerFrame frame;
    QVERIFY(client.readFrame(&frame, 30000));
    QCOMPARE(frame.opcode, OpText);
    QVERIFY(frame.payload == sent);
    QVERIFY(client.readFrame(&frame, 10000));
    QCOMPARE(frame.payload, "after"_ba);
    QTRY_COMPARE(accepted->socket->unsentBytes(), 0);
}

void tst_WsServer::stalledReaderIsDropped()
{
    // A client that stops reading: once more than the limit waits behind the kernel's buffers,
    // the connection is dropped with a warning, instead of the orchestrator keeping it all.
    RawClient client;
    Accepted *accepted = openRaw(client);
    QVERIFY(accepted);
    client.socket().setReadBufferSize(16 * 1024);
    accepted->socket->setMaxUnsentBytes(1024 * 1024);
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"dropped the connection from 127\\.0\\.0\\.1: it left "
                                                          "[0-9.]+ MiB unread"_s));
    const QString chunk(64 * 1024, u'x');
    // Far more than loopback's socket buffers take (a few MiB), never read by the client.
    for (int i = 0; i < 512 && accepted->disconnects == 0 && accepted->socket->isOpen(); ++i)
        accepted->socket->sendTextMessage(chunk);
    QVERIFY(!accepted->socket->isOpen());
    QTRY_COMPARE(accepted->disconnects, 1);
}

void tst_WsServer::stalledReaderIsDroppedByQtPeerSocket()
{
    // The same bound on the wss:// path's socket (QWebSocketServer's QWebSocket; plain here, the
    // buffering is the same under TLS).
    QWebSocketServer server(u"swamp-test"_s, QWebSocketServer::NonSecureMode);
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));
    RawClient client;
    QVERIFY(client.connectTo(server.serverPort()));
    QCOMPARE(client.handshake(), 101);
    QVERIFY(QTest::qWaitFor([&] { return server.hasPendingConnections(); }, 5000));
    QtPeerSocket socket(server.nextPendingConnection());
    QSignalSpy disconnected(&socket, &PeerSocket::disconnected);
    client.socket().setReadBufferSize(16 * 1024);
    socket.setMaxUnsentBytes(1024 * 1024);
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"dropped the connection from 127\\.0\\.0\\.1: it left "
                                                          "[0-9.]+ MiB unread"_s));
    const QString chunk(64 * 1024, u'x');
    for (int i = 0; i < 512 && socket.isOpen(); ++i)
        socket.sendTextMessage(chunk);
    QVERIFY(!socket.isOpen());
    QTRY_COMPARE(disconnected.size(), 1);
}

void tst_WsServer::serverClose()
{
    RawClient open;
    Accepted *accepted = openRaw(open);
    QVERIFY(accepted);
    // Upgraded but not taken yet, and one in its handshake.
    disconnect(m_server.get(), &RawWebSocketServer::newConnection, this, &tst_WsServer::accept);
    RawClient pending;
    QVERIFY(pending.connectTo(m_server->serverPort()));
    QCOMPARE(pending.handshake(), 101);
    QTRY_VERIFY(m_server->hasPendingConnections());
    RawClient handshaking;
    QVERIFY(handshaking.connectTo(m_server->serverPort()));
    handshaking.send("GET /v1/worker HTTP/1.1\r\n");
    QTest::qWait(50);

    m_server->close();
    QVERIFY(!m_server->isListening());
    QVERIFY(!m_server->hasPendingConnections());
    ServerFrame close;
    QVERIFY(pending.readFrame(&close));
    QCOMPARE(close.opcode, OpClose);
    QCOMPARE(close.closeCode(), quint16(1001));
    QVERIFY(pending.waitClosed());
    QVERIFY(handshaking.waitClosed());
    QTcpSocket refused;
    refused.connectToHost(QHostAddress::LocalHost, m_server->serverPort());
    QVERIFY(!refused.waitForConnected(2000) || refused.waitForDisconnected(2000));
    // Taken connections carry on.
    open.send(clientFrame(OpText, "still here"));
    QTRY_COMPARE(accepted->texts, QStringList{u"still here"_s});
    QVERIFY(accepted->socket->isOpen());
}

void tst_WsServer::manyConnections()
{
    // Every connection is told once; closing them all takes no time per connection per other
    // connection.
    m_echo = true;
    constexpr int Clients = 300;
    std::vector<std::unique_ptr<QWebSocket>> clients;
    int connectedCount = 0;
    int echoed = 0;
    int disconnectedCount = 0;
    for (int i = 0; i < Clients; ++i) {
        auto client = std::make_unique<QWebSocket>();
        QWebSocket *raw = client.get();
        connect(raw, &QWebSocket::connected, this, [&connectedCount, raw, i] {
            ++connectedCount;
            raw->sendTextMessage(QString::number(i));
        });
        connect(raw, &QWebSocket::textMessageReceived, this, [&echoed, i](const QString &text) {
            echoed += text == QString::number(i) ? 1 : 0;
        });
        connect(raw, &QWebSocket::disconnected, this,
                [&disconnectedCount] { ++disconnectedCount; });
        raw->open(QUrl(u"ws://127.0.0.1:%1/v1/worker"_s.arg(m_server->serverPort())));
        clients.push_back(std::move(client));
    }
    QTRY_COMPARE_WITH_TIMEOUT(echoed, Clients, 30000);
    QCOMPARE(m_accepted.size(), size_t(Clients));
    for (const auto &accepted : m_accepted)
        accepted->socket->close(4503, u"orchestrator shutting down"_s);
    QTRY_COMPARE_WITH_TIMEOUT(disconnectedCount, Clients, 30000);
    QTRY_VERIFY_WITH_TIMEOUT(
        std::all_of(m_accepted.cbegin(), m_accepted.cend(),
                    [](const auto &accepted) { return accepted->disconnects == 1; }),
        30000);
    for (const auto &client : clients)
        QCOMPARE(int(client->closeCode()), 4503);
}

// What the orchestrator sends while a batch is open waits for that batch's commit: frames are
// tagged with the gate's epoch and leave, in order and in one write, once theirs is released;
// a frame sent behind waiting ones waits too, and so does a close.
void tst_WsServer::gateReleasesFramesByCommit()
{
    QWebSocket client;
    QSignalSpy connected(&client, &QWebSocket::connected);
    QSignalSpy received(&client, &QWebSocket::textMessageReceived);
    QSignalSpy disconnected(&client, &QWebSocket::disconnected);
    client.open(QUrl(u"ws://127.0.0.1:%1/v1/worker"_s.arg(m_server->serverPort())));
    QVERIFY(connected.wait(5000));
    QTRY_COMPARE(m_accepted.size(), size_t(1));
    bool closed = true;
    OutboundGate gate([&closed] { return closed; });
    PeerConnection connection(latest()->socket.release(), 1024 * 1024);
    connection.setGate(&gate);
    const auto frame = [](int n) { return QJsonObject{{u"type"_s, u"n"_s}, {u"n"_s, n}}; };
    const auto numbers = [&received] {
        QList<int> seen;
        for (const QList<QVariant> &args : std::as_const(received))
            seen << QJsonDocument::fromJson(args.at(0).toString().toUtf8()).object().value(u"n"_s).toInt();
        return seen;
    };

    connection.send(frame(1));
    const quint64 first = gate.seal();
    connection.send(frame(2));
    connection.send(frame(3));
    const quint64 second = gate.seal();
    connection.send(frame(4));
    QTest::qWait(100);
    QCOMPARE(received.size(), 0);

    gate.release(first);
    QTRY_COMPARE(numbers(), (QList<int>{1}));
    QTest::qWait(100);
    QCOMPARE(numbers(), (QList<int>{1}));
    gate.release(second);
    QTRY_COMPARE(numbers(), (QList<int>{1, 2, 3}));

    closed = false; // nothing open any more, but frame 4 still waits: 5 goes behind it
    connection.send(frame(5));
    QTest::qWait(100);
    QCOMPARE(numbers(), (QList<int>{1, 2, 3}));
    gate.releaseAll();
    QTRY_COMPARE(numbers(), (QList<int>{1, 2, 3, 4, 5}));
    connection.send(frame(6)); // nothing waits: at once
    QTRY_COMPARE(numbers(), (QList<int>{1, 2, 3, 4, 5, 6}));

    closed = true;
    connection.send(frame(7));
    connection.close(4000, u"goodbye"_s);
    QTest::qWait(100);
    QCOMPARE(received.size(), 6);
    QCOMPARE(disconnected.size(), 0);
    gate.release(gate.seal());
    QTRY_COMPARE(numbers(), (QList<int>{1, 2, 3, 4, 5, 6, 7}));
    QTRY_COMPARE(disconnected.size(), 1);
    QCOMPARE(int(client.closeCode()), 4000);
    QCOMPARE(client.closeReason(), u"goodbye"_s);
}

// Connections without a secret (UnauthenticatedPool): at most perAddress from one address (more
// are refused at accept), at most `total` (a new one evicts the oldest of the busiest address),
// and a budget for what they buffer.
void tst_WsServer::unauthenticatedPerAddressLimit()
{
    m_authenticate = false;
    m_server->setUnauthenticatedLimits({3, 100, 16 * 1024 * 1024});
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"connections without a secret at their bounds .* refused 1 "
                                                          "\\(at most 3 from one address, or as many as it holds connections with a secret; "
                                                          "the last from 127\\.0\\.0\\.1, which holds 0\\)"_s));
    RawClient clients[4];
    for (int i = 0; i < 3; ++i)
        QVERIFY(openRaw(clients[i]));
    QVERIFY(clients[3].connectTo(m_server->serverPort()));
    QVERIFY(clients[3].waitClosed()); // refused at accept
    QCOMPARE(m_server->unauthenticated().size(), 3);
    // One proves a secret: its place is free for the next.
    m_accepted.front()->socket->setAuthenticated();
    QCOMPARE(m_server->unauthenticated().size(), 2);
    RawClient next;
    QVERIFY(openRaw(next));
    QVERIFY(m_accepted.front()->socket->isOpen());
}

// A fleet behind one NAT address, all back at once after a restart: once some of its workers
// proved their secrets, the address may hold as many connections without one as it holds
// proven ones (more than perAddress). A stranger's address has proved nothing: still perAddress.
void tst_WsServer::aProvenAddressMayHoldAsManyWithoutASecret()
{
    m_authenticate = false;
    m_server->setUnauthenticatedLimits({2, 100, 16 * 1024 * 1024});
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"connections without a secret at their bounds .* refused 1 .*"
                                                          "the last from 127\\.0\\.0\\.1, which holds 4\\)"_s));
    RawClient proven[4];
    for (RawClient &client : proven) {
        QVERIFY(openRaw(client));
        latest()->socket->setAuthenticated();
    }
    QCOMPARE(m_server->unauthenticated().size(), 0);
    QCOMPARE(m_server->unauthenticated().provenFrom(u"127.0.0.1"_s), 4);
    RawClient waiting[5];
    for (int i = 0; i < 4; ++i)
        QVERIFY(openRaw(waiting[i])); // beyond perAddress (2): the address holds 4 proven
    QVERIFY(waiting[4].connectTo(m_server->serverPort()));
    QVERIFY(waiting[4].waitClosed()); // the fifth: refused
    QCOMPARE(m_server->unauthenticated().size(), 4);
    // A stranger from an address that proved nothing keeps the bound.
    RawClient strangers[3];
    for (int i = 0; i < 2; ++i) {
        QVERIFY(strangers[i].connectTo(m_server->serverPort(), QHostAddress(u"127.0.0.2"_s)));
        QCOMPARE(strangers[i].handshake(), 101);
    }
    QVERIFY(strangers[2].connectTo(m_server->serverPort(), QHostAddress(u"127.0.0.2"_s)));
    QVERIFY(strangers[2].waitClosed());
    // The proven ones leave: the allowance goes with them.
    for (RawClient &client : proven)
        client.socket().abort();
    QTRY_COMPARE(m_server->unauthenticated().provenFrom(u"127.0.0.1"_s), 0);
}

void tst_WsServer::unauthenticatedTotalEvictsTheOldest()
{
    m_authenticate = false;
    m_server->setUnauthenticatedLimits({100, 4, 16 * 1024 * 1024});
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"connections without a secret at their bounds \\(4 of 4 "
                                                          "held.*dropped 1 to make room"_s));
    // The oldest holds on from an address of its own; three younger ones share another.
    RawClient oldest;
    QVERIFY(oldest.connectTo(m_server->serverPort(), QHostAddress(u"127.0.0.3"_s)));
    QCOMPARE(oldest.handshake(), 101);
    RawClient shared[3];
    for (RawClient &client : shared)
        QVERIFY(openRaw(client));
    // A newcomer gets in; the oldest connection of all makes room, whichever address holds most
    // (the busiest address would be a real worker fleet's behind one NAT).
    RawClient newcomer;
    QVERIFY(newcomer.connectTo(m_server->serverPort(), QHostAddress(u"127.0.0.2"_s)));
    QCOMPARE(newcomer.handshake(), 101);
    QVERIFY(oldest.waitClosed());
    for (RawClient &client : shared)
        QCOMPARE(client.socket().state(), QAbstractSocket::ConnectedState);
    QCOMPARE(m_server->unauthenticated().size(), 4);
}

void tst_WsServer::unauthenticatedBytesBudget()
{
    m_authenticate = false;
    // Budget 256 KiB: five peers each hold all but the last byte of a 60 KiB frame (300 KiB).
    m_server->setUnauthenticatedLimits({100, 100, 256 * 1024});
    m_maxMessageBytes = 64 * 1024;
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"connections without a secret at their bounds .*dropped"_s));
    RawClient small;
    QVERIFY(openRaw(small));
    small.send(clientFrame(OpText, QByteArray(1000, 'e')).chopped(1)); // an enroll frame's size
    RawClient big[5];
    for (RawClient &client : big) {
        QVERIFY(openRaw(client));
        client.send(clientFrame(OpText, QByteArray(60 * 1024, 'x')).chopped(1));
    }
    QTRY_VERIFY(std::count_if(std::begin(big), std::end(big), [](RawClient &c) {
                    return c.socket().state() == QAbstractSocket::UnconnectedState || c.waitClosed(1);
                }) >= 2);
    QVERIFY(m_server->unauthenticated().bytes() <= 256 * 1024);
    // The small one, the biggest holders' bystander, is still there and finishes its frame.
    QCOMPARE(small.socket().state(), QAbstractSocket::ConnectedState);
    small.send(QByteArray(1, char('e' ^ 0x37 ^ 0x37))); // any last byte completes it
    QTRY_VERIFY(!m_accepted.front()->texts.isEmpty());
}

// The TLS listener's connections are bounded through their PeerConnection (the orchestrator admits
// them upgraded): one that authenticates counts for its address's allowance until it is gone.
void tst_WsServer::aPeerConnectionCountsAsProvenUntilItGoes()
{
    UnauthenticatedPool pool({1, 100, 16 * 1024 * 1024}, [](QObject *) {});
    std::vector<std::unique_ptr<QWebSocket>> clients;
    std::vector<std::unique_ptr<PeerConnection>> connections;
    for (int i = 0; i < 2; ++i) {
        clients.push_back(std::make_unique<QWebSocket>());
        QVERIFY(openClient(*clients.back()));
        connections.push_back(std::make_unique<PeerConnection>(latest()->socket.release(), 1024 * 1024));
        QVERIFY(pool.admit(connections.back().get(), u"10.0.0.7"_s));
        connections.back()->setUnauthenticatedPool(&pool);
        connections.back()->authenticate();
    }
    QCOMPARE(pool.size(), 0);
    QCOMPARE(pool.provenFrom(u"10.0.0.7"_s), 2);
    QObject waiting[5];
    QVERIFY(pool.admit(&waiting[0], u"10.0.0.7"_s));
    QVERIFY(pool.admit(&waiting[1], u"10.0.0.7"_s)); // beyond perAddress (1): it holds 2 proven
    QVERIFY(!pool.admit(&waiting[2], u"10.0.0.7"_s));
    // A stranger's address proved nothing: perAddress.
    QVERIFY(pool.admit(&waiting[3], u"10.0.0.8"_s));
    QVERIFY(!pool.admit(&waiting[4], u"10.0.0.8"_s));
    connections.pop_back(); // gone: the allowance goes with it
    QCOMPARE(pool.provenFrom(u"10.0.0.7"_s), 1);
    for (QObject &object : waiting)
        pool.remove(&object);
    QCOMPARE(pool.size(), 0);
}

void tst_WsServer::unauthenticatedFramesAreSmall()
{
    m_authenticate = false;
    // Before authenticate(), a peer may send frames of 64 KiB: a 1 MiB frame (the old
    // slow-loris: all but the last byte) is refused by its header, before it is buffered.
    QWebSocket client;
    QSignalSpy disconnected(&client, &QWebSocket::disconnected);
    QVERIFY(openClient(client));
    PeerConnection connection(latest()->socket.release(), 1024 * 1024);
    QSignalSpy frames(&connection, &PeerConnection::frameReceived);
    client.sendTextMessage(u"{\"type\":\"enroll\",\"pad\":\"%1\"}"_s.arg(QString(100 * 1024, u'x')));
    QVERIFY(disconnected.wait(5000));
    QCOMPARE(int(client.closeCode()), 1009);
    QCOMPARE(frames.size(), 0);

    // Authenticated, the endpoint's own limit applies.
    QWebSocket second;
    QVERIFY(openClient(second));
    PeerConnection trusted(latest()->socket.release(), 1024 * 1024);
    QSignalSpy trustedFrames(&trusted, &PeerConnection::frameReceived);
    trusted.authenticate();
    second.sendTextMessage(u"{\"type\":\"output\",\"data\":\"%1\"}"_s.arg(QString(100 * 1024, u'x')));
    QVERIFY(trustedFrames.wait(5000));
}

void tst_WsServer::unauthenticatedOversizedFrameIsNotRead()
{
    // A peer without a secret that announces a frame over the limit: the close (1009) and the
    // end of the stream reach it, nothing more of its input is read, and the connection is gone
    // within a second whether it answers or not (an authenticated peer's frame is skipped while
    // the close handshake completes: oversizedFrameIsSkipped).
    m_authenticate = false;
    m_maxMessageBytes = 1000;
    RawClient client;
    Accepted *accepted = openRaw(client);
    QVERIFY(accepted);
    QElapsedTimer clock;
    clock.start();
    client.send(clientFrame(OpText, QByteArray(200 * 1024, 'x')).chopped(1)); // never finished
    ServerFrame close;
    QVERIFY(client.readFrame(&close));
    QCOMPARE(close.opcode, OpClose);
    QCOMPARE(close.closeCode(), quint16(1009));
    QTRY_COMPARE_WITH_TIMEOUT(accepted->disconnects, 1, 3000);
    QVERIFY2(clock.elapsed() < 2500, qPrintable(QString::number(clock.elapsed())));
    QCOMPARE(accepted->socket->closeCode(), 1009);
    QVERIFY(accepted->texts.isEmpty());
}

void tst_WsServer::backlogPausesReadingAndResumes()
{
    // A client that pipelines requests and reads none of the replies: once 1 MiB of replies
    // waits, its requests are no longer read (the kernel and TCP hold them), so what it costs is
    // bounded; when it reads again, every request is answered.
    RawClient client;
    QVERIFY(client.connectTo(m_server->serverPort()));
    QCOMPARE(client.handshake(), 101);
    QTRY_COMPARE(m_accepted.size(), size_t(1));
    client.socket().setReadBufferSize(16 * 1024);
    PeerConnection connection(latest()->socket.release(), 1024 * 1024);
    connection.authenticate();
    int handled = 0;
    qint64 largestBacklog = 0;
    const QString reply(256 * 1024, u'r');
    connect(&connection, &PeerConnection::frameReceived, this, [&](const QJsonObject &) {
        ++handled;
        connection.send(QJsonObject{{u"type"_s, u"result"_s}, {u"data"_s, reply}});
        largestBacklog = std::max(largestBacklog, connection.backlogBytes());
    });
    constexpr int Requests = 400; // 100 MiB of replies if all were answered
    QByteArray requests;
    for (int i = 0; i < Requests; ++i)
        requests += clientFrame(OpText, QByteArrayLiteral("{\"type\":\"worker.list\",\"id\":\"1\"}"));
    client.send(requests);
    QTRY_VERIFY(handled > 0);
    QTest::qWait(500); // nothing more is read while the replies wait
    const int whilePaused = handled;
    QVERIFY2(whilePaused < Requests, qPrintable(QString::number(whilePaused)));
    QVERIFY(connection.isOpen());
    // At most the pause threshold plus the replies to what was read in the same turn.
    QVERIFY2(largestBacklog < 24 * 1024 * 1024, qPrintable(QString::number(largestBacklog)));
    // The client reads again: the rest is answered.
    client.socket().setReadBufferSize(0);
    QTRY_VERIFY_WITH_TIMEOUT((client.rest().clear(), handled == Requests), 30000);
    QVERIFY(connection.isOpen());
}

void tst_WsServer::firstCloseDecidedWins()
{
    // Issue 18 item 18: a revoked worker's connection is closed with 4003 behind a commit; a
    // frame of the worker handled meanwhile was refused as "before enroll" and its 4000 replaced
    // the 4003.
    QWebSocket client;
    QSignalSpy disconnected(&client, &QWebSocket::disconnected);
    QVERIFY(openClient(client));
    bool batchOpen = true;
    OutboundGate gate([&batchOpen] { return batchOpen; });
    PeerConnection connection(latest()->socket.release(), 1024 * 1024);
    connection.setGate(&gate);
    QSignalSpy frames(&connection, &PeerConnection::frameReceived);
    connection.send(QJsonObject{{u"type"_s, u"error"_s}, {u"code"_s, u"token_revoked"_s}});
    connection.close(4003, u"token_revoked"_s);
    QVERIFY(connection.isClosing());
    connection.reject(u"enroll_expected"_s, u"the first frame must be enroll"_s);
    connection.close(4000, u"another reason"_s);
    client.sendTextMessage(u"{\"type\":\"finished\"}"_s); // crossing the close
    QTest::qWait(100);
    QCOMPARE(frames.size(), 0); // ignored: the close is decided
    batchOpen = false;
    gate.releaseAll();
    QVERIFY(disconnected.wait(5000));
    QCOMPARE(int(client.closeCode()), 4003);
    QCOMPARE(client.closeReason(), u"token_revoked"_s);
}

QTEST_GUILESS_MAIN(tst_WsServer)
#include "tst_wsserver.moc"
