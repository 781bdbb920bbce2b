#pragma once

#include <QHash>
#include <QString>

namespace Swamp {

// Counts refused attempts per source address in fixed windows, so that a flood from one place is
// answered cheaply and a stranger cannot make the orchestrator work for it without end. Always
// per address, never per token name: whoever knows a token's name must not be able to lock that
// token's workers out (a correct secret is always accepted, throttled or not: the callers check
// the secret before they ask). IPv6 addresses count by their /64, which one client usually holds
// whole. Memory is bounded: at most `maxAddresses` are tracked; past that the oldest windows are
// forgotten first.
class AddressThrottle final
{
public:
    AddressThrottle(int limit, qint64 windowMs, qsizetype maxAddresses = 65536);

    // The key an address counts under: an IPv4 address as it is, an IPv6 address by its /64.
    static QString keyOf(const QString &address);

    // At least `limit` refusals from the address within its current window.
    bool isThrottled(const QString &address, qint64 nowMs) const;
    // One refused attempt from the address.
    void record(const QString &address, qint64 nowMs);
    // Forgets windows that are over (call now and then: the sweep).
    void prune(qint64 nowMs);

    qint64 windowMs() const { return m_windowMs; }
    qsizetype trackedAddresses() const { return m_strikes.size(); }

private:
    struct Strikes
    {
        qint64 windowStartMs = 0;
        int count = 0;
    };
    int m_limit;
    qint64 m_windowMs;
    qsizetype m_maxAddresses;
    QHash<QString, Strikes> m_strikes;
};

} // namespace Swamp
