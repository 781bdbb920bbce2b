// swamp-bench-seed <data-dir> <steps>: fills an orchestrator's SQLite database with finished
// runs, steps and their leases (90% succeeded, 5% failed, 5% timed out; 100 steps per run), so
// `swamp data query` can be measured over a large, realistic store. Run it while no orchestrator
// uses the data dir.

#include "common/files.h"
#include "seeding.h"
#include "store/store.h"

#include <QCoreApplication>
#include <QElapsedTimer>

#include <cstdio>

using namespace Swamp;

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.size() != 3 || args.at(2).toInt() <= 0) {
        std::fprintf(stderr, "usage: swamp-bench-seed <data-dir> <steps>\n");
        return 2;
    }
    const QString dataDir = args.at(1);
    const int count = args.at(2).toInt();
    if (auto dir = ensurePrivateDirectory(dataDir); !dir) {
        std::fprintf(stderr, "%s\n", qPrintable(dir.error().text()));
        return 1;
    }
    auto store = Store::open(dataDir + QStringLiteral("/swamp.db"));
    if (!store) {
        std::fprintf(stderr, "%s\n", qPrintable(store.error().text()));
        return 1;
    }
    QElapsedTimer timer;
    timer.start();
    auto written = SwampBench::seedFinishedSteps(**store, count);
    if (!written) {
        std::fprintf(stderr, "%s\n", qPrintable(written.error().text()));
        return 1;
    }
    std::printf("seeded %d steps, %d leases, %d runs in %lld ms\n", count, count, (count + 99) / 100,
                static_cast<long long>(timer.elapsed()));
    return 0;
}
