#include "store/databasecheck.h"

#include "common/datadir.h"
#include "common/logging.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>

#include <sqlite3.h>

#include <algorithm>
#include <memory>

namespace Swamp {

namespace {

constexpr QByteArrayView SqliteHeader("SQLite format 3\0", 16);

bool isSqliteFile(const QString &path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) && file.read(SqliteHeader.size()) == SqliteHeader;
}

QString native(const QString &path)
{
    return QDir::toNativeSeparators(path);
}

QString isoUtc(const QDateTime &when)
{
    return when.toUTC().toString(Qt::ISODate);
}

// quick_check's first problem starts with a line naming the database ("*** in database main
// ***"): there is only one here, and an operator's message is one line.
QString oneLine(QString problem)
{
    problem.remove(QStringLiteral("*** in database main ***\n"));
    return problem.replace(u'\n', u' ').trimmed();
}

struct Connection
{
    sqlite3 *db = nullptr;
    ~Connection() { sqlite3_close_v2(db); }
};

bool isDamage(int code)
{
    const int primary = code & 0xff;
    return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

// What the data dir holds that shows a database was there: "admin.json", "2 backups", both.
QString evidence(bool adminJson, qsizetype backups)
{
    if (adminJson && backups > 0)
        return Tr::tr("it holds admin.json and %n backup(s)", nullptr, int(backups));
    if (adminJson)
        return Tr::tr("it holds admin.json");
    return Tr::tr("it holds %n backup(s)", nullptr, int(backups));
}

// How to get going again: the newest backup and how to put it in place, or how to start over.
// `fileInTheWay`: the damaged file is still there and should be kept aside, not overwritten.
QString restoreFix(const QString &dataDir, const QString &databasePath,
                   const QList<DatabaseBackup> &backups, bool fileInTheWay)
{
    const QString db = native(databasePath);
    const QString startOver =
        Tr::tr("or start over with an empty database by moving %1 away (every token, worker "
               "and step is forgotten)")
            .arg(native(dataDir));
    const QString putInPlace =
        Tr::tr("copy it to %1, delete %1-wal and %1-shm, and start again").arg(db);
    const QString aside = fileInTheWay ? Tr::tr("move %1 aside and ").arg(db) : QString();
    if (backups.isEmpty()) {
        return Tr::tr("no backup was found in %1: %2restore one taken with 'swamp backup' (%3); %4")
            .arg(native(dataDir), aside, putInPlace, startOver);
    }
    return Tr::tr("%1restore the newest backup, %2 (written %3): %4; %5")
        .arg(aside, native(backups.first().path), isoUtc(backups.first().modified), putInPlace,
             startOver);
}

// What the data dir holds besides its database, which decides whether a missing or empty
// database is refused, and what the refusal offers instead.
struct DataDirContents
{
    QString dataDir;
    QString databasePath;
    bool adminJson = false;
    QList<DatabaseBackup> backups;

    bool heldOne() const { return adminJson || !backups.isEmpty(); }

    std::unexpected<Error> refuse(const QString &code, const QString &cause,
                                  bool fileInTheWay) const
    {
        return fail(code, cause + Tr::tr("; nothing was changed"),
                    restoreFix(dataDir, databasePath, backups, fileInTheWay));
    }

    QString heldBefore() const
    {
        return Tr::tr("but the data dir held one before (%1)")
            .arg(evidence(adminJson, backups.size()));
    }
};

// Read-only: whatever is wrong with the file, this look changes none of its bytes.
Result<void> openReadOnly(Connection &connection, const QString &databasePath)
{
    const int opened = sqlite3_open_v2(QFile::encodeName(databasePath).constData(), &connection.db,
                                       SQLITE_OPEN_READONLY, nullptr);
    if (opened != SQLITE_OK) {
        return fail(
            QStringLiteral("database"),
            Tr::tr("cannot open the database %1: %2")
                .arg(native(databasePath), QString::fromUtf8(sqlite3_errmsg(connection.db))),
            Tr::tr("check that the file is readable by this user"));
    }
    sqlite3_busy_timeout(connection.db, 5000);
    return {};
}

// The schema's version (0: no swamp schema), which also reads the file's header and first page,
// so a file that is no database or is damaged there is refused here.
Result<int> readSchemaVersion(sqlite3 *db, const DataDirContents &contents)
{
    int version = 0;
    sqlite3_stmt *statement = nullptr;
    int rc = sqlite3_prepare_v2(db,
                                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                                "name = 'schema_migrations'",
                                -1, &statement, nullptr);
    bool hasTable = false;
    if (rc == SQLITE_OK && (rc = sqlite3_step(statement)) == SQLITE_ROW)
        hasTable = sqlite3_column_int(statement, 0) > 0;
    sqlite3_finalize(statement);
    if (rc == SQLITE_ROW && hasTable) {
        rc = sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_migrations", -1, &statement,
                                nullptr);
        if (rc == SQLITE_OK && (rc = sqlite3_step(statement)) == SQLITE_ROW)
            version = sqlite3_column_int(statement, 0);
        sqlite3_finalize(statement);
    }
    if (rc == SQLITE_ROW)
        return version;
    const QString name = native(contents.databasePath);
    const QString error = QString::fromUtf8(sqlite3_errmsg(db));
    if ((rc & 0xff) == SQLITE_NOTADB) {
        return contents.refuse(QStringLiteral("not_a_database"),
                               Tr::tr("%1 is not a SQLite database (SQLite: %2)").arg(name, error),
                               true);
    }
    if (isDamage(rc)) {
        return contents.refuse(QStringLiteral("database_corrupt"),
                               Tr::tr("the database %1 is damaged (SQLite: %2)").arg(name, error),
                               true);
    }
    return fail(QStringLiteral("database"),
                Tr::tr("cannot read the database %1: %2").arg(name, error),
                Tr::tr("check that the file is readable and the disk is healthy"));
}

void logQuickCheck(const QString &db, const QuickCheck &checked)
{
    qCInfo(lcDb).noquote() << QStringLiteral("PRAGMA quick_check of %1: %2 in %3 ms")
                                  .arg(db, !checked.problems.isEmpty() ? QStringLiteral("damaged")
                                           : checked.complete          ? QStringLiteral("ok")
                                                              : QStringLiteral("cut short"))
                                  .arg(checked.elapsedMs);
}

// Refuses a database PRAGMA quick_check found damaged; every problem it found is in the details.
std::unexpected<Error> refuseDamaged(const DataDirContents &contents, const QuickCheck &checked)
{
    std::unexpected<Error> refused =
        contents.refuse(QStringLiteral("database_corrupt"),
                        Tr::tr("the database %1 is damaged (PRAGMA quick_check: %2)")
                            .arg(native(contents.databasePath), checked.problems.first()),
                        true);
    refused.error().details.insert(QStringLiteral("problems"),
                                   QJsonArray::fromStringList(checked.problems));
    return refused;
}

QString cutShortWarning(const QString &db, const QuickCheck &checked)
{
    return Tr::tr("the integrity check of %1 (PRAGMA quick_check) was cut short after %2 s, "
                  "before it had read the whole file; serving without it — 'swamp backup "
                  "<file>' reads and checks all of it while swamp serve runs")
        .arg(db)
        .arg(checked.elapsedMs / 1000.0, 0, 'f', 1);
}

} // namespace

QList<DatabaseBackup> findDatabaseBackups(const QString &dataDir, const QString &databasePath)
{
    const QString self = QFileInfo(databasePath).absoluteFilePath();
    const QStringList own{self, self + QStringLiteral("-wal"), self + QStringLiteral("-shm"),
                          self + QStringLiteral("-journal")};
    QList<DatabaseBackup> found;
    const QFileInfoList entries = QDir(dataDir).entryInfoList(QDir::Files);
    for (const QFileInfo &entry : entries) {
        if (own.contains(entry.absoluteFilePath()) || !isSqliteFile(entry.absoluteFilePath()))
            continue;
        found.append({entry.absoluteFilePath(), entry.lastModified().toUTC()});
    }
    std::sort(found.begin(), found.end(), [](const DatabaseBackup &a, const DatabaseBackup &b) {
        return a.modified != b.modified ? a.modified > b.modified : a.path < b.path;
    });
    return found;
}

Result<QuickCheck> quickCheck(sqlite3 *db, qint64 budgetMs)
{
    QuickCheck check;
    QElapsedTimer clock;
    clock.start();
    struct Budget
    {
        const QElapsedTimer *clock;
        qint64 ms;
    } budget{&clock, budgetMs};
    if (budgetMs > 0) {
        // Called every 10,000 virtual-machine instructions, well under a millisecond apart.
        sqlite3_progress_handler(
            db, 10000,
            [](void *context) -> int {
                const auto *b = static_cast<const Budget *>(context);
                return b->clock->elapsed() >= b->ms ? 1 : 0;
            },
            &budget);
    }
    const auto done = [&] {
        sqlite3_progress_handler(db, 0, nullptr, nullptr);
        check.elapsedMs = clock.elapsed();
    };
    sqlite3_stmt *statement = nullptr;
    int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(10)", -1, &statement, nullptr);
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        rc = sqlite3_step(statement);
        if (rc != SQLITE_ROW)
            break;
        const QString row =
            QString::fromUtf8(reinterpret_cast<const char *>(sqlite3_column_text(statement, 0)));
        if (row != u"ok")
            check.problems.append(oneLine(row));
    }
    const QString error = QString::fromUtf8(sqlite3_errmsg(db));
    sqlite3_finalize(statement);
    done();
    if (rc == SQLITE_DONE)
        return check;
    if (rc == SQLITE_INTERRUPT) {
        check.complete = false;
        return check;
    }
    if (isDamage(rc)) {
        check.problems.append(error);
        return check;
    }
    return fail(QStringLiteral("database"),
                Tr::tr("cannot check the database (PRAGMA quick_check): %1").arg(error),
                Tr::tr("check that the file is readable and the disk is healthy"));
}

Result<DataDirDatabase> checkDataDirDatabase(const QString &dataDir, const QString &databasePath,
                                             qint64 quickCheckBudgetMs)
{
    const QFileInfo file(databasePath);
    const DataDirContents contents{dataDir, databasePath, QFile::exists(adminConfigPath(dataDir)),
                                   findDatabaseBackups(dataDir, databasePath)};
    const QString db = native(databasePath);

    if (!file.exists()) {
        if (contents.heldOne()) {
            return contents.refuse(
                QStringLiteral("database_missing"),
                Tr::tr("the database %1 does not exist, %2").arg(db, contents.heldBefore()), false);
        }
        return DataDirDatabase{};
    }
    if (file.size() == 0) {
        if (contents.heldOne()) {
            return contents.refuse(
                QStringLiteral("database_empty"),
                Tr::tr("the database %1 is empty (0 bytes), %2").arg(db, contents.heldBefore()),
                false);
        }
        return DataDirDatabase{};
    }

    Connection connection;
    if (auto opened = openReadOnly(connection, databasePath); !opened)
        return fail(opened.error());
    const Result<int> version = readSchemaVersion(connection.db, contents);
    if (!version)
        return fail(version.error());

    auto checked = quickCheck(connection.db, quickCheckBudgetMs);
    if (!checked)
        return fail(checked.error());
    logQuickCheck(db, *checked);
    if (!checked->problems.isEmpty())
        return refuseDamaged(contents, *checked);
    if (*version <= 0 && contents.heldOne()) {
        return contents.refuse(
            QStringLiteral("database_empty"),
            Tr::tr("the database %1 holds no swamp schema, %2").arg(db, contents.heldBefore()),
            true);
    }

    DataDirDatabase result;
    result.exists = true;
    result.quickCheck = *checked;
    if (!checked->complete)
        result.warning = cutShortWarning(db, *checked);
    return result;
}

} // namespace Swamp
