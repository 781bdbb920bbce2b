// RawWebSocket's opening handshake (RFC 6455 4.2): the HTTP upgrade request read, checked and
// answered or refused, and what the connection knows of its request afterwards.
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
