#include "server/workerpool.h"

namespace Swamp {

WorkerPool::~WorkerPool()
{
    qDeleteAll(m_sessions);
}

QString WorkerPool::machineKey(const QString &machineId, const QString &tokenName)
{
    return machineId + u'\n' + tokenName;
}

WorkerSession *WorkerPool::find(const QString &workerId) const
{
    return m_sessions.value(workerId);
}

WorkerSession *WorkerPool::findByMachine(const QString &machineId, const QString &tokenName) const
{
    return find(m_byMachine.value(machineKey(machineId, tokenName)));
}

QList<WorkerSession *> WorkerPool::onToken(const QString &tokenName) const
{
    QList<WorkerSession *> sessions;
    for (auto it = m_byToken.constFind(tokenName); it != m_byToken.cend() && it.key() == tokenName; ++it) {
        if (WorkerSession *session = find(it.value()))
            sessions << session;
    }
    return sessions;
}

QList<WorkerSession *> WorkerPool::all() const
{
    return m_sessions.values();
}

WorkerSession *WorkerPool::insert(std::unique_ptr<WorkerSession> session)
{
    WorkerSession *raw = session.release();
    remove(raw->record.id);
    m_sessions.insert(raw->record.id, raw);
    m_byMachine.insert(machineKey(raw->record.machineId, raw->record.tokenName), raw->record.id);
    m_byToken.insert(raw->record.tokenName, raw->record.id);
    return raw;
}

void WorkerPool::remove(const QString &workerId)
{
    WorkerSession *session = m_sessions.take(workerId);
    if (!session)
        return;
    m_byMachine.remove(machineKey(session->record.machineId, session->record.tokenName));
    m_byToken.remove(session->record.tokenName, workerId);
    delete session;
}

} // namespace Swamp
