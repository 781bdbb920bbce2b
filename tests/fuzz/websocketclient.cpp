#include "websocketclient.h"

#include "fuzzsupport.h"

#include <QCoreApplication>
#include <QCryptographicHash>
#include <QDeadlineTimer>
#include <QSocketNotifier>
#include <QStringDecoder>
#include <QtEndian>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace Swamp::Fuzz {

namespace {

constexpr QByteArrayView Key = "dGhlIHNhbXBsZSBub25jZQ==";

// SWAMP_FUZZ_TRACE=1 prints every text message sent (">") and received ("<"), to see what an
// input does.
bool tracing()
{
    static const bool on = qEnvironmentVariableIntValue("SWAMP_FUZZ_TRACE") == 1;
    return on;
}

void trace(char direction, QByteArrayView text)
{
    if (tracing())
        std::fprintf(stderr, "%c %.*s\n", direction, int(text.size()), text.data());
}

bool isUtf8(QByteArrayView bytes)
{
    QStringDecoder decoder(QStringDecoder::Utf8, QStringDecoder::Flag::Stateless);
    const QString ignored = decoder.decode(bytes);
    return !decoder.hasError();
}

// The close codes an endpoint may send (RFC 6455 7.4: not 1004-1006 nor 1015).
bool isSendableCloseCode(int code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

} // namespace

WebSocketClient::WebSocketClient() = default;

WebSocketClient::~WebSocketClient()
{
    m_notifier.reset();
    if (m_descriptor >= 0) {
        // A reset instead of a FIN: no TIME_WAIT left behind by thousands of connections.
        const linger reset{1, 0};
        ::setsockopt(m_descriptor, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        ::close(m_descriptor);
    }
}

bool WebSocketClient::connectTo(quint16 port, quint32 source)
{
    m_descriptor = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (m_descriptor < 0)
        return false;
    // The port is picked at connect(), as without bind(): ports in TIME_WAIT are reused (a
    // fuzzer opens tens of thousands of connections a minute).
    const int on = 1;
    ::setsockopt(m_descriptor, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(source);
    if (::bind(m_descriptor, reinterpret_cast<const sockaddr *>(&local), sizeof local) != 0) {
        std::fprintf(stderr, "bind: %s\n", std::strerror(errno));
        return false;
    }
    sockaddr_in remote{};
    remote.sin_family = AF_INET;
    remote.sin_port = htons(port);
    remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // Non-blocking: libFuzzer's timers interrupt a blocking connect() (EINTR). On the loopback
    // the kernel completes it at once, queued for the listener that accepts it later.
    ::fcntl(m_descriptor, F_SETFL, ::fcntl(m_descriptor, F_GETFL) | O_NONBLOCK);
    if (::connect(m_descriptor, reinterpret_cast<const sockaddr *>(&remote), sizeof remote) != 0) {
        int error = errno;
        if (error == EINPROGRESS || error == EINTR) {
            pollfd writable{m_descriptor, POLLOUT, 0};
            while (::poll(&writable, 1, 5000) < 0 && errno == EINTR) {
            }
            socklen_t size = sizeof error;
            if (::getsockopt(m_descriptor, SOL_SOCKET, SO_ERROR, &error, &size) != 0)
                error = errno;
        }
        if (error != 0) {
            std::fprintf(stderr, "connect: %s\n", std::strerror(error));
            return false;
        }
    }
    ::setsockopt(m_descriptor, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    m_notifier = std::make_unique<QSocketNotifier>(m_descriptor, QSocketNotifier::Read);
    QObject::connect(m_notifier.get(), &QSocketNotifier::activated, m_notifier.get(),
                     [this] { readAvailable(); });
    return true;
}

void WebSocketClient::writeRaw(QByteArrayView bytes)
{
    qsizetype written = 0;
    QDeadlineTimer stalled(1000);
    while (written < bytes.size() && !m_writeShut && m_descriptor >= 0) {
        const ssize_t sent = ::send(m_descriptor, bytes.data() + written,
                                    size_t(bytes.size() - written), MSG_NOSIGNAL);
        if (sent > 0) {
            written += sent;
            stalled.setRemainingTime(1000);
            continue;
        }
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !stalled.hasExpired()) {
            // The kernel's buffer is full: let the server read.
            QCoreApplication::processEvents(QEventLoop::AllEvents);
            pollfd writable{m_descriptor, POLLOUT, 0};
            ::poll(&writable, 1, 1);
            continue;
        }
        return; // the server is gone, or stopped reading
    }
}

QByteArray WebSocketClient::upgradeRequest(QByteArrayView path, QByteArrayView headers)
{
    return "GET " + path.toByteArray() +
           " HTTP/1.1\r\n"
           "Host: 127.0.0.1\r\n"
           "Upgrade: websocket\r\n"
           "Connection: Upgrade\r\n"
           "Sec-WebSocket-Key: " +
           Key.toByteArray() +
           "\r\n"
           "Sec-WebSocket-Version: 13\r\n" +
           headers.toByteArray() + "\r\n";
}

bool WebSocketClient::handshake(QByteArrayView path, QByteArrayView headers)
{
    const QByteArray keyAndGuid = Key.toByteArray() + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    m_expectedAccept = QCryptographicHash::hash(keyAndGuid, QCryptographicHash::Sha1).toBase64();
    writeRaw(upgradeRequest(path, headers));
    pumpUntil([this] { return m_status != 0 || m_ended; }, 5000);
    return upgraded();
}

void WebSocketClient::sendFrame(int opcode, QByteArrayView payload, bool final)
{
    m_closeSent = m_closeSent || opcode == 0x8;
    if (opcode == 0x1)
        trace('>', payload);
    QByteArray frame;
    frame.reserve(payload.size() + 14);
    frame.append(char((final ? 0x80 : 0) | (opcode & 0x0f)));
    if (payload.size() <= 125) {
        frame.append(char(0x80 | payload.size()));
    } else if (payload.size() <= 0xffff) {
        frame.append(char(0x80 | 126));
        uchar length[2];
        qToBigEndian<quint16>(quint16(payload.size()), length);
        frame.append(reinterpret_cast<const char *>(length), 2);
    } else {
        frame.append(char(0x80 | 127));
        uchar length[8];
        qToBigEndian<quint64>(quint64(payload.size()), length);
        frame.append(reinterpret_cast<const char *>(length), 8);
    }
    // xorshift32: masks that differ from frame to frame, the same in every run.
    m_maskSeed ^= m_maskSeed << 13;
    m_maskSeed ^= m_maskSeed >> 17;
    m_maskSeed ^= m_maskSeed << 5;
    uchar mask[4];
    qToBigEndian<quint32>(m_maskSeed, mask);
    frame.append(reinterpret_cast<const char *>(mask), 4);
    for (qsizetype i = 0; i < payload.size(); ++i)
        frame.append(char(uchar(payload[i]) ^ mask[i & 3]));
    writeRaw(frame);
}

void WebSocketClient::sendClose(int code)
{
    uchar payload[2];
    qToBigEndian<quint16>(quint16(code), payload);
    sendFrame(0x8, QByteArrayView(reinterpret_cast<const char *>(payload), 2));
}

void WebSocketClient::shutdownWrite()
{
    if (m_descriptor >= 0 && !m_writeShut)
        ::shutdown(m_descriptor, SHUT_WR);
    m_writeShut = true;
}

bool WebSocketClient::waitForEnd(int timeoutMs)
{
    return pumpUntil([this] { return m_ended; }, timeoutMs);
}

void WebSocketClient::setMessageHandler(std::function<void(const Message &)> handler)
{
    m_handler = std::move(handler);
}

void WebSocketClient::readAvailable()
{
    char buffer[64 * 1024];
    for (;;) {
        const ssize_t received = ::recv(m_descriptor, buffer, sizeof buffer, 0);
        if (received > 0) {
            m_bytesReceived += received;
            m_in.append(buffer, received);
            continue;
        }
        if (received < 0 && errno == EINTR)
            continue;
        if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        m_ended = true; // end of stream, or a reset
        m_notifier->setEnabled(false);
        break;
    }
    parse();
}

void WebSocketClient::parse()
{
    if (m_status == 0 && !parseHead())
        return;
    if (m_status != 101) {
        if (m_in.size() > m_bodyLeft)
            violation("bytes after the body of the HTTP error answer");
        m_bodyLeft -= m_in.size();
        m_in.clear();
        return;
    }
    while (parseFrame()) {
    }
}

bool WebSocketClient::parseHead()
{
    const qsizetype end = m_in.indexOf("\r\n\r\n");
    if (end < 0) {
        if (m_in.size() > 16 * 1024)
            violation("an HTTP answer head over 16 KiB");
        return false;
    }
    const QByteArray head = m_in.left(end + 2);
    m_in.remove(0, end + 4);
    const QList<QByteArray> statusLine = head.left(head.indexOf("\r\n")).split(' ');
    if (statusLine.size() < 3 || statusLine.at(0) != "HTTP/1.1")
        violation("a malformed HTTP status line");
    bool isNumber = false;
    m_status = statusLine.at(1).toInt(&isNumber);
    if (!isNumber || (m_status != 101 && m_status != 400 && m_status != 426 && m_status != 431))
        violation("an HTTP status RawWebSocket does not send");
    QByteArray accept;
    bool hasLength = false;
    for (const QByteArray &line : head.split('\n')) {
        const QByteArray trimmed = line.trimmed();
        const qsizetype colon = trimmed.indexOf(':');
        if (colon <= 0)
            continue;
        const QByteArray name = trimmed.left(colon).trimmed().toLower();
        const QByteArray value = trimmed.mid(colon + 1).trimmed();
        if (name == "sec-websocket-accept")
            accept = value;
        if (name == "content-length") {
            m_bodyLeft = value.toLongLong(&hasLength);
            hasLength = hasLength && m_bodyLeft >= 0;
        }
    }
    if (m_status == 101 && !m_expectedAccept.isEmpty() && accept != m_expectedAccept)
        violation("a wrong Sec-WebSocket-Accept");
    if (m_status != 101 && !hasLength)
        violation("an HTTP error answer without Content-Length");
    return true;
}

bool WebSocketClient::parseFrame()
{
    if (m_in.isEmpty())
        return false;
    if (m_closeSeen)
        violation("bytes after the server's close frame");
    if (m_in.size() < 2)
        return false;
    const auto *bytes = reinterpret_cast<const uchar *>(m_in.constData());
    const int opcode = bytes[0] & 0x0f;
    if (!(bytes[0] & 0x80))
        violation("a fragmented server frame");
    if (bytes[0] & 0x70)
        violation("reserved bits in a server frame");
    if (opcode != 0x1 && opcode != 0x8 && opcode != 0x9 && opcode != 0xA)
        violation("a server frame of an opcode RawWebSocket does not send");
    if (bytes[1] & 0x80)
        violation("a masked server frame");
    // 7 bits, or 126 and 16 bits, or 127 and 64 bits: the shortest that holds the length.
    const int lengthField = bytes[1] & 0x7f;
    const qsizetype headerSize = lengthField == 127 ? 10 : lengthField == 126 ? 4 : 2;
    if (m_in.size() < headerSize)
        return false;
    const quint64 length = lengthField == 127   ? qFromBigEndian<quint64>(bytes + 2)
                           : lengthField == 126 ? qFromBigEndian<quint16>(bytes + 2)
                                                : quint64(lengthField);
    if (lengthField == 126 && length < 126)
        violation("a 16-bit length under 126");
    if (lengthField == 127 && (length <= 0xffff || length >> 63))
        violation("a 64-bit length under 65536 or over 2^63");
    if ((opcode & 0x8) && length > 125)
        violation("a control frame over 125 bytes");
    if (quint64(m_in.size() - headerSize) < length)
        return false;
    const QByteArray payload = m_in.mid(headerSize, qsizetype(length));
    m_in.remove(0, headerSize + qsizetype(length));
    switch (opcode) {
    case 0x1: {
        if (!isUtf8(payload))
            violation("a text frame that is not UTF-8");
        trace('<', payload);
        m_messages.append(Message{opcode, payload});
        if (m_handler)
            m_handler(m_messages.constLast());
        break;
    }
    case 0x8: {
        if (payload.size() == 1)
            violation("a close frame with a one-byte payload");
        m_closeCode = 1005;
        if (payload.size() >= 2) {
            m_closeCode = qFromBigEndian<quint16>(payload.constData());
            if (!isSendableCloseCode(*m_closeCode))
                violation("a close code a server may not send");
            if (!isUtf8(QByteArrayView(payload).sliced(2)))
                violation("a close reason that is not UTF-8");
        }
        m_closeSeen = true;
        if (m_automaticAnswers && !m_writeShut && !m_closeSent) // the answer the server waits for
            sendClose(*m_closeCode == 1005 ? 1000 : *m_closeCode);
        break;
    }
    case 0x9:
        if (m_automaticAnswers && !m_writeShut && !m_closeSent)
            sendFrame(0xA, payload);
        break;
    default:
        ++m_pongs;
        break;
    }
    return true;
}

void WebSocketClient::violation(const char *what) const
{
    std::fprintf(stderr, "==fuzz== after %lld bytes from the server:\n",
                 static_cast<long long>(m_bytesReceived));
    finding(what);
}

} // namespace Swamp::Fuzz
