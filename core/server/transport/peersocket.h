#pragma once

#include <QByteArray>
#include <QHostAddress>
#include <QObject>
#include <QString>

#include <memory>

class QWebSocket;

namespace Swamp {

// The server side of one accepted WebSocket, as much of it as PeerConnection needs. Two
// implementations: RawWebSocket (the plain ws:// listener, on the file descriptor, without
// per-socket buffers) and QtPeerSocket (a QWebSocket from QWebSocketServer, for wss://).
//
// Messages over maxMessageBytes (or a frame over it) close the socket with 1009 and
// closeCode() says so. `disconnected` is emitted exactly once, when the connection is over
// (after the close handshake, an abort, or the peer going away). Delete a socket with
// deleteLater(), never from inside one of its signals.
class PeerSocket : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(PeerSocket)

public:
    explicit PeerSocket(QObject *parent = nullptr) : QObject(parent) {}

    // The largest text or binary message (and frame) accepted, in bytes.
    virtual void setMaxMessageBytes(qint64 bytes) = 0;
    // The peer proved a secret (it enrolled, or sent the admin token): it leaves the bounds on
    // connections without one (UnauthenticatedPool), where its transport keeps them.
    virtual void setAuthenticated() {}
    // Bytes given to sendTexts() that the kernel has not taken yet.
    virtual qint64 unsentBytes() const = 0;
    // True: stop reading the peer's frames; the kernel holds them and TCP slows the peer down.
    // False: read again. A transport that cannot pause keeps delivering (PeerConnection defers
    // those frames itself).
    virtual void setReadingPaused(bool paused) { Q_UNUSED(paused); }
    // A peer that leaves more than this unread (the kernel's buffer full and this much waiting
    // behind it) is stalled or far too slow: its connection is dropped with a warning, so that
    // one client that stopped reading cannot grow the orchestrator's memory without end.
    static constexpr qint64 DefaultMaxUnsentBytes = 64 * 1024 * 1024;
    void setMaxUnsentBytes(qint64 bytes) { m_maxUnsentBytes = bytes; }
    // Sends text messages (UTF-8) in order, all in one write where the socket can; dropped
    // unless isOpen().
    virtual void sendTexts(const QList<QByteArray> &utf8) = 0;
    void sendText(const QByteArray &utf8) { sendTexts({utf8}); }
    void sendTextMessage(const QString &text) { sendText(text.toUtf8()); }
    // Starts the close handshake with `code` and `reason` (at most 123 bytes of UTF-8).
    virtual void close(int code, const QString &reason) = 0;
    // Drops the connection at once.
    virtual void abort() = 0;
    virtual void ping() = 0;
    // True from the handshake until a close frame is sent or received or the connection drops.
    virtual bool isOpen() const = 0;
    // The close code sent or received first (1006 when the connection dropped without one).
    virtual int closeCode() const = 0;
    virtual QHostAddress peerAddress() const = 0;
    // The path of the upgrade request (without the query) and its headers (case-insensitive).
    virtual QString requestPath() const = 0;
    virtual QByteArray requestHeader(const QByteArray &name) const = 0;

Q_SIGNALS:
    void textMessageReceived(const QString &text);
    void binaryMessageReceived(const QByteArray &data);
    void pongReceived();
    void disconnected();
    // Some of the unsent bytes were written.
    void unsentReduced();

protected:
    // Logs why a connection with `unsentBytes` waiting is being dropped (the caller drops it).
    void warnStalled(qint64 unsentBytes) const;

    qint64 m_maxUnsentBytes = DefaultMaxUnsentBytes;
};

// A QWebSocket accepted by QWebSocketServer (the TLS listener), which it owns.
class QtPeerSocket final : public PeerSocket
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(QtPeerSocket)

public:
    explicit QtPeerSocket(QWebSocket *socket, QObject *parent = nullptr);
    ~QtPeerSocket() override;

    void setMaxMessageBytes(qint64 bytes) override;
    qint64 unsentBytes() const override;
    void sendTexts(const QList<QByteArray> &utf8) override;
    void close(int code, const QString &reason) override;
    void abort() override;
    void ping() override;
    bool isOpen() const override;
    int closeCode() const override;
    QHostAddress peerAddress() const override;
    QString requestPath() const override;
    QByteArray requestHeader(const QByteArray &name) const override;

private:
    std::unique_ptr<QWebSocket> m_socket;
};

} // namespace Swamp
