#pragma once

// The console's widget tests run against the real `swamp` binary: an orchestrator on 127.0.0.1
// port 0 with its own data dir, tokens made with the CLI, and workers with their own cache dirs.

#include <QDir>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <memory>
#include <vector>

#include <csignal>
#include <sys/prctl.h>

namespace ConsoleTest {

inline QString swampBinary()
{
    return QStringLiteral(SWAMP_BINARY);
}

// A long-running child whose output is collected as it arrives.
class Child
{
public:
    Child()
    {
        process.setProcessChannelMode(QProcess::SeparateChannels);
        QObject::connect(&process, &QProcess::readyReadStandardOutput, &process,
                         [this] { m_out += QString::fromUtf8(process.readAllStandardOutput()); });
        QObject::connect(&process, &QProcess::readyReadStandardError, &process,
                         [this] { m_err += QString::fromUtf8(process.readAllStandardError()); });
        // It dies with the test, also one QtTest aborts.
        process.setChildProcessModifier([] { ::prctl(PR_SET_PDEATHSIG, SIGKILL); });
    }
    ~Child() { stop(); }

    QString out() { return m_out += QString::fromUtf8(process.readAllStandardOutput()); }
    QString err() { return m_err += QString::fromUtf8(process.readAllStandardError()); }
    void stop()
    {
        if (process.state() != QProcess::NotRunning) {
            process.kill();
            process.waitForFinished(5000);
        }
    }

    QProcess process;

private:
    QString m_out;
    QString m_err;
};

class Orchestrator
{
public:
    // Starts `swamp serve` on port 0 (or `port`) with fast heartbeats; false with a message when it
    // did not print its listening line.
    bool start(quint16 port = 0, const QStringList &extra = {})
    {
        m_child = std::make_unique<Child>();
        m_child->process.start(swampBinary(),
                               QStringList{QStringLiteral("serve"), QStringLiteral("--listen"),
                                           QStringLiteral("127.0.0.1:%1").arg(port), QStringLiteral("--data-dir"),
                                           m_dataDir.path(), QStringLiteral("--heartbeat-interval"),
                                           QStringLiteral("200ms"), QStringLiteral("--heartbeat-timeout"),
                                           QStringLiteral("1s")}
                                   + extra);
        static const QRegularExpression listening(QStringLiteral("^Listening on (ws://127\\.0\\.0\\.1:(\\d+)) "));
        const bool ok = QTest::qWaitFor([&] {
            return listening.match(m_child->out()).hasMatch()
                || m_child->process.state() == QProcess::NotRunning;
        }, 20000);
        const auto match = listening.match(m_child->out());
        if (!ok || !match.hasMatch()) {
            qWarning("swamp serve did not start: %s", qPrintable(m_child->err()));
            return false;
        }
        m_url = match.captured(1);
        m_port = quint16(match.captured(2).toUInt());
        return true;
    }

    void stop()
    {
        if (m_child && m_child->process.state() != QProcess::NotRunning) {
            m_child->process.terminate();
            if (!m_child->process.waitForFinished(10000))
                m_child->stop();
        }
    }

    // `swamp <arguments>` against this orchestrator (admin.json through SWAMP_DATA_DIR).
    QString cli(const QStringList &arguments, int *exitCode = nullptr) const
    {
        QProcess process;
        QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
        environment.insert(QStringLiteral("SWAMP_DATA_DIR"), m_dataDir.path());
        process.setProcessEnvironment(environment);
        process.start(swampBinary(), arguments);
        process.waitForFinished(30000);
        if (exitCode)
            *exitCode = process.exitCode();
        return QString::fromUtf8(process.readAllStandardOutput());
    }

    // A token "<name>.<secret>" from `swamp worker token create`.
    QString createToken(const QString &name, const QStringList &extra = {}) const
    {
        int exitCode = -1;
        const QString out = cli(QStringList{QStringLiteral("worker"), QStringLiteral("token"),
                                            QStringLiteral("create"), name} + extra, &exitCode);
        return exitCode == 0 ? out.section(u'\n', 0, 0).trimmed() : QString();
    }

    // Starts `swamp worker connect` with its own cache dir under the data dir.
    Child *startWorker(const QString &token, const QString &cacheName)
    {
        auto child = std::make_unique<Child>();
        const QString cacheDir = m_workersDir.filePath(cacheName);
        child->process.start(swampBinary(), {QStringLiteral("worker"), QStringLiteral("connect"), m_url,
                                             QStringLiteral("--token"), token, QStringLiteral("--cache-dir"),
                                             cacheDir});
        m_workers.push_back(std::move(child));
        return m_workers.back().get();
    }

    QString cacheDir(const QString &cacheName) const { return m_workersDir.filePath(cacheName); }
    QString dataDir() const { return m_dataDir.path(); }
    QString url() const { return m_url; }
    quint16 port() const { return m_port; }

    void stopAll()
    {
        for (auto &worker : m_workers)
            worker->stop();
        m_workers.clear();
        stop();
        m_child.reset();
    }

private:
    QTemporaryDir m_dataDir;
    QTemporaryDir m_workersRoot;
    QDir m_workersDir{m_workersRoot.path()};
    std::unique_ptr<Child> m_child;
    std::vector<std::unique_ptr<Child>> m_workers;
    QString m_url;
    quint16 m_port = 0;
};

} // namespace ConsoleTest
