#include "server/addressthrottle.h"

#include <QHostAddress>

namespace Swamp {

AddressThrottle::AddressThrottle(int limit, qint64 windowMs, qsizetype maxAddresses)
    : m_limit(limit), m_windowMs(windowMs), m_maxAddresses(maxAddresses)
{
}

QString AddressThrottle::keyOf(const QString &address)
{
    const QHostAddress host(address);
    if (host.protocol() != QAbstractSocket::IPv6Protocol)
        return address;
    bool mapped = false;
    if (const quint32 ipv4 = host.toIPv4Address(&mapped); mapped)
        return QHostAddress(ipv4).toString(); // ::ffff:a.b.c.d from a dual-stack listener
    Q_IPV6ADDR bytes = host.toIPv6Address();
    std::fill(std::begin(bytes.c) + 8, std::end(bytes.c), quint8(0));
    return QHostAddress(bytes).toString() + QStringLiteral("/64");
}

bool AddressThrottle::isThrottled(const QString &address, qint64 nowMs) const
{
    const auto it = m_strikes.constFind(keyOf(address));
    return it != m_strikes.cend() && nowMs - it->windowStartMs < m_windowMs && it->count >= m_limit;
}

void AddressThrottle::record(const QString &address, qint64 nowMs)
{
    const QString key = keyOf(address);
    auto it = m_strikes.find(key);
    if (it == m_strikes.end()) {
        if (m_strikes.size() >= m_maxAddresses) {
            prune(nowMs);
            if (m_strikes.size() >= m_maxAddresses) {
                // Still full of live windows (a flood from very many addresses): make room by
                // forgetting the oldest window; its address starts counting afresh.
                auto oldest = std::min_element(m_strikes.begin(), m_strikes.end(),
                                               [](const Strikes &a, const Strikes &b) {
                                                   return a.windowStartMs < b.windowStartMs;
                                               });
                m_strikes.erase(oldest);
            }
        }
        it = m_strikes.insert(key, Strikes{nowMs, 0});
    } else if (nowMs - it->windowStartMs >= m_windowMs) {
        *it = Strikes{nowMs, 0};
    }
    ++it->count;
}

void AddressThrottle::prune(qint64 nowMs)
{
    m_strikes.removeIf([&](const auto &entry) { return nowMs - entry.value().windowStartMs >= m_windowMs; });
}

} // namespace Swamp
