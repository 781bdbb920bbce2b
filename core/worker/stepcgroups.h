#pragma once

#include "common/result.h"

#include <QByteArray>
#include <QString>

#include <optional>

namespace Swamp {

// Each step in a cgroup (v2) of its own, so that nothing it starts outlives it: a step's process
// group catches its background children, but a `setsid` daemon leaves the group and only a cgroup
// still holds it. The worker needs a cgroup v2 directory it may create children in: its own
// cgroup under systemd with `Delegate=yes`, or any cgroup as root. The layout:
//   <the worker's cgroup>/swamp-worker-<pid>/<lease id>
// A step's process joins its cgroup itself, before it executes the command (so nothing it forks
// is ever outside). At the step's end, cancel or timeout everything in the cgroup is killed
// (cgroup.kill, or SIGKILL to every listed process while the cgroup is frozen on kernels without
// it) and the cgroup removed. Without a usable cgroup the process group is all there is
// (docs/operations.md, "Security").
class StepCgroups final
{
public:
    // The worker's cgroup, when it can hold step cgroups; otherwise nullopt and `why` says why
    // (for the start-up line). Also kills and removes what a dead worker of this machine left in
    // its cgroup (swamp-worker-<pid> of a pid that is gone).
    static std::optional<StepCgroups> detect(QString *why);

    // <the worker's cgroup>/swamp-worker-<pid>
    QString root() const { return m_root; }

    // Creates the cgroup of a step; error "cgroup" with the reason.
    Result<QString> create(const QString &leaseId) const;

    // What a step's child writes to join `cgroup` (the path of its cgroup.procs), prepared before
    // the fork: the child may only make async-signal-safe calls.
    static QByteArray procsFile(const QString &cgroup);
    // True when any process is in the cgroup.
    static bool isPopulated(const QString &cgroup);
    // Sends `signal` to every process in the cgroup (SIGKILL: cgroup.kill where the kernel has
    // it). Safe to call on a cgroup that is gone.
    static void signalAll(const QString &cgroup, int signal);
    // Kills what is left in the cgroup and removes it, retrying for a few seconds while its
    // processes are on their way out.
    static void release(const QString &cgroup);

    // Removes root() once its steps' cgroups are gone (the worker exits).
    void removeRoot() const;

private:
    explicit StepCgroups(QString root) : m_root(std::move(root)) {}
    QString m_root;
};

} // namespace Swamp
