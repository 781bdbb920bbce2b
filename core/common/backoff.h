#pragma once

#include <QRandomGenerator>

#include <algorithm>

namespace Swamp {

// Exponential backoff with full jitter: the n-th delay is uniform in [0, min(cap, base·2^(n-1))].
// 1 s doubling to a 30 s cap by default; reset() after a session that enrolled.
//
// A window the orchestrator asked its fleet to spread its reconnects over ends at a fixed time:
// a worker whose attempt in it failed (the orchestrator was still starting, or refused it while
// it caught up) draws its next one from what is left of the window, not from a whole new one
// (which put the unlucky ones up to a window behind the fleet: a tail that halved the mean rate).
class Backoff
{
public:
    // The longest wait between a worker's attempts (but for a window the orchestrator asked for).
    static constexpr qint64 DefaultCapMs = 30000;
    // The monotonic clock, in milliseconds (a test's own clock).
    using Clock = qint64 (*)();

    explicit Backoff(qint64 baseMs = 1000, qint64 capMs = DefaultCapMs, quint32 seed = 0, Clock clock = nullptr);

    qint64 nextDelayMs();
    // The upper bound the next call will draw from.
    qint64 nextCeilingMs() const;
    int attempt() const { return m_attempt; }
    // Until reset(), every draw's ceiling is at least what is left of `windowMs` from now (above
    // the cap if need be): the orchestrator asked its fleet to spread its reconnects over that
    // window (`shutdown` frame).
    void spreadOver(qint64 windowMs) { m_windowEndMs = windowMs > 0 ? now() + windowMs : 0; }
    // As spreadOver(), keeping a window that ends later already asked for.
    void spreadAtLeast(qint64 windowMs)
    {
        if (windowMs > 0)
            m_windowEndMs = std::max(m_windowEndMs, now() + windowMs);
    }
    void reset()
    {
        m_attempt = 0;
        m_windowEndMs = 0;
    }

private:
    qint64 now() const;

    qint64 m_baseMs;
    qint64 m_capMs;
    int m_attempt = 0;
    qint64 m_windowEndMs = 0; // on the clock; 0: no window
    QRandomGenerator m_random;
    Clock m_clock;
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
