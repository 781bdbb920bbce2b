#include "common/backoff.h"

#include <QDeadlineTimer>

namespace Swamp {

Backoff::Backoff(qint64 baseMs, qint64 capMs, quint32 seed, Clock clock)
    : m_baseMs(baseMs)
    , m_capMs(capMs)
    , m_random(seed ? seed : QRandomGenerator::system()->generate())
    , m_clock(clock)
{
}

qint64 Backoff::now() const
{
    return m_clock ? m_clock() : QDeadlineTimer::current().deadline();
}

qint64 Backoff::nextCeilingMs() const
{
    const int shift = std::min(m_attempt, 30);
    const qint64 exponential = std::min(m_capMs, m_baseMs << shift);
    const qint64 windowLeft = m_windowEndMs > 0 ? m_windowEndMs - now() : 0;
    return std::max(windowLeft, exponential);
}

qint64 Backoff::nextDelayMs()
{
    const qint64 ceiling = nextCeilingMs();
    ++m_attempt;
    return qint64(m_random.bounded(quint64(ceiling) + 1));
}

} // namespace Swamp
