#include "scenarios.h"
#include "scenarios_p.h"

#include "benchclock.h"
#include "hostilefleet.h"
#include "hostileprobes.h"

#include <QRandomGenerator>
#include <QRegularExpression>
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

void waitMs(qint64 ms)
{
    const qint64 until = nowUs() + ms * 1000;
    waitUntil([&] { return nowUs() >= until; }, ms + 1000);
}

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

BoundsLog readBoundsLog(const Setup &setup)
{
    static const QRegularExpression warning(QStringLiteral(
        "connections without a secret at their bounds \\((\\d+) of \\d+ held, (\\d+) KiB buffered\\): (.*)"));
    static const QRegularExpression refused(QStringLiteral("refused (\\d+)"));
    static const QRegularExpression dropped(QStringLiteral("dropped (\\d+) to make room"));
    BoundsLog log;
    for (const QString &line : setup.stderrLines()) {
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

} // namespace

QStringList hostileVariants()
{
    return {QStringLiteral("none"), QStringLiteral("head"), QStringLiteral("frame"), QStringLiteral("oversized"),
            QStringLiteral("idle")};
}

ScenarioResult runHostile(const BenchOptions &options, const QString &variant, int hostile, int workers)
{
    const std::optional<HostileKind> kind = hostileKind(variant);
    const int attackers = kind ? hostile : 0;
    const qint64 windowMs = qint64(options.hostileSeconds) * 1000;
    const qint64 settleMs = std::min<qint64>(2000, windowMs / 4); // before the window and after the attack
    Setup setup(options);
    ScenarioResult result{QStringLiteral("hostile %1 %2 %3").arg(hostile).arg(workers).arg(variant) + setup.suffix(), {}, {}, {}};
    say(QStringLiteral("== hostile %1 %2 %3: %4 connections from %5 addresses, %6; %2 real workers enroll over %7 s")
            .arg(hostile).arg(workers).arg(variant).arg(attackers).arg(options.hostileAddresses)
            .arg(hostileDescription(options, variant)).arg(options.hostileSeconds));
    std::unique_ptr<SimFleet> fleet;
    if (!startFleet(setup, result, fleet))
        return result;
    // At rest: booted, the bench's admin connection and the token made, nothing else.
    waitMs(1000);
    const qint64 rssRest = setup.rssKb();

    // The orchestrator from a thread of its own, and the attackers' open connections here.
    OrchestratorSampler orchestratorSampler(setup.serve->pid(), setup.serve->port());
    QList<std::pair<qint64, qint64>> openSamples; // open, upgraded and open
    std::unique_ptr<HostileFleet> attack;
    QTimer sampler;
    QObject::connect(&sampler, &QTimer::timeout, &sampler, [&] {
        if (attack)
            openSamples.append({attack->openCount(), attack->upgradedOpenCount()});
    });
    sampler.start(100);

    const qint64 attackStartUs = nowUs();
    if (kind) {
        HostileOptions hostileOptions;
        hostileOptions.kind = *kind;
        hostileOptions.port = setup.serve->port();
        hostileOptions.connections = attackers;
        hostileOptions.addresses = options.hostileAddresses;
        hostileOptions.threads = options.hostileThreads;
        hostileOptions.connectsPerSecond = options.hostileRate;
        hostileOptions.headBytes = options.hostileHeadBytes;
        hostileOptions.frameBytes = *kind == HostileKind::OversizedFrame ? 1024 * 1024 : options.hostileFrameBytes;
        attack = std::make_unique<HostileFleet>(hostileOptions);
        attack->start();
        // Every attacker has dialed once, and a little more: the pool is at its bounds.
        waitUntil([&] { return attack->attempts() >= attackers; }, 60000);
        waitMs(settleMs);
    }
    const double rampSeconds = ms(nowUs() - attackStartUs) / 1000.0;
    openSamples.clear();

    // The window: `workers` new workers at an even pace, and a trickle of restarts of enrolled ones.
    const double orchestratorCpuBefore = setup.cpuSeconds();
    const double benchCpuBefore = processCpuSeconds();
    const auto schedBefore = schedStat(setup.serve->pid(), setup.serve->pid()); // its event loop
    const MachineCpu machineBefore = machineCpu();
    const qint64 windowStartUs = nowUs();
    const qsizetype attemptsBefore = fleet->connectAttemptTimesUs().size();
    const qint64 hostileAttemptsBefore = attack ? attack->attempts() : 0;
    QTimer pace;
    QObject::connect(&pace, &QTimer::timeout, &pace, [&] {
        const qint64 due = std::min<qint64>(workers, (nowUs() - windowStartUs) / 1000 * workers / std::max<qint64>(1, windowMs) + 1);
        if (due > fleet->size())
            fleet->grow(int(due - fleet->size()), std::numeric_limits<int>::max());
    });
    pace.start(10);
    QTimer trickle;
    QObject::connect(&trickle, &QTimer::timeout, &trickle, [&] {
        for (int tries = 0; tries < 20 && fleet->size() > 0; ++tries) {
            if (fleet->restart(int(QRandomGenerator::global()->bounded(fleet->size()))))
                return;
        }
    });
    trickle.start(options.hostileTrickleMs);
    waitUntil([&] { return nowUs() - windowStartUs >= windowMs && fleet->size() >= workers; }, windowMs + 60000);
    pace.stop();
    trickle.stop();
    const qint64 windowEndUs = nowUs();
    const double windowSeconds = double(windowEndUs - windowStartUs) / 1e6;
    const double orchestratorCores = (setup.cpuSeconds() - orchestratorCpuBefore) / windowSeconds;
    const double benchCores = (processCpuSeconds() - benchCpuBefore) / windowSeconds;
    const auto schedAfter = schedStat(setup.serve->pid(), setup.serve->pid());
    const double loopRunning = double(schedAfter.first - schedBefore.first) / 1e9 / windowSeconds;
    const double loopWaiting = double(schedAfter.second - schedBefore.second) / 1e9 / windowSeconds;
    const MachineCpu machineAfter = machineCpu();
    const double machineTicks = std::max<double>(1, double(machineAfter.total - machineBefore.total));
    const auto machineShare = [&](qint64 MachineCpu::*part) {
        return double(machineAfter.*part - machineBefore.*part) / machineTicks;
    };
    const qint64 hostileAttemptsInWindow = attack ? attack->attempts() - hostileAttemptsBefore : 0;

    // Still under attack: every real worker must get in.
    const bool allEnrolled = waitUntil([&] { return fleet->enrolledCount() >= workers; }, 60000);
    const qint64 enrolledUs = nowUs();
    check(result, QStringLiteral("every real worker enrolled during the attack"), allEnrolled,
          QStringLiteral("%1 of %2 enrolled %3 s after the window; failed attempts %4; errors %5")
              .arg(fleet->enrolledCount()).arg(workers).arg(fixed(ms(enrolledUs - windowEndUs) / 1000.0))
              .arg(fleet->failedAttempts()).arg(errorCodesText(*fleet)));
    const qint64 rssPeak = setup.serve->peakRssKb();
    sampler.stop();
    orchestratorSampler.stop();
    const QList<std::pair<qint64, qint64>> rssSamples = orchestratorSampler.rssSamples();
    const qint64 openFilesPeak = orchestratorSampler.openFilesPeak();
    const qint64 tcpMemoryPeakKb = orchestratorSampler.tcpMemoryPeakKb();
    const KernelQueues queuesPeak = orchestratorSampler.queuesPeak();
    const double attackSeconds = double(nowUs() - attackStartUs) / 1e6;
    double hostileCores = 0;
    HostileStats stats;
    if (attack) {
        attack->stop();
        stats = attack->stats();
        hostileCores = stats.cpuSeconds / attackSeconds;
    }
    auto listed = setup.call(QStringLiteral("worker.list"));
    const qint64 listedCount = listed ? listed->value(QStringLiteral("count")).toInteger() : -1;
    check(result, QStringLiteral("worker list counts every worker"), listedCount == workers,
          QStringLiteral("worker.list counted %1 of %2").arg(listedCount).arg(workers));
    QStringList reasons;
    for (auto it = fleet->closeReasons().cbegin(); it != fleet->closeReasons().cend(); ++it)
        reasons << QStringLiteral("%1×%2").arg(it.value()).arg(it.key());
    check(result, QStringLiteral("no enrolled worker dropped"), fleet->disconnects() == 0,
          QStringLiteral("%1 disconnects (%2)").arg(fleet->disconnects()).arg(reasons.join(QStringLiteral(", "))));
    if (kind == HostileKind::OversizedFrame) {
        check(result, QStringLiteral("the 1 MiB frame is refused by its header (1009)"), stats.closeTooBig > 0,
              QStringLiteral("no close 1009 among %1 upgraded connections").arg(stats.upgraded));
    } else if (kind == HostileKind::PartialFrame && options.hostileFrameBytes <= 64 * 1024) {
        check(result, QStringLiteral("a frame under the 64 KiB bound is not refused (no 1009)"), stats.closeTooBig == 0,
              QStringLiteral("%1 closes 1009").arg(stats.closeTooBig));
    }
    // After the attack: what the orchestrator gives back.
    waitMs(settleMs);
    const qint64 rssAfter = setup.rssKb();

    // Real workers: every attempt started in the window, and how long it took to `enrolled`.
    QList<qint64> latencies, handshakes, enrollFrames;
    for (const Enrollment &enrollment : fleet->enrollments()) {
        if (enrollment.startedUs < windowStartUs || enrollment.startedUs >= windowEndUs)
            continue;
        latencies << enrollment.enrolledUs - enrollment.startedUs;
        handshakes << enrollment.upgradedUs - enrollment.startedUs;
        enrollFrames << enrollment.enrolledUs - enrollment.upgradedUs;
    }
    qsizetype attemptsInWindow = 0;
    for (qint64 t : fleet->connectAttemptTimesUs().mid(attemptsBefore))
        attemptsInWindow += (t >= windowStartUs && t < windowEndUs) ? 1 : 0;
    const double successRate = attemptsInWindow > 0 ? double(latencies.size()) / double(attemptsInWindow) : 0;

    QList<qint64> rssSteady;
    qint64 rssSampledPeak = 0;
    for (const auto &[t, rss] : std::as_const(rssSamples)) {
        rssSampledPeak = std::max(rssSampledPeak, rss);
        if (t >= windowStartUs + (windowEndUs - windowStartUs) / 2 && t <= windowEndUs)
            rssSteady << rss;
    }
    const qint64 rssSteadyKb = percentileUs(rssSteady, 50);
    QList<qint64> open, upgradedOpen;
    for (const auto &[all, upgraded] : std::as_const(openSamples)) {
        open << all;
        upgradedOpen << upgraded;
    }
    const BoundsLog bounds = readBoundsLog(setup);
    const auto mib = [](qint64 kb) { return double(kb) / 1024.0; };

    result.figures = {
        {QStringLiteral("variant"), variant},
        {QStringLiteral("hostile"), attackers},
        {QStringLiteral("workers"), workers},
        {QStringLiteral("seconds"), windowSeconds},
        {QStringLiteral("rampSeconds"), rampSeconds},
        {QStringLiteral("addresses"), options.hostileAddresses},
        {QStringLiteral("connectsPerSecondLimit"), options.hostileRate},
        {QStringLiteral("trickleMs"), options.hostileTrickleMs},
        {QStringLiteral("headBytes"), options.hostileHeadBytes},
        {QStringLiteral("frameBytes"), options.hostileFrameBytes},
        {QStringLiteral("rssRestKb"), rssRest},
        {QStringLiteral("rssPeakKb"), rssPeak},
        {QStringLiteral("rssSampledPeakKb"), rssSampledPeak},
        {QStringLiteral("rssSteadyKb"), rssSteadyKb},
        {QStringLiteral("rssAfterKb"), rssAfter},
        {QStringLiteral("rssPeakAboveRestMiB"), mib(rssPeak - rssRest)},
        {QStringLiteral("rssSteadyAboveRestMiB"), mib(rssSteadyKb - rssRest)},
        {QStringLiteral("rssAfterAboveRestMiB"), mib(rssAfter - rssRest)},
        {QStringLiteral("openFilesPeak"), openFilesPeak},
        {QStringLiteral("acceptQueuePeak"), queuesPeak.acceptQueue},
        {QStringLiteral("unreadPeakMiB"), double(queuesPeak.unreadBytes) / (1024.0 * 1024.0)},
        {QStringLiteral("kernelTcpPeakMiB"), mib(tcpMemoryPeakKb)},
        {QStringLiteral("orchestratorCpuCores"), orchestratorCores},
        {QStringLiteral("benchCpuCores"), benchCores},
        // The orchestrator's event-loop thread: share of the window on a CPU, and runnable but
        // waiting for a CPU (taken by other processes of the machine).
        {QStringLiteral("eventLoopRunning"), loopRunning},
        {QStringLiteral("eventLoopWaitingForCpu"), loopWaiting},
        // The whole machine during the window (every process, the kernel's network work included).
        {QStringLiteral("machineCpu"), QJsonObject{{QStringLiteral("user"), machineShare(&MachineCpu::user)},
                                                   {QStringLiteral("system"), machineShare(&MachineCpu::system)},
                                                   {QStringLiteral("softirq"), machineShare(&MachineCpu::softirq)},
                                                   {QStringLiteral("idle"), machineShare(&MachineCpu::idle)}}},
        {QStringLiteral("loadAverage"), loadAverage()},
        {QStringLiteral("hostileCpuCores"), hostileCores},
        {QStringLiteral("enrollAttempts"), attemptsInWindow},
        {QStringLiteral("enrolled"), latencies.size()},
        {QStringLiteral("enrollSuccessRate"), successRate},
        {QStringLiteral("enroll"), QJsonObject{{QStringLiteral("p50Ms"), ms(percentileUs(latencies, 50))},
                                               {QStringLiteral("p99Ms"), ms(percentileUs(latencies, 99))},
                                               {QStringLiteral("maxMs"), ms(percentileUs(latencies, 100))},
                                               {QStringLiteral("samples"), latencies.size()}}},
        // The same split: TCP connect + WebSocket handshake, then enroll → enrolled.
        {QStringLiteral("handshake"), QJsonObject{{QStringLiteral("p50Ms"), ms(percentileUs(handshakes, 50))},
                                                  {QStringLiteral("p99Ms"), ms(percentileUs(handshakes, 99))}}},
        {QStringLiteral("enrollFrame"), QJsonObject{{QStringLiteral("p50Ms"), ms(percentileUs(enrollFrames, 50))},
                                                    {QStringLiteral("p99Ms"), ms(percentileUs(enrollFrames, 99))}}},
        {QStringLiteral("restarts"), fleet->restarts()},
        {QStringLiteral("failedAttempts"), fleet->failedAttempts()},
        {QStringLiteral("allEnrolledSecondsAfterWindow"), ms(enrolledUs - windowEndUs) / 1000.0},
        {QStringLiteral("attack"),
         QJsonObject{{QStringLiteral("connectsPerSecond"), double(hostileAttemptsInWindow) / windowSeconds},
                     {QStringLiteral("attempts"), stats.attempts},
                     {QStringLiteral("openMedian"), percentileUs(open, 50)},
                     {QStringLiteral("upgradedOpenMedian"), percentileUs(upgradedOpen, 50)},
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
                     {QStringLiteral("sentMiB"), double(stats.bytesSent) / (1024.0 * 1024.0)}}},
        {QStringLiteral("orchestratorLog"),
         QJsonObject{{QStringLiteral("warnings"), bounds.warnings},
                     {QStringLiteral("refused"), bounds.refused},
                     {QStringLiteral("dropped"), bounds.dropped},
                     {QStringLiteral("maxHeld"), bounds.maxHeld},
                     {QStringLiteral("maxBufferedKiB"), bounds.maxBufferedKiB}}},
        {QStringLiteral("orchestratorStderrLines"), bounds.otherLines.size()},
    };
    say(QStringLiteral("orchestrator RSS at rest %1 MiB; peak %2 MiB (+%3), steady %4 MiB (+%5), after the attack %6 MiB; "
                       "open files at most %7; CPU %8 cores (bench %9, its attackers %10)")
            .arg(fixed(mib(rssRest)), fixed(mib(rssPeak)), fixed(mib(rssPeak - rssRest)), fixed(mib(rssSteadyKb)),
                 fixed(mib(rssSteadyKb - rssRest)), fixed(mib(rssAfter)))
            .arg(openFilesPeak)
            .arg(fixed(orchestratorCores, 2), fixed(benchCores, 2), fixed(hostileCores, 2)));
    say(QStringLiteral("orchestrator event loop: on a CPU %1% of the window, runnable and waiting for a CPU %2%; machine: "
                       "user %3%, system %4%, softirq %5%, idle %6%; load average %7")
            .arg(fixed(loopRunning * 100), fixed(loopWaiting * 100), fixed(machineShare(&MachineCpu::user) * 100),
                 fixed(machineShare(&MachineCpu::system) * 100), fixed(machineShare(&MachineCpu::softirq) * 100),
                 fixed(machineShare(&MachineCpu::idle) * 100), loadAverage()));
    say(QStringLiteral("kernel (sampled every second): accept queue at most %1, at most %2 MiB received and not read by "
                       "the orchestrator; all TCP buffers of the machine at most %3 MiB")
            .arg(queuesPeak.acceptQueue)
            .arg(fixed(double(queuesPeak.unreadBytes) / (1024.0 * 1024.0)), fixed(mib(tcpMemoryPeakKb))));
    say(QStringLiteral("real workers: %1 of %2 attempts enrolled (%3%), enrollment p50 %4 ms, p99 %5 ms, max %6 ms; "
                       "%7 restarts, all %8 enrolled %9 s after the window")
            .arg(latencies.size()).arg(attemptsInWindow).arg(fixed(successRate * 100, 2))
            .arg(fixed(ms(percentileUs(latencies, 50)), 2), fixed(ms(percentileUs(latencies, 99)), 2),
                 fixed(ms(percentileUs(latencies, 100)), 1))
            .arg(fleet->restarts()).arg(workers).arg(fixed(ms(enrolledUs - windowEndUs) / 1000.0, 2)));
    say(QStringLiteral("  of which connect and WebSocket handshake p50 %1 ms, p99 %2 ms; enroll → enrolled p50 %3 ms, p99 %4 ms")
            .arg(fixed(ms(percentileUs(handshakes, 50)), 2), fixed(ms(percentileUs(handshakes, 99)), 2),
                 fixed(ms(percentileUs(enrollFrames, 50)), 2), fixed(ms(percentileUs(enrollFrames, 99)), 2)));
    if (attack) {
        say(QStringLiteral("attackers: %1 connects (%2/s in the window), open median %3 (upgraded %4); connect failures %5, "
                           "HTTP refusals %6; dropped before the upgrade %7, after it %8; close frames received 1009: %9, "
                           "4000: %10, other: %11; dropped without one %12; lifetime p50 %13 ms, p90 %14 ms; %15 MiB sent")
                .arg(stats.attempts).arg(fixed(double(hostileAttemptsInWindow) / windowSeconds, 0))
                .arg(percentileUs(open, 50)).arg(percentileUs(upgradedOpen, 50))
                .arg(stats.connectFailures).arg(stats.httpRefusals).arg(stats.droppedBeforeUpgrade)
                .arg(stats.droppedAfterUpgrade).arg(stats.closeTooBig).arg(stats.closeNoEnroll).arg(stats.closeOther)
                .arg(stats.droppedSilently).arg(stats.lifetimeP50Ms).arg(stats.lifetimeP90Ms)
                .arg(fixed(double(stats.bytesSent) / (1024.0 * 1024.0), 0)));
        say(QStringLiteral("orchestrator log: %1 warnings, %2 refused, %3 dropped, at most %4 held and %5 KiB buffered")
                .arg(bounds.warnings).arg(bounds.refused).arg(bounds.dropped).arg(bounds.maxHeld).arg(bounds.maxBufferedKiB));
    }
    QJsonObject failureReasons;
    for (auto it = fleet->failureReasons().cbegin(); it != fleet->failureReasons().cend(); ++it) {
        failureReasons.insert(it.key(), it.value());
        say(QStringLiteral("  real workers' failed attempts: %1× %2").arg(it.value()).arg(it.key()));
    }
    result.figures.insert(QStringLiteral("failureReasons"), failureReasons);
    for (const QString &line : bounds.otherLines.mid(0, 5))
        say(QStringLiteral("  stderr: ") + line);
    fleet->closeAll();
    setup.stopAll();
    return result;
}

} // namespace SwampBench
