#pragma once

#include "common/result.h"

#include <QLockFile>
#include <QString>

#include <memory>

namespace Swamp {

// The worker's stable machine identity: `<cache-dir>/machine-id` holds a random UUID, created on
// first start (directory 0700, atomic write, file 0600) and reused after.
// Errors: "directory" (cannot create the cache dir), "file_write", "identity_corrupt" (the file
// exists but holds no UUID: names the file and says to delete it to enroll as a new machine).
Result<QString> loadOrCreateMachineId(const QString &cacheDir);

// The machine's credential: `<cache-dir>/machine-key` holds 64 lowercase hex characters (32 random
// bytes), created on first start like the machine id and reused after. It leaves the machine only
// in the enroll frame; the orchestrator keeps its SHA-256 with the machine's token binding and
// refuses that machine id with any other key (machine_key_mismatch). So a process that learned
// the token and the machine id (a step's code reading them) cannot enroll as this machine unless
// it can also read this file, which `--step-user` keeps from steps.
// Errors: "directory", "file_write", "identity_corrupt" (the file holds no key: names the file).
Result<QString> loadOrCreateMachineKey(const QString &cacheDir);

// One worker process per cache dir: holds `<cache-dir>/worker.lock` while alive (a lock left by a
// process that is gone is taken over: see lockDirectory()). Error "cache_dir_in_use":
//   cache dir <dir> is in use by another worker (pid <n>) — give each worker its own --cache-dir
Result<std::unique_ptr<QLockFile>> lockCacheDir(const QString &cacheDir);

} // namespace Swamp
