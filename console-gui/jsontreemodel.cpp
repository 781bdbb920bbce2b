#include "jsontreemodel.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace Swamp::Console {

struct JsonTreeModel::Node
{
    QString key;
    QJsonValue value;
    Node *parent = nullptr;
    int row = 0;
    std::vector<std::unique_ptr<Node>> children;

    void addChild(const QString &childKey, const QJsonValue &childValue)
    {
        auto child = std::make_unique<Node>();
        child->key = childKey;
        child->value = childValue;
        child->parent = this;
        child->row = int(children.size());
        child->expand();
        children.push_back(std::move(child));
    }

    void expand()
    {
        if (value.isObject()) {
            const QJsonObject object = value.toObject();
            for (auto it = object.begin(); it != object.end(); ++it)
                addChild(it.key(), it.value());
        } else if (value.isArray()) {
            const QJsonArray array = value.toArray();
            for (qsizetype i = 0; i < array.size(); ++i)
                addChild(QStringLiteral("[%1]").arg(i), array.at(i));
        }
    }
};

namespace {
QString typeName(const QJsonValue &value)
{
    switch (value.type()) {
    case QJsonValue::Null: return QStringLiteral("null");
    case QJsonValue::Bool: return QStringLiteral("bool");
    case QJsonValue::Double: return QStringLiteral("number");
    case QJsonValue::String: return QStringLiteral("string");
    case QJsonValue::Array: return QStringLiteral("list");
    case QJsonValue::Object: return QStringLiteral("map");
    case QJsonValue::Undefined: break;
    }
    return {};
}
} // namespace

JsonTreeModel::JsonTreeModel(QObject *parent)
    : QAbstractItemModel(parent)
    , m_root(std::make_unique<Node>())
{
}

JsonTreeModel::~JsonTreeModel() = default;

QString JsonTreeModel::copyText(const QJsonValue &value)
{
    switch (value.type()) {
    case QJsonValue::String: return value.toString();
    case QJsonValue::Object: return QString::fromUtf8(QJsonDocument(value.toObject()).toJson(QJsonDocument::Compact));
    case QJsonValue::Array: return QString::fromUtf8(QJsonDocument(value.toArray()).toJson(QJsonDocument::Compact));
    case QJsonValue::Double: return QString::number(value.toDouble(), 'g', 15);
    case QJsonValue::Bool: return value.toBool() ? QStringLiteral("true") : QStringLiteral("false");
    case QJsonValue::Null:
    case QJsonValue::Undefined: break;
    }
    return QStringLiteral("null");
}

void JsonTreeModel::setValue(const QJsonValue &value)
{
    beginResetModel();
    m_value = value;
    m_root = std::make_unique<Node>();
    m_root->value = value;
    if (value.isObject() || value.isArray())
        m_root->expand();
    else if (!value.isUndefined())
        m_root->addChild(tr("value"), value);
    endResetModel();
}

JsonTreeModel::Node *JsonTreeModel::nodeOf(const QModelIndex &index) const
{
    return index.isValid() ? static_cast<Node *>(index.internalPointer()) : m_root.get();
}

QModelIndex JsonTreeModel::index(int row, int column, const QModelIndex &parent) const
{
    if (!hasIndex(row, column, parent))
        return {};
    return createIndex(row, column, nodeOf(parent)->children.at(size_t(row)).get());
}

QModelIndex JsonTreeModel::parent(const QModelIndex &child) const
{
    if (!child.isValid())
        return {};
    Node *parent = nodeOf(child)->parent;
    if (!parent || parent == m_root.get())
        return {};
    return createIndex(parent->row, 0, parent);
}

int JsonTreeModel::rowCount(const QModelIndex &parent) const
{
    if (parent.isValid() && parent.column() != 0)
        return 0;
    return int(nodeOf(parent)->children.size());
}

int JsonTreeModel::columnCount(const QModelIndex &) const
{
    return ColumnCount;
}

QVariant JsonTreeModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid))
        return {};
    const Node *node = nodeOf(index);
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case Key: return node->key;
        case Value:
            if (node->value.isObject())
                return tr("{%n field(s)}", nullptr, int(node->value.toObject().size()));
            if (node->value.isArray())
                return tr("[%n item(s)]", nullptr, int(node->value.toArray().size()));
            return copyText(node->value);
        case Type: return typeName(node->value);
        }
        return {};
    case Qt::ToolTipRole:
        return index.column() == Value ? copyText(node->value) : QVariant();
    case JsonRole: return copyText(node->value);
    }
    return {};
}

QVariant JsonTreeModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractItemModel::headerData(section, orientation, role);
    switch (section) {
    case Key: return tr("Field");
    case Value: return tr("Value");
    case Type: return tr("Type");
    }
    return {};
}

QModelIndex JsonTreeModel::find(const QStringList &path) const
{
    QModelIndex current;
    for (const QString &key : path) {
        const Node *node = nodeOf(current);
        const auto it = std::find_if(node->children.begin(), node->children.end(),
                                     [&key](const auto &child) { return child->key == key; });
        if (it == node->children.end())
            return {};
        current = index((*it)->row, 0, current);
    }
    return current;
}

} // namespace Swamp::Console
