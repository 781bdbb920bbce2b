// RawWebSocket writing: frames to the descriptor (unsent bytes kept, writes resumed when the
// socket drains, a peer that never reads dropped), closing and finishing the connection.
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

void RawWebSocket::write(const char *head, qsizetype headSize, const char *body, qsizetype bodySize,
                         const QByteArray *owner)
{
    if (m_state == State::Closed)
        return;
    if (unsentBytes() > 0) {
        if (unsentBytes() + headSize + bodySize > m_maxUnsentBytes) {
            dropStalled();
            return;
        }
        if (m_outAt > 0) { // what was sent goes (a copy only if m_out shares a message's bytes)
            m_out.remove(0, m_outAt);
            m_outAt = 0;
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
    if (owner && sent >= headSize) {
        m_out = *owner; // shared: a reply of tens of MB is not copied
        m_outAt = (body - owner->constData()) + (sent - headSize);
    } else if (sent < headSize) {
        m_out.reserve(total - sent);
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
    warnStalled(unsentBytes());
    finish();
}

void RawWebSocket::writeAvailable()
{
    qsizetype written = 0;
    while (unsentBytes() > 0) {
        const ssize_t sent = ::send(m_descriptor, m_out.constData() + m_outAt, size_t(unsentBytes()), MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            finish();
            return;
        }
        m_outAt += qsizetype(sent);
        written += qsizetype(sent);
    }
    if (unsentBytes() == 0) {
        m_out = QByteArray(); // release the buffer
        m_outAt = 0;
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
    if (unsentBytes() == 0 || !m_server) {
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
    m_outAt = 0;
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
        uchar header[10];
        const QByteArray &text = utf8.first();
        write(reinterpret_cast<const char *>(header), frameHeader(header, OpText, text.size()), text.constData(),
              text.size(), &text);
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

} // namespace Swamp
