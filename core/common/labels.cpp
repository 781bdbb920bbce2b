#include "common/labels.h"

#include <QRegularExpression>

namespace Swamp {

Result<std::pair<QString, QString>> parseLabel(const QString &text)
{
    static const QRegularExpression keyPattern(QStringLiteral("^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$"));
    const qsizetype eq = text.indexOf(u'=');
    const QString fix = Tr::tr("write labels as key=value, for example --label region=eu");
    if (eq <= 0)
        return fail(QStringLiteral("invalid_label"), Tr::tr("invalid label \"%1\"").arg(text), fix);
    const QString key = text.left(eq).trimmed();
    const QString value = text.mid(eq + 1).trimmed();
    if (!keyPattern.match(key).hasMatch()) {
        return fail(QStringLiteral("invalid_label"),
                    Tr::tr("invalid label key \"%1\": keys start with a letter or digit and use "
                           "letters, digits, '.', '_', '/' or '-' (at most 63)")
                        .arg(key),
                    fix);
    }
    if (value.size() > 255 || value.contains(u'=') || value.contains(u',')) {
        return fail(QStringLiteral("invalid_label"),
                    Tr::tr("invalid value for label \"%1\": at most 255 characters, no ',' or '='")
                        .arg(key),
                    fix);
    }
    return std::pair{key, value};
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

} // namespace Swamp
