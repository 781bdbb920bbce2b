#include "server/transport/connections.h"

#include "common/error.h"
#include "common/logging.h"
#include "protocol/protocol.h"
#include "server/transport/peersocket.h"
#include "server/transport/unauthenticatedpool.h"

#include <QDateTime>
#include <QHostAddress>

namespace Swamp {

namespace {
constexpr int CloseCodeTooBig = 1009; // RFC 6455: message too big
// Backpressure: past PauseReadingBytes of backlog the peer's frames are no longer read, until
// it is down to ResumeReadingBytes. Frames already read meanwhile wait, up to MaxDeferredBytes.
constexpr qint64 PauseReadingBytes = 1024 * 1024;
constexpr qint64 ResumeReadingBytes = 256 * 1024;
constexpr qint64 MaxDeferredBytes = 8 * 1024 * 1024;
}

PeerConnection::PeerConnection(PeerSocket *socket, qint64 maxFrameBytes, QObject *parent)
    : QObject(parent)
    , m_socket(socket)
    , m_maxFrameBytes(std::min(maxFrameBytes, Protocol::MaxUnauthenticatedFrameBytes))
    , m_authenticatedMaxFrameBytes(maxFrameBytes)
    , m_lastHeardMs(QDateTime::currentMSecsSinceEpoch())
{
    m_socket->setParent(nullptr);
    m_socket->setMaxMessageBytes(m_maxFrameBytes);
    connect(m_socket.get(), &PeerSocket::unsentReduced, this, &PeerConnection::checkBacklog);
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
    if (m_pool)
        m_pool->remove(this);
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->abort();
    }
}

void PeerConnection::authenticate()
{
    if (std::exchange(m_authenticated, true))
        return;
    m_maxFrameBytes = m_authenticatedMaxFrameBytes;
    if (m_socket) {
        m_socket->setMaxMessageBytes(m_maxFrameBytes);
        m_socket->setAuthenticated();
    }
    if (m_pool)
        m_pool->prove(this); // counts for its address until the destructor's remove()
}

qint64 PeerConnection::backlogBytes() const
{
    return m_heldBytes + (m_socket ? m_socket->unsentBytes() : 0);
}

void PeerConnection::checkBacklog()
{
    if (!m_socket)
        return;
    const qint64 backlog = backlogBytes();
    if (backlog > PeerSocket::DefaultMaxUnsentBytes) {
        qCWarning(lcWs).noquote() << QStringLiteral("dropped the connection from %1: %2 MiB of replies and events "
                                                    "wait for it (a client that does not read them); it may reconnect")
                                         .arg(peerAddress())
                                         .arg(double(backlog) / (1024 * 1024), 0, 'f', 1);
        abort();
        return;
    }
    if (!m_readingPaused && backlog > PauseReadingBytes) {
        m_readingPaused = true;
        m_socket->setReadingPaused(true);
    } else if (m_readingPaused && backlog <= ResumeReadingBytes) {
        m_readingPaused = false;
        m_socket->setReadingPaused(false);
        if (!m_deferred.isEmpty()) {
            // From the event loop: this may run inside a send of the frame handler.
            QMetaObject::invokeMethod(this, &PeerConnection::handleDeferred, Qt::QueuedConnection);
        }
    }
}

void PeerConnection::handleDeferred()
{
    while (!m_deferred.isEmpty() && !m_readingPaused && !m_closeDecided) {
        const QString text = m_deferred.takeFirst();
        m_deferredBytes -= text.size();
        handleFrame(text);
    }
}

void PeerConnection::handleText(const QString &text)
{
    m_lastHeardMs = QDateTime::currentMSecsSinceEpoch();
    if (m_closeDecided)
        return; // the close the peer gets is decided; nothing it says changes it
    if (m_readingPaused || !m_deferred.isEmpty()) {
        // Its replies back up: what was read meanwhile waits its turn (bounded).
        m_deferredBytes += text.size();
        if (m_deferredBytes > MaxDeferredBytes) {
            reject(QStringLiteral("backlog"),
                   QStringLiteral("too many requests while the replies are not read"));
            return;
        }
        m_deferred << text;
        return;
    }
    handleFrame(text);
}

void PeerConnection::handleFrame(const QString &text)
{
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
        m_heldBytes += text.size();
        m_held << Held{m_gate->epoch(), std::move(text)};
    } else if (m_socket->isOpen()) {
        m_socket->sendText(text);
    }
    checkBacklog();
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
    for (qsizetype i = 0; i < ready; ++i)
        m_heldBytes -= m_held.at(i).text.size();
    m_held.remove(0, ready);
    if (m_held.isEmpty() && m_heldClose && m_heldClose->epoch <= upTo) {
        const HeldClose close = *std::exchange(m_heldClose, std::nullopt);
        closeNow(close.code, close.reason);
    }
    const bool waiting = !m_held.isEmpty() || m_heldClose;
    if (ready > 0)
        checkBacklog();
    return waiting;
}

void PeerConnection::sendError(const Error &error, const QString &requestId)
{
    QJsonObject frame = error.toJson();
    frame.insert(QStringLiteral("type"), Protocol::Type::Error);
    if (!requestId.isEmpty())
        frame.insert(QStringLiteral("id"), requestId);
    // `database_away` says that nothing was done: it announces no change, so it need not wait for
    // the commit that only the database's return allows (the peer would hear nothing for the
    // whole outage: a worker gave up on its enrollment reply after 15 s, again and again). It
    // still waits behind what this connection holds: the peer gets its frames in order.
    if (error.code == u"database_away" && m_held.isEmpty() && !m_heldClose && m_socket && m_socket->isOpen()) {
        m_socket->sendText(Protocol::encodeFrameUtf8(frame));
        checkBacklog();
        return;
    }
    send(frame);
}

void PeerConnection::close(int code, const QString &reason)
{
    // The first close decided wins: a frame handled after it (say, one that crossed a revocation
    // in the same turn) must not replace its code with another.
    if (std::exchange(m_closeDecided, true))
        return;
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
    m_closeDecided = true;
    m_held.clear();
    m_heldBytes = 0;
    m_deferred.clear();
    m_deferredBytes = 0;
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
