// `swamp serve --config` and `swamp worker connect --config` (issue 21): an INI file of the
// commands' long options, under [serve] / [worker] or at the top. Flags win over environment
// variables, which win over the file, which wins over the defaults. Every mistake in the file is
// a usage error (exit 2) naming the file, the key and the fix, before anything starts.
#include "swampharness.h"

#include <QFile>
#include <QLocalServer>
#include <QRegularExpression>
#include <QTest>

#include <tuple>

#include <unistd.h>

using namespace Qt::StringLiterals;
using namespace SwampTest;

class tst_ConfigFile : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void serveReadsListenAndDataDir_data();
    void serveReadsListenAndDataDir();
    void listenOverFile_data();
    void listenOverFile();
    void workerReadsItsSection();
    void secretFileReadableByOthersWarns();
    void serveWarnsOfSecretsInASharedFile_data();
    void serveWarnsOfSecretsInASharedFile();
    void mistakesAreUsageErrors_data();
    void mistakesAreUsageErrors();
    void badValueGivesTheFlagsMessage_data();
    void badValueGivesTheFlagsMessage();
    void unreadableFileIsAUsageError();
    void otherFilesAreUsageErrors_data();
    void otherFilesAreUsageErrors();

private:
    QString writeConfig(const QString &name, const QString &text,
                        QFileDevice::Permissions permissions = QFileDevice::ReadOwner |
                                                               QFileDevice::WriteOwner);
    // Starts `swamp <arguments>` and waits until its stdout holds `awaited` or it ended.
    Child *startSwamp(const QStringList &arguments, const QProcessEnvironment &environment,
                      const QString &awaited);
    Child *startServe(const QStringList &arguments, const QProcessEnvironment &environment)
    {
        return startSwamp(QStringList{u"serve"_s} + arguments, environment, u"\n"_s);
    }
    static QString dataDirOf(Child *serve);

    std::unique_ptr<Harness> h;
    std::vector<std::unique_ptr<Child>> m_children;
};

void tst_ConfigFile::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    h = std::make_unique<Harness>();
}

void tst_ConfigFile::cleanup()
{
    for (const auto &child : m_children) {
        if (child->isRunning()) {
            child->process.kill();
            child->process.waitForFinished(10000);
        }
    }
    m_children.clear();
    h.reset();
}

QString tst_ConfigFile::writeConfig(const QString &name, const QString &text,
                                    QFileDevice::Permissions permissions)
{
    const QString path = h->tempPath(name);
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate) || file.write(text.toUtf8()) < 0)
        qFatal("cannot write %s", qPrintable(path));
    file.close();
    file.setPermissions(permissions);
    return path;
}

Child *tst_ConfigFile::startSwamp(const QStringList &arguments,
                                  const QProcessEnvironment &environment, const QString &awaited)
{
    m_children.push_back(std::make_unique<Child>(arguments.join(u' ')));
    Child *child = m_children.back().get();
    child->process.setProcessEnvironment(environment);
    child->process.start(swampBinary(), arguments);
    // The caller checks what it awaited; a child that never printed it fails there, with its
    // output.
    std::ignore =
        QTest::qWaitFor([&] { return child->outContains(awaited) || !child->isRunning(); }, 30000);
    return child;
}

// The data dir of `Listening on ws://127.0.0.1:PORT (swamp V, data DIR)`, empty without it.
QString tst_ConfigFile::dataDirOf(Child *serve)
{
    static const QRegularExpression first(
        u"^Listening on ws://127\\.0\\.0\\.1:(\\d+) \\(swamp \\S+, data (.+)\\)\n"_s);
    const QRegularExpressionMatch match = first.match(serve->out());
    // Port 0 in the file: the system's pick, never swamp's default 9090.
    if (!match.hasMatch() || match.captured(1) == u"9090"_s)
        return {};
    return match.captured(2);
}

void tst_ConfigFile::serveReadsListenAndDataDir_data()
{
    QTest::addColumn<QStringList>("flags");
    QTest::addColumn<QString>("environmentDataDir");
    QTest::addColumn<bool>("swampConfig"); // the path in SWAMP_CONFIG instead of --config
    QTest::addColumn<QString>("expectedDataDir");
    QTest::addRow("file") << QStringList{} << QString() << false << u"from-file"_s;
    QTest::addRow("SWAMP_CONFIG") << QStringList{} << QString() << true << u"from-file"_s;
    QTest::addRow("flag-over-file")
        << QStringList{u"--data-dir"_s, u"FLAG"_s} << QString() << false << u"flag"_s;
    QTest::addRow("environment-over-file") << QStringList{} << u"env"_s << false << u"env"_s;
    QTest::addRow("flag-over-environment")
        << QStringList{u"--data-dir"_s, u"FLAG"_s} << u"env"_s << true << u"flag"_s;
}

// listen and data-dir come from the file; a flag or SWAMP_DATA_DIR outranks the file's data-dir.
void tst_ConfigFile::serveReadsListenAndDataDir()
{
    QFETCH(QStringList, flags);
    QFETCH(QString, environmentDataDir);
    QFETCH(bool, swampConfig);
    QFETCH(QString, expectedDataDir);
    const QString path = writeConfig(
        u"swamp.ini"_s,
        u"log-level = info\n[serve]\nlisten = 127.0.0.1:0\n"
        "data-dir = %1\nretention = 1h ; a comment\n"
        "[worker]\ncache-dir = /nonexistent/worker\n"_s.arg(h->tempPath(u"from-file"_s)));
    flags.replaceInStrings(u"FLAG"_s, h->tempPath(u"flag"_s));
    QProcessEnvironment env = Harness::baseEnvironment();
    if (!environmentDataDir.isEmpty())
        env.insert(u"SWAMP_DATA_DIR"_s, h->tempPath(environmentDataDir));
    if (swampConfig)
        env.insert(u"SWAMP_CONFIG"_s, path);
    else
        flags << u"--config"_s << path;
    Child *serve = startServe(flags, env);
    QVERIFY2(dataDirOf(serve) == h->tempPath(expectedDataDir), qPrintable(serve->describe()));
}

// The command line's --listen and SWAMP_LISTEN outrank the file's port 1, which only root could
// bind (and `swamp serve` would then listen on a fixed port).
void tst_ConfigFile::listenOverFile_data()
{
    QTest::addColumn<QStringList>("flags");
    QTest::addColumn<QString>("environment");
    QTest::addRow("flag") << QStringList{u"--listen"_s, u"127.0.0.1:0"_s} << QString();
    QTest::addRow("SWAMP_LISTEN") << QStringList{} << u"127.0.0.1:0"_s;
}

void tst_ConfigFile::listenOverFile()
{
    QFETCH(QStringList, flags);
    QFETCH(QString, environment);
    const QString path = writeConfig(u"port1.ini"_s, u"[serve]\nlisten = 127.0.0.1:1\n"_s);
    QProcessEnvironment env = Harness::baseEnvironment();
    if (!environment.isEmpty())
        env.insert(u"SWAMP_LISTEN"_s, environment);
    Child *serve =
        startServe(QStringList{u"--config"_s, path, u"--data-dir"_s, h->dataDir()} + flags, env);
    QVERIFY2(dataDirOf(serve) == h->dataDir(), qPrintable(serve->describe()));
}

// One file for both commands: the worker takes its url, token, cache-dir, name and labels (a
// list, as one value with commas) from [worker], the log level from the top, and ignores [serve].
void tst_ConfigFile::workerReadsItsSection()
{
    QVERIFY(h->startOrchestrator());
    const QString token = h->createToken(u"pool"_s);
    QVERIFY(!token.isEmpty());
    const QString path = writeConfig(
        u"swamp.ini"_s,
        u"; one file for the orchestrator and the worker\nlog-level = info\n"
        "[serve]\nlisten = 0.0.0.0:9090\n"
        "[worker]\nurl = %1\ntoken = %2\ncache-dir = %3\nname = from-file\n"
        "label = region=eu,gpu=1\nconcurrency = 2\n"_s.arg(h->url(), token, h->newCacheDir()));
    Child *worker = startSwamp({u"worker"_s, u"connect"_s, u"--config"_s, path},
                               Harness::baseEnvironment(), u"enrolled as from-file "_s);
    QVERIFY2(worker->outContains(u"enrolled as from-file "_s), qPrintable(worker->describe()));
    const QJsonObject record = h->workerNamed(u"from-file"_s);
    QCOMPARE(record.value(u"labels"_s).toObject(),
             (QJsonObject{{u"region"_s, u"eu"_s}, {u"gpu"_s, u"1"_s}}));
    QCOMPARE(record.value(u"capacity"_s).toInt(), 2);
    QVERIFY2(!worker->output().contains(token.section(u'.', 1)), qPrintable(worker->describe()));
    QVERIFY2(!worker->errContains(u"warning"_s), qPrintable(worker->describe())); // mode 0600
}

// A token in a file its group or others may read: a warning naming the file and the chmod, and
// never the token.
void tst_ConfigFile::secretFileReadableByOthersWarns()
{
    QVERIFY(h->startOrchestrator());
    const QString token = h->createToken(u"pool"_s);
    QVERIFY(!token.isEmpty());
    const QString path = writeConfig(
        u"worker.ini"_s, u"[worker]\ntoken = %1\ncache-dir = %2\n"_s.arg(token, h->newCacheDir()),
        QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ReadGroup |
            QFileDevice::ReadOther);
    Child *worker = h->startEnrolledWorker({}, {}, {}, {u"--config"_s, path});
    QVERIFY(worker);
    QVERIFY2(
        worker->errContains(u"warning: config file %1 holds a secret and other users may read it "
                            "(mode 0644); chmod 0600 %1\n"_s.arg(path)),
        qPrintable(worker->describe()));
    QVERIFY2(!worker->output().contains(token.section(u'.', 1)), qPrintable(worker->describe()));
}

void tst_ConfigFile::serveWarnsOfSecretsInASharedFile_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("secret");
    QTest::addRow("workers-token") << u"[worker]\ntoken = pool.0123456789abcdef\n"_s << true;
    QTest::addRow("database-password")
        << u"[serve]\ndatabase = postgresql://swamp:hunter2@db.invalid/swamp\n"_s << true;
    QTest::addRow("token-file") << u"[worker]\ntoken-file = /etc/swamp/worker.token\n"_s << false;
}

// One file for both commands is as open as serve's dynamic user needs: serve warns of the
// worker's token in it too, and of a database password (it need not connect to say so).
void tst_ConfigFile::serveWarnsOfSecretsInASharedFile()
{
    QFETCH(QString, text);
    QFETCH(bool, secret);
    const QString path =
        writeConfig(u"swamp.ini"_s,
                    u"[serve]\nlisten = 127.0.0.1:0\ndata-dir = %1\n"_s.arg(h->dataDir()) + text,
                    QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ReadGroup |
                        QFileDevice::ReadOther);
    // The second [serve] of the database row is one section with the first, to QSettings and to
    // the check. A bad flag stops serve after it read the file, before it connects or listens.
    const Run run = h->cli({u"serve"_s, u"--config"_s, path, u"--heartbeat-interval"_s, u"0s"_s});
    QCOMPARE_EXIT(run, 2);
    const QString warning =
        u"warning: config file %1 holds a secret and other users may read it (mode 0644); "
        "chmod 0600 %1\n"_s.arg(path);
    QVERIFY2(run.err.contains(warning) == secret, qPrintable(run.describe()));
    QVERIFY2(!run.err.contains(u"hunter2"_s) && !run.err.contains(u"0123456789abcdef"_s),
             qPrintable(run.describe()));
}

void tst_ConfigFile::mistakesAreUsageErrors_data()
{
    QTest::addColumn<QString>("command");
    QTest::addColumn<QString>("text"); // empty: PATH is what `path` names
    QTest::addColumn<QString>("path"); // "file", "missing", "directory", "empty"
    QTest::addColumn<QString>("message");
    const QString fixKeys = u"the keys of [serve] are: "_s;
    QTest::addRow("missing")
        << u"serve"_s << QString() << u"missing"_s
        << u"error: config file PATH does not exist — check the path given to --config (or SWAMP_CONFIG)\n"_s;
    QTest::addRow("directory")
        << u"serve"_s << QString() << u"directory"_s
        << u"error: config file PATH is a directory — pass the path of an INI file, such as /etc/swamp/swamp.ini\n"_s;
    QTest::addRow("empty-path") << u"worker connect"_s << QString() << u"empty"_s
                                << u"error: --config needs the path of an INI file\n"_s;
    QTest::addRow("typo")
        << u"serve"_s << u"[serve]\nlisten = 127.0.0.1:0\nretension = 1h\n"_s << u"file"_s
        << u"error: unknown key \"retension\" in [serve] of PATH; did you mean \"retention\"? — "_s +
               fixKeys;
    QTest::addRow("typo-at-the-top")
        << u"worker connect"_s << u"lables = a=b\n"_s << u"file"_s
        << u"error: unknown key \"lables\" in the top of PATH; did you mean \"label\"?"_s;
    QTest::addRow("unknown-without-suggestion")
        << u"serve"_s << u"[serve]\ncolour = red\n"_s << u"file"_s
        << u"error: unknown key \"colour\" in [serve] of PATH — "_s + fixKeys;
    QTest::addRow("worker-key-for-serve")
        << u"serve"_s << u"[serve]\ncache-dir = /var/lib/swamp-worker\n"_s << u"file"_s
        << u"error: key \"cache-dir\" in [serve] of PATH is an option of [worker], not of [serve] — move it under [worker]\n"_s;
    QTest::addRow("serve-key-at-the-top-for-worker")
        << u"worker connect"_s << u"listen = 0.0.0.0:9090\n[worker]\nconcurrency = 2\n"_s
        << u"file"_s
        << u"error: key \"listen\" in the top of PATH is an option of [serve], not of [worker] — move it under [serve]\n"_s;
    QTest::addRow("unknown-section")
        << u"serve"_s << u"[sever]\nlisten = 127.0.0.1:0\n"_s << u"file"_s
        << u"error: unknown section [sever] in PATH; did you mean [serve]? — the sections are [serve], [worker]\n"_s;
    QTest::addRow("twice")
        << u"worker connect"_s << u"[worker]\nlabel = a=1\nlabel = b=2\n"_s << u"file"_s
        << u"error: key \"label\" appears twice in [worker] of PATH — give it once, with the values separated by commas (label = a=1,b=2)\n"_s;
    QTest::addRow("switch-not-boolean")
        << u"serve"_s << u"[serve]\njson = maybe\n"_s << u"file"_s
        << u"error: key \"json\" in [serve] of PATH takes true or false, not \"maybe\" — write json = true or json = false\n"_s;
    QTest::addRow("config-in-config")
        << u"serve"_s << u"config = /etc/swamp/other.ini\n"_s << u"file"_s
        << u"error: unknown key \"config\" in the top of PATH — "_s + fixKeys;
    QTest::addRow("bad-log-level")
        << u"serve"_s << u"log-level = loud\n"_s << u"file"_s
        << u"error: --log-level: unknown log level \"loud\" — use one of error, warning, info, "
           u"debug\n"
           "note: PATH set log-level (flags and environment variables win over it)\n"_s;
}

// Nothing starts: exit 2, the message on stderr, nothing on stdout.
void tst_ConfigFile::mistakesAreUsageErrors()
{
    QFETCH(QString, command);
    QFETCH(QString, text);
    QFETCH(QString, path);
    QFETCH(QString, message);
    QString config;
    if (path == u"file")
        config = writeConfig(u"swamp.ini"_s, text);
    else if (path == u"missing")
        config = h->tempPath(u"nonexistent.ini"_s);
    else if (path == u"directory")
        config = h->tempPath(u"a-directory"_s), QDir().mkpath(config);
    const Run run = h->cli(command.split(u' ') + QStringList{u"--config"_s, config});
    QCOMPARE_EXIT(run, 2);
    QVERIFY2(run.err.startsWith(QString(message).replace(u"PATH"_s, config)),
             qPrintable(run.describe()));
    QVERIFY2(run.err.endsWith(u"Run 'swamp %1 --help' for usage.\n"_s.arg(command)),
             qPrintable(run.describe()));
    QVERIFY2(run.out.isEmpty(), qPrintable(run.describe()));
}

void tst_ConfigFile::badValueGivesTheFlagsMessage_data()
{
    QTest::addColumn<QString>("command");
    QTest::addColumn<QString>("key");
    QTest::addColumn<QString>("value");
    QTest::addRow("duration") << u"serve"_s << u"heartbeat-interval"_s << u"soon"_s;
    QTest::addRow("listen") << u"serve"_s << u"listen"_s << u"127.0.0.1:99999"_s;
    QTest::addRow("label") << u"worker connect"_s << u"label"_s << u"bad label!=x"_s;
    QTest::addRow("concurrency") << u"worker connect"_s << u"concurrency"_s << u"lots"_s;
}

// A bad value in the file: the message the same flag gives, and a note naming the file.
void tst_ConfigFile::badValueGivesTheFlagsMessage()
{
    QFETCH(QString, command);
    QFETCH(QString, key);
    QFETCH(QString, value);
    const bool worker = command != u"serve"_s;
    QStringList rest{u"--data-dir"_s, h->tempPath(u"data"_s)};
    if (worker)
        rest = {u"ws://127.0.0.1:9/"_s, u"--token"_s, u"pool.secret"_s};
    const Run flag = h->cli(command.split(u' ') + rest + QStringList{u"--"_s + key, value});
    QCOMPARE_EXIT(flag, 2);
    const QString path =
        writeConfig(u"swamp.ini"_s,
                    u"[%1]\n%2 = \"%3\"\n"_s.arg(worker ? u"worker"_s : u"serve"_s, key, value));
    const Run file = h->cli(command.split(u' ') + rest + QStringList{u"--config"_s, path});
    QCOMPARE_EXIT(file, 2);
    const QString firstLine = flag.err.section(u'\n', 0, 0);
    QVERIFY2(firstLine.startsWith(u"error: "_s), qPrintable(flag.describe()));
    QCOMPARE(file.err,
             firstLine + u"\nnote: %1 set %2 (flags and environment variables win over it)\n"
                         "Run 'swamp %3 --help' for usage.\n"_s.arg(path, key, command));
}

// A file open() refuses: mode 0000. Root reads every file, so as root swamp runs as nobody,
// with the test's directory opened to it (the file itself stays closed), from a copy of the
// binary in that directory: the build tree may be where nobody can reach (a clone in /root).
void tst_ConfigFile::unreadableFileIsAUsageError()
{
    const QString path = writeConfig(u"locked.ini"_s, u"[serve]\nlisten = 127.0.0.1:0\n"_s, {});
    QProcess process;
    process.setProcessEnvironment(Harness::baseEnvironment());
    QString binary = swampBinary();
    if (::geteuid() == 0) {
        const QString dir = QFileInfo(path).absolutePath();
        QVERIFY(QFile::setPermissions(dir, QFileDevice::ReadOwner | QFileDevice::WriteOwner |
                                               QFileDevice::ExeOwner | QFileDevice::ExeOther));
        binary = dir + u"/swamp"_s;
        QFile::remove(binary);
        QVERIFY(QFile::copy(swampBinary(), binary));
        QVERIFY(QFile::setPermissions(binary, QFileDevice::ReadOwner | QFileDevice::ExeOwner |
                                                  QFileDevice::ReadOther | QFileDevice::ExeOther));
        process.setChildProcessModifier([] {
            if (::setgid(65534) != 0 || ::setuid(65534) != 0)
                ::_exit(99);
        });
    }
    process.start(binary, {u"serve"_s, u"--config"_s, path});
    QVERIFY2(process.waitForStarted(30000), qPrintable(binary + u": "_s + process.errorString()));
    QVERIFY(process.waitForFinished(30000));
    const QString err = QString::fromUtf8(process.readAllStandardError());
    QVERIFY2(process.exitCode() == 2, qPrintable(err));
    QVERIFY2(err.startsWith(u"error: cannot read config file %1: "_s.arg(path)), qPrintable(err));
    QVERIFY2(err.contains(u" — make it readable by the user running swamp\n"_s), qPrintable(err));
}

void tst_ConfigFile::otherFilesAreUsageErrors_data()
{
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("message");
    QTest::addRow("socket")
        << u"socket"_s
        << u"error: config file PATH is not a regular file — pass the path of an INI file, such as /etc/swamp/swamp.ini\n"_s;
    QTest::addRow("device")
        << u"/dev/zero"_s
        << u"error: config file PATH is not a regular file — pass the path of an INI file, such as /etc/swamp/swamp.ini\n"_s;
    QTest::addRow("huge")
        << u"huge"_s
        << u"error: config file PATH is larger than 1024 KiB — pass the INI file of swamp's options, not another file\n"_s;
}

// What is no config file at all: a socket, a device that never ends, a file of megabytes.
void tst_ConfigFile::otherFilesAreUsageErrors()
{
    QFETCH(QString, kind);
    QFETCH(QString, message);
    QString path = kind;
    QLocalServer socket;
    if (kind == u"socket"_s) {
        path = h->tempPath(u"socket.ini"_s);
        QVERIFY2(socket.listen(path), qPrintable(socket.errorString()));
    } else if (kind == u"huge"_s) {
        path = writeConfig(u"huge.ini"_s, u"; padding\n"_s.repeated(120 * 1024));
    }
    const Run run = h->cli({u"serve"_s, u"--config"_s, path});
    QCOMPARE_EXIT(run, 2);
    QVERIFY2(run.err.startsWith(QString(message).replace(u"PATH"_s, path)),
             qPrintable(run.describe()));
}

QTEST_GUILESS_MAIN(tst_ConfigFile)
#include "tst_config_file.moc"
