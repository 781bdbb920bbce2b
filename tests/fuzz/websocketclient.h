#pragma once

#include <QByteArray>
#include <QList>

#include <functional>
#include <memory>
#include <optional>

class QSocketNotifier;

namespace Swamp::Fuzz {

// The client side of RFC 6455 for the fuzz harnesses: a non-blocking TCP socket to 127.0.0.1,
// served by the event loop of the thread that runs the server under test. Everything the server
// sends is checked as it arrives, against what RawWebSocket must send: one HTTP answer (101, or
// an error with exactly its Content-Length of body), then only final, unmasked frames without
// reserved bits, of the opcodes text, close, ping and pong, with the shortest length encoding;
// control frames of at most 125 bytes; a close code a server may send, UTF-8 reasons and texts;
// nothing after a close frame. A violation aborts the process: that is a finding.
// With SWAMP_FUZZ_TRACE=1 in the environment every text message is printed as it goes.
class WebSocketClient final
{
public:
    struct Message
    {
        int opcode; // 1 text, 2 binary
        QByteArray payload;
    };

    WebSocketClient();
    ~WebSocketClient();
    WebSocketClient(const WebSocketClient &) = delete;
    WebSocketClient &operator=(const WebSocketClient &) = delete;

    // Connects to 127.0.0.1:`port` from `source`, an address of 127/8 in host byte order (the
    // orchestrator counts refused enrollments per address).
    bool connectTo(quint16 port, quint32 source = 0x7f000001);
    // Writes the bytes as they are. Gives up when the server closed the connection or stopped
    // reading for a second.
    void writeRaw(QByteArrayView bytes);
    // The upgrade request for `path` with `headers` ("Name: value\r\n" each).
    static QByteArray upgradeRequest(QByteArrayView path, QByteArrayView headers = {});
    // Sends upgradeRequest() and waits for the answer: true on 101 with the right accept key.
    bool handshake(QByteArrayView path, QByteArrayView headers = {});
    // A masked frame (its first byte is `final`, then `opcode`).
    void sendFrame(int opcode, QByteArrayView payload, bool final = true);
    void sendText(QByteArrayView utf8) { sendFrame(0x1, utf8); }
    void sendClose(int code);
    void shutdownWrite();

    // Pumps the event loop until the server closed its side of the connection.
    bool waitForEnd(int timeoutMs);

    // Called for every text or binary message as it arrives (they are kept as well).
    void setMessageHandler(std::function<void(const Message &)> handler);
    // Pings are answered with pongs, a close frame with a close frame (unless one was sent),
    // unless this is off (the bytes sent are then exactly those written).
    void setAutomaticAnswers(bool answer) { m_automaticAnswers = answer; }

    int status() const { return m_status; } // of the HTTP answer; 0 before it
    bool upgraded() const { return m_status == 101; }
    bool ended() const { return m_ended; } // the server closed its side
    std::optional<int> closeCode() const { return m_closeCode; }
    const QList<Message> &messages() const { return m_messages; }
    int pongs() const { return m_pongs; }
    qint64 bytesReceived() const { return m_bytesReceived; }

private:
    void readAvailable();
    void parse();
    bool parseHead();
    bool parseFrame();
    [[noreturn]] void violation(const char *what) const;

    int m_descriptor = -1;
    std::unique_ptr<QSocketNotifier> m_notifier;
    std::function<void(const Message &)> m_handler;
    QByteArray m_in;
    QByteArray m_expectedAccept; // of the key handshake() sent
    qint64 m_bytesReceived = 0;
    qint64 m_bodyLeft = 0; // of an HTTP error answer
    std::optional<int> m_closeCode;
    QList<Message> m_messages;
    quint32 m_maskSeed = 0x2545f491;
    int m_status = 0;
    int m_pongs = 0;
    bool m_ended = false;
    bool m_writeShut = false;
    bool m_closeSeen = false;
    bool m_closeSent = false;
    bool m_automaticAnswers = true;
};

} // namespace Swamp::Fuzz
