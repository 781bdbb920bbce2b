#include "worker/stepcgroups.h"

#include "common/logging.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QTimer>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

namespace Swamp {

namespace {

// The mount point of the cgroup v2 hierarchy (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a
// hybrid system), or empty.
QString cgroup2Mount()
{
    QFile mounts(QStringLiteral("/proc/self/mountinfo"));
    if (!mounts.open(QIODevice::ReadOnly))
        return {};
    // readAll(): /proc files have no size, so QFile::atEnd() is true from the start.
    for (const QByteArray &line : mounts.readAll().split('\n')) {
        const qsizetype dash = line.indexOf(" - ");
        if (dash < 0 || !line.mid(dash + 3).startsWith("cgroup2 "))
            continue;
        const QList<QByteArray> fields = line.left(dash).split(' ');
        if (fields.size() >= 5)
            return QString::fromLocal8Bit(fields.at(4));
    }
    return {};
}

// This process's cgroup v2 path, e.g. "/system.slice/swamp-worker.service".
QString ownCgroup()
{
    QFile file(QStringLiteral("/proc/self/cgroup"));
    if (!file.open(QIODevice::ReadOnly))
        return {};
    for (QByteArray line : file.readAll().split('\n')) {
        line = line.trimmed();
        if (line.startsWith("0::"))
            return QString::fromLocal8Bit(line.mid(3));
    }
    return {};
}

QList<qint64> processesIn(const QString &cgroup)
{
    QList<qint64> pids;
    QFile procs(cgroup + QStringLiteral("/cgroup.procs"));
    if (!procs.open(QIODevice::ReadOnly))
        return pids;
    for (const QByteArray &line : procs.readAll().split('\n')) {
        bool ok = false;
        const qint64 pid = line.trimmed().toLongLong(&ok);
        if (ok && pid > 0)
            pids << pid;
    }
    return pids;
}

bool writeControl(const QString &cgroup, const char *file, const QByteArray &value)
{
    QFile control(cgroup + u'/' + QLatin1String(file));
    return control.open(QIODevice::WriteOnly) && control.write(value) == value.size();
}

bool removeCgroup(const QString &cgroup)
{
    return ::rmdir(QFile::encodeName(cgroup).constData()) == 0 || errno == ENOENT;
}

// Kills and removes the step cgroups under a root a dead worker left, then the root.
void removeStale(const QString &root)
{
    const QStringList steps = QDir(root).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &step : steps) {
        StepCgroups::signalAll(root + u'/' + step, SIGKILL);
        StepCgroups::release(root + u'/' + step);
    }
    if (steps.isEmpty())
        removeCgroup(root);
    else
        QTimer::singleShot(1000, QCoreApplication::instance(), [root] { removeCgroup(root); });
}

} // namespace

std::optional<StepCgroups> StepCgroups::detect(QString *why)
{
    const QString mount = cgroup2Mount();
    const QString own = ownCgroup();
    if (mount.isEmpty() || own.isEmpty()) {
        *why = Tr::tr("this machine has no cgroup v2 hierarchy");
        return std::nullopt;
    }
    const QString parent = QDir::cleanPath(mount + own);
    if (::access(QFile::encodeName(parent).constData(), W_OK) != 0) {
        *why = Tr::tr("the worker's cgroup %1 is not writable (run it under systemd with Delegate=yes, "
                      "or as root)")
                   .arg(parent);
        return std::nullopt;
    }
    // Steps of a worker that died (kill -9, a crash) may have left daemons behind: end them.
    const QStringList siblings = QDir(parent).entryList({QStringLiteral("swamp-worker-*")}, QDir::Dirs);
    for (const QString &sibling : siblings) {
        const pid_t pid = pid_t(sibling.mid(13).toLongLong());
        if (pid > 0 && pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH)
            removeStale(parent + u'/' + sibling);
    }
    const QString root = parent + QStringLiteral("/swamp-worker-") + QString::number(::getpid());
    if (::mkdir(QFile::encodeName(root).constData(), 0755) != 0 && errno != EEXIST) {
        *why = Tr::tr("cannot create the cgroup %1: %2").arg(root, QString::fromLocal8Bit(std::strerror(errno)));
        return std::nullopt;
    }
    return StepCgroups(root);
}

Result<QString> StepCgroups::create(const QString &leaseId) const
{
    const QString path = m_root + u'/' + leaseId;
    if (::mkdir(QFile::encodeName(path).constData(), 0755) != 0 && errno != EEXIST) {
        return fail(QStringLiteral("cgroup"),
                    Tr::tr("cannot create the step's cgroup %1: %2")
                        .arg(path, QString::fromLocal8Bit(std::strerror(errno))),
                    Tr::tr("check the worker's cgroup delegation"));
    }
    return path;
}

QByteArray StepCgroups::procsFile(const QString &cgroup)
{
    return QFile::encodeName(cgroup + QStringLiteral("/cgroup.procs"));
}

bool StepCgroups::isPopulated(const QString &cgroup)
{
    return !processesIn(cgroup).isEmpty();
}

void StepCgroups::signalAll(const QString &cgroup, int signal)
{
    if (signal == SIGKILL && writeControl(cgroup, "cgroup.kill", "1"))
        return;
    // Without cgroup.kill (before Linux 5.14): freeze, so nothing forks between the listing and
    // the signal, signal everyone listed, thaw (a frozen process still dies of SIGKILL).
    const bool frozen = signal == SIGKILL && writeControl(cgroup, "cgroup.freeze", "1");
    for (int round = 0; round < 10; ++round) {
        const QList<qint64> pids = processesIn(cgroup);
        if (pids.isEmpty())
            break;
        for (qint64 pid : pids)
            ::kill(pid_t(pid), signal);
        if (signal != SIGKILL)
            break;
    }
    if (frozen)
        writeControl(cgroup, "cgroup.freeze", "0");
}

// Killed processes leave their cgroup only once they have exited: try again every 50 ms, 5 s
// in all.
static void removeWhenEmpty(const QString &cgroup, int attempt)
{
    StepCgroups::signalAll(cgroup, SIGKILL);
    if (removeCgroup(cgroup))
        return;
    if (attempt >= 100) {
        qCWarning(lcWorker) << "could not remove the step cgroup" << cgroup;
        return;
    }
    QTimer::singleShot(50, QCoreApplication::instance(), [cgroup, attempt] { removeWhenEmpty(cgroup, attempt + 1); });
}

void StepCgroups::release(const QString &cgroup)
{
    removeWhenEmpty(cgroup, 0);
}

void StepCgroups::removeRoot() const
{
    const QStringList steps = QDir(m_root).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &step : steps) {
        signalAll(m_root + u'/' + step, SIGKILL);
        removeCgroup(m_root + u'/' + step);
    }
    removeCgroup(m_root);
}

} // namespace Swamp
