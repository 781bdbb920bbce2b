#pragma once

#include "common/result.h"

#include <QLockFile>
#include <QString>

#include <functional>
#include <memory>

namespace Swamp {

// One process per directory (the worker's cache dir, the orchestrator's data dir): creates `dir`
// (0700) when needed and holds `<dir>/<fileName>` (0600) for as long as the returned lock lives.
//
// A lock left behind by a process that is gone (kill -9, a crash, a power cut) is taken over
// without the operator's help: when the pid written in it is dead (QLockFile's own test), and
// also when nobody holds the file's flock, which every holder keeps while it lives and the
// kernel drops when it dies. The second test catches what the pid cannot tell: a pid reused by
// another process after a reboot or a container restart (a server that is PID 1 in its container
// finds its own pid in the lock it left), and a holder that died before it wrote its pid.
//
// Errors: "directory" (cannot create `dir`); "lock_file" (cannot create the lock file, or something
// that is not a file is in its place: names the file and the reason); and, while another live
// process holds the lock, the error that `inUse(pid)` makes (pid 0 when the holder has not written
// its pid yet).
Result<std::unique_ptr<QLockFile>> lockDirectory(const QString &dir, const QString &fileName,
                                                 const std::function<Error(qint64 pid)> &inUse);

} // namespace Swamp
