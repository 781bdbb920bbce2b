// scripts/demo.sh, the README's first command, in its one-shot mode (SWAMP_DEMO_ONESHOT=1) with
// this build's binary (SWAMP_DEMO_BINARY: it installs and builds nothing, so the test leaves the
// build tree alone): the orchestrator, the token with its secret hidden, the worker, the worker
// list, the step's output, then both stopped; and the scripts' usage errors.

#include "integration/swampharness.h"

#include <QDir>
#include <QRegularExpression>
#include <QTemporaryDir>

#include <csignal>
#include <unistd.h>

using namespace SwampTest;
using namespace Qt::StringLiterals;

namespace {

// Runs a script of scripts/ in its own process group, so that a demo that hangs is killed with
// the orchestrator and the worker it started.
Run runScript(const QString &script, const QStringList &arguments,
              const QProcessEnvironment &environment)
{
    QProcess process;
    process.setProcessEnvironment(environment);
    process.setChildProcessModifier([] { ::setpgid(0, 0); });
    process.start(u"bash"_s,
                  QStringList{QStringLiteral(SWAMP_SOURCE_DIR "/scripts/") + script} + arguments);
    Run run;
    if (!process.waitForStarted(20000) || !process.waitForFinished(180000)) {
        if (process.processId() > 0)
            ::kill(-pid_t(process.processId()), SIGKILL);
        process.waitForFinished(5000);
        run.err = u"scripts/%1 did not finish: %2"_s.arg(script, process.errorString());
        return run;
    }
    run.crashed = process.exitStatus() != QProcess::NormalExit;
    run.exitCode = run.crashed ? -1 : process.exitCode();
    run.out = QString::fromUtf8(process.readAllStandardOutput());
    run.err = QString::fromUtf8(process.readAllStandardError());
    return run;
}

} // namespace

class tst_Demo : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void oneShot();
    void usageErrors_data();
    void usageErrors();
};

void tst_Demo::oneShot()
{
    QTemporaryDir tmp; // the demo's mktemp -d goes here
    QVERIFY(tmp.isValid());
    QProcessEnvironment env = Harness::baseEnvironment();
    env.insert(u"TMPDIR"_s, tmp.path());
    env.insert(u"SWAMP_DEMO_ONESHOT"_s, u"1"_s);
    env.insert(u"SWAMP_DEMO_BINARY"_s, swampBinary());
    const Run run = runScript(u"demo.sh"_s, {}, env);
    QCOMPARE_EXIT(run, 0);
    const QString out = run.out;

    QVERIFY2(QRegularExpression(u"^Listening on ws://127\\.0\\.0\\.1:\\d+ "_s,
                                QRegularExpression::MultilineOption)
                 .match(out)
                 .hasMatch(),
             qPrintable(out));
    QVERIFY2(out.contains(u"\ndemo.<secret hidden>\n"_s), qPrintable(out));
    // The token's secret is in the orchestrator's database only, never in the demo's output.
    QVERIFY2(!QRegularExpression(u"demo\\.[A-Za-z0-9_-]{8,}"_s).match(out + run.err).hasMatch(),
             qPrintable(out));
    QVERIFY2(out.contains(u"enrolled as "_s), qPrintable(out));
    // `worker list` shows the worker, then the step's own output follows.
    const qsizetype list = out.indexOf(u"== swamp worker list\n"_s);
    const qsizetype step = out.indexOf(u"== swamp run -- uname -a\n"_s);
    QVERIFY2(list >= 0 && step > list, qPrintable(out));
    QVERIFY2(out.mid(list, step - list).contains(u" idle "_s), qPrintable(out));
    const QString uname = out.mid(step).section(u'\n', 1, -1);
    QVERIFY2(uname.contains(u"Linux "_s), qPrintable(out));

    // Stopped: both processes are gone (the script waited for them) and it says where the files are.
    QVERIFY2(out.contains(u"== stopping\norchestrator and worker stopped; their files are in "_s
                          + tmp.path()),
             qPrintable(out));
    QVERIFY2(!out.contains(u"Press Ctrl-C"_s), "the one-shot demo waited for Ctrl-C");
    const QStringList works = QDir(tmp.path()).entryList({u"swamp-demo.*"_s}, QDir::Dirs);
    QCOMPARE(works.size(), 1);
    const QString serveLog = tmp.filePath(works.first() + u"/serve.log"_s);
    QFile log(serveLog);
    QVERIFY(log.open(QIODevice::ReadOnly));
    const QString logged = QString::fromUtf8(log.readAll());
    QVERIFY2(!logged.contains(QRegularExpression(u"demo\\.[A-Za-z0-9_-]{8,}"_s)), qPrintable(logged));
}

void tst_Demo::usageErrors_data()
{
    QTest::addColumn<QString>("script");
    QTest::addRow("install-deps") << u"install-deps.sh"_s;
    QTest::addRow("build") << u"build.sh"_s;
}

// An option the script does not know installs and builds nothing: usage on stderr, exit 2.
void tst_Demo::usageErrors()
{
    QFETCH(QString, script);
    const Run run = runScript(script, {u"--dmeo"_s}, Harness::baseEnvironment());
    QCOMPARE_EXIT(run, 2);
    QCOMPARE(run.err, u"usage: scripts/%1 [--demo]   (unknown option \"--dmeo\")\n"_s.arg(script));
    QCOMPARE(run.out, QString());
}

QTEST_GUILESS_MAIN(tst_Demo)
#include "tst_demo.moc"
