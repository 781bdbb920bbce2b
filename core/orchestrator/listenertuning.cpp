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

// Sees every socket the QTcpServer creates (as its child) and sets TCP_NODELAY once the socket
// has its descriptor (the next event-loop turn; the ChildAdded event comes from its constructor).
class NoDelayFilter final : public QObject
{
public:
    using QObject::QObject;

    bool eventFilter(QObject *watched, QEvent *event) override
    {
        if (event->type() == QEvent::ChildAdded) {
            QPointer<QObject> child = static_cast<QChildEvent *>(event)->child();
            QMetaObject::invokeMethod(watched, [child] {
                if (auto *socket = qobject_cast<QTcpSocket *>(child.data()))
                    socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
            }, Qt::QueuedConnection);
        }
        return false;
    }
};

} // namespace

bool tuneListener(QWebSocketServer *server, int backlog)
{
    QTcpServer *tcp = server->findChild<QTcpServer *>(QString(), Qt::FindDirectChildrenOnly);
    if (!tcp) {
        qCWarning(lcWs) << "QWebSocketServer has no QTcpServer child: default backlog, no TCP_NODELAY";
        return false;
    }
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
    tcp->installEventFilter(new NoDelayFilter(tcp));
    return true;
}

} // namespace Swamp
