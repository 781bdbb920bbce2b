// SecretMasker: the values of a step's --secret-env are shown as *** in its output, also when a
// value is split across chunks of the stream.
#include "unit/testsupport.h"

#include "common/secretmasker.h"

#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp;

class tst_SecretMasker : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void whole();
    void splitAcrossChunks_data();
    void splitAcrossChunks();
    void longestValueFirst();
    void shortValuesAreNotMasked();
    void heldBackEndIsFlushed();
};

void tst_SecretMasker::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
}

void tst_SecretMasker::whole()
{
    SecretMasker masker({u"hunter2-secret"_s});
    QCOMPARE(masker.mask(u"token=hunter2-secret and hunter2-secret again\n"_s), u"token=*** and *** again\n"_s);
    QCOMPARE(masker.feed(u"token=hunter2-secret\n"_s), u"token=***\n"_s);
    QCOMPARE(masker.flush(), QString());
}

void tst_SecretMasker::splitAcrossChunks_data()
{
    QTest::addColumn<QStringList>("chunks");
    QTest::addRow("in-two") << QStringList{u"a hunter"_s, u"2-secret b\n"_s};
    QTest::addRow("char-by-char") << QString(u"a hunter2-secret b\n"_s).split(QString(), Qt::SkipEmptyParts);
    QTest::addRow("in-three") << QStringList{u"a h"_s, u"unter2-se"_s, u"cret b\n"_s};
    QTest::addRow("false-start") << QStringList{u"a hunt hunter"_s, u"2-secret b\n"_s};
}

void tst_SecretMasker::splitAcrossChunks()
{
    QFETCH(QStringList, chunks);
    SecretMasker masker({u"hunter2-secret"_s});
    QString shown;
    for (const QString &chunk : chunks) {
        const QString out = masker.feed(chunk);
        QVERIFY2(!out.contains(u"hunter2-"_s), qPrintable(out)); // never a part of the value beyond a prefix
        shown += out;
    }
    shown += masker.flush();
    QCOMPARE(shown, chunks.join(QString()).replace(u"hunter2-secret"_s, u"***"_s));
    QVERIFY(!shown.contains(u"hunter2-secret"_s));
}

void tst_SecretMasker::longestValueFirst()
{
    SecretMasker masker({u"abcd"_s, u"abcdefgh"_s});
    QCOMPARE(masker.mask(u"abcdefgh abcd"_s), u"*** ***"_s);
}

void tst_SecretMasker::shortValuesAreNotMasked()
{
    SecretMasker masker({u"abc"_s});
    QVERIFY(masker.isEmpty());
    QCOMPARE(masker.feed(u"abcabc"_s), u"abcabc"_s);
}

void tst_SecretMasker::heldBackEndIsFlushed()
{
    SecretMasker masker({u"hunter2-secret"_s});
    QCOMPARE(masker.feed(u"the end: hunt"_s), u"the end: "_s);
    QCOMPARE(masker.flush(), u"hunt"_s); // only a prefix came: nothing to mask
}

QTEST_GUILESS_MAIN(tst_SecretMasker)
#include "tst_secretmasker.moc"
