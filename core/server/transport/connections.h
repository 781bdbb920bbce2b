#pragma once

#include <QJsonObject>
#include <QObject>
#include <QPointer>
#include <QStringList>
#include <QString>

#include <functional>
#include <memory>
#include <optional>

namespace Swamp {

struct Error;
class PeerConnection;
class PeerSocket;

// Nothing that announces a state change may leave before that change is committed. While the gate
// is closed (a group-commit batch is open, or batches handed to the store's committer thread are
// not durable yet), send() and close() of every connection wait, in order, each frame tagged with
// the gate's epoch: the batch it may depend on. seal() ends an epoch when its batch goes to be
// committed; release(upTo) sends what waited for the epochs up to `upTo` once their batches are
// committed (a later batch's commit implies the earlier ones').
class OutboundGate final
{
    Q_DISABLE_COPY_MOVE(OutboundGate)

public:
    explicit OutboundGate(std::function<bool()> isClosed)
        : m_isClosed(std::move(isClosed))
    {
    }
    bool isClosed() const { return m_isClosed(); }
    quint64 epoch() const { return m_epoch; }
    // The open batch goes to be committed: returns its epoch; what is sent from now on waits for
    // the next one.
    quint64 seal() { return m_epoch++; }
    void wait(PeerConnection *connection);
    void release(quint64 upTo);
    // Everything that waits (nothing is left to commit).
    void releaseAll() { release(m_epoch); }
    // The batch failed: what waited is dropped (the connections are aborted).
    void discard();

private:
    std::function<bool()> m_isClosed;
    quint64 m_epoch = 0;
    QList<QPointer<PeerConnection>> m_waiting;
};

class UnauthenticatedPool;

// One WebSocket peer (a worker on /v1/worker or an admin client on /v1/admin). Owns its socket,
// validates every frame (size, JSON, type) and hands valid ones on; a bad frame closes only this
// connection with a reason. Destroyed with deleteLater() by its owner after `closed`.
//
// Until authenticate() (the worker enrolled, the admin token matched) frames are limited to
// Protocol::MaxUnauthenticatedFrameBytes. What waits to go to the peer (held for a commit, and
// not yet taken by the kernel) is bounded: past 1 MiB the peer's frames are no longer read (TCP
// slows it down) until it has taken most of it, and past 64 MiB the connection is dropped, so a
// client that sends requests and never reads the replies costs a bounded amount of memory.
// The first close decided is the one the peer gets: a later close() is ignored, and so are the
// peer's frames once a close is decided.
class PeerConnection : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(PeerConnection)

public:
    // Takes ownership of `socket` (RawWebSocket for ws://, QtPeerSocket for wss://).
    PeerConnection(PeerSocket *socket, qint64 maxFrameBytes, QObject *parent = nullptr);
    ~PeerConnection() override;

    void send(const QJsonObject &frame);
    // A frame already encoded as compact UTF-8 JSON text.
    void sendEncoded(QByteArray text);
    void sendError(const Error &error, const QString &requestId = {});
    // Sends a close frame; the reason is truncated to the protocol's 123 bytes, never a secret.
    void close(int code, const QString &reason);
    // Refuses a bad frame: counts it under `reason` (frameRejected) and closes with a bad-frame
    // close code and `closeReason`.
    void reject(const QString &reason, const QString &closeReason);
    void abort();
    void ping();
    // Frames go through `gate` (never null once set; see OutboundGate).
    void setGate(OutboundGate *gate) { m_gate = gate; }
    // The peer proved a secret: its frames may be as large as the endpoint allows, and it leaves
    // the bounds on connections without one.
    void authenticate();
    bool isAuthenticated() const { return m_authenticated; }
    // Where this connection counts until authenticate() (the TLS listener's; the plain one keeps
    // its own). Removed from it when authenticated or destroyed.
    void setUnauthenticatedPool(UnauthenticatedPool *pool) { m_pool = pool; }
    bool isClosing() const { return m_closeDecided; }
    // What waits to go to the peer: held for a commit, plus not yet taken by the kernel.
    qint64 backlogBytes() const;

    QString peerAddress() const;
    QString requestHeader(const QByteArray &name) const;
    bool isOpen() const;
    qint64 lastHeardMs() const { return m_lastHeardMs; }
    qint64 badFrames() const { return m_badFrames; }

Q_SIGNALS:
    void frameReceived(const QJsonObject &frame);
    void pongReceived();
    // A frame was refused and the connection is closing; `reason` is a stable code
    // ("too_large", "invalid_json", "binary", "unknown_type", ...).
    void frameRejected(const QString &reason);
    void closed();

private:
    friend class OutboundGate;
    void handleText(const QString &text);
    void handleFrame(const QString &text);
    // Pauses or resumes reading by the backlog, drops the connection past the hard bound.
    void checkBacklog();
    void handleDeferred();
    void closeNow(int code, const QString &reason);
    // Sends the frames that waited for epochs up to `upTo` (and a close behind them); true when
    // some still wait.
    bool flushHeld(quint64 upTo);

    std::unique_ptr<PeerSocket> m_socket;
    OutboundGate *m_gate = nullptr;
    struct Held
    {
        quint64 epoch;
        QByteArray text; // UTF-8
    };
    QList<Held> m_held; // encoded frames waiting for the gate, oldest first
    struct HeldClose
    {
        quint64 epoch;
        int code;
        QString reason;
    };
    std::optional<HeldClose> m_heldClose; // a close requested behind them
    qint64 m_heldBytes = 0;
    QList<QString> m_deferred; // frames read while reading was paused, oldest first
    qint64 m_deferredBytes = 0;
    qint64 m_maxFrameBytes;
    qint64 m_authenticatedMaxFrameBytes;
    qint64 m_lastHeardMs = 0;
    qint64 m_badFrames = 0;
    UnauthenticatedPool *m_pool = nullptr;
    bool m_authenticated = false;
    bool m_readingPaused = false;
    bool m_closeDecided = false;
    bool m_closedEmitted = false;
};

class WorkerConnection final : public PeerConnection
{
    Q_OBJECT
public:
    using PeerConnection::PeerConnection;
    QString workerId; // set once enrolled
    QString instanceId;
};

class AdminConnection final : public PeerConnection
{
    Q_OBJECT
public:
    using PeerConnection::PeerConnection;
    bool subscribed = false;
    QString clientName; // its User-Agent (printable, at most 200 characters), for the audit trail
};

} // namespace Swamp
