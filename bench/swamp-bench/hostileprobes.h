#pragma once

// What the hostile scenario reads of the orchestrator, the kernel and the machine (from /proc,
// getrusage and the orchestrator's warnings), and the thread that samples the orchestrator while
// the attack runs.

#include <QList>
#include <QString>
#include <QStringList>

#include <atomic>
#include <thread>
#include <utility>

namespace SwampBench {

// The machine's load average over 1, 5 and 15 minutes ("0.52 0.58 0.59"); empty when unreadable.
QString loadAverage();
// The bench's own CPU time so far (user and system), in seconds.
double processCpuSeconds();

// What the kernel holds for the orchestrator's listener on `port` (from /proc/net/tcp): the
// connections waiting in its accept queue, and the bytes its connections received and it has not
// read yet (kernel memory, not in its RSS).
struct KernelQueues
{
    qint64 acceptQueue = 0;
    qint64 unreadBytes = 0;
};

KernelQueues kernelQueues(quint16 port);

// The scheduler's account of a thread (/proc/<pid>/task/<tid>/schedstat): nanoseconds on a CPU and
// nanoseconds runnable but waiting for one. On a shared machine the second says how much of a
// latency is the machine's, not the orchestrator's.
std::pair<qint64, qint64> schedStat(qint64 pid, qint64 tid);

// The machine's CPU time so far (/proc/stat, in clock ticks): user (with nice), system, softirq
// (the network's receive path), idle (with iowait), all. The hostile attacks move up to 1 GB/s
// over loopback, which the kernel pays for on the same 2 cores as everything else.
struct MachineCpu
{
    qint64 user = 0, system = 0, softirq = 0, idle = 0, total = 0;
};

MachineCpu machineCpu();

// The kernel's TCP buffers, all sockets of the machine (both ends of every loopback connection).
qint64 tcpMemoryKb();

// CPU time at one moment: the orchestrator's, the bench's, the orchestrator's event-loop thread
// (on a CPU, and runnable but waiting for one), and the machine's.
struct CpuReading
{
    double orchestratorSeconds = 0;
    double benchSeconds = 0;
    std::pair<qint64, qint64> loopNs;
    MachineCpu machine;
};

// The CPU of the window between two readings: cores, shares of the window (the event loop), and
// shares of the machine's time (every process, the kernel's network work included).
struct WindowCpu
{
    double orchestratorCores = 0;
    double benchCores = 0;
    double loopRunning = 0;
    double loopWaiting = 0;
    double user = 0, system = 0, softirq = 0, idle = 0;
};

WindowCpu windowCpu(const CpuReading &before, const CpuReading &after, double seconds);

// The orchestrator's warnings about connections without a secret (at most one every 10 s, each
// counting what happened since the one before; what happened after the last is not in them).
struct BoundsLog
{
    int warnings = 0;
    qint64 refused = 0;
    qint64 dropped = 0;
    qint64 maxHeld = 0;
    qint64 maxBufferedKiB = 0;
    QStringList otherLines; // anything else on stderr
};

BoundsLog boundsLog(const QStringList &stderrLines);

// The orchestrator's figures during a hostile run, sampled from a thread of their own: reading
// /proc/net/tcp with tens of thousands of sockets takes milliseconds, which must not stall the
// simulated workers' event loop (their latencies are the bench's own clock). RSS every 100 ms;
// open files, the kernel's queues and TCP memory every second.
class OrchestratorSampler final
{
    Q_DISABLE_COPY_MOVE(OrchestratorSampler)

public:
    OrchestratorSampler(qint64 pid, quint16 port)
        : m_thread([this, pid, port] { run(pid, port); })
    {
    }
    ~OrchestratorSampler() { stop(); }

    void stop()
    {
        m_stop = true;
        if (m_thread.joinable())
            m_thread.join();
    }
    // After stop():
    const QList<std::pair<qint64, qint64>> &rssSamples() const { return m_rss; } // (bench µs, kB)
    qint64 openFilesPeak() const { return m_openFilesPeak; }
    qint64 tcpMemoryPeakKb() const { return m_tcpMemoryPeakKb; }
    KernelQueues queuesPeak() const { return m_queuesPeak; }

private:
    void run(qint64 pid, quint16 port);

    std::atomic<bool> m_stop{false};
    QList<std::pair<qint64, qint64>> m_rss;
    qint64 m_openFilesPeak = 0;
    qint64 m_tcpMemoryPeakKb = 0;
    KernelQueues m_queuesPeak;
    std::thread m_thread; // last: starts once the members above are there
};

} // namespace SwampBench
