// One open file per connected worker (issue 20): `swamp serve` raises its soft open-file limit to
// the hard limit at start, and says how many workers it can hold when that is low.
#include "swampharness.h"

#include <QTest>

#include <sys/resource.h>

using namespace Qt::StringLiterals;
using namespace SwampTest;

class tst_OpenFiles : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void serveRaisesItsSoftLimitToTheHardLimit_data();
    void serveRaisesItsSoftLimitToTheHardLimit();

private:
    std::unique_ptr<Harness> h;
};

namespace {

// "Max open files" of /proc/<pid>/limits: {soft, hard}; {-1, -1} when unreadable.
std::pair<qint64, qint64> openFileLimits(qint64 pid)
{
    QFile limits(u"/proc/%1/limits"_s.arg(pid));
    if (!limits.open(QIODevice::ReadOnly))
        return {-1, -1};
    for (const QByteArray &line : limits.readAll().split('\n')) {
        if (!line.startsWith("Max open files"))
            continue;
        const QList<QByteArray> fields = line.mid(int(qstrlen("Max open files"))).simplified().split(' ');
        return {fields.value(0).toLongLong(), fields.value(1).toLongLong()};
    }
    return {-1, -1};
}

} // namespace

void tst_OpenFiles::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    h = std::make_unique<Harness>();
}

void tst_OpenFiles::cleanup()
{
    h.reset();
}

void tst_OpenFiles::serveRaisesItsSoftLimitToTheHardLimit_data()
{
    rlimit own{};
    QVERIFY(::getrlimit(RLIMIT_NOFILE, &own) == 0);
    QTest::addColumn<qint64>("hard");
    QTest::addColumn<QString>("warning");
    // The hard limit this test runs under (20,000 on the bench machines; systemd's default for
    // services is 524,288): enough for the warning's 16,384, or not.
    const qint64 inherited = own.rlim_max == RLIM_INFINITY ? qint64(1) << 20 : qint64(own.rlim_max);
    QTest::addRow("inherited-hard-limit") << inherited
                                         << (inherited < 16384 ? u"warning: the open-file limit is"_s : QString());
    QTest::addRow("hard-limit-1024") << qint64(1024)
                                     << u"warning: the open-file limit is 1024 (hard limit 1024), enough for about 960 "
                                        "connected workers; raise it with 'ulimit -n 65536' before 'swamp serve', or "
                                        "LimitNOFILE=65536 in its systemd unit"_s;
}

void tst_OpenFiles::serveRaisesItsSoftLimitToTheHardLimit()
{
    QFETCH(qint64, hard);
    QFETCH(QString, warning);
    // The orchestrator starts with a soft limit of 256, as a login shell's 1024 or lower would be.
    h->orchestratorModifier = [hard] {
        const rlimit limit{256, rlim_t(hard)};
        ::setrlimit(RLIMIT_NOFILE, &limit);
    };
    QVERIFY(h->startOrchestrator());
    const auto [soft, hardSeen] = openFileLimits(h->orchestrator()->pid());
    QCOMPARE(hardSeen, hard);
    QCOMPARE(soft, hard);
    if (warning.isEmpty()) {
        QVERIFY2(!h->orchestrator()->errContains(u"open-file limit"_s), qPrintable(h->orchestrator()->describe()));
    } else {
        QTRY_VERIFY2_WITH_TIMEOUT(h->orchestrator()->errContains(warning), qPrintable(h->orchestrator()->describe()),
                                  10000);
    }
}

QTEST_GUILESS_MAIN(tst_OpenFiles)
#include "tst_open_files.moc"
