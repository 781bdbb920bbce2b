#pragma once

// Builds an SQLite database the way an older swamp left it: the migrations 1..version of this
// source tree applied in order (from the resources compiled into swampcore) and recorded in
// schema_migrations as written by `writtenBy`. Used by the upgrade tests.

#include <QDir>
#include <QFile>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QString>
#include <QStringList>

namespace SwampTest {

// Returns an empty string on success, else what went wrong. `extraSql` runs after the
// migrations (e.g. rows the test expects to survive the upgrade).
inline QString createDatabaseAtSchema(const QString &path, int version, const QString &writtenBy,
                                      const QStringList &extraSql = {})
{
    using namespace Qt::StringLiterals;
    QString problem;
    const QString connection = u"swamp-test-old-schema"_s;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, connection);
        db.setDatabaseName(path);
        if (!db.open())
            return db.lastError().text();
        QSqlQuery query(db);
        const auto run = [&](const QString &sql) {
            if (problem.isEmpty() && !query.exec(sql))
                problem = sql.left(60) + u": "_s + query.lastError().text();
        };
        run(u"PRAGMA journal_mode=WAL"_s);
        run(u"CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL, "
            "swamp_version TEXT NOT NULL)"_s);
        for (int next = 1; next <= version && problem.isEmpty(); ++next) {
            const QStringList files = QDir(u":/migrations/sqlite"_s)
                                          .entryList({u"%1_*.sql"_s.arg(next, 3, 10, QChar(u'0'))});
            if (files.size() != 1)
                return u"migration %1 not found in the resources"_s.arg(next);
            QFile file(u":/migrations/sqlite/"_s + files.first());
            if (!file.open(QIODevice::ReadOnly))
                return file.errorString();
            // The same split as the store: statements end with ";\n", "--" lines are comments.
            for (QString statement : QString::fromUtf8(file.readAll()).split(u";\n"_s, Qt::SkipEmptyParts)) {
                QStringList lines = statement.split(u'\n');
                lines.removeIf([](const QString &l) { return l.trimmed().startsWith(u"--"); });
                statement = lines.join(u'\n').trimmed();
                if (statement.endsWith(u';'))
                    statement.chop(1);
                if (!statement.isEmpty())
                    run(statement);
            }
            run(u"INSERT INTO schema_migrations VALUES (%1, 0, '%2')"_s.arg(next).arg(writtenBy));
        }
        for (const QString &sql : extraSql)
            run(sql);
        query.finish();
        db.close();
    }
    QSqlDatabase::removeDatabase(connection);
    return problem;
}

} // namespace SwampTest
