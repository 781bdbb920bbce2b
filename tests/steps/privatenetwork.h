#pragma once

// A network namespace of the test's own: its own lo, its own 127.0.0.1, its own ports.

#include <QString>

#include <cerrno>
#include <cstring>

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace SwampTest {

// Moves this process, and every process it starts from now on, into a new network namespace
// with only lo, and brings lo up (a new namespace's lo is down: no 127.0.0.1 until then).
// Nothing else on the machine can take or hold a port in it, and it is gone with the process,
// even when the test is killed. Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN). Returns an empty
// string when done, else what failed and why.
inline QString enterPrivateNetwork()
{
    const auto failed = [](const char *what) {
        return QStringLiteral("%1 failed: %2")
            .arg(QLatin1String(what), QString::fromLocal8Bit(std::strerror(errno)));
    };
    if (::unshare(CLONE_NEWNET) != 0)
        return failed("unshare(CLONE_NEWNET)");
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return failed("socket()");
    ifreq request{};
    std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    QString error;
    if (::ioctl(fd, SIOCGIFFLAGS, &request) != 0) {
        error = failed("reading the flags of lo");
    } else {
        request.ifr_flags |= IFF_UP;
        if (::ioctl(fd, SIOCSIFFLAGS, &request) != 0)
            error = failed("bringing lo up");
    }
    ::close(fd);
    return error;
}

} // namespace SwampTest
