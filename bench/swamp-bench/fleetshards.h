#pragma once

#include "simfleet.h"

#include <QHash>
#include <QJsonObject>
#include <QMap>
#include <QObject>
#include <QString>

#include <memory>
#include <vector>

class QProcess;

namespace SwampBench {

// The simulated workers of a SimFleet spread over child processes ("shards") of swamp-bench
// itself, so that at 19,000 workers neither the bench's own open-file limit nor its own poll()
// over every socket is what a scenario measures.
//
// Each shard is `swamp-bench --shard` (runFleetShard()): it reads one line of JSON on stdin (the
// orchestrators' URLs, the enrollment token, which workers it runs and how many may enroll at a
// time; the token never goes on a command line), runs a SimFleet of its own and writes what it
// saw as lines of JSON on stdout every 50 ms when something changed: the timestamps of new
// connect attempts and enrollments (the machine's monotonic clock, the same in every process),
// its counters and reasons, and the traces of the steps it was dispatched. Later lines on stdin
// are commands: hold or stop holding steps, release the held ones, close. A shard exits when its
// stdin closes (the bench is gone).
//
// FleetShards is the parent's side: it starts the shards and adds up what they report into the
// SimFleet's own figures, so the scenarios read one fleet whichever way it runs.
class FleetShards final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(FleetShards)

public:
    // `program` is swamp-bench itself.
    FleetShards(SimFleet *fleet, QString program, QObject *parent = nullptr);
    // Closes every shard's stdin and waits for it (a few seconds at most, then kills it).
    ~FleetShards() override;

    // Starts shards of at most `shardSize` workers for `count` more workers, numbered from
    // `firstIndex`; `window` enrollments in flight over all of them.
    void grow(int firstIndex, int count, int window, int shardSize);
    void setHoldSteps(bool hold);
    void releaseHeld();
    void closeAll();

    int size() const { return m_size; }
    qsizetype heldCount() const;
    int shardCount() const { return int(m_shards.size()); }

private:
    struct Shard;
    void readReports(Shard &shard);
    void apply(Shard &shard, const QJsonObject &report);
    void applySteps(Shard &shard, const QJsonArray &steps);
    void shardExited(Shard &shard, int exitCode);
    void sumCounters();
    void sendAll(const QJsonObject &command);

    SimFleet *m_fleet;
    QString m_program;
    std::vector<std::unique_ptr<Shard>> m_shards;
    int m_size = 0;
};

// `swamp-bench --shard`: the child's side (see FleetShards). The exit status.
int runFleetShard();

} // namespace SwampBench
