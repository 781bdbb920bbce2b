// `swamp --help`, every command's and group's --help, and the bash completion script, from the
// real binary. The commands come from the binary's own command table (headless/commands.h), so
// a command added there is checked here without touching this test.

#include "commands.h"
#include "integration/swampharness.h"

#include <QRegularExpression>
#include <QSet>
#include <QStandardPaths>
#include <QTemporaryDir>

using namespace SwampTest;
using namespace Qt::StringLiterals;

namespace {

Harness &harness()
{
    static Harness instance;
    return instance;
}

Run swamp(const QStringList &arguments)
{
    return harness().cli(arguments);
}

// Command groups: every proper prefix of a command's words that is not a command itself.
QList<QStringList> groups()
{
    QList<QStringList> found;
    for (const Swamp::Cli::Command &command : Swamp::Cli::commands()) {
        for (qsizetype n = 1; n < command.words.size(); ++n) {
            const QStringList prefix = command.words.mid(0, n);
            const bool isCommand = std::any_of(
                Swamp::Cli::commands().cbegin(), Swamp::Cli::commands().cend(),
                [&](const Swamp::Cli::Command &other) { return other.words == prefix; });
            if (!isCommand && !found.contains(prefix))
                found.append(prefix);
        }
    }
    return found;
}

// The --options a command's help lists.
QStringList helpOptions(const QString &help)
{
    static const QRegularExpression option(u"^  (?:-\\w, )?(--[\\w-]+)"_s,
                                           QRegularExpression::MultilineOption);
    QStringList options;
    for (auto it = option.globalMatch(help); it.hasNext();)
        options.append(it.next().captured(1));
    return options;
}

} // namespace

class tst_CliHelp : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void topLevelHelp();
    void commandHelp_data();
    void commandHelp();
    void groupHelp_data();
    void groupHelp();
    void helpCommand();
    void completionScriptParses();
    void completionCompletes();
    void completionUsageErrors();

private:
    QTemporaryDir m_dir;
    QString m_script;
};

void tst_CliHelp::initTestCase()
{
    QVERIFY(m_dir.isValid());
    QVERIFY(Swamp::Cli::commands().size() >= 16);
    const Run completion = swamp({u"completion"_s, u"bash"_s});
    QCOMPARE_EXIT(completion, 0);
    m_script = m_dir.filePath(u"swamp.bash"_s);
    QFile file(m_script);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(completion.out.toUtf8());
}

void tst_CliHelp::topLevelHelp()
{
    for (const QString &flag : {u"--help"_s, u"-h"_s, u"help"_s}) {
        const Run run = swamp({flag});
        QCOMPARE_EXIT(run, 0);
        QVERIFY2(run.out.startsWith(u"Usage: swamp <command> [options]\n"_s), qPrintable(run.out));
        QVERIFY2(run.out.contains(u"\nExamples:\n"_s), qPrintable(run.out));
        for (const Swamp::Cli::Command &command : Swamp::Cli::commands()) {
            const QString line = u"  "_s + command.words.join(u' ');
            QVERIFY2(run.out.contains(line), qPrintable(line));
            QVERIFY2(run.out.contains(command.summary), qPrintable(command.summary));
        }
    }
    // No command at all: the same overview, but a usage exit code.
    const Run bare = swamp({});
    QCOMPARE_EXIT(bare, 2);
    QVERIFY(bare.out.startsWith(u"Usage: swamp <command> [options]\n"_s));
}

void tst_CliHelp::commandHelp_data()
{
    QTest::addColumn<QStringList>("words");
    for (const Swamp::Cli::Command &command : Swamp::Cli::commands())
        QTest::addRow("%s", qPrintable(command.words.join(u' '))) << command.words;
}

// Each command: a usage line, a description, its options, and examples that use it.
void tst_CliHelp::commandHelp()
{
    QFETCH(QStringList, words);
    const QString name = words.join(u' ');
    for (const QString &flag : {u"--help"_s, u"-h"_s}) {
        const Run run = swamp(words + QStringList{flag});
        QCOMPARE_EXIT(run, 0);
        QVERIFY2(run.err.isEmpty(), qPrintable(run.describe()));
        const QStringList lines = run.out.split(u'\n');
        QVERIFY2(lines.value(0).startsWith(u"Usage: swamp "_s + name), qPrintable(run.out));
        QVERIFY2(lines.value(1).size() > 10, qPrintable(u"no description: "_s + run.out));
        QVERIFY2(run.out.contains(u"\nOptions:\n"_s), qPrintable(run.out));
        QVERIFY2(helpOptions(run.out).contains(u"--help"_s), qPrintable(run.out));
        const qsizetype examples = run.out.indexOf(u"\nExamples:\n"_s);
        QVERIFY2(examples >= 0, qPrintable(run.out));
        QVERIFY2(run.out.mid(examples).contains(u"swamp "_s + name), qPrintable(run.out));
    }
}

void tst_CliHelp::groupHelp_data()
{
    QTest::addColumn<QStringList>("group");
    for (const QStringList &group : groups())
        QTest::addRow("%s", qPrintable(group.join(u' '))) << group;
}

// `swamp worker --help` lists the group's commands with examples; `swamp worker` alone is a
// usage error that shows the same list.
void tst_CliHelp::groupHelp()
{
    QFETCH(QStringList, group);
    const QString name = group.join(u' ');
    const Run help = swamp(group + QStringList{u"--help"_s});
    QCOMPARE_EXIT(help, 0);
    QVERIFY2(help.out.startsWith(u"Usage: swamp %1 <command> [options]\n"_s.arg(name)),
             qPrintable(help.out));
    QVERIFY2(help.out.contains(u"\nExamples:\n"_s), qPrintable(help.out));
    for (const Swamp::Cli::Command &command : Swamp::Cli::commands()) {
        if (command.words.mid(0, group.size()) != group)
            continue;
        const QString line = u"  "_s + command.words.mid(group.size()).join(u' ');
        QVERIFY2(help.out.contains(line), qPrintable(line + u"\n"_s + help.out));
        QVERIFY2(help.out.contains(u"  swamp "_s + command.words.join(u' ')), qPrintable(help.out));
    }

    const Run bare = swamp(group);
    QCOMPARE_EXIT(bare, 2);
    QVERIFY2(bare.err.startsWith(u"error: 'swamp %1' needs a command\n"_s.arg(name)),
             qPrintable(bare.describe()));

    const Run unknown = swamp(group + QStringList{u"frobnicate"_s});
    QCOMPARE_EXIT(unknown, 2);
    QVERIFY2(unknown.err.startsWith(u"error: unknown command '%1 frobnicate'\n"_s.arg(name)),
             qPrintable(unknown.describe()));
}

// `swamp help <command>` is `swamp <command> --help`.
void tst_CliHelp::helpCommand()
{
    const Run viaHelp = swamp({u"help"_s, u"worker"_s, u"connect"_s});
    const Run viaFlag = swamp({u"worker"_s, u"connect"_s, u"--help"_s});
    QCOMPARE_EXIT(viaHelp, 0);
    QCOMPARE(viaHelp.out, viaFlag.out);
}

void tst_CliHelp::completionScriptParses()
{
    const Run syntax = harness().cli({u"-n"_s, m_script}, u"bash"_s, Harness::baseEnvironment());
    QCOMPARE_EXIT(syntax, 0);
    QVERIFY2(syntax.err.isEmpty(), qPrintable(syntax.describe()));
}

// Sourced in a real bash, the completion function completes every command word from a prefix,
// offers exactly the options each command's --help lists, and completes directories and files
// after options that take them.
void tst_CliHelp::completionCompletes()
{
    const QString bash = QStandardPaths::findExecutable(u"bash"_s);
    QVERIFY(!bash.isEmpty());
    struct Query
    {
        QStringList words; // COMP_WORDS; the last is the word being completed
        QStringList expected;
        bool exact;
    };
    QList<Query> queries;
    queries.append({{u"swamp"_s, u"wor"_s}, {u"worker"_s}, true});
    for (const Swamp::Cli::Command &command : Swamp::Cli::commands()) {
        for (qsizetype i = 0; i < command.words.size(); ++i) {
            QStringList words{u"swamp"_s};
            words += command.words.mid(0, i);
            words.append(command.words.at(i).left(2));
            queries.append({words, {command.words.at(i)}, false});
        }
        const Run help = swamp(command.words + QStringList{u"--help"_s});
        QStringList options = helpOptions(help.out);
        QVERIFY2(options.size() >= 1, qPrintable(help.describe()));
        QStringList words{u"swamp"_s};
        words += command.words;
        words.append(u"-"_s);
        queries.append({words, options, true});
    }
    const QString dir = m_dir.filePath(u"completion-dir"_s);
    QVERIFY(QDir().mkpath(dir));
    const QString file = m_dir.filePath(u"completion-file.pem"_s);
    QVERIFY(QFile(file).open(QIODevice::WriteOnly));
    queries.append(
        {{u"swamp"_s, u"worker"_s, u"connect"_s, u"--cache-dir"_s, dir.left(dir.size() - 3)},
         {dir},
         true});
    queries.append(
        {{u"swamp"_s, u"serve"_s, u"--tls-cert"_s, file.left(file.size() - 4)}, {file}, true});
    queries.append({{u"swamp"_s, u"completion"_s, QString()}, {u"bash"_s, u"zsh"_s, u"fish"_s}, true});
    // After a value-taking option only its value; after `--` commands of this machine.
    queries.append({{u"swamp"_s, u"worker"_s, u"connect"_s, u"--token"_s, QString()}, {}, true});
    queries.append({{u"swamp"_s, u"run"_s, u"--"_s, u"bas"_s}, {u"bash"_s}, false});

    QString script = u"source '%1' || exit 3\n"
                     "q() { COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _swamp; "
                     "printf '%s\\n' \"${COMPREPLY[*]}\"; }\n"_s.arg(m_script);
    for (const Query &query : std::as_const(queries)) {
        QStringList quoted;
        for (const QString &word : query.words)
            quoted.append(u'\'' + word + u'\'');
        script += u"q "_s + quoted.join(u' ') + u'\n';
    }
    const Run run = harness().cli({u"-c"_s, script}, bash, Harness::baseEnvironment());
    QCOMPARE_EXIT(run, 0);
    const QStringList replies = run.out.split(u'\n');
    QCOMPARE(replies.size(), queries.size() + 1);
    for (qsizetype i = 0; i < queries.size(); ++i) {
        const Query &query = queries.at(i);
        const QStringList reply = replies.at(i).split(u' ', Qt::SkipEmptyParts);
        const QString context = u"completing [%1] gave [%2], expected [%3]"_s.arg(
            query.words.join(u' '), replies.at(i), query.expected.join(u' '));
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

void tst_CliHelp::completionUsageErrors()
{
    const Run tcsh = swamp({u"completion"_s, u"tcsh"_s});
    QCOMPARE_EXIT(tcsh, 2);
    QVERIFY2(tcsh.err.startsWith(u"error: no completion for \"tcsh\": swamp completes in bash, zsh and fish\n"_s),
             qPrintable(tcsh.describe()));
    const Run none = swamp({u"completion"_s});
    QCOMPARE_EXIT(none, 2);
    QVERIFY2(none.err.startsWith(u"error: name the shell: swamp completion bash|zsh|fish\n"_s),
             qPrintable(none.describe()));
    QVERIFY(none.out.isEmpty());
}

QTEST_GUILESS_MAIN(tst_CliHelp)
#include "tst_cli_help.moc"
