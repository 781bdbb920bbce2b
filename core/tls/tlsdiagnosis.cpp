#include "tls/tlsdiagnosis.h"

#include "tls/tlscredentials.h"

#include <QDateTime>
#include <QHostAddress>
#include <QSslCertificate>

namespace Swamp {

namespace {

QString quoted(const QString &text)
{
    return u'"' + text + u'"';
}

QString certificateLabel(const QSslCertificate &certificate)
{
    const QString subject = subjectName(certificate);
    return subject.isEmpty() ? Tr::tr("(no subject)") : subject;
}

QString isoTime(const QDateTime &when)
{
    return when.toUTC().toString(Qt::ISODate);
}

struct Diagnosis
{
    int rank; // the more fundamental problem first: trust, then validity, then the name
    QString message;
    QString fix;
};

std::optional<Diagnosis> diagnose(const QSslError &error, const QString &host)
{
    const QSslCertificate certificate = error.certificate();
    const QString caFix = Tr::tr("pass --ca-cert (or SWAMP_CA_CERT) with that CA's PEM file");
    switch (error.error()) {
    case QSslError::UnableToGetIssuerCertificate:
    case QSslError::UnableToGetLocalIssuerCertificate:
    case QSslError::UnableToVerifyFirstCertificate:
    case QSslError::CertificateUntrusted:
        return Diagnosis{
            0,
            Tr::tr("the orchestrator's certificate is signed by %1, which is not trusted")
                .arg(quoted(certificate.isNull() ? Tr::tr("an unknown CA")
                                                 : issuerName(certificate))),
            caFix};
    case QSslError::SelfSignedCertificateInChain:
        return Diagnosis{
            0,
            Tr::tr("the orchestrator's certificate is signed by %1, which is not trusted")
                .arg(quoted(certificateLabel(certificate))),
            caFix};
    case QSslError::SelfSignedCertificate:
        return Diagnosis{
            0,
            Tr::tr("the orchestrator's certificate %1 is self-signed and not trusted")
                .arg(quoted(certificateLabel(certificate))),
            Tr::tr("pass --ca-cert (or SWAMP_CA_CERT) with that certificate's PEM file, "
                   "or serve a certificate signed by a CA")};
    case QSslError::CertificateExpired:
        return Diagnosis{
            1,
            Tr::tr("the orchestrator's certificate %1 expired on %2")
                .arg(quoted(certificateLabel(certificate)), isoTime(certificate.expiryDate())),
            Tr::tr("renew it and restart 'swamp serve' with the new --tls-cert "
                   "(and check this machine's clock: it is %1)")
                .arg(isoTime(QDateTime::currentDateTimeUtc()))};
    case QSslError::CertificateNotYetValid:
        return Diagnosis{
            1,
            Tr::tr("the orchestrator's certificate %1 is not valid before %2")
                .arg(quoted(certificateLabel(certificate)), isoTime(certificate.effectiveDate())),
            Tr::tr("check this machine's clock (it is %1), or wait")
                .arg(isoTime(QDateTime::currentDateTimeUtc()))};
    case QSslError::HostNameMismatch: {
        const QStringList names = certificateNames(certificate);
        QString primary = names.value(0);
        primary = primary.mid(primary.indexOf(u':') + 1);
        QString listed = Tr::tr("it lists none");
        if (names.value(0).startsWith(u"CN:"))
            listed = Tr::tr("common name: %1").arg(primary);
        else if (!names.isEmpty())
            listed = Tr::tr("subject alternative names: %1").arg(names.join(QStringLiteral(", ")));
        const QString wanted =
            (QHostAddress(host).isNull() ? QStringLiteral("DNS:") : QStringLiteral("IP:")) + host;
        return Diagnosis{
            2,
            Tr::tr("the orchestrator's certificate is for %1, not %2")
                .arg(quoted(primary.isEmpty() ? Tr::tr("no name") : primary), quoted(host)),
            Tr::tr("connect with a name the certificate lists (%1), or reissue it with "
                   "subjectAltName %2")
                .arg(listed, wanted)};
    }
    case QSslError::NoError:
        return std::nullopt;
    default:
        return Diagnosis{3,
                         Tr::tr("the orchestrator's certificate %1 was refused: %2")
                             .arg(quoted(certificateLabel(certificate)), error.errorString()),
                         Tr::tr("serve a valid certificate signed by a CA the clients trust")};
    }
}

} // namespace

Error describeTlsErrors(const QList<QSslError> &errors, const QString &host)
{
    QList<Diagnosis> found;
    for (const QSslError &error : errors) {
        std::optional<Diagnosis> diagnosis = diagnose(error, host);
        if (!diagnosis)
            continue;
        // OpenSSL reports an unknown issuer twice (cannot get the issuer, cannot verify the
        // first certificate): say it once.
        const bool known = std::any_of(found.cbegin(), found.cend(), [&](const Diagnosis &d) {
            return d.message == diagnosis->message;
        });
        if (!known)
            found << *diagnosis;
    }
    if (found.isEmpty())
        return describeTlsHandshakeFailure(Tr::tr("unknown certificate problem"));
    std::stable_sort(found.begin(), found.end(),
                     [](const Diagnosis &a, const Diagnosis &b) { return a.rank < b.rank; });
    QStringList messages;
    QStringList fixes;
    for (const Diagnosis &diagnosis : std::as_const(found)) {
        messages << diagnosis.message;
        if (!fixes.contains(diagnosis.fix))
            fixes << diagnosis.fix;
    }
    return makeError(QStringLiteral("tls"), messages.join(QStringLiteral("; ")),
                     fixes.join(QStringLiteral("; ")));
}

bool isPinnedPeer(const QList<QSslError> &errors, const QSslCertificate &peer,
                  const QByteArray &pinnedPem)
{
    const QList<QSslCertificate> pinned = QSslCertificate::fromData(pinnedPem, QSsl::Pem);
    if (peer.isNull() || pinned.isEmpty() || pinned.first() != peer)
        return false;
    return std::all_of(errors.cbegin(), errors.cend(), [](const QSslError &error) {
        switch (error.error()) {
        case QSslError::UnableToGetIssuerCertificate:
        case QSslError::UnableToGetLocalIssuerCertificate:
        case QSslError::UnableToVerifyFirstCertificate:
        case QSslError::SelfSignedCertificate:
        case QSslError::SelfSignedCertificateInChain:
        case QSslError::CertificateUntrusted:
        case QSslError::HostNameMismatch:
            return true;
        default:
            return false;
        }
    });
}

Error describeTlsHandshakeFailure(const QString &reason)
{
    return makeError(QStringLiteral("tls"),
                     Tr::tr("the TLS handshake with the orchestrator failed: %1").arg(reason),
                     Tr::tr("check that the orchestrator serves wss:// on that port (started with "
                            "--tls-cert and --tls-key); if it serves ws://, use a ws:// URL"));
}

Error describeClosedDuringHandshake(const QUrl &url, const QString &reason)
{
    const bool secure = url.scheme().compare(u"wss", Qt::CaseInsensitive) == 0;
    return makeError(
        QStringLiteral("unreachable"), Tr::tr("%1 during the WebSocket handshake").arg(reason),
        secure ? Tr::tr("check that the orchestrator serves wss:// on that port (started with "
                        "--tls-cert and --tls-key); if it serves ws://, use a ws:// URL")
               : Tr::tr("if the orchestrator serves wss:// (started with --tls-cert), use a "
                        "wss:// URL (and --ca-cert for a private CA)"));
}

} // namespace Swamp
