#include "common/labels.h"

#include "common/text.h"

#include <QRegularExpression>

namespace Swamp {

Result<void> checkLabel(const QString &key, const QString &value)
{
    static const QRegularExpression keyPattern(QStringLiteral("^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$"));
    const QString fix = Tr::tr("write labels as key=value, for example --label region=eu");
    if (!keyPattern.match(key).hasMatch()) {
        return fail(QStringLiteral("invalid_label"),
                    Tr::tr("invalid label key \"%1\": keys start with a letter or digit and use "
                           "letters, digits, '.', '_', '/' or '-' (at most 63)")
                        .arg(printable(key.left(80))),
                    fix);
    }
    if (characterCount(value) > 255 || value.contains(u'=') || value.contains(u',') || hasUnsafeCharacters(value)) {
        return fail(QStringLiteral("invalid_label"),
                    Tr::tr("invalid value for label \"%1\": at most 255 characters, no ',' or '=' "
                           "and no control characters")
                        .arg(key),
                    fix);
    }
    return {};
}

Result<std::pair<QString, QString>> parseLabel(const QString &text)
{
    const qsizetype eq = text.indexOf(u'=');
    if (eq <= 0) {
        return fail(QStringLiteral("invalid_label"), Tr::tr("invalid label \"%1\"").arg(printable(text.left(80))),
                    Tr::tr("write labels as key=value, for example --label region=eu"));
    }
    const QString key = text.left(eq).trimmed();
    const QString value = text.mid(eq + 1).trimmed();
    if (auto checked = checkLabel(key, value); !checked)
        return fail(checked.error());
    return std::pair{key, value};
}

Result<Labels> labelsFromWire(const QJsonValue &value, qsizetype maxLabels)
{
    if (value.isUndefined() || value.isNull())
        return Labels();
    if (!value.isObject()) {
        return fail(QStringLiteral("invalid_label"), Tr::tr("labels must be an object of string values"),
                    Tr::tr("send labels as {\"key\": \"value\", ...}"));
    }
    const QJsonObject object = value.toObject();
    if (object.size() > maxLabels) {
        return fail(QStringLiteral("invalid_label"), Tr::tr("at most %1 labels").arg(maxLabels),
                    Tr::tr("drop some labels"));
    }
    Labels labels;
    for (auto it = object.begin(); it != object.end(); ++it) {
        if (!it.value().isString()) {
            return fail(QStringLiteral("invalid_label"),
                        Tr::tr("the value of label \"%1\" must be a string").arg(printable(it.key().left(80))),
                        Tr::tr("send labels as {\"key\": \"value\", ...}"));
        }
        if (auto checked = checkLabel(it.key(), it.value().toString()); !checked)
            return fail(checked.error());
        labels.insert(it.key(), it.value().toString());
    }
    return labels;
}

Result<Labels> parseLabels(const QStringList &items)
{
    Labels labels;
    for (const QString &item : items) {
        const QStringList parts = item.split(u',', Qt::SkipEmptyParts);
        for (const QString &part : parts) {
            auto label = parseLabel(part.trimmed());
            if (!label)
                return fail(label.error());
            labels.insert(label->first, label->second);
        }
    }
    return labels;
}

QJsonObject labelsToJson(const Labels &labels)
{
    QJsonObject object;
    for (auto it = labels.cbegin(); it != labels.cend(); ++it)
        object.insert(it.key(), it.value());
    return object;
}

Labels labelsFromJson(const QJsonObject &object)
{
    Labels labels;
    for (auto it = object.begin(); it != object.end(); ++it)
        labels.insert(it.key(), it.value().toString());
    return labels;
}

QString formatLabels(const Labels &labels)
{
    if (labels.isEmpty())
        return QStringLiteral("-");
    QStringList parts;
    for (auto it = labels.cbegin(); it != labels.cend(); ++it)
        parts << it.key() + u'=' + it.value();
    return parts.join(QStringLiteral(", "));
}

Labels mergeLabels(const Labels &base, const Labels &over)
{
    Labels merged = base;
    for (auto it = over.cbegin(); it != over.cend(); ++it)
        merged.insert(it.key(), it.value());
    return merged;
}

Labels LabelOverrides::appliedTo(const Labels &own) const
{
    Labels labels = mergeLabels(own, set);
    for (const QString &key : removed)
        labels.remove(key);
    return labels;
}

void LabelOverrides::change(const Labels &setNow, const QStringList &removeNow)
{
    for (auto it = setNow.cbegin(); it != setNow.cend(); ++it) {
        set.insert(it.key(), it.value());
        removed.removeAll(it.key());
    }
    for (const QString &key : removeNow) {
        set.remove(key);
        if (!removed.contains(key))
            removed << key;
    }
    removed.sort();
}

QJsonObject LabelOverrides::toJson() const
{
    QJsonObject object = labelsToJson(set);
    for (const QString &key : removed)
        object.insert(key, QJsonValue::Null);
    return object;
}

LabelOverrides LabelOverrides::fromJson(const QJsonObject &object)
{
    LabelOverrides overrides;
    for (auto it = object.begin(); it != object.end(); ++it) {
        if (it.value().isString())
            overrides.set.insert(it.key(), it.value().toString());
        else if (it.value().isNull())
            overrides.removed << it.key();
    }
    overrides.removed.sort();
    return overrides;
}

} // namespace Swamp
