#include "common/backoff.h"

namespace Swamp {

Backoff::Backoff(qint64 baseMs, qint64 capMs, quint32 seed)
    : m_baseMs(baseMs)
    , m_capMs(capMs)
    , m_random(seed ? seed : QRandomGenerator::system()->generate())
{
}

qint64 Backoff::nextCeilingMs() const
{
    const int shift = std::min(m_attempt, 30);
    return std::max(m_windowMs, std::min(m_capMs, m_baseMs << shift));
}

qint64 Backoff::nextDelayMs()
{
    const qint64 ceiling = nextCeilingMs();
    ++m_attempt;
    return qint64(m_random.bounded(quint64(ceiling) + 1));
}

} // namespace Swamp
