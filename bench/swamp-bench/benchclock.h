#pragma once

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QEventLoop>
#include <QList>
#include <QTimer>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>

// Time, waiting and statistics shared by the scenarios of swamp-bench.
namespace SwampBench {

// Monotonic microseconds; every latency the bench reports is a difference of two of these,
// taken by the bench itself (never a time reported by the orchestrator).
inline qint64 nowUs()
{
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Runs the event loop until `done()` holds or `timeoutMs` passed; true when it holds.
// The condition is checked after every batch of events and at least every 5 ms; the loop sleeps
// in between (a busy loop would take a core from the orchestrator on a 2-core machine).
inline bool waitUntil(const std::function<bool()> &done, qint64 timeoutMs)
{
    if (done())
        return true;
    QDeadlineTimer deadline(timeoutMs);
    QTimer wake;
    wake.start(5);
    while (!done()) {
        if (deadline.hasExpired())
            return false;
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    }
    return true;
}

// Nearest-rank percentile (p in 0..100) of microsecond samples; -1 when there are none.
inline qint64 percentileUs(QList<qint64> samples, double p)
{
    if (samples.isEmpty())
        return -1;
    std::sort(samples.begin(), samples.end());
    const qsizetype rank = std::clamp<qsizetype>(qsizetype(std::ceil(p / 100.0 * double(samples.size()))), 1,
                                                  samples.size());
    return samples.at(rank - 1);
}

inline double median(QList<double> values)
{
    if (values.isEmpty())
        return 0;
    std::sort(values.begin(), values.end());
    const qsizetype n = values.size();
    return n % 2 ? values.at(n / 2) : (values.at(n / 2 - 1) + values.at(n / 2)) / 2.0;
}

// Events per bucket of `bucketUs` between the first and the last timestamp.
struct RateProfile
{
    double meanPerBucket = 0;
    qint64 peakPerBucket = 0;
    qsizetype buckets = 0;
    QList<qint64> counts; // per bucket, from the first time on
};

inline RateProfile rateProfile(QList<qint64> timesUs, qint64 bucketUs)
{
    RateProfile profile;
    if (timesUs.isEmpty())
        return profile;
    std::sort(timesUs.begin(), timesUs.end());
    const qint64 first = timesUs.first();
    profile.buckets = qsizetype((timesUs.last() - first) / bucketUs) + 1;
    QList<qint64> counts(profile.buckets, 0);
    for (qint64 t : std::as_const(timesUs))
        ++counts[qsizetype((t - first) / bucketUs)];
    profile.peakPerBucket = *std::max_element(counts.cbegin(), counts.cend());
    profile.meanPerBucket = double(timesUs.size()) / double(profile.buckets);
    profile.counts = counts;
    return profile;
}

} // namespace SwampBench
