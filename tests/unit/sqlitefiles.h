#pragma once

// SQLite files as the tests of the database checks, backups and the data dir lock handle them:
// damaged on purpose at a fixed place, and read beside a running orchestrator without writing.

#include <QFile>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QString>

#include <functional>

namespace SwampTest {

// Inverts the first `count` bytes of the page in the middle of the file (its b-tree page header
// and cell pointers, which PRAGMA quick_check reads). Returns what went wrong, or an empty string.
inline QString invertMiddlePage(const QString &path, int count = 200, qint64 pageSize = 4096)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadWrite))
        return file.errorString();
    if (file.size() < 3 * pageSize)
        return QStringLiteral("%1 is too small to damage in the middle").arg(path);
    const qint64 offset = (file.size() / pageSize / 2) * pageSize;
    QByteArray bytes;
    if (!file.seek(offset) || (bytes = file.read(count)).size() != count)
        return file.errorString();
    for (char &byte : bytes)
        byte = char(~byte);
    if (!file.seek(offset) || file.write(bytes) != count)
        return file.errorString();
    return {};
}

// Runs `visit` with a read-only connection to the SQLite file at `path` (not open when it could
// not be opened).
inline void withReadOnlyDatabase(const QString &path,
                                 const std::function<void(QSqlDatabase &)> &visit)
{
    const QString name = QStringLiteral("swamp-test-read-only");
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(path);
        db.setConnectOptions(QStringLiteral("QSQLITE_OPEN_READONLY;QSQLITE_BUSY_TIMEOUT=5000"));
        db.open();
        visit(db);
        db.close();
    }
    QSqlDatabase::removeDatabase(name);
}

// Runs one statement on the SQLite file at `path` (created when missing). Returns what went
// wrong, or an empty string.
inline QString executeSql(const QString &path, const QString &sql)
{
    const QString name = QStringLiteral("swamp-test-execute");
    QString problem;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(path);
        QSqlQuery query(db);
        if (!db.open())
            problem = db.lastError().text();
        else if (!query.exec(sql))
            problem = query.lastError().text();
        query.finish();
        db.close();
    }
    QSqlDatabase::removeDatabase(name);
    return problem;
}

} // namespace SwampTest
