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
constexpr int KnownSchemaVersion = 6;

QString labelsText(const Labels &labels)
{
    return QString::fromUtf8(QJsonDocument(labelsToJson(labels)).toJson(QJsonDocument::Compact));
}

Labels labelsFromText(const QString &text)
{
    return labelsFromJson(QJsonDocument::fromJson(text.toUtf8()).object());
}
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
    return store;
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
            const QStringList statements = script.split(QStringLiteral(";\n"), Qt::SkipEmptyParts);
            for (QString statement : statements) {
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

namespace {
struct Depth
{
    int &depth;
    explicit Depth(int &d) : depth(d) { ++depth; }
    ~Depth() { --depth; }
};
} // namespace

void Store::setGroupCommit(std::function<void()> scheduleCommit)
{
    m_scheduleCommit = std::move(scheduleCommit);
}

Result<void> Store::openBatch()
{
    if (m_batchOpen || !m_scheduleCommit || m_transactionDepth > 0)
        return {};
    QSqlDatabase db = database();
    if (!db.transaction())
        return databaseError(Tr::tr("starting a transaction"), db.lastError().text());
    m_batchOpen = true;
    m_batchClock.start();
    m_mainWrote = false;
    m_scheduleCommit();
    return {};
}

Result<void> Store::limitSession(qint64 idleInTransactionMs, qint64 lockMs)
{
    if (m_dialect != Dialect::Postgres)
        return {};
    if (auto r = execute(QStringLiteral("SET idle_in_transaction_session_timeout = %1").arg(idleInTransactionMs)); !r)
        return r;
    return execute(QStringLiteral("SET lock_timeout = %1").arg(lockMs));
}

void Store::checkpointInBackground()
{
    if (m_dialect != Dialect::Sqlite || m_checkpointer)
        return;
    // A safety net only: 16384 pages (64 MiB at 4 KiB) is far more than the log grows between
    // two background checkpoints.
    constexpr int IntervalMs = 200;
    if (auto raised = exec(QStringLiteral("PRAGMA wal_autocheckpoint=16384")); !raised) {
        qCWarning(lcDb) << raised.error().message;
        return;
    }
    m_checkpointer = std::make_unique<WalCheckpointer>(database().databaseName(), IntervalMs);
    m_checkpointer->start(QThread::LowPriority);
}

void Store::commitBatchAsync(QObject *context, std::function<void(const Result<void> &)> done)
{
    if (!m_committer || m_mainWrote || m_batchBroken || (!m_batchOpen && m_commitsInFlight == 0)) {
        done(commitBatch());
        return;
    }
    // Only kept rows (or nothing, behind commits still in flight): this connection's transaction
    // at most read, and the rows go to the committer, in order after the batches before them.
    if (m_batchOpen) {
        m_batchOpen = false;
        database().commit();
    }
    auto rows = std::make_shared<std::vector<PendingRow>>(std::exchange(m_batchRows, {}).rows);
    m_batchRows.rows.reserve(rows->size()); // the next batch is likely as large
    ++m_commitsInFlight;
    m_committer->submit(
        [rows](SqliteWriter &writer) -> std::expected<void, QString> {
            for (const Statement &statement : statementsFor(*rows)) {
                if (auto written = writer.write(statement.sql, statement.values); !written)
                    return std::unexpected(written.error());
            }
            return {};
        },
        context,
        [this, done = std::move(done)](const std::optional<QString> &error) {
            --m_commitsInFlight;
            if (error)
                done(databaseError(Tr::tr("committing"), *error));
            else
                done({});
        });
}

Result<void> Store::commitBatch()
{
    if (m_committer) {
        if (auto failed = m_committer->waitIdle(); failed && !m_batchBroken)
            m_batchBroken = databaseError(Tr::tr("committing"), *failed).error();
    }
    if (!m_batchOpen) {
        if (m_batchBroken)
            return fail(*std::exchange(m_batchBroken, std::nullopt));
        return {};
    }
    if (auto flushed = flushPending(m_batchRows); !flushed || m_batchBroken) {
        const Error error = m_batchBroken ? *m_batchBroken : flushed.error();
        m_batchBroken.reset();
        m_batchOpen = false;
        database().rollback();
        return fail(error);
    }
    m_batchOpen = false;
    QSqlDatabase db = database();
    if (!db.commit()) {
        const QString text = db.lastError().text();
        db.rollback();
        return databaseError(Tr::tr("committing"), text);
    }
    return {};
}

Result<void> Store::transaction(const std::function<Result<void>()> &body)
{
    if (m_transactionDepth > 0)
        return body();
    if (auto opened = openBatch(); !opened)
        return opened;
    if (m_batchOpen && m_writeBehind) {
        // The savepoint is opened by the body's first statement (beforeStatement()): a body that
        // only changes rows kept for write-behind needs none, its rows wait in m_bodyRows.
        m_inBody = true;
        Result<void> result;
        {
            Depth depth(m_transactionDepth);
            result = body();
        }
        m_inBody = false;
        const bool opened = std::exchange(m_bodySavepoint, false);
        if (result && opened)
            result = savepoint(QStringLiteral("RELEASE SAVEPOINT swamp_change"));
        if (!result) {
            m_bodyRows.clear();
            if (opened)
                undoBody([this](const QString &sql) { return savepoint(sql); });
            return result;
        }
        for (PendingRow &row : m_bodyRows.rows)
            m_batchRows.put(std::move(row));
        m_bodyRows.clear();
        return {};
    }
    if (m_batchOpen) {
        // One savepoint per body: a failing body leaves the rest of the batch intact.
        if (auto r = write(QStringLiteral("SAVEPOINT swamp_change")); !r)
            return fail(r.error());
        Result<void> result;
        {
            Depth depth(m_transactionDepth);
            result = body();
        }
        if (!result) {
            undoBody([this](const QString &sql) -> Result<void> {
                if (auto written = write(sql); !written)
                    return fail(written.error());
                return {};
            });
            return result;
        }
        if (auto released = write(QStringLiteral("RELEASE SAVEPOINT swamp_change")); !released)
            return fail(released.error());
        return {};
    }
    QSqlDatabase db = database();
    if (!db.transaction())
        return databaseError(Tr::tr("starting a transaction"), db.lastError().text());
    Result<void> result;
    {
        Depth depth(m_transactionDepth);
        result = body();
    }
    if (!result) {
        db.rollback();
        return result;
    }
    if (!db.commit()) {
        const QString text = db.lastError().text();
        db.rollback();
        return databaseError(Tr::tr("committing"), text);
    }
    return {};
}

Result<void> Store::enableWriteBehind()
{
    if (m_writeBehind || m_dialect != Dialect::Sqlite || !m_scheduleCommit)
        return {};
    // Ids continue after the largest ever handed out (AUTOINCREMENT's counter), as SQLite would.
    qint64 last = 0;
    auto read = select(QStringLiteral("SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0), "
                                      "COALESCE((SELECT MAX(id) FROM events), 0))"),
                       {}, [&](const QSqlQuery &q) { last = q.value(0).toLongLong(); });
    if (!read)
        return read;
    m_lastEventId = last;
    const QString path = database().databaseName();
    if (!path.isEmpty() && path != u":memory:") {
        auto committer = std::make_unique<SqliteCommitter>(path);
        if (auto started = committer->start(m_checkpointer ? 16384 : 1000); !started)
            return databaseError(Tr::tr("opening the commit connection"), started.error());
        m_committer = std::move(committer);
    }
    m_writeBehind = true;
    return {};
}

void Store::PendingRows::put(PendingRow row)
{
    static constexpr size_t LinearSearchRows = 16;
    if (!row.id.isEmpty()) {
        const size_t kind = row.row.index();
        std::optional<size_t> found;
        if (index.isEmpty()) {
            for (size_t i = 0; i < rows.size() && !found; ++i) {
                if (rows[i].row.index() == kind && rows[i].id == row.id)
                    found = i;
            }
            if (!found && rows.size() >= LinearSearchRows) {
                index.reserve(qsizetype(rows.size() * 2));
                for (size_t i = 0; i < rows.size(); ++i) {
                    if (!rows[i].id.isEmpty())
                        index.insert({rows[i].row.index(), rows[i].id}, i);
                }
            }
        } else if (const auto it = index.constFind({kind, row.id}); it != index.cend()) {
            found = *it;
        }
        if (found) {
            PendingRow &kept = rows[*found];
            kept.row = std::move(row.row); // the newest version; inserted or not as first seen
            kept.heldBy = std::move(row.heldBy);
            return;
        }
        if (!index.isEmpty())
            index.insert({kind, row.id}, rows.size());
    }
    rows.push_back(std::move(row));
}

void Store::PendingRows::clear()
{
    rows.clear();
    index.clear();
}

Result<void> Store::defer(PendingRow row)
{
    if (auto opened = openBatch(); !opened)
        return opened;
    (m_inBody ? m_bodyRows : m_batchRows).put(std::move(row));
    return {};
}

Result<void> Store::flushPending(PendingRows &pending)
{
    if (pending.rows.empty())
        return {};
    const PendingRows rows = std::exchange(pending, {});
    m_flushing = true;
    Result<void> result;
    for (const Statement &statement : statementsFor(rows.rows)) {
        if (result = execute(statement); !result)
            break;
    }
    m_flushing = false;
    // Part of the rows may be written: whatever the caller does next, this batch must not commit.
    if (!result && &pending == &m_batchRows && !m_batchBroken)
        m_batchBroken = result.error();
    return result;
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
    if (auto opened = openBatch(); !opened)
        return fail(opened.error());
    if (auto flushed = beforeStatement(); !flushed)
        return fail(flushed.error());
    QSqlQuery query(database());
    // Forward-only: every caller reads rows once, in order, so no row cache (on PostgreSQL the
    // rows stream from the server; see forEachRow()).
    query.setForwardOnly(forwardOnly);
    bool ok = false;
    if (bindings.isEmpty()) {
        ok = query.exec(sql);
    } else if (m_dialect == Dialect::Postgres) {
        // QPSQL would PREPARE, EXECUTE and DEALLOCATE every statement: three round trips, no DDL
        // or cursors, and a failed DEALLOCATE warning in every transaction that aborts. It
        // substitutes the driver's quoted literals anyway, so do it here and run once.
        auto inlined = inlineBindings(sql, bindings);
        if (!inlined)
            return fail(inlined.error());
        ok = query.exec(*inlined);
    } else {
        ok = query.prepare(sql);
        for (qsizetype i = 0; ok && i < bindings.size(); ++i)
            query.bindValue(int(i), bindings.at(i));
        ok = ok && query.exec();
    }
    if (!ok) {
        qCWarning(lcDb) << "statement failed:" << sql.left(80) << query.lastError().text();
        return databaseError(Tr::tr("running a statement"), query.lastError().text());
    }
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

Result<void> Store::insertToken(const TokenRecord &t)
{
    return execute(QStringLiteral("INSERT INTO enrollment_tokens (id, name, secret_hash, created_at, "
                               "expires_at, max_enrollments, labels, revoked_at, revoke_reason, "
                               "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                {t.id, t.name, t.secretHash, toMs(t.createdAt), toMs(t.expiresAt), t.maxEnrollments,
                 labelsText(t.labels), toMsOrNull(t.revokedAt),
                 t.revokeReason.isEmpty() ? QVariant(QMetaType::fromType<QString>()) : QVariant(t.revokeReason),
                 toMs(t.updatedAt)})
        ;
}

Result<QList<TokenRecord>> Store::loadTokens(const QString &sql, const QVariantList &values, bool withBindings)
{
    QList<TokenRecord> tokens;
    QHash<QString, qsizetype> indexById;
    auto read = select(sql, values, [&](const QSqlQuery &query) {
        TokenRecord t;
        t.id = query.value(0).toString();
        t.name = query.value(1).toString();
        t.secretHash = query.value(2).toString();
        t.createdAt = fromMs(query.value(3));
        t.expiresAt = fromMs(query.value(4));
        t.maxEnrollments = query.value(5).toInt();
        t.labels = labelsFromText(query.value(6).toString());
        t.revokedAt = fromMs(query.value(7));
        t.revokeReason = query.value(8).toString();
        t.updatedAt = fromMs(query.value(9));
        indexById.insert(t.id, tokens.size());
        tokens << t;
    });
    if (!read)
        return fail(read.error());
    if (tokens.isEmpty() || !withBindings)
        return tokens;
    // Bindings of the loaded tokens, in one query.
    QStringList placeholders;
    QVariantList ids;
    for (const TokenRecord &t : std::as_const(tokens)) {
        placeholders << QStringLiteral("?");
        ids << t.id;
    }
    auto bindings = exec(QStringLiteral("SELECT token_id, machine_id, worker_name, enrolled_at FROM "
                                        "token_bindings WHERE token_id IN (%1) ORDER BY enrolled_at")
                             .arg(placeholders.join(u',')),
                         ids);
    if (!bindings)
        return fail(bindings.error());
    while (bindings->next()) {
        const qsizetype index = indexById.value(bindings->value(0).toString(), -1);
        if (index >= 0) {
            tokens[index].bindings << TokenBinding{bindings->value(1).toString(),
                                                   bindings->value(2).toString(),
                                                   fromMs(bindings->value(3))};
        }
    }
    return tokens;
}

static const char TokenColumns[] = "SELECT id, name, secret_hash, created_at, expires_at, "
                                   "max_enrollments, labels, revoked_at, revoke_reason, updated_at "
                                   "FROM enrollment_tokens ";

Result<QList<TokenRecord>> Store::tokensNamed(const QString &name, bool withBindings)
{
    return loadTokens(QString::fromLatin1(TokenColumns) + QStringLiteral("WHERE name = ? ORDER BY created_at DESC, id DESC"),
                      {name}, withBindings);
}

Result<std::optional<TokenBinding>> Store::binding(const QString &tokenId, const QString &machineId)
{
    std::optional<TokenBinding> found;
    auto read = select(QStringLiteral("SELECT machine_id, worker_name, enrolled_at, key_hash FROM "
                                      "token_bindings WHERE token_id = ? AND machine_id = ?"),
                       {tokenId, machineId}, [&](const QSqlQuery &query) {
                           found = TokenBinding{query.value(0).toString(), query.value(1).toString(),
                                                fromMs(query.value(2)), query.value(3).toString()};
                       });
    if (!read)
        return fail(read.error());
    return found;
}

Result<qint64> Store::bindingCount(const QString &tokenId)
{
    auto query = exec(QStringLiteral("SELECT COUNT(*) FROM token_bindings WHERE token_id = ?"), {tokenId});
    if (!query)
        return fail(query.error());
    return query->next() ? query->value(0).toLongLong() : 0;
}

Result<QList<TokenRecord>> Store::allTokens()
{
    return loadTokens(QString::fromLatin1(TokenColumns) + QStringLiteral("ORDER BY created_at, id"), {});
}

Result<void> Store::revokeToken(const QString &tokenId, const QDateTime &at, const QString &reason)
{
    return execute(QStringLiteral("UPDATE enrollment_tokens SET revoked_at = ?, revoke_reason = ?, "
                               "updated_at = ? WHERE id = ? AND revoked_at IS NULL"),
                {toMs(at), reason, toMs(at), tokenId})
        ;
}

Result<void> Store::insertBinding(const QString &tokenId, const TokenBinding &b)
{
    return execute(QStringLiteral("INSERT INTO token_bindings (token_id, machine_id, worker_name, "
                                  "enrolled_at, key_hash) VALUES (?, ?, ?, ?, ?)"),
                   {tokenId, b.machineId, b.workerName, toMs(b.enrolledAt),
                    b.keyHash.isEmpty() ? QStringLiteral("") : b.keyHash}); // never NULL
}

Result<void> Store::setBindingKey(const QString &tokenId, const QString &machineId, const QString &keyHash)
{
    return execute(QStringLiteral("UPDATE token_bindings SET key_hash = ? WHERE token_id = ? AND machine_id = ? "
                                  "AND key_hash = ''"),
                   {keyHash, tokenId, machineId});
}

static const char WorkerColumns[] =
    "SELECT id, name, machine_id, token_id, token_name, instance_id, labels, platform, arch, "
    "version, hostname, capacity, status, draining, orchestrator, enrolled_at, last_seen_at, "
    "disconnected_at, created_at, updated_at, orchestrator_id FROM workers ";

static WorkerRecord workerFromQuery(const QSqlQuery &q)
{
    WorkerRecord w;
    w.id = q.value(0).toString();
    w.name = q.value(1).toString();
    w.machineId = q.value(2).toString();
    w.tokenId = q.value(3).toString();
    w.tokenName = q.value(4).toString();
    w.instanceId = q.value(5).toString();
    w.labels = labelsFromText(q.value(6).toString());
    w.platform = q.value(7).toString();
    w.arch = q.value(8).toString();
    w.version = q.value(9).toString();
    w.hostname = q.value(10).toString();
    w.capacity = q.value(11).toInt();
    w.status = workerStatusFromName(q.value(12).toString());
    w.draining = q.value(13).toInt() != 0;
    w.orchestrator = q.value(14).toString();
    w.enrolledAt = Store::fromMs(q.value(15));
    w.lastSeenAt = Store::fromMs(q.value(16));
    w.disconnectedAt = Store::fromMs(q.value(17));
    w.createdAt = Store::fromMs(q.value(18));
    w.updatedAt = Store::fromMs(q.value(19));
    w.orchestratorId = q.value(20).toString();
    return w;
}

Result<std::optional<WorkerRecord>> Store::workerByMachine(const QString &machineId,
                                                           const QString &tokenName)
{
    std::optional<WorkerRecord> found;
    auto read = select(QString::fromLatin1(WorkerColumns) + QStringLiteral("WHERE machine_id = ? AND token_name = ?"),
                       {machineId, tokenName}, [&](const QSqlQuery &query) { found = workerFromQuery(query); });
    if (!read)
        return fail(read.error());
    return found;
}

Result<void> Store::upsertWorker(const WorkerRecord &w, const QString &onlyIfHeldBy)
{
    QVariantList bindings{w.id, w.name, w.machineId, w.tokenId, w.tokenName, w.instanceId, labelsText(w.labels),
                          w.platform, w.arch, w.version, w.hostname, w.capacity, workerStatusName(w.status),
                          w.draining ? 1 : 0, w.orchestrator, toMs(w.enrolledAt), toMs(w.lastSeenAt),
                          toMsOrNull(w.disconnectedAt), toMs(w.createdAt), toMs(w.updatedAt),
                          w.orchestratorId.isNull() ? QStringLiteral("") : w.orchestratorId};
    QString held;
    if (!onlyIfHeldBy.isEmpty()) {
        held = QStringLiteral(" WHERE workers.orchestrator_id = ?");
        bindings << onlyIfHeldBy;
    }
    return execute(
               QStringLiteral(
                   "INSERT INTO workers (id, name, machine_id, token_id, token_name, instance_id, "
                   "labels, platform, arch, version, hostname, capacity, status, draining, "
                   "orchestrator, enrolled_at, last_seen_at, disconnected_at, created_at, "
                   "updated_at, orchestrator_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                   "ON CONFLICT (id) DO UPDATE SET name = excluded.name, token_id = "
                   "excluded.token_id, instance_id = excluded.instance_id, labels = excluded.labels, "
                   "platform = excluded.platform, arch = excluded.arch, version = excluded.version, "
                   "hostname = excluded.hostname, capacity = excluded.capacity, status = "
                   "excluded.status, draining = excluded.draining, orchestrator = "
                   "excluded.orchestrator, enrolled_at = excluded.enrolled_at, last_seen_at = "
                   "excluded.last_seen_at, disconnected_at = excluded.disconnected_at, updated_at = "
                   "excluded.updated_at, orchestrator_id = excluded.orchestrator_id") + held,
               bindings)
        ;
}

Store::Statement Store::workerStateStatement(const WorkerRecord &w, const QString &onlyIfHeldBy)
{
    Statement statement{QStringLiteral("UPDATE workers SET status = ?, draining = ?, last_seen_at = ?, "
                                       "disconnected_at = ?, updated_at = ? WHERE id = ?"),
                        {workerStatusName(w.status), w.draining ? 1 : 0, toMs(w.lastSeenAt),
                         toMsOrNull(w.disconnectedAt), toMs(w.updatedAt), w.id}};
    if (!onlyIfHeldBy.isEmpty()) {
        statement.sql += QStringLiteral(" AND orchestrator_id = ?");
        statement.values << onlyIfHeldBy;
    }
    return statement;
}

Result<void> Store::updateWorkerState(const WorkerRecord &w, const QString &onlyIfHeldBy)
{
    if (deferring())
        return defer(PendingRow{w.id, false, onlyIfHeldBy, w});
    return execute(workerStateStatement(w, onlyIfHeldBy));
}

Result<QList<WorkerRecord>> Store::allWorkers()
{
    return workers(QStringLiteral("ORDER BY name, id"));
}

Result<QList<WorkerRecord>> Store::workers(const QString &whereSql, const QVariantList &bindings)
{
    auto query = exec(QString::fromLatin1(WorkerColumns) + whereSql, bindings);
    if (!query)
        return fail(query.error());
    QList<WorkerRecord> list;
    while (query->next())
        list << workerFromQuery(*query);
    return list;
}

Result<int> Store::reconcileWorkersOnBoot(const QDateTime &now)
{
    auto query = exec(QStringLiteral("UPDATE workers SET status = 'disconnected', draining = 0, "
                                     "disconnected_at = ?, updated_at = ? WHERE status NOT IN "
                                     "('disconnected', 'lost')"),
                      {toMs(now), toMs(now)});
    if (!query)
        return fail(query.error());
    return query->numRowsAffected();
}

// The events table's data column: the object's JSON text, "{}" when there is none.
static QString storedEventData(const Event &e)
{
    return e.dataJson.isEmpty() ? QStringLiteral("{}") : QString::fromUtf8(e.dataJson);
}

Store::Statement Store::eventsInsertStatement(const QList<const Event *> &events)
{
    Statement statement{QStringLiteral("INSERT INTO events (id, at, kind, subject, message, data) VALUES "), {}};
    statement.values.reserve(events.size() * 6);
    for (qsizetype i = 0; i < events.size(); ++i) {
        const Event &e = *events.at(i);
        statement.sql += i == 0 ? QStringLiteral("(?, ?, ?, ?, ?, ?)") : QStringLiteral(", (?, ?, ?, ?, ?, ?)");
        statement.values << e.id << toMs(e.at) << e.kind << (e.subject.isNull() ? QStringLiteral("") : e.subject)
                         << e.message << storedEventData(e);
    }
    return statement;
}

Store::Statement Store::statementFor(const PendingRow &pending)
{
    return std::visit([&](const auto &row) -> Statement {
        using Row = std::decay_t<decltype(row)>;
        if constexpr (std::is_same_v<Row, RunRecord>)
            return pending.insert ? runInsertStatement(row) : runUpdateStatement(row);
        else if constexpr (std::is_same_v<Row, StepRecord>)
            return pending.insert ? stepInsertStatement(row) : stepUpdateStatement(row);
        else if constexpr (std::is_same_v<Row, LeaseRecord>)
            return pending.insert ? leaseInsertStatement(row) : leaseUpdateStatement(row);
        else if constexpr (std::is_same_v<Row, WorkerRecord>)
            return workerStateStatement(row, pending.heldBy);
        else
            return eventsInsertStatement({&row});
    }, pending.row);
}

QList<Store::Statement> Store::statementsFor(const std::vector<PendingRow> &rows)
{
    constexpr qsizetype EventsPerStatement = 32;
    QList<Statement> statements;
    QList<const Event *> events;
    for (const PendingRow &row : rows) {
        if (const Event *event = std::get_if<Event>(&row.row))
            events << event;
        else
            statements << statementFor(row);
    }
    for (qsizetype first = 0; first < events.size(); first += EventsPerStatement)
        statements << eventsInsertStatement(events.mid(first, EventsPerStatement));
    return statements;
}

Result<qint64> Store::insertEvent(const Event &e)
{
    if (deferring()) {
        Event kept = e;
        kept.id = ++m_lastEventId;
        if (auto r = defer(PendingRow{{}, true, {}, kept}); !r)
            return fail(r.error());
        return kept.id;
    }
    const QString data = storedEventData(e);
    const QString sql = m_dialect == Dialect::Postgres
                            ? QStringLiteral("INSERT INTO events (at, kind, subject, message, data) "
                                             "VALUES (?, ?, ?, ?, ?) RETURNING id")
                            : QStringLiteral("INSERT INTO events (at, kind, subject, message, data) "
                                             "VALUES (?, ?, ?, ?, ?)");
    const QVariantList values{toMs(e.at), e.kind, e.subject.isNull() ? QStringLiteral("") : e.subject, e.message, data};
    if (m_dialect == Dialect::Postgres) {
        auto query = exec(sql, values);
        if (!query)
            return fail(query.error());
        if (!query->next())
            return databaseError(Tr::tr("recording an event"), Tr::tr("no id was returned"));
        return query->value(0).toLongLong();
    }
    auto written = write(sql, values);
    if (!written)
        return fail(written.error());
    return written->lastInsertId.toLongLong();
}

static QList<Event> eventsFromQuery(QSqlQuery &query)
{
    QList<Event> events;
    while (query.next()) {
        Event event{query.value(0).toLongLong(), Store::fromMs(query.value(1)), query.value(2).toString(),
                    query.value(3).toString(), query.value(4).toString(), {}};
        // The text goes into event frames as it is: only a JSON object may (a row changed by hand
        // could hold anything), compacted (PostgreSQL returns what it was given).
        event.setData(QJsonDocument::fromJson(query.value(5).toString().toUtf8()).object());
        events << event;
    }
    return events;
}

Result<QList<Event>> Store::eventsAfter(qint64 afterId, int limit)
{
    auto query = exec(QStringLiteral("SELECT id, at, kind, subject, message, data FROM events "
                                     "WHERE id > ? ORDER BY id LIMIT ?"),
                      {afterId, limit});
    if (!query)
        return fail(query.error());
    return eventsFromQuery(*query);
}

Result<QList<Event>> Store::eventsWithIds(const QList<qint64> &ids)
{
    // A fixed number of placeholders (the missing ones repeat the first id), so that one
    // statement text serves every call.
    constexpr qsizetype PerQuery = 64;
    QString sql = QStringLiteral("SELECT id, at, kind, subject, message, data FROM events WHERE id IN (?");
    for (qsizetype i = 1; i < PerQuery; ++i)
        sql += QStringLiteral(", ?");
    sql += QStringLiteral(") ORDER BY id");
    QList<Event> events;
    for (qsizetype from = 0; from < ids.size(); from += PerQuery) {
        QVariantList bindings;
        for (qsizetype i = 0; i < PerQuery; ++i)
            bindings << ids.at(from + i < ids.size() ? from + i : from);
        auto query = exec(sql, bindings);
        if (!query)
            return fail(query.error());
        events << eventsFromQuery(*query);
    }
    std::sort(events.begin(), events.end(), [](const Event &a, const Event &b) { return a.id < b.id; });
    return events;
}

Result<qint64> Store::lastEventId()
{
    auto query = exec(QStringLiteral("SELECT COALESCE(MAX(id), 0) FROM events"));
    if (!query)
        return fail(query.error());
    return query->next() ? query->value(0).toLongLong() : 0;
}

} // namespace Swamp
