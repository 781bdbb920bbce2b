#include "common/datadir.h"

#include "common/directorylock.h"
#include "common/files.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>

namespace Swamp {

QString defaultDataDir()
{
    const QString explicitDir = qEnvironmentVariable("SWAMP_DATA_DIR");
    if (!explicitDir.isEmpty())
        return explicitDir;
    const QString xdg = qEnvironmentVariable("XDG_DATA_HOME");
    if (!xdg.isEmpty())
        return xdg + QStringLiteral("/swamp");
    return QDir::homePath() + QStringLiteral("/.local/share/swamp");
}

QString adminConfigPath(const QString &dataDir)
{
    return dataDir + QStringLiteral("/admin.json");
}

Result<AdminConfig> readAdminConfig(const QString &dataDir)
{
    const QString path = adminConfigPath(dataDir);
    auto bytes = readFile(path);
    if (!bytes)
        return fail(bytes.error());
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(*bytes, &parseError);
    const QJsonObject object = document.object();
    AdminConfig config{object.value(QStringLiteral("url")).toString(),
                       object.value(QStringLiteral("adminToken")).toString(),
                       object.value(QStringLiteral("certificate")).toString(), {}};
    for (const QJsonValue &workerUrl : object.value(QStringLiteral("workerUrls")).toArray())
        config.workerUrls << workerUrl.toString();
    if (parseError.error != QJsonParseError::NoError || config.url.isEmpty()
        || config.adminToken.isEmpty()) {
        return fail(QStringLiteral("admin_config"),
                    Tr::tr("%1 is not a valid admin.json").arg(QDir::toNativeSeparators(path)),
                    Tr::tr("delete it and restart 'swamp serve' to write a new one"));
    }
    return config;
}

Result<void> writeAdminConfig(const QString &dataDir, const AdminConfig &config)
{
    QJsonObject object{{QStringLiteral("url"), config.url},
                       {QStringLiteral("adminToken"), config.adminToken}};
    if (!config.certificate.isEmpty())
        object.insert(QStringLiteral("certificate"), config.certificate);
    if (!config.workerUrls.isEmpty()) {
        object.insert(QStringLiteral("workerUrl"), config.workerUrls.first());
        object.insert(QStringLiteral("workerUrls"), QJsonArray::fromStringList(config.workerUrls));
    }
    return writeFileAtomically(adminConfigPath(dataDir),
                               QJsonDocument(object).toJson(QJsonDocument::Indented));
}

Result<std::unique_ptr<QLockFile>> lockDataDir(const QString &dataDir)
{
    return lockDirectory(dataDir, QStringLiteral("serve.lock"), [&](qint64 pid) {
        return makeError(QStringLiteral("data_dir_in_use"),
                         Tr::tr("data dir %1 is in use by swamp serve (pid %2)")
                             .arg(QDir::toNativeSeparators(dataDir))
                             .arg(pid),
                         Tr::tr("stop that orchestrator first, or give this one its own --data-dir"));
    });
}

QString randomHex32()
{
    QByteArray bytes(32, Qt::Uninitialized);
    QRandomGenerator::system()->fillRange(reinterpret_cast<quint32 *>(bytes.data()),
                                          bytes.size() / int(sizeof(quint32)));
    return QString::fromLatin1(bytes.toHex());
}

} // namespace Swamp
