#pragma once

#include "common/result.h"

#include <QLockFile>
#include <QString>
#include <QStringList>

#include <memory>

namespace Swamp {

// $SWAMP_DATA_DIR, else $XDG_DATA_HOME/swamp, else ~/.local/share/swamp.
QString defaultDataDir();

// What `swamp serve` leaves in admin.json (mode 0600) for the CLI and console on this machine.
struct AdminConfig
{
    QString url;        // ws://127.0.0.1:<port>: for the CLI and console on this machine
    QString adminToken; // the admin bearer token
    QString certificate; // wss:// only: the PEM of the orchestrator's own certificate, which
                         // clients on this machine accept as it is (pinned), without --ca-cert
    QStringList workerUrls; // what workers on other machines dial, best first ("workerUrl" is
                            // the first); empty in an admin.json of an older version
};

QString adminConfigPath(const QString &dataDir);
Result<AdminConfig> readAdminConfig(const QString &dataDir);
Result<void> writeAdminConfig(const QString &dataDir, const AdminConfig &config);

// One `swamp serve` per data dir, with SQLite or PostgreSQL alike (admin.json is the data dir's
// either way): holds `<data-dir>/serve.lock` while the orchestrator lives; a lock left by a process
// that is gone is taken over (see lockDirectory()). Error "data_dir_in_use":
//   data dir <dir> is in use by swamp serve (pid <n>) — stop that orchestrator first, or give this
//   one its own --data-dir
Result<std::unique_ptr<QLockFile>> lockDataDir(const QString &dataDir);

// 32 random bytes as 64 lowercase hex characters.
QString randomHex32();

} // namespace Swamp
