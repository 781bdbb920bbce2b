#include "hostileprobes.h"

#include "benchclock.h"
#include "serveprocess.h"

#include <QDir>
#include <QFile>
#include <QRegularExpression>

#include <algorithm>
#include <chrono>

#include <sys/resource.h>
#include <unistd.h>

namespace SwampBench {

QString loadAverage()
{
    QFile file(QStringLiteral("/proc/loadavg"));
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QString::fromLatin1(file.readAll()).section(u' ', 0, 2);
}

double processCpuSeconds()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

KernelQueues kernelQueues(quint16 port)
{
    KernelQueues queues;
    QFile file(QStringLiteral("/proc/net/tcp"));
    if (!file.open(QIODevice::ReadOnly))
        return queues;
    const QByteArray local = ':' + QByteArray::number(port, 16).toUpper().rightJustified(4, '0');
    const QList<QByteArray> lines = file.readAll().split('\n');
    for (const QByteArray &line : lines) {
        // "  sl  local_address rem_address   st tx_queue:rx_queue ..."
        const QList<QByteArray> fields = line.simplified().split(' ');
        if (fields.size() < 5 || !fields.at(1).endsWith(local))
            continue;
        const qint64 received = fields.at(4).mid(fields.at(4).indexOf(':') + 1).toLongLong(nullptr, 16);
        if (fields.at(3) == "0A")
            queues.acceptQueue = received;
        else
            queues.unreadBytes += received;
    }
    return queues;
}

std::pair<qint64, qint64> schedStat(qint64 pid, qint64 tid)
{
    QFile file(QStringLiteral("/proc/%1/task/%2/schedstat").arg(pid).arg(tid));
    if (!file.open(QIODevice::ReadOnly))
        return {0, 0};
    const QList<QByteArray> fields = file.readAll().simplified().split(' ');
    return {fields.value(0).toLongLong(), fields.value(1).toLongLong()};
}

MachineCpu machineCpu()
{
    MachineCpu cpu;
    QFile file(QStringLiteral("/proc/stat"));
    if (!file.open(QIODevice::ReadOnly))
        return cpu;
    // "cpu  user nice system idle iowait irq softirq steal ..."
    const QList<QByteArray> fields = file.readLine().simplified().split(' ');
    const auto field = [&](int i) { return fields.value(i).toLongLong(); };
    cpu.user = field(1) + field(2);
    cpu.system = field(3) + field(6);
    cpu.idle = field(4) + field(5);
    cpu.softirq = field(7);
    for (int i = 1; i < std::min<qsizetype>(fields.size(), 9); ++i)
        cpu.total += field(i);
    return cpu;
}

qint64 tcpMemoryKb()
{
    QFile file(QStringLiteral("/proc/net/sockstat"));
    if (!file.open(QIODevice::ReadOnly))
        return -1;
    static const QRegularExpression mem(QStringLiteral("^TCP:.* mem (\\d+)"), QRegularExpression::MultilineOption);
    const QRegularExpressionMatch match = mem.match(QString::fromLatin1(file.readAll()));
    return match.hasMatch() ? match.captured(1).toLongLong() * (sysconf(_SC_PAGESIZE) / 1024) : -1;
}

WindowCpu windowCpu(const CpuReading &before, const CpuReading &after, double seconds)
{
    WindowCpu cpu;
    cpu.orchestratorCores = (after.orchestratorSeconds - before.orchestratorSeconds) / seconds;
    cpu.benchCores = (after.benchSeconds - before.benchSeconds) / seconds;
    cpu.loopRunning = double(after.loopNs.first - before.loopNs.first) / 1e9 / seconds;
    cpu.loopWaiting = double(after.loopNs.second - before.loopNs.second) / 1e9 / seconds;
    const double ticks = std::max<double>(1, double(after.machine.total - before.machine.total));
    const auto share = [&](qint64 MachineCpu::*part) {
        return double(after.machine.*part - before.machine.*part) / ticks;
    };
    cpu.user = share(&MachineCpu::user);
    cpu.system = share(&MachineCpu::system);
    cpu.softirq = share(&MachineCpu::softirq);
    cpu.idle = share(&MachineCpu::idle);
    return cpu;
}

BoundsLog boundsLog(const QStringList &stderrLines)
{
    static const QRegularExpression warning(QStringLiteral(
        "connections without a secret at their bounds \\((\\d+) of \\d+ held, (\\d+) KiB buffered\\): (.*)"));
    static const QRegularExpression refused(QStringLiteral("refused (\\d+)"));
    static const QRegularExpression dropped(QStringLiteral("dropped (\\d+) to make room"));
    BoundsLog log;
    for (const QString &line : stderrLines) {
        const QRegularExpressionMatch match = warning.match(line);
        if (!match.hasMatch()) {
            log.otherLines << line;
            continue;
        }
        ++log.warnings;
        log.maxHeld = std::max(log.maxHeld, match.captured(1).toLongLong());
        log.maxBufferedKiB = std::max(log.maxBufferedKiB, match.captured(2).toLongLong());
        const QString what = match.captured(3);
        if (const QRegularExpressionMatch m = refused.match(what); m.hasMatch())
            log.refused += m.captured(1).toLongLong();
        if (const QRegularExpressionMatch m = dropped.match(what); m.hasMatch())
            log.dropped += m.captured(1).toLongLong();
    }
    return log;
}

void OrchestratorSampler::run(qint64 pid, quint16 port)
{
    for (quint64 tick = 0; !m_stop; ++tick) {
        m_rss.append({nowUs(), ServeProcess::statusKb(pid, "VmRSS")});
        m_tcpMemoryPeakKb = std::max(m_tcpMemoryPeakKb, tcpMemoryKb());
        if (tick % 10 == 0) {
            m_openFilesPeak = std::max(m_openFilesPeak, qint64(QDir(QStringLiteral("/proc/%1/fd").arg(pid))
                                                                   .entryList(QDir::NoDotAndDotDot | QDir::AllEntries
                                                                              | QDir::System)
                                                                   .size()));
            const KernelQueues queues = kernelQueues(port);
            m_queuesPeak.acceptQueue = std::max(m_queuesPeak.acceptQueue, queues.acceptQueue);
            m_queuesPeak.unreadBytes = std::max(m_queuesPeak.unreadBytes, queues.unreadBytes);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

} // namespace SwampBench
