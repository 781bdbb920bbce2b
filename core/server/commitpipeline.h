#pragma once

#include "common/result.h"
#include "server/transport/connections.h"

#include <QObject>
#include <QTimer>

namespace Swamp {

class Store;

// The one owner of "nothing leaves before it is durable". What an event-loop turn changes goes
// into the store's open batch; the pipeline seals that batch on the next turn (or early, when a
// burst of frames keeps one turn busy), has it committed (on the committer thread where the store
// has one), and only then releases what the connections sent meanwhile: every send() and close()
// of a PeerConnection waits in the OutboundGate until the batch it depends on is durable. A
// failed commit drops what waited (the connections are aborted) and is reported once, by
// failed(): the in-memory state is then ahead of the database, so the orchestrator must stop, and
// a restart recovers from the last committed state. A commit that finds PostgreSQL gone is not a
// failed one: the batch and what waits for it are held, the store reconnects with a backoff
// (250 ms doubling to 5 s) and the batch is committed then (Store::isAway()).
class CommitPipeline final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(CommitPipeline)

public:
    // Installs itself as `store`'s group commit; `store` must outlive it.
    explicit CommitPipeline(Store &store, QObject *parent = nullptr);
    // The longest wait between two attempts to reach PostgreSQL again.
    static constexpr int MaxReconnectDelayMs = 5000;
    ~CommitPipeline() override;

    // Every connection's sends pass through it (PeerConnection::setGate()).
    OutboundGate *gate() { return &m_gate; }
    // After a frame: a batch open for long goes to the committer thread now (SQLite).
    void sealEarlyIfDue();
    // Commits the open batch and waits for it (stop()).
    void commitNow();
    bool hasFailed() const { return m_failed; }

Q_SIGNALS:
    // The first batch that could not be committed (disk full, I/O error, the database gone).
    void failed(const Swamp::Error &error);
    // A batch is durable (what waited for it has been released).
    void committed();
    // PostgreSQL is back after a loss, and the batch held meanwhile is being committed.
    void reconnected();

private:
    void commitBatch(); // the open batch, sealed, without waiting
    void batchCommitted(quint64 epoch, const Result<void> &outcome);
    void fail(const Error &error);
    void tryReconnect();

    Store &m_store;
    OutboundGate m_gate;
    bool m_failed = false;
    bool m_posted = false; // commitBatch() is posted for the next turn
    QTimer m_reconnect;    // PostgreSQL away: the next attempt
    int m_reconnectDelayMs = 0;
};

} // namespace Swamp
