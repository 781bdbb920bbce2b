#include "serveprocess.h"

#include "benchclock.h"

#include <QDir>
#include <QFile>
#include <QRegularExpression>
#include <QTcpSocket>
#include <QTextStream>
#include <QUrl>

#include <atomic>

#include <signal.h>
#include <unistd.h>

using namespace Swamp;

namespace SwampBench {

namespace {
// The pids of running orchestrators, for killRunningServeProcesses() in a signal handler.
constexpr int MaxTracked = 64;
std::atomic<pid_t> trackedPids[MaxTracked];

void track(pid_t pid)
{
    for (auto &slot : trackedPids) {
        pid_t empty = 0;
        if (slot.compare_exchange_strong(empty, pid))
            return;
    }
}

void untrack(pid_t pid)
{
    for (auto &slot : trackedPids) {
        pid_t expected = pid;
        if (slot.compare_exchange_strong(expected, 0))
            return;
    }
}
} // namespace

void killRunningServeProcesses()
{
    for (auto &slot : trackedPids) {
        const pid_t pid = slot.exchange(0);
        if (pid > 0)
            ::kill(pid, SIGKILL);
    }
}

ServeProcess::ServeProcess(QString binary, QString workDir, QStringList extraArguments)
    : m_binary(std::move(binary))
    , m_dataDir(workDir + QStringLiteral("/data"))
    , m_workDir(std::move(workDir))
    , m_extra(std::move(extraArguments))
{
}

ServeProcess::~ServeProcess()
{
    if (isRunning()) {
        m_process.kill();
        m_process.waitForFinished(10000);
    }
    untrack(m_pid);
}

Result<void> ServeProcess::start(int timeoutMs)
{
    ++m_starts;
    if (!QDir().mkpath(m_workDir))
        return fail(QStringLiteral("serve"), QStringLiteral("cannot create %1").arg(m_workDir));
    m_logPath = QStringLiteral("%1/serve-%2.log").arg(m_workDir).arg(m_starts);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    const QStringList keys = env.keys();
    for (const QString &key : keys) {
        if (key.startsWith(u"SWAMP_"))
            env.remove(key);
    }
    env.insert(QStringLiteral("QT_LOGGING_RULES"), QStringLiteral("swamp.*.info=false"));
    const QStringList extraKeys = m_extraEnvironment.keys();
    for (const QString &key : extraKeys)
        env.insert(key, m_extraEnvironment.value(key));
    m_process.setProcessEnvironment(env);
    m_process.setStandardOutputFile(m_logPath);
    m_process.setStandardErrorFile(m_logPath + QStringLiteral(".err"));
    QStringList arguments{QStringLiteral("serve"), QStringLiteral("--listen"),
                          QStringLiteral("127.0.0.1:%1").arg(m_port), QStringLiteral("--data-dir"),
                          m_dataDir};
    arguments += m_extra;
    const qint64 started = nowUs();
    m_process.start(m_binary, arguments);
    untrack(std::exchange(m_pid, 0)); // a previous run's pid (killed by storm --crash)
    if (!m_process.waitForStarted(10000)) {
        return fail(QStringLiteral("serve"), QStringLiteral("cannot start %1: %2").arg(m_binary, m_process.errorString()),
                    QStringLiteral("pass --swamp with the path of a built swamp binary"));
    }
    m_pid = int(pid());
    track(m_pid);
    static const QRegularExpression listening(QStringLiteral("^Listening on (\\S+)"),
                                              QRegularExpression::MultilineOption);
    QFile log(m_logPath);
    QString firstLine;
    const bool up = waitUntil([&] {
        if (!isRunning())
            return true;
        if (!log.isOpen() && !log.open(QIODevice::ReadOnly))
            return false;
        // The Listening line is the first line of swamp serve; a wrapper (--swamp pointing at a
        // profiler's launcher) may print before it.
        log.seek(0);
        while (!log.atEnd()) {
            const QString text = QString::fromUtf8(log.readLine());
            if (!text.endsWith(u'\n'))
                return false;
            firstLine = text;
            if (listening.match(text).hasMatch())
                return true;
        }
        return false;
    }, timeoutMs);
    const QRegularExpressionMatch match = listening.match(firstLine);
    if (!up || !match.hasMatch()) {
        QFile err(m_logPath + QStringLiteral(".err"));
        err.open(QIODevice::ReadOnly);
        return fail(QStringLiteral("serve"),
                    QStringLiteral("swamp serve did not print its Listening line: %1 %2")
                        .arg(firstLine.trimmed(), QString::fromUtf8(err.readAll()).trimmed()),
                    QStringLiteral("see %1").arg(m_logPath));
    }
    m_bootUs = nowUs() - started;
    QTextStream(stdout) << "orchestrator pid " << pid() << ", log " << m_logPath << Qt::endl;
    m_url = match.captured(1);
    m_port = quint16(QUrl(m_url).port());
    m_metricsUrl.clear();
    if (m_extra.contains(QStringLiteral("--metrics-listen"))) {
        // Printed right after the Listening line.
        static const QRegularExpression metrics(QStringLiteral("^Metrics on (\\S+)"));
        waitUntil([&] {
            for (const QString &line : logLines(QStringLiteral("Metrics on "))) {
                if (const auto found = metrics.match(line); found.hasMatch())
                    m_metricsUrl = found.captured(1);
            }
            return !m_metricsUrl.isEmpty();
        }, 5000);
    }
    return {};
}

int ServeProcess::stop(int timeoutMs)
{
    untrack(std::exchange(m_pid, 0));
    if (!isRunning())
        return m_process.exitCode();
    ::kill(pid_t(m_process.processId()), SIGTERM);
    if (!waitUntil([this] { return !isRunning(); }, timeoutMs)) {
        m_process.kill();
        m_process.waitForFinished(10000);
        return -1;
    }
    return m_process.exitStatus() == QProcess::NormalExit ? m_process.exitCode() : -1;
}

qint64 ServeProcess::statusKb(qint64 pid, QByteArrayView field)
{
    QFile status(QStringLiteral("/proc/%1/status").arg(pid));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    const QList<QByteArray> lines = status.readAll().split('\n');
    for (const QByteArray &line : lines) {
        if (line.startsWith(field) && line.size() > field.size() && line.at(field.size()) == ':')
            return line.mid(field.size() + 1).trimmed().split(' ').value(0).toLongLong();
    }
    return -1;
}

qint64 ServeProcess::rssKb() const
{
    return isRunning() ? statusKb(pid(), "VmRSS") : -1;
}

qint64 ServeProcess::peakRssKb() const
{
    return isRunning() ? statusKb(pid(), "VmHWM") : -1;
}

qint64 ServeProcess::openFiles() const
{
    if (!isRunning())
        return -1;
    return QDir(QStringLiteral("/proc/%1/fd").arg(pid())).entryList(QDir::NoDotAndDotDot | QDir::AllEntries | QDir::System).size();
}

double ServeProcess::cpuSeconds() const
{
    if (!isRunning())
        return -1;
    QFile stat(QStringLiteral("/proc/%1/stat").arg(pid()));
    if (!stat.open(QIODevice::ReadOnly))
        return -1;
    // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15.
    const QByteArray text = stat.readAll();
    const QList<QByteArray> fields = text.mid(text.lastIndexOf(')') + 2).split(' ');
    if (fields.size() < 13)
        return -1;
    const double ticks = double(sysconf(_SC_CLK_TCK));
    return double(fields.at(11).toLongLong() + fields.at(12).toLongLong()) / ticks;
}

QStringList ServeProcess::logLines(const QString &text) const
{
    QFile log(m_logPath);
    if (!log.open(QIODevice::ReadOnly))
        return {};
    QStringList lines;
    while (!log.atEnd()) {
        const QString line = QString::fromUtf8(log.readLine());
        if (line.contains(text))
            lines << line.trimmed();
    }
    return lines;
}

qint64 ServeProcess::metric(QByteArrayView name) const
{
    const QUrl url(m_metricsUrl);
    if (m_metricsUrl.isEmpty() || !isRunning())
        return -1;
    QTcpSocket socket;
    socket.connectToHost(url.host(), quint16(url.port()));
    if (!socket.waitForConnected(5000))
        return -1;
    socket.write("GET /metrics HTTP/1.0\r\nHost: " + url.host().toLatin1() + "\r\n\r\n");
    QByteArray response;
    while (socket.waitForReadyRead(5000))
        response += socket.readAll();
    response += socket.readAll();
    const QByteArray prefix = name.toByteArray() + ' ';
    for (const QByteArray &line : response.split('\n')) {
        if (line.startsWith(prefix))
            return line.mid(prefix.size()).trimmed().toLongLong();
    }
    return -1;
}

} // namespace SwampBench
