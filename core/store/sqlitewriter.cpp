#include "sqlitewriter.h"

#include <QByteArray>
#include <QSqlDatabase>
#include <QSqlDriver>

#include <sqlite3.h>

#include <cstring>
#include <limits>

namespace Swamp {

namespace {

// Mirrors QSqlResultPrivate::isVariantNull for the types the store binds.
bool isSqlNull(const QVariant &value)
{
    if (!value.isValid() || value.isNull())
        return true;
    switch (value.metaType().id()) {
    case QMetaType::QString:
        return static_cast<const QString *>(value.constData())->isNull();
    case QMetaType::QByteArray:
        return static_cast<const QByteArray *>(value.constData())->isNull();
    default:
        return false;
    }
}

int bind(sqlite3_stmt *statement, int index, const QVariant &value)
{
    if (isSqlNull(value))
        return sqlite3_bind_null(statement, index);
    switch (value.metaType().id()) {
    case QMetaType::QString: {
        // The list of values outlives the statement's run (reset before write() returns).
        const QString &text = *static_cast<const QString *>(value.constData());
        return sqlite3_bind_text16(statement, index, text.utf16(), int(text.size() * sizeof(char16_t)),
                                   SQLITE_STATIC);
    }
    case QMetaType::QByteArray: {
        const QByteArray &bytes = *static_cast<const QByteArray *>(value.constData());
        return sqlite3_bind_blob(statement, index, bytes.constData(), int(bytes.size()), SQLITE_STATIC);
    }
    case QMetaType::Bool:
    case QMetaType::Int:
    case QMetaType::UInt:
    case QMetaType::Long:
    case QMetaType::LongLong:
    case QMetaType::Short:
    case QMetaType::UShort:
    case QMetaType::Char:
    case QMetaType::SChar:
    case QMetaType::UChar:
        return sqlite3_bind_int64(statement, index, value.toLongLong());
    case QMetaType::ULong:
    case QMetaType::ULongLong: {
        const qulonglong n = value.toULongLong();
        // As Qt's driver: what does not fit a signed 64-bit integer is stored as text.
        if (n > qulonglong(std::numeric_limits<qint64>::max())) {
            const QByteArray text = QByteArray::number(n);
            return sqlite3_bind_text(statement, index, text.constData(), int(text.size()), SQLITE_TRANSIENT);
        }
        return sqlite3_bind_int64(statement, index, qint64(n));
    }
    case QMetaType::Double:
    case QMetaType::Float:
        return sqlite3_bind_double(statement, index, value.toDouble());
    default: {
        const QString text = value.toString();
        return sqlite3_bind_text16(statement, index, text.utf16(), int(text.size() * sizeof(char16_t)),
                                   SQLITE_TRANSIENT);
    }
    }
}

QString message(sqlite3 *db)
{
    return QString::fromUtf8(sqlite3_errmsg(db));
}

} // namespace

SqliteWriter::~SqliteWriter()
{
    clear();
}

bool SqliteWriter::attach(const QSqlDatabase &db)
{
    clear();
    m_db = nullptr;
    const QVariant handle = db.driver() ? db.driver()->handle() : QVariant();
    if (!handle.isValid() || std::strcmp(handle.typeName(), "sqlite3*") != 0)
        return false;
    m_db = *static_cast<sqlite3 *const *>(handle.constData());
    return m_db != nullptr;
}

void SqliteWriter::clear()
{
    for (auto &[sql, statement] : m_statements)
        sqlite3_finalize(statement);
    m_statements.clear();
}

std::expected<sqlite3_stmt *, QString> SqliteWriter::statement(const QString &sql)
{
    if (const auto found = m_statements.find(sql); found != m_statements.end())
        return found->second;
    // The store's statements are a few dozen distinct texts; bounded all the same.
    constexpr size_t MaxStatements = 256;
    if (m_statements.size() >= MaxStatements)
        clear();
    sqlite3_stmt *prepared = nullptr;
    if (sqlite3_prepare16_v3(m_db, sql.utf16(), int(sql.size() * sizeof(char16_t)), SQLITE_PREPARE_PERSISTENT,
                             &prepared, nullptr)
            != SQLITE_OK
        || !prepared) {
        const QString error = message(m_db);
        sqlite3_finalize(prepared);
        return std::unexpected(error);
    }
    m_statements.emplace(sql, prepared);
    return prepared;
}

std::expected<SqliteWriter::Written, QString> SqliteWriter::write(const QString &sql, const QVariantList &bindings)
{
    auto prepared = statement(sql);
    if (!prepared)
        return std::unexpected(prepared.error());
    sqlite3_stmt *stmt = *prepared;
    if (sqlite3_bind_parameter_count(stmt) != bindings.size()) {
        return std::unexpected(QStringLiteral("the statement has %1 placeholder(s) but %2 value(s)")
                                   .arg(sqlite3_bind_parameter_count(stmt))
                                   .arg(bindings.size()));
    }
    for (qsizetype i = 0; i < bindings.size(); ++i) {
        if (bind(stmt, int(i) + 1, bindings.at(i)) != SQLITE_OK) {
            const QString error = message(m_db);
            sqlite3_reset(stmt);
            sqlite3_clear_bindings(stmt);
            return std::unexpected(error);
        }
    }
    int rc = sqlite3_step(stmt);
    while (rc == SQLITE_ROW) // a write with RETURNING: its rows are not wanted here
        rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) {
        const QString error = message(m_db);
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
        return std::unexpected(error);
    }
    Written written{sqlite3_changes64(m_db), sqlite3_last_insert_rowid(m_db)};
    sqlite3_reset(stmt);
    // Text and blobs were bound without a copy: let go of them before the values go away.
    sqlite3_clear_bindings(stmt);
    return written;
}

} // namespace Swamp
