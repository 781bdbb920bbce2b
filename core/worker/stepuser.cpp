#include "worker/stepuser.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

namespace Swamp {

namespace {

std::unexpected<Error> stepUserError(const QString &message, const QString &fix)
{
    return fail(QStringLiteral("step_user"), message, fix);
}

// The effective capability set of this process (/proc/self/status, CapEff).
quint64 effectiveCapabilities()
{
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly))
        return 0;
    // readAll(): /proc files have no size, so QFile::atEnd() is true from the start.
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith("CapEff:"))
            return line.mid(7).trimmed().toULongLong(nullptr, 16);
    }
    return 0;
}

} // namespace

Result<StepUser> StepUser::resolve(const QString &nameOrUid)
{
    const QString fix = Tr::tr("create an unprivileged account for steps (e.g. 'useradd --system "
                                    "--user-group --create-home swamp-step') and pass its name");
    std::vector<char> buffer(16384);
    passwd entry{};
    passwd *found = nullptr;
    bool numeric = false;
    const uint uid = nameOrUid.toUInt(&numeric);
    const QByteArray name = nameOrUid.toLocal8Bit();
    if (nameOrUid.trimmed().isEmpty()) {
        return fail(QStringLiteral("invalid_step_user"),
                    Tr::tr("--step-user (or SWAMP_WORKER_STEP_USER) is empty"),
                    Tr::tr("name the account steps run as, or leave both out to run steps as the worker's own user"));
    }
    const int rc = numeric ? ::getpwuid_r(uid_t(uid), &entry, buffer.data(), buffer.size(), &found)
                           : ::getpwnam_r(name.constData(), &entry, buffer.data(), buffer.size(), &found);
    if (rc != 0 || !found) {
        return fail(QStringLiteral("invalid_step_user"),
                    Tr::tr("--step-user %1: no such user on this machine").arg(nameOrUid), fix);
    }
    if (found->pw_uid == 0) {
        return fail(QStringLiteral("invalid_step_user"),
                    Tr::tr("--step-user %1 is root: steps would run with every privilege").arg(nameOrUid),
                    fix);
    }
    StepUser user;
    user.name = QString::fromLocal8Bit(found->pw_name);
    user.uid = found->pw_uid;
    user.gid = found->pw_gid;
    user.home = QString::fromLocal8Bit(found->pw_dir);
    user.shell = QString::fromLocal8Bit(found->pw_shell);
    // System accounts have no login shell; a step's tools that start $SHELL get a real one.
    if (user.shell.isEmpty() || user.shell.endsWith(u"/nologin") || user.shell.endsWith(u"/false"))
        user.shell = QStringLiteral("/bin/sh");
    int count = 64;
    user.groups.resize(size_t(count));
    if (::getgrouplist(found->pw_name, found->pw_gid, user.groups.data(), &count) < 0) {
        user.groups.resize(size_t(count));
        ::getgrouplist(found->pw_name, found->pw_gid, user.groups.data(), &count);
    }
    user.groups.resize(size_t(std::max(count, 0)));
    return user;
}

static bool statPath(const QString &path, struct stat *info)
{
    return ::stat(QFile::encodeName(path).constData(), info) == 0;
}

// The permission bits (r=4, w=2, x=1) that apply to the user for a file with this owner and mode.
static int bitsFor(const StepUser &user, const struct stat &info)
{
    if (info.st_uid == user.uid)
        return (info.st_mode >> 6) & 7;
    if (std::find(user.groups.cbegin(), user.groups.cend(), info.st_gid) != user.groups.cend()
        || info.st_gid == user.gid)
        return (info.st_mode >> 3) & 7;
    return info.st_mode & 7;
}

bool StepUser::canRead(const QString &path) const
{
    struct stat info{};
    return statPath(path, &info) && (bitsFor(*this, info) & 4);
}

bool StepUser::canSearch(const QString &path) const
{
    struct stat info{};
    return statPath(path, &info) && (bitsFor(*this, info) & 1);
}

bool StepUser::owns(const QString &path) const
{
    struct stat info{};
    return statPath(path, &info) && info.st_uid == uid;
}

Result<void> checkStepUserIsolation(const StepUser &user, const QStringList &secrets, const QString &workRoot)
{
    constexpr quint64 needed = (1ULL << CAP_SETUID) | (1ULL << CAP_SETGID) | (1ULL << CAP_CHOWN)
                               | (1ULL << CAP_DAC_OVERRIDE) | (1ULL << CAP_FOWNER) | (1ULL << CAP_KILL);
    if (::geteuid() != 0 || (effectiveCapabilities() & needed) != needed) {
        return stepUserError(
            Tr::tr("--step-user %1: this worker cannot run steps as another user: it runs as uid %2 "
                        "without all of CAP_SETUID, CAP_SETGID, CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER "
                        "and CAP_KILL")
                .arg(user.name)
                .arg(::geteuid()),
            Tr::tr("run the worker as root (the swamp-worker unit and the container image do), or "
                        "leave out --step-user (steps then run as the worker's own user; see "
                        "docs/operations.md, \"Security\")"));
    }
    if (user.uid == ::geteuid()) {
        return stepUserError(Tr::tr("--step-user %1 is the worker's own user").arg(user.name),
                             Tr::tr("pass an account of its own for steps"));
    }
    for (const QString &path : secrets) {
        if (path.isEmpty() || !QFileInfo::exists(path))
            continue;
        const QString shown = QDir::toNativeSeparators(path);
        if (user.owns(path)) {
            return stepUserError(Tr::tr("%1 belongs to the step user %2, so steps could read it")
                                     .arg(shown, user.name),
                                 Tr::tr("give it to the worker's user: chown %1 %2")
                                     .arg(::geteuid())
                                     .arg(shown));
        }
        if (user.canRead(path)) {
            return stepUserError(Tr::tr("%1 is readable by the step user %2").arg(shown, user.name),
                                 QFileInfo(path).isDir() ? Tr::tr("chmod 0711 %1").arg(shown)
                                                         : Tr::tr("chmod 0600 %1").arg(shown));
        }
    }
    // Every directory above the work root must let the step user through.
    QDir dir(QFileInfo(workRoot).absoluteFilePath());
    QStringList ancestors;
    while (dir.cdUp())
        ancestors.prepend(dir.absolutePath());
    for (const QString &ancestor : std::as_const(ancestors)) {
        if (!user.canSearch(ancestor)) {
            return stepUserError(
                Tr::tr("the step user %1 cannot reach its work directories under %2: %3 is not "
                            "searchable by it")
                    .arg(user.name, QDir::toNativeSeparators(workRoot), QDir::toNativeSeparators(ancestor)),
                Tr::tr("chmod o+x %1, or choose a --cache-dir below directories others may enter")
                    .arg(QDir::toNativeSeparators(ancestor)));
        }
    }
    return {};
}

} // namespace Swamp
