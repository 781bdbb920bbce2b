// Every row of the SPEC §4 "Enrollment failures" table, with real processes: the worker prints
// `enrollment failed: <message> — <fix>` with the promised substring and exits 1 at once.
// Also the check order (version, shape, exists, revoked, expired, secret, binding, live session).
#include "swampharness.h"

#include "model/token.h"

#include <QRegularExpression>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace SwampTest;

namespace {
enum class TokenSetup { None, Live, Revoked, Expired };
enum class Presented { Real, WrongSecret, OtherName, Malformed };
} // namespace
Q_DECLARE_METATYPE(TokenSetup)
Q_DECLARE_METATYPE(Presented)

class tst_EnrollmentFailures : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void cleanup();
    void refused_data();
    void refused();
    void tokenBound();
    void alreadyConnected();
    void secretNeverPrinted();

private:
    // Waits for a refused worker: exit 1 and the failure line on stderr.
    void verifyRefused(Child *worker, const QString &substring, const QString &fix);
    std::unique_ptr<Harness> h;
};

void tst_EnrollmentFailures::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    h = std::make_unique<Harness>();
    QVERIFY(h->startOrchestrator());
}

void tst_EnrollmentFailures::cleanup()
{
    h.reset(); // kills every child
}

void tst_EnrollmentFailures::verifyRefused(Child *worker, const QString &substring,
                                           const QString &fix)
{
    QVERIFY2(worker->waitForExit(30000), qPrintable(worker->describe()));
    QVERIFY2(worker->exitCode() == 1, qPrintable(worker->describe()));
    const QString err = worker->err();
    static const QRegularExpression line(u"^enrollment failed: (.+) — (.+)$"_s,
                                         QRegularExpression::MultilineOption);
    const auto match = line.match(err);
    QVERIFY2(match.hasMatch(), qPrintable(worker->describe()));
    QVERIFY2(match.captured(1).contains(substring), qPrintable(worker->describe()));
    QVERIFY2(match.captured(2).startsWith(fix), qPrintable(worker->describe()));
    QVERIFY2(!worker->outContains(u"enrolled as"_s), qPrintable(worker->describe()));
}

void tst_EnrollmentFailures::refused_data()
{
    QTest::addColumn<TokenSetup>("setup");
    QTest::addColumn<Presented>("presented");
    QTest::addColumn<bool>("otherVersion");
    QTest::addColumn<QString>("substring");
    QTest::addColumn<QString>("fix");

    const QString upgrade = u"upgrade both to the same version"_s;
    const QString createNew = u"create a new token"_s;
    // One row per table row...
    QTest::addRow("protocol_mismatch") << TokenSetup::Live << Presented::Real << true
                                       << u"protocol_mismatch"_s << upgrade;
    QTest::addRow("token_expired") << TokenSetup::Expired << Presented::Real << false
                                   << u"expired"_s
                                   << u"create a new token with 'swamp worker token create'"_s;
    QTest::addRow("token_revoked") << TokenSetup::Revoked << Presented::Real << false
                                   << u"revoked"_s << createNew;
    QTest::addRow("token_mismatch") << TokenSetup::Live << Presented::WrongSecret << false
                                    << u"does not match"_s
                                    << u"check the token for typos; create a new token if needed"_s;
    QTest::addRow("token_not_found") << TokenSetup::None << Presented::Real << false
                                     << u"does not exist"_s
                                     << u"create it with 'swamp worker token create'"_s;
    QTest::addRow("token_not_found-other-name") << TokenSetup::Live << Presented::OtherName << false
                                                << u"does not exist"_s
                                                << u"create it with 'swamp worker token create'"_s;
    QTest::addRow("invalid_token") << TokenSetup::Live << Presented::Malformed << false
                                   << u"must have the form <name>.<secret>"_s
                                   << u"copy the whole token printed by 'swamp worker token create'"_s;
    // ... and the check order: version, shape, exists, revoked, expired, secret.
    QTest::addRow("order-version-before-shape") << TokenSetup::Live << Presented::Malformed << true
                                                << u"protocol_mismatch"_s << upgrade;
    QTest::addRow("order-version-before-exists") << TokenSetup::None << Presented::Real << true
                                                 << u"protocol_mismatch"_s << upgrade;
    QTest::addRow("order-shape-before-exists") << TokenSetup::None << Presented::Malformed << false
                                               << u"must have the form <name>.<secret>"_s
                                               << u"copy the whole token"_s;
    QTest::addRow("order-revoked-before-secret") << TokenSetup::Revoked << Presented::WrongSecret
                                                 << false << u"revoked"_s << createNew;
    QTest::addRow("order-expired-before-secret") << TokenSetup::Expired << Presented::WrongSecret
                                                 << false << u"expired"_s << createNew;
}

void tst_EnrollmentFailures::refused()
{
    QFETCH(TokenSetup, setup);
    QFETCH(Presented, presented);
    QFETCH(bool, otherVersion);
    QFETCH(QString, substring);
    QFETCH(QString, fix);

    QString token = u"ci."_s + QString(64, u'e');
    if (setup != TokenSetup::None) {
        const QStringList extra = setup == TokenSetup::Expired ? QStringList{u"--duration"_s, u"1s"_s}
                                                               : QStringList{};
        token = h->createToken(u"ci"_s, extra);
        QVERIFY(!token.isEmpty());
    }
    if (setup == TokenSetup::Revoked) {
        const Run revoke = h->cli({u"worker"_s, u"token"_s, u"revoke"_s, u"ci"_s});
        QCOMPARE_EXIT(revoke, 0);
    }
    if (setup == TokenSetup::Expired) {
        QTRY_COMPARE_WITH_TIMEOUT(h->tokenNamed(u"ci"_s).value(u"state"_s).toString(),
                                  u"expired"_s, 20000);
    }
    const QString secret = token.mid(token.indexOf(u'.') + 1);
    switch (presented) {
    case Presented::Real:
        break;
    case Presented::WrongSecret:
        token = u"ci."_s + (secret.startsWith(u'0') ? u"1"_s : u"0"_s) + secret.mid(1);
        break;
    case Presented::OtherName:
        token = u"other."_s + secret;
        break;
    case Presented::Malformed:
        token = u"ci-"_s + secret; // the dot lost in a copy and paste
        break;
    }
    Child *worker = h->startWorker(token, h->newCacheDir(), {},
                                   otherVersion ? altSwampBinary() : swampBinary());
    verifyRefused(worker, substring, fix);
    if (otherVersion) {
        // Names both versions.
        const Run mine = h->cli({u"version"_s});
        const QString version = mine.out.section(u' ', 1, 1);
        QVERIFY2(worker->errContains(version), qPrintable(worker->describe()));
        QVERIFY2(worker->errContains(u"0.0.9-test"_s), qPrintable(worker->describe()));
    }
    // The refusal never prints the secret, on either side.
    QVERIFY(!worker->outputContains(secret));
    QVERIFY(!h->orchestratorOutput().contains(secret));
}

void tst_EnrollmentFailures::tokenBound()
{
    const QString token = h->createToken(u"solo"_s);
    QVERIFY(!token.isEmpty());
    Child *first = h->startEnrolledWorker(token, h->newCacheDir(), u"solo"_s);
    QVERIFY(first);
    Child *second = h->startWorker(token, h->newCacheDir());
    verifyRefused(second, u"already bound to another machine"_s,
                  u"use a new token, or restore the original --cache-dir"_s);
    // Also once the first machine is gone: the binding is for good.
    first->signal(SIGTERM);
    QVERIFY(first->waitForExit(20000));
    Child *third = h->startWorker(token, h->newCacheDir());
    verifyRefused(third, u"already bound to another machine"_s, u"use a new token"_s);
}

void tst_EnrollmentFailures::alreadyConnected()
{
    // Two processes claim one machine identity: copy the machine-id into a second cache dir
    // (the cache dir lock forbids sharing one dir). The first answers pings, so it is live.
    const QString token = h->createToken(u"pool"_s, {u"--max-enrollments"_s, u"2"_s});
    QVERIFY(!token.isEmpty());
    const QString cacheA = h->newCacheDir();
    Child *first = h->startEnrolledWorker(token, cacheA);
    QVERIFY(first);
    const QString name = Harness::enrolledName(first);
    const QString cacheB = h->newCacheDir();
    QVERIFY(copyMachineId(cacheA, cacheB));
    Child *second = h->startWorker(token, cacheB);
    verifyRefused(second, u"already_connected"_s,
                  u"check for duplicate worker processes; revoke and re-create the token"_s);
    // The live one is untouched.
    QVERIFY2(first->isRunning(), qPrintable(first->describe()));
    QCOMPARE(h->workerStatus(name), u"idle"_s);
    QCOMPARE(first->count(u"enrolled as"_s), 1);
}

void tst_EnrollmentFailures::secretNeverPrinted()
{
    Run create;
    const QString token = h->createToken(u"ci"_s, {}, &create);
    QVERIFY(!token.isEmpty());
    const QString secret = token.mid(3);
    QVERIFY(!create.err.contains(secret));
    Child *worker = h->startEnrolledWorker(token, h->newCacheDir(), u"ci"_s);
    QVERIFY(worker);
    const Run list = h->cli({u"worker"_s, u"token"_s, u"list"_s, u"--json"_s});
    QCOMPARE_EXIT(list, 0);
    QVERIFY(!list.out.contains(secret));
    QVERIFY(!list.out.contains(Swamp::hashSecret(secret)));
    const Run workers = h->cli({u"worker"_s, u"list"_s, u"--json"_s, u"--all"_s});
    QVERIFY(!workers.out.contains(secret));
    const Run revoke = h->cli({u"worker"_s, u"token"_s, u"revoke"_s, u"ci"_s});
    QCOMPARE_EXIT(revoke, 0);
    QVERIFY(worker->waitForExit(20000));
    QVERIFY(h->stopOrchestrator());
    QVERIFY(!h->orchestratorOutput().contains(secret));
    QVERIFY(!worker->outputContains(secret));
}

QTEST_GUILESS_MAIN(tst_EnrollmentFailures)
#include "tst_enrollment_failures.moc"
