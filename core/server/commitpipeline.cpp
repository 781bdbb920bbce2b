#include "server/commitpipeline.h"

#include "store/store.h"

namespace Swamp {

CommitPipeline::CommitPipeline(Store &store, QObject *parent)
    : QObject(parent)
    , m_store(store)
    , m_gate([this] { return m_store.inBatch() || m_store.commitsPending(); })
{
    m_reconnect.setSingleShot(true);
    connect(&m_reconnect, &QTimer::timeout, this, &CommitPipeline::tryReconnect);
    m_store.setGroupCommit([this] {
        // Once per turn: a batch sealed early (sealEarlyIfDue) and the one opened after it in the
        // same turn share the commit posted for the first.
        if (std::exchange(m_posted, true))
            return;
        QMetaObject::invokeMethod(
            this,
            [this] {
                m_posted = false;
                commitBatch();
            },
            Qt::QueuedConnection);
    });
}

CommitPipeline::~CommitPipeline()
{
    m_store.setGroupCommit({}); // its hook calls this object
}

void CommitPipeline::commitBatch()
{
    const quint64 sealed = m_gate.seal();
    m_store.commitBatchAsync(this, [this, sealed](const Result<void> &committed) { batchCommitted(sealed, committed); });
}

void CommitPipeline::sealEarlyIfDue()
{
    // A turn that reads a burst of frames (the replies to a release bring the next ones at once)
    // can take milliseconds; the changes of its first frames need not wait for its last ones.
    // Their batch goes to the committer thread while this one handles the rest (SQLite only: a
    // batch committed here would make the turn wait instead).
    constexpr qint64 EarlySealNs = 1'000'000;
    if (m_store.inBatch() && m_store.commitsOffThread() && m_store.batchAgeNs() >= EarlySealNs)
        commitBatch();
}

void CommitPipeline::commitNow()
{
    const quint64 sealed = m_gate.seal();
    batchCommitted(sealed, m_store.commitBatch());
}

void CommitPipeline::batchCommitted(quint64 epoch, const Result<void> &outcome)
{
    if (!outcome && outcome.error().code == u"database_away") {
        // Held, not failed: what waits keeps waiting for the database to come back.
        if (!m_reconnect.isActive()) {
            m_reconnectDelayMs = m_reconnectDelayMs == 0 ? 250 : m_reconnectDelayMs;
            m_reconnect.start(m_reconnectDelayMs);
        }
        return;
    }
    if (!outcome) {
        fail(outcome.error());
        return;
    }
    if (m_gate.isClosed())
        m_gate.release(epoch);
    else
        m_gate.releaseAll(); // also what was sent while only commits were in flight
    Q_EMIT committed();
}

void CommitPipeline::fail(const Error &error)
{
    if (std::exchange(m_failed, true))
        return; // the batches behind the one that failed fail too
    m_gate.discard();
    Q_EMIT failed(error);
}

void CommitPipeline::tryReconnect()
{
    if (auto back = m_store.reconnect(); !back) {
        if (m_store.isAway() && back.error().code != u"database_pooled") {
            m_reconnectDelayMs = std::min(MaxReconnectDelayMs, m_reconnectDelayMs * 2);
            m_reconnect.start(m_reconnectDelayMs);
            return;
        }
        fail(back.error()); // the held batch no longer applies, or a pooler would take it
        return;
    }
    m_reconnectDelayMs = 0;
    Q_EMIT reconnected();
    commitBatch();
}

} // namespace Swamp
