#include "server/transport/unauthenticatedpool.h"

#include "server/addressthrottle.h"

#include <algorithm>

namespace Swamp {

UnauthenticatedPool::UnauthenticatedPool(Limits limits, Drop drop)
    : m_limits(limits), m_drop(std::move(drop))
{
}

bool UnauthenticatedPool::admit(QObject *connection, const QString &address)
{
    const QString key = AddressThrottle::keyOf(address);
    int &same = m_perAddress[key];
    if (same >= std::max(m_limits.perAddress, m_proven.value(key))) {
        ++m_refused;
        return false;
    }
    QList<QObject *> victims;
    if (m_entries.size() >= m_limits.total && !m_byAge.empty())
        victims << m_byAge.begin()->second;
    ++same;
    const quint64 age = m_nextAge++;
    m_entries.insert(connection, Entry{key, 0, age});
    m_byAge.emplace(age, connection);
    dropNow(victims);
    return true;
}

void UnauthenticatedPool::setBytes(QObject *connection, qint64 bytes)
{
    const auto it = m_entries.find(connection);
    if (it == m_entries.end())
        return;
    m_bytes += bytes - it->bytes;
    it->bytes = bytes;
    if (m_bytes <= m_limits.bytes)
        return;
    // Over the budget: the biggest holders go first (a worker's enroll frame is a kilobyte, a
    // slow-loris frame tens of them), until a quarter of the budget is free.
    QList<std::pair<qint64, QObject *>> holders;
    holders.reserve(m_entries.size());
    for (auto entry = m_entries.cbegin(); entry != m_entries.cend(); ++entry)
        holders << std::pair{entry->bytes, entry.key()};
    std::sort(holders.begin(), holders.end(), [](const auto &a, const auto &b) { return a.first > b.first; });
    QList<QObject *> victims;
    qint64 remaining = m_bytes;
    for (const auto &[held, holder] : std::as_const(holders)) {
        if (remaining <= m_limits.bytes * 3 / 4 || held == 0)
            break;
        victims << holder;
        remaining -= held;
    }
    dropNow(victims);
}

void UnauthenticatedPool::prove(QObject *connection)
{
    const auto it = m_entries.constFind(connection);
    if (it == m_entries.cend())
        return;
    const QString key = it->address;
    remove(connection);
    ++m_proven[key];
    m_provenBy.insert(connection, key);
}

int UnauthenticatedPool::provenFrom(const QString &address) const
{
    return m_proven.value(AddressThrottle::keyOf(address));
}

void UnauthenticatedPool::remove(QObject *connection)
{
    if (const auto proven = m_provenBy.find(connection); proven != m_provenBy.end()) {
        if (const auto count = m_proven.find(*proven); count != m_proven.end() && --*count <= 0)
            m_proven.erase(count);
        m_provenBy.erase(proven);
        return;
    }
    const auto it = m_entries.find(connection);
    if (it == m_entries.end())
        return;
    m_bytes -= it->bytes;
    m_byAge.erase(it->age);
    if (const auto same = m_perAddress.find(it->address); same != m_perAddress.end() && --*same <= 0)
        m_perAddress.erase(same);
    m_entries.erase(it);
}

void UnauthenticatedPool::dropNow(const QList<QObject *> &victims)
{
    // Forgotten first: dropping a connection may come back here (remove()) from its owner.
    for (QObject *victim : victims)
        remove(victim);
    m_evicted += victims.size();
    for (QObject *victim : victims)
        m_drop(victim);
}

} // namespace Swamp
