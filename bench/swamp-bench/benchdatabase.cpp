#include "benchdatabase.h"

#include "store/postgresconnection_p.h"
#include "support/pgserver.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QRegularExpression>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTextStream>
#include <QThread>
#include <QUrl>
#include <QVariant>

#include <unistd.h>

using namespace Swamp;

namespace SwampBench {

namespace {

// PostgreSQL's own defaults, which the test fixture turns off for speed: the bench measures what
// an operator runs (every commit flushed to the WAL on disk), unless --pg-setting says otherwise.
const QStringList DurableSettings{QStringLiteral("fsync=on"), QStringLiteral("full_page_writes=on"),
                                  QStringLiteral("synchronous_commit=on")};

QString normalized(QString value)
{
    value = value.trimmed().toLower();
    if (value == u"true" || value == u"yes" || value == u"1")
        return QStringLiteral("on");
    if (value == u"false" || value == u"no" || value == u"0")
        return QStringLiteral("off");
    return value;
}

} // namespace

BenchDatabase::BenchDatabase()
    : m_connection(QStringLiteral("swamp-bench-%1").arg(quintptr(this)))
{
}

BenchDatabase::~BenchDatabase()
{
    if (QSqlDatabase::contains(m_connection)) {
        QSqlDatabase::database(m_connection, false).close();
        QSqlDatabase::removeDatabase(m_connection);
    }
    m_server.reset(); // pg_ctl stop, directory removed
}

bool BenchDatabase::isAvailable()
{
    return SwampTest::PostgresServer::isAvailable();
}

QString BenchDatabase::unavailableReason()
{
    return SwampTest::PostgresServer::unavailableReason();
}

bool BenchDatabase::isRequired()
{
    return SwampTest::PostgresServer::isRequired();
}

Result<void> BenchDatabase::startOwnServer(const QStringList &settings)
{
    if (!isAvailable())
        return fail(QStringLiteral("postgres"), unavailableReason());
    static const QRegularExpression assignment(QStringLiteral("^([a-z_][a-z0-9_.]*)=(.*)$"));
    const QStringList all = DurableSettings + settings;
    for (const QString &text : all) {
        if (!assignment.match(text).hasMatch()) {
            return fail(QStringLiteral("usage"), QStringLiteral("'%1' is not a PostgreSQL setting").arg(text),
                        QStringLiteral("write --pg-setting name=value, e.g. --pg-setting synchronous_commit=off"));
        }
    }
    m_server = std::make_unique<SwampTest::PostgresServer>();
    QTextStream(stdout) << "starting PostgreSQL (" << SwampTest::PostgresServer::binDir() << ")" << Qt::endl;
    if (!m_server->start())
        return fail(QStringLiteral("postgres"), m_server->errorString());
    m_kind = Kind::OwnServer;
    // The bench's own connection (as the unprivileged role) checks the settings and nothing else;
    // the password stays in this process.
    QUrl own(m_server->url());
    own.setPassword(m_server->password());
    m_url = m_server->url();
    if (auto opened = openPostgresConnection(m_connection, own.toString()); !opened)
        return opened;

    QString alter;
    for (const QString &text : all) {
        const QRegularExpressionMatch match = assignment.match(text);
        alter += QStringLiteral("ALTER SYSTEM SET %1 = '%2';\n")
                     .arg(match.captured(1), QString(match.captured(2)).replace(u'\'', QStringLiteral("''")));
    }
    alter += QStringLiteral("SELECT pg_reload_conf();\n");
    if (!m_server->adminSql(alter))
        return fail(QStringLiteral("postgres"), m_server->errorString());
    // A reload is asynchronous: wait until every setting reads back as asked.
    for (const QString &text : all) {
        const QRegularExpressionMatch match = assignment.match(text);
        const QString name = match.captured(1);
        QString current;
        QDeadlineTimer deadline(10000);
        for (;;) {
            auto value = setting(name);
            if (!value)
                return fail(value.error());
            current = *value;
            if (current == normalized(match.captured(2)))
                break;
            if (deadline.hasExpired()) {
                return fail(QStringLiteral("postgres"),
                            QStringLiteral("the PostgreSQL setting %1 is '%2', not '%3', after a reload")
                                .arg(name, current, match.captured(2)),
                            QStringLiteral("--pg-setting takes settings that change on a reload (not those that "
                                           "need a restart), in the unit PostgreSQL shows (SHOW %1)").arg(name));
            }
            QThread::msleep(50);
        }
    }
    QTextStream(stdout) << "PostgreSQL listening on 127.0.0.1:" << m_server->port() << ", "
                        << all.join(QStringLiteral(", ")) << Qt::endl;
    return {};
}

Result<void> BenchDatabase::useExisting(const QString &url)
{
    const QUrl parsed(url, QUrl::StrictMode);
    if (parsed.scheme() != u"postgresql" && parsed.scheme() != u"postgres") {
        return fail(QStringLiteral("usage"), QStringLiteral("--database takes a postgresql:// URL"),
                    QStringLiteral("e.g. --database postgresql://swamp@db.internal:5432/postgres"));
    }
    if (!parsed.password().isEmpty()) {
        return fail(QStringLiteral("usage"), QStringLiteral("the --database URL holds a password"),
                    QStringLiteral("put it in PGPASSWORD or ~/.pgpass instead: the bench passes the URL on "
                                   "swamp serve's command line"));
    }
    if (auto opened = openPostgresConnection(m_connection, url); !opened)
        return opened;
    m_kind = Kind::Existing;
    m_url = url;
    return {};
}

QString BenchDatabase::description() const
{
    switch (m_kind) {
    case Kind::Sqlite:
        return QStringLiteral("SQLite");
    case Kind::OwnServer:
        return QStringLiteral("PostgreSQL from %1 (started by the bench)").arg(SwampTest::PostgresServer::binDir());
    case Kind::Existing:
        return QStringLiteral("PostgreSQL at %1").arg(redactedDatabaseUrl(m_url));
    }
    return {};
}

Result<void> BenchDatabase::sql(const QString &statement)
{
    QSqlQuery query(QSqlDatabase::database(m_connection, false));
    if (!query.exec(statement)) {
        return fail(QStringLiteral("postgres"),
                    QStringLiteral("%1 failed on %2: %3")
                        .arg(statement, redactedDatabaseUrl(m_url), query.lastError().text()));
    }
    return {};
}

Result<QString> BenchDatabase::setting(const QString &name)
{
    QSqlQuery query(QSqlDatabase::database(m_connection, false));
    query.prepare(QStringLiteral("SELECT current_setting(?)"));
    query.addBindValue(name);
    if (!query.exec() || !query.next()) {
        return fail(QStringLiteral("postgres"),
                    QStringLiteral("cannot read the PostgreSQL setting %1: %2").arg(name, query.lastError().text()),
                    QStringLiteral("check its name (SHOW ALL)"));
    }
    return normalized(query.value(0).toString());
}

Result<QString> BenchDatabase::createDatabase()
{
    if (m_kind == Kind::Sqlite)
        return QString();
    const QString name = QStringLiteral("swamp_bench_%1_%2").arg(::getpid()).arg(++m_created);
    if (m_kind == Kind::OwnServer) {
        const QString url = m_server->createDatabase(name);
        if (url.isEmpty())
            return fail(QStringLiteral("postgres"), m_server->errorString());
        return url;
    }
    if (auto created = sql(QStringLiteral("CREATE DATABASE %1").arg(name)); !created) {
        return fail(QStringLiteral("postgres"), created.error().message,
                    QStringLiteral("the bench makes a database per scenario: grant the role CREATEDB "
                                   "(ALTER ROLE <role> CREATEDB) or use --postgres"));
    }
    QUrl url(m_url);
    url.setPath(u'/' + name);
    return url.toString();
}

Result<void> BenchDatabase::restartOwnServer()
{
    if (m_kind != Kind::OwnServer)
        return fail(QStringLiteral("postgres"), QStringLiteral("only the bench's own server (--postgres) is restarted"));
    if (!m_server->restart())
        return fail(QStringLiteral("postgres"), m_server->errorString());
    return {};
}

void BenchDatabase::dropDatabase(const QString &url)
{
    const QString name = QUrl(url).path().mid(1);
    static const QRegularExpression ours(QStringLiteral("^swamp_bench_[0-9]+_[0-9]+$"));
    if (m_kind == Kind::Sqlite || !ours.match(name).hasMatch())
        return;
    const QString drop = QStringLiteral("DROP DATABASE IF EXISTS %1 WITH (FORCE)").arg(name);
    if (m_kind == Kind::OwnServer) {
        if (m_server && m_server->isRunning() && !m_server->adminSql(drop + u';'))
            QTextStream(stderr) << "warning: " << m_server->errorString() << Qt::endl;
        return;
    }
    if (auto dropped = sql(drop); !dropped)
        QTextStream(stderr) << "warning: " << dropped.error().text() << Qt::endl;
}

QProcessEnvironment BenchDatabase::environment() const
{
    QProcessEnvironment env;
    if (m_kind == Kind::OwnServer)
        env.insert(QStringLiteral("PGPASSWORD"), m_server->password());
    return env;
}

} // namespace SwampBench
