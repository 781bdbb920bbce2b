#pragma once

#include <QAbstractEventDispatcher>
#include <QAtomicInt>
#include <QHash>
#include <QList>

#include <QMultiHash>
#include <QSet>

#include <array>
#include <deque>
#include <set>
#include <utility>
#include <vector>

struct epoll_event;

namespace Swamp {

// An event dispatcher for Linux whose each pass costs what is ready, not what is open: socket
// notifiers live in one epoll set, timers in a deadline-ordered set, wake-ups go through an
// eventfd. Qt's QEventDispatcherUNIX hands every notifier's fd to poll() on every pass, which
// with 19,000 connected workers is most of an idle orchestrator's CPU.
//
// It keeps the semantics of Qt's dispatcher for a thread without a GUI:
// - each pass sends the posted events, emits aboutToBlock() before it waits and awake() after;
//   ExcludeSocketNotifiers holds notifiers back, WaitForMoreEvents lets the pass block; a core
//   dispatcher has no user input events, so ExcludeUserInputEvents changes nothing.
// - notifiers are level-triggered; the Read, Write and Exception notifiers of one fd share one
//   epoll registration. EPOLLERR/EPOLLHUP wake Read and Write notifiers (as poll() does). A
//   notifier unregistered or deleted during a pass gets no event from that pass. An fd epoll
//   refuses (a regular file, /dev/null) is always ready, as poll() treats it.
// - timers have millisecond resolution and never fire early; a timer whose handler is still
//   running (a nested event loop) is not fired again until it returns; zero-interval timers fire
//   on every pass.
// - wakeUp() and interrupt() may be called from any thread.
//
// If the epoll set or the eventfd cannot be made (out of file descriptors), isValid() is false
// and the caller should keep Qt's own dispatcher.
class EpollEventDispatcher final : public QAbstractEventDispatcher
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(EpollEventDispatcher)

public:
    explicit EpollEventDispatcher(QObject *parent = nullptr);
    ~EpollEventDispatcher() override;

    bool isValid() const { return m_epoll >= 0 && m_wakeFd >= 0; }
    // Makes one the main thread's dispatcher, before the QCoreApplication exists; false, and Qt's
    // own stays, when it could not be made (isValid()).
    static bool installBeforeApplication();

    bool processEvents(QEventLoop::ProcessEventsFlags flags) override;

    void registerSocketNotifier(QSocketNotifier *notifier) override;
    void unregisterSocketNotifier(QSocketNotifier *notifier) override;

    void registerTimer(int timerId, qint64 interval, Qt::TimerType timerType,
                       QObject *object) override;
    bool unregisterTimer(int timerId) override;
    bool unregisterTimers(QObject *object) override;
    QList<TimerInfo> registeredTimers(QObject *object) const override;
    int remainingTime(int timerId) override;

    void wakeUp() override;
    void interrupt() override;

private:
    // The notifiers of one fd, indexed by QSocketNotifier::Type (Read, Write, Exception).
    struct Descriptor
    {
        std::array<QSocketNotifier *, 3> notifiers = {};
        // Which registration of each type a pending activation belongs to (0: none).
        std::array<quint64, 3> serials = {};
        quint32 events = 0; // the epoll mask registered for it
        bool alwaysReady = false; // epoll refused it (EPERM): ready on every pass
        bool deferred = false; // `events` is to change at the next wait
    };
    // Register: now, and even with an unchanged mask (see registerSocketNotifier()).
    enum class Apply { Deferred, Now, Register };
    // One notifier to activate: its fd, type and the serial of its registration when it was
    // found ready, so that a notifier unregistered (or replaced) since then is skipped.
    struct Pending
    {
        int fd;
        int type;
        quint64 serial;
    };
    struct Timer
    {
        qint64 interval = 0; // ms
        qint64 expected = 0; // ns on the monotonic clock: when it is due, exactly
        qint64 deadline = 0; // ns: when it fires (coarse timers: `expected` rounded up)
        Qt::TimerType type = Qt::CoarseTimer;
        QObject *object = nullptr;
        bool firing = false; // its handler is running
    };

    int waitTimeout(bool canWait, bool includeNotifiers) const;
    int wait(int timeout, bool includeNotifiers);
    int drainWakeUps();
    void markPending(int fd, quint32 events);
    int activateSocketNotifiers();
    int activateTimers();
    void updateRegistration(int fd, Descriptor &descriptor, Apply apply);
    void applyDeferredChanges();
    void schedule(int timerId, Timer &timer, qint64 expected);
    void removeTimer(QHash<int, Timer>::iterator it);

    int m_epoll = -1;
    int m_wakeFd = -1;
    QAtomicInt m_wakeUps;
    QAtomicInt m_interrupted;
    QHash<int, Descriptor> m_descriptors;
    QSet<int> m_alwaysReady;
    quint64 m_serial = 0;
    std::deque<Pending> m_pending;
    QSet<quint64> m_pendingSerials; // of m_pending: a pass cut short leaves many queued
    std::vector<int> m_deferred; // fds whose registration changes at the next wait
    std::vector<epoll_event> m_events;
    QHash<int, Timer> m_timers;
    QMultiHash<QObject *, int> m_timersByObject;
    std::set<std::pair<qint64, int>> m_deadlines; // (deadline, timer id)
};

} // namespace Swamp
