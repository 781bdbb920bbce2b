#pragma once

#include <QString>
#include <QVariant>

#include <expected>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;
class QSqlDatabase;

namespace Swamp {

// Runs the orchestrator's data-changing statements straight on the SQLite connection that
// QSqlDatabase holds (QSqlDriver::handle(), the documented way to reach it), each text prepared
// once and kept.
//
// The orchestrator runs a few dozen statements thousands of times a second. Through QSqlQuery
// every run also rebuilt the result's column record and named every positional binding
// (QSqlResult::bindValue formats ":N" and hashes it): together as much CPU as SQLite's own work
// for a short INSERT. Values bind as Qt's SQLite driver binds them: an invalid variant, a null
// QString or a null QByteArray is SQL NULL; integers, booleans and doubles are numbers; strings
// are text; byte arrays are blobs; anything else is its string form.
//
// Debian's Qt uses the system SQLite, the library this class is linked against; attach() refuses
// a handle that is not an sqlite3*.
class SqliteWriter
{
public:
    struct Written
    {
        qint64 rowsAffected = 0;
        qint64 lastInsertId = 0;
    };

    SqliteWriter() = default;
    ~SqliteWriter();
    SqliteWriter(const SqliteWriter &) = delete;
    SqliteWriter &operator=(const SqliteWriter &) = delete;

    // False when the connection is not SQLite's (then use QSqlQuery).
    bool attach(const QSqlDatabase &db);
    // A connection of the caller's own (SqliteCommitter's).
    void attach(sqlite3 *db)
    {
        clear();
        m_db = db;
    }
    bool isAttached() const { return m_db != nullptr; }
    // Finalizes every kept statement: before the connection closes.
    void clear();

    // One statement that returns no rows; the error is SQLite's message.
    std::expected<Written, QString> write(const QString &sql, const QVariantList &bindings);

private:
    std::expected<sqlite3_stmt *, QString> statement(const QString &sql);

    sqlite3 *m_db = nullptr;
    std::unordered_map<QString, sqlite3_stmt *> m_statements;
};

} // namespace Swamp
