#pragma once

// A harness for integration tests that run the real `swamp` binary: an orchestrator on
// 127.0.0.1 port 0 with its own data dir, CLI commands against it (through admin.json, found via
// SWAMP_DATA_DIR), and workers with their own cache dirs. Every child is killed in cleanup().

#include "unit/testsupport.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <functional>
#include <memory>
#include <vector>

#include <signal.h>
#include <sys/prctl.h>

namespace SwampTest {

using namespace Qt::StringLiterals;

inline QString swampBinary()
{
    return QStringLiteral(SWAMP_BINARY);
}

inline QString altSwampBinary()
{
    return QStringLiteral(SWAMP_ALT_BINARY);
}

// The result of one finished CLI command.
struct Run
{
    int exitCode = -1;
    bool crashed = false;
    QString out;
    QString err;

    QStringList outLines() const { return out.split(u'\n', Qt::SkipEmptyParts); }
    QJsonObject json() const { return QJsonDocument::fromJson(out.toUtf8()).object(); }
    QJsonArray jsonArray() const { return QJsonDocument::fromJson(out.toUtf8()).array(); }
    // For failure messages.
    QString describe() const
    {
        return u"exit %1\n--- stdout ---\n%2--- stderr ---\n%3"_s.arg(exitCode).arg(out, err);
    }
};

// A long-running child (orchestrator or worker) whose output is collected as it arrives.
class Child
{
public:
    explicit Child(const QString &name)
        : m_name(name)
    {
        QObject::connect(&process, &QProcess::readyReadStandardOutput, &process,
                         [this] { m_out += QString::fromUtf8(process.readAllStandardOutput()); });
        QObject::connect(&process, &QProcess::readyReadStandardError, &process,
                         [this] { m_err += QString::fromUtf8(process.readAllStandardError()); });
        setModifier({});
    }

    // Runs `modifier` in the child between fork and exec. Every child also dies with the test:
    // one that QtTest aborts (its function timeout) or ctest kills leaves no orchestrator or
    // worker running behind it.
    void setModifier(std::function<void()> modifier)
    {
        process.setChildProcessModifier([modifier = std::move(modifier)] {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (modifier)
                modifier();
        });
    }

    QProcess process;

    QString name() const { return m_name; }
    QString out()
    {
        m_out += QString::fromUtf8(process.readAllStandardOutput());
        return m_out;
    }
    QString err()
    {
        m_err += QString::fromUtf8(process.readAllStandardError());
        return m_err;
    }
    QString output() { return out() + err(); }
    bool isRunning() const { return process.state() != QProcess::NotRunning; }
    qint64 pid() const { return process.processId(); }
    int exitCode() const
    {
        return process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    }
    bool outContains(const QString &text) { return out().contains(text); }
    bool errContains(const QString &text) { return err().contains(text); }
    bool outputContains(const QString &text) { return output().contains(text); }
    int count(const QString &text) { return int(output().count(text)); }
    QString describe()
    {
        return u"%1 (%2)\n--- stdout ---\n%3--- stderr ---\n%4"_s.arg(
            m_name, isRunning() ? u"running"_s : u"exit %1"_s.arg(exitCode()), out(), err());
    }
    void signal(int number)
    {
        if (isRunning())
            ::kill(pid_t(pid()), number);
    }
    // Waits (processing events) until the child ended.
    bool waitForExit(int timeoutMs)
    {
        return QTest::qWaitFor([this] { return !isRunning(); }, timeoutMs);
    }

private:
    QString m_name;
    QString m_out;
    QString m_err;
};

class Harness
{
public:
    Harness()
    {
        m_dataDir = m_root.filePath(u"data"_s);
    }
    ~Harness() { killAll(); }

    // Added to the orchestrator's environment (PGPASSWORD for a PostgreSQL store, say).
    QProcessEnvironment orchestratorEnvironment;
    // Added to the environment of the workers started from now on.
    QProcessEnvironment workerEnvironment;
    // Runs in the orchestrator's process between fork and exec (setrlimit, say).
    std::function<void()> orchestratorModifier;

    QString dataDir() const { return m_dataDir; }
    QString url() const { return m_url; }
    quint16 port() const { return m_port; }
    Child *orchestrator() const { return m_orchestrator; }
    QString tempPath(const QString &name) const { return m_root.filePath(name); }

    // A clean environment: nothing of the developer's SWAMP_* leaks into a child.
    static QProcessEnvironment baseEnvironment()
    {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        const QStringList keys = env.keys();
        for (const QString &key : keys) {
            if (key.startsWith(u"SWAMP_"_s))
                env.remove(key);
        }
        env.insert(u"NO_COLOR"_s, u"1"_s);
        env.insert(u"QT_LOGGING_RULES"_s, u"swamp.*.debug=false"_s);
        return env;
    }

    // The orchestrator's environment instead of baseEnvironment() (e.g. PGPASSWORD).
    void setOrchestratorEnvironment(const QProcessEnvironment &env) { m_orchestratorEnvironment = env; }

    // Starts `swamp serve` (of `binary`) with fast liveness timings and waits for its first line.
    bool startOrchestrator(quint16 port = 0, const QStringList &extra = {},
                           const QString &binary = swampBinary())
    {
        Child *child = newChild(u"orchestrator"_s);
        m_orchestrator = child;
        QProcessEnvironment env = baseEnvironment();
        env.insert(orchestratorEnvironment);
        child->process.setProcessEnvironment(m_orchestratorEnvironment.isEmpty() ? env : m_orchestratorEnvironment);
        child->setModifier(orchestratorModifier);
        child->process.start(binary,
                             QStringList{u"serve"_s, u"--listen"_s,
                                         u"127.0.0.1:%1"_s.arg(port), u"--data-dir"_s, m_dataDir,
                                         u"--heartbeat-interval"_s, u"200ms"_s,
                                         u"--heartbeat-timeout"_s, u"1s"_s,
                                         u"--reconnect-grace"_s, u"2s"_s}
                                 + extra);
        static const QRegularExpression first(
            u"^Listening on (wss?://127\\.0\\.0\\.1:(\\d+)) \\(swamp (\\S+), data (.+)\\)$"_s);
        QRegularExpressionMatch match;
        const bool started = QTest::qWaitFor([&] {
            const QString out = child->out();
            const qsizetype newline = out.indexOf(u'\n');
            if (newline < 0)
                return !child->isRunning();
            match = first.match(out.left(newline));
            return true;
        }, 30000);
        if (!started || !match.hasMatch()) {
            qWarning("orchestrator did not start: %s", qPrintable(child->describe()));
            return false;
        }
        m_url = match.captured(1);
        m_port = quint16(match.captured(2).toUInt());
        m_listenedDataDir = match.captured(4);
        return true;
    }
    QString listenedDataDir() const { return m_listenedDataDir; }

    // SIGTERM to the orchestrator and wait for its exit.
    bool stopOrchestrator()
    {
        if (!m_orchestrator)
            return false;
        m_orchestrator->signal(SIGTERM);
        return m_orchestrator->waitForExit(20000);
    }

    // Runs one CLI command against this orchestrator (admin.json via SWAMP_DATA_DIR).
    Run cli(const QStringList &arguments, const QString &binary = swampBinary(),
            const QProcessEnvironment &environment = {})
    {
        QProcess process;
        QProcessEnvironment env = environment.isEmpty() ? baseEnvironment() : environment;
        if (environment.isEmpty())
            env.insert(u"SWAMP_DATA_DIR"_s, m_dataDir);
        process.setProcessEnvironment(env);
        process.start(binary, arguments);
        Run run;
        // Wait in the event loop, not in a blocking waitForFinished(): the other children's pipes
        // keep being drained, and another child's exit does not stall this wait.
        if (!process.waitForStarted(20000)
            || !QTest::qWaitFor([&] { return process.state() == QProcess::NotRunning; }, 60000)) {
            // Said at once, with what it printed so far and whether the orchestrator still runs:
            // a test that waits on several such commands may hit its own timeout before it
            // prints this run.
            const QString partial = QString::fromUtf8(process.readAllStandardError()).right(2000);
            process.kill();
            process.waitForFinished(5000);
            run.err = u"command did not finish: swamp "_s + arguments.join(u' ');
            qWarning().noquote() << run.err << u"(60 s; the orchestrator is"_s
                                 << (m_orchestrator && m_orchestrator->isRunning() ? u"running)"_s : u"not running)"_s)
                                 << u"stderr so far:"_s << partial;
            return run;
        }
        run.crashed = process.exitStatus() != QProcess::NormalExit;
        run.exitCode = run.crashed ? -1 : process.exitCode();
        run.out = QString::fromUtf8(process.readAllStandardOutput());
        run.err = QString::fromUtf8(process.readAllStandardError());
        return run;
    }

    // `swamp worker token create`; returns the token printed on line 1, or empty on failure.
    QString createToken(const QString &name, const QStringList &extra = {}, Run *runOut = nullptr)
    {
        const Run run = cli(QStringList{u"worker"_s, u"token"_s, u"create"_s, name} + extra);
        if (runOut)
            *runOut = run;
        if (run.exitCode != 0) {
            qWarning("token create failed: %s", qPrintable(run.describe()));
            return {};
        }
        return run.outLines().value(0);
    }

    // `swamp worker list --json [--all]`
    QJsonObject workerList(bool all = true)
    {
        QStringList args{u"worker"_s, u"list"_s, u"--json"_s};
        if (all)
            args << u"--all"_s;
        return cli(args).json();
    }
    QJsonObject workerNamed(const QString &name)
    {
        const QJsonArray workers = workerList(true).value(u"workers"_s).toArray();
        for (const QJsonValue &value : workers) {
            if (value.toObject().value(u"name"_s).toString() == name)
                return value.toObject();
        }
        return {};
    }
    QString workerStatus(const QString &name)
    {
        return workerNamed(name).value(u"status"_s).toString();
    }
    QJsonObject tokenNamed(const QString &name)
    {
        const QJsonArray tokens = cli({u"worker"_s, u"token"_s, u"list"_s, u"--json"_s}).jsonArray();
        for (const QJsonValue &value : tokens) {
            if (value.toObject().value(u"name"_s).toString() == name)
                return value.toObject();
        }
        return {};
    }

    // A fresh cache dir path (not created: the worker creates it 0700).
    QString newCacheDir()
    {
        return m_root.filePath(u"cache-%1"_s.arg(++m_cacheDirs));
    }

    // Starts `swamp worker connect <url> --token <token> [--cache-dir <dir>] ...` (without
    // --token when `token` is empty: from --token-file or the environment).
    Child *startWorker(const QString &token, const QString &cacheDir,
                       const QStringList &extra = {}, const QString &binary = swampBinary(),
                       const QString &url = {})
    {
        Child *child = newChild(u"worker %1"_s.arg(cacheDir.isEmpty() ? u"(no cache dir)"_s : cacheDir));
        QProcessEnvironment env = baseEnvironment();
        env.insert(workerEnvironment);
        child->process.setProcessEnvironment(env);
        QStringList args{u"worker"_s, u"connect"_s, url.isEmpty() ? m_url : url};
        if (!token.isEmpty())
            args << u"--token"_s << token;
        if (!cacheDir.isEmpty())
            args << u"--cache-dir"_s << cacheDir;
        child->process.start(binary, args + extra);
        return child;
    }

    // Starts a worker and waits until it printed `enrolled as <name>`; nullptr when it did not.
    Child *startEnrolledWorker(const QString &token, const QString &cacheDir,
                               const QString &expectedName = {}, const QStringList &extra = {})
    {
        Child *child = startWorker(token, cacheDir, extra);
        const QString needle = expectedName.isEmpty() ? u"enrolled as "_s
                                                      : u"enrolled as %1 "_s.arg(expectedName);
        if (!QTest::qWaitFor([&] { return child->outContains(needle) || !child->isRunning(); },
                             30000)
            || !child->outContains(needle)) {
            qWarning("worker did not enroll: %s", qPrintable(child->describe()));
            return nullptr;
        }
        return child;
    }

    // The worker name printed in `enrolled as <name> (...)`.
    static QString enrolledName(Child *worker)
    {
        static const QRegularExpression pattern(u"enrolled as (\\S+) "_s);
        const auto match = pattern.match(worker->out());
        return match.hasMatch() ? match.captured(1) : QString();
    }

    // Everything the orchestrator printed so far.
    QString orchestratorOutput() const
    {
        QString all;
        for (const auto &child : m_children) {
            if (child->name() == u"orchestrator"_s)
                all += child->output();
        }
        return all;
    }

    void killAll()
    {
        for (const auto &child : m_children) {
            if (child->isRunning()) {
                child->process.kill();
                child->process.waitForFinished(10000);
            }
        }
        m_children.clear();
        m_orchestrator = nullptr;
    }

private:
    Child *newChild(const QString &name)
    {
        m_children.push_back(std::make_unique<Child>(name));
        return m_children.back().get();
    }

    QTemporaryDir m_root;
    QString m_dataDir;
    QString m_url;
    QString m_listenedDataDir;
    quint16 m_port = 0;
    int m_cacheDirs = 0;
    Child *m_orchestrator = nullptr;
    QProcessEnvironment m_orchestratorEnvironment;
    std::vector<std::unique_ptr<Child>> m_children;
};

// Makes `toCacheDir` the same machine as `fromCacheDir`: its machine id and its machine key.
inline bool copyMachineId(const QString &fromCacheDir, const QString &toCacheDir)
{
    if (!QDir().mkpath(toCacheDir))
        return false;
    for (const QString &file : {u"/machine-id"_s, u"/machine-key"_s}) {
        QFile::remove(toCacheDir + file);
        if (!QFile::copy(fromCacheDir + file, toCacheDir + file))
            return false;
    }
    return true;
}

inline QString readMachineId(const QString &cacheDir)
{
    QFile file(cacheDir + u"/machine-id"_s);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QString::fromLatin1(file.readAll().trimmed());
}

} // namespace SwampTest

// Verifies a finished CLI run's exit code, printing its output when it differs.
// `run` is evaluated once: QVERIFY2 evaluates its message even when the check passes.
#define QCOMPARE_EXIT(run, code)                                                                   \
    do {                                                                                           \
        const SwampTest::Run &checkedRun_ = (run);                                                 \
        QVERIFY2(checkedRun_.exitCode == (code), qPrintable(checkedRun_.describe()));              \
    } while (false)
