#include "scenarios.h"
#include "scenarios_p.h"

#include "benchclock.h"
#include "hostilefleet.h"
#include "hostileprobes.h"

#include <QJsonObject>
#include <QRandomGenerator>
#include <QTimer>

#include <limits>
#include <optional>

using namespace Swamp;

namespace SwampBench {

using namespace Internal;

namespace {

std::optional<HostileKind> hostileKind(const QString &variant)
{
    for (HostileKind kind : {HostileKind::PartialHead, HostileKind::PartialFrame, HostileKind::OversizedFrame,
                             HostileKind::Idle}) {
        if (variant == QLatin1String(HostileFleet::kindName(kind)))
            return kind;
    }
    return std::nullopt;
}

QString hostileDescription(const BenchOptions &options, const QString &variant)
{
    if (variant == u"head")
        return QStringLiteral("an upgrade request head that never ends (%1 bytes)").arg(options.hostileHeadBytes);
    if (variant == u"frame")
        return QStringLiteral("upgraded, then all but the last byte of a %1-byte text frame").arg(options.hostileFrameBytes);
    if (variant == u"oversized")
        return QStringLiteral("upgraded, then all but the last byte of a 1 MiB text frame");
    if (variant == u"idle")
        return QStringLiteral("upgraded, then silent (never enrolls)");
    return QStringLiteral("no attack");
}

double mib(qint64 kb)
{
    return double(kb) / 1024.0;
}

double mibOfBytes(qint64 bytes)
{
    return double(bytes) / (1024.0 * 1024.0);
}

// The attackers of `kind` against the orchestrator on `port`; none without a kind ("none").
std::optional<HostileOptions> attackOptions(const BenchOptions &options, std::optional<HostileKind> kind, quint16 port,
                                            int attackers)
{
    if (!kind)
        return std::nullopt;
    HostileOptions hostileOptions;
    hostileOptions.kind = *kind;
    hostileOptions.port = port;
    hostileOptions.connections = attackers;
    hostileOptions.addresses = options.hostileAddresses;
    hostileOptions.threads = options.hostileThreads;
    hostileOptions.connectsPerSecond = options.hostileRate;
    hostileOptions.headBytes = options.hostileHeadBytes;
    hostileOptions.frameBytes = *kind == HostileKind::OversizedFrame ? 1024 * 1024 : options.hostileFrameBytes;
    return hostileOptions;
}

// How the attack ended: the attackers' own figures, and the cores they took.
struct AttackEnd
{
    bool attacked = false; // false for "none"
    HostileStats stats;
    double cores = 0;
};

// The attackers of a run (none for "none"), and the connections they hold open, sampled every
// 100 ms on the bench's event loop from before they start.
class Attack final
{
    Q_DISABLE_COPY_MOVE(Attack)

public:
    Attack();

    // Starts the attackers, waits until every one dialed once and `settleMs` more (the pool is at
    // its bounds), and forgets the samples taken so far; the seconds that took.
    double rampUp(const std::optional<HostileOptions> &options, qint64 settleMs);
    qint64 attempts() const { return m_fleet ? m_fleet->attempts() : 0; }
    void stopSampling() { m_sampler.stop(); }
    const QList<std::pair<qint64, qint64>> &openSamples() const { return m_open; } // open, upgraded and open
    AttackEnd stop();

private:
    std::unique_ptr<HostileFleet> m_fleet;
    QList<std::pair<qint64, qint64>> m_open;
    QTimer m_sampler;
    qint64 m_startUs = 0;
};

Attack::Attack()
{
    QObject::connect(&m_sampler, &QTimer::timeout, &m_sampler, [this] {
        if (m_fleet)
            m_open.append({m_fleet->openCount(), m_fleet->upgradedOpenCount()});
    });
    m_sampler.start(100);
}

double Attack::rampUp(const std::optional<HostileOptions> &options, qint64 settleMs)
{
    m_startUs = nowUs();
    if (options) {
        m_fleet = std::make_unique<HostileFleet>(*options);
        m_fleet->start();
        waitUntil([&] { return m_fleet->attempts() >= options->connections; }, 60000);
        waitMs(settleMs);
    }
    const double seconds = ms(nowUs() - m_startUs) / 1000.0;
    m_open.clear();
    return seconds;
}

// The attackers' CPU is counted over their whole run, from the start of the ramp to this stop.
AttackEnd Attack::stop()
{
    const double seconds = double(nowUs() - m_startUs) / 1e6;
    AttackEnd end;
    if (m_fleet) {
        end.attacked = true;
        m_fleet->stop();
        end.stats = m_fleet->stats();
        end.cores = end.stats.cpuSeconds / seconds;
    }
    return end;
}

CpuReading readCpu(const Setup &setup)
{
    CpuReading reading;
    reading.orchestratorSeconds = setup.cpuSeconds();
    reading.benchSeconds = processCpuSeconds();
    reading.loopNs = schedStat(setup.serve->pid(), setup.serve->pid()); // its event loop
    reading.machine = machineCpu();
    return reading;
}

// `workers` new workers at an even pace over `windowMs` from `startUs`, and a trickle of restarts
// of enrolled ones; until the window is over and every worker was started.
void growAndRestart(const BenchOptions &options, int workers, qint64 windowMs, SimFleet &fleet, qint64 startUs)
{
    QTimer pace;
    QObject::connect(&pace, &QTimer::timeout, &pace, [&] {
        const qint64 due =
            std::min<qint64>(workers, (nowUs() - startUs) / 1000 * workers / std::max<qint64>(1, windowMs) + 1);
        if (due > fleet.size())
            fleet.grow(int(due - fleet.size()), std::numeric_limits<int>::max());
    });
    pace.start(10);
    QTimer trickle;
    QObject::connect(&trickle, &QTimer::timeout, &trickle, [&] {
        for (int tries = 0; tries < 20 && fleet.size() > 0; ++tries) {
            if (fleet.restart(int(QRandomGenerator::global()->bounded(fleet.size()))))
                return;
        }
    });
    trickle.start(options.hostileTrickleMs);
    waitUntil([&] { return nowUs() - startUs >= windowMs && fleet.size() >= workers; }, windowMs + 60000);
    pace.stop();
    trickle.stop();
}

// The window in which the real workers enroll under attack.
struct EnrollWindow
{
    qint64 startUs = 0;
    qint64 endUs = 0;
    double seconds = 0;
    qsizetype attemptsBefore = 0; // the fleet's connect attempts before the window
    qint64 hostileAttempts = 0;   // the attackers' connects in it
    WindowCpu cpu;
};

EnrollWindow enrollUnderAttack(const BenchOptions &options, int workers, qint64 windowMs, const Setup &setup,
                               SimFleet &fleet, const Attack &attack)
{
    const CpuReading cpuBefore = readCpu(setup);
    EnrollWindow window;
    window.startUs = nowUs();
    window.attemptsBefore = fleet.connectAttemptTimesUs().size();
    const qint64 hostileAttemptsBefore = attack.attempts(); // 0 without attackers
    growAndRestart(options, workers, windowMs, fleet, window.startUs);
    window.endUs = nowUs();
    window.seconds = double(window.endUs - window.startUs) / 1e6;
    window.cpu = windowCpu(cpuBefore, readCpu(setup), window.seconds);
    window.hostileAttempts = attack.attempts() - hostileAttemptsBefore;
    return window;
}

// Still under attack: every real worker must get in. When they all were.
qint64 waitAllEnrolled(ScenarioResult &result, const SimFleet &fleet, int workers, qint64 windowEndUs)
{
    const bool allEnrolled = waitUntil([&] { return fleet.enrolledCount() >= workers; }, 60000);
    const qint64 enrolledUs = nowUs();
    check(result, QStringLiteral("every real worker enrolled during the attack"), allEnrolled,
          QStringLiteral("%1 of %2 enrolled %3 s after the window; failed attempts %4; errors %5")
              .arg(fleet.enrolledCount()).arg(workers).arg(fixed(ms(enrolledUs - windowEndUs) / 1000.0))
              .arg(fleet.failedAttempts()).arg(errorCodesText(fleet)));
    return enrolledUs;
}

// The 1 MiB frame must be refused by its header (1009), a frame under the 64 KiB bound must not.
void checkRefusals(ScenarioResult &result, std::optional<HostileKind> kind, const BenchOptions &options,
                   const HostileStats &stats)
{
    if (kind == HostileKind::OversizedFrame) {
        check(result, QStringLiteral("the 1 MiB frame is refused by its header (1009)"), stats.closeTooBig > 0,
              QStringLiteral("no close 1009 among %1 upgraded connections").arg(stats.upgraded));
    } else if (kind == HostileKind::PartialFrame && options.hostileFrameBytes <= 64 * 1024) {
        check(result, QStringLiteral("a frame under the 64 KiB bound is not refused (no 1009)"), stats.closeTooBig == 0,
              QStringLiteral("%1 closes 1009").arg(stats.closeTooBig));
    }
}

// What a hostile run measured, phase by phase.
struct HostileRun
{
    QString variant;
    int attackers = 0;
    int workers = 0;
    qint64 rssRestKb = 0; // booted, the bench's admin connection and the token made, nothing else
    double rampSeconds = 0;
    EnrollWindow window;
    qint64 enrolledUs = 0; // every real worker enrolled
    qint64 rssPeakKb = 0;  // VmHWM
    QList<std::pair<qint64, qint64>> rssSamples; // (bench µs, kB), from the orchestrator's sampler
    qint64 openFilesPeak = 0;
    qint64 tcpMemoryPeakKb = 0;
    KernelQueues queuesPeak;
    AttackEnd attack;
    QList<std::pair<qint64, qint64>> openSamples; // the attackers' (open, upgraded and open)
    qint64 rssAfterKb = 0; // after the attack, and the settling time
};

// What the report derives from a run: the real workers' attempts started in the window and how
// long each took to `enrolled` (in all, the TCP connect and WebSocket handshake, then the enroll
// frame), the RSS of the window's second half (steady), the attackers open, the orchestrator's log.
struct HostileReport
{
    QList<qint64> latencies, handshakes, enrollFrames;
    qsizetype attempts = 0;
    double successRate = 0;
    qint64 rssSampledPeakKb = 0;
    qint64 rssSteadyKb = 0;
    qint64 openMedian = 0;
    qint64 upgradedOpenMedian = 0;
    BoundsLog bounds;
};

void addEnrollments(HostileReport &report, const SimFleet &fleet, const EnrollWindow &window)
{
    for (const Enrollment &enrollment : fleet.enrollments()) {
        if (enrollment.startedUs < window.startUs || enrollment.startedUs >= window.endUs)
            continue;
        report.latencies << enrollment.enrolledUs - enrollment.startedUs;
        report.handshakes << enrollment.upgradedUs - enrollment.startedUs;
        report.enrollFrames << enrollment.enrolledUs - enrollment.upgradedUs;
    }
    for (qint64 t : fleet.connectAttemptTimesUs().mid(window.attemptsBefore))
        report.attempts += (t >= window.startUs && t < window.endUs) ? 1 : 0;
    report.successRate = report.attempts > 0 ? double(report.latencies.size()) / double(report.attempts) : 0;
}

HostileReport hostileReport(const HostileRun &run, const SimFleet &fleet, const Setup &setup)
{
    HostileReport report;
    addEnrollments(report, fleet, run.window);
    QList<qint64> rssSteady;
    for (const auto &[t, rss] : std::as_const(run.rssSamples)) {
        report.rssSampledPeakKb = std::max(report.rssSampledPeakKb, rss);
        if (t >= run.window.startUs + (run.window.endUs - run.window.startUs) / 2 && t <= run.window.endUs)
            rssSteady << rss;
    }
    report.rssSteadyKb = percentileUs(rssSteady, 50);
    QList<qint64> open, upgradedOpen;
    for (const auto &[all, upgraded] : std::as_const(run.openSamples)) {
        open << all;
        upgradedOpen << upgraded;
    }
    report.openMedian = percentileUs(open, 50);
    report.upgradedOpenMedian = percentileUs(upgradedOpen, 50);
    report.bounds = boundsLog(setup.stderrLines());
    return report;
}

void insertAll(QJsonObject &figures, const QJsonObject &more)
{
    for (auto it = more.constBegin(); it != more.constEnd(); ++it)
        figures.insert(it.key(), it.value());
}

// The orchestrator's memory, open files and kernel queues.
QJsonObject memoryFigures(const HostileRun &run, const HostileReport &report)
{
    return {{QStringLiteral("rssRestKb"), run.rssRestKb},
            {QStringLiteral("rssPeakKb"), run.rssPeakKb},
            {QStringLiteral("rssSampledPeakKb"), report.rssSampledPeakKb},
            {QStringLiteral("rssSteadyKb"), report.rssSteadyKb},
            {QStringLiteral("rssAfterKb"), run.rssAfterKb},
            {QStringLiteral("rssPeakAboveRestMiB"), mib(run.rssPeakKb - run.rssRestKb)},
            {QStringLiteral("rssSteadyAboveRestMiB"), mib(report.rssSteadyKb - run.rssRestKb)},
            {QStringLiteral("rssAfterAboveRestMiB"), mib(run.rssAfterKb - run.rssRestKb)},
            {QStringLiteral("openFilesPeak"), run.openFilesPeak},
            {QStringLiteral("acceptQueuePeak"), run.queuesPeak.acceptQueue},
            {QStringLiteral("unreadPeakMiB"), mibOfBytes(run.queuesPeak.unreadBytes)},
            {QStringLiteral("kernelTcpPeakMiB"), mib(run.tcpMemoryPeakKb)}};
}

QJsonObject cpuFigures(const HostileRun &run)
{
    const WindowCpu &cpu = run.window.cpu;
    return {{QStringLiteral("orchestratorCpuCores"), cpu.orchestratorCores},
            {QStringLiteral("benchCpuCores"), cpu.benchCores},
            // The orchestrator's event-loop thread: share of the window on a CPU, and runnable but
            // waiting for a CPU (taken by other processes of the machine).
            {QStringLiteral("eventLoopRunning"), cpu.loopRunning},
            {QStringLiteral("eventLoopWaitingForCpu"), cpu.loopWaiting},
            // The whole machine during the window (every process, the kernel's network work included).
            {QStringLiteral("machineCpu"), QJsonObject{{QStringLiteral("user"), cpu.user},
                                                       {QStringLiteral("system"), cpu.system},
                                                       {QStringLiteral("softirq"), cpu.softirq},
                                                       {QStringLiteral("idle"), cpu.idle}}},
            {QStringLiteral("loadAverage"), loadAverage()},
            {QStringLiteral("hostileCpuCores"), run.attack.cores}};
}

// The real workers' enrollments in the window.
QJsonObject enrollFigures(const HostileRun &run, const HostileReport &report, const SimFleet &fleet)
{
    return {{QStringLiteral("enrollAttempts"), report.attempts},
            {QStringLiteral("enrolled"), report.latencies.size()},
            {QStringLiteral("enrollSuccessRate"), report.successRate},
            {QStringLiteral("enroll"), QJsonObject{{QStringLiteral("p50Ms"), ms(percentileUs(report.latencies, 50))},
                                                   {QStringLiteral("p99Ms"), ms(percentileUs(report.latencies, 99))},
                                                   {QStringLiteral("maxMs"), ms(percentileUs(report.latencies, 100))},
                                                   {QStringLiteral("samples"), report.latencies.size()}}},
            // The same split: TCP connect + WebSocket handshake, then enroll → enrolled.
            {QStringLiteral("handshake"),
             QJsonObject{{QStringLiteral("p50Ms"), ms(percentileUs(report.handshakes, 50))},
                         {QStringLiteral("p99Ms"), ms(percentileUs(report.handshakes, 99))}}},
            {QStringLiteral("enrollFrame"),
             QJsonObject{{QStringLiteral("p50Ms"), ms(percentileUs(report.enrollFrames, 50))},
                         {QStringLiteral("p99Ms"), ms(percentileUs(report.enrollFrames, 99))}}},
            {QStringLiteral("restarts"), fleet.restarts()},
            {QStringLiteral("failedAttempts"), fleet.failedAttempts()},
            {QStringLiteral("allEnrolledSecondsAfterWindow"), ms(run.enrolledUs - run.window.endUs) / 1000.0}};
}

// The attackers as they saw it, and the orchestrator's warnings about them.
QJsonObject attackFigures(const HostileRun &run, const HostileReport &report)
{
    const HostileStats &stats = run.attack.stats;
    const BoundsLog &bounds = report.bounds;
    return {{QStringLiteral("attack"),
             QJsonObject{{QStringLiteral("connectsPerSecond"), double(run.window.hostileAttempts) / run.window.seconds},
                         {QStringLiteral("attempts"), stats.attempts},
                         {QStringLiteral("openMedian"), report.openMedian},
                         {QStringLiteral("upgradedOpenMedian"), report.upgradedOpenMedian},
                         {QStringLiteral("connectFailures"), stats.connectFailures},
                         {QStringLiteral("upgraded"), stats.upgraded},
                         {QStringLiteral("httpRefusals"), stats.httpRefusals},
                         {QStringLiteral("droppedBeforeUpgrade"), stats.droppedBeforeUpgrade},
                         {QStringLiteral("droppedAfterUpgrade"), stats.droppedAfterUpgrade},
                         {QStringLiteral("closeTooBig"), stats.closeTooBig},
                         {QStringLiteral("closeNoEnroll"), stats.closeNoEnroll},
                         {QStringLiteral("closeOther"), stats.closeOther},
                         {QStringLiteral("droppedSilently"), stats.droppedSilently},
                         {QStringLiteral("lifetimeP50Ms"), stats.lifetimeP50Ms},
                         {QStringLiteral("lifetimeP90Ms"), stats.lifetimeP90Ms},
                         {QStringLiteral("sentMiB"), mibOfBytes(stats.bytesSent)}}},
            {QStringLiteral("orchestratorLog"),
             QJsonObject{{QStringLiteral("warnings"), bounds.warnings},
                         {QStringLiteral("refused"), bounds.refused},
                         {QStringLiteral("dropped"), bounds.dropped},
                         {QStringLiteral("maxHeld"), bounds.maxHeld},
                         {QStringLiteral("maxBufferedKiB"), bounds.maxBufferedKiB}}},
            {QStringLiteral("orchestratorStderrLines"), bounds.otherLines.size()}};
}

QJsonObject hostileFigures(const BenchOptions &options, const HostileRun &run, const HostileReport &report,
                           const SimFleet &fleet)
{
    QJsonObject figures{{QStringLiteral("variant"), run.variant},
                        {QStringLiteral("hostile"), run.attackers},
                        {QStringLiteral("workers"), run.workers},
                        {QStringLiteral("seconds"), run.window.seconds},
                        {QStringLiteral("rampSeconds"), run.rampSeconds},
                        {QStringLiteral("addresses"), options.hostileAddresses},
                        {QStringLiteral("connectsPerSecondLimit"), options.hostileRate},
                        {QStringLiteral("trickleMs"), options.hostileTrickleMs},
                        {QStringLiteral("headBytes"), options.hostileHeadBytes},
                        {QStringLiteral("frameBytes"), options.hostileFrameBytes}};
    insertAll(figures, memoryFigures(run, report));
    insertAll(figures, cpuFigures(run));
    insertAll(figures, enrollFigures(run, report, fleet));
    insertAll(figures, attackFigures(run, report));
    return figures;
}

// The orchestrator: memory and CPU, its event loop and the machine, the kernel's queues.
void sayOrchestrator(const HostileRun &run, const HostileReport &report)
{
    const WindowCpu &cpu = run.window.cpu;
    say(QStringLiteral("orchestrator RSS at rest %1 MiB; peak %2 MiB (+%3), steady %4 MiB (+%5), after the attack %6 MiB; "
                       "open files at most %7; CPU %8 cores (bench %9, its attackers %10)")
            .arg(fixed(mib(run.rssRestKb)), fixed(mib(run.rssPeakKb)), fixed(mib(run.rssPeakKb - run.rssRestKb)),
                 fixed(mib(report.rssSteadyKb)), fixed(mib(report.rssSteadyKb - run.rssRestKb)),
                 fixed(mib(run.rssAfterKb)))
            .arg(run.openFilesPeak)
            .arg(fixed(cpu.orchestratorCores, 2), fixed(cpu.benchCores, 2), fixed(run.attack.cores, 2)));
    say(QStringLiteral("orchestrator event loop: on a CPU %1% of the window, runnable and waiting for a CPU %2%; machine: "
                       "user %3%, system %4%, softirq %5%, idle %6%; load average %7")
            .arg(fixed(cpu.loopRunning * 100), fixed(cpu.loopWaiting * 100), fixed(cpu.user * 100),
                 fixed(cpu.system * 100), fixed(cpu.softirq * 100), fixed(cpu.idle * 100), loadAverage()));
    say(QStringLiteral("kernel (sampled every second): accept queue at most %1, at most %2 MiB received and not read by "
                       "the orchestrator; all TCP buffers of the machine at most %3 MiB")
            .arg(run.queuesPeak.acceptQueue)
            .arg(fixed(mibOfBytes(run.queuesPeak.unreadBytes)), fixed(mib(run.tcpMemoryPeakKb))));
}

void sayRealWorkers(const HostileRun &run, const HostileReport &report, const SimFleet &fleet)
{
    say(QStringLiteral("real workers: %1 of %2 attempts enrolled (%3%), enrollment p50 %4 ms, p99 %5 ms, max %6 ms; "
                       "%7 restarts, all %8 enrolled %9 s after the window")
            .arg(report.latencies.size()).arg(report.attempts).arg(fixed(report.successRate * 100, 2))
            .arg(fixed(ms(percentileUs(report.latencies, 50)), 2), fixed(ms(percentileUs(report.latencies, 99)), 2),
                 fixed(ms(percentileUs(report.latencies, 100)), 1))
            .arg(fleet.restarts()).arg(run.workers).arg(fixed(ms(run.enrolledUs - run.window.endUs) / 1000.0, 2)));
    say(QStringLiteral("  of which connect and WebSocket handshake p50 %1 ms, p99 %2 ms; enroll → enrolled p50 %3 ms, p99 %4 ms")
            .arg(fixed(ms(percentileUs(report.handshakes, 50)), 2), fixed(ms(percentileUs(report.handshakes, 99)), 2),
                 fixed(ms(percentileUs(report.enrollFrames, 50)), 2),
                 fixed(ms(percentileUs(report.enrollFrames, 99)), 2)));
}

void sayAttackers(const HostileRun &run, const HostileReport &report)
{
    const HostileStats &stats = run.attack.stats;
    const BoundsLog &bounds = report.bounds;
    say(QStringLiteral("attackers: %1 connects (%2/s in the window), open median %3 (upgraded %4); connect failures %5, "
                       "HTTP refusals %6; dropped before the upgrade %7, after it %8; close frames received 1009: %9, "
                       "4000: %10, other: %11; dropped without one %12; lifetime p50 %13 ms, p90 %14 ms; %15 MiB sent")
            .arg(stats.attempts).arg(fixed(double(run.window.hostileAttempts) / run.window.seconds, 0))
            .arg(report.openMedian).arg(report.upgradedOpenMedian)
            .arg(stats.connectFailures).arg(stats.httpRefusals).arg(stats.droppedBeforeUpgrade)
            .arg(stats.droppedAfterUpgrade).arg(stats.closeTooBig).arg(stats.closeNoEnroll).arg(stats.closeOther)
            .arg(stats.droppedSilently).arg(stats.lifetimeP50Ms).arg(stats.lifetimeP90Ms)
            .arg(fixed(mibOfBytes(stats.bytesSent), 0)));
    say(QStringLiteral("orchestrator log: %1 warnings, %2 refused, %3 dropped, at most %4 held and %5 KiB buffered")
            .arg(bounds.warnings).arg(bounds.refused).arg(bounds.dropped).arg(bounds.maxHeld)
            .arg(bounds.maxBufferedKiB));
}

// Why the real workers' attempts failed, as a figure and a line each.
void addFailureReasons(ScenarioResult &result, const SimFleet &fleet)
{
    QJsonObject failureReasons;
    for (auto it = fleet.failureReasons().cbegin(); it != fleet.failureReasons().cend(); ++it) {
        failureReasons.insert(it.key(), it.value());
        say(QStringLiteral("  real workers' failed attempts: %1× %2").arg(it.value()).arg(it.key()));
    }
    result.figures.insert(QStringLiteral("failureReasons"), failureReasons);
}

void reportHostile(ScenarioResult &result, const BenchOptions &options, const HostileRun &run, const SimFleet &fleet,
                   const Setup &setup)
{
    const HostileReport report = hostileReport(run, fleet, setup);
    result.figures = hostileFigures(options, run, report, fleet);
    sayOrchestrator(run, report);
    sayRealWorkers(run, report, fleet);
    if (run.attack.attacked)
        sayAttackers(run, report);
    addFailureReasons(result, fleet);
    for (const QString &line : report.bounds.otherLines.mid(0, 5))
        say(QStringLiteral("  stderr: ") + line);
}

// The real workers after the attack: worker.list counts them all, and none was dropped once enrolled.
void checkRealWorkers(Setup &setup, ScenarioResult &result, const SimFleet &fleet, int workers)
{
    checkWorkerList(setup, result, workers);
    checkNoneDropped(result, fleet, QStringLiteral("no enrolled worker dropped"));
}

// What the orchestrator's sampler and the attack's took while it ran.
void addSamples(HostileRun &run, const OrchestratorSampler &sampler, const Attack &attack)
{
    run.rssSamples = sampler.rssSamples();
    run.openFilesPeak = sampler.openFilesPeak();
    run.tcpMemoryPeakKb = sampler.tcpMemoryPeakKb();
    run.queuesPeak = sampler.queuesPeak();
    run.openSamples = attack.openSamples();
}

} // namespace

QStringList hostileVariants()
{
    return {QStringLiteral("none"), QStringLiteral("head"), QStringLiteral("frame"), QStringLiteral("oversized"),
            QStringLiteral("idle")};
}

ScenarioResult runHostile(const BenchOptions &options, const QString &variant, int hostile, int workers)
{
    const std::optional<HostileKind> kind = hostileKind(variant);
    const qint64 windowMs = qint64(options.hostileSeconds) * 1000;
    const qint64 settleMs = std::min<qint64>(2000, windowMs / 4); // before the window and after the attack
    Setup setup(options);
    HostileRun run;
    run.variant = variant;
    run.attackers = kind ? hostile : 0;
    run.workers = workers;
    ScenarioResult result{QStringLiteral("hostile %1 %2 %3").arg(hostile).arg(workers).arg(variant) + setup.suffix(),
                          {}, {}, {}};
    say(QStringLiteral("== hostile %1 %2 %3: %4 connections from %5 addresses, %6; %2 real workers enroll over %7 s")
            .arg(hostile).arg(workers).arg(variant).arg(run.attackers).arg(options.hostileAddresses)
            .arg(hostileDescription(options, variant)).arg(options.hostileSeconds));
    std::unique_ptr<SimFleet> fleet;
    if (!startFleet(setup, result, fleet))
        return result;
    // At rest: booted, the bench's admin connection and the token made, nothing else.
    waitMs(1000);
    run.rssRestKb = setup.rssKb();

    // The orchestrator sampled from a thread of its own, the attackers' open connections here.
    OrchestratorSampler orchestratorSampler(setup.serve->pid(), setup.serve->port());
    Attack attack;
    // The attack, and the window in which the real workers enroll under it.
    run.rampSeconds = attack.rampUp(attackOptions(options, kind, setup.serve->port(), run.attackers), settleMs);
    run.window = enrollUnderAttack(options, workers, windowMs, setup, *fleet, attack);
    run.enrolledUs = waitAllEnrolled(result, *fleet, workers, run.window.endUs);
    // The attack ends: the orchestrator's peak, what was sampled, the attackers' own figures.
    run.rssPeakKb = setup.serve->peakRssKb();
    attack.stopSampling();
    orchestratorSampler.stop();
    addSamples(run, orchestratorSampler, attack);
    run.attack = attack.stop();

    checkRealWorkers(setup, result, *fleet, workers);
    checkRefusals(result, kind, options, run.attack.stats);
    // After the attack: what the orchestrator gives back.
    waitMs(settleMs);
    run.rssAfterKb = setup.rssKb();
    reportHostile(result, options, run, *fleet, setup);
    fleet->closeAll();
    setup.stopAll();
    return result;
}

} // namespace SwampBench
