#pragma once

#include <QAbstractTableModel>
#include <QJsonArray>
#include <QStringList>

namespace Swamp::Console {

// The results of one data query. Records get the columns model type, name, state, updated and
// attributes; --select projections of maps get one column per key (union, sorted); any other
// projection one "value" column. Each query replaces the results (a reset: a new result set,
// not an update).
class QueryResultModel final : public QAbstractTableModel
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(QueryResultModel)

public:
    enum Role { SortRole = Qt::UserRole + 1, JsonRole };
    enum class Shape { Records, Maps, Values };

    explicit QueryResultModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

    void setResults(const QJsonArray &results);
    void clear() { setResults({}); }
    QJsonArray results() const { return m_results; }
    Shape shape() const { return m_shape; }

private:
    QJsonValue cell(int row, int column) const;

    QJsonArray m_results;
    Shape m_shape = Shape::Records;
    QStringList m_keys; // for Shape::Maps
};

} // namespace Swamp::Console
