#include "query/render.h"

#include "common/ids.h"
#include "common/table.h"
#include "common/text.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QStringList>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace Swamp::Query {

// Columns on a terminal: a surrogate pair is one character.
static qsizetype columns(QStringView text)
{
    qsizetype count = 0;
    for (qsizetype i = 0; i < text.size(); ++i) {
        if (!(text.at(i).isLowSurrogate() && i > 0 && text.at(i - 1).isHighSurrogate()))
            ++count;
    }
    return count;
}

QString renderError(const Error &error, const QString &predicate)
{
    QString out = u"error: "_s + error.message + u'\n';
    if (!error.details.contains(u"position"))
        return out;
    const qsizetype position =
        std::clamp<qsizetype>(error.details.value(u"position").toInteger(), 0, predicate.size());
    const qsizetype length = std::max<qsizetype>(1, error.details.value(u"length").toInteger(1));
    qsizetype lineStart = predicate.lastIndexOf(u'\n', position - 1) + 1;
    if (position == 0)
        lineStart = 0;
    qsizetype lineEnd = predicate.indexOf(u'\n', position);
    if (lineEnd < 0)
        lineEnd = predicate.size();
    QString line = predicate.mid(lineStart, lineEnd - lineStart);
    if (line.endsWith(u'\r'))
        line.chop(1);
    QString pad;
    for (const QChar c : QStringView(predicate).mid(lineStart, position - lineStart)) {
        if (c.isLowSurrogate())
            continue;
        pad += c == u'\t' ? u'\t' : u' ';
    }
    const qsizetype visible =
        columns(QStringView(predicate).mid(position, std::min(length, lineEnd - position)));
    out += u"  "_s + line + u'\n';
    out += u"  "_s + pad + QString(std::max<qsizetype>(1, visible), u'^') + u'\n';
    return out;
}

static QString scalarText(const QJsonValue &value)
{
    switch (value.type()) {
    case QJsonValue::String:
        return value.toString();
    case QJsonValue::Null:
    case QJsonValue::Undefined:
        return u"null"_s;
    case QJsonValue::Bool:
        return value.toBool() ? u"true"_s : u"false"_s;
    default:
        break;
    }
    // Numbers, lists and maps as compact JSON, the way --json would print them.
    QString json =
        QString::fromUtf8(QJsonDocument(QJsonArray{value}).toJson(QJsonDocument::Compact));
    return json.mid(1, json.size() - 2);
}

static QString details(const QString &modelType, const QJsonObject &attributes)
{
    QStringList parts;
    const auto add = [&](const QString &label, const QString &text) {
        if (!text.isEmpty())
            parts << label + u'=' + text;
    };
    const auto field = [&](const QString &name) -> QString {
        const QJsonValue value = attributes.value(name);
        return value.isUndefined() || value.isNull() ? QString() : scalarText(value);
    };
    const auto ratio = [&](const QString &count, const QString &of, const QString &unlimited) {
        const QString a = field(count);
        const QString b = field(of);
        return a.isEmpty() ? QString() : a + u'/' + (b.isEmpty() ? unlimited : b);
    };
    if (modelType == u"swamp/worker") {
        add(u"host"_s, field(u"hostname"_s));
        const QString platform = field(u"platform"_s);
        const QString arch = field(u"arch"_s);
        add(u"platform"_s, arch.isEmpty() ? platform : platform + u'/' + arch);
        add(u"steps"_s, ratio(u"activeSteps"_s, u"capacity"_s, u"?"_s));
        add(u"lastSeen"_s, field(u"lastSeenAt"_s));
        const QJsonObject labels = attributes.value(u"labels").toObject();
        QStringList pairs;
        for (auto it = labels.constBegin(); it != labels.constEnd(); ++it)
            pairs << it.key() + u'=' + scalarText(it.value());
        add(u"labels"_s, pairs.join(u','));
    } else if (modelType == u"swamp/enrollment-token") {
        add(u"expires"_s, field(u"expiresAt"_s));
        add(u"enrollments"_s, ratio(u"enrollments"_s, u"maxEnrollments"_s, u"unlimited"_s));
        add(u"revokeReason"_s, field(u"revokeReason"_s));
    } else if (modelType == u"swamp/step") {
        add(u"run"_s, field(u"runId"_s));
        add(u"attempt"_s, ratio(u"attempt"_s, u"maxAttempts"_s, u"?"_s));
        add(u"worker"_s, field(u"workerName"_s));
        add(u"exit"_s, field(u"exitCode"_s));
    } else if (modelType == u"swamp/step-lease") {
        add(u"step"_s, field(u"stepId"_s));
        add(u"worker"_s, field(u"workerName"_s));
        add(u"attempt"_s, field(u"attempt"_s));
        add(u"exit"_s, field(u"exitCode"_s));
    } else if (modelType == u"swamp/run") {
        add(u"steps"_s, field(u"steps"_s));
        add(u"succeeded"_s, field(u"succeeded"_s));
        add(u"failed"_s, field(u"failed"_s));
    } else if (modelType == u"swamp/audit-event") {
        add(u"action"_s, field(u"action"_s));
        add(u"at"_s, field(u"at"_s));
        add(u"worker"_s, field(u"workerName"_s));
        add(u"client"_s, attributes.value(u"client").toObject().value(u"name").toString());
        add(u"address"_s, field(u"address"_s));
        add(u"reason"_s, field(u"reason"_s));
    }
    return parts.join(u' ');
}

QString renderRecords(const QJsonArray &records)
{
    if (records.isEmpty())
        return {};
    // Steps, runs and leases are named by id (`swamp run status ID`): an ID column with their
    // short id, as `swamp run` shows it, when the results hold any.
    const auto hasId = [](const QJsonValue &value) {
        const QString modelType = value.toObject().value(u"modelType").toString();
        return modelType == u"swamp/step" || modelType == u"swamp/run" || modelType == u"swamp/step-lease";
    };
    const bool idColumn = std::any_of(records.begin(), records.end(), hasId);
    QStringList headers{Tr::tr("NAME"), Tr::tr("MODEL TYPE"), Tr::tr("STATE"), Tr::tr("DETAILS")};
    if (idColumn)
        headers.prepend(Tr::tr("ID"));
    TextTable table(headers);
    for (const QJsonValue &value : records) {
        const QJsonObject record = value.toObject();
        const QString modelType = record.value(u"modelType").toString();
        const QJsonObject attributes = record.value(u"attributes").toObject();
        QJsonValue state = attributes.value(u"status");
        if (state.isUndefined())
            state = attributes.value(u"state");
        QStringList cells{record.value(u"name").toString(), modelType,
                          state.isUndefined() ? QString() : scalarText(state), details(modelType, attributes)};
        if (idColumn)
            cells.prepend(hasId(value) ? shortId(record.value(u"id").toString()) : u"-"_s);
        table.addRow(cells);
    }
    return table.render();
}

QString renderSelection(const QJsonArray &values)
{
    if (values.isEmpty())
        return {};
    const bool allMaps = std::all_of(values.begin(), values.end(),
                                     [](const QJsonValue &value) { return value.isObject(); });
    if (!allMaps) {
        // One value a line, whatever a value holds (a worker's text may hold newlines or escape
        // sequences): the same escaping as table cells.
        QString out;
        for (const QJsonValue &value : values)
            out += printable(scalarText(value)) + u'\n';
        return out;
    }
    QStringList keys;
    for (const QJsonValue &value : values)
        keys << value.toObject().keys();
    keys.sort();
    keys.removeDuplicates();
    if (keys.isEmpty()) {
        QString out;
        for (qsizetype i = 0; i < values.size(); ++i)
            out += u"{}\n"_s;
        return out;
    }
    TextTable table(keys);
    for (const QJsonValue &value : values) {
        const QJsonObject object = value.toObject();
        QStringList cells;
        for (const QString &key : std::as_const(keys))
            cells << (object.contains(key) ? scalarText(object.value(key)) : QString());
        table.addRow(cells);
    }
    return table.render();
}

} // namespace Swamp::Query
