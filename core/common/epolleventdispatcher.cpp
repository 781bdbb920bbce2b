#include "common/epolleventdispatcher.h"

#include <QCoreApplication>
#include <QSocketNotifier>
#include <QTimerEvent>
#include <QVarLengthArray>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>
#include <memory>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace Swamp {

namespace {

constexpr qint64 NanosecondsPerMillisecond = 1000 * 1000;
// How many ready fds one pass takes; the rest stay ready (level-triggered) for the next.
constexpr int MaxEventsPerPass = 1024;
constexpr qint64 PassBudgetNs = 10'000'000;

qint64 monotonicNanoseconds()
{
    timespec now = {};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return qint64(now.tv_sec) * 1000 * NanosecondsPerMillisecond + now.tv_nsec;
}

// Coarse timers fire on a boundary (a multiple of about 5% of their interval, very coarse ones
// on a whole second) so that the many timers of an orchestrator share wake-ups; a boundary is
// always after the exact time, never before. Precise and short timers fire at the exact time.
qint64 alignedDeadline(qint64 expected, qint64 interval, Qt::TimerType type)
{
    qint64 granularity = 0; // ms
    if (type == Qt::VeryCoarseTimer) {
        granularity = 1000;
    } else if (type == Qt::CoarseTimer) {
        for (const qint64 step : {500, 250, 100, 50, 25, 10, 5}) {
            if (step * 20 <= interval) {
                granularity = step;
                break;
            }
        }
    }
    if (granularity == 0)
        return expected;
    const qint64 step = granularity * NanosecondsPerMillisecond;
    return (expected + step - 1) / step * step;
}

bool isRetriedErrno()
{
    return errno == EINTR;
}

} // namespace

EpollEventDispatcher::EpollEventDispatcher(QObject *parent)
    : QAbstractEventDispatcher(parent)
    , m_events(MaxEventsPerPass)
{
    m_epoll = ::epoll_create1(EPOLL_CLOEXEC);
    m_wakeFd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m_epoll < 0 || m_wakeFd < 0)
        return;
    epoll_event event = {};
    event.events = EPOLLIN;
    event.data.fd = m_wakeFd;
    if (::epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_wakeFd, &event) != 0) {
        ::close(m_wakeFd);
        m_wakeFd = -1;
    }
}

bool EpollEventDispatcher::installBeforeApplication()
{
    auto dispatcher = std::make_unique<EpollEventDispatcher>();
    if (!dispatcher->isValid())
        return false;
    QCoreApplication::setEventDispatcher(dispatcher.release());
    return true;
}

EpollEventDispatcher::~EpollEventDispatcher()
{
    if (m_wakeFd >= 0)
        ::close(m_wakeFd);
    if (m_epoll >= 0)
        ::close(m_epoll);
}

bool EpollEventDispatcher::processEvents(QEventLoop::ProcessEventsFlags flags)
{
    m_interrupted.storeRelaxed(0);
    QCoreApplication::sendPostedEvents();

    const bool includeNotifiers = !(flags & QEventLoop::ExcludeSocketNotifiers);
    // Anything posted from now on (also by the handlers above) writes the eventfd, so a wait
    // with posted events outstanding returns at once: waiting is safe whenever it is allowed.
    const bool canWait =
            (flags & QEventLoop::WaitForMoreEvents) && !m_interrupted.loadRelaxed();
    if (canWait)
        Q_EMIT aboutToBlock();
    if (m_interrupted.loadRelaxed())
        return false;

    int activated = wait(waitTimeout(canWait, includeNotifiers), includeNotifiers);
    if (canWait)
        Q_EMIT awake();
    if (includeNotifiers)
        activated += activateSocketNotifiers();
    activated += activateTimers();
    return activated > 0;
}

// Milliseconds until the first timer whose handler is not running is due; 0 when the pass may
// not block, -1 for no timer.
int EpollEventDispatcher::waitTimeout(bool canWait, bool includeNotifiers) const
{
    if (!canWait || (includeNotifiers && (!m_alwaysReady.isEmpty() || !m_pending.empty())))
        return 0;
    for (const auto &[deadline, timerId] : m_deadlines) {
        if (m_timers.value(timerId).firing)
            continue;
        const qint64 left = deadline - monotonicNanoseconds();
        if (left <= 0)
            return 0;
        return int(qMin<qint64>((left + NanosecondsPerMillisecond - 1) / NanosecondsPerMillisecond,
                                INT_MAX));
    }
    return -1;
}

// Waits up to `timeout` ms and queues the ready notifiers; returns 1 if woken by wakeUp().
// Without notifiers only the eventfd is watched: their fds, level-triggered, would end every
// wait at once.
int EpollEventDispatcher::wait(int timeout, bool includeNotifiers)
{
    if (!includeNotifiers) {
        pollfd wake = {m_wakeFd, POLLIN, 0};
        if (::poll(&wake, 1, timeout) > 0)
            return drainWakeUps();
        return 0;
    }
    applyDeferredChanges();
    const int ready = ::epoll_wait(m_epoll, m_events.data(), int(m_events.size()), timeout);
    if (ready < 0 && !isRetriedErrno())
        qWarning("EpollEventDispatcher: epoll_wait failed: %s", std::strerror(errno));
    int woken = 0;
    for (int i = 0; i < ready; ++i) {
        if (m_events[i].data.fd == m_wakeFd)
            woken = drainWakeUps();
        else
            markPending(m_events[i].data.fd, m_events[i].events);
    }
    for (const int fd : std::as_const(m_alwaysReady))
        markPending(fd, EPOLLIN | EPOLLOUT);
    return woken;
}

int EpollEventDispatcher::drainWakeUps()
{
    eventfd_t count = 0;
    [[maybe_unused]] const int result = ::eventfd_read(m_wakeFd, &count);
    m_wakeUps.storeRelease(0);
    return 1;
}

void EpollEventDispatcher::markPending(int fd, quint32 events)
{
    const auto it = m_descriptors.constFind(fd);
    if (it == m_descriptors.cend())
        return;
    // As poll(): an error or hang-up wakes readers and writers, they learn it from read/write.
    const quint32 typeEvents[3] = {EPOLLIN | EPOLLHUP | EPOLLERR, EPOLLOUT | EPOLLHUP | EPOLLERR,
                                   EPOLLPRI};
    for (int type = 0; type < 3; ++type) {
        if (!it->notifiers[type] || !(events & typeEvents[type]))
            continue;
        const Pending pending = {fd, type, it->serials[type]};
        // Activations left by an outer pass (this one is nested in a handler, or it was cut
        // short) are not queued twice.
        if (m_pendingSerials.contains(pending.serial))
            continue;
        m_pending.push_back(pending);
        m_pendingSerials.insert(pending.serial);
    }
}

int EpollEventDispatcher::activateSocketNotifiers()
{
    int activated = 0;
    // At most about PassBudgetNs of handlers a pass: the rest stays queued for the next one, and
    // what was posted meanwhile runs between them. A storm of reconnects made a pass of 1,024
    // handshakes and enrollments take 200 ms, and every reply waiting for a commit left at its
    // end, all at once.
    const qint64 started = monotonicNanoseconds();
    // A handler may run a nested event loop, which takes from the same queue.
    while (!m_pending.empty()) {
        if (activated > 0 && activated % 8 == 0 && monotonicNanoseconds() - started > PassBudgetNs)
            break;
        const Pending pending = m_pending.front();
        m_pending.pop_front();
        m_pendingSerials.remove(pending.serial);
        const auto it = m_descriptors.constFind(pending.fd);
        if (it == m_descriptors.cend() || it->serials[pending.type] != pending.serial)
            continue;
        QEvent event(QEvent::SockAct);
        QCoreApplication::sendEvent(it->notifiers[pending.type], &event);
        ++activated;
    }
    return activated;
}

void EpollEventDispatcher::registerSocketNotifier(QSocketNotifier *notifier)
{
    const int fd = int(notifier->socket());
    const int type = int(notifier->type());
    Descriptor &descriptor = m_descriptors[fd];
    if (descriptor.notifiers[type] && descriptor.notifiers[type] != notifier)
        qWarning("EpollEventDispatcher: several socket notifiers for socket %d and type %d", fd,
                 type);
    descriptor.notifiers[type] = notifier;
    descriptor.serials[type] = ++m_serial;
    // At once, even when the mask looks unchanged: the fd may be a new file under an old number
    // whose notifiers were never unregistered (a PostgreSQL connection the driver lost closes its
    // socket under its notifier). The kernel dropped the old file's registration then, so only a
    // call that falls back from MOD to ADD watches the new one.
    updateRegistration(fd, descriptor, Apply::Register);
}

void EpollEventDispatcher::unregisterSocketNotifier(QSocketNotifier *notifier)
{
    const int fd = int(notifier->socket());
    const int type = int(notifier->type());
    const auto it = m_descriptors.find(fd);
    if (it == m_descriptors.end() || it->notifiers[type] != notifier)
        return;
    it->notifiers[type] = nullptr;
    it->serials[type] = 0;
    updateRegistration(fd, *it, Apply::Deferred);
    if (!it->notifiers[0] && !it->notifiers[1] && !it->notifiers[2])
        m_descriptors.erase(it);
}

// Applies the changes that updateRegistration() left for the next wait.
void EpollEventDispatcher::applyDeferredChanges()
{
    for (const int fd : m_deferred) {
        const auto it = m_descriptors.find(fd);
        if (it == m_descriptors.end() || !it->deferred)
            continue;
        it->deferred = false;
        updateRegistration(fd, *it, Apply::Now);
    }
    m_deferred.clear();
}

// Brings the epoll registration of `fd` to the union of its notifiers' types. A change from one
// non-empty mask to another waits for the next wait (QAbstractSocket enables its Write notifier
// for each write and disables it once flushed: in one pass, that is no system call); adding
// and removing the last notifier happen at once, while the fd is surely open. The fd number
// may have been closed and reused since it was registered: the kernel then dropped the old
// registration (ENOENT on MOD, EBADF/ENOENT on DEL), or still holds it (EEXIST on ADD).
void EpollEventDispatcher::updateRegistration(int fd, Descriptor &descriptor, Apply apply)
{
    quint32 wanted = 0;
    if (descriptor.notifiers[QSocketNotifier::Read])
        wanted |= EPOLLIN;
    if (descriptor.notifiers[QSocketNotifier::Write])
        wanted |= EPOLLOUT;
    if (descriptor.notifiers[QSocketNotifier::Exception])
        wanted |= EPOLLPRI;
    if (apply == Apply::Register && descriptor.alwaysReady) {
        // Perhaps a socket now under a number a regular file had: ask epoll again.
        descriptor.alwaysReady = false;
        m_alwaysReady.remove(fd);
        descriptor.events = 0;
    }
    if (descriptor.alwaysReady) {
        descriptor.events = wanted;
        if (!wanted) {
            descriptor.alwaysReady = false;
            m_alwaysReady.remove(fd);
        }
        return;
    }
    if (wanted == descriptor.events && apply != Apply::Register)
        return;
    if (apply == Apply::Deferred && descriptor.events && wanted) {
        if (!descriptor.deferred) {
            descriptor.deferred = true;
            m_deferred.push_back(fd);
        }
        return;
    }

    epoll_event event = {};
    event.events = wanted;
    event.data.fd = fd;
    int operation = !descriptor.events ? EPOLL_CTL_ADD : !wanted ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
    int result = ::epoll_ctl(m_epoll, operation, fd, &event);
    if (result != 0 && errno == EEXIST && operation == EPOLL_CTL_ADD)
        result = ::epoll_ctl(m_epoll, EPOLL_CTL_MOD, fd, &event);
    else if (result != 0 && errno == ENOENT && operation == EPOLL_CTL_MOD)
        result = ::epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &event);
    else if (result != 0 && (errno == ENOENT || errno == EBADF) && operation == EPOLL_CTL_DEL)
        result = 0;

    if (result == 0) {
        descriptor.events = wanted;
    } else if (errno == EPERM) {
        // A regular file or a character device like /dev/null: poll() calls it always ready.
        descriptor.alwaysReady = true;
        descriptor.events = wanted;
        m_alwaysReady.insert(fd);
    } else {
        qWarning("EpollEventDispatcher: cannot watch socket %d: %s", fd, std::strerror(errno));
        descriptor.events = 0;
    }
}

void EpollEventDispatcher::registerTimer(int timerId, qint64 interval, Qt::TimerType timerType,
                                         QObject *object)
{
    unregisterTimer(timerId); // not expected: Qt allocates ids; but never two entries for one
    Timer &timer = m_timers[timerId];
    timer.interval = qMax<qint64>(interval, 0);
    timer.type = timerType;
    timer.object = object;
    m_timersByObject.insert(object, timerId);
    schedule(timerId, timer, monotonicNanoseconds() + timer.interval * NanosecondsPerMillisecond);
}

// (Re)places `timer` in the deadline order, due at `expected`.
void EpollEventDispatcher::schedule(int timerId, Timer &timer, qint64 expected)
{
    m_deadlines.erase({timer.deadline, timerId});
    timer.expected = expected;
    timer.deadline = alignedDeadline(expected, timer.interval, timer.type);
    m_deadlines.insert({timer.deadline, timerId});
}

void EpollEventDispatcher::removeTimer(QHash<int, Timer>::iterator it)
{
    m_deadlines.erase({it->deadline, it.key()});
    m_timersByObject.remove(it->object, it.key());
    m_timers.erase(it);
}

bool EpollEventDispatcher::unregisterTimer(int timerId)
{
    const auto it = m_timers.find(timerId);
    if (it == m_timers.end())
        return false;
    removeTimer(it);
    return true;
}

bool EpollEventDispatcher::unregisterTimers(QObject *object)
{
    const QList<int> timerIds = m_timersByObject.values(object);
    for (const int timerId : timerIds)
        unregisterTimer(timerId);
    return !timerIds.isEmpty();
}

QList<QAbstractEventDispatcher::TimerInfo> EpollEventDispatcher::registeredTimers(
        QObject *object) const
{
    QList<TimerInfo> timers;
    for (auto it = m_timersByObject.constFind(object);
         it != m_timersByObject.cend() && it.key() == object; ++it) {
        const Timer timer = m_timers.value(it.value());
        timers.append(TimerInfo(it.value(), int(timer.interval), timer.type));
    }
    return timers;
}

int EpollEventDispatcher::remainingTime(int timerId)
{
    const auto it = m_timers.constFind(timerId);
    if (it == m_timers.cend())
        return -1;
    // From the exact time: a coarse timer may fire a little after it, as QTimer documents.
    const qint64 left = it->expected - monotonicNanoseconds();
    if (left <= 0)
        return 0;
    return int(qMin<qint64>((left + NanosecondsPerMillisecond - 1) / NanosecondsPerMillisecond,
                            INT_MAX));
}

// Fires every timer due when the pass began, once, in deadline order. Each is rescheduled
// before its handler runs, so a handler may kill or restart any timer, itself included.
int EpollEventDispatcher::activateTimers()
{
    if (m_deadlines.empty())
        return 0;
    const qint64 now = monotonicNanoseconds();
    QVarLengthArray<int, 32> due;
    for (auto it = m_deadlines.cbegin(); it != m_deadlines.cend() && it->first <= now; ++it)
        due.append(it->second);

    int fired = 0;
    for (const int timerId : std::as_const(due)) {
        auto it = m_timers.find(timerId);
        // Killed by an earlier handler, its id reused by a timer not yet due, or still firing.
        if (it == m_timers.end() || it->deadline > now || it->firing)
            continue;
        qint64 next = it->expected + it->interval * NanosecondsPerMillisecond;
        if (next < now)
            next = now + it->interval * NanosecondsPerMillisecond;
        schedule(timerId, *it, next);
        it->firing = true;
        QTimerEvent event(timerId);
        QCoreApplication::sendEvent(it->object, &event);
        ++fired;
        it = m_timers.find(timerId);
        if (it != m_timers.end())
            it->firing = false;
    }
    return fired;
}

void EpollEventDispatcher::wakeUp()
{
    if (m_wakeUps.testAndSetAcquire(0, 1))
        ::eventfd_write(m_wakeFd, 1);
}

void EpollEventDispatcher::interrupt()
{
    m_interrupted.storeRelaxed(1);
    wakeUp();
}

} // namespace Swamp
