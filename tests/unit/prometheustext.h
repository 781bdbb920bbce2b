#pragma once

// A strict parser of the Prometheus text exposition format 0.0.4 for tests: every line is
// checked (HELP/TYPE before a family's samples, names, label syntax and escapes, values), and
// samples are looked up by name and exact label set, never by searching the document.

#include <QHash>
#include <QList>
#include <QMap>
#include <QRegularExpression>
#include <QSet>
#include <QString>
#include <QStringList>

#include <cmath>
#include <optional>

namespace SwampTest {

struct PromSample
{
    QString name;
    QMap<QString, QString> labels;
    double value = 0;
};

struct PromDocument
{
    QList<PromSample> samples;
    QHash<QString, QString> types; // family → counter, gauge, histogram, ...
    QHash<QString, QString> help;
    QStringList errors; // empty when the document is well formed

    std::optional<double> value(const QString &name,
                                const QMap<QString, QString> &labels = {}) const
    {
        for (const PromSample &sample : samples) {
            if (sample.name == name && sample.labels == labels)
                return sample.value;
        }
        return std::nullopt;
    }
    // value() or -1 when absent: for QTRY_COMPARE.
    double valueOr(const QString &name, const QMap<QString, QString> &labels = {}) const
    {
        return value(name, labels).value_or(-1);
    }
    QList<PromSample> family(const QString &name) const
    {
        QList<PromSample> found;
        for (const PromSample &sample : samples) {
            if (sample.name == name)
                found << sample;
        }
        return found;
    }
};

namespace Internal {

inline QString familyOf(const QString &sample, const QHash<QString, QString> &types)
{
    for (const char *suffix : {"_bucket", "_sum", "_count"}) {
        const QString s = QLatin1String(suffix);
        if (sample.endsWith(s)) {
            const QString base = sample.chopped(s.size());
            const QString type = types.value(base);
            if (type == u"histogram" || type == u"summary")
                return base;
        }
    }
    return sample;
}

inline std::optional<double> parseValue(const QString &text)
{
    if (text == u"+Inf")
        return INFINITY;
    if (text == u"-Inf")
        return -INFINITY;
    if (text == u"NaN")
        return NAN;
    bool ok = false;
    const double value = text.toDouble(&ok);
    return ok ? std::optional<double>(value) : std::nullopt;
}

// Parses `{a="x",b="y"}` starting at text[pos] == '{'; advances pos past '}'.
inline bool parseLabels(const QString &text, qsizetype &pos, QMap<QString, QString> &labels,
                        QString &error)
{
    static const QRegularExpression labelName(QStringLiteral("^[a-zA-Z_][a-zA-Z0-9_]*$"));
    ++pos; // '{'
    while (pos < text.size()) {
        if (text.at(pos) == u'}') {
            ++pos;
            return true;
        }
        const qsizetype equals = text.indexOf(u'=', pos);
        if (equals < 0) {
            error = QStringLiteral("label without '='");
            return false;
        }
        const QString name = text.mid(pos, equals - pos);
        if (!labelName.match(name).hasMatch()) {
            error = QStringLiteral("bad label name \"%1\"").arg(name);
            return false;
        }
        pos = equals + 1;
        if (pos >= text.size() || text.at(pos) != u'"') {
            error = QStringLiteral("label value must be quoted");
            return false;
        }
        ++pos;
        QString value;
        bool closed = false;
        while (pos < text.size()) {
            const QChar c = text.at(pos++);
            if (c == u'"') {
                closed = true;
                break;
            }
            if (c == u'\\') {
                if (pos >= text.size()) {
                    error = QStringLiteral("dangling escape");
                    return false;
                }
                const QChar e = text.at(pos++);
                if (e == u'n')
                    value += u'\n';
                else if (e == u'\\' || e == u'"')
                    value += e;
                else {
                    error = QStringLiteral("bad escape \\%1").arg(e);
                    return false;
                }
                continue;
            }
            value += c;
        }
        if (!closed) {
            error = QStringLiteral("unterminated label value");
            return false;
        }
        if (labels.contains(name)) {
            error = QStringLiteral("duplicate label %1").arg(name);
            return false;
        }
        labels.insert(name, value);
        if (pos < text.size() && text.at(pos) == u',')
            ++pos;
        else if (pos < text.size() && text.at(pos) != u'}') {
            error = QStringLiteral("expected ',' or '}'");
            return false;
        }
    }
    error = QStringLiteral("unterminated label set");
    return false;
}

} // namespace Internal

inline PromDocument parsePrometheusText(const QByteArray &bytes)
{
    static const QRegularExpression metricName(QStringLiteral("^[a-zA-Z_:][a-zA-Z0-9_:]*$"));
    static const QStringList knownTypes{QStringLiteral("counter"), QStringLiteral("gauge"),
                                        QStringLiteral("histogram"), QStringLiteral("summary"),
                                        QStringLiteral("untyped")};
    PromDocument document;
    QSet<QString> seenSeries;
    QSet<QString> familiesWithSamples;
    const QStringList lines = QString::fromUtf8(bytes).split(u'\n');
    if (!bytes.isEmpty() && !bytes.endsWith('\n'))
        document.errors << QStringLiteral("the document does not end with a newline");
    for (qsizetype number = 0; number < lines.size(); ++number) {
        const QString line = lines.at(number);
        const auto error = [&](const QString &what) {
            document.errors << QStringLiteral("line %1: %2: %3").arg(number + 1).arg(what, line);
        };
        if (line.isEmpty())
            continue;
        if (line.startsWith(u'#')) {
            const QStringList parts = line.split(u' ');
            if (parts.size() >= 3 && (parts.at(1) == u"HELP" || parts.at(1) == u"TYPE")) {
                const QString name = parts.at(2);
                if (!metricName.match(name).hasMatch())
                    error(QStringLiteral("bad metric name"));
                if (parts.at(1) == u"TYPE") {
                    if (parts.size() != 4 || !knownTypes.contains(parts.at(3)))
                        error(QStringLiteral("bad TYPE line"));
                    if (document.types.contains(name))
                        error(QStringLiteral("second TYPE for a family"));
                    if (familiesWithSamples.contains(name))
                        error(QStringLiteral("TYPE after the family's samples"));
                    document.types.insert(name, parts.value(3));
                } else {
                    if (document.help.contains(name))
                        error(QStringLiteral("second HELP for a family"));
                    document.help.insert(name, parts.mid(3).join(u' '));
                }
            }
            continue;
        }
        qsizetype pos = 0;
        while (pos < line.size() && line.at(pos) != u'{' && line.at(pos) != u' ')
            ++pos;
        PromSample sample;
        sample.name = line.left(pos);
        if (!metricName.match(sample.name).hasMatch()) {
            error(QStringLiteral("bad metric name"));
            continue;
        }
        if (pos < line.size() && line.at(pos) == u'{') {
            QString why;
            if (!Internal::parseLabels(line, pos, sample.labels, why)) {
                error(why);
                continue;
            }
        }
        const QStringList rest = line.mid(pos).split(u' ', Qt::SkipEmptyParts);
        if (rest.isEmpty() || rest.size() > 2) {
            error(QStringLiteral("expected a value and an optional timestamp"));
            continue;
        }
        const std::optional<double> value = Internal::parseValue(rest.first());
        if (!value) {
            error(QStringLiteral("bad value"));
            continue;
        }
        sample.value = *value;
        const QString family = Internal::familyOf(sample.name, document.types);
        if (!document.types.contains(family))
            error(QStringLiteral("sample without a TYPE line before it"));
        familiesWithSamples.insert(family);
        QStringList key{sample.name};
        for (auto it = sample.labels.cbegin(); it != sample.labels.cend(); ++it)
            key << it.key() + u'=' + it.value();
        const QString series = key.join(u'\x1f');
        if (seenSeries.contains(series))
            error(QStringLiteral("duplicate series"));
        seenSeries.insert(series);
        document.samples << sample;
    }
    return document;
}

} // namespace SwampTest
