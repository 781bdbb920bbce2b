// The store's engine: opening and configuring a database, migrating it, and running
// statements (prepared once on SQLite, streamed on PostgreSQL). Group commit and write-behind are
// in storebatch.cpp; the queries per record in tokenstore, workerstore, eventstore, stepstore,
// fleetstore and auditstore; the services' named queries in namedqueries.cpp.
#include "store/store.h"
#include "store/sqlitecommitter.h"
#include "store/walcheckpointer.h"

#include "store/postgresconnection_p.h"

#include "common/logging.h"
#include "version/version.h"

#include <QAtomicInteger>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QSqlDriver>
#include <QSqlError>
#include <QSqlField>
#include <QSqlRecord>
#include <QUrl>

#include <algorithm>


namespace Swamp {

namespace {
constexpr int KnownSchemaVersion = 12;
} // namespace

int Store::knownSchemaVersion()
{
    return KnownSchemaVersion;
}

QVariant Store::toMsOrNull(const QDateTime &when)
{
    return when.isValid() ? QVariant(when.toMSecsSinceEpoch()) : QVariant(QMetaType::fromType<qlonglong>());
}

QDateTime Store::fromMs(const QVariant &value)
{
    if (value.isNull())
        return {};
    return QDateTime::fromMSecsSinceEpoch(value.toLongLong(), Qt::UTC);
}

Store::Store(QString connectionName, Dialect dialect)
    : m_connectionName(std::move(connectionName))
    , m_dialect(dialect)
{
}

Store::~Store()
{
    if (auto committed = commitBatch(); !committed)
        qCWarning(lcDb) << committed.error().message;
    m_committer.reset();
    m_checkpointer.reset();
    m_prepared.clear();
    m_writer.clear();
    if (!m_listenerName.isEmpty()) {
        {
            QSqlDatabase listener = QSqlDatabase::database(m_listenerName, false);
            if (listener.isOpen())
                listener.close();
        }
        QSqlDatabase::removeDatabase(m_listenerName);
    }
    {
        QSqlDatabase db = QSqlDatabase::database(m_connectionName, false);
        if (db.isOpen())
            db.close();
    }
    QSqlDatabase::removeDatabase(m_connectionName);
}

QSqlDatabase Store::database() const
{
    return QSqlDatabase::database(m_connectionName, false);
}

std::unexpected<Error> Store::databaseError(const QString &what, const QString &driverText) const
{
    return fail(QStringLiteral("database"), Tr::tr("database error while %1: %2").arg(what, driverText),
                Tr::tr("check that the database is reachable and writable; see the orchestrator's log"));
}

Result<std::unique_ptr<Store>> Store::open(const QString &spec)
{
    static QAtomicInteger<int> counter;
    const QString connectionName = QStringLiteral("swamp-store-%1").arg(counter.fetchAndAddRelaxed(1));
    const bool postgres = spec.startsWith(u"postgresql://") || spec.startsWith(u"postgres://");
    std::unique_ptr<Store> store(new Store(connectionName, postgres ? Dialect::Postgres : Dialect::Sqlite));

    if (postgres) {
        if (auto opened = openPostgresConnection(connectionName, spec); !opened)
            return fail(opened.error());
        if (auto kept = store->checkSessionKept(); !kept)
            return fail(kept.error());
    } else {
        if (!QSqlDatabase::isDriverAvailable(QStringLiteral("QSQLITE"))) {
            return fail(QStringLiteral("database"), Tr::tr("the SQLite driver (QSQLITE) is not installed"),
                        Tr::tr("install it with 'apt-get install libqt6sql6-sqlite'"));
        }
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), connectionName);
        db.setDatabaseName(spec);
        db.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=5000"));
        if (!db.open()) {
            return fail(QStringLiteral("database"),
                        Tr::tr("cannot open SQLite database %1: %2")
                            .arg(QDir::toNativeSeparators(spec), db.lastError().text()),
                        Tr::tr("check that the data directory is writable by this user"));
        }
        QFile::setPermissions(spec, QFileDevice::ReadOwner | QFileDevice::WriteOwner);
        if (!store->m_writer.attach(db))
            qCWarning(lcDb) << "the SQLite driver hands out no sqlite3 handle; writes go through QSqlQuery";
    }
    if (auto configured = store->configure(); !configured)
        return fail(configured.error());
    if (auto migrated = store->migrate(spec); !migrated)
        return fail(migrated.error());
    if (auto staged = store->stageEvents(); !staged)
        return fail(staged.error());
    return store;
}

Result<void> Store::stageEvents()
{
    if (m_dialect != Dialect::Postgres)
        return {};
    for (const QString &sql : stagingStatements()) {
        if (auto r = execute(sql); !r)
            return r;
    }
    return {};
}

QStringList Store::stagingStatements()
{
    // This session's staging table for events (migration 007): emptied at every commit, its
    // first row of each INSERT wakes the trigger that numbers them inside the commit.
    return {QStringLiteral("CREATE TEMP TABLE swamp_staged_events (seq BIGINT NOT NULL, at BIGINT NOT NULL, "
                           "kind TEXT NOT NULL, subject TEXT NOT NULL, message TEXT NOT NULL, data TEXT NOT NULL, "
                           "first BOOLEAN NOT NULL) ON COMMIT DELETE ROWS"),
            QStringLiteral("CREATE CONSTRAINT TRIGGER swamp_publish_at_commit AFTER INSERT ON "
                           "pg_temp.swamp_staged_events DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                           "WHEN (NEW.first) EXECUTE FUNCTION swamp_publish_events()")};
}

Result<void> Store::configure()
{
    if (m_dialect == Dialect::Sqlite) {
        // temp_store=MEMORY: the sub-journal of each change's savepoint (see transaction()) is
        // kept in memory instead of a temporary file, one pwrite(2) per page touched.
        for (const char *pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                                   "PRAGMA foreign_keys=ON", "PRAGMA temp_store=MEMORY"}) {
            if (auto r = exec(QString::fromLatin1(pragma)); !r)
                return fail(r.error());
        }
    } else {
        // Server notices ("relation already exists, skipping") are not the operator's business:
        // libpq would print them on stderr.
        if (auto r = execute(QStringLiteral("SET client_min_messages = warning")); !r)
            return fail(r.error());
    }
    return execute(QStringLiteral(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                    "applied_at BIGINT NOT NULL, swamp_version TEXT NOT NULL)"))
        ;
}

namespace {
// A migration's statements: split at ";" ending a line, but not inside a $$-quoted function body.
QStringList migrationStatements(const QString &script)
{
    QStringList statements;
    QString current;
    for (const QString &part : script.split(QStringLiteral(";\n"), Qt::SkipEmptyParts)) {
        current += current.isEmpty() ? part : QStringLiteral(";\n") + part;
        if (current.count(QStringLiteral("$$")) % 2 == 0)
            statements << std::exchange(current, {});
    }
    if (!current.trimmed().isEmpty())
        statements << current;
    return statements;
}
} // namespace

Result<void> Store::migrate(const QString &spec)
{
    auto current = exec(QStringLiteral(
        "SELECT version, swamp_version FROM schema_migrations ORDER BY version DESC LIMIT 1"));
    if (!current)
        return fail(current.error());
    int version = 0;
    QString writtenBy;
    if (current->next()) {
        version = current->value(0).toInt();
        writtenBy = current->value(1).toString();
    }
    current->finish(); // SQLite cannot VACUUM INTO while a statement is still open
    m_foundSchemaVersion = version;
    if (version > KnownSchemaVersion) {
        return fail(QStringLiteral("schema_too_new"),
                    Tr::tr("the database has schema version %1 (written by swamp %2) but this swamp "
                           "%3 knows schema versions up to %4; nothing was changed")
                        .arg(version)
                        .arg(writtenBy, Swamp::version())
                        .arg(KnownSchemaVersion),
                    Tr::tr("install swamp %1 or newer").arg(writtenBy));
    }
    if (version > 0 && version < KnownSchemaVersion && m_dialect == Dialect::Sqlite) {
        // Back up before touching an existing database.
        const QString backup = spec + QStringLiteral(".schema%1.bak").arg(version);
        QFile::remove(backup);
        if (auto r = exec(QStringLiteral("VACUUM INTO ?"), {backup}); !r)
            return fail(r.error());
        // As private as the database itself (VACUUM INTO follows the umask).
        QFile::setPermissions(backup, QFileDevice::ReadOwner | QFileDevice::WriteOwner);
        qCInfo(lcDb) << "backed up database to" << backup;
        m_backupPath = backup;
    }
    if (version > 0 && version < KnownSchemaVersion && m_dialect == Dialect::Postgres) {
        // A server database is not a file swamp could copy: the operator's pg_dump is the backup.
        qCWarning(lcDb).noquote()
            << QStringLiteral("migrating PostgreSQL database %1 from schema %2 to %3 without a backup "
                              "(swamp copies only SQLite files); take one first with pg_dump")
                   .arg(redactedDatabaseUrl(spec))
                   .arg(version)
                   .arg(KnownSchemaVersion);
    }
    const QString dialectDir = m_dialect == Dialect::Sqlite ? QStringLiteral("sqlite")
                                                            : QStringLiteral("postgresql");
    for (int next = version + 1; next <= KnownSchemaVersion; ++next) {
        const QString path = QStringLiteral(":/migrations/%1/%2_").arg(dialectDir).arg(next, 3, 10, QChar(u'0'));
        const QStringList matches = QDir(QFileInfo(path).path())
                                        .entryList({QFileInfo(path).fileName() + u'*'}, QDir::Files);
        if (matches.isEmpty())
            return fail(QStringLiteral("database"), Tr::tr("migration %1 is missing from this build").arg(next));
        QFile file(QFileInfo(path).path() + u'/' + matches.first());
        if (!file.open(QIODevice::ReadOnly))
            return fail(QStringLiteral("database"), Tr::tr("cannot read migration %1").arg(next));
        const QString script = QString::fromUtf8(file.readAll());
        auto applied = transaction([&]() -> Result<void> {
            for (QString statement : migrationStatements(script)) {
                QStringList lines = statement.split(u'\n');
                lines.removeIf([](const QString &l) { return l.trimmed().startsWith(u"--"); });
                statement = lines.join(u'\n').trimmed();
                if (statement.endsWith(u';'))
                    statement.chop(1);
                if (statement.isEmpty())
                    continue;
                if (auto r = exec(statement); !r)
                    return fail(r.error());
            }
            return execute(QStringLiteral("INSERT INTO schema_migrations (version, applied_at, "
                                       "swamp_version) VALUES (?, ?, ?)"),
                        {next, QDateTime::currentMSecsSinceEpoch(), Swamp::version()})
                ;
        });
        if (!applied)
            return fail(applied.error());
    }
    m_schemaVersion = KnownSchemaVersion;
    return {};
}

void Store::undoBody(const std::function<Result<void>(const QString &)> &run)
{
    auto undone = run(QStringLiteral("ROLLBACK TO SAVEPOINT swamp_change"));
    if (undone)
        undone = run(QStringLiteral("RELEASE SAVEPOINT swamp_change"));
    // The failed body's changes may still be in the open batch: it must not commit. Its commit
    // fails, nothing that waited for it is sent, and the orchestrator restarts from the last
    // committed state.
    if (!undone && !m_batchBroken)
        m_batchBroken = undone.error();
}

Result<QSqlQuery *> Store::executedStatement(const QString &sql, const QVariantList &bindings)
{
    auto statement = prepared(sql, bindings);
    if (!statement)
        return fail(statement.error());
    QSqlQuery *query = *statement;
    if (!query->exec()) {
        const QString text = query->lastError().text();
        qCWarning(lcDb) << "statement failed:" << sql.left(80) << text;
        query->finish();
        return databaseError(Tr::tr("running a statement"), text);
    }
    return query;
}

Result<void> Store::savepoint(const QString &sql)
{
    m_flushing = true;
    auto written = write(sql);
    m_flushing = false;
    if (!written)
        return fail(written.error());
    return {};
}

Result<void> Store::beforeStatement()
{
    if (!m_writeBehind || m_flushing)
        return {};
    // The batches on the committer's connection first: this statement must see them, and may
    // need the database's one write lock.
    if (m_committer && m_commitsInFlight > 0) {
        if (auto failed = m_committer->waitIdle(); failed && !m_batchBroken)
            m_batchBroken = databaseError(Tr::tr("committing"), *failed).error();
    }
    if (m_batchBroken)
        return fail(*m_batchBroken);
    if (!m_inBody)
        return flushPending(m_batchRows);
    if (!m_bodySavepoint) {
        // What earlier bodies changed goes before this body's savepoint, so that rolling the body
        // back cannot take it along.
        if (auto flushed = flushPending(m_batchRows); !flushed)
            return flushed;
        if (auto opened = savepoint(QStringLiteral("SAVEPOINT swamp_change")); !opened)
            return opened;
        m_bodySavepoint = true;
    }
    return flushPending(m_bodyRows);
}

Result<void> Store::execute(const Statement &statement)
{
    auto written = write(statement.sql, statement.values);
    if (!written)
        return fail(written.error());
    return {};
}

Result<void> Store::execute(const QString &sql, const QVariantList &bindings)
{
    if (m_dialect == Dialect::Sqlite && !bindings.isEmpty()) {
        auto written = write(sql, bindings);
        if (!written)
            return fail(written.error());
        return {};
    }
    auto query = exec(sql, bindings);
    if (!query)
        return fail(query.error());
    return {};
}

Result<QSqlQuery *> Store::prepared(const QString &sql, const QVariantList &bindings)
{
    // The orchestrator's own statements are a few dozen; query push-down builds more. Bounded,
    // so that those cannot pile up: past the bound every idle statement is let go.
    constexpr size_t MaxPrepared = 512;
    if (m_prepared.size() >= MaxPrepared && !m_prepared.contains(sql))
        std::erase_if(m_prepared, [](const auto &entry) { return !entry.second.busy; });
    Prepared &statement = m_prepared[sql];
    if (!statement.query) {
        auto query = std::make_unique<QSqlQuery>(database());
        query->setForwardOnly(true);
        if (!query->prepare(sql)) {
            const QString text = query->lastError().text();
            m_prepared.erase(sql);
            return databaseError(Tr::tr("preparing a statement"), text);
        }
        statement.query = std::move(query);
    }
    for (qsizetype i = 0; i < bindings.size(); ++i)
        statement.query->bindValue(int(i), bindings.at(i));
    return statement.query.get();
}

Result<Store::Written> Store::write(const QString &sql, const QVariantList &bindings)
{
    if (m_dialect != Dialect::Sqlite) {
        auto query = exec(sql, bindings);
        if (!query)
            return fail(query.error());
        return Written{query->numRowsAffected(), QVariant()};
    }
    if (auto opened = openBatch(); !opened)
        return fail(opened.error());
    if (auto flushed = beforeStatement(); !flushed)
        return fail(flushed.error());
    m_mainWrote = m_mainWrote || m_batchOpen;
    if (m_writer.isAttached()) {
        auto native = m_writer.write(sql, bindings);
        if (!native) {
            qCWarning(lcDb) << "statement failed:" << sql.left(80) << native.error();
            return databaseError(Tr::tr("running a statement"), native.error());
        }
        return Written{native->rowsAffected, native->lastInsertId};
    }
    auto statement = executedStatement(sql, bindings);
    if (!statement)
        return fail(statement.error());
    QSqlQuery *query = *statement;
    Written written{query->numRowsAffected(), query->lastInsertId()};
    query->finish();
    return written;
}

Result<QSqlQuery> Store::exec(const QString &sql, const QVariantList &bindings)
{
    return run(sql, bindings, true);
}

Result<QSqlQuery> Store::run(const QString &sql, const QVariantList &bindings, bool forwardOnly)
{
    if (m_away)
        return awayError();
    if (auto opened = openBatch(); !opened)
        return fail(opened.error());
    if (auto flushed = beforeStatement(); !flushed)
        return fail(flushed.error());
    QSqlQuery query(database());
    // Forward-only on SQLite: every caller reads rows once, in order, so no row cache. On
    // PostgreSQL every row is read at exec(): QPSQL's forward-only mode streams them one at a time
    // and an error met midway (the connection lost, a failing expression in a later row) only
    // ends the caller's next() loop, a short answer taken for a whole one. Long scans go through
    // forEachRow()'s cursor. A locking read is counted (size()), so that a replay
    // (postgresaway.cpp) can tell whether it still finds the same rows.
    const bool locking = m_dialect == Dialect::Postgres && sql.contains(QStringLiteral(" FOR NO KEY UPDATE"));
    query.setForwardOnly(forwardOnly && m_dialect != Dialect::Postgres);
    countRoundTrip();
    bool ok = false;
    QString text = sql;
    if (bindings.isEmpty()) {
        ok = query.exec(sql);
    } else if (m_dialect == Dialect::Postgres) {
        // QPSQL would PREPARE, EXECUTE and DEALLOCATE every statement: three round trips, no DDL
        // or cursors, and a failed DEALLOCATE warning in every transaction that aborts. It
        // substitutes the driver's quoted literals anyway, so do it here and run once.
        auto inlined = inlineBindings(sql, bindings);
        if (!inlined)
            return fail(inlined.error());
        text = *inlined;
        ok = query.exec(text);
    } else {
        ok = query.prepare(sql);
        for (qsizetype i = 0; ok && i < bindings.size(); ++i)
            query.bindValue(int(i), bindings.at(i));
        ok = ok && query.exec();
    }
    if (!ok) {
        if (noteConnectionLost(query.lastError()))
            return awayError();
        qCWarning(lcDb) << "statement failed:" << sql.left(80) << query.lastError().text();
        return databaseError(Tr::tr("running a statement"), query.lastError().text());
    }
    if (m_dialect == Dialect::Postgres)
        logForReplay(text, query, locking);
    return query;
}

Result<QSqlQuery> Store::execWithoutFlush(const QString &sql, const QVariantList &bindings)
{
    if (auto opened = openBatch(); !opened)
        return fail(opened.error());
    const bool flushing = std::exchange(m_flushing, true);
    auto query = run(sql, bindings, true);
    m_flushing = flushing;
    return query;
}

Result<QString> Store::inlineBindings(const QString &sql, const QVariantList &bindings) const
{
    const QSqlDriver *driver = database().driver();
    QString text;
    text.reserve(sql.size() + 24 * bindings.size());
    qsizetype next = 0;
    bool tooFewValues = false;
    QChar quote; // inside '...' or "...": a ? there is text, not a placeholder
    for (const QChar c : sql) {
        if (!quote.isNull()) {
            if (c == quote)
                quote = QChar();
        } else if (c == u'\'' || c == u'"') {
            quote = c;
        } else if (c == u'?') {
            if (next == bindings.size()) {
                tooFewValues = true;
                break;
            }
            const QVariant &value = bindings.at(next++);
            QSqlField field(QString(), value.metaType());
            field.setValue(value);
            const QString literal = driver->formatValue(field);
            // "a-?" with -1 must not become the comment "a--1".
            text += literal.startsWith(u'-') ? u'(' + literal + u')' : literal;
            continue;
        }
        text += c;
    }
    if (tooFewValues || next != bindings.size()) {
        return databaseError(Tr::tr("binding values"),
                             Tr::tr("the statement has other placeholders than its %1 value(s): %2")
                                 .arg(bindings.size())
                                 .arg(sql.left(80)));
    }
    return text;
}

Result<void> Store::select(const QString &sql, const QVariantList &bindings,
                           const std::function<void(const QSqlQuery &)> &row)
{
    // PostgreSQL, or the same text nested in its own visitor: a statement of its own.
    const auto cached = m_prepared.find(sql);
    if (m_dialect != Dialect::Sqlite || (cached != m_prepared.end() && cached->second.busy)) {
        auto query = exec(sql, bindings);
        if (!query)
            return fail(query.error());
        while (query->next())
            row(*query);
        return {};
    }
    if (auto opened = openBatch(); !opened)
        return fail(opened.error());
    if (auto flushed = beforeStatement(); !flushed)
        return fail(flushed.error());
    auto statement = executedStatement(sql, bindings);
    if (!statement)
        return fail(statement.error());
    QSqlQuery *query = *statement;
    m_prepared[sql].busy = true;
    while (query->next())
        row(*query);
    query->finish();
    m_prepared[sql].busy = false;
    return {};
}

Result<void> Store::forEachRow(const QString &sql, const QVariantList &bindings,
                               const std::function<void(const QSqlQuery &)> &row)
{
    if (m_dialect == Dialect::Sqlite)
        return select(sql, bindings, row);
    // A PostgreSQL connection runs one statement at a time and a forward-only result streams
    // from the server: a visitor that asks the store something meanwhile would cut the stream
    // short. A cursor hands the rows out in batches, each read fully before it is visited.
    constexpr int BatchRows = 500;
    const QString cursor = QStringLiteral("swamp_rows_%1").arg(++m_cursors);
    return transaction([&]() -> Result<void> {
        if (auto declared = execute(QStringLiteral("DECLARE %1 NO SCROLL CURSOR FOR ").arg(cursor) + sql, bindings);
            !declared)
            return declared;
        for (;;) {
            auto batch = run(QStringLiteral("FETCH FORWARD %1 FROM %2").arg(BatchRows).arg(cursor), {}, false);
            if (!batch)
                return fail(batch.error());
            int rows = 0;
            while (batch->next()) {
                ++rows;
                row(*batch);
            }
            if (rows < BatchRows)
                break;
        }
        return execute(QStringLiteral("CLOSE %1").arg(cursor));
    });
}

} // namespace Swamp
