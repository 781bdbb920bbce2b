#include "pgbouncer.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTcpSocket>

#include <csignal>
#include <unistd.h>

using namespace Qt::StringLiterals;

namespace SwampTest {

PgBouncer::PgBouncer(PostgresServer &server) : m_server(server) {}

PgBouncer::~PgBouncer()
{
    stop();
}

QString PgBouncer::binary()
{
    const QString path = qEnvironmentVariable("SWAMP_PGBOUNCER", u"/usr/sbin/pgbouncer"_s);
    return QFileInfo(path).isExecutable() ? path : QString();
}

QString PgBouncer::unavailableReason()
{
    return u"PgBouncer is not installed (no /usr/sbin/pgbouncer): run scripts/install-deps.sh or "
           "'apt-get install pgbouncer'"_s;
}

bool PgBouncer::isRunning() const
{
    return m_process && m_process->state() != QProcess::NotRunning;
}

QString PgBouncer::url(const QString &database) const
{
    return u"postgresql://%1@127.0.0.1:%2/%3"_s.arg(m_server.role()).arg(m_port).arg(database);
}

QString PgBouncer::log() const
{
    QFile file(m_dir + u"/pgbouncer.log"_s);
    return file.open(QIODevice::ReadOnly) ? QString::fromUtf8(file.readAll()) : QString();
}

// In the server's directory (the server's user reaches it; the server's watchdog removes it),
// owned by the server's user, who runs pgbouncer when the tests run as root.
bool PgBouncer::writeConfig(const QString &poolMode, int poolSize)
{
    m_poolMode = poolMode;
    m_poolSize = poolSize;
    m_dir = m_server.directory() + u"/pgbouncer"_s;
    if (!QDir().mkpath(m_dir)) {
        m_error = u"cannot create %1"_s.arg(m_dir);
        return false;
    }
    const QFileInfo owner(m_server.directory());
    const auto write = [&](const QString &name, const QString &text) {
        QFile file(m_dir + u'/' + name);
        if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
            file.write(text.toUtf8()) < 0) {
            m_error = u"cannot write %1: %2"_s.arg(file.fileName(), file.errorString());
            return false;
        }
        file.close();
        return ::geteuid() != 0 || ::chown(QFile::encodeName(file.fileName()).constData(),
                                           owner.ownerId(), owner.groupId()) == 0;
    };
    if (::geteuid() == 0 &&
        ::chown(QFile::encodeName(m_dir).constData(), owner.ownerId(), owner.groupId()) != 0) {
        m_error = u"cannot hand %1 to the user running PostgreSQL"_s.arg(m_dir);
        return false;
    }
    // server_login_retry 1 s: back within a second of PostgreSQL (the default waits 15 s);
    // query_wait_timeout 10 s: a client finds a pool that is too small in 10 s, not 120 s.
    const QString ini =
        u"[databases]\n* = host=127.0.0.1 port=%1\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\n"
        "listen_port = %2\nunix_socket_dir =\nauth_type = scram-sha-256\nauth_file = "
        "%3/userlist.txt\n"
        "pool_mode = %4\ndefault_pool_size = %5\nmax_client_conn = 100\nserver_login_retry = 1\n"
        "query_wait_timeout = 10\n"
        "ignore_startup_parameters = extra_float_digits\nlogfile = %3/pgbouncer.log\n"_s
            .arg(m_server.port())
            .arg(m_port)
            .arg(m_dir, poolMode)
            .arg(poolSize);
    return write(u"pgbouncer.ini"_s, ini) &&
           write(u"userlist.txt"_s, u"\"%1\" \"%2\"\n"_s.arg(m_server.role(), m_server.password()));
}

bool PgBouncer::start(const QString &poolMode, int poolSize)
{
    if (!m_server.isRunning()) {
        m_error = u"start PostgreSQL before PgBouncer"_s;
        return false;
    }
    stop();
    QString failure;
    for (int attempt = 0; attempt < 5; ++attempt) {
        m_port = freePort();
        if (!writeConfig(poolMode, poolSize))
            return false;
        if (launch())
            return true;
        if (!log().contains(u"Address already in use"_s))
            return false;
    }
    return false;
}

bool PgBouncer::restart(const QString &poolMode)
{
    stop();
    return writeConfig(poolMode.isEmpty() ? m_poolMode : poolMode, m_poolSize) && launch();
}

bool PgBouncer::launch()
{
    m_process = std::make_unique<QProcess>();
    m_process->setProcessChannelMode(QProcess::MergedChannels);
    m_process->setWorkingDirectory(m_dir);
    QStringList command{u"setpriv"_s, u"--pdeathsig=TERM"_s};
    if (::geteuid() == 0) {
        const QFileInfo owner(m_dir);
        command << u"--reuid=%1"_s.arg(owner.ownerId()) << u"--regid=%1"_s.arg(owner.groupId())
                << u"--clear-groups"_s;
    }
    command << u"--"_s << binary() << m_dir + u"/pgbouncer.ini"_s;
    m_process->start(command.first(), command.mid(1));
    const auto accepts = [this] {
        QTcpSocket socket;
        socket.connectToHost(u"127.0.0.1"_s, quint16(m_port));
        return socket.waitForConnected(1000);
    };
    if (m_process->waitForStarted() &&
        QTest::qWaitFor([&] { return !isRunning() || accepts(); }, 30000) && isRunning())
        return true;
    m_error = u"pgbouncer did not start on 127.0.0.1:%1: %2\n%3"_s.arg(m_port).arg(
        QString::fromLocal8Bit(m_process->readAll()), log().right(2000));
    stop();
    return false;
}

void PgBouncer::stop()
{
    if (!m_process)
        return;
    if (isRunning()) {
        ::kill(pid_t(m_process->processId()), SIGTERM);
        if (!m_process->waitForFinished(10000)) {
            m_process->kill();
            m_process->waitForFinished();
        }
    }
    m_process.reset();
}

} // namespace SwampTest
