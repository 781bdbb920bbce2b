#include "store/sqlitebackup.h"

#include "store/databasecheck.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryFile>

#include <sqlite3.h>

#include <fcntl.h>
#include <unistd.h>

namespace Swamp {

namespace {

QString native(const QString &path)
{
    return QDir::toNativeSeparators(path);
}

struct Connection
{
    sqlite3 *db = nullptr;
    ~Connection() { sqlite3_close_v2(db); }
};

// What rename() promises only once the file's bytes, and then the directory entry, are on disk.
bool syncPath(const QString &path, int flags)
{
    const int fd = ::open(QFile::encodeName(path).constData(), flags | O_CLOEXEC);
    if (fd < 0)
        return false;
    const bool synced = ::fsync(fd) == 0;
    ::close(fd);
    return synced;
}

// The directory the backup goes to, as the operator's messages name it.
QString targetDir(const SqliteBackup &backup)
{
    return native(QFileInfo(backup.target).absolutePath());
}

// Refuses before anything is written: the target must be new and the source a non-empty file.
Result<void> checkBackupCanStart(const SqliteBackup &backup)
{
    const QString db = native(backup.source);
    const QFileInfo targetInfo(backup.target);
    if (targetInfo.exists() || targetInfo.isSymLink()) {
        return fail(QStringLiteral("backup_exists"),
                    Tr::tr("%1 already exists; nothing was written").arg(native(backup.target)),
                    Tr::tr("give the backup a new file name, or remove the old file first"));
    }
    const QFileInfo source(backup.source);
    if (!source.exists() || source.size() == 0) {
        return fail(
            QStringLiteral("no_database"),
            source.exists()
                ? Tr::tr("the database %1 is empty (0 bytes): there is nothing to back up").arg(db)
                : Tr::tr("there is no SQLite database at %1").arg(db),
            Tr::tr("run 'swamp backup' on the orchestrator's machine with its data dir "
                   "(--data-dir or SWAMP_DATA_DIR); an orchestrator with --database "
                   "postgresql:// is backed up with pg_dump instead"));
    }
    return {};
}

// A hidden name: a copy cut short (power loss, kill -9) is never taken for a backup, neither by
// the operator nor by `swamp serve`'s search for the newest one (findDatabaseBackups()).
QString partialFileTemplate(const SqliteBackup &backup)
{
    const QFileInfo targetInfo(backup.target);
    return targetInfo.absolutePath() + QStringLiteral("/.") + targetInfo.fileName() +
           QStringLiteral(".XXXXXX.partial");
}

// Creates the empty file VACUUM INTO writes by its name, and returns that name.
Result<QString> createPartialFile(QTemporaryFile &partial, const SqliteBackup &backup)
{
    if (!partial.open()) {
        return fail(
            QStringLiteral("backup_write"),
            Tr::tr("cannot write the backup %1: %2")
                .arg(native(backup.target), partial.errorString()),
            Tr::tr("check that %1 exists and is writable by this user").arg(targetDir(backup)));
    }
    // fileName() before close(): on Linux the file may have no name until it is asked for.
    const QString partialPath = partial.fileName();
    partial.close(); // VACUUM INTO writes the empty file by its name; it stays 0600
    return partialPath;
}

// The error for a VACUUM INTO that ended with `rc`: the source's fault, the target's, or neither.
Error copyFailure(int rc, const SqliteBackup &backup, const QString &copyError)
{
    const QString db = native(backup.source);
    switch (rc & 0xff) {
    case SQLITE_NOTADB:
        return makeError(QStringLiteral("not_a_database"),
                         Tr::tr("%1 is not a SQLite database (SQLite: %2); nothing was written")
                             .arg(db, copyError),
                         Tr::tr("point --data-dir at the orchestrator's data dir"));
    case SQLITE_CORRUPT:
        return makeError(
            QStringLiteral("database_corrupt"),
            Tr::tr("the database %1 is damaged and cannot be copied whole (SQLite: %2); "
                   "nothing was written")
                .arg(db, copyError),
            Tr::tr("keep your older backups; see 'Backup and restore' in the operations "
                   "guide for restoring one"));
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return makeError(
            QStringLiteral("backup_write"),
            Tr::tr("cannot write the backup %1 (SQLite: %2); nothing was written")
                .arg(native(backup.target), copyError),
            Tr::tr("check the free space and permissions of %1").arg(targetDir(backup)));
    default:
        return makeError(QStringLiteral("database"),
                         Tr::tr("cannot copy the database %1 (SQLite: %2); nothing was written")
                             .arg(db, copyError),
                         Tr::tr("try again; if it persists, see the orchestrator's log"));
    }
}

// Copies one consistent snapshot of the source into the partial file and flushes it to disk.
// The connection is the caller's, so it stays open as long as it did when this was one function.
Result<void> copyIntoPartialFile(Connection &connection, const SqliteBackup &backup,
                                 const QString &partialPath)
{
    if (sqlite3_open_v2(QFile::encodeName(backup.source).constData(), &connection.db,
                        SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        return fail(
            QStringLiteral("database"),
            Tr::tr("cannot open the database %1: %2")
                .arg(native(backup.source), QString::fromUtf8(sqlite3_errmsg(connection.db))),
            Tr::tr("check that the file is readable by this user"));
    }
    // Only a checkpoint that truncates the log makes a reader wait, briefly.
    sqlite3_busy_timeout(connection.db, 10000);
    sqlite3_stmt *vacuum = nullptr;
    int rc = sqlite3_prepare_v2(connection.db, "VACUUM INTO ?1", -1, &vacuum, nullptr);
    if (rc == SQLITE_OK) {
        const QByteArray path = QFile::encodeName(partialPath);
        sqlite3_bind_text(vacuum, 1, path.constData(), int(path.size()), SQLITE_TRANSIENT);
        rc = sqlite3_step(vacuum);
    }
    const QString copyError = QString::fromUtf8(sqlite3_errmsg(connection.db));
    sqlite3_finalize(vacuum);
    if (rc != SQLITE_DONE)
        return fail(copyFailure(rc, backup, copyError));
    // SQLite does not sync what VACUUM INTO writes.
    if (!syncPath(partialPath, O_RDONLY)) {
        return fail(QStringLiteral("backup_write"),
                    Tr::tr("cannot flush the backup %1 to disk; nothing was written")
                        .arg(native(backup.target)),
                    Tr::tr("check the disk of %1").arg(targetDir(backup)));
    }
    return {};
}

// Opens the copy on `copy` (the caller's, kept open until the rename) and checks it whole;
// returns its schema version, 0 if it has none.
Result<int> checkPartialFile(Connection &copy, const SqliteBackup &backup,
                             const QString &partialPath)
{
    if (sqlite3_open_v2(QFile::encodeName(partialPath).constData(), &copy.db, SQLITE_OPEN_READONLY,
                        nullptr) != SQLITE_OK) {
        return fail(QStringLiteral("backup_check"),
                    Tr::tr("the backup could not be opened to check it: %1; nothing was written")
                        .arg(QString::fromUtf8(sqlite3_errmsg(copy.db))),
                    Tr::tr("check the disk of %1 and try again").arg(targetDir(backup)));
    }
    auto checked = quickCheck(copy.db, 0);
    if (!checked)
        return fail(checked.error());
    if (!checked->problems.isEmpty()) {
        return fail(QStringLiteral("backup_check"),
                    Tr::tr("the copy of %1 failed PRAGMA quick_check (%2); nothing was written")
                        .arg(native(backup.source), checked->problems.first()),
                    Tr::tr("check the disk of %1 and try again").arg(targetDir(backup)));
    }
    int schemaVersion = 0;
    sqlite3_stmt *version = nullptr;
    if (sqlite3_prepare_v2(copy.db, "SELECT max(version) FROM schema_migrations", -1, &version,
                           nullptr) == SQLITE_OK &&
        sqlite3_step(version) == SQLITE_ROW) {
        schemaVersion = sqlite3_column_int(version, 0);
    }
    sqlite3_finalize(version);
    return schemaVersion;
}

// QFile::rename never replaces a file (renameat2 with RENAME_NOREPLACE, or link + unlink): a file
// that appeared at the target meanwhile is kept.
Result<void> renamePartialFile(const QString &partialPath, const SqliteBackup &backup)
{
    QFile renamed(partialPath);
    if (!renamed.rename(backup.target)) {
        return fail(QFileInfo::exists(backup.target) ? QStringLiteral("backup_exists")
                                                     : QStringLiteral("backup_write"),
                    Tr::tr("cannot name the backup %1: %2; nothing was written")
                        .arg(native(backup.target), renamed.errorString()),
                    Tr::tr("give the backup a new file name, or remove the old file first"));
    }
    return {};
}

} // namespace

Result<SqliteBackup> backupSqliteDatabase(const QString &databasePath, const QString &target)
{
    SqliteBackup backup;
    backup.source = QFileInfo(databasePath).absoluteFilePath();
    backup.target = QFileInfo(target).absoluteFilePath();
    if (auto refused = checkBackupCanStart(backup); !refused)
        return fail(refused.error());

    // Removes the partial file on every return before the rename.
    QTemporaryFile partial(partialFileTemplate(backup));
    const auto partialPath = createPartialFile(partial, backup);
    if (!partialPath)
        return fail(partialPath.error());

    Connection connection;
    QElapsedTimer clock;
    clock.start();
    if (auto copied = copyIntoPartialFile(connection, backup, *partialPath); !copied)
        return fail(copied.error());
    backup.copyMs = clock.restart();

    Connection copy;
    const auto schemaVersion = checkPartialFile(copy, backup, *partialPath);
    if (!schemaVersion)
        return fail(schemaVersion.error());
    backup.schemaVersion = *schemaVersion;
    backup.checkMs = clock.elapsed();

    if (auto renamed = renamePartialFile(*partialPath, backup); !renamed)
        return fail(renamed.error());
    syncPath(QFileInfo(backup.target).absolutePath(), O_RDONLY | O_DIRECTORY);
    backup.bytes = QFileInfo(backup.target).size();
    return backup;
}

} // namespace Swamp
