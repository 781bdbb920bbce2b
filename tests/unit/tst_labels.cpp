// Labels (`--label k=v`, `SWAMP_WORKER_LABELS=k=v,k=v`): parsing, lists, the merge in which
// the token's labels win over the worker's own (SPEC §3), and an operator's overrides
// (`swamp worker label`), which win over both for their keys.
#include "testsupport.h"

#include "common/labels.h"

#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp;

class tst_Labels : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void parseValid_data();
    void parseValid();
    void parseInvalid_data();
    void parseInvalid();
    void parseList_data();
    void parseList();
    void parseListInvalid_data();
    void parseListInvalid();
    void merge_data();
    void merge();
    void format_data();
    void format();
    void jsonRoundTrip();
    void overrides_data();
    void overrides();
    void overridesJsonRoundTrip();
};

void tst_Labels::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
}

void tst_Labels::parseValid_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("key");
    QTest::addColumn<QString>("value");
    QTest::addRow("simple") << u"region=eu"_s << u"region"_s << u"eu"_s;
    QTest::addRow("empty-value") << u"gpu="_s << u"gpu"_s << QString();
    QTest::addRow("key-with-dots-slashes") << u"k8s.io/zone=eu-west-1"_s << u"k8s.io/zone"_s
                                           << u"eu-west-1"_s;
    QTest::addRow("key-all-allowed-characters") << u"A_b-c.d/e=v"_s << u"A_b-c.d/e"_s << u"v"_s;
    QTest::addRow("key-starts-with-digit") << u"0tier=1"_s << u"0tier"_s << u"1"_s;
    QTest::addRow("spaces-around-trimmed") << u" region = eu "_s << u"region"_s << u"eu"_s;
    QTest::addRow("value-with-spaces-inside") << u"team=build infra"_s << u"team"_s
                                              << u"build infra"_s;
    QTest::addRow("key-63-characters") << QString(63, u'k') + u"=v"_s << QString(63, u'k') << u"v"_s;
    QTest::addRow("value-255-characters") << u"k="_s + QString(255, u'v') << u"k"_s
                                          << QString(255, u'v');
}

void tst_Labels::parseValid()
{
    QFETCH(QString, text);
    QFETCH(QString, key);
    QFETCH(QString, value);
    auto label = parseLabel(text);
    QVERIFY_RESULT(label);
    QCOMPARE(label->first, key);
    QCOMPARE(label->second, value);
}

void tst_Labels::parseInvalid_data()
{
    QTest::addColumn<QString>("text");
    QTest::addRow("no-equals") << u"region"_s;
    QTest::addRow("empty") << QString();
    QTest::addRow("empty-key") << u"=eu"_s;
    QTest::addRow("key-starts-with-dash") << u"-a=b"_s;
    QTest::addRow("key-starts-with-underscore") << u"_a=b"_s;
    QTest::addRow("key-starts-with-dot") << u".a=b"_s;
    QTest::addRow("key-with-space") << u"my key=b"_s;
    QTest::addRow("key-with-colon") << u"a:b=c"_s;
    QTest::addRow("key-64-characters") << QString(64, u'k') + u"=v"_s;
    QTest::addRow("value-with-comma") << u"a=b,c"_s;
    QTest::addRow("value-with-equals") << u"a=b=c"_s;
    QTest::addRow("value-256-characters") << u"k="_s + QString(256, u'v');
}

void tst_Labels::parseInvalid()
{
    QFETCH(QString, text);
    auto label = parseLabel(text);
    QVERIFY_ERROR_CODE(label, u"invalid_label"_s);
    QVERIFY(label.error().message.startsWith(u"invalid"_s));
    QCOMPARE(label.error().fix, u"write labels as key=value, for example --label region=eu"_s);
}

void tst_Labels::parseList_data()
{
    QTest::addColumn<QStringList>("items");
    QTest::addColumn<Labels>("labels");
    QTest::addRow("none") << QStringList() << Labels();
    QTest::addRow("repeated-flags") << QStringList{u"a=1"_s, u"b=2"_s}
                                    << Labels{{u"a"_s, u"1"_s}, {u"b"_s, u"2"_s}};
    QTest::addRow("comma-list") << QStringList{u"a=1,b=2"_s}
                                << Labels{{u"a"_s, u"1"_s}, {u"b"_s, u"2"_s}};
    QTest::addRow("comma-list-with-spaces") << QStringList{u"a=1, b=2"_s}
                                            << Labels{{u"a"_s, u"1"_s}, {u"b"_s, u"2"_s}};
    QTest::addRow("empty-parts-skipped") << QStringList{u"a=1,,b=2,"_s}
                                         << Labels{{u"a"_s, u"1"_s}, {u"b"_s, u"2"_s}};
    QTest::addRow("flags-and-lists-mixed") << QStringList{u"a=1,b=2"_s, u"c=3"_s}
                                           << Labels{{u"a"_s, u"1"_s}, {u"b"_s, u"2"_s},
                                                     {u"c"_s, u"3"_s}};
    QTest::addRow("same-key-last-wins") << QStringList{u"a=1"_s, u"a=2"_s}
                                        << Labels{{u"a"_s, u"2"_s}};
}

void tst_Labels::parseList()
{
    QFETCH(QStringList, items);
    QFETCH(Labels, labels);
    auto parsed = parseLabels(items);
    QVERIFY_RESULT(parsed);
    QCOMPARE(*parsed, labels);
}

void tst_Labels::parseListInvalid_data()
{
    QTest::addColumn<QStringList>("items");
    QTest::addRow("bad-item-in-comma-list") << QStringList{u"a=1,bad"_s};
    QTest::addRow("bad-key-in-second-flag") << QStringList{u"a=1"_s, u"-x=2"_s};
    QTest::addRow("equals-in-value-of-list") << QStringList{u"a=1=2,b=3"_s};
}

void tst_Labels::parseListInvalid()
{
    QFETCH(QStringList, items);
    QVERIFY_ERROR_CODE(parseLabels(items), u"invalid_label"_s);
}

void tst_Labels::merge_data()
{
    QTest::addColumn<Labels>("worker");
    QTest::addColumn<Labels>("token");
    QTest::addColumn<Labels>("merged");
    QTest::addRow("token-label-wins-on-same-key")
        << Labels{{u"region"_s, u"us"_s}, {u"os"_s, u"linux"_s}} << Labels{{u"region"_s, u"eu"_s}}
        << Labels{{u"region"_s, u"eu"_s}, {u"os"_s, u"linux"_s}};
    QTest::addRow("disjoint-keys-union") << Labels{{u"a"_s, u"1"_s}} << Labels{{u"b"_s, u"2"_s}}
                                         << Labels{{u"a"_s, u"1"_s}, {u"b"_s, u"2"_s}};
    QTest::addRow("no-token-labels") << Labels{{u"a"_s, u"1"_s}} << Labels()
                                     << Labels{{u"a"_s, u"1"_s}};
    QTest::addRow("no-worker-labels") << Labels() << Labels{{u"pool"_s, u"ci"_s}}
                                      << Labels{{u"pool"_s, u"ci"_s}};
    QTest::addRow("worker-cannot-blank-a-token-label")
        << Labels{{u"pool"_s, QString()}} << Labels{{u"pool"_s, u"ci"_s}}
        << Labels{{u"pool"_s, u"ci"_s}};
}

void tst_Labels::merge()
{
    QFETCH(Labels, worker);
    QFETCH(Labels, token);
    QFETCH(Labels, merged);
    QCOMPARE(mergeLabels(worker, token), merged);
}

void tst_Labels::format_data()
{
    QTest::addColumn<Labels>("labels");
    QTest::addColumn<QString>("text");
    QTest::addRow("empty-is-dash") << Labels() << u"-"_s;
    QTest::addRow("one") << Labels{{u"region"_s, u"eu"_s}} << u"region=eu"_s;
    QTest::addRow("sorted-by-key") << Labels{{u"z"_s, u"1"_s}, {u"a"_s, u"2"_s}}
                                   << u"a=2, z=1"_s;
}

void tst_Labels::format()
{
    QFETCH(Labels, labels);
    QFETCH(QString, text);
    QCOMPARE(formatLabels(labels), text);
}

void tst_Labels::jsonRoundTrip()
{
    const Labels labels{{u"region"_s, u"eu"_s}, {u"gpu"_s, QString()}, {u"k8s.io/zone"_s, u"b"_s}};
    const QJsonObject json = labelsToJson(labels);
    QCOMPARE(json.value(u"region"_s).toString(), u"eu"_s);
    QCOMPARE(labelsFromJson(json), labels);
}

void tst_Labels::overrides_data()
{
    QTest::addColumn<Labels>("own");
    QTest::addColumn<Labels>("set");
    QTest::addColumn<QStringList>("remove");
    QTest::addColumn<Labels>("applied");
    const Labels own{{u"region"_s, u"eu"_s}, {u"gpu"_s, u"a100"_s}};
    QTest::addRow("set-wins-over-own") << own << Labels{{u"region"_s, u"mars"_s}} << QStringList()
                                       << Labels{{u"region"_s, u"mars"_s}, {u"gpu"_s, u"a100"_s}};
    QTest::addRow("set-adds") << own << Labels{{u"tier"_s, u"1"_s}} << QStringList()
                              << Labels{{u"region"_s, u"eu"_s}, {u"gpu"_s, u"a100"_s}, {u"tier"_s, u"1"_s}};
    QTest::addRow("removed-stays-removed") << own << Labels() << QStringList{u"gpu"_s} << Labels{{u"region"_s, u"eu"_s}};
    QTest::addRow("nothing") << own << Labels() << QStringList() << own;
}

void tst_Labels::overrides()
{
    QFETCH(Labels, own);
    QFETCH(Labels, set);
    QFETCH(QStringList, remove);
    QFETCH(Labels, applied);
    LabelOverrides overrides;
    overrides.change(set, remove);
    QCOMPARE(overrides.appliedTo(own), applied);
    // A later change of a key replaces the earlier one: set after removed, removed after set.
    LabelOverrides later = overrides;
    later.change({}, set.keys());
    for (const QString &key : set.keys())
        QVERIFY(!later.appliedTo(own).contains(key));
    later.change(set, {});
    QCOMPARE(later.appliedTo(own), applied);
    QVERIFY(later == overrides);
}

void tst_Labels::overridesJsonRoundTrip()
{
    LabelOverrides overrides;
    overrides.change({{u"region"_s, u"mars"_s}}, {u"gpu"_s, u"arch"_s});
    const QJsonObject json = overrides.toJson();
    QCOMPARE(json, (QJsonObject{{u"region"_s, u"mars"_s}, {u"gpu"_s, QJsonValue::Null}, {u"arch"_s, QJsonValue::Null}}));
    QCOMPARE(LabelOverrides::fromJson(json), overrides);
    QCOMPARE(overrides.removed, (QStringList{u"arch"_s, u"gpu"_s}));
    QVERIFY(LabelOverrides::fromJson({}).isEmpty());
}

QTEST_GUILESS_MAIN(tst_Labels)
#include "tst_labels.moc"
