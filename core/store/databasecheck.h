#pragma once

#include "common/result.h"

#include <QDateTime>
#include <QList>
#include <QString>
#include <QStringList>

struct sqlite3;

namespace Swamp {

// How long `swamp serve` lets PRAGMA quick_check read its SQLite database at start. The check
// reads every page: on a database of 1 million steps (690 MB) it took 1.5 s with the file in the
// page cache and 10 s read cold from a virtual disk, on a 2-core machine (docs/operations.md). 30 s
// covers a cold read of three times that; a larger or slower one starts after 30 s with the check
// cut short (and a warning) rather than keep the fleet waiting longer.
constexpr qint64 StartQuickCheckBudgetMs = 30000;

// A copy of the data dir's SQLite database kept next to it: the copies swamp makes before a
// schema migration (swamp.db.schema<N>.bak) and any `swamp backup` file put in the data dir.
struct DatabaseBackup
{
    QString path;
    QDateTime modified; // UTC
};

// The SQLite files (by their 16-byte header) directly in `dataDir`, other than `databasePath` and
// its -wal and -shm files: newest first.
QList<DatabaseBackup> findDatabaseBackups(const QString &dataDir, const QString &databasePath);

// PRAGMA quick_check on an open connection, stopped (sqlite3_progress_handler) once it has run
// for `budgetMs` (<= 0: no bound). quick_check reads every page and checks the structure of
// every b-tree, not that indexes match their tables.
struct QuickCheck
{
    bool complete = true; // false: the bound was hit and the check was cut short
    qint64 elapsedMs = 0;
    QStringList problems; // what it found (at most 10), or SQLite's error when reading failed
                          // on a damaged page; empty: none in what it read
};
// Error "database" when SQLite fails for another reason than damage (I/O error, out of memory).
Result<QuickCheck> quickCheck(sqlite3 *db, qint64 budgetMs);

// What checkDataDirDatabase() found when it let the start go on.
struct DataDirDatabase
{
    bool exists = false;   // false: a new data dir, the store creates the database
    QuickCheck quickCheck; // of an existing database
    QString warning;       // non-empty when the operator should know (the check was cut short)
};

// `swamp serve`'s SQLite database (`databasePath` in `dataDir`), checked before it is opened for
// writing, on a read-only connection: a refused file keeps its bytes and modification time.
// Refuses, each with code, file, cause and "nothing was changed":
//   not_a_database    the file is not a SQLite database
//   database_corrupt  PRAGMA quick_check (bounded by `quickCheckBudgetMs`) found damage
//   database_missing  no file, but the data dir held a database before (admin.json or a backup
//   database_empty    is there): an empty file or one without swamp's schema would be given a
//                     fresh schema, and every worker would then fail with `token does not exist`
// The fix names the newest backup in the data dir with its time and how to restore it, or says
// that none was found; and how to start over with an empty database on purpose.
Result<DataDirDatabase> checkDataDirDatabase(const QString &dataDir, const QString &databasePath,
                                             qint64 quickCheckBudgetMs = StartQuickCheckBudgetMs);

} // namespace Swamp
