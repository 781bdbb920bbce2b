#include "orchestrator/listenertuning.h"

#include "common/logging.h"

#include <QChildEvent>
#include <QPointer>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>
#include <QWebSocketServer>

namespace Swamp {

namespace {

// Sees every socket the QTcpServer creates (as its child) and, once QWebSocketServer has taken
// it (the next event-loop turn; the ChildAdded event comes from its constructor):
// - sets TCP_NODELAY;
// - takes over the socket's clean-up. QWebSocketServer (Qt 6.4) connects every accepted socket's
//   disconnected() to a slot of its own that finds the socket with QObject::sender(), which walks
//   the list of all those connections, and deleteLater()s it. Closing N sockets cost about N²/2
//   steps: 2.3 s of CPU for the shutdown frames to 10,000 workers, while the fleet was already
//   reconnecting. The socket now deletes itself on disconnected(), which is all that slot did.
class AcceptedSocketFilter final : public QObject
{
public:
    AcceptedSocketFilter(QWebSocketServer *server, QObject *parent)
        : QObject(parent)
        , m_server(server)
    {
    }

    bool eventFilter(QObject *watched, QEvent *event) override
    {
        if (event->type() == QEvent::ChildAdded) {
            QPointer<QObject> child = static_cast<QChildEvent *>(event)->child();
            QMetaObject::invokeMethod(watched, [child, server = m_server] {
                auto *socket = qobject_cast<QTcpSocket *>(child.data());
                if (!socket)
                    return;
                socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
                if (server && QObject::disconnect(socket, &QAbstractSocket::disconnected, server.data(), nullptr))
                    QObject::connect(socket, &QAbstractSocket::disconnected, socket, &QObject::deleteLater);
            }, Qt::QueuedConnection);
        }
        return false;
    }

private:
    QPointer<QWebSocketServer> m_server;
};

} // namespace

void tuneTcpServer(QTcpServer *tcp, int backlog)
{
    tcp->setListenBacklogSize(backlog);
    // Out of file descriptors, QTcpServer pauses accepting for good: resume after a second, and
    // say what to raise (the connections already open keep working meanwhile).
    QObject::connect(tcp, &QTcpServer::acceptError, tcp, [tcp](QAbstractSocket::SocketError error) {
        qCWarning(lcWs).noquote() << "cannot accept a connection:" << tcp->errorString()
                                  << (error == QAbstractSocket::SocketResourceError
                                          ? "— out of open files; raise the limit ('ulimit -n', LimitNOFILE=)"
                                          : "");
        QTimer::singleShot(1000, tcp, [tcp] { tcp->resumeAccepting(); });
    });
}

bool tuneListener(QWebSocketServer *server, int backlog)
{
    QTcpServer *tcp = server->findChild<QTcpServer *>(QString(), Qt::FindDirectChildrenOnly);
    if (!tcp) {
        qCWarning(lcWs) << "QWebSocketServer has no QTcpServer child: default backlog, no TCP_NODELAY";
        return false;
    }
    tuneTcpServer(tcp, backlog);
    tcp->installEventFilter(new AcceptedSocketFilter(server, tcp));
    return true;
}

} // namespace Swamp
