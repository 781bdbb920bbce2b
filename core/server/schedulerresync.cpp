// What the database refused, tried again: a worker's frames about a lease (started, output,
// finished) that could not be stored are asked again with a `resend` once the database takes
// writes, and the leases of a gone orchestrator that could not all be expired are expired again.
// Nothing a worker sent is lost because the database was away for a while, and nothing is stored
// twice: a lease in resync takes only the frame that follows what is stored (the chunk after the
// last stored one, or `finished` once every chunk is stored), the rest comes again.
#include "server/scheduler.h"

#include "common/logging.h"
#include "protocol/workerframes.h"
#include "server/workerlink.h"
#include "server/workerpool.h"
#include "store/store.h"

#include <algorithm>

namespace Swamp {

namespace {
constexpr qint64 FirstResendDelayMs = 500;
constexpr qint64 MaxResendDelayMs = 10000;
// How long a worker has to answer a `resend` with the next frame before it is asked again (an
// older worker ignores the frame; the lease then waits for its reconnect, or its end).
constexpr qint64 ResendAnswerMs = 10000;
} // namespace

void Scheduler::resyncLater(const QString &leaseId, const Error &error)
{
    const bool first = !m_resync.contains(leaseId);
    Resync &resync = m_resync[leaseId];
    resync.delayMs = first ? FirstResendDelayMs : std::min(resync.delayMs * 2, MaxResendDelayMs);
    resync.dueMs = QDateTime::currentMSecsSinceEpoch() + resync.delayMs;
    resync.asked = false;
    if (first && !Store::isAwayError(error)) {
        qCWarning(lcLease) << "could not store what lease" << leaseId << "sent:" << error.message
                           << "- the worker sends it again when the database takes it";
    }
}

bool Scheduler::takesOutput(const LeaseRecord &lease, int seq) const
{
    // Output follows `started`: while that is not stored, nothing after it is either.
    if (!inResync(lease.id))
        return true;
    return lease.startedAt.isValid() && seq == m_lastSeq.value(lease.id) + 1;
}

bool Scheduler::takesFinished(const LeaseRecord &lease, int lastSeq) const
{
    return !inResync(lease.id) || lastSeq <= m_lastSeq.value(lease.id);
}

void Scheduler::askResends(qint64 nowMs)
{
    if (m_resync.isEmpty() || m_store->isAway())
        return;
    for (auto it = m_resync.begin(); it != m_resync.end();) {
        const auto lease = m_leases.constFind(it.key());
        if (lease == m_leases.cend()) {
            it = m_resync.erase(it); // ended meanwhile (expired, superseded)
            continue;
        }
        WorkerSession *session = m_pool->find(lease->workerId);
        // A session in its reconnect grace: its resume sends everything after the last stored chunk.
        if (it->dueMs <= nowMs && session && m_link->isConnected(*session)) {
            sendToWorker(session, Protocol::Resend{lease->id, m_lastSeq.value(lease->id)}.encode());
            it->asked = true;
            it->dueMs = nowMs + ResendAnswerMs;
        }
        ++it;
    }
}

void Scheduler::expireAgain()
{
    const QHash<QString, QString> gone = m_goneOrchestrators;
    for (auto it = gone.cbegin(); it != gone.cend() && !m_store->isAway(); ++it)
        expireLeasesOf(it.key(), it.value());
}

} // namespace Swamp
