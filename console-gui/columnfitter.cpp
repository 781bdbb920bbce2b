#include "columnfitter.h"

#include <QHeaderView>
#include <QTableView>

#include <climits>

namespace Swamp::Console {

ColumnFitter::ColumnFitter(QTableView *view, const QList<int> &columns, int maximum)
    : QObject(view), m_view(view), m_columns(columns), m_maximum(maximum)
{
    m_timer.setSingleShot(true);
    m_timer.setInterval(100);
    connect(&m_timer, &QTimer::timeout, this, &ColumnFitter::fit);
    QAbstractItemModel *model = view->model();
    connect(model, &QAbstractItemModel::rowsInserted, this, [this] { schedule(0, INT_MAX); });
    connect(model, &QAbstractItemModel::modelReset, this, [this] { schedule(0, INT_MAX); });
    connect(model, &QAbstractItemModel::dataChanged, this,
            [this](const QModelIndex &topLeft, const QModelIndex &bottomRight) {
                schedule(topLeft.column(), bottomRight.column());
            });
    connect(view->horizontalHeader(), &QHeaderView::sectionResized, this, [this](int column) {
        if (!m_fitting)
            m_columns.removeAll(column);
    });
}

// Only changes that touch a fitted column count: the clock ticks others every second.
void ColumnFitter::schedule(int firstColumn, int lastColumn)
{
    for (int column : std::as_const(m_columns)) {
        if (column >= firstColumn && column <= lastColumn) {
            m_timer.start();
            return;
        }
    }
}

void ColumnFitter::fit()
{
    m_fitting = true;
    auto *view =
        static_cast<QAbstractItemView *>(m_view); // sizeHintForColumn: protected in QTableView
    for (int column : std::as_const(m_columns)) {
        const int wanted = std::min(m_maximum, view->sizeHintForColumn(column));
        if (wanted > m_view->columnWidth(column))
            m_view->setColumnWidth(column, wanted);
    }
    m_fitting = false;
}

} // namespace Swamp::Console
