#pragma once

#include <QByteArray>

namespace Swamp {

struct WorkerSession;

// What the scheduler needs of the workers' sockets, and nothing more: whether a session has one,
// and sending it an encoded frame. The orchestrator's link (ConnectionLink) writes to the
// session's WorkerConnection, where the frame waits behind the commit gate until what it
// announces is durable; the in-process tests of the scheduler use a fake that records frames.
class WorkerLink
{
public:
    virtual ~WorkerLink() = default;

    virtual bool isConnected(const WorkerSession &session) const = 0;
    // One frame (compact JSON text) to the session's worker; nothing when it has no socket.
    virtual void send(const WorkerSession &session, QByteArray frame) = 0;
};

// The orchestrator's WorkerLink: the session's current WorkerConnection.
class ConnectionLink final : public WorkerLink
{
public:
    bool isConnected(const WorkerSession &session) const override;
    void send(const WorkerSession &session, QByteArray frame) override;
};

} // namespace Swamp
