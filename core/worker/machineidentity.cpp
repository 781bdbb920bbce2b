#include "worker/machineidentity.h"

#include "common/datadir.h"
#include "common/directorylock.h"
#include "common/files.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QRegularExpression>
#include <QUuid>

#include <functional>

namespace Swamp {

namespace {

// Reads `<cacheDir>/<file>`, or creates it with `create()` on first start. `parse` returns the
// normalised value, or an empty string when the file does not hold one.
Result<QString> loadOrCreate(const QString &cacheDir, const QString &file,
                             const std::function<QString(const QByteArray &)> &parse,
                             const std::function<QString()> &create, const QString &what)
{
    if (auto dir = ensurePrivateDirectory(cacheDir); !dir)
        return fail(dir.error());
    const QString path = cacheDir + u'/' + file;
    if (QFile::exists(path)) {
        auto bytes = readFile(path);
        if (!bytes)
            return fail(bytes.error());
        const QString value = parse(bytes->trimmed());
        if (value.isEmpty()) {
            return fail(QStringLiteral("identity_corrupt"),
                        Tr::tr("%1 does not hold a %2").arg(QDir::toNativeSeparators(path), what),
                        Tr::tr("restore it from a backup, or delete the cache dir's machine-id and "
                               "machine-key to enroll as a new machine (with a new token)"));
        }
        return value;
    }
    const QString value = create();
    if (auto written = writeFileAtomically(path, value.toLatin1() + '\n'); !written)
        return fail(written.error());
    return value;
}

} // namespace

Result<QString> loadOrCreateMachineId(const QString &cacheDir)
{
    return loadOrCreate(
        cacheDir, QStringLiteral("machine-id"),
        [](const QByteArray &bytes) {
            const QUuid uuid = QUuid::fromString(QString::fromLatin1(bytes));
            return uuid.isNull() ? QString() : uuid.toString(QUuid::WithoutBraces);
        },
        [] { return QUuid::createUuid().toString(QUuid::WithoutBraces); }, Tr::tr("machine id"));
}

Result<QString> loadOrCreateMachineKey(const QString &cacheDir)
{
    return loadOrCreate(
        cacheDir, QStringLiteral("machine-key"),
        [](const QByteArray &bytes) {
            static const QRegularExpression hex(QStringLiteral("^[0-9a-f]{64}$"));
            const QString key = QString::fromLatin1(bytes);
            return hex.match(key).hasMatch() ? key : QString();
        },
        &randomHex32, Tr::tr("machine key"));
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

} // namespace Swamp
