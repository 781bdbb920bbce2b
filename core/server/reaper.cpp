#include "server/reaper.h"

#include "common/duration.h"
#include "common/logging.h"
#include "store/store.h"

namespace Swamp {

QString RetentionSummary::message() const
{
    if (!error.isEmpty())
        return Tr::tr("retention: pass stopped after %1 batch(es): %2").arg(batches).arg(error);
    return Tr::tr(
               "retention: removed %1 step(s), %2 lease(s), %3 output chunk(s), %4 run(s) and %5 "
               "event(s) older than %6 in %7 batch(es) (longest %8 ms)")
        .arg(steps)
        .arg(leases)
        .arg(outputChunks)
        .arg(runs)
        .arg(events)
        .arg(formatDurationMs(retentionMs))
        .arg(batches)
        .arg(longestBatchMs);
}

QJsonObject RetentionSummary::toJson() const
{
    QJsonObject json{{QStringLiteral("cutoff"), isoUtc(cutoff)},
                     {QStringLiteral("retentionMs"), retentionMs},
                     {QStringLiteral("steps"), steps},
                     {QStringLiteral("leases"), leases},
                     {QStringLiteral("outputChunks"), outputChunks},
                     {QStringLiteral("runs"), runs},
                     {QStringLiteral("events"), events},
                     {QStringLiteral("batches"), batches},
                     {QStringLiteral("longestBatchMs"), longestBatchMs},
                     {QStringLiteral("elapsedMs"), elapsedMs}};
    if (!error.isEmpty())
        json.insert(QStringLiteral("error"), error);
    return json;
}

Reaper::Reaper(Store *store, qint64 retentionMs, QObject *parent)
    : QObject(parent), m_store(store), m_retentionMs(retentionMs)
{
    m_passTimer.setSingleShot(true);
    connect(&m_passTimer, &QTimer::timeout, this, &Reaper::beginPass);
    m_batchTimer.setSingleShot(true);
    m_batchTimer.setInterval(0);
    connect(&m_batchTimer, &QTimer::timeout, this, &Reaper::runBatch);
}

qint64 Reaper::intervalMs() const
{
    return std::clamp<qint64>(m_retentionMs / 4, 1000, 5 * 60 * 1000);
}

void Reaper::start()
{
    m_passTimer.start(0);
}

void Reaper::stop()
{
    m_passTimer.stop();
    m_batchTimer.stop();
    m_phase = Phase::Idle;
}

void Reaper::beginPass()
{
    m_summary = RetentionSummary();
    m_summary.retentionMs = m_retentionMs;
    m_summary.cutoff = QDateTime::currentDateTimeUtc().addMSecs(-m_retentionMs);
    m_phase = Phase::Steps;
    m_passClock.start();
    m_batchTimer.start();
}

void Reaper::runBatch()
{
    QElapsedTimer clock;
    clock.start();
    bool more = false;
    if (m_phase == Phase::Steps) {
        auto batch = m_store->deleteEndedSteps(m_summary.cutoff, BatchRows);
        if (!batch) {
            m_summary.error = batch.error().message;
        } else {
            m_summary.steps += batch->steps;
            m_summary.leases += batch->leases;
            m_summary.outputChunks += batch->outputChunks;
            m_summary.runs += batch->runs;
            more = batch->more;
            if (!more)
                m_phase = Phase::Events;
            more = true; // the events phase follows
        }
    } else if (m_phase == Phase::Events) {
        auto deleted = m_store->deleteEventsBefore(m_summary.cutoff, BatchRows);
        if (!deleted)
            m_summary.error = deleted.error().message;
        else {
            m_summary.events += *deleted;
            more = *deleted >= BatchRows;
        }
    }
    ++m_summary.batches;
    m_summary.longestBatchMs = std::max(m_summary.longestBatchMs, clock.elapsed());
    if (more && m_summary.error.isEmpty())
        m_batchTimer.start(); // yield: workers and admins are served before the next batch
    else
        endPass();
}

void Reaper::endPass()
{
    m_phase = Phase::Idle;
    m_summary.elapsedMs = m_passClock.elapsed();
    if (!m_summary.error.isEmpty())
        qCWarning(lcDb) << "retention pass failed:" << m_summary.error;
    m_passTimer.start(int(intervalMs()));
    Q_EMIT passFinished(m_summary);
}

} // namespace Swamp
