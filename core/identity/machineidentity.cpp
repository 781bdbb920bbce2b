#include "identity/machineidentity.h"

#include "common/directorylock.h"
#include "common/files.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QUuid>

namespace Swamp {

Result<QString> loadOrCreateMachineId(const QString &cacheDir)
{
    if (auto dir = ensurePrivateDirectory(cacheDir); !dir)
        return fail(dir.error());
    const QString path = cacheDir + QStringLiteral("/machine-id");
    if (QFile::exists(path)) {
        auto bytes = readFile(path);
        if (!bytes)
            return fail(bytes.error());
        const QUuid uuid = QUuid::fromString(QString::fromLatin1(bytes->trimmed()));
        if (uuid.isNull()) {
            return fail(QStringLiteral("identity_corrupt"),
                        Tr::tr("%1 does not hold a machine id").arg(QDir::toNativeSeparators(path)),
                        Tr::tr("restore it from a backup, or delete it to enroll as a new machine "
                               "(with a new token)"));
        }
        return uuid.toString(QUuid::WithoutBraces);
    }
    const QString id = QUuid::createUuid().toString(QUuid::WithoutBraces);
    if (auto written = writeFileAtomically(path, id.toLatin1() + '\n'); !written)
        return fail(written.error());
    return id;
}

Result<std::unique_ptr<QLockFile>> lockCacheDir(const QString &cacheDir)
{
    // The lock file is 0600 like every file the worker writes in its cache dir (SPEC §9).
    return lockDirectory(cacheDir, QStringLiteral("worker.lock"), [&](qint64 pid) {
        return makeError(QStringLiteral("cache_dir_in_use"),
                         Tr::tr("cache dir %1 is in use by another worker (pid %2)")
                             .arg(QDir::toNativeSeparators(cacheDir))
                             .arg(pid),
                         Tr::tr("give each worker its own --cache-dir"));
    });
}

QString machineIdSuffix(const QString &machineId)
{
    return QString::fromLatin1(
        QCryptographicHash::hash(machineId.toUtf8(), QCryptographicHash::Sha256).toHex().left(8));
}

} // namespace Swamp
