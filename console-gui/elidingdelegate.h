#pragma once

#include <QStyledItemDelegate>

namespace Swamp::Console {

// The live tables' delegate: a cell whose text does not fit is elided by the view, and its
// tooltip then shows the whole text (above the cell's own tooltip, if it has one), so nothing is
// cut out of reach at any column width (KDE's and Qt Creator's item views do the same).
class ElidingDelegate final : public QStyledItemDelegate
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ElidingDelegate)

public:
    explicit ElidingDelegate(QObject *parent = nullptr);

    // The tooltip of `index` drawn in `option.rect` of `view`: the whole text when it is elided.
    QString toolTip(const QStyleOptionViewItem &option, const QModelIndex &index,
                    const QAbstractItemView *view) const;
    bool isElided(const QStyleOptionViewItem &option, const QModelIndex &index,
                  const QAbstractItemView *view) const;

    bool helpEvent(QHelpEvent *event, QAbstractItemView *view, const QStyleOptionViewItem &option,
                   const QModelIndex &index) override;
};

} // namespace Swamp::Console
