#include "elidingdelegate.h"

#include <QAbstractItemView>
#include <QHelpEvent>
#include <QStyle>
#include <QToolTip>

namespace Swamp::Console {

ElidingDelegate::ElidingDelegate(QObject *parent) : QStyledItemDelegate(parent) {}

bool ElidingDelegate::isElided(const QStyleOptionViewItem &option, const QModelIndex &index,
                               const QAbstractItemView *view) const
{
    QStyleOptionViewItem item = option;
    initStyleOption(&item, index);
    if (item.text.isEmpty())
        return false;
    QStyle *style = view ? view->style() : item.widget->style();
    const QRect textRect = style->subElementRect(QStyle::SE_ItemViewItemText, &item, view);
    // The style draws text inside the focus frame's margins on either side.
    const int margins = 2 * (style->pixelMetric(QStyle::PM_FocusFrameHMargin, nullptr, view) + 1);
    return item.fontMetrics.horizontalAdvance(item.text) > textRect.width() - margins;
}

QString ElidingDelegate::toolTip(const QStyleOptionViewItem &option, const QModelIndex &index,
                                 const QAbstractItemView *view) const
{
    const QString own = index.data(Qt::ToolTipRole).toString();
    if (!isElided(option, index, view))
        return own;
    const QString text = index.data(Qt::DisplayRole).toString();
    return own.isEmpty() || own == text ? text : text + u'\n' + own;
}

bool ElidingDelegate::helpEvent(QHelpEvent *event, QAbstractItemView *view,
                                const QStyleOptionViewItem &option, const QModelIndex &index)
{
    if (event->type() != QEvent::ToolTip || !index.isValid())
        return QStyledItemDelegate::helpEvent(event, view, option, index);
    const QString text = toolTip(option, index, view);
    if (text.isEmpty()) {
        QToolTip::hideText();
        return false;
    }
    QToolTip::showText(event->globalPos(), text, view, view->visualRect(index));
    return true;
}

} // namespace Swamp::Console
