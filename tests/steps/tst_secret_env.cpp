// `swamp run --secret-env` with the real binaries (issue 18 item 12): the value reaches the step
// only; it is never in the database (nor its WAL), an event, serve's or the worker's log, or
// `run status`; it is masked in streamed and stored output, also split across writes; a step
// whose values are gone with a restart fails and says why; and values never come from the
// command line itself.

#include "steps/stephelpers.h"

#include <QDirIterator>
#include <QFile>

using namespace SwampTest;

// Prints "same" when the step's $API_TOKEN is the test's secret, without the secret itself in
// the command (a command is stored and shown: that is what --secret-env is for).
static const QString SameAsSecret =
    u"[ \"${#API_TOKEN}\" = 20 ] && [ \"${API_TOKEN#hunter2-S3cr3t}\" = -value ] && echo same"_s;

class tst_SecretEnv : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();

    void valueReachesTheStepOnlyAndIsMasked();
    void splitWritesAreMasked();
    void valueFromAFile();
    void runFileNamesItsSecrets();
    void restartFailsWhatItCannotRun();
    void commandLineValuesAreRefused_data();
    void commandLineValuesAreRefused();

private:
    // The CLI's environment with `name` set to `value`.
    QProcessEnvironment cliEnvironment(const QString &name, const QString &value) const;
    // Every byte the orchestrator wrote in its data dir (database, WAL, admin.json, ...).
    QByteArray dataDirBytes() const;

    std::unique_ptr<Harness> m_h;
    Child *m_worker = nullptr;
    const QString m_secret = u"hunter2-S3cr3t-value"_s;
};

void tst_SecretEnv::init()
{
    m_h = std::make_unique<Harness>();
    QVERIFY(m_h->startOrchestrator());
    const QString token = m_h->createToken(u"pool"_s);
    m_worker = m_h->startEnrolledWorker(token, m_h->newCacheDir(), u"pool"_s);
    QVERIFY(m_worker);
}

void tst_SecretEnv::cleanup()
{
    m_h.reset();
}

QProcessEnvironment tst_SecretEnv::cliEnvironment(const QString &name, const QString &value) const
{
    QProcessEnvironment env = Harness::baseEnvironment();
    env.insert(u"SWAMP_DATA_DIR"_s, m_h->dataDir());
    env.insert(name, value);
    return env;
}

QByteArray tst_SecretEnv::dataDirBytes() const
{
    QByteArray all;
    QDirIterator it(m_h->dataDir(), QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        QFile file(it.next());
        if (file.open(QIODevice::ReadOnly))
            all += file.readAll();
    }
    return all;
}

void tst_SecretEnv::valueReachesTheStepOnlyAndIsMasked()
{
    const Run run = m_h->cli({u"run"_s, u"--secret-env"_s, u"API_TOKEN"_s, u"--"_s, u"sh"_s, u"-c"_s,
                              u"echo \"token=$API_TOKEN\"; " + SameAsSecret},
                             swampBinary(), cliEnvironment(u"API_TOKEN"_s, m_secret));
    QCOMPARE_EXIT(run, 0);
    QCOMPARE(run.out, u"token=***\nsame\n"_s); // the step had the value; its output shows ***
    const QJsonArray steps = query(*m_h, u"modelType == \"swamp/step\""_s);
    QCOMPARE(steps.size(), 1);
    // Stored output, status, the query model: names only.
    const QJsonObject status = runStatus(*m_h, steps.first().toObject().value(u"id"_s).toString());
    const QJsonObject step = status.value(u"steps"_s).toArray().first().toObject();
    QCOMPARE(step.value(u"maskedEnv"_s).toArray(), QJsonArray{u"API_TOKEN"_s});
    const Run logs = m_h->cli({u"run"_s, u"logs"_s, step.value(u"id"_s).toString()});
    QCOMPARE_EXIT(logs, 0);
    QVERIFY2(logs.out.contains(u"token=***"_s), qPrintable(logs.describe()));
    const QString everything = QString::fromUtf8(QJsonDocument(status).toJson())
                               + m_h->cli({u"data"_s, u"query"_s, u"modelType == \"swamp/step\""_s, u"--json"_s}).out
                               + m_h->orchestratorOutput() + m_worker->output() + logs.out + run.err;
    QVERIFY2(!everything.contains(m_secret), qPrintable(everything));
    QVERIFY(m_h->stopOrchestrator()); // its database and WAL are complete on disk now
    QVERIFY(!dataDirBytes().contains(m_secret.toUtf8()));
}

void tst_SecretEnv::splitWritesAreMasked()
{
    // The value leaves the step in two writes, 300 ms apart: two output chunks.
    const Run run = m_h->cli({u"run"_s, u"--secret-env"_s, u"API_TOKEN"_s, u"--"_s, u"sh"_s, u"-c"_s,
                              u"printf 'before %s' \"${API_TOKEN%%S3cr3t*}\"; sleep 0.3; printf '%s after\\n' \"S3cr3t${API_TOKEN#*S3cr3t}\""_s},
                             swampBinary(), cliEnvironment(u"API_TOKEN"_s, m_secret));
    QCOMPARE_EXIT(run, 0);
    QCOMPARE(run.out, u"before *** after\n"_s);
}

void tst_SecretEnv::valueFromAFile()
{
    const QString file = m_h->tempPath(u"token.txt"_s);
    QFile out(file);
    QVERIFY(out.open(QIODevice::WriteOnly));
    out.write(m_secret.toUtf8() + '\n'); // the trailing newline is not part of the value
    out.close();
    const Run run = m_h->cli({u"run"_s, u"--secret-env"_s, u"API_TOKEN=@"_s + file, u"--"_s, u"sh"_s, u"-c"_s,
                              SameAsSecret});
    QCOMPARE_EXIT(run, 0);
    QCOMPARE(run.out, u"same\n"_s);
}

void tst_SecretEnv::runFileNamesItsSecrets()
{
    const QString file = m_h->tempPath(u"run.json"_s);
    QFile out(file);
    QVERIFY(out.open(QIODevice::WriteOnly));
    out.write(R"([{"name":"deploy","command":["sh","-c","echo $API_TOKEN"],"secretEnv":["API_TOKEN"]}])");
    out.close();
    const Run run = m_h->cli({u"run"_s, u"--file"_s, file}, swampBinary(), cliEnvironment(u"API_TOKEN"_s, m_secret));
    QCOMPARE_EXIT(run, 0);
    QCOMPARE(run.out, u"***\n"_s);
    // A file holding a value is refused, and nothing of it runs.
    QVERIFY(out.open(QIODevice::WriteOnly | QIODevice::Truncate));
    out.write(R"([{"command":["true"],"secretEnv":{"API_TOKEN":"in-the-file"}}])");
    out.close();
    const Run refused = m_h->cli({u"run"_s, u"--file"_s, file});
    QCOMPARE_EXIT(refused, 2);
    QVERIFY2(refused.err.contains(u"a run file never holds secret values"_s), qPrintable(refused.describe()));
    QVERIFY(!refused.err.contains(u"in-the-file"_s));
}

void tst_SecretEnv::restartFailsWhatItCannotRun()
{
    // Queued for a worker nobody has, then the orchestrator restarts: the values were in its
    // memory only, so the step can never run. It fails at once and says why, instead of waiting
    // for the queue timeout or running without them.
    const Run submitted = m_h->cli({u"run"_s, u"--detach"_s, u"--label"_s, u"gpu=yes"_s, u"--secret-env"_s,
                                    u"API_TOKEN"_s, u"--"_s, u"true"_s},
                                   swampBinary(), cliEnvironment(u"API_TOKEN"_s, m_secret));
    QCOMPARE_EXIT(submitted, 0);
    const QString stepId = submitted.outLines().value(0);
    QCOMPARE(stepState(*m_h, stepId), u"queued"_s);
    const quint16 port = m_h->port();
    QVERIFY(m_h->stopOrchestrator());
    QVERIFY(m_h->startOrchestrator(port));
    const QJsonObject step = stepOf(*m_h, stepId);
    QCOMPARE(step.value(u"state"_s).toString(), u"failed"_s);
    QCOMPARE(step.value(u"error"_s).toString(),
             u"its --secret-env values were held in memory by an orchestrator that has restarted or stopped "
             "(they are never stored); submit the step again"_s);
}

void tst_SecretEnv::commandLineValuesAreRefused_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("says");
    QTest::addRow("value-inline") << QStringList{u"--secret-env"_s, u"API_TOKEN=hunter2-S3cr3t-value"_s}
                                  << u"a value on the command line would be visible in ps"_s;
    QTest::addRow("unset") << QStringList{u"--secret-env"_s, u"NOT_SET_ANYWHERE"_s}
                           << u"NOT_SET_ANYWHERE is not set in this environment"_s;
    QTest::addRow("reserved") << QStringList{u"--secret-env"_s, u"SWAMP_WORKER_TOKEN"_s} << u"not a variable name"_s;
}

void tst_SecretEnv::commandLineValuesAreRefused()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, says);
    const Run run = m_h->cli(QStringList{u"run"_s} + arguments + QStringList{u"--"_s, u"true"_s});
    QCOMPARE_EXIT(run, 2);
    QVERIFY2(run.err.contains(says), qPrintable(run.describe()));
    QVERIFY(!run.err.contains(m_secret));
    QCOMPARE(m_h->cli({u"data"_s, u"query"_s, u"modelType == \"swamp/step\""_s, u"--json"_s}).json().value(u"total"_s).toInt(), 0);
}

QTEST_GUILESS_MAIN(tst_SecretEnv)
#include "tst_secret_env.moc"
