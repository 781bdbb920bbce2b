// The zsh and fish completion scripts (`swamp completion zsh|fish`) in the real shells (zsh's
// completion system on a pseudo-terminal, fish's `complete -C`), and the
// names they (and bash) ask of a real orchestrator with a real worker (`swamp __complete`).
// The commands come from the binary's own command table (headless/commands.h), so a command added
// there is checked here without touching this test.

#include "commands.h"
#include "integration/swampharness.h"

#include <QStandardPaths>
#include <QTemporaryDir>

using namespace SwampTest;
using namespace Qt::StringLiterals;

namespace {

// A shell, or a failure that says how to install it.
QString shell(const QString &name)
{
    const QString path = QStandardPaths::findExecutable(name);
    if (path.isEmpty())
        qWarning("%s is not installed: apt-get install %s (scripts/install-deps.sh installs it)",
                 qPrintable(name), qPrintable(name));
    return path;
}

// `fish -c 'complete -C ...'` for each command line: what fish offers, the words only.
struct FishQuery
{
    QString line;
    QStringList expected;
    bool exact;
};

} // namespace

class tst_ShellCompletion : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanup();
    void scriptParses_data();
    void scriptParses();
    void fishCompletes();
    void zshCompletes();
    void namesFromTheOrchestrator();
    void namesWithoutAnOrchestrator_data();
    void namesWithoutAnOrchestrator();

private:
    QString writeScript(const QString &shellName, const QString &fileName);
    QProcessEnvironment shellEnvironment(bool withOrchestrator) const;
    // Runs every query in one fish; the replies, one list of words per query.
    QList<QStringList> fish(const QList<FishQuery> &queries, bool withOrchestrator);
    // What zsh's completion system offers at the end of `line` (tests/cli/zsh-capture.zsh).
    QStringList zsh(const QString &line, bool withOrchestrator);
    // Runs `_swamp` of the bash script for each COMP_WORDS; the replies.
    QList<QStringList> bash(const QList<QStringList> &queries);

    QTemporaryDir m_dir;
    QString m_bin; // holds `swamp`, first in the shells' PATH, as an operator's would
    std::unique_ptr<Harness> m_harness;
};

void tst_ShellCompletion::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_bin = m_dir.filePath(u"bin"_s);
    QVERIFY(QDir().mkpath(m_bin));
    QVERIFY(QFile::link(swampBinary(), m_bin + u"/swamp"_s));
    QVERIFY(QDir().mkpath(m_dir.filePath(u"home"_s)));
}

void tst_ShellCompletion::cleanup()
{
    m_harness.reset();
}

QString tst_ShellCompletion::writeScript(const QString &shellName, const QString &fileName)
{
    Harness harness;
    const Run printed = harness.cli({u"completion"_s, shellName});
    if (printed.exitCode != 0 || !printed.err.isEmpty()) {
        qWarning("%s", qPrintable(printed.describe()));
        return {};
    }
    const QString path = m_dir.filePath(fileName);
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly) ||
        file.write(printed.out.toUtf8()) != printed.out.toUtf8().size())
        return {};
    return path;
}

QProcessEnvironment tst_ShellCompletion::shellEnvironment(bool withOrchestrator) const
{
    QProcessEnvironment env = Harness::baseEnvironment();
    env.insert(u"HOME"_s, m_dir.filePath(u"home"_s));
    env.insert(u"XDG_CONFIG_HOME"_s, m_dir.filePath(u"home/.config"_s));
    env.insert(u"PATH"_s, m_bin + u':' + env.value(u"PATH"_s));
    // Without an orchestrator: a data dir without admin.json.
    env.insert(u"SWAMP_DATA_DIR"_s,
               withOrchestrator ? m_harness->dataDir() : m_dir.filePath(u"nothing"_s));
    return env;
}

void tst_ShellCompletion::scriptParses_data()
{
    QTest::addColumn<QString>("shellName");
    QTest::addColumn<QStringList>("check");
    QTest::addRow("bash") << u"bash"_s << QStringList{u"-n"_s};
    QTest::addRow("zsh") << u"zsh"_s << QStringList{u"-n"_s};
    QTest::addRow("fish") << u"fish"_s << QStringList{u"--no-execute"_s};
}

// Each script passes its shell's syntax check, and zsh and fish load it without a word.
void tst_ShellCompletion::scriptParses()
{
    QFETCH(QString, shellName);
    QFETCH(QStringList, check);
    const QString program = shell(shellName);
    QVERIFY(!program.isEmpty());
    const QString script = writeScript(shellName, u"script."_s + shellName);
    QVERIFY(!script.isEmpty());
    Harness harness;
    const Run syntax = harness.cli(check + QStringList{script}, program, shellEnvironment(false));
    QCOMPARE_EXIT(syntax, 0);
    QVERIFY2(syntax.err.isEmpty(), qPrintable(syntax.describe()));
    QString load;
    if (shellName == u"zsh")
        load =
            u"autoload -Uz compinit && compinit -u && source '%1' && print ${_comps[swamp]}"_s.arg(
                script);
    else if (shellName == u"fish")
        load = u"source '%1'; and complete -c swamp | count"_s.arg(script);
    if (load.isEmpty())
        return;
    const Run loaded = harness.cli({shellName == u"zsh" ? u"-fc"_s : u"-Nc"_s, load}, program,
                                   shellEnvironment(false));
    QCOMPARE_EXIT(loaded, 0);
    QVERIFY2(loaded.err.isEmpty(), qPrintable(loaded.describe()));
    QVERIFY2(shellName == u"zsh" ? loaded.out.trimmed() == u"_swamp"_s
                                 : loaded.out.trimmed().toInt() > 50,
             qPrintable(loaded.describe()));
}

QList<QStringList> tst_ShellCompletion::fish(const QList<FishQuery> &queries, bool withOrchestrator)
{
    const QString script = writeScript(u"fish"_s, u"swamp.fish"_s);
    QString commands = u"source '%1'; or exit 3\n"_s.arg(script);
    for (const FishQuery &query : queries)
        commands += u"complete -C '%1'; echo '<end>'\n"_s.arg(query.line);
    Harness harness;
    const Run run =
        harness.cli({u"-Nc"_s, commands}, shell(u"fish"_s), shellEnvironment(withOrchestrator));
    if (run.exitCode != 0 || !run.err.isEmpty())
        qWarning("%s", qPrintable(run.describe()));
    QList<QStringList> replies;
    QStringList reply;
    for (const QString &line : run.out.split(u'\n', Qt::SkipEmptyParts)) {
        if (line == u"<end>"_s) {
            replies.append(reply);
            reply.clear();
        } else {
            reply.append(line.section(u'\t', 0, 0));
        }
    }
    return replies;
}

// Every command word from a prefix, exactly the options each command's --help lists, directories
// and files where options take them, the shells after `completion`, commands after `--`.
void tst_ShellCompletion::fishCompletes()
{
    QVERIFY(!shell(u"fish"_s).isEmpty());
    QList<FishQuery> queries;
    queries.append({u"swamp wor"_s, {u"worker"_s}, true});
    Harness harness;
    for (const Swamp::Cli::Command &command : Swamp::Cli::commands()) {
        for (qsizetype i = 0; i < command.words.size(); ++i) {
            const QStringList typed = QStringList{u"swamp"_s} + command.words.mid(0, i);
            queries.append({typed.join(u' ') + u' ' + command.words.at(i).left(2),
                            {command.words.at(i)},
                            false});
        }
        QStringList options;
        for (const Swamp::Cli::OptionSpec &option : Swamp::Cli::describe(command).options)
            options.append(u"--"_s + option.name);
        QVERIFY2(options.contains(u"--help"_s), qPrintable(command.words.join(u' ')));
        queries.append({u"swamp "_s + command.words.join(u' ') + u" --"_s, options, true});
    }
    const QString dir = m_dir.filePath(u"completion-dir"_s);
    QVERIFY(QDir().mkpath(dir));
    const QString file = m_dir.filePath(u"completion-file.pem"_s);
    QVERIFY(QFile(file).open(QIODevice::WriteOnly));
    queries.append(
        {u"swamp worker connect --cache-dir "_s + dir.left(dir.size() - 3), {dir + u'/'}, true});
    queries.append({u"swamp serve --tls-cert "_s + file.left(file.size() - 4), {file}, true});
    queries.append({u"swamp backup "_s + file.left(file.size() - 4), {file}, true});
    queries.append({u"swamp completion "_s, {u"bash"_s, u"zsh"_s, u"fish"_s}, true});
    queries.append({u"swamp worker connect --token "_s, {}, true});
    queries.append({u"swamp run -- bas"_s, {u"bash"_s}, false});
    // Without an orchestrator the names are simply not there.
    queries.append({u"swamp worker show "_s, {}, true});

    const QList<QStringList> replies = fish(queries, false);
    QCOMPARE(replies.size(), queries.size());
    for (qsizetype i = 0; i < queries.size(); ++i) {
        const FishQuery &query = queries.at(i);
        const QStringList &reply = replies.at(i);
        const QString context = u"completing [%1] gave [%2], expected [%3]"_s.arg(
            query.line, reply.join(u' '), query.expected.join(u' '));
        if (query.exact) {
            QVERIFY2(QSet<QString>(reply.cbegin(), reply.cend()) ==
                         QSet<QString>(query.expected.cbegin(), query.expected.cend()),
                     qPrintable(context));
        } else {
            for (const QString &word : query.expected)
                QVERIFY2(reply.contains(word), qPrintable(context));
        }
    }
}

QStringList tst_ShellCompletion::zsh(const QString &line, bool withOrchestrator)
{
    const QString script = m_dir.filePath(u"_swamp"_s);
    if (!QFile::exists(script) && writeScript(u"zsh"_s, u"_swamp"_s).isEmpty())
        return {};
    QProcessEnvironment env = shellEnvironment(withOrchestrator);
    env.insert(u"TMPDIR"_s, m_dir.path());
    Harness harness;
    const Run run = harness.cli(
        {u"-f"_s, QStringLiteral(SWAMP_SOURCE_DIR "/tests/cli/zsh-capture.zsh"), script, line},
        shell(u"zsh"_s), env);
    if (run.exitCode != 0 || !run.err.isEmpty())
        qWarning("%s", qPrintable(run.describe()));
    QStringList words = run.out.split(u'\n', Qt::SkipEmptyParts);
    words.removeDuplicates();
    return words;
}

// The same as fishCompletes() in zsh's own completion system: typed with a Tab on a terminal.
void tst_ShellCompletion::zshCompletes()
{
    QVERIFY(!shell(u"zsh"_s).isEmpty());
    QCOMPARE(zsh(u"swamp wor"_s, false), QStringList{u"worker"_s});
    for (const Swamp::Cli::Command &command : Swamp::Cli::commands()) {
        for (qsizetype i = 0; i < command.words.size(); ++i) {
            const QStringList typed = QStringList{u"swamp"_s} + command.words.mid(0, i);
            const QString line = typed.join(u' ') + u' ' + command.words.at(i).left(2);
            QVERIFY2(zsh(line, false).contains(command.words.at(i)), qPrintable(line));
        }
        QStringList options;
        for (const Swamp::Cli::OptionSpec &option : Swamp::Cli::describe(command).options)
            options.append(u"--"_s + option.name);
        const QString line = u"swamp "_s + command.words.join(u' ') + u" --"_s;
        const QStringList reply = zsh(line, false);
        QVERIFY2(
            QSet<QString>(reply.cbegin(), reply.cend()) ==
                QSet<QString>(options.cbegin(), options.cend()),
            qPrintable(line + u": "_s + reply.join(u' ') + u" instead of "_s + options.join(u' ')));
    }
    // Directories and files complete their last component.
    const QString dir = m_dir.filePath(u"zsh-dir"_s);
    QVERIFY(QDir().mkpath(dir));
    QVERIFY(QFile(m_dir.filePath(u"zsh-file.pem"_s)).open(QIODevice::WriteOnly));
    QCOMPARE(zsh(u"swamp worker connect --cache-dir "_s + dir.left(dir.size() - 2), false),
             QStringList{u"zsh-dir"_s});
    QCOMPARE(zsh(u"swamp serve --tls-cert "_s + m_dir.filePath(u"zsh-file."_s), false),
             QStringList{u"zsh-file.pem"_s});
    QCOMPARE(zsh(u"swamp backup "_s + m_dir.filePath(u"zsh-f"_s), false),
             QStringList{u"zsh-file.pem"_s});
    const QStringList shells = zsh(u"swamp completion "_s, false);
    QCOMPARE(QSet<QString>(shells.cbegin(), shells.cend()),
             (QSet<QString>{u"bash"_s, u"zsh"_s, u"fish"_s}));
    QVERIFY(zsh(u"swamp run -- bas"_s, false).contains(u"bash"_s));
    QCOMPARE(zsh(u"swamp worker connect --token "_s, false), QStringList());
    QCOMPARE(zsh(u"swamp worker show "_s, false), QStringList());
}

QList<QStringList> tst_ShellCompletion::bash(const QList<QStringList> &queries)
{
    const QString script = writeScript(u"bash"_s, u"swamp.bash"_s);
    QString commands = u"source '%1' || exit 3\n"
                       "q() { COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _swamp; "
                       "printf '%s\\n' \"${COMPREPLY[*]}\"; }\n"_s.arg(script);
    for (const QStringList &words : queries) {
        QStringList quoted;
        for (const QString &word : words)
            quoted.append(u'\'' + word + u'\'');
        commands += u"q "_s + quoted.join(u' ') + u'\n';
    }
    const Run run = m_harness->cli({u"-c"_s, commands}, shell(u"bash"_s), shellEnvironment(true));
    if (run.exitCode != 0 || !run.err.isEmpty())
        qWarning("%s", qPrintable(run.describe()));
    QList<QStringList> replies;
    for (const QString &line : run.out.split(u'\n').mid(0, queries.size()))
        replies.append(line.split(u' ', Qt::SkipEmptyParts));
    return replies;
}

// With a real orchestrator and a real worker: `swamp __complete` prints the worker, the token
// and the step, and bash and fish offer them where a command takes one.
void tst_ShellCompletion::namesFromTheOrchestrator()
{
    QVERIFY(!shell(u"fish"_s).isEmpty());
    m_harness = std::make_unique<Harness>();
    Harness &harness = *m_harness;
    QVERIFY(harness.startOrchestrator());
    const QString token = harness.createToken(u"ci"_s);
    QVERIFY(!token.isEmpty());
    QVERIFY(!harness.createToken(u"spare"_s).isEmpty());
    Child *worker = harness.startEnrolledWorker(token, harness.newCacheDir(), {},
                                                {u"--name"_s, u"builder-1"_s});
    QVERIFY(worker);
    QTRY_COMPARE_WITH_TIMEOUT(harness.workerStatus(u"builder-1"_s), u"idle"_s, 30000);
    QCOMPARE_EXIT(harness.cli({u"run"_s, u"--"_s, u"true"_s}), 0);
    const Run steps = harness.cli({u"data"_s, u"query"_s, u"modelType == \"swamp/step\""_s,
                                   u"--select"_s, u"id"_s, u"--json"_s});
    QCOMPARE_EXIT(steps, 0);
    const QString stepId = steps.json().value(u"results"_s).toArray().first().toString();
    QVERIFY2(!stepId.isEmpty(), qPrintable(steps.describe()));

    const Run workers = harness.cli({u"__complete"_s, u"workers"_s});
    QCOMPARE_EXIT(workers, 0);
    QCOMPARE(workers.out, u"builder-1\n"_s);
    QVERIFY(workers.err.isEmpty());
    const Run tokens = harness.cli({u"__complete"_s, u"tokens"_s});
    QCOMPARE_EXIT(tokens, 0);
    QCOMPARE(tokens.out, u"ci\nspare\n"_s);
    const Run stepIds = harness.cli({u"__complete"_s, u"steps"_s});
    QCOMPARE_EXIT(stepIds, 0);
    QVERIFY2(stepIds.outLines().contains(stepId), qPrintable(stepIds.describe()));
    // A revoked token can be neither revoked nor extended: not offered.
    QCOMPARE_EXIT(harness.cli({u"worker"_s, u"token"_s, u"revoke"_s, u"spare"_s}), 0);
    QCOMPARE(harness.cli({u"__complete"_s, u"tokens"_s}).out, u"ci\n"_s);

    const QList<QStringList> bashReplies =
        bash({{u"swamp"_s, u"worker"_s, u"pause"_s, u"bu"_s},
              {u"swamp"_s, u"worker"_s, u"token"_s, u"extend"_s, QString()},
              {u"swamp"_s, u"run"_s, u"logs"_s, stepId.left(8)},
              {u"swamp"_s, u"run"_s, u"--target"_s, QString()}});
    QCOMPARE(bashReplies.size(), 4);
    QCOMPARE(bashReplies.at(0), QStringList{u"builder-1"_s});
    QCOMPARE(bashReplies.at(1), QStringList{u"ci"_s});
    QVERIFY2(bashReplies.at(2).contains(stepId), qPrintable(bashReplies.at(2).join(u' ')));
    QCOMPARE(bashReplies.at(3), QStringList{u"builder-1"_s});

    const QList<QStringList> fishReplies = fish({{u"swamp worker drain "_s, {}, true},
                                                 {u"swamp worker token revoke "_s, {}, true},
                                                 {u"swamp run cancel "_s, {}, true},
                                                 {u"swamp run --target b"_s, {}, true}},
                                                true);
    QCOMPARE(fishReplies.size(), 4);
    QCOMPARE(fishReplies.at(0), QStringList{u"builder-1"_s});
    QCOMPARE(fishReplies.at(1), QStringList{u"ci"_s});
    QVERIFY2(fishReplies.at(2).contains(stepId), qPrintable(fishReplies.at(2).join(u' ')));
    QCOMPARE(fishReplies.at(3), QStringList{u"builder-1"_s});

    QCOMPARE(zsh(u"swamp worker resume "_s, true), QStringList{u"builder-1"_s});
    QCOMPARE(zsh(u"swamp worker token extend c"_s, true), QStringList{u"ci"_s});
    QVERIFY(zsh(u"swamp run status "_s, true).contains(stepId));
    QCOMPARE(zsh(u"swamp run --target "_s, true), QStringList{u"builder-1"_s});
}

void tst_ShellCompletion::namesWithoutAnOrchestrator_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("server");
    QTest::addRow("no-admin-json") << QStringList{u"__complete"_s, u"workers"_s} << QString();
    QTest::addRow("nothing-listens")
        << QStringList{u"__complete"_s, u"tokens"_s} << u"ws://127.0.0.1:1"_s;
    QTest::addRow("unknown-kind") << QStringList{u"__complete"_s, u"planets"_s} << QString();
    QTest::addRow("no-kind") << QStringList{u"__complete"_s} << QString();
    QTest::addRow("unknown-option")
        << QStringList{u"__complete"_s, u"steps"_s, u"--frobnicate"_s} << QString();
}

// No orchestrator, or a question it cannot answer: nothing on stdout or stderr, exit 0, so that
// the operator's command line stays as it is.
void tst_ShellCompletion::namesWithoutAnOrchestrator()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, server);
    QProcessEnvironment env = shellEnvironment(false);
    if (!server.isEmpty()) {
        env.insert(u"SWAMP_SERVER"_s, server);
        env.insert(u"SWAMP_ADMIN_TOKEN"_s, u"not-a-token"_s);
    }
    Harness harness;
    const Run run = harness.cli(arguments, swampBinary(), env);
    QCOMPARE_EXIT(run, 0);
    QVERIFY2(run.out.isEmpty() && run.err.isEmpty(), qPrintable(run.describe()));
}

QTEST_GUILESS_MAIN(tst_ShellCompletion)
#include "tst_shell_completion.moc"
