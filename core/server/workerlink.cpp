#include "server/workerlink.h"

#include "server/transport/connections.h"
#include "server/workerpool.h"

namespace Swamp {

bool ConnectionLink::isConnected(const WorkerSession &session) const
{
    return session.isConnected();
}

void ConnectionLink::send(const WorkerSession &session, QByteArray frame)
{
    if (WorkerConnection *connection = session.connection)
        connection->sendEncoded(std::move(frame));
}

} // namespace Swamp
