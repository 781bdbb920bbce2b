#include "common/files.h"

#include <QDir>
#include <QFile>
#include <QSaveFile>

namespace Swamp {

Result<void> writeFileAtomically(const QString &path, const QByteArray &data)
{
    QSaveFile file(path);
    const auto failed = [&] {
        return fail(QStringLiteral("file_write"),
                    Tr::tr("cannot write %1: %2").arg(QDir::toNativeSeparators(path), file.errorString()),
                    Tr::tr("check that the directory exists and is writable by this user"));
    };
    if (!file.open(QIODevice::WriteOnly))
        return failed();
    file.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    if (file.write(data) != data.size())
        return failed();
    if (!file.commit())
        return failed();
    return {};
}

Result<void> ensurePrivateDirectory(const QString &path)
{
    QDir dir(path);
    if (!dir.exists() && !QDir().mkpath(path)) {
        return fail(QStringLiteral("directory"),
                    Tr::tr("cannot create directory %1").arg(QDir::toNativeSeparators(path)),
                    Tr::tr("check the parent directory's permissions or choose another path"));
    }
    QFile::setPermissions(path, QFileDevice::ReadOwner | QFileDevice::WriteOwner
                                    | QFileDevice::ExeOwner);
    return {};
}

Result<QByteArray> readFile(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        return fail(QStringLiteral("file_read"),
                    Tr::tr("cannot read %1: %2").arg(QDir::toNativeSeparators(path), file.errorString()),
                    Tr::tr("check that the file exists and is readable by this user"));
    }
    return file.readAll();
}

} // namespace Swamp
