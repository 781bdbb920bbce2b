#pragma once

// A private copy of this machine's /etc, for tests of what the package's maintainer scripts do
// to the account databases (the postinst creates the step account swamp-step, the postrm removes
// it on purge) and of recipes that run steps as that account. Nothing of the machine's own /etc
// changes: each command runs in a mount namespace of its own (unshare(1)) in which the copy is
// bind-mounted over /etc (with an empty private /var/lib for the maintainer scripts), or only its
// passwd and group files over the machine's. As root that is a plain mount namespace; otherwise a
// user namespace maps the caller to root first, in which a worker passes its start-up checks but
// cannot switch a step to another user.

#include "integration/swampharness.h"

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QStandardPaths>
#include <QTest>

#include <optional>

#include <unistd.h>

namespace SwampTest {

using namespace Qt::StringLiterals;

// An entry of an /etc/passwd file.
struct PasswdEntry
{
    QString name;
    uint uid = 0;
    uint gid = 0;
    QString home;
    QString shell;
};

class PrivateEtc
{
public:
    // Copies /etc into `directory`/etc; false (and `error`) when that fails or unshare(1) cannot
    // make a mount namespace here. Files this user cannot read (/etc/shadow, unless root) are
    // left out of the copy.
    bool create(const QString &directory, QString *error)
    {
        m_etc = directory + u"/etc"_s;
        m_varLib = directory + u"/var-lib"_s;
        m_run = directory + u"/run"_s;
        QDir().mkpath(m_varLib);
        QDir().mkpath(m_run);
        const Run copy = run(u"cp"_s, {u"-a"_s, u"/etc"_s, m_etc});
        if (!QFile::exists(m_etc + u"/passwd"_s) || !QFile::exists(m_etc + u"/group"_s)) {
            *error = u"cannot copy /etc: "_s + copy.describe();
            return false;
        }
        const Run probe = inNamespace(u"true"_s, {});
        if (probe.exitCode != 0) {
            *error = u"cannot bind-mount a copy of /etc in a mount namespace of its own (unshare): "_s +
                     probe.describe();
            return false;
        }
        return true;
    }

    QString etc() const { return m_etc; }
    // What the commands of wrapWholeEtc() see as /var/lib.
    QString varLib() const { return m_varLib; }

    // Whether commands run as the real root (and can therefore switch to another user).
    static bool realRoot() { return ::geteuid() == 0; }

    // Why no private copy of /etc can be made here, or empty. In a chroot whose / is not a mount
    // point (../shared/tools/fresh-debian.sh, some build sandboxes) unshare(1) cannot make the
    // new namespace's mounts private (`--propagation private` remounts /: EINVAL) and the kernel
    // refuses user namespaces: a bind mount there could reach the host's mounts, so none is made.
    static QString unavailableReason()
    {
        QFile mountInfo(u"/proc/self/mountinfo"_s);
        if (!mountInfo.open(QIODevice::ReadOnly))
            return u"cannot read /proc/self/mountinfo"_s;
        // Field 5 of each line is the mount point, relative to this process's root.
        for (const QByteArray &line : mountInfo.readAll().split('\n')) {
            if (line.split(' ').value(4) == "/")
                return {};
        }
        return u"this runs in a chroot whose / is not a mount point, where no mount namespace can be "
               "made private: the tests of the package's accounts need a real machine, VM or "
               "container"_s;
    }

    // `program arguments` with the copy bound over /etc (what a maintainer script needs: adduser
    // rewrites passwd, group, shadow and gshadow and renames files next to them), varLib() over
    // /var/lib and an empty directory over /run (adduser's lock; and no systemd to reload).
    QStringList wrapWholeEtc(const QString &program, const QStringList &arguments) const
    {
        return unshare() +
               QStringList{u"/bin/sh"_s, u"-c"_s,
                           u"mount --bind \"$1\" /etc && mount --bind \"$2\" /var/lib && "
                           "mount --bind \"$3\" /run && shift 3 && exec \"$@\""_s,
                           u"sh"_s, m_etc, m_varLib, m_run, program} +
               arguments;
    }

    // `program arguments` seeing the copy's accounts: its passwd and group files bound over the
    // machine's, everything else of /etc as it is. The process keeps the pid unshare(1) starts
    // with (every step execs).
    QStringList wrapAccounts(const QString &program, const QStringList &arguments) const
    {
        return unshare() +
               QStringList{u"/bin/sh"_s, u"-c"_s,
                           u"mount --bind \"$1\" /etc/passwd && mount --bind \"$2\" /etc/group && "
                           "shift 2 && exec \"$@\""_s,
                           u"sh"_s, m_etc + u"/passwd"_s, m_etc + u"/group"_s, program} +
               arguments;
    }

    // Runs `program arguments` to its end with the copy bound over /etc.
    Run inNamespace(const QString &program, const QStringList &arguments) const
    {
        const QStringList words = wrapWholeEtc(program, arguments);
        return run(words.first(), words.mid(1));
    }

    // The copy's passwd entry for `name`, if any.
    std::optional<PasswdEntry> user(const QString &name) const
    {
        for (const QString &line : readLines(u"passwd"_s)) {
            const QStringList fields = line.split(u':');
            if (fields.size() == 7 && fields.at(0) == name)
                return PasswdEntry{fields.at(0), fields.at(2).toUInt(), fields.at(3).toUInt(),
                                   fields.at(5), fields.at(6)};
        }
        return std::nullopt;
    }

    // The gid of the copy's group `name`, if any.
    std::optional<uint> group(const QString &name) const
    {
        for (const QString &line : readLines(u"group"_s)) {
            const QStringList fields = line.split(u':');
            if (fields.size() == 4 && fields.at(0) == name)
                return fields.at(2).toUInt();
        }
        return std::nullopt;
    }

private:
    static QStringList unshare()
    {
        if (realRoot())
            return {u"unshare"_s, u"--mount"_s, u"--propagation"_s, u"private"_s};
        return {u"unshare"_s, u"--user"_s, u"--map-root-user"_s, u"--mount"_s, u"--propagation"_s,
                u"private"_s};
    }

    QStringList readLines(const QString &file) const
    {
        QFile in(m_etc + u'/' + file);
        if (!in.open(QIODevice::ReadOnly))
            return {};
        return QString::fromUtf8(in.readAll()).split(u'\n', Qt::SkipEmptyParts);
    }

    static Run run(const QString &program, const QStringList &arguments)
    {
        QProcess process;
        process.setProcessEnvironment(Harness::baseEnvironment());
        process.start(program, arguments);
        Run result;
        if (!process.waitForStarted(20000) ||
            !QTest::qWaitFor([&] { return process.state() == QProcess::NotRunning; }, 120000)) {
            process.kill();
            process.waitForFinished(5000);
            result.err = u"%1 did not start or finish: %2"_s.arg(program, process.errorString());
            return result;
        }
        result.crashed = process.exitStatus() != QProcess::NormalExit;
        result.exitCode = result.crashed ? -1 : process.exitCode();
        result.out = QString::fromUtf8(process.readAllStandardOutput());
        result.err = QString::fromUtf8(process.readAllStandardError());
        return result;
    }

    QString m_etc;
    QString m_varLib;
    QString m_run;
};

} // namespace SwampTest
