// Text from the wire printed safely (common/text.h): no control character, escape sequence or
// direction override reaches a terminal or a log line as itself.
#include "unit/testsupport.h"

#include "common/table.h"
#include "common/text.h"

#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp;

class tst_Text : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void printable_data();
    void printable();
    void tableCellsCannotSplitRows();
    void charactersAreCodePoints_data();
    void charactersAreCodePoints();
    void terminalColumns_data();
    void terminalColumns();
    void tableAlignsWhatTheTerminalShows();
    void tableLinesEndWithoutBlanks();
};

void tst_Text::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
}

void tst_Text::printable_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("shown");
    QTest::addRow("plain") << u"build-01 (eu)"_s << u"build-01 (eu)"_s;
    QTest::addRow("unicode-kept") << u"Zeitüberschreitung ✓"_s << u"Zeitüberschreitung ✓"_s;
    QTest::addRow("newline") << u"a\nworker evil enrolled"_s << u"a\\nworker evil enrolled"_s;
    QTest::addRow("carriage-return") << u"ok\rFAKE"_s << u"ok\\rFAKE"_s;
    QTest::addRow("tab") << u"a\tb"_s << u"a\\tb"_s;
    QTest::addRow("escape-sequence") << u"\x1b[31mred\x1b[0m"_s << u"\\e[31mred\\e[0m"_s;
    QTest::addRow("bell") << u"\x07"_s << u"\\x07"_s;
    QTest::addRow("nul") << QString(QChar(0)) << u"\\x00"_s;
    QTest::addRow("delete") << u"\x7f"_s << u"\\x7f"_s;
    QTest::addRow("c1-csi") << QString(QChar(0x9b)) + u"31m"_s << u"\\x9b31m"_s;
    QTest::addRow("bidi-override") << u"abc\u202Efed"_s << u"abc\\u202efed"_s;
    QTest::addRow("bidi-isolate") << u"\u2066x\u2069"_s << u"\\u2066x\\u2069"_s;
}

void tst_Text::printable()
{
    QFETCH(QString, text);
    QFETCH(QString, shown);
    QCOMPARE(Swamp::printable(text), shown);
    QCOMPARE(hasUnsafeCharacters(text), text != shown);
    QVERIFY(!hasUnsafeCharacters(Swamp::printable(text)));
}

void tst_Text::tableCellsCannotSplitRows()
{
    TextTable table({u"NAME"_s, u"PLATFORM"_s});
    table.addRow({u"w1\nw2  linux/x86_64"_s, u"linux/\x1b[2Jx86"_s});
    const QString rendered = table.render();
    QCOMPARE(rendered.count(u'\n'), 2); // the header and one row
    QVERIFY(!rendered.contains(QChar(0x1b)));
    QVERIFY2(rendered.contains(u"w1\\nw2"_s), qPrintable(rendered));
}

void tst_Text::charactersAreCodePoints_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<qsizetype>("count");
    QTest::addColumn<qsizetype>("cutAt");
    QTest::addColumn<QString>("left");
    const QString emoji = u"\U0001F600"_s;
    QTest::addRow("empty") << QString() << qsizetype(0) << qsizetype(3) << QString();
    QTest::addRow("ascii") << u"abcdef"_s << qsizetype(6) << qsizetype(3) << u"abc"_s;
    QTest::addRow("accented") << u"\u00e9t\u00e9"_s << qsizetype(3) << qsizetype(2) << u"\u00e9t"_s;
    // Two UTF-16 units, one character: never cut in two.
    QTest::addRow("emoji") << emoji.repeated(3) << qsizetype(3) << qsizetype(2) << emoji.repeated(2);
    QTest::addRow("mixed") << u"a"_s + emoji + u"b"_s << qsizetype(3) << qsizetype(2) << u"a"_s + emoji;
    QTest::addRow("cut-beyond-the-end") << emoji << qsizetype(1) << qsizetype(5) << emoji;
    // A lone surrogate (JSON may carry one as \ud800) is one character.
    QTest::addRow("lone-high") << QString(QChar(0xd800)) + u"x"_s << qsizetype(2) << qsizetype(1)
                               << QString(QChar(0xd800));
    QTest::addRow("lone-low") << QString(QChar(0xdc00)) + emoji << qsizetype(2) << qsizetype(1)
                              << QString(QChar(0xdc00));
}

void tst_Text::charactersAreCodePoints()
{
    QFETCH(QString, text);
    QFETCH(qsizetype, count);
    QFETCH(qsizetype, cutAt);
    QFETCH(QString, left);
    QCOMPARE(characterCount(text), count);
    QCOMPARE(leftCharacters(text, cutAt), left);
}

void tst_Text::terminalColumns_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<qsizetype>("columns");
    QTest::newRow("ascii") << u"idle"_s << qsizetype(4);
    QTest::newRow("colour") << u"\x1b[32midle\x1b[0m"_s << qsizetype(4);
    QTest::newRow("escaped escape") << Swamp::printable(u"\x1b[31mred"_s) << qsizetype(9); // \e[31mred
    QTest::newRow("cjk") << u"\u6771\u4EAC"_s << qsizetype(4);
    QTest::newRow("emoji") << u"\U0001F680go"_s << qsizetype(4);
    QTest::newRow("combining") << u"e\u0301t\u00E9"_s << qsizetype(3);
    QTest::newRow("german") << u"Zeit\u00FCberschreitung"_s << qsizetype(18);
}

void tst_Text::terminalColumns()
{
    QFETCH(QString, text);
    QFETCH(qsizetype, columns);
    QCOMPARE(Swamp::terminalColumns(text), columns);
}

void tst_Text::tableAlignsWhatTheTerminalShows()
{
    // Coloured states, a wide name and a name with an escape sequence from the wire: every
    // column starts at the same terminal column on every line.
    TextTable table({u"NAME"_s, u"STATUS"_s, u"LABELS"_s});
    table.setColumnColour(1, [](const QString &cell) { return cell == u"idle" ? u"32"_s : QString(); });
    table.addRow({u"\u6771\u4EAC-1"_s, u"idle"_s, u"a=b"_s});
    table.addRow({u"\x1b[31mevil"_s, u"busy"_s, u"c=d"_s});
    table.addRow({u"plain"_s, u"idle"_s, u"e=f"_s});
    QCOMPARE(table.render(), u"NAME        STATUS  LABELS\n"
                             "\u6771\u4EAC-1      \x1b[32midle\x1b[0m    a=b\n"
                             "\\e[31mevil  busy    c=d\n"
                             "plain       \x1b[32midle\x1b[0m    e=f\n"_s);
}

// A line ends at its last visible character: the padding of empty last cells and a cell's own
// trailing blanks (a space, a no-break space) are dropped; blanks inside stay; a line of nothing
// visible keeps its padding.
void tst_Text::tableLinesEndWithoutBlanks()
{
    TextTable table({u"A"_s, u"B"_s, u"C"_s});
    table.addRow({u"x"_s});
    table.addRow({u"yy"_s, u"b \u00a0"_s});
    table.addRow({u"in side"_s, QString(), u"c"_s});
    table.addRow({});
    QCOMPARE(table.render(), u"A        B    C\n"
                             "x\n"
                             "yy       b\n"
                             "in side       c\n"
                             "              \n"_s);
}

QTEST_GUILESS_MAIN(tst_Text)
#include "tst_text.moc"
