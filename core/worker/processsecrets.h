#pragma once

#include "common/result.h"

#include <QByteArray>

namespace Swamp {

// What other processes can learn of the worker's secrets from /proc. /proc/<pid>/cmdline is
// readable by every user of the machine and /proc/<pid>/environ by processes of the same user
// (and by root), so the worker does not leave its token there:
// - main() remembers argv before anything parses it (QCoreApplication keeps pointers into it);
// - eraseFromProcess() overwrites every occurrence of the secret in that memory, which is what
//   /proc shows, and removes the variables that held it from the environment children inherit;
// - makeUndumpable() sets PR_SET_DUMPABLE 0: the worker's /proc files then belong to root, and
//   processes of its own user can neither read them (environ, mem, fds) nor ptrace it.
// None of this is enough alone (the token was visible from exec until the erase, and a step of
// the worker's own user can still read its token file): `--step-user` is the real boundary.
void rememberProcessArguments(int argc, char **argv);
void eraseFromProcess(const QByteArray &secret);
// Error "dumpable" when the kernel refuses (never expected on Linux).
Result<void> makeUndumpable();

} // namespace Swamp
