#include "queryresultmodel.h"

#include "common/duration.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QSet>

namespace Swamp::Console {

namespace {
enum RecordColumn { ModelType, Name, State, Updated, Attributes, RecordColumnCount };

QString textOf(const QJsonValue &value)
{
    switch (value.type()) {
    case QJsonValue::Null:
    case QJsonValue::Undefined: return QStringLiteral("null");
    case QJsonValue::Bool: return value.toBool() ? QStringLiteral("true") : QStringLiteral("false");
    case QJsonValue::Double: return QString::number(value.toDouble(), 'g', 15);
    case QJsonValue::String: return value.toString();
    case QJsonValue::Array:
        return QString::fromUtf8(QJsonDocument(value.toArray()).toJson(QJsonDocument::Compact));
    case QJsonValue::Object:
        return QString::fromUtf8(QJsonDocument(value.toObject()).toJson(QJsonDocument::Compact));
    }
    return {};
}
} // namespace

QueryResultModel::QueryResultModel(QObject *parent)
    : QAbstractTableModel(parent)
{
}

int QueryResultModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_results.size());
}

int QueryResultModel::columnCount(const QModelIndex &parent) const
{
    if (parent.isValid())
        return 0;
    switch (m_shape) {
    case Shape::Records: return RecordColumnCount;
    case Shape::Maps: return int(m_keys.size());
    case Shape::Values: return 1;
    }
    return 0;
}

QJsonValue QueryResultModel::cell(int row, int column) const
{
    const QJsonValue value = m_results.at(row);
    switch (m_shape) {
    case Shape::Values: return value;
    case Shape::Maps: return value.toObject().value(m_keys.at(column));
    case Shape::Records: {
        const QJsonObject record = value.toObject();
        const QJsonObject attributes = record.value(QStringLiteral("attributes")).toObject();
        switch (column) {
        case ModelType: return record.value(QStringLiteral("modelType"));
        case Name: return record.value(QStringLiteral("name"));
        case State:
            return attributes.contains(QStringLiteral("status")) ? attributes.value(QStringLiteral("status"))
                                                                 : attributes.value(QStringLiteral("state"));
        case Updated: return record.value(QStringLiteral("updatedAt"));
        case Attributes: return attributes;
        }
    }
    }
    return {};
}

QVariant QueryResultModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const QJsonValue value = cell(index.row(), index.column());
    switch (role) {
    case Qt::DisplayRole:
        if (m_shape == Shape::Records && index.column() == Updated)
            return formatRelative(parseIsoUtc(value.toString()), QDateTime::currentDateTimeUtc());
        return textOf(value);
    case Qt::ToolTipRole: return textOf(value);
    case SortRole:
        if (value.isDouble())
            return value.toDouble();
        return textOf(value);
    case JsonRole: return m_results.at(index.row()).toVariant();
    }
    return {};
}

QVariant QueryResultModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (m_shape) {
    case Shape::Values: return tr("Value");
    case Shape::Maps: return section < m_keys.size() ? QVariant(m_keys.at(section)) : QVariant();
    case Shape::Records:
        switch (section) {
        case ModelType: return tr("Model type");
        case Name: return tr("Name");
        case State: return tr("State");
        case Updated: return tr("Updated");
        case Attributes: return tr("Attributes");
        }
    }
    return {};
}

void QueryResultModel::setResults(const QJsonArray &results)
{
    beginResetModel();
    m_results = results;
    m_keys.clear();
    bool allObjects = !results.isEmpty();
    bool allRecords = !results.isEmpty();
    QSet<QString> keys;
    for (const QJsonValue &value : results) {
        if (!value.isObject()) {
            allObjects = allRecords = false;
            break;
        }
        const QJsonObject object = value.toObject();
        if (!object.contains(QStringLiteral("modelType")) || !object.value(QStringLiteral("attributes")).isObject())
            allRecords = false;
        for (auto it = object.begin(); it != object.end(); ++it)
            keys.insert(it.key());
    }
    if (allRecords || results.isEmpty()) {
        m_shape = Shape::Records;
    } else if (allObjects) {
        m_shape = Shape::Maps;
        m_keys = QStringList(keys.begin(), keys.end());
        m_keys.sort();
    } else {
        m_shape = Shape::Values;
    }
    endResetModel();
}

} // namespace Swamp::Console
