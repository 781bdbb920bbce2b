#include "cli.h"

#include "common/datadir.h"
#include "store/sqlitebackup.h"

#include <QDir>
#include <QJsonObject>

namespace Swamp::Cli {

int runBackup(const QStringList &arguments)
{
    const QString command = QStringLiteral("backup");
    QCommandLineParser parser;
    parser.addPositionalArgument(
        QStringLiteral("file"),
        QStringLiteral("The new file to write the copy to (never replaced)."),
        QStringLiteral("<file>"));
    parser.addOptions({
        {QStringLiteral("data-dir"),
         QStringLiteral(
             "The orchestrator's data dir (default $SWAMP_DATA_DIR, $XDG_DATA_HOME/swamp, "
             "~/.local/share/swamp)."),
         QStringLiteral("dir")},
        {QStringLiteral("json"), QStringLiteral("Print one JSON document.")},
    });
    int exitCode = 0;
    if (!parse(parser, arguments, command,
               QStringLiteral("Copy the orchestrator's SQLite database to a new file, also while "
                              "swamp serve runs, and check the copy with PRAGMA quick_check. "
                              "PostgreSQL: use pg_dump."),
               QStringLiteral(
                   "  swamp backup /var/backups/swamp/swamp-$(date +%F).db\n"
                   "  swamp backup --data-dir /var/lib/swamp /var/backups/swamp/latest.db\n"),
               &exitCode))
        return exitCode;
    const bool json = parser.isSet(QStringLiteral("json"));
    const QStringList positional = parser.positionalArguments();
    if (positional.isEmpty())
        return usageError(QStringLiteral("name the file to write: swamp backup <file>"), command);
    if (positional.size() > 1)
        return usageError(
            QStringLiteral("unexpected argument \"%1\" — swamp backup writes one file")
                .arg(positional.at(1)),
            command);
    if (positional.first().isEmpty())
        return usageError(QStringLiteral("the backup file name is empty"), command);
    if (!qEnvironmentVariableIsEmpty("SWAMP_DATABASE_URL") &&
        !parser.isSet(QStringLiteral("data-dir"))) {
        return failure(
            makeError(QStringLiteral("postgres_backup"),
                      QStringLiteral("SWAMP_DATABASE_URL is set: this orchestrator keeps "
                                     "its state in PostgreSQL, and swamp backup copies "
                                     "only a SQLite database"),
                      QStringLiteral("back PostgreSQL up with pg_dump (see 'Backup and "
                                     "restore' in the operations guide), or pass "
                                     "--data-dir to copy a SQLite data dir")),
            json);
    }
    const QString dataDir =
        QDir(parser.isSet(QStringLiteral("data-dir")) ? parser.value(QStringLiteral("data-dir"))
                                                      : defaultDataDir())
            .absolutePath();
    auto backup = backupSqliteDatabase(dataDir + QStringLiteral("/swamp.db"), positional.first());
    if (!backup)
        return failure(backup.error(), json);
    if (json) {
        printJson(QJsonObject{{QStringLiteral("source"), backup->source},
                              {QStringLiteral("target"), backup->target},
                              {QStringLiteral("bytes"), backup->bytes},
                              {QStringLiteral("schemaVersion"), backup->schemaVersion},
                              {QStringLiteral("copyMs"), backup->copyMs},
                              {QStringLiteral("checkMs"), backup->checkMs}});
        return ExitOk;
    }
    out(QStringLiteral("Backed up %1 to %2 (%3 MB, schema version %4) in %5 s; PRAGMA quick_check "
                       "of the copy: ok (%6 s)")
            .arg(QDir::toNativeSeparators(backup->source), QDir::toNativeSeparators(backup->target))
            .arg(backup->bytes / 1e6, 0, 'f', 1)
            .arg(backup->schemaVersion)
            .arg(backup->copyMs / 1000.0, 0, 'f', 1)
            .arg(backup->checkMs / 1000.0, 0, 'f', 1));
    return ExitOk;
}

} // namespace Swamp::Cli
