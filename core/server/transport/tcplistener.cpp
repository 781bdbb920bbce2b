#include "server/transport/tcplistener.h"

#include "common/logging.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace Swamp {

namespace {

bool outOfResources(int error)
{
    return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
}

QString describeLimit(int error)
{
    if (error == ENFILE)
        return QStringLiteral("the system is out of open files");
    if (error != EMFILE)
        return QStringLiteral("out of kernel memory (%1)").arg(QString::fromLocal8Bit(std::strerror(error)));
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    return QStringLiteral("out of open files (the limit is %1)").arg(qulonglong(limit.rlim_cur));
}

} // namespace

TcpListener::TcpListener(QString what, QObject *parent)
    : QObject(parent), m_what(std::move(what))
{
    m_retry.setInterval(250);
    connect(&m_retry, &QTimer::timeout, this, &TcpListener::acceptAll);
}

TcpListener::~TcpListener()
{
    close();
}

bool TcpListener::listen(const QHostAddress &address, quint16 port, int backlog)
{
    close();
    const bool ipv6 = address.protocol() == QAbstractSocket::IPv6Protocol || address == QHostAddress::Any;
    const int descriptor = ::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (descriptor < 0) {
        m_error = QString::fromLocal8Bit(std::strerror(errno));
        return false;
    }
    const int on = 1;
    ::setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_storage storage{};
    socklen_t size = 0;
    if (ipv6) {
        if (address == QHostAddress::Any) {
            const int off = 0; // dual stack, as QTcpServer listens on Any
            ::setsockopt(descriptor, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
        }
        auto *in6 = reinterpret_cast<sockaddr_in6 *>(&storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        const Q_IPV6ADDR bytes = address == QHostAddress::Any ? Q_IPV6ADDR{} : address.toIPv6Address();
        std::memcpy(&in6->sin6_addr, bytes.c, sizeof bytes.c);
        size = sizeof(sockaddr_in6);
    } else {
        auto *in4 = reinterpret_cast<sockaddr_in *>(&storage);
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        in4->sin_addr.s_addr = htonl(address.toIPv4Address());
        size = sizeof(sockaddr_in);
    }
    if (::bind(descriptor, reinterpret_cast<sockaddr *>(&storage), size) != 0
        || ::listen(descriptor, backlog) != 0) {
        m_error = errno == EADDRINUSE ? QStringLiteral("the address is already in use")
                                      : QString::fromLocal8Bit(std::strerror(errno));
        ::close(descriptor);
        return false;
    }
    sockaddr_storage bound{};
    socklen_t boundSize = sizeof bound;
    ::getsockname(descriptor, reinterpret_cast<sockaddr *>(&bound), &boundSize);
    m_address = QHostAddress(reinterpret_cast<const sockaddr *>(&bound));
    m_port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6 *>(&bound)->sin6_port
                                               : reinterpret_cast<sockaddr_in *>(&bound)->sin_port);
    m_descriptor = descriptor;
    m_error.clear();
    m_notifier = std::make_unique<QSocketNotifier>(descriptor, QSocketNotifier::Read);
    connect(m_notifier.get(), &QSocketNotifier::activated, this, &TcpListener::acceptAll);
    return true;
}

void TcpListener::close()
{
    m_retry.stop();
    m_notifier.reset();
    if (m_descriptor >= 0)
        ::close(m_descriptor);
    m_descriptor = -1;
    m_paused = false;
}

void TcpListener::acceptAll()
{
    // Up to a few hundred per turn: a storm of reconnects must not starve the connected.
    for (int i = 0; i < 256 && m_descriptor >= 0; ++i) {
        const int descriptor = ::accept4(m_descriptor, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (descriptor < 0) {
            const int error = errno;
            if (error == EINTR || error == ECONNABORTED)
                continue;
            if (outOfResources(error))
                pause(error);
            else if (m_paused)
                resume(); // the backlog is empty: nothing waits, and there are descriptors again
            return;
        }
        if (m_paused)
            resume();
        const int on = 1;
        ::setsockopt(descriptor, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        Q_EMIT accepted(descriptor);
    }
}

void TcpListener::pause(int error)
{
    if (m_paused)
        return;
    m_paused = true;
    m_notifier->setEnabled(false);
    m_retry.start();
    qCWarning(lcWs).noquote() << QStringLiteral("cannot accept connections on %1 (%2): %3 — connected peers are served; "
                                                "raise the limit ('ulimit -n', LimitNOFILE=); new connections wait "
                                                "in the backlog, tried again every 250 ms")
                                     .arg(m_what, QStringLiteral("%1:%2").arg(m_address.toString()).arg(m_port),
                                          describeLimit(error));
}

void TcpListener::resume()
{
    m_paused = false;
    m_retry.stop();
    if (m_notifier)
        m_notifier->setEnabled(true);
    qCWarning(lcWs).noquote() << QStringLiteral("accepting connections on %1 again").arg(m_what);
}

} // namespace Swamp
