#include "common/refusaldigest.h"

#include <algorithm>

namespace Swamp {

RefusalDigest::RefusalDigest(qint64 windowMs, int maxEventsPerWindow, int maxSummaries, qsizetype maxKeys)
    : m_windowMs(windowMs), m_maxEvents(maxEventsPerWindow), m_maxSummaries(maxSummaries), m_maxKeys(maxKeys)
{
}

bool RefusalDigest::admit(const QString &key, qint64 nowMs)
{
    if (m_windowStartMs < 0)
        m_windowStartMs = nowMs;
    const auto it = m_counted.find(key);
    if (it != m_counted.end()) {
        ++*it;
        return false;
    }
    if (m_counted.size() >= m_maxKeys) {
        ++m_overflow;
        return false;
    }
    if (m_events < m_maxEvents) {
        ++m_events;
        m_counted.insert(key, 0);
        return true;
    }
    m_counted.insert(key, 1);
    return false;
}

QList<RefusalDigest::Summary> RefusalDigest::takeSummaries(qint64 nowMs)
{
    if (m_windowStartMs < 0 || nowMs - m_windowStartMs < m_windowMs)
        return {};
    QList<Summary> summaries;
    for (auto it = m_counted.cbegin(); it != m_counted.cend(); ++it) {
        if (it.value() > 0)
            summaries << Summary{it.key(), it.value(), 1};
    }
    std::sort(summaries.begin(), summaries.end(),
              [](const Summary &a, const Summary &b) { return a.count > b.count || (a.count == b.count && a.key < b.key); });
    if (summaries.size() > m_maxSummaries || m_overflow > 0) {
        Summary rest{QString(), m_overflow, 0};
        for (qsizetype i = m_maxSummaries; i < summaries.size(); ++i) {
            rest.count += summaries.at(i).count;
            ++rest.keys;
        }
        summaries.resize(std::min<qsizetype>(summaries.size(), m_maxSummaries));
        summaries << rest;
    }
    m_counted.clear();
    m_events = 0;
    m_overflow = 0;
    m_windowStartMs = -1;
    return summaries;
}

} // namespace Swamp
