// Error codes that cross the wire: which are permanent (the worker exits 1) and which are
// retried, and the enrollment failures of SPEC §4 with their promised substrings and fixes.
#include "testsupport.h"

#include "model/errorcodes.h"

#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp;

Q_DECLARE_METATYPE(Swamp::Error)

class tst_ErrorCodes : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void permanence_data();
    void permanence();
    void enrollmentFailures_data();
    void enrollmentFailures();
    void specExampleLine();
    void protocolMismatchNamesBothVersions();
    void tokenBoundCounts();
    void rateLimitedIsTransient();
    void errorText();
    void errorJsonRoundTrip();
};

void tst_ErrorCodes::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
}

void tst_ErrorCodes::permanence_data()
{
    QTest::addColumn<QString>("code");
    QTest::addColumn<bool>("permanent");
    // SPEC §4, "Enrollment failures (permanent)".
    for (const char *code : {"protocol_mismatch", "already_connected", "token_bound",
                             "token_expired", "token_revoked", "token_mismatch", "token_not_found",
                             "invalid_token"})
        QTest::addRow("permanent-%s", code) << QString::fromLatin1(code) << true;
    // Transient: retried with backoff.
    for (const char *code : {"rate_limited", "bad_frame", "database", "unreachable", "timeout",
                             "shutdown", "unknown_method", "some_future_code", ""})
        QTest::addRow("transient-%s", *code ? code : "empty") << QString::fromLatin1(code) << false;
}

void tst_ErrorCodes::permanence()
{
    QFETCH(QString, code);
    QFETCH(bool, permanent);
    QCOMPARE(Codes::isPermanent(code), permanent);
}

void tst_ErrorCodes::enrollmentFailures_data()
{
    QTest::addColumn<Error>("error");
    QTest::addColumn<QString>("code");
    QTest::addColumn<QString>("substring");
    QTest::addColumn<QString>("fix");
    // Code, "Message contains" and "Fix printed with it" of the SPEC §4 table.
    QTest::addRow("protocol_mismatch") << Codes::protocolMismatch(u"0.0.9"_s, u"0.1.0"_s)
                                       << u"protocol_mismatch"_s << u"protocol_mismatch"_s
                                       << u"upgrade both to the same version"_s;
    QTest::addRow("already_connected") << Codes::alreadyConnected(u"ci"_s) << u"already_connected"_s
                                       << u"already_connected"_s
                                       << u"check for duplicate worker processes; revoke and "
                                          "re-create the token"_s;
    QTest::addRow("token_bound") << Codes::tokenBound(u"ci"_s, 1, 1) << u"token_bound"_s
                                 << u"already bound to another machine"_s
                                 << u"use a new token, or restore the original --cache-dir"_s;
    QTest::addRow("token_expired") << Codes::tokenExpired(u"ci"_s) << u"token_expired"_s
                                   << u"expired"_s
                                   << u"create a new token with 'swamp worker token create'"_s;
    QTest::addRow("token_revoked") << Codes::tokenRevoked(u"ci"_s) << u"token_revoked"_s
                                   << u"revoked"_s << u"create a new token"_s;
    QTest::addRow("token_mismatch") << Codes::tokenMismatch(u"ci"_s) << u"token_mismatch"_s
                                    << u"does not match"_s
                                    << u"check the token for typos; create a new token if needed"_s;
    QTest::addRow("token_not_found") << Codes::tokenNotFound(u"ci"_s) << u"token_not_found"_s
                                     << u"does not exist"_s
                                     << u"create it with 'swamp worker token create'"_s;
    QTest::addRow("invalid_token") << Codes::invalidToken() << u"invalid_token"_s
                                   << u"must have the form <name>.<secret>"_s
                                   << u"copy the whole token printed by 'swamp worker token create'"_s;
}

void tst_ErrorCodes::enrollmentFailures()
{
    QFETCH(Error, error);
    QFETCH(QString, code);
    QFETCH(QString, substring);
    QFETCH(QString, fix);
    QCOMPARE(error.code, code);
    QVERIFY(Codes::isPermanent(error.code));
    QVERIFY2(error.message.contains(substring), qPrintable(error.message));
    QVERIFY2(error.fix.startsWith(fix), qPrintable(error.fix));
    const QString line = Codes::enrollmentFailureLine(error);
    QCOMPARE(line, u"enrollment failed: "_s + error.message + u" — "_s + error.fix);
    if (code != u"invalid_token"_s && code != u"protocol_mismatch"_s)
        QVERIFY2(error.message.contains(u"'ci'"_s), qPrintable(error.message));
}

void tst_ErrorCodes::specExampleLine()
{
    // The example line of SPEC §4, verbatim.
    QCOMPARE(Codes::enrollmentFailureLine(Codes::tokenExpired(u"ci"_s)),
             u"enrollment failed: enrollment token 'ci' has expired — create a new token with "
             "'swamp worker token create'"_s);
}

void tst_ErrorCodes::protocolMismatchNamesBothVersions()
{
    const Error error = Codes::protocolMismatch(u"0.0.9-test"_s, u"0.1.0"_s);
    QVERIFY(error.message.contains(u"0.0.9-test"_s));
    QVERIFY(error.message.contains(u"0.1.0"_s));
}

void tst_ErrorCodes::tokenBoundCounts()
{
    const Error error = Codes::tokenBound(u"pool"_s, 3, 3);
    QVERIFY2(error.message.contains(u"3/3"_s), qPrintable(error.message));
}

void tst_ErrorCodes::rateLimitedIsTransient()
{
    const Error error = Codes::rateLimited(u"ci"_s, 60);
    QCOMPARE(error.code, u"rate_limited"_s);
    QVERIFY(!Codes::isPermanent(error.code));
    QVERIFY(error.fix.contains(u"60s"_s));
}

void tst_ErrorCodes::errorText()
{
    QCOMPARE(makeError(u"x"_s, u"it broke"_s, u"fix it"_s).text(), u"it broke — fix it"_s);
    QCOMPARE(makeError(u"x"_s, u"it broke"_s).text(), u"it broke"_s);
}

void tst_ErrorCodes::errorJsonRoundTrip()
{
    Error error = Codes::tokenBound(u"ci"_s, 1, 1);
    error.details.insert(u"tokenName"_s, u"ci"_s);
    const Error back = Error::fromJson(error.toJson());
    QCOMPARE(back.code, error.code);
    QCOMPARE(back.message, error.message);
    QCOMPARE(back.fix, error.fix);
    QCOMPARE(back.details, error.details);
    QVERIFY(!makeError(u"x"_s, u"m"_s).toJson().contains(u"fix"_s));
}

QTEST_GUILESS_MAIN(tst_ErrorCodes)
#include "tst_errorcodes.moc"
