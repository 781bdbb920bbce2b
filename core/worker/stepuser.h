#pragma once

#include "common/result.h"

#include <QString>
#include <QStringList>

#include <sys/types.h>

#include <vector>

namespace Swamp {

// The unprivileged account a worker runs its steps as (`swamp worker connect --step-user USER`).
// A step's code is untrusted: as another user it cannot read the worker's token, cache dir or
// machine key, cannot read the worker's /proc files, and cannot signal or trace the worker.
struct StepUser
{
    QString name;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups; // supplementary groups, the primary one included
    QString home;              // from the password database
    QString shell;

    // A user name or a numeric uid from the password database. Errors (code "invalid_step_user",
    // a usage mistake): no such user; root (uid 0).
    static Result<StepUser> resolve(const QString &nameOrUid);

    // Whether the user may read / search `path`, judged by the mode bits and owners (ACLs are not
    // looked at; docs/operations.md says so). False when `path` does not exist.
    bool canRead(const QString &path) const;
    bool canSearch(const QString &path) const;
    bool owns(const QString &path) const;
};

// The checks `swamp worker connect --step-user` makes before it connects (error code
// "step_user", each naming the path or the missing privilege and the fix):
// - this process can switch to the user: it runs as root with CAP_SETUID, CAP_SETGID, CAP_CHOWN,
//   CAP_DAC_OVERRIDE, CAP_FOWNER and CAP_KILL (a container or unit may have dropped some);
// - the user is not the worker's own;
// - none of `secrets` (the cache dir's listing, the machine id and key, the token file) is
//   readable by the user, nor owned by it;
// - every directory above `workRoot` is searchable by the user, so its steps can enter their
//   work directories.
Result<void> checkStepUserIsolation(const StepUser &user, const QStringList &secrets,
                                    const QString &workRoot);

} // namespace Swamp
