#include "tls/tlscredentials.h"

#include <QDateTime>
#include <QDir>
#include <QFile>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

namespace Swamp {

namespace {

struct OpenSslFree
{
    void operator()(BIO *bio) const { BIO_free(bio); }
    void operator()(EVP_PKEY *key) const { EVP_PKEY_free(key); }
    void operator()(X509 *certificate) const { X509_free(certificate); }
};
template <typename T> using OpenSslPtr = std::unique_ptr<T, OpenSslFree>;

QString nativePath(const QString &path)
{
    return QDir::toNativeSeparators(path);
}

// Reads a PEM file; `message` ("cannot read ... %1: %2") gets the path and the reason.
Result<QByteArray> readPem(const QString &path, const QString &code, const QString &message,
                           const QString &fix)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return fail(code, message.arg(nativePath(path), file.errorString()), fix);
    return file.readAll();
}

QString distinguishedName(const QSslCertificate &certificate, bool issuer)
{
    // RFC 4514 order: the most specific attribute (CN) first.
    QList<QByteArray> attributes =
        issuer ? certificate.issuerInfoAttributes() : certificate.subjectInfoAttributes();
    std::reverse(attributes.begin(), attributes.end());
    QStringList parts;
    for (const QByteArray &attribute : std::as_const(attributes)) {
        const QStringList values =
            issuer ? certificate.issuerInfo(attribute) : certificate.subjectInfo(attribute);
        for (const QString &value : values)
            parts << QString::fromLatin1(attribute) + u'=' + value;
    }
    return parts.join(QStringLiteral(", "));
}

// A private key in `pem` that OpenSSL can read without a passphrase, or nullptr.
OpenSslPtr<EVP_PKEY> readPrivateKey(const QByteArray &pem)
{
    OpenSslPtr<BIO> bio(BIO_new_mem_buf(pem.constData(), int(pem.size())));
    if (!bio)
        return nullptr;
    // A callback that supplies no passphrase: never prompt on the terminal.
    pem_password_cb *noPassphrase = [](char *, int, int, void *) { return 0; };
    OpenSslPtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr));
    ERR_clear_error();
    return key;
}

OpenSslPtr<X509> toX509(const QSslCertificate &certificate)
{
    const QByteArray der = certificate.toDer();
    const auto *data = reinterpret_cast<const unsigned char *>(der.constData());
    return OpenSslPtr<X509>(d2i_X509(nullptr, &data, long(der.size())));
}

// The key as unencrypted PKCS#8 PEM, the form QSslKey reads whatever the file held (a
// traditional "EC PRIVATE KEY" after "EC PARAMETERS", a key and a certificate in one file, ...).
QByteArray toPkcs8Pem(EVP_PKEY *key)
{
    OpenSslPtr<BIO> bio(BIO_new(BIO_s_mem()));
    if (!bio ||
        PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
        ERR_clear_error();
        return {};
    }
    char *data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return QByteArray(data, qsizetype(size));
}

bool keyBelongsTo(EVP_PKEY *key, const QSslCertificate &certificate)
{
    OpenSslPtr<X509> x509 = toX509(certificate);
    const bool matches = x509 && X509_check_private_key(x509.get(), key) == 1;
    ERR_clear_error();
    return matches;
}

// The private key in `pem`, refused when it is encrypted (swamp serve never asks for a
// passphrase) or holds no key.
Result<OpenSslPtr<EVP_PKEY>> readServerKey(const QByteArray &pem, const QString &keyPath,
                                           const QString &keyFix)
{
    if (pem.contains("ENCRYPTED")) {
        return fail(QStringLiteral("tls"),
                    Tr::tr("the TLS private key %1 is encrypted").arg(nativePath(keyPath)),
                    Tr::tr("decrypt it with 'openssl pkey -in %1 -out key.pem' and pass that file "
                           "(mode 0600)")
                        .arg(nativePath(keyPath)));
    }
    OpenSslPtr<EVP_PKEY> key = readPrivateKey(pem);
    if (!key) {
        return fail(
            QStringLiteral("tls"),
            Tr::tr("the TLS private key %1 holds no PEM private key (-----BEGIN PRIVATE KEY-----)")
                .arg(nativePath(keyPath)),
            keyFix);
    }
    return key;
}

// The key must belong to the first certificate of the chain (the server's own); a chain
// written CA first is put in order rather than refused.
Result<void> putOwnCertificateFirst(QList<QSslCertificate> &chain, EVP_PKEY *key,
                                    const QString &certPath, const QString &keyPath)
{
    const auto own = std::find_if(chain.cbegin(), chain.cend(),
                                  [&](const QSslCertificate &c) { return keyBelongsTo(key, c); });
    if (own == chain.cend()) {
        return fail(QStringLiteral("tls"),
                    Tr::tr("the TLS private key %1 does not belong to the certificate %2")
                        .arg(nativePath(keyPath), nativePath(certPath)),
                    Tr::tr("pass the key the certificate was issued for (compare 'openssl x509 "
                           "-noout -pubkey -in %1' with 'openssl pkey -pubout -in %2')")
                        .arg(nativePath(certPath), nativePath(keyPath)));
    }
    if (own != chain.cbegin())
        chain.move(own - chain.cbegin(), 0);
    return {};
}

// The key as QSslKey, null for a type Qt's TLS backend cannot serve with.
QSslKey toSslKey(EVP_PKEY *key)
{
    QSsl::KeyAlgorithm algorithm = QSsl::Opaque;
    switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
        algorithm = QSsl::Rsa;
        break;
    case EVP_PKEY_EC:
        algorithm = QSsl::Ec;
        break;
    case EVP_PKEY_DSA:
        algorithm = QSsl::Dsa;
        break;
    default:
        break;
    }
    if (algorithm == QSsl::Opaque)
        return {};
    return QSslKey(toPkcs8Pem(key), algorithm, QSsl::Pem, QSsl::PrivateKey);
}

// A certificate out of its validity period still serves: the operator is warned instead.
QStringList validityWarnings(const QSslCertificate &leaf, const QString &certPath)
{
    const QDateTime now = QDateTime::currentDateTimeUtc();
    if (leaf.expiryDate().isValid() && leaf.expiryDate() < now) {
        return {Tr::tr("the TLS certificate %1 expired on %2: workers and admin clients will "
                       "refuse it — renew it and restart 'swamp serve'")
                    .arg(nativePath(certPath), leaf.expiryDate().toUTC().toString(Qt::ISODate))};
    }
    if (leaf.effectiveDate().isValid() && leaf.effectiveDate() > now) {
        return {Tr::tr("the TLS certificate %1 is not valid before %2: clients will refuse it "
                       "until then — check this machine's clock")
                    .arg(nativePath(certPath), leaf.effectiveDate().toUTC().toString(Qt::ISODate))};
    }
    return {};
}

} // namespace

QString subjectName(const QSslCertificate &certificate)
{
    return distinguishedName(certificate, false);
}

QString issuerName(const QSslCertificate &certificate)
{
    return distinguishedName(certificate, true);
}

QStringList certificateNames(const QSslCertificate &certificate)
{
    QStringList names;
    const auto alternatives = certificate.subjectAlternativeNames();
    for (const QString &name : alternatives.values(QSsl::AlternativeNameEntryType::DnsEntry))
        names.prepend(QStringLiteral("DNS:") + name); // values() is newest first
    QStringList addresses;
    for (const QString &address :
         alternatives.values(QSsl::AlternativeNameEntryType::IpAddressEntry))
        addresses.prepend(QStringLiteral("IP:") + address);
    names += addresses;
    if (names.isEmpty()) {
        for (const QString &commonName : certificate.subjectInfo(QSslCertificate::CommonName))
            names << QStringLiteral("CN:") + commonName;
    }
    return names;
}

Result<QList<QSslCertificate>> loadCaCertificates(const QString &path)
{
    const QString fix = Tr::tr("pass --ca-cert (or SWAMP_CA_CERT) with the PEM file of the CA that "
                               "signed the orchestrator's certificate");
    auto bytes = readPem(path, QStringLiteral("invalid_ca_cert"),
                         Tr::tr("cannot read the CA certificate file %1: %2"), fix);
    if (!bytes)
        return fail(bytes.error());
    const QList<QSslCertificate> certificates = QSslCertificate::fromData(*bytes, QSsl::Pem);
    if (certificates.isEmpty() || certificates.first().isNull()) {
        return fail(QStringLiteral("invalid_ca_cert"),
                    Tr::tr("the CA certificate file %1 holds no PEM certificate "
                           "(-----BEGIN CERTIFICATE-----)")
                        .arg(nativePath(path)),
                    fix);
    }
    return certificates;
}

Result<QSslConfiguration> clientTlsConfiguration(const QString &caCertPath)
{
    QSslConfiguration configuration = QSslConfiguration::defaultConfiguration();
    if (!caCertPath.isEmpty()) {
        auto certificates = loadCaCertificates(caCertPath);
        if (!certificates)
            return fail(certificates.error());
        configuration.addCaCertificates(*certificates);
    }
    return configuration;
}

Result<ServerCredentials> loadServerCredentials(const QString &certPath, const QString &keyPath)
{
    const QString code = QStringLiteral("tls");
    if (certPath.isEmpty() || keyPath.isEmpty()) {
        return fail(code, Tr::tr("--tls-cert and --tls-key go together"),
                    Tr::tr("pass both the certificate chain and its private key (PEM)"));
    }
    const QString certFix = Tr::tr("pass --tls-cert with the server's certificate chain in PEM, "
                                   "readable by this user");
    const QString keyFix = Tr::tr("pass --tls-key with the certificate's private key in PEM, "
                                  "readable by this user");
    auto certBytes =
        readPem(certPath, code, Tr::tr("cannot read the TLS certificate %1: %2"), certFix);
    if (!certBytes)
        return fail(certBytes.error());
    auto keyBytes =
        readPem(keyPath, code, Tr::tr("cannot read the TLS private key %1: %2"), keyFix);
    if (!keyBytes)
        return fail(keyBytes.error());

    ServerCredentials credentials;
    credentials.chain = QSslCertificate::fromData(*certBytes, QSsl::Pem);
    if (credentials.chain.isEmpty() || credentials.chain.first().isNull()) {
        return fail(
            code,
            Tr::tr("the TLS certificate %1 holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
                .arg(nativePath(certPath)),
            certFix);
    }
    const auto key = readServerKey(*keyBytes, keyPath, keyFix);
    if (!key)
        return fail(key.error());
    const auto ordered = putOwnCertificateFirst(credentials.chain, key->get(), certPath, keyPath);
    if (!ordered)
        return fail(ordered.error());
    credentials.key = toSslKey(key->get());
    if (credentials.key.isNull()) {
        return fail(code,
                    Tr::tr("the TLS private key %1 is of a type swamp cannot serve with")
                        .arg(nativePath(keyPath)),
                    Tr::tr("issue the certificate for an RSA or ECDSA key (for example "
                           "'openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256')"));
    }
    credentials.warnings = validityWarnings(credentials.chain.first(), certPath);
    return credentials;
}

} // namespace Swamp
