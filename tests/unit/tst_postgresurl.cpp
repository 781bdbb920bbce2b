// postgresql:// URLs with one host or several (libpq's multi-host form, for failover): what
// reaches libpq, what is refused with which message, and that no password is ever shown.
#include "testsupport.h"

#include "store/postgresconnection_p.h"

#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp;

class tst_PostgresUrl : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void parsed_data();
    void parsed();
    void refused_data();
    void refused();
    void redacted_data();
    void redacted();
};

void tst_PostgresUrl::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
}

void tst_PostgresUrl::parsed_data()
{
    QTest::addColumn<QString>("spec");
    QTest::addColumn<QString>("where");
    QTest::addColumn<QString>("user");
    QTest::addColumn<QString>("password");
    QTest::addColumn<QString>("database");
    QTest::addColumn<QString>("libpq"); // the conninfo options, ';'-joined

    const QString one = u"connect_timeout=10"_s;
    const QString several = u"connect_timeout=10;target_session_attrs=read-write"_s;
    QTest::addRow("one-host") << u"postgresql://swamp@db.example.net/swamp"_s
                              << u"db.example.net:5432"_s << u"swamp"_s << QString() << u"swamp"_s
                              << u"host=db.example.net;port=5432;"_s + one;
    QTest::addRow("postgres-scheme-port-options")
        << u"postgres://swamp@db:5433/s?sslmode=require"_s << u"db:5433"_s << u"swamp"_s
        << QString() << u"s"_s << u"host=db;port=5433;sslmode=require;"_s + one;
    QTest::addRow("no-host-is-localhost")
        << u"postgresql:///swamp"_s << u"localhost:5432"_s << QString() << QString() << u"swamp"_s
        << u"host=localhost;port=5432;"_s + one;
    QTest::addRow("user-no-host-port-only")
        << u"postgresql://u@:6000/d"_s << u"localhost:6000"_s << u"u"_s << QString() << u"d"_s
        << u"host=localhost;port=6000;"_s + one;
    QTest::addRow("two-hosts-own-ports")
        << u"postgresql://u@h1:5432,h2:5433/db"_s << u"h1:5432, h2:5433"_s << u"u"_s << QString()
        << u"db"_s << u"host=h1,h2;port=5432,5433;"_s + several;
    QTest::addRow("port-omitted-in-list")
        << u"postgresql://u@h1,h2:5433,h3/db"_s << u"h1:5432, h2:5433, h3:5432"_s << u"u"_s
        << QString() << u"db"_s << u"host=h1,h2,h3;port=5432,5433,5432;"_s + several;
    QTest::addRow("target-given-kept")
        << u"postgresql://u@h1,h2/db?target_session_attrs=primary&connect_timeout=3"_s
        << u"h1:5432, h2:5432"_s << u"u"_s << QString() << u"db"_s
        << u"host=h1,h2;port=5432,5432;target_session_attrs=primary;connect_timeout=3"_s;
    QTest::addRow("ipv6-brackets")
        << u"postgresql://u@[::1]:5433,[fe80::1%25eth0]/db"_s
        << u"[::1]:5433, [fe80::1%eth0]:5432"_s << u"u"_s << QString() << u"db"_s
        << u"host=::1,fe80::1%eth0;port=5433,5432;"_s + several;
    QTest::addRow("password-with-at-and-comma")
        << u"postgresql://u:p@ss,w0rd@h1,h2:7/db"_s << u"h1:5432, h2:7"_s << u"u"_s
        << u"p@ss,w0rd"_s << u"db"_s << u"host=h1,h2;port=5432,7;"_s + several;
    QTest::addRow("password-percent-encoded")
        << u"postgresql://u:p%40ss%2Cw%2F%3F@h/db"_s << u"h:5432"_s << u"u"_s << u"p@ss,w/?"_s
        << u"db"_s << u"host=h;port=5432;"_s + one;
    QTest::addRow("password-with-raw-slash")
        << u"postgresql://u:pa/ss@h/db"_s << u"h:5432"_s << u"u"_s << u"pa/ss"_s << u"db"_s
        << u"host=h;port=5432;"_s + one;
    QTest::addRow("encoded-user-and-database")
        << u"postgresql://us%40r@h/d%20b"_s << u"h:5432"_s << u"us@r"_s << QString() << u"d b"_s
        << u"host=h;port=5432;"_s + one;
}

void tst_PostgresUrl::parsed()
{
    QFETCH(QString, spec);
    QFETCH(QString, where);
    QFETCH(QString, user);
    QFETCH(QString, password);
    QFETCH(QString, database);
    QFETCH(QString, libpq);
    const auto url = parsePostgresUrl(spec);
    QVERIFY_RESULT(url);
    QCOMPARE(url->where(), where);
    QCOMPARE(url->user, user);
    QCOMPARE(url->password, password);
    QCOMPARE(url->database, database);
    QCOMPARE((url->hostOptions() + url->options).join(u';'), libpq);
}

void tst_PostgresUrl::refused_data()
{
    QTest::addColumn<QString>("spec"); // each holds the password "Secret9"
    QTest::addColumn<QString>("problem");

    QTest::addRow("empty-host-in-list")
        << u"postgresql://u:Secret9@h1,,h2/db"_s << u"the host list has an empty entry"_s;
    QTest::addRow("trailing-comma")
        << u"postgresql://u:Secret9@h1,h2,/db"_s << u"the host list has an empty entry"_s;
    QTest::addRow("leading-comma")
        << u"postgresql://u:Secret9@,h1/db"_s << u"the host list has an empty entry"_s;
    QTest::addRow("bad-port") << u"postgresql://u:Secret9@h1:5432,h2:54x2/db"_s
                              << u"the port of host 'h2' is not a number from 1 to 65535"_s;
    QTest::addRow("port-zero") << u"postgresql://u:Secret9@h1:0/db"_s << u"the port of host 'h1'"_s;
    QTest::addRow("port-too-big") << u"postgresql://u:Secret9@h1:65536/db"_s
                                  << u"the port of host 'h1'"_s;
    QTest::addRow("port-empty") << u"postgresql://u:Secret9@h1:,h2/db"_s
                                << u"the port of host 'h1'"_s;
    QTest::addRow("port-signed") << u"postgresql://u:Secret9@h1:+5/db"_s
                                 << u"the port of host 'h1'"_s;
    QTest::addRow("ipv6-without-brackets")
        << u"postgresql://u:Secret9@::1:5432/db"_s << u"in brackets, as [::1]:5432"_s;
    QTest::addRow("ipv6-unclosed")
        << u"postgresql://u:Secret9@[::1:5432/db"_s << u"misses its closing ']'"_s;
    QTest::addRow("ipv6-text-after")
        << u"postgresql://u:Secret9@[::1]x/db"_s << u"only ':port' may follow"_s;
    QTest::addRow("quote-in-host")
        << u"postgresql://u:Secret9@h'1/db"_s << u"host 'h'1' has characters"_s;
    QTest::addRow("space-in-host")
        << u"postgresql://u:Secret9@h%201/db"_s << u"has characters no host name has"_s;
    QTest::addRow("no-database") << u"postgresql://u:Secret9@h1,h2"_s << u"names no database"_s;
    QTest::addRow("host-in-query")
        << u"postgresql://u:Secret9@h1/db?host=h2"_s << u"in the host list"_s;
    QTest::addRow("port-in-query")
        << u"postgresql://u:Secret9@h1/db?port=5"_s << u"not as 'port='"_s;
    QTest::addRow("password-in-query") << u"postgresql://u@h1/db?password=Secret9"_s
                                       << u"a password in the query is not supported"_s;
    QTest::addRow("raw-question-mark-in-password")
        << u"postgresql://u:Sec?ret9@h1/db"_s << u"'@' after '?'"_s;
    QTest::addRow("option-needs-quoting")
        << u"postgresql://u:Secret9@h1/db?application_name=a%20b"_s
        << u"option 'application_name' has characters"_s;
    QTest::addRow("other-scheme") << u"mysql://u:Secret9@h1/db"_s
                                  << u"postgresql:// or postgres://"_s;
}

void tst_PostgresUrl::refused()
{
    QFETCH(QString, spec);
    QFETCH(QString, problem);
    const auto url = parsePostgresUrl(spec);
    QVERIFY(!url);
    QCOMPARE(url.error().code, u"database"_s);
    QVERIFY2(url.error().message.contains(problem), qPrintable(url.error().message));
    QVERIFY2(url.error().message.startsWith(u"invalid PostgreSQL URL "_s),
             qPrintable(url.error().message));
    QVERIFY(url.error().fix.contains(u"host[:port][,host[:port]...]"_s));
    const QString shown = url.error().message + url.error().fix;
    QVERIFY2(!shown.contains(u"Secret9"_s) && !shown.contains(u"ret9"_s), qPrintable(shown));
}

void tst_PostgresUrl::redacted_data()
{
    QTest::addColumn<QString>("spec");
    QTest::addColumn<QString>("shown");

    QTest::addRow("no-password") << u"postgresql://swamp@127.0.0.1:5432/swamp_test"_s
                                 << u"postgresql://swamp@127.0.0.1:5432/swamp_test"_s;
    QTest::addRow("password-multi-host")
        << u"postgresql://u:Secret9@h1:5432,h2/db?sslmode=require"_s
        << u"postgresql://u@h1:5432,h2/db?sslmode=require"_s;
    QTest::addRow("password-with-at-and-comma")
        << u"postgresql://u:p@ss,Secret9@h1,h2/db"_s << u"postgresql://u@h1,h2/db"_s;
    QTest::addRow("password-with-colon")
        << u"postgresql://u:Sec:ret9@[::1]:5432/db"_s << u"postgresql://u@[::1]:5432/db"_s;
    QTest::addRow("raw-question-mark")
        << u"postgresql://u:Sec?ret9@h/db"_s << u"postgresql://u@h/db"_s;
    QTest::addRow("password-in-query") << u"postgresql://u@h/db?password=Secret9&sslmode=require"_s
                                       << u"postgresql://u@h/db?sslmode=require"_s;
    QTest::addRow("only-password-in-query")
        << u"postgresql://u@h1,h2/db?password=Secret9"_s << u"postgresql://u@h1,h2/db"_s;
    QTest::addRow("unparsable-port")
        << u"postgresql://u:Secret9@h1:bad,h2/db"_s << u"postgresql://u@h1:bad,h2/db"_s;
    QTest::addRow("no-database") << u"postgresql://swamp:Secret9@127.0.0.1:5432"_s
                                 << u"postgresql://swamp@127.0.0.1:5432"_s;
}

void tst_PostgresUrl::redacted()
{
    QFETCH(QString, spec);
    QFETCH(QString, shown);
    QCOMPARE(redactedDatabaseUrl(spec), shown);
}

QTEST_GUILESS_MAIN(tst_PostgresUrl)
#include "tst_postgresurl.moc"
