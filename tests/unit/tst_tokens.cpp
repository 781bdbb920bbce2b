// Enrollment tokens: minting, parsing, name rules, hashing, constant-time comparison, the
// effective state (SPEC §5) and worker naming (SPEC §4).
#include "testsupport.h"

#include "model/errorcodes.h"
#include "model/token.h"

#include <QCryptographicHash>
#include <QRegularExpression>
#include <QSet>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace Swamp;

Q_DECLARE_METATYPE(Swamp::TokenState)

namespace {
const QString Hex64 = u"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"_s;

QString sha256Hex(const QString &text)
{
    return QString::fromLatin1(
        QCryptographicHash::hash(text.toUtf8(), QCryptographicHash::Sha256).toHex());
}
} // namespace

class tst_Tokens : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void stateAgesIntoExpired();
    void mintIsSixtyFourLowercaseHex();
    void mintIsDistinct();
    void parseValid_data();
    void parseValid();
    void parseMalformed_data();
    void parseMalformed();
    void validateName_data();
    void validateName();
    void hashSecretKnownVectors_data();
    void hashSecretKnownVectors();
    void constantTimeEquals_data();
    void constantTimeEquals();
    void verifySecret_data();
    void verifySecret();
    void effectiveState_data();
    void effectiveState();
    void stateNames_data();
    void stateNames();
    void enrollmentsText_data();
    void enrollmentsText();
    void isBound();
    void workerName_data();
    void workerName();
};

void tst_Tokens::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
}

void tst_Tokens::mintIsSixtyFourLowercaseHex()
{
    static const QRegularExpression hex(u"^[0-9a-f]{64}$"_s);
    const TokenText token = mintToken(u"ci"_s);
    QCOMPARE(token.name, u"ci"_s);
    QVERIFY2(hex.match(token.secret).hasMatch(), qPrintable(token.secret));
    // A minted token parses back to itself.
    auto parsed = parseToken(token.name + u'.' + token.secret);
    QVERIFY_RESULT(parsed);
    QCOMPARE(parsed->name, token.name);
    QCOMPARE(parsed->secret, token.secret);
}

void tst_Tokens::mintIsDistinct()
{
    QSet<QString> seen;
    for (int i = 0; i < 1000; ++i)
        seen.insert(mintToken(u"ci"_s).secret);
    QCOMPARE(seen.size(), 1000);
}

void tst_Tokens::parseValid_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("name");
    QTest::addRow("simple") << u"ci."_s + Hex64 << u"ci"_s;
    QTest::addRow("one-character-name") << u"a."_s + Hex64 << u"a"_s;
    QTest::addRow("digits-and-dashes") << u"0-pool-7."_s + Hex64 << u"0-pool-7"_s;
    QTest::addRow("sixty-three-character-name") << QString(63, u'x') + u'.' + Hex64
                                                << QString(63, u'x');
    QTest::addRow("surrounding-whitespace-trimmed") << u"  ci."_s + Hex64 + u"\n"_s << u"ci"_s;
}

void tst_Tokens::parseValid()
{
    QFETCH(QString, text);
    QFETCH(QString, name);
    auto parsed = parseToken(text);
    QVERIFY_RESULT(parsed);
    QCOMPARE(parsed->name, name);
    QCOMPARE(parsed->secret, Hex64);
}

void tst_Tokens::parseMalformed_data()
{
    QTest::addColumn<QString>("text");
    QTest::addRow("empty") << QString();
    QTest::addRow("only-whitespace") << u"   "_s;
    QTest::addRow("no-dot") << u"ci"_s + Hex64;
    QTest::addRow("secret-only") << Hex64;
    QTest::addRow("empty-name") << u"."_s + Hex64;
    QTest::addRow("empty-secret") << u"ci."_s;
    QTest::addRow("just-a-dot") << u"."_s;
    QTest::addRow("secret-63-hex") << u"ci."_s + Hex64.left(63);
    QTest::addRow("secret-65-hex") << u"ci."_s + Hex64 + u"0"_s;
    QTest::addRow("secret-uppercase-hex") << u"ci."_s + Hex64.toUpper();
    QTest::addRow("secret-not-hex") << u"ci."_s + Hex64.left(63) + u"g"_s;
    QTest::addRow("secret-with-inner-space") << u"ci."_s + Hex64.left(32) + u" "_s + Hex64.left(31);
    QTest::addRow("name-uppercase") << u"CI."_s + Hex64;
    QTest::addRow("name-starts-with-dash") << u"-ci."_s + Hex64;
    QTest::addRow("name-underscore") << u"c_i."_s + Hex64;
    QTest::addRow("name-64-characters") << QString(64, u'x') + u'.' + Hex64;
    QTest::addRow("name-with-dot") << u"a.b."_s + Hex64;
    QTest::addRow("colon-separator") << u"ci:"_s + Hex64;
    QTest::addRow("two-tokens") << u"ci."_s + Hex64 + u" ci."_s + Hex64;
    QTest::addRow("admin-token-64-hex-no-name") << Hex64 + Hex64;
}

void tst_Tokens::parseMalformed()
{
    QFETCH(QString, text);
    auto parsed = parseToken(text);
    QVERIFY_ERROR_CODE(parsed, u"invalid_token"_s);
    QVERIFY2(parsed.error().message.contains(u"must have the form <name>.<secret>"_s),
             qPrintable(parsed.error().message));
    QCOMPARE(parsed.error().fix, u"copy the whole token printed by 'swamp worker token create'"_s);
    // The error never echoes what was given (it may hold a secret).
    if (text.size() > 8)
        QVERIFY(!parsed.error().text().contains(text.trimmed()));
}

void tst_Tokens::validateName_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<bool>("valid");
    QTest::addRow("single-letter") << u"a"_s << true;
    QTest::addRow("single-digit") << u"7"_s << true;
    QTest::addRow("letters-digits-dashes") << u"ci-pool-2"_s << true;
    QTest::addRow("starts-with-digit") << u"2fa"_s << true;
    QTest::addRow("ends-with-dash") << u"ci-"_s << true;
    QTest::addRow("63-characters") << QString(63, u'a') << true;
    QTest::addRow("64-characters") << QString(64, u'a') << false;
    QTest::addRow("empty") << QString() << false;
    QTest::addRow("starts-with-dash") << u"-ci"_s << false;
    QTest::addRow("uppercase") << u"Ci"_s << false;
    QTest::addRow("underscore") << u"c_i"_s << false;
    QTest::addRow("dot") << u"c.i"_s << false;
    QTest::addRow("space") << u"c i"_s << false;
    QTest::addRow("slash") << u"c/i"_s << false;
    QTest::addRow("non-ascii") << u"caf\u00e9"_s << false;
}

void tst_Tokens::validateName()
{
    QFETCH(QString, name);
    QFETCH(bool, valid);
    const auto result = validateTokenName(name);
    QCOMPARE(bool(result), valid);
    if (!valid) {
        QCOMPARE(result.error().code, u"invalid_token_name"_s);
        QCOMPARE(result.error().message, u"invalid token name \"%1\""_s.arg(name));
        QVERIFY(!result.error().fix.isEmpty());
    }
}

void tst_Tokens::hashSecretKnownVectors_data()
{
    QTest::addColumn<QString>("secret");
    QTest::addColumn<QString>("hash");
    // FIPS 180-2 / NIST test vectors.
    QTest::addRow("empty") << QString()
                           << u"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"_s;
    QTest::addRow("abc") << u"abc"_s
                         << u"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"_s;
    QTest::addRow("two-blocks")
        << u"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"_s
        << u"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"_s;
}

void tst_Tokens::hashSecretKnownVectors()
{
    QFETCH(QString, secret);
    QFETCH(QString, hash);
    QCOMPARE(hashSecret(secret), hash);
}

void tst_Tokens::constantTimeEquals_data()
{
    QTest::addColumn<QByteArray>("a");
    QTest::addColumn<QByteArray>("b");
    QTest::addColumn<bool>("equal");
    const QByteArray digest = hashSecret(Hex64).toLatin1();
    QByteArray lastDiffers = digest;
    lastDiffers[lastDiffers.size() - 1] = lastDiffers.back() == '0' ? '1' : '0';
    QByteArray firstDiffers = digest;
    firstDiffers[0] = firstDiffers.front() == '0' ? '1' : '0';
    QTest::addRow("same") << digest << digest << true;
    QTest::addRow("both-empty") << QByteArray() << QByteArray() << true;
    QTest::addRow("last-byte-differs") << digest << lastDiffers << false;
    QTest::addRow("first-byte-differs") << digest << firstDiffers << false;
    QTest::addRow("prefix") << digest << digest.left(63) << false;
    QTest::addRow("longer") << digest << digest + 'a' << false;
    QTest::addRow("empty-vs-digest") << QByteArray() << digest << false;
    QTest::addRow("case-differs") << QByteArray("abcdef") << QByteArray("ABCDEF") << false;
}

void tst_Tokens::constantTimeEquals()
{
    QFETCH(QByteArray, a);
    QFETCH(QByteArray, b);
    QFETCH(bool, equal);
    QCOMPARE(Swamp::constantTimeEquals(a, b), equal);
    QCOMPARE(Swamp::constantTimeEquals(b, a), equal);
}

void tst_Tokens::verifySecret_data()
{
    QTest::addColumn<QString>("secret");
    QTest::addColumn<QString>("storedHash");
    QTest::addColumn<bool>("matches");
    const QString other = QString(Hex64).replace(u'a', u'b');
    QTest::addRow("right-secret") << Hex64 << hashSecret(Hex64) << true;
    QTest::addRow("wrong-secret") << other << hashSecret(Hex64) << false;
    QTest::addRow("secret-compared-to-itself-not-its-hash") << Hex64 << Hex64 << false;
    QTest::addRow("empty-stored-hash") << Hex64 << QString() << false;
    QTest::addRow("truncated-stored-hash") << Hex64 << hashSecret(Hex64).left(32) << false;
}

void tst_Tokens::verifySecret()
{
    QFETCH(QString, secret);
    QFETCH(QString, storedHash);
    QFETCH(bool, matches);
    QCOMPARE(Swamp::verifySecret(secret, storedHash), matches);
}

void tst_Tokens::effectiveState_data()
{
    QTest::addColumn<bool>("bound");
    QTest::addColumn<qint64>("expiresInMs");
    QTest::addColumn<bool>("revoked");
    QTest::addColumn<Swamp::TokenState>("state");
    QTest::addColumn<bool>("live");
    QTest::addRow("unused") << false << qint64(3600000) << false << TokenState::Unused << true;
    QTest::addRow("enrolled-one-binding") << true << qint64(3600000) << false << TokenState::Enrolled
                                          << true;
    QTest::addRow("unused-expired-one-second-ago") << false << qint64(-1000) << false
                                                   << TokenState::Expired << false;
    QTest::addRow("enrolled-expired-one-second-ago") << true << qint64(-1000) << false
                                                     << TokenState::Expired << false;
    QTest::addRow("expires-exactly-now") << false << qint64(0) << false << TokenState::Expired
                                         << false;
    QTest::addRow("expires-in-one-millisecond") << false << qint64(1) << false
                                                << TokenState::Unused << true;
    QTest::addRow("revoked-unused") << false << qint64(3600000) << true << TokenState::Revoked
                                    << false;
    QTest::addRow("revoked-enrolled") << true << qint64(3600000) << true << TokenState::Revoked
                                      << false;
    QTest::addRow("revoked-wins-over-expired") << true << qint64(-1000) << true
                                               << TokenState::Revoked << false;
}

void tst_Tokens::effectiveState()
{
    QFETCH(bool, bound);
    QFETCH(qint64, expiresInMs);
    QFETCH(bool, revoked);
    QFETCH(Swamp::TokenState, state);
    QFETCH(bool, live);
    const QDateTime now = QDateTime::fromString(u"2026-11-24T10:00:00.000Z"_s, Qt::ISODateWithMs);
    TokenRecord token;
    token.name = u"ci"_s;
    token.createdAt = now.addDays(-1);
    token.expiresAt = now.addMSecs(expiresInMs);
    if (bound)
        token.bindings << TokenBinding{u"m1"_s, u"ci"_s, now.addSecs(-60)};
    if (revoked)
        token.revokedAt = now.addSecs(-30);
    QCOMPARE(tokenStateName(token.effectiveState(now)), tokenStateName(state));
    QCOMPARE(token.isLive(now), live);
}

void tst_Tokens::stateNames_data()
{
    QTest::addColumn<Swamp::TokenState>("state");
    QTest::addColumn<QString>("name");
    QTest::addRow("unused") << TokenState::Unused << u"unused"_s;
    QTest::addRow("enrolled") << TokenState::Enrolled << u"enrolled"_s;
    QTest::addRow("expired") << TokenState::Expired << u"expired"_s;
    QTest::addRow("revoked") << TokenState::Revoked << u"revoked"_s;
}

void tst_Tokens::stateNames()
{
    QFETCH(Swamp::TokenState, state);
    QFETCH(QString, name);
    QCOMPARE(tokenStateName(state), name);
}

void tst_Tokens::enrollmentsText_data()
{
    QTest::addColumn<int>("bindings");
    QTest::addColumn<int>("max");
    QTest::addColumn<QString>("text");
    QTest::addRow("none-of-one") << 0 << 1 << u"0/1"_s;
    QTest::addRow("one-of-one") << 1 << 1 << u"1/1"_s;
    QTest::addRow("two-of-three") << 2 << 3 << u"2/3"_s;
    QTest::addRow("two-of-unlimited") << 2 << 0 << u"2/unlimited"_s;
}

void tst_Tokens::enrollmentsText()
{
    QFETCH(int, bindings);
    QFETCH(int, max);
    QFETCH(QString, text);
    TokenRecord token;
    token.maxEnrollments = max;
    for (int i = 0; i < bindings; ++i)
        token.bindings << TokenBinding{u"m%1"_s.arg(i), u"w"_s, QDateTime::currentDateTimeUtc()};
    QCOMPARE(token.enrollmentsText(), text);
}

void tst_Tokens::isBound()
{
    TokenRecord token;
    token.bindings << TokenBinding{u"machine-a"_s, u"ci"_s, QDateTime::currentDateTimeUtc()};
    QVERIFY(token.isBound(u"machine-a"_s));
    QVERIFY(!token.isBound(u"machine-b"_s));
    QVERIFY(!token.isBound(QString()));
}

void tst_Tokens::workerName_data()
{
    QTest::addColumn<int>("maxEnrollments");
    QTest::addColumn<QString>("machineId");
    QTest::addColumn<bool>("suffixed");
    const QString machineA = u"7f0c2b1e-5d3a-4c8e-9b6f-0a1d2e3f4a5b"_s;
    const QString machineB = u"00000000-0000-4000-8000-000000000001"_s;
    QTest::addRow("one-enrollment-is-the-token-name") << 1 << machineA << false;
    QTest::addRow("three-enrollments-suffixed") << 3 << machineA << true;
    QTest::addRow("three-enrollments-other-machine") << 3 << machineB << true;
    QTest::addRow("unlimited-suffixed") << 0 << machineA << true;
}

void tst_Tokens::workerName()
{
    QFETCH(int, maxEnrollments);
    QFETCH(QString, machineId);
    QFETCH(bool, suffixed);
    TokenRecord token;
    token.name = u"ci"_s;
    token.maxEnrollments = maxEnrollments;
    const QString expected = suffixed ? u"ci-"_s + sha256Hex(machineId).left(8) : u"ci"_s;
    QCOMPARE(workerNameFor(token, machineId), expected);
    if (suffixed) {
        static const QRegularExpression shape(u"^ci-[0-9a-f]{8}$"_s);
        QVERIFY(shape.match(workerNameFor(token, machineId)).hasMatch());
    }
    // Deterministic: the same machine always gets the same name.
    QCOMPARE(workerNameFor(token, machineId), workerNameFor(token, machineId));
}

// What the console shows for a token listed a while ago: its reported state, or expired once
// its expiry has passed; revoked stays revoked.
void tst_Tokens::stateAgesIntoExpired()
{
    const QDateTime listed = QDateTime::fromMSecsSinceEpoch(1795514400000, Qt::UTC);
    const QDateTime expires = listed.addSecs(3600);
    QCOMPARE(tokenStateNameAt(u"unused"_s, expires, listed), u"unused"_s);
    QCOMPARE(tokenStateNameAt(u"enrolled"_s, expires, expires.addMSecs(-1)), u"enrolled"_s);
    QCOMPARE(tokenStateNameAt(u"enrolled"_s, expires, expires), u"expired"_s);
    QCOMPARE(tokenStateNameAt(u"unused"_s, expires, expires.addDays(1)), u"expired"_s);
    QCOMPARE(tokenStateNameAt(u"revoked"_s, expires, expires.addDays(1)), u"revoked"_s);
    QCOMPARE(tokenStateNameAt(u"unused"_s, QDateTime(), expires.addDays(1)), u"unused"_s);
}

QTEST_GUILESS_MAIN(tst_Tokens)
#include "tst_tokens.moc"
