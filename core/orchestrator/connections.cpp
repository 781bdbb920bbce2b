#include "orchestrator/connections.h"

#include "common/error.h"
#include "common/logging.h"
#include "orchestrator/peersocket.h"
#include "protocol/protocol.h"

#include <QDateTime>
#include <QHostAddress>

namespace Swamp {

namespace {
constexpr int CloseCodeTooBig = 1009; // RFC 6455: message too big
}

PeerConnection::PeerConnection(PeerSocket *socket, qint64 maxFrameBytes, QObject *parent)
    : QObject(parent)
    , m_socket(socket)
    , m_maxFrameBytes(maxFrameBytes)
    , m_lastHeardMs(QDateTime::currentMSecsSinceEpoch())
{
    m_socket->setParent(nullptr);
    m_socket->setMaxMessageBytes(maxFrameBytes);
    connect(m_socket.get(), &PeerSocket::textMessageReceived, this, &PeerConnection::handleText);
    connect(m_socket.get(), &PeerSocket::binaryMessageReceived, this, [this](const QByteArray &) {
        reject(QStringLiteral("binary"), QStringLiteral("binary frames are not part of the protocol"));
    });
    connect(m_socket.get(), &PeerSocket::pongReceived, this, [this] {
        m_lastHeardMs = QDateTime::currentMSecsSinceEpoch();
        Q_EMIT pongReceived();
    });
    connect(m_socket.get(), &PeerSocket::disconnected, this, [this] {
        if (m_closedEmitted)
            return;
        m_closedEmitted = true;
        // The socket refuses a message over the size limit itself, closing with this code.
        if (m_socket->closeCode() == CloseCodeTooBig)
            Q_EMIT frameRejected(QStringLiteral("too_large"));
        Q_EMIT closed();
    });
}

PeerConnection::~PeerConnection()
{
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
    }
}

void PeerConnection::handleText(const QString &text)
{
    m_lastHeardMs = QDateTime::currentMSecsSinceEpoch();
    auto frame = Protocol::decodeFrame(text, m_maxFrameBytes);
    if (!frame) {
        qCInfo(lcWs) << "bad frame from" << peerAddress() << frame.error().message;
        reject(frame.error().details.value(QStringLiteral("reason")).toString(QStringLiteral("bad_frame")),
               frame.error().message);
        return;
    }
    Q_EMIT frameReceived(*frame);
}

void OutboundGate::wait(PeerConnection *connection)
{
    m_waiting << QPointer<PeerConnection>(connection);
}

void OutboundGate::release(quint64 upTo)
{
    const auto waiting = std::exchange(m_waiting, {});
    for (const QPointer<PeerConnection> &connection : waiting) {
        if (connection && connection->flushHeld(upTo))
            m_waiting << connection;
    }
}

void OutboundGate::discard()
{
    const auto waiting = std::exchange(m_waiting, {});
    for (const QPointer<PeerConnection> &connection : waiting) {
        if (connection)
            connection->abort();
    }
}

void PeerConnection::send(const QJsonObject &frame)
{
    if (m_socket)
        sendEncoded(Protocol::encodeFrameUtf8(frame));
}

void PeerConnection::sendEncoded(QByteArray text)
{
    if (!m_socket)
        return;
    if ((m_gate && m_gate->isClosed()) || !m_held.isEmpty()) {
        if (m_held.isEmpty() && !m_heldClose)
            m_gate->wait(this);
        m_held << Held{m_gate->epoch(), std::move(text)};
        return;
    }
    if (m_socket->isOpen())
        m_socket->sendText(text);
}

bool PeerConnection::flushHeld(quint64 upTo)
{
    qsizetype ready = 0;
    while (ready < m_held.size() && m_held.at(ready).epoch <= upTo)
        ++ready;
    if (ready > 0 && m_socket && m_socket->isOpen()) {
        QList<QByteArray> texts;
        texts.reserve(ready);
        for (qsizetype i = 0; i < ready; ++i)
            texts << m_held.at(i).text;
        m_socket->sendTexts(texts);
    }
    m_held.remove(0, ready);
    if (m_held.isEmpty() && m_heldClose && m_heldClose->epoch <= upTo) {
        const HeldClose close = *std::exchange(m_heldClose, std::nullopt);
        closeNow(close.code, close.reason);
    }
    return !m_held.isEmpty() || m_heldClose;
}

void PeerConnection::sendError(const Error &error, const QString &requestId)
{
    QJsonObject frame = error.toJson();
    frame.insert(QStringLiteral("type"), Protocol::Type::Error);
    if (!requestId.isEmpty())
        frame.insert(QStringLiteral("id"), requestId);
    send(frame);
}

void PeerConnection::close(int code, const QString &reason)
{
    if (!m_held.isEmpty()) {
        // The frames before it (e.g. an error that explains the close) go first.
        m_heldClose = HeldClose{m_gate->epoch(), code, reason};
        return;
    }
    closeNow(code, reason);
}

void PeerConnection::closeNow(int code, const QString &reason)
{
    if (!m_socket)
        return;
    QByteArray utf8 = reason.toUtf8();
    if (utf8.size() > 123)
        utf8.truncate(120);
    m_socket->close(code, QString::fromUtf8(utf8));
}

void PeerConnection::reject(const QString &reason, const QString &closeReason)
{
    ++m_badFrames;
    Q_EMIT frameRejected(reason);
    close(Protocol::CloseBadFrame, closeReason);
}

void PeerConnection::abort()
{
    m_held.clear();
    m_heldClose.reset();
    if (m_socket)
        m_socket->abort();
}

void PeerConnection::ping()
{
    if (m_socket && m_socket->isOpen())
        m_socket->ping();
}

QString PeerConnection::peerAddress() const
{
    if (!m_socket)
        return {};
    // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; operators know them as a.b.c.d.
    const QHostAddress address = m_socket->peerAddress();
    bool isIPv4 = false;
    const quint32 ipv4 = address.toIPv4Address(&isIPv4);
    return isIPv4 ? QHostAddress(ipv4).toString() : address.toString();
}

QString PeerConnection::requestHeader(const QByteArray &name) const
{
    return m_socket ? QString::fromLatin1(m_socket->requestHeader(name)) : QString();
}

bool PeerConnection::isOpen() const
{
    return m_socket && m_socket->isOpen();
}

} // namespace Swamp
