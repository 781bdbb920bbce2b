#pragma once

#include <QList>
#include <QObject>
#include <QTimer>

class QTableView;

namespace Swamp::Console {

// Widens a table's name-like columns to show their text as rows arrive and change (coalesced),
// up to a maximum width; never narrows them. A column the user resizes (or a remembered layout
// restores) is theirs from then on. Cells that still do not fit are elided (ElidingDelegate).
class ColumnFitter final : public QObject
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ColumnFitter)

public:
    ColumnFitter(QTableView *view, const QList<int> &columns, int maximum);

    void fit();

private:
    void schedule(int firstColumn, int lastColumn);

    QTableView *m_view;
    QList<int> m_columns;
    int m_maximum;
    bool m_fitting = false;
    QTimer m_timer;
};

} // namespace Swamp::Console
