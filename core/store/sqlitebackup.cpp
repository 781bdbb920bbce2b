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

} // namespace

Result<SqliteBackup> backupSqliteDatabase(const QString &databasePath, const QString &target)
{
    SqliteBackup backup;
    backup.source = QFileInfo(databasePath).absoluteFilePath();
    backup.target = QFileInfo(target).absoluteFilePath();
    const QString db = native(backup.source);
    const QString out = native(backup.target);
    const QFileInfo targetInfo(backup.target);
    if (targetInfo.exists() || targetInfo.isSymLink()) {
        return fail(QStringLiteral("backup_exists"),
                    Tr::tr("%1 already exists; nothing was written").arg(out),
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

    // A hidden name: a copy cut short (power loss, kill -9) is never taken for a backup, neither
    // by the operator nor by `swamp serve`'s search for the newest one (findDatabaseBackups()).
    QTemporaryFile partial(targetInfo.absolutePath() + QStringLiteral("/.") +
                           targetInfo.fileName() + QStringLiteral(".XXXXXX.partial"));
    if (!partial.open()) {
        return fail(QStringLiteral("backup_write"),
                    Tr::tr("cannot write the backup %1: %2").arg(out, partial.errorString()),
                    Tr::tr("check that %1 exists and is writable by this user")
                        .arg(native(targetInfo.absolutePath())));
    }
    // fileName() before close(): on Linux the file may have no name until it is asked for.
    const QString partialPath = partial.fileName();
    partial.close(); // VACUUM INTO writes the empty file by its name; it stays 0600

    Connection connection;
    QElapsedTimer clock;
    clock.start();
    if (sqlite3_open_v2(QFile::encodeName(backup.source).constData(), &connection.db,
                        SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        return fail(QStringLiteral("database"),
                    Tr::tr("cannot open the database %1: %2")
                        .arg(db, QString::fromUtf8(sqlite3_errmsg(connection.db))),
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
    if (rc != SQLITE_DONE) {
        switch (rc & 0xff) {
        case SQLITE_NOTADB:
            return fail(QStringLiteral("not_a_database"),
                        Tr::tr("%1 is not a SQLite database (SQLite: %2); nothing was written")
                            .arg(db, copyError),
                        Tr::tr("point --data-dir at the orchestrator's data dir"));
        case SQLITE_CORRUPT:
            return fail(
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
            return fail(QStringLiteral("backup_write"),
                        Tr::tr("cannot write the backup %1 (SQLite: %2); nothing was written")
                            .arg(out, copyError),
                        Tr::tr("check the free space and permissions of %1")
                            .arg(native(targetInfo.absolutePath())));
        default:
            return fail(QStringLiteral("database"),
                        Tr::tr("cannot copy the database %1 (SQLite: %2); nothing was written")
                            .arg(db, copyError),
                        Tr::tr("try again; if it persists, see the orchestrator's log"));
        }
    }
    // SQLite does not sync what VACUUM INTO writes.
    if (!syncPath(partialPath, O_RDONLY)) {
        return fail(QStringLiteral("backup_write"),
                    Tr::tr("cannot flush the backup %1 to disk; nothing was written").arg(out),
                    Tr::tr("check the disk of %1").arg(native(targetInfo.absolutePath())));
    }
    backup.copyMs = clock.restart();

    Connection copy;
    if (sqlite3_open_v2(QFile::encodeName(partialPath).constData(), &copy.db, SQLITE_OPEN_READONLY,
                        nullptr) != SQLITE_OK) {
        return fail(
            QStringLiteral("backup_check"),
            Tr::tr("the backup could not be opened to check it: %1; nothing was written")
                .arg(QString::fromUtf8(sqlite3_errmsg(copy.db))),
            Tr::tr("check the disk of %1 and try again").arg(native(targetInfo.absolutePath())));
    }
    auto checked = quickCheck(copy.db, 0);
    if (!checked)
        return fail(checked.error());
    if (!checked->problems.isEmpty()) {
        return fail(
            QStringLiteral("backup_check"),
            Tr::tr("the copy of %1 failed PRAGMA quick_check (%2); nothing was written")
                .arg(db, checked->problems.first()),
            Tr::tr("check the disk of %1 and try again").arg(native(targetInfo.absolutePath())));
    }
    sqlite3_stmt *version = nullptr;
    if (sqlite3_prepare_v2(copy.db, "SELECT max(version) FROM schema_migrations", -1, &version,
                           nullptr) == SQLITE_OK &&
        sqlite3_step(version) == SQLITE_ROW) {
        backup.schemaVersion = sqlite3_column_int(version, 0);
    }
    sqlite3_finalize(version);
    backup.checkMs = clock.elapsed();

    // QFile::rename never replaces a file (renameat2 with RENAME_NOREPLACE, or link + unlink): a
    // file that appeared at the target meanwhile is kept.
    QFile renamed(partialPath);
    if (!renamed.rename(backup.target)) {
        return fail(QFileInfo::exists(backup.target) ? QStringLiteral("backup_exists")
                                                     : QStringLiteral("backup_write"),
                    Tr::tr("cannot name the backup %1: %2; nothing was written")
                        .arg(out, renamed.errorString()),
                    Tr::tr("give the backup a new file name, or remove the old file first"));
    }
    syncPath(targetInfo.absolutePath(), O_RDONLY | O_DIRECTORY);
    backup.bytes = QFileInfo(backup.target).size();
    return backup;
}

} // namespace Swamp
