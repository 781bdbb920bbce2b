#pragma once

#include "common/result.h"

#include <QString>

namespace Swamp {

// $SWAMP_DATA_DIR, else $XDG_DATA_HOME/swamp, else ~/.local/share/swamp.
QString defaultDataDir();

// What `swamp serve` leaves in admin.json (mode 0600) for the CLI and console on this machine.
struct AdminConfig
{
    QString url;        // ws://127.0.0.1:<port>
    QString adminToken; // the admin bearer token
    QString certificate; // wss:// only: the PEM of the orchestrator's own certificate, which
                         // clients on this machine accept as it is (pinned), without --ca-cert
};

QString adminConfigPath(const QString &dataDir);
Result<AdminConfig> readAdminConfig(const QString &dataDir);
Result<void> writeAdminConfig(const QString &dataDir, const AdminConfig &config);

// 32 random bytes as 64 lowercase hex characters.
QString randomHex32();

} // namespace Swamp
