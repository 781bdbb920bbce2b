#include "common/configfile.h"

#include "common/text.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSet>
#include <QSettings>
#include <QUrl>

namespace Swamp {

namespace {

constexpr qint64 MaxConfigFileBytes = 1024 * 1024;

Error configError(const QString &message, const QString &fix)
{
    return makeError(QStringLiteral("invalid_config"), message, fix);
}

QString shown(const QString &text)
{
    return printable(leftCharacters(text, 64));
}

// "[worker] of /etc/swamp/swamp.ini", or "the top of ..." for keys before any section.
QString place(const QString &section, const QString &path)
{
    return section.isEmpty() ? Tr::tr("the top of %1").arg(QDir::toNativeSeparators(path))
                             : Tr::tr("[%1] of %2").arg(section, QDir::toNativeSeparators(path));
}

Result<QByteArray> readBytes(const QString &path)
{
    const QFileInfo info(path);
    const QString native = QDir::toNativeSeparators(path);
    if (!info.exists()) {
        return fail(configError(Tr::tr("config file %1 does not exist").arg(native),
                                Tr::tr("check the path given to --config (or SWAMP_CONFIG)")));
    }
    if (info.isDir()) {
        return fail(
            configError(Tr::tr("config file %1 is a directory").arg(native),
                        Tr::tr("pass the path of an INI file, such as /etc/swamp/swamp.ini")));
    }
    // A device or a pipe could block or never end (/dev/zero); QSettings reads a file again anyway.
    if (!info.isFile()) {
        return fail(
            configError(Tr::tr("config file %1 is not a regular file").arg(native),
                        Tr::tr("pass the path of an INI file, such as /etc/swamp/swamp.ini")));
    }
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        return fail(
            configError(Tr::tr("cannot read config file %1: %2").arg(native, file.errorString()),
                        Tr::tr("make it readable by the user running swamp")));
    }
    QByteArray bytes = file.read(MaxConfigFileBytes + 1);
    if (bytes.size() > MaxConfigFileBytes) {
        return fail(configError(Tr::tr("config file %1 is larger than %2 KiB")
                                    .arg(native)
                                    .arg(MaxConfigFileBytes / 1024),
                                Tr::tr("pass the INI file of swamp's options, not another file")));
    }
    return bytes;
}

// QSettings keeps the last of two equal keys and says nothing: find them in the text.
Result<void> checkDuplicateKeys(const QByteArray &bytes, const QString &path)
{
    QString section;
    QSet<QString> seen;
    for (const QByteArray &rawLine : bytes.split('\n')) {
        const QString line = QString::fromUtf8(rawLine).trimmed();
        if (line.isEmpty() || line.startsWith(u';') || line.startsWith(u'#'))
            continue;
        if (line.startsWith(u'[') && line.endsWith(u']')) {
            section = line.mid(1, line.size() - 2).trimmed();
            if (section.compare(u"General", Qt::CaseInsensitive) == 0)
                section.clear();
            continue;
        }
        const QString key = line.section(u'=', 0, 0).trimmed();
        if (key.isEmpty())
            continue;
        if (seen.contains(section + u'\n' + key)) {
            return fail(configError(
                Tr::tr("key \"%1\" appears twice in %2").arg(shown(key), place(section, path)),
                Tr::tr("give it once, with the values separated by commas (label = a=1,b=2)")));
        }
        seen.insert(section + u'\n' + key);
    }
    return {};
}

// A value as QSettings reads it: `a,b` is a list.
QStringList textsOf(const QVariant &value)
{
    return value.typeId() == QMetaType::QStringList ? value.toStringList()
                                                    : QStringList{value.toString()};
}

// Why `key` of `section` is not one of `known`: another command's, or a typo.
Error unknownKey(const QString &key, const QString &section, const QString &path,
                 const ConfigSchema &schema)
{
    for (auto it = schema.otherSections.begin(); it != schema.otherSections.end(); ++it) {
        if (it.value().contains(key)) {
            return configError(Tr::tr("key \"%1\" in %2 is an option of [%3], not of [%4]")
                                   .arg(shown(key), place(section, path), it.key(), schema.section),
                               Tr::tr("move it under [%1]").arg(it.key()));
        }
    }
    const QString meant = closestMatch(key, schema.keys);
    return configError(
        meant.isEmpty() ? Tr::tr("unknown key \"%1\" in %2").arg(shown(key), place(section, path))
                        : Tr::tr("unknown key \"%1\" in %2; did you mean \"%3\"?")
                              .arg(shown(key), place(section, path), meant),
        Tr::tr("the keys of [%1] are: %2")
            .arg(schema.section, schema.keys.join(QStringLiteral(", "))));
}

Result<QStringList> switchValue(const QString &key, const QString &value, const QString &section,
                                const QString &path)
{
    static const QStringList yes{QStringLiteral("true"), QStringLiteral("yes"),
                                 QStringLiteral("on"), QStringLiteral("1")};
    static const QStringList no{QStringLiteral("false"), QStringLiteral("no"),
                                QStringLiteral("off"), QStringLiteral("0")};
    const QString lower = value.trimmed().toLower();
    if (yes.contains(lower))
        return QStringList{QStringLiteral("true")};
    if (no.contains(lower))
        return QStringList{QStringLiteral("false")};
    return fail(configError(Tr::tr("key \"%1\" in %2 takes true or false, not \"%3\"")
                                .arg(key, place(section, path), shown(value)),
                            Tr::tr("write %1 = true or %1 = false").arg(key)));
}

// The keys of the current group of `settings` (the top, or one section), checked.
Result<void> readGroup(QSettings &settings, const QString &section, const ConfigSchema &schema,
                       const QString &path, QList<ConfigValue> *values)
{
    const QStringList nested = settings.childGroups();
    if (!section.isEmpty() && !nested.isEmpty())
        return fail(unknownKey(nested.first() + u'/', section, path, schema));
    for (const QString &key : settings.childKeys()) {
        if (!schema.keys.contains(key))
            return fail(unknownKey(key, section, path, schema));
        QStringList list = textsOf(settings.value(key));
        if (schema.switches.contains(key)) {
            auto normalized = switchValue(key, list.join(u','), section, path);
            if (!normalized)
                return fail(normalized.error());
            list = *normalized;
        }
        values->removeIf([&key](const ConfigValue &v) { return v.key == key; });
        values->append({key, list});
    }
    return {};
}

Result<void> checkSections(const QStringList &sections, const ConfigSchema &schema,
                           const QString &path)
{
    QStringList known = schema.otherSections.keys();
    known.prepend(schema.section);
    for (const QString &section : sections) {
        if (known.contains(section))
            continue;
        const QString meant = closestMatch(section, known);
        return fail(configError(
            meant.isEmpty() ? Tr::tr("unknown section [%1] in %2")
                                  .arg(shown(section), QDir::toNativeSeparators(path))
                            : Tr::tr("unknown section [%1] in %2; did you mean [%3]?")
                                  .arg(shown(section), QDir::toNativeSeparators(path), meant),
            Tr::tr("the sections are %1").arg(u'[' + known.join(QStringLiteral("], [")) + u']')));
    }
    return {};
}

// Any section counts: a file both commands read is as open as the laxer one needs.
bool holdsSecret(const QSettings &settings, const QStringList &secrets)
{
    for (const QString &key : settings.allKeys()) {
        if (secrets.contains(key.section(u'/', -1)))
            return true;
        for (const QString &text : textsOf(settings.value(key))) {
            if (!QUrl(text).password().isEmpty())
                return true;
        }
    }
    return false;
}

// The file's mode as chmod writes it (0644).
int unixMode(QFileDevice::Permissions p)
{
    const int bits = int(p);
    return (((bits >> 12) & 7) << 6) | (((bits >> 4) & 7) << 3) | (bits & 7);
}

} // namespace

Result<ConfigFile> readConfigFile(const QString &path, const ConfigSchema &schema)
{
    auto bytes = readBytes(path);
    if (!bytes)
        return fail(bytes.error());
    if (auto unique = checkDuplicateKeys(*bytes, path); !unique)
        return fail(unique.error());
    QSettings settings(path, QSettings::IniFormat);
    if (settings.status() != QSettings::NoError) {
        return fail(configError(
            Tr::tr("config file %1 is not an INI file").arg(QDir::toNativeSeparators(path)),
            Tr::tr("write key = value lines, optionally under [%1]").arg(schema.section)));
    }
    ConfigFile file;
    file.path = path;
    const QStringList sections = settings.childGroups();
    if (auto known = checkSections(sections, schema, path); !known)
        return fail(known.error());
    if (auto top = readGroup(settings, {}, schema, path, &file.values); !top)
        return fail(top.error());
    if (sections.contains(schema.section)) {
        settings.beginGroup(schema.section);
        auto own = readGroup(settings, schema.section, schema, path, &file.values);
        settings.endGroup();
        if (!own)
            return fail(own.error());
    }
    const QFileDevice::Permissions permissions = QFileInfo(path).permissions();
    if (holdsSecret(settings, schema.secrets) &&
        (permissions & (QFileDevice::ReadGroup | QFileDevice::ReadOther))) {
        file.warnings << Tr::tr(
                             "config file %1 holds a secret and other users may read it (mode %2); "
                             "chmod 0600 %1")
                             .arg(QDir::toNativeSeparators(path))
                             .arg(unixMode(permissions), 4, 8, QLatin1Char('0'));
    }
    return file;
}

} // namespace Swamp
