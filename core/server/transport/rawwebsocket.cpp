// RawWebSocket reading: bytes from the descriptor, the frames in them (RFC 6455 5), their
// checks and delivery, and the close handshake. The upgrade is in rawwebsockethandshake.cpp,
// sending in rawwebsocketwrite.cpp.
#include "server/transport/rawwebsocket.h"

#include "common/logging.h"
#include "server/transport/rawwebsocket_p.h"
#include "server/transport/rawwebsocketserver.h"

#include <QCryptographicHash>
#include <QStringDecoder>
#include <QUrl>
#include <QtEndian>

#include <cerrno>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

namespace Swamp {

using namespace WebSocketFrames;

namespace {

// Every connection of a thread reads into one buffer (an idle connection holds none). A read
// that starts while it is in use (a nested event loop in a handler) gets a buffer of its own.
struct Scratch
{
    std::unique_ptr<char[]> data;
    bool busy = false;
};
thread_local Scratch t_scratch;

// RFC 6455 7.4: the codes a peer may send in a close frame.
bool isValidCloseCode(int code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

bool isValidUtf8(QByteArrayView bytes)
{
    QStringDecoder decoder(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
    const QString ignored = decoder.decode(bytes);
    return !decoder.hasError();
}

void unmask(char *payload, quint64 size, const uchar *key)
{
    for (quint64 i = 0; i < size; ++i)
        payload[i] = char(uchar(payload[i]) ^ key[i & 3]);
}

// Decodes the header at `bytes`; false while fewer than all of its `available` bytes are there.
inline bool readFrameHeader(const uchar *bytes, qsizetype available, FrameHeader &frame)
{
    if (available < 2)
        return false;
    frame.final = bytes[0] & 0x80;
    frame.reserved = bytes[0] & 0x70;
    frame.opcode = bytes[0] & 0x0f;
    frame.masked = bytes[1] & 0x80;
    frame.length = bytes[1] & 0x7f;
    frame.size = 2;
    if (frame.length == 126) {
        if (available < 4)
            return false;
        frame.length = qFromBigEndian<quint16>(bytes + 2);
        frame.size = 4;
    } else if (frame.length == 127) {
        if (available < 10)
            return false;
        frame.length = qFromBigEndian<quint64>(bytes + 2);
        frame.size = 10;
    }
    if (frame.masked)
        frame.size += 4;
    return true;
}

// Why a frame a client sent on an open connection breaks RFC 6455, or null if it does not. The
// message size limit is not checked here. `messageOpcode`: of the unfinished message, 0: none.
inline const char *protocolViolation(const FrameHeader &frame, quint8 messageOpcode)
{
    if (frame.reserved)
        return "reserved bits set (no extension was negotiated)";
    if (!frame.masked)
        return "client frames must be masked";
    if (frame.isControl()) {
        if (frame.opcode > OpPong)
            return "reserved opcode";
        if (!frame.final || frame.length > 125)
            return "control frames must be unfragmented and at most 125 bytes";
        return nullptr;
    }
    if (frame.opcode > OpBinary)
        return "reserved opcode";
    if (frame.opcode == OpContinuation && messageOpcode == 0)
        return "continuation frame outside a fragmented message";
    if (frame.opcode != OpContinuation && messageOpcode != 0)
        return "new message inside a fragmented message";
    return nullptr;
}

} // namespace

RawWebSocket::RawWebSocket(int descriptor, RawWebSocketServer *server)
    : m_server(server), m_readNotifier(descriptor, QSocketNotifier::Read), m_descriptor(descriptor)
{
    connect(&m_readNotifier, &QSocketNotifier::activated, this, &RawWebSocket::readAvailable);
}

RawWebSocket::~RawWebSocket()
{
    m_readNotifier.setEnabled(false);
    if (m_writeNotifier)
        m_writeNotifier->setEnabled(false);
    if (m_descriptor >= 0)
        ::close(m_descriptor);
    if (m_server)
        m_server->detach(this);
}

void RawWebSocket::start()
{
    if (m_state != State::Pending)
        return;
    m_state = State::Open;
    enableReading();
    // A client may send its first frame right behind the handshake.
    if (!m_in.isEmpty())
        QMetaObject::invokeMethod(this, &RawWebSocket::parseBuffered, Qt::QueuedConnection);
}

void RawWebSocket::readAvailable()
{
    if (m_reading) {
        // A handler of this socket runs a nested event loop: read again once it has returned.
        m_readNotifier.setEnabled(false);
        m_readDeferred = true;
        return;
    }
    Scratch &scratch = t_scratch;
    std::unique_ptr<char[]> own;
    char *buffer = nullptr;
    if (scratch.busy) {
        own = std::make_unique<char[]>(ScratchBytes);
        buffer = own.get();
    } else {
        if (!scratch.data)
            scratch.data = std::make_unique<char[]>(ScratchBytes);
        buffer = scratch.data.get();
        scratch.busy = true;
    }
    m_reading = true;
    // A few buffers per turn at most, so that one busy peer does not hold up the others.
    for (int round = 0; round < 16; ++round) {
        if (m_state == State::Pending || m_state == State::Finishing || m_state == State::Closed
            || (m_readPaused && m_state == State::Open))
            break;
        const ssize_t received = ::recv(m_descriptor, buffer, size_t(ScratchBytes), 0);
        if (received > 0) {
            consume(buffer, qsizetype(received));
            if (received < ScratchBytes)
                break;
            continue;
        }
        if (received < 0 && errno == EINTR)
            continue;
        if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        // End of stream, or ECONNRESET and the like: the peer is gone.
        finish();
        break;
    }
    m_reading = false;
    if (!own)
        scratch.busy = false;
    if (std::exchange(m_readDeferred, false))
        enableReading();
    reportBuffered();
}

void RawWebSocket::enableReading()
{
    if (m_state == State::Closed || m_state == State::Pending || m_state == State::Finishing || m_readStopped
        || (m_readPaused && m_state == State::Open))
        return;
    m_readNotifier.setEnabled(true);
}

void RawWebSocket::setReadingPaused(bool paused)
{
    if (m_readPaused == paused)
        return;
    m_readPaused = paused;
    if (paused)
        m_readNotifier.setEnabled(false);
    else if (!m_reading)
        enableReading();
    else
        m_readDeferred = true;
}

void RawWebSocket::setAuthenticated()
{
    if (std::exchange(m_authenticated, true))
        return;
    if (m_server)
        m_server->authenticated(this);
}

void RawWebSocket::reportBuffered()
{
    if (!m_authenticated && m_server && m_state != State::Closed)
        m_server->buffered(this, m_in.size() + m_message.size() + m_request.size());
}

void RawWebSocket::consume(char *data, qsizetype size)
{
    if (m_state == State::Handshake) {
        readHandshake(data, size);
        return;
    }
    if (!readsFrames())
        return; // Discarding
    if (m_in.isEmpty()) {
        // The common case: whole frames, parsed in the scratch buffer.
        const qsizetype used = parseFrames(data, size);
        if (used < size && readsFrames())
            m_in = QByteArray(data + used, size - used);
        return;
    }
    QByteArray buffer = std::exchange(m_in, QByteArray());
    buffer.append(data, size);
    parseBuffer(std::move(buffer));
}

void RawWebSocket::parseBuffered()
{
    if (m_reading || m_in.isEmpty() || !readsFrames())
        return;
    m_reading = true;
    parseBuffer(std::exchange(m_in, QByteArray()));
    m_reading = false;
}

void RawWebSocket::parseBuffer(QByteArray buffer)
{
    const qsizetype used = parseFrames(buffer.data(), buffer.size());
    if (used == buffer.size() || !readsFrames())
        return;
    // Only the unfinished frame is kept, in a buffer of its size (not one that held a large
    // message before it).
    m_in =
        used == 0 ? std::move(buffer) : QByteArray(buffer.constData() + used, buffer.size() - used);
}

void RawWebSocket::refuseUnread(int code, const char *reason)
{
    m_closeCode = quint16(code);
    sendClose(code, reason);
    if (m_state == State::Closed)
        return;
    // The close frame and then the end of our side go out; nothing more is read, and the server
    // drops the connection within a second (UnreadCloseTimeoutMs) whatever the peer does.
    m_state = State::Discarding;
    m_readStopped = true;
    m_readNotifier.setEnabled(false);
    m_in = QByteArray();
    m_message = QByteArray();
    m_messageOpcode = 0;
    m_skip = 0;
    if (unsentBytes() == 0)
        ::shutdown(m_descriptor, SHUT_WR);
    if (m_server)
        m_server->closing(this, RawWebSocketServer::UnreadCloseTimeoutMs);
    else
        finish();
}

void RawWebSocket::discardUntilClosed()
{
    m_state = State::Discarding;
    if (unsentBytes() == 0)
        ::shutdown(m_descriptor, SHUT_WR);
    if (m_server)
        m_server->closing(this);
    else
        finish();
}

qsizetype RawWebSocket::parseFrames(char *data, qsizetype size)
{
    qsizetype position = 0;
    while (readsFrames() && position < size) {
        const qsizetype available = size - position;
        if (m_skip > 0) {
            const qsizetype skipped = qsizetype(std::min<quint64>(m_skip, quint64(available)));
            position += skipped;
            m_skip -= quint64(skipped);
            continue;
        }
        const auto *bytes = reinterpret_cast<const uchar *>(data + position);
        FrameHeader frame;
        if (!readFrameHeader(bytes, available, frame))
            break;
        const FrameVerdict verdict = checkFrame(frame);
        if (verdict == FrameVerdict::Stop)
            break;
        if (verdict == FrameVerdict::Skip)
            continue;
        if (quint64(available) < quint64(frame.size) + frame.length)
            break; // unfinished
        char *payload = data + position + frame.size;
        if (frame.masked)
            unmask(payload, frame.length, bytes + frame.size - 4);
        position += frame.size + qsizetype(frame.length);
        handleFrame(frame.final, frame.opcode, payload, qsizetype(frame.length));
    }
    return position;
}

RawWebSocket::FrameVerdict RawWebSocket::checkFrame(const FrameHeader &frame)
{
    if (frame.length > quint64(std::numeric_limits<qint64>::max()) - 16) {
        if (m_state == State::Open)
            failProtocol(CloseProtocolError, "frame length out of range");
        else
            finish();
        return FrameVerdict::Stop;
    }
    if (m_state == State::Closing && frame.opcode != OpClose) {
        // Our close frame is out: the peer's frames are dropped until its close frame.
        m_skip = quint64(frame.size) + frame.length;
        return FrameVerdict::Skip;
    }
    if (m_state != State::Open) {
        if (!frame.final || frame.length > 125) {
            finish(); // a malformed close frame while closing: nothing more to wait for
            return FrameVerdict::Stop;
        }
        return FrameVerdict::Read;
    }
    if (const char *violation = protocolViolation(frame, m_messageOpcode)) {
        failProtocol(CloseProtocolError, violation);
        return FrameVerdict::Stop;
    }
    if (!frame.isControl() &&
        (frame.length > quint64(m_maxMessageBytes) ||
         quint64(m_message.size()) + frame.length > quint64(m_maxMessageBytes)))
        return refuseTooBig(frame);
    return FrameVerdict::Read;
}

RawWebSocket::FrameVerdict RawWebSocket::refuseTooBig(const FrameHeader &frame)
{
    qCDebug(lcWs) << "message over" << m_maxMessageBytes << "bytes from" << peerAddress();
    if (!m_authenticated) {
        // A peer without a secret: not a byte more of it is read (skipping a megabyte a frame
        // at loopback speed was what such an attack cost).
        refuseUnread(CloseTooBig, "message too big");
        return FrameVerdict::Stop;
    }
    // Refused before it is read: its bytes are skipped while we wait for the peer's close frame.
    close(CloseTooBig, QStringLiteral("message too big"));
    m_skip = quint64(frame.size) + frame.length;
    return FrameVerdict::Skip;
}

void RawWebSocket::handleFrame(bool final, int opcode, const char *payload, qsizetype size)
{
    switch (opcode) {
    case OpClose:
        handleClose(payload, size);
        return;
    case OpPing:
        sendFrame(OpPong, payload, size);
        return;
    case OpPong:
        Q_EMIT pongReceived();
        return;
    default:
        break;
    }
    if (opcode != OpContinuation) {
        if (final) {
            deliver(opcode, payload, size); // the common case: no copy
            return;
        }
        m_messageOpcode = quint8(opcode);
    }
    m_message.append(payload, size);
    if (!final)
        return;
    const QByteArray message = std::exchange(m_message, QByteArray());
    deliver(std::exchange(m_messageOpcode, 0), message.constData(), message.size());
}

void RawWebSocket::deliver(int opcode, const char *payload, qsizetype size)
{
    if (opcode == OpBinary) {
        Q_EMIT binaryMessageReceived(QByteArray(payload, size));
        return;
    }
    QStringDecoder decoder(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless |
                                                     QStringDecoder::Flag::ConvertInitialBom);
    const QString text = decoder.decode(QByteArrayView(payload, size));
    if (decoder.hasError()) {
        failProtocol(CloseInvalidPayload, "text message is not valid UTF-8");
        return;
    }
    Q_EMIT textMessageReceived(text);
}

void RawWebSocket::handleClose(const char *payload, qsizetype size)
{
    if (m_state == State::Closing) {
        finishWhenWritten(); // the peer's answer to ours
        return;
    }
    quint16 code = CloseNoStatus;
    if (size == 1) {
        failProtocol(CloseProtocolError, "close frame with a one-byte payload");
        return;
    }
    if (size >= 2) {
        code = qFromBigEndian<quint16>(payload);
        if (!isValidCloseCode(code)) {
            failProtocol(CloseProtocolError, "invalid close code");
            return;
        }
        if (!isValidUtf8(QByteArrayView(payload + 2, size - 2))) {
            failProtocol(CloseInvalidPayload, "close reason is not valid UTF-8");
            return;
        }
    }
    // The peer closes first: answer with its code, then drop the connection (the server side
    // closes the TCP connection first, RFC 6455 7.1.1).
    m_closeCode = code;
    m_state = State::Finishing;
    m_message = QByteArray();
    m_messageOpcode = 0;
    if (code == CloseNoStatus)
        sendFrame(OpClose, nullptr, 0);
    else
        sendClose(code, QByteArray());
    finishWhenWritten();
}

void RawWebSocket::failProtocol(int code, const char *reason)
{
    qCDebug(lcWs) << "closing the connection from" << peerAddress() << code << reason;
    if (m_state == State::Open) {
        m_closeCode = quint16(code);
        sendClose(code, reason);
    }
    m_message = QByteArray();
    m_messageOpcode = 0;
    if (m_state == State::Closed)
        return;
    discardUntilClosed();
}

} // namespace Swamp
