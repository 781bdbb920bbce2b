#include "pgserver.h"

#include <QCollator>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHostAddress>
#include <QProcess>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QTcpServer>

#include <csignal>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace Qt::StringLiterals;

namespace SwampTest {

namespace {
const QString AdminRole = u"swamp_admin"_s;
const QStringList Tools{u"initdb"_s, u"pg_ctl"_s, u"postgres"_s, u"psql"_s};

QString randomSecret(int length)
{
    static const QString alphabet = u"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"_s;
    QString secret;
    for (int i = 0; i < length; ++i)
        secret += alphabet.at(QRandomGenerator::system()->bounded(int(alphabet.size())));
    return secret;
}

bool hasTools(const QString &dir)
{
    for (const QString &tool : Tools) {
        if (!QFileInfo(QString(dir + u'/' + tool)).isExecutable())
            return false;
    }
    return true;
}

QString lastLines(const QString &text, int count)
{
    QStringList lines = text.trimmed().split(u'\n');
    if (lines.size() > count)
        lines = lines.mid(lines.size() - count);
    return lines.join(u'\n');
}
} // namespace

int freePort()
{
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        return 0;
    return probe.serverPort();
}

PostgresServer::PostgresServer() = default;

PostgresServer::~PostgresServer()
{
    if (!stop())
        qWarning("%s", qPrintable(m_error));
}

QString PostgresServer::binDir()
{
    const QString overridden = qEnvironmentVariable("SWAMP_POSTGRES_BINDIR");
    if (!overridden.isEmpty())
        return hasTools(overridden) ? overridden : QString();
    QStringList versions = QDir(u"/usr/lib/postgresql"_s).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    QCollator collator;
    collator.setNumericMode(true);
    std::sort(versions.begin(), versions.end(),
              [&](const QString &a, const QString &b) { return collator.compare(a, b) > 0; });
    for (const QString &version : std::as_const(versions)) {
        const QString dir = u"/usr/lib/postgresql/%1/bin"_s.arg(version);
        if (hasTools(dir))
            return dir;
    }
    return {};
}

QString PostgresServer::unavailableReason()
{
    return u"PostgreSQL is not installed (no initdb, pg_ctl, postgres and psql in "
           "/usr/lib/postgresql/*/bin): run scripts/install-deps.sh or 'apt-get install postgresql'"_s;
}

bool PostgresServer::isRequired()
{
    return qEnvironmentVariable("SWAMP_REQUIRE_POSTGRES") == u"1";
}

QStringList PostgresServer::asServerUser(const QStringList &command) const
{
    if (!m_runAsUid)
        return command;
    return QStringList{u"setpriv"_s, u"--reuid=%1"_s.arg(*m_runAsUid), u"--regid=%1"_s.arg(*m_runAsGid),
                       u"--clear-groups"_s, u"--"_s}
        + command;
}

// A test killed before its destructor runs (a ctest timeout, SIGKILL) would leave its server
// running and its directory behind. The watchdog, in a session of its own so that signals to
// the test's process group miss it, blocks reading its stdin; when the test process dies the
// pipe closes and it stops the server and removes the directory.
bool PostgresServer::startWatchdog()
{
    m_watchdog = std::make_unique<QProcess>();
    m_watchdog->setStandardOutputFile(QProcess::nullDevice());
    m_watchdog->setStandardErrorFile(QProcess::nullDevice());
    m_watchdog->setWorkingDirectory(u"/"_s);
    const QStringList command = asServerUser(
        {u"setsid"_s, u"sh"_s, u"-c"_s,
         u"cat >/dev/null; for d in data standby; do \"$0\" --pgdata=\"$1/$d\" --mode=immediate --wait stop; "
         "done; rm -rf \"$1\""_s,
         m_bin + u"/pg_ctl"_s, m_dir->path()});
    m_watchdog->start(command.first(), command.mid(1));
    if (!m_watchdog->waitForStarted()) {
        m_error = u"cannot start the watchdog of the PostgreSQL server: %1"_s.arg(m_watchdog->errorString());
        return false;
    }
    return true;
}

PostgresServer::Result PostgresServer::run(const QString &tool, const QStringList &arguments,
                                           const QByteArray &input, int timeoutMs) const
{
    const QString workDir = m_dir->path();
    QProcess process;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const QString &key : env.keys()) {
        if (key.startsWith(u"PG"))
            env.remove(key);
    }
    env.insert(u"LC_ALL"_s, u"C"_s);
    env.insert(u"HOME"_s, workDir); // no stray ~/.psqlrc or ~/.pgpass
    process.setProcessEnvironment(env);
    process.setWorkingDirectory(workDir); // reachable by the server's user
    process.setProcessChannelMode(QProcess::MergedChannels);
    const QStringList command = asServerUser(QStringList{m_bin + u'/' + tool} + arguments);
    process.start(command.first(), command.mid(1));
    if (!process.waitForStarted())
        return {false, u"cannot start %1: %2"_s.arg(tool, process.errorString())};
    if (!input.isEmpty())
        process.write(input);
    process.closeWriteChannel();
    if (!process.waitForFinished(timeoutMs)) {
        process.kill();
        process.waitForFinished();
        return {false, u"%1 did not finish within %2 s"_s.arg(tool).arg(timeoutMs / 1000)};
    }
    const QString output = QString::fromLocal8Bit(process.readAll());
    const bool ok = process.exitStatus() == QProcess::NormalExit && process.exitCode() == 0;
    return {ok, output};
}

bool PostgresServer::prepareDirectory()
{
    const bool root = ::geteuid() == 0;
    // The server's user must reach its directory: under /tmp every user can.
    const QString tempRoot = root ? u"/tmp"_s : QDir::tempPath();
    if (root && !resolveAccount())
        return false;
    m_dir = std::make_unique<QTemporaryDir>(tempRoot + u"/swamp-pg-XXXXXX"_s);
    if (!m_dir->isValid()) {
        m_error = u"cannot create a temporary directory for PostgreSQL: %1"_s.arg(m_dir->errorString());
        return false;
    }
    if (!root)
        return true;
    if (::chown(QFile::encodeName(m_dir->path()).constData(), *m_runAsUid, *m_runAsGid) != 0) {
        m_error = u"cannot hand %1 to the user running PostgreSQL: %2"_s.arg(
            m_dir->path(), QString::fromLocal8Bit(strerror(errno)));
        return false;
    }
    return true;
}

bool PostgresServer::resolveAccount()
{
    const QString user = qEnvironmentVariable("SWAMP_TEST_POSTGRES_USER", u"nobody"_s);
    const passwd *account = ::getpwnam(user.toLocal8Bit().constData());
    if (!account || account->pw_uid == 0) {
        m_error = u"PostgreSQL refuses to run as root and there is no unprivileged account '%1' "
                  "to run it as: create one or set SWAMP_TEST_POSTGRES_USER"_s.arg(user);
        return false;
    }
    m_runAsUid = account->pw_uid;
    m_runAsGid = account->pw_gid;
    return true;
}

bool PostgresServer::start()
{
    if (m_running)
        return true;
    if (m_dir) {
        m_error = u"this server was started before and is gone (killed): a test starts a new one"_s;
        return false;
    }
    m_bin = binDir();
    if (m_bin.isEmpty()) {
        m_error = unavailableReason();
        return false;
    }
    if (!prepareDirectory())
        return false;

    // initdb: the superuser's password from a file, SCRAM for TCP, trust only on the Unix socket
    // in the server's private directory.
    const QString pwfile = m_dir->filePath(u"superuser-password"_s);
    {
        QFile file(pwfile);
        if (!file.open(QIODevice::WriteOnly) || file.write(randomSecret(24).toLatin1() + '\n') < 0) {
            m_error = u"cannot write %1: %2"_s.arg(pwfile, file.errorString());
            return false;
        }
    }
    if (m_runAsUid)
        ::chown(QFile::encodeName(pwfile).constData(), *m_runAsUid, *m_runAsGid);
    const QString data = m_dir->filePath(u"data"_s);
    const Result initdb = run(u"initdb"_s, {u"--pgdata=%1"_s.arg(data), u"--username=%1"_s.arg(AdminRole),
                                            u"--pwfile=%1"_s.arg(pwfile), u"--auth-host=scram-sha-256"_s,
                                            u"--auth-local=trust"_s, u"--encoding=UTF8"_s, u"--locale=C"_s,
                                            u"--no-sync"_s, u"--no-instructions"_s,
                                            u"--wal-segsize=1"_s});
    QFile::remove(pwfile);
    if (!initdb.ok) {
        m_error = u"initdb failed:\n%1"_s.arg(lastLines(initdb.output, 20));
        return false;
    }
    // Test settings: only 127.0.0.1 and the private socket directory, small, no durability.
    {
        QFile conf(data + u"/postgresql.conf"_s);
        if (!conf.open(QIODevice::Append)) {
            m_error = u"cannot configure %1: %2"_s.arg(conf.fileName(), conf.errorString());
            return false;
        }
        conf.write(u"\n# swamp tests\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%1'\n"
                   "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                   "shared_buffers = 16MB\nmax_connections = 40\nmin_wal_size = 4MB\nmax_wal_size = 32MB\n"
                   "password_encryption = 'scram-sha-256'\n"_s.arg(m_dir->path())
                       .toUtf8());
    }

    if (!startOnFreePort(data, m_dir->filePath(u"postgres.log"_s), &m_port))
        return false;
    m_running = true;
    if (!startWatchdog())
        return false;

    // The role swamp logs in as: not a superuser, owns its databases (can create tables there).
    m_password = randomSecret(24);
    if (!adminSql(u"CREATE ROLE swamp LOGIN PASSWORD '%1';"_s.arg(m_password)))
        return false;
    return !createDatabase(u"swamp_test"_s).isEmpty();
}

// pg_ctl start on a port that was free; another process may take it first: try another.
bool PostgresServer::startOnFreePort(const QString &data, const QString &logFile, int *port)
{
    QString lastFailure;
    for (int attempt = 0; attempt < 5; ++attempt) {
        *port = freePort();
        if (*port == 0) {
            m_error = u"cannot find a free port on 127.0.0.1"_s;
            return false;
        }
        const Result started = run(u"pg_ctl"_s, {u"--pgdata=%1"_s.arg(data), u"--log=%1"_s.arg(logFile),
                                                 u"--options=-c port=%1"_s.arg(*port), u"--wait"_s,
                                                 u"--timeout=120"_s, u"start"_s});
        if (started.ok)
            return true;
        QFile log(logFile);
        lastFailure = started.output + u'\n' + (log.open(QIODevice::ReadOnly) ? QString::fromUtf8(log.readAll()) : QString());
        if (!lastFailure.contains(u"could not bind"_s) && !lastFailure.contains(u"already in use"_s))
            break;
    }
    m_error = u"PostgreSQL did not start (pg_ctl start):\n%1"_s.arg(lastLines(lastFailure, 20));
    return false;
}

bool PostgresServer::stop()
{
    // The watchdog must not race this stop and the directory's removal.
    if (m_watchdog) {
        m_watchdog->kill();
        m_watchdog->waitForFinished();
        m_watchdog.reset();
    }
    if (m_standbyRunning && !stopStandby())
        return false;
    if (!m_running || m_down)
        return true;
    const Result stopped = run(u"pg_ctl"_s, {u"--pgdata=%1"_s.arg(m_dir->filePath(u"data"_s)),
                                             u"--mode=fast"_s, u"--wait"_s, u"stop"_s});
    if (!stopped.ok) {
        m_error = u"pg_ctl stop failed:\n%1"_s.arg(lastLines(stopped.output, 10));
        return false;
    }
    m_running = false;
    return true;
}

bool PostgresServer::restart()
{
    if (!m_running) {
        m_error = u"the PostgreSQL server is not running"_s;
        return false;
    }
    const Result restarted = run(u"pg_ctl"_s, {u"--pgdata=%1"_s.arg(m_dir->filePath(u"data"_s)),
                                               u"--log=%1"_s.arg(m_dir->filePath(u"postgres.log"_s)),
                                               u"--options=-c port=%1"_s.arg(m_port), u"--mode=fast"_s,
                                               u"--wait"_s, u"--timeout=120"_s, u"restart"_s});
    if (!restarted.ok) {
        m_error = u"pg_ctl restart failed:\n%1"_s.arg(lastLines(restarted.output, 10));
        return false;
    }
    return true;
}

bool PostgresServer::shutDown()
{
    if (!m_running) {
        m_error = u"the PostgreSQL server is not running"_s;
        return false;
    }
    const Result stopped = run(u"pg_ctl"_s, {u"--pgdata=%1"_s.arg(m_dir->filePath(u"data"_s)), u"--mode=fast"_s,
                                             u"--wait"_s, u"stop"_s});
    if (!stopped.ok) {
        m_error = u"pg_ctl stop failed:\n%1"_s.arg(lastLines(stopped.output, 10));
        return false;
    }
    m_down = true;
    return true;
}

bool PostgresServer::startAgain()
{
    if (!m_down) {
        m_error = u"the PostgreSQL server was not shut down"_s;
        return false;
    }
    const Result started = run(u"pg_ctl"_s, {u"--pgdata=%1"_s.arg(m_dir->filePath(u"data"_s)),
                                             u"--log=%1"_s.arg(m_dir->filePath(u"postgres.log"_s)),
                                             u"--options=-c port=%1"_s.arg(m_port), u"--wait"_s,
                                             u"--timeout=120"_s, u"start"_s});
    if (!started.ok) {
        m_error = u"pg_ctl start failed:\n%1"_s.arg(lastLines(started.output, 10));
        return false;
    }
    m_down = false;
    return true;
}

PostgresServer::Result PostgresServer::psql(int port, const QString &database, const QString &sql) const
{
    return run(u"psql"_s,
               {u"--no-psqlrc"_s, u"--quiet"_s, u"--set=ON_ERROR_STOP=1"_s, u"--no-align"_s,
                u"--tuples-only"_s, u"--host=%1"_s.arg(m_dir->path()), u"--port=%1"_s.arg(port),
                u"--username=%1"_s.arg(AdminRole), u"--dbname=%1"_s.arg(database), u"--file=-"_s},
               sql.toUtf8());
}

bool PostgresServer::adminSql(const QString &sql, const QString &database)
{
    const Result result = psql(m_port, database, sql);
    if (!result.ok) {
        m_error = u"psql failed on %1: %2"_s.arg(database, lastLines(result.output, 10));
        return false;
    }
    return true;
}

std::optional<QString> PostgresServer::adminValue(const QString &sql, const QString &database)
{
    const Result result = psql(m_port, database, sql);
    if (!result.ok) {
        m_error = u"psql failed on %1: %2"_s.arg(database, lastLines(result.output, 10));
        return std::nullopt;
    }
    return result.output.section(u'\n', 0, 0).trimmed();
}

std::optional<QString> PostgresServer::adminQuery(int port, const QString &sql, const QString &database)
{
    const Result result = psql(port, database, sql);
    if (!result.ok) {
        m_error = u"psql failed on port %1: %2"_s.arg(port).arg(lastLines(result.output, 10));
        return std::nullopt;
    }
    return result.output.trimmed();
}

bool PostgresServer::waitForSql(int port, const QString &sql, const QString &expected, const QString &what)
{
    std::optional<QString> last;
    if (QTest::qWaitFor([&] { return (last = adminQuery(port, sql)) && *last == expected; }, 60000))
        return true;
    m_error = u"gave up waiting for %1 after 60 s (%2 answered '%3', not '%4')"_s.arg(
        what, sql, last.value_or(m_error), expected);
    return false;
}

bool PostgresServer::startStandby(Replication replication)
{
    if (!m_running) {
        m_error = u"start the primary before its standby"_s;
        return false;
    }
    // A copy of the primary over its private socket; -R makes it a standby that streams from it.
    const Result copied = run(u"pg_basebackup"_s,
                              {u"--pgdata=%1"_s.arg(standbyData()), u"--host=%1"_s.arg(m_dir->path()),
                               u"--port=%1"_s.arg(m_port), u"--username=%1"_s.arg(AdminRole),
                               u"--write-recovery-conf"_s, u"--wal-method=stream"_s,
                               u"--checkpoint=fast"_s, u"--no-sync"_s});
    if (!copied.ok) {
        m_error = u"pg_basebackup failed:\n%1"_s.arg(lastLines(copied.output, 10));
        return false;
    }
    if (!startOnFreePort(standbyData(), m_dir->filePath(u"standby.log"_s), &m_standbyPort))
        return false;
    m_standbyRunning = true;
    // Set on the primary only, after the copy: the standby, once promoted, waits for no one.
    const bool synchronous = replication == Replication::Synchronous;
    if (synchronous && !adminSql(u"ALTER SYSTEM SET synchronous_standby_names = '*';\n"
                                 "ALTER SYSTEM SET synchronous_commit = on;\nSELECT pg_reload_conf();"_s))
        return false;
    return waitForSql(m_port, u"SELECT state || ' ' || sync_state FROM pg_stat_replication"_s,
                      synchronous ? u"streaming sync"_s : u"streaming async"_s, u"the standby to stream"_s);
}

bool PostgresServer::stopStandby()
{
    const Result stopped = run(u"pg_ctl"_s, {u"--pgdata=%1"_s.arg(standbyData()), u"--mode=fast"_s,
                                             u"--wait"_s, u"stop"_s});
    if (!stopped.ok) {
        m_error = u"pg_ctl stop (standby) failed:\n%1"_s.arg(lastLines(stopped.output, 10));
        return false;
    }
    m_standbyRunning = false;
    return true;
}

// The processes whose parent is `parent` (PostgreSQL's backends each lead a process group of
// their own, so a signal to the postmaster's group misses them).
static QList<pid_t> childrenOf(pid_t parent)
{
    QList<pid_t> children;
    const QStringList entries = QDir(u"/proc"_s).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &entry : entries) {
        QFile stat(u"/proc/%1/stat"_s.arg(entry));
        if (!stat.open(QIODevice::ReadOnly))
            continue;
        const QByteArray text = stat.readAll();
        const QList<QByteArray> fields = text.mid(text.lastIndexOf(')') + 2).split(' ');
        if (fields.size() > 1 && fields.at(1).toInt() == parent)
            children << entry.toInt();
    }
    return children;
}

bool PostgresServer::killPrimary()
{
    QFile pidFile(m_dir ? m_dir->filePath(u"data/postmaster.pid"_s) : QString());
    if (!m_running || !pidFile.open(QIODevice::ReadOnly)) {
        m_error = u"the primary is not running"_s;
        return false;
    }
    const pid_t pid = pidFile.readLine().trimmed().toInt();
    // All at once, as when the machine dies: the postmaster is frozen first (it forks no new
    // process and notices nothing), then it and every process it started get SIGKILL.
    if (pid <= 1 || ::kill(pid, SIGSTOP) != 0) {
        m_error = u"cannot stop the primary's postmaster %1: %2"_s.arg(pid).arg(QString::fromLocal8Bit(strerror(errno)));
        return false;
    }
    const QList<pid_t> children = childrenOf(pid);
    for (const pid_t child : children)
        ::kill(child, SIGSTOP);
    for (const pid_t child : children)
        ::kill(child, SIGKILL);
    ::kill(pid, SIGKILL);
    m_running = false;
    const auto gone = [](pid_t process) {
        QFile stat(u"/proc/%1/stat"_s.arg(process));
        return !stat.open(QIODevice::ReadOnly) || stat.readAll().contains(") Z "); // no process, or a zombie
    };
    if (!QTest::qWaitFor([&] { return gone(pid) && std::all_of(children.cbegin(), children.cend(), gone); }, 30000)) {
        m_error = u"the primary's processes are still there 30 s after SIGKILL"_s;
        return false;
    }
    return true;
}

bool PostgresServer::promoteStandby()
{
    if (!m_standbyRunning) {
        m_error = u"there is no standby to promote"_s;
        return false;
    }
    const Result promoted = run(u"pg_ctl"_s, {u"--pgdata=%1"_s.arg(standbyData()), u"--wait"_s,
                                              u"--timeout=120"_s, u"promote"_s});
    if (!promoted.ok) {
        m_error = u"pg_ctl promote failed:\n%1"_s.arg(lastLines(promoted.output, 10));
        return false;
    }
    return waitForSql(m_standbyPort, u"SELECT pg_is_in_recovery()"_s, u"f"_s, u"the promoted standby to accept writes"_s);
}

QString PostgresServer::failoverUrl(const QString &database) const
{
    return u"postgresql://%1@%2:%3,%2:%4/%5"_s.arg(role(), host()).arg(m_port).arg(m_standbyPort).arg(database);
}

QString PostgresServer::createDatabase(const QString &name)
{
    const QString database = name.isEmpty() ? u"swamp_test_%1"_s.arg(++m_databases) : name;
    static const QRegularExpression identifier(u"^[a-z_][a-z0-9_]*$"_s);
    if (!identifier.match(database).hasMatch()) {
        m_error = u"'%1' is not a plain database name (a-z, 0-9, _)"_s.arg(database);
        return {};
    }
    if (!adminSql(u"CREATE DATABASE %1 OWNER swamp;"_s.arg(database)))
        return {};
    return url(database);
}

QString PostgresServer::url(const QString &database) const
{
    return u"postgresql://%1@%2:%3/%4"_s.arg(role(), host()).arg(m_port).arg(database);
}

QProcessEnvironment PostgresServer::environment() const
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const QString &key : env.keys()) {
        if (key.startsWith(u"PG"))
            env.remove(key);
    }
    env.insert(u"PGPASSWORD"_s, m_password);
    return env;
}

QString PostgresServer::log() const
{
    if (!m_dir)
        return {};
    QFile file(m_dir->filePath(u"postgres.log"_s));
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QString::fromUtf8(file.readAll());
}

} // namespace SwampTest
