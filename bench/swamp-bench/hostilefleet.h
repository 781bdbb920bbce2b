#pragma once

#include <QtGlobal>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace SwampBench {

// What a hostile connection does once its TCP connection is up (issue 18, item 3: memory before
// authentication). None of them ever sends an enroll frame.
enum class HostileKind {
    PartialHead,    // an upgrade request head that never ends (no blank line)
    PartialFrame,   // upgraded, then all but the last byte of one text frame
    OversizedFrame, // the same with a frame over the 64 KiB bound before enrollment
    Idle,           // upgraded, then silent
};

struct HostileOptions
{
    HostileKind kind = HostileKind::Idle;
    quint16 port = 0;             // of the orchestrator, on 127.0.0.1
    int connections = 5000;       // kept open: a dropped one dials again
    int firstAddress = 2;         // source addresses 127.0.0.<first>, then the next ones
    int addresses = 100;          // connection i binds to address i % addresses
    int threads = 2;              // epoll loops the connections are spread over
    int connectsPerSecond = 2000; // all threads together, reconnects included
    int reconnectDelayMs = 200;   // a dropped connection dials again after 0.5-1.5 times this
    int connectTimeoutMs = 10000; // a TCP connect that takes longer is given up and retried
    // SO_SNDBUF of each client socket (0: the kernel's default, autotuned up to 4 MiB). On loopback
    // the attackers' send buffers take from the same kernel TCP memory as the orchestrator's
    // receive buffers, which a real attacker's on other machines would not.
    int sendBufferBytes = 32 * 1024;
    qint64 headBytes =
        15 * 1024; // PartialHead: bytes of the head (the orchestrator's bound is 16 KiB)
    qint64 frameBytes = 60 * 1024; // PartialFrame, OversizedFrame: the payload length in the header
};

// How the orchestrator ended hostile connections, as the clients saw it.
struct HostileStats
{
    qint64 attempts = 0;             // TCP connects started
    qint64 connectFailures = 0;      // refused, timed out, or no local address/port
    qint64 connected = 0;            // TCP connects that succeeded
    qint64 upgraded = 0;             // 101 Switching Protocols received
    qint64 httpRefusals = 0;         // an HTTP answer other than 101 (400, 431, ...)
    qint64 droppedBeforeUpgrade = 0; // closed by the orchestrator before a 101 (or without one)
    qint64 droppedAfterUpgrade = 0;  // closed by the orchestrator after the 101
    // The first frame the orchestrator sent after the 101 (whether or not it dropped the connection
    // since: after a close frame it waits for the peer's, up to its close timeout):
    qint64 closeTooBig = 0;     // a close frame 1009 (message too big)
    qint64 closeNoEnroll = 0;   // a close frame 4000 (no enroll frame within 15 s)
    qint64 closeOther = 0;      // another close frame, or another frame
    qint64 droppedSilently = 0; // after the 101, dropped without any frame (evicted)
    qint64 open = 0;            // connected now, not yet seen closed
    qint64 bytesSent = 0;
    // Of the connections the orchestrator closed: how long they had been connected (ms).
    qint64 lifetimeP50Ms = -1;
    qint64 lifetimeP90Ms = -1;
    qint64 lifetimeMaxMs = -1;
    // CPU the client threads used (seconds, all threads): the bench's own cost of the attack.
    double cpuSeconds = 0;
};

// Thousands of hostile clients on raw non-blocking sockets, spread over a few threads with an
// epoll loop each (no Qt objects, no QWebSocket: what they cost the bench must stay small beside
// what they cost the orchestrator). Each client binds to one of many loopback source addresses
// (Linux routes all of 127.0.0.0/8 to lo) before it connects, does what its kind says, reads and
// discards whatever the orchestrator sends, and dials again (after a delay, at a bounded rate
// for all of them) when the orchestrator drops it, so the attack keeps its pressure.
class HostileFleet final
{
    Q_DISABLE_COPY_MOVE(HostileFleet)

public:
    explicit HostileFleet(HostileOptions options);
    ~HostileFleet(); // stop()

    void start();
    // Closes every hostile connection and joins the threads. The figures are kept.
    void stop();
    bool isRunning() const { return !m_threads.empty(); }

    qint64 openCount() const { return m_open.load(std::memory_order_relaxed); }
    qint64 upgradedOpenCount() const { return m_upgradedOpen.load(std::memory_order_relaxed); }
    qint64 attempts() const { return m_counters.attempts.load(std::memory_order_relaxed); }
    // A snapshot; the lifetimes and CPU seconds are filled in after stop().
    HostileStats stats() const;

    static const char *kindName(HostileKind kind);

private:
    struct Counters
    {
        std::atomic<qint64> attempts{0};
        std::atomic<qint64> connectFailures{0};
        std::atomic<qint64> connected{0};
        std::atomic<qint64> upgraded{0};
        std::atomic<qint64> httpRefusals{0};
        std::atomic<qint64> droppedBeforeUpgrade{0};
        std::atomic<qint64> droppedAfterUpgrade{0};
        std::atomic<qint64> closeTooBig{0};
        std::atomic<qint64> closeNoEnroll{0};
        std::atomic<qint64> closeOther{0};
        std::atomic<qint64> droppedSilently{0};
        std::atomic<qint64> bytesSent{0};
    };
    class Loop;
    friend class Loop;

    HostileOptions m_options;
    Counters m_counters;
    std::atomic<qint64> m_open{0};
    std::atomic<qint64> m_upgradedOpen{0};
    std::atomic<bool> m_stop{false};
    std::vector<std::unique_ptr<Loop>> m_loops;
    std::vector<std::thread> m_threads;
    std::vector<qint32> m_lifetimesMs; // gathered from the loops at stop()
    double m_cpuSeconds = 0;
};

} // namespace SwampBench
