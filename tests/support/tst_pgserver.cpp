// The PostgreSQL test fixture: a real server that only listens on 127.0.0.1, lets the `swamp`
// role in with its password (and nobody without it), hands out fresh databases the role owns,
// and is gone when the fixture is destroyed, or when its test process is killed.
#include "support/pgserver.h"

#include <QCoreApplication>
#include <QFileInfo>
#include <QProcess>
#include <QRegularExpression>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTcpSocket>
#include <QTest>
#include <QUrl>

#include <signal.h>

using namespace Qt::StringLiterals;
using SwampTest::PostgresServer;

namespace {
// Opens `url` with QPSQL as a client would; the connection is removed with the returned guard.
struct Connection
{
    QString name;
    QSqlDatabase db;
    Connection(const QString &url, const QString &password)
        : name(u"tst-pgserver-%1"_s.arg(quintptr(this)))
    {
        const QUrl parsed(url);
        db = QSqlDatabase::addDatabase(u"QPSQL"_s, name);
        db.setHostName(parsed.host());
        db.setPort(parsed.port());
        db.setDatabaseName(parsed.path().mid(1));
        db.setUserName(parsed.userName());
        db.setPassword(password);
        db.open();
    }
    ~Connection()
    {
        db.close();
        db = {};
        QSqlDatabase::removeDatabase(name);
    }
    QVariant scalar(const QString &sql)
    {
        QSqlQuery query(db);
        if (!query.exec(sql) || !query.next())
            return {};
        return query.value(0);
    }
};
} // namespace

class tst_PgServer : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void urlHasNoPassword();
    void roleLogsInWithPassword();
    void wrongPasswordRefused();
    void onlyLoopback();
    void freshDatabases();
    void stoppedOnDestruction();
    void stoppedWhenTheTestIsKilled();
    void standbyTakesOverWhenThePrimaryDies();

private:
    PostgresServer m_server;
};

void tst_PgServer::initTestCase()
{
    QVERIFY(QSqlDatabase::isDriverAvailable(u"QPSQL"_s));
    SWAMP_START_POSTGRES(m_server);
}

void tst_PgServer::urlHasNoPassword()
{
    const QUrl url(m_server.url());
    QCOMPARE(url.scheme(), u"postgresql"_s);
    QCOMPARE(url.host(), u"127.0.0.1"_s);
    QCOMPARE(url.port(), m_server.port());
    QCOMPARE(url.userName(), u"swamp"_s);
    QVERIFY(url.password().isEmpty());
    QVERIFY(!m_server.password().isEmpty());
    QVERIFY(!m_server.url().contains(m_server.password()));
    QCOMPARE(m_server.environment().value(u"PGPASSWORD"_s), m_server.password());
}

void tst_PgServer::roleLogsInWithPassword()
{
    Connection c(m_server.url(), m_server.password());
    QVERIFY2(c.db.isOpen(), qPrintable(c.db.lastError().text()));
    QCOMPARE(c.scalar(u"SELECT current_user"_s).toString(), u"swamp"_s);
    QCOMPARE(c.scalar(u"SELECT rolsuper FROM pg_roles WHERE rolname = current_user"_s).toBool(), false);
    QCOMPARE(c.scalar(u"SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_database "
                      "WHERE datname = current_database()"_s).toString(),
             u"swamp"_s);
    QSqlQuery create(c.db);
    QVERIFY2(create.exec(u"CREATE TABLE probe (id BIGINT PRIMARY KEY)"_s), qPrintable(create.lastError().text()));
}

void tst_PgServer::wrongPasswordRefused()
{
    Connection c(m_server.url(), u"not-the-password"_s);
    QVERIFY(!c.db.isOpen());
    QVERIFY2(c.db.lastError().text().contains(u"password authentication failed"_s),
             qPrintable(c.db.lastError().text()));
    Connection none(m_server.url(), QString());
    QVERIFY(!none.db.isOpen());
}

void tst_PgServer::onlyLoopback()
{
    Connection c(m_server.url(), m_server.password());
    QVERIFY(c.db.isOpen());
    QCOMPARE(c.scalar(u"SHOW listen_addresses"_s).toString(), u"127.0.0.1"_s);
    QCOMPARE(c.scalar(u"SHOW port"_s).toInt(), m_server.port());
    QCOMPARE(c.scalar(u"SELECT inet_server_addr()::text"_s).toString(), u"127.0.0.1/32"_s);
}

void tst_PgServer::freshDatabases()
{
    const QString first = m_server.createDatabase();
    QVERIFY2(!first.isEmpty(), qPrintable(m_server.errorString()));
    const QString second = m_server.createDatabase();
    QVERIFY2(!second.isEmpty(), qPrintable(m_server.errorString()));
    QVERIFY(first != second);
    {
        Connection c(first, m_server.password());
        QVERIFY2(c.db.isOpen(), qPrintable(c.db.lastError().text()));
        QSqlQuery create(c.db);
        QVERIFY(create.exec(u"CREATE TABLE only_in_first (id BIGINT)"_s));
    }
    Connection c(second, m_server.password());
    QVERIFY(c.db.isOpen());
    QCOMPARE(c.scalar(u"SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'"_s).toInt(), 0);
    QVERIFY(m_server.createDatabase(u"Robert'); DROP TABLE x; --"_s).isEmpty());
    QVERIFY(m_server.errorString().contains(u"not a plain database name"_s));
}

void tst_PgServer::stoppedOnDestruction()
{
    int port = 0;
    {
        PostgresServer other;
        QVERIFY2(other.start(), qPrintable(other.errorString()));
        port = other.port();
        QVERIFY(port != m_server.port());
        Connection c(other.url(), other.password());
        QVERIFY2(c.db.isOpen(), qPrintable(c.db.lastError().text()));
    }
    QTcpSocket socket;
    socket.connectToHost(u"127.0.0.1"_s, quint16(port));
    QVERIFY(!socket.waitForConnected(5000));
    QCOMPARE(socket.error(), QAbstractSocket::ConnectionRefusedError);
}

// A test process killed before its destructors run (a ctest timeout) leaves no server behind.
void tst_PgServer::stoppedWhenTheTestIsKilled()
{
    QProcess holder;
    holder.start(QCoreApplication::applicationFilePath(), {u"--hold-server"_s});
    QVERIFY(holder.waitForStarted());
    QTRY_VERIFY_WITH_TIMEOUT(holder.canReadLine() || holder.state() == QProcess::NotRunning, 120000);
    const QStringList held = QString::fromUtf8(holder.readLine()).trimmed().split(u' ');
    QVERIFY2(held.size() == 3, qPrintable(held.join(u' ') + QString::fromUtf8(holder.readAllStandardError())));
    const QString url = held.at(0);
    const QString password = held.at(1);
    const QString directory = held.at(2);
    {
        Connection c(url, password);
        QVERIFY2(c.db.isOpen(), qPrintable(c.db.lastError().text()));
    }
    QVERIFY(QFileInfo::exists(directory + u"/data/postmaster.pid"_s));
    ::kill(pid_t(holder.processId()), SIGKILL);
    QVERIFY(holder.waitForFinished());
    QTRY_VERIFY_WITH_TIMEOUT(!QFileInfo::exists(directory), 60000);
    QTcpSocket socket;
    socket.connectToHost(u"127.0.0.1"_s, quint16(QUrl(url).port()));
    QVERIFY(!socket.waitForConnected(5000));
    QCOMPARE(socket.error(), QAbstractSocket::ConnectionRefusedError);
}

// The failover fixture: a synchronous standby has every acknowledged commit, refuses writes
// until promoted, and takes them once the primary is killed and it is promoted.
void tst_PgServer::standbyTakesOverWhenThePrimaryDies()
{
    PostgresServer ha;
    QVERIFY2(ha.start(), qPrintable(ha.errorString()));
    const QString url = ha.createDatabase(u"ha"_s);
    QVERIFY2(ha.startStandby(PostgresServer::Replication::Synchronous), qPrintable(ha.errorString()));
    QVERIFY(ha.standbyPort() != ha.port() && ha.standbyPort() > 0);
    QCOMPARE(ha.failoverUrl(u"ha"_s),
             u"postgresql://swamp@127.0.0.1:%1,127.0.0.1:%2/ha"_s.arg(ha.port()).arg(ha.standbyPort()));
    QUrl standbyUrl(url);
    standbyUrl.setPort(ha.standbyPort());
    {
        Connection primary(url, ha.password());
        QVERIFY2(primary.db.isOpen(), qPrintable(primary.db.lastError().text()));
        QSqlQuery query(primary.db);
        QVERIFY2(query.exec(u"CREATE TABLE t (x INT); INSERT INTO t VALUES (1)"_s), qPrintable(query.lastError().text()));
        Connection standby(standbyUrl.toString(), ha.password());
        QVERIFY2(standby.db.isOpen(), qPrintable(standby.db.lastError().text()));
        QCOMPARE(standby.scalar(u"SELECT COUNT(*) FROM t"_s).toInt(), 1); // synchronous: there already
        QSqlQuery write(standby.db);
        QVERIFY(!write.exec(u"INSERT INTO t VALUES (2)"_s));
        QCOMPARE(write.lastError().nativeErrorCode(), u"25006"_s); // read_only_sql_transaction
    }
    QVERIFY2(ha.killPrimary(), qPrintable(ha.errorString()));
    QTcpSocket socket;
    socket.connectToHost(u"127.0.0.1"_s, quint16(ha.port()));
    QVERIFY(!socket.waitForConnected(5000));
    QVERIFY2(ha.promoteStandby(), qPrintable(ha.errorString()));
    Connection promoted(standbyUrl.toString(), ha.password());
    QVERIFY2(promoted.db.isOpen(), qPrintable(promoted.db.lastError().text()));
    QSqlQuery write(promoted.db);
    QVERIFY2(write.exec(u"INSERT INTO t VALUES (2)"_s), qPrintable(write.lastError().text()));
    QCOMPARE(promoted.scalar(u"SELECT COUNT(*) FROM t"_s).toInt(), 2);
}

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    if (app.arguments().contains(u"--hold-server"_s)) {
        // For stoppedWhenTheTestIsKilled(): start a server, say where it is, wait to be killed.
        PostgresServer server;
        if (!server.start()) {
            fprintf(stderr, "%s\n", qPrintable(server.errorString()));
            return 1;
        }
        printf("%s %s %s\n", qPrintable(server.url()), qPrintable(server.password()),
               qPrintable(server.directory()));
        fflush(stdout);
        return app.exec();
    }
    tst_PgServer test;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&test, argc, argv);
}
#include "tst_pgserver.moc"
