#pragma once

#include <QHostAddress>
#include <QObject>
#include <QSocketNotifier>
#include <QString>
#include <QTimer>

#include <memory>

namespace Swamp {

// A listening TCP socket that hands over each accepted connection as a file descriptor
// (non-blocking, close-on-exec, TCP_NODELAY), in place of QTcpServer.
//
// Out of file descriptors (EMFILE, ENFILE) or kernel memory (ENOBUFS, ENOMEM), QTcpServer of Qt
// 6.4 keeps the listening socket armed and calls accept() again at once, thousands of times a
// second, a core spinning, without a word. This listener stops accepting instead, logs once
//   cannot accept connections on <address>: out of open files (...) — connected peers are
//   served; raise the limit ('ulimit -n', LimitNOFILE=)
// tries again every 250 ms (the connections wait in the kernel's backlog meanwhile), and logs
// once more when it accepts again. Connections already accepted are not affected.
class TcpListener final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(TcpListener)

public:
    // `what` names the listener in its log lines ("the WebSocket listener", "metrics").
    explicit TcpListener(QString what, QObject *parent = nullptr);
    ~TcpListener() override;

    // Binds `address`:`port` (0: any free port) with SO_REUSEADDR and starts listening with a
    // backlog of `backlog` connections (a reconnect storm overflows a small one, and each dropped
    // SYN costs its client a 1 s retransmission).
    bool listen(const QHostAddress &address, quint16 port, int backlog = 4096);
    void close();
    bool isListening() const { return m_descriptor >= 0; }
    quint16 serverPort() const { return m_port; }
    QHostAddress serverAddress() const { return m_address; }
    QString errorString() const { return m_error; }
    // While out of descriptors (between the two log lines).
    bool isPaused() const { return m_paused; }

Q_SIGNALS:
    // A new connection; the receiver owns the descriptor (and must close it).
    void accepted(int descriptor);

private:
    void acceptAll();
    void pause(int error);
    void resume();

    QString m_what;
    int m_descriptor = -1;
    quint16 m_port = 0;
    QHostAddress m_address;
    QString m_error;
    std::unique_ptr<QSocketNotifier> m_notifier;
    QTimer m_retry;
    bool m_paused = false;
};

} // namespace Swamp
