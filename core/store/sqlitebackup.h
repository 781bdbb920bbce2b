#pragma once

#include "common/result.h"

#include <QString>

namespace Swamp {

struct SqliteBackup
{
    QString source;
    QString target;
    qint64 bytes = 0;
    int schemaVersion = 0;
    qint64 copyMs = 0;  // VACUUM INTO and fsync
    qint64 checkMs = 0; // PRAGMA quick_check of the copy
};

// Copies the SQLite database at `databasePath` to the new file `target`, also while `swamp serve`
// writes it: from a read-only connection of this process, with VACUUM INTO, which reads one
// consistent snapshot (a WAL reader never blocks the writer, nor the writer it) and writes it
// compacted. The copy is written under a hidden temporary name next to `target`, flushed to disk,
// checked with an unbounded PRAGMA quick_check, and only then renamed to `target` (never over an
// existing file); mode 0600. Nothing is left behind when it fails.
// Errors: "backup_exists" (target exists: nothing written), "no_database" (no file at
// `databasePath`), "not_a_database"/"database_corrupt" (the source cannot be read whole),
// "backup_write" (cannot write next to `target`: the directory, the disk), "backup_check" (the
// copy failed its check), "database" (SQLite failed otherwise).
Result<SqliteBackup> backupSqliteDatabase(const QString &databasePath, const QString &target);

} // namespace Swamp
