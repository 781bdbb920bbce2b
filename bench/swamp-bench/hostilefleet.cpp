#include "hostilefleet.h"

#include "benchclock.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <deque>
#include <queue>
#include <random>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

namespace SwampBench {

namespace {

constexpr int ReadBytes = 64 * 1024;
constexpr int MaxEvents = 512;
constexpr qsizetype MaxResponseHead = 4096;
constexpr qint64 ScanIntervalUs = 250'000;

// A valid upgrade request to /v1/worker. Without the blank line that ends it when `headBytes` is
// set: padding headers up to that size instead.
std::string requestHead(quint16 port, qint64 headBytes)
{
    std::string head = "GET /v1/worker HTTP/1.1\r\n"
                       "Host: 127.0.0.1:" +
                       std::to_string(port) +
                       "\r\n"
                       "Upgrade: websocket\r\n"
                       "Connection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Version: 13\r\n";
    if (headBytes <= 0)
        return head + "\r\n";
    for (int n = 0; qint64(head.size()) + 16 < headBytes; ++n) {
        const std::string name = "X-Padding-" + std::to_string(n) + ": ";
        const qint64 room = headBytes - qint64(head.size()) - qint64(name.size()) - 2;
        head += name + std::string(size_t(std::clamp<qint64>(room, 1, 1000)), 'a') + "\r\n";
    }
    return head;
}

// All but the last byte of a masked text frame announcing `payloadBytes` (mask key 0: the
// orchestrator unmasks a frame only once it is complete, which this one never is).
std::string partialFrame(qint64 payloadBytes)
{
    std::string frame;
    frame += char(0x81); // FIN, text
    if (payloadBytes <= 125) {
        frame += char(0x80 | payloadBytes);
    } else if (payloadBytes <= 0xffff) {
        frame += char(0x80 | 126);
        frame += char((payloadBytes >> 8) & 0xff);
        frame += char(payloadBytes & 0xff);
    } else {
        frame += char(0x80 | 127);
        for (int shift = 56; shift >= 0; shift -= 8)
            frame += char((quint64(payloadBytes) >> shift) & 0xff);
    }
    frame += std::string(4, '\0');
    frame += std::string(size_t(std::max<qint64>(0, payloadBytes - 1)), 'a');
    return frame;
}

double threadCpuSeconds()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

} // namespace

// One thread's share of the hostile connections, on its own epoll descriptor.
class HostileFleet::Loop
{
public:
    Loop(HostileFleet *fleet, int first, int count)
        : m_fleet(fleet), m_options(fleet->m_options),
          m_head(requestHead(m_options.port,
                             m_options.kind == HostileKind::PartialHead ? m_options.headBytes : 0)),
          m_frame(partialFrame(m_options.frameBytes)), m_slots(size_t(count)),
          m_random(quint32(first) * 2654435761u + 1),
          m_rate(
              std::max(1.0, double(m_options.connectsPerSecond) / std::max(1, m_options.threads)))
    {
        for (int i = 0; i < count; ++i) {
            const int address =
                m_options.firstAddress + (first + i) % std::max(1, m_options.addresses);
            // 127.0.0.2, ..., 127.0.0.255, 127.0.1.0, ...: any address of 127.0.0.0/8 is local.
            m_slots[size_t(i)].source = htonl((127u << 24) | quint32(address));
            m_ready.push_back(i);
        }
    }

    void run();
    std::vector<qint32> takeLifetimes() { return std::move(m_lifetimesMs); }
    double cpuSeconds() const { return m_cpuSeconds; }

private:
    enum class State : quint8 {
        Waiting,
        Connecting,
        SendingHead,
        AwaitingUpgrade,
        SendingFrame,
        Holding
    };
    struct Slot
    {
        int fd = -1;
        quint32 source = 0; // network order
        State state = State::Waiting;
        bool upgraded = false;
        bool refused = false; // an HTTP answer other than 101
        quint8 frameHeadSize = 0;
        uchar frameHead[4] = {};
        qint64 startUs = 0;
        qint64 connectedUs = 0;
        qint64 sent = 0;
        std::string response; // the HTTP answer until its blank line
    };

    void open(int index, qint64 now);
    void handle(int index, quint32 events, qint64 now);
    void connected(Slot &slot, qint64 now);
    void readAll(int index, qint64 now);
    void received(Slot &slot, const char *data, qsizetype size);
    void firstFrameBytes(Slot &slot, const char *data, qsizetype size);
    bool writeMore(int index, qint64 now);
    // The orchestrator closed it (or the connect failed): count why, dial again later.
    void drop(int index, qint64 now, bool connectFailed);
    void closeAll();

    HostileFleet *m_fleet;
    const HostileOptions &m_options;
    const std::string m_head;
    const std::string m_frame;
    std::vector<Slot> m_slots;
    std::deque<int> m_ready; // may dial now, in order
    using Due = std::pair<qint64, int>;
    std::priority_queue<Due, std::vector<Due>, std::greater<>> m_delayed; // dial again at
    std::minstd_rand m_random;
    double m_rate; // connects per second for this loop
    double m_tokens = 0;
    int m_epoll = -1;
    std::vector<qint32> m_lifetimesMs;
    double m_cpuSeconds = 0;
};

void HostileFleet::Loop::run()
{
    m_epoll = epoll_create1(EPOLL_CLOEXEC);
    epoll_event events[MaxEvents];
    const double burst = std::max(1.0, m_rate / 20); // 50 ms of connects at once at most
    qint64 last = nowUs();
    qint64 nextScan = last + ScanIntervalUs;
    while (!m_fleet->m_stop.load(std::memory_order_relaxed)) {
        qint64 now = nowUs();
        m_tokens = std::min(burst, m_tokens + double(now - last) * m_rate / 1e6);
        last = now;
        while (!m_delayed.empty() && m_delayed.top().first <= now) {
            m_ready.push_back(m_delayed.top().second);
            m_delayed.pop();
        }
        while (m_tokens >= 1 && !m_ready.empty()) {
            const int index = m_ready.front();
            m_ready.pop_front();
            m_tokens -= 1;
            open(index, now);
        }
        int timeoutMs = 20;
        if (!m_ready.empty())
            timeoutMs = std::max(1, int((1 - m_tokens) * 1000 / m_rate));
        else if (!m_delayed.empty())
            timeoutMs = int(std::clamp<qint64>((m_delayed.top().first - now) / 1000 + 1, 1, 20));
        const int n = epoll_wait(m_epoll, events, MaxEvents, timeoutMs);
        now = nowUs();
        for (int i = 0; i < n; ++i)
            handle(int(events[i].data.u32), events[i].events, now);
        if (now >= nextScan) {
            nextScan = now + ScanIntervalUs;
            for (size_t i = 0; i < m_slots.size(); ++i) {
                const Slot &slot = m_slots[i];
                if (slot.state == State::Connecting &&
                    now - slot.startUs > qint64(m_options.connectTimeoutMs) * 1000)
                    drop(int(i), now, true);
            }
        }
    }
    closeAll();
    ::close(m_epoll);
    m_cpuSeconds = threadCpuSeconds();
}

void HostileFleet::Loop::open(int index, qint64 now)
{
    Slot &slot = m_slots[size_t(index)];
    m_fleet->m_counters.attempts.fetch_add(1, std::memory_order_relaxed);
    slot.startUs = now;
    slot.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (slot.fd < 0) {
        drop(index, now, true);
        return;
    }
    // The local port is picked at connect() for the whole 4-tuple, not at bind() per address.
    const int on = 1;
    ::setsockopt(slot.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
    if (m_options.sendBufferBytes > 0)
        ::setsockopt(slot.fd, SOL_SOCKET, SO_SNDBUF, &m_options.sendBufferBytes,
                     sizeof m_options.sendBufferBytes);
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr.s_addr = slot.source;
    sockaddr_in target{};
    target.sin_family = AF_INET;
    target.sin_port = htons(m_options.port);
    target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(slot.fd, reinterpret_cast<sockaddr *>(&source), sizeof source) != 0 ||
        (::connect(slot.fd, reinterpret_cast<sockaddr *>(&target), sizeof target) != 0 &&
         errno != EINPROGRESS)) {
        drop(index, now, true);
        return;
    }
    epoll_event event{};
    event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    event.data.u32 = quint32(index);
    if (epoll_ctl(m_epoll, EPOLL_CTL_ADD, slot.fd, &event) != 0) {
        drop(index, now, true);
        return;
    }
    slot.state = State::Connecting;
}

void HostileFleet::Loop::handle(int index, quint32 events, qint64 now)
{
    Slot &slot = m_slots[size_t(index)];
    if (slot.fd < 0)
        return;
    if (slot.state == State::Connecting) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        int error = 0;
        socklen_t size = sizeof error;
        if (::getsockopt(slot.fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0 || error != 0 ||
            (events & EPOLLERR)) {
            drop(index, now, true);
            return;
        }
        connected(slot, now);
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        readAll(index, now);
        if (slot.fd < 0)
            return;
    }
    if (slot.state == State::SendingHead || slot.state == State::SendingFrame)
        writeMore(index, now);
}

void HostileFleet::Loop::connected(Slot &slot, qint64 now)
{
    m_fleet->m_counters.connected.fetch_add(1, std::memory_order_relaxed);
    m_fleet->m_open.fetch_add(1, std::memory_order_relaxed);
    slot.connectedUs = now;
    slot.state = State::SendingHead;
    slot.sent = 0;
}

void HostileFleet::Loop::readAll(int index, qint64 now)
{
    static thread_local char buffer[ReadBytes];
    Slot &slot = m_slots[size_t(index)];
    for (;;) {
        const ssize_t received = ::recv(slot.fd, buffer, sizeof buffer, 0);
        if (received > 0) {
            this->received(slot, buffer, qsizetype(received));
            continue;
        }
        if (received < 0 && errno == EINTR)
            continue;
        if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        drop(index, now, false); // end of stream or reset: the orchestrator dropped it
        return;
    }
}

void HostileFleet::Loop::received(Slot &slot, const char *data, qsizetype size)
{
    if (slot.upgraded) {
        firstFrameBytes(slot, data, size);
        return;
    }
    if (slot.refused)
        return; // the body of an HTTP error; the orchestrator closes next
    slot.response.append(data, size_t(std::min<qsizetype>(size, MaxResponseHead)));
    const size_t end = slot.response.find("\r\n\r\n");
    if (end == std::string::npos) {
        if (qsizetype(slot.response.size()) >= MaxResponseHead) {
            slot.refused = true;
            m_fleet->m_counters.httpRefusals.fetch_add(1, std::memory_order_relaxed);
            std::string().swap(slot.response);
        }
        return;
    }
    if (slot.response.compare(0, 12, "HTTP/1.1 101") == 0) {
        slot.upgraded = true;
        m_fleet->m_counters.upgraded.fetch_add(1, std::memory_order_relaxed);
        m_fleet->m_upgradedOpen.fetch_add(1, std::memory_order_relaxed);
        const std::string rest = slot.response.substr(end + 4);
        if (m_options.kind == HostileKind::Idle) {
            slot.state = State::Holding;
        } else {
            slot.state = State::SendingFrame;
            slot.sent = 0;
        }
        if (!rest.empty())
            firstFrameBytes(slot, rest.data(), qsizetype(rest.size()));
    } else {
        slot.refused = true;
        slot.state = State::Holding;
        m_fleet->m_counters.httpRefusals.fetch_add(1, std::memory_order_relaxed);
    }
    std::string().swap(slot.response);
}

void HostileFleet::Loop::firstFrameBytes(Slot &slot, const char *data, qsizetype size)
{
    if (slot.frameHeadSize >= sizeof slot.frameHead)
        return;
    const qsizetype take =
        std::min<qsizetype>(size, qsizetype(sizeof slot.frameHead) - slot.frameHeadSize);
    memcpy(slot.frameHead + slot.frameHeadSize, data, size_t(take));
    slot.frameHeadSize = quint8(slot.frameHeadSize + take);
    if (slot.frameHeadSize < sizeof slot.frameHead)
        return;
    // The orchestrator's first frame: a close frame is 0x88, a length under 126, then the code.
    Counters &counters = m_fleet->m_counters;
    if (slot.frameHead[0] == 0x88 && (slot.frameHead[1] & 0x7f) >= 2) {
        const int code = (slot.frameHead[2] << 8) | slot.frameHead[3];
        (code == 1009   ? counters.closeTooBig
         : code == 4000 ? counters.closeNoEnroll
                        : counters.closeOther)
            .fetch_add(1, std::memory_order_relaxed);
    } else {
        counters.closeOther.fetch_add(1, std::memory_order_relaxed);
    }
}

bool HostileFleet::Loop::writeMore(int index, qint64 now)
{
    Slot &slot = m_slots[size_t(index)];
    const std::string &out = slot.state == State::SendingHead ? m_head : m_frame;
    while (slot.sent < qint64(out.size())) {
        const ssize_t sent =
            ::send(slot.fd, out.data() + slot.sent, out.size() - size_t(slot.sent), MSG_NOSIGNAL);
        if (sent > 0) {
            slot.sent += sent;
            m_fleet->m_counters.bytesSent.fetch_add(sent, std::memory_order_relaxed);
            continue;
        }
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        drop(index, now, false);
        return false;
    }
    if (slot.state == State::SendingHead)
        slot.state =
            m_options.kind == HostileKind::PartialHead ? State::Holding : State::AwaitingUpgrade;
    else
        slot.state = State::Holding;
    return true;
}

void HostileFleet::Loop::drop(int index, qint64 now, bool connectFailed)
{
    Slot &slot = m_slots[size_t(index)];
    if (slot.fd >= 0)
        ::close(slot.fd); // also leaves the epoll set
    Counters &counters = m_fleet->m_counters;
    if (connectFailed) {
        counters.connectFailures.fetch_add(1, std::memory_order_relaxed);
    } else {
        m_fleet->m_open.fetch_sub(1, std::memory_order_relaxed);
        m_lifetimesMs.push_back(
            qint32(std::min<qint64>((now - slot.connectedUs) / 1000, INT32_MAX)));
        if (!slot.upgraded) {
            counters.droppedBeforeUpgrade.fetch_add(1, std::memory_order_relaxed);
        } else {
            m_fleet->m_upgradedOpen.fetch_sub(1, std::memory_order_relaxed);
            counters.droppedAfterUpgrade.fetch_add(1, std::memory_order_relaxed);
            if (slot.frameHeadSize == 0)
                counters.droppedSilently.fetch_add(1, std::memory_order_relaxed);
        }
    }
    const quint32 source = slot.source;
    slot = Slot();
    slot.source = source;
    const double jitter = 0.5 + std::uniform_real_distribution<double>(0, 1)(m_random);
    m_delayed.emplace(now + qint64(double(m_options.reconnectDelayMs) * 1000 * jitter), index);
}

void HostileFleet::Loop::closeAll()
{
    for (Slot &slot : m_slots) {
        if (slot.fd < 0)
            continue;
        ::close(slot.fd);
        if (slot.state != State::Connecting) {
            m_fleet->m_open.fetch_sub(1, std::memory_order_relaxed);
            if (slot.upgraded)
                m_fleet->m_upgradedOpen.fetch_sub(1, std::memory_order_relaxed);
        }
        slot.fd = -1;
    }
}

HostileFleet::HostileFleet(HostileOptions options) : m_options(std::move(options)) {}

HostileFleet::~HostileFleet()
{
    stop();
}

void HostileFleet::start()
{
    if (isRunning())
        return;
    m_stop = false;
    const int threads = std::clamp(m_options.threads, 1, std::max(1, m_options.connections));
    m_options.threads = threads;
    for (int t = 0; t < threads; ++t) {
        const int first = int(qint64(m_options.connections) * t / threads);
        const int last = int(qint64(m_options.connections) * (t + 1) / threads);
        m_loops.push_back(std::make_unique<Loop>(this, first, last - first));
    }
    for (const auto &loop : m_loops)
        m_threads.emplace_back([raw = loop.get()] { raw->run(); });
}

void HostileFleet::stop()
{
    if (!isRunning())
        return;
    m_stop = true;
    for (std::thread &thread : m_threads)
        thread.join();
    m_threads.clear();
    for (const auto &loop : m_loops) {
        const std::vector<qint32> lifetimes = loop->takeLifetimes();
        m_lifetimesMs.insert(m_lifetimesMs.end(), lifetimes.cbegin(), lifetimes.cend());
        m_cpuSeconds += loop->cpuSeconds();
    }
    m_loops.clear();
    std::sort(m_lifetimesMs.begin(), m_lifetimesMs.end());
}

HostileStats HostileFleet::stats() const
{
    const auto get = [](const std::atomic<qint64> &value) {
        return value.load(std::memory_order_relaxed);
    };
    HostileStats stats;
    stats.attempts = get(m_counters.attempts);
    stats.connectFailures = get(m_counters.connectFailures);
    stats.connected = get(m_counters.connected);
    stats.upgraded = get(m_counters.upgraded);
    stats.httpRefusals = get(m_counters.httpRefusals);
    stats.droppedBeforeUpgrade = get(m_counters.droppedBeforeUpgrade);
    stats.droppedAfterUpgrade = get(m_counters.droppedAfterUpgrade);
    stats.closeTooBig = get(m_counters.closeTooBig);
    stats.closeNoEnroll = get(m_counters.closeNoEnroll);
    stats.closeOther = get(m_counters.closeOther);
    stats.droppedSilently = get(m_counters.droppedSilently);
    stats.open = openCount();
    stats.bytesSent = get(m_counters.bytesSent);
    if (!m_lifetimesMs.empty()) {
        const auto at = [this](double p) {
            const size_t rank = std::clamp<size_t>(
                size_t(std::ceil(p * double(m_lifetimesMs.size()))), 1, m_lifetimesMs.size());
            return qint64(m_lifetimesMs[rank - 1]);
        };
        stats.lifetimeP50Ms = at(0.5);
        stats.lifetimeP90Ms = at(0.9);
        stats.lifetimeMaxMs = m_lifetimesMs.back();
    }
    stats.cpuSeconds = m_cpuSeconds;
    return stats;
}

const char *HostileFleet::kindName(HostileKind kind)
{
    switch (kind) {
    case HostileKind::PartialHead:
        return "head";
    case HostileKind::PartialFrame:
        return "frame";
    case HostileKind::OversizedFrame:
        return "oversized";
    case HostileKind::Idle:
        return "idle";
    }
    return "?";
}

} // namespace SwampBench
