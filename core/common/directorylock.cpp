#include "common/directorylock.h"

#include "common/files.h"

#include <QDateTime>
#include <QDeadlineTimer>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSysInfo>
#include <QThread>

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace Swamp {

namespace {

// A holder that has created the file but not yet written its pid is this young at most (the two
// happen microseconds apart); an unreadable lock file older than this was left by a dead process.
constexpr qint64 UnwrittenLockGraceMs = 1000;

// Whether a live process holds the lock file's flock (QLockFile takes it on Unix right after
// creating the file and keeps it until it unlocks; the kernel releases it when the process dies).
// Unsure (the file cannot be opened for a reason other than being gone) counts as held.
bool flockHeld(const QString &path)
{
    const int fd = ::open(QFile::encodeName(path).constData(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno != ENOENT;
    const bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0;
    ::close(fd); // also releases the flock this probe may have taken
    return held;
}

// A holder that died a moment ago may still hold the flock through a child it was forking (a
// step's process between fork and exec inherits the descriptor until its exec closes it, or
// until it sees its parent gone and exits): a worker restarted at once after a crash must not be
// refused for that. So while the pid in the file names no process, the flock gets this long to go.
constexpr qint64 DeadHolderGraceMs = 2000;

bool processGone(qint64 pid)
{
    return pid > 0 && ::kill(pid_t(pid), 0) != 0 && errno == ESRCH;
}

bool flockHeldBy(const QString &path, qint64 pid)
{
    QDeadlineTimer deadline(DeadHolderGraceMs);
    while (flockHeld(path)) {
        if (!processGone(pid) || deadline.hasExpired())
            return true;
        QThread::msleep(20);
    }
    return false;
}

} // namespace

Result<std::unique_ptr<QLockFile>> lockDirectory(const QString &dir, const QString &fileName,
                                                 const std::function<Error(qint64 pid)> &inUse)
{
    if (auto created = ensurePrivateDirectory(dir); !created)
        return fail(created.error());
    const QString path = dir + u'/' + fileName;
    if (const QFileInfo existing(path); existing.exists() && !existing.isFile()) {
        return fail(QStringLiteral("lock_file"),
                    Tr::tr("%1 is in the way of the lock file: it is not a file")
                        .arg(QDir::toNativeSeparators(path)),
                    Tr::tr("remove it; swamp creates the lock file itself"));
    }
    auto lock = std::make_unique<QLockFile>(path);
    lock->setStaleLockTime(0); // only a holder that is gone makes the lock stale, never its age
    for (int attempt = 0;; ++attempt) {
        if (lock->tryLock(0)) {
            QFile::setPermissions(path, QFileDevice::ReadOwner | QFileDevice::WriteOwner);
            return lock;
        }
        if (lock->error() != QLockFile::LockFailedError) {
            return fail(
                QStringLiteral("lock_file"),
                Tr::tr("cannot create the lock file %1 (%2)")
                    .arg(QDir::toNativeSeparators(path), lock->error() == QLockFile::PermissionError
                                                             ? Tr::tr("permission denied")
                                                             : Tr::tr("unknown error")),
                Tr::tr("check that %1 is a directory writable by this user")
                    .arg(QDir::toNativeSeparators(dir)));
        }
        qint64 pid = 0;
        QString host;
        QString application;
        const bool written = lock->getLockInfo(&pid, &host, &application);
        const QFileInfo info(path);
        const bool youngAndUnwritten = !written && info.exists() &&
                                       info.lastModified().toUTC().msecsTo(
                                           QDateTime::currentDateTimeUtc()) < UnwrittenLockGraceMs;
        // A holder on another machine (a shared file system) is not ours to judge.
        const bool otherHost = written && !host.isEmpty() && host != QSysInfo::machineHostName();
        if (attempt > 0 || youngAndUnwritten || otherHost || flockHeldBy(path, written ? pid : 0))
            return fail(inUse(pid));
        // Nobody holds it: the process that wrote it is gone, whatever its pid now names.
        lock->removeStaleLockFile();
    }
}

} // namespace Swamp
