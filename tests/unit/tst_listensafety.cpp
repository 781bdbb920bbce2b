// Which listen addresses get SPEC §2's "serving without TLS" warning and the metrics warning,
// and which hosts can be bound. Decided here, not by binding: tests bind loopback only.
#include "testsupport.h"

#include "tls/listensafety.h"

#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp;

class tst_ListenSafety : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void plaintextWarning_data();
    void plaintextWarning();
    void metricsWarning_data();
    void metricsWarning();
    void bindAddress_data();
    void bindAddress();
};

void tst_ListenSafety::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
}

void tst_ListenSafety::plaintextWarning_data()
{
    QTest::addColumn<QString>("host");
    QTest::addColumn<bool>("tls");
    QTest::addColumn<bool>("warns");
    QTest::addRow("ipv4-any") << u"0.0.0.0"_s << false << true;
    QTest::addRow("ipv6-any") << u"::"_s << false << true;
    QTest::addRow("lan-address") << u"192.168.1.20"_s << false << true;
    QTest::addRow("public-address") << u"203.0.113.7"_s << false << true;
    QTest::addRow("ipv6-lan") << u"fd00::5"_s << false << true;
    QTest::addRow("ipv4-loopback") << u"127.0.0.1"_s << false << false;
    QTest::addRow("ipv4-loopback-other") << u"127.0.0.53"_s << false << false;
    QTest::addRow("ipv6-loopback") << u"::1"_s << false << false;
    QTest::addRow("localhost") << u"localhost"_s << false << false;
    QTest::addRow("localhost-upper") << u"LOCALHOST"_s << false << false;
    QTest::addRow("tls-ipv4-any") << u"0.0.0.0"_s << true << false;
    QTest::addRow("tls-ipv6-any") << u"::"_s << true << false;
    QTest::addRow("tls-lan-address") << u"192.168.1.20"_s << true << false;
    QTest::addRow("tls-loopback") << u"127.0.0.1"_s << true << false;
}

void tst_ListenSafety::plaintextWarning()
{
    QFETCH(QString, host);
    QFETCH(bool, tls);
    QFETCH(bool, warns);
    const QString warning = plaintextListenWarning(host, tls);
    if (warns) {
        // SPEC §2, word for word.
        QCOMPARE(warning,
                 u"serving without TLS on a non-loopback address — tokens cross the network "
                 "in clear; pass --tls-cert and --tls-key"_s);
    } else {
        QCOMPARE(warning, QString());
    }
}

void tst_ListenSafety::metricsWarning_data()
{
    QTest::addColumn<QString>("host");
    QTest::addColumn<bool>("warns");
    QTest::addRow("ipv4-any") << u"0.0.0.0"_s << true;
    QTest::addRow("ipv6-any") << u"::"_s << true;
    QTest::addRow("lan-address") << u"10.1.2.3"_s << true;
    QTest::addRow("ipv4-loopback") << u"127.0.0.1"_s << false;
    QTest::addRow("ipv6-loopback") << u"::1"_s << false;
    QTest::addRow("localhost") << u"localhost"_s << false;
}

void tst_ListenSafety::metricsWarning()
{
    QFETCH(QString, host);
    QFETCH(bool, warns);
    const QString warning = metricsListenWarning(host);
    QCOMPARE(!warning.isEmpty(), warns);
    if (warns) {
        QVERIFY2(warning.contains(host), qPrintable(warning));
        QVERIFY2(warning.contains(u"without authentication"_s), qPrintable(warning));
    }
}

void tst_ListenSafety::bindAddress_data()
{
    QTest::addColumn<QString>("host");
    QTest::addColumn<QString>("address"); // empty: refused
    QTest::addRow("ipv4") << u"127.0.0.1"_s << u"127.0.0.1"_s;
    QTest::addRow("ipv4-any") << u"0.0.0.0"_s << u"0.0.0.0"_s;
    QTest::addRow("ipv6-loopback") << u"::1"_s << u"::1"_s;
    QTest::addRow("localhost") << u"localhost"_s << u"127.0.0.1"_s;
    QTest::addRow("host-name") << u"orchestrator.example"_s << QString();
    QTest::addRow("garbage") << u"300.1.1.1"_s << QString();
}

void tst_ListenSafety::bindAddress()
{
    QFETCH(QString, host);
    QFETCH(QString, address);
    auto bound = Swamp::bindAddress(host);
    if (address.isEmpty()) {
        QVERIFY_ERROR_CODE(bound, u"invalid_listen"_s);
        QVERIFY(bound.error().message.contains(host));
        return;
    }
    QVERIFY_RESULT(bound);
    QCOMPARE(bound->toString(), address);
}

QTEST_GUILESS_MAIN(tst_ListenSafety)
#include "tst_listensafety.moc"
