#pragma once

#include <QAbstractItemModel>
#include <QJsonValue>

#include <memory>
#include <vector>

namespace Swamp::Console {

// One JSON value as a tree: objects and arrays expand into their members (keys in order, array
// items as [0], [1], ...). Columns: key, value (scalars as text, containers as "{3 fields}" /
// "[2 items]"), type. JsonRole gives any node's value as compact JSON (strings as they are), for
// copying. setValue() replaces the whole tree (a reset: another value, not an update).
class JsonTreeModel final : public QAbstractItemModel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(JsonTreeModel)

public:
    enum Column { Key, Value, Type, ColumnCount };
    enum Role { JsonRole = Qt::UserRole + 1 };

    explicit JsonTreeModel(QObject *parent = nullptr);
    ~JsonTreeModel() override;

    QModelIndex index(int row, int column, const QModelIndex &parent = {}) const override;
    QModelIndex parent(const QModelIndex &child) const override;
    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

    // The top-level rows are the members of `value` (an object or array); a scalar is one row.
    void setValue(const QJsonValue &value);
    QJsonValue value() const { return m_value; }
    // The index of the member at `path` (keys and array positions as text), or invalid.
    QModelIndex find(const QStringList &path) const;

    // A value as the tree and the clipboard show it: strings bare, other scalars as JSON,
    // containers as compact JSON.
    static QString copyText(const QJsonValue &value);

private:
    struct Node;
    Node *nodeOf(const QModelIndex &index) const;

    QJsonValue m_value;
    std::unique_ptr<Node> m_root;
};

} // namespace Swamp::Console
