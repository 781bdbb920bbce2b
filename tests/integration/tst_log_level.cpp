// `--log-level error|warning|info|debug`, `-q` and `-v` of `swamp serve` and `swamp worker
// connect` (issue 21), also from SWAMP_LOG_LEVEL and a config file's log-level: -q leaves
// warnings and errors (and serve's `Listening on`), -v adds the debug lines of the swamp.*
// logging categories; a bad level or two levels at once are usage errors (exit 2).
#include "swampharness.h"

#include <QFile>
#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace SwampTest;

class tst_LogLevel : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void serveLevels_data();
    void serveLevels();
    void workerLevels_data();
    void workerLevels();
    void debugLines_data();
    void debugLines();
    void mistakesAreUsageErrors_data();
    void mistakesAreUsageErrors();

private:
    QString configFile(const QString &text);

    std::unique_ptr<Harness> h;
};

void tst_LogLevel::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    h = std::make_unique<Harness>();
}

void tst_LogLevel::cleanup()
{
    h.reset();
}

QString tst_LogLevel::configFile(const QString &text)
{
    const QString path = h->tempPath(u"swamp.ini"_s);
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate) || file.write(text.toUtf8()) < 0)
        qFatal("cannot write %s", qPrintable(path));
    return path;
}

void tst_LogLevel::serveLevels_data()
{
    QTest::addColumn<QStringList>("flags"); // CONFIG: --config with log-level = warning
    QTest::addColumn<QString>("environment");
    QTest::addColumn<bool>("infoLines");
    QTest::addRow("default") << QStringList{} << QString() << true;
    QTest::addRow("info") << QStringList{u"--log-level"_s, u"info"_s} << QString() << true;
    QTest::addRow("-q") << QStringList{u"-q"_s} << QString() << false;
    QTest::addRow("--quiet") << QStringList{u"--quiet"_s} << QString() << false;
    QTest::addRow("warning") << QStringList{u"--log-level"_s, u"warning"_s} << QString() << false;
    QTest::addRow("error") << QStringList{u"--log-level"_s, u"error"_s} << QString() << false;
    QTest::addRow("environment") << QStringList{} << u"warning"_s << false;
    QTest::addRow("config-file") << QStringList{u"CONFIG"_s} << QString() << false;
    QTest::addRow("flag-over-environment")
        << QStringList{u"--log-level"_s, u"info"_s} << u"warning"_s << true;
    QTest::addRow("environment-over-config-file") << QStringList{u"CONFIG"_s} << u"info"_s << true;
}

// A worker enrolls and the orchestrator stops: with -q its stdout holds `Listening on` only.
void tst_LogLevel::serveLevels()
{
    QFETCH(QStringList, flags);
    QFETCH(QString, environment);
    QFETCH(bool, infoLines);
    if (flags == QStringList{u"CONFIG"_s})
        flags = {u"--config"_s, configFile(u"[serve]\nlog-level = warning\n"_s)};
    if (!environment.isEmpty())
        h->orchestratorEnvironment.insert(u"SWAMP_LOG_LEVEL"_s, environment);
    QVERIFY(h->startOrchestrator(0, flags));
    const QString token = h->createToken(u"pool"_s);
    QVERIFY(!token.isEmpty());
    QVERIFY(h->startEnrolledWorker(token, h->newCacheDir()));
    QVERIFY(h->stopOrchestrator());
    Child *serve = h->orchestrator();
    QVERIFY2(serve->exitCode() == 0, qPrintable(serve->describe()));
    const QStringList lines = serve->out().split(u'\n', Qt::SkipEmptyParts);
    QVERIFY2(lines.value(0).startsWith(u"Listening on "_s), qPrintable(serve->describe()));
    QVERIFY2(infoLines == (lines.size() > 1), qPrintable(serve->describe()));
    QVERIFY2(infoLines == serve->outContains(u" enrolled (machine "_s),
             qPrintable(serve->describe()));
}

void tst_LogLevel::workerLevels_data()
{
    QTest::addColumn<QStringList>("flags");
    QTest::addColumn<bool>("infoLines");
    QTest::addColumn<bool>("warnings");
    QTest::addRow("default") << QStringList{} << true << true;
    QTest::addRow("-q") << QStringList{u"-q"_s} << false << true;
    QTest::addRow("error") << QStringList{u"--log-level"_s, u"error"_s} << false << false;
    QTest::addRow("json-quiet") << QStringList{u"--json"_s, u"--quiet"_s} << false << true;
}

// A worker without --cache-dir warns about it; it enrolls (info), then drains on SIGTERM.
void tst_LogLevel::workerLevels()
{
    QFETCH(QStringList, flags);
    QFETCH(bool, infoLines);
    QFETCH(bool, warnings);
    QVERIFY(h->startOrchestrator());
    const QString token = h->createToken(u"pool"_s);
    QVERIFY(!token.isEmpty());
    Child *worker = h->startWorker(token, {}, flags);
    QTRY_COMPARE_WITH_TIMEOUT(h->workerList(false).value(u"workers"_s).toArray().size(), 1, 30000);
    worker->signal(SIGTERM);
    QVERIFY(worker->waitForExit(20000));
    QVERIFY2(worker->exitCode() == 0, qPrintable(worker->describe()));
    QVERIFY2(infoLines == worker->out().contains(u"enrolled"_s), qPrintable(worker->describe()));
    QVERIFY2(warnings == worker->output().contains(u"no --cache-dir given"_s),
             qPrintable(worker->describe()));
}

void tst_LogLevel::debugLines_data()
{
    QTest::addColumn<QStringList>("flags");
    QTest::addColumn<QString>("rules"); // QT_LOGGING_RULES
    QTest::addColumn<bool>("debugLines");
    QTest::addRow("default") << QStringList{} << QString() << false;
    QTest::addRow("-v") << QStringList{u"-v"_s} << QString() << true;
    QTest::addRow("--verbose") << QStringList{u"--verbose"_s} << QString() << true;
    QTest::addRow("debug") << QStringList{u"--log-level"_s, u"debug"_s} << QString() << true;
    QTest::addRow("-v-under-QT_LOGGING_RULES")
        << QStringList{u"-v"_s} << u"swamp.admin.debug=false;swamp.worker.debug=false"_s << false;
}

// The orchestrator's swamp.admin debug line of a `data query`, the worker's swamp.worker line
// of each frame it receives.
void tst_LogLevel::debugLines()
{
    QFETCH(QStringList, flags);
    QFETCH(QString, rules);
    QFETCH(bool, debugLines);
    h->orchestratorEnvironment.insert(u"QT_LOGGING_RULES"_s, rules);
    h->workerEnvironment.insert(u"QT_LOGGING_RULES"_s, rules);
    QVERIFY(h->startOrchestrator(0, flags));
    const QString token = h->createToken(u"pool"_s);
    QVERIFY(!token.isEmpty());
    Child *worker = h->startEnrolledWorker(token, h->newCacheDir(), {}, flags);
    QVERIFY(worker);
    const Run query = h->cli({u"data"_s, u"query"_s, u"modelType == \"swamp/worker\""_s});
    QCOMPARE_EXIT(query, 0);
    QVERIFY(h->stopOrchestrator());
    worker->signal(SIGTERM);
    QVERIFY(worker->waitForExit(20000));
    Child *serve = h->orchestrator();
    QVERIFY2(debugLines == serve->errContains(u"swamp.admin: data.query "_s),
             qPrintable(serve->describe()));
    QVERIFY2(debugLines == worker->errContains(u"swamp.worker: received frame enrolled\n"_s),
             qPrintable(worker->describe()));
    QVERIFY2(!worker->output().contains(token.section(u'.', 1)), qPrintable(worker->describe()));
}

void tst_LogLevel::mistakesAreUsageErrors_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("environment");
    QTest::addColumn<QString>("message");
    const QString levels = u"use one of error, warning, info, debug"_s;
    QTest::addRow("unknown")
        << QStringList{u"serve"_s, u"--log-level"_s, u"loud"_s} << QString()
        << u"error: --log-level: unknown log level \"loud\" — %1\nRun 'swamp serve --help' for usage.\n"_s
               .arg(levels);
    QTest::addRow("unknown-in-environment")
        << QStringList{u"worker"_s, u"connect"_s} << u"verbose"_s
        << u"error: SWAMP_LOG_LEVEL: unknown log level \"verbose\" — %1\nRun 'swamp worker connect --help' for usage.\n"_s
               .arg(levels);
    QTest::addRow("-q-and-v")
        << QStringList{u"serve"_s, u"-q"_s, u"-v"_s} << QString()
        << u"error: --quiet and --verbose exclude each other; give one\nRun 'swamp serve --help' for usage.\n"_s;
    QTest::addRow("-q-and-log-level")
        << QStringList{u"worker"_s, u"connect"_s, u"-q"_s, u"--log-level"_s, u"debug"_s}
        << QString()
        << u"error: --quiet and --log-level exclude each other; give one\nRun 'swamp worker connect --help' for usage.\n"_s;
}

void tst_LogLevel::mistakesAreUsageErrors()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, environment);
    QFETCH(QString, message);
    QProcessEnvironment env = Harness::baseEnvironment();
    env.insert(u"SWAMP_DATA_DIR"_s, h->dataDir());
    if (!environment.isEmpty())
        env.insert(u"SWAMP_LOG_LEVEL"_s, environment);
    const Run run = h->cli(arguments, swampBinary(), env);
    QCOMPARE_EXIT(run, 2);
    QCOMPARE(run.err, message);
    QVERIFY2(run.out.isEmpty(), qPrintable(run.describe()));
}

QTEST_GUILESS_MAIN(tst_LogLevel)
#include "tst_log_level.moc"
