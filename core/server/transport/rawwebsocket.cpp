#include "server/transport/rawwebsocket.h"

#include "common/logging.h"
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

namespace {

enum Opcode : int {
    OpContinuation = 0x0,
    OpText = 0x1,
    OpBinary = 0x2,
    OpClose = 0x8,
    OpPing = 0x9,
    OpPong = 0xA,
};

constexpr quint16 CloseGoingAway = 1001;
constexpr quint16 CloseProtocolError = 1002;
constexpr quint16 CloseNoStatus = 1005;
constexpr quint16 CloseInvalidPayload = 1007;
constexpr quint16 CloseTooBig = 1009;
constexpr qsizetype MaxCloseReasonBytes = 123;
constexpr qsizetype ScratchBytes = 64 * 1024;

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

// The value of each `name` header of a request head (request line, then "Name: value\r\n"
// lines), trimmed, in order.
QList<QByteArray> headerValues(const QByteArray &head, QByteArrayView name)
{
    QList<QByteArray> values;
    qsizetype start = head.indexOf("\r\n");
    while (start >= 0 && start + 2 < head.size()) {
        start += 2;
        qsizetype end = head.indexOf("\r\n", start);
        if (end < 0)
            end = head.size();
        const QByteArrayView line = QByteArrayView(head).sliced(start, end - start);
        const qsizetype colon = line.indexOf(':');
        if (colon > 0 && line.first(colon).trimmed().compare(name, Qt::CaseInsensitive) == 0)
            values << line.sliced(colon + 1).trimmed().toByteArray();
        start = end;
    }
    return values;
}

// Whether a comma-separated header (all its occurrences) lists `token`, case-insensitively.
bool headerHasToken(const QByteArray &head, QByteArrayView name, QByteArrayView token)
{
    for (const QByteArray &value : headerValues(head, name)) {
        for (const QByteArray &item : value.split(',')) {
            if (item.trimmed().compare(token, Qt::CaseInsensitive) == 0)
                return true;
        }
    }
    return false;
}

QByteArray reasonPhrase(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 426:
        return "Upgrade Required";
    case 431:
        return "Request Header Fields Too Large";
    default:
        return "Error";
    }
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

void RawWebSocket::readHandshake(const char *data, qsizetype size)
{
    if (m_in.isEmpty() && size > 0 && (uchar(data[0]) < 0x20 || uchar(data[0]) >= 0x7f)) {
        // Not HTTP at all, most likely a TLS ClientHello (wss:// to this ws:// listener): the
        // client hears at once that the connection was closed during the handshake, instead of
        // after the handshake timeout (an HTTP answer would only confuse its TLS layer).
        qCDebug(lcWs) << "dropped a connection that does not speak HTTP from" << peerAddress();
        finish();
        return;
    }
    const qsizetype from = std::max<qsizetype>(0, m_in.size() - 3);
    m_in.append(data, size);
    const qsizetype end = m_in.indexOf("\r\n\r\n", from);
    if (end < 0) {
        if (m_in.size() > RawWebSocketServer::MaxRequestHeadBytes)
            refuseHandshake(431, "request head larger than 16 KiB");
        return;
    }
    if (end + 4 > RawWebSocketServer::MaxRequestHeadBytes) {
        refuseHandshake(431, "request head larger than 16 KiB");
        return;
    }
    const QByteArray head = m_in.left(end + 2); // each line with its CRLF
    m_in = end + 4 < m_in.size() ? m_in.mid(end + 4) : QByteArray();
    answerHandshake(head);
}

void RawWebSocket::answerHandshake(const QByteArray &head)
{
    const QList<QByteArray> requestLine = head.left(head.indexOf("\r\n")).split(' ');
    if (requestLine.size() != 3 || requestLine.at(0).isEmpty() || requestLine.at(1).isEmpty())
        return refuseHandshake(400, "malformed request line");
    if (requestLine.at(0) != "GET")
        return refuseHandshake(400, "a WebSocket upgrade is a GET request");
    if (requestLine.at(2) != "HTTP/1.1")
        return refuseHandshake(400, "a WebSocket upgrade needs HTTP/1.1");
    const QUrl target = QUrl::fromEncoded(requestLine.at(1), QUrl::StrictMode);
    if (!target.isValid() || (target.isRelative() && !requestLine.at(1).startsWith('/')))
        return refuseHandshake(400, "the request target is not a path");
    for (qsizetype start = head.indexOf("\r\n") + 2; start < head.size();) {
        const qsizetype end = head.indexOf("\r\n", start);
        const QByteArrayView line = QByteArrayView(head).sliced(start, end - start);
        const qsizetype colon = line.indexOf(':');
        if (colon <= 0 || line.first(colon).contains(' ') || line.first(colon).contains('\t'))
            return refuseHandshake(400, "malformed header line");
        start = end + 2;
    }
    if (headerValues(head, "Host").value(0).isEmpty())
        return refuseHandshake(400, "the Host header is missing");
    if (!headerHasToken(head, "Upgrade", "websocket"))
        return refuseHandshake(400, "not a WebSocket upgrade: Upgrade: websocket is missing");
    if (!headerHasToken(head, "Connection", "upgrade"))
        return refuseHandshake(400, "not a WebSocket upgrade: Connection: Upgrade is missing");
    if (!headerHasToken(head, "Sec-WebSocket-Version", "13"))
        return refuseHandshake(426, "only WebSocket version 13 is supported");
    const QList<QByteArray> keys = headerValues(head, "Sec-WebSocket-Key");
    const auto key =
        QByteArray::fromBase64Encoding(keys.value(0), QByteArray::AbortOnBase64DecodingErrors);
    if (keys.size() != 1 || !key || key.decoded.size() != 16)
        return refuseHandshake(400, "Sec-WebSocket-Key must be 16 bytes in base64");

    const QByteArray keyAndGuid = keys.first() + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    const QByteArray accept =
        QCryptographicHash::hash(keyAndGuid, QCryptographicHash::Sha1).toBase64();
    const QByteArray response =
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        accept + "\r\nServer: " + (m_server ? m_server->serverName() : QByteArray()) + "\r\n\r\n";
    m_request = head;
    m_state = State::Pending;
    m_readNotifier.setEnabled(false);
    write(response.constData(), response.size(), nullptr, 0);
    if (m_state == State::Closed)
        return;
    if (m_server)
        m_server->upgraded(this);
}

void RawWebSocket::refuseHandshake(int status, const QByteArray &reason)
{
    qCDebug(lcWs) << "refused a WebSocket handshake from" << peerAddress() << status << reason;
    const QByteArray body = reason + '\n';
    QByteArray response = "HTTP/1.1 " + QByteArray::number(status) + ' ' + reasonPhrase(status) +
                          "\r\n"
                          "Content-Type: text/plain; charset=utf-8\r\n"
                          "Content-Length: " +
                          QByteArray::number(body.size()) +
                          "\r\n"
                          "Connection: close\r\n";
    if (status == 426)
        response += "Sec-WebSocket-Version: 13\r\n";
    if (m_server)
        response += "Server: " + m_server->serverName() + "\r\n";
    response += "\r\n" + body;
    m_in = QByteArray();
    m_state = State::Discarding;
    write(response.constData(), response.size(), nullptr, 0);
    if (m_state == State::Closed)
        return;
    discardUntilClosed();
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
    if (m_out.isEmpty())
        ::shutdown(m_descriptor, SHUT_WR);
    if (m_server)
        m_server->closing(this, RawWebSocketServer::UnreadCloseTimeoutMs);
    else
        finish();
}

void RawWebSocket::discardUntilClosed()
{
    m_state = State::Discarding;
    if (m_out.isEmpty())
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
        if (available < 2)
            break;
        const bool final = bytes[0] & 0x80;
        const bool reserved = bytes[0] & 0x70;
        const int opcode = bytes[0] & 0x0f;
        const bool masked = bytes[1] & 0x80;
        quint64 length = bytes[1] & 0x7f;
        qsizetype headerSize = 2;
        if (length == 126) {
            if (available < 4)
                break;
            length = qFromBigEndian<quint16>(bytes + 2);
            headerSize = 4;
        } else if (length == 127) {
            if (available < 10)
                break;
            length = qFromBigEndian<quint64>(bytes + 2);
            headerSize = 10;
        }
        if (masked)
            headerSize += 4;
        const bool control = opcode & 0x8;
        if (length > quint64(std::numeric_limits<qint64>::max()) - 16) {
            if (m_state == State::Open)
                failProtocol(CloseProtocolError, "frame length out of range");
            else
                finish();
            break;
        }
        if (m_state == State::Closing && opcode != OpClose) {
            // Our close frame is out: the peer's frames are dropped until its close frame.
            m_skip = quint64(headerSize) + length;
            continue;
        }
        if (m_state == State::Open) {
            if (reserved) {
                failProtocol(CloseProtocolError, "reserved bits set (no extension was negotiated)");
                break;
            }
            if (!masked) {
                failProtocol(CloseProtocolError, "client frames must be masked");
                break;
            }
            if (control) {
                if (opcode > OpPong) {
                    failProtocol(CloseProtocolError, "reserved opcode");
                    break;
                }
                if (!final || length > 125) {
                    failProtocol(CloseProtocolError,
                                 "control frames must be unfragmented and at most 125 bytes");
                    break;
                }
            } else {
                if (opcode > OpBinary) {
                    failProtocol(CloseProtocolError, "reserved opcode");
                    break;
                }
                if (opcode == OpContinuation && m_messageOpcode == 0) {
                    failProtocol(CloseProtocolError,
                                 "continuation frame outside a fragmented message");
                    break;
                }
                if (opcode != OpContinuation && m_messageOpcode != 0) {
                    failProtocol(CloseProtocolError, "new message inside a fragmented message");
                    break;
                }
                if (length > quint64(m_maxMessageBytes) ||
                    quint64(m_message.size()) + length > quint64(m_maxMessageBytes)) {
                    qCDebug(lcWs) << "message over" << m_maxMessageBytes << "bytes from"
                                  << peerAddress();
                    if (!m_authenticated) {
                        // A peer without a secret: not a byte more of it is read (skipping a
                        // megabyte a frame at loopback speed was what such an attack cost).
                        refuseUnread(CloseTooBig, "message too big");
                        break;
                    }
                    // Refused before it is read: its bytes are skipped while we wait for the
                    // peer's close frame.
                    close(CloseTooBig, QStringLiteral("message too big"));
                    m_skip = quint64(headerSize) + length;
                    continue;
                }
            }
        } else if (!final || length > 125) {
            finish(); // a malformed close frame while closing: nothing more to wait for
            break;
        }
        if (quint64(available) < quint64(headerSize) + length)
            break; // unfinished
        char *payload = data + position + headerSize;
        if (masked)
            unmask(payload, length, bytes + headerSize - 4);
        position += headerSize + qsizetype(length);
        handleFrame(final, opcode, payload, qsizetype(length));
    }
    return position;
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

void RawWebSocket::sendClose(int code, const QByteArray &reason)
{
    char payload[2 + MaxCloseReasonBytes];
    qToBigEndian<quint16>(quint16(code), payload);
    const qsizetype reasonSize = std::min(reason.size(), MaxCloseReasonBytes);
    memcpy(payload + 2, reason.constData(), size_t(reasonSize));
    sendFrame(OpClose, payload, 2 + reasonSize);
}

qsizetype RawWebSocket::frameHeader(uchar *header, int opcode, qsizetype size)
{
    // Server frames are not masked.
    header[0] = uchar(0x80 | opcode);
    if (size <= 125) {
        header[1] = uchar(size);
        return 2;
    }
    if (size <= 0xffff) {
        header[1] = 126;
        qToBigEndian<quint16>(quint16(size), header + 2);
        return 4;
    }
    header[1] = 127;
    qToBigEndian<quint64>(quint64(size), header + 2);
    return 10;
}

void RawWebSocket::sendFrame(int opcode, const char *payload, qsizetype size)
{
    uchar header[10];
    const qsizetype headerSize = frameHeader(header, opcode, size);
    write(reinterpret_cast<const char *>(header), headerSize, payload, size);
}

void RawWebSocket::write(const char *head, qsizetype headSize, const char *body, qsizetype bodySize)
{
    if (m_state == State::Closed)
        return;
    if (!m_out.isEmpty()) {
        if (m_out.size() + headSize + bodySize > m_maxUnsentBytes) {
            dropStalled();
            return;
        }
        m_out.append(head, headSize);
        m_out.append(body, bodySize);
        return;
    }
    iovec parts[2] = {{const_cast<char *>(head), size_t(headSize)},
                      {const_cast<char *>(body), size_t(bodySize)}};
    msghdr message{};
    message.msg_iov = parts;
    message.msg_iovlen = bodySize > 0 ? 2 : 1;
    ssize_t sent = -1;
    do {
        sent = ::sendmsg(m_descriptor, &message, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            finish(); // EPIPE, ECONNRESET: the peer is gone
            return;
        }
        sent = 0;
    }
    const qsizetype total = headSize + bodySize;
    if (sent == total)
        return;
    // The kernel's buffer is full: keep the rest until the socket is writable.
    m_out.reserve(total - sent);
    if (sent < headSize) {
        m_out.append(head + sent, headSize - sent);
        m_out.append(body, bodySize);
    } else {
        m_out.append(body + (sent - headSize), total - sent);
    }
    if (!m_writeNotifier) {
        m_writeNotifier = std::make_unique<QSocketNotifier>(m_descriptor, QSocketNotifier::Write);
        connect(m_writeNotifier.get(), &QSocketNotifier::activated, this,
                &RawWebSocket::writeAvailable);
    }
    m_writeNotifier->setEnabled(true);
}

void RawWebSocket::dropStalled()
{
    warnStalled(m_out.size());
    finish();
}

void RawWebSocket::writeAvailable()
{
    qsizetype written = 0;
    while (!m_out.isEmpty()) {
        const ssize_t sent =
            ::send(m_descriptor, m_out.constData(), size_t(m_out.size()), MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            finish();
            return;
        }
        m_out.remove(0, qsizetype(sent));
        written += qsizetype(sent);
    }
    if (m_out.isEmpty()) {
        m_out = QByteArray(); // release the buffer
        m_writeNotifier->setEnabled(false);
        if (m_state == State::Finishing) {
            finish();
            return;
        }
        if (m_state == State::Discarding)
            ::shutdown(m_descriptor, SHUT_WR);
    }
    // Last: its handler may send more (a connection that paused reading resumes).
    if (written > 0)
        Q_EMIT unsentReduced();
}

void RawWebSocket::finishWhenWritten()
{
    if (m_out.isEmpty() || !m_server) {
        finish();
        return;
    }
    m_state = State::Finishing;
    m_readNotifier.setEnabled(false);
    m_server->closing(this);
}

void RawWebSocket::finish()
{
    if (m_state == State::Closed)
        return;
    m_state = State::Closed;
    m_readNotifier.setEnabled(false);
    if (m_writeNotifier)
        m_writeNotifier->setEnabled(false);
    ::close(m_descriptor);
    m_descriptor = -1;
    m_in = QByteArray();
    m_out = QByteArray();
    m_message = QByteArray();
    m_messageOpcode = 0;
    m_skip = 0;
    // From the event loop: the owner may delete this socket in its handler.
    QMetaObject::invokeMethod(this, &PeerSocket::disconnected, Qt::QueuedConnection);
    if (m_server)
        m_server->finished(this);
}

void RawWebSocket::sendTexts(const QList<QByteArray> &utf8)
{
    if (m_state != State::Open || utf8.isEmpty())
        return;
    if (utf8.size() == 1) {
        sendFrame(OpText, utf8.first().constData(), utf8.first().size());
        return;
    }
    // Several frames (what waited for a commit): one write for all of them.
    qsizetype total = 0;
    for (const QByteArray &text : utf8)
        total += text.size() + 10;
    QByteArray frames;
    frames.reserve(total);
    for (const QByteArray &text : utf8) {
        uchar header[10];
        const qsizetype headerSize = frameHeader(header, OpText, text.size());
        frames.append(reinterpret_cast<const char *>(header), headerSize);
        frames.append(text);
    }
    write(frames.constData(), frames.size(), nullptr, 0);
}

void RawWebSocket::close(int code, const QString &reason)
{
    if (m_state != State::Open && m_state != State::Pending)
        return;
    QByteArray utf8 = reason.toUtf8();
    if (utf8.size() > MaxCloseReasonBytes) {
        // Cut at a character boundary: the reason must stay valid UTF-8.
        qsizetype cut = MaxCloseReasonBytes;
        while (cut > 0 && (uchar(utf8.at(cut)) & 0xc0) == 0x80)
            --cut;
        utf8.truncate(cut);
    }
    const bool pending = m_state == State::Pending;
    m_closeCode = quint16(code);
    m_state = State::Closing;
    m_message = QByteArray();
    m_messageOpcode = 0;
    sendClose(code, utf8);
    if (m_state == State::Closed)
        return;
    if (pending || !m_server)
        finishWhenWritten(); // nothing reads this socket's answer
    else
        m_server->closing(this);
}

void RawWebSocket::abort()
{
    finish();
}

void RawWebSocket::ping()
{
    if (m_state == State::Open)
        sendFrame(OpPing, nullptr, 0);
}

QHostAddress RawWebSocket::peerAddress() const
{
    if (m_descriptor < 0)
        return {};
    sockaddr_storage address{};
    socklen_t size = sizeof address;
    if (::getpeername(m_descriptor, reinterpret_cast<sockaddr *>(&address), &size) != 0)
        return {};
    return QHostAddress(reinterpret_cast<const sockaddr *>(&address));
}

QString RawWebSocket::requestPath() const
{
    const QList<QByteArray> requestLine = m_request.left(m_request.indexOf("\r\n")).split(' ');
    if (requestLine.size() != 3)
        return {};
    return QUrl::fromEncoded(requestLine.at(1)).path();
}

QByteArray RawWebSocket::requestHeader(const QByteArray &name) const
{
    return headerValues(m_request, name).value(0);
}

} // namespace Swamp
