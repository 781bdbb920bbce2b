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
    void workerUrls_data();
    void workerUrls();
    void workerUrlNotes();
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


// What `swamp serve` prints and writes to admin.json for workers: decided from the interface
// addresses handed in (tests listen on loopback only; the addresses below are never bound).
void tst_ListenSafety::workerUrls_data()
{
    QTest::addColumn<QString>("listen");
    QTest::addColumn<QString>("advertised");
    QTest::addColumn<QString>("hostName");
    QTest::addColumn<QStringList>("expected");
    QTest::addRow("ipv4-any-host-name-first")
        << u"0.0.0.0"_s << QString() << u"build-01"_s
        << QStringList{u"ws://build-01:9090"_s, u"ws://192.168.1.20:9090"_s, u"ws://10.0.0.5:9090"_s};
    QTest::addRow("ipv6-any-only-ipv6")
        << u"::"_s << QString() << QString() << QStringList{u"ws://[fd00::5]:9090"_s};
    QTest::addRow("advertised-wins") << u"0.0.0.0"_s << u"wss://swamp.example.com"_s << u"build-01"_s
                                     << QStringList{u"wss://swamp.example.com"_s};
    QTest::addRow("localhost-host-name-skipped")
        << u"0.0.0.0"_s << QString() << u"localhost"_s
        << QStringList{u"ws://192.168.1.20:9090"_s, u"ws://10.0.0.5:9090"_s};
    QTest::addRow("odd-host-name-skipped")
        << u"0.0.0.0"_s << QString() << u"bad host\nname"_s
        << QStringList{u"ws://192.168.1.20:9090"_s, u"ws://10.0.0.5:9090"_s};
    QTest::addRow("loopback-listen") << u"127.0.0.1"_s << QString() << u"build-01"_s
                                     << QStringList{u"ws://127.0.0.1:9090"_s};
    QTest::addRow("localhost-listen") << u"localhost"_s << QString() << u"build-01"_s
                                      << QStringList{u"ws://127.0.0.1:9090"_s};
    QTest::addRow("one-address") << u"192.168.1.20"_s << QString() << u"build-01"_s
                                 << QStringList{u"ws://192.168.1.20:9090"_s};
}

void tst_ListenSafety::workerUrls()
{
    QFETCH(QString, listen);
    QFETCH(QString, advertised);
    QFETCH(QString, hostName);
    QFETCH(QStringList, expected);
    const QList<QHostAddress> addresses{QHostAddress(u"127.0.0.1"_s), QHostAddress(u"192.168.1.20"_s),
                                        QHostAddress(u"::1"_s), QHostAddress(u"fe80::1"_s),
                                        QHostAddress(u"10.0.0.5"_s), QHostAddress(u"fd00::5"_s),
                                        QHostAddress(u"192.168.1.20"_s)};
    QCOMPARE(workerUrlsFor(u"ws"_s, listen, 9090, advertised, addresses, hostName), expected);
}

void tst_ListenSafety::workerUrlNotes()
{
    // A wildcard listener on a machine with nothing but loopback: a warning naming the way out.
    const QStringList none = workerUrlsFor(u"ws"_s, u"0.0.0.0"_s, 9090, QString(),
                                           {QHostAddress(u"127.0.0.1"_s)}, QString());
    QVERIFY(none.isEmpty());
    const QString warning = workerUrlWarning(u"0.0.0.0"_s, QString(), none, u"ws://127.0.0.1:9090"_s);
    QVERIFY2(warning.contains(u"the only URL is ws://127.0.0.1:9090"_s) && warning.contains(u"--advertise-url"_s),
             qPrintable(warning));
    QVERIFY(workerUrlWarning(u"0.0.0.0"_s, u"ws://a.example.com"_s, {u"ws://a.example.com"_s}, u"x"_s).isEmpty());
    QVERIFY(workerUrlWarning(u"0.0.0.0"_s, QString(), {u"ws://10.0.0.5:9090"_s}, u"x"_s).isEmpty());
    // Loopback: a note; with --advertise-url (a proxy in front) none.
    QVERIFY(loopbackOnlyNote(u"127.0.0.1"_s, QString(), 9090).contains(u"workers on other machines cannot reach it"_s));
    QVERIFY(loopbackOnlyNote(u"127.0.0.1"_s, u"wss://proxy.example.com"_s, 9090).isEmpty());
    QVERIFY(loopbackOnlyNote(u"0.0.0.0"_s, QString(), 9090).isEmpty());
    // --advertise-url: normalised, hostile input refused without quoting it.
    QCOMPARE(parseAdvertiseUrl(u"wss://swamp.example.com:9443/"_s).value_or(QString()), u"wss://swamp.example.com:9443"_s);
    QCOMPARE(parseAdvertiseUrl(u"ws://[fd00::5]:9090"_s).value_or(QString()), u"ws://[fd00::5]:9090"_s);
    const QStringList hostile{u"wss://u:secret@h"_s, u"wss://h/?secret"_s, u"wss://h#secret"_s,
                              u"wss://h\r\nsecret"_s, u"ftp://secret"_s, QString(u"wss://"_s + QString(3000, u's'))};
    for (const QString &bad : hostile) {
        auto parsed = parseAdvertiseUrl(bad);
        QVERIFY2(!parsed, qPrintable(bad));
        QCOMPARE(parsed.error().code, u"invalid_advertise_url"_s);
        QVERIFY2(!parsed.error().text().contains(u"secret"_s), qPrintable(parsed.error().text()));
    }
}

QTEST_GUILESS_MAIN(tst_ListenSafety)
#include "tst_listensafety.moc"
