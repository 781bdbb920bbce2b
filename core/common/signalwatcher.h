#pragma once

#include <QObject>

#include <memory>

class QSocketNotifier;

namespace Swamp {

// Turns SIGINT and SIGTERM into a Qt signal (self-pipe; the handler only writes one byte).
// One instance per process.
class SignalWatcher final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(SignalWatcher)

public:
    explicit SignalWatcher(QObject *parent = nullptr);
    ~SignalWatcher() override;

Q_SIGNALS:
    // `count` is how many termination signals arrived so far (1 on the first).
    void terminationRequested(int signalNumber, int count);

private:
    void readSignal();

    std::unique_ptr<QSocketNotifier> m_notifier;
    int m_count = 0;
};

} // namespace Swamp
