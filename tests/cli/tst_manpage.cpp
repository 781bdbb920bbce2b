// The manual pages: swamp(1) from the real binary (`swamp help --man`) and the hand-written
// swamp-console(1). The commands come from the binary's own command table, the environment
// variables from the sources and the console's options from its main.cpp, so a command, a
// variable or an option added there and forgotten here fails this test.

#include "commands.h"
#include "integration/swampharness.h"

#include <QDirIterator>
#include <QStandardPaths>
#include <QTemporaryDir>

using namespace SwampTest;
using namespace Qt::StringLiterals;

namespace {

QString source(const QString &path)
{
    QFile file(QStringLiteral(SWAMP_SOURCE_DIR "/") + path);
    return file.open(QIODevice::ReadOnly) ? QString::fromUtf8(file.readAll()) : QString();
}

// How an option is set in the pages: bold, with roff's minus signs.
QString roffOption(const QString &name)
{
    return u"\\fB\\-\\-"_s + QString(name).replace(u'-', u"\\-"_s) + u"\\fR"_s;
}

// The section of `page` from `heading` (a line) to the next heading of the same kind.
QString section(const QString &page, const QString &heading)
{
    const qsizetype start = page.indexOf(u'\n' + heading + u'\n');
    if (start < 0)
        return {};
    const QString macro = heading.left(4); // ".SH " or ".SS "
    const qsizetype end = page.indexOf(u'\n' + macro, start + 1);
    return page.mid(start, end < 0 ? -1 : end - start);
}

} // namespace

class tst_Manpage : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void everyCommand_data();
    void everyCommand();
    void everyEnvironmentVariable();
    void exitStatus();
    void reproducibleDate();
    void lintsClean_data();
    void lintsClean();
    void consoleOptions();

private:
    QTemporaryDir m_dir;
    QString m_page;
    QString m_pagePath;
};

void tst_Manpage::initTestCase()
{
    QVERIFY(m_dir.isValid());
    Harness harness;
    const Run man = harness.cli({u"help"_s, u"--man"_s});
    QCOMPARE_EXIT(man, 0);
    QVERIFY2(man.err.isEmpty(), qPrintable(man.describe()));
    m_page = man.out;
    m_pagePath = m_dir.filePath(u"swamp.1"_s);
    QFile file(m_pagePath);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(m_page.toUtf8());
}

void tst_Manpage::everyCommand_data()
{
    QTest::addColumn<QStringList>("words");
    for (const Swamp::Cli::Command &command : Swamp::Cli::commands())
        QTest::addRow("%s", qPrintable(command.words.join(u' '))) << command.words;
}

// Each command of the table has its subsection, with every option its --help lists and the
// first of its examples.
void tst_Manpage::everyCommand()
{
    QFETCH(QStringList, words);
    const auto &table = Swamp::Cli::commands();
    const auto command =
        std::find_if(table.cbegin(), table.cend(),
                     [&](const Swamp::Cli::Command &c) { return c.words == words; });
    QString heading = u"swamp "_s + words.join(u' ');
    if (!command->arguments.isEmpty())
        heading += u' ' + command->arguments;
    heading.replace(u'-', u"\\-"_s);
    const QString text = section(m_page, u".SS \"%1\""_s.arg(heading));
    QVERIFY2(!text.isEmpty(), qPrintable(u"no subsection " + heading));
    const Swamp::Cli::CommandSpec spec = Swamp::Cli::describe(*command);
    QVERIFY(spec.options.size() >= 1);
    for (const Swamp::Cli::OptionSpec &option : spec.options) {
        if (option.name != u"help"_s)
            QVERIFY2(text.contains(roffOption(option.name)),
                     qPrintable(option.name + u" in " + text));
    }
    const QString example = spec.examples.section(u'\n', 0, 0).trimmed().replace(u'-', u"\\-"_s);
    QVERIFY2(text.contains(u"Examples:\n.RS\n.nf\n"_s + example), qPrintable(text));
}

// Every SWAMP_* variable the sources read is in ENVIRONMENT.
void tst_Manpage::everyEnvironmentVariable()
{
    const QString environment = section(m_page, u".SH ENVIRONMENT"_s);
    QVERIFY(!environment.isEmpty());
    static const QRegularExpression read(u"qEnvironmentVariable\\w*\\(\"(SWAMP_\\w+)\""_s);
    QSet<QString> names;
    for (const QString &directory : {u"core"_s, u"headless"_s}) {
        QDirIterator it(QStringLiteral(SWAMP_SOURCE_DIR "/") + directory, {u"*.cpp"_s, u"*.h"_s},
                        QDir::Files, QDirIterator::Subdirectories);
        while (it.hasNext()) {
            QFile file(it.next());
            QVERIFY(file.open(QIODevice::ReadOnly));
            for (auto match = read.globalMatch(QString::fromUtf8(file.readAll())); match.hasNext();)
                names.insert(match.next().captured(1));
        }
    }
    QVERIFY2(names.size() >= 10, qPrintable(QStringList(names.cbegin(), names.cend()).join(u' ')));
    for (const QString &name : std::as_const(names))
        QVERIFY2(environment.contains(u"\\fB"_s + name + u"\\fR"_s), qPrintable(name));
}

// The exit codes of docs/operations.md's table.
void tst_Manpage::exitStatus()
{
    const QString status = section(m_page, u".SH EXIT STATUS"_s);
    const QString guide = source(u"docs/operations.md"_s);
    const QString table = guide.mid(guide.indexOf(u"## Exit codes"_s)).section(u'\n', 2, 2);
    QVERIFY2(table.startsWith(u"| Command |"_s), qPrintable(table));
    for (const QString &cell : table.split(u'|', Qt::SkipEmptyParts).mid(1))
        QVERIFY2(status.contains(u".TP\n\\fB"_s + cell.trimmed() + u"\\fR\n"_s),
                 qPrintable(cell + status));
}

// SOURCE_DATE_EPOCH sets the page's date, as reproducible builds want.
void tst_Manpage::reproducibleDate()
{
    QProcessEnvironment env = Harness::baseEnvironment();
    env.insert(u"SOURCE_DATE_EPOCH"_s, u"1767225600"_s);
    Harness harness;
    const Run man = harness.cli({u"help"_s, u"--man"_s}, swampBinary(), env);
    QCOMPARE_EXIT(man, 0);
    QVERIFY2(man.out.startsWith(u".TH SWAMP 1 2026-01-01 \"swamp "_s),
             qPrintable(man.out.left(80)));
}

void tst_Manpage::lintsClean_data()
{
    QTest::addColumn<QString>("page");
    QTest::addRow("swamp.1") << QString();
    QTest::addRow("swamp-console.1")
        << QStringLiteral(SWAMP_SOURCE_DIR "/docs/man/swamp-console.1");
}

// groff, as `man` runs it, with every warning on; mandoc's linter at its strictest.
void tst_Manpage::lintsClean()
{
    QFETCH(QString, page);
    if (page.isEmpty())
        page = m_pagePath;
    Harness harness;
    for (const QString &tool : {u"groff"_s, u"mandoc"_s}) {
        const QString program = QStandardPaths::findExecutable(tool);
        QVERIFY2(!program.isEmpty(),
                 qPrintable(u"%1 is not installed: apt-get install %2 "
                            "(scripts/install-deps.sh installs it)"_s.arg(
                                tool, tool == u"groff"_s ? u"groff-base"_s : tool)));
        const QStringList arguments =
            tool == u"groff"_s ? QStringList{u"-man"_s, u"-Tutf8"_s, u"-ww"_s, u"-z"_s, page}
                               : QStringList{u"-Tlint"_s, u"-Wstyle"_s, page};
        const Run lint = harness.cli(arguments, program, Harness::baseEnvironment());
        QCOMPARE_EXIT(lint, 0);
        QVERIFY2(lint.out.isEmpty() && lint.err.isEmpty(),
                 qPrintable(tool + u": "_s + lint.describe()));
    }
}

// The hand-written swamp-console(1) names every option of console-gui/main.cpp.
void tst_Manpage::consoleOptions()
{
    QFile file(QStringLiteral(SWAMP_SOURCE_DIR "/docs/man/swamp-console.1"));
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QString page = QString::fromUtf8(file.readAll());
    static const QRegularExpression option(
        u"QCommandLineOption \\w+\\(QStringLiteral\\(\"([\\w-]+)\"\\)"_s);
    QStringList names;
    for (auto match = option.globalMatch(source(u"console-gui/main.cpp"_s)); match.hasNext();)
        names.append(match.next().captured(1));
    QVERIFY2(names.size() >= 5, qPrintable(names.join(u' ')));
    names << u"help"_s << u"version"_s;
    for (const QString &name : std::as_const(names))
        QVERIFY2(page.contains(roffOption(name)), qPrintable(name));
}

QTEST_GUILESS_MAIN(tst_Manpage)
#include "tst_manpage.moc"
