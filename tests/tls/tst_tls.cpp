// TLS end to end (SPEC §2, §3, §4): a private CA and server certificates are made with the
// openssl command line at setup; real orchestrators serve wss:// with them on 127.0.0.1, and
// workers and CLI commands connect. A good chain works; a wrong host name, an untrusted CA and
// an expired certificate each fail with a message naming exactly that cause (CLI: exit 1;
// worker: transient, retried, every attempt says why); unusable certificate files are refused
// naming the file(s).
#include "integration/swampharness.h"

#include <QSslCertificate>
#include <QStandardPaths>

using namespace Qt::StringLiterals;
using namespace SwampTest;

namespace {
// Both names the good certificates are issued for.
const QString GoodSans = u"IP:127.0.0.1,DNS:localhost"_s;

const QString UntrustedCa =
    u"the orchestrator's certificate is signed by \"CN=swamp test CA\", which is not trusted — "
    "pass --ca-cert (or SWAMP_CA_CERT) with that CA's PEM file"_s;
const QString WrongName =
    u"the orchestrator's certificate is for \"foo.example\", not \"127.0.0.1\" — connect with a "
    "name the certificate lists (subject alternative names: DNS:foo.example), or reissue it with "
    "subjectAltName IP:127.0.0.1"_s;
const QString Expired =
    u"the orchestrator's certificate \"CN=swamp expired orchestrator\" expired on "
    "2020-01-02T00:00:00Z — renew it and restart 'swamp serve' with the new --tls-cert"_s;
} // namespace

class tst_Tls : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();
    void goodChain();
    void caFromEnvironmentAndDnsName();
    void wrongHostName();
    void untrustedCa();
    void expiredCertificate();
    void localClientsPinTheCertificate();
    void schemeMismatch();
    void badCaCertFile_data();
    void badCaCertFile();
    void badServerCredentials_data();
    void badServerCredentials();
    void noPlaintextWarningOnLoopback();

private:
    QString pki(const QString &name) const { return m_pki.filePath(name); }
    QString openssl(const QStringList &arguments);
    QString adminToken() const;
    QString issue(const QString &name, const QString &subject, const QString &sans);
    bool startTls(const QString &name);
    Run cliWithCa(const QStringList &arguments, const QString &caCert);
    // Starts a worker on a TLS orchestrator that must not get in; waits until it logged
    // `reason` on two attempts in a row while still running (transient: retried with backoff).
    void expectWorkerRetries(const QStringList &extra, const QString &reason);

    QTemporaryDir m_pki;
    QString m_openssl;
    std::unique_ptr<Harness> h;
};

QString tst_Tls::openssl(const QStringList &arguments)
{
    QProcess process;
    process.setWorkingDirectory(m_pki.path());
    process.start(m_openssl, arguments);
    if (!process.waitForFinished(60000) || process.exitStatus() != QProcess::NormalExit ||
        process.exitCode() != 0) {
        return u"openssl %1 failed: %2"_s.arg(arguments.join(u' '),
                                              QString::fromUtf8(process.readAllStandardError()));
    }
    return {};
}

// A P-256 key and a certificate signing request for `subject`, with the SAN extension file.
QString tst_Tls::issue(const QString &name, const QString &subject, const QString &sans)
{
    QFile ext(pki(name + u".ext"_s));
    if (!ext.open(QIODevice::WriteOnly))
        return u"cannot write %1"_s.arg(ext.fileName());
    ext.write("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
              "subjectAltName=" +
              sans.toUtf8() + '\n');
    ext.close();
    return openssl({u"req"_s, u"-new"_s, u"-newkey"_s, u"ec"_s, u"-pkeyopt"_s,
                    u"ec_paramgen_curve:P-256"_s, u"-nodes"_s, u"-keyout"_s, name + u".key"_s,
                    u"-out"_s, name + u".csr"_s, u"-subj"_s, subject});
}

void tst_Tls::initTestCase()
{
    m_openssl = QStandardPaths::findExecutable(u"openssl"_s);
    QVERIFY2(!m_openssl.isEmpty(),
             "the openssl command is needed (scripts/install-deps.sh installs it)");
    const QStringList newCa{u"req"_s,    u"-x509"_s,    u"-newkey"_s,
                            u"ec"_s,     u"-pkeyopt"_s, u"ec_paramgen_curve:P-256"_s,
                            u"-nodes"_s, u"-days"_s,    u"30"_s};
    QString error = openssl(newCa + QStringList{u"-keyout"_s, u"ca.key"_s, u"-out"_s, u"ca.pem"_s,
                                                u"-subj"_s, u"/CN=swamp test CA"_s});
    QVERIFY2(error.isEmpty(), qPrintable(error));
    error = openssl(newCa + QStringList{u"-keyout"_s, u"other-ca.key"_s, u"-out"_s,
                                        u"other-ca.pem"_s, u"-subj"_s, u"/CN=Evil CA"_s});
    QVERIFY2(error.isEmpty(), qPrintable(error));

    // Signed by the test CA: the good one and one for another name only.
    const std::pair<QString, QString> signedByX509[] = {
        {u"good"_s, GoodSans},
        {u"wrong-name"_s, u"DNS:foo.example"_s},
    };
    for (const auto &[name, sans] : signedByX509) {
        error = issue(
            name, name == u"good" ? u"/CN=swamp test orchestrator"_s : u"/CN=foo.example"_s, sans);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        error = openssl({u"x509"_s, u"-req"_s, u"-in"_s, name + u".csr"_s, u"-CA"_s, u"ca.pem"_s,
                         u"-CAkey"_s, u"ca.key"_s, u"-CAcreateserial"_s, u"-days"_s, u"30"_s,
                         u"-extfile"_s, name + u".ext"_s, u"-out"_s, name + u".pem"_s});
        QVERIFY2(error.isEmpty(), qPrintable(error));
    }

    // Expired: openssl 3.0's x509 cannot backdate, `openssl ca` can (with a minimal CA config).
    QVERIFY(QDir(m_pki.path()).mkpath(u"issued"_s));
    QFile index(pki(u"index.txt"_s));
    QVERIFY(index.open(QIODevice::WriteOnly));
    index.close();
    QFile serial(pki(u"serial"_s));
    QVERIFY(serial.open(QIODevice::WriteOnly));
    serial.write("1000\n");
    serial.close();
    QFile config(pki(u"ca.cnf"_s));
    QVERIFY(config.open(QIODevice::WriteOnly));
    config.write(u"[ca]\ndefault_ca = test_ca\n[test_ca]\ndatabase = %1\nnew_certs_dir = %2\n"
                 "serial = %3\ncertificate = %4\nprivate_key = %5\ndefault_md = sha256\n"
                 "policy = any\n[any]\ncommonName = supplied\n"_s
                     .arg(pki(u"index.txt"_s), pki(u"issued"_s), pki(u"serial"_s), pki(u"ca.pem"_s),
                          pki(u"ca.key"_s))
                     .toUtf8());
    config.close();
    error = issue(u"expired"_s, u"/CN=swamp expired orchestrator"_s, GoodSans);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    error =
        openssl({u"ca"_s, u"-batch"_s, u"-config"_s, u"ca.cnf"_s, u"-in"_s, u"expired.csr"_s,
                 u"-out"_s, u"expired.pem"_s, u"-notext"_s, u"-startdate"_s, u"20200101000000Z"_s,
                 u"-enddate"_s, u"20200102000000Z"_s, u"-extfile"_s, u"expired.ext"_s});
    QVERIFY2(error.isEmpty(), qPrintable(error));

    // The good key with a passphrase, and garbage that is not PEM.
    error = openssl({u"pkey"_s, u"-in"_s, u"good.key"_s, u"-aes256"_s, u"-passout"_s,
                     u"pass:secret"_s, u"-out"_s, u"encrypted.key"_s});
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QFile garbage(pki(u"garbage.pem"_s));
    QVERIFY(garbage.open(QIODevice::WriteOnly));
    garbage.write("this is not a certificate\n");
}

void tst_Tls::init()
{
    QTest::failOnWarning(QRegularExpression(u".*"_s));
    h = std::make_unique<Harness>();
}

void tst_Tls::cleanup()
{
    h.reset();
}

QString tst_Tls::adminToken() const
{
    QFile admin(h->dataDir() + u"/admin.json"_s);
    if (!admin.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(admin.readAll()).object().value(u"adminToken"_s).toString();
}

bool tst_Tls::startTls(const QString &name)
{
    return h->startOrchestrator(
        0, {u"--tls-cert"_s, pki(name + u".pem"_s), u"--tls-key"_s, pki(name + u".key"_s)});
}

// With an explicit --server: admin.json's URL would be accepted by its pinned certificate.
Run tst_Tls::cliWithCa(const QStringList &arguments, const QString &caCert)
{
    return h->cli(arguments + QStringList{u"--server"_s, h->url(), u"--admin-token"_s, adminToken(),
                                          u"--ca-cert"_s, caCert});
}

void tst_Tls::expectWorkerRetries(const QStringList &extra, const QString &reason)
{
    Child *worker = h->startWorker(u"ci."_s + QString(64, u'0'), h->newCacheDir(), extra);
    const QString prefix = u"cannot reach the orchestrator at %1: %2"_s.arg(h->url(), reason);
    const auto retries = [&] {
        const QStringList lines = worker->out().split(u'\n');
        return std::count_if(lines.cbegin(), lines.cend(), [&](const QString &line) {
            return line.startsWith(prefix) && line.contains(u"; reconnecting in "_s);
        });
    };
    QVERIFY2(QTest::qWaitFor([&] { return retries() >= 2 || !worker->isRunning(); }, 60000),
             qPrintable(worker->describe()));
    QVERIFY2(worker->isRunning(), qPrintable(worker->describe()));
    // Every attempt but the one in progress said why it failed.
    QVERIFY2(retries() >= worker->count(u"connecting to "_s) - 1, qPrintable(worker->describe()));
    QVERIFY2(!worker->outputContains(u"enrolled as"_s), qPrintable(worker->describe()));
}

void tst_Tls::goodChain()
{
    QVERIFY(startTls(u"good"_s));
    QVERIFY2(h->url().startsWith(u"wss://127.0.0.1:"_s), qPrintable(h->url()));
    const QString token = h->createToken(u"ci"_s, {u"--ca-cert"_s, pki(u"ca.pem"_s)});
    QVERIFY(!token.isEmpty());
    Child *worker = h->startEnrolledWorker(token, h->newCacheDir(), u"ci"_s,
                                           {u"--ca-cert"_s, pki(u"ca.pem"_s)});
    QVERIFY(worker);
    QVERIFY2(worker->outContains(u"connecting to %1/v1/worker"_s.arg(h->url())),
             qPrintable(worker->describe()));

    const Run list = cliWithCa({u"worker"_s, u"list"_s, u"--json"_s}, pki(u"ca.pem"_s));
    QCOMPARE_EXIT(list, 0);
    const QJsonArray workers = list.json().value(u"workers"_s).toArray();
    QCOMPARE(workers.size(), 1);
    QCOMPARE(workers.first().toObject().value(u"name"_s).toString(), u"ci"_s);
    QCOMPARE(workers.first().toObject().value(u"status"_s).toString(), u"idle"_s);

    const Run run = h->cli({u"run"_s, u"--target"_s, u"ci"_s, u"--ca-cert"_s, pki(u"ca.pem"_s),
                            u"--"_s, u"echo"_s, u"over tls"_s});
    QCOMPARE_EXIT(run, 0);
    QCOMPARE(run.out, u"over tls\n"_s);
    // On this machine, through admin.json, no --ca-cert is needed (see
    // localClientsPinTheCertificate).
    QCOMPARE_EXIT(h->cli({u"worker"_s, u"list"_s}), 0);
}

void tst_Tls::caFromEnvironmentAndDnsName()
{
    QVERIFY(startTls(u"good"_s));
    QProcessEnvironment env = Harness::baseEnvironment();
    env.insert(u"SWAMP_DATA_DIR"_s, h->dataDir());
    env.insert(u"SWAMP_CA_CERT"_s, pki(u"ca.pem"_s));
    const Run list = h->cli({u"worker"_s, u"list"_s, u"--json"_s}, swampBinary(), env);
    QCOMPARE_EXIT(list, 0);
    QCOMPARE(list.json().value(u"count"_s).toInt(), 0);

    // The certificate's DNS name works as well as its IP address.
    const QString byName = QString(h->url()).replace(u"127.0.0.1"_s, u"localhost"_s);
    const Run named =
        h->cli({u"worker"_s, u"list"_s, u"--server"_s, byName, u"--admin-token"_s, adminToken()},
               swampBinary(), env);
    QCOMPARE_EXIT(named, 0);

    // Worker: SWAMP_CA_CERT too, and the DNS name in its URL.
    const QString token = h->createToken(u"env"_s, {u"--ca-cert"_s, pki(u"ca.pem"_s)});
    QVERIFY(!token.isEmpty());
    Child worker(u"worker with SWAMP_CA_CERT"_s);
    QProcessEnvironment workerEnv = Harness::baseEnvironment();
    workerEnv.insert(u"SWAMP_CA_CERT"_s, pki(u"ca.pem"_s));
    worker.process.setProcessEnvironment(workerEnv);
    worker.process.start(swampBinary(), {u"worker"_s, u"connect"_s, byName, u"--token"_s, token,
                                         u"--cache-dir"_s, h->newCacheDir()});
    const bool enrolled = QTest::qWaitFor(
        [&] { return worker.outContains(u"enrolled as env "_s) || !worker.isRunning(); }, 30000);
    const QString described = worker.describe();
    worker.process.kill();
    worker.process.waitForFinished(10000);
    QVERIFY2(enrolled && described.contains(u"enrolled as env "_s), qPrintable(described));
}

void tst_Tls::wrongHostName()
{
    QVERIFY(startTls(u"wrong-name"_s));
    const Run list = cliWithCa({u"worker"_s, u"list"_s}, pki(u"ca.pem"_s));
    QCOMPARE_EXIT(list, 1);
    QCOMPARE(list.err,
             u"error: cannot reach the orchestrator at %1: %2\n"_s.arg(h->url(), WrongName));
    expectWorkerRetries({u"--ca-cert"_s, pki(u"ca.pem"_s)}, WrongName);
}

void tst_Tls::untrustedCa()
{
    QVERIFY(startTls(u"good"_s));
    // Trusting another CA, and trusting only the system store: both name the CA that signed it.
    const Run other = cliWithCa({u"worker"_s, u"list"_s}, pki(u"other-ca.pem"_s));
    QCOMPARE_EXIT(other, 1);
    QCOMPARE(other.err,
             u"error: cannot reach the orchestrator at %1: %2\n"_s.arg(h->url(), UntrustedCa));
    const Run system =
        h->cli({u"worker"_s, u"list"_s, u"--server"_s, h->url(), u"--admin-token"_s, adminToken()});
    QCOMPARE_EXIT(system, 1);
    QCOMPARE(system.err, other.err);
    const Run json = cliWithCa({u"worker"_s, u"list"_s, u"--json"_s}, pki(u"other-ca.pem"_s));
    QCOMPARE_EXIT(json, 1);
    QCOMPARE(json.json().value(u"error"_s).toObject().value(u"code"_s).toString(), u"tls"_s);
    expectWorkerRetries({u"--ca-cert"_s, pki(u"other-ca.pem"_s)}, UntrustedCa);
}

void tst_Tls::expiredCertificate()
{
    QVERIFY(startTls(u"expired"_s));
    // serve says so at start, and still serves (the operator may be rotating the certificate).
    QTRY_VERIFY2_WITH_TIMEOUT(
        h->orchestrator()->errContains(
            u"warning: the TLS certificate %1 expired on 2020-01-02T00:00:00Z"_s.arg(
                pki(u"expired.pem"_s))),
        qPrintable(h->orchestrator()->describe()), 20000);
    const Run list = cliWithCa({u"worker"_s, u"list"_s}, pki(u"ca.pem"_s));
    QCOMPARE_EXIT(list, 1);
    QVERIFY2(
        list.err.startsWith(
            u"error: cannot reach the orchestrator at %1: %2 (and check this machine's clock: it is "_s
                .arg(h->url(), Expired)),
        qPrintable(list.describe()));
    expectWorkerRetries({u"--ca-cert"_s, pki(u"ca.pem"_s)}, Expired);
    // The certificate admin.json pins does not make an expired one acceptable.
    const Run local = h->cli({u"worker"_s, u"list"_s});
    QCOMPARE_EXIT(local, 1);
    QVERIFY2(
        local.err.contains(
            u"the orchestrator's certificate \"CN=swamp expired orchestrator\" expired on 2020-01-02T00:00:00Z"_s),
        qPrintable(local.describe()));
}

void tst_Tls::localClientsPinTheCertificate()
{
    // On the orchestrator's machine admin commands work with no flags (SPEC §3) under TLS too:
    // admin.json carries the orchestrator's certificate, accepted as it is for admin.json's URL.
    QVERIFY(startTls(u"wrong-name"_s)); // neither a trusted CA nor the name 127.0.0.1
    QFile file(pki(u"wrong-name.pem"_s));
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray served = file.readAll();
    QFile admin(h->dataDir() + u"/admin.json"_s);
    QVERIFY(admin.open(QIODevice::ReadOnly));
    QJsonObject config = QJsonDocument::fromJson(admin.readAll()).object();
    admin.close();
    QCOMPARE(QSslCertificate(config.value(u"certificate"_s).toString().toLatin1()),
             QSslCertificate(served));
    const Run local = h->cli({u"worker"_s, u"list"_s, u"--json"_s});
    QCOMPARE_EXIT(local, 0);
    QCOMPARE(local.json().value(u"count"_s).toInt(), 0);

    // The pin is for admin.json's own URL only: an explicit --server is checked as usual.
    const Run explicitServer = cliWithCa({u"worker"_s, u"list"_s}, pki(u"ca.pem"_s));
    QCOMPARE_EXIT(explicitServer, 1);
    QVERIFY2(explicitServer.err.contains(WrongName), qPrintable(explicitServer.describe()));

    // Another certificate pinned (the orchestrator's was replaced by an impostor's): refused.
    QFile other(pki(u"good.pem"_s));
    QVERIFY(other.open(QIODevice::ReadOnly));
    config.insert(u"certificate"_s, QString::fromLatin1(other.readAll()));
    QVERIFY(admin.open(QIODevice::WriteOnly | QIODevice::Truncate));
    admin.write(QJsonDocument(config).toJson());
    admin.close();
    const Run impostor = h->cli({u"worker"_s, u"list"_s});
    QCOMPARE_EXIT(impostor, 1);
    QVERIFY2(
        impostor.err.contains(
            u"the orchestrator's certificate is signed by \"CN=swamp test CA\", which is not trusted"_s),
        qPrintable(impostor.describe()));
}

void tst_Tls::schemeMismatch()
{
    // ws:// to a TLS listener, then wss:// to a plain one: the fix says which scheme to check.
    QVERIFY(startTls(u"good"_s));
    const QString plainUrl = QString(h->url()).replace(u"wss://"_s, u"ws://"_s);
    const Run toTls = h->cli({u"worker"_s, u"list"_s, u"--server"_s, plainUrl});
    QCOMPARE_EXIT(toTls, 1);
    QVERIFY2(
        toTls.err.contains(u"during the WebSocket handshake — if the orchestrator serves wss:// "
                           "(started with --tls-cert), use a wss:// URL"_s),
        qPrintable(toTls.describe()));

    Harness plain;
    QVERIFY(plain.startOrchestrator());
    const QString secureUrl = QString(plain.url()).replace(u"ws://"_s, u"wss://"_s);
    const Run toPlain = plain.cli(
        {u"worker"_s, u"list"_s, u"--server"_s, secureUrl, u"--ca-cert"_s, pki(u"ca.pem"_s)});
    QCOMPARE_EXIT(toPlain, 1);
    QVERIFY2(toPlain.err.contains(
                 u"check that the orchestrator serves wss:// on that port (started with "
                 "--tls-cert and --tls-key); if it serves ws://, use a ws:// URL"_s),
             qPrintable(toPlain.describe()));
}

void tst_Tls::badCaCertFile_data()
{
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("message");
    QTest::addRow("missing")
        << u"missing.pem"_s
        << u"cannot read the CA certificate file %1: No such file or directory"_s;
    QTest::addRow("not-pem")
        << u"garbage.pem"_s
        << u"the CA certificate file %1 holds no PEM certificate (-----BEGIN CERTIFICATE-----)"_s;
    QTest::addRow("a-key-not-a-certificate")
        << u"ca.key"_s
        << u"the CA certificate file %1 holds no PEM certificate (-----BEGIN CERTIFICATE-----)"_s;
}

void tst_Tls::badCaCertFile()
{
    QFETCH(QString, file);
    QFETCH(QString, message);
    const QString path = pki(file);
    const QString expected = message.arg(path);
    QVERIFY(startTls(u"good"_s));

    const Run cli = cliWithCa({u"worker"_s, u"list"_s}, path);
    QCOMPARE_EXIT(cli, 2);
    QVERIFY2(cli.err.startsWith(u"error: "_s + expected + u" — pass --ca-cert"_s),
             qPrintable(cli.describe()));

    QProcessEnvironment env = Harness::baseEnvironment();
    env.insert(u"SWAMP_DATA_DIR"_s, h->dataDir());
    env.insert(u"SWAMP_CA_CERT"_s, path);
    const Run fromEnv = h->cli({u"worker"_s, u"list"_s}, swampBinary(), env);
    QCOMPARE_EXIT(fromEnv, 2);
    QVERIFY2(fromEnv.err.contains(expected), qPrintable(fromEnv.describe()));

    Child *worker =
        h->startWorker(u"ci."_s + QString(64, u'0'), h->newCacheDir(), {u"--ca-cert"_s, path});
    QVERIFY(worker->waitForExit(30000));
    QCOMPARE(worker->exitCode(), 2);
    QVERIFY2(worker->errContains(u"error: "_s + expected), qPrintable(worker->describe()));
    QVERIFY2(!worker->outContains(u"connecting"_s), qPrintable(worker->describe()));
}

void tst_Tls::badServerCredentials_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QString>("message");
    const auto both = [this](const QString &cert, const QString &key) {
        return QStringList{u"--tls-cert"_s, pki(cert), u"--tls-key"_s, pki(key)};
    };
    QTest::addRow("key-of-another-certificate")
        << both(u"good.pem"_s, u"wrong-name.key"_s)
        << u"error: the TLS private key %1 does not belong to the certificate %2 — pass the key "
           u"the "
           "certificate was issued for"_s.arg(pki(u"wrong-name.key"_s), pki(u"good.pem"_s));
    QTest::addRow("missing-certificate")
        << both(u"missing.pem"_s, u"good.key"_s)
        << u"error: cannot read the TLS certificate %1: No such file or directory"_s.arg(
               pki(u"missing.pem"_s));
    QTest::addRow("missing-key")
        << both(u"good.pem"_s, u"missing.key"_s)
        << u"error: cannot read the TLS private key %1: No such file or directory"_s.arg(
               pki(u"missing.key"_s));
    QTest::addRow("certificate-not-pem")
        << both(u"garbage.pem"_s, u"good.key"_s)
        << u"error: the TLS certificate %1 holds no PEM certificate"_s.arg(pki(u"garbage.pem"_s));
    QTest::addRow("key-not-pem") << both(u"good.pem"_s, u"good.pem"_s)
                                 << u"error: the TLS private key %1 holds no PEM private key"_s.arg(
                                        pki(u"good.pem"_s));
    QTest::addRow("encrypted-key")
        << both(u"good.pem"_s, u"encrypted.key"_s)
        << u"error: the TLS private key %1 is encrypted — decrypt it with 'openssl pkey -in %1"_s
               .arg(pki(u"encrypted.key"_s));
    QTest::addRow("certificate-without-key") << QStringList{u"--tls-cert"_s, pki(u"good.pem"_s)}
                                             << u"error: --tls-cert and --tls-key go together"_s;
}

void tst_Tls::badServerCredentials()
{
    QFETCH(QStringList, arguments);
    QFETCH(QString, message);
    const QString dataDir = h->tempPath(u"serve-data"_s);
    const Run serve =
        h->cli(QStringList{u"serve"_s, u"--listen"_s, u"127.0.0.1:0"_s, u"--data-dir"_s, dataDir} +
               arguments);
    QCOMPARE_EXIT(serve, 1);
    QVERIFY2(serve.err.startsWith(message), qPrintable(serve.describe()));
    QVERIFY2(!serve.out.contains(u"Listening on"_s), qPrintable(serve.describe()));
    // Refused before anything was touched: no database, no admin.json.
    QVERIFY(!QFile::exists(dataDir + u"/swamp.db"_s));
    QVERIFY(!QFile::exists(dataDir + u"/admin.json"_s));
}

void tst_Tls::noPlaintextWarningOnLoopback()
{
    // Plain ws:// on 127.0.0.1 and wss:// on 127.0.0.1: neither warns. Read after the exit, so
    // everything the orchestrator wrote has been read.
    QVERIFY(h->startOrchestrator());
    QVERIFY(h->stopOrchestrator());
    QCOMPARE(h->orchestrator()->exitCode(), 0);
    QVERIFY2(!h->orchestrator()->err().contains(u"serving without TLS"_s),
             qPrintable(h->orchestrator()->describe()));
    QVERIFY2(!h->orchestrator()->err().contains(u"warning"_s),
             qPrintable(h->orchestrator()->describe()));

    Harness tls;
    QVERIFY(tls.startOrchestrator(
        0, {u"--tls-cert"_s, pki(u"good.pem"_s), u"--tls-key"_s, pki(u"good.key"_s)}));
    QVERIFY(tls.stopOrchestrator());
    QVERIFY2(!tls.orchestrator()->err().contains(u"warning"_s),
             qPrintable(tls.orchestrator()->describe()));
}

QTEST_GUILESS_MAIN(tst_Tls)
#include "tst_tls.moc"
