#pragma once

#include <QHash>
#include <QList>
#include <QString>

#include <functional>
#include <map>

class QObject;

namespace Swamp {

// The connections that have not proven a secret yet (a worker before `enrolled`, a handshake in
// progress), bounded so that peers without a secret can neither take the orchestrator's memory
// nor crowd out the real workers:
// - at most `perAddress` from one source address (IPv6 by /64), or as many as that address holds
//   connections that proved a secret, if more (prove()): more are refused at once. A fleet behind
//   one NAT address that comes back at once after a restart is not refused for its size once
//   its first workers are back; a stranger has proved nothing and keeps the bound;
// - at most `total` in all: a new one evicts the oldest connection without a secret. A real
//   worker's is young (it enrolls within milliseconds), an attacker's holds on, so a flood
//   cannot keep anyone out; evicting from the address that holds the most (tried first) turned
//   on the workers' own address when many attacker addresses held a few each;
// - at most `bytes` buffered by all of them together (unfinished handshakes and frames): past it
//   the biggest holders are dropped until a quarter of the budget is free.
// The pool never deletes a connection: it names those to drop to the `drop` callback, after it
// has forgotten them.
class UnauthenticatedPool final
{
public:
    struct Limits
    {
        int perAddress = 1024;
        int total = 4096;
        qint64 bytes = 16 * 1024 * 1024;
    };
    using Drop = std::function<void(QObject *connection)>;

    explicit UnauthenticatedPool(Limits limits, Drop drop);
    // For connections admitted from now on.
    void setLimits(const Limits &limits) { m_limits = limits; }

    // A new connection from `address`. False: refused (its address holds perAddress already);
    // the caller closes it. True: admitted, after evicting one when the pool was full.
    bool admit(QObject *connection, const QString &address);
    // What the connection buffers now.
    void setBytes(QObject *connection, qint64 bytes);
    // Authenticated: it leaves the pool, and counts for its address's allowance until remove().
    void prove(QObject *connection);
    // Gone (or authenticated, without counting). Unknown connections are ignored.
    void remove(QObject *connection);
    // How many connections from `address` proved a secret and are still there.
    int provenFrom(const QString &address) const;

    bool contains(QObject *connection) const { return m_entries.contains(connection); }
    int size() const { return int(m_entries.size()); }
    qint64 bytes() const { return m_bytes; }
    const Limits &limits() const { return m_limits; }
    // Connections refused or dropped so far (for the log and the metrics).
    qint64 refused() const { return m_refused; }
    qint64 evicted() const { return m_evicted; }

private:
    struct Entry
    {
        QString address;
        qint64 bytes = 0;
        quint64 age = 0; // admission order
    };
    void dropNow(const QList<QObject *> &victims);

    Limits m_limits;
    Drop m_drop;
    QHash<QObject *, Entry> m_entries;
    QHash<QString, int> m_perAddress;
    QHash<QObject *, QString> m_provenBy; // proven connections → their address's key
    QHash<QString, int> m_proven;         // address key → proven connections still there
    std::map<quint64, QObject *> m_byAge; // oldest first
    quint64 m_nextAge = 0;
    qint64 m_bytes = 0;
    qint64 m_refused = 0;
    qint64 m_evicted = 0;
};

} // namespace Swamp
