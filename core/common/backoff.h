#pragma once

#include <QRandomGenerator>

#include <algorithm>

namespace Swamp {

// Exponential backoff with full jitter: the n-th delay is uniform in [0, min(cap, base·2^(n-1))].
// 1 s doubling to a 30 s cap by default; reset() after a session that enrolled.
class Backoff
{
public:
    // The longest wait between a worker's attempts (but for a window the orchestrator asked for).
    static constexpr qint64 DefaultCapMs = 30000;

    explicit Backoff(qint64 baseMs = 1000, qint64 capMs = DefaultCapMs, quint32 seed = 0);

    qint64 nextDelayMs();
    // The upper bound the next call will draw from.
    qint64 nextCeilingMs() const;
    int attempt() const { return m_attempt; }
    // Until reset(), every draw's ceiling is at least `windowMs` (above the cap if need be): the
    // orchestrator asked its fleet to spread its reconnects over that window (`shutdown` frame).
    void spreadOver(qint64 windowMs) { m_windowMs = std::max<qint64>(0, windowMs); }
    // As spreadOver(), keeping a wider window already asked for.
    void spreadAtLeast(qint64 windowMs) { m_windowMs = std::max(m_windowMs, windowMs); }
    void reset()
    {
        m_attempt = 0;
        m_windowMs = 0;
    }

private:
    qint64 m_baseMs;
    qint64 m_capMs;
    int m_attempt = 0;
    qint64 m_windowMs = 0;
    QRandomGenerator m_random;
};

// Over how long to spread the reconnect after a drop without a `shutdown` frame: the window the
// orchestrator gave at enrollment and updated as its fleet grew (`window`), at most half the
// reconnect grace (a worker back later than the grace loses its session and its steps).
class DropWindow
{
public:
    // The `reconnectGraceMs` and `reconnectWindowMs` of `enrolled`.
    void enrolled(qint64 graceMs, qint64 windowMs)
    {
        m_graceMs = graceMs;
        update(windowMs);
    }
    // The `reconnectWindowMs` of `window`.
    void update(qint64 windowMs) { m_windowMs = std::clamp<qint64>(windowMs, 0, std::max<qint64>(0, m_graceMs / 2)); }
    qint64 ms() const { return m_windowMs; }

private:
    qint64 m_graceMs = 0;
    qint64 m_windowMs = 0;
};

} // namespace Swamp
