#pragma once

#include "server/transport/peersocket.h"

#include <QByteArray>
#include <QPointer>
#include <QSocketNotifier>

#include <memory>

namespace Swamp {

class RawWebSocketServer;
namespace WebSocketFrames {
struct FrameHeader;
}

// One connection accepted by RawWebSocketServer: the server side of RFC 6455 on the file
// descriptor itself. Memory is what an idle orchestrator spends per worker, so an open idle
// connection holds no buffer: input is read into one scratch buffer shared by all connections
// and only the bytes of an unfinished frame (or message) are kept; output goes to the kernel
// at once and only what it did not take is kept, with a write notifier while it waits. There
// are no timers per connection: RawWebSocketServer times out handshakes and close handshakes.
//
// Protocol errors close with the RFC codes: 1002 (unmasked or malformed frame, reserved bits or
// opcodes, a bad control frame), 1007 (a text message that is not UTF-8), 1009 (a message or
// frame over maxMessageBytes; before setAuthenticated() the rest is not read at all: the close
// frame and the end of our side go out and the connection is dropped within a second). close() waits for the peer's close frame (or end of stream) before
// it drops the connection; the server aborts those that take too long. `disconnected` is always
// emitted from the event loop, never from inside a call to this object.
class RawWebSocket final : public PeerSocket
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(RawWebSocket)

public:
    ~RawWebSocket() override;

    void setMaxMessageBytes(qint64 bytes) override { m_maxMessageBytes = bytes; }
    void setAuthenticated() override;
    qint64 unsentBytes() const override { return m_out.size() - m_outAt; }
    void setReadingPaused(bool paused) override;
    void sendTexts(const QList<QByteArray> &utf8) override;
    void close(int code, const QString &reason) override;
    void abort() override;
    void ping() override;
    bool isOpen() const override { return m_state == State::Open; }
    int closeCode() const override { return m_closeCode; }
    QHostAddress peerAddress() const override;
    QString requestPath() const override;
    QByteArray requestHeader(const QByteArray &name) const override;

private:
    friend class RawWebSocketServer;

    enum class State : quint8 {
        Handshake, // reading the upgrade request
        Pending,   // upgraded, waiting for nextPendingConnection(); nothing is read
        Open,
        Closing,    // our close frame is sent: frames are skipped until the peer's close frame
        Discarding, // an HTTP error or a protocol error was sent: input is dropped until EOF
        Finishing,  // the close handshake is over: the rest of the output drains, then the end
        Closed,
    };

    RawWebSocket(int descriptor, RawWebSocketServer *server);
    // Handed over by the server: frames are read from now on (the bytes that came with the
    // handshake first, on the next event-loop turn, once the new owner has connected).
    void start();
    void readAvailable();
    void writeAvailable();
    void consume(char *data, qsizetype size);
    void readHandshake(const char *data, qsizetype size);
    void answerHandshake(const QByteArray &head);
    void refuseHandshake(int status, const QByteArray &reason);
    void parseBuffered();
    void parseBuffer(QByteArray buffer);
    qsizetype parseFrames(char *data, qsizetype size);
    // What parseFrames() does with a frame once its header is read: read it, skip its bytes, or
    // stop reading (the connection is failing or finished).
    enum class FrameVerdict : quint8 { Read, Skip, Stop };
    FrameVerdict checkFrame(const WebSocketFrames::FrameHeader &frame);
    // A frame over maxMessageBytes: see the class comment for what a peer with and without a
    // secret gets.
    FrameVerdict refuseTooBig(const WebSocketFrames::FrameHeader &frame);
    void handleFrame(bool final, int opcode, const char *payload, qsizetype size);
    void handleClose(const char *payload, qsizetype size);
    void deliver(int opcode, const char *payload, qsizetype size);
    void failProtocol(int code, const char *reason);
    void sendClose(int code, const QByteArray &reason);
    void sendFrame(int opcode, const char *payload, qsizetype size);
    // The input can no longer be parsed (an HTTP or protocol error was sent): it is dropped until
    // the peer closes its side, or the server's sweep gives up on it.
    void discardUntilClosed();
    // Sends a close frame with `code` and the end of our side, then reads nothing more: the
    // server drops the connection shortly (a peer without a secret that sent a frame too large).
    void refuseUnread(int code, const char *reason);
    // Writes the header of a frame of `size` bytes into `header` (10 bytes); returns its length.
    static qsizetype frameHeader(uchar *header, int opcode, qsizetype size);
    // `owner`, when given, holds `body`: what the kernel does not take is kept by sharing it.
    void write(const char *head, qsizetype headSize, const char *body, qsizetype bodySize,
               const QByteArray *owner = nullptr);
    void finishWhenWritten();
    void finish();
    void dropStalled(); // over m_maxUnsentBytes: warns and drops the connection
    bool readsFrames() const { return m_state == State::Open || m_state == State::Closing; }
    // Until authenticated, what this connection buffers counts against the server's budget for
    // connections without a secret.
    void reportBuffered();
    void enableReading();

    QPointer<RawWebSocketServer> m_server;
    QSocketNotifier m_readNotifier;
    std::unique_ptr<QSocketNotifier> m_writeNotifier; // created at the first short write
    QByteArray m_in;      // handshake bytes, or the start of an unfinished frame
    QByteArray m_message; // the fragments of an unfinished message
    QByteArray m_out;     // what the kernel did not take yet, from m_outAt on
    qsizetype m_outAt = 0; // (a large message's own bytes are kept, not copied: m_out shares them)
    QByteArray m_request; // the upgrade request's head, for requestPath() and requestHeader()
    qint64 m_maxMessageBytes = 1024 * 1024;
    quint64 m_skip = 0; // bytes of a frame still to skip (while closing)
    int m_descriptor;
    quint16 m_closeCode = 1006;
    State m_state = State::Handshake;
    quint8 m_messageOpcode = 0; // of the unfinished message; 0: none
    bool m_reading = false;
    bool m_readDeferred = false;
    bool m_readPaused = false;
    bool m_readStopped = false; // refuseUnread(): never again
    bool m_authenticated = false;
};

} // namespace Swamp
