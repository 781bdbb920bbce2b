#pragma once

#include <QHash>
#include <QList>
#include <QSet>
#include <QString>

#include <algorithm>
#include <set>
#include <utility>

namespace Swamp {

// The queued step ids in dispatch order, with O(1) membership and removal, and each one's
// queue deadline (when it times out waiting for a worker) in a sorted index.
//
// A plain list made every dispatch, cancel and timeout a linear search of the queue, and a
// restart with 83,000 queued steps quadratic (it never finished booting). Removal here only
// forgets the id; its place in the order is dropped lazily, when the stale places outnumber the
// queued ids. Iteration (forEach) visits queued ids only and tolerates changes made by the
// visitor: ids removed meanwhile are skipped, ids added meanwhile are not visited. Deadlines
// are kept sorted so that finding the timed-out steps does not read the whole queue each second.
class StepQueue
{
public:
    bool isEmpty() const { return m_members.isEmpty(); }
    qsizetype size() const { return m_members.size(); }
    bool contains(const QString &id) const { return m_members.contains(id); }

    void append(const QString &id, qint64 deadlineMs) { insert(id, deadlineMs, false); }
    void prepend(const QString &id, qint64 deadlineMs) { insert(id, deadlineMs, true); }

    void remove(const QString &id)
    {
        const auto member = m_members.constFind(id);
        if (member == m_members.cend())
            return;
        m_deadlines.erase({member.value(), id});
        m_members.erase(member);
        m_stale.insert(id);
        if (m_visiting == 0 && m_stale.size() > 64 && m_stale.size() > m_members.size())
            compact();
    }

    // Calls visit(id) in order for each queued id until it returns false.
    template <typename Visit>
    void forEach(Visit visit) const
    {
        // Dispatching takes from the front: without this every pass of a deep queue walked
        // the places of all the steps dispatched since the last compaction first.
        trimFront();
        const QList<QString> order = m_order; // shared: the visitor's changes detach m_order
        ++m_visiting;
        for (const QString &id : order) {
            if (m_members.contains(id) && !visit(id))
                break;
        }
        --m_visiting;
    }

    QList<QString> ids() const
    {
        QList<QString> queued;
        queued.reserve(m_members.size());
        forEach([&queued](const QString &id) {
            queued.append(id);
            return true;
        });
        return queued;
    }

    void setDeadline(const QString &id, qint64 deadlineMs)
    {
        const auto member = m_members.find(id);
        if (member == m_members.end() || member.value() == deadlineMs)
            return;
        m_deadlines.erase({member.value(), id});
        member.value() = deadlineMs;
        m_deadlines.insert({deadlineMs, id});
    }

    // Queued ids whose deadline is at or before `nowMs`, earliest first (still queued).
    QList<QString> due(qint64 nowMs) const
    {
        QList<QString> ids;
        for (auto it = m_deadlines.cbegin(); it != m_deadlines.cend() && it->first <= nowMs; ++it)
            ids.append(it->second);
        return ids;
    }

    template <typename Less>
    void sort(Less less)
    {
        compact();
        std::stable_sort(m_order.begin(), m_order.end(), less);
    }

private:
    void insert(const QString &id, qint64 deadlineMs, bool front)
    {
        if (m_members.contains(id))
            return;
        if (m_stale.remove(id))
            m_order.removeAll(id); // back after a removal: its old place must not count (rare)
        m_members.insert(id, deadlineMs);
        m_deadlines.insert({deadlineMs, id});
        if (front)
            m_order.prepend(id);
        else
            m_order.append(id);
    }

    // Drops the stale places at the front of the order (O(1) each: QList erases its front
    // by moving its start).
    void trimFront() const
    {
        qsizetype stale = 0;
        while (stale < m_order.size() && !m_members.contains(m_order.at(stale)))
            m_stale.remove(m_order.at(stale++));
        if (stale > 0)
            m_order.remove(0, stale);
    }
    void compact()
    {
        if (m_stale.isEmpty())
            return;
        m_order.removeIf([this](const QString &id) { return !m_members.contains(id); });
        m_stale.clear();
    }

    mutable QList<QString> m_order; // queued ids in order, plus stale places of removed ones
    QHash<QString, qint64> m_members;              // the queued ids and their deadlines
    std::set<std::pair<qint64, QString>> m_deadlines; // the same, by deadline
    mutable QSet<QString> m_stale;  // ids with a stale place in m_order
    mutable int m_visiting = 0;     // forEach() runs: m_order keeps its places meanwhile
};

} // namespace Swamp
